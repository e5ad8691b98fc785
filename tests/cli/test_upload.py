"""``export --upload`` and ``diff`` on the command line, against the demo provider and the fake import service."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from cers_core.cli import main
from cers_demo.fake_cers_import import FakeImportOptions, FakeImportServer
from tests.support import DEMO_REFERENCE_DATE

IMPORT_SECRET, IMPORT_PASSWORD = "CERS_IMPORT_CLIENT_SECRET", "CERS_IMPORT_PASSWORD"


@pytest.fixture
def fake_import() -> Iterator[FakeImportServer]:
    with FakeImportServer(FakeImportOptions(processing_seconds=0.1)) as server:
        yield server


@pytest.fixture
def run(monkeypatch, demo_server):
    monkeypatch.setenv("CERS_CLIENT_SECRET", demo_server.client_secret)
    monkeypatch.delenv(IMPORT_SECRET, raising=False)
    monkeypatch.delenv(IMPORT_PASSWORD, raising=False)

    def invoke(*args: str, **environment: str) -> tuple[int, str, str]:
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        out, err = io.StringIO(), io.StringIO()
        return main(list(args), out=out, err=err), out.getvalue(), err.getvalue()

    return invoke


@pytest.fixture(scope="module")
def school_cds(demo_district) -> str:
    schools = demo_district.orgs.filter(demo_district.orgs["type"] == "school")
    return next(i for i in schools["identifier"].to_list() if i and len(i) == 14 and not i.endswith("0000000"))


def export_upload(demo_server, fake: FakeImportServer, school: str, out, *extra: str) -> list[str]:
    return [
        "export",
        "--base-url", demo_server.base_url,
        "--token-url", demo_server.token_url,
        "--client-id", demo_server.client_id,
        "--school", school,
        "--split-large",
        "--as-of", DEMO_REFERENCE_DATE.isoformat(),
        "--out", str(out),
        "--upload",
        "--import-url", fake.import_url,
        "--import-token-url", fake.token_url,
        "--import-client-id", fake.options.client_id,
        "--upload-wait", "10",
        *extra,
    ]  # fmt: skip


def test_export_upload_sends_the_file_and_an_identical_one_is_not_reprocessed(
    run, demo_server, fake_import, school_cds, tmp_path
):
    target = tmp_path / "groups.csv"
    args = export_upload(demo_server, fake_import, school_cds, target)
    code, out, err = run(*args, **{IMPORT_SECRET: fake_import.options.client_secret})
    assert code == 0, err
    assert out == "" and target.is_file()
    assert "CERS processed the file" in err and ": PROCESSED." in err
    held = fake_import.service.groups
    assert held and {group.school_natural_id for group in held.values()} == {school_cds}
    assert fake_import.options.client_secret not in err

    code, _, err = run(*args)
    assert code == 0 and "already processed an identical file" in err
    assert len(fake_import.service.imports()) == 1


def test_the_password_grant_takes_the_password_from_the_environment(
    run, demo_server, fake_import, school_cds, tmp_path
):
    args = export_upload(demo_server, fake_import, school_cds, tmp_path / "g.csv", "--import-username",
                         fake_import.options.username)  # fmt: skip
    code, _, err = run(*args, **{IMPORT_PASSWORD: fake_import.options.password})
    assert code == 0, err
    assert fake_import.service.imports()[0]["creator"] == fake_import.options.username
    assert fake_import.options.password not in err


def test_bad_data_is_exit_4_with_the_failures_mapped(run, demo_server, school_cds, tmp_path):
    with FakeImportServer(FakeImportOptions(school_years=(2026,), processing_seconds=0.1)) as fake:
        target = tmp_path / "groups.csv"
        code, _, err = run(*export_upload(demo_server, fake, school_cds, target),
                           **{IMPORT_SECRET: fake.options.client_secret})  # fmt: skip
    assert code == 4, err
    assert "CERS rejected the file" in err and "Row 1: Invalid school year: 2027" in err
    assert "Fix: CERS is not set up for school year 2027" in err
    assert target.is_file()  # the file stays written: the analyst may want to look at it


def test_wrong_import_credentials_are_exit_3_and_the_file_is_written_not_sent(
    run, demo_server, fake_import, school_cds, tmp_path
):
    target = tmp_path / "groups.csv"
    code, _, err = run(
        *export_upload(demo_server, fake_import, school_cds, target), **{IMPORT_SECRET: "wrong-secret-1234"}
    )
    assert code == 3
    assert "did not accept" in err and "written but not sent" in err and "wrong-secret-1234" not in err
    assert target.is_file() and fake_import.service.posts_received == 0


@pytest.mark.parametrize(
    ("drop", "environment", "message"),
    [
        ("--import-url", {IMPORT_SECRET: "x"}, "--upload needs --import-url"),
        (None, {}, f"{IMPORT_SECRET}: Enter the Client Secret"),
    ],
)
def test_incomplete_upload_options_are_a_usage_error_before_any_roster_is_read(
    run, demo_server, fake_import, school_cds, tmp_path, drop, environment, message
):
    args = export_upload(demo_server, fake_import, school_cds, tmp_path / "g.csv")
    if drop:
        index = args.index(drop)
        del args[index : index + 2]
    demo_server.request_log.clear()
    code, _, err = run(*args, **environment)
    assert code == 2 and message in err
    assert demo_server.request_log.count() == 0
    assert not (tmp_path / "g.csv").exists()


def test_diff_prints_what_changes(run, tmp_path):
    header = "group_name,school_natural_id,school_year,subject_code,student_ssid,group_user_login\r\n"
    old, new = tmp_path / "old.csv", tmp_path / "new.csv"
    old.write_text(header + "Art - Kim - 2,01612590130146,2027,All,,kim@x.org\r\n"
                   "Art - Kim - 2,01612590130146,2027,All,1000000001,\r\n", newline="")  # fmt: skip
    new.write_text(header + "Band - Cho - 6,01612590130146,2027,All,,cho@x.org\r\n", newline="")
    code, out, _ = run("diff", str(old), str(new))
    assert code == 0
    assert "NOT IN THIS FILE “Art - Kim - 2”" in out and "NEW “Band - Cho - 6”" in out
    assert "CERS keeps such groups" in out
    code, _, err = run("diff", str(old), str(tmp_path / "missing.csv"))
    assert code == 2 and "There is no file" in err
