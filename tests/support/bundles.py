"""Hand-written OneRoster CSV bundles (``tests/oneroster_csv/bundles``), and bundles made in a test.

A bundle there is a folder of the files both versions share, with ``v1p1/`` and ``v1p2/``
holding what differs (the manifest, users.csv, and 1.2's roles.csv). ``bundle_files`` gives a
version's files by name, as bytes, for a test to change one and pack them with ``zip_bundle``
or ``folder_bundle``.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

__all__ = ["BUNDLES", "bundle_files", "changed", "folder_bundle", "zip_bundle"]

BUNDLES = Path(__file__).resolve().parents[1] / "oneroster_csv" / "bundles"


def bundle_files(name: str, version: str) -> dict[str, bytes]:
    """The files of bundle ``name`` for ``version`` (``"1.1"`` or ``"1.2"``), by file name."""
    folder = BUNDLES / name
    own = folder / f"v{version.replace('.', 'p')}"
    return {path.name: path.read_bytes() for path in [*sorted(folder.glob("*.csv")), *sorted(own.glob("*.csv"))]}


def changed(files: dict[str, bytes], name: str, old: str, new: str) -> dict[str, bytes]:
    """``files`` with ``old`` replaced by ``new`` in file ``name`` (``old`` must be there, once)."""
    text = files[name].decode("utf-8")
    assert text.count(old) == 1, f"{old!r} is not once in {name}"
    return files | {name: text.replace(old, new).encode("utf-8")}


def zip_bundle(files: dict[str, bytes], *, folder: str = "") -> bytes:
    """The files zipped (under ``folder`` inside the zip when given), as an upload gives them."""
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, content in files.items():
            bundle.writestr(f"{folder}/{name}" if folder else name, content)
    return packed.getvalue()


def folder_bundle(files: dict[str, bytes], folder: Path) -> Path:
    """The files written into ``folder`` (made)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return folder
