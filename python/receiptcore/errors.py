from receiptcore._core import CanonicalizationError, FileChangedError, GitError, ReceiptcoreError

__all__ = ["CanonicalizationError", "FileChangedError", "GitError", "ReceiptcoreError"]
