"""Shared fixtures: the demo district and demo OneRoster servers on loopback ports.

The reference date is fixed so that every test sees the same school year (2026-27,
OneRoster ``schoolYear`` "2027") whatever day the suite runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest

from cers_core.demo import DemoDistrict, DemoServer, ProviderOptions, generate_district

DEMO_REFERENCE_DATE = date(2026, 11, 28)


@pytest.fixture(scope="session")
def demo_district() -> DemoDistrict:
    """The demo-scale district (seed 7) as of ``DEMO_REFERENCE_DATE``; read it, never change it."""
    return generate_district(scale="demo", seed=7, reference_date=DEMO_REFERENCE_DATE)


@pytest.fixture(scope="session")
def demo_server(demo_district: DemoDistrict) -> Iterator[DemoServer]:
    """One well-behaved demo provider for the whole session (its request log is shared: clear it first)."""
    with DemoServer(demo_district) as server:
        yield server


@pytest.fixture
def make_demo_server(demo_district: DemoDistrict) -> Iterator[Callable[..., DemoServer]]:
    """``make_demo_server(**provider_options)``: a started server with special ``ProviderOptions``."""
    servers: list[DemoServer] = []

    def make(**options: Any) -> DemoServer:
        server = DemoServer(demo_district, options=ProviderOptions(**options)).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
