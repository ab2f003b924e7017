"""Artifacts on object storage (S3 and S3-compatible servers, GCS) through obstore, the Python
binding of the Rust ``object_store`` crate (the ``s3`` extra).

Objects live at ``<prefix>/sha256/<2 hex>/<62 hex>``, as in the folder store. Credentials and
the endpoint come from the environment, as the AWS and Google tools read them
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``, ``AWS_ENDPOINT_URL`` for an
S3-compatible server, ``GOOGLE_APPLICATION_CREDENTIALS``...).

A put reads its source once, hashing each chunk as it goes to the server:

* an object smaller than one part (:data:`PART`) is hashed, then sent in one conditional PUT
  (``If-None-Match: *``) under its commit;
* a larger one is streamed as a multipart upload to ``<prefix>/tmp/<random>`` (memory: a few
  parts, whatever the size), then copied server-side to its commit's name with copy-if-absent,
  and the temporary object deleted.

Either way an object appears under its commit only whole, and an existing object is never
replaced (the server refuses the conditional write). Reads stream the object in chunks and
re-hash them (:class:`~receiptcore.store.base.VerifyingReader`); a download is written beside its
destination and moved into place only once it verified.

A tree goes up and comes down file by file, :data:`FILES_IN_FLIGHT` files at once, through the
same puts and reads: one object per file, as in the folder store (:meth:`ObjectStore.stage_files`,
:meth:`ObjectStore.copy_objects`, :meth:`ObjectStore.digests`).

Transient failures are retried by obstore (5xx, dropped connections; exponential backoff, up to
``$RECEIPTCORE_RETRY_SECONDS``, default 30); what still fails is :class:`StoreUnavailable` (exit 21).
"""

from __future__ import annotations

import os
import queue
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO, Self
from urllib.parse import urlsplit

import obstore
from obstore.exceptions import AlreadyExistsError, BaseError, NotFoundError

from receiptcore._core import Hasher
from receiptcore.commit import Commit
from receiptcore.errors import (
    ConfigError,
    DigestMismatch,
    FileChangedError,
    ObjectNotFound,
    StoreUnavailable,
)
from receiptcore.store.base import FilesProgress, Progress, StoreReads, VerifyingReader
from receiptcore.util.locations import retry_seconds
from receiptcore.util.reading import open_regular, regular_file_mode

PART = 8 << 20  # multipart part size, and the largest object sent in one PUT
CONCURRENCY = 4  # parts in flight: memory is about PART * CONCURRENCY
READ_CHUNK = 4 << 20
FILES_IN_FLIGHT = 8  # a tree's files uploaded or downloaded at once (small files: latency-bound)


class ObjectStore(StoreReads):
    """The store at ``s3://bucket/prefix`` or ``gs://bucket/prefix``."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if not parts.netloc:
            raise ConfigError(f"{url}: an object store URL names a bucket: s3://bucket/prefix")
        self.location = url.rstrip("/")
        self.scheme, self.bucket = parts.scheme, parts.netloc
        self.prefix = parts.path.strip("/")
        seconds = retry_seconds()
        retry = {
            "max_retries": 10 if seconds else 0,
            "retry_timeout": timedelta(seconds=seconds),
            "backoff": {"init_backoff": timedelta(milliseconds=100), "base": 2,
                        "max_backoff": timedelta(seconds=5)},
        }
        if parts.scheme == "s3":
            from obstore.store import S3Store

            endpoint = os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT") or ""
            self._store = S3Store(
                self.bucket,
                prefix=self.prefix or None,
                # put-if-absent for the final copy: a multipart copy completed with If-None-Match
                copy_if_not_exists="multipart",
                client_options={
                    "allow_http": endpoint.startswith("http://"),
                    # the copy of a multi-GiB upload to its commit's name is one request that
                    # lasts as long as the server copies: far past the 30 s default
                    "timeout": timedelta(minutes=30),
                },
                retry_config=retry,
            )
        else:
            from obstore.store import GCSStore

            self._store = GCSStore(self.bucket, prefix=self.prefix or None, retry_config=retry)

    # --- names ------------------------------------------------------------------------------

    def key(self, commit: Commit | str) -> str:
        h = Commit.parse(commit).hex
        return f"sha256/{h[:2]}/{h[2:]}"

    def uri(self, commit: Commit | str) -> str:
        return f"{self.location}/{self.key(commit)}"

    # --- writes -----------------------------------------------------------------------------

    def put_file(self, path: str | os.PathLike[str], progress: Progress | None = None) -> Commit:
        """Store the bytes of the regular file at ``path`` (a symlink is followed: callers that
        must not follow one check first, as publish does); returns their commit."""
        return self._put_checked(path, True, progress)[0]

    def stage_files(
        self, paths: Sequence[str | os.PathLike[str]], progress: FilesProgress | None = None
    ) -> Uploaded:
        """Upload every file, :data:`FILES_IN_FLIGHT` at once, each under its commit; a
        symlink, FIFO or device fails the batch (NotRegularFile), and so does a file that
        changes while it is read (FileChangedError); uploads not yet begun are then cancelled.

        Objects are named as they arrive, and that is harmless: a name is the sha256 of the
        bytes under it, and an object that no receipt names is never read (as what a publish
        killed early leaves in a folder store)."""
        for path in paths:
            regular_file_mode(path)  # every file checked before any is sent
        tally = _Tally(progress)

        def put(path: str | os.PathLike[str]) -> tuple[str, int]:
            commit, size = self._put_checked(path, False, tally.file())
            tally.file_done()
            return commit.hex, size

        return Uploaded(_each(put, paths))

    def _put_checked(
        self, path: str | os.PathLike[str], follow: bool, progress: Progress | None
    ) -> tuple[Commit, int]:
        """The commit and size of the file's bytes, stored. Fewer or more bytes than its size,
        or a size or mtime that moved while it was read: FileChangedError (what was uploaded
        lies under the commit of the bytes read, named by no receipt)."""
        with os.fdopen(open_regular(path, follow), "rb") as src:
            before = os.fstat(src.fileno())
            counted = _Counting(src)
            commit = self.put_stream(counted, progress)
            after = os.fstat(src.fileno())
        if counted.count != before.st_size or (after.st_size, after.st_mtime_ns) != (
            before.st_size,
            before.st_mtime_ns,
        ):
            raise FileChangedError(
                f"{os.fspath(path)} changed while it was read (size or mtime moved): not stored"
            )
        return commit, counted.count

    def put_stream(self, src: BinaryIO, progress: Progress | None = None) -> Commit:
        hasher, done = Hasher("sha256"), 0
        first = _read_full(src, PART)
        hasher.update(first)
        done = len(first)
        if progress is not None:
            progress(done)
        if len(first) < PART:  # the whole object: one conditional PUT under its commit
            commit = Commit(hasher.hexdigest())
            with self._errors(f"storing {commit}"):
                try:
                    obstore.put(self._store, self.key(commit), first, mode="create")
                except AlreadyExistsError:
                    pass  # the same bytes are stored: nothing to do
            return commit

        def chunks() -> Iterator[bytes]:
            nonlocal done
            yield first
            while chunk := src.read(PART):
                hasher.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done)
                yield chunk

        tmp = f"tmp/{os.getpid()}.{secrets.token_hex(8)}"
        with self._errors("uploading"):
            try:
                obstore.put(
                    self._store, tmp, chunks(), chunk_size=PART, max_concurrency=CONCURRENCY
                )
                commit = Commit(hasher.hexdigest())
                try:
                    obstore.copy(self._store, tmp, self.key(commit), overwrite=False)
                except AlreadyExistsError:
                    pass
            finally:
                _delete_quietly(self._store, tmp)
        return commit

    # --- reads ------------------------------------------------------------------------------

    def exists(self, commit: Commit | str) -> bool:
        try:
            self.size(commit)
        except ObjectNotFound:
            return False
        return True

    def size(self, commit: Commit | str) -> int:
        with self._errors(f"looking up {commit}"):
            return int(obstore.head(self._store, self.key(commit))["size"])

    def open(self, commit: Commit | str) -> VerifyingReader:
        commit = Commit.parse(commit)
        with self._errors(f"reading {commit}"):
            result = obstore.get(self._store, self.key(commit))
        return VerifyingReader(_StreamReader(result.stream(min_chunk_size=READ_CHUNK), self, commit), commit)

    def read_range(self, commit: Commit | str, start: int, length: int) -> bytes:
        size = self.size(commit)
        length = max(0, min(length, size - start))
        if length == 0:
            return b""
        with self._errors(f"reading {commit}"):
            return bytes(obstore.get_range(self._store, self.key(commit), start=start, length=length))

    def digest(self, commit: Commit | str) -> Commit:
        hasher = Hasher("sha256")
        with self._errors(f"reading {commit}"):
            for chunk in obstore.get(self._store, self.key(commit)).stream(min_chunk_size=READ_CHUNK):
                hasher.update(chunk)
        return Commit(hasher.hexdigest())

    def get(
        self, commit: Commit | str, dest: str | os.PathLike[str], progress: Progress | None = None
    ) -> None:
        """Download to ``dest``, verified: it appears only once its bytes hashed to ``commit``."""
        commit = Commit.parse(commit)
        dest = Path(dest)
        tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.part")
        try:
            with open(tmp, "xb") as out:
                actual = self._download(commit, out, progress)
            if actual != commit:
                raise DigestMismatch(
                    f"object {commit} read back as {actual}: it is truncated, corrupted or swapped"
                )
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)

    def copy_objects(
        self,
        pairs: Sequence[tuple[Commit, str | os.PathLike[str]]],
        progress: FilesProgress | None = None,
    ) -> list[Commit]:
        """Download each object to a new file (never replaced), :data:`FILES_IN_FLIGHT` at once,
        each fsynced; returns the commit of the bytes actually read, for the caller to compare.
        ObjectNotFound names every object the store lacks."""
        tally = _Tally(progress)

        def download(pair: tuple[Commit, str | os.PathLike[str]]) -> Commit | None:
            commit, dest = pair
            with open(dest, "xb") as out:
                try:
                    actual = self._download(Commit.parse(commit), out, tally.file())
                except ObjectNotFound:
                    return None
                os.fsync(out.fileno())
            tally.file_done()
            return actual

        actual = _each(download, pairs)
        missing = [str(c) for (c, _), got in zip(pairs, actual) if got is None]
        if missing:
            raise ObjectNotFound(f"the artifact store {self.location} has no object {', '.join(missing)}")
        return actual  # type: ignore[return-value] - no None left

    def digests(
        self, commits: Sequence[Commit], progress: FilesProgress | None = None
    ) -> list[Commit | None]:
        """Re-hash the objects, :data:`FILES_IN_FLIGHT` at once: the commit of the bytes stored
        under each name, or None where there is no object."""
        tally = _Tally(progress)

        def digest(commit: Commit) -> Commit | None:
            try:
                return self.digest(commit)
            except ObjectNotFound:
                return None
            finally:
                tally.file_done()

        return _each(digest, commits)

    def _download(self, commit: Commit, out: BinaryIO, progress: Progress | None) -> Commit:
        """Stream the object into ``out``; returns the commit of the bytes read. They are hashed
        on a second thread while the next chunk is on its way, so checking costs (almost) no
        throughput."""
        hashing = _HashingThread()
        try:
            with self._errors(f"reading {commit}"):
                done = 0
                for chunk in obstore.get(self._store, self.key(commit)).stream(
                    min_chunk_size=READ_CHUNK
                ):
                    hashing.feed(chunk)
                    out.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done)
            return hashing.result()
        finally:
            hashing.stop()

    # --- errors -----------------------------------------------------------------------------

    def _errors(self, doing: str) -> _Errors:
        return _Errors(self, doing)


class _Errors:
    """Turns obstore's errors into ours: missing object, or the store unreachable."""

    def __init__(self, store: ObjectStore, doing: str) -> None:
        self.store, self.doing = store, doing

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, tb) -> bool:
        if error is None or isinstance(error, AlreadyExistsError):
            return False
        if isinstance(error, NotFoundError | FileNotFoundError):
            raise ObjectNotFound(
                f"the artifact store {self.store.location} has no object: {self.doing}"
            ) from None
        if isinstance(error, BaseError | ConnectionError | TimeoutError):
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            first = first.rsplit(" - ", 1)[-1]  # obstore: "<request> in <time> - <cause>"
            raise StoreUnavailable(
                f"the artifact store {self.store.location} failed while {self.doing}: {first}"
            ) from error
        return False


class _StreamReader:
    """A ``readinto`` over obstore's chunk stream, for :class:`VerifyingReader`."""

    def __init__(self, stream, store: ObjectStore, commit: Commit) -> None:
        self._stream, self._store, self._commit = stream, store, commit
        self._chunk, self._pos = memoryview(b""), 0

    def readinto(self, buf) -> int:
        if self._pos >= len(self._chunk):
            with self._store._errors(f"reading {self._commit}"):
                nxt = next(self._stream, None)
            if nxt is None:
                return 0
            self._chunk, self._pos = memoryview(nxt), 0
        n = min(len(buf), len(self._chunk) - self._pos)
        buf[:n] = self._chunk[self._pos : self._pos + n]
        self._pos += n
        return n

    def read(self, size: int = -1) -> bytes:
        out = bytearray()
        buf = bytearray(READ_CHUNK if size < 0 else size)
        while size < 0 or len(out) < size:
            n = self.readinto(memoryview(buf)[: READ_CHUNK if size < 0 else size - len(out)])
            if n == 0:
                break
            out += buf[:n]
        return bytes(out)

    def close(self) -> None:
        self._stream = iter(())


class _HashingThread:
    """sha256 on its own thread, fed chunk by chunk (the native hasher releases the GIL)."""

    def __init__(self) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=4)
        self._hasher = Hasher("sha256")
        self._thread = threading.Thread(target=self._run, name="receiptcore-fetch-hash")
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            self._hasher.update(chunk)

    def feed(self, chunk) -> None:
        self._queue.put(chunk)

    def result(self) -> Commit:
        self.stop()
        return Commit(self._hasher.hexdigest())

    def stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()


def _read_full(src: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes, fewer only at the end of ``src``."""
    parts, got = [], 0
    while got < size:
        chunk = src.read(size - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _delete_quietly(store, key: str) -> None:
    try:
        obstore.delete(store, key)
    except (BaseError, OSError):
        pass  # a left-over temporary object is never read: it is named by no commit


class Uploaded:
    """A batch of files the store already holds under their names: nothing left to place (the
    folder store's :class:`~receiptcore.store.local.Staged`, for object storage). ``copied``
    holds ``(sha256 hex, size)`` per file, in the order given."""

    def __init__(self, copied: list[tuple[str, int]]) -> None:
        self.copied = copied

    @property
    def size(self) -> int:
        return sum(size for _, size in self.copied)

    def place(self) -> None:
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class _Counting:
    """A reader that counts the bytes it gave."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw, self.count = raw, 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.count += len(data)
        return data


class _Tally:
    """One ``progress(bytes_done, files_done)`` over files moved on several threads."""

    def __init__(self, progress: FilesProgress | None) -> None:
        self._progress, self._lock = progress, threading.Lock()
        self._bytes = self._files = 0

    def file(self) -> Progress | None:
        """A callback for one file, given that file's bytes done so far."""
        if self._progress is None:
            return None
        last = 0

        def report(done: int) -> None:
            nonlocal last
            with self._lock:
                self._bytes += done - last
                last = done
                self._progress(self._bytes, self._files)  # type: ignore[misc]

        return report

    def file_done(self) -> None:
        if self._progress is not None:
            with self._lock:
                self._files += 1
                self._progress(self._bytes, self._files)


WINDOW = 1024  # calls submitted at once: a tree of 100,000 files is not 100,000 futures


def _each(fn: Callable, items: Sequence) -> list:
    """``fn`` of every item, :data:`FILES_IN_FLIGHT` at once, results in order. The first
    failure (or Ctrl-C) cancels the calls not yet begun, and is raised once the running ones
    have finished."""
    if len(items) <= 1:
        return [fn(item) for item in items]
    results: list = []
    with ThreadPoolExecutor(FILES_IN_FLIGHT, thread_name_prefix="receiptcore-store") as pool:
        for start in range(0, len(items), WINDOW):
            futures = [pool.submit(fn, item) for item in items[start : start + WINDOW]]
            try:
                results.extend(future.result() for future in futures)
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    return results
