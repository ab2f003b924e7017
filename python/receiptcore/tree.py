"""Folders as artifacts: what a folder holds as a tree, its manifest and commit, and how a
folder (or a store's copy of a tree) differs from a tree manifest.

A tree is files only (see :mod:`receiptcore.contracts.tree`): every regular file below the
root, hidden ones and a ``.git`` folder's included, named by its ``/``-separated path relative
to the root. The native walk is the one lister:
it never follows a symlink and reports what it cannot read, so this module only decides what a
tree may hold. Publishing refuses what it cannot record (:func:`refuse_unrecordable`);
verifying a folder reports the same things as differences instead.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from receiptcore._core import canonicalize, walk
from receiptcore.commit import Commit
from receiptcore.errors import TreeRefused

KIND = "tree_manifest"


@dataclass
class Listing:
    """What a folder holds: its regular files ``(relative path, size)``, sorted by path bytes,
    and everything a tree cannot record ``(relative path, why)``."""

    root: Path
    files: list[tuple[str, int]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)

    def paths(self) -> list[str]:
        """The files' paths on disk, in the order of :attr:`files`."""
        root = os.fspath(self.root)
        return [os.path.join(root, rel) for rel, _ in self.files]

    @property
    def size(self) -> int:
        return sum(size for _, size in self.files)


def list_folder(root: str | os.PathLike[str]) -> Listing:
    """The files below ``root`` and what a tree cannot record (FileNotFoundError or
    NotADirectoryError if ``root`` is not a folder)."""
    root = Path(root)
    listing = Listing(root)
    for entry in walk(root, "tree", sniff=False, empty_dirs=True):
        rel = os.fsdecode(entry.path)
        why = _unrecordable(rel, entry)
        if why is None:
            listing.files.append((rel, entry.size))
        else:
            listing.refused.append((rel, why))
    return listing


def _unrecordable(rel: str, entry: Any) -> str | None:
    if entry.kind == "symlink":
        return "a symlink"
    if entry.error is not None:
        return entry.error
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in rel):
        return "its name holds a control character"
    return None


def refuse_unrecordable(listing: Listing) -> None:
    """TreeRefused naming every path a tree cannot record, or an empty folder."""
    if listing.refused:
        shown = "; ".join(f"{shown_name(rel)} ({why})" for rel, why in listing.refused)
        raise TreeRefused(
            f"{os.fspath(listing.root)} holds what a tree artifact cannot record: {shown} "
            "(a tree is regular files with UTF-8 names; copy symlinked files in with "
            "`cp -rL`, and put a file in an empty folder or remove it)"
        )
    if not listing.files:
        raise TreeRefused(f"{os.fspath(listing.root)} holds no file: an empty tree is not an artifact")


def shown_name(rel: str) -> str:
    """A path as text a terminal can show: bytes that are not UTF-8 as ``\\xe9``."""
    return rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class ManifestReader(io.RawIOBase):
    """The RFC 8785 bytes of the tree manifest of ``(path, size, sha256 hex)`` rows, as a
    stream: what the store keeps under the tree's commit, made while the store reads it, so the
    13 MB of a 100,000-file manifest are never held whole (see :func:`_manifest_parts`)."""

    def __init__(self, files: Iterable[tuple[str, int, str]]) -> None:
        super().__init__()
        self._parts, self._pending = _manifest_parts(files), b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        view, n = memoryview(buffer).cast("B"), 0
        while n < len(view):
            if not self._pending:
                self._pending = next(self._parts, b"")
                if not self._pending:
                    break
            taken = self._pending[: len(view) - n]
            view[n : n + len(taken)] = taken
            n += len(taken)
            self._pending = self._pending[len(taken) :]
        return n


def tree_commit(files: Iterable[tuple[str, int, str]]) -> Commit:
    """``artifact_commit`` of a tree: sha256 of its manifest's RFC 8785 bytes, hashed as they
    are made (a verifier needs the commit, not the 13 MB of a 100,000-file manifest)."""
    digest = hashlib.sha256()
    for part in _manifest_parts(files):
        digest.update(part)
    return Commit(digest.hexdigest())


def _manifest_parts(files: Iterable[tuple[str, int, str]]) -> Iterator[bytes]:
    """The manifest's RFC 8785 bytes, piece by piece: the same bytes as ``canonicalize`` of the
    whole document (``{"kind", "schema_version", "files"}``), made one entry at a time. RFC 8785
    writes an array as its canonical elements joined by commas, and the manifest's three keys
    sort as ``files``, ``kind``, ``schema_version``, so a tree of 100,000 files never exists as
    100,000 dicts at once."""
    yield b'{"files":['
    for i, (path, size, digest) in enumerate(sorted(files, key=lambda row: row[0])):
        if i:
            yield b","
        yield canonicalize({"path": path, "size": size, "sha256": digest})
    # the rest of the top-level object: its other two members and the closing brace
    yield b"]," + canonicalize({"kind": KIND, "schema_version": 1})[1:]


def read_manifest(data: bytes, source: str):  # -> receiptcore.contracts.TreeManifest
    """A stored or given tree manifest, checked against its contract (SchemaError if not)."""
    from receiptcore.contracts import TreeManifest, load

    return load(TreeManifest, data, source)


@dataclass
class Differences:
    """How a folder differs from a tree: every path missing, extra or changed (with why)."""

    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.missing or self.extra or self.changed)

    def describe(self) -> str:
        parts = []
        for name, paths in (("changed", self.changed), ("missing", self.missing), ("extra", self.extra)):
            if paths:
                parts.append(f"{len(paths)} {name}: {', '.join(paths)}")
        return "; ".join(parts)


def compare(
    expected: Sequence[tuple[str, int, str]],
    listing: Listing,
    digests: Sequence[str | None],
) -> Differences:
    """Every difference between the tree ``expected`` (``(path, size, sha256)`` rows) and a
    folder's ``listing`` whose files hashed to ``digests`` (None: not hashed, as its size
    already differs)."""
    found = {rel: (size, digest) for (rel, size), digest in zip(listing.files, digests)}
    odd = dict(listing.refused)
    out = Differences()
    for path, size, digest in expected:
        if path in found:
            got_size, got = found.pop(path)
            if got_size != size:
                out.changed.append(f"{path} (size {size} -> {got_size})")
            elif got != digest:
                out.changed.append(f"{path} (content)")
        elif path in odd:
            out.changed.append(f"{path} (now {odd.pop(path)})")
        else:
            out.missing.append(path)
    out.extra = sorted([*found, *(f"{shown_name(rel)} ({why})" for rel, why in odd.items())])
    return out
