"""`pipeline embed` -> `pipeline index` -> query -> lineage, on file artifacts, with a tiny model.

Until folder (tree) artifacts (#12) exist, a model folder cannot be published, so here the
model's resolution alone is replaced: the tiny model's weights file is published as a file
artifact standing in for the folder, and the folder is used from disk. Everything else is the
real pipeline: manifests, chunking, encoding, writers, build manifests, publishing, verifying,
lineage. test_full_flow.py runs the same with the real folder artifacts once they exist."""

from __future__ import annotations

import json

import pytest

from pipelines import embed as embed_module
from pipelines import query as query_module
from pipelines.embed import embed
from pipelines.formats import read_chunk_table, read_embeddings
from pipelines.refs import ArtifactRef
from receiptcore.cli import main
from receiptcore.commit import Commit
from receiptcore.commitments import artifact_commit, build_manifest
from receiptcore.lineage import lineage
from receiptcore.publish import publish
from receiptcore.store import LocalStore


@pytest.fixture
def stand_in_model(home, tiny_model, monkeypatch):
    weights = tiny_model / "model.safetensors"
    published = publish(weights, build=build_manifest(
        dataset_manifest_commits=[], code_revision="test",
        outputs={"tiny-model": artifact_commit(weights)}), artifact_id="tiny-model", home=home)
    ref = ArtifactRef("tiny-model", Commit.parse(published.artifact_commit))

    def resolve(model, *, home=None):
        return ref, tiny_model

    monkeypatch.setattr(embed_module, "resolve_model", resolve)
    monkeypatch.setattr(query_module, "resolve_model", resolve)
    return ref


def test_embed_twice_gives_the_same_commits_and_streams_the_right_rows(corpus, home, stand_in_model):
    first = embed(corpus, artifact_id="docs", chunk_size=24, chunk_overlap=4, source="test corpus",
                  progress=False)
    second = embed(corpus, artifact_id="docs", chunk_size=24, chunk_overlap=4, source="test corpus",
                   progress=False)
    assert first.to_json() == second.to_json()
    data = first.to_json()
    assert data["skipped"] == ["logo.png"] and data["dimension"] == 32
    assert data["inputs"]["model"]["artifact_id"] == "tiny-model"
    store = LocalStore(home / "objects")
    rows = read_chunk_table(store.path(first.chunk_table().commit))
    vectors = read_embeddings(store.path(first.embeddings().commit))
    assert len(rows) == len(vectors) == data["chunks"]
    documents = {r.path for r in rows}
    assert documents == {"guide/ledger.md", "guide/store.txt", "notes.jsonl#L1", "notes.jsonl#L3"}
    text = (corpus / "guide" / "store.txt").read_bytes()
    for row in rows:
        if row.path == "guide/store.txt":
            assert text[row.start : row.end].decode("utf-8") == row.text


def test_the_cli_summary_names_every_commit(corpus, home, stand_in_model, capsys):
    assert main(["pipeline", "embed", str(corpus), "--id", "docs", "--chunk-size", "24",
                 "--json", "--no-progress"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [a["artifact_id"] for a in data["artifacts"]] == ["docs.chunks", "docs.embeddings"]
    assert data["dataset_manifest_commits"][0].startswith("sha256:")
    assert main(["pipeline", "embed", str(corpus), "--id", "docs", "--chunk-size", "24",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("embedded ") and "skipped 1: logo.png" in out
    assert "published docs.embeddings@sha256:" in out and "input     model: tiny-model@" in out


def test_index_query_and_lineage_down_to_the_corpus(corpus, home, stand_in_model, capsys):
    embedded = embed(corpus, artifact_id="docs", chunk_size=24, chunk_overlap=4, progress=False)
    assert main(["pipeline", "index", "--embeddings", str(embedded.embeddings()), "--id", "docs",
                 "--no-progress"]) == 0
    capsys.readouterr()
    for index in ("docs.faiss", "docs.usearch"):
        answer = query_module.query(ArtifactRef(index), "signed checkpoints", top_k=3)
        assert [h["rank"] for h in answer.hits] == [1, 2, 3]
        assert answer.hits[0]["score"] >= answer.hits[-1]["score"]
        assert set(answer.provenance) == {"chunks", "embeddings", "model"}
    assert main(["pipeline", "query", "docs.faiss", "signed checkpoints", "--top-k", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("query: 'signed checkpoints'\nindex: docs.faiss@sha256:")
    assert "1. " in out and "2. " in out and "  dataset: sha256:" in out
    tree = lineage("docs.faiss", home=home)
    rendered = tree.render()
    assert "embeddings: docs.embeddings" in rendered and "model: tiny-model" in rendered
    assert rendered.count("dataset sha256:") >= 2  # the index's own, and its inputs'


def test_a_changed_corpus_is_a_new_version_of_the_same_ids(corpus, home, stand_in_model):
    first = embed(corpus, artifact_id="docs", chunk_size=24, progress=False)
    (corpus / "guide" / "ledger.md").write_text("# The ledger\n\nRewritten. " * 30)
    second = embed(corpus, artifact_id="docs", chunk_size=24, progress=False, new_version=True)
    assert second.embeddings().artifact_id == first.embeddings().artifact_id
    assert second.embeddings().commit != first.embeddings().commit
    assert second.to_json()["dataset_manifest_commits"] != first.to_json()["dataset_manifest_commits"]


def test_ctrl_c_while_embedding_publishes_nothing(corpus, home, stand_in_model, monkeypatch):
    from receiptcore.ledger.sqlite import SqliteLedger

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(embed_module, "encode_into", interrupted)
    assert main(["pipeline", "embed", str(corpus), "--id", "docs", "--no-progress"]) == 130
    with SqliteLedger(home) as ledger:
        assert ledger.size() == 1  # the model's own receipt, from before
