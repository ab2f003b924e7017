"""Every failure receiptcore reports, under one base class.

The native core defines :class:`ReceiptcoreError` (so Rust can raise our subclasses); Python
code adds one subclass per failure a caller may handle differently. The CLI maps each to an exit
code (see :mod:`receiptcore.cli`). File-system failures stay ordinary ``OSError`` subclasses
(``FileNotFoundError``, ``IsADirectoryError``...) whose ``filename`` names the path.
"""

from receiptcore._core import CanonicalizationError, FileChangedError, GitError, ReceiptcoreError

__all__ = ["CanonicalizationError", "ConfigError", "FileChangedError", "GitError",
           "ReceiptcoreError"]


class ConfigError(ReceiptcoreError, ValueError):
    """A configuration file, baseline or option the user wrote is wrong (CLI exit code 2)."""

    exit_code = 2
