"""receiptcore: prove that every artifact a runtime uses is exactly the one a pipeline built.

The public API is re-exported here, each name once, in :data:`_PUBLIC` (name -> defining module).
Every name loads on first use: commitments, keys and receipts pull in pydantic and cryptography
(~0.3 s), so ``import receiptcore`` (and ``receiptcore hash``) stays instant. The hot loops
(hashing, canonical JSON, sniffing, walking) live in the native module :mod:`receiptcore._core`,
whose stub ``_core.pyi`` documents them. Code inside the package imports from the defining
module, never from here.

The functions ``publish``, ``verify`` and ``fetch`` are ``receiptcore.publish.publish``,
``receiptcore.verify.verify`` and ``receiptcore.fetch.fetch``: a package attribute cannot share
its name with a submodule without one hiding the other.
"""

from __future__ import annotations

import importlib
from typing import Any

from receiptcore._core import __version__ as __version__

_NATIVE = "receiptcore._core"
_ERRORS = "receiptcore.errors"
_PUBLIC = {
    # the native core
    "Entry": _NATIVE,
    "Hasher": _NATIVE,
    "Sniff": _NATIVE,
    "canonical_sha256": _NATIVE,
    "canonicalize": _NATIVE,
    "canonicalize_json": _NATIVE,
    "copy_files": _NATIVE,
    "hash_file": _NATIVE,
    "hash_files": _NATIVE,
    "place_files": _NATIVE,
    "sniff": _NATIVE,
    "walk": _NATIVE,
    # the error catalogue
    "AmbiguousArtifact": _ERRORS,
    "ArtifactIdError": _ERRORS,
    "CanonicalizationError": _ERRORS,
    "CheckpointError": _ERRORS,
    "CorpusError": _ERRORS,
    "DigestMismatch": _ERRORS,
    "DimensionMismatch": _ERRORS,
    "ExitCode": _ERRORS,
    "FileChangedError": _ERRORS,
    "GitError": _ERRORS,
    "HomeNotFound": _ERRORS,
    "LedgerCorrupt": _ERRORS,
    "NotInLedger": _ERRORS,
    "ObjectNotFound": _ERRORS,
    "ProofError": _ERRORS,
    "ReceiptcoreError": _ERRORS,
    "RollbackDetected": _ERRORS,
    "SchemaError": _ERRORS,
    "SignatureInvalid": _ERRORS,
    "SigningKeyError": _ERRORS,
    "TreeMismatch": _ERRORS,
    "TreeRefused": _ERRORS,
    "TrustFileError": _ERRORS,
    "UntrustedKey": _ERRORS,
    "VersionExists": _ERRORS,
    # commitments
    "Commit": "receiptcore.commit",
    "artifact_commit": "receiptcore.commitments",
    "build_manifest": "receiptcore.commitments",
    "commit_of": "receiptcore.commitments",
    "dataset_manifest": "receiptcore.commitments",
    "read_manifest": "receiptcore.commitments",
    "TreeManifest": "receiptcore.contracts",
    # signing
    "SigningKey": "receiptcore.signing.keys",
    "generate_key_pair": "receiptcore.signing.keys",
    "load_signing_key": "receiptcore.signing.keys",
    "Trust": "receiptcore.signing.trust",
    "load_trust": "receiptcore.signing.trust",
    "read_envelope": "receiptcore.signing.receipts",
    "sign_receipt": "receiptcore.signing.receipts",
    "verify_envelope": "receiptcore.signing.receipts",
    "write_envelope": "receiptcore.signing.receipts",
    # ledger, store, publish and verify
    "Ledger": "receiptcore.ledger.base",
    "open_ledger": "receiptcore.ledger",
    "SqliteLedger": "receiptcore.ledger.sqlite",
    "Store": "receiptcore.store.base",
    "open_store": "receiptcore.store",
    "LocalStore": "receiptcore.store",
    "Publication": "receiptcore.publish",
    "Verdict": "receiptcore.verify",
    "Versions": "receiptcore.versions",
    "parse_reference": "receiptcore.ids",
}

__all__ = list(_PUBLIC)  # the table above is the one list of public names


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'receiptcore' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
