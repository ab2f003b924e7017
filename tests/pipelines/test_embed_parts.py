"""The embed pipeline's writers: the embeddings file is safetensors (read back by the
safetensors package itself), holds exactly what sentence-transformers' own `encode` returns for
the same chunks and batch size, and is the same bytes on a second run; the chunk table too."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from safetensors.numpy import load_file

from pipelines.chunking import chunk_documents, load_tokenizer
from pipelines.embed import encode_into
from pipelines.formats import (
    EmbeddingsWriter,
    chunk_rows,
    read_chunk_table,
    read_embeddings,
    write_chunk_table,
)
from pipelines.model import load_model


def test_streamed_rows_are_a_safetensors_file_any_reader_loads(tmp_path):
    rows = np.random.default_rng(0).standard_normal((7, 5)).astype(np.float32)
    path = tmp_path / "e.safetensors"
    with EmbeddingsWriter(path, 7, 5) as writer:
        writer.write([6, 0, 3], rows[[6, 0, 3]])  # any order, like the length-sorted batches
        writer.write([1, 2, 4, 5], rows[[1, 2, 4, 5]])
    assert np.array_equal(load_file(str(path))["embeddings"], rows)
    assert np.array_equal(read_embeddings(path), rows)


def test_a_writer_missing_rows_fails_rather_than_leave_zeros(tmp_path):
    with pytest.raises(RuntimeError, match="1 of 2 rows written"), \
            EmbeddingsWriter(tmp_path / "e.safetensors", 2, 3) as writer:
        writer.write([0], np.ones((1, 3), np.float32))


def test_encode_into_gives_sentence_transformers_own_vectors_twice(tmp_path, corpus, tiny_model):
    from pipelines.corpus import Document

    texts = [p.read_text() for p in sorted(corpus.rglob("*.md")) + sorted(corpus.rglob("*.txt"))]
    docs = [Document(f"d{i}", t, t.encode()) for i, t in enumerate(texts)]
    chunks = [c.text for c in chunk_documents(docs, load_tokenizer(tiny_model), 24, 4)]
    model = load_model(tiny_model)
    digests = []
    for run in range(2):
        path = tmp_path / f"run{run}.safetensors"
        with EmbeddingsWriter(path, len(chunks), 32) as writer:
            encode_into(model, chunks, writer, 4, True, lambda n: None)
        digests.append(hashlib.sha256(path.read_bytes()).hexdigest())
    expected = model.encode(chunks, batch_size=4, normalize_embeddings=True, convert_to_numpy=True)
    assert np.array_equal(read_embeddings(tmp_path / "run0.safetensors"), expected)
    assert digests[0] == digests[1]


def test_the_chunk_table_round_trips_with_hashes_of_the_text(tmp_path, corpus):
    from pipelines.corpus import Document
    from pipelines.model import packaged_model_dir

    text = (corpus / "guide" / "store.txt").read_text()
    chunks = chunk_documents([Document("guide/store.txt", text, text.encode())],
                             load_tokenizer(packaged_model_dir()), 16, 2)
    rows = list(chunk_rows(chunks))
    write_chunk_table(tmp_path / "c.jsonl", rows)
    back = read_chunk_table(tmp_path / "c.jsonl")
    assert back == rows
    assert all(r.sha256 == hashlib.sha256(r.text.encode()).hexdigest() for r in back)
    line = (tmp_path / "c.jsonl").read_text(encoding="utf-8").splitlines()[0]
    assert line.startswith('{"chunk":0,"end":') and "日本語" in (tmp_path / "c.jsonl").read_text()
