"""``receiptcore ledger``: audit the whole ledger, show it, and print proofs."""

from __future__ import annotations

import argparse
import base64

from receiptcore.cli import options
from receiptcore.cli.output import emit
from receiptcore.commit import Commit

# Imports of the ledger and the contracts are inside the functions: building the CLI's parser
# imports every command module, and `receiptcore hash` should not pay for pydantic.

EXAMPLES = """\
examples:
  receiptcore ledger verify            recompute every leaf, subtree and signed checkpoint;
                                       names the first entry that does not match (exit 15)
  receiptcore ledger verify --trust trust.json   also check every receipt's signature
  receiptcore ledger show              origin, key, size and latest signed checkpoint
  receiptcore ledger show 12 --json    one entry: its receipt and leaf hash
  receiptcore ledger proof 12          inclusion proof of entry 12 in the latest checkpoint
  receiptcore ledger forget            forget the key and checkpoint this verifier pinned for
                                       the ledger (after it was deleted and recreated on purpose)
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = options.command(
        subparsers,
        "ledger",
        help="audit the ledger, show entries and checkpoints, print proofs",
        description="Work with the append-only ledger (--ledger URL; default: the SQLite ledger "
        "under .receiptcore/ or $RECEIPTCORE_HOME).",
        epilog=EXAMPLES,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    def action(name: str, help: str, description: str | None = None) -> argparse.ArgumentParser:
        sub = options.command(actions, name, help=help, description=description)
        options.add(sub, "home", "ledger", "ledger_key", "state", "follow_symlinks", "json")
        return sub

    check = action(
        "verify",
        "recompute and check everything",
        "Recompute the tree from the leaves, compare every stored subtree hash and every "
        "signed checkpoint, and name the first entry that does not match. With --trust, also "
        "check every receipt's signature.",
    )
    options.add(check, "trust")
    check.set_defaults(func=run_verify)

    show = action("show", "show the ledger or one entry")
    show.add_argument("index", nargs="?", type=options.count(0), help="an entry index")
    show.set_defaults(func=run_show)

    proof = action("proof", "inclusion proof of one entry")
    proof.add_argument("index", type=options.count(0), help="the entry index")
    proof.add_argument(
        "--size", type=options.count(1), help="tree size (default: the latest checkpoint's)"
    )
    proof.set_defaults(func=run_proof)

    forget = options.command(
        actions,
        "forget",
        help="forget the key and checkpoint this verifier pinned for the ledger",
        description="Forget what this verifier remembers of the ledger (--ledger, else the "
        "home's; its key and "
        "the last checkpoint it trusted), so that the next verify trusts the ledger found there "
        "as at first use. Only for a ledger deleted and recreated on purpose: a ledger replaced "
        "by someone else is exactly what the pin exists to catch.",
    )
    options.add(forget, "home", "ledger", "state", "json")
    forget.set_defaults(func=run_forget)


def _open(args: argparse.Namespace, trust=None):
    from receiptcore.ledger.keyfile import ledger_key_for
    from receiptcore.ledger.pins import open_pinned
    from receiptcore.util.home import state_dir

    ledger, pins = open_pinned(args.ledger, home=args.home, state=state_dir(args.state))
    args.pins = pins
    trusted = () if trust is None else trust.ledger_keys
    return ledger, ledger_key_for(ledger, args.ledger_key, pins, trusted)


def run_forget(args: argparse.Namespace) -> int:
    from receiptcore.errors import NotInLedger
    from receiptcore.ledger import open_ledger
    from receiptcore.ledger.pins import TrustedCheckpoints
    from receiptcore.util.home import state_dir

    try:
        with open_ledger(args.ledger, home=args.home) as ledger:
            location = ledger.location
    except NotInLedger as error:  # deleted or emptied: its pin can still be forgotten
        if error.location is None:
            raise
        location = error.location
    pins = TrustedCheckpoints(state_dir(args.state), location)
    forgotten = pins.forget()
    result = {"ledger": pins.location, "forgotten": forgotten}
    emit(
        args,
        result,
        f"forgot the pinned key and checkpoint of the ledger at {pins.location}"
        if forgotten
        else f"nothing to forget: this verifier has no pin for the ledger at {pins.location}",
    )
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from receiptcore.contracts import Envelope, load
    from receiptcore.errors import LedgerCorrupt
    from receiptcore.ledger.audit import audit
    from receiptcore.ledger.base import LogEntry
    from receiptcore.signing.receipts import unverified_statement, verify_envelope
    from receiptcore.signing.trust import load_trust

    trust = load_trust(args.trust) if args.trust else None
    ledger, verifier = _open(args, trust)

    def check_entry(entry: LogEntry) -> None:
        envelope = load(Envelope, entry.data, "receipt")
        statement = (
            verify_envelope(envelope, trust, lambda: _logged_at(ledger, verifier, entry.index))
            if trust is not None
            else unverified_statement(envelope)
        )
        if (statement.artifact_id, str(Commit(statement.artifact_commit))) != (
            entry.artifact_id,
            entry.artifact_commit,
        ):
            raise LedgerCorrupt(
                f"its lookup columns say {entry.artifact_id} {entry.artifact_commit}, but the "
                f"receipt is for {statement.artifact_id} {Commit(statement.artifact_commit)}"
            )

    report = audit(ledger, verifier, check_entry)
    # What was recomputed must also extend what this verifier trusted before (rollback, fork).
    checkpoint, note = ledger.latest_checkpoint(verifier)
    args.pins.advance(verifier, checkpoint, note, ledger.consistency_proof)
    result = {
        "ok": True,
        "origin": verifier.name,
        "size": report.size,
        "root": base64.b64encode(report.root).decode(),
        "checkpoints": report.checkpoints,
        "subtrees": report.nodes,
        "signatures_checked": trust is not None,
    }
    emit(
        args,
        result,
        f"ledger {verifier.name}: {report.size} entries, {report.nodes} subtree hashes and "
        f"{report.checkpoints} signed checkpoints recomputed and matching",
    )
    return 0


def _logged_at(ledger, verifier, index: int) -> int | None:
    """The time of the first signed checkpoint covering entry ``index``: the audit checks that
    checkpoint's root against the entries it recomputes, so its time is the entry's."""
    from receiptcore.ledger.checkpoint import open_checkpoint

    covering = next(iter(ledger.checkpoints(start=index + 1, batch=1)), None)
    return None if covering is None else open_checkpoint(covering[1], verifier).time


def run_show(args: argparse.Namespace) -> int:
    ledger, verifier = _open(args)
    if args.index is None:
        _, note = ledger.latest_checkpoint(verifier)  # opening it checks its signature
        result = {
            "origin": verifier.name,
            "ledger_key": verifier.to_text(),
            "size": ledger.size(),
            "checkpoint": note,
        }
        emit(
            args,
            result,
            f"origin      {verifier.name}\nledger key  {verifier.to_text()}\n"
            f"entries     {ledger.size()}\n\n{note}",
        )
        return 0
    from receiptcore.contracts import parse_json_bytes
    from receiptcore.errors import LedgerCorrupt, SchemaError

    entry = ledger.entry(args.index)
    try:
        receipt = parse_json_bytes(entry.data, f"ledger entry {entry.index}")
    except SchemaError as error:
        raise LedgerCorrupt(f"{error} (it is not a receipt: run ledger verify)", entry.index) from None
    result = {
        "index": entry.index,
        "leaf_hash": entry.leaf_hash.hex(),
        "artifact_id": entry.artifact_id,
        "artifact_commit": entry.artifact_commit,
        "receipt": receipt,
    }
    emit(
        args,
        result,
        f"entry {entry.index}: {entry.artifact_id} {entry.artifact_commit}\n"
        f"leaf hash {entry.leaf_hash.hex()}",
    )
    return 0


def run_proof(args: argparse.Namespace) -> int:
    from receiptcore.ledger.checkpoint import open_checkpoint

    ledger, verifier = _open(args)
    note = ledger.checkpoint_note(args.size)
    checkpoint = open_checkpoint(note, verifier)
    entry = ledger.entry(args.index)
    proof = ledger.inclusion_proof(entry.index, checkpoint.size)
    result = {
        "index": entry.index,
        "tree_size": checkpoint.size,
        "leaf_hash": entry.leaf_hash.hex(),
        "proof": [p.hex() for p in proof],
        "checkpoint": note,
    }
    lines = [f"entry {entry.index} in tree of size {checkpoint.size}", f"leaf {entry.leaf_hash.hex()}"]
    lines += [f"  {p.hex()}" for p in proof]
    emit(args, result, "\n".join(lines) + "\n\n" + note)
    return 0
