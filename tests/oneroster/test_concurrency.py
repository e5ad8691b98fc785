"""Exports running at the same time (two browser sessions, a scheduled job), and an export cut short."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from cers_core import GroupOptions, export_section_groups
from cers_core.oneroster.client import FetchProgress
from cers_core.oneroster.fetch import ProviderCapabilities
from cers_demo import DemoProvider
from tests.support import DEMO_REFERENCE_DATE, context_reaching

SCHOOLS = ["org-0001", "org-0002"]


def export(provider: DemoProvider, school: str, **context: Any) -> bytes:
    """The school's file from ``provider``; ``context`` holds the ``ExportContext`` fields."""
    return export_section_groups(
        provider.settings(page_size=200),
        GroupOptions(split_large=True),
        schools=[school],
        as_of=DEMO_REFERENCE_DATE,
        context=context_reaching(provider, **context),
    ).csv_bytes


def test_exports_of_different_schools_at_once_each_get_their_own_file(make_demo_provider, demo_provider):
    expected = {school: export(demo_provider, school) for school in SCHOOLS}
    provider = make_demo_provider()
    shared = ProviderCapabilities()  # one connection, as the app keeps it, used by every session
    start = threading.Barrier(len(SCHOOLS))

    def session(school: str) -> bytes:
        start.wait()
        return export(provider, school, capabilities=shared)

    with ThreadPoolExecutor(max_workers=len(SCHOOLS)) as pool:
        futures = {school: pool.submit(session, school) for school in SCHOOLS}
        results = {school: future.result(timeout=60) for school, future in futures.items()}
    assert results == expected


class Stopped(Exception):
    """What Streamlit raises in a script's thread when its browser tab goes away."""


def test_an_export_stopped_midway_leaves_nothing_behind_and_the_next_one_works(make_demo_provider, demo_provider):
    provider = make_demo_provider()
    capabilities = ProviderCapabilities()
    pages: list[FetchProgress] = []

    def stop_after_a_few_pages(progress: FetchProgress) -> None:
        pages.append(progress)
        if len(pages) == 4:
            raise Stopped

    with pytest.raises(Stopped):
        export(provider, "org-0001", on_progress=stop_after_a_few_pages, capabilities=capabilities)
    # Pages that were already being read when it stopped may still report (they ran side by side),
    # but once the export has returned, nothing of it is left reading.
    stopped_at = len(pages)
    assert stopped_at >= 4
    time.sleep(0.3)
    assert len(pages) == stopped_at
    # Nothing in flight stays: the connection's state is usable, and the next export is whole.
    assert export(provider, "org-0001", capabilities=capabilities) == export(demo_provider, "org-0001")
