"""The catalogue of digital-learning applications a district can add, as data.

The "Browse Applications" panel searches this list. Only ``CERS_int`` is part of this tool
(``available``); the others are the kind of applications a district's configuration tool
lists next to it, shown so the panel reads as it does in the SIS, and marked as not set up
here.

Example::

    >>> [app.app_id for app in browse("cers")]
    ['CERS_int']
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CATALOGUE", "Application", "UnknownApplication", "browse", "get_application"]


@dataclass(frozen=True, slots=True)
class Application:
    """One application in the catalogue: what a person sees when browsing, and whether we can set it up."""

    app_id: str
    name: str
    description: str
    available: bool = False


CATALOGUE: tuple[Application, ...] = (
    Application(
        "CERS_int",
        "CERS_int",
        "California Educator Reporting System (CERS) integration: turns the district's OneRoster 1.2 "
        "class rosters into CERS section-group files, so teachers see their own students' CAASPP and "
        "ELPAC results.",
        available=True,
    ),
    Application(
        "canvas_lms",
        "Canvas LMS",
        "Learning management system: courses, assignments and grades, rostered from the SIS.",
    ),
    Application(
        "clever_sync",
        "Clever Sync",
        "Single sign-on and rostering hub that shares class lists with many learning apps.",
    ),
    Application(
        "google_classroom",
        "Google Classroom",
        "Creates classes and invites students and teachers from the SIS sections.",
    ),
    Application(
        "iready",
        "i-Ready",
        "Diagnostic assessment and personalized instruction in reading and mathematics.",
    ),
    Application(
        "khan_academy_districts",
        "Khan Academy Districts",
        "Practice and mastery tracking in math, science and ELA, with district rosters.",
    ),
    Application(
        "lexia_core5",
        "Lexia Core5 Reading",
        "Adaptive literacy program for grades pre-K to 5, rostered by class.",
    ),
    Application(
        "nwea_map",
        "NWEA MAP Growth",
        "Interim assessment of growth in reading, language usage and mathematics.",
    ),
    Application(
        "renaissance_star",
        "Renaissance Star Assessments",
        "Computer-adaptive screening and progress monitoring for reading and math.",
    ),
    Application(
        "schoology",
        "Schoology",
        "Learning management system with course materials, grading and parent access.",
    ),
    Application(
        "seesaw",
        "Seesaw",
        "Student portfolios and family communication for elementary classrooms.",
    ),
)


class UnknownApplication(LookupError):
    """No application in the catalogue has this id (a stored id from an older catalogue)."""


def browse(query: str = "") -> list[Application]:
    """The applications whose name, id or description holds every word of ``query``, alphabetically.

    Matching ignores case; an empty query lists the whole catalogue.
    """
    words = query.casefold().split()
    found = [
        app
        for app in CATALOGUE
        if all(word in f"{app.name} {app.app_id} {app.description}".casefold() for word in words)
    ]
    return sorted(found, key=lambda app: app.name.casefold())


def get_application(app_id: str) -> Application:
    for app in CATALOGUE:
        if app.app_id == app_id:
            return app
    raise UnknownApplication(app_id)
