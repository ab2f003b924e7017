"""Trees at sizes that find quadratic loops and whole-file buffers: 10,000 small files, and a
5 GiB sparse shard (which stays sparse in the store: it costs no disk)."""

from __future__ import annotations

import os

from receiptcore.fetch import fetch
from receiptcore.publish import publish
from receiptcore.verify import verify
from support.trees import independent_tree_commit


def test_ten_thousand_small_files(env):
    root = env / "corpus"
    for i in range(10_000):
        folder = root / f"part-{i % 100:02d}"
        if i < 100:
            folder.mkdir(parents=True)
        (folder / f"doc-{i:05d}.txt").write_bytes(b"document %d\n" % i)
    ref = publish(root, artifact_id="corpus")
    assert ref.files == 10_000
    assert ref.artifact_commit == independent_tree_commit(root)
    assert verify(path=root).verified
    (root / "part-42" / "doc-04242.txt").write_bytes(b"changed")
    os.remove(root / "part-07" / "doc-00707.txt")
    verdict = verify(path=root, artifact_id="corpus", mode="warn")
    assert verdict.differences["changed"] == ["part-42/doc-04242.txt (size 14 -> 7)"]
    assert verdict.differences["missing"] == ["part-07/doc-00707.txt"]
    copy = fetch("corpus", out=env / "copy")
    assert independent_tree_commit(copy) == ref.artifact_commit


def test_a_five_gib_sparse_shard(env):
    root = env / "checkpoint"
    root.mkdir()
    with open(root / "model-00001-of-00002.safetensors", "wb") as f:
        f.truncate(5 << 30)
        f.seek(3 << 30)
        f.write(b"the only bytes that are not zero")
    (root / "model-00002-of-00002.safetensors").write_bytes(b"small shard")
    ref = publish(root, artifact_id="checkpoint")
    assert ref.size == (5 << 30) + len(b"small shard")
    c = ref.artifact_commit
    stored = env / "home" / "objects" / "sha256"
    big = max(stored.glob("*/*"), key=lambda p: p.stat().st_size)
    assert big.stat().st_size == 5 << 30 and big.stat().st_blocks * 512 < 1 << 20
    assert verify(path=root, artifact_id="checkpoint", commit=c).verified
