"""The ledger's checkpoint key: an Ed25519 key made on first use, kept beside the ledger.

The private key is written in the Go ``sumdb/note`` text form (``PRIVATE+KEY+...``) with mode
0600, and the public verifier key (``<name>+<id>+<base64>``) next to it for verifiers to copy.
Creation is atomic and race-free (:func:`receiptcore.atomic.create_file` links a complete file
into place): of several processes starting a ledger at once exactly one key wins and all use it.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from receiptcore.atomic import create_file
from receiptcore.ledger.checkpoint import SignerKey

KEY_FILE = "ledger.key"
VKEY_FILE = "ledger.vkey"


def load_or_create_signer(home: Path, name: str | None = None) -> SignerKey:
    """The signer in ``home/ledger.key``, generated (named ``name`` or at random) if absent."""
    path = home / KEY_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        signer = SignerKey.generate(name or f"receiptcore.local/{secrets.token_hex(8)}")
        _create_exclusive(path, signer.to_text() + "\n", 0o600)
    signer = SignerKey.from_text(path.read_text())
    vkey = home / VKEY_FILE
    if not vkey.exists():
        _create_exclusive(vkey, signer.verifier.to_text() + "\n", 0o644)
    return signer


def _create_exclusive(path: Path, text: str, mode: int) -> None:
    """Write ``path`` whole or not at all; if another process got there first, keep theirs."""
    try:
        create_file(path, text.encode(), mode)
    except FileExistsError:
        pass
