"""Signed checkpoints: C2SP tlog-checkpoint bodies in C2SP signed notes, with Ed25519 keys.

A checkpoint is the note text ``<origin>\\n<tree size>\\n<base64 root hash>\\n`` followed by a blank
line and one signature line per signer: ``— <key name> base64(key ID || signature)``. The key ID
is ``sha256(key name || 0x0A || 0x01 || 32-byte public key)[:4]`` (c2sp.org/signed-note). Keys
are written as Go's ``golang.org/x/mod/sumdb/note`` writes them, so any tool of that ecosystem
(witnesses, ``note.Open``) can check our checkpoints:

* verifier key: ``<name>+<key ID hex>+<base64(0x01 || public key)>``
* signer key:   ``PRIVATE+KEY+<name>+<key ID hex>+<base64(0x01 || 32-byte seed)>``
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from receiptcore._core import ed25519_verify_many
from receiptcore.errors import CheckpointError, LimitExceeded

ALG_ED25519 = b"\x01"
SIG_PREFIX = "\u2014 "  # em dash, space
_SIG_PREFIX = SIG_PREFIX.encode("utf-8")
TIME_PREFIX = "time "
MAX_SIGNATURES = 100
"""Signature lines read at most, as Go's ``note.Open`` (more make the note malformed)."""
MAX_NOTE_BYTES = 64 << 10
"""A checkpoint note is about 100 bytes of body and one signature line per signer; a larger
note is refused before anything is parsed (:class:`~receiptcore.errors.LimitExceeded`)."""
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_B64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")


def _b64decode(text: str) -> bytes:
    """Strict standard base64 (RFC 4648 section 4): no whitespace, no junk, canonical padding."""
    if not _B64.match(text) or len(text) % 4:
        raise ValueError("not canonical base64")
    raw = base64.b64decode(text, validate=True)
    if base64.b64encode(raw).decode() != text:
        raise ValueError("not canonical base64")
    return raw


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name) or _CONTROL.search(name):
        raise CheckpointError(f"invalid key name {name!r}: non-empty, no spaces, no '+'")


def key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte key ID of an Ed25519 key under ``name`` (c2sp.org/signed-note)."""
    return hashlib.sha256(name.encode() + b"\n" + ALG_ED25519 + public_key).digest()[:4]


@dataclass(frozen=True)
class VerifierKey:
    """A named Ed25519 public key that checks signed notes."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        _check_name(self.name)
        if len(self.public_key) != 32:
            raise CheckpointError("an Ed25519 public key is 32 bytes")

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    @classmethod
    def from_text(cls, text: str) -> VerifierKey:
        """Parse ``<name>+<key ID hex>+<base64(0x01 || key)>``; the key ID must match."""
        parts = text.strip().split("+", 2)  # base64 may itself hold '+'
        if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
            raise CheckpointError("malformed verifier key: want <name>+<8 hex digits>+<base64>")
        try:
            raw = _b64decode(parts[2])
        except (ValueError, binascii.Error):
            raise CheckpointError("malformed verifier key: bad base64") from None
        if len(raw) != 33 or raw[:1] != ALG_ED25519:
            raise CheckpointError("verifier key is not an Ed25519 key")
        key = cls(parts[0], raw[1:])
        if key.key_id.hex() != parts[1]:
            raise CheckpointError("verifier key: key ID does not match the name and key")
        return key

    def to_text(self) -> str:
        material = base64.b64encode(ALG_ED25519 + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{material}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's over ``message``: the same strict check as a
        receipt's signature (:mod:`receiptcore.signing.dsse`)."""
        return ed25519_verify_many([(self.public_key, message, signature)])[0]


class SignerKey:
    """A named Ed25519 private key that signs notes (the ledger's checkpoint key)."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        _check_name(name)
        self.name = name
        self._key = private_key
        public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.verifier = VerifierKey(name, public)

    @classmethod
    def generate(cls, name: str) -> SignerKey:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_text(cls, text: str) -> SignerKey:
        """Parse ``PRIVATE+KEY+<name>+<key ID hex>+<base64(0x01 || seed)>``."""
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise CheckpointError("malformed signer key: want PRIVATE+KEY+<name>+<id>+<base64>")
        try:
            raw = _b64decode(parts[4])
        except (ValueError, binascii.Error):
            raise CheckpointError("malformed signer key: bad base64") from None
        if len(raw) != 33 or raw[:1] != ALG_ED25519:
            raise CheckpointError("signer key is not an Ed25519 key")
        signer = cls(parts[2], Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if signer.verifier.key_id.hex() != parts[3]:
            raise CheckpointError("signer key: key ID does not match the name and key")
        return signer

    def to_text(self) -> str:
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        seed = self._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        material = base64.b64encode(ALG_ED25519 + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id.hex()}+{material}"

    def sign_note(self, text: str) -> str:
        """The signed note: ``text``, a blank line, and our signature line."""
        _check_text(text)
        signature = self._key.sign(text.encode())
        blob = base64.b64encode(self.verifier.key_id + signature).decode()
        return f"{text}\n{SIG_PREFIX}{self.name} {blob}\n"


def _check_text(text: str) -> None:
    if not text.endswith("\n") or _CONTROL.search(text):
        raise CheckpointError("malformed note: text must end in a newline, no control characters")


def open_note(note: str | bytes, verifier: VerifierKey) -> str:
    """The text of ``note`` once ``verifier``'s signature on it checks; else CheckpointError.

    As c2sp.org/signed-note asks, and as Go's ``note.Open`` does: the note is UTF-8 with no
    control character but newline; the signature block, after the last blank line, is split on
    ``"\\n"`` only (U+0085 and U+2028 are ordinary characters inside a line); signatures of
    unknown keys are ignored, a repeated signature of the known key is checked once, a failing
    one rejects the note, and a note without a verified signature is rejected. At most
    :data:`MAX_NOTE_BYTES` bytes and :data:`MAX_SIGNATURES` signature lines are read, so a
    hostile note costs bounded work.
    """
    raw = _note_bytes(note)
    if len(raw) > MAX_NOTE_BYTES:
        raise LimitExceeded(
            f"note of {len(raw)} bytes: a checkpoint note is at most {MAX_NOTE_BYTES} bytes"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CheckpointError("malformed note: not valid UTF-8") from None
    if _CONTROL.search(text):
        raise CheckpointError("malformed note: control characters")
    split = raw.rfind(b"\n\n")
    if split < 0 or not raw.endswith(b"\n"):
        raise CheckpointError("malformed note: no signature block")
    body, lines = raw[: split + 1], raw[split + 2 : -1].split(b"\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(
            f"malformed note: {len(lines)} signature lines, at most {MAX_SIGNATURES} are read"
        )
    verified = False
    for line in lines:
        if not line.startswith(_SIG_PREFIX):
            raise CheckpointError("malformed note: a signature line must start with an em dash")
        fields = line[len(_SIG_PREFIX) :].decode("utf-8").split(" ")
        if len(fields) != 2:
            raise CheckpointError("malformed note: a signature line is '— <name> <base64>'")
        name, blob = fields
        _check_name(name)
        try:
            signature = _b64decode(blob)
        except (ValueError, binascii.Error):
            raise CheckpointError("malformed note: signature is not base64") from None
        if len(signature) < 5:
            raise CheckpointError("malformed note: signature too short")
        if name != verifier.name or signature[:4] != verifier.key_id or verified:
            continue
        if not verifier.verify(body, signature[4:]):
            raise CheckpointError(f"invalid signature for key {name}+{verifier.key_id.hex()}")
        verified = True
    if not verified:
        raise CheckpointError(
            f"note is not signed by the trusted key {verifier.name}+{verifier.key_id.hex()}"
        )
    return body.decode("utf-8")


def _note_bytes(note: str | bytes) -> bytes:
    """A note's bytes: a ``str`` that cannot be UTF-8 (a lone surrogate) is malformed."""
    if isinstance(note, bytes | bytearray | memoryview):
        return bytes(note)
    try:
        return note.encode("utf-8")
    except UnicodeEncodeError:
        raise CheckpointError("malformed note: not valid UTF-8") from None


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log's origin, its size, and the RFC 6962 root hash at that size; and,
    from the ledger's own appends, ``time``: when it was signed (Unix seconds), an extension
    line ``time <seconds>`` that readers of other checkpoints ignore."""

    origin: str
    size: int
    root: bytes
    time: int | None = None

    def body(self) -> str:
        """The c2sp.org/tlog-checkpoint note text, with the time line if there is a time."""
        _check_name(self.origin)
        stamp = "" if self.time is None else f"{TIME_PREFIX}{self.time}\n"
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n{stamp}"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint body; extension lines (non-empty) are allowed, and ignored but
        for one ``time <seconds>`` line."""
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or any(line == "" for line in lines[:-1]):
            raise CheckpointError("malformed checkpoint: want origin, size and root lines")
        origin, size, root = lines[0], lines[1], lines[2]
        if not re.fullmatch(r"0|[1-9][0-9]{0,19}", size) or int(size) >= 1 << 64:
            raise CheckpointError(f"malformed checkpoint: tree size {size!r}")
        try:
            raw = _b64decode(root)
        except (ValueError, binascii.Error):
            raw = b""
        if len(raw) != 32:
            raise CheckpointError("malformed checkpoint: root hash is not 32 bytes of base64")
        stamps = [line for line in lines[3:-1] if line.startswith(TIME_PREFIX)]
        if len(stamps) > 1 or stamps and not re.fullmatch(r"time (0|[1-9][0-9]{0,11})", stamps[0]):
            raise CheckpointError("malformed checkpoint: one 'time <seconds>' line at most")
        stamp = int(stamps[0].removeprefix(TIME_PREFIX)) if stamps else None
        return cls(origin, int(size), raw, stamp)

    @classmethod
    def now(cls, origin: str, size: int, root: bytes) -> Checkpoint:
        """The checkpoint a ledger signs as it appends: stamped with the time (when it was
        logged, on the ledger key's word: what a revocation is judged against)."""
        return cls(origin, size, root, signing_time())

    @classmethod
    def unverified(cls, note: str) -> Checkpoint:
        """The checkpoint a signed note states, WITHOUT checking its signature: a hint (which
        size to ask a proof from), never a fact to trust; :func:`open_checkpoint` checks."""
        return cls.parse(note[: note.rfind("\n\n") + 1])

    def sign(self, signer: SignerKey) -> str:
        return signer.sign_note(self.body())


def signing_time() -> int:
    """Now, in whole Unix seconds (one place, so that a test can set the clock)."""
    return int(time.time())


def open_checkpoint(note: str, verifier: VerifierKey) -> Checkpoint:
    """Verify a signed checkpoint against the ledger key and parse it.

    The origin must be the key's name: a checkpoint of another log signed by the same key is not
    a checkpoint of this one.
    """
    checkpoint = Checkpoint.parse(open_note(note, verifier))
    if checkpoint.origin != verifier.name:
        raise CheckpointError(f"checkpoint is for log {checkpoint.origin!r}, not {verifier.name!r}")
    return checkpoint
