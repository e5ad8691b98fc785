"""Send to CERS in the app: the demo out of the box, the CERS import connection form, what changes, CERS's answers."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from cers_core.settings import GroupNameField, GroupOptions
from cers_core.store import DB_FILE_NAME
from cers_demo import DemoServer
from cers_demo.fake_cers_import import FakeImportOptions, FakeImportServer
from tests.support.app import open_store, save_connection, tick_school

ROOT = Path(__file__).resolve().parents[2]
CONNECTIONS = "pages/2_CERS_Connections.py"
SECTION_GROUPS = "pages/3_Section_Groups.py"


@pytest.fixture
def fake_import() -> Iterator[FakeImportServer]:
    with FakeImportServer(FakeImportOptions(processing_seconds=0.2)) as server:
        yield server


def save_district(data_dir: Path, demo_server: DemoServer, *, split_large: bool = True) -> None:
    save_connection(data_dir, demo_server, GroupOptions(split_large=split_large))


def save_import(data_dir: Path, fake: FakeImportServer) -> None:
    open_store(data_dir).save_import_connection(
        name="CERS",
        settings={"import_url": fake.import_url, "token_url": fake.token_url, "client_id": fake.options.client_id},
        client_secret=fake.options.client_secret,
        password=None,
    )


def open_school(at: AppTest, name: str | None = None, day=None) -> AppTest:
    """Section Groups, one school selected (the first whose name holds ``name``, else the first)."""
    at = at.switch_page(SECTION_GROUPS).run()
    if day is not None:
        at.date_input(key="sg_as_of").set_value(day)
    at = tick_school(at, lambda names: next(i for i, n in enumerate(names) if name is None or name in n))
    assert not at.exception, at.exception
    return at


def texts(elements) -> list[str]:
    return [element.value for element in elements]


def test_send_to_cers_works_out_of_the_box_on_the_demo_district(data_dir: Path) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.button(key="try_demo").click().run()
    at = at.switch_page(CONNECTIONS).run()
    assert not at.exception
    assert "Demo CERS import" in [e.label for e in at.expander]
    assert any("fake CERS import service" in i.value for i in at.info)

    at = open_school(at, "Elementary")
    assert any("No earlier file of these schools" in c.value for c in at.caption)
    send = at.button(key="school_send")
    assert not send.proto.disabled
    send.click().run()
    assert not at.exception, at.exception
    assert any("CERS processed the file" in s.value and "PROCESSED" in s.value for s in at.success), texts(at.error)
    [logged] = open_store(data_dir).downloads()
    assert "→ CERS (Demo CERS import)" in logged.school

    # The file sent is kept: the next look compares with it, and sending it again changes nothing in CERS.
    at.run()
    assert any("Compared with the file last sent to CERS" in c.value for c in at.caption)
    assert any("Nothing changes in CERS" in m.value for m in at.markdown)
    at.button(key="school_send").click().run()
    assert any("already processed an identical file" in i.value for i in at.info)


def test_what_changes_after_a_download_when_the_group_names_change(data_dir: Path, demo_server: DemoServer) -> None:
    save_district(data_dir, demo_server)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at = open_school(at, "Elementary", demo_server.district.reference_date)
    at.download_button(key="school_download").click().run()
    groups = next(int(m.value) for m in at.metric if m.label == "Groups")

    store = open_store(data_dir)
    [saved] = store.connections()
    store.save_connection(
        connection_id=saved.id, name=saved.name, settings=saved.settings, client_secret=None,
        options=GroupOptions(fields=(GroupNameField.course_code, GroupNameField.period), split_large=True),
    )  # fmt: skip
    at.run()
    assert not at.exception, at.exception
    assert any("Compared with the file last downloaded" in i.value and "may never have been uploaded" in i.value
               for i in at.info)  # fmt: skip
    assert any(f"{groups} groups are renamed" in w.value for w in at.warning)
    grid = next(frame.value for frame in at.dataframe if "Change" in frame.value.columns)
    assert set(grid["Change"]) == {"renamed"} and set(grid["Renamed, found by"]) == {"section"}


def test_cers_rejection_is_shown_with_the_rows_mapped(data_dir: Path, demo_server: DemoServer) -> None:
    save_district(data_dir, demo_server)
    with FakeImportServer(FakeImportOptions(school_years=(2026,), processing_seconds=0.1)) as fake:
        save_import(data_dir, fake)
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
        at = open_school(at, "Elementary", demo_server.district.reference_date)
        at.button(key="school_send").click().run()
    assert not at.exception, at.exception
    assert any("BAD\\_DATA" in e.value and "nothing in it was applied" in e.value for e in at.error)
    failures = next(frame.value for frame in at.dataframe if "CERS said" in frame.value.columns)
    assert list(failures["CERS said"]) == ["Invalid school year: 2027"] and list(failures["Row"]) == [1]
    with sqlite3.connect(data_dir / DB_FILE_NAME) as db:  # a rejected file changed nothing: nothing to compare with
        assert db.execute("SELECT count(*) FROM kept_files").fetchone()[0] == 0


def test_sending_is_off_for_a_file_cers_would_reject(data_dir: Path, demo_server: DemoServer, fake_import) -> None:
    save_district(data_dir, demo_server, split_large=False)
    save_import(data_dir, fake_import)
    large = demo_server.district.cases.large_section
    school_id = demo_server.district.classes.filter(pl.col("sourcedId") == large)["school.sourcedId"][0]
    name = demo_server.district.orgs.filter(pl.col("sourcedId") == school_id)["name"][0]
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at = open_school(at, name, demo_server.district.reference_date)
    assert at.button(key="school_send").proto.disabled
    assert any("Sending is off" in c.value for c in at.caption)
    assert fake_import.service.posts_received == 0


def test_without_an_import_connection_the_page_says_where_to_add_one(data_dir: Path, demo_server: DemoServer) -> None:
    save_district(data_dir, demo_server)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at = open_school(at, "Elementary", demo_server.district.reference_date)
    assert any("CERS import (RDW API) connection" in i.value for i in at.info)
    assert "school_send" not in [button.key for button in at.button]


def test_adding_testing_and_saving_an_import_connection(data_dir: Path, fake_import: FakeImportServer) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at = at.switch_page(CONNECTIONS).run()
    at.button(key="add_connection").click().run()
    at.radio(key="conns_type").set_value("CERS import (RDW API)")  # the dialog keeps it for the click
    at.button(key="generate_connection").click().run()
    assert not at.exception
    at.button(key="save_import").click().run()
    assert any("fix the fields marked above" in e.value for e in at.error)
    assert open_store(data_dir).import_connections() == []

    at.text_input(key="imp_name").input("CERS")
    at.text_input(key="imp_import_url").input(fake_import.import_url)
    at.text_input(key="imp_token_url").input(fake_import.token_url)
    at.text_input(key="imp_client_id").input(fake_import.options.client_id)
    at.text_input(key="imp_client_secret").input("not-the-secret-9x")
    at.button(key="test_import").click().run()
    assert any("did not accept" in e.value for e in at.error)
    assert all("not-the-secret-9x" not in e.value for e in at.error)
    at.text_input(key="imp_client_secret").input(fake_import.options.client_secret)
    at.button(key="test_import").click().run()
    assert any(s.value.startswith("Connected") for s in at.success), texts(at.error)
    at.button(key="save_import").click().run()
    [saved] = open_store(data_dir).import_connections()
    assert saved.name == "CERS" and fake_import.service.posts_received == 0
    assert "CERS" in [e.label for e in at.expander]


def _changes_grid() -> None:
    import polars as pl  # AppTest runs this function's body as a script of its own

    from cers_app.widgets import paged_grid

    paged_grid(pl.DataFrame({"Change": [f"change {n}" for n in range(1, 251)]}), "changes_page", "Changes")


def test_a_long_list_of_changes_is_sent_a_page_at_a_time_and_every_row_is_within_reach() -> None:
    at = AppTest.from_function(_changes_grid).run()
    assert not at.exception, at.exception
    assert list(at.dataframe[0].value["Change"]) == [f"change {n}" for n in range(1, 51)]
    assert at.caption[0].value == "Changes 1–50 of 250"
    at.number_input(key="changes_page").set_value(5).run()
    assert list(at.dataframe[0].value["Change"]) == [f"change {n}" for n in range(201, 251)]
    assert at.caption[0].value == "Changes 201–250 of 250"
