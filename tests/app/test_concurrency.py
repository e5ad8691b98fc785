"""Two browser sessions of the app at the same time: each keeps its own rosters and file, and two
connections saved from two sessions that opened the form together both end up in the store.

AppTest sessions cannot run on two threads at once (they share Streamlit's one mock runtime), so
the sessions here interleave step by step, as two people's clicks do; the exports themselves
running at the same time over one connection are tested in ``test_concurrency.py``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from cers_core import GroupOptions, export_section_groups, list_schools
from tests.support import DEMO_REFERENCE_DATE
from tests.support.app import choose_school, open_store, save_connection

ROOT = Path(__file__).resolve().parents[2]
CONNECTIONS = "pages/2_CERS_Connections.py"
SECTION_GROUPS = "pages/3_Section_Groups.py"

pytestmark = pytest.mark.usefixtures("no_demo")


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run().switch_page(page).run()
    assert not at.exception
    return at


def choose(at: AppTest, name: str) -> AppTest:
    return choose_school(at, name, DEMO_REFERENCE_DATE)


def session_file(at: AppTest) -> bytes:
    """What this session's Download CSV serves: the one export it holds."""
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert not at.download_button(key="school_download").proto.disabled
    exports = list(at.session_state["cers_data"].exports.values())
    return exports[-1].csv_bytes


def test_two_sessions_keep_their_own_school(data_dir, demo_server):
    settings = demo_server.settings()
    save_connection(data_dir, demo_server, GroupOptions(split_large=True))
    schools = list_schools(settings).filter(pl.col("sourced_id").is_in(["org-0001", "org-0002"]))
    expected = {
        name: export_section_groups(
            settings, GroupOptions(split_large=True), schools=[sourced_id], as_of=DEMO_REFERENCE_DATE
        ).csv_bytes
        for sourced_id, name in schools.select("sourced_id", "name").iter_rows()
    }
    first_name, second_name = expected
    first, second = open_page(SECTION_GROUPS), open_page(SECTION_GROUPS)
    assert session_file(choose(first, first_name)) == expected[first_name]
    assert session_file(choose(second, second_name)) == expected[second_name]
    # Each session, run again after the other one loaded, still has its own school, and only it.
    assert session_file(first.run()) == expected[first_name]
    assert len(first.session_state["cers_data"].exports) == 1
    assert session_file(second.run()) == expected[second_name]


def test_two_sessions_that_opened_the_form_together_both_save(data_dir, demo_server):
    open_store(data_dir)
    sessions = {}
    for name in ("North", "South"):
        at = open_page(CONNECTIONS)
        at.button(key="add_connection").click().run()
        at.button(key="generate_connection").click().run()
        at.text_input(key="conn_name").input(name)
        at.text_input(key="conn_client_id").input(demo_server.client_id)
        at.text_input(key="conn_client_secret").input(f"secret of {name}")
        at.text_input(key="conn_base_url").input(demo_server.base_url)
        at.text_input(key="conn_token_url").input(demo_server.token_url)
        sessions[name] = at.run()
    for at in sessions.values():  # South's form was opened before North was saved
        at.button(key="save_connection").click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
    saved = open_store(data_dir)
    connections = {c.name: c for c in saved.connections()}
    assert set(connections) == {"North", "South"}
    for name, connection in connections.items():
        assert saved.settings(connection).client_secret.get_secret_value() == f"secret of {name}"
