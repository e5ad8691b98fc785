"""The OneRoster CSV binding (1.1 and 1.2): its files, their headers, and the columns we read.

A bundle is a zip (or a folder) of CSV files described by ``manifest.csv``. Each data file
has a header row with the binding's column names, case-sensitive and in a fixed order;
``HEADERS`` gives them in full, as the demo bundle writes them. 1.1 and 1.2 differ, for the
files we read, only in the users: a 1.1 user has one ``role`` and ``orgSourcedIds``, a 1.2
user's roles are rows of ``roles.csv``. A list field (``grades``, ``termSourcedIds``) is
comma-separated inside one quoted cell; ``userIds`` is such a list of ``{type:identifier}``.

``FILES`` says, for each file we read, which columns and how much each matters when it is
empty or unreadable (see ``cers_core.oneroster_csv.report`` for the two severities): the
severity follows what the group builder does with the value, not only what the binding says,
so that a bundle is refused only for what could make its group file wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from cers_core.oneroster_csv.report import Severity

__all__ = ["FILES", "HEADERS", "MANIFEST_FILES", "VERSIONS", "Column", "CsvFile", "Kind", "Version"]

Version = Literal["1.1", "1.2"]
VERSIONS: tuple[Version, ...] = ("1.1", "1.2")

Kind = Literal["text", "list", "date", "datetime", "flag", "status", "enum", "year", "user_ids"]
"""How a column's values are read and checked: ``list`` is comma-separated, ``date`` is
``YYYY-MM-DD``, ``datetime`` ISO 8601 (``dateLastModified``), ``flag`` ``true``/``false``,
``status`` ``active``/``tobedeleted`` (1.1's ``inactive`` too), ``enum`` one of ``vocabulary``
or an ``ext:`` value, ``year`` ``YYYY``, ``user_ids`` a list of ``{type:identifier}``."""

# The files every version's manifest.csv declares, as ``file.<name>`` rows.
_FILES_1_1 = (
    "academicSessions",
    "categories",
    "classes",
    "classResources",
    "courses",
    "courseResources",
    "demographics",
    "enrollments",
    "lineItems",
    "orgs",
    "resources",
    "results",
    "users",
)
_ADDED_IN_1_2 = (
    "lineItemLearningObjectiveIds",
    "lineItemScoreScales",
    "resultLearningObjectiveIds",
    "resultScoreScales",
    "roles",
    "scoreScales",
    "userProfiles",
    "userResources",
)
MANIFEST_FILES: dict[Version, tuple[str, ...]] = {
    "1.1": _FILES_1_1,
    "1.2": tuple(sorted(_FILES_1_1 + _ADDED_IN_1_2, key=str.lower)),
}

_BASE = ("sourcedId", "status", "dateLastModified")
_COMMON_HEADERS: dict[str, tuple[str, ...]] = {
    "orgs": (*_BASE, "name", "type", "identifier", "parentSourcedId"),
    "academicSessions": (*_BASE, "title", "type", "startDate", "endDate", "parentSourcedId", "schoolYear"),
    "courses": (
        *_BASE,
        "schoolYearSourcedId",
        "title",
        "courseCode",
        "grades",
        "orgSourcedId",
        "subjects",
        "subjectCodes",
    ),
    "classes": (
        *_BASE,
        "title",
        "grades",
        "courseSourcedId",
        "classCode",
        "classType",
        "location",
        "schoolSourcedId",
        "termSourcedIds",
        "subjects",
        "subjectCodes",
        "periods",
    ),
    "enrollments": (
        *_BASE,
        "classSourcedId",
        "schoolSourcedId",
        "userSourcedId",
        "role",
        "primary",
        "beginDate",
        "endDate",
    ),
}
_USER_CONTACT = ("identifier", "email", "sms", "phone", "agentSourcedIds", "grades", "password")
HEADERS: dict[Version, dict[str, tuple[str, ...]]] = {
    "1.1": _COMMON_HEADERS
    | {
        "users": (
            *_BASE,
            "enabledUser",
            "orgSourcedIds",
            "role",
            "username",
            "userIds",
            "givenName",
            "familyName",
            "middleName",
            *_USER_CONTACT,
        ),
    },
    "1.2": _COMMON_HEADERS
    | {
        "users": (
            *_BASE,
            "enabledUser",
            "username",
            "userIds",
            "givenName",
            "familyName",
            "middleName",
            *_USER_CONTACT,
            "userMasterIdentifier",
            "resourceSourcedIds",
            "preferredGivenName",
            "preferredMiddleName",
            "preferredFamilyName",
            "primaryOrgSourcedId",
            "pronouns",
        ),
        "roles": (
            *_BASE,
            "userSourcedId",
            "roleType",
            "role",
            "beginDate",
            "endDate",
            "orgSourcedId",
            "userProfileSourcedId",
        ),
    },
}
"""The binding's header of each file we read or write, by version (the manifest's ``file.<name>``)."""


@dataclass(frozen=True, slots=True)
class Column:
    """A column we read: what its values are, and how much an empty or unreadable one matters.

    ``empty`` is the severity of an empty value (None: it may be empty), which is also the
    severity of the column missing from the header; ``invalid`` that of a value we cannot
    read as ``kind``.
    """

    name: str
    kind: Kind = "text"
    empty: Severity | None = None
    invalid: Severity = "error"
    vocabulary: tuple[str, ...] = ()
    """For ``enum``: the binding's values (read case-insensitively, as the REST path reads them)."""
    becomes: str = ""
    """For ``date`` and ``flag``: the roster column it becomes, where an unreadable value shows as null."""
    required_in: tuple[Version, ...] = VERSIONS
    """The versions in which ``empty`` holds (a 1.1 user has a ``role``; a 1.2 user's are in roles.csv)."""


@dataclass(frozen=True, slots=True)
class CsvFile:
    """A file of the bundle that we read: its name in the manifest (``enrollments``) and columns."""

    name: str
    record: str
    """What one row is, in words (``enrollment``)."""
    columns: tuple[Column, ...]
    absent: Severity | None = "error"
    """The severity of the file not being in the bundle (None: it may be left out)."""
    without: str = "groups cannot be made without it"
    """What is lost when the file is not there, for the message."""
    feeds_groups: bool = True
    """Its records become a roster frame; else (roles.csv) they only add to another's records."""
    versions: tuple[Version, ...] = VERSIONS

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    @property
    def manifest_key(self) -> str:
        return f"file.{self.name}"

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def reads(self, version: Version) -> tuple[Column, ...]:
        """The columns read, as ``version`` has them: one the version does not require may be empty or absent."""
        return tuple(c if version in c.required_in else replace(c, empty=None) for c in self.columns)


def _ids_and_meta(*, status: Severity = "error") -> tuple[Column, ...]:
    return (
        Column("sourcedId", empty="error"),
        Column("status", "status", invalid=status),
        Column("dateLastModified", "datetime", invalid="warning"),
    )


_ORG_TYPES = ("department", "district", "local", "national", "school", "state")
_SESSION_TYPES = ("gradingPeriod", "semester", "schoolYear", "term")
_CLASS_TYPES = ("homeroom", "scheduled")
# 1.1's enrollment roles and 1.2's together: a bundle of either version may use its own.
_ENROLLMENT_ROLES = ("administrator", "aide", "guardian", "parent", "proctor", "relative", "student", "teacher")

FILES: dict[str, CsvFile] = {
    file.name: file
    for file in (
        CsvFile(
            "orgs",
            "org",
            (
                *_ids_and_meta(),
                Column("name", empty="warning"),
                Column("type", "enum", empty="warning", invalid="warning", vocabulary=_ORG_TYPES),
                Column("identifier"),
            ),
        ),
        CsvFile(
            "academicSessions",
            "academic session",
            (
                *_ids_and_meta(),
                Column("title", empty="warning"),
                Column("type", "enum", empty="warning", invalid="warning", vocabulary=_SESSION_TYPES),
                Column("startDate", "date", empty="error", becomes="start_date"),
                Column("endDate", "date", empty="error", becomes="end_date"),
                Column("schoolYear", "year", empty="warning", invalid="warning"),
            ),
        ),
        CsvFile(
            "courses",
            "course",
            (
                *_ids_and_meta(status="warning"),
                Column("title", empty="warning"),
                Column("courseCode"),
                Column("subjects", "list"),
                Column("subjectCodes", "list"),
            ),
            absent="warning",
            without="group names cannot use course titles, codes or subjects",
        ),
        CsvFile(
            "classes",
            "class",
            (
                *_ids_and_meta(),
                Column("title", empty="warning"),
                Column("classCode"),
                Column("classType", "enum", invalid="warning", vocabulary=_CLASS_TYPES),
                Column("location"),
                Column("grades", "list"),
                Column("subjects", "list"),
                Column("subjectCodes", "list"),
                Column("periods", "list"),
                Column("courseSourcedId", empty="warning"),
                Column("schoolSourcedId", empty="error"),
                Column("termSourcedIds", "list", empty="error"),
            ),
        ),
        CsvFile(
            "enrollments",
            "enrollment",
            (
                *_ids_and_meta(),
                Column("classSourcedId", empty="error"),
                Column("schoolSourcedId", empty="warning"),
                Column("userSourcedId", empty="error"),
                Column("role", "enum", empty="error", vocabulary=_ENROLLMENT_ROLES),
                Column("primary", "flag", becomes="primary"),
                Column("beginDate", "date", becomes="begin_date"),
                Column("endDate", "date", becomes="end_date"),
            ),
        ),
        CsvFile(
            "roles",
            "role",
            (
                Column("sourcedId", empty="warning"),
                Column("status", "status", invalid="warning"),
                Column("userSourcedId", empty="warning"),
                Column("role", empty="warning"),
            ),
            absent=None,
            feeds_groups=False,
            versions=("1.2",),
        ),
        CsvFile(
            "users",
            "user",
            (
                *_ids_and_meta(),
                Column("enabledUser", "flag", empty="error", becomes="enabled"),
                Column("givenName", empty="warning"),
                Column("familyName", empty="warning"),
                Column("username"),
                Column("email"),
                Column("identifier"),
                Column("userIds", "user_ids", invalid="warning"),
                Column("role", empty="warning", required_in=("1.1",)),
            ),
        ),
    )
}
"""The files we read, in the order we read them (roles.csv before the users it adds to)."""
