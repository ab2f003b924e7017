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
from typing import BinaryIO, Self

from receiptcore._core import Hasher, hash_file
from receiptcore.commit import Commit
from receiptcore.errors import DigestMismatch, ObjectNotFound

CHUNK = 1 << 20


class LocalStore:
    """Immutable objects under ``root`` (default ``.receiptcore/objects``), named by sha256."""

    scheme = "file"

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).absolute()

    def path(self, commit: Commit | str) -> Path:
        h = Commit.parse(commit).hex
        return self.root / "sha256" / h[:2] / h[2:]

    def uri(self, commit: Commit | str) -> str:
        return self.path(commit).as_uri()

    def exists(self, commit: Commit | str) -> bool:
        return self.path(commit).is_file()

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

    def verify(self, commit: Commit | str) -> None:
        """Re-hash the stored object (native, parallel read-ahead); DigestMismatch if it changed."""
        commit = Commit.parse(commit)
        path = self._existing(commit)
        actual = Commit(hash_file(path))
        if actual != commit:
            raise DigestMismatch(f"stored object {path} hashes to {actual}, not {commit}: it was changed")

    def open(self, commit: Commit | str) -> VerifyingReader:
        """A reader of the object that raises DigestMismatch at the end if the bytes are wrong."""
        commit = Commit.parse(commit)
        return VerifyingReader(open(self._existing(commit), "rb"), commit)

    def get(self, commit: Commit | str, dest: str | Path) -> None:
        """Copy the object to ``dest``; ``dest`` appears only once its bytes verified."""
        dest = Path(dest)
        tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.part")
        try:
            with self.open(commit) as src, open(tmp, "xb") as out:
                buf = bytearray(CHUNK)
                view = memoryview(buf)
                while n := src.readinto(view):
                    out.write(view[:n])
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)

    def _existing(self, commit: Commit | str) -> Path:
        path = self.path(commit)
        if not path.is_file():
            raise ObjectNotFound(f"the artifact store {self.root} has no object {commit}")
        return path


class VerifyingReader:
    """Streams an object and checks its sha256 when the end is reached (fail-closed)."""

    def __init__(self, raw: BinaryIO, expected: Commit) -> None:
        self._raw, self._expected = raw, expected
        self._hasher, self._checked = Hasher("sha256"), False

    def readinto(self, buf: memoryview | bytearray) -> int:
        n = self._raw.readinto(buf)
        if n:
            self._hasher.update(memoryview(buf)[:n])
        else:
            self._check()
        return n

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        if data:
            self._hasher.update(data)
        if not data or size < 0:
            self._check()
        return data

    def _check(self) -> None:
        if self._checked:
            return
        actual = Commit(self._hasher.hexdigest())
        if actual != self._expected:
            raise DigestMismatch(
                f"object {self._expected} read back as {actual}: it is truncated, corrupted or "
                "swapped"
            )
        self._checked = True

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
