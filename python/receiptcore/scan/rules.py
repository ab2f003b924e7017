"""The scan's rules: what each one flags, its stable id, its default and its knob.

Each rule is a pure function of the files selected (path, size, ``sniff`` result) and the
configuration; the import-boundary rule lives in :mod:`receiptcore.scan.imports`. Ids are stable:
they appear in baselines, ``disable`` lists, JSON and SARIF, so they never change meaning.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

from receiptcore._core import Entry, triage
from receiptcore.scan.config import ScanConfig


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    default: str
    knob: str
    explain: str


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


RULES = (
    Rule("weights", "model weights, by file name or by content",
         "the extensions .safetensors .pt .pth .bin .ckpt .gguf .h5 .pkl .joblib .tflite, "
         ".onnx over 1 MiB, and any file whose content sniffs as weights",
         "weight_extensions = [...]; onnx_size_threshold = \"1 MiB\"",
         "Weights belong in the artifact store, referenced by a signed receipt, never in the "
         "runtime repository. A file is flagged when its extension is in weight_extensions, or "
         "when its content is a known weights format (safetensors, PyTorch zip or pickle, "
         "pickle, joblib, GGUF/GGML, ONNX, HDF5/Keras, TFLite) whatever its name says. ONNX "
         "files (by name or content) are flagged only above onnx_size_threshold, so a small "
         "graph without weights may stay."),
    Rule("tensor-data", "tensor dumps (NumPy .npy/.npz) by content",
         "on", "disable = [\"tensor-data\"]",
         "Arrays saved with NumPy are data: embeddings, features, training sets. They belong "
         "with the pipelines. Flagged by content, whatever the file is called."),
    Rule("vector-index", "vector index snapshots by content (and .ann/.snapshot by name)",
         "on; vector_extensions = [\".ann\", \".snapshot\"]",
         "vector_extensions = [...]; disable = [\"vector-index\"]",
         "Vector indexes and stores (faiss, usearch, hnswlib, Chroma, Lance, Qdrant shards and "
         "segments, Milvus Lite databases and snapshots) are build outputs of the index "
         "pipeline; the runtime fetches them by id from the artifact store after checking "
         "their receipt. Flagged by content signature, and by extension (vector_extensions) "
         "for the formats that have none to confirm: Annoy's headerless .ann files and "
         "Qdrant's .snapshot tar archives."),
    Rule("forbidden-dir", "dataset and dump directories at any depth",
         "datasets/ corpus/ prompts_dump/ embeddings_dump/",
         "forbidden_dirs = [\"datasets\", ...]",
         "A directory with one of these names, at any depth, holds data that has no place in "
         "the runtime repository. Reported once per directory with the number of files and "
         "bytes below it."),
    Rule("large-file", "files over the size limit",
         "max_file_size = \"1 MiB\"; data/ and artifacts/ allowed only while git-ignored",
         "max_file_size = \"1 MiB\"; [[allow_large]] path = \"...\", reason = \"...\"",
         "Any selected file bigger than max_file_size, unless an allow_large entry covers its "
         "path (each entry needs a reason). The default entries data/ and artifacts/ have "
         "ignored_only = true: they excuse a file only while git ignores it and does not track "
         "it, so a force-added checkpoint under data/ is still a finding."),
    Rule("unreadable", "files the scan could not read or name, so could not clear",
         "on", "disable = [\"unreadable\"]",
         "A selected file that could not be read (permissions, a FIFO, a tracked file missing "
         "from the working tree, a name that is not valid UTF-8) cannot be shown not to be "
         "weights or data, so the gate fails closed on it, with the reason."),
    Rule("import-boundary", "imports across the runtime/training boundary",
         "no contracts (declare them in config)",
         "[[contracts]] modules = [\"agents\"], forbidden = [\"training\", \"torch\"]",
         "A contract says the modules listed (and their submodules) may not import the "
         "forbidden ones (and their submodules), directly or through other modules. The "
         "static import graph is built with grimp (a Rust-backed parser); every import "
         "statement counts, including those inside functions, unless ignore_type_checking "
         "= true drops the ones under 'if TYPE_CHECKING:'. Reported with the whole chain and "
         "the file and line of its first import."),
)
RULE_IDS = tuple(rule.id for rule in RULES)
_NO_LIMIT = (1 << 64) - 1  # large-file off: no size is over it
RULES_BY_ID = {rule.id: rule for rule in RULES}


def check_files(entries: list[Entry], config: ScanConfig) -> list[Finding]:
    """Every finding of the file rules (all but import-boundary) on the selected files.

    The native :func:`~receiptcore._core.triage` goes over every file once and hands back the
    few a rule could flag (recognised content, unreadable, over the limit, a watched extension)
    and those below forbidden directories; only these reach the rules here.
    """
    on = set(RULE_IDS) - set(config.disable)
    vector_extensions = config.vector_extensions if "vector-index" in on else ()
    extensions = sorted({*config.weight_extensions, ".onnx", *vector_extensions})
    limit = min(config.max_file_size, _NO_LIMIT) if "large-file" in on else _NO_LIMIT
    forbidden = list(config.forbidden_dirs) if "forbidden-dir" in on else []
    candidates, dirs = triage(entries, extensions, limit, forbidden)
    findings: list[Finding] = []
    for entry in candidates:
        if entry.error and "unreadable" in on:
            findings.append(Finding("unreadable", entry.path, entry.error, size=entry.size))
        if entry.is_symlink:
            continue
        family = getattr(entry.sniff, "family", None)
        if "weights" in on:
            finding = _weights(entry, config)
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


def _weights(record: Entry, config: ScanConfig) -> Finding | None:
    sniffed = record.sniff
    ext = posixpath.splitext(record.path)[1].lower()
    is_onnx = ext == ".onnx" or getattr(sniffed, "format", None) == "onnx"
    if is_onnx and record.size <= config.onnx_size_threshold:
        return None
    if getattr(sniffed, "family", None) == "weights":
        return _from_sniff("weights", record)
    if ext in config.weight_extensions or ext == ".onnx":
        detail = f"extension {ext}"
        if ext == ".onnx":
            detail += f" over onnx_size_threshold ({human_size(config.onnx_size_threshold)})"
        if sniffed is not None:
            detail += f"; content: {sniffed.format} ({sniffed.evidence})"
        return Finding("weights", record.path, detail, size=record.size,
                       format=getattr(sniffed, "format", None),
                       family=getattr(sniffed, "family", None))
    return None


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
