"""Hand-written rosters (OneRoster JSON, as a provider sends it) for tests that pin exact output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cers_core.oneroster.records import COLLECTION_OF_ENVELOPE, records_to_frame
from cers_core.roster import Roster

ROSTERS = Path(__file__).resolve().parents[1] / "rosters"


def load_records(name: str) -> dict[str, list[dict[str, Any]]]:
    """The envelopes of a roster file (``orgs``, ``classes`` …) as lists of records."""
    document = json.loads((ROSTERS / f"{name}.json").read_text(encoding="utf-8"))
    return {key: value for key, value in document.items() if key in COLLECTION_OF_ENVELOPE}


def roster_from_records(records: dict[str, list[dict[str, Any]]]) -> Roster:
    frames = {
        COLLECTION_OF_ENVELOPE[key]: records_to_frame(COLLECTION_OF_ENVELOPE[key], value)
        for key, value in records.items()
    }
    return Roster.from_frames(**frames)


def load_roster(name: str) -> Roster:
    return roster_from_records(load_records(name))
