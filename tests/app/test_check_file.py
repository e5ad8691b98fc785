"""The Check a CSV file page: broken files of every kind get CERS's verdict, our findings and fixes, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
PAGE = "pages/4_Check_a_CSV_file.py"
HEADER = "group_name,school_natural_id,school_year,subject_code,student_ssid,group_user_login\r\n"
GOOD = HEADER + (
    "Algèbre - Lee - 3,01612590130146,2027,All,,lee@district.example.org\r\n"
    "Algèbre - Lee - 3,01612590130146,2027,All,1234567890,\r\n"
)

pytestmark = pytest.mark.usefixtures("no_demo")


def check(data: bytes, *, years: str = "", schools: str = "") -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at = at.switch_page(PAGE).run()
    assert not at.exception
    if years:
        at.text_input(key="check_years").set_value(years)
    if schools:
        at.text_area(key="check_schools").set_value(schools)
    at.file_uploader(key="check_file").set_value(("groups.csv", data, "text/csv"))
    at.run()
    assert not at.exception, at.exception
    return at


def text_of(at: AppTest) -> str:
    parts = [e.value for e in (*at.success, *at.error, *at.warning, *at.info)]
    parts += [c.value for c in at.code]
    for frame in at.dataframe:
        parts += [str(v) for column in frame.value.columns for v in frame.value[column].to_list()]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize(
    ("data", "verdict", "expected"),
    [
        (b"", "would reject", ["Row: 0 Failure: Empty file"]),
        (bytes(range(256)) * 40, "would reject", ["not UTF-8", "Row: 0 Failure: Invalid headers"]),
        (GOOD.encode("utf-16"), "would reject", ["UTF-16", "CSV UTF-8"]),
        (GOOD.encode("latin-1"), "but not as meant", ["not UTF-8", "1 group accepted for 01612590130146"]),
        (b"\xef\xbb\xbf" + GOOD.encode(), "would accept", ["byte order mark"]),
        (GOOD.replace("\r\n", "\n", 1).encode(), "would accept", ["line end"]),
        ((GOOD + 'Algèbre - Lee - 3,01612590130146,2027,All,"1234567891,\r\n').encode(), "would reject", []),
        (GOOD.replace("01612590130146", "1612590130146").encode(), "would reject", ["13 digits", "leading zero"]),
    ],
    ids=["empty", "binary", "utf-16", "latin-1", "bom", "mixed-line-ends", "open-quote", "13-digit-school"],
)
def test_broken_files_get_a_verdict_and_fixes(data_dir, data, verdict, expected):
    at = check(data)
    headline = (at.success or at.error)[0].value
    assert verdict in headline
    shown = text_of(at).lower()
    for words in expected:
        assert words.lower() in shown, words


def test_a_good_file_shows_cers_success_report_and_the_numbers(data_dir):
    at = check(GOOD.encode())
    assert "would accept" in at.success[0].value
    assert at.code[0].value == "1 group accepted for 01612590130146."
    assert {m.label: m.value for m in at.metric} == {
        "Rows": "2", "Groups": "1", "Schools": "1", "Most students in a group": "1"
    }  # fmt: skip


def test_what_cers_knows_makes_other_schools_and_years_errors(data_dir):
    at = check(GOOD.encode(), years="2026", schools="19647336108641")
    message = at.code[0].value
    assert "Row: 1 Failure: Invalid school year: 2027" in message
    assert "Row: 1 Failure: School [01612590130146] can not be found" in message


def test_years_that_are_not_end_years_are_explained(data_dir):
    at = check(GOOD.encode(), years="2026-27")
    assert "end years" in at.error[0].value


def test_an_earlier_file_shows_what_sending_this_one_changes(data_dir):
    at = check(GOOD.encode())
    earlier = HEADER + "Art - Kim - 2,01612590130146,2027,All,,kim@district.example.org\r\n"
    at.file_uploader(key="check_earlier").set_value(("before.csv", earlier.encode(), "text/csv"))
    at.run()
    assert not at.exception
    assert any("CERS keeps such groups" in w.value for w in at.warning)
    groups = next(frame.value for frame in at.dataframe if "Change" in frame.value.columns)
    assert sorted(groups["Change"].to_list()) == ["added", "not in this file (CERS keeps it)"]
