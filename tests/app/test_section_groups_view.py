"""The Section Groups page keeps what the analyst chose: the school by its identity whatever the
search, the view in the URL (reload, back and forward, a shared link), a file for the schools that
can be exported when one has no CDS code (whose code can be entered right there), honest words
about what changes in CERS, and the coverage charts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from cers_core import GroupOptions, export_section_groups
from cers_demo import DemoDistrict, DemoServer
from tests.support import DEMO_REFERENCE_DATE, ROOT
from tests.support.app import open_section_groups, open_store, save_connection, school_table, tick_school
from tests.support.districts import without_cds

SECTION_GROUPS = "pages/3_Section_Groups.py"
CDS = "36739576952553"  # Jefferson Middle School's, as the demo district gives it
SPLIT = GroupOptions(split_large=True)


@pytest.fixture(scope="module")
def no_cds_server(demo_district: DemoDistrict) -> Iterator[DemoServer]:
    """The demo district whose middle school (org-0002) has an identifier that is no CDS code."""
    with DemoServer(without_cds(demo_district, "org-0002")) as server:
        yield server


def on_the_day(at: AppTest) -> AppTest:
    at.date_input(key="sg_as_of").set_value(DEMO_REFERENCE_DATE)
    return at.run()


def shown_school(at: AppTest) -> list[str]:
    return [header.value for header in at.subheader if header.value not in ("School Selection", "What's next",
            "What changes in CERS", "Send to CERS")]  # fmt: skip


def test_a_search_never_changes_the_school(data_dir: Path, demo_server: DemoServer) -> None:
    save_connection(data_dir, demo_server, SPLIT)
    at = on_the_day(open_section_groups())
    at = tick_school(at, lambda names: names.index("Jefferson Middle School"))
    assert shown_school(at) == ["Jefferson Middle School"]
    for search, listed in (("High", ["Canoga High School"]), ("Elementary", ["Tarzana Elementary School"])):
        at.text_input(key="sg_search").input(search).run()
        assert not at.exception
        assert school_table(at) == listed
        assert shown_school(at) == ["Jefferson Middle School"]
        assert any("stays chosen, although the search hides it" in i.value for i in at.info)
        assert at.query_params["school"] == "org-0002"
    at.text_input(key="sg_search").input("").run()
    assert shown_school(at) == ["Jefferson Middle School"]
    table = at.dataframe(key=at.session_state["sg_schools_table"])
    assert '"rows": [1]' in table.proto.selection_default  # ticked where it is in this list, row 1
    # Unticking it is a choice too: then no school is shown.
    key = at.session_state["sg_schools_table"]
    at.session_state[key] = {"selection": {"rows": [], "columns": [], "cells": []}}
    at.run()
    assert shown_school(at) == [] and at.query_params["school"] == ""


def test_the_view_lives_in_the_url(data_dir: Path, demo_server: DemoServer) -> None:
    save_connection(data_dir, demo_server, SPLIT)
    [saved] = open_store(data_dir).connections()
    at = on_the_day(open_section_groups())
    at = tick_school(at, lambda names: names.index("Tarzana Elementary School"))
    params = {"connection": str(saved.id), "mode": "school", "school": "org-0001", "day": "2026-11-28"}
    assert at.query_params == params

    # Leaving the page and coming back from the sidebar (no parameters in the link) keeps the view.
    at.switch_page("pages/2_CERS_Connections.py").run()
    at.switch_page(SECTION_GROUPS).run()
    assert at.date_input(key="sg_as_of").value == DEMO_REFERENCE_DATE
    assert shown_school(at) == ["Tarzana Elementary School"]

    # A reload or a shared link: a new session, the same URL, the same view.
    fresh = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    fresh.query_params.update(params)
    fresh.switch_page(SECTION_GROUPS).run()
    assert not fresh.exception
    assert fresh.date_input(key="sg_as_of").value == DEMO_REFERENCE_DATE
    assert fresh.selectbox(key="sg_connection").value == saved.id
    assert shown_school(fresh) == ["Tarzana Elementary School"]

    # Back to an earlier URL (the browser's back button): the district view it names.
    fresh.query_params.update({**params, "mode": "district", "school": ""})
    fresh.run()
    assert fresh.radio(key="sg_scope").value == "Whole district"
    assert not fresh.download_button(key="district_download").proto.disabled


def test_a_district_with_a_school_without_cds_code_still_gets_its_file(
    data_dir: Path, no_cds_server: DemoServer, downloads
) -> None:
    save_connection(data_dir, no_cds_server, SPLIT)
    at = on_the_day(open_section_groups())
    at.radio(key="sg_scope").set_value("Whole district").run()
    assert not at.exception
    download = at.download_button(key="district_download")
    assert not download.proto.disabled
    others = export_section_groups(no_cds_server.settings(), SPLIT, as_of=DEMO_REFERENCE_DATE)
    assert downloads(download) == others.csv_bytes
    assert pl.read_csv(others.csv_bytes, infer_schema=False)["school_natural_id"].n_unique() == 2
    assert any("CERS would accept this file." in s.value and "It holds 2 schools." in s.value for s in at.success)
    assert any(w.value.startswith("1 school left out of this file: no CDS code") for w in at.warning)
    assert any("**Jefferson Middle School** · sourcedId `org-0002`" in m.value for m in at.markdown)

    at.text_input(key="sg_cds_org-0002").input("123").run()
    at.button(key="sg_save_cds_org-0002").click().run()
    assert any("is not a school CDS code" in e.value for e in at.error)
    at.text_input(key="sg_cds_org-0002").input(CDS).run()
    at.button(key="sg_save_cds_org-0002").click().run()
    assert not at.exception
    [saved] = open_store(data_dir).connections()
    assert saved.options.cds_map == {"org-0002": CDS} and saved.options.split_large
    assert not any("left out" in w.value for w in at.warning)
    whole = export_section_groups(no_cds_server.settings(), saved.options, as_of=DEMO_REFERENCE_DATE)
    assert downloads(at.download_button(key="district_download")) == whole.csv_bytes
    assert pl.read_csv(whole.csv_bytes, infer_schema=False)["school_natural_id"].n_unique() == 3


def test_one_school_without_cds_code_gets_its_box_too(data_dir: Path, no_cds_server: DemoServer) -> None:
    save_connection(data_dir, no_cds_server, SPLIT)
    at = on_the_day(open_section_groups())
    at = tick_school(at, lambda names: names.index("Jefferson Middle School"))
    assert at.download_button(key="school_download").proto.disabled
    assert any(w.value.startswith("1 school left out of the file: no CDS code") for w in at.warning)
    at.text_input(key="sg_cds_org-0002").input(CDS).run()
    at.button(key="sg_save_cds_org-0002").click().run()
    assert not at.download_button(key="school_download").proto.disabled
    assert shown_school(at) == ["Jefferson Middle School"]


def test_after_a_download_nothing_is_said_to_change_in_cers(data_dir: Path, demo_server: DemoServer) -> None:
    save_connection(data_dir, demo_server, SPLIT)
    at = on_the_day(open_section_groups())
    at = tick_school(at, lambda names: names.index("Tarzana Elementary School"))
    at.download_button(key="school_download").click().run()
    at.run()
    words = [m.value for m in at.markdown] + [i.value for i in at.info]
    assert not any("Nothing changes in CERS" in text for text in words)
    assert any("Compared with the file last downloaded" in i.value and "may never have been uploaded to CERS"
               in i.value for i in at.info)  # fmt: skip
    assert any("If that file was uploaded to CERS, nothing changes there" in text for text in words)


def test_the_coverage_tab_draws_its_charts(data_dir: Path, demo_server: DemoServer) -> None:
    save_connection(data_dir, demo_server, SPLIT)
    at = on_the_day(open_section_groups())
    at = tick_school(at, lambda names: names.index("Canoga High School"))
    charts = at.get("vega_lite_chart")
    assert len(charts) == 3
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Students in no group"] == "5" and metrics["Groups without a teacher"] == "4"
    people = next(frame.value for frame in at.dataframe if "Why" in frame.value.columns)
    assert sorted(people["Why"]) == sorted(["no SSID on record"] * 4 + ["the SSID on record is not a valid SSID"]
                                           + ["no e-mail address to use as CERS login"])  # fmt: skip
