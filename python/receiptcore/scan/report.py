"""The scan's reports: text for people, JSON for scripts, SARIF 2.1.0 for code-scanning UIs.

JSON fields per finding are stable: ``rule, path, format, family, size, evidence, line`` (null
where they do not apply). SARIF marks baselined findings with ``baselineState: unchanged`` and an
external suppression, so GitHub code scanning shows them as dismissed, not as new alerts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from receiptcore.scan.catalogue import RULES, RULES_BY_ID
from receiptcore.scan.rules import Finding, human_size

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# GitHub code scanning's security severity (0.0-10.0) for the rules that are about code that
# runs or secrets that leak, not only bytes that do not belong: shown as critical / high.
_SEVERITY = {"unsafe-pickle": "9.8", "private-key": "8.0"}


@dataclass(frozen=True)
class ScanResult:
    new: list[Finding]
    baselined: list[Finding]
    mode: str
    selection: str
    files: int

    @property
    def failed(self) -> bool:
        return bool(self.new) and self.mode == "enforce"


def render_text(result: ScanResult) -> str:
    lines = []
    for rule in RULES:
        found = [f for f in result.new if f.rule == rule.id]
        if not found:
            continue
        lines.append(f"{rule.id} ({len(found)}): {rule.title}")
        for f in sorted(found, key=lambda f: (f.path, f.line or 0, f.key)):
            where = f"{f.path}:{f.line}" if f.line else f.path
            size = f"  [{human_size(f.size)}]" if f.size is not None else ""
            lines.append(f"  {where}{size}\n      {f.evidence}")
        lines.append("")
    summary = f"{len(result.new)} finding(s) in {result.files} file(s) ({result.selection})"
    if result.baselined:
        summary += f", {len(result.baselined)} more in the baseline"
    if not result.new:
        summary = f"clean: {result.files} file(s) scanned ({result.selection})" + (
            f", {len(result.baselined)} baselined finding(s)" if result.baselined else "")
    elif result.mode == "warn":
        summary += "; mode = warn: not failing"
    else:
        summary += "; run 'receiptcore scan --explain RULE' for why and how to configure"
    lines.append(summary)
    return "\n".join(lines) + "\n"


def render_json(result: ScanResult) -> str:
    body = {
        "mode": result.mode,
        "selection": result.selection,
        "files": result.files,
        "failed": result.failed,
        "findings": [f.to_json() for f in _sorted(result.new)],
        "baselined": [f.to_json() for f in _sorted(result.baselined)],
    }
    return json.dumps(body, indent=2) + "\n"


def render_sarif(result: ScanResult, version: str) -> str:
    level = "error" if result.mode == "enforce" else "warning"
    rules = [{
        "id": rule.id,
        "name": "".join(part.capitalize() for part in rule.id.split("-")),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.explain},
        "help": {"text": f"{rule.explain}\n\nDefault: {rule.default}\nKnob: {rule.knob}"},
        "defaultConfiguration": {"level": level},
        **({"properties": {"tags": ["security"], "security-severity": _SEVERITY[rule.id]}}
           if rule.id in _SEVERITY else {}),
    } for rule in RULES]
    index = {rule.id: i for i, rule in enumerate(RULES)}
    results = [_sarif_result(f, index, level, baselined=False) for f in _sorted(result.new)]
    results += [_sarif_result(f, index, level, baselined=True) for f in _sorted(result.baselined)]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "receiptcore-scan", "version": version,
                                "rules": rules}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }
    return json.dumps(log, indent=2) + "\n"


def _sarif_result(f: Finding, index: dict[str, int], level: str, baselined: bool) -> dict:
    import hashlib  # here, not at the top: OpenSSL's start-up is 20 ms of every scan
    from urllib.parse import quote

    location: dict = {"artifactLocation": {"uri": quote(f.path, errors="surrogateescape"),
                                             "uriBaseId": "%SRCROOT%"}}
    if f.line:
        location["region"] = {"startLine": f.line}
    result = {
        "ruleId": f.rule,
        "ruleIndex": index[f.rule],
        "level": level,
        "message": {"text": f"{RULES_BY_ID[f.rule].title}: {f.evidence}"},
        "locations": [{"physicalLocation": location}],
        "partialFingerprints": {"receiptcoreFinding/v1": hashlib.sha256(
            f"{f.rule}\0{f.path}\0{f.key}".encode(errors="surrogateescape")).hexdigest()},
        "baselineState": "unchanged" if baselined else "new",
        "properties": {k: v for k, v in (("format", f.format), ("family", f.family),
                                         ("size", f.size)) if v is not None},
    }
    if baselined:
        result["suppressions"] = [{"kind": "external",
                                   "justification": "listed in the scan baseline"}]
    return result


def _sorted(findings: list[Finding]) -> list[Finding]:
    order = {rule.id: i for i, rule in enumerate(RULES)}
    return sorted(findings, key=lambda f: (order[f.rule], f.path, f.line or 0, f.key))
