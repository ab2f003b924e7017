"""The baseline: findings a repository already had when it adopted the gate.

``receiptcore scan --write-baseline`` records every current finding; later scans fail only on
findings not in it, so an existing repository can turn the gate on today and pay its debt
later. A finding is known by its rule, its path and (for import chains) its key: sizes and
evidence may change without making an old finding new. The file is sorted JSON, so diffs of it
review well.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from receiptcore.errors import ConfigError
from receiptcore.scan.rules import Finding

VERSION = 1


def fingerprint(finding: Finding) -> tuple[str, str, str]:
    return (finding.rule, finding.path, finding.key)


def load_baseline(path: Path) -> set[tuple[str, str, str]]:
    """The fingerprints in a baseline file; an absent file is an empty baseline."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return set()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"{path}: cannot read baseline: {error}") from None
    if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(
            data.get("findings"), list):
        raise ConfigError(f"{path}: not a receiptcore scan baseline (version {VERSION}); "
                          "rewrite it with 'receiptcore scan --write-baseline'")
    known = set()
    for item in data["findings"]:
        if not isinstance(item, dict) or not all(
                isinstance(item.get(k), str) for k in ("rule", "path")):
            raise ConfigError(f"{path}: baseline entry {item!r} needs 'rule' and 'path'")
        known.add((item["rule"], item["path"], str(item.get("key", ""))))
    return known


def write_baseline(path: Path, findings: Iterable[Finding]) -> int:
    """Write the baseline atomically (a temp file renamed over), return the number of entries."""
    entries = sorted({fingerprint(f) for f in findings})
    body = {"version": VERSION, "findings": [
        {"rule": r, "path": p, **({"key": k} if k else {})} for r, p, k in entries]}
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(body, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)
    return len(entries)


def split_new(findings: list[Finding], known: set[tuple[str, str, str]]
              ) -> tuple[list[Finding], list[Finding]]:
    """(new findings, findings already in the baseline)."""
    new = [f for f in findings if fingerprint(f) not in known]
    old = [f for f in findings if fingerprint(f) in known]
    return new, old
