"""receiptcore: prove that every artifact a runtime uses is exactly the one a pipeline built.

The public API is re-exported here. The hot loops (hashing, canonical JSON, sniffing, walking)
live in the native module :mod:`receiptcore._core`, whose stub ``_core.pyi`` documents them.
"""

from receiptcore._core import Hasher, hash_file, hash_files
from receiptcore.errors import (
    DigestMismatch,
    FileChangedError,
    ReceiptcoreError,
    SchemaError,
    SignatureInvalid,
    SigningKeyError,
    TrustFileError,
    UntrustedKey,
)

__all__ = [
    "DigestMismatch",
    "FileChangedError",
    "Hasher",
    "ReceiptcoreError",
    "SchemaError",
    "SignatureInvalid",
    "SigningKeyError",
    "TrustFileError",
    "UntrustedKey",
    "hash_file",
    "hash_files",
]
__version__ = "0.1.0"
