"""The Applications page and the catalogue it browses."""

from __future__ import annotations

import pytest

from cers_core.applications import CATALOGUE, UnknownApplication, browse, get_application


def test_the_catalogue_is_alphabetical_and_only_cers_is_available() -> None:
    names = [app.name for app in browse()]
    assert names == sorted(names, key=str.casefold)
    assert len(names) == len(CATALOGUE)
    assert [app.app_id for app in CATALOGUE if app.available] == ["CERS_int"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("cers", ["CERS_int"]),
        ("  CERS_INT ", ["CERS_int"]),
        ("educator reporting", ["CERS_int"]),
        ("learning management", ["Canvas LMS", "Schoology"]),
        ("no such thing", []),
    ],
)
def test_browse_matches_every_word(query: str, expected: list[str]) -> None:
    assert [app.name for app in browse(query)] == expected


def test_unknown_application() -> None:
    assert get_application("CERS_int").available
    with pytest.raises(UnknownApplication):
        get_application("nope")
