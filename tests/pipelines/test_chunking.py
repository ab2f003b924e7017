"""Chunks are windows of the model's own tokens; their byte offsets point at their text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.chunking import chunk_documents, load_tokenizer
from pipelines.corpus import Document
from pipelines.model import packaged_model_dir


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(packaged_model_dir())


def _doc(text: str, name: str = "doc.md") -> Document:
    return Document(name, text, text.encode("utf-8"))


@settings(max_examples=60, deadline=None)
@given(text=st.text(min_size=0, max_size=400), size=st.integers(1, 40), data=st.data())
def test_byte_offsets_point_at_the_chunk_text(tokenizer, text, size, data):
    overlap = data.draw(st.integers(0, size - 1))
    doc = _doc(text)
    for chunk in chunk_documents([doc], tokenizer, size, overlap):
        assert doc.data[chunk.start : chunk.end].decode("utf-8") == chunk.text
        assert 0 <= chunk.start < chunk.end <= len(doc.data)


def test_windows_have_the_size_and_overlap_asked_for(tokenizer):
    doc = _doc(" ".join(f"word{i}" for i in range(300)))
    chunks = list(chunk_documents([doc], tokenizer, 50, 10))
    offsets = tokenizer.encode(doc.text, add_special_tokens=False).offsets
    windows = [offsets[first : first + 50] for first in range(0, len(offsets) - 10, 40)]
    assert [(c.start, c.end) for c in chunks] == [(w[0][0], w[-1][1]) for w in windows]
    assert [c.number for c in chunks] == list(range(len(chunks)))
    assert chunks[-1].end == len(doc.data)  # every token is in a chunk
    assert chunks[1].start < chunks[0].end  # neighbours overlap


def test_the_same_text_gives_the_same_chunks(tokenizer):
    docs = [_doc("Grüße aus Köln. " * 100, "a.md"), _doc("short", "b.md"), _doc("", "c.md")]
    first = list(chunk_documents(docs, tokenizer, 32, 8))
    assert first == list(chunk_documents(docs, tokenizer, 32, 8))
    assert {c.document for c in first} == {"a.md", "b.md"}  # an empty document has no chunk


@pytest.mark.parametrize(("size", "overlap"), [(0, 0), (10, 10), (10, -1)])
def test_an_impossible_window_is_refused(tokenizer, size, overlap):
    with pytest.raises(ValueError, match="chunk"):
        list(chunk_documents([_doc("text")], tokenizer, size, overlap))
