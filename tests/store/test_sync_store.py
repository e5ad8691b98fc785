"""The store's parts for scheduled syncs: group sets, upload targets, the run history, held files, locks;
and an older store gains their tables when opened, keeping what it had."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from cers_core.brake import BrakeSettings
from cers_core.group_sets import GroupSet, SectionFilter
from cers_core.store import (
    DB_FILE_NAME,
    ConnectionNotFound,
    GroupSetInvalid,
    SavedConnection,
    SchoolRun,
    Store,
)
from cers_core.store._database import now
from tests.support.store import save_import_connection, save_sis_connection

CDS = "01612590130146"
PART = (
    b"group_name,school_natural_id,school_year,subject_code,student_ssid,group_user_login\r\n"
    b"A,01612590130146,2027,All,1234567890,\r\n"
)


def record(store: Store, saved: SavedConnection, **fields: object) -> int:
    values = {"kind": "sync", "who": "cron", "outcome": "sent", "message": "sent 1 school", "keep_days": 365}
    return store.record_run(connection_id=saved.id, connection_name=saved.name, **(values | fields))


def test_an_older_store_gains_the_new_tables_and_keeps_what_it_had(tmp_path: Path, key: str) -> None:
    folder = tmp_path / "data"
    saved = save_sis_connection(Store.open(folder, keys=[key]))
    with sqlite3.connect(folder / DB_FILE_NAME) as db:  # the store as the version before group sets made it
        for table in ("locks", "held_files", "run_schools", "runs", "sync_targets", "group_sets"):
            db.execute(f"DROP TABLE {table}")
    store = Store.open(folder, keys=[key])
    assert [c.name for c in store.connections()] == ["District SIS"]
    store.save_group_set(saved.id, GroupSet(name="Homerooms", class_types="homeroom"))
    assert record(store, saved) > 0
    assert [g.group_set.name for g in store.group_sets(saved.id)] == ["Homerooms"]


def test_group_sets_keep_their_order_and_names_are_unique_per_connection(store: Store) -> None:
    saved, other = save_sis_connection(store), save_sis_connection(store, "Other SIS")
    first = store.save_group_set(saved.id, GroupSet(name="Homerooms", fields=["teacher"], class_types="homeroom"))
    store.save_group_set(saved.id, GroupSet(name="Math", sections=SectionFilter(subjects=["02"])))
    store.save_group_set(other.id, GroupSet(name="homerooms"))  # another connection's: no clash
    with pytest.raises(GroupSetInvalid) as raised:
        store.save_group_set(saved.id, GroupSet(name="HOMEROOMS"))
    assert raised.value.field_errors == {"name": "This connection already has a group set named 'HOMEROOMS'."}
    renamed = store.save_group_set(
        saved.id, GroupSet(name="Homerooms K-5", class_types="homeroom"), group_set_id=first.id
    )
    assert [(g.id, g.group_set.name) for g in store.group_sets(saved.id)] == [
        (first.id, "Homerooms K-5"),
        (first.id + 1, "Math"),
    ]
    assert renamed.group_set.fields == GroupSet(name="x").fields  # replaced whole, not merged
    assert store.group_sets(saved.id)[1].group_set.sections.subjects == ("02",)
    store.delete_group_set(first.id)
    assert [g.group_set.name for g in store.group_sets(saved.id)] == ["Math"]
    with pytest.raises(ConnectionNotFound):
        store.delete_group_set(first.id)


def test_a_group_set_edit_changes_the_connection_version_at_once(store: Store) -> None:
    """What the app made with the old recipes is keyed by the version: two edits within a second differ too."""
    saved = save_sis_connection(store)
    versions = [store.connection(saved.id).version]
    made = store.save_group_set(saved.id, GroupSet(name="A"))
    versions.append(store.connection(saved.id).version)
    store.save_group_set(saved.id, GroupSet(name="A", fields=["teacher"]), group_set_id=made.id)
    versions.append(store.connection(saved.id).version)
    store.delete_group_set(made.id)
    versions.append(store.connection(saved.id).version)
    assert len(set(versions)) == 4


def test_what_a_connection_owns_goes_with_it_and_a_deleted_target_only_unlinks(store: Store) -> None:
    saved = save_sis_connection(store)
    target = save_import_connection(store).id
    store.save_group_set(saved.id, GroupSet(name="A"))
    store.save_sync_target(saved.id, import_connection_id=target, brake=BrakeSettings(max_student_drop_percent=30))
    record(store, saved, schools=[SchoolRun(school=CDS, school_name="Lincoln", decision="sent")])
    store.hold_file(connection_id=saved.id, school=CDS, school_name="Lincoln", reason="r", csv_bytes=PART, rows=1,
                    sha256="a" * 64, sections=[])  # fmt: skip
    store.delete_connection(target)
    linked = store.sync_target(saved.id)
    assert (linked.import_connection_id, linked.brake.max_student_drop_percent) == (None, 30)
    store.delete_connection(saved.id)
    assert store.group_sets(saved.id) == [] and store.runs() == [] and store.held_files(saved.id) == []
    assert store.sync_target(saved.id).import_connection_id is None
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT count(*) FROM run_schools").fetchone() == (0,)


def test_an_upload_target_must_be_an_import_connection(store: Store) -> None:
    saved, other = save_sis_connection(store), save_sis_connection(store, "Other")
    with pytest.raises(ConnectionNotFound, match="CERS import connection"):
        store.save_sync_target(saved.id, import_connection_id=other.id, brake=BrakeSettings())
    assert store.sync_target(saved.id).import_connection_id is None
    assert store.sync_target(saved.id).brake == BrakeSettings()


def test_the_history_filters_and_forgets_what_is_older_than_kept(store: Store) -> None:
    saved, other = save_sis_connection(store), save_sis_connection(store, "Other SIS")
    old = record(store, saved, kind="download", outcome="downloaded")
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE runs SET at = ? WHERE id = ?", ((now() - timedelta(days=40)).isoformat(), old))
    record(store, saved, schools=[SchoolRun(school=CDS, school_name="Lincoln", decision="sent", groups=3,
                                            changes={"added": 1, "unchanged": 2})])  # fmt: skip
    record(store, other, kind="upload")
    assert [r.connection_name for r in store.runs()] == ["Other SIS", "District SIS", "District SIS"]
    assert [r.kind for r in store.runs(connection_ids=[saved.id])] == ["sync", "download"]
    assert [r.kind for r in store.runs(kinds=["download", "upload"])] == ["upload", "download"]
    (run,) = store.runs(school=CDS)
    assert run.schools[0].changes == {"added": 1, "unchanged": 2} and run.schools[0].groups == 3
    assert len(store.runs(since=now() - timedelta(days=1))) == 2
    record(store, other, keep_days=30)  # a new run deletes those older than kept
    assert old not in [r.id for r in store.runs()]


def test_held_files_are_encrypted_replaced_and_rotated(tmp_path: Path, key: str) -> None:
    from cryptography.fernet import Fernet

    folder = tmp_path / "data"
    store = Store.open(folder, keys=[key])
    saved = save_sis_connection(store)
    for reason in ("first", "second"):
        store.hold_file(connection_id=saved.id, school=CDS, school_name="Lincoln", reason=reason, csv_bytes=PART,
                        rows=1, sha256="a" * 64, sections=[("A", 2027, "cls-1")])  # fmt: skip
    assert b"1234567890" not in (folder / DB_FILE_NAME).read_bytes()
    new_key = Fernet.generate_key().decode()
    Store.open(folder, keys=[new_key, key]).rotate()
    (held,) = Store.open(folder, keys=[new_key]).held_files(saved.id)
    assert (held.reason, held.csv_bytes, held.sections, held.school_name) == (
        "second",
        PART,
        [("A", 2027, "cls-1")],
        "Lincoln",
    )
    store.drop_held_files(saved.id, [CDS])
    assert store.held_files(saved.id) == []


def test_a_lock_has_one_holder_until_released_or_expired(store: Store) -> None:
    assert store.take_lock("sync", "run A", seconds=60) is None
    holder = store.take_lock("sync", "run B", seconds=60)
    assert holder is not None and holder.owner == "run A"
    assert store.take_lock("sync", "run A", seconds=60) is None  # its own: renewed
    assert not store.renew_lock("sync", "run B", seconds=60)
    store.release_lock("sync", "run B")  # not B's: nothing happens
    assert store.take_lock("sync", "run B", seconds=60) is not None
    store.release_lock("sync", "run A")
    assert store.take_lock("sync", "run B", seconds=-1) is None  # a crashed run's lock, already expired…
    assert store.take_lock("sync", "run C", seconds=60) is None  # …is taken over


def test_of_many_processes_taking_a_lock_at_once_exactly_one_gets_it(tmp_path: Path, key: str) -> None:
    folder = tmp_path / "data"
    Store.open(folder, keys=[key])
    start = threading.Barrier(8)
    winners: list[str] = []

    def take(owner: str) -> None:
        own = Store.open(folder, keys=[key])  # each its own store, as two processes have
        start.wait()
        if own.take_lock("sync", owner, seconds=60) is None:
            winners.append(owner)

    threads = [threading.Thread(target=take, args=(f"run {n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
