"""Fixes made right where the Section Groups page needs them, saved to the connection: a school's
CDS code (when its identifier is not one), and splitting sections over 200 students.

Each is a widget drawn beside the message that calls for it, and its callback saves the
connection's group options (nothing else changes: its secret is kept, its URLs are the same).
The saved connection's new version then makes the page read and build again with the fix.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st
from pydantic import ValidationError

from cers_app.context import AppContext, guarded
from cers_app.markup import escape_markdown, inline_code
from cers_core.settings import GroupOptions
from cers_core.store import RosterConnection, SavedBundleConnection, field_messages

__all__ = ["cds_inputs", "save_options", "split_switch"]

_ERRORS_KEY = "sg_fix_errors"


def _current(ctx: AppContext, saved: RosterConnection) -> RosterConnection:
    """The connection as saved now: another window may have saved it meanwhile."""
    if isinstance(saved, SavedBundleConnection):
        return ctx.store.bundle_connection(saved.id)
    return ctx.store.connection(saved.id)


def save_options(ctx: AppContext, saved: RosterConnection, **changes: Any) -> RosterConnection:
    """Save the connection (a provider's or a CSV bundle's) with these group options changed, its other
    options as saved now (``ValidationError`` when one is not usable)."""
    current = _current(ctx, saved)
    options = GroupOptions.model_validate({**current.options.model_dump(), **changes})
    if isinstance(current, SavedBundleConnection):
        return ctx.store.save_bundle_connection(
            connection_id=saved.id, name=current.name, settings=current.settings, options=options
        )
    return ctx.store.save_connection(
        connection_id=saved.id, name=current.name, settings=current.settings, client_secret=None, options=options
    )


def cds_inputs(ctx: AppContext, saved: RosterConnection, schools: pl.DataFrame) -> None:
    """For each school left out for want of a CDS code (``sourced_id``, ``name``): its name and
    sourcedId on a line of its own, a box for its CDS code and a button that saves it."""
    errors: dict[str, str] = st.session_state.setdefault(_ERRORS_KEY, {})
    for school in schools.iter_rows(named=True):
        sourced_id, name = school["sourced_id"], school["name"]
        with st.container(border=True, key=f"sg_cds_box_{_safe(sourced_id)}"):
            st.markdown(f"**{escape_markdown(name)}** · sourcedId {inline_code(sourced_id)} · no CDS code")
            row = st.container(horizontal=True, vertical_alignment="bottom")
            row.text_input(
                "CDS code",
                key=f"sg_cds_{_safe(sourced_id)}",
                placeholder="14 digits, e.g. 19647331930924",
                max_chars=14,
                width=260,
            )
            row.button(
                "Save CDS code",
                key=f"sg_save_cds_{_safe(sourced_id)}",
                icon=":material/save:",
                on_click=guarded(_save_cds),
                args=(ctx, saved, sourced_id),
            )
            if sourced_id in errors:
                st.error(escape_markdown(errors[sourced_id]), icon=":material/error:")
    st.caption("A CDS code saved here goes into the connection's CDS mapping (its advanced settings).")


def _save_cds(ctx: AppContext, saved: RosterConnection, sourced_id: str) -> None:
    errors: dict[str, str] = st.session_state.setdefault(_ERRORS_KEY, {})
    cds = str(st.session_state.get(f"sg_cds_{_safe(sourced_id)}") or "").strip()
    try:
        save_options(ctx, saved, cds_map={**_current(ctx, saved).options.cds_map, sourced_id: cds})
    except ValidationError as error:
        errors[sourced_id] = next(iter(field_messages(error).values()), "This is not a school CDS code.")
        return
    errors.pop(sourced_id, None)


def split_switch(ctx: AppContext, saved: RosterConnection, key: str) -> None:
    """The connection's "split sections over 200 students" switch, saved as soon as it is flipped."""
    st.toggle(
        "Split sections over 200 students into groups of at most 200",
        value=saved.options.split_large,
        key=f"{key}_split_large_{saved.version}",  # a new version (saved elsewhere too) shows its own value
        on_change=guarded(_save_split),
        args=(ctx, saved, f"{key}_split_large_{saved.version}"),
        help="Saved to the connection (also in its advanced settings): <name> (1 of 2), <name> (2 of 2)…",
    )


def _save_split(ctx: AppContext, saved: RosterConnection, key: str) -> None:
    save_options(ctx, saved, split_large=bool(st.session_state[key]))


def _safe(sourced_id: str) -> str:
    """A sourcedId as part of a widget key (any text may be one; a key's CSS class must stay plain)."""
    return "".join(c if c.isalnum() or c in "-_" else f"_{ord(c):x}" for c in sourced_id)
