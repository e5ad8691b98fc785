"""The district's records as the demo provider queries them: views, selections, and a query's rows.

A collection endpoint serves a ``View`` of one of the district's frames (``/schools`` is the
orgs of type school); a nested route narrows it further to a ``Selection`` (the classes of one
school). ``RecordStore.rows`` turns a selection and the request's ``Query`` (filter, sort) into
row indices, computed once and kept in a small cache for the pages that follow: for a nested
route over 2,000,000 enrollments the scan is the expensive part, the page is not.

With ``dangling_references`` the store also holds, per school, enrollments that name
``DANGLING_USER`` and ``DANGLING_CLASS``, which no record has.

``create_provider_app`` (``routes.py``) builds one per app; the routes' doctest reads through it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import polars as pl

from cers_demo.district import DemoDistrict

__all__ = ["DANGLING_CLASS", "DANGLING_USER", "VIEWS", "Query", "RecordStore", "Selection", "View"]

# sourcedIds that ``dangling_references`` enrollments name and that no record has.
DANGLING_USER = "usr-does-not-exist"
DANGLING_CLASS = "cls-does-not-exist"


@dataclass(frozen=True, slots=True)
class View:
    """A collection as an endpoint sees it: a frame, maybe restricted to some rows."""

    name: str
    frame: str
    envelope: str
    single: str
    rows: pl.Expr | None = None
    what: str = ""
    """How a 404 names a missing record ("school", "term", ...)."""


VIEWS = {
    view.name: view
    for view in (
        View("orgs", "orgs", "orgs", "org", what="org"),
        View("schools", "orgs", "orgs", "org", pl.col("type") == "school", "school"),
        View("academicSessions", "academicSessions", "academicSessions", "academicSession", what="academic session"),
        View(
            "terms",
            "academicSessions",
            "academicSessions",
            "academicSession",
            pl.col("type") != "gradingPeriod",
            "term",
        ),
        View(
            "gradingPeriods",
            "academicSessions",
            "academicSessions",
            "academicSession",
            pl.col("type") == "gradingPeriod",
            "grading period",
        ),
        View("classes", "classes", "classes", "class", what="class"),
        View("courses", "courses", "courses", "course", what="course"),
        View("enrollments", "enrollments", "enrollments", "enrollment", what="enrollment"),
        View("users", "users", "users", "user", what="user"),
        View("students", "users", "users", "user", pl.col("roles.role").list.contains("student"), "student"),
        View("teachers", "users", "users", "user", pl.col("roles.role").list.contains("teacher"), "teacher"),
        View("demographics", "demographics", "demographics", "demographics", what="demographics record"),
    )
}


@dataclass(frozen=True, slots=True)
class Selection:
    """The rows a collection request is about, before paging."""

    view: View
    rows: Callable[[], pl.Expr] | None = None
    """Makes the condition on the view's rows; called only when the query cache misses,
    because for nested routes it can mean a scan of 2,000,000 enrollments."""
    key: str = ""
    """Identifies ``rows`` for the query cache (the request path does)."""


@dataclass(frozen=True, slots=True)
class Query:
    """What a collection request asks for besides its rows: a page, a filter, a sort, the fields."""

    limit: int
    offset: int
    filter: pl.Expr | None
    filter_text: str | None
    sort: str | None
    descending: bool
    fields: frozenset[str] | None


class RecordStore:
    """The district's frames, lookups by sourcedId and a small cache of query results."""

    _CACHE_SIZE: ClassVar[int] = 32

    def __init__(self, district: DemoDistrict, *, dangling_references: bool = False) -> None:
        self.frames = district.frames() | {
            "demographics": pl.DataFrame(
                schema={"sourcedId": pl.String, "status": pl.String, "dateLastModified": pl.Datetime("ms", "UTC")}
            )
        }
        if dangling_references:
            self.frames["enrollments"] = _with_dangling_enrollments(district)
        self._cache: OrderedDict[tuple[Any, ...], pl.Series] = OrderedDict()
        self._lock = threading.Lock()

    def find(self, view: View, sourced_id: str) -> pl.DataFrame | None:
        """The one-row frame of ``sourced_id`` in ``view`` (frames are sorted by sourcedId)."""
        frame = self.frames[view.frame]
        ids = frame.get_column("sourcedId")
        at = int(ids.search_sorted(sourced_id))
        if at >= frame.height or ids[at] != sourced_id:
            return None
        row = frame.slice(at, 1)
        if view.rows is not None and row.filter(view.rows).is_empty():
            return None
        return row

    def exists(self, view: View, sourced_id: str) -> bool:
        return self.find(view, sourced_id) is not None

    def column(self, frame: str, column: str, where: pl.Expr) -> pl.Series:
        return self.frames[frame].filter(where).get_column(column)

    def session_parents(self) -> dict[str, str | None]:
        sessions = self.frames["academicSessions"]
        return dict(zip(sessions["sourcedId"].to_list(), sessions["parent.sourcedId"].to_list(), strict=True))

    def rows(self, selection: Selection, spec: Query) -> pl.Series | None:
        """Row indices of the selection after filter and sort, or None for "every row, in order"."""
        view = selection.view
        if view.rows is None and selection.rows is None and spec.filter is None and spec.sort is None:
            return None
        key = (view.name, selection.key, spec.filter_text, spec.sort, spec.descending)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        subset = selection.rows() if selection.rows is not None else None
        conditions = [c for c in (view.rows, subset, spec.filter) if c is not None]
        query = self.frames[view.frame].lazy().with_row_index("_row")
        if conditions:
            query = query.filter(*conditions)
        if spec.sort is not None:
            # sourcedId breaks ties, so that pages of a sorted collection are stable.
            query = query.sort([spec.sort, "sourcedId"], descending=[spec.descending, False], nulls_last=True)
        rows = query.select("_row").collect().get_column("_row")
        with self._lock:
            self._cache[key] = rows
            while len(self._cache) > self._CACHE_SIZE:
                self._cache.popitem(last=False)
        return rows


def _with_dangling_enrollments(district: DemoDistrict) -> pl.DataFrame:
    """The enrollments plus, per school, two current ones that point nowhere: one names
    ``DANGLING_USER`` in a real class, one names a real student in ``DANGLING_CLASS``."""
    enrollments = district.enrollments
    day = district.reference_date
    current = enrollments.filter(
        (pl.col("role") == "student")
        & (pl.col("status") == "active")
        & (pl.col("beginDate").is_null() | (pl.col("beginDate") <= day))
        & (pl.col("endDate").is_null() | (pl.col("endDate") > day))
    )
    templates = current.group_by("school.sourcedId", maintain_order=True).first()
    school = pl.col("school.sourcedId")
    no_user = templates.with_columns(
        (pl.lit("enr-zz-dangling-user-") + school).alias("sourcedId"), pl.lit(DANGLING_USER).alias("user.sourcedId")
    )
    no_class = templates.with_columns(
        (pl.lit("enr-zz-dangling-class-") + school).alias("sourcedId"), pl.lit(DANGLING_CLASS).alias("class.sourcedId")
    )
    added = [extra.select(enrollments.columns) for extra in (no_user, no_class)]
    return pl.concat([enrollments, *added]).sort("sourcedId")
