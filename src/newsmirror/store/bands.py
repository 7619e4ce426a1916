"""The near-copy look-up's index, in memory: which articles' fingerprints share one of a fingerprint's four 16-bit
bands (dedup.bands), as four SQLite indexes held it before.

Those indexes grew with the store, and their keys are random: each group's commit rewrote most of their pages (at
100,000 articles, half of what storing an article cost, and all of its growth: benchmarks/store.py). The store now
keeps a log of fingerprints instead (the `fingerprints` table: an entry appended, by a trigger, whenever an article
is saved with a new one, in order, so that it costs what appending a row costs), and each process reads it into
this index when it first looks for a near copy, then reads the entries appended since (its own writes, and other
processes') each time it looks again. An entry outlives its article's fingerprint (an edit, a deletion): what it
finds is checked against the article's row.

Memory: 4 × 4 bytes a band value and 32 bytes an entry (its fingerprint, its article's rowid, its place in 4 chains):
4 MB at 100,000 articles. Reading the log: 0.15 s of CPU at 100,000 entries, 1.5 s at a million; a look-up walks
entries/65,536 of each band's (2.7 µs at 100,000, 23 µs at a million). (The log names articles by rowid, which
VACUUM keeps where no article was ever deleted: newsmirror deletes none.)
"""

from __future__ import annotations

import sqlite3
from array import array

from ..dedup import bands, from_signed

NONE = -1  # the end of a chain


class BandIndex:
    """For each band (its number, its 16-bit value), a chain of the entries whose fingerprint has that value: each
    band's head (the newest entry) in `_heads[k]`, each entry's next older one in `_nexts[k]`."""

    def __init__(self) -> None:
        self.last = 0  # the last log entry (fingerprints.n) read
        self._rows = array("q")  # entry → its article's rowid
        self._fps = array("Q")  # entry → the fingerprint
        self._heads = [array("i", [NONE]) * 65536 for _ in range(4)]
        self._nexts: list[array] = [array("i") for _ in range(4)]

    def catch_up(self, db: sqlite3.Connection) -> None:
        """Read the log entries appended since the last read."""
        for n, rowid, fp in db.execute("SELECT n, article, simhash FROM fingerprints WHERE n > ? ORDER BY n",
                                       (self.last,)):
            self.add(rowid, from_signed(fp))
            self.last = n

    def add(self, rowid: int, fp: int) -> None:
        entry = len(self._rows)
        self._rows.append(rowid)
        self._fps.append(fp)
        for k, value in enumerate(bands(fp)):
            self._nexts[k].append(self._heads[k][value])
            self._heads[k][value] = entry

    def near(self, fp: int, max_distance: int) -> set[int]:
        """The rowids of the articles whose logged fingerprint shares a band with `fp` and is within `max_distance`
        bits of it."""
        found: set[int] = set()
        fps, rows = self._fps, self._rows
        for k, value in enumerate(bands(fp)):
            nexts = self._nexts[k]
            entry = self._heads[k][value]
            while entry != NONE:
                if (fp ^ fps[entry]).bit_count() <= max_distance:
                    found.add(rows[entry])
                entry = nexts[entry]
        return found
