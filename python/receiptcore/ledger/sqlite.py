"""The embedded ledger: one SQLite file (WAL) under ``.receiptcore/``, append-only by triggers.

The algorithm is :mod:`.sql`'s; this file supplies SQLite's part. Writers queue on a kernel lock
(``ledger.lock``, woken the moment it is free, where SQLite's busy handler would poll) and then
``BEGIN IMMEDIATE``, which takes SQLite's write lock before the tree size is read. WAL with
``synchronous=FULL``: an acknowledged append survives a power cut.

Readers open the file read-only (``mode=ro``): verifying never writes to the ledger, not even to
an empty or damaged file. An empty database (a first publish killed before its schema was
committed leaves one) holds no ledger yet, as a missing file does: NotInLedger, naming the
ledger's location, so that a verifier that trusted a checkpoint of it says RollbackDetected
instead (:func:`receiptcore.ledger.pins.open_pinned`). Every SQLite error is the ledger's own: a file SQLite cannot read as
our ledger (truncated, overwritten, empty, not a database) is LedgerCorrupt (exit 15), a database
that stays locked or cannot be opened is LedgerUnavailable (exit 20), so that ``verify`` fails
with one line and its code, and ``--mode warn`` carries on, instead of a traceback.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from receiptcore.errors import LedgerCorrupt, LedgerUnavailable, NotInLedger
from receiptcore.ledger.base import LogEntry
from receiptcore.ledger.checkpoint import SignerKey, VerifierKey
from receiptcore.ledger.keyfile import check_vkey_file, load_or_create_signer
from receiptcore.ledger.sql import TABLES, SqlLedger
from receiptcore.util.atomic import exclusive_lock

DB_FILE = "ledger.sqlite3"
PAGE_SIZE = 16384
"""Page size of a new ledger (SQLite's default is 4 KiB): fewer, larger writes to the WAL and in
its checkpoints. Loading 1,000,000 receipts 100,000 at a time, the commits took 8.5 s instead of
14.9 s; a ledger made with 4 KiB pages keeps them."""

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
    *(
        f"""CREATE TRIGGER IF NOT EXISTS {table}_refuse_{op} BEFORE {op} ON {table}
        BEGIN SELECT RAISE(ABORT, 'receiptcore ledger is append-only: {op} on {table} refused');
        END"""
        for table in TABLES
        for op in ("UPDATE", "DELETE")
    ),
)

__all__ = ["DB_FILE", "LogEntry", "SqliteLedger"]


class SqliteLedger(SqlLedger):
    """An append-only Merkle log of receipts in ``home/ledger.sqlite3``, signed with
    ``home/ledger.key``.

    ``signer`` defaults to the key beside the database, made on first use. Readers that only
    verify need no key: use :meth:`open_readonly`.
    """

    def __init__(self, home: str | Path, signer: SignerKey | None = None, timeout: float = 60.0):
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.location = os.fspath(self.home.resolve())
        self.signer = signer or load_or_create_signer(self.home)
        self._db = _connect(self.home / DB_FILE, timeout, self.location)
        self._init_schema()

    @classmethod
    def open_readonly(cls, home: str | Path, timeout: float = 60.0) -> SqliteLedger:
        """A ledger to read and prove from, without the signing key."""
        path = Path(home) / DB_FILE
        location = os.fspath(Path(home).resolve())
        if not path.is_file():
            raise NotInLedger(
                f"no ledger at {path}: publish an artifact first",
                location=location,
                found=f"there is no {path}",
            )
        self = cls.__new__(cls)
        self.home, self.signer, self.location = Path(home), None, location
        self._db = _connect(path, timeout, self.location, readonly=True)
        if not self._execute("SELECT 1 FROM sqlite_master LIMIT 1"):
            self.close()  # an empty database: where a first publish killed early left off
            raise NotInLedger(
                f"no ledger in {path} yet (it is empty): publish an artifact first",
                location=location,
                found=f"{path} is empty (it holds no ledger)",
            )
        return self

    def close(self) -> None:
        self._db.close()

    @property
    def verifier_key(self) -> VerifierKey:
        """The key the ledger states, checked against ``ledger.vkey`` beside it."""
        return check_vkey_file(self.home, SqlLedger.verifier_key.fget(self))

    def _schema(self) -> Sequence[str]:
        return _SCHEMA

    @contextmanager
    def _write(self) -> Iterator[None]:
        if self._db.in_transaction:  # the schema, inside an append: already locked
            yield
            return
        lock = exclusive_lock(self.home / "ledger.lock")
        with lock, _transaction(self._db, "BEGIN IMMEDIATE", self.location):
            yield

    def _read(self):
        return _transaction(self._db, "BEGIN", self.location)

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> _Rows:
        # Every row is read here: SQLite finds a damaged page while stepping through the rows,
        # and that must fail inside the one place that names it, not in a caller's loop.
        with _errors_of(self.location):
            return _Rows(self._db.execute(sql, params).fetchall())

    def _executemany(self, sql: str, rows: list[tuple]) -> None:
        with _errors_of(self.location):
            self._db.executemany(sql, rows)


class _Rows(list):
    """The rows of one statement, read whole, with the cursor methods the ledger uses."""

    def fetchone(self) -> Any:
        return self[0] if self else None

    def fetchall(self) -> list:
        return self


@contextmanager
def _errors_of(location: str) -> Iterator[None]:
    """SQLite's errors as the ledger's: locked or unopenable is LedgerUnavailable; anything else
    SQLite says about the file (malformed, not a database, a table missing) is LedgerCorrupt."""
    try:
        yield
    except sqlite3.ProgrammingError:
        raise  # our own misuse (a closed connection): a bug, not the ledger's state
    except sqlite3.DatabaseError as error:
        name = getattr(error, "sqlite_errorname", "")
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_READONLY")):
            raise LedgerUnavailable(f"the ledger database in {location}: {error}") from None
        raise LedgerCorrupt(
            f"{location}/{DB_FILE} is not a receiptcore ledger, or is damaged (SQLite: {error}); "
            "restore it from a copy"
        ) from None


def _connect(
    path: Path, timeout: float, location: str, readonly: bool = False
) -> sqlite3.Connection:
    with _errors_of(location):
        if readonly:
            uri = f"file:{quote(os.fspath(path.absolute()))}?mode=ro"
            return sqlite3.connect(
                uri, uri=True, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        return _connect_writer(path, timeout)


def _connect_writer(path: Path, timeout: float) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    # Takes effect on a new database only (before its first page is written); a no-op after.
    db.execute(f"PRAGMA page_size = {PAGE_SIZE}")
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


@contextmanager
def _transaction(db: sqlite3.Connection, begin: str, location: str) -> Iterator[None]:
    """One explicit transaction (the connection is in autocommit mode otherwise); nested use
    joins the open one."""
    if db.in_transaction:
        yield
        return
    with _errors_of(location):
        db.execute(begin)
    try:
        yield
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    with _errors_of(location):
        db.execute("COMMIT")
