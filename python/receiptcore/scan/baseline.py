"""The baseline: findings a repository already had when it adopted the gate.

``receiptcore scan --write-baseline`` records every current finding; later scans fail only on
findings not in it, so an existing repository can turn the gate on today and pay its debt
later. An entry trusts content, not a path: it records the rules that flagged the finding and
what was judged (the git object id in git's selections, else the sha256 of the file; for a
directory, a digest of what lies below it; for a submodule, its commit). The same path with
other content, or flagged by a rule the entry does not list, is a new finding. The file is
sorted JSON, so diffs of it review well.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from receiptcore.errors import ConfigError
from receiptcore.scan.rules import Finding

VERSION = 2

# (path, key) -> the (rules, content) pairs recorded for it
Known = dict[tuple[str, str], list[tuple[frozenset[str], str | None]]]


def load_baseline(path: Path) -> Known:
    """The entries of a baseline file; an absent file is an empty baseline."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"{path}: cannot read baseline: {error}") from None
    if isinstance(data, dict) and data.get("version") == 1:
        raise ConfigError(f"{path}: a version 1 baseline trusts paths whatever their content; "
                          "review the findings and rewrite it with 'receiptcore scan "
                          "--write-baseline'")
    if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(
            data.get("findings"), list):
        raise ConfigError(f"{path}: not a receiptcore scan baseline (version {VERSION}); "
                          "rewrite it with 'receiptcore scan --write-baseline'")
    known: Known = {}
    for item in data["findings"]:
        rules = item.get("rules") if isinstance(item, dict) else None
        if not (isinstance(item, dict) and isinstance(item.get("path"), str)
                and isinstance(rules, list) and rules
                and all(isinstance(r, str) for r in rules)
                and isinstance(item.get("content", ""), str)):
            raise ConfigError(f"{path}: baseline entry {item!r} needs 'path', 'rules' (a list "
                              "of rule ids) and, where content was judged, 'content'")
        where = (item["path"], str(item.get("key", "")))
        known.setdefault(where, []).append((frozenset(rules), item.get("content")))
    return known


def write_baseline(path: Path, findings: Iterable[Finding]) -> int:
    """Write the baseline atomically (a temp file renamed over), return the number of entries."""
    entries = sorted({(f.path, f.key, f.rules, f.content or "") for f in findings})
    body = {"version": VERSION, "findings": [
        {"path": p, "rules": list(rules), **({"key": k} if k else {}),
         **({"content": c} if c else {})} for p, k, rules, c in entries]}
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(body, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)
    return len(entries)


def split_new(findings: list[Finding], known: Known) -> tuple[list[Finding], list[Finding]]:
    """(new findings, findings already in the baseline). A finding is known when an entry at
    its path (and key) lists every rule that flagged it, for the same content."""
    def is_known(f: Finding) -> bool:
        return any(set(f.rules) <= rules and content == f.content
                   for rules, content in known.get((f.path, f.key), ()))

    new = [f for f in findings if not is_known(f)]
    old = [f for f in findings if is_known(f)]
    return new, old


def pin_contents(root: Path, findings: list[Finding]) -> list[Finding]:
    """Findings with ``content`` set where a scan outside git left it out: the sha256 of each
    flagged file, hashed in parallel, only when a baseline is read or written."""
    from receiptcore._core import hash_files

    todo = [i for i, f in enumerate(findings)
            if f.content is None and f.line is None and f.rule != "import-boundary"
            and (root / f.path).is_file() and not (root / f.path).is_symlink()]
    if not todo:
        return findings
    paths = [str(root / findings[i].path) for i in todo]
    try:
        digests: list[str | None] = list(hash_files(paths))
    except OSError:  # one is unreadable: hash them one by one, that one left without content
        digests = [_digest(p) for p in paths]
    pinned = list(findings)
    for i, digest in zip(todo, digests, strict=True):
        if digest:
            pinned[i] = replace(findings[i], content=f"sha256:{digest}")
    return pinned


def _digest(path: str) -> str | None:
    from receiptcore._core import hash_file

    try:
        return hash_file(path)
    except OSError:
        return None
