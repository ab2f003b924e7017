"""The append-only ledger: a Merkle log of receipts with signed checkpoints.

:mod:`.merkle` hashes and proves (RFC 6962/9162), :mod:`.checkpoint` signs tree heads (C2SP
signed notes), :mod:`.base` is the :class:`~.base.Ledger` protocol every backend meets, and
:func:`open_ledger` picks the backend by URL: :mod:`.sqlite` (the embedded default, under
``.receiptcore/``), :mod:`.postgres` (shared, many writers) or :mod:`.http` (a ``receiptcore
serve`` endpoint). Which URL: :mod:`receiptcore.util.locations`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from receiptcore.errors import ConfigError
from receiptcore.util.home import home_dir
from receiptcore.util.locations import ledger_url

if TYPE_CHECKING:
    from receiptcore.ledger.base import Ledger
    from receiptcore.ledger.checkpoint import SignerKey

ENV_LEDGER_SIGNER = "RECEIPTCORE_LEDGER_SIGNER"


def open_ledger(
    url: str | os.PathLike[str] | None = None,
    *,
    writable: bool = False,
    home: str | os.PathLike[str] | None = None,
    signer: SignerKey | None = None,
) -> Ledger:
    """The ledger at ``url`` (None: ``--ledger``'s fallbacks, see :mod:`~receiptcore.util.
    locations`), opened to append (``writable``) or only to read and prove.

    A writer of a SQLite ledger signs with ``signer``, else ``$RECEIPTCORE_LEDGER_SIGNER``, else
    the key beside it (made on first use). A writer of a
    PostgreSQL ledger signs with ``signer``, else ``$RECEIPTCORE_LEDGER_SIGNER`` (the key's text
    or a file), else ``<home>/ledger.key``: every writer of one database must share that key,
    which is why many machines usually append through ``receiptcore serve``, which holds it. An
    HTTP ledger signs on the server; the client needs no key."""
    url = ledger_url(url)
    folder = sqlite_folder(url, home=home, create=writable)
    if folder is not None:
        return _sqlite(folder, writable, signer)
    text = os.fspath(url)
    scheme = urlsplit(text).scheme
    if scheme in ("postgresql", "postgres"):
        try:
            from receiptcore.ledger.postgres import PostgresLedger
        except ImportError as error:  # pragma: no cover - the pg extra is missing
            raise ConfigError(
                f"a PostgreSQL ledger needs psycopg: pip install 'receiptcore[pg]' ({error})"
            ) from None
        signing = _signer(signer, home_dir(home, create=True)) if writable else None
        return PostgresLedger(text, signing)
    if scheme in ("http", "https"):
        from receiptcore.ledger.http import HttpLedger

        return HttpLedger(text)
    raise ConfigError(
        f"unknown ledger URL {text!r}: use a folder, sqlite:///folder, postgresql://… or "
        "https://… (a receiptcore serve endpoint)"
    )


def sqlite_folder(
    url: str | os.PathLike[str] | None,
    *,
    home: str | os.PathLike[str] | None = None,
    create: bool = False,
) -> Path | None:
    """The folder of the SQLite ledger that ``url`` (as :func:`ledger_url` resolved it) names,
    or None when it names another backend: for a reader that keeps the database open and must
    know which file it holds (:mod:`receiptcore.tools.service`)."""
    if url is None:
        # the embedded default: a publisher makes the home (with its .gitignore), a reader
        # must find one
        return home_dir(home, create=create)
    text = os.fspath(url)
    scheme = urlsplit(text).scheme
    if scheme in ("sqlite", "file"):
        return Path(unquote(urlsplit(text).path))
    if scheme == "":
        return Path(text)
    return None


def _sqlite(folder: Path, writable: bool, signer: SignerKey | None) -> Ledger:
    from receiptcore.ledger.sqlite import SqliteLedger

    if not writable:
        return SqliteLedger.open_readonly(folder)
    return SqliteLedger(folder, signer or _env_signer())


def _signer(given: SignerKey | None, home: Path) -> SignerKey:
    from receiptcore.ledger.keyfile import load_or_create_signer

    return given or _env_signer() or load_or_create_signer(home)


def _env_signer() -> SignerKey | None:
    from receiptcore.ledger.checkpoint import SignerKey

    text = os.environ.get(ENV_LEDGER_SIGNER)
    if not text:
        return None
    return SignerKey.from_text(Path(text).read_text() if os.path.isfile(text) else text)


__all__ = ["ENV_LEDGER_SIGNER", "open_ledger", "sqlite_folder"]
