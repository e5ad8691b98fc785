"""Helpers the tests share (fixtures are in ``tests/conftest.py``; helpers are imported from here).

- :mod:`tests.support.rosters`: hand-written rosters, as a provider sends them;
- :mod:`tests.support.app`: the app's store, connections and pages as a test opens them;
- ``context_reaching``: an export's context whose requests reach a demo provider, in process or not.

The reference date is fixed so that every test sees the same school year (2026-27,
OneRoster ``schoolYear`` "2027") whatever day the suite runs.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from cers_core.export import ExportContext
from cers_core.http.retry import RetryPolicy
from cers_demo import DemoProvider

__all__ = ["DEMO_REFERENCE_DATE", "QUICK_RETRIES", "ROOT", "context_reaching"]

DEMO_REFERENCE_DATE = date(2026, 11, 28)
ROOT = Path(__file__).resolve().parents[2]
# The app waits up to minutes for a busy SIS; a test waits hundredths of a second.
QUICK_RETRIES = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.02, max_total_wait=2.0)


def context_reaching(provider: DemoProvider, **fields: Any) -> ExportContext:
    """An ``ExportContext`` with ``fields`` whose requests reach ``provider``: through its in-process
    transport, or through the network to a ``DemoServer``'s port."""
    return ExportContext(transport=provider.transport(), **fields)
