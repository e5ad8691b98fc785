"""What the command line reports: the file for the schools that can be exported when one cannot,
each school left out on a line of its own, the report as JSON for scripts, the three verdicts of
``validate``, and SIS text that never reaches the terminal raw."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import pytest

from cers_core import GroupOptions, export_section_groups
from cers_core.cli import main
from cers_demo import DemoDistrict, DemoServer
from tests.support import DEMO_REFERENCE_DATE
from tests.support.districts import with_markup_names, without_cds

HEADER = "group_name,school_natural_id,school_year,subject_code,student_ssid,group_user_login\r\n"
CDS = "01612590130146"


@pytest.fixture(scope="module")
def one_school_without_cds(demo_district: DemoDistrict) -> DemoServer:
    with DemoServer(without_cds(demo_district, "org-0002")) as server:
        yield server


def run(monkeypatch: pytest.MonkeyPatch, server: DemoServer | None, *args: str) -> tuple[int, str, str]:
    if server is not None:
        monkeypatch.setenv("CERS_CLIENT_SECRET", server.client_secret)
        args = (*args[:1], "--base-url", server.base_url, "--token-url", server.token_url,
                "--client-id", server.client_id, *args[1:])  # fmt: skip
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def export(*extra: str) -> tuple[str, ...]:
    return ("export", "--all-schools", "--split-large", "--as-of", DEMO_REFERENCE_DATE.isoformat(), *extra)


def test_a_school_without_a_cds_code_is_named_and_the_others_are_written(
    monkeypatch: pytest.MonkeyPatch, one_school_without_cds: DemoServer, tmp_path: Path
) -> None:
    target = tmp_path / "groups.csv"
    code, _, err = run(monkeypatch, one_school_without_cds, *export("--out", str(target)))
    assert code == 1
    assert (
        "SCHOOLS LEFT OUT OF THE FILE (1): no CDS code; give each one with --cds:\n"
        "  - Jefferson Middle School (sourcedId org-0002): --cds org-0002=<its CDS code>\n"
    ) in err
    assert err.rstrip().endswith(
        "CERS would accept this file. It holds the other schools; 1 school left out (see above)."
    )
    written = pl.read_csv(target, infer_schema=False)
    assert written["school_natural_id"].n_unique() == 2
    code, _, err = run(monkeypatch, one_school_without_cds, *export("--out", str(target), "--cds", f"org-0002={CDS}"))
    assert code == 0 and "LEFT OUT" not in err and err.rstrip().endswith("CERS would accept this file.")
    assert pl.read_csv(target, infer_schema=False)["school_natural_id"].n_unique() == 3


def test_the_report_as_json_for_scripts(
    monkeypatch: pytest.MonkeyPatch, one_school_without_cds: DemoServer, tmp_path: Path
) -> None:
    report_file = tmp_path / "report.json"
    code, _, err = run(
        monkeypatch,
        one_school_without_cds,
        *export("--out", str(tmp_path / "g.csv"), "--report-json", str(report_file)),
    )
    assert code == 1, err
    report = json.loads(report_file.read_text())
    options = GroupOptions(split_large=True)
    expected = export_section_groups(one_school_without_cds.settings(), options, as_of=DEMO_REFERENCE_DATE)
    assert report["verdict"] == "accepted" and report["complete"] is False
    assert report["schools_left_out"] == [{"sourced_id": "org-0002", "name": "Jefferson Middle School"}]
    by_school = {row["sourced_id"]: row for row in report["schools"]}
    assert set(by_school) == {"org-0001", "org-0002", "org-0003"}
    assert by_school["org-0002"]["groups"] == 0 and by_school["org-0002"]["cds"] is None
    middle = by_school["org-0002"]
    assert middle["students_in_no_group"] == middle["students"] > 400  # the whole school sees nothing
    reasons = {(r["school"], r["reason"]) for r in report["not_in_a_group"]}
    assert ("Jefferson Middle School", "school_without_cds") in reasons
    assert ("Canoga High School", "student_without_ssid") in reasons
    assert sum(row["groups"] for row in report["group_sizes"]) == report["groups"]
    assert report["groups"] == expected.groups.height
    assert report["totals"]["students"] == sum(row["students"] for row in report["schools"])
    kinds = {(row["severity"], row["code"]): row["problems"] for row in report["problems_by_kind"]}
    assert kinds[("error", "school_without_cds")] == 1
    assert "Canoga High School: " in err and " in no group: no SSID on record." in err


def write(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "file.csv"
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize(
    ("data", "code", "strict", "first_line"),
    [
        ((HEADER + f"A,{CDS},2027,All,,t@x.org\r\nA,{CDS},2027,All,1234567890,\r\n").encode(), 0, 0,
         "CERS would accept this file (0 errors, 0 warnings)."),
        ((HEADER + f"Caf\xe9,{CDS},2027,All,,t@x.org\r\nCaf\xe9,{CDS},2027,All,1234567890,\r\n").encode("latin-1"),
         0, 1, "CERS would accept this file, but not as meant (1 error, 0 warnings)."),
        ((HEADER + f'"A ""B""",{CDS},2027,All,,t@x.org\r\n"A ""B""",{CDS},2027,All,1234567890,\r\n').encode(), 0, 1,
         "CERS would accept this file, but not as meant (1 error, 0 warnings)."),
        ((HEADER + f"A,{CDS},2027,Art,1234567890,\r\n").encode(), 1, 1, "CERS would reject this file (1 error, "),
    ],
)  # fmt: skip
def test_validate_exits_by_the_verdict(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data: bytes, code: int, strict: int, first_line: str
) -> None:
    path = write(tmp_path, data)
    got, out, _ = run(monkeypatch, None, "validate", path)
    assert (got, out.splitlines()[0].startswith(first_line)) == (code, True), out
    assert "REJECTED" not in out
    assert run(monkeypatch, None, "validate", path, "--strict")[0] == strict


def test_terminal_escapes_from_the_sis_are_printed_escaped(
    monkeypatch: pytest.MonkeyPatch, demo_district: DemoDistrict, tmp_path: Path
) -> None:
    with DemoServer(with_markup_names(demo_district)) as server:
        code, out, _ = run(monkeypatch, server, "schools")
        assert code == 0 and "\x1b" not in out and "\r" not in out
        code, _, err = run(monkeypatch, server, *export("--out", str(tmp_path / "g.csv")))
        assert code == 1
        assert "\x1b" not in err and "\\x1b[31mRED" in err and "\r" not in err.replace("\r\n", "\n")
    path = write(
        tmp_path,
        (HEADER.replace("login", "login,\x1b]0;pwned\x07") + f"A,{CDS}\x1b[2J,2027,All,1234567890,\r\n").encode(),
    )
    code, out, _ = run(monkeypatch, None, "validate", path)
    assert code == 1 and "\x1b" not in out and "\x07" not in out and "\\x1b[2J" in out
