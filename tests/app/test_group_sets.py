"""Group sets and the scheduled sync on the CERS Connections page, and the file they make together on
Section Groups."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from streamlit.testing.v1 import AppTest

from cers_core import export_section_groups, list_schools
from cers_core.group_sets import GroupSet
from cers_core.settings import ClassTypes, GroupNameField, GroupOptions
from cers_demo import DemoServer
from tests.support import DEMO_REFERENCE_DATE, ROOT
from tests.support.app import choose_school, open_section_groups, open_store, save_connection, shown
from tests.support.store import save_import_connection

CONNECTIONS = "pages/2_CERS_Connections.py"


def open_connections() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at = at.switch_page(CONNECTIONS).run()
    assert not at.exception, at.exception
    return at


def errors(at: AppTest) -> list[str]:
    return [shown(e.value) for e in at.error]


def test_group_sets_are_added_checked_edited_and_deleted_on_the_connection(
    data_dir: Path, demo_server: DemoServer
) -> None:
    save_connection(data_dir, demo_server)
    store = open_store(data_dir)
    (saved,) = store.connections()
    at = open_connections()
    assert any("None: the group options above make this connection's groups." in c.value for c in at.caption)

    at.button(key=f"add_set_{saved.id}").click().run()
    at.text_input(key="gs_name").input("Homerooms")
    at.multiselect(key="gs_fields").set_value([GroupNameField.teacher, GroupNameField.school_name])
    at.text_input(key="gs_separator").input(" / ")
    at.selectbox(key="gs_class_types").set_value(ClassTypes.homeroom)
    at.text_input(key="gs_schools").input("org-0001, org-0002")
    at = at.button(key="save_group_set").click().run()
    assert not at.exception, at.exception
    ((group_set_id, homerooms),) = [(g.id, g.group_set) for g in store.group_sets(saved.id)]
    assert homerooms == GroupSet(name="Homerooms", fields=["teacher", "school_name"], separator=" / ",
                                 class_types="homeroom", schools=["org-0001", "org-0002"])  # fmt: skip
    line = "**Homerooms** · schools org-0001, org-0002; homerooms; every section · Teacher (family name) / School name"
    assert line in [shown(m.value) for m in at.markdown]

    at.button(key=f"add_set_{saved.id}").click().run()
    at.text_input(key="gs_name").input("homerooms")  # the same name, in other case
    at.text_input(key="gs_separator").input(", ")
    at = at.button(key="save_group_set").click().run()
    assert "The separator may not hold ',': CERS cannot read those in a group name." in errors(at)
    at.text_input(key="gs_separator").input(" - ")
    at = at.button(key="save_group_set").click().run()
    assert "This connection already has a group set named 'homerooms'." in errors(at)
    at.text_input(key="gs_name").input("Math 9")
    at.text_input(key="gs_subjects").input("02, Mathematics")
    at.text_input(key="gs_grades").input("09")
    at = at.button(key="save_group_set").click().run()
    assert [g.group_set.name for g in store.group_sets(saved.id)] == ["Homerooms", "Math 9"]
    assert store.group_sets(saved.id)[1].group_set.sections.subjects == ("02", "Mathematics")

    at.button(key=f"edit_set_{group_set_id}").click().run()
    assert at.text_input(key="gs_name").value == "Homerooms" and at.text_input(key="gs_schools").value == (
        "org-0001, org-0002"
    )
    at.radio(key="gs_primary_teachers_only").set_value(True)
    at = at.button(key="save_group_set").click().run()
    assert store.group_sets(saved.id)[0].group_set.primary_teachers_only

    at.button(key=f"delete_set_{group_set_id}").click().run()
    at = at.button(key=f"confirm_delete_set_{group_set_id}").click().run()
    assert not at.exception, at.exception
    assert [g.group_set.name for g in store.group_sets(saved.id)] == ["Math 9"]


def test_the_scheduled_sync_links_an_import_connection_and_sets_the_brake(data_dir: Path, demo_server: DemoServer):
    save_connection(data_dir, demo_server)
    store = open_store(data_dir)
    (saved,) = store.connections()
    target = save_import_connection(store)
    at = open_connections()
    assert at.selectbox(key=f"sync_target_{saved.id}").value is None
    at.selectbox(key=f"sync_target_{saved.id}").set_value(target.id)
    at.number_input(key=f"sync_students_{saved.id}").set_value(35.0)
    at.checkbox(key=f"sync_empty_{saved.id}").uncheck()
    at = at.button(key=f"save_sync_{saved.id}").click().run()
    assert not at.exception, at.exception
    assert any("Saved the scheduled sync." in s.value for s in at.success)
    linked = store.sync_target(saved.id)
    assert linked.import_connection_id == target.id
    assert (linked.brake.max_student_drop_percent, linked.brake.max_group_drop_percent) == (35.0, 10.0)
    assert not linked.brake.hold_when_school_empty
    again = open_connections()  # a new session shows what is saved
    assert again.selectbox(key=f"sync_target_{saved.id}").value == target.id
    assert again.number_input(key=f"sync_students_{saved.id}").value == 35.0


def test_section_groups_previews_the_file_the_group_sets_make_together(data_dir: Path, demo_server: DemoServer):
    save_connection(data_dir, demo_server, GroupOptions(split_large=True))
    store = open_store(data_dir)
    (saved,) = store.connections()
    store.save_group_set(saved.id, GroupSet(name="By teacher", fields=["teacher"]))
    store.save_group_set(saved.id, GroupSet(name="By course", fields=["course_title", "period"]))
    at = choose_school(open_section_groups(), "Tarzana Elementary School", DEMO_REFERENCE_DATE)
    assert not at.exception, at.exception
    note = next(shown(i.value) for i in at.info if "group set" in i.value)
    assert note.startswith("This connection makes its groups with 2 group sets (“By teacher”, “By course”)")
    sets = [g.group_set for g in store.group_sets(saved.id)]
    tarzana = list_schools(demo_server.settings()).filter(pl.col("name") == "Tarzana Elementary School")["sourced_id"]
    made = export_section_groups(demo_server.settings(), saved.options, schools=tarzana.to_list(),
                                 as_of=DEMO_REFERENCE_DATE, group_sets=sets)  # fmt: skip
    alone = export_section_groups(demo_server.settings(), saved.options, schools=tarzana.to_list(),
                                  as_of=DEMO_REFERENCE_DATE)  # fmt: skip
    assert made.groups.height == 2 * alone.groups.height  # each section, once by teacher and once by course
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Groups"] == f"{made.groups.height:,}"
    groups = next(pl.from_pandas(frame.value) for frame in at.dataframe if "Group" in frame.value.columns)
    assert groups["Group"].to_list() == made.groups["group_name"].to_list()
