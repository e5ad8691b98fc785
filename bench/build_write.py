"""Building and writing a district's file once its rosters are in memory, in a process of its own.

Run by ``python -m bench`` as ``python -m bench.build_write`` with the provider's settings as JSON
on stdin; prints ``{"seconds": …, "bytes": …}``. Its own process, like our export's, so that what
the benchmark's own process did before (generating a district, the limit and the naive client)
leaves nothing behind that the timing would see. With ``"self_check": true`` in the request, the
rows just built are then checked both ways (``bench/self_check.py``), which adds ``"self_check"``:
the streaming and the vectorized seconds, and whether the two reports are equal.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import date

from bench.self_check import measure_self_check
from cers_core import GroupOptions, OneRosterSettings
from cers_core.cers_csv import order_cers_rows, write_ordered_rows
from cers_core.groups import build_section_groups
from cers_core.oneroster.client import OneRosterClient
from cers_core.oneroster.fetch import fetch_roster
from cers_core.roster import Roster


def main() -> None:
    request = json.load(sys.stdin)
    settings = OneRosterSettings.model_validate(request["settings"])

    async def read() -> Roster:
        async with OneRosterClient(settings) as client:
            return await fetch_roster(client)

    roster = asyncio.run(read())
    started = time.perf_counter()
    built = build_section_groups(roster, GroupOptions(split_large=True), as_of=date.fromisoformat(request["as_of"]))
    ordered = order_cers_rows(built.rows)
    csv_bytes = write_ordered_rows(ordered)
    answer: dict[str, object] = {"seconds": time.perf_counter() - started, "bytes": len(csv_bytes)}
    if request.get("self_check"):
        del roster, built, csv_bytes
        timing = measure_self_check(ordered, runs=request.get("runs", 3))
        answer["self_check"] = {"streaming": timing.streaming, "by_columns": timing.by_columns, "equal": timing.equal}
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
