"""``receiptcore keys``: make signing keys and keep the trust file.

The key modules (cryptography, pydantic) are imported when a command runs, not when the CLI
builds its parser, so that other commands start fast.
"""

from __future__ import annotations

import argparse
import re

from receiptcore.cli import options
from receiptcore.cli.output import emit, note

EXAMPLES = """\
examples:
  receiptcore keys generate ci.key                 writes ci.key (mode 0600) and ci.key.pub
  receiptcore keys generate ci.key --trust trust.json --name ci@models-host
                                                   ...and lists the public key in trust.json
  receiptcore keys trust ci.key.pub --trust trust.json --name ci@models-host
  receiptcore keys trust .receiptcore/ledger.vkey --role ledger --trust trust.json
                                                   the ledger's checkpoint key: no first use
  receiptcore keys revoke old.key.pub --trust trust.json --from 2026-11-01T00:00:00Z \\
      --reason "laptop stolen"                     receipts it signed later are refused
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
    trust.add_argument(
        "public_key", metavar="KEY",
        help="receipts: a public key PEM (or private key: its public half is used); ledger: "
        "the ledger's verifier key, or its file (ledger.vkey)",
    )
    trust.add_argument("--trust", metavar="FILE", required=True, help="trust file (created if missing)")
    trust.add_argument(
        "--role", choices=("receipts", "ledger"), default="receipts",
        help="receipts: may sign receipts (default); ledger: signs the ledger's checkpoints",
    )
    trust.add_argument("--name", help="whose key it is (receipts; a ledger key is named by its ledger)")
    trust.set_defaults(func=run_trust)

    revoke = options.command(
        actions, "revoke", help="revoke a receipts key from a moment on", epilog=EXAMPLES
    )
    revoke.add_argument("key", metavar="KEY", help="the key's id, or its public (or private) key PEM")
    revoke.add_argument("--trust", metavar="FILE", required=True, help="the trust file listing it")
    revoke.add_argument(
        "--from", dest="since", default="now", metavar="TIME",
        help="UTC, as 2026-11-01T00:00:00Z (default: now): receipts the ledger logged from then "
        "on are refused, earlier ones still verify",
    )
    revoke.add_argument("--reason", required=True, help="why, for whoever meets the refusal")
    revoke.set_defaults(func=run_revoke)

    show = options.command(actions, "show", help="print a key's id and public key")
    show.add_argument("path", metavar="KEYFILE", help="public or private key PEM")
    options.add(show, "follow_symlinks", "json")
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

    if args.role == "ledger":
        from receiptcore.ledger.keyfile import verifier_key_from

        vkey = verifier_key_from(args.public_key)
        if args.name not in (None, vkey.name):
            raise ValueError(f"a ledger key is named by its ledger: {vkey.name}, not {args.name}")
        public_key, name = vkey.public_key, vkey.name
    elif args.name is None:
        raise ValueError("--name is needed for a receipts key (whose key it is)")
    else:
        public_key, name = load_public_key(args.public_key), args.name
    added = add_trusted_key(args.trust, public_key, name, args.role)
    state = "added to" if added else "already in"
    emit(args, None, f"keyid {keyid_of(public_key)} {state} {args.trust} ({args.role})")
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    import time

    from receiptcore.signing.keys import keyid_of, load_public_key
    from receiptcore.signing.trust import format_time, parse_time, revoke_key

    keyid = args.key if re.fullmatch(r"[0-9a-f]{64}", args.key) else keyid_of(load_public_key(args.key))
    since = int(time.time()) if args.since == "now" else parse_time(args.since)
    revoke_key(args.trust, keyid, since, args.reason)
    emit(args, None, f"keyid {keyid} revoked from {format_time(since)} in {args.trust}")
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
