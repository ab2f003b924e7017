"""What every artifact store is: the :class:`Store` protocol, and the reader that checks what it
streams.

A store keeps immutable objects named by their ``artifact_commit`` (sha256 of the bytes): a put
hashes the bytes as they flow (one read of each byte) and names the object by the result; an
object appears under its name only once it is whole, and an existing object is never replaced.
Every whole-object read re-hashes what it reads (:class:`VerifyingReader`) and raises
:class:`DigestMismatch` when the bytes are truncated, corrupted or swapped. A ranged read
(:meth:`Store.read_range`) cannot be checked against a hash of the whole object: it is for
callers that check what they read some other way.

The backends are one file each (:mod:`.local`, :mod:`.s3`); :func:`receiptcore.store.open_store`
picks one by URL. A tree artifact stores one object per file through the same interface.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO, Protocol, Self

from receiptcore._core import Hasher
from receiptcore.commit import Commit
from receiptcore.errors import DigestMismatch

CHUNK = 1 << 20

Progress = Callable[[int], None]
"""Called with the number of bytes done so far."""

FilesProgress = Callable[[int, int], object]
"""``progress(bytes_done, files_done)`` over a batch of files."""


class Staged(Protocol):
    """A batch of files put into the store: ``copied`` holds ``(sha256 hex, size)`` per file, in
    the order given; ``place()`` names the objects (a backend may have named them already).
    Leaving the ``with`` block without ``place()`` undoes what can be undone."""

    copied: list[tuple[str, int]]

    @property
    def size(self) -> int: ...

    def place(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...


class Store(Protocol):
    """Content-addressed, immutable objects."""

    location: str
    """The store's root, as a URL or a folder path."""

    def uri(self, commit: Commit | str) -> str:
        """Where the object lives (``file://…``, ``s3://…``): what a reference records."""
        ...

    def exists(self, commit: Commit | str) -> bool: ...

    def size(self, commit: Commit | str) -> int:
        """The object's size in bytes; ObjectNotFound if there is none."""
        ...

    def put_file(self, path: str | os.PathLike[str], progress: Progress | None = None) -> Commit:
        """Store the bytes of the file at ``path``; returns their commit."""
        ...

    def put_stream(self, src: BinaryIO, progress: Progress | None = None) -> Commit:
        """Store everything ``src`` yields; a put of content already stored changes nothing."""
        ...

    def stage_files(
        self, paths: Sequence[str | os.PathLike[str]], progress: FilesProgress | None = None
    ) -> Staged:
        """Put many files (a tree), each hashed as it is read once, in parallel. A file that is
        not a regular file, or changes while it is read, fails the batch."""
        ...

    def open(self, commit: Commit | str) -> VerifyingReader:
        """A reader of the whole object that raises DigestMismatch at the end if the bytes are
        not the commit's."""
        ...

    def read_range(self, commit: Commit | str, start: int, length: int) -> bytes:
        """``length`` bytes from ``start`` (fewer at the end), *not* verified."""
        ...

    def get(
        self, commit: Commit | str, dest: str | os.PathLike[str], progress: Progress | None = None
    ) -> None:
        """Copy the object to ``dest``; ``dest`` appears only once its bytes verified."""
        ...

    def copy_objects(
        self,
        pairs: Sequence[tuple[Commit, str | os.PathLike[str]]],
        progress: FilesProgress | None = None,
    ) -> list[Commit]:
        """Copy each object to a new file, in parallel, each fsynced; returns the commit of the
        bytes actually copied, for the caller to compare. ObjectNotFound names every object the
        store lacks."""
        ...

    def digest(self, commit: Commit | str) -> Commit:
        """Re-hash the stored object: the commit of the bytes actually stored."""
        ...

    def digests(
        self, commits: Sequence[Commit], progress: FilesProgress | None = None
    ) -> list[Commit | None]:
        """Re-hash many objects, in parallel (None: no such object)."""
        ...

    def verify(self, commit: Commit | str) -> None:
        """DigestMismatch unless the stored bytes hash to ``commit``."""
        ...


class StoreReads:
    """``get`` and ``verify``, the same for every backend, on top of its ``open``/``digest``."""

    def get(
        self, commit: Commit | str, dest: str | os.PathLike[str], progress: Progress | None = None
    ) -> None:
        dest = Path(dest)
        tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.part")
        try:
            with self.open(commit) as src, open(tmp, "xb") as out:  # type: ignore[attr-defined]
                buf = bytearray(CHUNK)
                view, done = memoryview(buf), 0
                while n := src.readinto(view):
                    out.write(view[:n])
                    done += n
                    if progress is not None:
                        progress(done)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)

    def verify(self, commit: Commit | str) -> None:
        commit = Commit.parse(commit)
        actual = self.digest(commit)  # type: ignore[attr-defined]
        if actual != commit:
            raise DigestMismatch(
                f"stored object {self.uri(commit)} hashes to {actual}, not {commit}: "  # type: ignore[attr-defined]
                "it was changed"
            )


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
