"""The progress of a roster load, passed from the fetch's worker thread to the page that shows it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from cers_core import FetchProgress

__all__ = ["LoadProgress", "progress_summary"]


@dataclass(slots=True)
class LoadProgress:
    """Progress of one roster load, written by the fetch's worker thread and read by the page."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    collections: dict[str, FetchProgress] = field(default_factory=dict)

    def record(self, progress: FetchProgress) -> None:
        with self.lock:
            self.collections[progress.collection] = progress

    def snapshot(self) -> list[FetchProgress]:
        with self.lock:
            return list(self.collections.values())


def progress_summary(collections: list[FetchProgress]) -> tuple[float, str]:
    """A fraction done and one line saying what was read so far, for a progress bar."""
    if not collections:
        return 0.0, "Getting a token and the first pages…"
    parts = []
    for item in collections:
        of_total = f" of {item.total:,}" if item.total is not None else ""
        parts.append(f"{item.collection}: {item.records:,}{of_total} records, {item.pages:,} pages")
    known = [item for item in collections if item.total]
    fraction = sum(min(i.records, i.total or 0) for i in known) / sum(i.total or 0 for i in known) if known else 0.0
    return min(fraction, 1.0), " · ".join(parts)
