"""Artifact receipts: an in-toto Statement v1 about one artifact, signed in a DSSE envelope.

The whole API a publisher or a verifier needs::

    envelope = sign_receipt(artifact_id, artifact_commit, uri, build_manifest_commit,
                            dataset_manifest_commits, key, issuer="ci@models-host")
    write_envelope(path, envelope)
    statement = verify_envelope(read_envelope(path), load_trust("trust.json"))
    statement.artifact_commit  # what the bytes must hash to

The payload is the RFC 8785 (JCS) form of the Statement, so the same receipt fields signed by
the same key give byte-identical envelopes (Ed25519 signatures are deterministic): a ledger can
recognise a receipt appended twice.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence

from receiptcore._core import canonicalize
from receiptcore.commit import Commit, contract_hex
from receiptcore.contracts import (
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    Envelope,
    Statement,
    load,
    validate,
)
from receiptcore.errors import ReceiptcoreError
from receiptcore.signing import DEFAULT_ISSUER
from receiptcore.signing.dsse import (
    b64decode_strict,
    sign_payload,
    verify_payload,
    verify_payloads,
)
from receiptcore.signing.keys import SigningKey
from receiptcore.signing.trust import Trust
from receiptcore.util.atomic import replace_file
from receiptcore.util.reading import read_document


def build_statement(
    artifact_id: str,
    artifact_commit: Commit | str,
    uri: str,
    build_manifest_commit: Commit | str,
    dataset_manifest_commits: Iterable[Commit | str],
    issuer: str = DEFAULT_ISSUER,
    media_type: str | None = None,
) -> Statement:
    """The Statement for one artifact; dataset commits are sorted and deduplicated.
    ``media_type`` is the subject's ``mediaType``: :data:`~receiptcore.contracts.TREE_MEDIA_TYPE`
    for a tree, None (absent) for a file. Raises SchemaError (naming the field) when a value
    breaks the contract."""
    subject: dict = {"name": artifact_id, "digest": {"sha256": contract_hex(artifact_commit)}}
    if media_type is not None:
        subject["mediaType"] = media_type
    return validate(
        Statement,
        {
            "_type": STATEMENT_TYPE,
            "subject": [subject],
            "predicateType": PREDICATE_TYPE,
            "predicate": {
                "schema_version": 1,
                "uri": uri,
                "build_manifest_commit": contract_hex(build_manifest_commit),
                "dataset_manifest_commits": sorted({contract_hex(c) for c in dataset_manifest_commits}),
                "issuer": issuer,
            },
        },
        "receipt",
    )


def sign_statement(statement: Statement, key: SigningKey) -> Envelope:
    """The Statement's canonical JSON, signed by ``key``, in a DSSE envelope."""
    return sign_payload(canonicalize(statement.to_json_obj()), key)


def sign_receipt(
    artifact_id: str,
    artifact_commit: Commit | str,
    uri: str,
    build_manifest_commit: Commit | str,
    dataset_manifest_commits: Iterable[Commit | str],
    key: SigningKey,
    issuer: str = DEFAULT_ISSUER,
    media_type: str | None = None,
) -> Envelope:
    """Build and sign the receipt for one artifact (see :func:`build_statement`)."""
    statement = build_statement(
        artifact_id,
        artifact_commit,
        uri,
        build_manifest_commit,
        dataset_manifest_commits,
        issuer,
        media_type,
    )
    return sign_statement(statement, key)


def verify_envelope(
    envelope: Envelope, trust: Trust, logged_at: Callable[[], int | None] = lambda: None
) -> Statement:
    """The Statement, once a trusted key's signature over it verifies, that key is not revoked
    for it, and it is a valid receipt.

    ``logged_at()`` says when the ledger logged the receipt (Unix seconds, None if unknown); it
    is asked only if every key that signed it is revoked, and a receipt signed by a revoked key
    is accepted only if it was logged before the revocation. Raises UntrustedKey,
    SignatureInvalid, KeyRevoked, LimitExceeded, or SchemaError (signed, but not a receipt).
    """
    return _statement(verify_payload(envelope, trust), trust, logged_at)


def verify_envelopes(envelopes: Sequence[Envelope], trust: Trust) -> list[Statement]:
    """:func:`verify_envelope` of each envelope (none logged yet), with every signature checked
    in one native call off the GIL; raises what the first envelope that fails raises."""
    statements = []
    for envelope, answer in zip(envelopes, verify_payloads(envelopes, trust), strict=True):
        if isinstance(answer, ReceiptcoreError):
            raise answer
        statements.append(_statement(answer, trust, lambda: None))
    return statements


def _statement(verified: tuple[bytes, list[str]], trust: Trust,
               logged_at: Callable[[], int | None]) -> Statement:
    """The receipt a verified payload holds, once its keys are not revoked for it."""
    payload, keyids = verified
    trust.check_not_revoked(keyids, logged_at)
    return load(Statement, payload, "receipt payload")


def unverified_statement(envelope: Envelope) -> Statement:
    """The Statement inside an envelope WITHOUT checking any signature: for display only."""
    return load(Statement, b64decode_strict(envelope.payload, "payload"), "receipt payload")


def read_envelope(path: str | os.PathLike[str]) -> Envelope:
    """Read an envelope file (a regular file, at most ``LIMITS["receipt"]`` bytes). OSError if
    unreadable, SchemaError if not a DSSE envelope."""
    path = os.fspath(path)
    return load(Envelope, read_document(path, "receipt"), path)


def envelope_bytes(envelope: Envelope) -> bytes:
    """The envelope as one line of JSON (the usual form for ``.intoto.jsonl`` files)."""
    return envelope.to_json_bytes(indent=None)


def write_envelope(path: str | os.PathLike[str], envelope: Envelope) -> None:
    """Write an envelope file atomically."""
    replace_file(path, envelope_bytes(envelope))


__all__ = [
    "DEFAULT_ISSUER",
    "build_statement",
    "envelope_bytes",
    "read_envelope",
    "sign_receipt",
    "sign_statement",
    "unverified_statement",
    "verify_envelope",
    "write_envelope",
]
