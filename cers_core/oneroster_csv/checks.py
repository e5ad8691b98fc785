"""The checks on a bundle's records, each problem logged with its file, line and column.

All are polars expressions over whole columns; only the problems that are listed (a few per
kind, see ``ProblemLog``) ever become Python objects. What is an error and what a warning is
set per column in ``binding.FILES`` and explained in ``report``; here is what each check looks at:

- the header: every column the binding requires and we read is there (a name in the wrong case
  is read, with a warning), and no column we read is named twice;
- empty values, in the columns the binding requires;
- values we cannot read: a ``status`` other than active/tobedeleted (or 1.1's inactive), a
  role or ``type`` outside the binding's words and not an ``ext:`` value, a ``schoolYear`` that
  is not a year, a ``dateLastModified`` that is not ISO 8601, a ``userIds`` entry not in
  ``{type:identifier}`` form; and a date or a flag that the roster conversion (the very one
  the REST path uses) could not read, found by comparing the text with what it became;
- a ``sourcedId`` given twice in one file: one of the two records would be silently lost;
- references to records the bundle does not have (an enrollment naming a class that is not in
  classes.csv). These are warnings, as they are when a provider's REST API returns them: such
  a record joins to nothing, so it cannot put anyone in a wrong group, and the group builder's
  problem report names each person it leaves out (``unknown_user``, ``unknown_section``).
  Refusing the whole district for them would be harsher than the REST path, for the same data.
"""

from __future__ import annotations

import polars as pl

from cers_core.oneroster_csv.binding import FILES, Column, CsvFile, Version
from cers_core.oneroster_csv.report import ProblemCode, ProblemLog, Severity

__all__ = ["check_converted", "check_header", "check_references", "check_values"]

_ISO_DATE_TIME = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?$"
)
_STATUSES = ("active", "tobedeleted", "inactive")
# The kinds whose values are words from a short list.
_WORDS = frozenset({"status", "enum", "year"})


def check_header(file: CsvFile, version: Version, header: list[str], log: ProblemLog) -> dict[str, str] | None:
    """The columns to read, as binding name -> name in the header (those not there are left
    out); None when a column we cannot do without is missing or named twice."""
    names = [name.strip() for name in header]
    found: dict[str, str] = {}
    usable = True
    for column in file.reads(version):
        places = [i for i, name in enumerate(names) if name == column.name]
        if not places:
            places = [i for i, name in enumerate(names) if name.lower() == column.name.lower()]
            if places:
                log.add(
                    "warning",
                    ProblemCode.missing_column,
                    file.file_name,
                    f"The header says {names[places[0]]}; the binding's name is {column.name} (names are "
                    "case-sensitive). It was read as that.",
                    line=1,
                    column=column.name,
                )
        if len(places) > 1:
            log.add(
                "error",
                ProblemCode.malformed_csv,
                file.file_name,
                f"The header names {column.name} {len(places)} times (columns "
                f"{', '.join(str(i + 1) for i in places)}); which one holds the values?",
                line=1,
                column=column.name,
            )
            usable = False
        elif places:
            found[column.name] = header[places[0]]
        elif column.empty is not None:
            consequence = "groups cannot be made without it." if column.empty == "error" else "it is read as empty."
            log.add(
                column.empty,
                ProblemCode.missing_column,
                file.file_name,
                f"The header has no {column.name} column, which the binding requires: {consequence}",
                line=1,
                column=column.name,
            )
            usable = usable and column.empty != "error"
    return found if usable else None


def check_values(file: CsvFile, version: Version, table: pl.DataFrame, log: ProblemLog) -> None:
    """Empty required values, unreadable statuses, vocabularies, years and times, and repeated
    ``sourcedId`` s, in the file's string columns (with ``_line``)."""
    # Each check: where it finds a problem (a row mask), and whether it finds any (a scalar).
    checks: list[tuple[Column, pl.Expr, pl.Expr, Severity, ProblemCode, str | pl.Expr]] = []
    for column in file.reads(version):
        if column.name not in table.columns:
            continue
        value = pl.col(column.name)
        if column.empty is not None:
            empty = value.is_null()
            checks.append(
                (column, empty, empty.any(), column.empty, ProblemCode.empty_value, _empty_message(file, column))
            )
        wrong = _wrong(column, value)
        if wrong is not None:
            found = value.is_not_null() & wrong
            # A word from a short list (a status, a role, a type) is checked once per distinct value:
            # a district's two million enrollments hold a handful of roles.
            # (In order: the expression names the distinct values more than once, and each must be the same list.)
            distinct = value.drop_nulls().unique(maintain_order=True)
            probe = _wrong(column, distinct).any() if column.kind in _WORDS else found.any()
            checks.append((column, found, probe, column.invalid, ProblemCode.invalid_value, _invalid_message(column)))
    # All the checks in one pass over the columns; rows are gathered only for those that found something.
    found = table.select(probe.alias(str(i)) for i, (_, _, probe, *_) in enumerate(checks)).row(0) if checks else ()
    for (column, check, _, severity, code, message), any_found in zip(checks, found, strict=True):
        if any_found:
            rows = table.select("_line", column.name).filter(check)
            log.add_rows(rows, severity, code, file.file_name, column=column.name, message=message)
    if file.feeds_groups:
        _check_repeated_ids(file, table, log)


def _empty_message(file: CsvFile, column: Column) -> str:
    if column.empty == "error":
        return f"The value is empty, but every {file.record} needs its {column.name}: groups depend on it."
    return f"The value is empty; the binding requires a {column.name} for every {file.record}. It is read as empty."


def _wrong(column: Column, value: pl.Expr) -> pl.Expr | None:
    """Where a (present) ``value`` of the column cannot be read as its kind, for the kinds checked on text."""
    text = value.str.strip_chars()
    lowered = text.str.to_lowercase()
    if column.kind == "status":
        return ~lowered.is_in(_STATUSES)
    if column.kind == "enum":
        return ~lowered.is_in([word.lower() for word in column.vocabulary]) & ~lowered.str.starts_with("ext:")
    if column.kind == "year":
        return ~text.str.contains(r"^[0-9]{4}$")  # ASCII: \\d takes any script's digits
    if column.kind == "datetime":
        return ~text.str.contains(_ISO_DATE_TIME)
    return None


def _invalid_message(column: Column) -> pl.Expr:
    value = pl.col(column.name)
    kept = " It is kept as given." if column.invalid == "warning" else ""
    match column.kind:
        case "status":
            return pl.format(
                "The status is '{}': it must be active or tobedeleted (1.1's inactive is read as tobedeleted). "
                "Any other word could keep a record that is to be deleted.",
                value,
            )
        case "enum":
            words = ", ".join(column.vocabulary)
            return pl.format(f"'{{}}' is not one of {words}, nor an ext: value.{kept}", value)
        case "year":
            return pl.format("The school year is '{}', not a year like 2027; the dates give the year instead.", value)
        case "datetime":
            return pl.format(
                "'{}' is not a date and time like 2026-08-01T12:00:00Z; it is not used to make groups.", value
            )
    raise AssertionError(column.kind)


def _check_repeated_ids(file: CsvFile, table: pl.DataFrame, log: ProblemLog) -> None:
    # As many distinct hashes as records: no two sourcedIds are the same (the common case, found
    # several times faster than by comparing the values themselves, which is done only when not).
    if table.select(pl.col("sourcedId").hash().n_unique()).item() == table.height:
        return
    ids = table.select("_line", "sourcedId", _is_first=pl.col("sourcedId").is_first_distinct())
    if ids["_is_first"].all():
        return
    again = ids.filter(~pl.col("_is_first") & pl.col("sourcedId").is_not_null())
    first = ids.filter(pl.col("_is_first")).select("sourcedId", _first="_line")
    log.add_rows(
        again.join(first, on="sourcedId", how="left", maintain_order="left"),
        "error",
        ProblemCode.duplicate_id,
        file.file_name,
        column="sourcedId",
        message=pl.format(
            f"The sourcedId '{{}}' is used again (first on line {{}}): each {file.record} needs its own, "
            "or one of the two records is lost.",
            pl.col("sourcedId"),
            pl.col("_first"),
        ),
    )


def check_converted(
    file: CsvFile, version: Version, raw: pl.DataFrame, converted: pl.DataFrame, log: ProblemLog
) -> None:
    """Dates and flags the roster conversion could not read, and ``userIds`` entries not in
    ``{type:identifier}`` form: ``raw`` are the records as given, ``converted`` what they became
    (``records.to_roster_columns``, row for row)."""
    for column in file.reads(version):
        if column.kind in ("date", "flag") and column.name in raw.columns:
            # A blank cell is null already (table.read_table): a value given that became null is unreadable.
            unread = raw[column.name].is_not_null() & converted[column.becomes].is_null()
            rows = raw.select("_line", column.name).filter(unread)
            expected = "a date like 2026-08-12 (YYYY-MM-DD)" if column.kind == "date" else "true or false"
            log.add_rows(
                rows,
                column.invalid,
                ProblemCode.invalid_value,
                file.file_name,
                column=column.name,
                message=pl.format(f"'{{}}' is not {expected}.", pl.col(column.name)),
            )
        if column.kind == "user_ids" and column.name in raw.columns:
            untyped = raw[column.name].list.eval(pl.element().struct.field("identifier").is_null()).list.any()
            log.add_rows(
                raw.select("_line").filter(untyped.fill_null(False)),
                column.invalid,
                ProblemCode.invalid_value,
                file.file_name,
                column=column.name,
                message="An entry is not in the form {type:identifier} (such as {SSID:1234567890}): "
                "it cannot be read as an SSID.",
            )


# Each reference we follow: the file and its column (as the roster names it, and as the CSV
# does), the file it points into, what that record is, and what follows when it is not there.
_REFERENCES = (
    ("enrollments", "class_id", "classSourcedId", "classes", "the enrollment is left out"),
    ("enrollments", "user_id", "userSourcedId", "users", "the enrollment is left out"),
    ("enrollments", "school_id", "schoolSourcedId", "orgs", "it is read without its school"),
    ("classes", "school_id", "schoolSourcedId", "orgs", "the section is left out"),
    ("classes", "course_id", "courseSourcedId", "courses", "its group name has no course title or code"),
    ("classes", "term_ids", "termSourcedIds", "academicSessions", "the section is current only in its other terms"),
    ("roles", "userSourcedId", "userSourcedId", "users", "the role is not read"),
)


def check_references(frames: dict[str, pl.DataFrame], log: ProblemLog) -> None:
    """Warn of references to records the bundle lacks. ``frames`` are the files read (by
    binding name), each with ``_line``: roster columns for the six roster files, the CSV's
    own for roles.csv; a reference into a file that was not read is not followed."""
    for source, ref, csv_column, target, consequence in _REFERENCES:
        if source not in frames or target not in frames or ref not in frames[source].columns:
            continue
        rows = frames[source].select("_line", ref)
        if rows.schema[ref] == pl.List(pl.String):
            rows = rows.explode(ref)
        known = frames[target]["sourced_id"].implode()
        what = FILES[target].record
        log.add_rows(
            rows.filter(pl.col(ref).is_not_null() & ~pl.col(ref).is_in(known)),
            "warning",
            ProblemCode.unknown_reference,
            FILES[source].file_name,
            column=csv_column,
            message=pl.format(
                f"It names the {what} '{{}}', which {FILES[target].file_name} does not have: {consequence}.",
                pl.col(ref),
            ),
        )
