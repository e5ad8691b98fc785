"""The whole job, for the app and the command line: read rosters, build groups, write and check the file.

The rosters come from one of two sources, and everything after them is shared: the builder,
the writer and CERS's validator (``_file_of``).

- a OneRoster 1.2 provider (:func:`export_section_groups`): synchronous functions (the app and
  the CLI are) that run the async OneRoster client on an event loop of their own. A file is
  only ever returned complete: any failure to read the rosters raises a typed
  ``OneRosterError`` instead of yielding a partial file, and so does an export that runs past
  its deadline (``Limits.export_seconds`` of the egress);
- a OneRoster CSV bundle (:func:`export_from_bundle`): a zip or a folder, read and checked by
  ``cers_core.oneroster_csv``; a bundle with problems to fix raises ``InvalidBundle`` with
  every problem, and no file is made.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
import threading
import weakref
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from cers_core.errors import ProviderUnreachable
from cers_core.http.egress import Egress, current_egress
from cers_core.http.oauth import TokenCache
from cers_core.http.retry import RetryPolicy
from cers_core.http.sync import run_sync
from cers_core.http.together import together
from cers_core.oneroster.client import FetchProgress, OneRosterClient
from cers_core.oneroster.fetch import ProviderCapabilities, fetch_roster, fetch_schools, fetch_sessions
from cers_core.oneroster.snapshot import RosterSnapshot
from cers_core.settings import GroupOptions, OneRosterSettings
from cers_core.wording import count

if TYPE_CHECKING:  # and polars, the roster and the schools are imported where used: see _imports_meanwhile
    import polars as pl

    from cers_core.cers_csv import ValidationReport
    from cers_core.group_sets import GroupSet
    from cers_core.groups import SectionGroups
    from cers_core.oneroster_csv import BundleLimits, BundleReport, BundleSource
    from cers_core.roster import Roster

__all__ = [
    "GroupExport",
    "export_file_name",
    "export_from_bundle",
    "export_section_groups",
    "list_schools",
]


@dataclass(frozen=True, slots=True)
class ExportContext:
    """What an export needs besides the settings; all optional."""

    on_progress: Callable[[FetchProgress], None] | None = None
    capabilities: ProviderCapabilities | None = None
    snapshot: RosterSnapshot | None = None
    """Keep one per connection and browser session (or process) to re-read only what changed."""
    token_cache: TokenCache | None = None
    """Likewise, to reuse the connection's access token until it expires."""
    transport: httpx.AsyncBaseTransport | None = None
    retry: RetryPolicy | None = None
    egress: Egress | None = None
    """Where requests may go, their time-outs, the answer cap and the export's deadline; None: the
    process's (``cers_core.http.egress``)."""


def _client(settings: OneRosterSettings, context: ExportContext) -> OneRosterClient:
    return OneRosterClient(
        settings,
        retry=context.retry,
        transport=context.transport,
        on_progress=context.on_progress,
        egress=context.egress,
        snapshot=context.snapshot,
        token_cache=context.token_cache,
    )


T = TypeVar("T")


def _within_deadline(work: Coroutine[Any, Any, T], context: ExportContext) -> T:
    """Run ``work`` to completion, or raise ``ProviderUnreachable`` once the export's deadline has passed."""
    seconds = (context.egress or current_egress()).limits.export_seconds

    async def bounded() -> T:
        try:
            async with asyncio.timeout(seconds):
                return await work
        except TimeoutError:
            raise ProviderUnreachable(
                f"The rosters were not all read within the export's time limit ({seconds:,.0f} seconds); "
                "nothing was kept.",
                hint="The SIS may be very slow or stuck: try again later. For a very large district, raise the "
                "limit (--deadline, or CERS_EXPORT_DEADLINE).",
            ) from None

    return run_sync(bounded())


def list_schools(
    settings: OneRosterSettings, *, options: GroupOptions | None = None, context: ExportContext | None = None
) -> pl.DataFrame:
    """The district's schools: ``sourced_id``, ``name``, ``identifier``, ``cds`` (null when unusable)."""
    context = context or ExportContext()

    async def work() -> pl.DataFrame:
        async with _client(settings, context) as client:
            return await fetch_schools(client)

    district_schools = _within_deadline(work(), context)
    from cers_core.schools import school_table  # imported after the first request, as the answers came

    return school_table(district_schools, options or GroupOptions())


def export_file_name(cds: str | None, day: date) -> str:
    """``cers_section_groups_<CDS>_<YYYY-MM-DD>.csv``; ``district`` in place of the CDS for a district file."""
    return f"cers_section_groups_{cds or 'district'}_{day.isoformat()}.csv"


@dataclass(frozen=True, slots=True)
class GroupExport:
    """A finished export: the file, what is in it, and everything the analyst should know about it.

    ``rows`` are exactly the file's rows, in file order; ``groups`` has one row per group;
    ``problems`` is the report (errors first); ``validation`` is our validator's verdict on
    ``csv_bytes``, as CERS would judge them; ``enrolled`` and ``not_in_group`` say who will not
    see results (see ``cers_core.coverage``). ``read_from`` says where the rosters came from.
    """

    rows: pl.DataFrame
    groups: pl.DataFrame
    problems: pl.DataFrame
    csv_bytes: bytes
    validation: ValidationReport
    schools: pl.DataFrame
    as_of: date
    requests: int
    enrolled: pl.DataFrame
    not_in_group: pl.DataFrame
    bundle: BundleReport | None = None
    """For rosters read from a OneRoster CSV bundle, what its checks found (warnings only: a bundle
    with errors makes no export); None for rosters read from a provider, whose ``requests`` count."""

    @property
    def read_from(self) -> str:
        """Where the rosters came from, for a report: ``57 requests`` to a provider, or ``read from a
        OneRoster CSV bundle (1.2), 7 files`` (a bundle makes no request)."""
        if self.bundle is None:
            return count(self.requests, "request")
        return (
            f"read from a OneRoster CSV bundle ({self.bundle.oneroster_version}), "
            f"{count(len(self.bundle.files), 'file')}"
        )

    @property
    def has_errors(self) -> bool:
        """Something would make CERS reject the file, or a school could not be exported."""
        return bool((self.problems["severity"] == "error").any()) or not self.validation.accepted

    @property
    def accepted(self) -> bool:
        """CERS would accept this file as it is, and no school asked for was left out of it."""
        return not self.has_errors

    @property
    def schools_left_out(self) -> pl.DataFrame:
        """The schools left out of the file for want of a CDS code (``sourced_id``, ``name``):
        the file holds the others, which CERS may accept (``file_accepted``)."""
        left = self.problems.filter(self.problems["code"] == "school_without_cds")
        return left.select(sourced_id="school_id", name="school").unique("sourced_id", maintain_order=True)

    @property
    def file_accepted(self) -> bool:
        """CERS would accept the file as written (groups in it), whether or not a school was left out."""
        return self.validation.accepted and self.groups.height > 0

    def file_name(self, day: date | None = None) -> str:
        cds = self.schools["cds"][0] if self.schools.height == 1 else None
        return export_file_name(cds, day or self.as_of)


def export_section_groups(
    settings: OneRosterSettings,
    options: GroupOptions | None = None,
    *,
    schools: Sequence[str] | None = None,
    as_of: date | None = None,
    school_year: int | None = None,
    context: ExportContext | None = None,
    group_sets: Sequence[GroupSet] = (),
) -> GroupExport:
    """Export the section groups of ``schools`` (sourcedIds or CDS codes; None for the whole district);
    with ``group_sets``, those of each group set in one file (see ``cers_core.consolidate``)."""
    options = options or GroupOptions()
    context = context or ExportContext()
    day = as_of or date.today()

    async def work() -> tuple[Roster, pl.DataFrame, int]:
        async with _client(settings, context) as client:
            with _imports_meanwhile(_READERS + _FILE_MAKERS):
                return await read(client)

    async def read(client: OneRosterClient) -> tuple[Roster, pl.DataFrame, int]:
        # cers_core.schools (and polars) is imported where it is first used: after the first
        # request, or where an earlier read of this session has imported it already.
        if schools is None:  # the whole district: every collection at once, nothing to resolve first
            roster = await fetch_roster(client, capabilities=context.capabilities)
            from cers_core.schools import school_table

            return roster, school_table(roster.schools, options), client.requests_sent
        kept = context.snapshot.frame("/schools") if context.snapshot is not None else None
        if kept is not None:
            from cers_core.schools import resolve_schools, school_table

            # This session has the school list: resolve from it, and let the rosters' read ask
            # for the list's changes alongside everything else.
            ids = resolve_schools(school_table(kept, options), schools)
            roster = await fetch_roster(client, school_ids=ids, capabilities=context.capabilities)
            return roster, school_table(roster.schools, options), client.requests_sent
        # Schools and terms in one round trip: both are needed whichever schools are asked for.
        district_schools, sessions = await together(fetch_schools(client), fetch_sessions(client))
        from cers_core.schools import resolve_schools, school_table

        all_schools = school_table(district_schools, options)
        ids = resolve_schools(all_schools, schools)
        roster = await fetch_roster(
            client,
            school_ids=ids,
            capabilities=context.capabilities,
            schools=district_schools,
            sessions=sessions,
        )
        return roster, all_schools.filter(all_schools["sourced_id"].is_in(ids)), client.requests_sent

    roster, chosen, requests = _within_deadline(work(), context)
    made_as = (None if schools is None else tuple(schools), options.model_dump_json(), day, school_year,
               tuple(group_set.model_dump_json() for group_set in group_sets))  # fmt: skip
    if context.snapshot is not None and (same := _made_before(context.snapshot, made_as)) is not None:
        return dataclasses.replace(same, requests=requests)
    built, chosen = _groups(roster, chosen, options, group_sets, day=day, school_year=school_year)
    del roster  # only the groups matter past here: freeing a district's rosters lowers the export's peak memory
    made = _file_of(built, chosen, day=day, requests=requests)
    if context.snapshot is not None:
        with _LAST_MADE_LOCK:
            _LAST_MADE[context.snapshot] = (made_as, context.snapshot.changes, made)
    return made


def export_from_bundle(
    source: BundleSource,
    options: GroupOptions | None = None,
    *,
    schools: Sequence[str] | None = None,
    as_of: date | None = None,
    school_year: int | None = None,
    limits: BundleLimits | None = None,
    group_sets: Sequence[GroupSet] = (),
) -> GroupExport:
    """Export the section groups of ``schools`` (sourcedIds or CDS codes; None for the whole
    district) from a OneRoster 1.1 or 1.2 CSV bundle: a ``.zip`` path, a folder, zip bytes or an
    uploaded file. The same file, to the byte, as the same rosters read from a provider give;
    with ``group_sets``, those of each group set in one file, as for a provider's rosters.

    Raises ``InvalidBundle`` (its ``report`` lists every problem, with file, line and column) when
    the bundle cannot be used, and ``SettingsError`` for a school the bundle does not have.
    """
    from cers_core.oneroster_csv import list_bundle_schools, read_bundle
    from cers_core.schools import resolve_schools, school_table

    options = options or GroupOptions()
    day = as_of or date.today()
    with _imports_meanwhile(_FILE_MAKERS):
        if schools is None:
            read = read_bundle(source, limits=limits)
            chosen = school_table(read.roster.schools, options)
        else:  # resolved first from orgs.csv alone; then only these schools' rosters are kept
            all_schools = list_bundle_schools(source, options=options, limits=limits)
            ids = resolve_schools(all_schools, schools)
            chosen = all_schools.filter(all_schools["sourced_id"].is_in(ids))
            read = read_bundle(source, school_ids=ids, limits=limits)
    roster, report = read.roster, read.report
    del read
    built, chosen = _groups(roster, chosen, options, group_sets, day=day, school_year=school_year)
    del roster  # as for a provider's rosters: the groups are all that matter past here
    return _file_of(built, chosen, day=day, requests=0, bundle=report)


_READERS = ("anyio", "polars", "cers_core.oneroster.records", "cers_core.schools")
"""What reads a provider's answers into roster frames (the client imports it when the first answer
comes, and waits for this thread's import of it if that is still under way). anyio first: httpcore
imports it for the first connection, which then waits for it here rather than share the
interpreter with polars' import."""
_FILE_MAKERS = ("cers_core.groups", "cers_core.consolidate", "cers_core.cers_csv")
"""The file-making half: the builder, the writer, CERS's validator."""


@contextlib.contextmanager
def _imports_meanwhile(modules: tuple[str, ...]) -> Iterator[None]:
    """``modules`` imported on a thread of their own while the rosters are read: the first request
    (the token) does not wait for a third of a second of imports, and at real latency the imports
    cost no time at all (they run while the requests are on the wire). Entered once the client is
    open, just before its first request: Python runs one thread at a time, and what comes before
    that request (the TLS set-up above all) should not share it with these imports."""
    loading = threading.Thread(target=_import_all, args=(modules,), name="cers-imports", daemon=True)
    loading.start()
    try:
        yield
    finally:
        loading.join()


def _groups(
    roster: Roster,
    chosen: pl.DataFrame,
    options: GroupOptions,
    group_sets: Sequence[GroupSet],
    *,
    day: date,
    school_year: int | None,
) -> tuple[SectionGroups, pl.DataFrame]:
    """The section groups of ``roster`` (on ``day``, or in the whole ``school_year`` when given),
    those of each group set in one file when there are group sets, and the chosen schools the
    group sets cover."""
    from cers_core.consolidate import build_group_sets  # imported by _imports_meanwhile
    from cers_core.group_sets import schools_covered

    built = build_group_sets(roster, options, group_sets, as_of=None if school_year else day, school_year=school_year)
    return built, schools_covered(group_sets, chosen)


def _file_of(
    built: SectionGroups, chosen: pl.DataFrame, *, day: date, requests: int, bundle: BundleReport | None = None
) -> GroupExport:
    """The groups written as CERS's file, in CERS's order, and checked as CERS would: the half
    of an export that is the same whatever the rosters were read from."""
    from cers_core.cers_csv import check_written_rows, order_cers_rows, write_ordered_rows

    rows = order_cers_rows(built.rows)
    csv_bytes = write_ordered_rows(rows)
    return GroupExport(
        rows=rows,
        groups=built.groups,
        problems=built.problems,
        csv_bytes=csv_bytes,
        validation=check_written_rows(rows, csv_bytes),  # the streaming check's report, by columns
        schools=chosen,
        as_of=day,
        requests=requests,
        enrolled=built.enrolled,
        not_in_group=built.not_in_group,
        bundle=bundle,
    )


def _import_all(modules: tuple[str, ...]) -> None:
    for module in modules:
        importlib.import_module(module)


# The last export made from each session's snapshot, and how many changes the snapshot had then.
# A refresh that finds nothing new (the snapshot unchanged) gives that export again rather than
# building and checking the same file anew: a district's file takes seconds to make.
_LAST_MADE: weakref.WeakKeyDictionary[RosterSnapshot, tuple[tuple[Any, ...], int, GroupExport]] = (
    weakref.WeakKeyDictionary()
)
_LAST_MADE_LOCK = threading.Lock()


def _made_before(snapshot: RosterSnapshot, made_as: tuple[Any, ...]) -> GroupExport | None:
    with _LAST_MADE_LOCK:
        last = _LAST_MADE.get(snapshot)
    if last is None or last[0] != made_as or last[1] != snapshot.changes:
        return None
    return last[2]
