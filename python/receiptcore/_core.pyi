"""Native core of receiptcore (Rust, via PyO3). Re-exported by :mod:`receiptcore`."""

from collections.abc import Callable, Sequence
from os import PathLike
from typing import Literal, Self, TypeAlias, final

from typing_extensions import Buffer

__version__: str
"""The package version, from Cargo.toml (the one place it is written)."""

# Every path argument takes what open() takes; bytes are used as they are (names need not be
# UTF-8). Every buffer argument is read in place, never copied.
__all__ = [
    "HEAD_BYTES",
    "CanonicalizationError",
    "Entry",
    "FileChangedError",
    "FillableBytes",
    "Frontier",
    "GitError",
    "Hasher",
    "Listing",
    "PendingListing",
    "ReceiptcoreError",
    "Sniff",
    "__version__",
    "allowed_globals",
    "canonical_sha256",
    "canonicalize",
    "canonicalize_json",
    "copy_files",
    "ed25519_verify_many",
    "files_containing",
    "frontier_positions",
    "hash_file",
    "hash_files",
    "inspect_files",
    "is_allowed_global",
    "leaf_hashes",
    "place_files",
    "read_blobs",
    "sniff",
    "start_listing",
    "triage",
    "walk",
]

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
    progress: Callable[[int, int], object] | None = None,
) -> list[str]:
    """Digests of many files, hashed in parallel, returned in input order.

    ``threads`` defaults to one per core. ``progress(bytes_done, files_done)`` is called about
    every 100 ms, and once at the end; if it raises, hashing stops and the exception
    propagates. The first failing path (in input order) raises as in :func:`hash_file`.
    """

def copy_files(
    pairs: Sequence[tuple[_Path, _Path]],
    *,
    algo: _Algo = "sha256",
    durable: bool = True,
    threads: int | None = None,
    progress: Callable[[int, int], object] | None = None,
) -> list[tuple[str, int]]:
    """Copies each ``(source, destination)`` pair while hashing it: one read of each byte
    serves the copy and its digest. Returns ``(hex digest, size)`` per pair, in input order.

    Files are copied in parallel (``threads``, default one per core) with the GIL released;
    ``progress(bytes_done, files_done)`` is called about every 100 ms. A source is opened
    without following a symlink and must be a regular file that does not change while it is
    read (as :func:`hash_file` judges it). A destination is created, never replaced; a chunk
    of zeros is skipped over, not written, so a sparse source gives a sparse copy. ``durable``:
    writeback starts as each window is written, and each copy is fsynced before this returns.

    The first failure cancels the rest, and every destination of the batch that is not
    complete is removed (complete ones are the caller's to remove).

    Raises:
        FileNotFoundError, PermissionError, IsADirectoryError, FileExistsError, OSError: with
            ``filename`` set (a symlink or special file as a source: OSError, EINVAL).
        FileChangedError: a source changed while it was read.
        KeyboardInterrupt: Ctrl-C, or the batch was cancelled.
    """

def place_files(pairs: Sequence[tuple[_Path, _Path]], *, mode: int | None = None) -> list[bool]:
    """Renames each finished file ``(temporary, name)`` to its name unless that name exists
    (then the temporary is removed: for content-addressed names the content is the same);
    ``mode`` is set first when given, missing parent folders are made, and every folder that
    gained a name is fsynced before this returns. Returns, per pair, whether the name is new.
    The GIL is released.

    Raises:
        OSError: naming the path that could not be renamed, made or synced.
    """

@final
class Hasher:
    """Incremental digest for streams: ``Hasher("sha256")``, then ``update()`` and ``hexdigest()``.

    ``update`` takes any contiguous buffer (bytes, bytearray, memoryview, numpy arrays of any
    dtype), reads it in place, and releases the GIL for buffers of 64 KiB or more. A strided
    view (a numpy slice with a step) raises BufferError. ``hexdigest`` may be called at any
    time; more bytes may follow.
    """

    def __new__(cls, algo: _Algo = "sha256", data: Buffer | None = None) -> Self: ...
    def update(self, data: Buffer, /) -> None: ...
    def hexdigest(self) -> str: ...
    def digest(self) -> bytes: ...
    def copy(self) -> Hasher: ...
    @property
    def name(self) -> str: ...
    @property
    def digest_size(self) -> int: ...

@final
class FillableBytes:
    """A ``bytes`` of ``size`` bytes written in place: ``memoryview(it)`` is a writable view of
    its storage (a socket reads straight into it); ``populate(begin, end)`` asks the kernel to
    back those pages now, in one call with the GIL released (Linux; elsewhere a no-op);
    ``finish()`` hands the ``bytes`` over once no view is left (BufferError while one is), and
    no view can be made after it.
    """

    def __new__(cls, size: int) -> Self: ...
    def __len__(self) -> int: ...
    def populate(self, begin: int, end: int) -> None: ...
    def finish(self) -> bytes: ...

# Ed25519 (receiptcore.signing.dsse checks receipt signatures with it).

def ed25519_verify_many(checks: Sequence[tuple[Buffer, Buffer, Buffer]]) -> list[bool]:
    """For each ``(public_key, message, signature)``, whether the signature is the raw 32-byte
    key's over the message: RFC 8032 verification, strict (``S < L``, and a key or ``R`` of small
    order refused), each check on its own (no batch equation). The GIL is released when every
    argument is ``bytes``. A key or signature of the wrong length is ``False``.
    """

# RFC 6962 Merkle log (receiptcore.ledger.merkle builds and checks proofs; these are the hot
# loops of an append).

def leaf_hashes(data: Sequence[Buffer]) -> list[bytes]:
    """RFC 6962 leaf hashes, ``sha256(0x00 || d)``, of many buffers, in order.

    One call per batch of appends: the GIL is released while hashing (from 64 KiB in all).
    """

def frontier_positions(size: int) -> list[tuple[int, int]]:
    """The perfect subtrees ``(level, index)`` that make up a tree of ``size`` leaves, left to
    right: one per bit set in ``size``."""

@final
class Frontier:
    """The right edge of a growing RFC 6962 tree: the roots of its perfect subtrees, largest
    first. It is all an appender or an auditor carries.

    ``Frontier(size, hashes)`` rebuilds the edge of a tree of ``size`` leaves from the hashes at
    ``frontier_positions(size)`` (ValueError if their number or length is wrong).
    """

    def __new__(cls, size: int = 0, hashes: Sequence[Buffer] = ...) -> Self: ...
    @property
    def size(self) -> int: ...
    def hashes(self) -> list[bytes]:
        """The hashes at ``frontier_positions(size)``, in order."""
    def append(self, leaf: Buffer) -> list[tuple[int, int, bytes]]:
        """Add one leaf hash; the ``(level, index, hash)`` of every interior subtree it
        completed."""
    def extend(self, leaves: Sequence[Buffer]) -> list[tuple[int, int, bytes]]:
        """Add many leaf hashes at once (the GIL released); the ``(level, index, hash)`` of every
        interior subtree they completed, level by level."""
    def root(self) -> bytes:
        """The tree's root hash (``sha256("")`` for the empty tree)."""

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

def canonicalize_json(text: str | Buffer) -> bytes:
    """RFC 8785 canonical bytes of a JSON text, parsed strictly in Rust.

    Refused besides what :func:`canonicalize` refuses: duplicate keys, invalid UTF-8, a byte
    order mark, lone surrogate escapes (``"\\ud800"``), numbers beyond the double range, and any
    syntax RFC 8259 does not allow (comments, trailing commas, leading zeros, single quotes).
    Bytes may come in any contiguous buffer (bytes, bytearray, memoryview...), read in place.
    A ``str`` or ``bytes`` text of 64 KiB or more is processed with the GIL released (other
    buffers could change meanwhile, so they keep it).

    Raises:
        CanonicalizationError: with the byte offset and the JSON pointer of the fault.
        TypeError: ``text`` is neither str nor a bytes-like object.
        BufferError: a strided buffer.
    """

def canonical_sha256(obj: _Json) -> str:
    """Lowercase hex sha256 of :func:`canonicalize` ``(obj)``, without building the bytes.

    The canonical bytes are hashed in 64 KiB chunks as they are written. Raises as
    :func:`canonicalize`.
    """

class GitError(ReceiptcoreError):
    """git could not list files (not a repository, git missing, an unknown revision)."""

_Family: TypeAlias = Literal[
    "weights", "tensor_data", "vector_index", "dataset", "pickle", "lfs_pointer", "private_key",
    "text", "opaque",
]
_Mode: TypeAlias = Literal["all", "tree", "gitignore", "git"]
_Kind: TypeAlias = Literal["file", "symlink", "special", "directory", "submodule"]
_Selection: TypeAlias = Literal["git", "staged", "diff", "all"]

HEAD_BYTES: int
"""Bytes :func:`sniff` and :func:`walk` read from the start of every file (4096)."""

@final
class Sniff:
    """What :func:`sniff` recognised. Frozen; equal when every field is equal.

    ``format`` is a stable lowercase name (``"safetensors"``, ``"torch_zip"``, ``"pickle"``,
    ``"parquet"``..., listed in ``docs/sniff.md``); ``family`` one of ``"weights"``,
    ``"tensor_data"``, ``"vector_index"``, ``"dataset"``, ``"pickle"`` (plain data),
    ``"lfs_pointer"``, ``"private_key"``, ``"text"`` (only with ``sniff(..., text=True)``) or
    ``"opaque"`` (a container that could not be opened, so not cleared); ``evidence`` a short
    human string saying what was seen at which offset.
    """

    @property
    def format(self) -> str: ...
    @property
    def family(self) -> _Family: ...
    @property
    def evidence(self) -> str: ...
    @property
    def globals(self) -> tuple[str, ...]:
        """Every ``module.name`` a pickle in the file imports (GLOBAL, INST, STACK_GLOBAL),
        in the order first seen; empty when there is no pickle."""
    @property
    def unsafe_globals(self) -> tuple[str, ...]:
        """Why loading the file could run code: imports outside :func:`allowed_globals`, names
        computed at load time, extension codes, a BUILD that edits a module or class, a pickle
        too long to read to its end. Empty when nothing of the kind was seen."""

@final
class Entry:
    """One file listed by :func:`walk` or :func:`start_listing`. Frozen.

    ``path`` is relative to the root (decoded like :func:`os.fsdecode`, so a non-UTF-8 name
    round-trips through :func:`os.fsencode`); ``size`` in bytes (of the link itself for a
    symlink; of the blob in git's listings); ``sniff`` as :func:`sniff` would say, or None
    (always None when walked with ``sniff=False``); ``kind`` is ``"file"``, ``"symlink"``
    (never followed, never read), ``"special"`` (a FIFO, socket or device: never opened, and
    ``error`` says which), ``"submodule"`` (in git's listings: never entered, ``oid`` is the
    commit it pins) or ``"directory"`` (only with ``error``: a folder that could not be listed,
    or one found where git tracks a file); ``error`` is None, or why the file could not be read
    or named (unreadable file, special file, non-UTF-8 name, blob missing, unreadable folder);
    ``oid`` the git object judged (a blob, or a submodule's commit) in git's listings;
    ``cached`` when the verdict came from the scan cache and nothing was read.
    """

    def __new__(
        cls,
        path: _Path,
        size: int,
        sniff: Sniff | None = None,
        kind: _Kind = "file",
        error: str | None = None,
        oid: str | None = None,
    ) -> Self:
        """An entry for a file chosen another way than :func:`walk`; ``sniff`` comes from
        :func:`sniff`.

        Raises:
            ValueError: an unknown ``kind``, or an ``oid`` that is not 40 or 64 hex digits.
        """
    @property
    def path(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def sniff(self) -> Sniff | None: ...
    @property
    def kind(self) -> _Kind: ...
    @property
    def error(self) -> str | None: ...
    @property
    def oid(self) -> str | None: ...
    @property
    def cached(self) -> bool: ...

def inspect_files(root: _Path, paths: Sequence[_Path], /) -> list[Entry]:
    """What :func:`walk` does for each file, on files chosen elsewhere (the scan's ``--staged``
    and ``--diff``): ``paths`` are relative to ``root``, inspected in parallel and returned in
    the order given. A symlink is listed, not followed; a missing file or a name that is not
    UTF-8 sets ``error``."""

def triage(
    listing: Listing, extensions: list[str], max_size: int, forbidden_dirs: list[str], /
) -> tuple[list[Entry], list[tuple[str, int, int, str, str]]]:
    """The scan's first pass over every file, in native code: the entries a file rule could
    flag (recognised by ``sniff``, a submodule, unreadable, over ``max_size``, or whose name
    ends with one of ``extensions``, ASCII case ignored), and, for each topmost folder named in
    ``forbidden_dirs`` (ASCII case ignored; as ``"a/datasets/"``, in first-seen order), what
    lies below it: ``(dir, files, bytes, first path, "sha256:<digest of the listing>")``, the
    listing being each file's path and object id (or size outside git)."""

def sniff(path_or_bytes: str | PathLike[str] | PathLike[bytes] | Buffer, /, *,
          text: bool = False) -> Sniff | None:
    """Recognises model weights, tensor data, vector indexes, datasets, pickles (with their
    imports), Git LFS pointers and private keys by content, never by name.

    A buffer (``bytes``, ``bytearray``, ``memoryview``, any contiguous buffer, read in place)
    is taken as the start of a file (the whole file for formats whose structure spans it); a
    ``str`` or ``os.PathLike`` is a path. A path is read: at most 4 KiB from the start,
    64 bytes from the end, then targeted reads at offsets the header computes (at most 8 MiB,
    usually a few hundred bytes; see ``docs/sniff.md``). Containers (zip, tar, gzip, bz2, xz,
    lzma, zstd) are looked into, three deep, inflating at most 64 MiB per file through a small
    window. A directory is checked for Chroma and Lance stores. Nothing is loaded or
    unpickled. The GIL is released for paths, and for ``bytes`` of 64 KiB or more.

    ``text=True``: content that is none of these but plain UTF-8 text gives a Sniff of family
    ``"text"`` (to clear a name such as ``.pth`` that promised a binary format).

    Returns None for anything else (source, text, images, PDFs, plain zips...).

    Raises:
        FileNotFoundError, PermissionError, OSError: the path cannot be read (``filename`` set).
        TypeError: neither a path nor a bytes-like object.
        BufferError: a strided buffer.
    """

def allowed_globals() -> tuple[str, ...]:
    """The imports a pickle may make without being unsafe: tensor-rebuild and container
    callables (``*`` matches part of one name). Listed in ``docs/sniff.md``."""

def is_allowed_global(name: str, /) -> bool:
    """Whether ``module.name`` is on :func:`allowed_globals` (names compared whole)."""

def files_containing(paths: Sequence[_Path], needles: Sequence[bytes]) -> list[bool]:
    """For each path, whether the file contains one of ``needles``; read whole, in parallel,
    the GIL released. A file that cannot be read contains nothing."""

def walk(
    root: _Path, mode: _Mode = "all", *, sniff: bool = True, empty_dirs: bool = False
) -> list[Entry]:
    """Lists every file under ``root`` on all cores and sniffs each, sorted by path bytes.

    ``mode``: ``"all"`` every file outside ``.git``; ``"tree"`` every file, ``.git`` included
    (what ``receiptcore hash``, ``manifest dataset`` and a tree artifact commit to);
    ``"gitignore"`` files not ignored by ``.gitignore`` (and ``.git/info/exclude``), hidden
    files included, ``.git`` left out; ``"git"`` exactly the files tracked by git (the index, as ``git
    ls-files`` lists it), even those that ``.gitignore`` matches, submodules included. ``sniff=False``
    only lists: no file is opened, and each size comes from one ``lstat``. ``empty_dirs``: also
    list every folder that holds nothing at all, as an entry of kind ``"directory"`` whose
    ``error`` is ``"an empty folder"`` (what a tree of files cannot record; not in mode
    ``"git"``). Symlinks are listed but never followed, and a file or directory that cannot be
    read is an entry with ``error`` set, not an exception. The GIL is released.

    In mode ``"git"`` the commit is judged: each entry is the blob in the index (``oid`` set),
    read from the working tree where that holds the same bytes and from git's object store
    where it may not (changed since staged, missing, converted on checkout by ``.gitattributes``
    or ``core.autocrlf``); submodules are entries of kind ``"submodule"`` with their commit.

    Raises:
        FileNotFoundError, NotADirectoryError: ``root`` is missing or not a directory.
        GitError: mode ``"git"`` outside a git work tree, or git is missing.
        ValueError: unknown ``mode``.
    """

@final
class Listing:
    """The files a scan selected, kept native: ``listing[i]`` makes an :class:`Entry` only when
    asked, and :func:`triage` hands back only the few a rule could flag. Frozen."""

    def __new__(cls, entries: Sequence[Entry], /) -> Self:
        """A listing of entries made elsewhere."""
    def __len__(self) -> int: ...
    def __getitem__(self, index: int, /) -> Entry: ...
    @property
    def cached(self) -> int:
        """How many entries were judged from the verdict cache, nothing read."""

def start_listing(root: _Path, selection: _Selection, base: str | None = None) -> PendingListing:
    """Starts the scan's listing on a native thread and returns at once (git's index is read
    meanwhile; no listed file is read before :meth:`PendingListing.finish`): ``"git"`` the
    index, ``"staged"`` what the index adds or changes, ``"diff"`` what ``base...HEAD`` adds or
    changes (judged as HEAD's blobs), all three judged as :func:`walk` judges mode ``"git"``;
    ``"all"`` the working tree minus ``.gitignore``.

    Raises:
        ValueError: unknown ``selection``, or ``"diff"`` without ``base``.
    """

@final
class PendingListing:
    """A listing begun by :func:`start_listing`."""

    def finish(self, cache: _Path | None = None) -> Listing:
        """The listing, once done. ``cache``: a file of verdicts (read, then written back when
        something new was learnt), by git object id in git's listings and by path and
        ``lstat`` status in ``"all"``; entries found there are not read at all
        (``Entry.cached``). Once only; the GIL is released while it waits.

        Raises:
            GitError: not a git work tree, git missing, or an unknown ``base``.
            OSError: the root is missing or not a folder.
            ValueError: finished already.
        """

def read_blobs(root: _Path, oids: list[str], limit: int, /) -> list[bytes | None]:
    """The first ``limit`` bytes of each git blob (None for one git does not have), through one
    ``git cat-file --batch``; the GIL is released.

    Raises:
        GitError: git cannot run in ``root``.
        ValueError: an oid that is not 40 or 64 hex digits.
    """
