"""Opening bundles safely: zip bombs, paths that leave the bundle, links, lies, and what is not a zip.

Each refusal is checked to happen before the refused member is read at all (``opened`` spies on
what the zip module is asked to open).
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
from pathlib import Path

import pytest
from zlib_ng import zlib_ng

from cers_core.errors import InvalidBundle
from cers_core.oneroster_csv import BundleLimits, list_bundle_schools, read_bundle
from cers_core.oneroster_csv.bundle import CheckedStream, FileRefused, open_bundle
from cers_core.oneroster_csv.report import ProblemLog
from tests.support.bundles import bundle_files, folder_bundle, zip_bundle


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the zip members opened for reading, in order."""
    names: list[str] = []
    original = zipfile.ZipFile.open

    def spy(self, name, mode="r", *args, **kwargs):  # type: ignore[no-untyped-def]
        if mode == "r":
            names.append(name.filename if isinstance(name, zipfile.ZipInfo) else name)
        return original(self, name, mode, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    return names


def errors(source, **kwargs) -> list[str]:
    with pytest.raises(InvalidBundle) as raised:
        read_bundle(source, **kwargs)
    return [str(problem) for problem in raised.value.report.errors]


def lincoln() -> dict[str, bytes]:
    return bundle_files("lincoln_high", "1.2")


def test_a_zip_bomb_is_refused_from_its_declared_sizes_without_being_read(opened):
    files = lincoln() | {"enrollments.csv": lincoln()["enrollments.csv"] + b"\n" * (30 << 20)}
    assert errors(zip_bundle(files)) == [
        "enrollments.csv: The file is compressed 1,016 times (31.5 MB in 31 kB): roster files compress about 10 "
        "times, so this looks like a zip bomb. It was not read."
    ]
    assert "enrollments.csv" not in opened


def test_a_bundle_over_the_size_limit_is_refused_before_it_is_read(opened):
    assert errors(zip_bundle(lincoln()), limits=BundleLimits(max_total_bytes=3_000)) == [
        "enrollments.csv: The file is 1.3 kB, more than the 507 bytes left of the bundle's limit (3 kB for the "
        "files we read). It was not read.",
        "roles.csv: The file is 611 bytes, more than the 507 bytes left of the bundle's limit (3 kB for the files "
        "we read). It was not read.",
        "users.csv: The file is 1.1 kB, more than the 507 bytes left of the bundle's limit (3 kB for the files "
        "we read). It was not read.",
    ]
    assert "enrollments.csv" not in opened


def test_a_zip_that_lies_about_a_member_s_size_is_refused_having_read_no_more_than_it_said():
    packed = zip_bundle(lincoln() | {"enrollments.csv": lincoln()["enrollments.csv"] + b"\n" * (5 << 20)})
    lied = _declare_size(packed, "enrollments.csv", 1_000)
    found = errors(lied)
    assert len(found) == 1
    assert found[0].startswith("enrollments.csv: The file is damaged in the zip (Bad CRC-32 for file")


def test_the_stream_counts_what_it_gives_against_the_limits():
    log = ProblemLog()
    stream = CheckedStream(io.BytesIO(b"a,b\n" * (1 << 20)), "enrollments.csv", log, BundleLimits(), 1 << 20)
    with pytest.raises(FileRefused):
        while stream.read(1 << 16):
            pass
    compressed = CheckedStream(
        io.BytesIO(b"a,b\n" * (1 << 20)), "users.csv", log, BundleLimits(max_ratio=100), 1 << 30, compressed=1
    )
    with pytest.raises(FileRefused):
        while compressed.read(1 << 16):
            pass
    assert log.report(None).to_text().splitlines() == [
        "enrollments.csv: The file grew while it was read: it held 1 MB when it was opened, and reading stopped "
        "there. Read the bundle again once the job that writes it has finished.",
        "users.csv: The file is compressed 1,114,112 times (1.1 MB in 1 byte): roster files compress about 10 "
        "times, so this looks like a zip bomb. It was not read.",
    ]


def test_a_folder_file_that_a_nightly_job_rewrites_while_it_is_read_is_refused_not_read_half(tmp_path):
    folder = folder_bundle(lincoln(), tmp_path / "bundle")
    log = ProblemLog()
    with open_bundle(folder, log) as bundle:
        stream = bundle.open("enrollments.csv")
        assert stream is not None
        with (folder / "enrollments.csv").open("ab") as job:  # the job appends after the bundle was opened
            job.write(b"enr-9,active,,cls-1,org-1,stu-9,student,false,,\n")
        with stream, pytest.raises(FileRefused):
            while stream.read(1 << 16):
                pass
    assert [str(problem) for problem in log.report(None).errors] == [
        "enrollments.csv: The file grew while it was read: it held 1.3 kB when it was opened, and reading stopped "
        "there. Read the bundle again once the job that writes it has finished."
    ]


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        ("../users.csv", "a path that climbs out of the bundle with '..'"),
        ("export/../../users.csv", "a path that climbs out of the bundle with '..'"),
        ("/etc/users.csv", "an absolute path"),
        ("C:\\Windows\\users.csv", "a path with a drive letter"),
        ("..\\users.csv", "a path that climbs out of the bundle with '..'"),
    ],
)
def test_a_member_path_that_leaves_the_bundle_refuses_the_whole_bundle_unread(opened, member, reason):
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as bundle:
        for name, content in lincoln().items():
            bundle.writestr(name, content)
        bundle.writestr(member, b"sourcedId\n")
    assert errors(packed.getvalue()) == [
        f"the uploaded bundle: The zip holds {member!r}, {reason}. Nothing was read: a bundle whose paths leave "
        "it is refused whole."
    ]
    assert opened == []


def test_a_symbolic_link_in_a_zip_is_refused(opened):
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as bundle:
        for name, content in lincoln().items():
            if name != "users.csv":
                bundle.writestr(name, content)
        link = zipfile.ZipInfo("users.csv")
        link.external_attr = 0o120777 << 16
        bundle.writestr(link, "/etc/passwd")
    assert errors(packed.getvalue()) == [
        "the uploaded bundle: The zip holds 'users.csv', a symbolic link. Nothing was read: a bundle whose paths "
        "leave it is refused whole."
    ]
    assert opened == []


def test_a_link_in_a_folder_bundle_is_refused(tmp_path):
    outside = tmp_path / "elsewhere.csv"
    outside.write_bytes(lincoln()["users.csv"])
    folder = folder_bundle({n: c for n, c in lincoln().items() if n != "users.csv"}, tmp_path / "bundle")
    os.symlink(outside, folder / "users.csv")
    assert errors(folder) == [
        "users.csv: The file is a link to another place; copy the file itself into the bundle's folder."
    ]


def test_an_encrypted_member_is_refused():
    packed = zip_bundle(lincoln())
    found = errors(_set_flag(packed, "users.csv", 0x1))
    assert found == ["users.csv: The file is encrypted: export it with no password."]


def test_too_many_members_are_refused_before_any_is_read(opened):
    assert errors(zip_bundle(lincoln()), limits=BundleLimits(max_members=5)) == [
        "the uploaded bundle: The zip holds 8 files; a OneRoster bundle holds a few dozen at most (the limit is 5)."
    ]
    assert opened == []


def test_two_bundles_in_one_zip_are_refused():
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as bundle:
        for folder in ("a", "b"):
            for name, content in lincoln().items():
                bundle.writestr(f"{folder}/{name}", content)
    assert errors(packed.getvalue()) == [
        "the uploaded bundle: The zip holds 2 bundles (manifest.csv in a, b); give one at a time."
    ]


@pytest.mark.parametrize(
    ("source", "error"),
    [
        (
            b"this is not a zip",
            "the uploaded bundle: This is not a zip file that can be read (File is not a zip file).",
        ),
        (Path("/no/such/bundle.zip"), "bundle.zip: There is no file or folder at this path."),
    ],
)
def test_what_is_not_a_zip_nor_a_folder_is_named(source, error):
    assert errors(source)[0].startswith(error)


def test_an_empty_zip_or_folder_has_no_manifest(tmp_path):
    (tmp_path / "empty").mkdir()
    assert errors(zip_bundle({}))[0].startswith("the uploaded bundle: The bundle has no manifest.csv.")
    assert errors(tmp_path / "empty")[0].startswith("empty: The bundle has no manifest.csv.")


def test_one_csv_file_is_not_a_bundle(tmp_path):
    users = tmp_path / "users.csv"
    users.write_bytes(lincoln()["users.csv"])
    assert errors(users) == [
        "users.csv: This is one CSV file, not a bundle. Give the zip file the SIS exported (manifest.csv, "
        "orgs.csv, users.csv … together), or the folder they are in."
    ]


def test_listing_schools_refuses_the_same_way():
    with pytest.raises(InvalidBundle):
        list_bundle_schools(b"this is not a zip")


# -- zips made wrong on purpose ---------------------------------------------------------


def _headers(packed: bytes, name: str) -> tuple[int, int]:
    """Where the member's local header and its central directory entry start."""
    with zipfile.ZipFile(io.BytesIO(packed)) as bundle:
        local = bundle.getinfo(name).header_offset
    central = packed.index(b"PK\x01\x02")
    while packed[central + 46 : central + 46 + len(name)] != name.encode():
        central = packed.index(b"PK\x01\x02", central + 4)
    return local, central


def _declare_size(packed: bytes, name: str, size: int) -> bytes:
    """The zip with the member's uncompressed size said to be ``size``, in both its headers."""
    local, central = _headers(packed, name)
    data = bytearray(packed)
    data[local + 22 : local + 26] = struct.pack("<I", size)
    data[central + 24 : central + 28] = struct.pack("<I", size)
    return bytes(data)


def _set_flag(packed: bytes, name: str, flag: int) -> bytes:
    """The zip with a general-purpose flag bit set on the member, in both its headers."""
    local, central = _headers(packed, name)
    data = bytearray(packed)
    for at in (local + 6, central + 8):
        data[at : at + 2] = struct.pack("<H", struct.unpack("<H", data[at : at + 2])[0] | flag)
    return bytes(data)


def test_a_zipped_bundle_is_inflated_by_zlib_ng_and_read_as_its_folder_is(monkeypatch, tmp_path):
    """The zip's files are inflated by zlib-ng (zipfile's own decompressor is swapped for it, which
    is why this looks: after a Python upgrade that renamed it, the read would quietly slow down)."""
    inflated: list[int] = []
    decompressobj = zlib_ng.decompressobj

    class Counted:
        def __init__(self, wbits: int) -> None:
            self._inflater = decompressobj(wbits)

        def decompress(self, data: bytes, max_length: int = 0) -> bytes:
            inflated.append(len(data))
            return self._inflater.decompress(data, max_length)

        def __getattr__(self, name: str):  # unconsumed_tail, eof …
            return getattr(self._inflater, name)

    monkeypatch.setattr(zlib_ng, "decompressobj", Counted)
    zipped = read_bundle(zip_bundle(lincoln()))
    assert len(inflated) >= 8  # each of the bundle's files at least once
    folder = read_bundle(folder_bundle(lincoln(), tmp_path / "bundle"))
    for name in ("schools", "sessions", "courses", "classes", "users", "enrollments"):
        assert getattr(zipped.roster, name).equals(getattr(folder.roster, name)), name
    assert zipped.report == folder.report
