"""The artifact store contract, one set of tests for every backend (the ``stores`` fixture gives
the folder store, then the S3 store on a real SeaweedFS server): content-addressed, immutable,
streamed in constant memory, and re-verified on every read."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from receiptcore.commit import Commit
from receiptcore.errors import DigestMismatch, ObjectNotFound
from receiptcore.store import open_store
from receiptcore.store.local import LocalStore

BIG = 2 * 8 * 1024 * 1024 + 17  # crosses the folder store's chunks and the S3 store's parts


def _put(store, data: bytes) -> str:
    return str(store.put_stream(io.BytesIO(data)))


def test_objects_are_named_by_the_sha256_of_their_bytes(stores):
    data = os.urandom(BIG)
    commit = _put(stores.store, data)
    assert commit == "sha256:" + hashlib.sha256(data).hexdigest()
    assert stores.store.size(commit) == len(data) and stores.store.exists(commit)
    with stores.store.open(commit) as reader:
        assert reader.read() == data
    assert stores.store.uri(commit).endswith(f"sha256/{commit[7:9]}/{commit[9:]}")
    assert stores.leftovers() == []


def test_small_and_empty_objects(stores):
    assert _put(stores.store, b"") == "sha256:" + hashlib.sha256(b"").hexdigest()
    commit = _put(stores.store, b"small")
    assert stores.store.read_range(commit, 1, 3) == b"mal"
    assert stores.store.read_range(commit, 3, 100) == b"ll"


def test_put_of_existing_content_changes_nothing(stores):
    for data in (b"same bytes", os.urandom(BIG)):
        commit = _put(stores.store, data)
        before = stores.stamp(commit)
        assert _put(stores.store, data) == commit
        assert stores.stamp(commit) == before
    assert stores.leftovers() == []


def test_an_existing_object_is_never_overwritten(stores):
    """Even a put of the right bytes does not replace what is stored under the name: a put is
    put-if-absent, and the damage is found on read instead."""
    data = os.urandom(100_000)
    commit = _put(stores.store, data)
    stores.tamper(commit, b"something else")
    _put(stores.store, data)
    with pytest.raises(DigestMismatch):
        stores.store.verify(commit)


def test_put_reports_progress(stores, tmp_path):
    seen: list[int] = []
    src = tmp_path / "big"
    src.write_bytes(os.urandom(BIG))
    stores.store.put_file(src, progress=seen.append)
    assert seen[-1] == BIG and seen == sorted(seen)


@pytest.mark.parametrize("fail_after", [0, BIG // 2])
def test_a_failing_source_leaves_nothing_behind(stores, fail_after):
    class Broken(io.RawIOBase):
        done = 0

        def readable(self):
            return True

        def readinto(self, buf):
            if self.done >= fail_after:
                raise OSError(5, "Input/output error")
            n = min(len(buf), fail_after - self.done)
            buf[:n] = b"x" * n
            self.done += n
            return n

    with pytest.raises(OSError):
        stores.store.put_stream(io.BufferedReader(Broken()))
    assert stores.leftovers() == []
    assert stores.names() == []


def test_get_streams_and_verifies(stores, tmp_path):
    data = os.urandom(BIG)
    commit = _put(stores.store, data)
    seen: list[int] = []
    stores.store.get(commit, tmp_path / "out", progress=seen.append)
    assert (tmp_path / "out").read_bytes() == data and seen[-1] == len(data)
    stores.store.verify(commit)
    assert stores.store.digest(commit) == Commit.parse(commit)


@pytest.mark.parametrize("how", ["truncated", "corrupted", "swapped"])
def test_tampered_objects_raise_on_every_read(stores, tmp_path, how):
    data = os.urandom(100_000)
    commit = _put(stores.store, data)
    other = b"another object"
    _put(stores.store, other)
    new = {
        "truncated": data[:-1],
        "corrupted": data[:500] + bytes([data[500] ^ 1]) + data[501:],
        "swapped": other,
    }[how]
    stores.tamper(commit, new)
    with pytest.raises(DigestMismatch, match=commit):
        stores.store.verify(commit)
    with (
        pytest.raises(DigestMismatch, match="truncated, corrupted or swapped"),
        stores.store.open(commit) as reader,
    ):
        while reader.read(4096):
            pass
    with pytest.raises(DigestMismatch):
        stores.store.get(commit, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing written half
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_missing_objects_and_bad_commits(stores, tmp_path):
    missing = "sha256:" + "0" * 64
    assert not stores.store.exists(missing)
    for read in (
        stores.store.verify,
        stores.store.size,
        lambda c: stores.store.open(c).read(),
        lambda c: stores.store.get(c, tmp_path / "out"),
    ):
        with pytest.raises(ObjectNotFound):
            read(missing)
    for bad in ["sha256:xyz", "md5:" + "0" * 64, "0" * 63, "A" * 64]:
        with pytest.raises(ValueError):
            Commit.parse(bad)


def test_the_url_chooses_the_backend(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RECEIPTCORE_STORE", raising=False)
    (tmp_path / "h").mkdir()  # a home named for reading must exist (HomeNotFound otherwise)
    assert isinstance(open_store(None, home=tmp_path / "h"), LocalStore)
    assert open_store(f"file://{tmp_path}/x").location == str(tmp_path / "x")
    monkeypatch.setenv("RECEIPTCORE_STORE", str(tmp_path / "from-env"))
    assert open_store(None).location == str(tmp_path / "from-env")
    assert open_store(str(tmp_path / "flag")).location == str(tmp_path / "flag")
    with pytest.raises(ValueError, match="unknown store URL"):
        open_store("ftp://example/x")
