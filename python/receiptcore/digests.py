"""What a verification hashes, on a worker thread that starts before anything else: a file or a
folder given by path, or the stored objects of an artifact.

A folder is listed by the native walk and its files hashed in parallel by the native
``hash_files`` (the GIL released); with the opt-in stat cache (:mod:`receiptcore.statcache`)
files unchanged since this user hashed them are not read again. A tree in the store is its
file list (an object checked against the tree's commit) and one object per file, re-hashed
the same way. Nothing here decides whether what was found is right: :mod:`receiptcore.verify`
compares it with the signed receipt.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from receiptcore._core import hash_files
from receiptcore.commit import Commit
from receiptcore.tree import Listing, list_folder, read_manifest, tree_commit

Progress = Callable[[int, int, int, int], object]
"""``progress(bytes_done, bytes_total, files_done, files_total)``."""

T = TypeVar("T")


class Background(threading.Thread, Generic[T]):
    """``fn()`` on a worker thread; :meth:`result` waits for it and returns or raises."""

    def __init__(self, fn: Callable[[], T], name: str) -> None:
        super().__init__(name=name, daemon=True)
        self._fn, self._value, self._error = fn, None, None
        self.start()

    def run(self) -> None:
        try:
            self._value = self._fn()
        except BaseException as error:  # noqa: BLE001 - handed to the caller by result()
            self._error = error

    def result(self) -> T:
        self.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


@dataclass
class PathDigest:
    """A file's sha256, or a folder's tree: its listing, each file's sha256, and its commit
    (None when the folder holds what a tree cannot record)."""

    path: str
    is_tree: bool
    commit: Commit | None
    size: int
    listing: Listing | None = None
    digests: list[str] = field(default_factory=list)
    from_cache: int = 0


def digest_path(
    path: str | os.PathLike[str], *, cache: Path | None = None, progress: Progress | None = None
) -> PathDigest:
    """Hash the file or folder at ``path``; ``cache`` is the verifier's state folder when the
    stat cache is to be trusted (and refreshed)."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        paths, sizes, listing = [path], [os.stat(path).st_size], None
    else:
        listing = list_folder(path)
        paths, sizes = listing.paths(), [size for _, size in listing.files]
    digests, from_cache = _hash(paths, sizes, cache, progress)
    if listing is None:
        return PathDigest(path, False, Commit(digests[0]), sizes[0], None, digests, from_cache)
    commit = None
    if not listing.refused and listing.files:
        commit = tree_commit((rel, size, d) for (rel, size), d in zip(listing.files, digests))
    return PathDigest(path, True, commit, listing.size, listing, digests, from_cache)


def _hash(
    paths: list[str], sizes: list[int], cache: Path | None, progress: Progress | None
) -> tuple[list[str], int]:
    """sha256 of each file, in parallel; with ``cache``, only of those the stat cache cannot
    vouch for, which are then recorded. Returns the digests and how many came from the cache."""
    if cache is None:
        return _hash_files(paths, sum(sizes), progress), 0
    from receiptcore.statcache import StatCache

    stat_cache = StatCache(cache)
    try:
        keys, digests, now = stat_cache.lookup(paths)
        todo = [i for i, d in enumerate(digests) if d is None]
        hashed = _hash_files([paths[i] for i in todo], sum(sizes[i] for i in todo), progress)
        for i, digest in zip(todo, hashed):
            digests[i] = digest
        stat_cache.record([paths[i] for i in todo], [keys[i] for i in todo], hashed, now)
    finally:
        stat_cache.close()
    return digests, len(paths) - len(todo)  # type: ignore[return-value]


def _hash_files(paths: list[str], total: int, progress: Progress | None) -> list[str]:
    """``hash_files`` (one file alone gets a read-ahead thread there too)."""
    if progress is None:
        return hash_files(paths)
    count = len(paths)
    return hash_files(paths, progress=lambda done, files: progress(done, total, files, count))


@dataclass
class StoredDigest:
    """What the store holds under a commit: for a file, the commit of the bytes stored; for a
    tree, its checked file list and, per file, the commit of the object stored (None: none)."""

    commit: Commit
    actual: Commit | None = None
    manifest: Any = None  # receiptcore.contracts.TreeManifest
    objects: list[Commit | None] = field(default_factory=list)


def digest_stored(
    store: Any, commit: Commit, is_tree: bool, progress: Progress | None = None
) -> StoredDigest:
    """Re-hash the object (a file) or every object of the tree stored under ``commit``.
    ObjectNotFound if the store lacks the object or the tree's file list; DigestMismatch if
    the file list was changed."""
    if not is_tree:
        return StoredDigest(commit, actual=store.digest(commit))
    manifest = read_tree_manifest(store, commit)
    commits = [Commit(f.sha256) for f in manifest.files]
    report = None
    if progress is not None:
        total, count = sum(f.size for f in manifest.files), len(commits)
        report = lambda done, files: progress(done, total, files, count)
    return StoredDigest(commit, manifest=manifest, objects=store.digests(commits, report))


def read_tree_manifest(store: Any, commit: Commit):  # -> receiptcore.contracts.TreeManifest
    """The tree's file list from the store, its bytes checked against the tree's commit first."""
    with store.open(commit) as reader:
        data = reader.read()  # a VerifyingReader: DigestMismatch unless the bytes are the commit's
    return read_manifest(data, f"tree file list {commit}")
