"""``receiptcore pull``: bring back the artifacts that reference files name, verified."""

from __future__ import annotations

import argparse

from receiptcore.cli import options
from receiptcore.cli.output import emit, warn

EXAMPLES = """\
examples:
  receiptcore pull
      every *.artifact.json in the work tree: each artifact verified (receipt, trust file,
      inclusion in the signed checkpoint, consistency, every byte) and written at its path
  receiptcore pull models/encoder.artifact.json          one reference (or: models/encoder)
  receiptcore pull --check                               verify every reference, write nothing
  receiptcore pull --trust-stat-cache                    re-hash only files changed since
  RECEIPTCORE_VERIFY_MODE=warn receiptcore pull          the rollback switch: report, go on

A path that is already there is verified, never overwritten. A reference that does not verify
writes nothing and exits with its code (11 unknown id, 36 edited reference, 7 untrusted key,
9 changed object...); with several, the first one's.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = options.command(
        subparsers,
        "pull",
        help="materialise the artifacts of reference files at their paths, verified",
        description="For each reference file REF (default: every *.artifact.json in the git work "
        "tree), check it against the ledger, then fetch its artifact to the path it stands for: "
        "receipt, inclusion, checkpoint and bytes verified, each path written whole or not at all.",
        epilog=EXAMPLES,
    )
    parser.add_argument("references", nargs="*", metavar="REF", help="reference files, or the paths they stand for")
    parser.add_argument("--root", default=".", metavar="DIR", help="the top of the git work tree (default: .)")
    parser.add_argument("--check", action="store_true", help="verify each artifact in the store; write nothing")
    parser.add_argument(
        "--trust-stat-cache", action="store_true",
        help="for paths already there, skip re-hashing files unchanged since this user hashed them",
    )
    parser.add_argument("--jobs", type=int, metavar="N", help="artifacts fetched at once (default: up to 4)")
    options.add(parser, "mode", "trust", "ledger_key", "home", "ledger", "store", "state", "json", "progress")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from receiptcore.migrate.pull import pull
    from receiptcore.util.progress import progress_bar

    enabled = False if args.no_progress else None
    with progress_bar("pulling", enabled=enabled, counting="artifacts") as update:
        results = pull(
            args.root, args.references or None, mode=args.mode, check=args.check,
            trust_stat_cache=args.trust_stat_cache, jobs=args.jobs, home=args.home,
            trust=args.trust, ledger_key=args.ledger_key, state=args.state, ledger=args.ledger,
            store=args.store, progress=update,
        )
    lines = []
    for r in results:
        if r.error is not None:
            warn(f"{r.error} (mode=warn: carrying on)")
            continue
        lines.append(f"{r.status:<8} {r.path}  ({r.artifact_id} {r.artifact_commit}, {r.kind}, {r.size} bytes)")
    counts = {s: sum(r.status == s for r in results) for s in ("pulled", "present", "verified", "failed")}
    lines.append(", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no reference files")
    emit(args, {"results": [r.to_json() for r in results]}, "\n".join(lines))
    return 0
