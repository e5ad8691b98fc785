"""How many requests an export sends: what the wait under real latency is made of.

`make bench` times these exports at 100 ms per request; this guards, without timing, the counts
its ideal is computed from: every page asked once, one token per session, a school read through its
own records, a refresh that re-reads one page per collection.
"""

from __future__ import annotations

import math

import polars as pl

from cers_core import ExportContext, GroupExport, GroupOptions, export_section_groups
from cers_core.http.oauth import TokenCache
from cers_core.oneroster.snapshot import RosterSnapshot
from cers_demo import DemoDistrict, DemoProvider
from tests.support import DEMO_REFERENCE_DATE, context_reaching

PAGE = 500
COLLECTIONS = ["orgs", "academicSessions", "courses", "classes", "enrollments", "users"]
SCHOOL = "org-0002"


def sent(provider: DemoProvider, schools: list[str] | None, context: ExportContext) -> tuple[GroupExport, dict]:
    """The export, and the requests it sent by collection (``token`` for the token endpoint)."""
    provider.request_log.clear()
    result = export_section_groups(
        provider.settings(page_size=PAGE), GroupOptions(), schools=schools, as_of=DEMO_REFERENCE_DATE, context=context
    )
    by_collection = {path.rsplit("/", 1)[-1]: n for path, n in provider.request_log.counts().items()}
    by_collection["token"] = by_collection.pop("token", 0)
    by_collection["orgs"] = by_collection.pop("schools", 0)  # the school list is read at /schools
    return result, by_collection


def pages(records: int) -> int:
    return max(1, math.ceil(records / PAGE))


def test_the_whole_district_asks_for_every_page_once_with_one_token(make_demo_provider, demo_district: DemoDistrict):
    provider = make_demo_provider()
    result, requests = sent(provider, None, context_reaching(provider))
    records = demo_district.record_counts()
    assert requests == {"token": 1, **{name: pages(records[name]) for name in COLLECTIONS}}
    assert result.requests == sum(requests.values()) - 1  # what the report says: the data requests


def test_a_school_reads_its_own_enrollments_and_a_refresh_reads_one_page_of_each(
    make_demo_provider, demo_district: DemoDistrict
):
    provider = make_demo_provider()
    session = context_reaching(provider, snapshot=RosterSnapshot(), token_cache=TokenCache())
    enrollments = demo_district.frames()["enrollments"].filter(pl.col("school.sourcedId") == SCHOOL).height
    assert pages(enrollments) < pages(demo_district.record_counts()["enrollments"])  # sanity: a school is less

    _, first = sent(provider, [SCHOOL], session)
    assert (first["token"], first["enrollments"], first["classes"]) == (1, pages(enrollments), 1)

    again, refresh = sent(provider, [SCHOOL], session)
    assert refresh == {"token": 0, **dict.fromkeys(COLLECTIONS, 1)}  # the session's token; what changed since
    assert again.requests == len(COLLECTIONS)
