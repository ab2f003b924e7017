"""``receiptcore scan``: the CI boundary gate (see :mod:`receiptcore.scan` and docs/scan.md)."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

from receiptcore.cli import options
from receiptcore.cli.output import emit, note, warn
from receiptcore.errors import ConfigError

EXAMPLES = """\
examples:
  receiptcore scan                         the files git tracks (what a commit carries)
  receiptcore scan --all                   every file in the tree not ignored by .gitignore
  receiptcore scan --staged                what is about to be committed (pre-commit hook)
  receiptcore scan --diff origin/main      what a pull request adds (CI)
  receiptcore scan --format sarif > scan.sarif   for GitHub code scanning
  receiptcore scan --write-baseline        accept today's findings (their content); later only
                                           new findings or changed content fail
  receiptcore scan --explain weights       what a rule flags, its default and its knob

rules (most severe first; a file flagged by several is one finding listing them all):
       unsafe-pickle, private-key, weights, tensor-data, vector-index, dataset, lfs-pointer,
       submodule, forbidden-dir, large-file, unreadable, import-boundary, unverified-reference.
config: [tool.receiptcore.scan] in pyproject.toml, or [scan] in receiptcore.toml.
exit codes: 0 clean (or mode = "warn"), 1 new findings, 2 usage or configuration error.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = options.command(
        subparsers,
        "scan",
        help="fail on weights, datasets, unsafe pickles, keys, large files and forbidden imports",
        description="Scan a repository for what must not be in it: model weights and tensor "
        "dumps (by name and by content), pickles that import code, private keys, vector index "
        "snapshots, datasets (by content and by directory), Git LFS pointers, submodules, "
        "files over the size limit, and imports that cross the declared boundaries. In git's "
        "selections the commit is judged: each file as the blob git stores.",
        epilog=EXAMPLES,
    )
    parser.add_argument("root", nargs="?", default=".", help="repository root (default: .)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--all", dest="selection", action="store_const", const="all",
                       help="walk the tree honouring .gitignore instead of reading the git index")
    which.add_argument("--staged", dest="selection", action="store_const", const="staged",
                       help="only files added or changed in the git index")
    which.add_argument("--diff", metavar="BASE", help="only files added or changed in BASE...HEAD")
    parser.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="config file (default: receiptcore.toml or pyproject.toml in ROOT)")
    options.add(parser, "mode")
    parser.add_argument("--baseline", type=Path, metavar="FILE",
                        help="baseline file (default: the configured 'baseline', in ROOT)")
    parser.add_argument("--no-baseline", action="store_true", help="report baselined findings too")
    parser.add_argument("--write-baseline", action="store_true",
                        help="record every current finding in the baseline and exit 0")
    parser.add_argument("--no-cache", dest="cache", action="store_false",
                        help="read every file again instead of reusing the verdicts remembered "
                        "by git object id, or with --all by path and status (in the git "
                        "folder, else under $XDG_CACHE_HOME/receiptcore/scan)")
    parser.add_argument("--explain", metavar="RULE", help="explain a rule and exit")
    parser.set_defaults(func=run, selection="git")


def run(args: argparse.Namespace) -> int:
    if args.explain is not None:
        from receiptcore.scan.catalogue import RULE_IDS, RULES_BY_ID

        rule = RULES_BY_ID.get(args.explain)
        if rule is None:
            raise ConfigError(f"unknown rule {args.explain!r} (rules: {', '.join(RULE_IDS)})")
        body = textwrap.fill(rule.explain, width=88)
        emit(args, None, f"{rule.id}: {rule.title}\ndefault: {rule.default}\nknob:    {rule.knob}\n\n{body}")
        return 0
    root = Path(args.root)
    if not root.is_dir():
        raise ConfigError(f"{root}: not a directory")
    selection = "diff" if args.diff else args.selection
    # The listing starts before the rules and the configuration load: git's index is read on
    # a native thread while the interpreter imports them (a tenth of a scan, serial, before).
    from receiptcore.scan.select import select_files

    files = select_files(root, selection, args.diff)

    from dataclasses import replace

    from receiptcore._core import __version__
    from receiptcore.scan.config import load_config
    from receiptcore.scan.report import render_json, render_text
    from receiptcore.scan.run import run_scan, write_findings
    from receiptcore.scan.sarif import render_sarif

    config = load_config(root, args.config)
    if args.mode:
        config = replace(config, mode=args.mode)
    if not args.cache:
        config = replace(config, cache=False)
    baseline = args.baseline or root / config.baseline
    if args.write_baseline:
        count = write_findings(root, config, files, baseline)
        note(f"wrote {count} finding(s) to {baseline}")
        return 0
    result = run_scan(root, config, files, None if args.no_baseline else baseline)
    if args.format == "json":
        report = render_json(result)
    elif args.format == "sarif":
        report, cut = render_sarif(result, __version__, root)
        if cut:
            warn(cut)
    else:
        report = render_text(result)
    # Paths that are not UTF-8 come back to their own bytes (JSON and SARIF are ASCII-escaped).
    emit(args, None, report.encode("utf-8", "surrogateescape"))
    return 1 if result.failed else 0
