"""The scheduled sync of a CSV bundle connection: the bundle a nightly job writes on the server is
read as the provider's rosters would be, and a bundle nobody can read unattended is said plainly."""

from __future__ import annotations

from pathlib import Path

import pytest

from cers_core.brake import BrakeSettings
from cers_core.settings import GroupOptions
from cers_core.store import SavedBundleConnection, Store
from cers_core.sync import ExitCode, SyncContext, sync
from cers_demo import DemoDistrict, DemoProvider
from cers_demo.csv_bundle import write_csv_bundle
from cers_demo.fake_cers_import import FakeImportServer
from tests.support import DEMO_REFERENCE_DATE, QUICK_RETRIES
from tests.support.sync import QUICK_UPLOAD, link_to_cers


def bundle_connection(store: Store, path: Path | None) -> SavedBundleConnection:
    """ "District bundle", reading ``path`` (None: uploaded by hand), sending to "CERS" as "District SIS" does."""
    saved = store.save_bundle_connection(
        name="District bundle",
        settings={"path": str(path) if path else None},
        options=GroupOptions(split_large=True),
    )
    (cers,) = store.import_connections()
    store.save_sync_target(saved.id, import_connection_id=cers.id, brake=BrakeSettings())
    return saved


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    """The folder the nightly job writes bundles to (``CERS_BUNDLE_FOLDERS``)."""
    folder = tmp_path / "sis-exports"
    folder.mkdir()
    return folder


def run(store: Store, provider: DemoProvider, *, folders: tuple[Path, ...], names: tuple[str, ...] = ()):
    context = SyncContext(as_of=DEMO_REFERENCE_DATE, upload_wait=10.0, transport=provider.transport(),
                          retry=QUICK_RETRIES, upload=QUICK_UPLOAD, bundle_folders=folders)  # fmt: skip
    return sync(store, who="test run", context=context, connections=names)


def test_a_bundle_on_the_server_sends_the_file_its_provider_would(
    store: Store, demo_district: DemoDistrict, demo_provider: DemoProvider, fake_import: FakeImportServer, exports
) -> None:
    link_to_cers(store, demo_provider, fake_import)
    bundle_connection(store, write_csv_bundle(demo_district, exports / "oneroster.zip"))
    report = run(store, demo_provider, folders=(exports,))
    assert report.exit_code == ExitCode.ok
    assert [(done.connection, done.outcome) for done in report.connections] == [
        ("District bundle", "sent"),
        ("District SIS", "sent"),
    ]
    runs = {run.connection_name: run for run in store.runs()}
    assert runs["District bundle"].sha256 == runs["District SIS"].sha256  # the same file, to the byte
    assert runs["District bundle"].rows == runs["District SIS"].rows > 0


def test_a_bundle_uploaded_by_hand_or_outside_the_allowed_folders_is_not_read(
    store: Store, demo_district: DemoDistrict, demo_provider: DemoProvider, fake_import: FakeImportServer, exports
) -> None:
    link_to_cers(store, demo_provider, fake_import)
    saved = bundle_connection(store, None)
    report = run(store, demo_provider, folders=(exports,), names=("District bundle",))
    assert report.exit_code == ExitCode.connection_error
    assert report.lines() == [
        "District bundle: not sent: the rosters could not be read. This connection's bundle is uploaded on the "
        "Section Groups page each time: there is none on the server to read. Set where on the server the nightly "
        "job writes the bundle (CERS Connections, Edit)."
    ]

    store.save_bundle_connection(name=saved.name, settings={"path": str(exports / "oneroster.zip")},
                                 options=saved.options, connection_id=saved.id)  # fmt: skip
    write_csv_bundle(demo_district, exports / "oneroster.zip")
    (line,) = run(store, demo_provider, folders=(), names=("District bundle",)).lines()
    assert "The app reads no bundle on the server: no folder is allowed for it." in line
    assert fake_import.service.imports() == []
