"""The Section Groups page against a misbehaving provider: a recovered load downloads exactly the file a
well-behaved provider gives; a lasting fault shows the typed error and offers no download."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from cers_core import export_section_groups, list_schools
from cers_demo import DemoServer
from cers_demo.faults import FaultRule, Faults
from tests.support import DEMO_REFERENCE_DATE
from tests.support.app import choose_school, open_section_groups, open_store, save_connection

ROOT = Path(__file__).resolve().parents[2]
SECTION_GROUPS = "pages/3_Section_Groups.py"
SCHOOL = "org-0001"

pytestmark = pytest.mark.usefixtures("no_demo", "quick_retries")


def school_name(server: DemoServer) -> str:
    schools = list_schools(server.settings())
    return str(schools.filter(pl.col("sourced_id") == SCHOOL)["name"][0])


def open_school(name: str) -> AppTest:
    at = open_section_groups()
    assert not at.exception, at.exception
    return choose_school(at, name, DEMO_REFERENCE_DATE)


def test_a_recovered_load_downloads_the_same_file(data_dir, make_demo_server, demo_server, downloads):
    rules = (
        FaultRule(kind="503", every=2, times=2),
        FaultRule(kind="reset", every=5),
        FaultRule(kind="truncated", every=7),
    )
    server = make_demo_server(faults=Faults(rules=rules), max_page_size=50)
    save_connection(data_dir, server)
    at = open_school(school_name(demo_server))
    assert not at.exception and not at.error
    button = at.download_button(key="school_download")
    assert not button.proto.disabled
    expected = export_section_groups(demo_server.settings(), schools=[SCHOOL], as_of=DEMO_REFERENCE_DATE)
    assert downloads(button) == expected.csv_bytes
    assert {"503", "reset", "truncated"} <= set(server.faults.injected)


@pytest.mark.parametrize(
    ("rule", "said"),
    [
        (FaultRule(kind="503", target="/enrollments", times=None), "HTTP 503"),
        (FaultRule(kind="reset", target="/users", times=None), "Could not connect"),
        (FaultRule(kind="html", target="/classes", times=None), "not valid JSON"),
    ],
    ids=["lasting 503", "lasting resets", "HTML instead of JSON"],
)
def test_a_lasting_fault_shows_the_error_and_no_download(data_dir, make_demo_server, demo_server, rule, said):
    name = school_name(demo_server)
    server = make_demo_server(faults=Faults(rules=(rule,)))
    save_connection(data_dir, server)
    at = open_school(name)
    assert not at.exception
    [error] = at.error
    assert said in error.value and rule.target in error.value
    assert at.get("download_button") == []
    assert open_store(data_dir).downloads() == []


def test_a_fault_while_listing_schools_is_shown_without_a_table(data_dir, make_demo_server):
    server = make_demo_server(faults=Faults(rules=(FaultRule(kind="502", target="/schools", times=None),)))
    save_connection(data_dir, server)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run().switch_page(SECTION_GROUPS).run()
    assert not at.exception
    [error] = at.error
    assert "/schools" in error.value and "HTTP 502" in error.value
    assert at.get("download_button") == [] and not at.dataframe
