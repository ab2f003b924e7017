"""sniff() recognises Qdrant and Milvus Lite stores by the state files their engines write.

Samples come from the real writers at test time: qdrant-edge-py (the embedded Qdrant engine,
which writes shard directories) and milvus-lite (database directories, collection manifests
and collection snapshots). Each state file is also sniffed as bytes and under an innocent
name; look-alikes (ordinary JSON, tars of sources, SQLite) must give None.
"""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import tarfile
from pathlib import Path

import numpy as np
import pytest

from receiptcore import sniff, walk

qdrant_edge = pytest.importorskip("qdrant_edge", reason="qdrant-edge-py (test extra) missing")
milvus_lite = pytest.importorskip("milvus_lite", reason="milvus-lite (test extra) missing")


def qdrant_shard(d: Path, optimized: bool = False) -> Path:
    """An Edge shard: one plain segment, or (optimized) named dense + sparse vectors with an
    HNSW index built and no WAL."""
    q = qdrant_edge
    path = d / ("shard_opt" if optimized else "shard")
    rng = np.random.default_rng(0)
    if optimized:
        config = q.EdgeConfig(
            vectors={"img": q.EdgeVectorParams(size=8, distance=q.Distance.Dot)},
            sparse_vectors={"txt": q.EdgeSparseVectorParams()},
            hnsw_config=q.HnswIndexConfig(m=8, ef_construct=32, full_scan_threshold=1),
            optimizers=q.EdgeOptimizersConfig(indexing_threshold=1, default_segment_number=1),
            wal_enabled=False,
        )
        points = [
            q.Point(id=i, vector={"img": rng.random(8).tolist(),
                                  "txt": q.SparseVector(indices=[1, 5], values=[0.5, 0.2])},
                    payload={"n": i})
            for i in range(1, 300)
        ]
    else:
        config = q.EdgeConfig(vectors=q.EdgeVectorParams(size=4, distance=q.Distance.Cosine))
        points = [q.Point(id=i, vector=rng.random(4).tolist(), payload={"n": i})
                  for i in range(1, 20)]
    shard = q.EdgeShard.create(str(path), config)
    shard.update(q.UpdateOperation.upsert_points(points))
    shard.flush()
    if optimized:
        shard.optimize()
    shard.close()
    return path


def milvus_db(d: Path) -> Path:
    """A Milvus Lite database with a flushed, HNSW-indexed collection and a snapshot of it,
    plus a collection in a second (named) database. (A collection gets its manifest once it
    holds data; one that never did has only schema.json and is not a store of vectors.)"""
    m = milvus_lite
    path = d / "demo.db"
    schema = m.CollectionSchema(fields=[
        m.FieldSchema(name="id", dtype=m.DataType.INT64, is_primary=True),
        m.FieldSchema(name="vec", dtype=m.DataType.FLOAT_VECTOR, dim=8),
    ])
    rng = np.random.default_rng(0)
    with m.MilvusLite(str(path)) as db:
        col = db.create_collection("docs", schema)
        col.insert([{"id": i, "vec": rng.random(8).tolist()} for i in range(200)])
        col.flush()
        col.create_index("vec", {"index_type": "HNSW", "metric_type": "L2",
                                 "params": {"M": 8, "efConstruction": 40}})
        db.create_snapshot("docs", "snap1")
        db.create_database("other")
        more = db.create_collection("more", schema, database_name="other")
        more.insert([{"id": 1, "vec": rng.random(8).tolist()}])  # closing flushes it
    return path


def test_qdrant_edge_shard_segment_and_state_file_are_recognised(tmp_path):
    shard = qdrant_shard(tmp_path)
    found = sniff(shard)
    assert (found.format, found.family) == ("qdrant", "vector_index")
    assert "Qdrant Edge shard directory" in found.evidence
    states = list(shard.glob("segments/*/segment.json"))
    assert states, "qdrant-edge wrote no segment"
    for state in states:
        assert sniff(state.parent).format == "qdrant"
        by_path = sniff(state)
        assert by_path.format == "qdrant" and "offset 0" in by_path.evidence
        assert sniff(state.read_bytes()) == by_path
        innocent = tmp_path / "notes.txt"
        shutil.copy(state, innocent)
        assert sniff(innocent) == by_path


def test_optimized_qdrant_shard_with_named_sparse_vectors_and_no_wal_is_recognised(tmp_path):
    shard = qdrant_shard(tmp_path, optimized=True)
    assert not (shard / "wal").exists()
    assert sniff(shard).format == "qdrant"
    evidence = {sniff(s).evidence for s in shard.glob("segments/*/segment.json")}
    assert any("1 dense and 1 sparse" in e for e in evidence), evidence
    assert list(shard.glob("segments/*/vector_index-img/*")), "no HNSW index was built"


def test_sparse_only_qdrant_shard_is_recognised(tmp_path):
    q = qdrant_edge
    path = tmp_path / "sparse"
    shard = q.EdgeShard.create(str(path), q.EdgeConfig(
        sparse_vectors={"txt": q.EdgeSparseVectorParams()}))
    shard.update(q.UpdateOperation.upsert_points(
        [q.Point(id=1, vector={"txt": q.SparseVector(indices=[1], values=[0.5])})]))
    shard.flush()
    shard.close()
    assert sniff(path).format == "qdrant"
    (state,) = path.glob("segments/*/segment.json")
    assert "0 dense and 1 sparse" in sniff(state).evidence


def test_milvus_lite_database_collection_manifest_and_snapshot_are_recognised(tmp_path):
    db = milvus_db(tmp_path)
    found = sniff(db)
    assert (found.format, found.family) == ("milvus_lite", "vector_index")
    assert "collections/docs/manifest.json" in found.evidence
    col = db / "collections" / "docs"
    assert sniff(col).format == "milvus_lite"
    manifest = sniff(col / "manifest.json")
    assert manifest.format == "milvus_lite" and "index on vec (HNSW)" in manifest.evidence
    assert sniff(col / "manifest.json.prev").format == "milvus_lite"
    snap = sniff(col / "snapshots" / "metadata" / "snap1.json")
    assert snap.format == "milvus_lite"
    assert '"snap1"' in snap.evidence and "1 index file" in snap.evidence
    assert sniff(col / "snapshots" / "manifests" / "snap1" / "manifest.json") == manifest
    for f in [col / "manifest.json", col / "snapshots" / "metadata" / "snap1.json"]:
        innocent = tmp_path / "innocent.cfg"
        shutil.copy(f, innocent)
        assert sniff(innocent) == sniff(f) == sniff(f.read_bytes())
    # The segment indexes Milvus Lite writes are faiss files.
    (index,) = col.glob("partitions/*/indexes/*.idx")
    assert sniff(index).format == "faiss"
    # A database holding collections only in a named database is found too.
    shutil.rmtree(col)
    assert "databases/other/collections/more/manifest.json" in sniff(db).evidence


def test_walk_flags_the_state_files_of_both_stores(tmp_path):
    qdrant_shard(tmp_path)
    milvus_db(tmp_path)
    found = {e.path: e.sniff.format for e in walk(tmp_path) if e.sniff}
    assert any(p.endswith("/segment.json") and f == "qdrant" for p, f in found.items()), found
    assert found["demo.db/collections/docs/manifest.json"] == "milvus_lite"
    assert found["demo.db/collections/docs/snapshots/metadata/snap1.json"] == "milvus_lite"
    # Milvus Lite keeps a collection's rows in Parquet files: datasets, found as such.
    assert set(found.values()) <= {"qdrant", "milvus_lite", "faiss", "parquet"}


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_look_alikes_are_not_flagged(tmp_path):
    files = {
        "package.json": json.dumps({"name": "app", "version": "1.0.0"}, indent=2),
        "config.json": json.dumps({"version": 3, "config": {"vector_data": {}}}),
        "settings.json": json.dumps({"version": 1, "config": {"vector_data": {"a": {"size": 4}}}},
                                    separators=(",", ":")),
        "manifest.json": json.dumps({"active_wal_number": 1, "manifest_format_version": 2,
                                     "version": 1,
                                     "current_seq": 0, "partitions": {}}, indent=2,
                                    sort_keys=True),
        "snapshot.json": json.dumps({"snapshot_format_version": 1, "name": "nightly",
                                     "collection_name": "docs"},
                                    indent=2, sort_keys=True),
        "segment.json": '{"version":1,"config":{"vector_data":{"":{"size":4}}}}',
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    sources = {"src/main.py": b"print('hi')\n", "README.md": b"# tool\n"}
    _tar(tmp_path / "src.tar", sources)
    _tar(tmp_path / "conf.tar", {"config.json": b'{"a": 1}', "version.info": b"0.6.0",
                                 "0/shard_config.json": b"{}", **sources})
    db = sqlite3.connect(tmp_path / "app.db")
    db.execute("create table users (id integer primary key, name text)")
    db.commit()
    db.close()
    for path in tmp_path.iterdir():
        assert sniff(path) is None, path.name
    # Directories shaped like the stores but without their state files.
    (tmp_path / "segments" / "x").mkdir(parents=True)
    shutil.copy(tmp_path / "segment.json", tmp_path / "segments" / "x" / "segment.json")
    (tmp_path / "collections" / "c").mkdir(parents=True)
    shutil.copy(tmp_path / "manifest.json", tmp_path / "collections" / "c" / "manifest.json")
    assert sniff(tmp_path) is None
    assert sniff(tmp_path / "segments" / "x") is None
