"""receiptcore: prove that every artifact a runtime uses is exactly the one a pipeline built.

The public API is re-exported here. The hot loops (hashing, canonical JSON, sniffing, walking)
live in the native module :mod:`receiptcore._core`, whose stub ``_core.pyi`` documents them.
"""

from receiptcore._core import (
    Hasher,
    canonical_sha256,
    canonicalize,
    canonicalize_json,
    hash_file,
    hash_files,
)
from receiptcore.errors import CanonicalizationError, FileChangedError, ReceiptcoreError

__all__ = [
    "CanonicalizationError",
    "FileChangedError",
    "Hasher",
    "ReceiptcoreError",
    "canonical_sha256",
    "canonicalize",
    "canonicalize_json",
    "hash_file",
    "hash_files",
]
__version__ = "0.1.0"
