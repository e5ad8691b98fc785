"""Bad input in the connection form: the message stands beside the field, and nothing is saved."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cers_demo import DemoServer
from tests.support.app import open_store

ROOT = Path(__file__).resolve().parents[2]
CONNECTIONS = "pages/2_CERS_Connections.py"

pytestmark = pytest.mark.usefixtures("no_demo")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("conn_base_url", "https://admin:pw@sis.example.org/ims", "must not hold a user name or password"),
        ("conn_separator", " \N{SLIGHTLY SMILING FACE} ", "control characters or emoji"),
    ],
)
def test_the_form_says_what_is_wrong_beside_the_field_and_saves_nothing(
    data_dir: Path, demo_server: DemoServer, field: str, value: str, message: str
) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run().switch_page(CONNECTIONS).run()
    at.button(key="add_connection").click().run()
    at.button(key="generate_connection").click().run()
    values = {
        "conn_name": "District SIS",
        "conn_client_id": demo_server.client_id,
        "conn_client_secret": "a-secret-that-stays-hidden",
        "conn_base_url": demo_server.base_url,
        "conn_token_url": demo_server.token_url,
        field: value,
    }
    for key, text in values.items():
        at.text_input(key=key).input(text)
    at.run()
    at.button(key="save_connection").click().run()
    assert not at.exception
    assert [e.value for e in at.error if message in e.value], [e.value for e in at.error]
    assert not any("a-secret-that-stays-hidden" in e.value for e in at.error)
    assert open_store(data_dir).connections() == []
