"""The tables that came with group sets, the scheduled sync and its history.

Each is added to a store that lacks it when the store is opened (``_database``'s additions), so
an older store gains them and an older version of the app still reads and writes the ones it
knows. Everything a connection owns goes with it (``ON DELETE CASCADE``); an upload target that
is deleted only unlinks (``SET NULL``).
"""

from __future__ import annotations

__all__ = ["SYNC_TABLES"]

# Several recipes per OneRoster connection, in the order they were added (the first one's names win).
_GROUP_SETS = """
CREATE TABLE IF NOT EXISTS group_sets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    connection_id INTEGER NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    definition_json TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (connection_id, name COLLATE NOCASE)
)
"""
# Which CERS import connection a OneRoster connection sends to, and its brake's thresholds.
_SYNC_TARGETS = """
CREATE TABLE IF NOT EXISTS sync_targets (
    connection_id INTEGER PRIMARY KEY REFERENCES connections(id) ON DELETE CASCADE,
    import_connection_id INTEGER REFERENCES connections(id) ON DELETE SET NULL,
    brake_json TEXT NOT NULL,
    updated_at TEXT NOT NULL
)
"""
# Every run, download and upload: no student data (counts and hashes).
_RUNS = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    who TEXT NOT NULL,
    connection_id INTEGER NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    connection_name TEXT NOT NULL,
    outcome TEXT NOT NULL,
    message TEXT NOT NULL,
    rows INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    batch TEXT NOT NULL,
    cers_status TEXT NOT NULL
)
"""
_RUN_SCHOOLS = """
CREATE TABLE IF NOT EXISTS run_schools (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    school TEXT NOT NULL,
    school_name TEXT NOT NULL,
    decision TEXT NOT NULL,
    reason TEXT NOT NULL,
    groups INTEGER NOT NULL,
    students INTEGER NOT NULL,
    student_rows INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    changes_json TEXT NOT NULL,
    PRIMARY KEY (run_id, school)
)
"""
# A school's part that the brake held, encrypted like a kept file, until released or replaced.
_HELD_FILES = """
CREATE TABLE IF NOT EXISTS held_files (
    connection_id INTEGER NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    school TEXT NOT NULL,
    school_name TEXT NOT NULL,
    at TEXT NOT NULL,
    reason TEXT NOT NULL,
    rows INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    file_token BLOB NOT NULL,
    PRIMARY KEY (connection_id, school)
)
"""
# One row per lock taken (a sync run's), with who holds it and until when.
_LOCKS = """
CREATE TABLE IF NOT EXISTS locks (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    taken_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
)
"""

SYNC_TABLES: tuple[tuple[str, str], ...] = (
    ("group_sets", _GROUP_SETS),
    ("sync_targets", _SYNC_TARGETS),
    ("runs", _RUNS),
    ("run_schools", _RUN_SCHOOLS),
    ("held_files", _HELD_FILES),
    ("locks", _LOCKS),
)
"""(table, the statement that makes it), in an order where each table's references exist."""
