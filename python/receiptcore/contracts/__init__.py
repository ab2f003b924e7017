"""The contracts both repositories agree on, as strict pydantic models (version 1).

Read documents with :func:`load` (JSON text) or :func:`validate` (Python values): either raises
:class:`receiptcore.errors.SchemaError` with a one-line message naming the field. The JSON Schema
files in ``schemas/`` are generated from these models (see :mod:`receiptcore.contracts.schemas`).
"""

from receiptcore.contracts._base import (
    SCHEMA_BASE,
    SCHEMA_VERSION,
    StrictModel,
    load,
    parse_json_bytes,
    validate,
)
from receiptcore.contracts.manifests import (
    BuildInputs,
    BuildManifest,
    BuildOutput,
    DatasetManifest,
    FileEntry,
)
from receiptcore.contracts.receipt import (
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    Envelope,
    EnvelopeSignature,
    ReceiptPredicate,
    Revocation,
    RoleKey,
    Statement,
    Subject,
    SubjectDigest,
    TrustedKey,
    TrustFile,
    TrustFileV2,
)
from receiptcore.contracts.reference import ArtifactReference
from receiptcore.contracts.tools import (
    ArtifactFetchRequest,
    ArtifactFetchResponse,
    ArtifactRef,
    IndexRef,
    RagHit,
    RagQueryRequest,
    RagQueryResponse,
    ReceiptVerifyRequest,
    ReceiptVerifyResponse,
    VerifyCheck,
)
from receiptcore.contracts.tree import TREE_MEDIA_TYPE, TreeFile, TreeManifest

__all__ = [
    "PAYLOAD_TYPE",
    "PREDICATE_TYPE",
    "SCHEMA_BASE",
    "SCHEMA_VERSION",
    "STATEMENT_TYPE",
    "TREE_MEDIA_TYPE",
    "ArtifactFetchRequest",
    "ArtifactFetchResponse",
    "ArtifactRef",
    "ArtifactReference",
    "BuildInputs",
    "BuildManifest",
    "BuildOutput",
    "DatasetManifest",
    "Envelope",
    "EnvelopeSignature",
    "FileEntry",
    "IndexRef",
    "RagHit",
    "RagQueryRequest",
    "RagQueryResponse",
    "ReceiptPredicate",
    "ReceiptVerifyRequest",
    "ReceiptVerifyResponse",
    "Revocation",
    "RoleKey",
    "Statement",
    "StrictModel",
    "Subject",
    "SubjectDigest",
    "TreeFile",
    "TreeManifest",
    "TrustFile",
    "TrustFileV2",
    "TrustedKey",
    "VerifyCheck",
    "load",
    "parse_json_bytes",
    "validate",
]
