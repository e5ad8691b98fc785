"""A row of the benchmark's table: what was measured, its result, the target and whether it was met.

A row with a target says ``met`` or ``NOT met`` in its last column; a row without one (``—``) is a
measure the targets' rows are read against (the records read, the limit's own time).

>>> Row("ours / limit", "0.71", target="≥ 0.60", met=0.71 >= 0.60).cells()
('ours / limit', '0.71', '≥ 0.60', 'met')
>>> table([Row("records read", "173,011")])
'| measure | result | target | verdict |\\n| --- | --- | --- | --- |\\n| records read | 173,011 | — | — |'
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

__all__ = ["Row", "progress", "table"]

_STARTED = time.perf_counter()


@dataclass(frozen=True)
class Row:
    measure: str
    result: str
    target: str = "—"
    met: bool | None = None
    """None: the row has no target."""

    def cells(self) -> tuple[str, str, str, str]:
        verdict = "—" if self.met is None else "met" if self.met else "NOT met"
        return self.measure, self.result, self.target, verdict


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    lines = ["| measure | result | target | verdict |", "| --- | --- | --- | --- |"]
    return "\n".join([*lines, *("| " + " | ".join(row.cells()) + " |" for row in rows)])


def progress(what: str) -> None:
    """A line on stderr: how far the run is, since its start (the table goes to stdout at the end)."""
    print(f"[bench {time.perf_counter() - _STARTED:6.0f} s] {what}", file=sys.stderr, flush=True)
