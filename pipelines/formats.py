"""The two files the embed pipeline writes, byte for byte the same for the same inputs.

**Embeddings**: a safetensors file (https://huggingface.co/docs/safetensors) holding one tensor,
``embeddings``, float32, shape ``[chunks, dimension]``, row ``i`` the vector of chunk ``i`` of
the chunk table, and no metadata. It is written streaming: the header first (the shape is known
once the corpus is chunked), then each batch of rows at its place with ``pwrite``, so memory
holds one batch, never the whole matrix. Any safetensors reader loads it (the tests use the
``safetensors`` package itself).

**Chunk table**: JSON Lines, UTF-8, one object per chunk in row order, keys sorted, no spaces:
``{"chunk": 0, "end": 812, "path": "guide.md", "row": 0, "sha256": "<hex>", "start": 0,
"text": "..."}``, where ``path`` is the document (``file.jsonl#L3`` for a JSON Lines record),
``chunk`` its chunk number, ``start``/``end`` byte offsets into the document's UTF-8 and
``sha256`` that of ``text``'s UTF-8. A query server maps a vector's row to its passage with it.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Self

from pipelines.chunking import Chunk
from receiptcore._core import Hasher

TENSOR = "embeddings"


def safetensors_header(rows: int, dimension: int) -> bytes:
    """The 8-byte length and the JSON header of an F32 ``[rows, dimension]`` tensor, padded with
    spaces to a multiple of 8 bytes as safetensors' own writer does."""
    header = {TENSOR: {"dtype": "F32", "shape": [rows, dimension],
                       "data_offsets": [0, rows * dimension * 4]}}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 8)
    return struct.pack("<Q", len(text)) + text


class EmbeddingsWriter:
    """Writes rows of float32 vectors at their row numbers, in any order."""

    def __init__(self, path: str | os.PathLike[str], rows: int, dimension: int) -> None:
        self.path, self.rows, self.dimension = path, rows, dimension
        header = safetensors_header(rows, dimension)
        self._base, self._written = len(header), 0
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(self._fd, header)
        os.ftruncate(self._fd, self._base + rows * dimension * 4)

    def write(self, row_numbers: Iterable[int], vectors) -> None:
        """``vectors[k]`` (float32, C order) goes to row ``row_numbers[k]``."""
        import numpy as np

        vectors = np.ascontiguousarray(vectors, dtype="<f4")
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
            raise ValueError(f"expected vectors of dimension {self.dimension}, got {vectors.shape}")
        width = self.dimension * 4
        for k, row in enumerate(row_numbers):
            os.pwrite(self._fd, vectors[k].tobytes(), self._base + row * width)
            self._written += 1

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self._written != self.rows:
            raise RuntimeError(f"{self.path}: {self._written} of {self.rows} rows written")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind, *rest) -> None:
        if kind is None:
            self.close()
        elif self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def read_embeddings(path: str | os.PathLike[str]):
    """The ``embeddings`` tensor of a safetensors file, as a numpy float32 array (memory-mapped
    by safetensors' own reader)."""
    from safetensors.numpy import load_file

    tensors = load_file(os.fspath(path))
    if set(tensors) != {TENSOR}:
        raise ValueError(f"{os.fspath(path)}: expected one tensor named {TENSOR!r}, got {sorted(tensors)}")
    vectors = tensors[TENSOR]
    if vectors.dtype.name != "float32" or vectors.ndim != 2:
        raise ValueError(f"{os.fspath(path)}: expected a 2-d float32 tensor, got {vectors.dtype} {vectors.shape}")
    return vectors


@dataclass(frozen=True)
class ChunkRow:
    row: int
    path: str
    chunk: int
    start: int
    end: int
    sha256: str
    text: str


def chunk_rows(chunks: Iterable[Chunk]) -> Iterator[ChunkRow]:
    for row, chunk in enumerate(chunks):
        hasher = Hasher("sha256")
        hasher.update(chunk.text.encode("utf-8"))
        yield ChunkRow(row, chunk.document, chunk.number, chunk.start, chunk.end,
                       hasher.hexdigest(), chunk.text)


def write_chunk_table(path: str | os.PathLike[str], rows: Iterable[ChunkRow]) -> None:
    with open(path, "x", encoding="utf-8", newline="\n") as out:
        for row in rows:
            out.write(json.dumps(vars(row), sort_keys=True, separators=(",", ":"),
                                 ensure_ascii=False))
            out.write("\n")


def read_chunk_table(path: str | os.PathLike[str]) -> list[ChunkRow]:
    rows = []
    with open(path, encoding="utf-8") as source:
        for number, line in enumerate(source, start=1):
            try:
                rows.append(ChunkRow(**json.loads(line)))
            except (TypeError, json.JSONDecodeError) as error:
                raise ValueError(f"{os.fspath(path)}:{number}: not a chunk table row ({error})") from None
            if rows[-1].row != number - 1:
                raise ValueError(f"{os.fspath(path)}:{number}: row {rows[-1].row} out of order")
    return rows
