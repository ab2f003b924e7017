"""The embedded ledger: one SQLite file (WAL) under ``.receiptcore/``, append-only by triggers.

Tables: ``entries`` (leaf index, RFC 6962 leaf hash, the receipt bytes, and the artifact id and
commit to look it up by), ``nodes`` (the hash of every *perfect* subtree above the leaves, written
once when the subtree fills, so every proof is O(log n) point reads), and ``checkpoints`` (one
signed C2SP checkpoint per committed tree size). Triggers refuse UPDATE and DELETE on all of them
and refuse an entry index that is not the next one, so the database itself keeps the log gap-free.

An append is one ``BEGIN IMMEDIATE`` transaction: it takes the write lock before reading the
tree size, so concurrent writers (threads or processes) queue instead of racing, and a writer
killed at any point leaves either the whole append or none of it. Appending bytes that are
already in the log returns the first entry instead of adding a second one.
"""

from __future__ import annotations

import itertools
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from receiptcore.errors import CheckpointError, LedgerCorrupt, NotInLedger
from receiptcore.ledger import merkle
from receiptcore.ledger.checkpoint import Checkpoint, SignerKey, VerifierKey, open_checkpoint
from receiptcore.ledger.keyfile import load_or_create_signer
from receiptcore.util.atomic import exclusive_lock

DB_FILE = "ledger.sqlite3"
SCHEMA_VERSION = "1"

_TABLES = ("entries", "nodes", "checkpoints", "meta")
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS entries (
        idx INTEGER PRIMARY KEY CHECK (idx >= 0),
        leaf_hash BLOB NOT NULL UNIQUE CHECK (length(leaf_hash) = 32),
        data BLOB NOT NULL,
        artifact_id TEXT,
        artifact_commit TEXT)""",
    "CREATE INDEX IF NOT EXISTS entries_by_artifact_id ON entries (artifact_id, idx)",
    "CREATE INDEX IF NOT EXISTS entries_by_artifact_commit ON entries (artifact_commit, idx)",
    """CREATE TABLE IF NOT EXISTS nodes (
        level INTEGER NOT NULL CHECK (level > 0),
        idx INTEGER NOT NULL CHECK (idx >= 0),
        hash BLOB NOT NULL CHECK (length(hash) = 32),
        PRIMARY KEY (level, idx)) WITHOUT ROWID""",
    "CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL)",
    """CREATE TRIGGER IF NOT EXISTS entries_are_appended_in_order BEFORE INSERT ON entries
    WHEN NEW.idx != coalesce((SELECT max(idx) FROM entries) + 1, 0)
    BEGIN SELECT RAISE(ABORT, 'receiptcore ledger: entries must be appended at the next index');
    END""",
)
_GUARD = """
CREATE TRIGGER IF NOT EXISTS {table}_refuse_{op} BEFORE {op} ON {table}
BEGIN SELECT RAISE(ABORT, 'receiptcore ledger is append-only: {op} on {table} refused'); END;
"""


@dataclass(frozen=True)
class LogEntry:
    """One leaf of the log: its index, its RFC 6962 leaf hash and the bytes it commits to."""

    index: int
    leaf_hash: bytes
    data: bytes
    artifact_id: str | None = None
    artifact_commit: str | None = None


class SqliteLedger:
    """An append-only Merkle log of receipts in ``home/ledger.sqlite3``, signed with
    ``home/ledger.key``.

    ``signer`` defaults to the key beside the database, made on first use. Readers that only
    verify need no key: use :meth:`open_readonly`.
    """

    def __init__(self, home: str | Path, signer: SignerKey | None = None, timeout: float = 60.0):
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.signer = signer or load_or_create_signer(self.home)
        self._db = _connect(self.home / DB_FILE, timeout)
        self._init_schema()

    @classmethod
    def open_readonly(cls, home: str | Path, timeout: float = 60.0) -> SqliteLedger:
        """A ledger to read and prove from, without the signing key."""
        path = Path(home) / DB_FILE
        if not path.is_file():
            raise NotInLedger(f"no ledger at {path}: publish an artifact first")
        self = cls.__new__(cls)
        self.home, self.signer = Path(home), None
        self._db = _connect(path, timeout)
        return self

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- schema -----------------------------------------------------------------------------

    def _init_schema(self) -> None:
        with self._write():
            for statement in _SCHEMA:
                self._db.execute(statement)
            for table in _TABLES:
                for op in ("UPDATE", "DELETE"):
                    self._db.execute(_GUARD.format(table=table, op=op))
            meta = dict(self._db.execute("SELECT key, value FROM meta"))
            vkey = self.signer.verifier.to_text()
            if not meta:
                self._db.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [("schema", SCHEMA_VERSION), ("origin", self.signer.name), ("vkey", vkey)],
                )
            elif meta.get("vkey") != vkey:
                raise CheckpointError(
                    f"{self.home / 'ledger.key'} is not the key this ledger was started with "
                    f"({meta.get('vkey')})"
                )

    def _write(self) -> _Transaction:
        return _Transaction(self._db, "BEGIN IMMEDIATE")

    def _read(self) -> _Transaction:
        return _Transaction(self._db, "BEGIN")

    # --- appends ----------------------------------------------------------------------------

    def append(
        self, data: bytes, artifact_id: str | None = None, artifact_commit: str | None = None
    ) -> LogEntry:
        """Append ``data`` and sign a checkpoint covering it.

        Bytes already in the log are not added again: their first entry is returned."""
        return self.append_many([(data, artifact_id, artifact_commit)])[0]

    def append_many(self, items: Iterable[tuple[bytes, str | None, str | None]]) -> list[LogEntry]:
        """Append many entries in one transaction, with one checkpoint at the end.

        Items are ``(data, artifact_id, artifact_commit)``. Subtree hashes are carried along
        in memory, so a bulk load hashes each node once and never reads the tree back.
        """
        if self.signer is None:
            raise CheckpointError("this ledger was opened read-only: it cannot sign")
        with self._writer_lock(), self._write():
            size = start = self._size()
            frontier = merkle.Frontier(
                size, [self._perfect(lvl, i) for lvl, i in merkle.frontier_positions(size)]
            )
            entries: list[LogEntry] = []
            added: dict[bytes, LogEntry] = {}
            for chunk in _chunks(items, 1000):
                rows = [(bytes(data), aid, commit) for data, aid, commit in chunk]
                leaves = [merkle.leaf_hash(data) for data, _, _ in rows]
                logged = self._entries_by_leaf([leaf for leaf in leaves if leaf not in added])
                new_entries, new_nodes = [], []
                for (data, artifact_id, artifact_commit), leaf in zip(rows, leaves):
                    found = added.get(leaf) or logged.get(leaf)
                    if found is not None:
                        entries.append(found)
                        continue
                    entry = LogEntry(size, leaf, data, artifact_id, artifact_commit)
                    new_entries.append((size, leaf, data, artifact_id, artifact_commit))
                    added[leaf] = entry
                    entries.append(entry)
                    size += 1
                    new_nodes.extend(frontier.append(leaf))
                self._db.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?)", new_entries)
                self._db.executemany("INSERT INTO nodes VALUES (?, ?, ?)", new_nodes)
            if size > start:
                note = Checkpoint(self.signer.name, size, frontier.root()).sign(self.signer)
                self._db.execute("INSERT INTO checkpoints VALUES (?, ?)", (size, note))
            return entries

    def _writer_lock(self) -> AbstractContextManager[None]:
        """Writers queue on a kernel lock: woken the moment it is free, where SQLite's own busy
        handler would poll with growing sleeps. BEGIN IMMEDIATE still guards correctness."""
        return exclusive_lock(self.home / "ledger.lock")

    # --- reads ------------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        return self._meta("origin")

    @property
    def verifier_key(self) -> VerifierKey:
        """The public key this ledger's checkpoints are signed with, as the ledger states it."""
        return VerifierKey.from_text(self._meta("vkey"))

    def size(self) -> int:
        return self._size()

    def entry(self, index: int) -> LogEntry:
        row = self._db.execute(
            "SELECT idx, leaf_hash, data, artifact_id, artifact_commit FROM entries WHERE idx = ?",
            (index,),
        ).fetchone()
        if row is None:
            raise NotInLedger(f"no ledger entry {index}")
        return LogEntry(*row)

    def find(
        self, *, artifact_id: str | None = None, artifact_commit: str | None = None
    ) -> LogEntry:
        """The latest entry for an artifact id or commit; NotInLedger if there is none."""
        column, value = (
            ("artifact_id", artifact_id)
            if artifact_id is not None
            else ("artifact_commit", artifact_commit)
        )
        row = self._db.execute(
            f"SELECT idx, leaf_hash, data, artifact_id, artifact_commit FROM entries "
            f"WHERE {column} = ? ORDER BY idx DESC LIMIT 1",
            (value,),
        ).fetchone()
        if row is None:
            raise NotInLedger(f"no receipt in the ledger for {column.replace('_', ' ')} {value}")
        return LogEntry(*row)

    def entries(self, start: int = 0, batch: int = 4096) -> Iterator[LogEntry]:
        """Every entry from ``start``, in index order, read in batches (constant memory)."""
        while True:
            rows = self._db.execute(
                "SELECT idx, leaf_hash, data, artifact_id, artifact_commit FROM entries "
                "WHERE idx >= ? ORDER BY idx LIMIT ?",
                (start, batch),
            ).fetchall()
            yield from (LogEntry(*r) for r in rows)
            if len(rows) < batch:
                return
            start = rows[-1][0] + 1

    def checkpoint_note(self, size: int | None = None) -> str:
        """The signed checkpoint note at ``size`` (default: the latest)."""
        if size is None:
            row = self._db.execute(
                "SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1"
            ).fetchone()
        else:
            row = self._db.execute(
                "SELECT note FROM checkpoints WHERE size = ?", (size,)
            ).fetchone()
        if row is None:
            raise CheckpointError(
                f"the ledger has no signed checkpoint{'' if size is None else f' at size {size}'}"
            )
        return row[0]

    def checkpoints(self) -> Iterator[tuple[int, str]]:
        yield from self._db.execute("SELECT size, note FROM checkpoints ORDER BY size")

    def latest_checkpoint(self, verifier: VerifierKey) -> tuple[Checkpoint, str]:
        note = self.checkpoint_note()
        return open_checkpoint(note, verifier), note

    def stored_node(self, level: int, index: int) -> bytes | None:
        if level == 0:
            row = self._db.execute(
                "SELECT leaf_hash FROM entries WHERE idx = ?", (index,)
            ).fetchone()
        else:
            row = self._db.execute(
                "SELECT hash FROM nodes WHERE level = ? AND idx = ?", (level, index)
            ).fetchone()
        return None if row is None else row[0]

    def root(self, size: int | None = None) -> bytes:
        with self._read():
            return merkle.root_hash(self._size() if size is None else size, self._perfect)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        with self._read():
            return merkle.inclusion_proof(index, size, self._checked_perfect(size))

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        with self._read():
            return merkle.consistency_proof(size1, size2, self._checked_perfect(size2))

    # --- internals --------------------------------------------------------------------------

    def _meta(self, key: str) -> str:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise LedgerCorrupt(f"ledger metadata {key!r} is missing")
        return row[0]

    def _size(self) -> int:
        return self._db.execute("SELECT coalesce(max(idx) + 1, 0) FROM entries").fetchone()[0]

    def _entries_by_leaf(self, leaves: list[bytes]) -> dict[bytes, LogEntry]:
        if not leaves:
            return {}
        rows = self._db.execute(
            "SELECT idx, leaf_hash, data, artifact_id, artifact_commit FROM entries "
            f"WHERE leaf_hash IN ({', '.join('?' * len(leaves))})",
            leaves,
        )
        return {row[1]: LogEntry(*row) for row in rows}

    def _perfect(self, level: int, index: int) -> bytes:
        h = self.stored_node(level, index)
        if h is None:
            raise LedgerCorrupt(f"stored subtree hash (level {level}, index {index}) is missing")
        return h

    def _checked_perfect(self, size: int) -> merkle.PerfectSubtree:
        if size > self._size():
            raise NotInLedger(f"the ledger has fewer than {size} entries")
        return self._perfect


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def _connect(path: Path, timeout: float) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    # Switching a new database to WAL takes an exclusive lock that SQLite's busy handler does not
    # wait for, so processes opening a fresh ledger together retry here.
    deadline = time.monotonic() + timeout
    while db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        try:
            db.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    # An acknowledged append survives a power cut, not only a crash of the process.
    db.execute("PRAGMA synchronous = FULL")
    # Up to 64 MiB of pages in memory (taken only as needed): the unique index on leaf hashes is
    # written at random places, and a bulk load of millions of entries thrashes the 2 MiB default.
    db.execute("PRAGMA cache_size = -65536")
    return db


class _Transaction:
    """``with``: one explicit transaction (the connection is in autocommit mode otherwise)."""

    def __init__(self, db: sqlite3.Connection, begin: str) -> None:
        self.db, self.begin = db, begin

    def __enter__(self) -> None:
        self.nested = self.db.in_transaction
        if not self.nested:
            self.db.execute(self.begin)

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if self.nested:
            return
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
