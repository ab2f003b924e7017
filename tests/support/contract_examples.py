"""Valid documents of every contract, shared by the contract, CLI and docs tests."""

from __future__ import annotations

import copy

H = "ab" * 32
H2 = "cd" * 32

DATASET = {
    "kind": "dataset_manifest",
    "schema_version": 1,
    "name": "support-docs",
    "source": "s3://corpora/support-docs@2026-11-01",
    "license": "CC-BY-4.0",
    "owner": "data-team@example.com",
    "files": [
        {"path": "faq/billing.md", "size": 1834, "sha256": H},
        {"path": "faq/login.md", "size": 977, "sha256": H2},
    ],
}

BUILD = {
    "kind": "build_manifest",
    "schema_version": 1,
    "inputs": {
        "dataset_manifest_commits": [H],
        "code_revision": "9f2c1e7",
        "parameters": {"model": "bge-small-en-v1.5", "chunk_size": 512, "normalize": True},
        "seeds": {"python": 42},
        "libraries": {"sentence-transformers": "3.0.1"},
    },
    "outputs": [{"artifact_id": "support-docs-index", "artifact_commit": H2}],
}

STATEMENT = {
    "_type": "https://in-toto.io/Statement/v1",
    "subject": [{"name": "support-docs-index", "digest": {"sha256": H2}}],
    "predicateType": "https://receiptcore.dev/ArtifactReceipt/v1",
    "predicate": {
        "schema_version": 1,
        "uri": "s3://models/support-docs-index/3",
        "build_manifest_commit": H,
        "dataset_manifest_commits": [H],
        "issuer": "ci@models-host",
    },
}

ENVELOPE = {
    "payload": "eyJhIjoxfQ==",
    "payloadType": "application/vnd.in-toto+json",
    "signatures": [{"keyid": H, "sig": "AAAA"}],
}

TRUST = {
    "kind": "trust",
    "schema_version": 1,
    "keys": [
        {
            "keyid": "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925",
            "algorithm": "ed25519",
            "public_key": "00" * 32,
            "name": "ci@models-host",
        }
    ],
}

INDEX = {"index_id": "support-docs", "artifact_id": "support-docs-index", "commit": H2}
ARTIFACT = {"artifact_id": "support-docs-index", "commit": H2}

TOOLS = {
    "tool/rag.query.schema.json": (
        {"index": INDEX, "query": "How do I reset my password?", "top_k": 3},
        {
            "index": INDEX,
            "hits": [
                {"rank": 1, "score": 0.83, "doc_id": "faq/login.md#2", "text": "Open Settings...",
                 "metadata": {"path": "faq/login.md"}}
            ],
        },
    ),
    "tool/artifact.fetch.schema.json": (
        {"artifact": ARTIFACT},
        {"artifact": ARTIFACT, "uri": "file:///var/cache/receiptcore/objects/cd/cdcd", "size": 1048576},
    ),
    "tool/receipt.verify.schema.json": (
        {"artifact": ARTIFACT},
        {
            "artifact": ARTIFACT,
            "verified": True,
            "mode": "enforce",
            "checks": [{"name": "signature", "ok": True, "detail": "signed by ci@models-host"}],
            "ledger_index": 17,
        },
    ),
}

DOCUMENTS = {
    "dataset_manifest.schema.json": DATASET,
    "build_manifest.schema.json": BUILD,
    "artifact_receipt.schema.json": STATEMENT,
    "dsse_envelope.schema.json": ENVELOPE,
    "trust.schema.json": TRUST,
}


def fresh(document: dict) -> dict:
    return copy.deepcopy(document)
