"""The scheduled sync against the demo district and the fake CERS import service: what it sends, what the
brake holds and why, what a release sends, what two runs at once do, and the exit codes for schedulers."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import polars as pl
import pytest

from cers_core.brake import BrakeSettings
from cers_core.errors import SettingsError
from cers_core.history import changes_if_released
from cers_core.store import Store
from cers_core.sync import ExitCode, SyncBusy, SyncContext, release_held, sync
from cers_demo import DemoProvider
from cers_demo.fake_cers_import import FakeImportOptions, FakeImportServer
from tests.support import DEMO_REFERENCE_DATE, QUICK_RETRIES
from tests.support.sync import QUICK_UPLOAD, link_to_cers, without_students

CANOGA, TARZANA, JEFFERSON = "36739573263901", "36739576542831", "36739576952553"


def decisions(report) -> dict[str, tuple[str, str]]:
    (done,) = report.connections
    return {school.school: (school.decision, school.reason) for school in done.schools}


def cers_students(fake: FakeImportServer, school: str) -> int:
    return sum(len(group.students) for key, group in fake.service.groups.items() if key[0] == school)


def test_a_first_run_sends_every_school_and_the_next_finds_nothing_to_send(
    store, connection, demo_provider, fake_import, run_sync
):
    first = run_sync(demo_provider)
    assert first.exit_code == ExitCode.ok
    (done,) = first.connections
    assert done.outcome == "sent" and done.cers_status == "PROCESSED"
    assert done.summary.startswith("District SIS: sent 3 schools to CERS (")
    assert {school for school, *_ in fake_import.service.groups} == {CANOGA, TARZANA, JEFFERSON}
    assert {s.school: s.decision for s in done.schools} == dict.fromkeys((CANOGA, TARZANA, JEFFERSON), "sent")

    again = run_sync(demo_provider)
    assert again.exit_code == ExitCode.ok
    assert again.lines() == ["District SIS: nothing to send: 3 schools unchanged since the last file sent."]
    assert len(fake_import.service.imports()) == 1  # nothing posted the second time
    runs = store.runs()
    assert [(r.kind, r.outcome, r.who) for r in runs] == [("sync", "nothing_to_send", "test run"),
                                                          ("sync", "sent", "test run")]  # fmt: skip
    assert runs[1].batch == done.batch and runs[1].cers_status == "PROCESSED"
    assert {s.changes["unchanged"] for s in runs[0].schools} == {s.groups for s in runs[1].schools}


def test_a_normal_week_of_changes_is_sent_and_the_history_counts_them(
    store, connection, demo_provider, demo_district, fake_import, run_sync
):
    run_sync(demo_provider)
    before = cers_students(fake_import, CANOGA)
    week = without_students(demo_district, "org-0003", share=0.04)  # a few students left Canoga's sections
    report = run_sync(DemoProvider(week))
    assert report.exit_code == ExitCode.ok
    assert decisions(report) == {CANOGA: ("sent", ""), TARZANA: ("unchanged", ""), JEFFERSON: ("unchanged", "")}
    assert cers_students(fake_import, CANOGA) < before
    canoga = next(s for s in store.runs()[0].schools if s.school == CANOGA)
    assert canoga.changes["changed"] > 0 and canoga.changes["added"] == canoga.changes["disappears"] == 0


def test_an_empty_roster_night_is_held_and_nothing_reaches_cers(
    store, connection, demo_provider, demo_district, fake_import, run_sync
):
    run_sync(demo_provider)
    held = [
        store.kept_file(connection.id, school).csv_bytes for school in (CANOGA, TARZANA, JEFFERSON)
    ]  # what CERS has
    glitch = dataclasses.replace(demo_district, enrollments=demo_district.enrollments.clear())
    report = run_sync(DemoProvider(glitch))
    assert report.exit_code == ExitCode.held
    found = decisions(report)
    assert {decision for decision, _ in found.values()} == {"held"}
    assert found[CANOGA][1] == "the school had 150 groups in the last file sent, and has none now"
    assert report.lines()[0].startswith(
        "District SIS: HELD 3 schools (Canoga High School 36739573263901: the school had 150 groups in the last "
        "file sent, and has none now; and 2 more) — see the History page to release; nothing sent."
    )
    assert len(fake_import.service.imports()) == 1
    assert [store.kept_file(connection.id, s).csv_bytes for s in (CANOGA, TARZANA, JEFFERSON)] == held
    # The SIS is back the next night: the file is the one CERS has, so nothing is sent.
    assert run_sync(demo_provider).lines() == ["District SIS: nothing to send: 3 schools unchanged since the last "
                                               "file sent."]  # fmt: skip


def test_a_school_whose_students_fall_is_held_then_released_after_a_look(
    store, connection, demo_provider, demo_district, fake_import, run_sync
):
    run_sync(demo_provider)
    before = cers_students(fake_import, TARZANA)
    half = without_students(demo_district, "org-0001", share=0.5)
    report = run_sync(DemoProvider(half))
    assert report.exit_code == ExitCode.held
    decision, reason = decisions(report)[TARZANA]
    assert decision == "held"
    assert reason.startswith("student rows fell by 50% (") and reason.endswith("more than the 20% allowed")
    assert decisions(report)[CANOGA] == decisions(report)[JEFFERSON] == ("unchanged", "")
    assert cers_students(fake_import, TARZANA) == before  # CERS still has every student

    (held,) = store.held_files(connection.id)
    assert (held.school, held.school_name, held.reason) == (TARZANA, "Tarzana Elementary School", reason)
    # What releasing it changes in CERS: students leave their groups, no group appears or disappears.
    diff = changes_if_released(store, held)
    assert diff is not None and diff.counts()["changed"] > 0
    assert diff.counts()["added"] == diff.counts()["disappears"] == diff.counts()["renamed"] == 0
    removed = diff.members.filter((pl.col("role") == "student") & (pl.col("change") == "removed")).height
    assert removed > 0 and diff.members.filter(pl.col("change") == "added").height == 0

    context = SyncContext(as_of=DEMO_REFERENCE_DATE, upload_wait=10.0, upload=QUICK_UPLOAD)
    released = release_held(store, connection, [TARZANA], who="it@district.org", context=context)
    assert released.outcome == "sent" and released.summary.startswith("District SIS: released 1 school to CERS (")
    assert cers_students(fake_import, TARZANA) == before - removed  # just what the look said
    assert store.held_files(connection.id) == []
    assert store.kept_file(connection.id, TARZANA).sha256 == held.sha256
    assert [(r.kind, r.who, r.outcome) for r in store.runs()][:2] == [
        ("release", "it@district.org", "sent"),
        ("sync", "test run", "held"),
    ]
    # The next night's file is the one released: nothing to send.
    assert run_sync(DemoProvider(half)).exit_code == ExitCode.ok
    with pytest.raises(SettingsError, match="None of these schools has an upload held"):
        release_held(store, connection, [TARZANA], who="it@district.org")


def test_the_thresholds_are_the_connection_s_own(store, connection, demo_district, demo_provider, run_sync):
    run_sync(demo_provider)
    target = store.sync_target(connection.id)
    store.save_sync_target(connection.id, import_connection_id=target.import_connection_id,
                           brake=BrakeSettings(max_student_drop_percent=60, max_group_drop_percent=60))  # fmt: skip
    report = run_sync(DemoProvider(without_students(demo_district, "org-0001", share=0.5)))
    assert report.exit_code == ExitCode.ok and decisions(report)[TARZANA] == ("sent", "")


def test_a_file_cers_would_reject_is_held_with_the_reason(store, demo_provider, fake_import, run_sync):
    saved = link_to_cers(store, demo_provider, fake_import)
    store.save_connection(name=saved.name, settings=saved.settings, client_secret=None, connection_id=saved.id,
                          options=saved.options.model_copy(update={"split_large": False}))  # fmt: skip
    report = run_sync(demo_provider)
    assert report.exit_code == ExitCode.held
    assert {d for d, _ in decisions(report).values()} == {"held"}
    assert "CERS would reject the file: " in decisions(report)[CANOGA][1]
    assert "over 200" in report.lines()[0]
    assert fake_import.service.imports() == []


def test_cers_rejecting_the_file_is_exit_4_and_nothing_is_kept(store, demo_provider, run_sync):
    with FakeImportServer(FakeImportOptions(processing_seconds=0.05, schools=(CANOGA,))) as fake:
        saved = link_to_cers(store, demo_provider, fake)
        report = run_sync(demo_provider)
    assert report.exit_code == ExitCode.cers_rejected
    (done,) = report.connections
    assert done.cers_status == "BAD_DATA" and "CERS REJECTED the file" in done.summary
    assert "Row " in done.details  # CERS's own report, mapped to the file
    assert store.kept_schools(saved.id, how="upload") == []
    assert {s.decision for s in done.schools} == {"rejected"}


def test_an_unfinished_import_is_exit_5_with_its_batch(store, demo_provider, run_sync):
    with FakeImportServer(FakeImportOptions(processing_seconds=30)) as fake:
        link_to_cers(store, demo_provider, fake)
        context = SyncContext(
            as_of=DEMO_REFERENCE_DATE, upload_wait=0.5, transport=demo_provider.transport(), upload=QUICK_UPLOAD
        )
        report = sync(store, who="cron", context=context)
    assert report.exit_code == ExitCode.outcome_unknown
    (done,) = report.connections
    assert f"check batch {done.batch} in CERS" in done.summary


def test_an_unreachable_sis_is_exit_3_and_the_other_connections_still_run(
    store, connection, demo_provider, fake_import, run_sync
):
    broken = store.save_connection(
        name="Old SIS",
        settings={"base_url": demo_provider.base_url, "token_url": demo_provider.token_url, "client_id": "nobody"},
        client_secret="wrong",
        options=connection.options,
    )
    store.save_sync_target(broken.id, import_connection_id=store.sync_target(connection.id).import_connection_id,
                           brake=BrakeSettings())  # fmt: skip
    report = run_sync(demo_provider)
    assert report.exit_code == ExitCode.connection_error
    by_name = {done.connection: done for done in report.connections}
    assert by_name["District SIS"].outcome == "sent"
    assert by_name["Old SIS"].outcome == "failed"
    assert by_name["Old SIS"].summary.startswith("Old SIS: not sent: the rosters could not be read. ")
    assert "wrong" not in by_name["Old SIS"].summary  # no secret in a message


def test_only_the_named_connections_run_and_a_name_must_be_known(store, connection, demo_provider, run_sync):
    unlinked = store.save_connection(name="Sandbox", settings=connection.settings, client_secret="x",
                                     options=connection.options)  # fmt: skip
    with pytest.raises(SettingsError, match="No saved connection is named 'Nope'"):
        run_sync(demo_provider, connections=["Nope"])
    with pytest.raises(SettingsError, match="'Sandbox' has no CERS import connection to send to"):
        run_sync(demo_provider, connections=["sandbox"])
    assert [done.connection for done in run_sync(demo_provider, connections=["district sis"]).connections] == [
        "District SIS"
    ]
    assert unlinked.id not in [run.connection_id for run in store.runs()]


def test_group_sets_are_what_a_sync_sends(store, connection, demo_provider, fake_import, run_sync):
    from cers_core.group_sets import GroupSet

    store.save_group_set(connection.id, GroupSet(name="Canoga homerooms", class_types="homeroom", schools=[CANOGA]))
    store.save_group_set(connection.id, GroupSet(name="Tarzana", fields=["teacher", "period"], schools=["org-0001"]))
    report = run_sync(demo_provider)
    assert report.exit_code == ExitCode.ok
    assert {school for school, *_ in fake_import.service.groups} == {TARZANA}  # Canoga has no homerooms


def test_two_syncs_at_once_send_once(tmp_path: Path, key: str, demo_provider: DemoProvider) -> None:
    folder = tmp_path / "data"
    with FakeImportServer(FakeImportOptions(processing_seconds=0.5)) as fake:
        link_to_cers(Store.open(folder, keys=[key]), demo_provider, fake)
        start = threading.Barrier(2)
        outcomes: list[object] = []

        def run() -> None:
            own = Store.open(folder, keys=[key])  # each run opens the data folder itself, as a process does
            context = SyncContext(as_of=DEMO_REFERENCE_DATE, upload_wait=10.0, transport=demo_provider.transport(),
                                  retry=QUICK_RETRIES, upload=QUICK_UPLOAD)  # fmt: skip
            start.wait()
            try:
                outcomes.append(sync(own, who="cron", context=context).exit_code)
            except SyncBusy as busy:
                outcomes.append(busy)

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(fake.service.imports()) == 1
    assert ExitCode.ok in outcomes
    (busy,) = [o for o in outcomes if isinstance(o, SyncBusy)]
    assert str(busy).startswith("Another sync has been running on this data folder since ")
    assert "this one stopped without reading or sending anything" in str(busy)
    assert Store.open(folder, keys=[key]).take_lock("sync", "next night", seconds=1) is None  # released


def test_a_crashed_run_s_lock_ends_at_its_expiry(store, connection, demo_provider, run_sync):
    assert store.take_lock("sync", "a run that crashed", seconds=3600) is None
    with pytest.raises(SyncBusy, match="If it crashed, its lock ends at "):
        run_sync(demo_provider)
    store.take_lock("sync", "a run that crashed", seconds=-1)  # as if its hour had passed
    assert run_sync(demo_provider).exit_code == ExitCode.ok
