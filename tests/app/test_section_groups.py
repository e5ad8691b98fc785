"""The Section Groups page, and the seed's whole flow from the home page to an enabled download."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from cers_app.progress import progress_summary
from cers_app.widgets import GRID_ROWS
from cers_core import FetchProgress, GroupOptions, export_section_groups, list_schools
from cers_core.settings import GroupNameField
from cers_demo import DemoServer
from tests.support.app import choose_school, open_section_groups, open_store, save_connection, school_table

ROOT = Path(__file__).resolve().parents[2]
APPLICATIONS = "pages/1_Applications.py"
CONNECTIONS = "pages/2_CERS_Connections.py"
SECTION_GROUPS = "pages/3_Section_Groups.py"


@pytest.fixture(scope="module")
def schools(demo_server: DemoServer) -> pl.DataFrame:
    return list_schools(demo_server.settings())


def follow(at: AppTest, page: str) -> AppTest:
    """Stay on the page the script switched to: a browser's URL changes, AppTest's next run would not."""
    assert not at.exception
    return at.switch_page(page)


def metric(at: AppTest, label: str) -> int:
    return int(next(m.value for m in at.metric if m.label == label).replace(",", ""))


def test_the_seed_flow_end_to_end(data_dir: Path, demo_server: DemoServer, schools: pl.DataFrame) -> None:
    """Add CERS_int, add a OneRoster 1.2 connection, test it, pick fields, preview a school, download."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception

    # Add an application: Add Application, search, select CERS_int, then go on to add a connection.
    at.switch_page(APPLICATIONS).run()
    at.button(key="add_application").click().run()
    at.text_input(key="app_search").input("CERS").run()
    at.button(key="select_CERS_int").click().run()
    assert any("no connection to CERS yet" in s.value for s in at.success)
    at.button(key="go_add_connection").click().run()
    follow(at, CONNECTIONS)

    # Add a CERS Connection: OneRoster 1.2, Generate, the four values, Include in Group Name, Save.
    assert at.radio(key="conns_type").value == "OneRoster 1.2"
    at.button(key="generate_connection").click().run()
    at.text_input(key="conn_name").input("Sierra Vista SIS")
    at.text_input(key="conn_client_id").input(demo_server.client_id)
    at.text_input(key="conn_client_secret").input(demo_server.client_secret)
    at.text_input(key="conn_base_url").input(demo_server.base_url)
    at.text_input(key="conn_token_url").input(demo_server.token_url)
    fields = [GroupNameField.course_title, GroupNameField.teacher, GroupNameField.period]
    at.multiselect(key="conn_fields").set_value(fields).run()
    at.button(key="test_connection").click().run()
    assert any(f"{schools.height} schools" in s.value for s in at.success), [e.value for e in at.error]
    at.button(key="save_connection").click().run()
    [saved] = open_store(data_dir).connections()
    assert saved.options.fields == tuple(fields)

    # Download a CERS Section Group: the connection's Section Groups, School Selection, Download CSV.
    at.button(key=f"groups_{saved.id}").click().run()
    follow(at, SECTION_GROUPS).run()
    assert at.title[0].value == "Download a CERS Section Group"
    assert len(school_table(at)) == schools.height
    school = schools.filter(pl.col("name").str.contains("Elementary")).row(0, named=True)
    at = choose_school(at, school["name"], demo_server.district.reference_date)
    assert not at.exception

    expected = export_section_groups(
        demo_server.settings(),
        saved.options,
        schools=[school["sourced_id"]],
        as_of=demo_server.district.reference_date,
    )
    assert expected.accepted
    assert metric(at, "Groups") == expected.groups.height
    assert metric(at, "Problems") == expected.problems.height
    ssids = expected.rows.filter(pl.col("student_ssid") != "")["student_ssid"]
    logins = expected.rows.filter(pl.col("group_user_login") != "")["group_user_login"]
    assert (metric(at, "Students"), metric(at, "Teachers")) == (ssids.n_unique(), logins.n_unique())
    preview = at.dataframe[1].value
    assert list(preview.columns) == expected.rows.columns
    assert len(preview) == min(GRID_ROWS, expected.rows.height)
    download = at.download_button(key="school_download")
    assert download.label == "Download CSV"
    assert not download.proto.disabled

    download.click().run()
    [logged] = open_store(data_dir).downloads()
    assert (logged.school, logged.rows) == (school["name"], expected.rows.height)
    assert logged.sha256 == hashlib.sha256(expected.csv_bytes).hexdigest()


def test_a_school_whose_file_would_be_rejected(data_dir: Path, demo_server: DemoServer, schools: pl.DataFrame) -> None:
    """The school with a section over 200 students, without splitting: no download, and the reason."""
    large = demo_server.district.cases.large_section
    classes = demo_server.district.classes
    school_id = classes.filter(pl.col("sourcedId") == large)["school.sourcedId"][0]
    name = schools.filter(pl.col("sourced_id") == school_id)["name"][0]
    save_connection(data_dir, demo_server, GroupOptions(split_large=False))
    at = choose_school(open_section_groups(), name, demo_server.district.reference_date)
    assert not at.exception
    assert at.download_button(key="school_download").proto.disabled
    assert any("CERS would reject this file" in e.value and "200" in e.value for e in at.error)
    assert open_store(data_dir).downloads() == []
    # The switch the message asks for is right beside it, and is saved to the connection.
    [switch] = [t for t in at.toggle if t.label.startswith("Split sections over 200 students")]
    switch.set_value(True).run()
    assert not at.exception
    [saved] = open_store(data_dir).connections()
    assert saved.options.split_large
    assert not at.download_button(key="school_download").proto.disabled


def test_splitting_large_sections_makes_the_same_school_downloadable(
    data_dir: Path, demo_server: DemoServer, schools: pl.DataFrame
) -> None:
    large = demo_server.district.cases.large_section
    school_id = demo_server.district.classes.filter(pl.col("sourcedId") == large)["school.sourcedId"][0]
    name = schools.filter(pl.col("sourced_id") == school_id)["name"][0]
    save_connection(data_dir, demo_server, GroupOptions(split_large=True))
    at = choose_school(open_section_groups(), name, demo_server.district.reference_date)
    assert not at.download_button(key="school_download").proto.disabled


def test_the_preview_is_paged(data_dir: Path, demo_server: DemoServer, schools: pl.DataFrame) -> None:
    """A big school's rows reach the browser a page at a time, with the count shown."""
    save_connection(data_dir, demo_server, GroupOptions(split_large=True))
    name = schools.filter(pl.col("name").str.contains("High"))["name"][0]
    at = choose_school(open_section_groups(), name, demo_server.district.reference_date)
    rows = metric(at, "Groups")
    assert rows > 0
    assert len(at.dataframe[1].value) == GRID_ROWS
    first = at.dataframe[1].value.iloc[0].to_dict()
    at.number_input(key="school_rows_page").set_value(2).run()
    assert at.dataframe[1].value.iloc[0].to_dict() != first
    assert any(f"Rows {GRID_ROWS + 1}–{2 * GRID_ROWS} of" in c.value for c in at.caption)


def test_a_school_picked_from_the_list_reuses_the_token_and_the_list(
    data_dir: Path, demo_server: DemoServer, schools: pl.DataFrame
) -> None:
    """The preview starts with the school's own rosters: no second token, the list only asked for its changes."""
    save_connection(data_dir, demo_server, GroupOptions(split_large=True))
    demo_server.request_log.clear()
    at = open_section_groups()
    assert (demo_server.request_log.count("/oauth/token"), demo_server.request_log.count("/schools")) == (1, 1)
    name = schools.filter(pl.col("name").str.contains("Middle"))["name"][0]
    at = choose_school(at, name, demo_server.district.reference_date)
    assert not at.exception
    assert metric(at, "Groups") > 0
    # One more /schools request: the list's changes, asked alongside the school's rosters.
    assert (demo_server.request_log.count("/oauth/token"), demo_server.request_log.count("/schools")) == (1, 2)


def test_an_edited_secret_is_used_at_once_instead_of_the_old_connections_token(
    data_dir: Path, demo_server: DemoServer, schools: pl.DataFrame
) -> None:
    """The session's caches are keyed by the connection's version: saving only a new secret starts afresh."""
    save_connection(data_dir, demo_server, GroupOptions(split_large=True))
    name = schools.filter(pl.col("name").str.contains("Middle"))["name"][0]
    at = choose_school(open_section_groups(), name, demo_server.district.reference_date)
    assert not at.exception and not at.error and metric(at, "Groups") > 0
    issued = len(demo_server.issued_tokens)
    store = open_store(data_dir)
    [saved] = store.connections()

    def save_secret(secret: str) -> None:
        """Only the secret changes, as the form's Save writes it."""
        store.save_connection(
            connection_id=saved.id,
            name=saved.name,
            settings=saved.settings,
            client_secret=secret,
            options=saved.options,
        )

    save_secret("not-the-secret-anymore")  # a wrong secret: the provider must be asked, and refuse
    at.run()
    assert not at.exception
    assert at.error, "the page went on with the token of the connection as it was before the edit"
    assert len(demo_server.issued_tokens) == issued
    save_secret(demo_server.client_secret)  # the right one again: a new token, not the one from before
    at.run()
    assert not at.exception and not at.error
    assert len(demo_server.issued_tokens) == issued + 1
    assert metric(at, "Groups") > 0


def test_the_district_wide_file(data_dir: Path, demo_server: DemoServer) -> None:
    save_connection(data_dir, demo_server, GroupOptions(split_large=True))
    at = open_section_groups()
    at.date_input(key="sg_as_of").set_value(demo_server.district.reference_date)
    at.radio(key="sg_scope").set_value("Whole district").run()
    assert not at.exception
    download = at.download_button(key="district_download")
    assert not download.proto.disabled


def test_no_connection_yet(data_dir: Path) -> None:
    at = open_section_groups()
    assert not at.exception
    assert any("Add a CERS connection first" in i.value for i in at.info)


def test_a_provider_that_does_not_answer(data_dir: Path, demo_server: DemoServer) -> None:
    open_store(data_dir).save_connection(
        name="Gone",
        settings={
            "base_url": "http://127.0.0.1:9/ims/oneroster/rostering/v1p2",
            "token_url": "http://127.0.0.1:9/token",
            "client_id": "x",
        },
        client_secret="y",
        options=GroupOptions(),
    )
    at = open_section_groups()
    assert not at.exception
    assert len(at.error) == 1


@pytest.mark.parametrize(
    ("collections", "fraction", "text"),
    [
        ([], 0.0, "Getting a token"),
        ([FetchProgress("classes", 2, 500, 1000)], 0.5, "classes: 500 of 1,000 records, 2 pages"),
        (
            [FetchProgress("classes", 1, 1000, 1000), FetchProgress("users", 3, 3000, None)],
            1.0,
            "users: 3,000 records, 3 pages",
        ),
    ],
)
def test_progress_reads_as_pages_and_records(collections: list[FetchProgress], fraction: float, text: str) -> None:
    done, line = progress_summary(collections)
    assert done == fraction
    assert text in line
