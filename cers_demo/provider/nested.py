"""The nested routes of the demo provider (``/schools/{id}/classes`` …): which rows each one selects.

Each route names its parents by sourcedId; an unknown parent is a 404 ``unknownobject``, as the
binding says. The rows are a condition on the collection's frame, made only when the query
cache misses (``Selection.rows``): for the students of a class that means a scan of the
enrollments, which a second page must not repeat.

``create_provider_app`` (``routes.py``) makes one route per entry of ``NestedRoutes.selections()``.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
from starlette.requests import Request

from cers_demo.provider.imsx import unknown_record
from cers_demo.provider.store import VIEWS, RecordStore, Selection

__all__ = ["NestedRoutes"]


class NestedRoutes:
    """The selections of the 17 nested GET paths of the 1.2 OpenAPI file, over one store."""

    def __init__(self, store: RecordStore) -> None:
        self.store = store

    def selections(self) -> dict[str, Callable[[Request], Selection]]:
        """Each nested path, relative to the base path, and how a request to it selects its rows."""
        return {
            "/classes/{classSourcedId}/students": self._class_people("students"),
            "/classes/{classSourcedId}/teachers": self._class_people("teachers"),
            "/courses/{courseSourcedId}/classes": self._course_classes,
            "/schools/{schoolSourcedId}/classes": self._school_rows("classes", "school.sourcedId"),
            "/schools/{schoolSourcedId}/classes/{classSourcedId}/enrollments": self._school_class_enrollments,
            "/schools/{schoolSourcedId}/classes/{classSourcedId}/students": self._class_people("students"),
            "/schools/{schoolSourcedId}/classes/{classSourcedId}/teachers": self._class_people("teachers"),
            "/schools/{schoolSourcedId}/courses": self._school_rows("courses", "org.sourcedId"),
            "/schools/{schoolSourcedId}/enrollments": self._school_rows("enrollments", "school.sourcedId"),
            "/schools/{schoolSourcedId}/students": self._school_people("students"),
            "/schools/{schoolSourcedId}/teachers": self._school_people("teachers"),
            "/schools/{schoolSourcedId}/terms": self._school_terms,
            "/students/{studentSourcedId}/classes": self._user_classes("students", "studentSourcedId"),
            "/teachers/{teacherSourcedId}/classes": self._user_classes("teachers", "teacherSourcedId"),
            "/users/{userSourcedId}/classes": self._user_classes("users", "userSourcedId"),
            "/terms/{termSourcedId}/classes": self._term_classes,
            "/terms/{termSourcedId}/gradingPeriods": self._term_grading_periods,
        }

    def _require(self, view: str, request: Request, param: str) -> str:
        sourced_id = request.path_params[param]
        if not self.store.exists(VIEWS[view], sourced_id):
            raise unknown_record(VIEWS[view].what, sourced_id)
        return sourced_id

    def _class_people(self, view: str) -> Callable[[Request], Selection]:
        """Students or teachers of a class: users with an active enrollment in it in that role."""
        role = "student" if view == "students" else "teacher"

        def select(request: Request) -> Selection:
            class_id = self._require("classes", request, "classSourcedId")
            where = (pl.col("class.sourcedId") == class_id) & (pl.col("role") == role) & (pl.col("status") == "active")
            if "schoolSourcedId" in request.path_params:
                where &= pl.col("school.sourcedId") == self._require("schools", request, "schoolSourcedId")

            def rows() -> pl.Expr:
                users = self.store.column("enrollments", "user.sourcedId", where)
                return pl.col("sourcedId").is_in(users.implode())

            return Selection(VIEWS[view], rows, request.url.path)

        return select

    def _course_classes(self, request: Request) -> Selection:
        course_id = self._require("courses", request, "courseSourcedId")
        return Selection(VIEWS["classes"], lambda: pl.col("course.sourcedId") == course_id, request.url.path)

    def _school_rows(self, view: str, column: str) -> Callable[[Request], Selection]:
        def select(request: Request) -> Selection:
            school_id = self._require("schools", request, "schoolSourcedId")
            return Selection(VIEWS[view], lambda: pl.col(column) == school_id, request.url.path)

        return select

    def _school_class_enrollments(self, request: Request) -> Selection:
        school_id = self._require("schools", request, "schoolSourcedId")
        class_id = self._require("classes", request, "classSourcedId")
        where = (pl.col("school.sourcedId") == school_id) & (pl.col("class.sourcedId") == class_id)
        return Selection(VIEWS["enrollments"], lambda: where, request.url.path)

    def _school_people(self, view: str) -> Callable[[Request], Selection]:
        def select(request: Request) -> Selection:
            school_id = self._require("schools", request, "schoolSourcedId")
            return Selection(
                VIEWS[view], lambda: pl.col("roles.org.sourcedId").list.contains(school_id), request.url.path
            )

        return select

    def _school_terms(self, request: Request) -> Selection:
        """The terms the school's classes are in, and the sessions those belong to."""
        school_id = self._require("schools", request, "schoolSourcedId")

        def rows() -> pl.Expr:
            terms = self.store.column("classes", "terms.sourcedId", pl.col("school.sourcedId") == school_id)
            used = set(terms.explode().drop_nulls().unique().to_list())
            parents = self.store.session_parents()
            for term in list(used):
                while (term := parents.get(term)) is not None:
                    used.add(term)
            return pl.col("sourcedId").is_in(sorted(used))

        return Selection(VIEWS["terms"], rows, request.url.path)

    def _user_classes(self, view: str, param: str) -> Callable[[Request], Selection]:
        """The classes a user has an active enrollment in."""

        def select(request: Request) -> Selection:
            user_id = self._require(view, request, param)
            where = (pl.col("user.sourcedId") == user_id) & (pl.col("status") == "active")

            def rows() -> pl.Expr:
                classes = self.store.column("enrollments", "class.sourcedId", where)
                return pl.col("sourcedId").is_in(classes.implode())

            return Selection(VIEWS["classes"], rows, request.url.path)

        return select

    def _term_classes(self, request: Request) -> Selection:
        term_id = self._require("terms", request, "termSourcedId")
        return Selection(VIEWS["classes"], lambda: pl.col("terms.sourcedId").list.contains(term_id), request.url.path)

    def _term_grading_periods(self, request: Request) -> Selection:
        """Grading periods within the term, at any depth (a year's are its semesters' quarters)."""
        term_id = self._require("terms", request, "termSourcedId")
        parents = self.store.session_parents()

        def within(session: str | None) -> bool:
            while session is not None:
                if session == term_id:
                    return True
                session = parents.get(session)
            return False

        inside = [s for s in parents if s != term_id and within(s)]
        return Selection(VIEWS["gradingPeriods"], lambda: pl.col("sourcedId").is_in(inside), request.url.path)
