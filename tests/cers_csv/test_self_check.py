"""The check of our own files by columns gives exactly the streaming validator's report.

Proven on every file the validator's and the writer's tests make (written again by our writer),
on the hand-written rosters and the demo district with several group options, and on frames
hypothesis makes with hostile values, in order as the writer orders them and in any order.
"""

from __future__ import annotations

import dataclasses
import io
from typing import Any, NamedTuple

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.self_check import measure_self_check
from cers_core import ExportContext, GroupOptions, export_section_groups
from cers_core.cers_csv import (
    CERS_COLUMNS,
    ValidationReport,
    order_cers_rows,
    validate_cers_csv,
    write_ordered_rows,
)
from cers_core.cers_csv.commons_csv import CommonsCsvReader, CsvSyntaxError, TextFacts, utf8_text
from cers_core.cers_csv.java_text import fold_case
from cers_core.cers_csv.self_check import _fold_each, check_written_rows, why_not_by_columns
from cers_core.groups import build_section_groups
from cers_core.oneroster_csv import read_bundle
from cers_demo.csv_bundle import write_csv_bundle
from tests.cers_csv import test_validator, test_writer
from tests.support import DEMO_REFERENCE_DATE
from tests.support.rosters import ROSTERS, load_roster

A, B = test_validator.A, test_validator.B
SCHEMA = dict.fromkeys(CERS_COLUMNS, pl.String) | {"school_year": pl.Int64}
QUOTED = "holds a comma, double quote or line break (the file quotes it)"


def same_report(rows: pl.DataFrame, data: bytes | None = None, **options: Any) -> ValidationReport:
    """Both checks of the file written from ``rows``; their reports must be equal, field by field."""
    data = write_ordered_rows(rows) if data is None else data
    streamed = validate_cers_csv(data, **options)
    by_columns = check_written_rows(rows, data, **options)
    for field in dataclasses.fields(ValidationReport):
        assert getattr(by_columns, field.name) == getattr(streamed, field.name), field.name
    return streamed


# -- the corpus: every file the validator's and the writer's tests make -------------------------


class Case(NamedTuple):
    name: str
    rows: pl.DataFrame
    options: dict[str, Any]


def written_rows(data: bytes) -> pl.DataFrame | None:
    """The records of ``data`` as rows our writer writes again, or None when it cannot: a header other
    than CERS's, a record of other than six values, a year that is not an integer as written."""
    reader = CommonsCsvReader(utf8_text(io.BytesIO(data), TextFacts()))
    try:
        header, records = reader.read_header(), list(reader.records())
    except CsvSyntaxError:
        return None
    if header != list(CERS_COLUMNS) or not records or any(len(record) != 6 for record in records):
        return None
    if any(str(_int(record[2])) != record[2] for record in records):
        return None
    frame = pl.DataFrame(records, schema=dict.fromkeys(CERS_COLUMNS, pl.String), orient="row")
    return frame.with_columns(pl.col("school_year").cast(pl.Int64))


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _corpus() -> list[Case]:
    files: list[tuple[str, bytes, dict[str, Any]]] = []
    for param in test_validator.CERS_CASES:
        data, options, _ = param.values
        files.append((f"cers: {param.id}", data, options))
    for lines, _, _, text in test_validator.CHECK_CASES:
        files.append((f"check: {text}", test_validator.csv(*lines), {}))
    for data, _, text in test_validator.FILE_CASES:
        files.append((f"file: {text}", data, {}))
    for name, value in vars(test_validator).items():
        if name.isupper() and isinstance(value, bytes):
            files.append((name, value, {}))
    for path in sorted(test_validator.FIXTURES.glob("*.csv")):
        files.append((path.name, path.read_bytes(), {}))
    cases = [Case(name, rows, options) for name, data, options in files if (rows := written_rows(data)) is not None]
    frames = [(name, value) for module in (test_validator, test_writer) for name, value in vars(module).items()]
    frames += [
        (f"name {name!r}", test_writer.frame((name, A, 2025, "All", "1000000001", None)))
        for name, _ in test_writer.NAMES_WRITTEN
    ]
    for name, value in frames:
        if isinstance(value, pl.DataFrame):
            cases.append(Case(name, order_cers_rows(value), {}))
    return cases


CORPUS = _corpus()


@pytest.mark.parametrize("case", CORPUS, ids=[case.name for case in CORPUS])
def test_every_file_of_the_validator_and_writer_tests_gets_the_streaming_report(case):
    same_report(case.rows, **case.options)


def test_the_corpus_is_checked_by_columns_except_where_the_written_file_is_not_what_the_check_relies_on():
    assert len(CORPUS) > 60
    reasons = {case.name: why_not_by_columns(case.rows) for case in CORPUS}
    refused = {name: reason for name, reason in reasons.items() if reason is not None}
    quoted = f"a group name {QUOTED}"
    assert refused == {
        "NO_SCHOOL_150_TIMES": "a school id is blank",
        "NO_SCHOOL_100_TIMES": "a school id is blank",
        "check: holds a comma": quoted,
        "check: holds a line break": quoted,
        "name 'Smith, John'": quoted,
        "name 'The \"A\" team'": quoted,
        "name 'Two\\r\\nlines'": quoted,
    }


# -- rosters and the demo district, with several group options ---------------------------------

OPTION_SETS = {
    "default": GroupOptions(),
    "split": GroupOptions(split_large=True),
    "names collide": GroupOptions(fields=["course_title"]),
    "primary teachers, subjects": GroupOptions(primary_teachers_only=True, subject_from_course=True, split_large=True),
}


@pytest.mark.parametrize("options", OPTION_SETS.values(), ids=OPTION_SETS.keys())
@pytest.mark.parametrize("roster", sorted(path.stem for path in ROSTERS.glob("*.json")))
def test_every_roster_gets_the_streaming_report(roster, options):
    built = build_section_groups(load_roster(roster), options, as_of=DEMO_REFERENCE_DATE)
    rows = order_cers_rows(built.rows)
    assert why_not_by_columns(rows) is None
    same_report(rows)
    same_report(rows, school_years={2026, 2027}, schools={A})


@pytest.fixture(scope="module")
def demo_roster(demo_district, tmp_path_factory):
    return read_bundle(write_csv_bundle(demo_district, tmp_path_factory.mktemp("bundle") / "demo")).roster


@pytest.mark.parametrize("options", OPTION_SETS.values(), ids=OPTION_SETS.keys())
def test_the_demo_district_gets_the_streaming_report(demo_roster, options):
    rows = order_cers_rows(build_section_groups(demo_roster, options, as_of=DEMO_REFERENCE_DATE).rows)
    assert why_not_by_columns(rows) is None
    report = same_report(rows)
    if not options.split_large:  # the large section breaks CERS's 200 rule: the failure path is taken
        assert any("Maximum students allowed per group is 200" in failure.message for failure in report.cers_failures)
    schools = rows.get_column("school_natural_id").unique().sort().to_list()
    same_report(rows, school_years={2027}, schools=schools[1:])  # a school CERS does not know, its rows skipped


# -- frames hypothesis makes ---------------------------------------------------------------------

SCHOOLS = [
    A, B, "19647336108641", A[1:], "1.96E+13", "19651280000000", "Lincoln High", f" {A}", "Ünï", f"{A}\x1c",
    "０１６１２５９０１３０１４６",
]  # fmt: skip
NAMES = [
    "Algebra", "ALGEBRA", "algebra", "Algebra ", " Algebra", "Straße", "STRASSE", "ſ", "S", "K", "\u212a",
    "İstanbul", "i̇stanbul", "Math 🙂", "a\\b", "tab\there", "nbsp\u00a0", "\u00a0", "x" * 300, "Art", "Art - 1",
    "A1", "A", "Español – Núñez", "\u2028sep", "Ω", "nul\x00", "vt\x0b", "\ufeffbom", "nel\x85",
]  # fmt: skip
SUBJECTS = ["All", "ELA", "Math", "math", "MATH", " Math", "", "Science", "ALL", "ſcience", "\u3000"]
SSIDS = [
    "", "123456789", "12345678901", "SSID001", " 1234567890", "6.2E+09", "12345.0", "+123456789", "-123456789",
    "0x12345678", "١٢٣٤٥٦٧٨٩٠", " ", "\u3000", "0123456789", "0000000000", "１２３４５６７８９０", "12345\u200b67890",
]  # fmt: skip
LOGINS = [
    "", "t@x.org", "T@X.org", "Mr Smith", " t@x.org", "a@b", "ü@x.org", "t@x.org ", "t@x.org\x85", "t\x00@x.org",
    "jane\u200b@x.org", "t@x.org\u202e", "\ufefft@x.org", "t@x.org\u2028",
]  # fmt: skip
YEARS = [2024, 2025, 2025, 1718, -5, 0]

_ssid = st.one_of(st.integers(0, 10**10 - 1).map(lambda n: f"{n:010d}"), st.sampled_from(SSIDS))


@st.composite
def member_rows(draw: st.DrawFn, *, raw: bool) -> pl.DataFrame:
    """Rows of several groups: teachers, students (some hostile), repeats, sometimes over 200 students."""
    rows = []
    for _ in range(draw(st.integers(1, 6))):
        key = (draw(st.sampled_from(NAMES)), draw(st.sampled_from(SCHOOLS)), draw(st.sampled_from(YEARS)))
        subject = draw(st.sampled_from(SUBJECTS))
        members = draw(st.lists(st.tuples(_ssid, st.sampled_from(LOGINS)), max_size=12))
        if draw(st.integers(0, 9)) == 0:
            start = draw(st.integers(0, 10**9))
            members += [(f"{start + n:010d}", "") for n in range(draw(st.integers(190, 215)))]
        if not members or draw(st.booleans()):
            members.append(("", ""))
        for ssid, login in members:
            name, row_subject = key[0], subject
            if raw and draw(st.integers(0, 5)) == 0:  # a row of another spelling, or another subject
                name, row_subject = draw(st.sampled_from(NAMES)), draw(st.sampled_from(SUBJECTS))
            rows.append((name, key[1], key[2], row_subject, ssid, login))
    frame = pl.DataFrame(rows, schema=SCHEMA, orient="row")
    if raw:
        return (
            frame.sample(fraction=1.0, shuffle=True, seed=draw(st.integers(0, 2**32))) if draw(st.booleans()) else frame
        )
    return frame


_OPTIONS = st.sampled_from([{}, {"school_years": {2025}, "schools": {A, B}}, {"subjects": ("ELA", "Math", "Science")}])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(member_rows(raw=False), _OPTIONS)
def test_property_the_writers_rows_get_the_streaming_report(rows, options):
    try:
        ordered = order_cers_rows(rows)
    except ValueError:  # one group given two subjects: no file is written
        return
    same_report(ordered, **options)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(member_rows(raw=True), _OPTIONS)
def test_property_rows_in_any_order_get_the_streaming_report(rows, options):
    same_report(rows, **options)


@given(st.lists(st.text(max_size=8), min_size=1, max_size=5))
def test_property_fold_case_a_character_at_a_time_is_fold_case(texts):
    assert _fold_each(texts) == [fold_case(text) for text in texts]


# -- what the check relies on, and what it does when the rows break it ----------------------------


def frame(*rows: tuple[Any, ...], schema: dict[str, Any] = SCHEMA) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema, orient="row")


GOOD = ("Algebra", A, 2025, "Math", "1234567890", "")
FORGOTTEN = "than the streaming checks remember"


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        (frame(GOOD).select(reversed(CERS_COLUMNS)), "the columns are not CERS's six, in order"),
        (
            frame(GOOD).with_columns(pl.col("school_year").cast(pl.String)),
            "the columns are not text, and an integer school_year",
        ),
        (frame(), "there are no rows"),
        (frame(GOOD, (*GOOD[:2], None, *GOOD[3:])), "a school year is missing"),
        (frame((*GOOD[:2], 2**31, *GOOD[3:])), "a school year is beyond what CERS reads as a number"),
        (frame(("Smith, John", *GOOD[1:])), f"a group name {QUOTED}"),
        (frame((*GOOD[:4], 'x"', "")), f"an SSID {QUOTED}"),
        (frame((*GOOD[:5], "t@x.org\r")), f"a login {QUOTED}"),
        (frame((*GOOD[:3], "Ma\nth", *GOOD[4:])), f"a subject {QUOTED}"),
        (frame(("A", "0161,259", *GOOD[2:])), f"a school id {QUOTED}"),
        (frame(("n" * 1_000_001, *GOOD[1:])), "a group name is longer than the streaming reader keeps whole"),
        (frame((GOOD[0], "\u3000", *GOOD[2:])), "a school id is blank"),
        (frame((" \t", *GOOD[1:])), "a group name is blank"),
        (
            frame(*[(*GOOD[:3], f"S{n}", *GOOD[4:]) for n in range(1_001)]),
            f"there are more distinct subjects {FORGOTTEN}",
        ),
        (frame(*[(*GOOD[:4], f"{n:010d}", "") for n in range(10_001)]), f"a group has more rows {FORGOTTEN}"),
    ],
)
def test_rows_the_check_cannot_rely_on_are_handed_to_the_streaming_validator(rows, reason):
    assert why_not_by_columns(rows) == reason
    data = write_ordered_rows(rows)
    assert check_written_rows(rows, school_years={2025}) == validate_cers_csv(data, school_years={2025})


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(alphabet="0123456789+- ._eEx\u0661\uff11", min_size=8, max_size=11), min_size=1, max_size=8))
def test_property_an_ssid_is_ten_digits_to_both_checks(ssids):
    same_report(frame(*[(*GOOD[:4], ssid, "") for ssid in ssids]))


def test_bytes_that_are_not_the_rows_file_are_what_is_checked():
    rows = frame(GOOD, ("Algebra", A, 2025, "Math", "", "t@x.org"))
    other = write_ordered_rows(frame(("Algebra", A, 2025, "Math", "123456789", "")))
    assert why_not_by_columns(rows, other) == "the bytes given are not the file of these rows"
    assert check_written_rows(rows, other) == validate_cers_csv(other)
    assert why_not_by_columns(rows, write_ordered_rows(rows)) is None


def test_a_rejected_file_gets_cers_failures_and_our_findings_as_the_stream_does():
    rows = frame(
        ("Big", B, 2025, "ELA", "", "t@x.org"),
        *[("Big", B, 2025, "ELA", f"{1000000000 + n}", "") for n in range(201)],
        ("Algebra", A, 2025, "Math", "123456789", "Mr Smith"),
        ("algebra", A, 2025, "math", "2234567890", ""),
        ("algebra", A, 2025, "ELA", "1234567890", ""),
        ("Big", B, 2025, "ELA", "1234567890", ""),
    )
    assert why_not_by_columns(rows) is None
    report = same_report(rows, school_years={2025})
    assert [finding.cers_line() for finding in report.cers_failures] == [
        f"Row: 202 Failure: School [{A}] Group [Big] contains 201 students.  Maximum students allowed per group is 200",
        "Row: 205 Failure: Record is attempting to re-define group subject from [Math] to [ELA]",
        f"Row: 206 Failure: School [{B}] is out-of-order: sort CSV by school, group, year",
    ]


def test_failures_of_one_row_come_in_the_order_cers_finds_them():
    # at row 203: the group before is judged (row 202), then this group is found out of order
    rows = frame(
        ("Algebra", A, 2025, "All", "1234567890", ""),
        *[("Big", A, 2025, "All", f"{1000000000 + n}", "") for n in range(201)],
        ("Algebra", A, 2025, "All", "2234567890", ""),
    )
    assert [(finding.row, finding.message[:20]) for finding in same_report(rows).cers_failures] == [
        (202, "School [016125901301"),
        (203, "Record is out-of-ord"),
    ]


def test_summaries_come_in_the_order_their_first_untold_rows_are_found():
    # row 22 starts a group: the group before it is finished (its 21st "no teacher"), then its school
    # is checked (the 21st school id that is no CDS code)
    rows = frame(*[(f"G{n}", A if n == 0 else f"S{n}", 2025, "All", f"{1000000000 + n}", "") for n in range(22)])
    report = same_report(rows)
    assert [finding.message for finding in report.extra_findings[-2:]] == [
        "… and 2 more rows with the same problem (no teacher) from this row on.",
        "… and 1 more rows with the same problem (school id) from this row on.",
    ]


def test_ssids_blank_to_java_do_not_count_toward_the_200_rule():
    rows = frame(
        *[("Full", A, 2025, "All", f"{1000000000 + n}", "") for n in range(200)], ("Full", A, 2025, "All", " ", "")
    )
    assert why_not_by_columns(rows) is None
    report = same_report(rows)
    assert report.cers_message() == f"1 group accepted for {A}."
    assert [finding.message for finding in report.errors] == [
        "Group 'Full' has 201 students; CERS allows 200 in a group."
    ]


def test_failures_and_success_lines_are_kept_up_to_a_thousand_and_counted():
    rows = frame(*[(f"G{n}", f"{n:014d}", 2025, "All", f"{1000000000 + n}", "t@x.org") for n in range(1_001)])
    accepted = same_report(rows)
    assert (len(accepted.cers_accepted), accepted.cers_accepted_count) == (1_000, 1_001)
    rejected = same_report(rows, schools=())
    assert (len(rejected.cers_failures), rejected.cers_failure_count) == (1_000, 1_001)


def test_the_export_checks_its_file_by_columns(demo_provider, monkeypatch):
    def not_streamed(*args: Any, **kwargs: Any) -> ValidationReport:
        raise AssertionError("the export's own file is checked by columns")

    monkeypatch.setattr("cers_core.cers_csv.validate_cers_csv", not_streamed)
    monkeypatch.setattr("cers_core.cers_csv.self_check.validate_cers_csv", not_streamed)
    context = ExportContext(transport=demo_provider.transport())
    result = export_section_groups(demo_provider.settings(), GroupOptions(), as_of=DEMO_REFERENCE_DATE, context=context)
    assert result.validation == validate_cers_csv(result.csv_bytes)
    assert not result.validation.accepted  # the large section is not split: CERS's 200 rule


def test_the_bench_measures_both_checks_on_the_same_rows():
    rows = order_cers_rows(build_section_groups(load_roster("lincoln_high"), as_of=DEMO_REFERENCE_DATE).rows)
    measured = measure_self_check(rows, runs=1)
    assert measured.rows == rows.height and measured.equal
    assert measured.line("roster").startswith("self-check of the roster file: streaming ")
