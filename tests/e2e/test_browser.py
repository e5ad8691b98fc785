"""The seed's flow in a real browser: `streamlit run app.py`, Debian's Chromium, clicks like a person.

It ends with the downloaded file, which must be byte for byte what the engine writes for that
school with the same settings and day, and which the validator must accept. On the way it
saves a screenshot of each page under ``docs/screenshots/`` (the README shows them).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from cers_core import OneRosterSettings, export_section_groups, list_schools
from cers_core.cers_csv import validate_cers_csv
from cers_core.store import Store
from cers_demo import DemoServer
from tests.support.browser import free_port, streamlit_app

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="no Chromium at /usr/bin/chromium (CI installs Debian's chromium with apt-get; do that to run it)",
    ),
]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("browser") / "data"


@pytest.fixture(scope="module")
def secret_key() -> str:
    """Set as a deployment would, so the home page shows what a deployed app shows."""
    return Fernet.generate_key().decode()


@pytest.fixture(scope="module")
def app_url(data_dir: Path, secret_key: str) -> Iterator[str]:
    """`streamlit run app.py` on a free port with its own data folder; ready once /_stcore/health says ok."""
    env = {**os.environ, "CERS_DATA_DIR": str(data_dir), "CERS_SECRET_KEY": secret_key}
    with streamlit_app(port=free_port(), env=env, log=data_dir.parent / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def provider() -> Iterator[DemoServer]:
    """A demo district of today, since the app reads enrollments active today by default."""
    with DemoServer() as server:
        yield server


def settle(page) -> None:
    """Wait until the script run an action started has finished."""
    page.wait_for_timeout(200)
    page.wait_for_selector(IDLE, timeout=60_000)


def type_into(page, key: str, text: str) -> None:
    field = page.locator(f".st-key-{key} input")
    field.fill(text)
    field.press("Enter")
    settle(page)


def click(page, key: str) -> None:
    page.locator(f".st-key-{key} button").click()
    settle(page)


def snap(page, name: str) -> None:
    """A screenshot of the whole page: the viewport grows to the page's height, then shrinks back."""
    height = page.evaluate("document.querySelector('[data-testid=\"stMainBlockContainer\"]').scrollHeight")
    page.set_viewport_size({"width": 1280, "height": max(800, int(height) + 120)})
    page.wait_for_timeout(400)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_the_seed_flow_in_a_browser(app_url: str, provider: DemoServer, data_dir: Path, secret_key: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page.set_default_timeout(30_000)
        page.goto(app_url)
        settle(page)
        expect(page.get_by_role("heading", name="CERS Section Groups")).to_be_visible()
        snap(page, "1_home")

        # Add an application.
        page.get_by_test_id("stSidebar").get_by_role("link", name="Applications").click()
        settle(page)
        click(page, "add_application")
        type_into(page, "app_search", "CERS")
        click(page, "select_CERS_int")
        expect(page.get_by_text("no connection to CERS yet")).to_be_visible()
        snap(page, "2_applications")

        # Add a CERS connection: the pop-up, OneRoster 1.2, Generate, the form.
        click(page, "go_add_connection")
        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_text("OneRoster 1.2")).to_be_visible()
        dialog.get_by_role("button", name="Generate").click()
        settle(page)
        expect(page.get_by_text("Edit OneRoster Connection")).to_be_visible()
        type_into(page, "conn_name", "Sierra Vista SIS")
        type_into(page, "conn_client_id", provider.client_id)
        type_into(page, "conn_client_secret", provider.client_secret)
        type_into(page, "conn_base_url", provider.base_url)
        type_into(page, "conn_token_url", provider.token_url)
        # Include in Group Name: drop the teacher, add the section code at the end.
        fields = page.locator(".st-key-conn_fields")
        fields.get_by_role("button", name="Remove Teacher (family name)").click()
        settle(page)
        fields.get_by_role("combobox").fill("Section code")
        page.get_by_role("option", name="Section code").click()
        page.keyboard.press("Escape")
        settle(page)
        click(page, "test_connection")
        expect(page.get_by_text("Connected: the provider lists")).to_be_visible()
        expect(page.get_by_text("from your district's data")).to_be_visible()
        snap(page, "3_edit_connection")
        click(page, "save_connection")
        expect(page.get_by_text("Saved “Sierra Vista SIS”.")).to_be_visible()
        snap(page, "4_connections")

        # Download a CERS Section Group: School Selection, a school, Download CSV.
        [saved] = Store.open(data_dir, keys=[secret_key]).connections()
        click(page, f"groups_{saved.id}")
        expect(page.get_by_role("heading", name="Download a CERS Section Group")).to_be_visible()
        type_into(page, "sg_search", "Elementary")
        grid = page.locator(".st-key-sg_schools [data-testid='stDataFrameResizable']")
        expect(grid).to_be_visible()
        page.wait_for_timeout(500)  # the grid draws on a canvas after it appears
        box = grid.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the first row's check box
        settle(page)
        download_button = page.locator(".st-key-school_download button")
        expect(download_button).to_be_enabled(timeout=60_000)
        snap(page, "5_section_groups")
        with page.expect_download() as started:
            download_button.click()
        download = started.value
        downloaded = Path(download.path()).read_bytes()
        file_name = download.suggested_filename
        settle(page)
        browser.close()

    settings = OneRosterSettings(
        base_url=provider.base_url,
        token_url=provider.token_url,
        client_id=provider.client_id,
        client_secret=provider.client_secret,
    )
    schools = list_schools(settings, options=saved.options)
    school = schools.filter(schools["name"].str.contains("Elementary")).row(0, named=True)
    expected = export_section_groups(settings, saved.options, schools=[school["sourced_id"]], as_of=date.today())
    assert downloaded == expected.csv_bytes
    assert validate_cers_csv(downloaded).accepted
    assert file_name == f"cers_section_groups_{school['cds']}_{date.today().isoformat()}.csv"
    assert [field.value for field in saved.options.fields] == ["course_title", "period", "class_code"]
