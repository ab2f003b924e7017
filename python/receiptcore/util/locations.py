"""Which ledger and which artifact store a command uses, decided in one place.

The first of these that names one wins:

1. the command's ``--ledger URL`` / ``--store URL`` (or the ``ledger=`` / ``store=`` argument);
2. ``$RECEIPTCORE_LEDGER`` / ``$RECEIPTCORE_STORE``;
3. the config file: ``ledger = "…"`` / ``store = "…"`` at the top of ``receiptcore.toml``, or
   under ``[tool.receiptcore]`` in ``pyproject.toml``, in the current directory (the scan's
   config lives in the same files, under ``[scan]`` / ``[tool.receiptcore.scan]``);
4. the embedded default: the SQLite ledger and the object folder in the home folder
   (``.receiptcore/``, ``$RECEIPTCORE_HOME`` or ``--home``).

A ledger URL is ``sqlite:///path/to/folder`` (or a bare folder path), ``postgresql://…`` or
``http(s)://…`` (a ``receiptcore serve`` endpoint); a store URL is a folder path (or
``file:///…``), ``s3://bucket/prefix`` or ``gs://bucket/prefix``.
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

from receiptcore.errors import ConfigError

ENV_LEDGER = "RECEIPTCORE_LEDGER"
ENV_STORE = "RECEIPTCORE_STORE"
ENV_RETRY = "RECEIPTCORE_RETRY_SECONDS"
DEFAULT_RETRY_SECONDS = 30.0


def retry_seconds() -> float:
    """How long an unreachable ledger or store is retried before it is an error (exit 20/21):
    ``$RECEIPTCORE_RETRY_SECONDS``, default 30. Only what is safe to redo is retried: reads,
    appends (idempotent) and puts (content-addressed)."""
    text = os.environ.get(ENV_RETRY)
    if not text:
        return DEFAULT_RETRY_SECONDS
    try:
        return max(0.0, float(text))
    except ValueError:
        raise ConfigError(f"{ENV_RETRY} must be a number of seconds, not {text!r}") from None


def ledger_url(explicit: str | os.PathLike[str] | None = None) -> str | None:
    """The ledger URL the user chose, or None for the embedded default."""
    return _choose("ledger", explicit, ENV_LEDGER)


def store_url(explicit: str | os.PathLike[str] | None = None) -> str | None:
    """The store URL the user chose, or None for the embedded default."""
    return _choose("store", explicit, ENV_STORE)


def _choose(key: str, explicit: str | os.PathLike[str] | None, env: str) -> str | None:
    if explicit is not None:
        return os.fspath(explicit)
    if os.environ.get(env):
        return os.environ[env]
    return _from_config(key)


def _from_config(key: str) -> str | None:
    for name, table in (("receiptcore.toml", ()), ("pyproject.toml", ("tool", "receiptcore"))):
        data = _parsed(name)
        if data is None:
            continue
        for part in table:
            data = data.get(part, {})
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{name}: {key} must be a URL (a non-empty string)")
        return value
    return None


_PARSED: dict[tuple[int, int], tuple[tuple[int, ...], dict]] = {}


def _parsed(name: str) -> dict | None:
    """The TOML file ``name`` in the current directory (None: there is no such file), parsed
    again only when its status changes: a tool server resolves the ledger and the store on
    every call, and parsing a project's ``pyproject.toml`` each time was most of what a query
    added to the search. Kept by device and inode (the file itself, whatever the current
    directory), not by absolute path: that took a ``getcwd`` per call."""
    try:
        st = os.stat(name)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    status = (st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    known = _PARSED.get((st.st_dev, st.st_ino))
    if known is not None and known[0] == status:
        return known[1]
    try:
        data = tomllib.loads(Path(name).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigError(f"{name}: {error}") from None
    _PARSED[(st.st_dev, st.st_ino)] = (status, data)
    return data
