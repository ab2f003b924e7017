"""The embedded artifact store: a content-addressed folder, ``.receiptcore/objects/``.

An object lives at ``objects/sha256/<2 hex>/<62 hex>`` named by its ``artifact_commit``
(sha256 of its bytes), so the name *is* the check: a get re-hashes what it reads and raises
:class:`DigestMismatch` when the bytes are truncated, corrupted or swapped for another object's.
A put streams the bytes through the native hasher into a temporary file in the same folder,
fsyncs it, and links it into place only if no object of that name exists: objects are never
overwritten, and a crash leaves at most a temporary file, never a half object under a real name.
Memory is one 1 MiB buffer whatever the size of the object.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from receiptcore._core import Hasher, hash_file
from receiptcore.commit import Commit
from receiptcore.errors import ObjectNotFound
from receiptcore.store.base import CHUNK, StoreReads, VerifyingReader


class LocalStore(StoreReads):
    """Immutable objects under ``root`` (default ``.receiptcore/objects``), named by sha256."""

    scheme = "file"

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).absolute()
        self.location = os.fspath(self.root)

    def path(self, commit: Commit | str) -> Path:
        h = Commit.parse(commit).hex
        return self.root / "sha256" / h[:2] / h[2:]

    def uri(self, commit: Commit | str) -> str:
        return self.path(commit).as_uri()

    def exists(self, commit: Commit | str) -> bool:
        return self.path(commit).is_file()

    def size(self, commit: Commit | str) -> int:
        return self._existing(commit).stat().st_size

    def put_file(self, path: str | Path, progress: Callable[[int], None] | None = None) -> Commit:
        """Store the bytes of the file at ``path``; returns their commit."""
        with open(path, "rb") as src:
            return self.put_stream(src, progress)

    def put_stream(self, src: BinaryIO, progress: Callable[[int], None] | None = None) -> Commit:
        """Store everything ``src`` yields; a put of content already stored changes nothing."""
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        tmp = tmp_dir / f"{os.getpid()}.{secrets.token_hex(8)}"
        hasher, buf, done = Hasher("sha256"), bytearray(CHUNK), 0
        view = memoryview(buf)
        try:
            with open(tmp, "xb") as out:
                while n := src.readinto(view):
                    hasher.update(view[:n])
                    out.write(view[:n])
                    done += n
                    if progress is not None:
                        progress(done)
                out.flush()
                os.fsync(out.fileno())
            commit = Commit(hasher.hexdigest())
            final = self.path(commit)
            if not final.exists():
                final.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(tmp, 0o444)
                try:
                    os.link(tmp, final)  # unlike rename, never replaces an existing object
                except FileExistsError:
                    pass
                _fsync_dir(final.parent)
            return commit
        finally:
            tmp.unlink(missing_ok=True)

    def digest(self, commit: Commit | str) -> Commit:
        """Re-hash the stored object (native, parallel read-ahead, the GIL released)."""
        return Commit(hash_file(self._existing(commit)))

    def open(self, commit: Commit | str) -> VerifyingReader:
        """A reader of the object that raises DigestMismatch at the end if the bytes are wrong."""
        commit = Commit.parse(commit)
        return VerifyingReader(open(self._existing(commit), "rb"), commit)

    def read_range(self, commit: Commit | str, start: int, length: int) -> bytes:
        with open(self._existing(commit), "rb") as f:
            f.seek(start)
            return f.read(length)

    def _existing(self, commit: Commit | str) -> Path:
        path = self.path(commit)
        if not path.is_file():
            raise ObjectNotFound(f"the artifact store {self.root} has no object {commit}")
        return path


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
