"""copy_files and place_files: one read of each byte serves the copy and its digest; a copy is
whole or absent; a name is never replaced. hashlib is the oracle."""

from __future__ import annotations

import errno
import hashlib
import os
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from receiptcore import FileChangedError, copy_files, place_files


@settings(max_examples=30, deadline=None)
@given(st.lists(st.binary(max_size=700_000), min_size=1, max_size=6))
def test_copies_hold_the_same_bytes_and_hash_like_hashlib(tmp_path_factory, contents):
    d = tmp_path_factory.mktemp("copy")
    pairs = []
    for i, data in enumerate(contents):
        (d / f"s{i}").write_bytes(data)
        pairs.append((d / f"s{i}", d / f"d{i}"))
    copied = copy_files(pairs)
    assert copied == [(hashlib.sha256(c).hexdigest(), len(c)) for c in contents]
    assert [dst.read_bytes() for _, dst in pairs] == contents


def test_progress_reports_bytes_and_files(tmp_path):
    pairs = []
    for i in range(5):
        (tmp_path / f"s{i}").write_bytes(b"x" * 1000 * i)
        pairs.append((tmp_path / f"s{i}", tmp_path / f"d{i}"))
    seen: list[tuple[int, int]] = []
    copy_files(pairs, durable=False, progress=lambda *done: seen.append(done))
    assert seen[-1] == (10_000, 5)


def test_a_sparse_file_stays_sparse(tmp_path):
    src = tmp_path / "sparse"
    with open(src, "wb") as f:
        f.truncate(256 << 20)
        f.seek(100 << 20)
        f.write(b"payload")
    [(digest, size)] = copy_files([(src, tmp_path / "copy")])
    with open(src, "rb") as f:
        assert digest == hashlib.file_digest(f, "sha256").hexdigest()
    stat = os.stat(tmp_path / "copy")
    assert size == stat.st_size == 256 << 20
    assert stat.st_blocks * 512 < 1 << 20


def test_a_source_that_changes_while_copied_fails_and_leaves_no_copy(tmp_path):
    src = tmp_path / "growing.bin"
    with open(src, "wb") as f:
        f.truncate(1 << 30)
    grown = threading.Event()

    def grow(done: int, files: int) -> None:
        if not grown.is_set():
            with open(src, "ab") as f:
                f.write(b"more")
            grown.set()

    with pytest.raises(FileChangedError, match="growing.bin"):
        copy_files([(src, tmp_path / "copy")], progress=grow)
    assert not (tmp_path / "copy").exists()


def test_symlinks_and_fifos_are_refused_by_name(tmp_path):
    (tmp_path / "target").write_bytes(b"x")
    os.symlink(tmp_path / "target", tmp_path / "link")
    os.mkfifo(tmp_path / "fifo")
    for name in ("link", "fifo"):
        with pytest.raises(OSError, match="regular file") as info:
            copy_files([(tmp_path / name, tmp_path / "out")])
        assert info.value.filename == str(tmp_path / name)
        assert not (tmp_path / "out").exists()


def test_an_existing_destination_is_not_replaced(tmp_path):
    (tmp_path / "src").write_bytes(b"new")
    (tmp_path / "dst").write_bytes(b"old")
    with pytest.raises(FileExistsError) as info:
        copy_files([(tmp_path / "src", tmp_path / "dst")])
    assert info.value.filename == str(tmp_path / "dst")
    assert (tmp_path / "dst").read_bytes() == b"old"


def test_one_failure_fails_the_batch_and_names_its_file(tmp_path):
    pairs = [(tmp_path / f"s{i}", tmp_path / f"d{i}") for i in range(30)]
    for i, (src, _) in enumerate(pairs):
        if i != 17:
            src.write_bytes(os.urandom(50_000))
    with pytest.raises(FileNotFoundError) as info:
        copy_files(pairs, threads=2)
    assert info.value.filename == str(tmp_path / "s17")


def test_place_files_names_once_and_never_replaces(tmp_path):
    (tmp_path / "a").write_bytes(b"same")
    (tmp_path / "b").write_bytes(b"same")
    name = tmp_path / "objects" / "sha256" / "ab" / "cd"
    assert place_files([(tmp_path / "a", name), (tmp_path / "b", name)], mode=0o444) == [True, False]
    assert name.read_bytes() == b"same" and os.stat(name).st_mode & 0o777 == 0o444
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    with pytest.raises(OSError) as info:
        place_files([(tmp_path / "gone", tmp_path / "x")])
    assert info.value.errno == errno.ENOENT and "gone" in str(info.value)
