"""The scan's reports: text for people, JSON for scripts, SARIF 2.1.0 for code-scanning UIs.

JSON fields per finding are stable: ``rule`` (the most severe rule), ``rules`` (every rule that
flagged it), ``path, format, family, size, evidence, line, content`` (null where they do not
apply); ``cleared`` lists the files whose content cleared a weight name. SARIF follows what
GitHub code scanning documents for third-party SARIF (:mod:`receiptcore.scan.sarif`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from receiptcore.scan.catalogue import RULES
from receiptcore.scan.rules import Cleared, Finding, human_size


@dataclass(frozen=True)
class ScanResult:
    new: list[Finding]
    baselined: list[Finding]
    mode: str
    selection: str
    files: int
    cleared: list[Cleared] = field(default_factory=list)
    # Files judged from the verdict cache, nothing read.
    cached: int = 0

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
            also = f"  (also {', '.join(f.also)})" if f.also else ""
            lines.append(f"  {where}{size}{also}\n      {f.evidence}")
        lines.append("")
    scanned = result.selection + (f", {result.cached} from the cache" if result.cached else "")
    summary = f"{len(result.new)} finding(s) in {result.files} file(s) ({scanned})"
    if result.baselined:
        summary += f", {len(result.baselined)} more in the baseline"
    if not result.new:
        summary = f"clean: {result.files} file(s) scanned ({scanned})" + (
            f", {len(result.baselined)} baselined finding(s)" if result.baselined else "")
    elif result.mode == "warn":
        summary += "; mode = warn: not failing"
    else:
        summary += "; run 'receiptcore scan --explain RULE' for why and how to configure"
    if result.cleared:
        lines.append(f"{len(result.cleared)} file(s) named like weights cleared by their "
                     "content (listed by --format json)")
    lines.append(summary)
    return "\n".join(lines) + "\n"


def render_json(result: ScanResult) -> str:
    body = {
        "mode": result.mode,
        "selection": result.selection,
        "files": result.files,
        "cached": result.cached,
        "failed": result.failed,
        "findings": [f.to_json() for f in ordered(result.new)],
        "baselined": [f.to_json() for f in ordered(result.baselined)],
        "cleared": [c.to_json() for c in sorted(result.cleared, key=lambda c: c.path)],
    }
    return json.dumps(body, indent=2) + "\n"


def ordered(findings: list[Finding]) -> list[Finding]:
    """Most severe rule first (the catalogue's order), then by path, line and key."""
    order = {rule.id: i for i, rule in enumerate(RULES)}
    return sorted(findings, key=lambda f: (order[f.rule], f.path, f.line or 0, f.key))
