"""``receiptcore verify``: prove, offline, that an artifact is exactly what was published."""

from __future__ import annotations

import argparse
import json
import os
import sys

from receiptcore.errors import ReceiptcoreError

EXAMPLES = """\
examples:
  receiptcore verify model.safetensors     by its bytes: hashed once, receipt found by commit
  receiptcore verify my-model              by artifact id: the stored object is re-hashed
  receiptcore verify --json my-model | jq .checks
  receiptcore verify --mode warn model.bin report a failure but exit 0 (the rollback switch;
                                           also RECEIPTCORE_VERIFY_MODE=warn)

Checks, in order (the first failure stops, with its own exit code):
  trust/signature  the ledger has a receipt signed by a key in the trust file   (6, 7, 11)
  inclusion        the receipt is in the ledger's signed checkpoint             (12, 13)
  consistency      that checkpoint extends the last one this verifier trusted   (14)
  digest           the bytes hash to the receipt's artifact_commit              (9, 10)
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="check an artifact against its signed receipt and the ledger",
        description="Verify FILE or ARTIFACT_ID: receipt signature against the trust file, "
        "inclusion in the ledger under a signed checkpoint, consistency of that checkpoint with "
        "the last one this verifier trusted (no rollback, no fork), and the bytes against "
        "artifact_commit. Fail-closed: one line and a distinct exit code per failure.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("target", metavar="FILE|ARTIFACT_ID", help="a file, or an artifact id")
    parser.add_argument("--artifact-id", help="with FILE: the id it must have been published as")
    parser.add_argument("--commit", help="the artifact_commit the caller expects (sha256:<hex>)")
    parser.add_argument(
        "--trust",
        metavar="FILE",
        help="trust file (default: $RECEIPTCORE_TRUST, else .receiptcore/trust.json)",
    )
    parser.add_argument(
        "--ledger-key",
        metavar="VKEY",
        help="the ledger's verifier key, or a file holding it (default: pinned on first use)",
    )
    parser.add_argument(
        "--home", metavar="DIR", help="ledger and store folder (default: .receiptcore)"
    )
    parser.add_argument("--state", metavar="DIR", help="where this verifier remembers checkpoints")
    parser.add_argument("--mode", choices=("enforce", "warn"), help="enforce (default) or warn")
    parser.add_argument("--json", action="store_true", help="print the full verdict as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from receiptcore.verify import default_mode, verify

    mode = args.mode or default_mode()
    is_file = os.path.exists(args.target)
    try:
        verdict = verify(
            path=args.target if is_file else None,
            artifact_id=args.artifact_id if is_file else args.target,
            commit=args.commit,
            home=args.home,
            trust=args.trust,
            ledger_key=args.ledger_key,
            state=args.state,
            mode=mode,
        )
    except ReceiptcoreError as error:
        verdict = getattr(error, "verdict", None)
        if args.json and verdict is not None:
            print(json.dumps(verdict.to_json(), indent=2))
        raise
    if args.json:
        print(json.dumps(verdict.to_json(), indent=2))
    elif verdict.verified:
        print(
            f"verified {verdict.artifact_id} {verdict.artifact_commit} "
            f"(ledger entry {verdict.ledger_index}, checkpoint size {verdict.checkpoint_size})"
        )
    if not verdict.verified:
        print(
            f"receiptcore: warning: NOT verified (mode=warn, exit 0): {verdict.error}",
            file=sys.stderr,
        )
    return 0
