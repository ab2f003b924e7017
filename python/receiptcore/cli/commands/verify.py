"""``receiptcore verify``: prove, offline, that an artifact is exactly what was published."""

from __future__ import annotations

import argparse
import errno
import os
import re

from receiptcore.cli import options
from receiptcore.cli.output import emit, warn
from receiptcore.errors import ReceiptcoreError
from receiptcore.verify import checks_table

EXAMPLES = """\
examples:
  receiptcore verify model.safetensors     by its bytes: hashed once, receipt found by commit
  receiptcore verify minilm/ --artifact-id minilm
                                           a folder against the id's latest tree: every file
                                           missing, extra or changed is named
  receiptcore verify minilm/ --trust-stat-cache
                                           skip files unchanged since this user hashed them
  receiptcore verify my-model              by artifact id: its latest version, re-hashed in the store
  receiptcore verify my-model@sha256:9f2c...   one version, pinned (also --commit)
  receiptcore verify --json my-model | jq .checks
  receiptcore verify docs.faiss --lineage  the index, its build, the embeddings and model it was
                                           built from, down to the corpus' dataset manifest
  receiptcore verify --mode warn model.bin report a failure but exit 0 (the rollback switch;
                                           also RECEIPTCORE_VERIFY_MODE=warn)

A path never guesses its id: bytes published under several ids fail with exit 17 and a list.
Checks, in order (the first failure stops, with its own exit code):
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = options.command(
        subparsers,
        "verify",
        help="check an artifact against its signed receipt and the ledger",
        description="Verify a FILE or FOLDER, or ARTIFACT_ID[@COMMIT]: receipt signature against "
        "the trust file, inclusion in the ledger under a signed checkpoint, consistency of that "
        "checkpoint with the last one this verifier trusted (no rollback, no fork), and the "
        "bytes against artifact_commit. Fail-closed: one line and a distinct exit code per "
        "failure.",
        epilog=EXAMPLES + checks_table(),
    )
    parser.add_argument(
        "target", metavar="PATH|ID[@COMMIT]", help="a file or folder, or an artifact id"
    )
    parser.add_argument(
        "--artifact-id", help="with a PATH: the id it must have been published as"
    )
    parser.add_argument(
        "--trust-stat-cache",
        action="store_true",
        help="with a PATH: do not re-hash files whose device, inode, size, mtime and ctime are "
        "what they were when this user last hashed them (kept in the state folder; see "
        "docs/trees.md for what this trusts)",
    )
    options.add(
        parser, "commit", "trust", "ledger_key", "home", "ledger", "store", "state", "mode", "strict",
        "follow_symlinks",
    )
    parser.add_argument(
        "--lineage",
        action="store_true",
        help="also verify every input of the artifact's build, back to the dataset manifests, "
        "and print the tree of commits",
    )
    options.add(parser, "json", "progress")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from receiptcore.ids import ID_PATTERN, parse_reference
    from receiptcore.util.progress import progress_bar
    from receiptcore.verify import default_mode, verify

    mode = args.mode or default_mode()
    is_path = os.path.lexists(args.target)
    if not is_path and not re.match(ID_PATTERN, args.target):
        # `./model.bin`, `/data/x`, `~/y`: no artifact id looks like that, so it is a path
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", args.target)
    if is_path:
        artifact_id, commit = args.artifact_id, args.commit
    else:
        artifact_id, commit = parse_reference(args.target, args.commit)
    if args.lineage:
        return _run_lineage(args, is_path, artifact_id, commit)
    try:
        with progress_bar("verifying", enabled=False if args.no_progress else None) as update:
            verdict = verify(
                path=args.target if is_path else None,
                artifact_id=artifact_id,
                commit=commit,
                home=args.home,
                trust=args.trust,
                ledger_key=args.ledger_key,
                state=args.state,
                mode=mode,
                trust_stat_cache=args.trust_stat_cache,
                progress=update,
                ledger=args.ledger,
                store=args.store,
                strict=args.strict,
            )
    except ReceiptcoreError as error:
        verdict = getattr(error, "verdict", None)
        if args.json and verdict is not None:
            emit(args, verdict.to_json())
        raise  # one line: the failure (the verdict's warnings are in its JSON)
    for problem in verdict.warnings:
        warn(problem)
    emit(args, verdict.to_json(), verdict.describe() if verdict.verified else None)
    if not verdict.verified:
        warn(f"NOT verified (mode=warn, exit 0): {verdict.error}")
    return 0


def _run_lineage(args: argparse.Namespace, is_path: bool, artifact_id: str | None,
                 commit: str | None) -> int:
    """``--lineage``: always enforced (a lineage that only warns proves nothing)."""
    from receiptcore.lineage import lineage
    from receiptcore.verify import verify

    shared = {"home": args.home, "trust": args.trust, "ledger_key": args.ledger_key,
              "state": args.state, "ledger": args.ledger, "store": args.store,
              "strict": args.strict}
    if is_path:
        verdict = verify(path=args.target, artifact_id=artifact_id, commit=commit,
                         mode="enforce", **shared)
        artifact_id, commit = verdict.artifact_id, verdict.artifact_commit
    tree = lineage(artifact_id, commit=commit, **shared)
    emit(args, tree.to_json(), tree.render())
    return 0
