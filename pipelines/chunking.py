"""Deterministic chunks: windows of the model's own tokens, with byte offsets into the document.

A document is tokenized once, without special tokens, by the model folder's ``tokenizer.json``
(the fast tokenizer the model itself uses), which gives each token's character span. A chunk is
``size`` consecutive tokens; the next starts ``size - overlap`` tokens later; the last may be
shorter. Its text is the document's text from the first token's start to the last token's end,
so chunk boundaries fall between tokens, never inside a character. Offsets are recorded in bytes
of the document's UTF-8 (what a reader seeking in the file needs), and each chunk's sha256 is of
its text's UTF-8. Same tokenizer file, same text, same size and overlap: same chunks, anywhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from pipelines.corpus import Document


@dataclass(frozen=True)
class Chunk:
    document: str
    number: int
    start: int
    end: int
    text: str


def load_tokenizer(model_dir: str | os.PathLike[str]):
    """The model's fast tokenizer (``tokenizers.Tokenizer``), with no truncation or padding."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def check_window(size: int, overlap: int) -> None:
    if size < 1:
        raise ValueError(f"chunk size must be at least 1 token, not {size}")
    if not 0 <= overlap < size:
        raise ValueError(f"chunk overlap must be at least 0 and below the size ({size}), not {overlap}")


def chunk_documents(
    documents: list[Document], tokenizer, size: int, overlap: int
) -> Iterator[Chunk]:
    """Every chunk of every document, in document order then chunk order."""
    check_window(size, overlap)
    texts = [d.text for d in documents]
    # The tokenizer's batch call runs in Rust on every core; a batch bounds its memory.
    for first in range(0, len(texts), 256):
        batch = texts[first : first + 256]
        encodings = tokenizer.encode_batch(batch, add_special_tokens=False)
        for document, encoding in zip(documents[first : first + 256], encodings):
            yield from _chunks_of(document, encoding.offsets, size, overlap)


def _chunks_of(document: Document, offsets: list[tuple[int, int]], size: int,
               overlap: int) -> Iterator[Chunk]:
    text = document.text
    byte_at = _byte_offsets(text, document.data)
    step = size - overlap
    for number, first in enumerate(range(0, max(len(offsets) - overlap, 1), step)):
        window = offsets[first : first + size]
        if not window:
            return
        start, end = window[0][0], window[-1][1]
        yield Chunk(document.name, number, byte_at(start), byte_at(end), text[start:end])


def _byte_offsets(text: str, data: bytes):
    """Character offset -> byte offset in ``data`` (the text's UTF-8), without a scan per call."""
    if len(data) == len(text):  # ASCII: the same
        return lambda i: i
    import numpy as np

    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    widths = 1 + (points >= 0x80) + (points >= 0x800) + (points >= 0x10000)
    starts = np.concatenate(([0], np.cumsum(widths)))
    return lambda i: int(starts[i])
