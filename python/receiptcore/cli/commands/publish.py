"""``receiptcore publish``: store a file or folder, sign its receipt, append it to the ledger."""

from __future__ import annotations

import argparse

from receiptcore.cli import options
from receiptcore.cli.output import emit
from receiptcore.signing import DEFAULT_ISSUER
from receiptcore.util.progress import progress_bar

EXAMPLES = """\
examples:
  receiptcore publish model.safetensors
      store the bytes under .receiptcore/objects/, sign a receipt (key made on first use),
      append it to the ledger; prints the artifact reference and the ledger index
  receiptcore publish checkpoints/minilm/ --artifact-id minilm
      a folder is one artifact, a tree: every file stored once, the file list committed
  receiptcore publish checkpoints/minilm/ --artifact-id minilm --new-version
      other bytes under an id that has a version: its next version (else exit 16)
  receiptcore publish index.usearch --build-manifest build.json
      the artifact id and the dataset commits come from the build manifest, which must list
      these exact bytes among its outputs
  RECEIPTCORE_SIGNING_KEY="$(cat ci.key)" receiptcore publish --json out/lora/ | jq .ledger_index

The id defaults to the file's or folder's name when that is a valid id (a letter or digit,
then letters, digits and . _ : / @ + -). Publishing the same bytes again is a no-op. The home
is $RECEIPTCORE_HOME, else the nearest .receiptcore/ here or above, else a new .receiptcore/
here (made with a .gitignore of '*': git never stages its keys or objects).
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = options.command(
        subparsers,
        "publish",
        help="store a file or folder, sign its receipt and append it to the ledger",
        description="Store PATH (a file, or a folder as one tree artifact) in the "
        "content-addressed artifact store, hashing it as it is copied, sign an artifact receipt "
        "(in-toto Statement in a DSSE envelope) and append it to the append-only ledger.",
        epilog=EXAMPLES,
    )
    parser.add_argument("path", metavar="PATH", help="the artifact: a file, or a folder")
    parser.add_argument(
        "--build-manifest", metavar="M", help="build manifest listing PATH's commit as an output"
    )
    parser.add_argument(
        "--artifact-id",
        help="the id to publish under (default: from the build manifest, else PATH's name)",
    )
    parser.add_argument(
        "--new-version",
        action="store_true",
        help="publish other bytes under an id that already has a version, as its next version",
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
    options.add(parser, "home", "ledger", "store", "follow_symlinks", "json", "progress")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from receiptcore.publish import publish
    from receiptcore.signing.keys import load_signing_key

    key = load_signing_key(args.key) if args.key else None
    with progress_bar("publishing", enabled=False if args.no_progress else None) as update:
        result = publish(
            args.path,
            build=args.build_manifest,
            artifact_id=args.artifact_id,
            new_version=args.new_version,
            key=key,
            issuer=args.issuer,
            home=args.home,
            progress=update,
            ledger=args.ledger,
            store=args.store,
        )
    what = f"a tree of {result.files} files, " if result.kind == "tree" else ""
    emit(
        args,
        result.to_json(),
        f"{result.artifact_id}  {result.artifact_commit}  {result.uri}\n"
        f"ledger index {result.ledger_index} ({what}{result.size} bytes, version {result.version})",
    )
    return 0
