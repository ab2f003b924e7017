"""The verifier's stat cache: the sha256 of files this user hashed, trusted again only while
their device, inode, size, mtime and ctime (nanoseconds) are unchanged.

Opt in with ``verify --trust-stat-cache`` (``verify(trust_stat_cache=True)``); the default is a
full re-hash. What the cache trusts, and what defeats it, is in docs/trees.md. In short: a
file's content can change without its ctime changing only through a path the kernel does not
see (a raw write to the block device, another system mounting the disk, a network file system
serving stale attributes) or by someone who sets the system clock back; and whoever can write
this cache can make ``--trust-stat-cache`` trust anything, which is why it lives in the
verifier's state folder (``$RECEIPTCORE_STATE``), never in a work tree or beside a ledger.

A file is recorded only when its mtime and ctime are older than :data:`RACY_NS` before the
moment its status was read: a write inside the same timestamp tick as the recorded one would
otherwise leave both times unchanged (git's "racily clean" files).
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from collections.abc import Sequence
from pathlib import Path

FILE_NAME = "stat-cache.sqlite3"
RACY_NS = 2_000_000_000
"""Two seconds: more than the coarsest timestamp a local file system keeps (FAT's 2 s)."""

Key = tuple[int, int, int, int, int]
"""(st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns) of a regular file."""

_SCHEMA = """CREATE TABLE IF NOT EXISTS files (
    path BLOB PRIMARY KEY, dev INTEGER, ino INTEGER, size INTEGER, mtime_ns INTEGER,
    ctime_ns INTEGER, sha256 TEXT NOT NULL) WITHOUT ROWID"""
_BATCH = 500


class StatCache:
    """``<state>/stat-cache.sqlite3``: absolute path -> (status key, sha256)."""

    def __init__(self, state: Path) -> None:
        state.mkdir(parents=True, exist_ok=True)
        self.path = state / FILE_NAME
        self._db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def lookup(self, paths: Sequence[str]) -> tuple[list[Key | None], list[str | None], int]:
        """Each file's status key now (None: not a regular file) and its cached sha256 where
        the key is the one recorded (else None), and the time (ns) the statuses were read."""
        now = time.time_ns()
        keys = [_key(p) for p in paths]
        cached: dict[bytes, tuple] = {}
        names = [os.fsencode(os.path.abspath(p)) for p in paths]
        for start in range(0, len(names), _BATCH):
            part = names[start : start + _BATCH]
            rows = self._db.execute(
                "SELECT path, dev, ino, size, mtime_ns, ctime_ns, sha256 FROM files "
                f"WHERE path IN ({', '.join('?' * len(part))})",
                part,
            )
            cached.update((row[0], row[1:]) for row in rows)
        digests = []
        for name, key in zip(names, keys):
            row = cached.get(name)
            digests.append(row[5] if key is not None and row is not None and row[:5] == key else None)
        return keys, digests, now

    def record(
        self, paths: Sequence[str], keys: Sequence[Key | None], digests: Sequence[str], now: int
    ) -> int:
        """Remember what each file hashed to, under the key read before it was hashed, unless
        its times are too recent to tell a later write apart; returns how many were recorded."""
        rows = [
            (os.fsencode(os.path.abspath(p)), *key, digest)
            for p, key, digest in zip(paths, keys, digests)
            if key is not None and max(key[3], key[4]) < now - RACY_NS
        ]
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        return len(rows)


def _key(path: str) -> Key | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
