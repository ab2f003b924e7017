"""The ledger's checkpoint key: an Ed25519 key made on first use, kept beside the ledger, and
which key a verifier checks checkpoints with (:func:`ledger_key_for`).

The private key is written in the Go ``sumdb/note`` text form (``PRIVATE+KEY+...``) with mode
0600, and the public verifier key (``<name>+<id>+<base64>``) next to it for verifiers to copy.
Creation is atomic and race-free (:func:`receiptcore.util.atomic.create_file` links a complete file
into place): of several processes starting a ledger at once exactly one key wins and all use it.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from receiptcore.errors import CheckpointError
from receiptcore.ledger.checkpoint import SignerKey, VerifierKey
from receiptcore.util.atomic import create_file, sweep_temporaries
from receiptcore.util.reading import read_document

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
    else:
        sweep_temporaries(home)  # what a writer killed after the key appeared left
    signer = SignerKey.from_text(_key_text(path))
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


def verifier_key_from(given: str) -> VerifierKey:
    """``--ledger-key``: the verifier key's text (``<name>+<id>+<base64>``), or a file holding
    it. An existing path is read as a file; text with no ``+`` is a path that does not exist."""
    if os.path.lexists(given):
        text = _key_text(Path(given))
        try:
            return VerifierKey.from_text(text)
        except CheckpointError as error:
            raise CheckpointError(f"{given}: not a ledger verifier key ({error})") from None
    if "+" not in given:
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", given)
    return VerifierKey.from_text(given)


def _key_text(path: Path) -> str:
    """A key file's text: a regular file of at most ``LIMITS["key"]`` bytes, UTF-8."""
    try:
        return read_document(path, "key").decode("utf-8")
    except UnicodeDecodeError:
        raise CheckpointError(f"{path}: not a key (the file is not UTF-8 text)") from None


def ledger_key_for(
    ledger: Ledger,
    given: VerifierKey | str | None,
    pins: TrustedCheckpoints,
    trusted: Sequence[tuple[str, bytes]] = (),
) -> VerifierKey:
    """The ledger key to check checkpoints with: given, else the trust file's ``ledger`` key
    (``trusted``: ``(name, raw key)`` pairs; the one named like the ledger's origin), else pinned
    at first use, else the one the ledger states, which is then pinned by the first successful
    verification."""
    if isinstance(given, VerifierKey):
        return given
    if given is not None:
        return verifier_key_from(given)
    if trusted:
        return _trusted_key(ledger.origin, trusted)
    stated = ledger.verifier_key
    pinned = pins.pinned_key()
    return stated if pinned is None else pinned


def check_vkey_file(home: Path, stated: VerifierKey) -> VerifierKey:
    """``stated``, unless ``home/ledger.vkey`` (written when the key was made) disagrees."""
    vkey_file = home / VKEY_FILE
    if vkey_file.is_file() and VerifierKey.from_text(_key_text(vkey_file)) != stated:
        raise CheckpointError(f"{vkey_file} and the ledger disagree about the ledger key")
    return stated


def _trusted_key(origin: str, trusted: Sequence[tuple[str, bytes]]) -> VerifierKey:
    """The trust file's ledger key for the log ``origin`` (the only one, if it lists one)."""
    named = [VerifierKey(name, raw) for name, raw in trusted if name == origin]
    if named or len(trusted) == 1:
        return (named or [VerifierKey(*trusted[0])])[0]
    listed = ", ".join(name for name, _ in trusted)
    raise CheckpointError(
        f"the trust file names ledger keys for {listed}, none for this ledger ({origin})"
    )
