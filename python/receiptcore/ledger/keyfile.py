"""The ledger's checkpoint key: an Ed25519 key made on first use, kept beside the ledger, and
which key a verifier checks checkpoints with (:func:`ledger_key_for`).

The private key is written in the Go ``sumdb/note`` text form (``PRIVATE+KEY+...``) with mode
0600, and the public verifier key (``<name>+<id>+<base64>``) next to it for verifiers to copy.
Creation is atomic and race-free (:func:`receiptcore.util.atomic.create_file` links a complete file
into place): of several processes starting a ledger at once exactly one key wins and all use it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from receiptcore.errors import CheckpointError
from receiptcore.ledger.checkpoint import SignerKey, VerifierKey
from receiptcore.util.atomic import create_file

if TYPE_CHECKING:
    from receiptcore.ledger.base import Ledger
    from receiptcore.ledger.pins import TrustedCheckpoints

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


def ledger_key_for(
    ledger: Ledger, given: VerifierKey | str | None, pins: TrustedCheckpoints
) -> VerifierKey:
    """The ledger key to check checkpoints with: given, else pinned at first use, else the one
    the ledger states, which is then pinned by the first successful verification."""
    if isinstance(given, VerifierKey):
        return given
    if given is not None:
        text = Path(given).read_text() if os.path.isfile(given) else given
        return VerifierKey.from_text(text)
    stated = ledger.verifier_key
    pinned = pins.pinned_key()
    return stated if pinned is None else pinned


def check_vkey_file(home: Path, stated: VerifierKey) -> VerifierKey:
    """``stated``, unless ``home/ledger.vkey`` (written when the key was made) disagrees."""
    vkey_file = home / VKEY_FILE
    if vkey_file.is_file() and VerifierKey.from_text(vkey_file.read_text()) != stated:
        raise CheckpointError(f"{vkey_file} and the ledger disagree about the ledger key")
    return stated
