"""Reading just the rosters a set of schools needs, whatever the provider supports.

For one school there are three ways to read a collection, tried in this order and
remembered per connection (``ProviderCapabilities``), so a second school costs no failed
attempts:

1. ``nested``: the school routes ``/schools/{id}/classes`` … (need the ``roster.readonly``
   scope; Ed-Fi-based servers do not have them at all);
2. ``filter``: the flat collection with ``filter=school.sourcedId='{id}'`` (dotted filters
   are optional in practice);
3. ``flat``: the whole flat collection, filtered here (always works with the core scope).

A 400, 403, 404, 405, 422 or 501 answer moves to the next way. Whatever way is used, the
result is filtered again here, so a provider that ignores the scope cannot leak another
school's sections into a file.

Records that the school's sections refer to but that the scoped read did not return (a
teacher whose home school is another one, a district-level course) are then fetched one
by one, or from the flat collection when many are missing; what the provider does not have
at all stays missing and the group builder reports it as a dangling reference.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cers_core.errors import OneRosterError
from cers_core.http.together import first_error, together
from cers_core.oneroster.client import OneRosterClient

if TYPE_CHECKING:
    import polars as pl

    from cers_core.roster import Roster

# Polars, the page decoder and the roster are imported where the answers are read, not with this
# module: an export's first request does not wait for them (see cers_core.oneroster.client).

__all__ = ["ProviderCapabilities", "fetch_roster", "fetch_schools", "fetch_sessions"]

_FALLBACK_STATUSES = frozenset({400, 403, 404, 405, 422, 501})
# Up to this many missing references are fetched one by one; more, and the flat collection is cheaper.
_SINGLE_FETCH_LIMIT = 40
_WAYS = ("nested", "filter", "flat")

Record = Mapping[str, Any]


@dataclass(slots=True)
class ProviderCapabilities:
    """Per connection: which way of reading each collection for one school worked last time."""

    way: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Route:
    """How to read one collection for one school, each way."""

    envelope: str
    flat: str
    nested: tuple[str, ...]
    filter_field: str | None


_ROUTES = {
    "classes": _Route("classes", "/classes", ("/schools/{id}/classes",), "school.sourcedId"),
    "enrollments": _Route("enrollments", "/enrollments", ("/schools/{id}/enrollments",), "school.sourcedId"),
    "users": _Route("users", "/users", ("/schools/{id}/students", "/schools/{id}/teachers"), "roles.org.sourcedId"),
    "courses": _Route("courses", "/courses", ("/schools/{id}/courses",), "org.sourcedId"),
}

_SINGLE = {
    "users": ("/users/{id}", "user"),
    "courses": ("/courses/{id}", "course"),
    "sessions": ("/academicSessions/{id}", "academicSession"),
}
_FLAT = {
    "users": ("/users", "users"),
    "courses": ("/courses", "courses"),
    "sessions": ("/academicSessions", "academicSessions"),
}


async def fetch_schools(client: OneRosterClient) -> pl.DataFrame:
    """Every school of the district (``/schools``), as the ``schools`` roster frame."""
    frame = await client.collection("/schools", collection="schools", envelope="orgs")
    import polars as pl  # after the request (see the note at the top)

    return frame.filter(pl.col("type").is_null() | (pl.col("type") == "school"))


async def fetch_sessions(client: OneRosterClient) -> pl.DataFrame:
    """Every academic session (terms, semesters, school years): few, and shared by all schools."""
    return await client.collection("/academicSessions", collection="sessions", envelope="academicSessions")


async def _read_way(client: OneRosterClient, name: str, way: str, school_id: str) -> pl.DataFrame:
    route = _ROUTES[name]
    if way == "nested":
        parts = [
            await client.collection(path.format(id=school_id), collection=name, envelope=route.envelope)
            for path in route.nested
        ]
        import polars as pl

        from cers_core.oneroster.records import finish_frame

        return finish_frame(pl.concat(parts))
    if way == "filter":
        value = school_id.replace("'", "''")
        params = {"filter": f"{route.filter_field}='{value}'"}
        return await client.collection(route.flat, collection=name, envelope=route.envelope, params=params)
    return await client.collection(route.flat, collection=name, envelope=route.envelope)


async def _read_for_school(
    client: OneRosterClient, capabilities: ProviderCapabilities, name: str, school_id: str
) -> tuple[pl.DataFrame, str]:
    """Read a collection for one school the first way that works; return the records and the way."""
    remembered = capabilities.way.get(name)
    ways = [remembered] if remembered else []
    ways += [w for w in _WAYS if w != remembered and not (w == "nested" and _no_nested_scope(client))]
    for way in ways:
        try:
            frame = await _read_way(client, name, way, school_id)
        except OneRosterError as error:
            if way == "flat" or error.status not in _FALLBACK_STATUSES:
                raise
            continue
        capabilities.way[name] = way
        return frame, way
    raise AssertionError("the flat way either returns or raises")


def _no_nested_scope(client: OneRosterClient) -> bool:
    """The token endpoint said which scopes it granted, and ``roster.readonly`` (which the nested
    routes need) is not among them: asking those routes would only earn a 403 round trip."""
    granted = client.granted_scope
    return granted is not None and not any(s.endswith("/scope/roster.readonly") for s in granted.split())


def _missing(wanted: Iterable[str | None], have: pl.DataFrame) -> list[str]:
    present = set(have["sourced_id"].to_list())
    return sorted({w for w in wanted if w and w not in present})


async def _fill(client: OneRosterClient, name: str, frame: pl.DataFrame, wanted: Iterable[str | None]) -> pl.DataFrame:
    """Add the records ``wanted`` that ``frame`` lacks: one by one when few, else by the flat collection."""
    import polars as pl

    from cers_core.oneroster.records import records_to_frame

    missing = _missing(wanted, frame)
    if not missing:
        return frame
    if len(missing) <= _SINGLE_FETCH_LIMIT:
        path, envelope = _SINGLE[name]
        found = await together(*(client.record(path.format(id=sid), envelope=envelope) for sid in missing))
        extra = records_to_frame(name, [r for r in found if r is not None])
    else:
        path, envelope = _FLAT[name]
        extra = await client.collection(path, collection=name, envelope=envelope)
        extra = extra.filter(pl.col("sourced_id").is_in(missing))
    return pl.concat([frame, extra]).unique("sourced_id", keep="first", maintain_order=True)


def _restricted(raw: dict[str, pl.DataFrame], school_ids: Sequence[str]) -> dict[str, pl.DataFrame]:
    """Only the sections of these schools, their enrollments, and (with ``_fill``) their people."""
    import polars as pl

    classes = raw["classes"].filter(pl.col("school_id").is_in(list(school_ids)))
    # Kept too: the schools' enrollments that name a section the SIS did not return at all,
    # so that the group builder can report them (a dangling reference).
    unknown_section = ~pl.col("class_id").is_in(raw["classes"]["sourced_id"].implode()) & pl.col("school_id").is_in(
        list(school_ids)
    )
    enrollments = raw["enrollments"].filter(pl.col("class_id").is_in(classes["sourced_id"].implode()) | unknown_section)
    return {**raw, "classes": classes, "enrollments": enrollments}


async def _school_roster(
    client: OneRosterClient,
    capabilities: ProviderCapabilities,
    school_id: str,
    sessions: Awaitable[pl.DataFrame],
) -> dict[str, pl.DataFrame]:
    names = ("classes", "enrollments", "users", "courses")
    results = await together(*(_read_for_school(client, capabilities, n, school_id) for n in names))
    raw = _restricted({name: frame for name, (frame, _) in zip(names, results, strict=True)}, [school_id])
    return await _completed(client, raw, await sessions)


async def _completed(
    client: OneRosterClient, raw: dict[str, pl.DataFrame], sessions: pl.DataFrame
) -> dict[str, pl.DataFrame]:
    """The people, courses and terms the sections refer to: what was read, plus what it missed."""
    import polars as pl

    classes = raw["classes"]
    enrollments = raw["enrollments"]
    users = await _fill(client, "users", raw["users"], enrollments["user_id"].to_list())
    users = users.filter(pl.col("sourced_id").is_in(enrollments["user_id"].implode()))
    courses = await _fill(client, "courses", raw["courses"], classes["course_id"].to_list())
    courses = courses.filter(pl.col("sourced_id").is_in(classes["course_id"].implode()))
    term_ids = classes["term_ids"].explode().drop_nulls().to_list()
    sessions = await _fill(client, "sessions", sessions, term_ids)
    return {"classes": classes, "enrollments": enrollments, "users": users, "courses": courses, "sessions": sessions}


async def fetch_roster(
    client: OneRosterClient,
    *,
    school_ids: Sequence[str] | None = None,
    capabilities: ProviderCapabilities | None = None,
    schools: pl.DataFrame | None = None,
    sessions: pl.DataFrame | None = None,
) -> Roster:
    """The rosters of the given schools (by sourcedId), or of the whole district when None.

    ``schools`` and ``sessions`` may pass the ``/schools`` and ``/academicSessions`` frames
    when the caller already has them.
    """
    capabilities = capabilities if capabilities is not None else ProviderCapabilities()
    known_sessions = sessions

    async def all_sessions() -> pl.DataFrame:
        return known_sessions if known_sessions is not None else await fetch_sessions(client)

    async def school_frame() -> pl.DataFrame:
        return schools if schools is not None else await fetch_schools(client)

    names = ("classes", "enrollments", "users", "courses")
    snapshot = client.snapshot
    district_kept = snapshot is not None and all(snapshot.has(_ROUTES[n].flat) for n in names)
    if school_ids is None or (district_kept and school_ids):
        # The whole district; or schools of a district read before, now asked for its changes only.
        flat = [client.collection(_ROUTES[n].flat, collection=n, envelope=_ROUTES[n].envelope) for n in names]
        school_table, sessions, *rest = await together(school_frame(), all_sessions(), *flat)
        import polars as pl  # after the requests (see the note at the top)

        from cers_core.roster import Roster

        frames = dict(zip(names, rest, strict=True))
        if school_ids is None:
            return Roster.from_frames(schools=school_table, sessions=sessions, **frames)
        chosen = await _completed(client, _restricted(frames, school_ids), sessions)
        return Roster.from_frames(schools=school_table.filter(pl.col("sourced_id").is_in(list(school_ids))), **chosen)

    if not school_ids:
        from cers_core.roster import Roster

        return Roster.empty()
    # The school list and the terms are read alongside the schools' own rosters (one round trip
    # fewer); only the last step, filling in missing terms, waits for the terms.
    try:
        async with asyncio.TaskGroup() as group:
            schools_task = group.create_task(school_frame())
            sessions_task = group.create_task(all_sessions())
            part_tasks = [
                group.create_task(_school_roster(client, capabilities, sid, sessions_task)) for sid in school_ids
            ]
    except BaseExceptionGroup as failures:
        raise first_error(failures) from None
    import polars as pl

    from cers_core.roster import Roster

    school_table, parts = schools_task.result(), [task.result() for task in part_tasks]
    merged = {
        name: pl.concat([part[name] for part in parts]).unique("sourced_id", keep="first", maintain_order=True)
        for name in ("classes", "enrollments", "users", "courses", "sessions")
    }
    merged_schools = school_table.filter(pl.col("sourced_id").is_in(list(school_ids)))
    return Roster.from_frames(schools=merged_schools, **merged)
