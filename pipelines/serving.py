"""The rag engine of the tool server: what ``rag.query`` needs of the ML stack, and nothing else.

``receiptcore mcp`` (the library) never imports this module: it finds it through the entry point
``receiptcore.engines:rag`` that ``pipelines/pyproject.toml`` declares::

    [project.entry-points."receiptcore.engines"]
    rag = "pipelines.serving:RagEngine"

and calls it only with a model folder and an index file it has already verified (the policy is
the library's, ``receiptcore/tools/rag.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Encode = Callable[[Sequence[str]], Any]
Search = Callable[[Any, int], list[tuple[int, float]]]


class RagEngine:
    """Loads a sentence-transformers model folder and a faiss or usearch index."""

    def __init__(self) -> None:
        """Imports the ML stack now, not at the first load: importing torch is most of a
        server's first query, and the server builds its engine on a thread of its own while
        it verifies the model and the chunk table."""
        from pipelines.model import offline

        offline()  # before transformers is first imported
        import faiss  # noqa: F401
        import sentence_transformers  # noqa: F401

    def encoder(self, folder: str, normalize: bool) -> Encode:
        from pipelines.model import load_model

        model = load_model(folder)

        def encode(texts: Sequence[str]):
            return model.encode(list(texts), normalize_embeddings=normalize,
                                convert_to_numpy=True, show_progress_bar=False)

        return encode

    def index(self, path: str, kind: str) -> Search:
        return load_index(path, kind)


def load_index(path: str, kind: str) -> Search:
    """``search(vectors, k) -> [(row, score), ...]`` of the first vector, best first; the score
    is the inner product (cosine similarity for normalized vectors) for both kinds."""
    if kind == "usearch":
        from usearch.index import Index

        index = Index.restore(path)

        def search_usearch(vectors, k: int) -> list[tuple[int, float]]:
            matches = index.search(vectors[0], k)
            return [(int(key), float(1.0 - distance))
                    for key, distance in zip(matches.keys, matches.distances)]

        return search_usearch
    import faiss

    flat = faiss.read_index(path)

    def search_faiss(vectors, k: int) -> list[tuple[int, float]]:
        scores, rows = flat.search(vectors, k)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]

    return search_faiss
