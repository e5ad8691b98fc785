"""Shared fixtures: the demo district and demo OneRoster servers on loopback ports.

The reference date is fixed so that every test sees the same school year (2026-27,
OneRoster ``schoolYear`` "2027") whatever day the suite runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from cers_core.demo import DemoDistrict, DemoServer, ProviderOptions, generate_district
from cers_core.oneroster.retry import RetryPolicy
from cers_core.settings import GroupOptions
from cers_core.store import Store, resolve_secret_keys

DEMO_REFERENCE_DATE = date(2026, 11, 28)
ROOT = Path(__file__).resolve().parent.parent
# The app waits up to minutes for a busy SIS; a test waits hundredths of a second.
QUICK_RETRIES = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.02, max_total_wait=2.0)


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


# -- the app --------------------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The app's data folder for one test: empty, and no secret key from the environment."""
    monkeypatch.setenv("CERS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CERS_SECRET_KEY", raising=False)
    return tmp_path / "data"


@pytest.fixture
def no_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app without its demo district (for pages and tests that need none)."""
    monkeypatch.setenv("CERS_DEMO", "off")


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's retries shortened to hundredths of a second."""
    monkeypatch.setattr("cers_core.oneroster.client.RetryPolicy", lambda: QUICK_RETRIES)
    monkeypatch.setattr("cers_core.app_support._QUICK_CHECK", QUICK_RETRIES)


def open_store(data_dir: Path) -> Store:
    """The app's store in ``data_dir``, opened with the key the app made there."""
    return Store.open(data_dir, keys=resolve_secret_keys(data_dir, environment=None, secrets=None).keys)


def save_connection(data_dir: Path, server: DemoServer, options: GroupOptions | None = None) -> None:
    """A OneRoster connection named "District SIS" to ``server``, saved as the app would."""
    open_store(data_dir).save_connection(
        name="District SIS",
        settings={"base_url": server.base_url, "token_url": server.token_url, "client_id": server.client_id},
        client_secret=server.client_secret,
        options=options or GroupOptions(),
    )


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch):
    """``downloads(button)``: the bytes a download button would give the browser."""
    files: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):  # type: ignore[no-untyped-def]
        file_id = original(self, path_or_data, mimetype, kind, filename)
        files[file_id] = path_or_data
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    return lambda button: files[button.proto.url.rsplit("/", 1)[-1].split(".")[0]]


def open_section_groups() -> AppTest:
    """The app opened on its Section Groups page, as a new browser session."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    return at.switch_page("pages/3_Section_Groups.py").run()


def choose_school(at: AppTest, name: str, day: date) -> AppTest:
    """Set the day the rosters are read for, search for the school, select its row as a click does."""
    at.date_input(key="sg_as_of").set_value(day)
    at.text_input(key="sg_search").input(name).run()
    row = list(at.dataframe(key="sg_schools").value["School"]).index(name)
    at.session_state["sg_schools"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    return at.run()


@pytest.fixture
def key() -> str:
    """A fresh secret key (a Fernet key, as ``CERS_SECRET_KEY`` holds)."""
    return Fernet.generate_key().decode()


@pytest.fixture
def store(tmp_path: Path, key: str) -> Store:
    """An empty store in a temporary folder, encrypted with ``key``."""
    return Store.open(tmp_path / "data", keys=[key])
