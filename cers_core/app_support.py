"""What every page of the Streamlit app needs and that is not drawing: set-up, forms, loading.

``setup()`` is the one idempotent set-up each page calls first, so a page works when opened
directly by its URL: it opens the store, starts the embedded demo provider once per process,
and puts this browser session's defaults in place. The rest keeps pages thin: the connection
form's values to and from the store, a test of a connection, and loading schools and section
groups with visible progress.

What is cached where, and why:

- the demo provider and the worker threads are process resources (``st.cache_resource``):
  they hold no district data;
- schools and section groups are kept in this browser session only (``st.session_state``),
  keyed by connection id, ``settings.fingerprint()`` and a hash of the group options, never
  by the secret, so another session, or the same connection after an edit, never sees them.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import polars as pl
import streamlit as st
from pydantic import ValidationError
from streamlit.delta_generator import DeltaGenerator

from cers_core import (
    ExportContext,
    FetchProgress,
    GroupExport,
    ProviderCapabilities,
    Roster,
    example_group_name,
    export_section_groups,
    list_schools,
)
from cers_core.demo import DemoServer
from cers_core.errors import CersError
from cers_core.export import run_sync
from cers_core.oneroster.auth import TokenCache
from cers_core.oneroster.client import OneRosterClient
from cers_core.oneroster.fetch import fetch_roster
from cers_core.oneroster.retry import RetryPolicy
from cers_core.oneroster.snapshot import RosterSnapshot
from cers_core.settings import (
    DEFAULT_SCOPE,
    ClassTypes,
    GroupOptions,
    OneRosterSettings,
)
from cers_core.store import (
    CERS_APP_ID,
    ConnectionInvalid,
    DownloadRecord,
    KeySource,
    SavedConnection,
    Store,
    StoreError,
    field_messages,
    resolve_secret_keys,
)

__all__ = [
    "DEMO_CONNECTION_NAME",
    "FORM_KEYS",
    "AppContext",
    "LoadProgress",
    "ask_first_button",
    "create_demo_connection",
    "data_folder",
    "download_log_frame",
    "example_name",
    "export_summary",
    "fetch_school_roster",
    "find_schools",
    "form_errors",
    "form_settings",
    "group_options_from_form",
    "group_summary",
    "guarded",
    "is_demo",
    "load_form",
    "load_schools",
    "load_section_groups",
    "log_download",
    "page_of",
    "paged_grid",
    "problem_report",
    "progress_summary",
    "rejection_reasons",
    "save_form",
    "setup",
    "test_connection",
    "token_host_note",
]

DATA_DIR_ENV = "CERS_DATA_DIR"
SECRET_KEY_ENV = "CERS_SECRET_KEY"
DEMO_ENV = "CERS_DEMO"
APP_DIR = Path(__file__).resolve().parent.parent
DEMO_CONNECTION_NAME = "Demo district"
# Section groups kept per browser session: a district-wide export can be large.
_KEPT_EXPORTS = 4
_POLL_SECONDS = 0.2
# A person waits for "Test connection" and the school list: a few quick retries, then the answer
# (roster loads keep the engine's patient defaults: a busy SIS may ask them to wait minutes).
_QUICK_CHECK = RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=2.0, max_total_wait=5.0)

# The connection form's widget keys, by the field they edit (settings, options, or the name).
FORM_KEYS: dict[str, str] = {
    name: f"conn_{name}"
    for name in (
        "name",
        "client_id",
        "client_secret",
        "base_url",
        "token_url",
        "scope",
        "page_size",
        "max_concurrency",
        "fields",
        "separator",
        "class_types",
        "primary_teachers_only",
        "subject_from_course",
        "ssid_types",
        "cds_map",
        "split_large",
    )
}
_PAGES = (
    ("app.py", "Home", ":material/home:"),
    ("pages/1_Applications.py", "Applications", ":material/apps:"),
    ("pages/2_CERS_Connections.py", "CERS Connections", ":material/link:"),
    ("pages/3_Section_Groups.py", "Section Groups", ":material/download:"),
    ("pages/4_Check_a_CSV_file.py", "Check a CSV file", ":material/fact_check:"),
)
_OPTION_FIELDS = frozenset(GroupOptions.model_fields)
_SETTINGS_FIELDS = ("client_id", "base_url", "token_url", "scope", "page_size", "max_concurrency")
_ERRORS_KEY = "conn_errors"
_PROBLEM_KEY = "cers_problem"


@dataclass(frozen=True, slots=True)
class AppContext:
    """What a page works with after ``setup()``."""

    store: Store
    key_source: KeySource
    demo: DemoServer | None


@dataclass(slots=True)
class LoadProgress:
    """Progress of one roster load, written by the fetch's worker thread and read by the page."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    collections: dict[str, FetchProgress] = field(default_factory=dict)

    def record(self, progress: FetchProgress) -> None:
        with self.lock:
            self.collections[progress.collection] = progress

    def snapshot(self) -> list[FetchProgress]:
        with self.lock:
            return list(self.collections.values())


@dataclass(slots=True)
class _SessionData:
    """One browser session's district data; lives in ``st.session_state``, never shared."""

    schools: dict[tuple[Any, ...], pl.DataFrame] = field(default_factory=dict)
    exports: OrderedDict[tuple[Any, ...], GroupExport] = field(default_factory=OrderedDict)
    pending: dict[tuple[Any, ...], tuple[Future[GroupExport], LoadProgress]] = field(default_factory=dict)
    capabilities: dict[tuple[int, str], ProviderCapabilities] = field(default_factory=dict)
    snapshots: dict[tuple[int, str], RosterSnapshot] = field(default_factory=dict)
    tokens: dict[tuple[int, str], TokenCache] = field(default_factory=dict)
    example_rosters: dict[str, Roster] = field(default_factory=dict)


# -- set-up -------------------------------------------------------------------------------------


def data_folder() -> Path:
    """``CERS_DATA_DIR``, else ``.cers/`` beside ``app.py``."""
    configured = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(configured).expanduser() if configured else APP_DIR / ".cers"


def setup(page_title: str) -> AppContext:
    """The set-up every page calls first; safe to call on every run of every page.

    On a store that cannot be opened (wrong key, damaged file) it shows what to do and stops
    the page, so no page ever runs on a half-opened store.
    """
    st.set_page_config(page_title=f"{page_title} · CERS Section Groups", page_icon=":material/groups:", layout="wide")
    folder = data_folder()
    try:
        keys = resolve_secret_keys(folder, environment=os.environ.get(SECRET_KEY_ENV), secrets=_secret_from_streamlit())
        store = Store.open(folder, keys=keys.keys)
        if len(keys.keys) > 1:
            _rotate_once(str(folder), store)
    except StoreError as error:
        st.error(f"**The app's saved settings cannot be opened.** {error}", icon=":material/lock:")
        st.stop()
    demo = _demo_provider() if os.environ.get(DEMO_ENV, "on").strip().lower() not in {"off", "0", "false"} else None
    if demo is not None:
        _follow_demo_port(store, demo)
    st.session_state.setdefault(_ERRORS_KEY, {})
    problem = st.session_state.pop(_PROBLEM_KEY, None)
    if problem:
        st.error(problem, icon=":material/error:")
    with st.sidebar:
        # Our own links: file-based pages would otherwise list the home page as "app".
        for page, label, icon in _PAGES:
            st.page_link(page, label=label, icon=icon)
    return AppContext(store=store, key_source=keys.source, demo=demo)


def guarded(callback: Callable[..., None]) -> Callable[..., None]:
    """A widget callback whose ``CersError`` becomes a message at the top of the page.

    Callbacks run before the page is drawn; an error there (a connection deleted in another
    window, a data file busy for too long) would otherwise end the run with Streamlit's
    generic error instead of saying what happened.
    """

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            callback(*args, **kwargs)
        except CersError as error:
            st.session_state[_PROBLEM_KEY] = str(error)

    return run


def _secret_from_streamlit() -> str | None:
    try:
        return str(st.secrets["cers"]["secret_key"])
    except (KeyError, FileNotFoundError, st.errors.StreamlitSecretNotFoundError):
        return None


@st.cache_resource(show_spinner=False)
def _rotate_once(folder: str, _store: Store) -> int:
    """Re-encrypt with the first key once per process when several keys are configured."""
    return _store.rotate()


@st.cache_resource(show_spinner="Starting the demo district…")
def _demo_provider() -> DemoServer:
    """One demo OneRoster provider per process, on a loopback port; its data is made up."""
    return DemoServer().start()


@st.cache_resource(show_spinner=False)
def _workers() -> ThreadPoolExecutor:
    """Threads that run roster loads, so a page can show progress while one runs."""
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="cers-export")


def _is_demo(saved: SavedConnection, demo: DemoServer) -> bool:
    return saved.name == DEMO_CONNECTION_NAME and saved.public.get("client_id") == demo.client_id


def is_demo(ctx: AppContext, saved: SavedConnection) -> bool:
    """Whether a saved connection is the one "Try the demo district" made (its credentials may be shown)."""
    return ctx.demo is not None and _is_demo(saved, ctx.demo)


def _follow_demo_port(store: Store, demo: DemoServer) -> None:
    """Point the saved demo connection at this process's demo provider (its port changes per start)."""
    for saved in store.connections():
        moved = (saved.public.get("base_url"), saved.public.get("token_url")) != (demo.base_url, demo.token_url)
        if moved and _is_demo(saved, demo):
            store.save_connection(
                connection_id=saved.id,
                name=saved.name,
                settings={**saved.public, "base_url": demo.base_url, "token_url": demo.token_url},
                client_secret=demo.client_secret,
                options=saved.options,
            )


def create_demo_connection(ctx: AppContext) -> SavedConnection:
    """Add ``CERS_int`` and a ready connection to the embedded demo district (or return the one there),
    with a CERS import connection to the demo's fake import service, so that sending works too."""
    if ctx.demo is None:
        raise CersError("The demo district is turned off in this deployment.")
    ctx.store.add_application(CERS_APP_ID)
    from cers_core.app_cers import create_demo_import_connection  # it builds on this module

    create_demo_import_connection(ctx)
    for saved in ctx.store.connections():
        if _is_demo(saved, ctx.demo):
            return saved
    return ctx.store.save_connection(
        name=DEMO_CONNECTION_NAME,
        settings={"base_url": ctx.demo.base_url, "token_url": ctx.demo.token_url, "client_id": ctx.demo.client_id},
        client_secret=ctx.demo.client_secret,
        options=GroupOptions(),
    )


# -- the connection form ------------------------------------------------------------------------


def load_form(saved: SavedConnection | None) -> None:
    """Fill the form's widgets from a saved connection (or defaults); the secret field stays blank."""
    public: Mapping[str, Any] = saved.public if saved else {}
    options = saved.options if saved else GroupOptions()
    values: dict[str, Any] = {
        "name": saved.name if saved else "",
        "client_id": public.get("client_id", ""),
        "client_secret": "",
        "base_url": public.get("base_url", ""),
        "token_url": public.get("token_url", ""),
        "scope": public.get("scope", DEFAULT_SCOPE),
        "page_size": int(public.get("page_size", 1000)),
        "max_concurrency": int(public.get("max_concurrency", 4)),
        "fields": list(options.fields),
        "separator": options.separator,
        "class_types": options.class_types,
        "primary_teachers_only": options.primary_teachers_only,
        "subject_from_course": options.subject_from_course,
        "ssid_types": ", ".join(options.ssid_types),
        "cds_map": "\n".join(f"{school} = {cds}" for school, cds in options.cds_map.items()),
        "split_large": options.split_large,
    }
    for name, value in values.items():
        st.session_state[FORM_KEYS[name]] = value
    st.session_state[_ERRORS_KEY] = {}


def _form(name: str) -> Any:
    return st.session_state.get(FORM_KEYS[name])


def form_errors() -> dict[str, str]:
    """Messages to show beside the form's fields, by field name, from the last Save or Test."""
    return dict(st.session_state.get(_ERRORS_KEY, {}))


def _parse_cds_map(text: str) -> dict[str, str]:
    """``sourcedId = CDS`` per line (``:`` or a comma also separate); blank lines are skipped."""
    mapping: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        for separator in ("=", ":", ","):
            if separator in line:
                school, cds = line.split(separator, 1)
                mapping[school.strip()] = cds.strip()
                break
        else:
            raise ValueError(f"Line {number}: write the school's sourcedId, then =, then its 14-digit CDS code.")
    return mapping


def group_options_from_form() -> GroupOptions:
    """The form's "Include in Group Name" and advanced choices as ``GroupOptions``.

    Raises ``ConnectionInvalid`` whose ``field_errors`` name the fields to fix.
    """
    try:
        cds_map = _parse_cds_map(_form("cds_map") or "")
    except ValueError as error:
        raise ConnectionInvalid({"cds_map": str(error)}) from None
    try:
        return GroupOptions(
            fields=tuple(_form("fields") or ()),
            separator=_form("separator") or "",
            class_types=_form("class_types") or ClassTypes.all,
            primary_teachers_only=bool(_form("primary_teachers_only")),
            subject_from_course=bool(_form("subject_from_course")),
            ssid_types=tuple((_form("ssid_types") or "").split(",")),
            cds_map=cds_map,
            split_large=bool(_form("split_large")),
        )
    except ValidationError as error:
        raise ConnectionInvalid(field_messages(error)) from None


def _public_from_form() -> dict[str, Any]:
    return {name: _form(name) for name in _SETTINGS_FIELDS}


def token_host_note() -> str | None:
    """A note when the form's Token URL is on another host than its Base URL: allowed, but worth a look."""
    base, token = (urlsplit(str(_form(name) or "").strip()).hostname for name in ("base_url", "token_url"))
    if base and token and base != token:
        return (
            f"The Token URL is on {token}, not on the Base URL's host {base}. That is allowed; check it is your SIS's."
        )
    return None


def form_settings(ctx: AppContext, connection_id: int | None) -> OneRosterSettings:
    """The form's connection settings; a blank secret when editing means the saved one.

    Raises ``ConnectionInvalid`` with the fields to fix.
    """
    secret: Any = _form("client_secret") or ""
    if not secret.strip() and connection_id is not None:
        secret = ctx.store.settings(ctx.store.connection(connection_id)).client_secret
    try:
        return OneRosterSettings.model_validate({**_public_from_form(), "client_secret": secret})
    except ValidationError as error:
        raise ConnectionInvalid(field_messages(error)) from None


def save_form(ctx: AppContext, connection_id: int | None) -> SavedConnection | None:
    """Validate every field and save; on a problem, keep every field's message for the form and save nothing."""
    fields = {"name": _form("name") or "", "settings": _public_from_form(), "client_secret": _form("client_secret")}
    try:
        options = group_options_from_form()
        saved = ctx.store.save_connection(connection_id=connection_id, options=options, **fields)
    except ConnectionInvalid as invalid:
        errors = invalid.field_errors
        if not errors.keys().isdisjoint(_OPTION_FIELDS):
            # The options failed first: also say what is wrong with the connection fields.
            errors = {**ctx.store.check_connection(connection_id=connection_id, **fields), **errors}
        st.session_state[_ERRORS_KEY] = errors
        return None
    st.session_state[_ERRORS_KEY] = {}
    st.session_state[FORM_KEYS["client_secret"]] = ""
    return saved


def test_connection(ctx: AppContext, connection_id: int | None) -> int:
    """Get a token and count the district's schools with the form's settings.

    When it works, one school's rosters are read too, so that the example group name comes
    from the district's own data. Raises ``ConnectionInvalid`` for fields to fix, and a
    ``OneRosterError`` (its message is for the analyst) when the provider says no.
    """
    try:
        settings = form_settings(ctx, connection_id)
    except ConnectionInvalid as invalid:
        st.session_state[_ERRORS_KEY] = invalid.field_errors
        raise
    st.session_state[_ERRORS_KEY] = {}
    schools = list_schools(settings, context=ExportContext(retry=_QUICK_CHECK))
    with_cds = schools.filter(pl.col("cds").is_not_null())
    if with_cds.height:
        try:
            roster = fetch_school_roster(settings, with_cds["sourced_id"][0])
        except CersError:
            pass  # the connection works; the example just stays on the sample section
        else:
            _session_data().example_rosters[settings.fingerprint()] = roster
    return schools.height


def fetch_school_roster(settings: OneRosterSettings, school_id: str) -> Roster:
    """One school's rosters, read the way an export reads them (for the example group name)."""

    async def work() -> Roster:
        async with OneRosterClient(settings, retry=_QUICK_CHECK) as client:
            return await fetch_roster(client, school_ids=[school_id])

    return run_sync(work())


def example_name(ctx: AppContext, connection_id: int | None) -> tuple[str, bool]:
    """The group name the form's choices give, and whether it comes from the district's data.

    From the rosters read by the last successful "Test connection" of these settings, else
    from the built-in sample. Raises ``ConnectionInvalid`` when the choices are not usable.
    """
    options = group_options_from_form()
    try:
        fingerprint = form_settings(ctx, connection_id).fingerprint()
    except CersError:  # fields still being typed, or the connection is gone: the sample will do
        fingerprint = ""
    roster = _session_data().example_rosters.get(fingerprint)
    if roster is not None:
        name = example_group_name(options, roster, as_of=date.today())
        if name:
            return name, True
    return example_group_name(options), False


# -- schools and section groups -------------------------------------------------------------------


def _session_data() -> _SessionData:
    data = st.session_state.get("cers_data")
    if not isinstance(data, _SessionData):  # a new session, or this module was reloaded after an edit
        data = st.session_state["cers_data"] = _SessionData()
    return data


def _options_hash(options: GroupOptions) -> str:
    return hashlib.sha256(options.model_dump_json().encode()).hexdigest()[:16]


def _export_context(
    settings: OneRosterSettings,
    connection_id: int,
    on_progress: Callable[[FetchProgress], None] | None = None,
    *,
    retry: RetryPolicy | None = None,
) -> ExportContext:
    """What this session learnt about how the provider reads a school, what it read already (so
    another school of a district read before, or a refresh, asks the provider only for what
    changed) and its access token; with progress reporting for a load the analyst waits on."""
    key = (connection_id, settings.fingerprint())
    data = _session_data()
    capabilities = data.capabilities.setdefault(key, ProviderCapabilities())
    snapshot = data.snapshots.setdefault(key, RosterSnapshot())
    token = data.tokens.setdefault(key, TokenCache())
    return ExportContext(
        on_progress=on_progress, capabilities=capabilities, snapshot=snapshot, token_cache=token, retry=retry
    )


def load_schools(ctx: AppContext, saved: SavedConnection) -> pl.DataFrame:
    """The district's schools for a connection, fetched once per browser session and settings."""
    settings = ctx.store.settings(saved)
    key = (saved.id, settings.fingerprint(), _options_hash(saved.options))
    data = _session_data()
    if key not in data.schools:
        # With the session's token and snapshot: the first school's preview then starts with the
        # school's own rosters, instead of a token and the school list first (two round trips).
        context = _export_context(settings, saved.id, retry=_QUICK_CHECK)
        data.schools[key] = list_schools(settings, options=saved.options, context=context)
    return data.schools[key]


def find_schools(schools: pl.DataFrame, query: str) -> pl.DataFrame:
    """Schools whose name or CDS code holds every word of ``query`` (case ignored)."""
    found = schools
    for word in query.split():
        needle = word.casefold()
        found = found.filter(
            pl.col("name").str.to_lowercase().str.contains(needle, literal=True)
            | pl.col("cds").fill_null("").str.contains(needle, literal=True)
        )
    return found


def load_section_groups(
    ctx: AppContext,
    saved: SavedConnection,
    *,
    schools: tuple[str, ...] | None,
    as_of: date,
    show_progress: Callable[[list[FetchProgress]], None],
) -> GroupExport:
    """A school's (or, with ``schools=None``, the district's) section groups, kept for this session.

    The fetch runs on a worker thread; this call waits for it and hands the progress of each
    collection to ``show_progress`` on the script's own thread, where drawing is allowed. A
    rerun while it runs (a click elsewhere) picks the same fetch up again instead of starting
    another. Raises the engine's ``CersError`` when the load fails.
    """
    settings = ctx.store.settings(saved)
    key = (saved.id, settings.fingerprint(), _options_hash(saved.options), schools, as_of)
    data = _session_data()
    if key in data.exports:
        data.exports.move_to_end(key)
        return data.exports[key]
    if key not in data.pending:
        progress = LoadProgress()
        future = _workers().submit(
            export_section_groups,
            settings,
            saved.options,
            schools=list(schools) if schools is not None else None,
            as_of=as_of,
            context=_export_context(settings, saved.id, progress.record),
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


def progress_summary(collections: list[FetchProgress]) -> tuple[float, str]:
    """A fraction done and one line saying what was read so far, for a progress bar."""
    if not collections:
        return 0.0, "Getting a token and the first pages…"
    parts = []
    for item in collections:
        of_total = f" of {item.total:,}" if item.total is not None else ""
        parts.append(f"{item.collection}: {item.records:,}{of_total} records, {item.pages:,} pages")
    known = [item for item in collections if item.total]
    fraction = sum(min(i.records, i.total or 0) for i in known) / sum(i.total or 0 for i in known) if known else 0.0
    return min(fraction, 1.0), " · ".join(parts)


def export_summary(export: GroupExport) -> dict[str, int]:
    """The four numbers shown above a preview."""

    def distinct(column: str) -> int:  # the file writes "" where a row has no such member
        values = export.rows[column]
        return values.filter(values.is_not_null() & (values != "")).n_unique()

    return {
        "Groups": export.groups.height,
        "Teachers": distinct("group_user_login"),
        "Students": distinct("student_ssid"),
        "Problems": export.problems.height,
    }


def group_summary(export: GroupExport) -> pl.DataFrame:
    """Per group: name, subject, teachers, students (and the school, for a district file)."""
    columns = {"group_name": "Group", "subject_code": "Subject", "teachers": "Teachers", "students": "Students"}
    if export.groups["school_name"].n_unique() > 1:
        columns = {"school_name": "School", **columns}
    return export.groups.select(pl.col(name).alias(label) for name, label in columns.items())


def problem_report(export: GroupExport) -> pl.DataFrame:
    """The problem report with what to read first on the left: severity, the problem, who and where."""
    columns = {
        "severity": "Severity",
        "message": "Problem",
        "group_name": "Group",
        "person": "Person",
        "local_id": "Local ID",
        "school": "School",
        "section": "Section",
        "code": "Code",
        "class_id": "Section sourcedId",
        "user_id": "User sourcedId",
    }
    return export.problems.select(pl.col(name).alias(label) for name, label in columns.items())


def rejection_reasons(export: GroupExport, *, limit: int = 5) -> str:
    """Why CERS would reject a file, as a short Markdown list.

    The report's errors say it in the roster's terms (which group, what to do); the
    validator's findings are the fallback when the report has none.
    """
    errors = export.problems.filter(pl.col("severity") == "error")
    reasons = [
        f"{group}: {message}" if group else message
        for group, message in errors.select("group_name", "message").iter_rows()
    ] or [f"{finding.message} {finding.fix}" for finding in export.validation.errors]
    distinct = list(dict.fromkeys(reasons))
    shown = [f"- {reason}" for reason in distinct[:limit]]
    more = len(distinct) - len(shown)
    return "\n".join(shown + ([f"- … and {more:,} more in the problem report."] if more > 0 else []))


def log_download(ctx: AppContext, saved: SavedConnection, school: str, export: GroupExport) -> None:
    """Write the download log (no student data: counts and the file's SHA-256)."""
    ctx.store.log_download(
        connection=saved,
        school=school,
        rows=export.rows.height,
        sha256=hashlib.sha256(export.csv_bytes).hexdigest(),
    )


def download_log_frame(records: list[DownloadRecord]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "When (UTC)": [r.at.strftime("%Y-%m-%d %H:%M") for r in records],
            "Connection": [r.connection_name for r in records],
            "School": [r.school for r in records],
            "Rows": [r.rows for r in records],
            "SHA-256": [r.sha256 for r in records],
        }
    )


GRID_ROWS = 100  # rows a grid shows (and sends to the browser) at a time


def page_of(frame: pl.DataFrame, page: int, size: int) -> pl.DataFrame:
    """Rows of one page (1-based) of a frame, so a page never sends the browser more than it shows."""
    return frame.slice((max(page, 1) - 1) * size, size)


def paged_grid(frame: pl.DataFrame, key: str, noun: str) -> None:
    """One page of a frame, with a page picker when there is more than one: never more rows to
    the browser than shown, and every row within reach."""
    pages = max(1, -(-frame.height // GRID_ROWS))
    page = 1
    if pages > 1:
        page = int(st.number_input(f"Page (of {pages})", 1, pages, key=key, width=160))
    first = (page - 1) * GRID_ROWS
    st.dataframe(page_of(frame, page, GRID_ROWS), hide_index=True)
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
