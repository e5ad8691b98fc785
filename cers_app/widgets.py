"""Widgets the pages share: a paged grid, a button that asks before it acts, and the choices of a
connection's or a group set's group options (worded once, so both forms say the same)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from cers_app.frames import page_of
from cers_core.settings import ClassTypes

__all__ = [
    "GRID_ROWS",
    "ask_first_button",
    "class_types_choice",
    "paged_grid",
    "subject_choice",
    "teachers_choice",
]

GRID_ROWS = 50  # rows a grid shows (and sends to the browser) at a time
_ROW_HEIGHT, _HEADER_HEIGHT = 35, 38


def paged_grid(frame: pl.DataFrame, key: str, noun: str, *, column_config: dict[str, Any] | None = None) -> None:
    """One page of a frame, with a page picker when there is more than one: never more rows to
    the browser than shown, and every row within reach. The grid is as tall as its page, so the
    page scrolls, not a box inside it."""
    pages = max(1, -(-frame.height // GRID_ROWS))
    page = 1
    if pages > 1:
        page = int(st.number_input(f"Page (of {pages:,})", 1, pages, key=key, width=160))
    first = (page - 1) * GRID_ROWS
    shown = page_of(frame, page, GRID_ROWS)
    st.dataframe(
        shown,
        hide_index=True,
        height=_HEADER_HEIGHT + _ROW_HEIGHT * max(shown.height, 1) + 2,
        column_config=column_config,
    )
    if frame.height:
        st.caption(f"{noun} {first + 1:,}–{min(first + GRID_ROWS, frame.height):,} of {frame.height:,}")


def ask_first_button(
    verb: str,
    key: str,
    *,
    state_key: str,
    asking: object,
    question: str,
    on_confirm: Callable[..., None],
    args: tuple[Any, ...],
    place: DeltaGenerator | None = None,
) -> None:
    """A button that asks before it acts, e.g. "Delete": a click keeps ``asking`` in
    ``st.session_state[state_key]``; while it is there, ``question`` shows with "Yes, <verb>"
    (which calls ``on_confirm(*args)``) and "Cancel" (which forgets the question).

    The verb is in lower case after "Yes, " and in the buttons' keys: ``<verb>_<key>``,
    ``confirm_<verb>_<key>`` and ``cancel_<verb>_<key>``. The first button goes to ``place``,
    else where the page draws now; the question and the other two always go where the page draws now.
    """
    action = verb.lower()
    if st.session_state[state_key] == asking:
        st.warning(question)
        confirm = st.container(horizontal=True)
        confirm.button(f"Yes, {action}", key=f"confirm_{action}_{key}", type="primary", on_click=on_confirm, args=args)
        confirm.button(
            "Cancel", key=f"cancel_{action}_{key}", on_click=st.session_state.update, kwargs={state_key: None}
        )
    else:
        (place if place is not None else st).button(
            verb,
            key=f"{action}_{key}",
            icon=":material/delete:",
            on_click=st.session_state.update,
            kwargs={state_key: asking},
        )


_CLASS_TYPES = {ClassTypes.all: "All", ClassTypes.scheduled: "Scheduled only", ClassTypes.homeroom: "Homeroom only"}


def teachers_choice(key: str, *, place: DeltaGenerator | None = None) -> None:
    """``primary_teachers_only``: every teacher of a section, or its primary teachers only."""
    _either("Teachers given access", key, ("All teachers of the section", "Primary teachers only"), place)


def subject_choice(key: str, *, place: DeltaGenerator | None = None) -> None:
    """``subject_from_course``: every group's subject ``All``, or ELA or Math from the section's subjects."""
    _either("Group subject", key, ("All", "ELA or Math from the section's subjects"), place)


def _either(label: str, key: str, words: tuple[str, str], place: DeltaGenerator | None) -> None:
    """A switch between two ways, shown as their ``words`` (for False, for True) side by side."""
    (place if place is not None else st).radio(
        label, [False, True], key=key, format_func=lambda value: words[value], horizontal=True
    )


def class_types_choice(label: str, key: str, *, place: DeltaGenerator | None = None) -> None:
    """``class_types``: which class types become groups."""
    (place if place is not None else st).selectbox(label, list(ClassTypes), key=key, format_func=_CLASS_TYPES.get)
