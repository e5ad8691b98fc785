"""The demo district as a OneRoster CSV bundle: the same district the demo provider serves, so that
reading it gives the same rosters, and the same CERS file to the byte, as reading it over REST."""

from __future__ import annotations

import csv
import io
import zipfile

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cers_core.cers_csv import order_cers_rows, write_ordered_rows
from cers_core.export import export_section_groups
from cers_core.groups import build_section_groups
from cers_core.http.sync import run_sync
from cers_core.oneroster.client import OneRosterClient
from cers_core.oneroster.fetch import fetch_roster
from cers_core.oneroster_csv import read_bundle
from cers_core.oneroster_csv.binding import HEADERS, MANIFEST_FILES
from cers_core.settings import GroupOptions
from cers_demo.csv_bundle import write_csv_bundle
from tests.support import DEMO_REFERENCE_DATE

OPTIONS = GroupOptions(split_large=True, fields=("course_title", "teacher", "period", "term"))


@pytest.fixture(scope="module")
def bundles(demo_district, tmp_path_factory):
    """The demo district as a 1.2 zip and as a 1.1 folder."""
    folder = tmp_path_factory.mktemp("bundles")
    return {
        "1.2": write_csv_bundle(demo_district, folder / "sierra-vista.zip", version="1.2"),
        "1.1": write_csv_bundle(demo_district, folder / "sierra-vista-1.1", version="1.1"),
    }


@pytest.fixture(scope="module")
def rest_export(demo_server):
    return export_section_groups(demo_server.settings(), OPTIONS, schools=None, as_of=DEMO_REFERENCE_DATE)


@pytest.mark.parametrize("version", ["1.2", "1.1"])
def test_the_bundle_gives_the_rest_file_byte_for_byte(bundles, rest_export, version):
    read = read_bundle(bundles[version])
    assert read.report.problems == ()
    built = build_section_groups(read.roster, OPTIONS, as_of=DEMO_REFERENCE_DATE)
    assert rest_export.accepted and rest_export.rows.height > 7_000  # the whole district, groups split and all
    assert write_ordered_rows(order_cers_rows(built.rows)) == rest_export.csv_bytes
    assert_frame_equal(built.problems, rest_export.problems)


@pytest.mark.parametrize("version", ["1.2", "1.1"])
def test_the_bundle_reads_as_the_rosters_the_provider_serves(bundles, demo_server, version):
    async def over_rest():
        async with OneRosterClient(demo_server.settings()) as client:
            return await fetch_roster(client)

    served, read = run_sync(over_rest()), read_bundle(bundles[version]).roster
    for name in ("schools", "sessions", "courses", "classes", "enrollments", "users"):
        assert_frame_equal(getattr(read, name), getattr(served, name))


def _rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8"))))


def test_a_1_2_bundle_follows_the_binding(bundles, demo_district):
    with zipfile.ZipFile(bundles["1.2"]) as bundle:
        files = {name: _rows(bundle.read(name)) for name in bundle.namelist()}
    manifest = dict(files.pop("manifest.csv")[1:])
    assert manifest["manifest.version"] == "1.0" and manifest["oneroster.version"] == "1.2"
    declared = {name for name in MANIFEST_FILES["1.2"] if manifest[f"file.{name}"] == "bulk"}
    assert {f"{name}.csv" for name in declared} == set(files)
    assert {name: rows[0] for name, rows in files.items()} == {f"{n}.csv": list(h) for n, h in HEADERS["1.2"].items()}
    assert len(files["enrollments.csv"]) - 1 == demo_district.enrollments.height
    roles = files["roles.csv"]
    assert len(roles) - 1 == demo_district.users["roles.role"].list.len().sum()
    assert roles[1][:6] == ["stu-0000001-role-1", "active", roles[1][2], "stu-0000001", "primary", "student"]
    user = dict(zip(files["users.csv"][0], files["users.csv"][1], strict=True))
    assert user["userIds"].startswith("{") and user["enabledUser"] in ("true", "false")


def test_a_1_1_bundle_has_each_user_s_role_and_orgs(bundles, demo_district):
    users = pl.read_csv(bundles["1.1"] / "users.csv", infer_schema=False)
    assert users.columns == list(HEADERS["1.1"]["users"])
    teachers = users.filter(pl.col("role") == "teacher")
    assert teachers.height == demo_district.users.filter(pl.col("roles.role").list.first() == "teacher").height
    assert not (bundles["1.1"] / "roles.csv").exists()
    manifest = dict(_rows((bundles["1.1"] / "manifest.csv").read_bytes())[1:])
    assert manifest["oneroster.version"] == "1.1" and "file.roles" not in manifest
