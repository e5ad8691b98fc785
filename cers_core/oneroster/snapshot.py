"""What we read from a provider, kept per connection, so that reading it again asks only for what changed.

Every collection read (a path with its filter) is kept with its *high-water mark*: the latest
``dateLastModified`` among its records. Reading the same thing again sends the same request
with ``dateLastModified>='<mark>'`` added to the filter — one short page when little has
changed — and merges the answer in, newer versions replacing older ones. Records whose
status became ``tobedeleted`` come back with the delta and are then left out by the group
builder as usual.

A provider that refuses the filter (400, 403, 422 …) is remembered as having no deltas, and
everything is read in full from then on. Records a provider deletes outright never come
back in a delta; an analyst who suspects that can start a fresh session (the snapshot lives
only as long as the browser session or the process), as the OneRoster reference advises
periodic full reads.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cers_core.errors import OneRosterError

if TYPE_CHECKING:  # polars is imported when the first answer is read: see cers_core.oneroster.client
    import polars as pl

    Reader = Callable[[Mapping[str, Any] | None], Awaitable[pl.DataFrame]]

__all__ = ["RosterSnapshot"]

_NO_DELTA_STATUSES = frozenset({400, 403, 404, 405, 422, 501})


@dataclass(slots=True)
class _Kept:
    frame: pl.DataFrame
    mark: str | None


@dataclass(slots=True, weakref_slot=True, eq=False)  # one per session: compared and hashed by identity
class RosterSnapshot:
    """Per connection (never shared between connections or browser sessions): the collections read."""

    kept: dict[tuple[str, str], _Kept] = field(default_factory=dict)
    deltas: bool | None = None
    """Whether the provider answers ``dateLastModified`` filters (None: not tried yet)."""
    delta_reads: int = 0
    full_reads: int = 0
    changes: int = 0
    """Reads that changed what is kept: while it stays the same, so does everything made from it."""

    def has(self, path: str, params: Mapping[str, Any] | None = None) -> bool:
        return _key(path, params) in self.kept

    def frame(self, path: str, params: Mapping[str, Any] | None = None) -> pl.DataFrame | None:
        kept = self.kept.get(_key(path, params))
        return None if kept is None else kept.frame

    async def read(self, path: str, params: Mapping[str, Any] | None, read: Reader) -> pl.DataFrame:
        """The collection at ``path``: a delta on what was kept when possible, else read in full."""
        key = _key(path, params)
        kept = self.kept.get(key)
        if kept is not None and kept.mark is not None and self.deltas is not False:
            try:
                changed = await read(_with_delta(params, kept.mark))
            except OneRosterError as error:
                if error.status not in _NO_DELTA_STATUSES:
                    raise
                self.deltas = False
            else:
                self.deltas = True
                self.delta_reads += 1
                if _same_versions(changed, kept.frame):
                    # The records at the mark come back (the filter is ">="): nothing new.
                    return kept.frame
                import polars as pl

                merged = pl.concat([changed, kept.frame], how="diagonal_relaxed").unique(
                    "sourced_id", keep="first", maintain_order=True
                )
                self.kept[key] = _Kept(merged, _mark(merged))
                self.changes += 1
                return merged
        frame = await read(params)
        self.full_reads += 1
        self.kept[key] = _Kept(frame, _mark(frame))
        self.changes += 1
        return frame


def _key(path: str, params: Mapping[str, Any] | None) -> tuple[str, str]:
    return path, repr(sorted((params or {}).items()))


def _same_versions(changed: pl.DataFrame, kept: pl.DataFrame) -> bool:
    """Every record of the delta is kept already, in the same version (``dateLastModified``
    changes with every change to a record)."""
    if changed.height == 0:
        return True
    if "modified" not in changed.columns or changed["modified"].null_count():
        return False
    versions = ["sourced_id", "modified"]
    return changed.select(versions).join(kept.select(versions), on=versions, how="anti").height == 0


def _mark(frame: pl.DataFrame) -> str | None:
    if "modified" not in frame.columns or frame.height == 0:
        return None
    latest = frame["modified"].drop_nulls().max()
    return str(latest) if latest is not None else None


def _with_delta(params: Mapping[str, Any] | None, mark: str) -> dict[str, Any]:
    """The same request, asking only for records modified at or after ``mark``."""
    delta = f"dateLastModified>='{mark}'"
    merged = dict(params or {})
    merged["filter"] = f"{merged['filter']} AND {delta}" if merged.get("filter") else delta
    return merged
