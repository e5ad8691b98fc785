"""Reading a district's schools and section groups for a page, with progress shown while it runs.

A roster load runs on a worker thread (a process resource), so the page can draw its progress
meanwhile; the result is kept in the browser session (:mod:`cers_app.session`) by connection,
its version (which any save changes, the secret included), schools and day, so going back to a
school costs nothing, and an edited connection is never read with what the old one cached.

A OneRoster CSV bundle connection reads a ``BundleInput``: the bundle on the server, or the zip
uploaded in this session; what is kept for it is kept by the bundle's ``stamp`` too, so a bundle
the nightly job refreshed, or another upload, is read afresh.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl
import streamlit as st

from cers_app.context import AppContext
from cers_app.progress import LoadProgress
from cers_app.session import session_data
from cers_core import (
    ExportContext,
    FetchProgress,
    GroupExport,
    ProviderCapabilities,
    export_from_bundle,
    export_section_groups,
    list_bundle_schools,
    list_schools,
)
from cers_core.http.oauth import TokenCache
from cers_core.http.retry import RetryPolicy
from cers_core.http.sync import run_sync
from cers_core.oneroster.client import OneRosterClient
from cers_core.oneroster.fetch import fetch_roster
from cers_core.oneroster.snapshot import RosterSnapshot
from cers_core.oneroster_csv import BundleSource
from cers_core.roster import Roster
from cers_core.settings import OneRosterSettings
from cers_core.store import RosterConnection, SavedBundleConnection, SavedConnection

__all__ = [
    "QUICK_CHECK",
    "BundleInput",
    "fetch_school_roster",
    "load_bundle_schools",
    "load_schools",
    "load_section_groups",
]

# Section groups kept per browser session: a district-wide export can be large.
_KEPT_EXPORTS = 4
_POLL_SECONDS = 0.2
# A person waits for "Test connection" and the school list: a few quick retries, then the answer
# (roster loads keep the engine's patient defaults: a busy SIS may ask them to wait minutes).
QUICK_CHECK = RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=2.0, max_total_wait=5.0)


@st.cache_resource(show_spinner=False)
def _workers() -> ThreadPoolExecutor:
    """Threads that run roster loads, so a page can show progress while one runs."""
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="cers-export")


@dataclass(frozen=True, slots=True)
class BundleInput:
    """The OneRoster CSV bundle a connection reads now: a folder or zip on the server (``path``),
    or a zip uploaded in this browser session (``data``, named ``label``)."""

    label: str
    """How a person knows it: the path on the server, or the uploaded file's name."""
    stamp: Hashable
    """Changes when the bundle does (a nightly refresh, another upload): what is kept is kept by it."""
    path: Path | None = None
    data: bytes | None = field(default=None, repr=False)

    def source(self) -> BundleSource:
        """What the reader reads: the path, or the upload's bytes, a file of their own for each read."""
        if self.path is not None:
            return self.path
        uploaded = io.BytesIO(self.data or b"")
        uploaded.name = self.label  # the reader names the bundle by it in its messages
        return uploaded


def _export_context(
    saved: SavedConnection,
    on_progress: Callable[[FetchProgress], None] | None = None,
    *,
    retry: RetryPolicy | None = None,
) -> ExportContext:
    """What this session learnt about how the provider reads a school, what it read already (so
    another school of a district read before, or a refresh, asks the provider only for what
    changed) and its access token, for this version of the connection; with progress reporting
    for a load the analyst waits on."""
    key = (saved.id, saved.version)
    data = session_data()
    capabilities = data.capabilities.setdefault(key, ProviderCapabilities())
    snapshot = data.snapshots.setdefault(key, RosterSnapshot())
    token = data.tokens.setdefault(key, TokenCache())
    return ExportContext(
        on_progress=on_progress, capabilities=capabilities, snapshot=snapshot, token_cache=token, retry=retry
    )


def load_schools(ctx: AppContext, saved: SavedConnection) -> pl.DataFrame:
    """The district's schools for a connection, fetched once per browser session and connection version."""
    key = (saved.id, saved.version)
    data = session_data()
    if key not in data.schools:
        # With the session's token and snapshot: the first school's preview then starts with the
        # school's own rosters, instead of a token and the school list first (two round trips).
        context = _export_context(saved, retry=QUICK_CHECK)
        data.schools[key] = list_schools(ctx.store.settings(saved), options=saved.options, context=context)
    return data.schools[key]


def load_bundle_schools(saved: SavedBundleConnection, bundle: BundleInput) -> pl.DataFrame:
    """The bundle's schools for a CSV bundle connection, read once per browser session, connection
    version and bundle (only its manifest.csv and orgs.csv). Raises ``InvalidBundle`` when those
    cannot be used."""
    key = (saved.id, saved.version, bundle.stamp)
    data = session_data()
    if key not in data.schools:
        data.schools[key] = list_bundle_schools(bundle.source(), options=saved.options)
    return data.schools[key]


def load_section_groups(
    ctx: AppContext,
    saved: RosterConnection,
    *,
    schools: tuple[str, ...] | None,
    as_of: date,
    show_progress: Callable[[list[FetchProgress]], None],
    bundle: BundleInput | None = None,
) -> GroupExport:
    """A school's (or, with ``schools=None``, the district's) section groups, kept for this session:
    read from the connection's provider, or from ``bundle`` for a CSV bundle connection.

    The fetch runs on a worker thread; this call waits for it and hands the progress of each
    collection to ``show_progress`` on the script's own thread, where drawing is allowed. A
    rerun while it runs (a click elsewhere) picks the same fetch up again instead of starting
    another. Raises the engine's ``CersError`` when the load fails (``InvalidBundle`` for a
    bundle with problems to fix).
    """
    key = (saved.id, saved.version, schools, as_of, bundle.stamp if bundle is not None else None)
    data = session_data()
    if key in data.exports:
        data.exports.move_to_end(key)
        return data.exports[key]
    if key not in data.pending:
        progress = LoadProgress()
        wanted = list(schools) if schools is not None else None
        group_sets = [item.group_set for item in ctx.store.group_sets(saved.id)]  # its version says which
        if isinstance(saved, SavedBundleConnection):
            assert bundle is not None, "a CSV bundle connection reads a bundle"
            future = _workers().submit(
                export_from_bundle, bundle.source(), saved.options, schools=wanted, as_of=as_of, group_sets=group_sets
            )
        else:
            future = _workers().submit(
                export_section_groups,
                ctx.store.settings(saved),
                saved.options,
                schools=wanted,
                as_of=as_of,
                context=_export_context(saved, progress.record),
                group_sets=group_sets,
            )
        data.pending[key] = (future, progress)
    future, progress = data.pending[key]
    while not future.done():
        # Drawing may end this run (a rerun or a closed tab); the fetch goes on for the next run.
        show_progress(progress.snapshot())
        wait([future], timeout=_POLL_SECONDS)
    del data.pending[key]
    export = future.result()
    data.exports[key] = export
    while len(data.exports) > _KEPT_EXPORTS:
        data.exports.popitem(last=False)
    return export


def fetch_school_roster(settings: OneRosterSettings, school_id: str) -> Roster:
    """One school's rosters, read the way an export reads them (for the example group name)."""

    async def work() -> Roster:
        async with OneRosterClient(settings, retry=QUICK_CHECK) as client:
            return await fetch_roster(client, school_ids=[school_id])

    return run_sync(work())
