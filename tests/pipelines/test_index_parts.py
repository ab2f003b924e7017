"""The index writers: faiss and usearch indexes that find what exact search finds, and, with one
thread, the same bytes from the same vectors."""

from __future__ import annotations

import hashlib

import faiss
import numpy as np
import pytest
from usearch.index import Index

from pipelines.index import IndexParams, write_faiss, write_usearch


@pytest.fixture(scope="module")
def vectors():
    v = np.random.default_rng(1).standard_normal((3000, 24)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("flat_below", [10_000, 1_000])
def test_faiss_finds_each_vector_itself_and_is_reproducible(tmp_path, vectors, flat_below):
    params = IndexParams(flat_below=flat_below)
    digests = []
    for run in range(2):
        write_faiss(vectors, tmp_path / f"{run}.faiss", params)
        digests.append(hashlib.sha256((tmp_path / f"{run}.faiss").read_bytes()).hexdigest())
    assert digests[0] == digests[1]
    index = faiss.read_index(str(tmp_path / "0.faiss"))
    assert index.ntotal == 3000
    assert type(index).__name__ == ("IndexFlatIP" if flat_below > 3000 else "IndexHNSWFlat")
    _, found = index.search(vectors[:50], 1)
    assert (found[:, 0] == np.arange(50)).mean() >= 0.98


def test_usearch_keys_are_rows_and_one_thread_is_reproducible(tmp_path, vectors):
    digests = []
    for run in range(2):
        write_usearch(vectors, tmp_path / f"{run}.usearch", IndexParams(threads=1))
        digests.append(hashlib.sha256((tmp_path / f"{run}.usearch").read_bytes()).hexdigest())
    assert digests[0] == digests[1]
    index = Index.restore(str(tmp_path / "0.usearch"))
    assert len(index) == 3000
    hits = index.search(vectors[:50], 1)
    assert (hits.keys[:, 0] == np.arange(50)).mean() >= 0.98


def test_the_files_are_the_libraries_own_for_the_same_parameters(tmp_path, vectors):
    params = IndexParams(flat_below=1_000)
    write_faiss(vectors, tmp_path / "ours.faiss", params)
    write_usearch(vectors, tmp_path / "ours.usearch", params)
    alone = faiss.IndexHNSWFlat(24, params.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    alone.hnsw.efConstruction, alone.hnsw.efSearch = params.ef_construction, params.ef_search
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        alone.add(vectors)
    finally:
        faiss.omp_set_num_threads(threads)
    faiss.write_index(alone, str(tmp_path / "alone.faiss"))
    index = Index(ndim=24, metric="ip", dtype="f32", connectivity=params.hnsw_m,
                  expansion_add=params.ef_construction, expansion_search=params.ef_search)
    index.add(np.arange(len(vectors), dtype=np.uint64), vectors, threads=1)
    index.save(str(tmp_path / "alone.usearch"))
    for kind in ("faiss", "usearch"):
        assert (tmp_path / f"ours.{kind}").read_bytes() == (tmp_path / f"alone.{kind}").read_bytes()
