"""The embedded artifact store: a content-addressed folder, ``.receiptcore/objects/``.

An object lives at ``objects/sha256/<2 hex>/<62 hex>`` named by its ``artifact_commit``
(sha256 of its bytes), so the name *is* the check: a get re-hashes what it reads and raises
:class:`DigestMismatch` when the bytes are truncated, corrupted or swapped for another object's.
A put copies the bytes into a temporary file under ``objects/tmp/`` while hashing them (the
native ``copy_files``: one read of each byte, many files in parallel, each fsynced), then
names each object by its digest only if no object of that name exists (``place_files``, which
fsyncs every folder that gained a name): objects are never overwritten, and a crash leaves at
most temporary files, never a half object under a real name. Temporaries of processes that no
longer run are swept away by the next put. Memory is one 256 KiB buffer per thread whatever
the size of the objects.

A tree is put in two steps (:meth:`LocalStore.stage_files`): every file is copied and hashed
first, and named only once all of them were, so a publish that fails (a file changed while it
was read, an id refused) leaves nothing in the store.
"""

from __future__ import annotations

import os
import secrets
from array import array
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO, Self

from receiptcore._core import Hasher, copy_files, hash_file, hash_files, place_files
from receiptcore.commit import Commit
from receiptcore.errors import ObjectNotFound
from receiptcore.store.base import CHUNK, FilesProgress, StoreReads, VerifyingReader
from receiptcore.util.atomic import pid_running
from receiptcore.util.reading import regular_file_mode

OBJECT_MODE = 0o444
"""Objects are read-only: nothing of ours ever writes one twice. This is the mode of what is not
a copy of a file (a manifest, a tree's file list): as readable as the store's folders allow."""

BATCH = 8192
"""Files handed to the native copy (and to the namer) at once: enough to keep every thread busy,
few enough that their path pairs stay a few MiB."""

FOLDER_MODE = 0o700
"""A store folder that receiptcore makes is the owner's alone; to share a store, open its folders
(``chmod -R g+rX``): each object is then as readable as the file it was made from."""


def object_mode(source_mode: int) -> int:
    """The mode of an object made from a file of ``source_mode``: read-only, and readable by no
    one who could not read the source (a 0600 file gives 0400, a 0640 one 0440)."""
    return 0o400 | (source_mode & 0o044)


class LocalStore(StoreReads):
    """Immutable objects under ``root`` (default ``.receiptcore/objects``), named by sha256."""

    scheme = "file"

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).absolute()
        self.location = os.fspath(self.root)

    def path(self, commit: Commit | str) -> Path:
        h = Commit.parse(commit).hex
        return Path(f"{self.location}/sha256/{h[:2]}/{h[2:]}")  # one Path, not three joins

    def uri(self, commit: Commit | str) -> str:
        return self.path(commit).as_uri()

    def exists(self, commit: Commit | str) -> bool:
        return self.path(commit).is_file()

    def size(self, commit: Commit | str) -> int:
        """The object's size in bytes; ObjectNotFound if there is none."""
        return self._existing(commit).stat().st_size

    def put_file(self, path: str | Path, progress: Callable[[int], None] | None = None) -> Commit:
        """Store the bytes of the file at ``path`` (a symlink is followed: callers that must
        not follow one check first, as publish does); returns their commit."""
        report = None if progress is None else (lambda done, _files: progress(done))
        with self.stage_files([os.path.realpath(path)], report) as staged:
            staged.place()
        return staged.commits[0]

    def stage_files(
        self, paths: Sequence[str | os.PathLike[str]], progress: FilesProgress | None = None
    ) -> Staged:
        """Copy and hash every file into the store's temporary folder, in parallel, each
        fsynced; nothing is named yet (:meth:`Staged.place`). A file that is not a regular file,
        or changes while it is read, fails the whole batch and leaves no temporary behind."""
        # Nothing per file is kept but what the caller needs (digest and size): a temporary is
        # named by its place in the batch, a mode is two bytes, and the pairs handed to the
        # native copy exist a batch at a time, so a tree of 100,000 files stays small.
        prefix = os.path.join(self._tmp_dir(), f"{os.getpid()}.{secrets.token_hex(8)}.")
        modes = array("H", (object_mode(regular_file_mode(path)) for path in paths))
        copied: list[tuple[str, int]] = []
        try:
            for start in range(0, len(paths), BATCH):
                batch = enumerate(paths[start : start + BATCH], start)
                pairs = [(path, f"{prefix}{i}") for i, path in batch]
                copied += copy_files(pairs, durable=True, progress=_after(copied, progress))
        except BaseException:
            _unlink_temporaries(prefix, len(paths))
            raise
        return Staged(self, prefix, copied, modes)

    def copy_objects(
        self,
        pairs: Sequence[tuple[Commit, str | os.PathLike[str]]],
        progress: FilesProgress | None = None,
    ) -> list[Commit]:
        """Copy each object to a new file (never replaced), in parallel, each fsynced; returns
        the commit of the bytes actually copied, for the caller to compare. ObjectNotFound
        names every object the store lacks (then nothing is copied)."""
        missing = [str(c) for c, _ in pairs if not self.exists(c)]
        if missing:
            raise ObjectNotFound(
                f"the artifact store {self.root} has no object {', '.join(missing)}"
            )
        copied = copy_files(
            [(self.path(c), dest) for c, dest in pairs], durable=True, progress=progress
        )
        return [Commit(digest) for digest, _ in copied]

    def digests(
        self, commits: Sequence[Commit], progress: FilesProgress | None = None
    ) -> list[Commit | None]:
        """Re-hash the objects (natively, in parallel): the commit of the bytes stored under
        each name, or None where there is no object."""
        present = [c for c in commits if self.exists(c)]
        hashed = dict(
            zip(present, hash_files([self.path(c) for c in present], progress=progress))
        )
        return [Commit(hashed[c]) if c in hashed else None for c in commits]

    def put_stream(self, src: BinaryIO, progress: Callable[[int], None] | None = None) -> Commit:
        """Store everything ``src`` yields; a put of content already stored changes nothing."""
        tmp = self._tmp_dir() / f"{os.getpid()}.{secrets.token_hex(8)}"
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
            place_files([(tmp, self.path(commit))], mode=OBJECT_MODE)
            return commit
        finally:
            tmp.unlink(missing_ok=True)

    def digest(self, commit: Commit | str) -> Commit:
        """Re-hash the stored object (native, read-ahead, the GIL released): the commit of the
        bytes actually stored; ObjectNotFound if there is none."""
        return Commit(hash_file(self._existing(commit)))


    def open(self, commit: Commit | str) -> VerifyingReader:
        """A reader of the object that raises DigestMismatch at the end if the bytes are wrong."""
        commit = Commit.parse(commit)
        return VerifyingReader(open(self._existing(commit), "rb"), commit)


    def read_range(self, commit: Commit | str, start: int, length: int) -> bytes:
        with open(self._existing(commit), "rb") as f:
            f.seek(start)
            return f.read(length)

    def _tmp_dir(self) -> Path:
        """``objects/tmp``, made if missing, and rid of temporaries whose process is gone (a
        put that was killed)."""
        tmp_dir = self.root / "tmp"
        self.root.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        tmp_dir.mkdir(mode=FOLDER_MODE, exist_ok=True)
        for name in os.listdir(tmp_dir):
            pid = name.split(".", 1)[0]
            if pid.isdigit() and not pid_running(int(pid)):
                (tmp_dir / name).unlink(missing_ok=True)
        return tmp_dir

    def _existing(self, commit: Commit | str) -> Path:
        path = self.path(commit)
        if not path.is_file():
            raise ObjectNotFound(f"the artifact store {self.root} has no object {commit}")
        return path



class Staged:
    """Files copied into the store and hashed, not yet named. ``with`` it: leaving the block
    without :meth:`place` (an exception, a refusal) removes the temporaries. ``copied`` holds
    ``(sha256 hex, size)`` per file, in the order given; file ``i`` waits at ``<prefix><i>``."""

    def __init__(
        self, store: LocalStore, prefix: str, copied: list[tuple[str, int]], modes: array
    ):
        self._store, self._prefix, self.copied, self._modes = store, prefix, copied, modes
        self._settled = False  # placed or discarded: no temporary of the batch left to remove

    @property
    def commits(self) -> list[Commit]:
        return [Commit(digest) for digest, _ in self.copied]

    @property
    def size(self) -> int:
        return sum(size for _, size in self.copied)

    def place(self) -> None:
        """Name every object by its commit (an existing object is kept as it is), read-only and
        no more readable than its source, with every folder that gained a name fsynced.

        A batch at a time, in the order of the names, so that the pairs exist a batch at a time
        and each of the 256 folders is still fsynced about once."""
        objects = os.path.join(self._store.root, "sha256")
        order = sorted(range(len(self.copied)), key=lambda i: self.copied[i][0])
        for start in range(0, len(order), BATCH):
            by_mode: dict[int, list[tuple[str, str]]] = {}
            for i in order[start : start + BATCH]:
                digest = self.copied[i][0]
                target = f"{objects}/{digest[:2]}/{digest[2:]}"
                by_mode.setdefault(self._modes[i], []).append((f"{self._prefix}{i}", target))
            for mode, pairs in by_mode.items():
                place_files(pairs, mode=mode)
        self._settled = True

    def discard(self) -> None:
        if not self._settled:
            _unlink_temporaries(self._prefix, len(self.copied))
            self._settled = True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()


def _after(done: list[tuple[str, int]], progress: FilesProgress | None) -> FilesProgress | None:
    """``progress`` for the next batch: counting on from the files and bytes already ``done``."""
    if progress is None:
        return None
    files, size = len(done), sum(size for _, size in done)
    return lambda bytes_done, files_done: progress(size + bytes_done, files + files_done)


def _unlink_temporaries(prefix: str, count: int) -> None:
    """Remove the temporaries ``<prefix>0`` to ``<prefix><count - 1>``, those that exist."""
    for i in range(count):
        try:
            os.unlink(f"{prefix}{i}")
        except FileNotFoundError:
            pass
