"""A OneRoster CSV bundle connection in the app: added on CERS Connections, its zip uploaded on Section
Groups (or read from the server, where an administrator points it), the same file as the CLI makes;
a bad bundle's problems in a grid, and nothing to download."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cers_core import GroupOptions, export_from_bundle, export_section_groups
from cers_demo import DemoServer
from cers_demo.csv_bundle import write_csv_bundle
from tests.app.test_sign_in import ANALYST, SECRETS, open_app, signed_in
from tests.support import DEMO_REFERENCE_DATE
from tests.support.app import choose_school, open_store, shown
from tests.support.bundles import bundle_files, changed, zip_bundle

SECTION_GROUPS = "pages/3_Section_Groups.py"
CONNECTIONS = "pages/2_CERS_Connections.py"
OPTIONS = GroupOptions(split_large=True)
SCHOOL = "Jefferson Middle School"


@pytest.fixture(scope="module")
def demo_zip(demo_district, tmp_path_factory) -> Path:
    return write_csv_bundle(demo_district, tmp_path_factory.mktemp("bundle") / "sierra-vista.zip")


def saved_bundle(data_dir: Path, path: str | None = None) -> int:
    store = open_store(data_dir)
    store.add_application("CERS_int")
    return store.save_bundle_connection(name="Nightly bundle", settings={"path": path}, options=OPTIONS).id


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="sg_bundle_upload").set_value((name, data, "application/zip"))
    at.run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> str:
    """What the elements show (Markdown escapes taken away)."""
    return "\n".join(shown(str(element.value)) for element in elements)


def test_an_uploaded_bundle_gives_the_file_the_command_line_makes(data_dir, demo_zip, downloads) -> None:
    saved_bundle(data_dir)
    at = open_app(SECTION_GROUPS)
    assert "Upload the bundle to see its schools" in texts(at.info)
    at = upload(at, "sierra-vista.zip", demo_zip.read_bytes())
    at = choose_school(at, SCHOOL, DEMO_REFERENCE_DATE)
    assert not at.exception, at.exception
    expected = export_from_bundle(demo_zip, OPTIONS, schools=["org-0002"], as_of=DEMO_REFERENCE_DATE)
    button = at.download_button(key="school_download")
    assert not button.proto.disabled
    assert downloads(button) == expected.csv_bytes
    assert [shown(status.label) for status in at.status] == [
        f"Rosters of {SCHOOL} loaded (read from a OneRoster CSV bundle (1.2), 7 files)."
    ]


def test_a_bad_bundle_shows_its_problems_where_they_are_and_offers_nothing(data_dir) -> None:
    saved_bundle(data_dir)
    files = changed(bundle_files("lincoln_high", "1.2"), "orgs.csv", "sch-lhs,active", "sch-lhs,gone")
    at = upload(open_app(SECTION_GROUPS), "lincoln.zip", zip_bundle(files))
    assert "The OneRoster CSV bundle cannot be used: 1 problem must be fixed first." in texts(at.error)
    grid = at.dataframe[0].value
    assert list(grid.columns) == ["Severity", "File", "Line", "Column", "Problem"]
    first = grid.iloc[0]
    assert (first["Severity"], first["File"], first["Line"], first["Column"]) == ("error", "orgs.csv", 2, "status")
    assert first["Problem"].startswith("The status is 'gone': it must be active or tobedeleted")
    assert not at.get("download_button")


def test_a_bundle_on_the_server_is_read_only_inside_the_allowed_folders(data_dir, demo_zip, monkeypatch) -> None:
    monkeypatch.setenv("CERS_BUNDLE_FOLDERS", str(demo_zip.parent))
    saved_bundle(data_dir, str(demo_zip))
    at = open_app(SECTION_GROUPS)
    assert f"Reads the OneRoster CSV bundle at `{demo_zip}` on the server" in texts(at.caption)
    assert not at.get("file_uploader")
    monkeypatch.setenv("CERS_BUNDLE_FOLDERS", str(data_dir))  # the deployment no longer allows that folder
    at = open_app(SECTION_GROUPS)
    assert "The bundle on the server cannot be read." in texts(at.error)
    assert not at.get("download_button")


def test_only_an_administrator_points_a_connection_at_the_server(data_dir, demo_zip, monkeypatch) -> None:
    monkeypatch.setenv("CERS_BUNDLE_FOLDERS", str(demo_zip.parent))
    connection = saved_bundle(data_dir)
    at = open_app(SECTION_GROUPS)
    key = next(w.key for w in at.text_input if w.key.startswith("sg_bundle_path_"))
    at.text_input(key=key).set_value("/etc")
    at.button(key="sg_bundle_path_save").click().run()
    assert "The app may read bundles only inside" in texts(at.error)
    assert open_store(data_dir).bundle_connection(connection).settings.path is None
    key = next(w.key for w in at.text_input if w.key.startswith("sg_bundle_path_"))
    at.text_input(key=key).set_value(str(demo_zip))
    at.button(key="sg_bundle_path_save").click().run()
    assert open_store(data_dir).bundle_connection(connection).settings.path == str(demo_zip)

    analyst = open_app(SECTION_GROUPS, user=signed_in(ANALYST), secrets=SECRETS)
    assert f"Reads the OneRoster CSV bundle at `{demo_zip}` on the server" in texts(analyst.caption)
    assert not [w for w in analyst.text_input if w.key.startswith("sg_bundle_path_")]
    assert not [b for b in analyst.button if b.key.startswith("sg_bundle_path")]


def add_bundle_connection(at: AppTest) -> AppTest:
    """Add CERS Connection, pick OneRoster CSV bundle in the pop-up, Generate."""
    at.button(key="add_connection").click().run()
    at.radio(key="conns_type").set_value("OneRoster CSV bundle")  # chosen and generated in one go, as a click does
    return at.button(key="generate_connection").click().run()


def test_add_a_bundle_connection_with_its_path_on_the_server(data_dir, demo_zip, monkeypatch) -> None:
    monkeypatch.setenv("CERS_BUNDLE_FOLDERS", str(demo_zip.parent))
    at = add_bundle_connection(open_app(CONNECTIONS))
    assert [s.value for s in at.subheader] == ["Edit OneRoster CSV Bundle Connection"]
    keys = {w.key for w in at.text_input}
    assert "conn_path" in keys and not keys & {"conn_client_id", "conn_base_url", "conn_scope"}
    at.text_input(key="conn_name").input("Nightly bundle")
    at.text_input(key="conn_path").input("/etc/passwd").run()
    at.button(key="save_connection").click().run()
    assert "The app may read bundles only inside" in texts(at.error)
    assert open_store(data_dir).bundle_connections() == []

    at.text_input(key="conn_path").input(str(demo_zip)).run()
    at.button(key="test_connection").click().run()
    assert "Read the bundle: it lists 3 schools." in texts(at.success)
    at.checkbox(key="conn_split_large").check().run()
    at.button(key="save_connection").click().run()
    [saved] = open_store(data_dir).bundle_connections()
    assert (saved.name, saved.settings.path, saved.options.split_large) == ("Nightly bundle", str(demo_zip), True)
    assert f"**OneRoster CSV bundle** · read on the server at `{demo_zip}`" in texts(at.markdown)
    assert f"sync_target_{saved.id}" in {w.key for w in at.selectbox}  # the nightly sync can read it

    at.button(key=f"edit_{saved.id}").click().run()  # it opens as what it is
    assert at.text_input(key="conn_path").value == str(demo_zip)
    assert [s.value for s in at.subheader] == ["Edit OneRoster CSV Bundle Connection"]


def test_a_bundle_connection_without_a_path_is_uploaded_on_section_groups(data_dir) -> None:
    at = add_bundle_connection(open_app(CONNECTIONS))
    at.text_input(key="conn_name").input("Uploaded bundle").run()
    at.button(key="test_connection").click().run()
    assert "without a path on the server, the zip is uploaded and checked on Section Groups" in texts(at.success)
    at.button(key="save_connection").click().run()
    [saved] = open_store(data_dir).bundle_connections()
    assert saved.settings.path is None
    assert "**OneRoster CSV bundle** · uploaded on Section Groups" in texts(at.markdown)
    # Nobody uploads at night: the scheduled sync says what it needs instead of offering a target.
    assert f"sync_target_{saved.id}" not in {w.key for w in at.selectbox}
    assert "this connection's bundle is uploaded by hand. Set its path on the server (Edit)" in texts(at.caption)


def test_try_the_demo_district_as_a_csv_bundle(data_dir, downloads) -> None:
    at = open_app(CONNECTIONS)
    at.button(key="try_demo_bundle").click().run()
    assert not at.exception, at.exception
    [saved] = open_store(data_dir).bundle_connections()
    assert saved.name == "Demo district (CSV bundle)"
    assert Path(saved.settings.path) == data_dir / "demo-bundles" / "sierra-vista-oneroster.zip"
    at.button(key=f"groups_{saved.id}").click().run()
    at = at.switch_page(SECTION_GROUPS).run()
    at = choose_school(at, SCHOOL, date.today())
    with DemoServer() as district:  # the district the app's demo provider serves, over REST
        expected = export_section_groups(district.settings(), saved.options, schools=["org-0002"], as_of=date.today())
    assert downloads(at.download_button(key="school_download")) == expected.csv_bytes


def test_a_fix_made_on_section_groups_is_saved_to_the_bundle_connection(data_dir, demo_district, demo_zip) -> None:
    large = demo_district.cases.large_section
    school_id = demo_district.classes.filter(demo_district.classes["sourcedId"] == large)["school.sourcedId"][0]
    name = demo_district.orgs.filter(demo_district.orgs["sourcedId"] == school_id)["name"][0]
    store = open_store(data_dir)
    store.add_application("CERS_int")
    store.save_bundle_connection(name="Bundle", settings={}, options=GroupOptions(split_large=False))
    at = upload(open_app(SECTION_GROUPS), "sierra-vista.zip", demo_zip.read_bytes())
    at = choose_school(at, name, DEMO_REFERENCE_DATE)
    assert at.download_button(key="school_download").proto.disabled
    [switch] = [t for t in at.toggle if t.label.startswith("Split sections over 200 students")]
    switch.set_value(True).run()
    assert not at.exception, at.exception
    [saved] = open_store(data_dir).bundle_connections()
    assert saved.options.split_large and saved.settings.path is None
    assert not at.download_button(key="school_download").proto.disabled  # the upload is read again, split
