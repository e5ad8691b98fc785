"""Student data and secrets never reach a log, an error or the command line's output, even when things fail.

Every logger runs at DEBUG (httpx and httpcore included) while whole exports run, some of them
against a misbehaving provider, and the captured log is searched for every SSID, e-mail address
and student name of the demo district, and for the client secret and every access token the
provider handed out. The exports run against a ``DemoServer`` on a port: what is searched is
what the whole network stack logs (httpcore's connections included), which in process it would not.
"""

from __future__ import annotations

import base64
import io
import logging
import re

import polars as pl
import pytest

from cers_core import GroupOptions, OneRosterSettings, export_section_groups
from cers_core.cli import main
from cers_core.errors import CersError
from cers_core.export import ExportContext
from cers_core.http.retry import RetryPolicy
from cers_demo import DemoDistrict, DemoProvider
from cers_demo.faults import FaultRule, Faults
from tests.support import DEMO_REFERENCE_DATE

QUICK = RetryPolicy(max_attempts=8, base_delay=0.01, max_delay=0.02, max_total_wait=5.0)
LOGGERS = ("", "httpx", "httpcore", "hpack", "asyncio", "uvicorn", "uvicorn.error", "cers_core", "polars")


class Leaks:
    """What must never be written down: the district's student data, the secret and the tokens."""

    def __init__(self, district: DemoDistrict, server: DemoProvider) -> None:
        users = district.users
        students = users.filter(pl.col("roles.role").list.contains("student"))
        ids = users.select(pl.col("userIds.identifier").explode()).to_series().drop_nulls()
        self.ssids = set(ids.filter(ids.str.contains(r"^\d{10}$")).to_list())
        self.emails = set(users["email"].drop_nulls().to_list())
        self.names = {f"{given} {family}" for given, family in students.select("givenName", "familyName").iter_rows()}
        self.family_names = re.compile(
            r"\b(" + "|".join(sorted(map(re.escape, set(students["familyName"].to_list())))) + r")\b"
        )
        self.server = server

    def secrets(self) -> list[str]:
        secret = self.server.client_secret
        basic = base64.b64encode(f"{self.server.client_id}:{secret}".encode()).decode()
        return [secret, basic, *self.server.issued_tokens]

    def found_in(self, text: str) -> list[str]:
        found = [s for s in self.secrets() if s in text]
        found += [ssid for ssid in re.findall(r"\d{10}", text) if ssid in self.ssids]
        found += [mail for mail in self.emails if mail in text]
        found += [name for name in self.names if name in text]
        found += self.family_names.findall(text)
        return found


@pytest.fixture
def debug_log(caplog):
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name or None)
    return caplog


def logged(caplog) -> str:
    parts = [caplog.text]
    for record in caplog.records:
        parts += [record.getMessage(), repr(record.args), str(record.__dict__)]
    return "\n".join(parts)


def settings_for(server: DemoProvider, **changes) -> OneRosterSettings:
    return server.settings(**({"page_size": 500} | changes))


def test_the_leak_detector_finds_what_it_looks_for(demo_district, demo_provider):
    leaks = Leaks(demo_district, demo_provider)
    ssid, mail, name = sorted(leaks.ssids)[0], sorted(leaks.emails)[0], sorted(leaks.names)[0]
    assert leaks.found_in(f"user {ssid} of {mail}") == [ssid, mail]
    assert name in leaks.found_in(f"row for {name}")
    assert leaks.found_in(f"secret={demo_provider.client_secret}")
    assert leaks.found_in("GET /users?limit=200&offset=400 200 OK stu-0000001 2026-11-28") == []


def test_whole_exports_at_debug_log_no_student_data_and_no_secret(make_demo_server, demo_district, debug_log):
    faults = Faults(rules=(FaultRule(kind="503", every=5), FaultRule(kind="expired-token", every=7)))
    server = make_demo_server(faults=faults, dangling_references=True)
    logging.getLogger("cers_core.test").debug("an export starts")  # the capture works at DEBUG
    result = export_section_groups(
        settings_for(server),
        GroupOptions(split_large=True),
        as_of=DEMO_REFERENCE_DATE,
        context=ExportContext(retry=QUICK),
    )
    assert result.accepted and server.faults.injected
    single = export_section_groups(
        settings_for(server), schools=["org-0001"], as_of=DEMO_REFERENCE_DATE, context=ExportContext(retry=QUICK)
    )
    assert single.rows.height
    text = logged(debug_log)
    assert "HTTP Request" in text and "an export starts" in text  # httpx logged every request
    assert Leaks(demo_district, server).found_in(text) == []


@pytest.mark.parametrize(
    ("options", "changes"),
    [
        ({"faults": Faults(rules=(FaultRule(kind="500", target="/users", times=None),))}, {}),
        ({"faults": Faults(rules=(FaultRule(kind="reset", target="token", times=None),))}, {}),
        ({"faults": Faults(rules=(FaultRule(kind="expired-token", times=None),))}, {}),
        ({}, {"client_secret": "a-wrong-secret-that-must-not-show-55"}),
    ],
    ids=["lasting 500", "token endpoint resets", "every token refused", "wrong secret"],
)
def test_failing_exports_log_no_secret(make_demo_server, demo_district, debug_log, options, changes):
    server = make_demo_server(**options)
    with pytest.raises(CersError) as caught:
        export_section_groups(
            settings_for(server, **changes),
            schools=["org-0001"],
            as_of=DEMO_REFERENCE_DATE,
            context=ExportContext(retry=QUICK),
        )
    logging.getLogger("cers_core.test").exception("the export failed", exc_info=caught.value)
    text = logged(debug_log)
    leaks = Leaks(demo_district, server)
    assert leaks.found_in(text) == []
    for wrong in changes.values():
        assert wrong not in text


def test_the_command_line_never_prints_the_secret_or_a_token(make_demo_server, monkeypatch, tmp_path):
    monkeypatch.setattr("cers_core.oneroster.client.RetryPolicy", lambda: QUICK)
    server = make_demo_server(faults=Faults(rules=(FaultRule(kind="503", target="/classes", times=None),)))
    connection = ["--base-url", server.base_url, "--token-url", server.token_url, "--client-id", server.client_id]
    outputs = []
    for command in (
        ["schools", *connection],
        ["export", *connection, "--school", "org-0001", "--as-of", DEMO_REFERENCE_DATE.isoformat()],
        ["export", *connection, "--all-schools", "--out", str(tmp_path / "x.csv")],
    ):
        monkeypatch.setenv("CERS_CLIENT_SECRET", server.client_secret)
        out, err = io.StringIO(), io.StringIO()
        codes = main(command, out=out, err=err)
        outputs.append((codes, out.getvalue() + err.getvalue()))
    assert [code for code, _ in outputs] == [0, 3, 3]
    for _, text in outputs:
        for secret in [server.client_secret, *server.issued_tokens]:
            assert secret not in text
