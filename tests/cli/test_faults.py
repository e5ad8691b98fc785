"""The command line against a misbehaving provider: recovered exports, lasting faults (exit 3, nothing
written), an interrupted fetch, and the ``demo-server`` fault flags."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cers_core import GroupOptions, OneRosterSettings, export_section_groups
from cers_core.cli import _parser, main
from cers_core.http.retry import RetryPolicy
from cers_demo import DemoServer, ProviderOptions, generate_district
from cers_demo.faults import FaultRule, Faults
from cers_demo.provider import ROSTER_CORE_SCOPE
from cers_demo.provider_flags import provider_options
from tests.support import DEMO_REFERENCE_DATE

ROOT = Path(__file__).resolve().parents[2]
SCHOOL = "org-0001"
QUICK = RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=0.05, max_total_wait=5.0)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    """The CLI uses the default policy (waits of up to 30 s); tests wait hundredths of a second."""
    monkeypatch.setattr("cers_core.oneroster.client.RetryPolicy", lambda: QUICK)


def export_args(connection: dict[str, str], *extra: str) -> list[str]:
    return [
        "export",
        "--base-url",
        connection["base_url"],
        "--token-url",
        connection["token_url"],
        "--client-id",
        connection["client_id"],
        "--as-of",
        DEMO_REFERENCE_DATE.isoformat(),
        "--split-large",
        *extra,
    ]


def connection_of(server: DemoServer) -> dict[str, str]:
    return {
        "base_url": server.base_url,
        "token_url": server.token_url,
        "client_id": server.client_id,
        "client_secret": server.client_secret,
    }


def run_cli(monkeypatch, args: list[str], secret: str, err: io.StringIO | None = None) -> tuple[int, str, str]:
    monkeypatch.setenv("CERS_CLIENT_SECRET", secret)
    out, err = io.StringIO(), err or io.StringIO()
    code = main(args, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def expected_bytes(server: DemoServer) -> bytes:
    settings = OneRosterSettings(**connection_of(server))
    result = export_section_groups(
        settings, GroupOptions(split_large=True), schools=[SCHOOL], as_of=DEMO_REFERENCE_DATE
    )
    return result.csv_bytes


def test_a_recovered_export_writes_the_same_file(monkeypatch, make_demo_server, demo_server, tmp_path):
    server = make_demo_server(faults=Faults(rules=(FaultRule(kind="503", every=2, times=2),)), max_page_size=30)
    target = tmp_path / "groups.csv"
    args = export_args(connection_of(server), "--school", SCHOOL, "--out", str(target))
    code, _, err = run_cli(monkeypatch, args, server.client_secret)
    assert code == 0, err
    assert target.read_bytes() == expected_bytes(demo_server)
    assert server.faults.injected["503"] > 0


def test_a_lasting_fault_exits_3_and_leaves_the_old_file_alone(monkeypatch, make_demo_server, tmp_path):
    server = make_demo_server(faults=Faults(rules=(FaultRule(kind="503", target="/enrollments", times=None),)))
    target = tmp_path / "groups.csv"
    target.write_bytes(b"last week's file\r\n")
    args = export_args(connection_of(server), "--school", SCHOOL, "--out", str(target))
    code, out, err = run_cli(monkeypatch, args, server.client_secret)
    assert code == 3
    assert "/enrollments" in err and "HTTP 503" in err and "temporarily unavailable" in err
    assert "Nothing was written." in err
    assert target.read_bytes() == b"last week's file\r\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["groups.csv"]  # no temporary file left
    for secret in [server.client_secret, *server.issued_tokens]:
        assert secret not in out and secret not in err


class _InterruptedStream(io.StringIO):
    """A terminal on which the person presses Ctrl-C once the progress line first shows."""

    def __init__(self) -> None:
        super().__init__()
        self.interrupted = False

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if "Reading rosters" in text and not self.interrupted:
            self.interrupted = True
            raise KeyboardInterrupt
        return super().write(text)


def test_ctrl_c_during_the_fetch_writes_nothing(monkeypatch, make_demo_server, tmp_path):
    server = make_demo_server(faults=Faults(latency_seconds=0.01))
    target = tmp_path / "groups.csv"
    err = _InterruptedStream()
    args = export_args(connection_of(server), "--all-schools", "--out", str(target))
    code, _, text = run_cli(monkeypatch, args, server.client_secret, err)
    assert err.interrupted
    assert code == 130 and "nothing was written" in text
    assert list(tmp_path.iterdir()) == []


# -- the demo-server flags ----------------------------------------------------------------------


def demo_args(*flags: str):
    return _parser(demo=True).parse_args(["demo-server", *flags])


def test_no_flags_is_a_well_behaved_provider():
    assert provider_options(demo_args()) == ProviderOptions()


def test_every_flag_reaches_the_provider_options():
    args = demo_args(
        *("--fault", "503,every=3,times=2", "--fault", "reset,target=token,after=1"),
        *("--fault-seed", "4", "--latency", "0.01", "--max-concurrent", "3", "--hang-seconds", "0.5"),
        *("--token-lifetime", "60", "--max-page-size", "20", "--total-drift", "-5"),
        *("--no-total-count", "--no-link", "--overlapping-pages", "--core-scope-only", "--no-nested-routes"),
        *("--no-filters", "--no-dotted-filters", "--require-cookie", "--json-booleans", "--legacy-user-role"),
        *("--null-identifiers", "--relative-hrefs", "--ext-values", "--extra-fields", "--dangling-references"),
    )
    assert provider_options(args) == ProviderOptions(
        faults=Faults(
            rules=(FaultRule(kind="503", every=3, times=2), FaultRule(kind="reset", target="token", after=1)),
            seed=4,
            latency_seconds=0.01,
            max_concurrent_requests=3,
            hang_seconds=0.5,
        ),
        token_lifetime_seconds=60,
        max_page_size=20,
        total_drift=-5,
        total_count_header=False,
        link_header=False,
        overlapping_pages=True,
        client_scopes=frozenset({ROSTER_CORE_SCOPE}),
        nested_routes=False,
        filter_fields=frozenset(),
        dotted_filters=False,
        require_cookie=True,
        json_booleans=True,
        legacy_user_role=True,
        null_identifiers=True,
        relative_hrefs=True,
        ext_values=True,
        extra_fields=True,
        dangling_references=True,
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--fault", "418"], "--fault"),
        (["--fault", "503,every=0"], "every"),
        (["--max-page-size", "0"], "max_page_size"),
        (["--max-concurrent", "0"], "max_concurrent_requests"),
    ],
)
def test_bad_demo_server_flags_are_usage_errors(flags, message):
    err = io.StringIO()
    assert main(["demo-server", *flags], out=io.StringIO(), err=err) == 2
    assert message in err.getvalue()


def test_demo_server_flags_make_a_real_server_misbehave(monkeypatch, tmp_path):
    """``demo-server`` in its own process, with faults: the export recovers to the fault-free file."""
    command = [sys.executable, "-m", "cers_core", "demo-server", "--port", "0", "--fault", "503,every=2,times=2"]
    command += ["--fault", "reset,every=5", "--max-page-size", "40", "--overlapping-pages", "--extra-fields"]
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment
    ) as process:
        try:
            assert process.stdout is not None
            connection = json.loads(process.stdout.readline())
            target = tmp_path / "groups.csv"
            args = export_args(connection, "--school", SCHOOL, "--out", str(target))
            code, _, err = run_cli(monkeypatch, args, connection["client_secret"])
            assert code == 0, err
        finally:
            process.terminate()
            _, said = process.communicate(timeout=20)
    assert "Misbehaving on purpose" in said and "503" in said
    # The same district (seed 7, generated today), served without faults.
    with DemoServer(generate_district(scale="demo", seed=7)) as calm:
        assert target.read_bytes() == expected_bytes(calm)
