"""An export from a bundle: the same GroupExport as from a provider, saying where its rosters came from,
with the bundle's warnings; a school asked for by CDS code, as from a provider."""

from __future__ import annotations

import pytest

from cers_core import export_from_bundle
from cers_core.errors import InvalidBundle, SettingsError
from tests.oneroster_csv.test_reader import AS_OF, LINCOLN_FILE
from tests.support.bundles import bundle_files, changed, zip_bundle

LINCOLN = zip_bundle(bundle_files("lincoln_high", "1.2"))


def test_the_whole_district_from_a_bundle():
    made = export_from_bundle(LINCOLN, as_of=AS_OF)
    assert made.csv_bytes == LINCOLN_FILE and made.file_accepted  # (Annex is left out: no CDS code)
    assert made.read_from == "read from a OneRoster CSV bundle (1.2), 7 files"
    assert made.requests == 0
    assert made.bundle is not None and made.bundle.warning_count == 3  # the bundle's own, beside the file's problems
    assert made.schools.select("sourced_id", "cds").rows() == [("sch-nocds", None), ("sch-lhs", "01612590130146")]
    assert made.schools_left_out.rows() == [("sch-nocds", "Annex")]


def test_a_school_by_its_cds_code_and_one_the_bundle_lacks():
    made = export_from_bundle(LINCOLN, schools=["01612590130146"], as_of=AS_OF)
    assert made.csv_bytes == LINCOLN_FILE and made.schools.height == 1
    assert made.file_name() == "cers_section_groups_01612590130146_2026-11-28.csv"
    with pytest.raises(SettingsError, match="No school with the sourcedId or CDS code 19647331930924"):
        export_from_bundle(LINCOLN, schools=["19647331930924"], as_of=AS_OF)


def test_a_bundle_with_an_error_makes_no_export():
    bad = zip_bundle(changed(bundle_files("lincoln_high", "1.2"), "orgs.csv", "sch-lhs,active", "sch-lhs,gone"))
    with pytest.raises(InvalidBundle) as raised:
        export_from_bundle(bad, as_of=AS_OF)
    assert raised.value.headline == "The OneRoster CSV bundle cannot be used: 1 problem must be fixed first."
    assert str(raised.value.report.errors[0]).startswith("orgs.csv, line 2, status: The status is 'gone'")
