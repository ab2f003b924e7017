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


class ConfigError(ReceiptcoreError, ValueError):
    """A scan configuration, baseline or option the user wrote is wrong."""

    exit_code = 2


class TrustFileError(ReceiptcoreError):
    """The trust file is missing, malformed, or lists a key under the wrong key id."""

    exit_code = 2


# --- ledger, store and verify: each failure of `receiptcore verify` has its own exit code ------


class ObjectNotFound(ReceiptcoreError):
    """The artifact store holds no object under this commitment."""

    exit_code = 10


class NotInLedger(ReceiptcoreError):
    """No receipt for this artifact in the ledger."""

    exit_code = 11


class ProofError(ReceiptcoreError):
    """A Merkle inclusion or consistency proof does not verify."""

    exit_code = 12


class CheckpointError(ReceiptcoreError):
    """A checkpoint is malformed, or not signed by the ledger key the verifier trusts."""

    exit_code = 13


class RollbackDetected(ReceiptcoreError):
    """The ledger is smaller than, or forked from, the last checkpoint this verifier trusted."""

    exit_code = 14


class LedgerCorrupt(ReceiptcoreError):
    """The stored ledger does not recompute: ``index`` names the first entry that does not match."""

    exit_code = 15

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


__all__ = [
    "CanonicalizationError",
    "CheckpointError",
    "ConfigError",
    "DigestMismatch",
    "FileChangedError",
    "GitError",
    "LedgerCorrupt",
    "NotInLedger",
    "ObjectNotFound",
    "ProofError",
    "ReceiptcoreError",
    "RollbackDetected",
    "SchemaError",
    "SignatureInvalid",
    "SigningKeyError",
    "TrustFileError",
    "UntrustedKey",
]
