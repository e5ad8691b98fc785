"""The demo district inside the app: its OneRoster provider, the fake CERS import service, and
the ready connections to both ("Try the demo district"); or the same district as a OneRoster CSV
bundle, written to the data folder, with a CSV bundle connection to it ("… as a CSV bundle").

Both servers are process resources (``st.cache_resource``) on loopback ports, holding no real
data. ``cers_demo`` is imported here only when a demo server is asked for, so a deployment
with ``CERS_DEMO=off`` never loads it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from cers_core.errors import CersError
from cers_core.settings import GroupOptions
from cers_core.store import CERS_APP_ID, SavedBundleConnection, SavedConnection, SavedImportConnection, Store

if TYPE_CHECKING:
    from cers_demo import DemoServer
    from cers_demo.fake_cers_import import FakeImportServer

__all__ = [
    "DEMO_BUNDLE_NAME",
    "DEMO_CONNECTION_NAME",
    "DEMO_IMPORT_NAME",
    "create_demo_bundle_connection",
    "create_demo_connection",
    "demo_bundle_folder",
    "demo_import_credentials",
    "demo_provider",
    "follow_demo_port",
    "import_connections",
    "is_demo",
    "is_demo_import",
]

DEMO_CONNECTION_NAME = "Demo district"
DEMO_IMPORT_NAME = "Demo CERS import"
DEMO_BUNDLE_NAME = "Demo district (CSV bundle)"


@st.cache_resource(show_spinner="Starting the demo district…")
def demo_provider() -> DemoServer:
    """One demo OneRoster provider per process, on a loopback port; its data is made up."""
    from cers_demo import DemoServer

    return DemoServer().start()


@st.cache_resource(show_spinner="Starting the demo CERS import service…")
def _fake_import_service() -> FakeImportServer:
    """One fake CERS import service per process, on a loopback port; it accepts any school and year."""
    from cers_demo.fake_cers_import import FakeImportOptions, FakeImportServer

    return FakeImportServer(FakeImportOptions(processing_seconds=1.0)).start()


def demo_origins() -> tuple[str, ...]:
    """The loopback origins of the demo's two services (the provider and the fake CERS import
    service), which the app's network policy lets through whatever else it refuses."""
    return (demo_provider().origin, _fake_import_service().origin)


def _is_demo(saved: SavedConnection, demo: DemoServer) -> bool:
    return saved.name == DEMO_CONNECTION_NAME and saved.settings.client_id == demo.client_id


def is_demo(saved: SavedConnection, demo: DemoServer | None) -> bool:
    """Whether a saved connection is the one "Try the demo district" made (its credentials may be shown)."""
    return demo is not None and _is_demo(saved, demo)


def follow_demo_port(store: Store, demo: DemoServer) -> None:
    """Point the saved demo connection at this process's demo provider (its port changes per start)."""
    for saved in store.connections():
        moved = (saved.settings.base_url, saved.settings.token_url) != (demo.base_url, demo.token_url)
        if moved and _is_demo(saved, demo):
            store.save_connection(
                connection_id=saved.id,
                name=saved.name,
                settings=saved.settings.model_copy(update={"base_url": demo.base_url, "token_url": demo.token_url}),
                client_secret=demo.client_secret,
                options=saved.options,
            )


def create_demo_connection(store: Store, demo: DemoServer | None) -> SavedConnection:
    """Add ``CERS_int`` and a ready connection to the embedded demo district (or return the one there),
    with a CERS import connection to the demo's fake import service, so that sending works too."""
    if demo is None:
        raise CersError("The demo district is turned off in this deployment.")
    store.add_application(CERS_APP_ID)
    _create_demo_import_connection(store)
    for saved in store.connections():
        if _is_demo(saved, demo):
            return saved
    return store.save_connection(
        name=DEMO_CONNECTION_NAME,
        settings={"base_url": demo.base_url, "token_url": demo.token_url, "client_id": demo.client_id},
        client_secret=demo.client_secret,
        options=GroupOptions(),
    )


def demo_bundle_folder(data_dir: Path) -> Path:
    """Where the demo writes its bundle: a folder of the data folder, which the app may read."""
    return data_dir / "demo-bundles"


def create_demo_bundle_connection(store: Store, demo: DemoServer | None, data_dir: Path) -> SavedBundleConnection:
    """Write the demo district (the one the demo provider serves) as a OneRoster 1.2 CSV bundle into
    the data folder, and add ``CERS_int`` with a CSV bundle connection reading it (or return the one
    there), and the CERS import connection to the fake import service."""
    if demo is None:
        raise CersError("The demo district is turned off in this deployment.")
    from cers_demo.csv_bundle import write_csv_bundle

    folder = demo_bundle_folder(data_dir)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    bundle = folder / "sierra-vista-oneroster.zip"
    # Written beside and renamed, as a nightly job should: a page reading the bundle meanwhile never sees half of it.
    written = write_csv_bundle(demo.district, folder / f".{bundle.stem}-{secrets.token_hex(4)}.zip")
    os.replace(written, bundle)
    store.add_application(CERS_APP_ID)
    _create_demo_import_connection(store)
    for saved in store.bundle_connections():
        if saved.name == DEMO_BUNDLE_NAME:
            return saved
    return store.save_bundle_connection(name=DEMO_BUNDLE_NAME, settings={"path": str(bundle)}, options=GroupOptions())


def _is_demo_import(saved: SavedImportConnection, fake: FakeImportServer) -> bool:
    return saved.name == DEMO_IMPORT_NAME and saved.settings.client_id == fake.options.client_id


def _create_demo_import_connection(store: Store) -> SavedImportConnection:
    """A ready connection to the demo's fake CERS import service (or the one there)."""
    fake = _fake_import_service()
    for saved in store.import_connections():
        if _is_demo_import(saved, fake):
            return saved
    return store.save_import_connection(
        name=DEMO_IMPORT_NAME,
        settings={"import_url": fake.import_url, "token_url": fake.token_url, "client_id": fake.options.client_id},
        client_secret=fake.options.client_secret,
        password=None,
    )


def import_connections(store: Store, demo: DemoServer | None) -> list[SavedImportConnection]:
    """The CERS import connections; the demo's is pointed at this process's fake service first
    (its port changes with each start), as the demo OneRoster connection is."""
    saved_all = store.import_connections()
    if demo is None:
        return saved_all
    fake = _fake_import_service()
    for saved in saved_all:
        moved = (saved.settings.import_url, saved.settings.token_url) != (fake.import_url, fake.token_url)
        if moved and _is_demo_import(saved, fake):
            store.save_import_connection(
                connection_id=saved.id,
                name=saved.name,
                settings=saved.settings.model_copy(update={"import_url": fake.import_url, "token_url": fake.token_url}),
                client_secret=fake.options.client_secret,
                password=None,
            )
    return store.import_connections()


def is_demo_import(saved: SavedImportConnection, demo: DemoServer | None) -> bool:
    """Whether a CERS import connection is the demo's (its made-up credentials may be shown)."""
    return demo is not None and _is_demo_import(saved, _fake_import_service())


def demo_import_credentials() -> Mapping[str, str]:
    fake = _fake_import_service()
    return {"Client ID": fake.options.client_id, "Client Secret": fake.options.client_secret}
