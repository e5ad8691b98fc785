"""A OneRoster CSV bundle in a real browser: a zip uploaded on Section Groups, a school picked, the file
downloaded, byte for byte what the command line writes from the same zip (``export --oneroster-csv``).

The bundle is a district the app's own demo is not (another seed), as of today (the day the page reads).
With ``CERS_SCREENSHOTS=1`` (``make screenshots``) it saves the page, bundle uploaded, and the
connection's form, as ``docs/screenshots/11_csv_bundle.png`` and ``12_csv_bundle_connection.png`` for
the README.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from cers_core import GroupOptions, list_bundle_schools
from cers_core.cli import main
from cers_core.store import Store
from cers_demo import generate_district
from cers_demo.csv_bundle import write_csv_bundle

# The other browser test's marks (browser, skipped where no Chromium exists), its browser and its helpers.
from tests.e2e.test_browser import browser, click, download, page, pytestmark, settle, snap, tick_row  # noqa: F401
from tests.support.browser import free_port, streamlit_app

OPTIONS = GroupOptions(split_large=True)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("csv_bundle") / "data"


@pytest.fixture(scope="module")
def secret_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture(scope="module")
def app_url(data_dir: Path, secret_key: str) -> Iterator[str]:
    # No demo: a deployment whose nightly job writes its bundles to /srv/sis-exports (the form names that folder).
    env = {**os.environ, "CERS_DATA_DIR": str(data_dir), "CERS_SECRET_KEY": secret_key, "CERS_DEMO": "off",
           "CERS_BUNDLE_FOLDERS": "/srv/sis-exports"}  # fmt: skip
    with streamlit_app(port=free_port(), env=env, log=data_dir.parent / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another district than the app's demo, as its SIS would export it."""
    folder = tmp_path_factory.mktemp("export")
    return write_csv_bundle(generate_district(seed=11), folder / "oneroster-export.zip")


def test_an_uploaded_bundle_downloads_the_file_the_command_line_writes(
    app_url: str,
    page,  # noqa: F811 - the fixture imported above
    bundle: Path,
    data_dir: Path,
    secret_key: str,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    store = Store.open(data_dir, keys=[secret_key])
    store.add_application("CERS_int")
    connection = store.save_bundle_connection(name="Nightly SIS export", settings={}, options=OPTIONS).id
    page.goto(f"{app_url}/Section_Groups?connection={connection}")
    settle(page)
    expect(page.get_by_text("Upload the bundle to see its schools")).to_be_visible()
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(bundle)
    settle(page)
    tick_row(page, 0)  # the first school by name
    button = page.locator(".st-key-school_download button")
    expect(button).to_be_enabled(timeout=60_000)
    expect(page.get_by_text("read from a OneRoster CSV bundle (1.2), 7 files")).to_be_visible()
    snap(page, "11_csv_bundle", height=1100)
    downloaded, file_name = download(page, "school_download")

    school = list_bundle_schools(bundle, options=OPTIONS).row(0, named=True)
    written = tmp_path / "groups.csv"
    err = io.StringIO()
    code = main(
        ["export", "--oneroster-csv", str(bundle), "--school", school["cds"], "--split-large", "--out", str(written)],
        out=io.StringIO(),
        err=err,
    )
    assert code == 0, err.getvalue()
    assert downloaded == written.read_bytes()
    assert file_name == f"cers_section_groups_{school['cds']}_{date.today().isoformat()}.csv"

    page.goto(f"{app_url}/CERS_Connections")
    settle(page)
    click(page, f"edit_{connection}")
    expect(page.get_by_text("Edit OneRoster CSV Bundle Connection")).to_be_visible()
    snap(page, "12_csv_bundle_connection", part=".st-key-edit_panel", height=900)
