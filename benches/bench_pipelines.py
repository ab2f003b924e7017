"""The pipelines against the libraries they wrap, side by side in one run.

  1. index: 100,000 x 384 float32 vectors: `pipeline index` (verify the embeddings, faiss HNSW +
     usearch HNSW, one thread each, build manifest, publish both) vs faiss and usearch building
     the same indexes alone (target: <= 1.10x their sum); recall@1 of each;
  2. embed: 10,000 chunks: `pipeline embed` (manifest, chunking, encode, write, publish) vs
     sentence-transformers' own `encode` of the same chunks, batch 32 (target <= 1.10x); the
     vectors compared; peak RSS growth of `pipeline embed` over 200,000 chunks with a tiny model
     built from a config (target <= 512 MiB: the vectors are streamed to disk);
  3. lora: `pipeline lora` vs a plain peft training loop over the same pairs and steps
     (target: overhead <= 5%).

Parts 2 and 3 publish model folders as tree artifacts.

    python benches/bench_pipelines.py [--vectors 100000] [--chunks 10000] [--rss-chunks 200000]
        [--skip index,embed,lora]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import table


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def bench_index(vectors: int, work: Path) -> None:
    import faiss
    from usearch.index import Index

    from pipelines.formats import ChunkRow, EmbeddingsWriter, write_chunk_table
    from pipelines.index import IndexParams, build_index
    from pipelines.provenance import make_build, publish_outputs
    from pipelines.refs import ArtifactRef
    from receiptcore.commit import Commit
    from receiptcore.commitments import artifact_commit, build_manifest
    from receiptcore.publish import publish

    dim = 384
    data = np.random.default_rng(0).standard_normal((vectors, dim)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    home = work / "home"
    stand_in = work / "model.bin"
    stand_in.write_bytes(os.urandom(1024))
    model = publish(stand_in, build=build_manifest(dataset_manifest_commits=[], code_revision="b",
                    outputs={"model": artifact_commit(stand_in)}), artifact_id="model", home=home)
    with EmbeddingsWriter(work / "e.safetensors", vectors, dim) as writer:
        writer.write(range(vectors), data)
    write_chunk_table(work / "c.jsonl", (ChunkRow(i, "a", i, 0, 1, "0" * 64, "t")
                                         for i in range(vectors)))
    outputs = {"bench.embeddings": work / "e.safetensors", "bench.chunks": work / "c.jsonl"}
    build = make_build(outputs, dataset_commits=[], parameters={"dimension": dim},
                       inputs={"model": ArtifactRef("model", Commit.parse(model.artifact_commit))},
                       seeds={}, libraries=["numpy"])
    [_, emb] = publish_outputs(build, outputs, home=home)
    params = IndexParams(flat_below=10_000, threads=1)

    def faiss_alone():
        index = faiss.IndexHNSWFlat(dim, params.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params.ef_construction
        index.hnsw.efSearch = params.ef_search
        faiss.omp_set_num_threads(1)
        index.add(data)
        faiss.write_index(index, str(work / "alone.faiss"))
        return index

    def usearch_alone():
        index = Index(ndim=dim, metric="ip", dtype="f32", connectivity=params.hnsw_m,
                      expansion_add=params.ef_construction, expansion_search=params.ef_search)
        index.add(np.arange(vectors, dtype=np.uint64), data, threads=1)
        index.save(str(work / "alone.usearch"))
        return index

    t_faiss, f_index = timed(faiss_alone)
    t_usearch, u_index = timed(usearch_alone)
    ref = ArtifactRef("bench.embeddings", Commit.parse(emb.artifact_commit))
    t_ours, result = timed(lambda: build_index(ref, artifact_id="bench", params=params, home=home,
                                               progress=False))
    probe = data[:1000]
    f_recall = (f_index.search(probe, 1)[1][:, 0] == np.arange(1000)).mean()
    u_recall = (u_index.search(probe, 1).keys[:, 0] == np.arange(1000)).mean()
    ours = {p.artifact_id: p for p in result.publications}
    same = (artifact_commit(work / "alone.faiss") == Commit.parse(ours["bench.faiss"].artifact_commit)
            and artifact_commit(work / "alone.usearch")
            == Commit.parse(ours["bench.usearch"].artifact_commit))
    table(f"index: {vectors:,} x {dim} float32, HNSW, one thread",
          [("faiss + usearch alone", t_faiss + t_usearch), ("faiss alone", t_faiss),
           ("usearch alone", t_usearch), ("pipeline index", t_ours)], None,
          "faiss + usearch alone")
    print(f"\npipeline / (faiss + usearch) = {t_ours / (t_faiss + t_usearch):.3f}x (target <= 1.10x); "
          f"recall@1 faiss {f_recall:.3f}, usearch {u_recall:.3f}; "
          f"pipeline's files identical to the libraries' own: {same}")


def _corpus(root: Path, chunks: int, words_per_chunk: int = 100) -> None:
    rng = np.random.default_rng(0)
    vocab = ["ledger", "receipt", "commit", "artifact", "model", "index", "vector", "chunk",
             "corpus", "signature", "proof", "checkpoint", "store", "tree", "manifest", "build"]
    root.mkdir(parents=True)
    per_file = 200
    for f in range(chunks // per_file):
        words = rng.choice(vocab, size=per_file * words_per_chunk)
        (root / f"doc{f:05d}.txt").write_text(" ".join(words) + "\n")


def bench_embed(chunks: int, rss_chunks: int, work: Path) -> None:
    from pipelines.chunking import chunk_documents, load_tokenizer
    from pipelines.corpus import Document
    from pipelines.embed import embed
    from pipelines.formats import read_embeddings
    from pipelines.model import load_model, packaged_model_dir
    from receiptcore.store import LocalStore

    corpus = work / "corpus"
    _corpus(corpus, chunks)
    docs = [Document(p.name, p.read_text(), p.read_bytes()) for p in sorted(corpus.iterdir())]
    texts = [c.text for c in chunk_documents(docs, load_tokenizer(packaged_model_dir()), 128, 16)]
    model = load_model(packaged_model_dir())
    t_st, expected = timed(lambda: model.encode(texts, batch_size=32, normalize_embeddings=True,
                                                convert_to_numpy=True))
    home = work / "embed-home"
    t_ours, result = timed(lambda: embed(corpus, artifact_id="bench", home=home, progress=False,
                                         source="bench"))
    stored = LocalStore(home / "objects").path(result.embeddings().commit)
    same = np.array_equal(read_embeddings(stored), expected)
    table(f"embed: {len(texts):,} chunks of 128 tokens, all-MiniLM-L6-v2, batch 32",
          [("sentence-transformers encode", t_st), ("pipeline embed", t_ours)], None,
          "sentence-transformers encode")
    print(f"\npipeline / encode = {t_ours / t_st:.3f}x (target <= 1.10x); same vectors: {same}")
    _embed_rss(rss_chunks, work)


def _embed_rss(chunks: int, work: Path) -> None:
    """Peak RSS growth of `pipeline embed` in its own process, with a tiny model (the point is
    that memory does not grow with the vectors, whatever the model)."""
    code = f"""
import resource, sys
from pathlib import Path
from pipelines.model import make_tiny_model
from receiptcore.publish import publish
from pipelines.refs import ArtifactRef
work = Path({str(work)!r})
tiny = make_tiny_model(work / "tiny")
home = work / "rss-home"
ref = publish(tiny, artifact_id="tiny", home=home)
from pipelines.embed import embed
import gc; gc.collect()
# growth of the peak over what the process holds now (not over its earlier peak, which
# building the tiny model may have set higher than anything embed does)
before = int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize() / 1024
embed(work / "rss-corpus", artifact_id="rss", model=ArtifactRef.parse("tiny@" + ref.artifact_commit),
      home=home, progress=False, source="bench", chunk_size=32, chunk_overlap=0)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) / 1024)
"""
    _corpus(work / "rss-corpus", chunks, words_per_chunk=25)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    growth = float(done.stdout.split()[-1])
    print(f"\nembed peak RSS growth over {chunks:,} chunks (tiny model): {growth:.0f} MiB "
          f"(target <= 512 MiB; the vectors alone: {chunks * 32 * 4 / 2**20:.0f} MiB)")


def bench_lora(work: Path, steps: int = 30) -> None:
    import torch
    from peft import LoraConfig, get_peft_model

    from pipelines.embed import embed
    from pipelines.lora import (
        LoraParams,
        _hf_model_attribute,
        _in_batch_negatives,
        draw_pairs,
        train_lora,
    )
    from pipelines.model import MODEL_ID, load_model, packaged_model_dir
    from pipelines.refs import ArtifactRef

    corpus = work / "lora-corpus"
    _corpus(corpus, 400)
    home = work / "lora-home"
    embedded = embed(corpus, artifact_id="lora", home=home, progress=False, source="bench")
    params = LoraParams(steps=steps, batch_size=8)

    def peft_alone():
        torch.manual_seed(0)
        from pipelines.formats import read_chunk_table
        from receiptcore.store import LocalStore

        rows = read_chunk_table(LocalStore(home / "objects").path(embedded.chunk_table().commit))
        pairs = draw_pairs(rows, 0)
        model = load_model(packaged_model_dir())
        attribute = _hf_model_attribute(model[0])
        peft_model = get_peft_model(getattr(model[0], attribute), LoraConfig(
            r=8, lora_alpha=16, lora_dropout=0.0, target_modules=["query", "value"]))
        setattr(model[0], attribute, peft_model)
        model.train()
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
        for step in range(steps):
            first = step * 8 % len(pairs)
            loss = _in_batch_negatives(model, [pairs[(first + k) % len(pairs)] for k in range(8)], 20.0)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        peft_model.save_pretrained(work / "alone-adapter")

    t_alone, _ = timed(peft_alone)
    t_ours, _ = timed(lambda: train_lora(ArtifactRef(MODEL_ID), embedded.chunk_table(),
                                         artifact_id="lora-adapter", params=params, home=home,
                                         progress=False))
    table(f"lora: {steps} steps of 8 pairs, all-MiniLM-L6-v2, CPU",
          [("peft loop alone", t_alone), ("pipeline lora", t_ours)], None, "peft loop alone")
    print(f"\npipeline overhead over peft's loop: {100 * (t_ours / t_alone - 1):.1f}% (target <= 5%)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--rss-chunks", type=int, default=200_000)
    parser.add_argument("--skip", default="", help="comma-separated parts not to run: index, embed, lora")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="bench-pipelines-") as tmp:
        os.environ["RECEIPTCORE_STATE"] = os.path.join(tmp, "state")
        if "index" not in skip:
            bench_index(args.vectors, Path(tmp))
        if "embed" not in skip:
            bench_embed(args.chunks, args.rss_chunks, Path(tmp))
        if "lora" not in skip:
            bench_lora(Path(tmp))


if __name__ == "__main__":
    main()
