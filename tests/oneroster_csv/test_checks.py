"""Bad bundles: each problem is reported with its file, line and column, and nothing is built.

Every case starts from the good Lincoln High 1.2 bundle and breaks one thing in it.
"""

from __future__ import annotations

import pytest

from cers_core.errors import InvalidBundle, InvalidFile
from cers_core.oneroster_csv import read_bundle
from tests.support.bundles import bundle_files, changed, zip_bundle

# e-3's role made a word OneRoster does not have.
PUPIL = ("enrollments.csv", "sch-lhs,s-2,student,,,\n", "sch-lhs,s-2,pupil,,,\n")


def errors_of(files: dict[str, bytes]) -> list[str]:
    """The errors reading ``files`` gives (as ``str(problem)``); reading must raise, building nothing."""
    with pytest.raises(InvalidBundle) as raised:
        read_bundle(zip_bundle(files))
    return [str(problem) for problem in raised.value.report.errors]


def lincoln(*change: str) -> dict[str, bytes]:
    """The 1.2 bundle, with ``(file, old, new)`` changed when given."""
    files = bundle_files("lincoln_high", "1.2")
    return changed(files, *change) if change else files


def without(files: dict[str, bytes], name: str) -> dict[str, bytes]:
    return {n: content for n, content in files.items() if n != name}


@pytest.mark.parametrize(
    ("files", "error"),
    [
        pytest.param(
            without(lincoln(), "manifest.csv"),
            "the uploaded bundle: The bundle has no manifest.csv. OneRoster 1.1 and 1.2 bundles always have one; "
            "without it this is a OneRoster 1.0 bundle (which we do not read) or not a OneRoster bundle at all. "
            "Ask the SIS for a OneRoster 1.1 or 1.2 CSV export.",
            id="no manifest: OneRoster 1.0",
        ),
        pytest.param(
            lincoln("manifest.csv", "oneroster.version,1.2", "oneroster.version,1.0"),
            "manifest.csv, line 3, value: This is a OneRoster 1.0 bundle, which we do not read: ask the SIS for a "
            "1.1 or 1.2 export.",
            id="version 1.0",
        ),
        pytest.param(
            lincoln("manifest.csv", "oneroster.version,1.2", "oneroster.version,2.0"),
            "manifest.csv, line 3, value: oneroster.version is 2.0: we read OneRoster 1.1 and 1.2 bundles.",
            id="version 2.0",
        ),
        pytest.param(
            lincoln("manifest.csv", "oneroster.version,1.2\n", ""),
            "manifest.csv: There is no oneroster.version line, so the bundle's OneRoster version is unknown.",
            id="no version",
        ),
        pytest.param(
            lincoln("manifest.csv", "propertyName,value", "name,value"),
            "manifest.csv, line 1: The first line must be the header propertyName,value.",
            id="manifest header",
        ),
        pytest.param(
            lincoln("manifest.csv", "file.users,bulk", "file.users,full"),
            "manifest.csv, line 24, value: file.users is 'full'; it must be bulk, delta or absent.",
            id="mode not bulk, delta or absent",
        ),
        pytest.param(
            lincoln("manifest.csv", "file.users,bulk\n", ""),
            "manifest.csv: There is no file.users line, so users.csv may hold every record (bulk) or only changes "
            "(delta); add the line saying which.",
            id="file not declared",
        ),
        pytest.param(
            lincoln("manifest.csv", "file.enrollments,bulk", "file.enrollments,delta"),
            "manifest.csv, line 11, value: enrollments.csv is a delta file: it holds only the changes since an "
            "earlier export, so it cannot say who is in each section today. Export a full (bulk) bundle instead.",
            id="delta",
        ),
        pytest.param(
            without(lincoln(), "users.csv"),
            "users.csv: manifest.csv says the bundle holds users.csv (line 24), but it is not there.",
            id="declared file missing",
        ),
        pytest.param(
            without(lincoln("manifest.csv", "file.orgs,bulk", "file.orgs,absent"), "orgs.csv"),
            "orgs.csv: The bundle has no orgs.csv: groups cannot be made without it.",
            id="required file absent",
        ),
        pytest.param(
            lincoln("enrollments.csv", "dateLastModified,classSourcedId,", "dateLastModified,"),
            "enrollments.csv, line 1, classSourcedId: The header has no classSourcedId column, which the binding "
            "requires: groups cannot be made without it.",
            id="required header missing",
        ),
        pytest.param(
            lincoln("enrollments.csv", "role,primary,beginDate", "role,role,beginDate"),
            "enrollments.csv, line 1, role: The header names role 2 times (columns 7, 8); which one holds the values?",
            id="header named twice",
        ),
        pytest.param(
            lincoln("enrollments.csv", "e-5,active,,cls-alg-3b,", "e-5,active,,,"),
            "enrollments.csv, line 6, classSourcedId: The value is empty, but every enrollment needs its "
            "classSourcedId: groups depend on it.",
            id="required value empty",
        ),
        pytest.param(
            lincoln("users.csv", "s-4,active,,true,", "s-4,active,,  ,"),
            "users.csv, line 9, enabledUser: The value is empty, but every user needs its enabledUser: groups "
            "depend on it.",
            id="required value blank",
        ),
        pytest.param(
            lincoln("enrollments.csv", "2026-08-12,2027-01-16", "8/12/2026,2027-01-16"),
            "enrollments.csv, line 3, beginDate: '8/12/2026' is not a date like 2026-08-12 (YYYY-MM-DD).",
            id="date",
        ),
        pytest.param(
            lincoln("academicSessions.csv", "semester,2027-01-19", "semester,19.01.2027"),
            "academicSessions.csv, line 4, startDate: '19.01.2027' is not a date like 2026-08-12 (YYYY-MM-DD).",
            id="session date",
        ),
        pytest.param(
            lincoln(
                "enrollments.csv",
                "e-4,active,,cls-alg-3b,sch-lhs,t-nguyen-b,teacher,true",
                "e-4,active,,cls-alg-3b,sch-lhs,t-nguyen-b,teacher,Y",
            ),
            "enrollments.csv, line 5, primary: 'Y' is not true or false.",
            id="flag",
        ),
        pytest.param(
            lincoln("enrollments.csv", "e-11,tobedeleted", "e-11,deleted"),
            "enrollments.csv, line 12, status: The status is 'deleted': it must be active or tobedeleted (1.1's "
            "inactive is read as tobedeleted). Any other word could keep a record that is to be deleted.",
            id="status",
        ),
        pytest.param(
            lincoln(*PUPIL),
            "enrollments.csv, line 4, role: 'pupil' is not one of administrator, aide, guardian, parent, proctor, "
            "relative, student, teacher, nor an ext: value.",
            id="role",
        ),
        pytest.param(
            lincoln("enrollments.csv", "e-3,active", "e-2,active"),
            "enrollments.csv, line 4, sourcedId: The sourcedId 'e-2' is used again (first on line 3): each "
            "enrollment needs its own, or one of the two records is lost.",
            id="repeated sourcedId",
        ),
        pytest.param(
            lincoln(
                "classes.csv", "ART-5,scheduled,,sch-lhs,fall-2026,,,5", "ART-5,scheduled,,sch-lhs,fall-2026,,,5,6"
            ),
            "classes.csv, line 5: The line has 15 values but the header has 14. Export the file again, or open it "
            "in a text editor at that line.",
            id="too many values",
        ),
        pytest.param(
            lincoln("courses.csv", '"English 9, Honors"', '"English 9, Honors'),
            "courses.csv, line 3: The line is not valid CSV (',' expected after '\"'): a quote may be missing. "
            "Export the file again, or open it in a text editor at that line.",
            id="quote not closed",
        ),
    ],
)
def test_each_problem_is_reported_where_it_is_and_nothing_is_built(files, error):
    assert error in errors_of(files)


def test_an_empty_file_has_no_header():
    assert errors_of(lincoln() | {"classes.csv": b""}) == ["classes.csv, line 1: The first line is not a header row."]


def test_a_file_that_is_not_utf8_is_reported_at_its_line_and_column():
    files = lincoln()
    files["users.csv"] = files["users.csv"].replace(b"Dee,Park", "Dee,Peña".encode("latin-1"))
    assert errors_of(files) == [
        "users.csv, line 9, familyName: The file is not UTF-8 text: character 46 of the line is the byte F1, "
        'which UTF-8 does not allow. It was probably saved as Windows-1252 ("ANSI") or Latin-1: export it '
        'again as UTF-8 (in Excel: Save As "CSV UTF-8").'
    ]


def test_utf16_is_named():
    files = lincoln()
    files["orgs.csv"] = files["orgs.csv"].decode().encode("utf-16")
    assert errors_of(files) == [
        'orgs.csv: The file is UTF-16 text ("Unicode text"); the binding asks for UTF-8. Export it again as UTF-8 '
        '(in Excel: Save As "CSV UTF-8").'
    ]


def test_every_problem_is_collected_not_only_the_first():
    files = changed(lincoln(*PUPIL), "users.csv", "s-5,active", "s-5,gone")
    where = [error.split(":")[0] for error in errors_of(files)]
    assert where == ["enrollments.csv, line 4, role", "users.csv, line 10, status"]


def test_a_systematic_fault_lists_twenty_and_counts_the_rest():
    files = lincoln()
    lines = files["enrollments.csv"].decode().splitlines()
    extra = [f"x-{n},active,,cls-art,sch-lhs,s-4,student,,12/1/2026," for n in range(30)]
    files["enrollments.csv"] = "\n".join([*lines, *extra, ""]).encode()
    found = errors_of(files)
    assert len(found) == 21
    assert found[0] == "enrollments.csv, line 25, beginDate: '12/1/2026' is not a date like 2026-08-12 (YYYY-MM-DD)."
    assert found[-1] == "enrollments.csv, beginDate: … and 10 more like this."


def test_the_error_says_how_many_problems_and_the_first():
    with pytest.raises(InvalidFile) as raised:
        read_bundle(zip_bundle(lincoln(*PUPIL)))
    assert str(raised.value) == (
        "The OneRoster CSV bundle cannot be used: 1 problem must be fixed first. The first: enrollments.csv, line 4, "
        "role: 'pupil' is not one of administrator, aide, guardian, parent, proctor, relative, student, teacher, nor "
        "an ext: value. Fix them in the SIS or its export settings and export the bundle again; the report lists "
        "each with its file, line and column."
    )
    assert raised.value.report.oneroster_version == "1.2"


def test_errors_come_first_and_warnings_stay_in_the_report():
    with pytest.raises(InvalidBundle) as raised:
        read_bundle(zip_bundle(lincoln(*PUPIL)))
    severities = [problem.severity for problem in raised.value.report.problems]
    assert severities == ["error", "warning", "warning", "warning"]
