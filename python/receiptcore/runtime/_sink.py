"""Where the bytes of a fetch go while they are hashed: memory, or a temporary file beside
``out`` that becomes ``out`` only through :meth:`Sink.keep` (nothing is left behind otherwise).

:meth:`Sink.receive` reads a stream into a few reused buffers and stores each one on the
receiving thread while a second thread hashes it: the socket, the file and the native hasher
release the GIL, so the receiving and the hashing overlap on two cores (one thread did both in
turn). Memory stays bounded by ``SLOTS * STEP`` besides the result. In memory the pieces are
written into one ``BytesIO`` whose ``getvalue()`` hands over its own ``bytes`` (CPython shares
the buffer when nothing else views it): no list of pieces joined at the end, which copied the
whole object once more and held it twice.
"""

from __future__ import annotations

import io
import os
import queue
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Self

from receiptcore._core import Hasher
from receiptcore.errors import ToolServerError

STEP = 4 << 20
"""Bytes received before they are handed to the hashing thread."""
SLOTS = 4
"""Buffers in flight when writing to a file."""


class Sink:
    def __init__(self, out: str | os.PathLike[str] | None, size: int) -> None:
        self.hasher, self.size, self.kept = Hasher("sha256"), 0, False
        self.declared = size
        self.path = None if out is None else Path(out)
        self._memory: io.BytesIO | None = None
        self._file = None
        self._failure: BaseException | None = None
        if self.path is None:
            self._memory = io.BytesIO()
        else:
            self._file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in __exit__
                dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".part", delete=False
            )
        self._store = self._memory if self._file is None else self._file

    def write(self, piece: bytes) -> None:
        """One piece, hashed on this thread (the chunks of a stdio fetch)."""
        if self.size + len(piece) > self.declared:
            raise ToolServerError(f"the server sent more than the {self.declared} bytes it declared")
        self.hasher.update(piece)
        self.size += len(piece)
        self._store.write(piece)

    def receive(self, read_into: Callable[[memoryview], int]) -> None:
        """Fill buffers with ``read_into`` (which returns how many bytes it put in, 0 at the
        end of the stream) up to the declared size; each is stored on this thread while another
        hashes it. Stops early if the stream does: :attr:`size` says how far it got."""
        filled: queue.SimpleQueue = queue.SimpleQueue()
        free: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(SLOTS):
            free.put(memoryview(bytearray(STEP)))
        hashing = threading.Thread(
            target=self._hash_filled, args=(filled, free), name="receiptcore-fetch-hash", daemon=True
        )
        hashing.start()
        try:
            while self.size < self.declared and self._failure is None:
                length = min(STEP, self.declared - self.size)
                slot = free.get()  # hashed: free to reuse (this thread stored it already)
                received = _fill(read_into, slot[:length])
                filled.put((slot, received))
                self._store.write(slot[:received])
                self.size += received
                if received < length:
                    break  # the stream ended before the declared size
        finally:
            filled.put(None)
            hashing.join()
        if self._failure is not None:
            raise self._failure

    def _hash_filled(self, filled: queue.SimpleQueue, free: queue.SimpleQueue) -> None:
        while (item := filled.get()) is not None:
            slot, received = item
            try:
                if self._failure is None:
                    self.hasher.update(slot[:received])
            except BaseException as error:  # noqa: BLE001 - raised again on the receiving thread
                self._failure = error
            finally:
                free.put(slot)

    @property
    def data(self) -> bytes | None:
        return None if self._memory is None else self._memory.getvalue()

    def keep(self) -> None:
        self.kept = True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is None:
            return
        self._file.close()
        if self.kept:
            os.replace(self._file.name, self.path)
        else:
            os.unlink(self._file.name)


def _fill(read_into: Callable[[memoryview], int], region: memoryview) -> int:
    """Bytes read into ``region``: all of it, or fewer where the stream ended."""
    done = 0
    while done < len(region):
        got = read_into(region[done:])
        if not got:
            break
        done += got
    return done
