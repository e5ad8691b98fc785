"""What the Section Groups page shows — the connection, one school or the whole district, the
school and the day — kept in the page's URL, so that a reload, the browser's back and forward
buttons and a shared link show the same view.

The widgets hold the view while the page runs; :func:`restore_view` sets them, before they are
drawn, from the URL when the URL is new to this session (a reload, back or forward, a link) or,
when the URL says nothing (the page opened from the sidebar), from the view the session had
when it left the page. :func:`remember_view` writes them back to the URL after they are drawn.
The school is kept by its sourcedId, never by its row in a list.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date

import streamlit as st

__all__ = ["DISTRICT", "KEYS", "ONE_SCHOOL", "GroupsView", "remember_view", "restore_view"]

ONE_SCHOOL, DISTRICT = "One school", "Whole district"
KEYS = {"connection": "sg_connection", "mode": "sg_scope", "school": "sg_school", "day": "sg_as_of"}
"""The session-state keys of the view's parts (the first, second and fourth are widgets')."""
_SEEN = "sg_url_seen"  # the URL's parameters as this session last wrote or read them
_LAST = "sg_view"  # the view when the page last ran in this session


@dataclass(frozen=True, slots=True)
class GroupsView:
    """One view of the Section Groups page, as the URL's query parameters say it.

    >>> view = GroupsView.from_params({"connection": "3", "mode": "school", "school": "org-1", "day": "2026-11-28"})
    >>> view
    GroupsView(connection=3, district=False, school='org-1', day=datetime.date(2026, 11, 28))
    >>> view.params()
    {'connection': '3', 'mode': 'school', 'school': 'org-1', 'day': '2026-11-28'}

    A part the URL leaves out, or gives in a form that cannot be read, is taken from ``before``
    (the view the session had), so a link that names only a connection keeps the day (and the school, if it is the same
    connection):

    >>> GroupsView.from_params({"day": "yesterday"}, before=view)
    GroupsView(connection=3, district=False, school='org-1', day=datetime.date(2026, 11, 28))
    >>> GroupsView.from_params({"connection": "7"}, before=view)  # another connection: not its school
    GroupsView(connection=7, district=False, school=None, day=datetime.date(2026, 11, 28))
    >>> GroupsView.from_params({"mode": "district", "school": ""}, before=view)
    GroupsView(connection=3, district=True, school=None, day=datetime.date(2026, 11, 28))
    """

    connection: int | None = None
    district: bool = False
    school: str | None = None
    day: date | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, str], *, before: GroupsView | None = None) -> GroupsView:
        """The view a URL asks for, its missing or unreadable parts from ``before``."""
        before = before or cls()
        connection = params.get("connection", "")
        try:
            day: date | None = date.fromisoformat(params.get("day", ""))
        except ValueError:
            day = before.day
        mode = params.get("mode")
        chosen = int(connection) if connection.isascii() and connection.isdigit() else before.connection
        kept_school = before.school if chosen == before.connection else None  # a school of another connection
        return cls(
            connection=chosen,
            district=mode == "district" if mode in ("school", "district") else before.district,
            school=(params["school"] or None) if "school" in params else kept_school,
            day=day,
        )

    def params(self) -> dict[str, str]:
        """The URL's query parameters for this view (``school`` empty when none is chosen)."""
        values = {
            "connection": None if self.connection is None else str(self.connection),
            "mode": "district" if self.district else "school",
            "school": self.school or "",
            "day": None if self.day is None else self.day.isoformat(),
        }
        return {name: value for name, value in values.items() if value is not None}


def restore_view(connections: Collection[int]) -> None:
    """Before the page's widgets are drawn: set them from the URL when it is new to this session
    (its missing parts from the view the session left the page with), else keep them; then make
    each part usable (a connection that exists, a day)."""
    url = dict(st.query_params.to_dict())
    last = st.session_state.get(_LAST)
    last = last if isinstance(last, GroupsView) else None
    new = url != st.session_state.get(_SEEN)
    view = GroupsView.from_params(url, before=last) if new else last
    if view is not None:
        # A new URL sets every part; else only the parts Streamlit forgot (a widget's state goes
        # when another page runs).
        put = st.session_state.__setitem__ if new else st.session_state.setdefault
        if view.connection is not None:
            put(KEYS["connection"], view.connection)
        put(KEYS["mode"], DISTRICT if view.district else ONE_SCHOOL)
        put(KEYS["school"], view.school)
        put(KEYS["day"], view.day or date.today())
    if st.session_state.get(KEYS["connection"]) not in connections:
        st.session_state[KEYS["connection"]] = next(iter(connections))
    st.session_state.setdefault(KEYS["mode"], ONE_SCHOOL)
    st.session_state.setdefault(KEYS["day"], date.today())


def remember_view() -> None:
    """After the widgets are drawn: the view into the URL (one browser history entry per change)
    and into the session, for the next time the page opens without a URL of its own."""
    state = st.session_state
    view = GroupsView(
        connection=state.get(KEYS["connection"]),
        district=state.get(KEYS["mode"]) == DISTRICT,
        school=state.get(KEYS["school"]),
        day=state.get(KEYS["day"]),
    )
    params = view.params()
    if dict(st.query_params.to_dict()) != params:
        st.query_params.from_dict(params)
    state[_SEEN] = params
    state[_LAST] = view
