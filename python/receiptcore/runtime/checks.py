"""The client's own checks of what a server sends: it trusts no server.

A ``receipt.verify`` response carries the ledger entry (the DSSE envelope), an inclusion proof,
the signed checkpoint and a consistency proof from the size this client trusted last. Each is
checked here with the library's own code, against the client's own trust file and pinned
checkpoint, never the server's word:

1. the envelope's signature, by a key in the client's trust file (signing/receipts.py);
2. the signed receipt names the artifact id and commit the client asked for;
3. the checkpoint's signature, by the ledger key the client was given or pinned on first use
   (ledger/checkpoint.py);
4. the entry's leaf is in that checkpoint's tree (ledger/merkle.py, RFC 9162);
5. that tree extends the one the client trusted before (ledger/pins.py): a rolled-back or
   forked ledger is refused.

Bytes are checked by hashing them all (:class:`receiptcore._core.Hasher`) against the commit.
The pin does not move here: :func:`check_receipt` returns a :class:`Pin` that the client
advances only once every check of its answer passed, the bytes' too, as the library's own
``verify`` moves it only after its digest check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from receiptcore.commit import Commit
from receiptcore.contracts import Envelope, Statement, load
from receiptcore.contracts.tools import ArtifactRef
from receiptcore.contracts.tools_v2 import ReceiptProof
from receiptcore.errors import DigestMismatch, NotInLedger, ProofError
from receiptcore.ledger import merkle
from receiptcore.ledger.checkpoint import Checkpoint, VerifierKey, open_checkpoint
from receiptcore.ledger.pins import Advance, TrustedCheckpoints
from receiptcore.signing.receipts import verify_envelope
from receiptcore.signing.trust import Trust


@dataclass(frozen=True)
class Pin:
    """A signed checkpoint that extends the pinned one, not remembered yet: :meth:`advance`
    remembers it (checking the extension again, under the state file's lock)."""

    pins: TrustedCheckpoints
    verifier: VerifierKey
    checkpoint: Checkpoint
    note: str
    consistency: Callable[[int, int], list[bytes]]

    def advance(self) -> Advance:
        return self.pins.advance(self.verifier, self.checkpoint, self.note, self.consistency)


def check_receipt(
    proof: ReceiptProof | None,
    asked: ArtifactRef,
    *,
    trust: Trust,
    pins: TrustedCheckpoints,
    ledger_key: VerifierKey | None,
) -> tuple[Statement, Pin]:
    """Check a server's proof of ``asked``: the signed statement, and the checkpoint it rests
    on as a :class:`Pin` to advance once the rest of the answer checked too. Raises the
    library's own error for the first check that fails; remembers nothing."""
    if proof is None:
        raise NotInLedger(f"the server sent no receipt for {asked.artifact_id}")
    entry = proof.entry.encode("utf-8")
    statement = verify_envelope(load(Envelope, entry, "the server's receipt"), trust)
    if statement.artifact_id != asked.artifact_id:
        raise NotInLedger(
            f"the server's receipt is for {statement.artifact_id!r}, not {asked.artifact_id!r}"
        )
    if statement.artifact_commit != asked.commit:
        raise DigestMismatch(
            f"the server's receipt for {asked.artifact_id} is for "
            f"{Commit(statement.artifact_commit)}, not {Commit(asked.commit)}"
        )
    verifier = ledger_key or pins.pinned_key() or VerifierKey.from_text(proof.ledger_key)
    checkpoint = open_checkpoint(proof.checkpoint, verifier)
    if checkpoint.size != proof.inclusion.tree_size:
        raise ProofError(
            f"the inclusion proof is for a tree of {proof.inclusion.tree_size} entries, the "
            f"signed checkpoint for {checkpoint.size}"
        )
    hashes = [bytes.fromhex(h) for h in proof.inclusion.hashes]
    merkle.verify_inclusion(
        proof.ledger_index, checkpoint.size, merkle.leaf_hash(entry), hashes, checkpoint.root
    )

    def sent(old: int, new: int) -> list[bytes]:
        given = proof.consistency
        if given is None or (given.from_size, given.to_size) != (old, new):
            raise ProofError(f"the server sent no consistency proof from size {old} to {new}")
        return [bytes.fromhex(h) for h in given.hashes]

    pins.check(verifier, checkpoint, sent)
    return statement, Pin(pins, verifier, checkpoint, proof.checkpoint, sent)


def check_bytes(actual_hex: str, asked: ArtifactRef, what: str) -> None:
    """The bytes read hash to the commit asked for, or DigestMismatch."""
    if actual_hex != asked.commit:
        raise DigestMismatch(
            f"{what} hash to {Commit(actual_hex)}, not {Commit(asked.commit)}: the server sent "
            "other bytes"
        )
