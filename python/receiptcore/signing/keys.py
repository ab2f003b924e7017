"""Ed25519 signing keys: make them, load them, name them.

Files are the formats OpenSSL reads and writes, so a key made elsewhere
(``openssl genpkey -algorithm ed25519 -out ci.key``) works here and ours work with OpenSSL:

- private key: PKCS#8 PEM, unencrypted, file mode 0600 (``-----BEGIN PRIVATE KEY-----``);
- public key: SubjectPublicKeyInfo PEM (``-----BEGIN PUBLIC KEY-----``), beside it as ``NAME.pub``.

A key id is the sha256, in lowercase hex, of the public key's **raw 32 bytes** (not of its PEM
or DER form), so it can be recomputed from the hex in a trust file with any sha256 tool.

A CI passes its private key either as a file (``--key PATH``) or as the PEM text itself in the
environment variable ``RECEIPTCORE_SIGNING_KEY`` (how CI systems hand out secrets).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from receiptcore.errors import SigningKeyError
from receiptcore.util.atomic import create_file
from receiptcore.util.reading import read_document

ENV_SIGNING_KEY = "RECEIPTCORE_SIGNING_KEY"
PRIVATE_KEY_MODE = 0o600


def keyid_of(public_key: bytes) -> str:
    """The key id of a raw 32-byte Ed25519 public key: ``sha256(raw).hexdigest()``."""
    if len(public_key) != 32:
        raise ValueError(f"an Ed25519 public key is 32 bytes, not {len(public_key)}")
    return hashlib.sha256(public_key).hexdigest()


@dataclass(frozen=True)
class SigningKey:
    """A private Ed25519 key, with its public half and key id at hand."""

    private_key: Ed25519PrivateKey

    @cached_property
    def public_key(self) -> bytes:
        """The raw 32-byte public key."""
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @cached_property
    def keyid(self) -> str:
        return keyid_of(self.public_key)

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)

    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def public_pem(self) -> bytes:
        return public_pem(self.public_key)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())


def public_pem(public_key: bytes) -> bytes:
    """SubjectPublicKeyInfo PEM of a raw 32-byte Ed25519 public key (what OpenSSL reads)."""
    return Ed25519PublicKey.from_public_bytes(public_key).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def generate_key_pair(path: str | os.PathLike[str]) -> SigningKey:
    """Make a new key, write the private key to ``path`` (mode 0600) and the public key to
    ``path + ".pub"``. Refuses, writing nothing, if either file exists."""
    path = os.fspath(path)
    public_path = path + ".pub"
    for existing in (path, public_path):
        if os.path.lexists(existing):
            raise SigningKeyError(f"{existing}: already exists; refusing to overwrite a key")
    key = SigningKey.generate()
    write_key_pair(path, key)
    return key


def write_key_pair(path: str | os.PathLike[str], key: SigningKey) -> None:
    """Write ``key``'s public half to ``path + ".pub"``, then its private half to ``path`` (mode
    0600), each whole or not at all: the private key's name appears last, so a process killed
    on the way never leaves a private key without its public one. SigningKeyError if either
    exists."""
    path = os.fspath(path)
    try:
        create_file(path + ".pub", key.public_pem(), 0o644)
    except FileExistsError:
        raise SigningKeyError(f"{path}.pub: already exists; refusing to overwrite a key") from None
    try:
        create_file(path, key.private_pem(), PRIVATE_KEY_MODE)
    except BaseException as error:
        os.unlink(path + ".pub")
        if isinstance(error, FileExistsError):
            raise SigningKeyError(f"{path}: already exists; refusing to overwrite a key") from None
        raise


def load_signing_key(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> SigningKey:
    """The signing key from ``path`` if given, else from ``$RECEIPTCORE_SIGNING_KEY`` (PEM text).

    Raises SigningKeyError when there is neither, or the text is not an Ed25519 private key;
    FileNotFoundError and friends when ``path`` cannot be read.
    """
    if path is not None:
        path = os.fspath(path)
        return _private_from_pem(read_document(path, "key"), path)
    environ = os.environ if environ is None else environ
    text = environ.get(ENV_SIGNING_KEY)
    if not text:
        raise SigningKeyError(f"no signing key: pass --key PATH or set {ENV_SIGNING_KEY}")
    if "-----BEGIN" not in text:
        raise SigningKeyError(
            f"{ENV_SIGNING_KEY} must hold the PEM text of the private key (for a path, use --key)"
        )
    return _private_from_pem(text.encode("utf-8"), f"${ENV_SIGNING_KEY}")


def load_public_key(path: str | os.PathLike[str]) -> bytes:
    """The raw 32-byte public key from a public key PEM, or from a private key PEM."""
    path = os.fspath(path)
    data = read_document(path, "key")
    if b"PRIVATE KEY" in data:
        return _private_from_pem(data, path).public_key
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as error:
        raise SigningKeyError(f"{path}: not a PEM public key ({_first_line(error)})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{path}: not an Ed25519 key")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _private_from_pem(data: bytes, source: str) -> SigningKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise SigningKeyError(f"{source}: the private key is encrypted; give an unencrypted PKCS#8 key") from None
    except (ValueError, UnsupportedAlgorithm) as error:
        raise SigningKeyError(f"{source}: not a PEM private key ({_first_line(error)})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{source}: not an Ed25519 key")
    return SigningKey(key)


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
