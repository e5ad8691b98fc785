"""On the CERS Connections page, under each OneRoster connection: its group sets (recipes for its
groups, put together into one file) and its scheduled sync (where it sends every night, and when
the safety brake holds the upload).

Every widget has a key; the form's fields live in ``st.session_state`` under ``gs_…`` while one
group set is edited (one at a time, on the whole page).
"""

from __future__ import annotations

from typing import Any

import streamlit as st
from pydantic import ValidationError

from cers_app import context
from cers_app.context import AppContext
from cers_app.demo import import_connections
from cers_app.markup import escape_markdown
from cers_app.widgets import ask_first_button, class_types_choice, subject_choice, teachers_choice
from cers_core.brake import BrakeSettings
from cers_core.group_sets import GroupSet, SectionFilter
from cers_core.settings import GroupNameField
from cers_core.store import GroupSetInvalid, RosterConnection, SavedBundleConnection, SavedGroupSet, field_messages
from cers_core.wording import count

__all__ = ["FORM_KEYS", "show_group_sets", "show_group_sets_note", "show_sync_target"]

NEW = "new"
_EDITING = "gs_editing"  # (connection id, group set id or NEW) while a form is open
_ERRORS = "gs_errors"
_CONFIRM = "gs_confirm_delete"
FORM_KEYS = {
    "name": "gs_name",
    "fields": "gs_fields",
    "separator": "gs_separator",
    "class_types": "gs_class_types",
    "primary_teachers_only": "gs_primary_teachers_only",
    "subject_from_course": "gs_subject_from_course",
    "schools": "gs_schools",
    "course_codes": "gs_course_codes",
    "subjects": "gs_subjects",
    "grades": "gs_grades",
}
_NEW_SET = GroupSet(name="new")  # what a new group set's form starts with (its name left blank)


def show_group_sets(ctx: AppContext, saved: RosterConnection) -> None:
    """The connection's group sets, each with Edit and Delete, and the form to add or edit one."""
    st.session_state.setdefault(_CONFIRM, None)
    st.markdown("**Group sets**")
    sets = ctx.store.group_sets(saved.id)
    if not sets:
        st.caption(
            "None: the group options above make this connection's groups. Add group sets for several recipes in "
            "one file (say, homerooms by teacher at the elementary schools and math sections by period at the "
            "high school); the Section Groups page then previews the file they make together."
        )
    for item in sets:
        group_set = item.group_set
        row = st.container(horizontal=True, vertical_alignment="center")
        naming = escape_markdown(group_set.separator.join(GroupNameField(f).label for f in group_set.fields))
        row.markdown(f"**{escape_markdown(group_set.name)}** · {escape_markdown(group_set.describe())} · {naming}")
        row.button("Edit", key=f"edit_set_{item.id}", icon=":material/edit:", on_click=_start, args=(saved.id, item))
        ask_first_button(
            "Delete",
            f"set_{item.id}",
            state_key=_CONFIRM,
            asking=item.id,
            question=f"Delete the group set “{escape_markdown(group_set.name)}”?",
            on_confirm=context.guarded(_delete),
            args=(ctx, item.id),
            place=row,
        )
    editing = st.session_state.get(_EDITING)
    if editing is not None and editing[0] == saved.id:
        _form(ctx, saved, editing[1])
    else:
        st.button("Add group set", key=f"add_set_{saved.id}", icon=":material/add:", on_click=_start,
                  args=(saved.id, None))  # fmt: skip


def show_group_sets_note(ctx: AppContext, saved: RosterConnection) -> None:
    """On Section Groups: that the file previewed is the one the connection's group sets make together."""
    sets = ctx.store.group_sets(saved.id)
    if sets:
        names = ", ".join(f"“{escape_markdown(item.group_set.name)}”" for item in sets)
        st.info(
            f"This connection makes its groups with {count(len(sets), 'group set')} ({names}): below is the one file "
            "they make together, each row once; where two make a group of the same name, the section code is added "
            "(see Problems). A school that no group set is for has no groups here.",
            icon=":material/layers:",
        )


def _start(connection_id: int, item: SavedGroupSet | None) -> None:
    group_set = item.group_set if item is not None else _NEW_SET
    values: dict[str, Any] = {
        "name": item.group_set.name if item is not None else "",
        "fields": list(group_set.fields),
        "separator": group_set.separator,
        "class_types": group_set.class_types,
        "primary_teachers_only": group_set.primary_teachers_only,
        "subject_from_course": group_set.subject_from_course,
        "schools": ", ".join(group_set.schools),
        "course_codes": ", ".join(group_set.sections.course_codes),
        "subjects": ", ".join(group_set.sections.subjects),
        "grades": ", ".join(group_set.sections.grades),
    }
    st.session_state.update({FORM_KEYS[name]: value for name, value in values.items()})
    st.session_state[_EDITING] = (connection_id, NEW if item is None else item.id)
    st.session_state[_ERRORS] = {}


def _form(ctx: AppContext, saved: RosterConnection, editing: int | str) -> None:
    errors: dict[str, str] = st.session_state.get(_ERRORS, {})

    def problem(name: str) -> None:
        if name in errors:
            st.error(escape_markdown(errors[name]), icon=":material/error:")

    with st.container(border=True, key=f"group_set_form_{saved.id}"):
        st.markdown("**New group set**" if editing == NEW else "**Edit group set**")
        st.text_input("Name", key=FORM_KEYS["name"], max_chars=100, placeholder="e.g. Homerooms, or Secondary math")
        problem("name")
        st.multiselect("Fields in the group name, in order", list(GroupNameField), key=FORM_KEYS["fields"],
                       format_func=lambda f: f.label)  # fmt: skip
        problem("fields")
        st.text_input("Separator", key=FORM_KEYS["separator"], max_chars=20)
        problem("separator")
        left, right = st.columns(2)
        class_types_choice("Class types", FORM_KEYS["class_types"], place=left)
        teachers_choice(FORM_KEYS["primary_teachers_only"], place=left)
        subject_choice(FORM_KEYS["subject_from_course"], place=right)
        st.text_input("Schools (blank for every school)", key=FORM_KEYS["schools"],
                      placeholder="sourcedIds or CDS codes, comma-separated")  # fmt: skip
        problem("schools")
        st.caption("Which sections of those schools (blank for every one); a section must match each line filled in.")
        columns = st.columns(3)
        columns[0].text_input("Course codes", key=FORM_KEYS["course_codes"], placeholder="e.g. MA101, MA102")
        columns[1].text_input("Subjects", key=FORM_KEYS["subjects"], placeholder="e.g. 02 (SCED), Mathematics")
        columns[2].text_input("Grades", key=FORM_KEYS["grades"], placeholder="e.g. 9, 10")
        actions = st.container(horizontal=True)
        actions.button("Save group set", key="save_group_set", type="primary", icon=":material/save:",
                       on_click=context.guarded(_save), args=(ctx, saved.id, editing))  # fmt: skip
        actions.button("Cancel", key="cancel_group_set", on_click=_stop)
        if errors:
            st.error("The group set was not saved: fix what is marked above.")


def _listed(key: str) -> list[str]:
    return [part.strip() for part in str(st.session_state.get(key) or "").split(",") if part.strip()]


def _save(ctx: AppContext, connection_id: int, editing: int | str) -> None:
    values = {
        "name": st.session_state[FORM_KEYS["name"]],
        "fields": st.session_state[FORM_KEYS["fields"]],
        "separator": st.session_state[FORM_KEYS["separator"]],
        "class_types": st.session_state[FORM_KEYS["class_types"]],
        "primary_teachers_only": st.session_state[FORM_KEYS["primary_teachers_only"]],
        "subject_from_course": st.session_state[FORM_KEYS["subject_from_course"]],
        "schools": _listed(FORM_KEYS["schools"]),
        "sections": SectionFilter(
            course_codes=_listed(FORM_KEYS["course_codes"]),
            subjects=_listed(FORM_KEYS["subjects"]),
            grades=_listed(FORM_KEYS["grades"]),
        ),
    }
    try:
        group_set = GroupSet.model_validate(values)
        ctx.store.save_group_set(connection_id, group_set, group_set_id=None if editing == NEW else int(editing))
    except ValidationError as error:
        st.session_state[_ERRORS] = field_messages(error)
        return
    except GroupSetInvalid as error:
        st.session_state[_ERRORS] = error.field_errors
        return
    _stop()


def _stop() -> None:
    st.session_state[_EDITING] = None
    st.session_state[_ERRORS] = {}


def _delete(ctx: AppContext, group_set_id: int) -> None:
    ctx.store.delete_group_set(group_set_id)
    st.session_state[_CONFIRM] = None
    if (st.session_state.get(_EDITING) or (None, None))[1] == group_set_id:
        _stop()


def show_sync_target(ctx: AppContext, saved: RosterConnection) -> None:
    """Where the scheduled sync sends this connection's file, and its brake's thresholds."""
    st.markdown("**Scheduled sync**")
    if isinstance(saved, SavedBundleConnection) and saved.settings.path is None:
        st.caption(
            "The scheduled sync reads a CSV bundle on the server, where a nightly job writes it: this connection's "
            "bundle is uploaded by hand. Set its path on the server (Edit) to send it every night."
        )
        return
    targets = {target.id: target.name for target in import_connections(ctx.store, ctx.demo)}
    target = ctx.store.sync_target(saved.id)
    keys = _sync_keys(saved.id)
    st.session_state.setdefault(keys["target"], target.import_connection_id)
    st.session_state.setdefault(keys["students"], target.brake.max_student_drop_percent)
    st.session_state.setdefault(keys["groups"], target.brake.max_group_drop_percent)
    st.session_state.setdefault(keys["empty"], target.brake.hold_when_school_empty)
    if st.session_state[keys["target"]] not in (None, *targets):
        st.session_state[keys["target"]] = None  # the import connection was deleted meanwhile
    st.selectbox(
        "Send to CERS with",
        [None, *targets],
        key=keys["target"],
        format_func=lambda tid: "Nothing: not sent by the scheduled sync" if tid is None else targets[tid],
        help="`python -m cers_core sync`, run every night by a scheduler (see the README), sends this connection's "
        "file through this CERS import connection.",
    )
    columns = st.columns(3)
    columns[0].number_input("Hold when a school's student rows fall by more than (%)", 0.0, 100.0, step=5.0,
                            key=keys["students"])  # fmt: skip
    columns[1].number_input("Hold when a school's groups fall by more than (%)", 0.0, 100.0, step=5.0,
                            key=keys["groups"])  # fmt: skip
    columns[2].checkbox("Hold when a school that had groups has none", key=keys["empty"])
    st.caption(
        "The safety brake compares each school's part of the file with the last one sent to CERS and holds it, "
        "saying why, when it shrinks more than a roster can in a week (a SIS glitch would otherwise empty those "
        "groups in CERS). Held uploads can be released on the History page."
    )
    st.button("Save scheduled sync", key=f"save_sync_{saved.id}", icon=":material/save:",
              on_click=context.guarded(_save_target), args=(ctx, saved.id))  # fmt: skip


def _sync_keys(connection_id: int) -> dict[str, str]:
    return {name: f"sync_{name}_{connection_id}" for name in ("target", "students", "groups", "empty")}


def _save_target(ctx: AppContext, connection_id: int) -> None:
    keys = _sync_keys(connection_id)
    brake = BrakeSettings(
        max_student_drop_percent=st.session_state[keys["students"]],
        max_group_drop_percent=st.session_state[keys["groups"]],
        hold_when_school_empty=st.session_state[keys["empty"]],
    )
    ctx.store.save_sync_target(connection_id, import_connection_id=st.session_state[keys["target"]], brake=brake)
    st.session_state.conns_notice = ("success", "Saved the scheduled sync.")
