"""receiptcore: prove that every artifact a runtime uses is exactly the one a pipeline built.

The public API is re-exported here. The hot loops (hashing, canonical JSON, sniffing, walking)
live in the native module :mod:`receiptcore._core`, whose stub ``_core.pyi`` documents them.
"""

from receiptcore._core import (
    Entry,
    Hasher,
    Sniff,
    canonical_sha256,
    canonicalize,
    canonicalize_json,
    hash_file,
    hash_files,
    sniff,
    walk,
)
from receiptcore.errors import CanonicalizationError, FileChangedError, GitError, ReceiptcoreError

__all__ = [
    "CanonicalizationError",
    "Entry",
    "FileChangedError",
    "GitError",
    "Hasher",
    "ReceiptcoreError",
    "Sniff",
    "canonical_sha256",
    "canonicalize",
    "canonicalize_json",
    "hash_file",
    "hash_files",
    "sniff",
    "walk",
]
__version__ = "0.1.0"
