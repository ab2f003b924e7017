"""Every failure receiptcore reports, under one base class.

The native core defines :class:`ReceiptcoreError` (so Rust can raise our subclasses); Python
code adds one subclass per failure a caller may handle differently. Each carries the CLI exit
code it maps to (see the table in :mod:`receiptcore.cli`). File-system failures stay ordinary
``OSError`` subclasses (``FileNotFoundError``, ``IsADirectoryError``...) whose ``filename``
names the path.
"""

from receiptcore._core import CanonicalizationError, FileChangedError, GitError, ReceiptcoreError


class SchemaError(ReceiptcoreError, ValueError):
    """A document is not valid JSON, or does not match its contract (unknown field, wrong type,
    missing field, bad value). The message names the document and the field."""

    exit_code = 5


class SignatureInvalid(ReceiptcoreError):
    """A DSSE envelope's signature does not verify over its payload (or is malformed)."""

    exit_code = 6


class UntrustedKey(ReceiptcoreError):
    """An envelope is signed by a key that the trust file does not list."""

    exit_code = 7


class SigningKeyError(ReceiptcoreError):
    """A signing key is missing, unreadable, not Ed25519, or would overwrite an existing file."""

    exit_code = 8


class DigestMismatch(ReceiptcoreError):
    """Bytes do not hash to the commitment that was claimed for them."""

    exit_code = 9


class TrustFileError(ReceiptcoreError):
    """The trust file is missing, malformed, or lists a key under the wrong key id."""

    exit_code = 2


__all__ = [
    "CanonicalizationError",
    "DigestMismatch",
    "FileChangedError",
    "GitError",
    "ReceiptcoreError",
    "SchemaError",
    "SignatureInvalid",
    "SigningKeyError",
    "TrustFileError",
    "UntrustedKey",
]
