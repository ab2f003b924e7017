"""Native core of receiptcore (Rust, via PyO3). Re-exported by :mod:`receiptcore`."""

from collections.abc import Callable, Sequence
from os import PathLike
from typing import Literal, TypeAlias

from typing_extensions import Buffer

_Path: TypeAlias = str | bytes | PathLike[str] | PathLike[bytes]
_Algo: TypeAlias = Literal["sha256", "blake3"]

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

    Reads in 256 KiB / 1 MiB chunks (two in flight: a reader thread overlaps the hashing), so memory
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

# What canonicalize accepts: JSON's types as Python holds them.
_Json: TypeAlias = (
    dict[str, _Json] | list[_Json] | tuple[_Json, ...] | str | int | float | bool | None
)

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

class GitError(ReceiptcoreError):
    """git could not list the tracked files (not a repository, or git is missing)."""

_Family: TypeAlias = Literal["weights", "tensor_data", "vector_index"]
_Mode: TypeAlias = Literal["all", "gitignore", "git"]

class Sniff:
    """What :func:`sniff` recognised. Frozen; equal when all three fields are equal.

    ``format`` is a stable lowercase name (``"safetensors"``, ``"torch_zip"``, ``"faiss"``...,
    listed in ``docs/sniff.md``); ``family`` one of ``"weights"``, ``"tensor_data"``,
    ``"vector_index"``; ``evidence`` a short human string saying what was seen at which offset.
    """

    @property
    def format(self) -> str: ...
    @property
    def family(self) -> _Family: ...
    @property
    def evidence(self) -> str: ...

class Entry:
    """One file listed by :func:`walk`. Frozen.

    ``path`` is relative to the root (decoded like :func:`os.fsdecode`, so a non-UTF-8 name
    round-trips through :func:`os.fsencode`); ``size`` in bytes (of the link itself for a
    symlink); ``sniff`` as :func:`sniff` would say, or None; ``is_symlink`` for a symlink (never
    followed, never read); ``error`` is None, or why the file could not be read or named
    (unreadable file, FIFO, non-UTF-8 name, tracked but missing, unreadable directory).
    """

    def __init__(
        self,
        path: _Path,
        size: int,
        sniff: Sniff | None = None,
        is_symlink: bool = False,
        error: str | None = None,
    ) -> None:
        """An entry for a file chosen another way than :func:`walk` (the scan's ``--staged``
        and ``--diff``); ``sniff`` comes from :func:`sniff`."""
    @property
    def path(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def sniff(self) -> Sniff | None: ...
    @property
    def is_symlink(self) -> bool: ...
    @property
    def error(self) -> str | None: ...

def inspect_files(root: _Path, paths: list[str], /) -> list[Entry]:
    """What :func:`walk` does for each file, on files chosen elsewhere (the scan's ``--staged``
    and ``--diff``): ``paths`` are relative to ``root``, inspected in parallel and returned in
    the order given. A symlink is listed, not followed; a missing file or a name that is not
    UTF-8 sets ``error``."""

def triage(
    entries: list[Entry], extensions: list[str], max_size: int, forbidden_dirs: list[str], /
) -> tuple[list[Entry], list[tuple[str, list[Entry]]]]:
    """The scan's first pass over every file, in native code: the entries a file rule could
    flag (recognised by ``sniff``, unreadable, over ``max_size``, or whose name ends with one
    of ``extensions``, ASCII case ignored), and, for each topmost folder named in
    ``forbidden_dirs`` (as ``"a/datasets/"``, in first-seen order), the entries below it."""

def sniff(path_or_bytes: _Path | Buffer, /) -> Sniff | None:
    """Recognises model weights, tensor data and vector indexes by content, never by name.

    Bytes (``bytes``, ``bytearray``, ``memoryview``) are taken as the start of a file (the whole
    file for formats whose structure spans it). A path is read: at most 4 KiB from the start,
    64 bytes from the end, then targeted reads at offsets the header computes (at most 8 MiB,
    usually a few hundred bytes; see ``docs/sniff.md``). A directory is checked for Chroma and
    Lance stores. Nothing is loaded or unpickled. The GIL is released.

    Returns None for anything else (source, text, images, PDFs, plain zips...).

    Raises:
        FileNotFoundError, PermissionError, OSError: the path cannot be read (``filename`` set).
    """

def walk(root: _Path, mode: _Mode = "all") -> list[Entry]:
    """Lists every file under ``root`` on all cores and sniffs each, sorted by path.

    ``mode``: ``"all"`` every file; ``"gitignore"`` files not ignored by ``.gitignore`` (and
    ``.git/info/exclude``), hidden files included; ``"git"`` exactly the files tracked by git
    (from ``git ls-files``), even those that ``.gitignore`` matches. ``.git`` is never entered,
    symlinks are listed but never followed, and a file or directory that cannot be read is an
    entry with ``error`` set, not an exception. The GIL is released.

    Raises:
        FileNotFoundError, NotADirectoryError: ``root`` is missing or not a directory.
        GitError: mode ``"git"`` outside a git work tree, or git is missing.
        ValueError: unknown ``mode``.
    """
