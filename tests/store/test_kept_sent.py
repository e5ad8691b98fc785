"""The file kept per school is the last one sent to CERS, else the last downloaded: a later download
never hides what CERS last received, and a comparison says which kind of file it is with."""

from __future__ import annotations

from cers_core.store import Store
from tests.support.store import save_sis_connection

FILE = b"group_name,school_natural_id,school_year,subject_code,student_ssid,group_user_login\r\n"


def keep(store: Store, connection_id: int, how: str, rows: int) -> None:
    store.keep_file(connection_id=connection_id, school="01612590130146", how=how, csv_bytes=FILE, rows=rows,
                    sha256=str(rows), sections=[])  # fmt: skip


def test_a_download_never_replaces_a_file_that_was_sent(store: Store) -> None:
    saved = save_sis_connection(store, "SIS")
    keep(store, saved.id, "download", 1)
    keep(store, saved.id, "download", 2)  # a later download replaces a download
    assert (store.kept_file(saved.id, "01612590130146").how, store.kept_file(saved.id, "01612590130146").rows) == (
        "download",
        2,
    )
    keep(store, saved.id, "upload", 3)
    keep(store, saved.id, "download", 4)  # ...but not a file sent to CERS
    kept = store.kept_file(saved.id, "01612590130146")
    assert (kept.how, kept.rows) == ("upload", 3)
    keep(store, saved.id, "upload", 5)
    assert store.kept_file(saved.id, "01612590130146").rows == 5
