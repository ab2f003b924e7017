"""``receiptcore verify``: prove, offline, that an artifact is exactly what was published."""

from __future__ import annotations

import argparse
import os

from receiptcore.cli import options
from receiptcore.cli.output import emit, warn
from receiptcore.errors import ReceiptcoreError
from receiptcore.verify import checks_table

EXAMPLES = """\
examples:
  receiptcore verify model.safetensors     by its bytes: hashed once, receipt found by commit
  receiptcore verify my-model              by artifact id: the stored object is re-hashed
  receiptcore verify --json my-model | jq .checks
  receiptcore verify docs.faiss --lineage  the index, its build, the embeddings and model it was
                                           built from, down to the corpus' dataset manifest
  receiptcore verify --mode warn model.bin report a failure but exit 0 (the rollback switch;
                                           also RECEIPTCORE_VERIFY_MODE=warn)

Checks, in order (the first failure stops, with its own exit code):
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = options.command(
        subparsers,
        "verify",
        help="check an artifact against its signed receipt and the ledger",
        description="Verify FILE or ARTIFACT_ID: receipt signature against the trust file, "
        "inclusion in the ledger under a signed checkpoint, consistency of that checkpoint with "
        "the last one this verifier trusted (no rollback, no fork), and the bytes against "
        "artifact_commit. Fail-closed: one line and a distinct exit code per failure.",
        epilog=EXAMPLES + checks_table(),
    )
    parser.add_argument("target", metavar="FILE|ARTIFACT_ID", help="a file, or an artifact id")
    parser.add_argument("--artifact-id", help="with FILE: the id it must have been published as")
    parser.add_argument("--commit", help="the artifact_commit the caller expects (sha256:<hex>)")
    options.add(parser, "trust", "ledger_key", "home", "ledger", "store", "state", "mode")
    parser.add_argument(
        "--lineage",
        action="store_true",
        help="also verify every input of the artifact's build, back to the dataset manifests, "
        "and print the tree of commits",
    )
    options.add(parser, "json")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from receiptcore.verify import default_mode, verify

    mode = args.mode or default_mode()
    is_file = os.path.exists(args.target)
    if args.lineage:
        return _run_lineage(args, is_file)
    try:
        verdict = verify(
            path=args.target if is_file else None,
            artifact_id=args.artifact_id if is_file else args.target,
            commit=args.commit,
            home=args.home,
            ledger=args.ledger,
            store=args.store,
            trust=args.trust,
            ledger_key=args.ledger_key,
            state=args.state,
            mode=mode,
        )
    except ReceiptcoreError as error:
        verdict = getattr(error, "verdict", None)
        if args.json and verdict is not None:
            emit(args, verdict.to_json())
        raise
    emit(
        args,
        verdict.to_json(),
        f"verified {verdict.artifact_id} {verdict.artifact_commit} (ledger entry "
        f"{verdict.ledger_index}, checkpoint size {verdict.checkpoint_size})"
        if verdict.verified
        else None,
    )
    if not verdict.verified:
        warn(f"NOT verified (mode=warn, exit 0): {verdict.error}")
    return 0


def _run_lineage(args: argparse.Namespace, is_file: bool) -> int:
    """``--lineage``: always enforced (a lineage that only warns proves nothing)."""
    from receiptcore.lineage import lineage
    from receiptcore.verify import verify

    shared = {"home": args.home, "trust": args.trust, "ledger_key": args.ledger_key,
              "state": args.state, "ledger": args.ledger, "store": args.store}
    artifact_id, commit = args.target, args.commit
    if is_file:
        verdict = verify(path=args.target, artifact_id=args.artifact_id, commit=commit,
                         mode="enforce", **shared)
        artifact_id, commit = verdict.artifact_id, verdict.artifact_commit
    tree = lineage(artifact_id, commit=commit, **shared)
    emit(args, tree.to_json(), tree.render())
    return 0
