"""Native core of receiptcore (Rust, via PyO3). Re-exported by :mod:`receiptcore`."""

from collections.abc import Callable, Sequence
from os import PathLike
from typing import Literal

from typing_extensions import Buffer

_Path = str | bytes | PathLike[str] | PathLike[bytes]
_Algo = Literal["sha256", "blake3"]

class ReceiptcoreError(Exception):
    """Base class of every receiptcore error."""

class FileChangedError(ReceiptcoreError):
    """A file changed size or mtime while it was being hashed."""

def hash_file(path: _Path, algo: _Algo = "sha256") -> str:
    """Digest of a file's bytes as lowercase hex.

    Reads in 2 MiB chunks (two buffers in flight: a reader thread overlaps the hashing), so memory
    stays constant whatever the size. The GIL is released; Ctrl-C interrupts.

    Raises:
        FileNotFoundError, PermissionError, IsADirectoryError, OSError: with ``filename`` set.
        FileChangedError: the size or mtime changed while hashing.
        ValueError: unknown ``algo``.
    """

def hash_files(
    paths: Sequence[_Path],
    algo: _Algo = "sha256",
    threads: int | None = None,
    progress: Callable[[int], object] | None = None,
) -> list[str]:
    """Digests of many files, hashed in parallel, returned in input order.

    ``threads`` defaults to one per core. ``progress`` is called about every 100 ms with the
    number of bytes hashed so far, and once at the end; if it raises, hashing stops and the
    exception propagates. The first failing path (in input order) raises as in :func:`hash_file`.
    """

class Hasher:
    """Incremental digest for streams: ``Hasher("sha256")``, then ``update()`` and ``hexdigest()``.

    ``update`` takes any contiguous buffer (bytes, bytearray, memoryview, numpy arrays of any
    dtype) and releases the GIL for buffers of 64 KiB or more. ``hexdigest`` may be called at any
    time; more bytes may follow.
    """

    def __init__(self, algo: _Algo = "sha256", data: Buffer | None = None) -> None: ...
    def update(self, data: Buffer, /) -> None: ...
    def hexdigest(self) -> str: ...
    def digest(self) -> bytes: ...
    def copy(self) -> Hasher: ...
    @property
    def name(self) -> str: ...
    @property
    def digest_size(self) -> int: ...
