"""Where the embedded defaults live, in one place.

``.receiptcore/`` (in the current directory, or ``$RECEIPTCORE_HOME``) holds what a publisher
writes: ``ledger.sqlite3`` with its checkpoint key ``ledger.key`` / ``ledger.vkey``, the artifact
store ``objects/``, and, made on first use when no CI key is given, the receipt signing key
``signing.key`` and the ``trust.json`` that lists it.

The verifier's memory (the last checkpoint it trusted, per ledger) is kept apart, in
``$RECEIPTCORE_STATE`` or ``$XDG_STATE_HOME/receiptcore`` (``~/.local/state/receiptcore``): whoever
can rewrite a ledger folder must not also be able to rewrite what its verifiers remember of it.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_HOME = "RECEIPTCORE_HOME"
ENV_STATE = "RECEIPTCORE_STATE"
ENV_TRUST = "RECEIPTCORE_TRUST"
ENV_VERIFY_MODE = "RECEIPTCORE_VERIFY_MODE"

SIGNING_KEY_FILE = "signing.key"
TRUST_FILE = "trust.json"


def home_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit is not None:
        return Path(explicit)
    return Path(os.environ.get(ENV_HOME) or ".receiptcore")


def state_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit is not None:
        return Path(explicit)
    if os.environ.get(ENV_STATE):
        return Path(os.environ[ENV_STATE])
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(base) / "receiptcore"


def trust_path(home: Path, explicit: str | os.PathLike[str] | None = None) -> Path:
    """The trust file: ``--trust``, else ``$RECEIPTCORE_TRUST``, else ``<home>/trust.json``."""
    if explicit is not None:
        return Path(explicit)
    return Path(os.environ.get(ENV_TRUST) or home / TRUST_FILE)
