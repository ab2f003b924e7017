"""``receiptcore keys``: make signing keys and keep the trust file.

The key modules (cryptography, pydantic) are imported when a command runs, not when the CLI
builds its parser, so that other commands start fast.
"""

from __future__ import annotations

import argparse

from receiptcore.cli import options
from receiptcore.cli.output import emit, note

EXAMPLES = """\
examples:
  receiptcore keys generate ci.key                 writes ci.key (mode 0600) and ci.key.pub
  receiptcore keys generate ci.key --trust trust.json --name ci@models-host
                                                   ...and lists the public key in trust.json
  receiptcore keys trust ci.key.pub --trust trust.json --name ci@models-host
  receiptcore keys show ci.key.pub --json          key id and public key (hex)

A CI passes the private key as a file (--key ci.key) or as its PEM text in the environment
variable RECEIPTCORE_SIGNING_KEY. Key id = sha256 of the raw 32-byte public key (hex).
Keys made by 'openssl genpkey -algorithm ed25519 -out ci.key' work too.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = options.command(
        subparsers,
        "keys",
        help="make Ed25519 signing keys; list public keys in a trust file",
        description="Make Ed25519 signing keys and keep the trust file that lists the public "
        "keys allowed to issue receipts.",
        epilog=EXAMPLES,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    generate = options.command(
        actions, "generate", help="make a key pair (refuses to overwrite)", epilog=EXAMPLES
    )
    generate.add_argument("path", metavar="KEYFILE", help="private key file to create; the public key goes to KEYFILE.pub")
    generate.add_argument("--trust", metavar="FILE", help="also list the public key in this trust file")
    generate.add_argument("--name", default=None, help="whose key it is, for the trust file")
    options.add(generate, "json")
    generate.set_defaults(func=run_generate)

    trust = options.command(actions, "trust", help="list a public key in a trust file", epilog=EXAMPLES)
    trust.add_argument("public_key", metavar="KEYFILE", help="public key PEM (or private key: its public half is used)")
    trust.add_argument("--trust", metavar="FILE", required=True, help="trust file (created if missing)")
    trust.add_argument("--name", required=True, help="whose key it is")
    trust.set_defaults(func=run_trust)

    show = options.command(actions, "show", help="print a key's id and public key")
    show.add_argument("path", metavar="KEYFILE", help="public or private key PEM")
    options.add(show, "json")
    show.set_defaults(func=run_show)


def run_generate(args: argparse.Namespace) -> int:
    from receiptcore.signing.keys import generate_key_pair
    from receiptcore.signing.trust import add_trusted_key

    if args.trust and not args.name:
        raise ValueError("--trust needs --name (whose key it is)")
    key = generate_key_pair(args.path)
    if args.trust:
        add_trusted_key(args.trust, key.public_key, args.name)
    record = {"keyid": key.keyid, "private_key": args.path, "public_key": args.path + ".pub"}
    if args.trust:
        record["trust"] = args.trust
    emit(args, record, f"keyid {key.keyid}")
    if not args.json:
        note(f"wrote {args.path} (private, mode 0600) and {args.path}.pub")
    return 0


def run_trust(args: argparse.Namespace) -> int:
    from receiptcore.signing.keys import keyid_of, load_public_key
    from receiptcore.signing.trust import add_trusted_key

    public_key = load_public_key(args.public_key)
    added = add_trusted_key(args.trust, public_key, args.name)
    state = "added to" if added else "already in"
    emit(args, None, f"keyid {keyid_of(public_key)} {state} {args.trust}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from receiptcore.signing.keys import keyid_of, load_public_key

    public_key = load_public_key(args.path)
    record = {"keyid": keyid_of(public_key), "algorithm": "ed25519", "public_key": public_key.hex()}
    emit(
        args,
        record,
        f"keyid      {record['keyid']}\npublic_key {record['public_key']} (ed25519, raw, hex)",
    )
    return 0
