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
from receiptcore.errors import (
    CanonicalizationError,
    CheckpointError,
    DigestMismatch,
    FileChangedError,
    GitError,
    LedgerCorrupt,
    NotInLedger,
    ObjectNotFound,
    ProofError,
    ReceiptcoreError,
    RollbackDetected,
    SchemaError,
    SignatureInvalid,
    SigningKeyError,
    TrustFileError,
    UntrustedKey,
)

_LAZY = {
    # Commitments, keys and receipts pull in pydantic and cryptography (~0.3 s): they load on
    # first use, so `import receiptcore` (and `receiptcore hash`) stays instant.
    "artifact_commit": "receiptcore.manifests",
    "build_manifest": "receiptcore.manifests",
    "commit_of": "receiptcore.manifests",
    "dataset_manifest": "receiptcore.manifests",
    "read_manifest": "receiptcore.manifests",
    "SigningKey": "receiptcore.keys",
    "generate_key_pair": "receiptcore.keys",
    "load_signing_key": "receiptcore.keys",
    "Trust": "receiptcore.trust",
    "load_trust": "receiptcore.trust",
    "read_envelope": "receiptcore.receipts",
    "sign_receipt": "receiptcore.receipts",
    "verify_envelope": "receiptcore.receipts",
    "write_envelope": "receiptcore.receipts",
    # The ledger, the store, publish and verify. The functions themselves are
    # `receiptcore.publish.publish` and `receiptcore.verify.verify`: a package attribute cannot
    # share its name with a submodule without one hiding the other.
    "SqliteLedger": "receiptcore.ledger.sqlite",
    "LocalStore": "receiptcore.store",
    "Publication": "receiptcore.publish",
    "Verdict": "receiptcore.verify",
}

__all__ = [
    "CanonicalizationError",
    "CheckpointError",
    "DigestMismatch",
    "Entry",
    "FileChangedError",
    "GitError",
    "Hasher",
    "LedgerCorrupt",
    "LocalStore",
    "NotInLedger",
    "ObjectNotFound",
    "ProofError",
    "Publication",
    "ReceiptcoreError",
    "RollbackDetected",
    "SchemaError",
    "SignatureInvalid",
    "SigningKey",
    "SigningKeyError",
    "Sniff",
    "SqliteLedger",
    "Trust",
    "TrustFileError",
    "UntrustedKey",
    "Verdict",
    "artifact_commit",
    "build_manifest",
    "canonical_sha256",
    "canonicalize",
    "canonicalize_json",
    "commit_of",
    "dataset_manifest",
    "generate_key_pair",
    "hash_file",
    "hash_files",
    "load_signing_key",
    "load_trust",
    "read_envelope",
    "read_manifest",
    "sign_receipt",
    "sniff",
    "verify_envelope",
    "walk",
    "write_envelope",
]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'receiptcore' has no attribute {name!r}")


TYPE_CHECKING = False  # typing's own idiom, without importing typing at start-up
if TYPE_CHECKING:
    from receiptcore.keys import SigningKey, generate_key_pair, load_signing_key
    from receiptcore.ledger.sqlite import SqliteLedger
    from receiptcore.manifests import (
        artifact_commit,
        build_manifest,
        commit_of,
        dataset_manifest,
        read_manifest,
    )
    from receiptcore.publish import Publication
    from receiptcore.receipts import read_envelope, sign_receipt, verify_envelope, write_envelope
    from receiptcore.store import LocalStore
    from receiptcore.trust import Trust, load_trust
    from receiptcore.verify import Verdict
