"""``receiptcore scan``: the CI gate that keeps weights, datasets, vector snapshots, oversized
files and forbidden imports out of a runtime repository.

Policy lives here in Python; the hot loop (listing the tree, reading each file's header) is the
native :func:`receiptcore.walk` and :func:`receiptcore.sniff`. See ``docs/scan.md``.
"""

from __future__ import annotations

from pathlib import Path

from receiptcore.scan.baseline import load_baseline, split_new, write_baseline
from receiptcore.scan.catalogue import RULES
from receiptcore.scan.config import ScanConfig, load_config
from receiptcore.scan.imports import check_imports
from receiptcore.scan.report import ScanResult
from receiptcore.scan.rules import Finding, check_files
from receiptcore.scan.select import select_files

__all__ = ["RULES", "Finding", "ScanConfig", "ScanResult", "find_all", "load_config",
           "run_scan", "write_baseline"]


def find_all(root: Path, config: ScanConfig, selection: str = "git",
             base: str | None = None) -> tuple[list[Finding], int]:
    """Every finding of every enabled rule, and the number of files looked at."""
    records = select_files(root, selection, base)
    findings = check_files(records, config, root) + check_imports(root, config)
    return findings, len(records)


def run_scan(root: Path, config: ScanConfig, selection: str = "git", base: str | None = None,
             baseline: Path | None = None) -> ScanResult:
    """Scan ``root`` and split the findings into new ones and those in ``baseline``."""
    findings, files = find_all(root, config, selection, base)
    new, old = split_new(findings, load_baseline(baseline) if baseline else set())
    return ScanResult(new, old, config.mode, selection, files)
