"""``receiptcore publish``: store an artifact, sign its receipt, append it to the ledger."""

from __future__ import annotations

import argparse
import os

from receiptcore.cli import options
from receiptcore.cli.output import emit
from receiptcore.signing import DEFAULT_ISSUER
from receiptcore.util.progress import byte_progress

EXAMPLES = """\
examples:
  receiptcore publish model.safetensors
      store the bytes under .receiptcore/objects/, sign a receipt (key made on first use),
      append it to the ledger; prints the artifact reference and the ledger index
  receiptcore publish index.usearch --build-manifest build.json
      the artifact id and the dataset commits come from the build manifest, which must list
      these exact bytes among its outputs
  RECEIPTCORE_SIGNING_KEY="$(cat ci.key)" receiptcore publish --json out/lora.bin | jq .ledger_index

Publishing the same bytes again with the same key returns the same ledger entry.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = options.command(
        subparsers,
        "publish",
        help="store an artifact, sign its receipt and append it to the ledger",
        description="Store FILE in the content-addressed artifact store, sign an artifact receipt "
        "(in-toto Statement in a DSSE envelope) and append it to the append-only ledger. "
        "Everything lives under .receiptcore/ (or $RECEIPTCORE_HOME) unless told otherwise.",
        epilog=EXAMPLES,
    )
    parser.add_argument("file", metavar="FILE", help="the artifact's bytes")
    parser.add_argument(
        "--build-manifest", metavar="M", help="build manifest listing FILE as an output"
    )
    parser.add_argument(
        "--artifact-id", help="artifact id (default: from the build manifest, else the file name)"
    )
    parser.add_argument(
        "--key",
        metavar="PATH",
        help="receipt signing key (default: $RECEIPTCORE_SIGNING_KEY, "
        "else <home>/signing.key, made on first use)",
    )
    parser.add_argument(
        "--issuer", default=DEFAULT_ISSUER, help=f"who signs, e.g. ci@models-host (default: {DEFAULT_ISSUER})"
    )
    options.add(parser, "home", "ledger", "store", "json", "progress")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from receiptcore.publish import publish
    from receiptcore.signing.keys import load_signing_key

    key = load_signing_key(args.key) if args.key else None
    size = os.stat(args.file).st_size
    with byte_progress(size, "publishing", enabled=False if args.no_progress else None) as update:
        result = publish(
            args.file,
            build=args.build_manifest,
            artifact_id=args.artifact_id,
            key=key,
            issuer=args.issuer,
            home=args.home,
            progress=update,
            ledger=args.ledger,
            store=args.store,
        )
    emit(
        args,
        result.to_json(),
        f"{result.artifact_id}  {result.artifact_commit}  {result.uri}\n"
        f"ledger index {result.ledger_index}",
    )
    return 0
