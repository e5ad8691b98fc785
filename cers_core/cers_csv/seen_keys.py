"""Keys seen so far, remembered exactly in bounded memory, however many there are.

CERS's rules and our checks remember what a file has shown: the schools and groups already
completed (a school or group seen again is out of order), the failure messages already given,
the first spelling of each group. A real file has a few thousand of each; a file of forty million
one-row groups would have forty million, and a set of them would need gigabytes. So each
:class:`SeenKeys` holds its first :data:`IN_MEMORY` keys (or :data:`IN_MEMORY_CHARS` characters
of keys and values) in a dict, and moves them, when it is full, to a temporary SQLite database
(a private file that SQLite deletes when it is closed, with a page cache of 2 MB). The answer is
the same either way: a key is looked up in both. In front of the disk, a Bloom filter of 4 MB
(two bits a key, from Python's own ``hash``) says which keys surely are not there, so that a new
key (nearly every key asked about) costs no disk read: one in 80 does at two million keys on
disk, one in 5 at ten million; each "maybe" is a read, slower, never wrong. So memory stays
under about 10 MB per set, for files far beyond any real one, and only time grows.

What the database holds: a 16-byte digest of each key, and the values given (a group's first
spelling): never an SSID or a login, which the checks keep per group only.

A key is a text or a tuple of texts (cheaper to make than one text, for a key of several parts);
a value, a tuple of texts.
"""

from __future__ import annotations

import hashlib
import sqlite3
import weakref
from typing import Final

__all__ = ["IN_MEMORY", "IN_MEMORY_CHARS", "Key", "SeenKeys", "Value", "key_of"]

IN_MEMORY = 20_000
"""Keys kept in memory before they move to disk: far more than the schools of a district or the
groups of one school (about 4 MB of short keys)."""
IN_MEMORY_CHARS = 2_000_000
"""Characters of keys and values kept in memory before they move to disk (long names are rare)."""
_FILTER_BITS: Final = 25  # 2**25 bits: 4 MB
_FILTER_MASK: Final = (1 << _FILTER_BITS) - 1

Key = str | tuple[str, ...]
Value = tuple[str, ...]


def key_of(*parts: str) -> str:
    """One text for several, none of which can run into the next.

    >>> key_of("ab", "c") == key_of("a", "bc")
    False
    """
    return "".join(f"{len(part)}:{part}" for part in parts)


def _parts(text: str) -> tuple[str, ...]:
    """The texts :func:`key_of` made ``text`` of.

    >>> _parts(key_of("Algebra", "20:25", ""))
    ('Algebra', '20:25', '')
    """
    parts, at = [], 0
    while at < len(text):
        colon = text.index(":", at)
        end = colon + 1 + int(text[at:colon])
        parts.append(text[colon + 1 : end])
        at = end
    return tuple(parts)


def _digest(key: Key) -> bytes:
    text = key if isinstance(key, str) else key_of(*key)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class SeenKeys:
    """A set of keys (texts, or tuples of texts), with a value each (a tuple of texts), in bounded memory.

    >>> seen = SeenKeys(in_memory=2)
    >>> [seen.add(key) for key in ("a", "b", "c", "a", "c", ("a", "b"))]
    [True, True, True, False, False, True]
    >>> seen.first("algebra", ("ALGEBRA ", "2025")), seen.first("algebra", ("Algebra", "2025")), len(seen)
    (None, ('ALGEBRA ', '2025'), 5)
    >>> seen.clear(); "a" in seen, len(seen)
    (False, 0)
    """

    def __init__(self, *, in_memory: int | None = None, in_memory_chars: int | None = None) -> None:
        self._memory: dict[Key, Value] = {}
        self._chars = 0
        self._limit = IN_MEMORY if in_memory is None else in_memory  # read now: a test may lower it
        self._chars_limit = IN_MEMORY_CHARS if in_memory_chars is None else in_memory_chars
        self._disk: sqlite3.Connection | None = None
        self._on_disk = 0
        self._filter = bytearray()  # the Bloom filter of the keys on disk, once there are some

    def __len__(self) -> int:
        return len(self._memory) + self._on_disk

    def __contains__(self, key: Key) -> bool:
        return key in self._memory or (self._on_disk > 0 and self._from_disk(key) is not None)

    def add(self, key: Key) -> bool:
        """Remember ``key``; True when it is new."""
        if key in self._memory or (self._on_disk and self._from_disk(key) is not None):
            return False
        self._keep(key, ())
        return True

    def first(self, key: Key, value: Value) -> Value | None:
        """Remember ``key`` with ``value`` unless it is known; the value it was first given, or None when new."""
        known = self._memory.get(key)
        if known is None and self._on_disk:
            known = self._from_disk(key)
        if known is None:
            self._keep(key, value)
        return known

    def clear(self) -> None:
        if self._memory:
            self._memory.clear()
            self._chars = 0
        if self._on_disk:
            assert self._disk is not None
            self._disk.execute("DELETE FROM seen")
            self._on_disk = 0
            self._filter = bytearray(len(self._filter))

    def _keep(self, key: Key, value: Value) -> None:
        memory = self._memory
        memory[key] = value
        self._chars += (len(key) if isinstance(key, str) else sum(map(len, key))) + sum(map(len, value))
        if len(memory) >= self._limit or self._chars >= self._chars_limit:
            self._spill()

    def _from_disk(self, key: Key) -> Value | None:
        number, bits = hash(key), self._filter
        first, second = number & _FILTER_MASK, (number >> _FILTER_BITS) & _FILTER_MASK
        if not (bits[first >> 3] >> (first & 7) & bits[second >> 3] >> (second & 7) & 1):
            return None  # surely not on disk
        assert self._disk is not None
        row = self._disk.execute("SELECT value FROM seen WHERE key = ?", (_digest(key),)).fetchone()
        return None if row is None else _parts(row[0])

    def _spill(self) -> None:
        if self._disk is None:
            # "": a temporary file, deleted on close; closed by whichever thread collects this object
            self._disk = sqlite3.connect("", isolation_level=None, check_same_thread=False)
            weakref.finalize(self, self._disk.close)
            self._disk.execute("PRAGMA journal_mode = OFF")
            self._disk.execute("PRAGMA synchronous = OFF")
            self._disk.execute("PRAGMA cache_size = -2048")
            self._disk.execute("CREATE TABLE seen (key BLOB PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")
        if not self._filter:
            self._filter = bytearray(1 << (_FILTER_BITS - 3))
        bits = self._filter
        for key in self._memory:
            number = hash(key)
            first, second = number & _FILTER_MASK, (number >> _FILTER_BITS) & _FILTER_MASK
            bits[first >> 3] |= 1 << (first & 7)
            bits[second >> 3] |= 1 << (second & 7)
        rows = sorted((_digest(key), key_of(*value)) for key, value in self._memory.items())
        self._disk.execute("BEGIN")
        self._disk.executemany("INSERT INTO seen VALUES (?, ?)", rows)
        self._disk.execute("COMMIT")
        self._on_disk += len(self._memory)
        self._memory.clear()
        self._chars = 0
