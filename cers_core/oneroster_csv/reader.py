"""A OneRoster CSV bundle read into the same roster frames that the REST client makes.

One semantics for both: each CSV file is mapped into the *raw* columns that a page of JSON
records is decoded into (``records.RAW_SCHEMAS``: a reference is a struct holding its
``sourcedId``, a list field a list, ``userIds`` a list of ``{type, identifier}``, 1.2 roles a
list of ``{role}``), and then ``records.to_roster_columns`` does the rest, exactly as for a
provider's pages: every vendor rule (SSID from ``userIds`` types, 1.1 ``role`` and 1.2
``roles``, flags as text, ``ext:`` values, periods, ``inactive``) is written once, there.
Only what is CSV-specific is here: a list cell is split on commas, a ``{type:identifier}``
entry is taken apart, a blank cell is a missing value, and roles.csv's rows are gathered
per user.

Memory stays bounded by the frames themselves: each file streams out of the zip or folder
(``bundle``) and polars parses it in blocks, keeping only the columns we use, as strings
(``table``); nothing is read into Python objects, and records are converted in slices.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import polars as pl

from cers_core.errors import InvalidBundle
from cers_core.oneroster.records import COLLECTION_OF_ENVELOPE, RAW_SCHEMAS, to_roster_columns
from cers_core.oneroster_csv.binding import FILES, CsvFile, Version
from cers_core.oneroster_csv.bundle import (
    BundleLimits,
    BundleSource,
    CheckedStream,
    FileRefused,
    OpenedBundle,
    open_bundle,
)
from cers_core.oneroster_csv.checks import check_converted, check_references, check_values
from cers_core.oneroster_csv.manifest import Manifest, read_manifest
from cers_core.oneroster_csv.report import BundleReport, ProblemLog
from cers_core.oneroster_csv.table import read_table
from cers_core.roster import Roster
from cers_core.schools import school_table
from cers_core.settings import GroupOptions

__all__ = ["BundleRoster", "list_bundle_schools", "read_bundle"]

# Records converted at a time: a slice's raw columns and its roster columns are alive together.
_SLICE_ROWS = 250_000
# The file read on a thread of its own, beside the others: in any district the largest by far (a
# row per student per section; at lausd scale 240 MB, users.csv 90 MB). Parsed one file at a time,
# a bundle leaves one of two cores partly idle; with this file beside the others lausd's bundle
# was read in 6.4 s instead of 6.9 (alternating runs), its memory still under the builder's peak.
_BESIDE = "enrollments"


@dataclass(frozen=True, slots=True)
class BundleRoster:
    """A bundle read: its rosters, and the report of what was found (warnings only: a bundle
    with errors raises ``InvalidBundle`` instead)."""

    roster: Roster
    report: BundleReport


def read_bundle(
    source: BundleSource,
    *,
    school_ids: Collection[str] | None = None,
    limits: BundleLimits | None = None,
) -> BundleRoster:
    """Read a OneRoster 1.1 or 1.2 CSV bundle (a ``.zip`` path, a folder, zip bytes or an uploaded
    file) into a ``Roster``: the whole district, or the schools ``school_ids`` (sourcedIds, as
    ``schools.resolve_schools`` gives them from ``list_bundle_schools``).

    Raises ``InvalidBundle``, with the full report, when the bundle cannot be used: build the
    group file from ``roster`` as from a provider's (``cers_core.groups.build_section_groups``).
    """
    frames, report = _read_checked(source, limits, wanted=tuple(FILES))
    roster = _roster(frames)
    if school_ids is not None:
        roster = _for_schools(roster, school_ids)
    return BundleRoster(roster=roster, report=report)


def list_bundle_schools(
    source: BundleSource, *, options: GroupOptions | None = None, limits: BundleLimits | None = None
) -> pl.DataFrame:
    """The bundle's schools as ``export.list_schools`` gives a provider's: ``sourced_id``, ``name``,
    ``identifier``, ``cds`` (null when unusable). Only manifest.csv and orgs.csv are read.

    Raises ``InvalidBundle`` when those cannot be used.
    """
    frames, _ = _read_checked(source, limits, wanted=("orgs",))
    return school_table(_schools(frames["orgs"]), options or GroupOptions())


def _read_checked(
    source: BundleSource, limits: BundleLimits | None, *, wanted: tuple[str, ...]
) -> tuple[dict[str, pl.DataFrame], BundleReport]:
    """The files ``wanted`` read and checked, and the report; ``InvalidBundle`` when any problem is an error."""
    log = ProblemLog()
    with open_bundle(source, log, limits) as bundle:
        manifest = read_manifest(bundle, log, wanted=wanted)
        frames = _read_files(bundle, manifest, log) if manifest is not None else {}
    check_references(frames, log)
    report = log.report(
        manifest.version if manifest is not None else None, files=tuple(FILES[name].file_name for name in frames)
    )
    if report.has_errors or manifest is None:
        raise InvalidBundle(report)
    return frames, report


def _read_files(bundle: OpenedBundle, manifest: Manifest, log: ProblemLog) -> dict[str, pl.DataFrame]:
    """Each file the manifest lets us read, in roster columns (roles.csv in its own), with ``_line``.

    The files are opened one after another, in the manifest's order, each taking its size from the
    bundle's budget; then enrollments.csv (``_BESIDE``) is read on a thread of its own while the
    others are read here. Each file logs its problems apart, and they join the bundle's log in the
    manifest's order: the report is the same as if the files were read one by one.
    """
    logs = {name: ProblemLog() for name in manifest.files}
    frames: dict[str, pl.DataFrame | None] = {}
    with contextlib.ExitStack() as opened:
        streams = {}
        for name in manifest.files:
            stream = bundle.open(FILES[name].file_name, logs[name])
            if stream is not None:
                streams[name] = opened.enter_context(stream)
        apart = streams.pop(_BESIDE, None)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cers-bundle-file") as beside:
            aside = None
            if apart is not None:
                aside = beside.submit(_read_file, apart, FILES[_BESIDE], manifest.version, logs[_BESIDE], None)
            for name, stream in streams.items():
                roles = frames.get("roles") if name == "users" else None
                frames[name] = _read_file(stream, FILES[name], manifest.version, logs[name], roles)
            if aside is not None:
                frames[_BESIDE] = aside.result()
    for name in manifest.files:
        log.extend(logs[name])
    return {name: frame for name in manifest.files if (frame := frames.get(name)) is not None}


def _read_file(
    stream: CheckedStream, file: CsvFile, version: Version, log: ProblemLog, roles: pl.DataFrame | None
) -> pl.DataFrame | None:
    """One file read and checked: in roster columns when groups are made from it (users.csv given
    roles.csv's frame as ``roles``), else (roles.csv) as read; None when it cannot be read (the log
    says why)."""
    try:
        table = read_table(stream, file, version, log)
    except FileRefused:
        return None
    if table is None:
        return None
    check_values(file, version, table, log)
    # A column the header lacks (and may lack) is read as empty from here on.
    table = table.with_columns(
        pl.lit(None, dtype=pl.String).alias(c.name) for c in file.columns if c.name not in table.columns
    )
    if not file.feeds_groups:
        return table
    raw = _raw(file, table, roles)
    del table
    return _converted(file, version, raw, log)


# -- CSV columns as the raw columns of JSON records ------------------------------------


def _ref(column: str) -> pl.Expr:
    return pl.struct(pl.col(column).alias("sourcedId"))


def _list(column: str) -> pl.Expr:
    return pl.col(column).str.split(",")


def _refs(column: str) -> pl.Expr:
    return _list(column).list.eval(pl.struct(pl.element().str.strip_chars().alias("sourcedId")))


def _user_ids(column: str) -> pl.Expr:
    """``{LocalId:100001},{SSID:1234567890}`` as ``[{type, identifier}, …]`` (the braces may be
    left out; an entry without a colon has a null identifier, which the checks report)."""
    text = pl.col(column)
    braced = text.str.contains("{", literal=True)
    entries = pl.when(braced).then(text.str.extract_all(r"\{[^{}]*\}")).otherwise(_list(column))
    return entries.list.eval(
        pl.element()
        .filter(pl.element().str.strip_chars() != "")
        .str.strip_chars()
        .str.strip_chars("{}")
        .str.splitn(":", 2)
        .struct.rename_fields(["type", "identifier"])
    )


# The raw field each CSV column becomes, per file (sourcedId, status and dateLastModified are
# the same in both and added for all).
_RAW_FIELDS: dict[str, dict[str, pl.Expr]] = {
    "orgs": {"name": pl.col("name"), "type": pl.col("type"), "identifier": pl.col("identifier")},
    "academicSessions": {
        "title": pl.col("title"),
        "type": pl.col("type"),
        "startDate": pl.col("startDate"),
        "endDate": pl.col("endDate"),
        "schoolYear": pl.col("schoolYear"),
    },
    "courses": {
        "title": pl.col("title"),
        "courseCode": pl.col("courseCode"),
        "subjects": _list("subjects"),
        "subjectCodes": _list("subjectCodes"),
    },
    "classes": {
        "title": pl.col("title"),
        "classCode": pl.col("classCode"),
        "classType": pl.col("classType"),
        "location": pl.col("location"),
        "grades": _list("grades"),
        "subjects": _list("subjects"),
        "subjectCodes": _list("subjectCodes"),
        "periods": _list("periods"),
        "course": _ref("courseSourcedId"),
        "school": _ref("schoolSourcedId"),
        "terms": _refs("termSourcedIds"),
    },
    "enrollments": {
        "user": _ref("userSourcedId"),
        "class": _ref("classSourcedId"),
        "school": _ref("schoolSourcedId"),
        "role": pl.col("role"),
        "primary": pl.col("primary"),
        "beginDate": pl.col("beginDate"),
        "endDate": pl.col("endDate"),
    },
    "users": {
        "enabledUser": pl.col("enabledUser"),
        "givenName": pl.col("givenName"),
        "familyName": pl.col("familyName"),
        "username": pl.col("username"),
        "email": pl.col("email"),
        "identifier": pl.col("identifier"),
        "userIds": _user_ids("userIds"),
        "role": pl.col("role"),
    },
}


def _raw(file: CsvFile, table: pl.DataFrame, roles: pl.DataFrame | None) -> pl.DataFrame:
    """The file's records in the raw columns of ``records.RAW_SCHEMAS``, row for row, with ``_line``."""
    collection = COLLECTION_OF_ENVELOPE[file.name]
    fields = {"sourcedId": pl.col("sourcedId"), "status": pl.col("status"), **_RAW_FIELDS[file.name]}
    fields["dateLastModified"] = pl.col("dateLastModified")
    if file.name == "users":
        table = _with_roles(table, roles)
        fields["roles"] = pl.col("_roles")
    schema = RAW_SCHEMAS[collection]
    return table.select("_line", *(fields[name].cast(dtype).alias(name) for name, dtype in schema.items()))


def _with_roles(users: pl.DataFrame, roles: pl.DataFrame | None) -> pl.DataFrame:
    """Each user's roles from roles.csv as 1.2's ``roles`` list of ``{role}``, in the file's
    order; null for a 1.1 bundle (whose users have their one ``role`` column instead)."""
    if roles is None:
        return users.with_columns(_roles=pl.lit(None, dtype=RAW_SCHEMAS["users"]["roles"]))
    current = roles.filter(pl.col("status").str.strip_chars().str.to_lowercase().fill_null("") != "tobedeleted")
    by_user = current.group_by("userSourcedId", maintain_order=True).agg(_roles=pl.struct(pl.col("role")))
    return users.join(by_user, left_on="sourcedId", right_on="userSourcedId", how="left", maintain_order="left")


def _converted(file: CsvFile, version: Version, raw: pl.DataFrame, log: ProblemLog) -> pl.DataFrame:
    """The raw records as roster columns (``_line`` kept), a slice at a time, each slice checked
    against what it became."""
    collection = COLLECTION_OF_ENVELOPE[file.name]
    parts = []
    for part in raw.iter_slices(_SLICE_ROWS):
        done = to_roster_columns(collection, part)
        check_converted(file, version, part, done, log)
        parts.append(done)
    return pl.concat(parts) if parts else to_roster_columns(collection, raw)


# -- the roster ---------------------------------------------------------------------------


# No ``records.finish_frame`` here: it drops records without a sourcedId and repeats of one,
# which the checks have already refused (a bundle with either is not read).


def _schools(orgs: pl.DataFrame) -> pl.DataFrame:
    """The orgs that are schools, as a provider's ``/schools`` gives them (``fetch.fetch_schools``)."""
    return orgs.drop("_line").filter(pl.col("type").is_null() | (pl.col("type") == "school"))


def _roster(frames: dict[str, pl.DataFrame]) -> Roster:
    made = {
        COLLECTION_OF_ENVELOPE[name]: frame.drop("_line")
        for name, frame in frames.items()
        if FILES[name].feeds_groups and name != "orgs"
    }
    return Roster.from_frames(schools=_schools(frames["orgs"]), **made)


def _for_schools(roster: Roster, school_ids: Collection[str]) -> Roster:
    """Only these schools' sections, their enrollments (with those at the schools naming a section
    the bundle lacks, which the builder reports), and the people and courses these name."""
    ids = list(school_ids)
    classes = roster.classes.filter(pl.col("school_id").is_in(ids))
    known_section = pl.col("class_id").is_in(roster.classes["sourced_id"].implode())
    enrollments = roster.enrollments.filter(
        pl.col("class_id").is_in(classes["sourced_id"].implode()) | (~known_section & pl.col("school_id").is_in(ids))
    )
    return Roster(
        schools=roster.schools.filter(pl.col("sourced_id").is_in(ids)),
        sessions=roster.sessions,
        courses=roster.courses.filter(pl.col("sourced_id").is_in(classes["course_id"].implode())),
        classes=classes,
        enrollments=enrollments,
        users=roster.users.filter(pl.col("sourced_id").is_in(enrollments["user_id"].implode())),
    )
