"""The trust file: whom a verifier trusts, and for what.

A JSON document (contract ``trust``; docs/receipts.md). Version 2, the one written::

    {"kind": "trust", "schema_version": 2,
     "keys": [{"keyid": "<sha256 of raw key>", "algorithm": "ed25519",
               "public_key": "<raw 32 bytes, hex>", "name": "ci@models-host",
               "role": "receipts"},
              {..., "name": "<the ledger's origin>", "role": "ledger"}],
     "revocations": [{"keyid": "...", "from": "2026-11-01T00:00:00Z", "reason": "..."}]}

A ``receipts`` key may sign artifact receipts; a ``ledger`` key signs the checkpoints of the
ledger whose origin is its name, so a verifier takes the ledger key from here instead of
trusting what the ledger states on first use. A revoked key's receipts are refused when the
ledger logged them at or after the revocation. Version 1 files (every key signs receipts, no
roles, no revocations) are still read.

Every listed key id is recomputed from its public key on load, so a file that names a key under
another key's id is refused rather than trusted.
"""

from __future__ import annotations

import calendar
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from receiptcore.contracts import TrustFile, TrustFileV2, parse_json_bytes, validate
from receiptcore.errors import KeyRevoked, SchemaError, TrustFileError
from receiptcore.signing.keys import keyid_of
from receiptcore.util.atomic import replace_file
from receiptcore.util.reading import read_document

RECEIPTS, LEDGER = "receipts", "ledger"


@dataclass(frozen=True)
class Revocation:
    """A key withdrawn from ``since`` (Unix seconds, UTC) on."""

    keyid: str
    since: int
    reason: str

    @property
    def moment(self) -> str:
        return format_time(self.since)

    def describe(self) -> str:
        return f"revoked from {self.moment} ({self.reason})"


@dataclass(frozen=True)
class Trust:
    """Trusted receipt keys by key id (raw 32-byte Ed25519 keys), the ledger keys as
    ``(name, raw key)``, and revocations by key id."""

    keys: dict[str, bytes]
    names: dict[str, str]
    ledger_keys: tuple[tuple[str, bytes], ...] = ()
    revocations: dict[str, Revocation] = field(default_factory=dict)

    def public_key(self, keyid: str) -> bytes | None:
        """The receipt key with this id (a ledger key is not one)."""
        return self.keys.get(keyid)

    def check_not_revoked(self, keyids: Iterable[str], logged_at: Callable[[], int | None]) -> None:
        """Pass if one of the keys whose signatures verified is not revoked, or was revoked only
        after the ledger logged the receipt (``logged_at()``: Unix seconds, None if the ledger
        cannot say; asked only when every key is revoked); else KeyRevoked naming the revocation.
        """
        keyids = list(keyids)
        revoked = [self.revocations.get(k) for k in keyids]
        if not keyids or None in revoked:
            return
        when = logged_at()
        if when is not None and any(when < r.since for r in revoked):
            return
        first = revoked[0]
        logged = (
            "when the ledger logged it is not known (no ledger at hand, or a checkpoint "
            "without a time)"
            if when is None
            else f"the ledger logged it at {format_time(when)}"
        )
        raise KeyRevoked(
            f"signed by key {first.keyid} ({self.names[first.keyid]}), {first.describe()}; "
            f"{logged}"
        )

    @classmethod
    def of(cls, *entries: tuple[bytes, str]) -> Trust:
        """Trust built in memory from ``(public_key, name)`` receipt keys (tests, embedded use)."""
        return cls._from_model(_model([(raw, name, RECEIPTS) for raw, name in entries], []))

    @classmethod
    def _from_model(cls, model: TrustFile | TrustFileV2) -> Trust:
        keys, names, ledger, roles = {}, {}, [], {}
        for entry in model.keys:
            raw = bytes.fromhex(entry.public_key)
            if keyid_of(raw) != entry.keyid:
                raise TrustFileError(
                    f"key {entry.name!r} is listed under key id {entry.keyid}, but its public key "
                    f"has key id {keyid_of(raw)}"
                )
            role = getattr(entry, "role", RECEIPTS)
            roles[entry.keyid] = role
            if role == LEDGER:
                if any(c.isspace() or c == "+" for c in entry.name):
                    raise TrustFileError(
                        f"ledger key {entry.name!r}: its name is the ledger's origin, which has "
                        "no spaces and no '+'"
                    )
                ledger.append((entry.name, raw))
            else:
                keys[entry.keyid] = raw
            names[entry.keyid] = entry.name
        revocations = {}
        for revocation in getattr(model, "revocations", []):
            if roles.get(revocation.keyid) != RECEIPTS:
                raise TrustFileError(
                    f"revocation of key id {revocation.keyid}: no receipts key with that id is "
                    "listed (a ledger key is withdrawn by removing it: a log keeps its key)"
                )
            try:
                since = parse_time(revocation.from_)
            except ValueError as error:
                raise TrustFileError(f"revocation of key id {revocation.keyid}: {error}") from None
            revocations[revocation.keyid] = Revocation(revocation.keyid, since, revocation.reason)
        return cls(keys, names, tuple(ledger), revocations)

    def entries(self) -> tuple[list[tuple[bytes, str, str]], list[Revocation]]:
        """``(public_key, name, role)`` of every key, and the revocations: what :func:`write_trust`
        writes back."""
        keys = [(raw, self.names[keyid], RECEIPTS) for keyid, raw in self.keys.items()]
        keys += [(raw, name, LEDGER) for name, raw in self.ledger_keys]
        return keys, list(self.revocations.values())


def load_trust(path: str | os.PathLike[str]) -> Trust:
    """Read and check a trust file (version 1 or 2). A missing, unreadable, oversized or
    malformed file is a TrustFileError too (NotRegularFile for a FIFO, device or symlink):
    a verifier without a trust file must not carry on."""
    path = os.fspath(path)
    try:
        data = read_document(path, "trust file")
    except OSError as error:
        if error.strerror is None:  # ours (NotRegularFile): already one line naming the path
            raise
        raise TrustFileError(f"{path}: cannot read the trust file ({error.strerror})") from None
    try:
        document = parse_json_bytes(data, path)
        version = document.get("schema_version") if isinstance(document, dict) else None
        model = validate(TrustFileV2 if version == 2 else TrustFile, document, path)
    except SchemaError as error:
        raise TrustFileError(str(error)) from None
    try:
        return Trust._from_model(model)
    except TrustFileError as error:
        raise TrustFileError(f"{path}: {error}") from None


def add_trusted_key(
    path: str | os.PathLike[str], public_key: bytes, name: str, role: str = RECEIPTS
) -> bool:
    """Add a key to the trust file at ``path`` (created if missing; written as version 2).
    Returns False, changing nothing, if the key is already there."""
    path = os.fspath(path)
    keys, revocations = _existing(path)
    if any(raw == public_key for raw, _, _ in keys):
        return False
    write_trust(path, [*keys, (public_key, name, role)], revocations)
    return True


def revoke_key(path: str | os.PathLike[str], keyid: str, since: int, reason: str) -> None:
    """Revoke the receipts key ``keyid`` of the trust file at ``path`` from ``since`` on
    (replacing an earlier revocation of it)."""
    path = os.fspath(path)
    keys, revocations = _existing(path)
    revocations = [r for r in revocations if r.keyid != keyid] + [Revocation(keyid, since, reason)]
    write_trust(path, keys, revocations)
    load_trust(path)  # what was written reads back (a revocation names a listed receipts key)


def write_trust(
    path: str | os.PathLike[str],
    keys: list[tuple[bytes, str, str]],
    revocations: list[Revocation],
) -> None:
    """Write a version 2 trust file atomically."""
    try:
        model = _model(keys, revocations)
        Trust._from_model(model)
    except SchemaError as error:
        raise TrustFileError(str(error)) from None
    replace_file(path, model.to_json_bytes())


def _existing(path: str) -> tuple[list[tuple[bytes, str, str]], list[Revocation]]:
    if not os.path.lexists(path):
        return [], []
    return load_trust(path).entries()


def _model(keys: list[tuple[bytes, str, str]], revocations: list[Revocation]) -> TrustFileV2:
    return validate(
        TrustFileV2,
        {
            "kind": "trust",
            "schema_version": 2,
            "keys": [
                {
                    "keyid": keyid_of(raw),
                    "algorithm": "ed25519",
                    "public_key": raw.hex(),
                    "name": name,
                    "role": role,
                }
                for raw, name, role in keys
            ],
            "revocations": [
                {"keyid": r.keyid, "from": format_time(r.since), "reason": r.reason}
                for r in revocations
            ],
        },
        "trust file",
    )


def parse_time(text: str) -> int:
    """``2026-11-01T00:00:00Z`` (RFC 3339, UTC, seconds) to Unix seconds; ValueError otherwise."""
    try:
        return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        raise ValueError(f"not a moment in UTC like 2026-11-01T00:00:00Z: {text!r}") from None


def format_time(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
