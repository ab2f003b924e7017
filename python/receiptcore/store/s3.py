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

Transient failures are retried by obstore (5xx, dropped connections; exponential backoff, up to
``$RECEIPTCORE_RETRY_SECONDS``, default 30); what still fails is :class:`StoreUnavailable` (exit 21).
"""

from __future__ import annotations

import os
import queue
import secrets
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

import obstore
from obstore.exceptions import AlreadyExistsError, BaseError, NotFoundError

from receiptcore._core import Hasher
from receiptcore.commit import Commit
from receiptcore.errors import ConfigError, ObjectNotFound, StoreUnavailable
from receiptcore.store.base import Progress, StoreReads, VerifyingReader
from receiptcore.util.locations import retry_seconds

PART = 8 << 20  # multipart part size, and the largest object sent in one PUT
CONCURRENCY = 4  # parts in flight: memory is about PART * CONCURRENCY
READ_CHUNK = 4 << 20


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
        with open(path, "rb") as src:
            return self.put_stream(src, progress)

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
        """Download to ``dest``, verified: the bytes are hashed on a second thread while the
        next chunk is on its way, so checking costs (almost) no throughput."""
        commit = Commit.parse(commit)
        dest = Path(dest)
        tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.part")
        hashing = _HashingThread()
        try:
            with self._errors(f"reading {commit}"), open(tmp, "xb") as out:
                done = 0
                for chunk in obstore.get(self._store, self.key(commit)).stream(
                    min_chunk_size=READ_CHUNK
                ):
                    hashing.feed(chunk)
                    out.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done)
            actual = hashing.result()
            if actual != commit:
                from receiptcore.errors import DigestMismatch

                raise DigestMismatch(
                    f"object {commit} read back as {actual}: it is truncated, corrupted or swapped"
                )
            os.replace(tmp, dest)
        finally:
            hashing.stop()
            tmp.unlink(missing_ok=True)

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
