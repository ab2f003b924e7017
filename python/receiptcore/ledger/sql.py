"""The ledger on a SQL database, written once: SQLite and PostgreSQL supply only their SQL.

Tables: ``entries`` (leaf index, RFC 6962 leaf hash, the receipt bytes, and the artifact id and
commit to look it up by), ``nodes`` (the hash of every *perfect* subtree above the leaves, written
once when the subtree fills, so every proof is O(log n) stored hashes, read in one query) and
``checkpoints`` (one signed C2SP checkpoint per committed tree size), plus ``meta`` (origin and
the ledger key). The database itself refuses UPDATE and DELETE on all of them (and TRUNCATE,
where it has one) and any entry index but the next one, so it keeps the log gap-free.

An append is one transaction that first takes the backend's writer lock and only then reads the
tree size, so concurrent writers queue instead of racing; it writes the entries, the subtrees
they complete and one signed checkpoint of the new size, or nothing. Appending bytes that are
already in the log returns their first entry, so a retried append never logs twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from receiptcore.errors import CheckpointError, LedgerCorrupt, NotInLedger
from receiptcore.ledger import merkle
from receiptcore.ledger.base import Item, LogEntry, pages
from receiptcore.ledger.checkpoint import Checkpoint, SignerKey, VerifierKey, open_checkpoint

SCHEMA_VERSION = "1"
TABLES = ("entries", "nodes", "checkpoints", "meta")
PARAMS = 32766  # bound parameters per statement at most: SQLite's limit (since 3.32)
COLUMNS = {
    "entries": ("idx", "leaf_hash", "data", "artifact_id", "artifact_commit"),
    "nodes": ("level", "idx", "hash"),
}
ENTRY = ", ".join(COLUMNS["entries"])  # an entry's columns, as _entry() reads them


class SqlLedger:
    """The shared algorithm; a backend subclass supplies the connection, the schema, the
    transactions and its placeholder style (:meth:`_sql`)."""

    signer: SignerKey | None
    location: str

    # --- what a backend supplies ------------------------------------------------------------

    def _schema(self) -> Sequence[str]:
        """Statements creating the tables, indexes and append-only guards (idempotent)."""
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[None]:
        """A write transaction that holds the one writer lock from its first statement."""
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[None]:
        """A read transaction: one snapshot for a multi-query answer."""
        raise NotImplementedError

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement (written with ``?`` placeholders); returns a cursor."""
        raise NotImplementedError

    def _executemany(self, sql: str, rows: list[tuple]) -> None:
        raise NotImplementedError

    def _insert(self, table: str, rows: list[tuple]) -> None:
        """Insert rows of :data:`COLUMNS` ``[table]``, in order, thousands per statement.

        Not one row per ``executemany`` step: SQLite opens a statement journal around every
        statement on a table with a row trigger that may abort (the next-index guard) and copies
        into it each page the statement first touches, so one row per statement copied four
        pages per row and halved the insert rate."""
        columns = COLUMNS[table]
        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        row = f"({_marks(len(columns))})"
        for part in _batches(rows, PARAMS // len(columns)):
            self._execute(head + ", ".join([row] * len(part)), [x for r in part for x in r])

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- schema -----------------------------------------------------------------------------

    def _init_schema(self) -> None:
        """Create what is missing, then check that the ledger was started with our key."""
        assert self.signer is not None
        with self._write():
            for statement in self._schema():
                self._execute(statement)
            meta = dict(self._execute("SELECT key, value FROM meta").fetchall())
            vkey = self.signer.verifier.to_text()
            if not meta:
                self._executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [("schema", SCHEMA_VERSION), ("origin", self.signer.name), ("vkey", vkey)],
                )
            elif meta.get("vkey") != vkey:
                raise CheckpointError(
                    f"the ledger at {self.location} was started with the key {meta.get('vkey')}, "
                    f"not {vkey}"
                )

    # --- appends ----------------------------------------------------------------------------

    def append(
        self, data: bytes, artifact_id: str | None = None, artifact_commit: str | None = None
    ) -> LogEntry:
        """Append ``data`` and sign a checkpoint covering it.

        Bytes already in the log are not added again: their first entry is returned."""
        return self.append_many([(data, artifact_id, artifact_commit)])[0]

    def append_many(self, items: Iterable[Item]) -> list[LogEntry]:
        """Append many entries in one transaction, with one checkpoint at the end.

        The leaves are hashed in one native call before the writer lock is taken, and the
        subtrees the new ones complete in one more (the frontier: the tree is never read back),
        so the lock is held for the SQL alone: a lookup of the leaves already logged, then the
        rows, many per statement (:meth:`_insert`)."""
        if self.signer is None:
            raise CheckpointError("this ledger was opened read-only: it cannot sign")
        rows = [(bytes(data), artifact_id, commit) for data, artifact_id, commit in items]
        leaves = merkle.leaf_hashes([data for data, _, _ in rows])
        with self._write():
            size = start = self._size()
            positions = merkle.frontier_positions(size)
            stored = self.stored_nodes(positions)
            if len(stored) != len(positions):
                raise LedgerCorrupt(f"stored subtree hashes of the tree of size {size} are missing")
            logged = self._entries_by_leaf(list(set(leaves)))
            entries: list[LogEntry] = []
            new_rows: list[tuple] = []
            for (data, artifact_id, artifact_commit), leaf in zip(rows, leaves):
                entry = logged.get(leaf)
                if entry is None:  # new, or logged earlier in this batch
                    entry = logged[leaf] = LogEntry(size, leaf, data, artifact_id, artifact_commit)
                    new_rows.append((size, leaf, data, artifact_id, artifact_commit))
                    size += 1
                entries.append(entry)
            if size == start:
                return entries
            self._insert("entries", new_rows)
            frontier = merkle.Frontier(start, [stored[p] for p in positions])
            self._insert("nodes", frontier.extend([row[1] for row in new_rows]))
            note = Checkpoint.now(self.signer.name, size, frontier.root()).sign(self.signer)
            self._execute("INSERT INTO checkpoints (size, note) VALUES (?, ?)", (size, note))
            return entries

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
        row = self._execute(f"SELECT {ENTRY} FROM entries WHERE idx = ?", (index,)).fetchone()
        if row is None:
            raise NotInLedger(f"no ledger entry {index}")
        return _entry(row)

    def find(
        self, *, artifact_id: str | None = None, artifact_commit: str | None = None
    ) -> LogEntry:
        """The latest entry for an artifact id or commit; NotInLedger if there is none."""
        column, value = _lookup(artifact_id, artifact_commit)
        row = self._execute(
            f"SELECT {ENTRY} FROM entries WHERE {column} = ? ORDER BY idx DESC LIMIT 1", (value,)
        ).fetchone()
        if row is None:
            raise NotInLedger(f"no receipt in the ledger for {column.replace('_', ' ')} {value}")
        return _entry(row)

    def find_all(
        self, *, artifact_id: str | None = None, artifact_commit: str | None = None
    ) -> list[LogEntry]:
        """Every entry for an artifact id or a commit, oldest first."""
        column, value = _lookup(artifact_id, artifact_commit)
        rows = self._execute(
            f"SELECT {ENTRY} FROM entries WHERE {column} = ? ORDER BY idx", (value,)
        ).fetchall()
        return [_entry(r) for r in rows]

    def entries(self, start: int = 0, batch: int = 4096) -> Iterator[LogEntry]:
        """Every entry from ``start``, in index order, read in batches (constant memory)."""
        sql = f"SELECT {ENTRY} FROM entries WHERE idx >= ? ORDER BY idx LIMIT ?"
        rows = pages(lambda s, n: self._execute(sql, (s, n)).fetchall(), start, batch, _first)
        return map(_entry, rows)

    def checkpoint_note(self, size: int | None = None) -> str:
        """The signed checkpoint note at ``size`` (default: the latest)."""
        if size is None:
            row = self._execute("SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1").fetchone()
        else:
            row = self._execute("SELECT note FROM checkpoints WHERE size = ?", (size,)).fetchone()
        if row is None:
            if size is None and self._size() == 0:  # started, nothing appended yet
                raise NotInLedger(
                    f"the ledger at {self.location} holds no entry yet: publish an artifact first"
                )
            raise CheckpointError(
                f"the ledger has no signed checkpoint{'' if size is None else f' at size {size}'}"
            )
        return row[0]

    def checkpoints(self, start: int = 0, batch: int = 4096) -> Iterator[tuple[int, str]]:
        """Every signed checkpoint from size ``start`` on, by size (read in batches)."""
        sql = "SELECT size, note FROM checkpoints WHERE size >= ? ORDER BY size LIMIT ?"
        rows = pages(lambda s, n: self._execute(sql, (s, n)).fetchall(), start, batch, _first)
        return ((int(size), note) for size, note in rows)

    def latest_checkpoint(self, verifier: VerifierKey) -> tuple[Checkpoint, str]:
        note = self.checkpoint_note()
        return open_checkpoint(note, verifier), note

    def stored_nodes(self, positions: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """Stored perfect-subtree hashes (level 0: the leaf hashes): for a proof, two queries
        (leaves, then inner subtrees), each O(log n) index seeks."""
        wanted = set(positions)
        leaves = sorted(i for level, i in wanted if level == 0)
        inner = sorted(p for p in wanted if p[0] > 0)
        found: dict[tuple[int, int], bytes] = {}
        for part in _batches(leaves, 500):
            found.update(((0, int(i)), bytes(h)) for i, h in self._select_leaves(part))
        for part in _batches(inner, 250):
            found.update(((int(lv), int(i)), bytes(h)) for lv, i, h in self._select_nodes(part))
        return found

    def _select_leaves(self, indexes: list[int]) -> Any:
        sql = f"SELECT idx, leaf_hash FROM entries WHERE idx IN ({_marks(len(indexes))})"
        return self._execute(sql, indexes)

    def _select_nodes(self, positions: list[tuple[int, int]]) -> Any:
        # Point lookups on the primary key, one per subtree: a row-value IN list is not
        # planned as index seeks by SQLite (it scans the table).
        sql = " UNION ALL ".join(
            ["SELECT level, idx, hash FROM nodes WHERE level = ? AND idx = ?"] * len(positions)
        )
        return self._execute(sql, [x for p in positions for x in p])

    def node_range(self, level: int, start: int, end: int) -> list[bytes]:
        """Stored hashes of the perfect subtrees ``start..end-1`` at ``level``, in order (for
        tlog tiles: a tile is one such range)."""
        if level == 0:
            sql = "SELECT leaf_hash FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx"
            rows = self._execute(sql, (start, end))
        else:
            sql = "SELECT hash FROM nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx"
            rows = self._execute(sql, (level, start, end))
        return [bytes(h) for (h,) in rows]

    def root(self, size: int | None = None) -> bytes:
        with self._read():
            size = self._size() if size is None else size
            return prove(merkle.root_hash, (size,), self.stored_nodes)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        with self._read():
            self._check_size(size)
            return prove(merkle.inclusion_proof, (index, size), self.stored_nodes)

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        with self._read():
            self._check_size(size2)
            return prove(merkle.consistency_proof, (size1, size2), self.stored_nodes)

    # --- internals --------------------------------------------------------------------------

    def _meta(self, key: str) -> str:
        row = self._execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise LedgerCorrupt(f"ledger metadata {key!r} is missing")
        return row[0]

    def _size(self) -> int:
        return int(self._execute("SELECT coalesce(max(idx) + 1, 0) FROM entries").fetchone()[0])

    def _check_size(self, size: int) -> None:
        if size > self._size():
            raise NotInLedger(f"the ledger has fewer than {size} entries")

    def _entries_by_leaf(self, leaves: list[bytes]) -> dict[bytes, LogEntry]:
        """The logged entries among ``leaves``."""
        found: dict[bytes, LogEntry] = {}
        for part in _batches(leaves, PARAMS):
            found.update((bytes(row[1]), _entry(row)) for row in self._select_by_leaf(part))
        return found

    def _select_by_leaf(self, leaves: list[bytes]) -> Any:
        sql = f"SELECT {ENTRY} FROM entries WHERE leaf_hash IN ({_marks(len(leaves))})"
        return self._execute(sql, leaves)


def prove(
    build: Callable[..., Any],
    args: tuple,
    fetch: Callable[[Iterable[tuple[int, int]]], dict[tuple[int, int], bytes]],
) -> Any:
    """Run a :mod:`merkle` proof builder over stored subtrees fetched in one read.

    Which subtrees a proof needs depends only on the sizes and indexes, never on the hashes, so
    a dry run with placeholder hashes lists them, one bulk read fetches them, and the real run
    uses what was read: O(log n) hashes in one round trip instead of one per hash."""
    wanted: set[tuple[int, int]] = set()
    build(*args, lambda level, index: wanted.add((level, index)) or merkle.EMPTY_ROOT)
    stored = fetch(wanted)
    missing = wanted - stored.keys()
    if missing:
        level, index = min(missing)
        raise LedgerCorrupt(f"stored subtree hash (level {level}, index {index}) is missing")
    return build(*args, lambda level, index: stored[(level, index)])


def _first(row: Sequence[Any]) -> int:
    return int(row[0])


def _entry(row: Sequence[Any]) -> LogEntry:
    idx, leaf, data, artifact_id, artifact_commit = row
    return LogEntry(int(idx), bytes(leaf), bytes(data), artifact_id, artifact_commit)


def _lookup(artifact_id: str | None, artifact_commit: str | None) -> tuple[str, str]:
    if (artifact_id is None) == (artifact_commit is None):
        raise ValueError("look up by artifact_id or by artifact_commit (one of them)")
    if artifact_id is not None:
        return "artifact_id", artifact_id
    return "artifact_commit", str(artifact_commit)


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def _batches(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
