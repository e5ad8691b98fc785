"""Shared fixtures: the demo district, demo OneRoster providers (in process, or served on loopback
ports), the app's data folder and store. Helpers that are not fixtures are in ``tests.support``.

Take ``demo_provider``/``make_demo_provider`` (in process: no port, thread or start) unless the
test needs a socket: faults that drop or hold a connection, read time-outs, or a client that
opens its own connection (the command line, the app, a browser). Then take ``demo_server``/
``make_demo_server``.

hypothesis is imported here, while only the main thread runs: its pytest plugin would otherwise
import it from a reporting hook, parsing its source while a demo server's or an app's thread
may be parsing too, which CPython 3.11's ast module does not survive (gh-106905).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hypothesis  # noqa: F401 - loaded (and its source parsed) now, not from a later hook: see the docstring
import pytest
from cryptography.fernet import Fernet
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from cers_core.store import Store
from cers_demo import DemoDistrict, DemoProvider, DemoServer, ProviderOptions, generate_district
from cers_demo.fake_cers_import import FakeImportOptions, FakeImportServer
from tests.support import DEMO_REFERENCE_DATE, QUICK_RETRIES


@pytest.fixture(scope="session")
def demo_district() -> DemoDistrict:
    """The demo-scale district (seed 7) as of ``DEMO_REFERENCE_DATE``; read it, never change it."""
    return generate_district(scale="demo", seed=7, reference_date=DEMO_REFERENCE_DATE)


@pytest.fixture(scope="session")
def demo_provider(demo_district: DemoDistrict) -> DemoProvider:
    """One well-behaved demo provider in process for the whole session (its request log is shared: clear it first)."""
    return DemoProvider(demo_district)


@pytest.fixture
def make_demo_provider(demo_district: DemoDistrict) -> Callable[..., DemoProvider]:
    """``make_demo_provider(**provider_options)``: an in-process provider with special ``ProviderOptions``."""

    def make(**options: Any) -> DemoProvider:
        return DemoProvider(demo_district, options=ProviderOptions(**options))

    return make


@pytest.fixture(scope="session")
def demo_server(demo_district: DemoDistrict) -> Iterator[DemoServer]:
    """One well-behaved demo provider on a loopback port for the whole session (its request log is shared)."""
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


@pytest.fixture
def fake_import() -> Iterator[FakeImportServer]:
    """A fake CERS import service on a loopback port that processes an import in a twentieth of a second."""
    with FakeImportServer(FakeImportOptions(processing_seconds=0.05)) as server:
        yield server


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
    monkeypatch.setattr("cers_app.loading.QUICK_CHECK", QUICK_RETRIES)
    monkeypatch.setattr("cers_app.oneroster_form.QUICK_CHECK", QUICK_RETRIES)


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


@pytest.fixture
def key() -> str:
    """A fresh secret key (a Fernet key, as ``CERS_SECRET_KEY`` holds)."""
    return Fernet.generate_key().decode()


@pytest.fixture
def store(tmp_path: Path, key: str) -> Store:
    """An empty store in a temporary folder, encrypted with ``key``."""
    return Store.open(tmp_path / "data", keys=[key])
