"""The local artifact store: content-addressed, immutable, and re-verified on every read."""

from __future__ import annotations

import hashlib
import io
import os
import shutil

import pytest

from receiptcore.commit import Commit
from receiptcore.errors import DigestMismatch, ObjectNotFound
from receiptcore.store import LocalStore


@pytest.fixture
def store(tmp_path):
    return LocalStore(tmp_path / "objects")


def _put(store, tmp_path, data: bytes) -> str:
    src = tmp_path / f"src-{hashlib.sha1(data).hexdigest()}"
    src.write_bytes(data)
    return str(store.put_file(src))


def test_objects_are_named_by_the_sha256_of_their_bytes(store, tmp_path):
    data = os.urandom(3 * 1024 * 1024 + 17)  # crosses chunk boundaries
    commit = _put(store, tmp_path, data)
    assert str(commit) == "sha256:" + hashlib.sha256(data).hexdigest()
    assert store.path(commit).read_bytes() == data
    assert store.path(commit).relative_to(store.root).parts[:2] == ("sha256", commit[7:9])
    assert store.uri(commit).startswith("file://")


def test_empty_object_is_stored(store, tmp_path):
    assert _put(store, tmp_path, b"") == "sha256:" + hashlib.sha256(b"").hexdigest()


def test_put_of_existing_content_is_a_no_op(store, tmp_path):
    commit = _put(store, tmp_path, b"same bytes")
    before = os.stat(store.path(commit))
    assert str(store.put_stream(io.BytesIO(b"same bytes"))) == commit
    after = os.stat(store.path(commit))
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
    assert list((store.root / "tmp").iterdir()) == []


def test_put_reports_progress_and_leaves_no_temporary_file(store, tmp_path):
    seen = []
    src = tmp_path / "big"
    src.write_bytes(b"x" * (2 * 1024 * 1024 + 5))
    store.put_file(src, progress=seen.append)
    assert seen[-1] == src.stat().st_size
    assert list((store.root / "tmp").iterdir()) == []


def test_a_failing_source_leaves_nothing_behind(store):
    class Broken(io.RawIOBase):
        def readinto(self, buf):
            raise OSError(5, "Input/output error")

    with pytest.raises(OSError):
        store.put_stream(Broken())
    assert list((store.root / "tmp").iterdir()) == []
    assert not (store.root / "sha256").exists()


def test_get_streams_and_verifies(store, tmp_path):
    data = os.urandom(1024 * 1024 * 2 + 3)
    commit = _put(store, tmp_path, data)
    store.get(commit, tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == data
    with store.open(commit) as reader:
        assert reader.read() == data
    store.verify(commit)


def _tamper(path, new: bytes) -> None:
    os.chmod(path, 0o644)
    path.write_bytes(new)


@pytest.mark.parametrize("how", ["truncated", "corrupted", "swapped"])
def test_tampered_objects_raise_on_every_read(store, tmp_path, how):
    data = os.urandom(100_000)
    commit = _put(store, tmp_path, data)
    other = _put(store, tmp_path, b"another object")
    path = store.path(commit)
    if how == "truncated":
        _tamper(path, data[:-1])
    elif how == "corrupted":
        _tamper(path, data[:500] + bytes([data[500] ^ 1]) + data[501:])
    else:
        os.chmod(path, 0o644)
        shutil.copyfile(store.path(other), path)
    with pytest.raises(DigestMismatch, match=commit):
        store.verify(commit)
    with (
        pytest.raises(DigestMismatch, match="truncated, corrupted or swapped"),
        store.open(commit) as reader,
    ):
        while reader.read(4096):
            pass
    with pytest.raises(DigestMismatch):
        store.get(commit, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing written half


def test_missing_objects_and_bad_commits(store):
    with pytest.raises(ObjectNotFound, match="has no object"):
        store.verify("sha256:" + "0" * 64)
    for bad in ["sha256:xyz", "md5:" + "0" * 64, "0" * 63, "A" * 64]:
        with pytest.raises(ValueError):
            Commit.parse(bad)
