"""Connection names: the rules every kind of connection follows, in one place."""

from __future__ import annotations

import re
import sqlite3

__all__ = ["CONTROL_CHARS", "NAME_MAX", "connection_name_errors"]

NAME_MAX = 100
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def connection_name_errors(
    db: sqlite3.Connection, name: str, *, app_id: str, connection_id: int | None
) -> tuple[str, dict[str, str]]:
    """The trimmed name, and ``{"name": message}`` when it is empty, too long, has control
    characters, or another connection of the application already has it (case ignored)."""
    name = name.strip()
    if not name:
        return name, {"name": "Enter a name for the connection."}
    if len(name) > NAME_MAX or CONTROL_CHARS.search(name):
        return name, {"name": f"Use at most {NAME_MAX} characters and no tabs or line breaks."}
    taken = db.execute(
        "SELECT 1 FROM connections WHERE app_id = ? AND name = ? COLLATE NOCASE AND id IS NOT ?",
        (app_id, name, connection_id),
    ).fetchone()
    return name, ({"name": "Another connection already has this name."} if taken else {})
