"""The file rules: each a pure function of the files selected (path, size, kind, ``sniff``
result) and the configuration. What each rule is called and explains is in
:mod:`receiptcore.scan.catalogue`; the import-boundary rule lives in :mod:`receiptcore.scan.imports`.

A file is one finding, however many rules flag it: the most severe rule (the catalogue's order)
names it, the others are listed beside it, and the evidence says what each saw, once. A name
that promised weights (``.pth``, ``.bin``) whose content says otherwise is cleared, and why is
recorded (:class:`Cleared`).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from receiptcore._core import HEAD_BYTES, Entry, Listing, read_blobs, sniff, triage
from receiptcore.scan.catalogue import RULE_IDS
from receiptcore.scan.config import ScanConfig


@dataclass(frozen=True)
class Finding:
    """One thing the gate objects to: a file (with every rule that flagged it), a directory,
    a ``.gitattributes`` line or an import chain.

    ``key`` tells apart findings at one path (the import chain, the LFS pattern); ``content``
    names what was judged (``git:<object id>`` or ``sha256:<hex>``), so a baseline trusts
    those bytes, not the path; ``place`` is a file to show a directory's finding on.
    """

    rule: str
    path: str
    evidence: str
    format: str | None = None
    family: str | None = None
    size: int | None = None
    line: int | None = None
    key: str = ""
    also: tuple[str, ...] = ()
    content: str | None = None
    place: str | None = None

    @property
    def rules(self) -> tuple[str, ...]:
        """Every rule that flagged this, the most severe first."""
        return (self.rule, *self.also)

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "rules": list(self.rules), "path": self.path,
                "format": self.format, "family": self.family, "size": self.size,
                "evidence": self.evidence, "line": self.line, "content": self.content}


@dataclass(frozen=True)
class Cleared:
    """A file a name rule would flag that its content cleared, and why."""

    path: str
    evidence: str

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "evidence": self.evidence}


NO_LIMIT = (1 << 64) - 1  # large-file off: no size is over it
_ORDER = {rule: i for i, rule in enumerate(RULE_IDS)}
# Content families with a rule of their own. Any of them (or plain text) clears a name that
# promised weights: an LFS pointer named model.safetensors is a pointer, not weights.
_FAMILY_RULES = {"tensor_data": "tensor-data", "vector_index": "vector-index",
                 "dataset": "dataset", "lfs_pointer": "lfs-pointer",
                 "private_key": "private-key"}
_NOT_WEIGHTS = {*_FAMILY_RULES, "pickle", "text"}
# File patterns that, routed to Git LFS by .gitattributes, bring data or weights in.
_DATASET_EXTENSIONS = (".parquet", ".arrow", ".feather", ".orc", ".avro", ".tfrecord",
                       ".tfrecords", ".mdb", ".npy", ".npz", ".csv", ".jsonl", ".tar")


def check_files(entries: Listing, config: ScanConfig,
                root: Path | None = None) -> tuple[list[Finding], list[Cleared]]:
    """Every finding of the file rules (all but import-boundary) on the selected files, and
    the files whose content cleared their name.

    The native :func:`~receiptcore._core.triage` goes over every file once and hands back the
    few a rule could flag (recognised content, a submodule, unreadable, over the limit, a
    watched extension), and sums up what lies below each forbidden directory (its content is
    a digest of that listing, each file's object id or size, so a baselined directory that
    gains a file is new); only these reach the rules here.
    ``root`` is where the entries' paths are relative to, for the few contents read again here
    (a weight name's candidate that may be plain text, a ``.gitattributes``): from git's object
    store when the entry names a blob, so the commit is judged, not the checkout.
    """
    on = set(RULE_IDS) - set(config.disable)
    vector_extensions = config.vector_extensions if "vector-index" in on else ()
    extensions = sorted({*config.weight_extensions, ".onnx", *vector_extensions,
                         *((".gitattributes",) if "lfs-pointer" in on else ())})
    limit = min(config.max_file_size, NO_LIMIT) if "large-file" in on else NO_LIMIT
    forbidden = list(config.forbidden_dirs) if "forbidden-dir" in on else []
    candidates, dirs = triage(entries, extensions, limit, forbidden)
    judge = _Judge(config, on, vector_extensions, limit)
    heads = _Heads(root)
    for entry in candidates:
        if judge.needs_text(entry):
            heads.want(entry)
        if posixpath.basename(entry.path) == ".gitattributes" and "lfs-pointer" in on:
            heads.want(entry, whole=True)
    heads.read()
    findings: list[Finding] = []
    cleared: list[Cleared] = []
    for entry in candidates:
        if posixpath.basename(entry.path) == ".gitattributes" and "lfs-pointer" in on:
            findings += _lfs_routes(entry, heads.get(entry), config)
        found, note = judge.file(entry, heads.get(entry))
        if found:
            findings.append(found)
        elif note:
            cleared.append(Cleared(entry.path, note))
    for directory, files, total, first, listing in dirs:
        findings.append(Finding(
            "forbidden-dir", directory, size=total, place=first, content=listing,
            evidence=f"{files} file(s), {human_size(total)} below a forbidden directory "
                     f"name, e.g. {first}"))
    return findings, cleared


class _Judge:
    """The file rules, configured once for a scan."""

    def __init__(self, config: ScanConfig, on: set[str], vector_extensions: tuple[str, ...],
                 limit: int) -> None:
        self.config, self.on, self.limit = config, on, limit
        self.vector_extensions = vector_extensions

    def needs_text(self, entry: Entry) -> bool:
        """A weight name with no recognised content: plain text would clear it."""
        ext = posixpath.splitext(entry.path)[1].lower()
        return (entry.sniff is None and entry.kind == "file" and not entry.error
                and (ext in self.config.weight_extensions or ext == ".onnx"))

    def file(self, entry: Entry, head: bytes | None) -> tuple[Finding | None, str | None]:
        """The one finding for this file (or None), and a note when its content cleared it."""
        matched: dict[str, list[str]] = {}

        def add(rule: str, *parts: str | None) -> None:
            if rule in self.on:
                matched.setdefault(rule, []).extend(p for p in parts if p)

        sniffed = entry.sniff
        family = sniffed.family if sniffed else None
        described = f"{sniffed.format}: {sniffed.evidence}" if sniffed else None
        if entry.kind == "submodule":
            add("submodule", f"a submodule pinned at commit {entry.oid}: its files are another "
                "repository's, not scanned here")
            return self._finding(entry, matched, None), None
        if entry.error or family == "opaque":
            add("unreadable", entry.error or described)
        note = None
        if entry.kind == "file":
            if sniffed is not None and sniffed.unsafe_globals:
                add("unsafe-pickle", f"imports {', '.join(sniffed.unsafe_globals)} (outside "
                    "the allow-list)", described)
            if family in _FAMILY_RULES:
                add(_FAMILY_RULES[family], described)
            note = self._weights(entry, head, add, described)
            ext = posixpath.splitext(entry.path)[1].lower()
            if family is None and ext in self.vector_extensions:
                add("vector-index", f"extension {ext}: a vector store format with no content "
                    "signature to confirm (Annoy, Qdrant snapshot)")
        if entry.size > self.limit:
            add("large-file", self._large(entry))
        return self._finding(entry, matched, note), note

    def _weights(self, entry: Entry, head: bytes | None, add, described: str | None
                 ) -> str | None:
        """Adds the weights rule's evidence; returns why a weight name was cleared, if it was."""
        config, sniffed = self.config, entry.sniff
        ext = posixpath.splitext(entry.path)[1].lower()
        is_onnx = ext == ".onnx" or (sniffed is not None and sniffed.format == "onnx")
        if is_onnx and entry.size <= config.onnx_size_threshold:
            return None
        if sniffed is not None and sniffed.family == "weights":
            add("weights", described)
            return None
        if ext not in config.weight_extensions and ext != ".onnx":
            return None
        if sniffed is not None and sniffed.family in _NOT_WEIGHTS:
            return (f"extension {ext} cleared by content: {sniffed.format} "
                    f"({sniffed.family}), not weights")
        text = sniff(head, text=True) if head is not None and sniffed is None else None
        if text is not None and text.family == "text":
            return f"extension {ext} cleared by content: {text.evidence}, not weights"
        detail = f"extension {ext}"
        if ext == ".onnx":
            detail += f" over onnx_size_threshold ({human_size(config.onnx_size_threshold)})"
        add("weights", detail, described)
        return None

    def _large(self, entry: Entry) -> str | None:
        note = ""
        for allowed in self.config.allow_large:
            if allowed.matches(entry.path):
                if not allowed.ignored_only:
                    return None
                # Selected files are tracked (git) or not ignored (--all): never excused.
                note = f"; {allowed.path} is allowed only while git-ignored ({allowed.reason})"
        return (f"{human_size(entry.size)} > max_file_size "
                f"{human_size(self.config.max_file_size)}{note}")

    def _finding(self, entry: Entry, matched: dict[str, list[str]], note: str | None
                 ) -> Finding | None:
        rules = sorted((r for r, parts in matched.items() if parts), key=_ORDER.__getitem__)
        if not rules:
            return None
        parts = [p for rule in rules for p in matched[rule]] + ([note] if note else [])
        sniffed = entry.sniff
        return Finding(
            rules[0], entry.path, "; ".join(dict.fromkeys(parts)), also=tuple(rules[1:]),
            size=entry.size, format=sniffed.format if sniffed else None,
            family=sniffed.family if sniffed else None,
            content=f"git:{entry.oid}" if entry.oid else None)


class _Heads:
    """The contents the rules read again, all at once: from git's object store for entries that
    name a blob (one ``git cat-file`` for all), else from the file."""

    _WHOLE = 1 << 20  # a .gitattributes is read whole, up to this

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self.wanted: dict[str, tuple[Entry, int]] = {}
        self.got: dict[str, bytes | None] = {}

    def want(self, entry: Entry, whole: bool = False) -> None:
        self.wanted[entry.path] = (entry, self._WHOLE if whole else HEAD_BYTES)

    def read(self) -> None:
        if self.root is None or not self.wanted:
            return
        blobs = [(e, n) for e, n in self.wanted.values() if e.oid]
        if blobs:
            limit = max(n for _, n in blobs)
            data = read_blobs(str(self.root), [e.oid for e, _ in blobs], limit)
            self.got.update((e.path, d[:n] if d is not None else None)
                            for (e, n), d in zip(blobs, data, strict=True))
        for entry, n in self.wanted.values():
            if not entry.oid:
                try:
                    with open(self.root / entry.path, "rb") as f:
                        self.got[entry.path] = f.read(n)
                except OSError:
                    self.got[entry.path] = None

    def get(self, entry: Entry) -> bytes | None:
        return self.got.get(entry.path)


def _lfs_routes(entry: Entry, data: bytes | None, config: ScanConfig) -> list[Finding]:
    """The lines of a .gitattributes that send weight, dataset or vector patterns to LFS."""
    watched = (*config.weight_extensions, ".onnx", *config.vector_extensions,
               *_DATASET_EXTENSIONS)
    found = []
    text = (data or b"").decode("utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields or fields[0].startswith("#") or "filter=lfs" not in fields[1:]:
            continue
        pattern = fields[0].lower()
        if pattern.endswith(watched) or pattern in ("*", "**"):
            found.append(Finding(
                "lfs-pointer", entry.path, line=number, key=pattern,
                evidence=f"line {number}: {line.strip()!r} routes {fields[0]} to Git LFS: "
                         "weights or data would enter the repository as LFS pointers"))
    return found


def human_size(size: int) -> str:
    """``1536`` -> ``'1.5 KiB'``: sizes as people read them."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
