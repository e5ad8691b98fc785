"""A bundle on the server: the app reads only inside the folders the deployment allows, what is there,
and notices when a nightly job has refreshed it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cers_core.errors import SettingsError
from cers_core.oneroster_csv.server_bundle import bundle_stamp, server_bundle_path


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    """An allowed folder holding a zip and a bundle folder."""
    folder = tmp_path / "exports"
    (folder / "nightly").mkdir(parents=True)
    (folder / "nightly" / "manifest.csv").write_text("propertyName,value\n")
    (folder / "oneroster.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    (folder / "notes.txt").write_text("not a bundle")
    return folder


def refusal(path: str | Path, allowed: list[Path]) -> str:
    with pytest.raises(SettingsError) as caught:
        server_bundle_path(str(path), allowed=allowed)
    assert caught.value.field == "path"
    return str(caught.value)


def test_a_zip_or_a_folder_inside_an_allowed_folder_is_read(exports: Path) -> None:
    assert server_bundle_path(str(exports / "oneroster.zip"), allowed=[exports]) == exports / "oneroster.zip"
    assert server_bundle_path(str(exports / "nightly"), allowed=[exports]) == exports / "nightly"
    assert server_bundle_path(str(exports), allowed=[exports]) == exports  # the folder itself may be the bundle


def test_no_allowed_folder_means_no_path_at_all(exports: Path) -> None:
    assert refusal(exports / "oneroster.zip", []) == (
        "The app reads no bundle on the server: no folder is allowed for it. Set CERS_BUNDLE_FOLDERS to the "
        "folders the nightly job writes bundles to, or upload the zip on the Section Groups page."
    )


def test_outside_the_allowed_folders_is_refused_links_and_dots_included(exports: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.zip"
    elsewhere.write_bytes(b"PK")
    (exports / "link.zip").symlink_to(elsewhere)
    assert refusal("/etc", [exports]) == (
        f"The app may read bundles only inside {exports} (CERS_BUNDLE_FOLDERS), and /etc is not there. Have the "
        "nightly job write the bundle there, or ask whoever deploys the app to add its folder."
    )
    assert f"and {exports / 'link.zip'} is not there once its links are followed." in refusal(
        exports / "link.zip", [exports]
    )
    assert "is not there" in refusal(f"{exports}/../elsewhere.zip", [exports])


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing.zip", "There is nothing at {path} (yet). Check the path, and that the nightly job has run."),
        ("notes.txt", "{path} is neither a folder nor a .zip file. Give the bundle's zip file or its folder."),
    ],
)
def test_what_is_not_a_bundle_there_is_refused(exports: Path, name: str, message: str) -> None:
    assert refusal(exports / name, [exports]) == message.format(path=exports / name)


def test_a_relative_path_is_refused(exports: Path) -> None:
    assert refusal("exports/oneroster.zip", [exports]) == "Give the full path on the server, starting with /."


def test_what_the_app_may_not_read_is_refused(exports: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # (The suite runs as root, whom the file system lets read anything: the check is asked of os.access.)
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    assert refusal(exports / "oneroster.zip", [exports]).startswith(
        f"The app's account may not read {exports / 'oneroster.zip'}."
    )


def test_the_stamp_changes_when_the_nightly_job_refreshes_the_bundle(exports: Path) -> None:
    zipped, folder = exports / "oneroster.zip", exports / "nightly"
    before = bundle_stamp(zipped), bundle_stamp(folder)
    assert bundle_stamp(zipped) == before[0] and bundle_stamp(folder) == before[1]
    os.utime(zipped, ns=(0, 1_000_000_000))
    (folder / "users.csv").write_text("sourcedId\n")
    assert bundle_stamp(zipped) != before[0]
    assert [name for name, _, _ in bundle_stamp(folder)] == ["manifest.csv", "users.csv"]
