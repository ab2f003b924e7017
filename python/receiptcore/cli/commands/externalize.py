"""``receiptcore externalize``: move what the gate flags to the artifact store, leave references."""

from __future__ import annotations

import argparse

from receiptcore.cli import options
from receiptcore.cli.output import emit
from receiptcore.errors import ConfigError
from receiptcore.signing import DEFAULT_ISSUER

EXAMPLES = """\
examples:
  receiptcore externalize --plan
      what would move: each path the gate flags, as which artifact (a forbidden folder or a
      folder of shards is one tree), its id, size, reference file, the bytes git history
      still holds, and the code that names it; changes nothing
  receiptcore externalize
      do it: publish each planned path, verify the stored copy, write PATH.artifact.json,
      then remove PATH from the work tree and the index and add it to .gitignore
  receiptcore externalize models/encoder --id models/encoder=encoder-v1
      one path (a file or folder, flagged or not), under an id of your choosing
  receiptcore externalize --plan --json | jq '.artifacts[].code_sites'

An interrupted run leaves each path either in place or replaced by a reference whose artifact
is published; running externalize again finishes the job, and after that changes nothing.
Commit the references and .gitignore (they are staged); `receiptcore pull` brings the files back.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = options.command(
        subparsers,
        "externalize",
        help="move flagged weights, datasets and indexes to the store, leaving verified references",
        description="Publish each PATH (default: everything `receiptcore scan` flags as an asset) "
        "to the artifact store with a signed receipt in the ledger, verify the stored copy, "
        "write its reference file PATH.artifact.json, and remove PATH from the work tree and the "
        "git index (adding it to .gitignore).",
        epilog=EXAMPLES,
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: the plan's)")
    parser.add_argument("--plan", action="store_true", help="print the plan and change nothing")
    parser.add_argument("--root", default=".", metavar="DIR", help="the top of the git work tree (default: .)")
    parser.add_argument(
        "--id", action="append", default=[], metavar="PATH=ID", dest="ids",
        help="publish PATH under ID instead of its path (repeatable)",
    )
    parser.add_argument(
        "--new-version", action="store_true",
        help="a path whose id already has other bytes becomes its next version",
    )
    parser.add_argument("--config", metavar="FILE", help="the gate's config (default: as scan finds it)")
    parser.add_argument(
        "--key", metavar="PATH",
        help="receipt signing key (default: $RECEIPTCORE_SIGNING_KEY, else <home>/signing.key)",
    )
    parser.add_argument("--issuer", default=DEFAULT_ISSUER, help=f"who signs (default: {DEFAULT_ISSUER})")
    options.add(parser, "home", "ledger", "store", "trust", "ledger_key", "state", "json", "progress")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from receiptcore.migrate.plan import make_plan

    ids = {}
    for given in args.ids:
        path, sep, artifact_id = given.rpartition("=")
        if not sep or not path or not artifact_id:
            raise ConfigError(f"--id {given!r}: write it as PATH=ID")
        ids[path] = artifact_id
    plan = make_plan(args.root, args.paths or None, ids, args.config)
    if args.plan:
        emit(args, plan.to_json(), plan.describe())
        return 0
    from receiptcore.migrate.externalize import externalize
    from receiptcore.signing.keys import load_signing_key
    from receiptcore.util.progress import progress_bar

    key = load_signing_key(args.key) if args.key else None
    enabled = False if args.no_progress else None
    with progress_bar("externalizing", enabled=enabled, counting="artifacts") as update:
        done = externalize(
            plan=plan, new_version=args.new_version, key=key, issuer=args.issuer, home=args.home,
            trust=args.trust, ledger_key=args.ledger_key, state=args.state, ledger=args.ledger,
            store=args.store, progress=update,
        )
    lines = []
    for d in done:
        lines.append(f"{d.path} -> {d.reference}  ({d.artifact_id} {d.artifact_commit}, ledger index {d.ledger_index})")
        lines += [f"    still named in {s.path}:{s.line}: {s.literal!r}" for s in d.code_sites]
    lines.append(
        f"{len(done)} path(s) externalized; commit the staged references and .gitignore"
        if done else "nothing to externalize"
    )
    emit(args, {"externalized": [d.to_json() for d in done]}, "\n".join(lines))
    return 0
