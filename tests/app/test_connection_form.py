"""The connection forms say true things: a test never says "not saved", a save after a failed test
warns, counts have their plurals, a wrong port is said in plain words, the example group name comes
from the district once a test has read it, a secret does not follow a URL to another server, and
what was typed survives a reload of the page (secrets excepted)."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from cers_core import example_group_name
from cers_core.settings import GroupOptions
from cers_demo import DemoDistrict, DemoServer, generate_district
from tests.app.test_connections import fill, open_page, start_new
from tests.support.app import open_store, save_connection, shown

ROOT = Path(__file__).resolve().parents[2]
CONNECTIONS = "pages/2_CERS_Connections.py"


def texts(at: AppTest, *kinds: str) -> list[str]:
    return [shown(element.value) for kind in kinds for element in getattr(at, kind)]


def test_testing_an_invalid_form_does_not_speak_of_saving(data_dir: Path) -> None:
    at = start_new(open_page())
    at.button(key="test_connection").click().run()
    errors = texts(at, "error")
    assert "Fix the fields marked above, then test again." in errors
    assert not any("not saved" in error for error in errors)
    at.button(key="save_connection").click().run()
    assert "The connection was not saved: fix the fields marked above." in texts(at, "error")


def test_saving_after_a_failed_test_warns(data_dir: Path, demo_server: DemoServer) -> None:
    at = fill(start_new(open_page()), demo_server, secret="not-the-secret")
    at.button(key="test_connection").click().run()
    assert texts(at, "error")
    at.button(key="save_connection").click().run()
    [warning] = texts(at, "warning")
    assert warning.startswith("Saved “District SIS”, but its last test failed: ")
    assert warning.endswith("Test it again before using it.")
    assert len(open_store(data_dir).connections()) == 1


@pytest.fixture(scope="module")
def one_school(demo_district: DemoDistrict) -> Iterator[DemoServer]:
    orgs = demo_district.orgs.filter(pl.col("sourcedId").is_in(["org-0000", "org-0001"]))
    with DemoServer(dataclasses.replace(demo_district, orgs=orgs)) as server:
        yield server


def test_one_school_is_one_school(data_dir: Path, one_school: DemoServer) -> None:
    at = fill(start_new(open_page()), one_school)
    at.button(key="test_connection").click().run()
    assert "Connected: the provider lists 1 school." in texts(at, "success")


def test_a_wrong_port_in_plain_words(data_dir: Path, demo_server: DemoServer, quick_retries: None) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    at = fill(start_new(open_page()), demo_server)
    at.text_input(key="conn_token_url").input(f"http://127.0.0.1:{port}/oauth/token")
    at.button(key="test_connection").click().run()
    [error] = texts(at, "error")
    assert f"nothing answered at 127.0.0.1:{port} — is the Token URL's port right?" in error
    assert "ConnectError" not in error and "said" not in error


@pytest.fixture(scope="module")
def last_years_district() -> Iterator[DemoServer]:
    """A district whose terms all ended long ago: no section is current today."""
    with DemoServer(generate_district(reference_date=date(2019, 10, 1))) as server:
        yield server


def test_the_example_name_comes_from_a_real_section_once_tested(data_dir: Path, last_years_district) -> None:
    at = fill(start_new(open_page()), last_years_district)
    sample = example_group_name(GroupOptions())
    assert any(sample in m.value and "from a sample section" in m.value for m in at.markdown)
    at.button(key="test_connection").click().run()
    [example] = [m.value for m in at.markdown if m.value.startswith("Example group name")]
    assert "from your district's data" in example and sample not in example


def test_a_saved_secret_does_not_follow_a_url_to_another_server(data_dir: Path, demo_server: DemoServer) -> None:
    save_connection(data_dir, demo_server)
    [saved] = open_store(data_dir).connections()
    at = open_page()
    at.button(key=f"edit_{saved.id}").click().run()
    assert not texts(at, "warning")
    at.text_input(key="conn_token_url").input("http://127.0.0.2:8080/oauth/token").run()
    [warning] = texts(at, "warning")
    assert warning.startswith("The Token URL points to another server than when the Client Secret was saved")
    at.button(key="test_connection").click().run()
    assert any(e.startswith("The Token URL points to another server") for e in texts(at, "error"))
    assert demo_server.client_secret not in "\n".join(texts(at, "error", "warning", "markdown"))
    at.text_input(key="conn_token_url").input(demo_server.token_url).run()  # back where it was: kept again
    assert not texts(at, "warning")


def test_what_was_typed_survives_a_reload_but_not_the_secret(data_dir: Path, demo_server: DemoServer) -> None:
    at = fill(start_new(open_page()), demo_server, name="Typed before the reload")
    at.text_input(key="conn_separator").input(" | ").run()
    url = dict(at.query_params)
    assert url["edit"] == "oneroster:new" and len(url["draft"]) >= 20

    reloaded = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    reloaded.query_params.update(url)
    reloaded.switch_page(CONNECTIONS).run()
    assert not reloaded.exception
    assert reloaded.text_input(key="conn_name").value == "Typed before the reload"
    assert reloaded.text_input(key="conn_base_url").value == demo_server.base_url
    assert reloaded.text_input(key="conn_separator").value == " | "
    assert reloaded.text_input(key="conn_client_secret").value == ""
    assert any(i.startswith("Restored what you typed before the page was reloaded. Secrets are never kept")
               for i in texts(reloaded, "info"))  # fmt: skip
    reloaded.button(key="cancel_edit").click().run()
    assert "draft" not in reloaded.query_params
