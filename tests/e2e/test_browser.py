"""The app in a real browser: `streamlit run app.py`, Debian's Chromium, clicks like a person.

- The seed's flow against an unfamiliar provider (not the app's own demo: another district, a
  vendor's base path, small pages, 1.1-style records) ends with the downloaded file, which must be
  byte for byte what the engine writes for that school with the same settings and day.
- The school stays the one picked while the search changes; the URL restores the view on reload
  and on the browser's back button.
- A district with a school lacking a CDS code still gets its file (the other schools'), and the
  code entered on the page brings the school in; the Coverage tab draws its charts.
- Names holding Markdown and HTML never become a link or an image.

Screenshots for the README are written only when asked: ``make screenshots`` sets
``CERS_SCREENSHOTS=1`` (a switch of this test, not a setting of the app).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.fernet import Fernet

from cers_core import GroupOptions, OneRosterSettings, export_section_groups, list_schools
from cers_core.cers_csv import validate_cers_csv
from cers_core.store import Store
from cers_demo import DemoServer, ProviderOptions, generate_district
from tests.support.browser import free_port, streamlit_app
from tests.support.districts import with_markup_names, without_cds

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "docs" / "screenshots"
TAKE_SCREENSHOTS = os.environ.get("CERS_SCREENSHOTS") == "1"
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
ROW, HEADER = 35, 35  # the grid's row and header heights, in pixels
GOOD_FILE = (
    "group_name,school_natural_id,school_year,subject_code,student_ssid,group_user_login\r\n"
    "{name},01612590130146,2027,All,,teacher@district.example.org\r\n"
    "{name},01612590130146,2027,All,{ssid},\r\n"
)

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
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    opened = context.new_page()
    opened.set_default_timeout(30_000)
    yield opened
    context.close()


@pytest.fixture(scope="module")
def unfamiliar_provider() -> Iterator[DemoServer]:
    """Not the app's demo: another district (seed), a vendor's base path, small pages, 1.1-style users
    and JSON booleans, fields the spec does not define. Of today, since the app reads today by default."""
    options = ProviderOptions(
        base_path="/campus/api/ims/oneroster/rostering/v1p2",
        token_path="/campus/oauth2/token",
        client_id="sis-cers-int",
        client_secret="unfamiliar-secret-4f1",
        max_page_size=250,
        legacy_user_role=True,
        json_booleans=True,
        extra_fields=True,
    )
    with DemoServer(generate_district(seed=11), options=options) as server:
        yield server


@pytest.fixture(scope="module")
def district_without_cds() -> Iterator[DemoServer]:
    with DemoServer(without_cds(generate_district(), "org-0002")) as server:
        yield server


@pytest.fixture(scope="module")
def hostile_district() -> Iterator[DemoServer]:
    with DemoServer(with_markup_names(generate_district())) as server:
        yield server


def settle(page) -> None:
    """Wait until the script run an action started has finished."""
    page.wait_for_timeout(250)
    page.wait_for_selector(IDLE, timeout=60_000)


def type_into(page, key: str, text: str) -> None:
    field = page.locator(f".st-key-{key} input")
    field.fill(text)
    field.press("Enter")
    settle(page)


def set_day_of_month(page, key: str, day: int) -> None:
    """Type the day of the month into a date field (its year, month and day are separate fields);
    the field sends its value when it loses the focus."""
    page.locator(f".st-key-{key} [data-type='day']").click()
    page.keyboard.type(f"{day:02d}")
    page.locator("h1").first.click()
    settle(page)


def click(page, key: str) -> None:
    page.locator(f".st-key-{key} button").click()
    settle(page)


def snap(page, name: str, *, height: int | None = None, part: str | None = None) -> None:
    """A screenshot of the whole page, its first ``height`` pixels, or the element ``part`` selects
    (at most ``height`` pixels of it), when screenshots are asked for."""
    if not TAKE_SCREENSHOTS:
        return
    full = page.evaluate("document.querySelector('[data-testid=\"stMainBlockContainer\"]').scrollHeight")
    page.set_viewport_size({"width": 1280, "height": max(800, int(full) + 120)})
    page.wait_for_timeout(800)
    # Each kind of element's code loads when first needed: wait until none is still a placeholder.
    page.wait_for_function("!document.querySelector('[data-testid^=\"stSkeleton\"]')", timeout=30_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    clip = {"x": 0, "y": 0, "width": 1280, "height": height} if height else None
    if part is not None:
        box = page.locator(part).first.bounding_box()
        assert box is not None
        clip = {"x": box["x"] - 16, "y": box["y"] - 16, "width": box["width"] + 32,
                "height": min(box["height"] + 32, height or box["height"] + 32)}  # fmt: skip
    page.screenshot(path=SCREENSHOTS / f"{name}.png", clip=clip)
    page.set_viewport_size({"width": 1280, "height": 900})


def save(data_dir: Path, secret_key: str, name: str, server: DemoServer, options: GroupOptions) -> int:
    store = Store.open(data_dir, keys=[secret_key])
    settings = {"base_url": server.base_url, "token_url": server.token_url, "client_id": server.client_id}
    return store.save_connection(name=name, settings=settings, client_secret=server.client_secret, options=options).id


def tick_row(page, row: int) -> None:
    """Click the check box of a row of the School Selection table (it is drawn on a canvas)."""
    grid = page.locator(".st-key-sg_schools [data-testid='stDataFrameResizable']")
    grid.wait_for()
    page.wait_for_timeout(500)
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 18, box["y"] + HEADER + ROW * row + ROW / 2)
    settle(page)


def heading(page) -> str:
    """The chosen school's name, shown as the heading above its numbers."""
    return page.locator("h3").filter(has_not_text="School Selection").first.inner_text().strip()


def download(page, key: str) -> tuple[bytes, str]:
    button = page.locator(f".st-key-{key} button")
    with page.expect_download() as started:
        button.click()
    got = started.value
    data = Path(got.path()).read_bytes()
    settle(page)
    return data, got.suggested_filename


def query(page) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(page.url).query, keep_blank_values=True).items()}


def test_the_seed_flow_against_an_unfamiliar_provider(
    app_url: str, page, unfamiliar_provider: DemoServer, data_dir: Path, secret_key: str
) -> None:
    from playwright.sync_api import expect

    provider = unfamiliar_provider
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
    expect(page.get_by_text("Connected: the provider lists 3 schools.")).to_be_visible()
    expect(page.get_by_text("from your district's data")).to_be_visible()
    snap(page, "3_edit_connection")
    click(page, "save_connection")
    expect(page.get_by_text("Saved “Sierra Vista SIS”.")).to_be_visible()
    snap(page, "4_connections")

    # Download a CERS Section Group: School Selection, a school, Download CSV.
    saved = next(c for c in Store.open(data_dir, keys=[secret_key]).connections() if c.name == "Sierra Vista SIS")
    click(page, f"groups_{saved.id}")
    expect(page.get_by_role("heading", name="Download a CERS Section Group")).to_be_visible()
    type_into(page, "sg_search", "Elementary")
    tick_row(page, 0)
    download_button = page.locator(".st-key-school_download button")
    expect(download_button).to_be_enabled(timeout=60_000)
    expect(page.get_by_text("CERS would accept this file.")).to_be_visible()
    # The preview at 1280 pixels: every column in view, and the page's rows without a scroll box of their own.
    preview = page.locator("[role='tabpanel']:visible [data-testid='stDataFrameResizable'] .dvn-scroller").first
    preview.wait_for()
    sizes = preview.evaluate("e => [e.scrollWidth, e.clientWidth, e.scrollHeight, e.clientHeight]")
    assert sizes[0] <= sizes[1] + 1 and sizes[2] <= sizes[3] + 1, sizes
    snap(page, "5_section_groups", height=1500)
    downloaded, file_name = download(page, "school_download")

    # Right after the download, nothing is said to change in CERS: that file was never sent.
    page.reload()
    settle(page)
    expect(page.get_by_text("may never have been uploaded to CERS")).to_be_visible()
    expect(page.get_by_text("Nothing changes in CERS")).to_have_count(0)

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


def test_the_school_and_the_view_stay_put(
    app_url: str, page, district_without_cds: DemoServer, data_dir: Path, secret_key: str
) -> None:
    from playwright.sync_api import expect

    connection = save(data_dir, secret_key, "Stays put", district_without_cds, GroupOptions(split_large=True))
    page.goto(f"{app_url}/Section_Groups?connection={connection}")
    settle(page)
    tick_row(page, 2)  # Tarzana Elementary School (the list is by name)
    assert heading(page) == "Tarzana Elementary School"
    for search in ("High", "Middle", ""):  # each list puts other schools where Tarzana was
        type_into(page, "sg_search", search)
        assert heading(page) == "Tarzana Elementary School", search
        assert query(page)["school"] == "org-0001"
    expect(page.locator(".st-key-school_download button")).to_be_enabled()

    # The URL holds the view: a reload restores it, the back button goes to the one before.
    set_day_of_month(page, "sg_as_of", 1)
    day = date.today().replace(day=1).isoformat()
    assert query(page) == {"connection": str(connection), "mode": "school", "school": "org-0001", "day": day}
    page.reload()
    settle(page)
    assert heading(page) == "Tarzana Elementary School"
    assert page.locator(".st-key-sg_as_of input[type=date]").input_value() == day
    page.get_by_text("Whole district").click()
    settle(page)
    assert query(page)["mode"] == "district"
    page.go_back()
    settle(page)
    assert query(page)["mode"] == "school"
    assert heading(page) == "Tarzana Elementary School"


def test_a_district_with_a_school_without_cds_code(
    app_url: str, page, district_without_cds: DemoServer, data_dir: Path, secret_key: str
) -> None:
    from playwright.sync_api import expect

    options = GroupOptions(split_large=True)
    connection = save(data_dir, secret_key, "No CDS for one", district_without_cds, options)
    page.goto(f"{app_url}/Section_Groups?connection={connection}&mode=district")
    settle(page)
    expect(page.get_by_text("1 school left out of this file: no CDS code")).to_be_visible()
    expect(page.get_by_text("sourcedId org-0002")).to_be_visible()
    snap(page, "6_district_school_left_out", height=1400)
    before, _ = download(page, "district_download")
    others = export_section_groups(district_without_cds.settings(), options, as_of=date.today())
    assert before == others.csv_bytes and others.schools_left_out.height == 1

    page.get_by_role("tab", name="Coverage").click()
    page.wait_for_timeout(1500)
    charts = page.locator("[data-testid='stVegaLiteChart']")
    expect(charts).to_have_count(3)
    for chart in charts.all():
        chart.locator("canvas, svg").first.wait_for()
    snap(page, "7_coverage", part="[role='tabpanel']:visible", height=1900)

    code = "36739576952553"  # the school's own CDS code, which its SIS record lacks
    type_into(page, "sg_cds_org-0002", code)
    click(page, "sg_save_cds_org-0002")
    expect(page.get_by_text("left out of this file")).to_have_count(0, timeout=60_000)
    after, _ = download(page, "district_download")
    whole = export_section_groups(
        district_without_cds.settings(), options.model_copy(update={"cds_map": {"org-0002": code}}), as_of=date.today()
    )
    assert after == whole.csv_bytes and whole.schools_left_out.height == 0


def test_names_from_the_sis_never_become_links_or_images(
    app_url: str, page, hostile_district: DemoServer, data_dir: Path, secret_key: str
) -> None:
    from playwright.sync_api import expect

    connection = save(data_dir, secret_key, "[Sign in](https://evil.example) ![x](https://evil.example/c.png)",
                      hostile_district, GroupOptions(split_large=True))  # fmt: skip
    schools = [
        f"Section_Groups?connection={connection}&mode=school&school={school}" for school in ("org-0001", "org-0003")
    ]  # the first without a CDS code, the other with the rest of the problems
    views = [*schools, f"Section_Groups?connection={connection}&mode=district", "CERS_Connections"]
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    origin = urlsplit(app_url).netloc
    for view in views:
        page.goto(f"{app_url}/{view}")
        settle(page)
        for tab in ("Problems", "Coverage"):
            if page.get_by_role("tab", name=tab).count():
                page.get_by_role("tab", name=tab).first.click()
                page.wait_for_timeout(500)
        links = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        images = page.eval_on_selector_all("img[src], image[href]", "els => els.map(e => e.src || e.href.baseVal)")
        assert [link for link in links if urlsplit(link).netloc != origin] == [], view
        assert [image for image in images if urlsplit(image).netloc not in (origin, "")] == [], view
        if view.startswith("Section_Groups"):
            shown = page.locator("[data-testid='stMarkdownContainer']", has_text="evil.example").first
            expect(shown).to_be_visible()  # the names are there, as text
    assert [url for url in requested if "evil" in url] == []  # (Streamlit fetches its icons from Google's fonts)


@pytest.mark.skipif(not TAKE_SCREENSHOTS, reason="only for the README's pictures: make screenshots")
def test_screenshots_of_the_three_verdicts(app_url: str, page, tmp_path: Path) -> None:
    files = {
        "8_verdict_accepted": (
            "algebra_groups.csv",
            GOOD_FILE.format(name="Algebra I - Lee - 3", ssid="1234567890").encode(),
        ),
        "9_verdict_not_as_meant": (
            "french_groups_latin1.csv",
            GOOD_FILE.format(name="Caf\xe9 Fran\xe7ais", ssid="123456789").encode("latin-1"),
        ),
        "10_verdict_rejected": (
            "art_groups.csv",
            GOOD_FILE.format(name="Algebra I", ssid="1234567890").replace(",All,", ",Art,").encode(),
        ),
    }
    for name, (file_name, data) in files.items():
        path = tmp_path / file_name
        path.write_bytes(data)
        page.goto(f"{app_url}/Check_a_CSV_file")
        settle(page)
        page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(path)
        settle(page)
        page.wait_for_timeout(500)
        snap(page, name, part="[data-testid='stMainBlockContainer']", height=1050)
