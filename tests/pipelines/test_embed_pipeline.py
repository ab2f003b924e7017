"""`pipeline embed` -> `pipeline index` -> query -> lineage, with a tiny model published as a
folder (tree) artifact and given by reference (``--model tiny-model@COMMIT``): verified, fetched
out of the store into the home's model cache, and re-verified file by file there on every later
use. Everything is the real pipeline: manifests, chunking, encoding, writers, build manifests,
publishing, verifying, lineage. test_full_flow.py runs the same with the packaged MiniLM."""

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
from receiptcore.lineage import lineage
from receiptcore.publish import publish
from receiptcore.store import LocalStore


@pytest.fixture
def tiny(home, tiny_model):
    """The tiny model folder, published as the tree artifact ``tiny-model``."""
    published = publish(tiny_model, artifact_id="tiny-model", home=home)
    assert published.kind == "tree" and published.files > 3
    return ArtifactRef("tiny-model", Commit.parse(published.artifact_commit))


def test_embed_twice_gives_the_same_commits_and_streams_the_right_rows(corpus, home, tiny):
    first = embed(corpus, artifact_id="docs", model=tiny, chunk_size=24, chunk_overlap=4,
                  source="test corpus", progress=False)
    second = embed(corpus, artifact_id="docs", model=tiny, chunk_size=24, chunk_overlap=4,
                   source="test corpus", progress=False)
    assert first.to_json() == second.to_json()
    data = first.to_json()
    assert data["skipped"] == ["logo.png"] and data["dimension"] == 32
    assert data["inputs"]["model"] == {"artifact_id": "tiny-model", "artifact_commit": str(tiny.commit)}
    assert (home / "cache" / "models" / tiny.commit.hex / "config.json").is_file()  # fetched once
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


def test_the_cli_summary_names_every_commit(corpus, home, tiny, capsys):
    assert main(["pipeline", "embed", str(corpus), "--id", "docs", "--chunk-size", "24",
                 "--model", str(tiny), "--json", "--no-progress"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [a["artifact_id"] for a in data["artifacts"]] == ["docs.chunks", "docs.embeddings"]
    assert data["dataset_manifest_commits"][0].startswith("sha256:")
    assert main(["pipeline", "embed", str(corpus), "--id", "docs", "--chunk-size", "24",
                 "--model", str(tiny), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("embedded ") and "skipped 1: logo.png" in out
    assert "published docs.embeddings@sha256:" in out and "input     model: tiny-model@" in out


def test_index_query_and_lineage_down_to_the_corpus(corpus, home, tiny, capsys):
    embedded = embed(corpus, artifact_id="docs", model=tiny, chunk_size=24, chunk_overlap=4,
                     progress=False)
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


def test_a_changed_corpus_is_a_new_version_of_the_same_ids(corpus, home, tiny):
    first = embed(corpus, artifact_id="docs", model=tiny, chunk_size=24, progress=False)
    (corpus / "guide" / "ledger.md").write_text("# The ledger\n\nRewritten. " * 30)
    second = embed(corpus, artifact_id="docs", model=tiny, chunk_size=24, progress=False,
                   new_version=True)
    assert second.embeddings().artifact_id == first.embeddings().artifact_id
    assert second.embeddings().commit != first.embeddings().commit
    assert second.to_json()["dataset_manifest_commits"] != first.to_json()["dataset_manifest_commits"]


def test_ctrl_c_while_embedding_publishes_nothing(corpus, home, tiny, monkeypatch):
    from receiptcore.ledger.sqlite import SqliteLedger

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(embed_module, "encode_into", interrupted)
    assert main(["pipeline", "embed", str(corpus), "--id", "docs", "--model", str(tiny),
                 "--no-progress"]) == 130
    with SqliteLedger(home) as ledger:
        assert ledger.size() == 1  # the model's own receipt, from before


def _ledger_size(home) -> int:
    from receiptcore.ledger.sqlite import SqliteLedger

    with SqliteLedger(home) as ledger:
        return ledger.size()


def test_a_changed_file_of_the_cached_model_is_refused_by_name(corpus, home, tiny, capsys):
    embed(corpus, artifact_id="docs", model=tiny, chunk_size=24, progress=False)
    cached = home / "cache" / "models" / tiny.commit.hex / "config.json"
    cached.chmod(0o644)
    cached.write_text(cached.read_text().replace("}", ', "tampered": true}', 1))
    before = _ledger_size(home)
    assert main(["pipeline", "embed", str(corpus), "--id", "other", "--model", str(tiny),
                 "--no-progress"]) == 9
    err = capsys.readouterr().err
    assert err.startswith(f"receiptcore: error: input {tiny}: ") and "1 changed: config.json" in err
    assert err.count("\n") == 1 and _ledger_size(home) == before


def test_a_model_whose_stored_file_changed_is_not_fetched(corpus, home, tiny, tiny_model, capsys):
    import hashlib

    config = hashlib.sha256((tiny_model / "config.json").read_bytes()).hexdigest()
    stored = LocalStore(home / "objects").path(config)
    stored.chmod(0o644)
    stored.write_bytes(stored.read_bytes() + b" ")
    assert main(["pipeline", "embed", str(corpus), "--id", "docs", "--model", str(tiny),
                 "--no-progress"]) == 9
    assert "config.json" in capsys.readouterr().err
    cache = home / "cache" / "models"
    assert not cache.exists() or list(cache.iterdir()) == []  # nothing half-fetched is left
