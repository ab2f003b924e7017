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

TREE = {
    "kind": "tree_manifest",
    "schema_version": 1,
    "files": [
        {"path": "1_Pooling/config.json", "size": 190, "sha256": H},
        {"path": "config.json", "size": 612, "sha256": H2},
        {"path": "model.safetensors", "size": 90864192, "sha256": H},
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

TRUST_V2 = {
    "kind": "trust",
    "schema_version": 2,
    "keys": [
        {**TRUST["keys"][0], "role": "receipts"},
        {
            "keyid": "02d449a31fbb267c8f352e9968a79e3e5fc95c1bbeaa502fd6454ebde5a4bedc",
            "algorithm": "ed25519",
            "public_key": "11" * 32,
            "name": "receiptcore.local/5be1a2c39e7d0f44",
            "role": "ledger",
        },
    ],
    "revocations": [
        {"keyid": TRUST["keys"][0]["keyid"], "from": "2026-11-01T00:00:00Z", "reason": "laptop stolen"}
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

H3 = "ef" * 32
CHECKPOINT = "receiptcore.local/5be1a2c39e7d0f44\n18\n" + "A" * 43 + "=\n\n\u2014 receiptcore.local/5be1a2c39e7d0f44 Gq8Ff9Q3\n"
LEDGER_KEY = "receiptcore.local/5be1a2c39e7d0f44+5be1a2c3+AQ" + "A" * 42 + "="
ERROR = {
    "error": {
        "reason": "DigestMismatch",
        "exit_code": 9,
        "exit_name": "digest_mismatch",
        "check": "digest",
        "message": "stored object sha256:cdcd... hashes to sha256:abab..., not sha256:cdcd...",
    }
}
PROOF = {
    "entry": '{"payload":"eyJhIjoxfQ==","payloadType":"application/vnd.in-toto+json",'
             '"signatures":[{"keyid":"' + H + '","sig":"AAAA"}]}',
    "ledger_index": 17,
    "inclusion": {"tree_size": 18, "hashes": [H, H3]},
    "checkpoint": CHECKPOINT,
    "consistency": {"from_size": 12, "to_size": 18, "hashes": [H3, H]},
    "ledger_key": LEDGER_KEY,
}
PROVENANCE = {
    "index": {"artifact_id": "support-docs.faiss", "commit": H2, "ledger_index": 17},
    "model": {"artifact_id": "all-minilm-l6-v2", "commit": H3, "ledger_index": 2},
    "chunks": {"artifact_id": "support-docs.chunks", "commit": H, "ledger_index": 15},
    "checkpoint_size": 18,
}
INDEX2 = {"index_id": "support-docs", "artifact_id": "support-docs.faiss", "commit": H2}

TOOLS_V2 = {
    "v2/tool/rag.query.schema.json": (
        {"index": INDEX2, "query": "How do I reset my password?", "top_k": 3},
        {
            "index": INDEX2,
            "hits": [
                {"rank": 1, "score": 0.83, "path": "faq/login.md", "chunk": 2, "row": 41,
                 "text": "Open Settings, then Security...", "sha256": H3}
            ],
            "provenance": PROVENANCE,
            "warnings": [],
        },
        ERROR,
    ),
    "v2/tool/artifact.fetch.schema.json": (
        {"artifact": ARTIFACT, "range": {"offset": 0, "length": 4}},
        {
            "artifact": ARTIFACT, "kind": "file", "size": 1048576,
            "uri": "http://127.0.0.1:8765/objects/sha256/" + H2, "file": None,
            "chunk": {"offset": 0, "length": 4, "data": "AAECAw==", "eof": False},
            "ledger_index": 17, "checkpoint_size": 18, "warnings": [],
        },
        ERROR,
    ),
    "v2/tool/receipt.verify.schema.json": (
        {"artifact": ARTIFACT, "since": 12},
        {
            "artifact": ARTIFACT,
            "verified": True,
            "mode": "enforce",
            "checks": [{"name": "trust", "ok": True, "detail": "receipt signed by a key in the trust file"}],
            "ledger_index": 17,
            "checkpoint_size": 18,
            "proof": PROOF,
            "warnings": [],
        },
        ERROR,
    ),
}

REFERENCE = {
    "kind": "tree",
    "schema_version": 1,
    "artifact_id": "models/encoder",
    "artifact_commit": H2,
    "uri": "file:///srv/receiptcore/objects/sha256/cd/" + H2[2:],
    "size": 90865186,
    "files": 9,
    "ledger_index": 41,
}

DOCUMENTS = {
    "dataset_manifest.schema.json": DATASET,
    "build_manifest.schema.json": BUILD,
    "tree_manifest.schema.json": TREE,
    "artifact_receipt.schema.json": STATEMENT,
    "dsse_envelope.schema.json": ENVELOPE,
    "trust.schema.json": TRUST,
    "v2/trust.schema.json": TRUST_V2,
    "artifact_reference.schema.json": REFERENCE,
}


def fresh(document: dict) -> dict:
    return copy.deepcopy(document)
