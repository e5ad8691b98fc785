"""The CERS Connections page: add, test, validate, edit without the secret, delete."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cers_core.settings import GroupNameField
from cers_demo import DemoServer
from tests.support.app import open_store, school_table, shown

ROOT = Path(__file__).resolve().parents[2]
CONNECTIONS = "pages/2_CERS_Connections.py"


def open_page(page: str = CONNECTIONS) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    return at.switch_page(page).run()


def page_text(at: AppTest) -> str:
    """Everything the page shows as text, to check what never may appear in it."""
    parts = [
        str(element.value)
        for kind in ("markdown", "caption", "text", "info", "success", "error", "warning")
        for element in getattr(at, kind)
    ]
    parts += [str(widget.value) for widget in at.text_input]
    return "\n".join(parts)


def start_new(at: AppTest) -> AppTest:
    """Add CERS Connection, pick OneRoster 1.2 in the pop-up, Generate."""
    at.button(key="add_connection").click().run()
    assert at.radio(key="conns_type").value == "OneRoster 1.2"
    return at.button(key="generate_connection").click().run()


def fill(at: AppTest, demo_server: DemoServer, *, name: str = "District SIS", secret: str | None = None) -> AppTest:
    at.text_input(key="conn_name").input(name)
    at.text_input(key="conn_client_id").input(demo_server.client_id)
    at.text_input(key="conn_client_secret").input(demo_server.client_secret if secret is None else secret)
    at.text_input(key="conn_base_url").input(demo_server.base_url)
    at.text_input(key="conn_token_url").input(demo_server.token_url)
    return at.run()


def test_add_test_and_save_a_connection(data_dir: Path, demo_server: DemoServer) -> None:
    at = fill(start_new(open_page()), demo_server)
    assert at.get_by_key("edit_panel") is not None
    at.multiselect(key="conn_fields").set_value([GroupNameField.course_title, GroupNameField.period]).run()
    at.text_input(key="conn_separator").input(" | ").run()
    assert any("from a sample section" in m.value for m in at.markdown)
    at.button(key="test_connection").click().run()
    assert not at.exception
    assert any("Connected" in s.value for s in at.success)
    assert any("from your district's data" in m.value for m in at.markdown)
    at.button(key="save_connection").click().run()
    assert not at.exception
    assert any("Saved" in s.value for s in at.success)
    [saved] = open_store(data_dir).connections()
    assert saved.name == "District SIS"
    assert saved.options.fields == (GroupNameField.course_title, GroupNameField.period)
    assert saved.options.separator == " | "
    assert demo_server.client_secret not in page_text(at)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("conn_base_url", "", "Enter the Base URL"),
        ("conn_base_url", "http://sis.example.org/oneroster", "https://"),
        ("conn_token_url", "not a url", "spaces"),
        ("conn_client_id", "", "at least 1 character"),
        ("conn_name", "", "Enter a name"),
        ("conn_separator", ",", "separator may not hold"),
        ("conn_cds_map", "school-1 = 123", "not a school CDS code"),
        ("conn_cds_map", "just words", "Line 1"),
        ("conn_client_id", "x" * 501, "at most 500"),
        ("conn_client_id", "abc\tdef", "control characters"),
        ("conn_base_url", "https://sis.example.org/" + "a" * 2000, "too long"),
        ("conn_ssid_types", " , ", "at least one userIds type"),
    ],
)
def test_save_says_what_is_wrong_beside_the_field(
    data_dir: Path, demo_server: DemoServer, field: str, value: str, message: str
) -> None:
    at = fill(start_new(open_page()), demo_server)
    widget = at.text_area(key=field) if field == "conn_cds_map" else at.text_input(key=field)
    widget.input(value)
    at.button(key="save_connection").click().run()
    assert not at.exception
    assert any(message in shown(e.value) for e in at.error), [e.value for e in at.error]
    assert open_store(data_dir).connections() == []


def test_no_group_name_field_chosen(data_dir: Path, demo_server: DemoServer) -> None:
    at = fill(start_new(open_page()), demo_server)
    at.multiselect(key="conn_fields").set_value([]).run()
    at.button(key="save_connection").click().run()
    assert any("at least one field" in e.value for e in at.error)


def test_a_new_connection_needs_its_secret(data_dir: Path, demo_server: DemoServer) -> None:
    at = fill(start_new(open_page()), demo_server, secret="")
    at.button(key="save_connection").click().run()
    assert any("Client Secret" in e.value for e in at.error)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"conn_client_secret": "wrong-secret"}, "Client ID"),
        ({"conn_base_url": "http://127.0.0.1:9/ims/oneroster/rostering/v1p2"}, ""),
    ],
    ids=["wrong-secret", "nobody-listening"],
)
def test_a_failing_test_is_explained(
    data_dir: Path, demo_server: DemoServer, change: dict[str, str], expected: str
) -> None:
    at = fill(start_new(open_page()), demo_server)
    for key, value in change.items():
        at.text_input(key=key).input(value)
    at.button(key="test_connection").click().run()
    assert not at.exception
    [error] = [e.value for e in at.error]
    assert expected in error
    assert "wrong-secret" not in error
    assert "Traceback" not in error


def test_edit_without_retyping_the_secret(data_dir: Path, demo_server: DemoServer) -> None:
    at = fill(start_new(open_page()), demo_server)
    at.button(key="save_connection").click().run()
    [saved] = open_store(data_dir).connections()
    at.button(key=f"edit_{saved.id}").click().run()
    assert at.text_input(key="conn_client_secret").value == ""
    assert at.text_input(key="conn_client_id").value == demo_server.client_id
    at.text_input(key="conn_name").input("Renamed").run()
    at.button(key="test_connection").click().run()
    assert any("Connected" in s.value for s in at.success)
    at.button(key="save_connection").click().run()
    assert not at.exception
    store = open_store(data_dir)
    [edited] = store.connections()
    assert edited.name == "Renamed"
    assert store.settings(edited).client_secret.get_secret_value() == demo_server.client_secret
    assert demo_server.client_secret not in page_text(at)


def test_delete_asks_first(data_dir: Path, demo_server: DemoServer) -> None:
    at = fill(start_new(open_page()), demo_server)
    at.button(key="save_connection").click().run()
    [saved] = open_store(data_dir).connections()
    at.button(key=f"delete_{saved.id}").click().run()
    assert any("cannot be undone" in w.value for w in at.warning)
    at.button(key=f"cancel_delete_{saved.id}").click().run()
    assert len(open_store(data_dir).connections()) == 1
    at.button(key=f"delete_{saved.id}").click().run()
    at.button(key=f"confirm_delete_{saved.id}").click().run()
    assert not at.exception
    assert open_store(data_dir).connections() == []


def test_try_the_demo_district(data_dir: Path) -> None:
    at = open_page()
    at.button(key="try_demo").click().run()
    assert not at.exception
    [saved] = open_store(data_dir).connections()
    assert saved.name == "Demo district"
    assert any("Demo credentials" in i.value for i in at.info)
    at.button(key="try_demo").click().run()
    assert len(open_store(data_dir).connections()) == 1


def test_a_token_url_on_another_host_is_shown(data_dir: Path, demo_server: DemoServer) -> None:
    at = fill(start_new(open_page()), demo_server)
    assert not any("Token URL is on" in i.value for i in at.info)
    at.text_input(key="conn_token_url").input("https://login.example.com/oauth2/token").run()
    assert any("Token URL is on login.example.com" in shown(i.value) for i in at.info)


def test_editing_a_connection_deleted_in_another_window(data_dir: Path, demo_server: DemoServer) -> None:
    at = fill(start_new(open_page()), demo_server)
    at.button(key="save_connection").click().run()
    [saved] = open_store(data_dir).connections()
    at.button(key=f"edit_{saved.id}").click().run()
    open_store(data_dir).delete_connection(saved.id)
    at.button(key="save_connection").click().run()
    assert not at.exception
    assert any("no longer exists" in e.value for e in at.error)


def _rendered(node: object) -> Iterator[bytes]:
    """Every element the app sent to the browser, as the bytes of its message."""
    proto = getattr(node, "proto", None)
    if proto is not None:
        yield proto.SerializeToString()
    for child in getattr(node, "children", {}).values():
        yield from _rendered(child)


def test_the_secret_never_reaches_the_browser(data_dir: Path, demo_server: DemoServer) -> None:
    secret = demo_server.client_secret.encode()
    at = fill(start_new(open_page()), demo_server)
    at.button(key="test_connection").click().run()
    at.button(key="save_connection").click().run()
    [saved] = open_store(data_dir).connections()
    at.button(key=f"edit_{saved.id}").click().run()
    seen = [b"".join(_rendered(at._tree))]
    for page in ("app.py", "pages/1_Applications.py", "pages/3_Section_Groups.py"):
        seen.append(b"".join(_rendered(at.switch_page(page).run()._tree)))
    assert all(demo_server.client_id.encode() in page for page in seen[:1])  # sanity: the form was read
    assert not any(secret in page for page in seen)


def test_school_selection_from_the_edit_panel(data_dir: Path, demo_server: DemoServer) -> None:
    """The seed's way: edit the connection, then its School Selection."""
    at = fill(start_new(open_page()), demo_server)
    at.button(key="save_connection").click().run()
    [saved] = open_store(data_dir).connections()
    at.button(key=f"edit_{saved.id}").click().run()
    at.button(key="school_selection").click().run()
    assert not at.exception
    at.switch_page("pages/3_Section_Groups.py").run()  # where the browser's URL now points
    assert at.title[0].value == "Download a CERS Section Group"
    assert at.selectbox(key="sg_connection").value == saved.id
    assert school_table(at)
