"""``receiptcore pipeline lora``: a verified base model + a verified chunk table -> a LoRA adapter.

Pairs are drawn from the chunk table: each chunk with the next chunk of the same document (text
that belongs together), shuffled by a seeded generator. The base model (a sentence-transformers
folder, fetched from the store and verified) gets PEFT LoRA adapters on its attention's query and
value projections and is trained for ``steps`` steps with in-batch negatives (the other pairs of
the batch; cross-entropy over scaled cosine similarities), AdamW, on the CPU, seeded. The adapter
folder (``adapter_model.safetensors`` + ``adapter_config.json``, whose base model is recorded as
the reference ``ID@COMMIT``, not a local path) is published as a tree artifact with its build
manifest; its inputs are the base model and the chunk table.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from dataclasses import asdict, dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from pipelines.formats import read_chunk_table
from pipelines.model import load_model, resolve_model
from pipelines.provenance import fetch_file, make_build, publish_outputs, summary, verify_input
from pipelines.refs import ArtifactRef
from receiptcore.contracts import BuildManifest, BuildOutput, validate
from receiptcore.errors import CorpusError
from receiptcore.publish import Publication
from receiptcore.util.progress import count_progress

LIBRARIES = ["receiptcore", "peft", "torch", "transformers", "sentence-transformers",
             "safetensors"]


@dataclass(frozen=True)
class LoraParams:
    steps: int = 20
    batch_size: int = 8
    learning_rate: float = 1e-4
    rank: int = 8
    alpha: int = 16
    scale: float = 20.0
    max_seq_length: int = 128
    seed: int = 0

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "target_modules": ["query", "value"], "loss": "in-batch negatives",
                "optimizer": "AdamW", "pairs": "consecutive chunks of one document"}


@dataclass
class LoraResult:
    build: BuildManifest
    publications: list[Publication]
    pairs: int
    final_loss: float

    def to_json(self) -> dict[str, Any]:
        return summary(self.build, self.publications, pairs=self.pairs,
                       final_loss=self.final_loss)


def train_lora(
    base: ArtifactRef,
    data: ArtifactRef,
    *,
    artifact_id: str,
    params: LoraParams = LoraParams(),
    home=None,
    key=None,
    issuer: str | None = None,
    new_version: bool = False,
    progress: bool | None = None,
) -> LoraResult:
    """Train and publish the adapter ``artifact_id`` (a folder artifact)."""
    validate(BuildOutput, {"artifact_id": artifact_id, "artifact_commit": "0" * 64}, "--id")
    if params.steps < 1 or params.batch_size < 2:
        raise ValueError("lora needs at least 1 step and a batch of at least 2 pairs")
    chunks = verify_input(data, home=home)
    base_ref, folder = resolve_model(base, home=home)
    work = Path(tempfile.mkdtemp(prefix="receiptcore-lora-"))
    try:
        rows = read_chunk_table(fetch_file(chunks, work / "chunks.jsonl", home))
        pairs = draw_pairs(rows, params.seed)
        adapter = work / "adapter"
        with count_progress(params.steps, "training", "steps", progress) as advance:
            loss = train_adapter(folder, pairs, params, adapter, str(base_ref), advance)
        build = make_build(
            {artifact_id: adapter},
            dataset_commits=chunks.verdict.dataset_manifest_commits,
            parameters={**params.to_json(), "pair_count": len(pairs)},
            inputs={"base_model": base_ref, "chunks": chunks.ref},
            seeds={"python": params.seed, "torch": params.seed},
            libraries=LIBRARIES,
        )
        publications = publish_outputs(build, {artifact_id: adapter}, home=home, key=key,
                                       issuer=issuer, new_version=new_version)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return LoraResult(build, publications, len(pairs), loss)


def draw_pairs(rows, seed: int) -> list[tuple[str, str]]:
    """Consecutive chunks of one document, in a seeded order."""
    pairs = [(a.text, b.text) for a, b in pairwise(rows)
             if a.path == b.path and b.chunk == a.chunk + 1]
    if len(pairs) < 2:
        raise CorpusError(f"the chunk table gives {len(pairs)} pair(s) of consecutive chunks; "
                          "LoRA training needs at least 2 (a corpus with longer documents)")
    random.Random(seed).shuffle(pairs)
    return pairs


def train_adapter(model_dir, pairs, params: LoraParams, out: Path, base_name: str,
                  advance=lambda n: None) -> float:
    """The training loop: PEFT LoRA on the model's transformer, in-batch negatives. Saves the
    adapter folder to ``out``; returns the last step's loss."""
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(params.seed)
    random.seed(params.seed)
    model = load_model(model_dir)
    model.max_seq_length = params.max_seq_length
    transformer, attribute = model[0], _hf_model_attribute(model[0])
    config = LoraConfig(r=params.rank, lora_alpha=params.alpha, lora_dropout=0.0,
                        target_modules=["query", "value"])
    peft_model = get_peft_model(getattr(transformer, attribute), config)
    setattr(transformer, attribute, peft_model)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=params.learning_rate)
    loss_value = float("nan")
    for step in range(params.steps):
        first = (step * params.batch_size) % len(pairs)
        batch = [pairs[(first + k) % len(pairs)] for k in range(params.batch_size)]
        loss = _in_batch_negatives(model, batch, params.scale)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss_value = float(loss.detach())
        advance(1)
    peft_model.peft_config["default"].base_model_name_or_path = base_name
    peft_model.save_pretrained(os.fspath(out))
    (out / "README.md").unlink(missing_ok=True)  # a generated model card; not the adapter
    return loss_value


def _hf_model_attribute(transformer) -> str:
    """Where a sentence-transformers Transformer module keeps its Hugging Face model:
    ``model`` from sentence-transformers 6 on (``auto_model`` is then a read-only alias)."""
    alias = getattr(type(transformer), "auto_model", None)
    return "model" if isinstance(alias, property) else "auto_model"


def _in_batch_negatives(model, batch, scale: float):
    import torch
    import torch.nn.functional as F

    def embed(texts):
        features = (model.preprocess if hasattr(model, "preprocess") else model.tokenize)(texts)
        return model(features)["sentence_embedding"]

    anchors = F.normalize(embed([a for a, _ in batch]), dim=-1)
    positives = F.normalize(embed([b for _, b in batch]), dim=-1)
    scores = anchors @ positives.T * scale
    return F.cross_entropy(scores, torch.arange(len(batch)))
