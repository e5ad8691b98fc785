"""The demo district as a OneRoster CSV bundle (1.1 or 1.2), as a SIS would export it.

The same district, record for record, that the demo provider serves over REST for the same
scale and seed: the same records, the same values, in the same order (by ``sourcedId``), so
that reading the bundle gives the very rosters the REST client reads. Each file follows the
binding's header (``cers_core.oneroster_csv.binding.HEADERS``); the columns the demo has no
data for are left empty. Per version:

- 1.2: ``users.csv`` without roles, and ``roles.csv`` with one row per role of a user, in the
  user's order, each with a made-up ``sourcedId`` (``<user>-role-<n>``);
- 1.1: each user's one ``role`` (the first) and ``orgSourcedIds`` (the orgs of all its roles),
  as the provider's ``legacy_user_role`` quirk sends them.

Every file is ``bulk``, yet ``status`` and ``dateLastModified`` are filled in, as many SIS
exports do (the binding would have them empty in a bulk file): the district's ``tobedeleted``
records stay what they are over REST, and so do the roster frames read from the bundle.

Written by polars, file by file, to disk (and then zipped when asked): the ``lausd`` scale's
2.6 million records never become Python objects.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import polars as pl

from cers_core.oneroster_csv.binding import HEADERS, MANIFEST_FILES, Version
from cers_demo.district import DemoDistrict

__all__ = ["write_csv_bundle"]

# The provider's dateLastModified, to the millisecond, in UTC.
_DATE_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.3fZ"
# Fast rather than small: the lausd bundle zips from about 600 MB to about 90 MB either way.
_COMPRESS_LEVEL = 1


def write_csv_bundle(district: DemoDistrict, target: str | Path, *, version: Version = "1.2") -> Path:
    """Write ``district`` as a bundle at ``target``: a zip when it ends in ``.zip``, else a folder
    (made if need be; files already there are replaced). Returns ``target``.

    >>> from datetime import date
    >>> from cers_demo import generate_district
    >>> district = generate_district(scale="demo", seed=7, reference_date=date(2026, 11, 28))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     bundle = write_csv_bundle(district, Path(folder) / "sierra-vista.zip", version="1.1")
    ...     print(sorted(zipfile.ZipFile(bundle).namelist()))
    ['academicSessions.csv', 'classes.csv', 'courses.csv', 'enrollments.csv', 'manifest.csv', 'orgs.csv', 'users.csv']
    """
    target = Path(target)
    if target.suffix.lower() != ".zip":
        _write_files(district, target, version)
        return target
    with tempfile.TemporaryDirectory(prefix="cers-demo-bundle-") as folder:
        written = _write_files(district, Path(folder), version)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=_COMPRESS_LEVEL) as bundle:
            for path in written:
                bundle.write(path, arcname=path.name)
    return target


def _write_files(district: DemoDistrict, folder: Path, version: Version) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    tables = _tables(district, version)
    written = [folder / "manifest.csv"]
    _manifest(district, version, tables).write_csv(written[0])
    for name, table in tables.items():
        path = folder / f"{name}.csv"
        table.write_csv(path)
        written.append(path)
    return written


def _manifest(district: DemoDistrict, version: Version, tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    rows = [("manifest.version", "1.0"), ("oneroster.version", version)]
    rows += [(f"file.{name}", "bulk" if name in tables else "absent") for name in MANIFEST_FILES[version]]
    rows += [("source.systemName", district.name), ("source.systemCode", "cers-demo")]
    return pl.DataFrame(rows, schema=["propertyName", "value"], orient="row")


def _tables(district: DemoDistrict, version: Version) -> dict[str, pl.DataFrame]:
    """Each file's rows, in the binding's columns for ``version``."""
    users = district.users.with_columns(userIds=_user_ids(district.users))
    if version == "1.1":
        users = users.with_columns(role=pl.col("roles.role").list.first(), orgSourcedIds=_joined("roles.org.sourcedId"))
    columns = {
        "orgs": (district.orgs, {"parentSourcedId": pl.col("parent.sourcedId")}),
        "academicSessions": (district.academic_sessions, {"parentSourcedId": pl.col("parent.sourcedId")}),
        "courses": (
            district.courses,
            {
                "schoolYearSourcedId": pl.col("schoolYear.sourcedId"),
                "orgSourcedId": pl.col("org.sourcedId"),
                "grades": _joined("grades"),
                "subjects": _joined("subjects"),
                "subjectCodes": _joined("subjectCodes"),
            },
        ),
        "classes": (
            district.classes,
            {
                "courseSourcedId": pl.col("course.sourcedId"),
                "schoolSourcedId": pl.col("school.sourcedId"),
                "termSourcedIds": _joined("terms.sourcedId"),
                "grades": _joined("grades"),
                "subjects": _joined("subjects"),
                "subjectCodes": _joined("subjectCodes"),
                "periods": _joined("periods"),
            },
        ),
        "enrollments": (
            district.enrollments,
            {
                "classSourcedId": pl.col("class.sourcedId"),
                "schoolSourcedId": pl.col("school.sourcedId"),
                "userSourcedId": pl.col("user.sourcedId"),
                "primary": _flag("primary"),
            },
        ),
        "users": (
            users,
            {
                "enabledUser": _flag("enabledUser"),
                "grades": _joined("grades"),
                "primaryOrgSourcedId": pl.col("primaryOrg.sourcedId"),
            },
        ),
    }
    tables = {name: _in_binding_columns(frame, version, name, named) for name, (frame, named) in columns.items()}
    if version == "1.2":
        tables["roles"] = _in_binding_columns(_roles(district.users), version, "roles", {})
    return tables


def _in_binding_columns(frame: pl.DataFrame, version: Version, name: str, named: dict[str, pl.Expr]) -> pl.DataFrame:
    """``frame`` in the file's header: a column by the expression given, else the frame's column
    of that name (dates and statuses as text), else empty."""
    common = {
        "status": pl.col("status").cast(pl.String),
        "dateLastModified": pl.col("dateLastModified").dt.strftime(_DATE_TIME_FORMAT),
    }

    def column(header: str) -> pl.Expr:
        if header in named or header in common:
            return (named | common)[header].alias(header)
        if header in frame.columns:
            return pl.col(header).cast(pl.String)
        return pl.lit(None, dtype=pl.String).alias(header)

    return frame.select(column(header) for header in HEADERS[version][name])


def _joined(column: str) -> pl.Expr:
    """A list column as the binding's comma-separated cell."""
    return pl.col(column).list.join(",")


def _flag(column: str) -> pl.Expr:
    """``true``/``false``, a missing value read as false, as the provider sends it."""
    return pl.when(pl.col(column)).then(pl.lit("true")).otherwise(pl.lit("false"))


def _user_ids(users: pl.DataFrame) -> pl.Expr:
    """Each user's ``userIds`` as ``{type:identifier},…``, in the record's order: the parallel lists'
    i-th entries side by side, for each i up to the longest list (two in the demo)."""
    types, values = pl.col("userIds.type"), pl.col("userIds.identifier")
    longest = users.select(types.list.len().max()).item() or 0
    entries = [
        pl.concat_str(
            pl.lit("{"),
            types.list.get(i, null_on_oob=True),
            pl.lit(":"),
            values.list.get(i, null_on_oob=True).fill_null(""),
            pl.lit("}"),
        )
        for i in range(longest)
    ]
    return pl.concat_str(entries, separator=",", ignore_nulls=True) if entries else pl.lit(None, dtype=pl.String)


def _roles(users: pl.DataFrame) -> pl.DataFrame:
    """One row per role of each user, in the user's order (1.2's roles.csv)."""
    return (
        users.select(
            "status",
            "dateLastModified",
            pl.col("sourcedId").alias("userSourcedId"),
            pl.col("roles.roleType").alias("roleType"),
            pl.col("roles.role").alias("role"),
            pl.col("roles.org.sourcedId").alias("orgSourcedId"),
        )
        .explode("roleType", "role", "orgSourcedId")
        .filter(pl.col("role").is_not_null())
        .with_columns(
            sourcedId=pl.format("{}-role-{}", "userSourcedId", pl.int_range(1, pl.len() + 1).over("userSourcedId"))
        )
    )
