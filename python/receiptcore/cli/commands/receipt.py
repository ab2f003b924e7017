"""``receiptcore receipt``: sign an artifact receipt; show one.

Heavy modules are imported when a command runs, so that other commands start fast.
"""

from __future__ import annotations

import argparse

from receiptcore.cli import options
from receiptcore.cli.output import emit
from receiptcore.commit import Commit
from receiptcore.errors import DigestMismatch
from receiptcore.signing import DEFAULT_ISSUER

EXAMPLES = """\
examples:
  receiptcore receipt sign --build-manifest build.manifest.json --artifact-id docs-index \\
      --file out/index.faiss --uri s3://models/docs-index/v3 --key ci.key \\
      --issuer ci@models-host --out docs-index.intoto.json
  RECEIPTCORE_SIGNING_KEY="$(cat ci.key)" receiptcore receipt sign ...   key from the environment
  receiptcore receipt show docs-index.intoto.json                  summary (signature not checked)
  receiptcore receipt show docs-index.intoto.json --trust trust.json --json   verified, as JSON

A receipt is an in-toto Statement v1 in a DSSE envelope signed with Ed25519 (docs/receipts.md).
The artifact must be one of the build manifest's outputs; its commit is taken from there, and
--file, when given, must hash to it.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = options.command(
        subparsers,
        "receipt",
        help="sign an artifact receipt (in-toto + DSSE); show one",
        description="Sign the receipt that says an artifact is what a build produced, or show "
        "what a receipt says.",
        epilog=EXAMPLES,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    sign = options.command(actions, "sign", help="sign a receipt for one output of a build", epilog=EXAMPLES)
    sign.add_argument("--build-manifest", required=True, metavar="FILE", help="the build manifest that produced the artifact")
    sign.add_argument("--artifact-id", required=True, help="the artifact (one of the build's outputs)")
    sign.add_argument("--file", metavar="PATH", help="the artifact's bytes, checked against its commit")
    sign.add_argument("--uri", required=True, help="where the bytes can be fetched")
    sign.add_argument("--issuer", default=DEFAULT_ISSUER, help=f"who signs (default: {DEFAULT_ISSUER})")
    sign.add_argument("--key", metavar="KEYFILE", help="private key (default: $RECEIPTCORE_SIGNING_KEY)")
    sign.add_argument("--out", required=True, metavar="FILE", help="write the envelope here (atomically)")
    options.add(sign, "follow_symlinks", "json")
    sign.set_defaults(func=run_sign)

    show = options.command(actions, "show", help="print what a receipt says", epilog=EXAMPLES)
    show.add_argument("path", metavar="FILE", help="a receipt (DSSE envelope)")
    options.add(show, "trust", "follow_symlinks", "json")
    show.set_defaults(func=run_show)


def run_sign(args: argparse.Namespace) -> int:
    from receiptcore.commitments import artifact_commit, commit_of, read_manifest_of
    from receiptcore.contracts import BuildManifest
    from receiptcore.signing.keys import load_signing_key
    from receiptcore.signing.receipts import sign_receipt, write_envelope

    build = read_manifest_of(args.build_manifest, BuildManifest)
    commits = {output.artifact_id: Commit(output.artifact_commit) for output in build.outputs}
    if args.artifact_id not in commits:
        raise ValueError(
            f"{args.artifact_id!r} is not an output of {args.build_manifest} "
            f"(outputs: {', '.join(commits)})"
        )
    commit = commits[args.artifact_id]
    if args.file is not None:
        actual = artifact_commit(args.file)
        if actual != commit:
            raise DigestMismatch(
                f"{args.file} hashes to {actual}, but the build manifest says {args.artifact_id} "
                f"is {commit}"
            )
    key = load_signing_key(args.key)
    envelope = sign_receipt(
        args.artifact_id, commit, args.uri, commit_of(build),
        build.inputs.dataset_manifest_commits, key, issuer=args.issuer,
    )
    write_envelope(args.out, envelope)
    summary = {"artifact_id": args.artifact_id, "artifact_commit": commit, "keyid": key.keyid, "receipt": args.out}
    emit(args, summary, f"signed {args.artifact_id} {commit} with key {key.keyid} -> {args.out}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from receiptcore.signing.receipts import read_envelope, unverified_statement, verify_envelope
    from receiptcore.signing.trust import load_trust

    envelope = read_envelope(args.path)
    if args.trust:
        trust = load_trust(args.trust)
        statement = verify_envelope(envelope, trust)
        signed_by = [s.keyid for s in envelope.signatures if s.keyid in trust.keys]
        check = f"verified: signed by {trust.names[signed_by[0]]} ({signed_by[0]})"
        verified: bool | None = True
    else:
        statement = unverified_statement(envelope)
        check = "NOT checked (give --trust FILE to verify)"
        verified = None
    predicate = statement.predicate
    rows = [
        ("artifact", statement.artifact_id),
        ("commit", str(Commit(statement.artifact_commit))),
        ("uri", predicate.uri),
        ("build", str(Commit(predicate.build_manifest_commit))),
        ("datasets", ", ".join(str(Commit(c)) for c in predicate.dataset_manifest_commits) or "(none)"),
        ("issuer", predicate.issuer),
        ("keys", ", ".join(s.keyid for s in envelope.signatures)),
        ("signature", check),
    ]
    record = {
        "verified": verified,
        "keyids": [s.keyid for s in envelope.signatures],
        "statement": statement.to_json_obj(),
    }
    emit(args, record, "\n".join(f"{label:<10} {value}" for label, value in rows))
    return 0
