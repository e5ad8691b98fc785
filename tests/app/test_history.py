"""The History page, and ``history`` on the command line, after real syncs: two nights with a roster change
between, both sent, both shown with what they changed; an upload the brake held, looked at and released."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import polars as pl
from streamlit.testing.v1 import AppTest

from cers_core.cli import main
from cers_core.sync import SyncContext, sync
from cers_demo import DemoDistrict, DemoProvider, DemoServer
from cers_demo.fake_cers_import import FakeImportServer
from tests.app.test_sign_in import ANALYST, SECRETS, signed_in
from tests.support import DEMO_REFERENCE_DATE, QUICK_RETRIES, ROOT
from tests.support.app import open_store, shown
from tests.support.sync import QUICK_UPLOAD, link_to_cers, without_one_enrollment, without_students

HISTORY = "pages/5_History.py"
TARZANA = "36739576542831"


def open_history(user: dict[str, Any] | None = None, secrets: dict[str, Any] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.user = user or {}
    at.secrets.update(secrets or {})
    at.run()
    at = at.switch_page(HISTORY).run()
    assert not at.exception, at.exception
    return at


def grid(at: AppTest, index: int) -> pl.DataFrame:
    return pl.from_pandas(at.dataframe[index].value)


def run_cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(args), out=out, err=io.StringIO()), out.getvalue()


def test_two_nights_with_a_roster_change_are_both_sent_and_shown_with_their_changes(
    data_dir: Path, demo_district: DemoDistrict, fake_import: FakeImportServer
) -> None:
    day = DEMO_REFERENCE_DATE.isoformat()
    with DemoServer(demo_district) as sis:
        link_to_cers(open_store(data_dir), sis, fake_import)
        assert run_cli("sync", "--as-of", day)[0] == 0
        port = int(sis.origin.rsplit(":", 1)[1])
    with DemoServer(without_one_enrollment(demo_district, "org-0001"), port=port):  # the same SIS, the next night
        code, out = run_cli("sync", "--as-of", day)
    assert code == 0
    assert out.startswith("District SIS: sent 1 school to CERS (") and "; 2 schools unchanged." in out
    assert len(fake_import.service.imports()) == 2

    code, out = run_cli("history")
    assert code == 0
    assert [line.split("  ")[3] for line in out.splitlines() if not line.startswith(" ")] == ["sent", "sent"]
    assert (
        "  - Tarzana Elementary School (36739576542831): sent; 21 groups, 474 students; in CERS: 0 added, "
        "0 no longer in the file, 0 renamed, 1 with other members, 20 unchanged"
    ) in out

    at = open_history()
    assert "History" in [link.label for link in at.sidebar.get("page_link")]
    runs = grid(at, 0)
    assert runs["What"].to_list() == ["scheduled sync", "scheduled sync"]
    assert runs["Outcome"].to_list() == ["sent to CERS", "sent to CERS"]
    assert runs["Schools"].to_list() == [3, 3]
    schools = grid(at, 1)
    tarzana = schools.filter(pl.col("CDS") == TARZANA)
    assert tarzana.select("Decision", "Other members", "Unchanged").rows() == [("sent", 1, 20), ("sent", None, None)]
    assert schools.filter(pl.col("Decision") == "unchanged")["Unchanged"].to_list() == [150, 108]
    charts = at.get("vega_lite_chart")
    assert [('"title": "groups"' in c.proto.spec, '"title": "students"' in c.proto.spec) for c in charts] == [
        (True, False),
        (False, True),
    ]  # groups, and students, over time

    at.text_input(key="hist_school").input("tarzana").run()
    assert grid(at, 1)["CDS"].to_list() == [TARZANA, TARZANA]
    at.multiselect(key="hist_kinds").set_value(["download"]).run()
    assert "No run, download or upload recorded for these choices." in [i.value for i in at.info]


def test_a_held_upload_is_looked_at_and_released_by_an_administrator_only(
    data_dir: Path, demo_provider: DemoProvider, demo_district: DemoDistrict, fake_import: FakeImportServer
) -> None:
    store = open_store(data_dir)
    link_to_cers(store, demo_provider, fake_import)
    for provider in (demo_provider, DemoProvider(without_students(demo_district, "org-0001", share=0.5))):
        context = SyncContext(as_of=DEMO_REFERENCE_DATE, upload_wait=10.0, transport=provider.transport(),
                              retry=QUICK_RETRIES, upload=QUICK_UPLOAD)  # fmt: skip
        sync(store, who="cron", context=context)
    assert len(fake_import.service.imports()) == 1

    seen = open_history(signed_in(ANALYST), SECRETS)
    assert seen.button(key=f"release_1_{TARZANA}").disabled
    assert "Only administrators release held uploads." in [c.value for c in seen.caption]

    at = open_history()  # on this computer, without sign-in: an administrator
    held = grid(at, 0)
    assert held.select("School", "CDS").rows() == [("Tarzana Elementary School", TARZANA)]
    assert held["Why"][0].startswith("student rows fell by 50% (")
    look = next(e for e in at.expander if "What changes in CERS if Tarzana Elementary School" in e.label)
    assert any("with other members" in m.value for m in look.markdown)  # the difference's summary
    at.button(key=f"release_1_{TARZANA}").click().run()
    assert not at.exception, at.exception
    assert shown(next(s.value for s in at.success)).startswith("District SIS: released 1 school to CERS (")
    assert len(fake_import.service.imports()) == 2
    assert store.held_files(1) == []
    assert grid(at, 0)["What"].to_list()[0] == "released"
    assert grid(at, 0)["Who"].to_list()[0] == "this computer (no sign-in)"
