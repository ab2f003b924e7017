"""``receiptcore pipeline index``: verified embeddings -> a faiss index and a usearch index.

The embeddings are taken by reference and verified (receipt, ledger, bytes) before anything is
read; they are then copied out of the store through a reader that re-checks their sha256. The
chunk table and the model named by the embeddings' build manifest become inputs of this build
too, so a query server finds, from the index's receipt alone, the model that embeds its queries
and the passages its rows stand for.

- faiss: exact inner product (``IndexFlatIP``) below ``flat_below`` vectors (10,000 by default:
  a flat search over them takes about a millisecond), else HNSW (``IndexHNSWFlat``, inner
  product, ``M`` and ``efConstruction`` recorded);
- usearch: HNSW, inner product (``metric="ip"``), f32, keys = row numbers of the chunk table.

The vectors are those the embed pipeline wrote, normalized, so inner product is cosine
similarity. With ``threads=1`` (the default) both writers are deterministic: the same
embeddings give the same bytes. More threads build faster but the HNSW graphs then depend on
scheduling (docs/pipelines.md lists what is and is not bit-reproducible).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.formats import read_embeddings
from pipelines.model import dimension_of, load_model, resolve_model
from pipelines.provenance import fetch_file, make_build, publish_outputs, summary, verify_input
from pipelines.refs import ArtifactRef
from receiptcore.commit import Commit
from receiptcore.contracts import BuildManifest, BuildOutput, validate
from receiptcore.errors import DimensionMismatch, SchemaError
from receiptcore.publish import Publication
from receiptcore.util.progress import count_progress

LIBRARIES = ["receiptcore", "faiss-cpu", "usearch", "numpy", "safetensors"]
BATCH = 10_000
"""usearch gets its vectors in pieces of this many (the same graph as one call, with one
thread), so the progress bar moves while it builds."""


@dataclass(frozen=True)
class IndexParams:
    flat_below: int = 10_000
    hnsw_m: int = 32
    ef_construction: int = 64
    ef_search: int = 64
    threads: int = 1

    def faiss_kind(self, count: int) -> str:
        return "flat" if count < self.flat_below else "hnsw"

    def to_json(self, count: int) -> dict[str, Any]:
        faiss: dict[str, Any] = {"type": self.faiss_kind(count), "metric": "inner_product"}
        if faiss["type"] == "hnsw":
            faiss |= {"M": self.hnsw_m, "efConstruction": self.ef_construction,
                      "efSearch": self.ef_search}
        return {
            "faiss": faiss,
            "usearch": {"metric": "ip", "dtype": "f32", "connectivity": self.hnsw_m,
                        "expansion_add": self.ef_construction,
                        "expansion_search": self.ef_search, "keys": "chunk table rows"},
            "flat_below": self.flat_below,
            "threads": self.threads,
        }


@dataclass
class IndexResult:
    build: BuildManifest
    publications: list[Publication]
    count: int
    dimension: int

    def to_json(self) -> dict[str, Any]:
        return summary(self.build, self.publications, vectors=self.count,
                       dimension=self.dimension)


def build_index(
    embeddings: ArtifactRef,
    *,
    artifact_id: str,
    model: ArtifactRef | None = None,
    params: IndexParams = IndexParams(),
    home=None,
    key=None,
    issuer: str | None = None,
    new_version: bool = False,
    progress: bool | None = None,
) -> IndexResult:
    """Build and publish ``<artifact_id>.faiss`` and ``<artifact_id>.usearch`` over verified
    ``embeddings``; ``model`` overrides the model the embeddings' build names."""
    outputs = {f"{artifact_id}.faiss": "index.faiss", f"{artifact_id}.usearch": "index.usearch"}
    for output in outputs:
        validate(BuildOutput, {"artifact_id": output, "artifact_commit": "0" * 64}, "--id")
    if params.threads < 1:
        raise ValueError(f"threads must be at least 1, not {params.threads}")

    verified = verify_input(embeddings, home=home)
    made_by = verified.build(home)
    inputs = {"embeddings": verified.ref, **_chunks_and_model(verified, made_by, home)}
    recorded = made_by.inputs.parameters.get("dimension")
    if model is not None:
        inputs["model"], folder = resolve_model(model, home=home)
        recorded = dimension_of(load_model(folder))
    else:  # not read here, but recorded as an input: verified like every input
        verify_input(inputs["model"], home=home)
    verify_input(inputs["chunks"], home=home)

    work = Path(tempfile.mkdtemp(prefix="receiptcore-index-"))
    try:
        vectors = read_embeddings(fetch_file(verified, work / "embeddings.safetensors", home))
        count, dimension = vectors.shape
        if recorded != dimension:
            raise DimensionMismatch(
                f"{verified.ref} holds vectors of dimension {dimension}, but model "
                f"{inputs['model']} embeds queries in dimension {recorded}"
            )
        paths = {output: work / name for output, name in outputs.items()}
        with count_progress(2 * count, "indexing", "vectors", progress) as advance:
            write_faiss(vectors, paths[f"{artifact_id}.faiss"], params, advance)
            write_usearch(vectors, paths[f"{artifact_id}.usearch"], params, advance)
        del vectors
        build = make_build(
            paths,
            dataset_commits=verified.verdict.dataset_manifest_commits,
            parameters={**params.to_json(count), "dimension": dimension, "vectors": count},
            inputs=inputs,
            seeds={},
            libraries=LIBRARIES,
        )
        publications = publish_outputs(build, paths, home=home, key=key, issuer=issuer,
                                       new_version=new_version)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return IndexResult(build, publications, count, dimension)


def _chunks_and_model(verified, made_by: BuildManifest, home) -> dict[str, ArtifactRef]:
    """The chunk table made beside the embeddings, and the model that made them."""
    chunks = [o for o in made_by.outputs if o.artifact_id.endswith(".chunks")]
    model = verified.inputs(home).get("model")
    if len(chunks) != 1 or model is None:
        raise SchemaError(
            f"{verified.ref}: its build manifest {verified.verdict.build_manifest_commit} does not "
            "name one chunk table and the model (not made by `receiptcore pipeline embed`?)"
        )
    return {"chunks": ArtifactRef(chunks[0].artifact_id, Commit(chunks[0].artifact_commit)),
            "model": model}


def write_faiss(vectors, path: Path, params: IndexParams, advance=lambda n: None) -> None:
    import faiss

    count, dimension = vectors.shape
    if params.faiss_kind(count) == "flat":
        index = faiss.IndexFlatIP(dimension)
    else:
        index = faiss.IndexHNSWFlat(dimension, params.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params.ef_construction
        index.hnsw.efSearch = params.ef_search
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(params.threads)
    try:
        # One call: faiss' HNSW orders a batch's insertions by level, so adding in pieces would
        # build another graph than faiss' own `add` of the same vectors.
        index.add(vectors)
        advance(count)
    finally:
        faiss.omp_set_num_threads(threads)
    faiss.write_index(index, str(path))


def write_usearch(vectors, path: Path, params: IndexParams, advance=lambda n: None) -> None:
    import numpy as np
    from usearch.index import Index

    count, dimension = vectors.shape
    index = Index(ndim=dimension, metric="ip", dtype="f32", connectivity=params.hnsw_m,
                  expansion_add=params.ef_construction, expansion_search=params.ef_search)
    for first in range(0, count, BATCH):
        keys = np.arange(first, min(first + BATCH, count), dtype=np.uint64)
        index.add(keys, vectors[first : first + BATCH], threads=params.threads)
        advance(len(keys))
    index.save(str(path))
