"""The CERS writer on small hand-written frames, with the exact bytes expected (reference §2, §10)."""

from __future__ import annotations

import polars as pl
import pytest

from cers_core.cers_csv import CERS_COLUMNS, order_cers_rows, validate_cers_csv, write_cers_csv, writer

HEADER = b"group_name,school_natural_id,school_year,subject_code,student_ssid,group_user_login\r\n"
LINCOLN = "01612590130146"
RIVERDALE = "10754081035575"


def frame(*rows: tuple[str | None, str | None, int | None, str | None, str | None, str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema=dict(zip(CERS_COLUMNS, [pl.String, pl.String, pl.Int64] + [pl.String] * 3, strict=True)),
        orient="row",
    )


MIXED_ORDER = frame(
    ("geometry", LINCOLN, 2025, "Math", "2000000002", None),
    ("Algebra", RIVERDALE, 2025, "Math", "3000000003", ""),
    ("Geometry", LINCOLN, 2024, "Math", "", "old@lincoln.example.org"),
    ("algebra", LINCOLN, 2025, "Math", None, "Zed@lincoln.example.org"),
    ("geometry", LINCOLN, 2025, "Math", "1000000001", None),
    ("algebra", LINCOLN, 2025, "Math", "4000000004", None),
    ("geometry", LINCOLN, 2025, "Math", None, "amy@lincoln.example.org"),
    ("algebra", LINCOLN, 2025, "Math", None, "bob@lincoln.example.org"),
    ("Algebra", RIVERDALE, 2025, "Math", "", "t@riverdale.example.org"),
)


def test_rows_are_ordered_by_school_year_and_group_ignoring_case_with_teachers_first():
    assert write_cers_csv(MIXED_ORDER) == HEADER + (
        b"Geometry,01612590130146,2024,Math,,old@lincoln.example.org\r\n"
        b"algebra,01612590130146,2025,Math,,bob@lincoln.example.org\r\n"
        b"algebra,01612590130146,2025,Math,,Zed@lincoln.example.org\r\n"
        b"algebra,01612590130146,2025,Math,4000000004,\r\n"
        b"geometry,01612590130146,2025,Math,,amy@lincoln.example.org\r\n"
        b"geometry,01612590130146,2025,Math,1000000001,\r\n"
        b"geometry,01612590130146,2025,Math,2000000002,\r\n"
        b"Algebra,10754081035575,2025,Math,,t@riverdale.example.org\r\n"
        b"Algebra,10754081035575,2025,Math,3000000003,\r\n"
    )


CASE_VARIANTS = frame(
    ("beta", LINCOLN, 2025, "All", "1000000001", None),
    ("Alpha", LINCOLN, 2025, "All", "1000000001", None),
    ("ALPHA", LINCOLN, 2025, "All", "2000000002", None),
    ("alpha", LINCOLN, 2025, "All", "3000000003", None),
)


def test_names_that_differ_only_in_case_are_neighbours_in_a_fixed_order():
    assert [row[0] for row in order_cers_rows(CASE_VARIANTS).iter_rows()] == ["ALPHA", "Alpha", "alpha", "beta"]


SHARP_S = frame(
    ("Strict", LINCOLN, 2025, "All", "1000000001", None),
    ("Straße", LINCOLN, 2025, "All", "1000000001", None),
    ("Strasse B", LINCOLN, 2025, "All", "1000000001", None),
)


def test_casefold_orders_sharp_s_with_ss():
    # str.casefold("Straße") == "strasse"; polars' to_lowercase would leave the ß and sort it after "strict".
    assert [row[0] for row in order_cers_rows(SHARP_S).iter_rows()] == ["Straße", "Strasse B", "Strict"]


HASH_SHARING = frame(
    ("Straße", LINCOLN, 2025, "All", "1000000001", None),
    ("algebra", LINCOLN, 2025, "Math", "2000000002", None),
    ("ALGEBRA", LINCOLN, 2025, "", None, "amy@lincoln.example.org"),
    ("Algebra", RIVERDALE, 2025, "Math", "3000000003", None),
    ("Algebra", LINCOLN, 2024, "Math", "4000000004", None),
    ("Strasse B", LINCOLN, 2025, "All", "5000000005", None),
)


def test_groups_sharing_a_hash_are_still_told_apart_by_their_text(monkeypatch: pytest.MonkeyPatch):
    # Rows find their group by a 64-bit hash; were every group to share one, the file must not change.
    expected = write_cers_csv(HASH_SHARING)
    lines = (
        "Algebra,01612590130146,2024,Math,4000000004,\r\n"
        "ALGEBRA,01612590130146,2025,Math,,amy@lincoln.example.org\r\n"
        "algebra,01612590130146,2025,Math,2000000002,\r\n"
        "Straße,01612590130146,2025,All,1000000001,\r\n"
        "Strasse B,01612590130146,2025,All,5000000005,\r\n"
        "Algebra,10754081035575,2025,Math,3000000003,\r\n"
    )
    assert expected == HEADER + lines.encode()
    monkeypatch.setattr(writer, "_group_hash", lambda: pl.lit(0, dtype=pl.UInt64))
    assert write_cers_csv(HASH_SHARING) == expected


DUPLICATES = frame(
    ("Algebra", LINCOLN, 2025, "Math", "1000000001", None),
    ("Algebra", LINCOLN, 2025, None, "1000000001", ""),
    ("Algebra", LINCOLN, 2025, "", None, "t@lincoln.example.org"),
    ("Algebra", LINCOLN, 2025, None, None, "t@lincoln.example.org"),
)


def test_duplicates_appear_once_and_the_group_subject_is_on_every_row():
    assert write_cers_csv(DUPLICATES) == HEADER + (
        b"Algebra,01612590130146,2025,Math,,t@lincoln.example.org\r\nAlgebra,01612590130146,2025,Math,1000000001,\r\n"
    )


BOTH_MEMBERS = frame(
    ("Ms. Kenaston", "19647336108641", 2018, "All", "6237930655", "bkenasto@lausd.net"),
    ("Ms. Kenaston", "19647336108641", 2018, "All", "6237930655", "mespi5@lausd.net"),
)


def test_a_row_with_both_members_becomes_a_teacher_row_and_a_student_row():
    assert write_cers_csv(BOTH_MEMBERS) == HEADER + (
        b"Ms. Kenaston,19647336108641,2018,All,,bkenasto@lausd.net\r\n"
        b"Ms. Kenaston,19647336108641,2018,All,,mespi5@lausd.net\r\n"
        b"Ms. Kenaston,19647336108641,2018,All,6237930655,\r\n"
    )


GROUP_ONLY_ROWS = frame(
    ("Empty", LINCOLN, 2025, "ELA", None, None),
    ("Full", LINCOLN, 2025, "ELA", None, None),
    ("full", LINCOLN, 2025, None, "1000000001", None),
)


def test_a_group_only_row_is_kept_only_for_a_group_without_members():
    assert write_cers_csv(GROUP_ONLY_ROWS) == HEADER + (
        b"Empty,01612590130146,2025,ELA,,\r\nfull,01612590130146,2025,ELA,1000000001,\r\n"
    )


UNTRIMMED = pl.DataFrame(
    {
        "group_name": [" Algebra "],
        "school_natural_id": [f" {LINCOLN}"],
        "school_year": pl.Series([2025], dtype=pl.Int16),
        "subject_code": ["Math "],
        "student_ssid": [" 1000000001"],
        "group_user_login": [None],
    }
)


def test_values_are_trimmed_and_any_integer_year_type_works():
    assert write_cers_csv(UNTRIMMED) == HEADER + b"Algebra,01612590130146,2025,Math,1000000001,\r\n"


SHORT_SSIDS = frame(
    ("Test", LINCOLN, 2025, "All", "SSID010", None),
    ("Test", LINCOLN, 2025, "All", "9", None),
    ("Test", LINCOLN, 2025, "All", "10", None),
)


def test_students_are_ordered_alphabetically_when_ssids_are_not_all_ten_digits():
    assert [row[4] for row in order_cers_rows(SHORT_SSIDS).iter_rows()] == ["10", "9", "SSID010"]


TWO_SCHOOLS = frame(
    ("B", RIVERDALE, 2025, "ELA", "1000000001", None),
    ("a", LINCOLN, 2025, "Math", None, "t@x.org"),
    ("a", LINCOLN, 2025, "Math", "2000000002", "t@x.org"),
)


def test_order_cers_rows_is_exactly_what_is_written():
    ordered = order_cers_rows(TWO_SCHOOLS)
    assert ordered.columns == list(CERS_COLUMNS)
    assert ordered.schema["school_year"] == pl.Int64
    expected = HEADER + b"".join(
        ",".join(str(value) for value in row).encode() + b"\r\n" for row in ordered.iter_rows()
    )
    assert write_cers_csv(TWO_SCHOOLS) == expected
    assert ordered.rows() == [
        ("a", LINCOLN, 2025, "Math", "", "t@x.org"),
        ("a", LINCOLN, 2025, "Math", "2000000002", ""),
        ("B", RIVERDALE, 2025, "ELA", "1000000001", ""),
    ]


NAMES_WRITTEN = [
    ("Smith, John", b'"Smith, John"'),
    ('The "A" team', b'"The ""A"" team"'),
    ("Two\r\nlines", b'"Two\r\nlines"'),
    ("Back\\slash", b"Back\\slash"),
]


@pytest.mark.parametrize(("name", "written"), NAMES_WRITTEN)
def test_names_that_need_quotes_are_quoted_and_read_back_the_same(name, written):
    rows = frame((name, LINCOLN, 2025, "All", "1000000001", None))
    data = write_cers_csv(rows)
    assert data == HEADER + written + b",01612590130146,2025,All,1000000001,\r\n"
    report = validate_cers_csv(data)
    assert report.cers_message() == "1 group accepted for 01612590130146."


ACCENTED = frame(("Español 1 – Núñez", LINCOLN, 2025, "All", "1000000001", None))


def test_the_file_is_utf8_without_bom_and_every_line_ends_in_crlf():
    data = write_cers_csv(ACCENTED)
    assert not data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8").startswith("group_name,")
    assert data.endswith(b"\r\n")
    assert data.count(b"\n") == data.count(b"\r\n") == 2
    assert "Español 1 – Núñez".encode() in data


def test_an_empty_frame_gives_the_header_alone():
    assert write_cers_csv(frame()) == HEADER


@pytest.mark.parametrize(
    ("rows", "error"),
    [
        (pl.DataFrame({"group_name": ["x"]}), "need exactly the columns"),
        (
            frame(("A", LINCOLN, 2025, "All", None, None)).with_columns(extra=pl.lit(1)),
            "extra \\['extra'\\]",
        ),
        (
            frame(("A", LINCOLN, 2025, "All", None, None)).with_columns(pl.col("school_year").cast(pl.String)),
            "school_year must be an integer",
        ),
        (frame(("", LINCOLN, 2025, "All", "1", None)), "1 row lacks a group name"),
        (frame(("A", None, 2025, "All", "1", None)), "1 row lacks a group name, school"),
        (frame(("A", LINCOLN, None, "All", "1", None)), "school year"),
        (
            frame(("A", LINCOLN, 2025, "ELA", "1", None), ("a", LINCOLN, 2025, "Math", "2", None)),
            r"more than one subject.*\['ELA', 'Math'\]",
        ),
    ],
)
def test_rows_no_valid_file_can_be_written_from_are_refused(rows, error):
    with pytest.raises(ValueError, match=error):
        write_cers_csv(rows)


SUBJECT_IN_TWO_CASES = frame(
    ("A", LINCOLN, 2025, "math", "1000000001", None), ("A", LINCOLN, 2025, "Math", "2000000002", None)
)


def test_the_same_subject_in_another_case_is_one_subject():
    assert {row[3] for row in order_cers_rows(SUBJECT_IN_TWO_CASES).iter_rows()} == {"Math"}
