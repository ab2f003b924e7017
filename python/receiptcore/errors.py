"""Every failure receiptcore reports, under one base class.

The native core defines :class:`ReceiptcoreError` (so Rust can raise our subclasses); Python
code adds one subclass per failure a caller may handle differently. The CLI maps each to an exit
code (see :mod:`receiptcore.cli`). File-system failures stay ordinary ``OSError`` subclasses
(``FileNotFoundError``, ``IsADirectoryError``...) whose ``filename`` names the path.
"""

from receiptcore._core import CanonicalizationError, FileChangedError, ReceiptcoreError

__all__ = [
    "CanonicalizationError",
    "CheckpointError",
    "DigestMismatch",
    "FileChangedError",
    "LedgerCorrupt",
    "NotInLedger",
    "ObjectNotFound",
    "ProofError",
    "ReceiptcoreError",
    "RollbackDetected",
]


# --- ledger, store and verify: each failure of `receiptcore verify` has its own exit code ------


class DigestMismatch(ReceiptcoreError):
    """Bytes do not hash to the commitment they were stored or published under."""

    exit_code = 9


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
