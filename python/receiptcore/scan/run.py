"""One scan: the files selected, every rule over them, and the baseline split off.

Policy lives here in Python; the hot loop (listing the tree, reading each file's header) is the
native :func:`receiptcore.walk` and :func:`receiptcore.sniff`. See ``docs/scan.md``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from receiptcore.migrate.gate import check_references
from receiptcore.scan.baseline import load_baseline, pin_contents, split_new, write_baseline
from receiptcore.scan.config import ScanConfig
from receiptcore.scan.imports import check_imports
from receiptcore.scan.report import ScanResult
from receiptcore.scan.rules import check_files
from receiptcore.scan.select import Selection


def find_all(root: Path, config: ScanConfig, files: Selection) -> ScanResult:
    """Every finding of every enabled rule over ``files`` (all new: no baseline applied), the
    files whose content cleared their name, and how many files were looked at."""
    records = files.finish(config.cache)
    findings, cleared = check_files(records, config, root)
    findings += check_imports(root, config) + check_references(
        root, records, config.disable, files.name
    )
    return ScanResult(findings, [], config.mode, files.name, len(records), cleared, records.cached)


def run_scan(root: Path, config: ScanConfig, files: Selection,
             baseline: Path | None = None) -> ScanResult:
    """Scan ``files`` (:func:`~receiptcore.scan.select.select_files`) and split the findings
    into new ones and those in ``baseline``."""
    found = find_all(root, config, files)
    known = load_baseline(baseline) if baseline else {}
    findings = pin_contents(root, found.new) if known else found.new
    new, old = split_new(findings, known)
    return replace(found, new=new, baselined=old)


def write_findings(root: Path, config: ScanConfig, files: Selection, baseline: Path) -> int:
    """Record every current finding, with the content judged, in ``baseline``."""
    found = find_all(root, config, files)
    return write_baseline(baseline, pin_contents(root, found.new))
