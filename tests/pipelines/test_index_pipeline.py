"""`pipeline index` end to end on file artifacts: embeddings taken by reference and verified,
both indexes published under one build manifest, twice the same commits, lineage walked, and
every bad input refused with its exit code and nothing published."""

from __future__ import annotations

import json
import os

import numpy as np

from pipelines import index as index_module
from pipelines.formats import ChunkRow, EmbeddingsWriter, write_chunk_table
from pipelines.index import build_index
from pipelines.provenance import make_build, publish_outputs
from pipelines.refs import ArtifactRef
from receiptcore.cli import main
from receiptcore.commit import Commit
from receiptcore.commitments import artifact_commit, build_manifest, commit_of, dataset_manifest
from receiptcore.errors import DigestMismatch, DimensionMismatch, ExitCode
from receiptcore.ledger.sqlite import SqliteLedger
from receiptcore.lineage import lineage
from receiptcore.publish import publish, store_manifest
from receiptcore.store import LocalStore


def _published_embeddings(tmp_path, home, *, rows=200, dimension=24, recorded=None):
    """What `pipeline embed` publishes, made here from random vectors: a dataset manifest,
    <id>.embeddings and <id>.chunks under one build manifest naming a model input. The model is
    a stand-in file artifact: the index pipeline reads only its reference."""
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    (corpus / "a.md").write_text("text\n")
    manifest = dataset_manifest(corpus, name="docs", source="t", license="CC0-1.0", owner="o")
    store_manifest(manifest, home=home)
    weights = tmp_path / "weights.bin"
    weights.write_bytes(os.urandom(1000))
    model = publish(weights, build=build_manifest(dataset_manifest_commits=[], code_revision="r",
                                                  outputs={"model": artifact_commit(weights)}),
                    artifact_id="model", home=home)
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


def _ledger_size(home) -> int:
    with SqliteLedger(home) as ledger:
        return ledger.size()


def test_two_runs_give_the_same_build_and_artifact_commits(tmp_path, home):
    ref, _ = _published_embeddings(tmp_path, home)
    first = build_index(ref, artifact_id="docs", progress=False)
    second = build_index(ref, artifact_id="docs", progress=False)
    assert first.to_json() == second.to_json()
    data = first.to_json()
    assert [a["artifact_id"] for a in data["artifacts"]] == ["docs.faiss", "docs.usearch"]
    assert set(data["inputs"]) == {"chunks", "embeddings", "model"}
    assert first.build.inputs.parameters["faiss"]["type"] == "flat"


def test_lineage_of_the_index_reaches_the_dataset_through_every_input(tmp_path, home):
    ref, _ = _published_embeddings(tmp_path, home)
    build_index(ref, artifact_id="docs", progress=False)
    tree = lineage("docs.faiss", home=home)
    roles = {c.role: c for c in tree.children if c.kind == "artifact"}
    assert set(roles) == {"chunks", "embeddings", "model"}
    assert [c.kind for c in roles["embeddings"].children] == ["dataset", "artifact"]


def test_the_cli_prints_every_commit_as_json(tmp_path, home, capsys):
    ref, _ = _published_embeddings(tmp_path, home)
    code = main(["pipeline", "index", "--embeddings", str(ref), "--id", "docs", "--json",
                 "--no-progress"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["vectors"] == 200 and data["dimension"] == 24
    assert all(a["artifact_commit"].startswith("sha256:") and a["ledger_index"] >= 0
               for a in data["artifacts"])
    assert data["build_manifest_commit"].startswith("sha256:")


def test_a_dimension_other_than_the_models_is_refused(tmp_path, home, capsys):
    ref, _ = _published_embeddings(tmp_path, home, recorded=16)
    before = _ledger_size(home)
    assert main(["pipeline", "index", "--embeddings", str(ref), "--id", "docs"]) == 41
    err = capsys.readouterr().err
    assert err.startswith("receiptcore: error: docs.embeddings@sha256:") and "dimension 24" in err
    assert err.count("\n") == 1 and _ledger_size(home) == before
    assert DimensionMismatch.exit_code == ExitCode.DIMENSION_MISMATCH


def test_tampered_embeddings_are_not_indexed(tmp_path, home, capsys):
    ref, _ = _published_embeddings(tmp_path, home)
    stored = LocalStore(home / "objects").path(ref.commit)
    os.chmod(stored, 0o644)
    with open(stored, "r+b") as f:
        f.seek(200)
        f.write(b"\xff")
    before = _ledger_size(home)
    assert main(["pipeline", "index", "--embeddings", str(ref), "--id", "docs"]) == 9
    assert "input docs.embeddings@" in capsys.readouterr().err
    assert _ledger_size(home) == before


def test_an_unknown_commit_is_refused(tmp_path, home, capsys):
    _published_embeddings(tmp_path, home)
    code = main(["pipeline", "index", "--embeddings", "docs.embeddings@" + "ab" * 32, "--id", "x"])
    assert code == DigestMismatch.exit_code
    assert "expects sha256:abab" in capsys.readouterr().err


def test_ctrl_c_while_building_publishes_nothing(tmp_path, home, capsys, monkeypatch):
    ref, _ = _published_embeddings(tmp_path, home)
    before = _ledger_size(home)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(index_module, "write_usearch", interrupted)
    assert main(["pipeline", "index", "--embeddings", str(ref), "--id", "docs"]) == 130
    assert _ledger_size(home) == before
