"""SARIF 2.1.0 for GitHub code scanning, as its documentation ("SARIF support for code
scanning") asks of third-party tools.

- Every result has ``partialFingerprints.primaryLocationLineHash``, the only fingerprint GitHub
  reads, computed as GitHub's own upload action computes it (a rolling hash of the located line,
  ``github/codeql-action`` ``src/fingerprints.ts``), so the action finds it consistent and an
  alert follows its line when code moves. Outside the checkout (a file deleted since) it is a
  hash of the finding's identity in the same shape.
- Every result has a ``region``: a file as a whole is its first line.
- GitHub cannot place a result on a directory: a forbidden directory's finding is shown on the
  first file below it, a submodule's on its line in ``.gitmodules``, and the message names the
  directory.
- Paths are relative to ``%SRCROOT%``, declared in ``originalUriBaseIds``.
- GitHub's limits are kept: at most 25,000 results per run and 10 MB of gzip-compressed SARIF.
  Past them the least severe results are left out, and the log says so in a tool notification
  (and :func:`render_sarif` returns the note for the command to print).
- Rule descriptions stay within 1,024 characters and names within 255 (a test holds the
  catalogue to that).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from receiptcore.scan.catalogue import RULE_IDS, RULES, RULES_BY_ID
from receiptcore.scan.report import ScanResult, ordered
from receiptcore.scan.rules import Finding

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
MAX_RESULTS = 25_000  # GitHub: results per run
MAX_GZIP_BYTES = 10 * 1000 * 1000  # GitHub: a gzip-compressed SARIF file
# GitHub code scanning's security severity (0.0-10.0) for the rules that are about code that
# runs or secrets that leak, not only bytes that do not belong: shown as critical / high.
_SEVERITY = {"unsafe-pickle": "9.8", "private-key": "8.0"}


def render_sarif(result: ScanResult, version: str, root: Path) -> tuple[str, str | None]:
    """The SARIF log, and a note when results had to be left out to stay within GitHub's
    limits (None when all are in)."""
    level = "error" if result.mode == "enforce" else "warning"
    index = {rule_id: i for i, rule_id in enumerate(RULE_IDS)}
    findings = [(f, False) for f in ordered(result.new)]
    findings += [(f, True) for f in ordered(result.baselined)]
    results = [_result(f, root, index, level, baselined) for f, baselined in findings]
    kept = min(len(results), MAX_RESULTS)
    text = _dump(_log(results[:kept], version, root, level, None))
    if len(text) > MAX_GZIP_BYTES and _gzipped(text) > MAX_GZIP_BYTES:
        kept = _fitting(results[:kept], MAX_GZIP_BYTES - _gzipped(_dump(
            _log([], version, root, level, "x" * 400))))
    if kept == len(results):
        return text, None
    while True:
        note = (f"{len(results) - kept} of {len(results)} results left out of the SARIF log: "
                f"GitHub code scanning accepts at most {MAX_RESULTS:,} results per run and "
                f"{MAX_GZIP_BYTES // 1_000_000} MB of gzip-compressed SARIF; the most severe "
                "are kept ('--format json' lists them all)")
        text = _dump(_log(results[:kept], version, root, level, note))
        # The estimate bounds the size from above; this only guards it.
        if len(text) <= MAX_GZIP_BYTES or _gzipped(text) <= MAX_GZIP_BYTES or not kept:
            return text, note
        kept = kept * 19 // 20


def _dump(log: dict[str, Any]) -> str:
    return json.dumps(log, indent=2) + "\n"


def _gzipped(text: str) -> int:
    import gzip

    return len(gzip.compress(text.encode("utf-8", "surrogateescape"), compresslevel=6))


def _fitting(results: list[dict], budget: int) -> int:
    """How many of ``results`` (in order) fit in ``budget`` gzip-compressed bytes: one pass
    through a compressor, flushed as it goes so its output bounds the size from above."""
    import zlib

    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    size = 0
    for count, result in enumerate(results):
        size += len(packer.compress(json.dumps(result, indent=2).encode(
            "utf-8", "surrogateescape")))
        if count % 64 == 63:
            size += len(packer.flush(zlib.Z_SYNC_FLUSH))
            if size > budget:
                return max(0, count - 64)
    return len(results)


def _log(results: list[dict], version: str, root: Path, level: str,
         note: str | None) -> dict[str, Any]:
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "receiptcore-scan", "semanticVersion": version,
                            "informationUri": "https://pypi.org/project/receiptcore/",
                            "rules": [_rule(rule, level) for rule in RULES]}},
        "originalUriBaseIds": {"%SRCROOT%": {
            "uri": root.resolve().as_uri().rstrip("/") + "/",
            "description": {"text": "The root of the scanned repository."}}},
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    if note:
        run["invocations"] = [{"executionSuccessful": True, "toolExecutionNotifications": [
            {"level": "warning", "message": {"text": note}}]}]
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def _rule(rule, level: str) -> dict[str, Any]:
    described = {
        "id": rule.id,
        "name": "".join(part.capitalize() for part in rule.id.split("-")),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.explain},
        "help": {"text": f"{rule.explain}\n\nDefault: {rule.default}\nKnob: {rule.knob}",
                 "markdown": f"{rule.explain}\n\n**Default:** {rule.default}\n\n"
                             f"**Knob:** `{rule.knob}`"},
        "defaultConfiguration": {"level": level},
        "properties": {"precision": "high", "problem.severity": "error"},
    }
    if rule.id in _SEVERITY:
        described["properties"].update(tags=["security"],
                                        **{"security-severity": _SEVERITY[rule.id]})
    return described


def _result(f: Finding, root: Path, index: dict[str, int], level: str,
            baselined: bool) -> dict[str, Any]:
    from urllib.parse import quote

    path, line, message = _placed(f, root)
    text = line_text(root / path, line)
    region = {"startLine": line, "startColumn": 1, "endLine": line,
              "endColumn": max(2, len(text) + 1) if text is not None else 2}
    result: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": index[f.rule],
        "level": level,
        "message": {"text": message},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": quote(path, errors="surrogateescape"),
                                 "uriBaseId": "%SRCROOT%"},
            "region": region}}],
        "partialFingerprints": {"primaryLocationLineHash": line_hash(root / path, line)
                                or _identity_hash(f)},
        "baselineState": "unchanged" if baselined else "new",
        "properties": {k: v for k, v in (("rules", list(f.rules)), ("path", f.path),
                                         ("format", f.format), ("family", f.family),
                                         ("size", f.size), ("content", f.content))
                       if v is not None},
    }
    if baselined:
        result["suppressions"] = [{"kind": "external",
                                   "justification": "listed in the scan baseline"}]
    return result


def _placed(f: Finding, root: Path) -> tuple[str, int, str]:
    """The file and line a result is shown on, and its message (naming what is not a file)."""
    title = RULES_BY_ID[f.rule].title
    also = f" Also flagged by: {', '.join(f.also)}." if f.also else ""
    if f.rule == "forbidden-dir" and f.place:
        return f.place, 1, f"{title}: the directory {f.path} ({f.evidence}).{also}"
    if f.rule == "submodule":
        line = _gitmodules_line(root, f.path)
        return ".gitmodules", line, f"{title}: the submodule {f.path} ({f.evidence}).{also}"
    return f.path, f.line or 1, f"{title}: {f.evidence}.{also}"


def _gitmodules_line(root: Path, submodule: str) -> int:
    """The line of ``path = <submodule>`` in ``.gitmodules`` (1 when it is not there)."""
    try:
        lines = (root / ".gitmodules").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return 1
    for number, line in enumerate(lines.splitlines(), 1):
        key, _, value = line.partition("=")
        if key.strip() == "path" and value.strip() == submodule:
            return number
    return 1


def line_text(path: Path, line: int, limit: int = 1 << 20) -> str | None:
    """Line ``line`` (1-based) of a text file, without its end; None for a file that cannot be
    read or is binary."""
    try:
        if path.is_symlink() or not path.is_file():
            return None
        with open(path, "rb") as f:
            data = f.read(limit)
    except OSError:
        return None
    if b"\0" in data[:8192]:
        return None
    lines = data.decode("utf-8", errors="replace").splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else ""


# GitHub's line hash (codeql-action src/fingerprints.ts): a rolling hash over the first 100
# characters from the start of each line (spaces and tabs skipped, line ends normalised to
# '\n'), in UTF-16 code units, as 64-bit integers; "<hex>:<n>" where n counts the lines before
# it (and it) with the same hash.
_BLOCK = 100
_MASK = (1 << 64) - 1
_FIRST_MOD = pow(37, _BLOCK, 1 << 64)
_EOF = 65535


def line_hash(path: Path, line: int) -> str | None:
    """The ``primaryLocationLineHash`` GitHub's upload action computes for ``line`` of the file
    at ``path``; None when the file cannot be read (the action computes none then either)."""
    import codecs

    try:
        if path.is_symlink() or not path.is_file():
            return None
        f = open(path, "rb")  # noqa: SIM115 (closed below, after the last chunk)
    except OSError:
        return None
    state = _LineHasher(line)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    with f:
        while state.found is None:
            chunk = f.read(1 << 16)
            text = decoder.decode(chunk, final=not chunk)
            units = memoryview(text.encode("utf-16-le", "surrogatepass")).cast("H")
            for unit in units:
                state.char(unit)
                if state.found is not None:
                    break
            if not chunk:
                break
    if state.found is None:
        state.finish()
    return state.found


class _LineHasher:
    def __init__(self, want: int) -> None:
        self.want, self.found = want, None
        self.window = [0] * _BLOCK
        self.lines = [-1] * _BLOCK
        self.hash = self.index = self.line = 0
        self.line_start, self.prev_cr = True, False
        self.counts: dict[str, int] = {}

    def _output(self) -> None:
        value = format(self.hash, "x")
        self.counts[value] = self.counts.get(value, 0) + 1
        if self.lines[self.index] == self.want:
            self.found = f"{value}:{self.counts[value]}"
        self.lines[self.index] = -1

    def _update(self, current: int) -> None:
        begin = self.window[self.index]
        self.window[self.index] = current
        self.hash = (37 * self.hash + current - _FIRST_MOD * begin) & _MASK
        self.index = (self.index + 1) % _BLOCK

    def char(self, current: int) -> None:
        if current in (0x20, 0x09) or (self.prev_cr and current == 0x0A):
            self.prev_cr = False
            return
        self.prev_cr = current == 0x0D
        if self.prev_cr:
            current = 0x0A
        if self.lines[self.index] != -1:
            self._output()
        if self.line_start:
            self.line_start = False
            self.line += 1
            self.lines[self.index] = self.line
        if current == 0x0A:
            self.line_start = True
        self._update(current)

    def finish(self) -> None:
        self.char(_EOF)
        for _ in range(_BLOCK):
            if self.found is not None:
                return
            if self.lines[self.index] != -1:
                self._output()
            self._update(0)


def _identity_hash(f: Finding) -> str:
    """For a result whose file is not in the checkout: the finding's identity, in the shape of
    a line hash."""
    import hashlib

    digest = hashlib.sha256(f"{f.rule}\0{f.path}\0{f.key}\0{f.content}".encode(
        errors="surrogateescape")).hexdigest()
    return f"{digest[:16]}:1"
