"""The ledger backends the contract tests run against, one object each: how to open a fresh
ledger, and how an owner with full access to its database would tamper with it."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

from receiptcore.ledger import open_ledger
from receiptcore.ledger.checkpoint import SignerKey
from receiptcore.ledger.sql import TABLES

_names = itertools.count()


class Backend:
    """A SQLite folder or a PostgreSQL database; ``fresh()`` makes another empty one."""

    def __init__(self, kind: str, tmp_path: Path, postgres=None) -> None:
        self.kind, self.tmp_path, self.postgres = kind, tmp_path, postgres
        self.signer = SignerKey.generate(f"test.{kind}/log")
        self.url = self.fresh()

    def __repr__(self) -> str:
        return self.kind

    def fresh(self) -> str:
        n = next(_names)
        if self.kind == "sqlite":
            return f"sqlite://{self.tmp_path}/ledger-{n}"
        return self.postgres.create_database(f"ledger_{id(self)}_{n}")

    def open(self, url: str | None = None, *, signer: SignerKey | None = None, writable=True):
        return open_ledger(
            url or self.url, writable=writable, signer=signer or self.signer, home=self.tmp_path
        )

    def raw(self, url: str | None = None):
        """A plain connection to the database, as its owner has."""
        url = url or self.url
        if self.kind == "sqlite":
            return sqlite3.connect(Path(url.removeprefix("sqlite://")) / "ledger.sqlite3",
                                   isolation_level=None)
        import psycopg

        return psycopg.connect(url, autocommit=True)

    def tamper(self, sql: str, *params: object, url: str | None = None) -> None:
        """What an owner with write access does: switch the guards off, then edit."""
        db = self.raw(url)
        if self.kind == "sqlite":
            for table in TABLES:
                for op in ("UPDATE", "DELETE"):
                    db.execute(f"DROP TRIGGER IF EXISTS {table}_refuse_{op}")
            db.execute(sql, params)
        else:
            for table in TABLES:
                db.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            db.execute(sql.replace("?", "%s"), params or None)
            for table in TABLES:
                db.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        db.close()

    @property
    def refused(self) -> tuple[type[Exception], ...]:
        """What the database raises when a guard refuses a statement."""
        if self.kind == "sqlite":
            return (sqlite3.IntegrityError,)
        import psycopg

        return (psycopg.Error,)
