"""The School Selection table: a school is chosen by its sourcedId, never by its row.

A search narrows the list; the table is made anew for each list (its key names the list and the
school chosen), so a row ticked in one list is never read against another: typing in the search
cannot load another school. The chosen school stays ticked wherever it is in the list, and stays
chosen (with a note saying so) while the search hides it.
"""

from __future__ import annotations

import hashlib

import polars as pl
import streamlit as st

from cers_app.frames import find_schools
from cers_app.markup import escape_markdown
from cers_core.wording import count

__all__ = ["TABLE_KEY", "choose_school"]

TABLE_KEY = "sg_schools_table"
"""Where the session keeps the key of the table drawn last (tests tick its rows through it)."""
_ROW_HEIGHT = 35


def choose_school(schools: pl.DataFrame, *, chosen: str | None, query: str) -> str | None:
    """Draw the table of the schools ``query`` finds; return the school chosen now (a sourcedId, or
    None): the one ticked in this table, else ``chosen`` when the search hides it."""
    shown = find_schools(schools, query)
    ids = shown["sourced_id"].to_list()
    where = ids.index(chosen) if chosen in ids else None
    digest = hashlib.sha256(repr((ids, chosen)).encode()).hexdigest()[:12]
    key = st.session_state[TABLE_KEY] = f"sg_schools_{digest}"
    st.caption(f"{shown.height:,} of {count(schools.height, 'school')}. Choose one in the table.")
    with st.container(key="sg_schools"):
        event = st.dataframe(
            shown.select(School="name", **{"CDS code": "cds", "sourcedId": "sourced_id"}),
            key=key,
            on_select="rerun",
            selection_mode="single-row",
            selection_default={"selection": {"rows": [where]}} if where is not None else None,
            hide_index=True,
            placeholder="none",
            height=min(400, 38 + _ROW_HEIGHT * max(shown.height, 1)),
            column_config={
                "School": st.column_config.TextColumn(width="large"),
                "CDS code": st.column_config.TextColumn(width="medium"),
                "sourcedId": st.column_config.TextColumn(width="medium"),
            },
        )
    rows = event.selection.rows
    if rows and rows[0] < len(ids):
        return ids[rows[0]]
    if where is not None:
        return None  # the chosen school was unticked
    if chosen is not None and chosen in schools["sourced_id"]:
        name = schools.filter(pl.col("sourced_id") == chosen)["name"][0]
        st.info(
            f"{escape_markdown(name)} stays chosen, although the search hides it; clear the search to see it "
            "in the list.",
            icon=":material/visibility_off:",
        )
    return chosen
