"""What one browser session keeps of a district's data (``st.session_state``, never shared).

Everything is kept per connection and its ``version``, which any save of the connection
changes, its secret and group options included: schools and section groups (also per schools
and day), what the session learnt about the provider (how it reads a school), what it read
already (the snapshot that later reads ask only for changes) and its access token. So another
school, or a refresh, costs only what changed, and an edited connection (a new secret too)
starts afresh instead of going on with the old token. Nothing here is keyed or held by the
secret: the version is a hash of the stored row, whose secret is encrypted.
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
    example_rosters: dict[tuple[int | None, str, str], Roster] = field(default_factory=dict)
    """The rosters "Test connection" read for the example group name, by connection id and version
    (None and "" for a connection not saved yet) and the form's settings' fingerprint."""


def session_data() -> SessionData:
    """This browser session's data, made on first use."""
    data = st.session_state.get(_STATE_KEY)
    if not isinstance(data, SessionData):  # a new session, or this module was reloaded after an edit
        data = st.session_state[_STATE_KEY] = SessionData()
    return data
