"""``sync``, ``history`` and ``export --connection/--recipe`` on the command line, over the app's store,
against the demo district and the fake CERS import service."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from cers_core.cli import main
from cers_core.group_sets import GroupSet, SectionFilter
from cers_core.store import SavedConnection, Store
from cers_demo import DemoServer
from cers_demo.fake_cers_import import FakeImportServer
from tests.support import DEMO_REFERENCE_DATE
from tests.support.app import open_store
from tests.support.sync import link_to_cers

DAY = DEMO_REFERENCE_DATE.isoformat()


@pytest.fixture
def saved(data_dir: Path, demo_server: DemoServer, fake_import: FakeImportServer) -> SavedConnection:
    """The app's store in ``data_dir``: "District SIS" (the demo district) sending to "CERS" (the fake)."""
    return link_to_cers(open_store(data_dir), demo_server, fake_import)


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(args), out=out, err=err), out.getvalue(), err.getvalue()


def test_sync_prints_a_line_per_connection_and_writes_its_report(saved, fake_import, tmp_path: Path) -> None:
    report = tmp_path / "sync.json"
    code, out, err = run("sync", "--as-of", DAY, "--upload-wait", "10", "--report-json", str(report))
    assert code == 0, err
    (line,) = out.splitlines()
    assert line.startswith("District SIS: sent 3 schools to CERS (") and line.endswith(": PROCESSED).")
    assert "District SIS: reading the rosters…" in err and "Sending the file to CERS…" in err
    written = json.loads(report.read_text())
    assert written["exit_code"] == 0
    (connection,) = written["connections"]
    assert (connection["connection"], connection["outcome"], connection["import"]["status"]) == (
        "District SIS",
        "sent",
        "PROCESSED",
    )
    assert sorted(s["school"] for s in connection["schools"]) == ["36739573263901", "36739576542831", "36739576952553"]
    assert {s["decision"] for s in connection["schools"]} == {"sent"}
    assert fake_import.options.client_secret not in out + err + report.read_text()

    code, out, _ = run("sync", "--as-of", DAY, "--connection", "district sis")
    assert (code, out) == (0, "District SIS: nothing to send: 3 schools unchanged since the last file sent.\n")


def test_a_second_sync_at_once_says_so_and_exits_6(saved, data_dir: Path, tmp_path: Path) -> None:
    assert open_store(data_dir).take_lock("sync", "the nightly run on host-a", seconds=600) is None
    report = tmp_path / "sync.json"
    report.write_text('{"exit_code": 0}')  # the last run's
    code, out, err = run("sync", "--as-of", DAY, "--report-json", str(report))
    assert (code, out) == (6, "")
    assert err.startswith("error: Another sync has been running on this data folder since ")
    assert "(the nightly run on host-a); this one stopped without reading or sending anything." in err
    assert json.loads(report.read_text())["exit_code"] == 6


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["sync", "--connection", "Nope"], "No saved connection is named 'Nope' (saved: District SIS)"),
        (["sync", "--upload-wait", "0"], "--upload-wait must be more than 0 seconds"),
        (["history", "--limit", "0"], "--limit and --days must be at least 1"),
        (["export", "--all-schools", "--recipe", "Math"], "--recipe needs --connection"),
        (["export", "--all-schools"], "export needs --base-url, --token-url, --client-id, or --connection NAME"),
        (["export", "--all-schools", "--connection", "District SIS", "--fields", "teacher"], "leave out --fields"),
        (["export", "--all-schools", "--connection", "District SIS", "--recipe", "Art"],
         "Connection 'District SIS' has no group set named 'Art' (its group sets: none)"),
    ],
)  # fmt: skip
def test_usage_mistakes_exit_2_and_say_what_to_do(saved, args: list[str], words: str) -> None:
    code, out, err = run(*args)
    assert (code, out) == (2, "")
    assert words in err


def test_without_the_app_s_data_folder_the_commands_say_where_to_point(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CERS_DATA_DIR", str(tmp_path / "empty"))
    code, _, err = run("history")
    assert code == 2
    assert f"There are no saved connections in {tmp_path / 'empty'}. Set CERS_DATA_DIR to the app's data folder" in err


def test_export_with_a_saved_connection_consolidates_its_group_sets(saved, data_dir: Path, tmp_path: Path) -> None:
    store: Store = open_store(data_dir)
    store.save_group_set(saved.id, GroupSet(name="Homerooms", fields=["teacher"], class_types="homeroom"))
    store.save_group_set(saved.id, GroupSet(name="High school math", fields=["course_title", "teacher", "period"],
                                            schools=["36739573263901"], subject_from_course=True,
                                            sections=SectionFilter(subjects=["Mathematics", "02"])))  # fmt: skip
    both, one = tmp_path / "both.csv", tmp_path / "one.csv"
    code, _, err = run("export", "--connection", "District SIS", "--all-schools", "--as-of", DAY, "--out", str(both))
    assert code == 0, err
    code, _, err = run("export", "--connection", "District SIS", "--recipe", "high school MATH", "--all-schools",
                       "--as-of", DAY, "--out", str(one))  # fmt: skip
    assert code == 0, err
    math = [line for line in one.read_text().splitlines()[1:]]
    assert math and {line.split(",")[1] for line in math} == {"36739573263901"}
    assert {line.split(",")[3] for line in math} == {"Math"}
    everything = both.read_text().splitlines()[1:]
    assert set(math) < set(everything)  # the math groups, and the homerooms besides
    assert {line.split(",")[1] for line in everything} > {"36739573263901"}


def test_history_lists_runs_newest_first_and_filters_them(saved, data_dir: Path) -> None:
    store = open_store(data_dir)
    assert run("history") == (0, "No runs recorded (for these filters).\n", "")
    run("sync", "--as-of", DAY, "--upload-wait", "10")
    run("sync", "--as-of", DAY)
    code, out, _ = run("history", "--connection", "District SIS", "--school", "36739576542831", "--limit", "5")
    assert code == 0
    lines = out.splitlines()
    assert [line.split("  ")[1:4] for line in lines if not line.startswith(" ")] == [
        ["sync", "District SIS", "nothing_to_send"],
        ["sync", "District SIS", "sent"],
    ]
    assert "  - Tarzana Elementary School (36739576542831): unchanged; 21 groups, " in out
    assert "in CERS: 0 added, 0 no longer in the file, 0 renamed, 0 with other members, 21 unchanged" in out
    code, out, _ = run("history", "--kind", "download", "--days", "1")
    assert (code, out) == (0, "No runs recorded (for these filters).\n")
    code, out, _ = run("history", "--json", "--limit", "1")
    (latest,) = json.loads(out)
    assert latest["outcome"] == "nothing_to_send" and len(latest["schools"]) == 3
    assert store.runs()[0].who.startswith("command line (")
