"""Whole exports of the demo district from the demo provider (in process), through every way it may serve them."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date

import polars as pl
import pytest

from cers_core import ExportContext, GroupExport, GroupOptions, export_section_groups, list_schools
from cers_core.cers_csv import validate_cers_csv
from cers_core.errors import SettingsError
from cers_core.http.oauth import TokenCache
from cers_core.oneroster.fetch import ProviderCapabilities
from cers_core.oneroster.snapshot import RosterSnapshot
from cers_demo import DemoDistrict, DemoProvider
from cers_demo.provider import ROSTER_CORE_SCOPE, ROSTER_SCOPE
from tests.support import DEMO_REFERENCE_DATE, context_reaching


def export(
    provider: DemoProvider,
    options: GroupOptions | None = None,
    *,
    context: ExportContext | None = None,
    as_of: date = DEMO_REFERENCE_DATE,
    **kwargs,
):
    """An export from ``provider``; ``context`` gets the transport that reaches it."""
    context = dataclasses.replace(context or ExportContext(), transport=provider.transport())
    return export_section_groups(provider.settings(), options, as_of=as_of, context=context, **kwargs)


@pytest.fixture(scope="module")
def district_export(demo_provider):
    return export(demo_provider, GroupOptions(split_large=True))


def problem_codes(result, user_or_class: str) -> set[str]:
    rows = result.problems.filter((pl.col("user_id") == user_or_class) | (pl.col("class_id") == user_or_class))
    return set(rows["code"].to_list())


def test_the_district_file_passes_the_validator(district_export):
    assert district_export.accepted
    assert district_export.validation.accepted and district_export.validation.errors == []
    assert validate_cers_csv(district_export.csv_bytes).accepted
    assert district_export.csv_bytes.startswith(
        b"group_name,school_natural_id,school_year,subject_code,student_ssid,group_user_login\r\n"
    )
    assert set(district_export.rows["school_year"].to_list()) == {2027}
    assert district_export.schools.height == district_export.rows["school_natural_id"].n_unique()


def test_every_awkward_demo_record_is_handled_as_the_rules_say(district_export, demo_district):
    cases, result = demo_district.cases, district_export
    assert problem_codes(result, cases.student_without_ssid) == {"student_without_ssid"}
    assert problem_codes(result, cases.student_with_malformed_ssid) == {"student_invalid_ssid"}
    assert "user_inactive" in problem_codes(result, cases.disabled_student)
    assert problem_codes(result, cases.teacher_without_usable_login) == {"teacher_without_login"}
    username = demo_district.users.filter(pl.col("sourcedId") == cases.teacher_with_email_username)["username"][0]
    assert username in result.rows["group_user_login"].to_list()
    groups = result.groups
    names = dict(groups.select("class_id", "group_name").unique("class_id").iter_rows())
    first, second = cases.colliding_sections
    assert names[first] != names[second] and names[first].endswith(")") and names[second].endswith(")")
    for case in (cases.title_with_comma, cases.title_with_quotes, cases.title_with_formula):
        assert not any(c in names[case] for c in ',"\\') and names[case][0] not in "=+-@ "
    for case in (cases.class_without_type, cases.class_with_ext_type, cases.homeroom, cases.co_taught_section):
        assert case in names
    assert cases.last_year_class not in names
    parts = groups.filter(pl.col("class_id") == cases.large_section)
    assert parts.height == 2 and parts["students"].max() <= 200
    assert all(n.endswith(("(1 of 2)", "(2 of 2)")) for n in parts["group_name"])


def test_without_splitting_the_large_section_is_an_error(demo_provider, demo_district):
    result = export(demo_provider)
    assert not result.accepted
    over = result.problems.filter(pl.col("code") == "group_over_200")
    assert over["class_id"].to_list() == [demo_district.cases.large_section]
    assert any("contains" in f.message and "Maximum students" in f.message for f in result.validation.errors)


def test_one_school_by_cds_or_sourced_id_matches_the_district_file(demo_provider, district_export):
    school = district_export.schools.row(0, named=True)
    by_cds = export(demo_provider, GroupOptions(split_large=True), schools=[school["cds"]])
    by_id = export(demo_provider, GroupOptions(split_large=True), schools=[school["sourced_id"]])
    assert by_cds.csv_bytes == by_id.csv_bytes
    assert by_cds.file_name() == f"cers_section_groups_{school['cds']}_2026-11-28.csv"
    district_rows = district_export.rows.filter(pl.col("school_natural_id") == school["cds"])
    assert by_cds.rows.equals(district_rows)


def test_an_unknown_school_is_a_usage_error(demo_provider):
    with pytest.raises(SettingsError, match="No school with the sourcedId or CDS code nowhere"):
        export(demo_provider, schools=["nowhere"])


def test_list_schools_gives_names_and_cds_codes(demo_provider, demo_district):
    schools = list_schools(demo_provider.settings(), context=context_reaching(demo_provider))
    assert schools.height == demo_district.orgs.filter(pl.col("type") == "school").height
    assert schools["cds"].str.contains(r"^\d{14}$").all()


PROVIDER_MODES = {
    "nested routes with roster.readonly": {},
    "core scope only (nested routes refused)": {"client_scopes": frozenset({ROSTER_CORE_SCOPE})},
    "no nested routes at all (Ed-Fi)": {"nested_routes": False},
    "no filtering": {"nested_routes": False, "filter_fields": frozenset()},
    "no dotted filters": {"nested_routes": False, "dotted_filters": False},
    "small clamped pages": {"max_page_size": 7},
    "no X-Total-Count nor Link": {"max_page_size": 50, "total_count_header": False, "link_header": False},
    "Link without X-Total-Count": {"max_page_size": 50, "total_count_header": False},
    "cookie required": {"require_cookie": True},
    "vendor prefix": {"base_path": "/campus/api/ims/oneroster/rostering/v1p2"},
    "1.1-style users and JSON booleans": {"legacy_user_role": True, "json_booleans": True},
    "relative hrefs": {"relative_hrefs": True},
}


@pytest.fixture(scope="module")
def one_school_baseline(demo_provider, district_export):
    cds = district_export.schools["cds"][2]
    return cds, export(demo_provider, GroupOptions(split_large=True), schools=[cds]).csv_bytes


@pytest.mark.parametrize("mode", list(PROVIDER_MODES))
def test_the_file_is_the_same_however_the_provider_serves_the_rosters(mode, make_demo_provider, one_school_baseline):
    cds, expected = one_school_baseline
    provider = make_demo_provider(**PROVIDER_MODES[mode])
    scope = f"{ROSTER_CORE_SCOPE} {ROSTER_SCOPE}"
    result = export_section_groups(
        provider.settings(scope=scope),
        GroupOptions(split_large=True),
        schools=[cds],
        as_of=DEMO_REFERENCE_DATE,
        context=context_reaching(provider),
    )
    assert result.csv_bytes == expected


def test_a_refresh_asks_only_for_what_changed_and_gives_the_same_file(demo_provider, district_export):
    cds = district_export.schools["cds"][1]
    snapshot, read = RosterSnapshot(), {}

    def records_read(context_snapshot: RosterSnapshot) -> ExportContext:
        read.clear()
        return ExportContext(snapshot=context_snapshot, on_progress=lambda p: read.__setitem__(p.collection, p.records))

    first = export(demo_provider, GroupOptions(split_large=True), schools=[cds], context=records_read(snapshot))
    first_records = sum(read.values())
    again = export(demo_provider, GroupOptions(split_large=True), schools=[cds], context=records_read(snapshot))
    assert again.csv_bytes == first.csv_bytes
    assert snapshot.deltas is True
    # Every collection was read in full once, and asked again for its changes only: a few records.
    assert snapshot.full_reads == snapshot.delta_reads == len(snapshot.kept)
    assert sum(read.values()) < first_records / 50
    # Nothing new came back, so the file was not made again: the same rows, with this read's requests.
    assert snapshot.changes == snapshot.full_reads
    assert again.rows is first.rows
    other_day = export(
        demo_provider,
        GroupOptions(split_large=True),
        schools=[cds],
        as_of=DEMO_REFERENCE_DATE.replace(day=1),
        context=records_read(snapshot),
    )
    assert other_day.rows is not first.rows  # another day is another file, made anew


def test_a_delta_with_a_new_version_changes_the_snapshot_and_one_with_none_does_not():
    def frame(*records: tuple[str, str, str]) -> pl.DataFrame:
        return pl.DataFrame(records, schema=["sourced_id", "modified", "given_name"], orient="row")

    answers = [
        frame(("u1", "2026-11-01T00:00:00Z", "Ana"), ("u2", "2026-11-02T00:00:00Z", "Ben")),
        frame(("u2", "2026-11-02T00:00:00Z", "Ben")),  # the record at the mark, again
        frame(("u2", "2026-11-02T00:00:00Z", "Ben"), ("u1", "2026-11-03T00:00:00Z", "Anna")),
    ]
    asked = []

    async def read(params):
        asked.append(params)
        return answers[len(asked) - 1]

    async def three_reads(snapshot: RosterSnapshot) -> list[pl.DataFrame]:
        return [await snapshot.read("/users", None, read) for _ in answers]

    snapshot = RosterSnapshot()
    full, unchanged, changed = asyncio.run(three_reads(snapshot))
    assert unchanged is full
    assert asked[1] == {"filter": "dateLastModified>='2026-11-02T00:00:00Z'"}
    assert changed.sort("sourced_id")["given_name"].to_list() == ["Anna", "Ben"]
    assert (snapshot.full_reads, snapshot.delta_reads, snapshot.changes) == (1, 2, 2)


def test_after_a_district_read_a_school_comes_from_the_snapshot(demo_provider, district_export):
    snapshot = RosterSnapshot()
    context = ExportContext(snapshot=snapshot)
    export(demo_provider, GroupOptions(split_large=True), context=context)
    cds = district_export.schools["cds"][0]
    school = export(demo_provider, GroupOptions(split_large=True), schools=[cds], context=context)
    assert school.rows.equals(district_export.rows.filter(pl.col("school_natural_id") == cds))
    assert school.requests <= 8  # schools, sessions and four collections, each one delta page


def test_a_provider_without_filters_is_read_in_full_again(make_demo_provider, one_school_baseline):
    cds, expected = one_school_baseline
    provider = make_demo_provider(nested_routes=False, filter_fields=frozenset())
    snapshot = RosterSnapshot()
    context = ExportContext(snapshot=snapshot)
    for _ in range(2):
        result = export(provider, GroupOptions(split_large=True), schools=[cds], context=context)
        assert result.csv_bytes == expected
    assert snapshot.deltas is False


def _pages(rows: int, page_size: int = 1000) -> int:
    return max(1, -(-rows // page_size))


@pytest.mark.parametrize("school_index", [0, 1, 2])
def test_a_school_preview_needs_no_more_requests_than_its_pages(demo_provider, demo_district, school_index):
    """Request-count guard: one page per 1,000 of the school's own records, nothing district-wide
    but the school and term lists, and the failed tries of discovering the provider only once."""
    district = demo_district
    school = district.orgs.filter(pl.col("type") == "school").sort("sourcedId").row(school_index, named=True)
    sid = school["sourcedId"]
    own = {
        "classes": district.classes.filter(pl.col("school.sourcedId") == sid).height,
        "enrollments": district.enrollments.filter(pl.col("school.sourcedId") == sid).height,
        "users": district.users.filter(pl.col("roles.org.sourcedId").list.contains(sid)).height,
        "courses": district.courses.filter(pl.col("org.sourcedId") == sid).height,
    }
    scoped_pages = sum(_pages(n) for n in own.values())
    capabilities = ProviderCapabilities()
    context = ExportContext(capabilities=capabilities)
    first = export(demo_provider, GroupOptions(split_large=True), schools=[school["identifier"]], context=context)
    # schools + sessions, the school's own pages, one refused nested route per collection (core scope)
    assert first.requests <= 2 + scoped_pages + 4
    again = export(demo_provider, GroupOptions(split_large=True), schools=[school["identifier"]], context=context)
    assert again.requests <= 2 + scoped_pages


# Exact request counts: what the latency bench's ideal is made of (`make bench` times these exports
# at 100 ms per request): every page asked once, one token per session, a school read through its own
# records, a refresh that re-reads one page per collection.

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


def test_the_whole_district_asks_for_every_page_once_with_one_token(make_demo_provider, demo_district: DemoDistrict):
    provider = make_demo_provider()
    result, requests = sent(provider, None, context_reaching(provider))
    records = demo_district.record_counts()
    assert requests == {"token": 1, **{name: _pages(records[name], PAGE) for name in COLLECTIONS}}
    assert result.requests == sum(requests.values()) - 1  # what the report says: the data requests


def test_a_school_reads_its_own_enrollments_and_a_refresh_reads_one_page_of_each(
    make_demo_provider, demo_district: DemoDistrict
):
    provider = make_demo_provider()
    session = context_reaching(provider, snapshot=RosterSnapshot(), token_cache=TokenCache())
    enrollments = demo_district.frames()["enrollments"].filter(pl.col("school.sourcedId") == SCHOOL).height
    all_enrollments = demo_district.record_counts()["enrollments"]
    assert _pages(enrollments, PAGE) < _pages(all_enrollments, PAGE)  # sanity: a school is less

    _, first = sent(provider, [SCHOOL], session)
    assert (first["token"], first["enrollments"], first["classes"]) == (1, _pages(enrollments, PAGE), 1)

    again, refresh = sent(provider, [SCHOOL], session)
    assert refresh == {"token": 0, **dict.fromkeys(COLLECTIONS, 1)}  # the session's token; what changed since
    assert again.requests == len(COLLECTIONS)
