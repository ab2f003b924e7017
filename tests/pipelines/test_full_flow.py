"""The whole models side on folder artifacts (the model and the adapter are folders): embed twice
-> the same commits, the packaged MiniLM published once; index; query with provenance; LoRA twice
-> the same adapter; lineage of every output down to the dataset manifest."""

from __future__ import annotations

import json

from pipelines.embed import embed
from pipelines.index import build_index
from pipelines.lora import LoraParams, train_lora
from pipelines.model import MODEL_ID
from pipelines.query import query
from pipelines.refs import ArtifactRef
from receiptcore.fetch import fetch
from receiptcore.ledger.sqlite import SqliteLedger
from receiptcore.lineage import lineage
from receiptcore.verify import verify


def test_embed_twice_gives_the_same_build_and_artifact_commits(corpus, home):
    first = embed(corpus, artifact_id="docs", chunk_size=48, chunk_overlap=8, progress=False)
    second = embed(corpus, artifact_id="docs", chunk_size=48, chunk_overlap=8, progress=False)
    assert first.to_json() == second.to_json()
    data = first.to_json()
    assert data["skipped"] == ["logo.png"] and data["dimension"] == 384
    assert data["inputs"]["model"]["artifact_id"] == MODEL_ID
    assert [a["artifact_id"] for a in data["artifacts"]] == ["docs.chunks", "docs.embeddings"]
    model = verify(artifact_id=MODEL_ID, home=home)  # the stored tree, every file re-hashed
    assert model.kind == "tree" and model.files >= 5
    assert str(model.artifact_commit) == data["inputs"]["model"]["artifact_commit"]
    with SqliteLedger(home) as ledger:  # verified in place the second time, not published again
        assert len(ledger.find_all(artifact_id=MODEL_ID)) == 1


def test_index_query_and_lineage_of_the_real_model(corpus, home):
    embedded = embed(corpus, artifact_id="docs", chunk_size=48, chunk_overlap=8, progress=False)
    build_index(embedded.embeddings(), artifact_id="docs", progress=False)
    answer = query(ArtifactRef("docs.faiss"), "Which key signs the checkpoints?", top_k=2)
    assert answer.hits[0]["doc_id"] == "notes.jsonl#L3#0"
    assert set(answer.provenance) == {"chunks", "embeddings", "model"}
    tree = lineage("docs.usearch", home=home)
    text = tree.render()
    assert f"model: {MODEL_ID}" in text and "dataset sha256:" in text


def test_lora_twice_gives_the_same_adapter(corpus, home, tiny_model, tmp_path):
    from receiptcore.publish import publish

    embedded = embed(corpus, artifact_id="docs", chunk_size=24, chunk_overlap=4, progress=False)
    tiny = publish(tiny_model, artifact_id="tiny-bert", home=home)
    base = ArtifactRef.parse(f"tiny-bert@{tiny.artifact_commit}")
    params = LoraParams(steps=3, batch_size=4)
    first = train_lora(base, embedded.chunk_table(), artifact_id="docs-lora", params=params,
                       progress=False)
    second = train_lora(base, embedded.chunk_table(), artifact_id="docs-lora", params=params,
                        progress=False)
    assert first.to_json() == second.to_json()
    assert [(p.artifact_id, p.kind) for p in first.publications] == [("docs-lora", "tree")]
    adapter = fetch("docs-lora", out=tmp_path / "adapter", home=home)
    assert sorted(p.name for p in adapter.iterdir()) == ["adapter_config.json",
                                                         "adapter_model.safetensors"]
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == str(base)
    tree = lineage("docs-lora", home=home)
    assert {c.role for c in tree.children if c.kind == "artifact"} == {"base_model", "chunks"}
