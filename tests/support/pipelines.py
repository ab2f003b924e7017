"""Embeddings published as `pipeline embed` publishes them, from random vectors, for the tests
of the index pipeline and of its exit codes (no model run)."""

from __future__ import annotations

import os

import numpy as np

from pipelines.formats import ChunkRow, EmbeddingsWriter, write_chunk_table
from pipelines.provenance import make_build, publish_outputs
from pipelines.refs import ArtifactRef
from receiptcore.commit import Commit
from receiptcore.commitments import commit_of, dataset_manifest
from receiptcore.publish import publish, store_manifest


def published_embeddings(tmp_path, home, *, rows=200, dimension=24, recorded=None):
    """What `pipeline embed` publishes, made here from random vectors: a dataset manifest,
    <id>.embeddings and <id>.chunks under one build manifest naming a model input. The model is
    a small folder published as a tree artifact, as a model is: the index pipeline verifies it
    but reads none of its bytes."""
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    (corpus / "a.md").write_text("text\n")
    manifest = dataset_manifest(corpus, name="docs", source="t", license="CC0-1.0", owner="o")
    store_manifest(manifest, home=home)
    folder = tmp_path / "model"
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_text('{"hidden_size": 24}')
    (folder / "model.safetensors").write_bytes(os.urandom(1000))
    model = publish(folder, artifact_id="model", home=home)
    vectors = np.random.default_rng(0).standard_normal((rows, dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    with EmbeddingsWriter(out / "e.safetensors", rows, dimension) as writer:
        writer.write(range(rows), vectors)
    write_chunk_table(out / "c.jsonl", [ChunkRow(i, "a.md", i, 0, 4, "0" * 64, f"chunk {i}")
                                        for i in range(rows)])
    paths = {"docs.embeddings": out / "e.safetensors", "docs.chunks": out / "c.jsonl"}
    build = make_build(paths, dataset_commits=[commit_of(manifest)],
                       parameters={"dimension": recorded or dimension, "normalize": True},
                       inputs={"model": ArtifactRef("model", Commit.parse(model.artifact_commit))},
                       seeds={}, libraries=["numpy"])
    published = publish_outputs(build, paths, home=home)
    [embeddings] = [p for p in published if p.artifact_id == "docs.embeddings"]
    return ArtifactRef("docs.embeddings", Commit.parse(embeddings.artifact_commit)), vectors
