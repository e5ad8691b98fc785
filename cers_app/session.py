"""What one browser session keeps of a district's data (``st.session_state``, never shared).

Schools and section groups are kept per connection, its settings and its group options;
what the session learnt about the provider (how it reads a school), what it read already
(the snapshot that later reads ask only for changes) and its access token are kept per
connection and settings, so another school, or a refresh, costs only what changed. Nothing
here is keyed or held by the secret.
"""

from __future__ import annotations

from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import streamlit as st

from cers_app.progress import LoadProgress
from cers_core import GroupExport, ProviderCapabilities, Roster
from cers_core.http.oauth import TokenCache
from cers_core.oneroster.snapshot import RosterSnapshot

__all__ = ["SessionData", "session_data"]

_STATE_KEY = "cers_data"


@dataclass(slots=True)
class SessionData:
    """One browser session's district data."""

    schools: dict[tuple[Any, ...], pl.DataFrame] = field(default_factory=dict)
    exports: OrderedDict[tuple[Any, ...], GroupExport] = field(default_factory=OrderedDict)
    pending: dict[tuple[Any, ...], tuple[Future[GroupExport], LoadProgress]] = field(default_factory=dict)
    capabilities: dict[tuple[int, str], ProviderCapabilities] = field(default_factory=dict)
    snapshots: dict[tuple[int, str], RosterSnapshot] = field(default_factory=dict)
    tokens: dict[tuple[int, str], TokenCache] = field(default_factory=dict)
    example_rosters: dict[str, Roster] = field(default_factory=dict)


def session_data() -> SessionData:
    """This browser session's data, made on first use."""
    data = st.session_state.get(_STATE_KEY)
    if not isinstance(data, SessionData):  # a new session, or this module was reloaded after an edit
        data = st.session_state[_STATE_KEY] = SessionData()
    return data
