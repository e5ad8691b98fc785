"""Exports running at the same time (two browser sessions, a scheduled job), and an export cut short."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from cers_core import GroupOptions, OneRosterSettings, export_section_groups
from cers_core.export import ExportContext
from cers_core.oneroster.client import FetchProgress
from cers_core.oneroster.fetch import ProviderCapabilities
from tests.support import DEMO_REFERENCE_DATE

SCHOOLS = ["org-0001", "org-0002"]


def settings_for(server) -> OneRosterSettings:
    return server.settings(page_size=200)


def export(server, school: str, context: ExportContext | None = None) -> bytes:
    return export_section_groups(
        settings_for(server),
        GroupOptions(split_large=True),
        schools=[school],
        as_of=DEMO_REFERENCE_DATE,
        context=context,
    ).csv_bytes


def test_exports_of_different_schools_at_once_each_get_their_own_file(make_demo_server, demo_server):
    expected = {school: export(demo_server, school) for school in SCHOOLS}
    server = make_demo_server()
    shared = ProviderCapabilities()  # one connection, as the app keeps it, used by every session
    start = threading.Barrier(len(SCHOOLS))

    def session(school: str) -> bytes:
        start.wait()
        return export(server, school, ExportContext(capabilities=shared))

    with ThreadPoolExecutor(max_workers=len(SCHOOLS)) as pool:
        futures = {school: pool.submit(session, school) for school in SCHOOLS}
        results = {school: future.result(timeout=60) for school, future in futures.items()}
    assert results == expected


class Stopped(Exception):
    """What Streamlit raises in a script's thread when its browser tab goes away."""


def test_an_export_stopped_midway_leaves_nothing_behind_and_the_next_one_works(make_demo_server, demo_server):
    server = make_demo_server()
    capabilities = ProviderCapabilities()
    pages: list[FetchProgress] = []

    def stop_after_a_few_pages(progress: FetchProgress) -> None:
        pages.append(progress)
        if len(pages) == 4:
            raise Stopped

    with pytest.raises(Stopped):
        export(server, "org-0001", ExportContext(on_progress=stop_after_a_few_pages, capabilities=capabilities))
    # Pages that were already being read when it stopped may still report (they ran side by side),
    # but once the export has returned, nothing of it is left reading.
    stopped_at = len(pages)
    assert stopped_at >= 4
    time.sleep(0.3)
    assert len(pages) == stopped_at
    # Nothing in flight stays: the connection's state is usable, and the next export is whole.
    assert export(server, "org-0001", ExportContext(capabilities=capabilities)) == export(demo_server, "org-0001")
