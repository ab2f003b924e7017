"""Answer a query against a verified index, each hit with its provenance.

Everything is found from the index's own receipt: its build manifest names the model that embeds
queries, the chunk table whose rows the index's keys are, and the embeddings (whose build says
whether vectors were normalized). Each is verified before use; a failure anywhere refuses the
query (fail-closed) with that input's own error. The hits follow the ``rag.query`` contract's
shape (rank, score, doc_id, text, metadata).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.formats import read_chunk_table
from pipelines.model import load_model, resolve_model
from pipelines.provenance import fetch_file, verify_input
from pipelines.refs import ArtifactRef


@dataclass
class Answer:
    query: str
    index: ArtifactRef
    provenance: dict[str, ArtifactRef]
    dataset_manifest_commits: list[str]
    hits: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "index": {"artifact_id": self.index.artifact_id, "commit": str(self.index.commit)},
            "provenance": {role: {"artifact_id": r.artifact_id, "commit": str(r.commit)}
                           for role, r in sorted(self.provenance.items())},
            "dataset_manifest_commits": self.dataset_manifest_commits,
            "hits": self.hits,
        }

    def render(self) -> str:
        lines = [f"query: {self.query!r}", f"index: {self.index} (verified)"]
        lines += [f"  {role}: {ref}" for role, ref in sorted(self.provenance.items())]
        lines += [f"  dataset: {c}" for c in self.dataset_manifest_commits]
        for hit in self.hits:
            meta = hit["metadata"]
            lines.append(f"{hit['rank']}. {hit['score']:.3f}  {meta['path']} chunk {meta['chunk']} "
                         f"bytes {meta['start']}-{meta['end']} (sha256 {meta['sha256'][:12]}...)")
            excerpt = " ".join(hit["text"].split())
            lines.append(textwrap.indent(textwrap.shorten(excerpt, 300), "   "))
        return "\n".join(lines)


def query(index: ArtifactRef, text: str, *, top_k: int = 3, home=None, work: Path | None = None
          ) -> Answer:
    """The ``top_k`` passages nearest to ``text`` in the verified ``index`` (a published
    ``<ID>.faiss`` or ``<ID>.usearch``)."""
    import tempfile

    if not 1 <= top_k <= 100:
        raise ValueError(f"top_k must be within 1..100, not {top_k}")
    verified = verify_input(index, home=home)
    inputs = verified.inputs(home)
    missing = {"model", "chunks", "embeddings"} - set(inputs)
    if missing:
        raise ValueError(f"{verified.ref} was not built by `receiptcore pipeline index` "
                         f"(its build names no {', '.join(sorted(missing))})")
    embeddings = verify_input(inputs["embeddings"], home=home)
    normalize = embeddings.build(home).inputs.parameters.get("normalize", True)
    chunks = verify_input(inputs["chunks"], home=home)
    _, folder = resolve_model(inputs["model"], home=home)
    with tempfile.TemporaryDirectory(prefix="receiptcore-query-", dir=work) as tmp:
        rows = read_chunk_table(fetch_file(chunks, Path(tmp) / "chunks.jsonl", home))
        stored = fetch_file(verified, Path(tmp) / "index", home)
        vector = load_model(folder).encode([text], normalize_embeddings=normalize,
                                           convert_to_numpy=True, show_progress_bar=False)
        found = _search(stored, verified.ref.artifact_id, vector, min(top_k, len(rows)))
    hits = []
    for rank, (row, score) in enumerate(found, start=1):
        chunk = rows[row]
        hits.append({"rank": rank, "score": score, "doc_id": f"{chunk.path}#{chunk.chunk}",
                     "text": chunk.text,
                     "metadata": {"path": chunk.path, "chunk": chunk.chunk, "row": chunk.row,
                                  "start": chunk.start, "end": chunk.end,
                                  "sha256": chunk.sha256}})
    provenance = {role: ref for role, ref in inputs.items()}
    datasets = [str(c) for c in verified.verdict.dataset_manifest_commits]
    return Answer(text, verified.ref, provenance, datasets, hits)


def _search(path: Path, artifact_id: str, vector, k: int) -> list[tuple[int, float]]:
    if artifact_id.endswith(".usearch"):
        from usearch.index import Index

        index = Index.restore(str(path))
        matches = index.search(vector[0], k)
        return [(int(key), float(1.0 - distance))
                for key, distance in zip(matches.keys, matches.distances)]
    import faiss

    index = faiss.read_index(str(path))
    scores, rows = index.search(vector, k)
    return [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]
