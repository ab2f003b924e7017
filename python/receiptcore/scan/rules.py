"""The file rules: each a pure function of the files selected (path, size, ``sniff`` result)
and the configuration. What each rule is called and explains is in
:mod:`receiptcore.scan.catalogue`; the import-boundary rule lives in :mod:`receiptcore.scan.imports`.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from receiptcore._core import Entry, sniff, triage
from receiptcore.scan.catalogue import RULE_IDS
from receiptcore.scan.config import ScanConfig


@dataclass(frozen=True)
class Finding:
    """One thing the gate objects to. ``key`` tells apart findings of one rule at one path (the
    import chain), for the baseline."""

    rule: str
    path: str
    evidence: str
    format: str | None = None
    family: str | None = None
    size: int | None = None
    line: int | None = None
    key: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "path": self.path, "format": self.format,
                "family": self.family, "size": self.size, "evidence": self.evidence,
                "line": self.line}


_NO_LIMIT = (1 << 64) - 1  # large-file off: no size is over it
# Content families that are not weights: a file named like weights whose content is one of
# these is cleared of the name rule (an LFS pointer named model.safetensors, a text .pth).
_NOT_WEIGHTS = {"pickle", "lfs_pointer", "private_key", "dataset", "text", "tensor_data",
                "vector_index"}
# File patterns that, routed to Git LFS by .gitattributes, bring data or weights in.
_DATASET_EXTENSIONS = (".parquet", ".arrow", ".feather", ".orc", ".avro", ".tfrecord",
                       ".tfrecords", ".mdb", ".npy", ".npz", ".csv", ".jsonl", ".tar")
_FAMILY_RULES = {"dataset": "dataset", "lfs_pointer": "lfs-pointer",
                 "private_key": "private-key"}


def check_files(entries: list[Entry], config: ScanConfig,
                root: Path | None = None) -> list[Finding]:
    """Every finding of the file rules (all but import-boundary) on the selected files.

    The native :func:`~receiptcore._core.triage` goes over every file once and hands back the
    few a rule could flag (recognised content, unreadable, over the limit, a watched extension)
    and those below forbidden directories; only these reach the rules here. ``root`` is where
    the entries' paths are relative to, for the few files re-read here (a name rule's
    candidate whose content may clear it, a ``.gitattributes``).
    """
    on = set(RULE_IDS) - set(config.disable)
    vector_extensions = config.vector_extensions if "vector-index" in on else ()
    extensions = sorted({*config.weight_extensions, ".onnx", *vector_extensions,
                         *((".gitattributes",) if "lfs-pointer" in on else ())})
    limit = min(config.max_file_size, _NO_LIMIT) if "large-file" in on else _NO_LIMIT
    forbidden = list(config.forbidden_dirs) if "forbidden-dir" in on else []
    candidates, dirs = triage(entries, extensions, limit, forbidden)
    findings: list[Finding] = []
    for entry in candidates:
        family = getattr(entry.sniff, "family", None)
        if (entry.error or family == "opaque") and "unreadable" in on:
            findings.append(Finding("unreadable", entry.path, entry.error or (
                f"{entry.sniff.format}: {entry.sniff.evidence}"), size=entry.size))
        if entry.kind == "symlink":
            continue
        if posixpath.basename(entry.path) == ".gitattributes" and root is not None:
            findings += _lfs_routes(root, entry, config)
            continue
        unsafe = getattr(entry.sniff, "unsafe_globals", ())
        if unsafe and "unsafe-pickle" in on:
            findings.append(Finding(
                "unsafe-pickle", entry.path, size=entry.size, format=entry.sniff.format,
                family=family, evidence=f"imports {', '.join(unsafe)} (outside the "
                f"allow-list); {entry.sniff.format}: {entry.sniff.evidence}"))
        rule = _FAMILY_RULES.get(family or "")
        if rule and rule in on:
            findings.append(_from_sniff(rule, entry))
        if "weights" in on:
            finding = _weights(entry, config, root)
            if finding:
                findings.append(finding)
        if family == "tensor_data" and "tensor-data" in on:
            findings.append(_from_sniff("tensor-data", entry))
        if family == "vector_index" and "vector-index" in on:
            findings.append(_from_sniff("vector-index", entry))
        elif family is None and vector_extensions:
            ext = posixpath.splitext(entry.path)[1].lower()
            if ext in vector_extensions:
                findings.append(Finding(
                    "vector-index", entry.path, size=entry.size,
                    evidence=f"extension {ext}: a vector store format with no content "
                             "signature to confirm (Annoy, Qdrant snapshot)"))
        if entry.size > limit:
            finding = _large(entry, config)
            if finding:
                findings.append(finding)
    for directory, inside in dirs:
        total = sum(e.size for e in inside)
        example = min(e.path for e in inside)
        findings.append(Finding(
            "forbidden-dir", directory, size=total,
            evidence=f"{len(inside)} file(s), {human_size(total)} below a forbidden directory "
                     f"name, e.g. {example}"))
    return findings


def _weights(record: Entry, config: ScanConfig, root: Path | None) -> Finding | None:
    sniffed = record.sniff
    ext = posixpath.splitext(record.path)[1].lower()
    is_onnx = ext == ".onnx" or getattr(sniffed, "format", None) == "onnx"
    if is_onnx and record.size <= config.onnx_size_threshold:
        return None
    if getattr(sniffed, "family", None) == "weights":
        return _from_sniff("weights", record)
    if ext in config.weight_extensions or ext == ".onnx":
        if getattr(sniffed, "family", None) in _NOT_WEIGHTS:
            return None  # the content says what the file is, and it is not weights
        if sniffed is None and root is not None and _is_text(root / record.path):
            return None  # a .pth path file, a .bin of text: no binary format is plain text
        detail = f"extension {ext}"
        if ext == ".onnx":
            detail += f" over onnx_size_threshold ({human_size(config.onnx_size_threshold)})"
        if sniffed is not None:
            detail += f"; content: {sniffed.format} ({sniffed.evidence})"
        return Finding("weights", record.path, detail, size=record.size,
                       format=getattr(sniffed, "format", None),
                       family=getattr(sniffed, "family", None))
    return None


def _is_text(path: Path) -> bool:
    try:
        return sniff(path, text=True) is not None
    except OSError:
        return False


def _lfs_routes(root: Path, entry: Entry, config: ScanConfig) -> list[Finding]:
    """The lines of a .gitattributes that send weight, dataset or vector patterns to LFS."""
    watched = (*config.weight_extensions, ".onnx", *config.vector_extensions,
               *_DATASET_EXTENSIONS)
    try:
        text = (root / entry.path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    found = []
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


def _large(record: Entry, config: ScanConfig) -> Finding | None:
    note = ""
    for entry in config.allow_large:
        if entry.matches(record.path):
            if not entry.ignored_only:
                return None
            # Selected files are tracked (git mode) or not ignored (--all): never excused.
            note = f"; {entry.path} is allowed only while git-ignored ({entry.reason})"
    sniffed = record.sniff
    return Finding(
        "large-file", record.path, size=record.size,
        format=getattr(sniffed, "format", None), family=getattr(sniffed, "family", None),
        evidence=f"{human_size(record.size)} > max_file_size "
                 f"{human_size(config.max_file_size)}{note}")


def _from_sniff(rule: str, record: Entry) -> Finding:
    sniffed = record.sniff
    return Finding(rule, record.path, f"{sniffed.format}: {sniffed.evidence}", size=record.size,
                   format=sniffed.format, family=sniffed.family)


def human_size(size: int) -> str:
    """``1536`` -> ``'1.5 KiB'``: sizes as people read them."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
