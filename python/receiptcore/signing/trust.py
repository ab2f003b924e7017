"""The trust file: which public keys may issue receipts.

A JSON document (contract ``trust``, see ``schemas/trust.schema.json`` and docs/receipts.md)::

    {"kind": "trust", "schema_version": 1,
     "keys": [{"keyid": "<sha256 of raw key>", "algorithm": "ed25519",
               "public_key": "<raw 32 bytes, hex>", "name": "ci@models-host"}]}

Every listed key id is recomputed from its public key on load, so a file that names a key under
another key's id is refused rather than trusted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from receiptcore.contracts import TrustFile, load, validate
from receiptcore.errors import SchemaError, TrustFileError
from receiptcore.signing.keys import keyid_of
from receiptcore.util.atomic import replace_file


@dataclass(frozen=True)
class Trust:
    """Trusted public keys by key id (raw 32-byte Ed25519 keys)."""

    keys: dict[str, bytes]
    names: dict[str, str]

    def public_key(self, keyid: str) -> bytes | None:
        return self.keys.get(keyid)

    @classmethod
    def of(cls, *entries: tuple[bytes, str]) -> Trust:
        """Trust built in memory from ``(public_key, name)`` pairs (tests, embedded use)."""
        return cls._from_model(_model(list(entries)))

    @classmethod
    def _from_model(cls, model: TrustFile) -> Trust:
        keys, names = {}, {}
        for entry in model.keys:
            raw = bytes.fromhex(entry.public_key)
            if keyid_of(raw) != entry.keyid:
                raise TrustFileError(
                    f"key {entry.name!r} is listed under key id {entry.keyid}, but its public key "
                    f"has key id {keyid_of(raw)}"
                )
            keys[entry.keyid] = raw
            names[entry.keyid] = entry.name
        return cls(keys, names)


def load_trust(path: str | os.PathLike[str]) -> Trust:
    """Read and check a trust file. A missing or unreadable file is a TrustFileError too: a
    verifier without a trust file must not carry on."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as source:
            data = source.read()
    except OSError as error:
        raise TrustFileError(f"{path}: cannot read the trust file ({error.strerror})") from None
    try:
        model = load(TrustFile, data, path)
    except SchemaError as error:
        raise TrustFileError(str(error)) from None
    try:
        return Trust._from_model(model)
    except TrustFileError as error:
        raise TrustFileError(f"{path}: {error}") from None


def add_trusted_key(path: str | os.PathLike[str], public_key: bytes, name: str) -> bool:
    """Add a key to the trust file at ``path`` (created if missing). Returns False, changing
    nothing, if the key is already there."""
    path = os.fspath(path)
    entries: list[tuple[bytes, str]] = []
    if os.path.exists(path):
        trust = load_trust(path)
        if keyid_of(public_key) in trust.keys:
            return False
        entries = [(raw, trust.names[keyid]) for keyid, raw in trust.keys.items()]
    entries.append((public_key, name))
    try:
        model = _model(entries)
    except SchemaError as error:
        raise TrustFileError(str(error)) from None
    replace_file(path, model.to_json_bytes())
    return True


def _model(entries: list[tuple[bytes, str]]) -> TrustFile:
    keys = [
        {"keyid": keyid_of(raw), "algorithm": "ed25519", "public_key": raw.hex(), "name": name}
        for raw, name in entries
    ]
    return validate(TrustFile, {"kind": "trust", "schema_version": 1, "keys": keys}, "trust file")
