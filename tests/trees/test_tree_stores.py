"""A tree on every store backend (the ``stores`` fixture: the folder store, then S3 on a real
SeaweedFS server): one object per file, published, fetched and re-verified through the same
calls, with every changed or missing object named and nothing half-written."""

from __future__ import annotations

import hashlib
import os

import pytest

from receiptcore.errors import FileChangedError, NotRegularFile, ObjectNotFound, TreeMismatch
from receiptcore.fetch import fetch
from receiptcore.publish import publish
from receiptcore.verify import verify
from support.stores import StoreBackend
from support.trees import MODEL, cli, independent_tree_commit, make_tree


def _commit(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _no_partial_output(env) -> bool:
    return not (env / "out").exists() and not [p for p in os.listdir(env) if p.endswith(".part")]


def test_a_tree_goes_to_the_store_and_comes_back_verified(env, stores, capsys):
    make_tree(env / "minilm")
    ref = publish(env / "minilm", artifact_id="minilm", store=stores.url)
    assert ref.kind == "tree" and ref.artifact_commit == independent_tree_commit(env / "minilm")
    assert ref.files == len(MODEL) and ref.size == sum(map(len, MODEL.values()))
    # one object per file, and the file list under the tree's own commit
    assert all(stores.store.exists(_commit(data)) for data in MODEL.values())
    assert stores.store.exists(ref.artifact_commit)
    assert verify(artifact_id="minilm", store=stores.url).verified
    fetch("minilm", out=env / "copy", store=stores.url)
    assert independent_tree_commit(env / "copy") == ref.artifact_commit
    code, _, err = cli(capsys, "verify", "copy", "--artifact-id", "minilm", "--store", stores.url,
                       "--no-progress")
    assert code == 0, err
    assert stores.leftovers() == []


def test_every_changed_object_is_named_and_nothing_is_written(env, stores, capsys):
    files = {"a.bin": b"a" * 100, "b/b.bin": b"b" * 100, "c.bin": b"c" * 100}
    make_tree(env / "src", files)
    publish(env / "src", artifact_id="m", store=stores.url)
    for rel in ("a.bin", "b/b.bin"):
        stores.tamper(_commit(files[rel]), b"evil")
    code, _, err = cli(capsys, "verify", "m", "--store", stores.url, "--no-progress")
    assert code == 9 and "a.bin" in err and "b/b.bin" in err and "c.bin" not in err, err
    with pytest.raises(TreeMismatch) as raised:
        fetch("m", out=env / "out", store=stores.url)
    assert sorted(raised.value.changed) == ["a.bin", "b/b.bin"]
    assert _no_partial_output(env)


def test_every_missing_object_is_named_and_nothing_is_written(env, stores):
    files = {"a.bin": b"gone", "b.bin": b"also gone", "c.bin": b"here"}
    make_tree(env / "m", files)
    publish(env / "m", artifact_id="m", store=stores.url)
    stores.remove(_commit(b"gone"))
    stores.remove(_commit(b"also gone"))
    with pytest.raises(ObjectNotFound) as raised:
        fetch("m", out=env / "out", store=stores.url)
    assert _commit(b"gone") in str(raised.value) and _commit(b"also gone") in str(raised.value)
    assert _commit(b"here") not in str(raised.value)
    assert _no_partial_output(env)


def test_a_special_file_fails_the_batch(env, stores):
    make_tree(env / "m", {"a.bin": b"a"})
    os.mkfifo(env / "fifo")
    with pytest.raises(NotRegularFile, match="fifo"):
        stores.store.stage_files([str(env / "m" / "a.bin"), str(env / "fifo")])
    assert stores.leftovers() == [] and stores.names() == []


def test_a_file_that_grows_while_it_is_uploaded_fails_the_publish(env, s3):
    """(The folder store's copy is held to the same rule natively: tests/native/test_copy.py.)"""
    backend = StoreBackend("s3", env, s3)
    path = env / "growing.bin"
    path.write_bytes(b"x" * 1000)

    def grow(done: int, files: int) -> None:  # called once the bytes were read, before the PUT
        if done and not files:
            with open(path, "ab") as f:
                f.write(b"more")

    with pytest.raises(FileChangedError):
        backend.store.stage_files([str(path)], grow)
