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

class CanonicalizationError(ReceiptcoreError):
    """A value has no RFC 8785 canonical form, or a JSON text is not strictly valid.

    The message says what and where; ``pointer`` is the RFC 6901 JSON pointer of the place
    (``""`` for the whole document).
    """

    pointer: str

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

_Json = dict[str, "_Json"] | list["_Json"] | tuple["_Json", ...] | str | int | float | bool | None

def canonicalize(obj: _Json) -> bytes:
    """RFC 8785 (JCS) canonical JSON bytes of a Python value.

    Takes ``dict`` (str keys), ``list``/``tuple``, ``str``, ``int``, ``float``, ``bool`` and
    ``None`` (subclasses are read as their base type; no Python code runs during the walk).
    Members are sorted by the UTF-16 code units of their keys; numbers are written as
    ECMAScript's ``Number.prototype.toString``; no whitespace.

    Raises:
        CanonicalizationError: NaN or an infinity; an ``int`` that no double equals exactly
            (2**53 + 1 is refused, 2**60 is written as ``1152921504606847000``); a lone
            surrogate in a string or key; a non-str key; another type; nesting deeper than
            512 arrays/objects (this also stops a container that contains itself).
    """

def canonicalize_json(text: str | bytes | bytearray) -> bytes:
    """RFC 8785 canonical bytes of a JSON text, parsed strictly in Rust.

    Refused besides what :func:`canonicalize` refuses: duplicate keys, invalid UTF-8, a byte
    order mark, lone surrogate escapes (``"\\ud800"``), numbers beyond the double range, and any
    syntax RFC 8259 does not allow (comments, trailing commas, leading zeros, single quotes).
    Texts of 64 KiB or more are processed with the GIL released.

    Raises:
        CanonicalizationError: with the byte offset and the JSON pointer of the fault.
        TypeError: ``text`` is not str, bytes or bytearray.
    """

def canonical_sha256(obj: _Json) -> str:
    """Lowercase hex sha256 of :func:`canonicalize` ``(obj)``, without building the bytes.

    The canonical bytes are hashed in 64 KiB chunks as they are written. Raises as
    :func:`canonicalize`.
    """
