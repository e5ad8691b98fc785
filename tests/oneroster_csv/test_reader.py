"""Reading good OneRoster CSV bundles: the hand-written Lincoln High bundle, in 1.1 and 1.2, gives
the very file (and rosters) that the same records give over REST (``tests/rosters/lincoln_high.json``)."""

from __future__ import annotations

import io
import time
from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cers_core.cers_csv import order_cers_rows, write_ordered_rows
from cers_core.errors import InvalidBundle
from cers_core.groups import build_section_groups
from cers_core.oneroster_csv import list_bundle_schools, read_bundle
from cers_core.settings import GroupOptions
from tests.support.bundles import bundle_files, changed, folder_bundle, zip_bundle
from tests.support.rosters import load_roster

AS_OF = date(2026, 11, 28)
# The rows tests/groups/test_groups.py pins for the same district, as the file's bytes.
LINCOLN_FILE = (
    "\r\n".join(
        [
            "group_name,school_natural_id,school_year,subject_code,student_ssid,group_user_login",
            "Algebra I - Nguyen - 3 (ALG-3A),01612590130146,2027,All,,anguyen@lincoln.example.org",
            "Algebra I - Nguyen - 3 (ALG-3A),01612590130146,2027,All,1234567890,",
            "Algebra I - Nguyen - 3 (ALG-3A),01612590130146,2027,All,2000000002,",
            "Algebra I - Nguyen - 3 (ALG-3B),01612590130146,2027,All,,BNguyen@Lincoln.example.org",
            "Algebra I - Nguyen - 3 (ALG-3B),01612590130146,2027,All,0700000007,",
            "Art Studio - Adams - 5,01612590130146,2027,All,,cadams@lincoln.example.org",
            "Art Studio - Adams - 5,01612590130146,2027,All,4000000004,",
            "English 9 Honors - Adams - 1/2,01612590130146,2027,All,,cadams@lincoln.example.org",
            "English 9 Honors - Adams - 1/2,01612590130146,2027,All,1234567890,",
            "English 9 Honors - Adams - 1/2,01612590130146,2027,All,4000000004,",
        ]
    )
    + "\r\n"
).encode()


def group_file(roster, options: GroupOptions | None = None) -> bytes:
    return write_ordered_rows(order_cers_rows(build_section_groups(roster, options, as_of=AS_OF).rows))


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_a_1_1_and_a_1_2_bundle_give_the_pinned_file(version):
    read = read_bundle(zip_bundle(bundle_files("lincoln_high", version)))
    assert read.report.oneroster_version == version
    assert group_file(read.roster) == LINCOLN_FILE
    assert group_file(load_roster("lincoln_high")) == LINCOLN_FILE  # the REST records, for the record


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_the_bundle_reads_as_the_same_rosters_as_its_records_over_rest(version):
    from_csv = read_bundle(zip_bundle(bundle_files("lincoln_high", version))).roster
    over_rest = load_roster("lincoln_high")
    for name in ("schools", "sessions", "courses", "classes", "enrollments"):
        assert_frame_equal(getattr(from_csv, name), getattr(over_rest, name))
    # A CSV cell cannot tell an empty value from none: t-adams's "email": "" reads as null.
    users = over_rest.users.with_columns(email=pl.col("email").replace("", None))
    assert_frame_equal(from_csv.users, users)


def test_the_report_lists_each_warning_with_its_file_line_and_column():
    report = read_bundle(zip_bundle(bundle_files("lincoln_high", "1.2"))).report
    assert not report.has_errors
    assert report.to_text().splitlines() == [
        "academicSessions.csv, line 5, schoolYear: The value is empty; the binding requires a schoolYear for every "
        "academic session. It is read as empty.",
        "enrollments.csv, line 22, classSourcedId: It names the class 'cls-ghost', which classes.csv does not "
        "have: the enrollment is left out.",
        "enrollments.csv, line 14, userSourcedId: It names the user 's-ghost', which users.csv does not have: "
        "the enrollment is left out.",
    ]
    assert report.frame().row(0) == (
        "warning",
        "empty_value",
        "academicSessions.csv",
        5,
        "schoolYear",
        report.problems[0].message,
    )


def test_every_way_of_giving_a_bundle_reads_the_same(tmp_path):
    files = bundle_files("lincoln_high", "1.2")
    zipped = zip_bundle(files)
    (tmp_path / "lincoln.zip").write_bytes(zipped)
    upload = io.BytesIO(zip_bundle(files, folder="export-2026-11-28"))  # a zipped folder, as uploaded
    upload.name = "lincoln.zip"
    sources = [
        zipped,
        tmp_path / "lincoln.zip",
        str(tmp_path / "lincoln.zip"),
        folder_bundle(files, tmp_path / "folder"),
        upload,
    ]
    for source in sources:
        assert group_file(read_bundle(source).roster) == LINCOLN_FILE, source


def test_byte_order_marks_and_crlf_line_ends_are_read_alike():
    files = {
        name: b"\xef\xbb\xbf" + content.replace(b"\n", b"\r\n")
        for name, content in bundle_files("lincoln_high", "1.1").items()
    }
    read = read_bundle(zip_bundle(files))
    assert group_file(read.roster) == LINCOLN_FILE
    assert read.roster.users["sourced_id"][0] == "t-nguyen-a"


def test_the_schools_as_the_school_list_shows_them():
    schools = list_bundle_schools(zip_bundle(bundle_files("lincoln_high", "1.2")))
    assert schools.rows() == [
        ("sch-nocds", "Annex", "105", None),
        ("sch-lhs", "Lincoln High", "01612590130146", "01612590130146"),
    ]
    mapped = list_bundle_schools(
        zip_bundle(bundle_files("lincoln_high", "1.1")), options=GroupOptions(cds_map={"sch-nocds": "01612590199999"})
    )
    assert mapped["cds"].to_list() == ["01612590199999", "01612590130146"]


def test_the_schools_need_only_the_manifest_and_orgs():
    files = {name: content for name, content in bundle_files("lincoln_high", "1.2").items() if name != "users.csv"}
    assert list_bundle_schools(zip_bundle(files)).height == 2


def test_one_school_keeps_its_sections_enrollments_and_people():
    read = read_bundle(zip_bundle(bundle_files("lincoln_high", "1.2")), school_ids=["sch-nocds"])
    roster = read.roster
    assert roster.schools["sourced_id"].to_list() == ["sch-nocds"]
    assert roster.classes["sourced_id"].to_list() == ["cls-annex"]
    assert roster.enrollments["sourced_id"].to_list() == ["e-19"]
    assert roster.users["sourced_id"].to_list() == ["s-6"]
    assert roster.courses["sourced_id"].to_list() == ["crs-eng"]
    lincoln = read_bundle(zip_bundle(bundle_files("lincoln_high", "1.2")), school_ids=["sch-lhs"]).roster
    assert group_file(lincoln) == LINCOLN_FILE
    # The enrollment naming a section the bundle lacks stays, for the builder to report.
    assert "e-22" in lincoln.enrollments["sourced_id"].to_list()


def test_without_courses_the_groups_are_made_with_a_warning():
    files = changed(bundle_files("lincoln_high", "1.2"), "manifest.csv", "file.courses,bulk", "file.courses,absent")
    read = read_bundle(zip_bundle({n: c for n, c in files.items() if n != "courses.csv"}))
    assert "courses.csv: The bundle has no courses.csv: group names cannot use course titles, codes or subjects." in (
        read.report.to_text().splitlines()
    )
    built = build_section_groups(read.roster, GroupOptions(fields=("class_code", "period")), as_of=AS_OF)
    assert sorted(built.groups["group_name"]) == ["ALG-3A - 3", "ALG-3B - 3", "ART-5 - 5", "ENG-1 - 1/2"]


def test_a_1_2_bundle_without_roles_reads_users_without_roles():
    files = changed(bundle_files("lincoln_high", "1.2"), "manifest.csv", "file.roles,bulk", "file.roles,absent")
    read = read_bundle(zip_bundle({n: c for n, c in files.items() if n != "roles.csv"}))
    assert read.roster.users["roles"].to_list() == [[]] * 11
    assert group_file(read.roster) == LINCOLN_FILE


def test_roles_to_be_deleted_are_not_the_users_roles():
    files = changed(bundle_files("lincoln_high", "1.2"), "roles.csv", "r-1,active", "r-1,tobedeleted")
    users = read_bundle(zip_bundle(files)).roster.users
    assert users.filter(pl.col("sourced_id") == "t-nguyen-a")["roles"].to_list() == [[]]


@pytest.mark.parametrize(
    ("file", "old", "new", "warning"),
    [
        (
            "enrollments.csv",
            "sourcedId,status",
            "SourcedID,status",
            "enrollments.csv, line 1, sourcedId: The header says SourcedID; the binding's name is sourcedId (names "
            "are case-sensitive). It was read as that.",
        ),
        (
            "manifest.csv",
            "oneroster.version,1.2",
            "oneroster.version,1.2.1",
            None,
        ),
        (
            "classes.csv",
            "ALG-3A,scheduled",
            "ALG-3A,lab",
            "classes.csv, line 2, classType: 'lab' is not one of homeroom, scheduled, nor an ext: value. "
            "It is kept as given.",
        ),
        (
            "orgs.csv",
            "active,2026-08-01T00:00:00Z,Lincoln High",
            "active,01/08/2026,Lincoln High",
            "orgs.csv, line 2, dateLastModified: '01/08/2026' is not a date and time like 2026-08-01T12:00:00Z; "
            "it is not used to make groups.",
        ),
        (
            "academicSessions.csv",
            "2027-06-12,,2027",
            "2027-06-12,,2026-27",
            "academicSessions.csv, line 2, schoolYear: The school year is '2026-27', not a year like 2027; the "
            "dates give the year instead.",
        ),
        (
            "academicSessions.csv",
            "2027-06-12,,2027",
            "2027-06-12,,２０２７",  # full-width digits: a Unicode \\d took them
            "academicSessions.csv, line 2, schoolYear: The school year is '２０２７', not a year like 2027; the "
            "dates give the year instead.",
        ),
        (
            "users.csv",
            "{SSID:5000000005}",
            "SSID 5000000005",
            "users.csv, line 10, userIds: An entry is not in the form {type:identifier} (such as "
            "{SSID:1234567890}): it cannot be read as an SSID.",
        ),
    ],
)
def test_what_leaves_the_file_right_is_a_warning_and_the_file_is_made(file, old, new, warning):
    read = read_bundle(zip_bundle(changed(bundle_files("lincoln_high", "1.2"), file, old, new)))
    assert not read.report.has_errors
    if warning is not None:
        assert warning in read.report.to_text().splitlines()
    assert group_file(read.roster) == LINCOLN_FILE


def test_userids_without_braces_are_read_too():
    files = changed(
        bundle_files("lincoln_high", "1.2"), "users.csv", "{StateID:4000000004}", '"StateID:4000000004, Local:7"'
    )
    users = read_bundle(zip_bundle(files)).roster.users.filter(pl.col("sourced_id") == "s-4")
    assert users.select("id_types", "id_values").row(0) == (["StateID", "Local"], ["4000000004", "7"])


def test_a_1_1_user_without_a_role_is_a_warning():
    files = changed(bundle_files("lincoln_high", "1.1"), "users.csv", "sch-lhs,teacher,zzed", "sch-lhs,,zzed")
    read = read_bundle(zip_bundle(files))
    assert (
        "users.csv, line 5, role: The value is empty; the binding requires a role for every user. It is read as empty."
        in read.report.to_text().splitlines()
    )
    assert group_file(read.roster) == LINCOLN_FILE


def test_a_file_with_only_its_header_is_a_warning():
    files = bundle_files("lincoln_high", "1.2")
    files["roles.csv"] = files["roles.csv"].split(b"\n")[0]  # not even a line end
    read = read_bundle(zip_bundle(files))
    assert "roles.csv: The file has no records, only its header." in read.report.to_text().splitlines()
    assert group_file(read.roster) == LINCOLN_FILE


def test_a_column_the_header_lacks_is_one_warning_not_one_per_record():
    files = bundle_files("lincoln_high", "1.2")
    files["orgs.csv"] = (
        b"sourcedId,status,dateLastModified,type,identifier,parentSourcedId\n"
        b"sch-lhs,active,2026-08-01T00:00:00Z,school,01612590130146,\n"
        b"sch-nocds,active,2026-08-01T00:00:00Z,school,105,\n"
    )
    read = read_bundle(zip_bundle(files))
    orgs = [line for line in read.report.to_text().splitlines() if line.startswith("orgs.csv")]
    assert orgs == [
        "orgs.csv, line 1, name: The header has no name column, which the binding requires: it is read as empty."
    ]
    assert read.roster.schools["name"].to_list() == [None, None]


@pytest.mark.parametrize(
    "cell",
    ["   ", "\t", " \t ", '"  "', '" \n "', "\u00a0", "\u3000 "],
    ids=["spaces", "tab", "spaces-and-tab", "quoted", "quoted-line-end", "no-break-space", "ideographic-space"],
)
@pytest.mark.parametrize("line_end", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_a_cell_of_spaces_is_empty_in_any_file(cell, line_end):
    """A spreadsheet writes a space for a blank; so does a careless export, in any encoding of a space."""
    files = changed(bundle_files("lincoln_high", "1.2"), "users.csv", "anguyen@lincoln.example.org", cell)
    users = files["users.csv"].decode().replace('" BNguyen@Lincoln.example.org "', "bnguyen@lincoln.example.org")
    files |= {"users.csv": users.replace("\n", line_end).encode()}  # (no quote left but the cell's own)
    emails = dict(read_bundle(zip_bundle(files)).roster.users.select("sourced_id", "email").iter_rows())
    assert emails["t-nguyen-a"] is None
    assert emails["t-nguyen-b"] == "bnguyen@lincoln.example.org"


@pytest.mark.parametrize("slow", [None, "enrollments", "users"])
def test_the_report_is_in_the_files_order_whichever_file_is_read_last(monkeypatch, slow):
    """enrollments.csv is read on a thread beside the others; its problems still come in its turn."""
    from cers_core.oneroster_csv import reader

    read_table = reader.read_table

    def read_slowly(stream, file, version, log):  # type: ignore[no-untyped-def]
        if file.name == slow:
            time.sleep(0.3)
        return read_table(stream, file, version, log)

    monkeypatch.setattr(reader, "read_table", read_slowly)
    files = bundle_files("lincoln_high", "1.2")
    for name, first in (
        ("classes.csv", "cls-alg-3a,active,"),
        ("enrollments.csv", "e-1,active,"),
        ("users.csv", "t-nguyen-a,active,"),
    ):
        files = changed(files, name, first, first.replace("active", "retired"))
    with pytest.raises(InvalidBundle) as raised:
        read_bundle(zip_bundle(files))
    found = [(problem.file, problem.line, problem.column) for problem in raised.value.report.errors]
    assert found == [("classes.csv", 2, "status"), ("enrollments.csv", 2, "status"), ("users.csv", 2, "status")]
