"""The shared ledger on PostgreSQL (psycopg 3; the ``pg`` extra): the SQL of :mod:`.sql`, with
PostgreSQL's types, locks and guards.

Writers serialise on one transaction-scoped advisory lock, taken as the first statement of every
append transaction: one writer at a time, across processes and machines, while readers go on;
the tree size is read after it is granted, so indexes are gap-free whatever the number of
appenders (a rolled-back append leaves no hole, unlike a sequence). A statement trigger refuses
entries at any indexes but the next ones (a bulk append inserts all its rows by one COPY);
others refuse UPDATE, DELETE and TRUNCATE on every table. The database's owner can still disable
them: what catches an edit then is ``ledger verify`` and every verifier holding an earlier signed
checkpoint, never the database's permissions.

A lost connection is retried (reconnect, then the same append) until ``retry_for`` seconds have
passed; an append is idempotent (bytes already logged return their first entry), so a retry after
a commit whose acknowledgement was lost does not log twice. After that, :class:`LedgerUnavailable`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from receiptcore.errors import LedgerUnavailable, NotInLedger
from receiptcore.ledger.base import Item, LogEntry
from receiptcore.ledger.checkpoint import SignerKey
from receiptcore.ledger.sql import COLUMNS, ENTRY, TABLES, SqlLedger
from receiptcore.util.locations import retry_seconds

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS entries (
        idx BIGINT PRIMARY KEY CHECK (idx >= 0),
        leaf_hash BYTEA NOT NULL UNIQUE CHECK (length(leaf_hash) = 32),
        data BYTEA NOT NULL,
        artifact_id TEXT,
        artifact_commit TEXT)""",
    "CREATE INDEX IF NOT EXISTS entries_by_artifact_id ON entries (artifact_id, idx)",
    "CREATE INDEX IF NOT EXISTS entries_by_artifact_commit ON entries (artifact_commit, idx)",
    """CREATE TABLE IF NOT EXISTS nodes (
        level SMALLINT NOT NULL CHECK (level > 0),
        idx BIGINT NOT NULL CHECK (idx >= 0),
        hash BYTEA NOT NULL CHECK (length(hash) = 32),
        PRIMARY KEY (level, idx))""",
    "CREATE TABLE IF NOT EXISTS checkpoints (size BIGINT PRIMARY KEY, note TEXT NOT NULL)",
    # Once per statement, over the rows it added: they must be consecutive and follow an entry
    # already there (or start at 0). As the log was gap-free before and no index can be taken
    # twice (the primary key), it is gap-free after. (Per row, plpgsql cost more than the insert.)
    """CREATE OR REPLACE FUNCTION receiptcore_next_index() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE lo bigint; hi bigint; n bigint;
    BEGIN
        SELECT min(idx), max(idx), count(*) INTO lo, hi, n FROM added;
        IF n > 0 AND (hi - lo + 1 <> n
                      OR (lo > 0 AND NOT EXISTS (SELECT 1 FROM entries WHERE idx = lo - 1))) THEN
            RAISE EXCEPTION 'receiptcore ledger: entries must be appended at the next index';
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE OR REPLACE TRIGGER entries_are_appended_in_order AFTER INSERT ON entries
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION receiptcore_next_index()""",
    """CREATE OR REPLACE FUNCTION receiptcore_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'receiptcore ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
    END $$""",
    *(
        f"""CREATE OR REPLACE TRIGGER {table}_refuse_{op.lower()} BEFORE {op} ON {table}
        FOR EACH {'STATEMENT' if op == 'TRUNCATE' else 'ROW'}
        EXECUTE FUNCTION receiptcore_append_only()"""
        for table in TABLES
        for op in ("UPDATE", "DELETE", "TRUNCATE")
    ),
)

__all__ = ["PostgresLedger"]

_TYPES = {
    "entries": ("bigint", "bytea", "bytea", "text", "text"),
    "nodes": ("smallint", "bigint", "bytea"),
}
_WRITER_LOCK = 0x7263_6C65_6467  # "rcledg": the advisory lock every writer of a database takes


class PostgresLedger(SqlLedger):
    """The ledger in the PostgreSQL database at ``url`` (``postgresql://user@host/db``).

    ``signer`` is the ledger's checkpoint key; without it the ledger is read-only (verifiers,
    ``ledger verify``). Every writer of one database must use the same key (or append through
    ``receiptcore serve``, which holds it)."""

    def __init__(
        self, url: str, signer: SignerKey | None = None, retry_for: float | None = None
    ) -> None:
        self.url, self.signer = url, signer
        self.retry_for = retry_seconds() if retry_for is None else retry_for
        self.location = _without_password(url)
        self._db: Any = None
        self._connect()
        if signer is not None:
            self._init_schema()
        elif self._execute("SELECT to_regclass('meta')").fetchone()[0] is None:
            raise NotInLedger(
                f"no ledger in {self.location}: publish an artifact first",
                location=self.location,
                found="the database holds no ledger",
            )

    def close(self) -> None:
        if self._db is not None:
            self._db.close()

    # --- connection and retries -------------------------------------------------------------

    def _connect(self) -> None:
        import psycopg

        deadline = time.monotonic() + self.retry_for
        while True:
            try:
                self._db = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
                return
            except psycopg.OperationalError as error:
                if time.monotonic() > deadline:
                    raise LedgerUnavailable(
                        f"the ledger database {self.location} is unreachable: "
                        f"{_first_line(error)}"
                    ) from None
                time.sleep(0.2)

    def _retrying(self, work):
        """Run ``work`` again, on a new connection, while the database is unreachable."""
        deadline = time.monotonic() + self.retry_for
        while True:
            try:
                return work()
            except LedgerUnavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
                self._connect()

    def append_many(self, items: Iterable[Item]) -> list[LogEntry]:
        # The whole transaction is redone after a lost connection: safe, as appends are
        # idempotent (a commit whose acknowledgement was lost is found, not logged twice).
        items = list(items)
        return self._retrying(lambda: SqlLedger.append_many(self, items))

    # --- what the SQL algorithm needs -------------------------------------------------------

    def _schema(self) -> Sequence[str]:
        return _SCHEMA

    @contextmanager
    def _write(self) -> Iterator[None]:
        with self._transaction():
            # One writer at a time per database, taken before anything is read: the schema
            # set-up of a new ledger and every append queue here.
            self._run("SELECT pg_advisory_xact_lock(?)", (_WRITER_LOCK,))
            yield

    def _read(self):
        return self._transaction()

    def _in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self._db.info.transaction_status != TransactionStatus.IDLE

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        if self._in_transaction():
            yield
            return
        self._run("BEGIN")
        try:
            yield
        except BaseException:
            if not self._db.closed and not self._db.broken:
                self._db.execute("ROLLBACK")
            raise
        self._run("COMMIT")

    def _select_leaves(self, indexes: list[int]) -> Any:
        # One statement text whatever the count (prepared once by psycopg), seeks on the key.
        return self._execute("SELECT idx, leaf_hash FROM entries WHERE idx = ANY(?)", (indexes,))

    def _select_by_leaf(self, leaves: list[bytes]) -> Any:
        # The hashes as one binary bytea[] (%b): as text, psycopg escapes each of them through a
        # regular expression and the server parses the hex back, 0.4 s of every 100,000-entry
        # append (0.15 s so).
        sql = f"SELECT {ENTRY} FROM entries WHERE leaf_hash = ANY(%b)"
        return self._execute_pg(sql, (leaves,))

    def _select_nodes(self, positions: list[tuple[int, int]]) -> Any:
        levels, indexes = [p[0] for p in positions], [p[1] for p in positions]
        return self._execute(
            "SELECT n.level, n.idx, n.hash FROM unnest(?::smallint[], ?::bigint[]) AS w(level, idx)"
            " JOIN nodes n ON n.level = w.level AND n.idx = w.idx",
            (levels, indexes),
        )

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._execute_pg(_pg(sql) if params else sql, params)

    def _execute_pg(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """:meth:`_execute` of SQL in psycopg's own placeholders (``%s``, ``%b``)."""
        if self._in_transaction():
            return self._run_pg(sql, params)
        return self._retrying(lambda: self._run_pg(sql, params))  # one statement: safe to redo

    def _run(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._run_pg(_pg(sql) if params else sql, params)

    def _run_pg(self, sql: str, params: Sequence[Any]) -> Any:
        with self._unreachable():
            return self._db.execute(sql, list(params)) if params else self._db.execute(sql)

    def _insert(self, table: str, rows: list[tuple]) -> None:
        # One COPY in binary for the whole batch: one statement, so one run of the next-index
        # guard, and the receipts sent as they are, not as hex text inside arrays.
        sql = f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN (FORMAT BINARY)"
        with self._unreachable(), self._db.cursor() as cursor, cursor.copy(sql) as copy:
            copy.set_types(_TYPES[table])
            for row in rows:
                copy.write_row(row)

    def _executemany(self, sql: str, rows: list[tuple]) -> None:
        with self._unreachable(), self._db.cursor() as cursor:
            cursor.executemany(_pg(sql), rows)

    @contextmanager
    def _unreachable(self) -> Iterator[None]:
        """A lost connection becomes LedgerUnavailable (which :meth:`_retrying` redoes); any
        other database error (a guard refusing a statement) stays what it is."""
        import psycopg

        try:
            yield
        except psycopg.OperationalError as error:
            if self._db.closed or self._db.broken:
                raise LedgerUnavailable(
                    f"the ledger database {self.location} went away: {_first_line(error)}"
                ) from error
            raise


def _pg(sql: str) -> str:
    """Our SQL is written with ``?`` placeholders; psycopg's are ``%s``."""
    return sql.replace("%", "%%").replace("?", "%s")


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + "@"
    return urlunsplit(parts._replace(netloc=user + netloc[-1]))


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
