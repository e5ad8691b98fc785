"""The command line, as a scheduled job or a person would run it, against the demo provider on loopback."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cers_core.cli import main
from cers_demo.provider import ROSTER_CORE_SCOPE
from tests.support import DEMO_REFERENCE_DATE

ROOT = Path(__file__).resolve().parents[2]


def connection(server) -> list[str]:
    return ["--base-url", server.base_url, "--token-url", server.token_url, "--client-id", server.client_id]


def run_cli(args: list[str], monkeypatch, secret: str | None) -> tuple[int, str, str]:
    if secret is None:
        monkeypatch.delenv("CERS_CLIENT_SECRET", raising=False)
    else:
        monkeypatch.setenv("CERS_CLIENT_SECRET", secret)
    out, err = io.StringIO(), io.StringIO()
    code = main(args, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def cli(monkeypatch, demo_server):
    def invoke(*args: str, secret: str | None = demo_server.client_secret) -> tuple[int, str, str]:
        return run_cli(list(args), monkeypatch, secret)

    return invoke


def export_args(server, *extra: str) -> list[str]:
    return ["export", *connection(server), "--as-of", DEMO_REFERENCE_DATE.isoformat(), *extra]


def test_schools_lists_name_sourced_id_and_cds(cli, demo_server, demo_district):
    code, out, _ = cli("schools", *connection(demo_server))
    assert code == 0
    lines = [line.split("\t") for line in out.splitlines()]
    schools = demo_district.orgs.filter(demo_district.orgs["type"] == "school")
    assert sorted(name for name, _, _ in lines) == sorted(schools["name"].to_list())
    assert all(len(cds) == 14 and cds.isdigit() for _, _, cds in lines)


def test_district_export_with_splitting_is_written_and_validates(cli, demo_server, tmp_path):
    target = tmp_path / "out" / "groups.csv"
    code, out, err = cli(*export_args(demo_server, "--all-schools", "--split-large", "--out", str(target)))
    assert code == 0, err
    assert out == ""
    assert "CERS would accept this file." in err
    assert [p.name for p in target.parent.iterdir()] == ["groups.csv"]  # no temporary file left behind
    code, report, _ = cli("validate", str(target), "--school-year", "2027")
    assert code == 0
    assert "accept" in report.lower()


def test_without_splitting_it_exits_1_and_names_the_large_section(cli, demo_server, demo_district, tmp_path):
    target = tmp_path / "groups.csv"
    code, _, err = cli(*export_args(demo_server, "--all-schools", "--out", str(target)))
    assert code == 1
    assert target.exists()  # the file is written; its report says CERS would reject it
    assert "over 200" in err and err.rstrip().endswith("CERS would reject this file (see the errors above).")
    assert "--split-large" in err
    code, report, _ = cli("validate", str(target))
    assert code == 1
    assert "Maximum students allowed per group is 200" in report


def test_csv_goes_to_standard_output_without_out(cli, demo_server):
    code, schools, _ = cli("schools", *connection(demo_server))
    school = schools.splitlines()[0].split("\t")[2]
    code, out, err = cli(*export_args(demo_server, "--school", school, "--fields", "class_code,period"))
    assert code in (0, 1), err
    assert out.startswith("group_name,school_natural_id,school_year,subject_code,student_ssid,group_user_login\r\n")
    assert all(line.split(",")[1] == school for line in out.split("\r\n")[1:-1])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--school", "nowhere"], "No school with the sourcedId or CDS code nowhere"),
        (["--all-schools", "--fields", "course_title,shoe_size"], "--fields"),
        (["--all-schools", "--separator", ", "], "--separator"),
        (["--all-schools", "--cds", "105"], "SOURCEDID=CDS"),
        (["--all-schools", "--cds", "105=123"], "not a school CDS code"),
        (["--all-schools", "--cds", "105=０１６１２５９０１３０１４６"], "not a school CDS code"),  # full-width
        (["--all-schools", "--as-of", "2026-13-01"], "not a date"),
    ],
)
def test_usage_errors_exit_2_and_write_nothing(cli, demo_server, tmp_path, args, message):
    target = tmp_path / "groups.csv"
    code, out, err = cli(*export_args(demo_server, *args, "--out", str(target)))
    assert code == 2
    assert message in err
    assert not target.exists() and out == ""


def test_missing_secret_is_a_usage_error(cli, demo_server):
    code, _, err = cli("schools", *connection(demo_server), secret=None)
    assert code == 2 and "CERS_CLIENT_SECRET" in err


def test_plain_http_to_another_host_is_refused(cli):
    args = ["schools", "--base-url", "http://sis.example.org/ims", "--token-url", "https://sis.example.org/t"]
    code, _, err = cli(*args, "--client-id", "x")
    assert code == 2 and "--base-url" in err and "https://" in err


def test_wrong_secret_exits_3_writes_nothing_and_never_shows_the_secret(cli, demo_server, tmp_path):
    target = tmp_path / "groups.csv"
    wrong = "not-the-right-secret-93127"
    code, out, err = cli(*export_args(demo_server, "--all-schools", "--out", str(target)), secret=wrong)
    assert code == 3
    assert "Client ID or Client Secret" in err and "Nothing was written" in err
    assert wrong not in err and wrong not in out
    assert not target.exists()


def test_an_unreachable_provider_exits_3(cli, tmp_path):
    args = ["schools", "--base-url", "http://127.0.0.1:9/ims", "--token-url", "http://127.0.0.1:9/token"]
    code, _, err = cli(*args, "--client-id", "x", secret="whatever")
    assert code == 3 and "connect" in err.lower()


def test_validate_a_missing_file_is_a_usage_error(cli, tmp_path):
    code, _, err = cli("validate", str(tmp_path / "nope.csv"))
    assert code == 2 and "no file" in err.lower()


def test_demo_server_command_prints_its_connection_first_and_serves_it(monkeypatch, tmp_path):
    command = [sys.executable, "-m", "cers_core", "demo-server", "--port", "0"]
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=environment
    ) as process:
        try:
            assert process.stdout is not None
            first = json.loads(process.stdout.readline())
            assert set(first) == {"base_url", "token_url", "client_id", "client_secret"}
            args = ["schools", "--base-url", first["base_url"], "--token-url", first["token_url"]]
            args += ["--client-id", first["client_id"], "--scope", ROSTER_CORE_SCOPE]
            code, out, _ = run_cli(args, monkeypatch, first["client_secret"])
            assert code == 0 and len(out.splitlines()) >= 3
        finally:
            process.terminate()
            process.wait(timeout=20)
