"""Manifests, commitments, validation and receipts, side by side with what a user would
otherwise write.

Workloads:
  1. dataset manifest of a corpus (2,000 x 64 KiB + 8 x 32 MiB, page-cached): receiptcore
     (parallel native hashing + native JCS) vs os.walk + hashlib.file_digest + rfc8785;
  2. commit of a 100,000-file manifest already in memory: canonical_sha256 vs rfc8785 + hashlib;
  3. validation of that manifest: the pydantic model vs jsonschema (Draft202012Validator);
  4. receipts: sign and verify 2,000 envelopes, ours vs securesystemslib's DSSE.

    python benches/bench_contracts.py
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from jsonschema import Draft202012Validator
from securesystemslib.dsse import Envelope as SslibEnvelope
from securesystemslib.signer import CryptoSigner, SSlibKey

from _common import best_of, table
from receiptcore import canonical_sha256
from receiptcore.commitments import commit_of, dataset_manifest
from receiptcore.contracts import DatasetManifest, Envelope, validate
from receiptcore.contracts.schemas import document_schema
from receiptcore.signing.keys import SigningKey
from receiptcore.signing.receipts import build_statement, sign_statement, verify_envelope
from receiptcore.signing.trust import Trust

TERMS = {"name": "bench", "source": "bench", "license": "CC0-1.0", "owner": "bench"}


def make_corpus(root: str) -> int:
    total = 0
    block = os.urandom(64 << 10)
    for i in range(2000):
        directory = os.path.join(root, f"d{i % 20:02d}")
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, f"f{i:05d}.txt"), "wb") as f:
            f.write(block[: (64 << 10) - i] + i.to_bytes(4, "little"))
            total += (64 << 10) - i + 4
    big = os.urandom(32 << 20)
    for i in range(8):
        with open(os.path.join(root, f"shard-{i}.bin"), "wb") as f:
            f.write(big[:-1] + bytes([i]))
            total += len(big)
    return total


def python_manifest(root: str) -> str:
    found = []
    for directory, _, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            found.append((os.path.relpath(path, root).replace(os.sep, "/"), path))
    found.sort()
    files = []
    for relative, path in found:
        with open(path, "rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
        files.append({"path": relative, "size": os.path.getsize(path), "sha256": digest})
    document = {"kind": "dataset_manifest", "schema_version": 1, **TERMS, "files": files}
    return hashlib.sha256(rfc8785.dumps(document)).hexdigest()


def big_manifest(n: int) -> dict:
    files = [
        {"path": f"shard/{i:07d}/part-{i}.jsonl", "size": i * 37, "sha256": hashlib.sha256(str(i).encode()).hexdigest()}
        for i in range(n)
    ]
    return {"kind": "dataset_manifest", "schema_version": 1, **TERMS, "files": files}


def main() -> None:
    with tempfile.TemporaryDirectory() as root:
        total = make_corpus(root)
        ours = commit_of(dataset_manifest(root, **TERMS))
        assert ours == python_manifest(root), "the two paths disagree"
        table(
            "dataset manifest: 2,008 files, 312 MiB (page-cached)",
            [
                ("receiptcore manifest (parallel)", best_of(lambda: commit_of(dataset_manifest(root, **TERMS)), 5)),
                ("receiptcore manifest (1 thread)", best_of(lambda: commit_of(dataset_manifest(root, **TERMS, threads=1)), 5)),
                ("os.walk + hashlib + rfc8785", best_of(lambda: python_manifest(root), 5)),
            ],
            total,
            "os.walk + hashlib + rfc8785",
        )

    document = big_manifest(100_000)
    assert canonical_sha256(document) == hashlib.sha256(rfc8785.dumps(document)).hexdigest()
    table(
        "commit of a 100,000-file manifest (in memory)",
        [
            ("receiptcore canonical_sha256", best_of(lambda: canonical_sha256(document))),
            ("rfc8785.dumps + hashlib", best_of(lambda: hashlib.sha256(rfc8785.dumps(document)).hexdigest())),
            ("json.dumps(sort_keys) + hashlib (not JCS)", best_of(
                lambda: hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
            )),
        ],
        None,
        "rfc8785.dumps + hashlib",
    )

    checker = Draft202012Validator(document_schema("dataset_manifest.schema.json"))
    table(
        "validation of a 100,000-file manifest",
        [
            ("receiptcore model (pydantic, strict)", best_of(lambda: validate(DatasetManifest, document))),
            ("jsonschema Draft202012Validator", best_of(lambda: checker.validate(document), repeat=1)),
        ],
        None,
        "jsonschema Draft202012Validator",
    )

    key = SigningKey.generate()
    trust = Trust.of((key.public_key, "bench"))
    statements = [build_statement(f"a{i}", hashlib.sha256(str(i).encode()).hexdigest(), "file:///x", "ab" * 32, [], "b") for i in range(2000)]
    envelopes = [sign_statement(s, key) for s in statements]
    sslib_key = SSlibKey.from_crypto(Ed25519PublicKey.from_public_bytes(key.public_key), keyid=key.keyid)
    signer = CryptoSigner(key.private_key, sslib_key)

    def sslib_sign():  # the same work: canonical payload from the statement, then sign
        for statement in statements:
            payload = rfc8785.dumps(statement.to_json_obj())
            SslibEnvelope(payload, "application/vnd.in-toto+json", {}).sign(signer)

    dicts = [e.to_json_obj() for e in envelopes]

    def sslib_verify():
        for d in dicts:
            SslibEnvelope.from_dict(json.loads(json.dumps(d))).verify([sslib_key], 1)

    def ours_verify():
        for d in dicts:
            verify_envelope(validate(Envelope, d), trust)

    table(
        "sign 2,000 receipts (statement -> envelope)",
        [
            ("receiptcore sign_statement", best_of(lambda: [sign_statement(s, key) for s in statements])),
            ("securesystemslib Envelope.sign", best_of(sslib_sign)),
        ],
        None,
        "securesystemslib Envelope.sign",
    )
    table(
        "verify 2,000 receipts (dict -> checked statement)",
        [
            ("receiptcore verify_envelope (+ schema)", best_of(ours_verify)),
            ("securesystemslib Envelope.verify (no schema)", best_of(sslib_verify)),
        ],
        None,
        "securesystemslib Envelope.verify (no schema)",
    )


if __name__ == "__main__":
    main()
