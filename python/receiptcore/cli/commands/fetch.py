"""``receiptcore fetch``: materialise a file or tree from the store, verified, atomically."""

from __future__ import annotations

import argparse

from receiptcore.cli import options
from receiptcore.cli.output import emit

EXAMPLES = """\
examples:
  receiptcore fetch minilm --out models/minilm
      the id's latest version: a tree becomes the folder models/minilm, a file the file
  receiptcore fetch minilm@sha256:9f2c... --out /srv/cache/minilm     one version, pinned
  receiptcore fetch --json docs-index --out index.faiss | jq .artifact

The receipt is checked as verify checks it (trust, signature, inclusion, consistency); every
byte is hashed as it is copied out of the store. The output appears only once all of it
verified: a failure leaves nothing at OUT. OUT must not exist (a tree may fill an empty folder).
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = options.command(
        subparsers,
        "fetch",
        help="copy a verified artifact (file or tree) out of the store",
        description="Copy the file or tree ARTIFACT_ID[@COMMIT] out of the artifact store to "
        "OUT, after checking its receipt in the ledger, hashing every byte on the way; OUT is "
        "written whole or not at all.",
        epilog=EXAMPLES,
    )
    parser.add_argument("reference", metavar="ID[@COMMIT]", help="the artifact id, optionally pinned")
    parser.add_argument("--out", metavar="PATH", required=True, help="the file or folder to create")
    options.add(
        parser, "commit", "trust", "ledger_key", "home", "ledger", "store", "state", "json",
        "progress",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from receiptcore.fetch import fetch_verdict
    from receiptcore.ids import parse_reference
    from receiptcore.util.progress import progress_bar

    artifact_id, commit = parse_reference(args.reference, args.commit)
    with progress_bar("fetching", enabled=False if args.no_progress else None) as update:
        verdict = fetch_verdict(
            artifact_id,
            out=args.out,
            commit=commit,
            home=args.home,
            trust=args.trust,
            ledger_key=args.ledger_key,
            state=args.state,
            progress=update,
            ledger=args.ledger,
            store=args.store,
        )
    result = {**verdict.to_json(), "out": args.out}
    emit(args, result, f"{verdict.describe().replace('verified', 'fetched', 1)}\nwritten to {args.out}")
    return 0
