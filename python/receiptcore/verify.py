"""The one verification every consumer calls: is this artifact exactly the one that was published?

:func:`verify` checks, in order, and stops at the first failure (fail-closed):

1. ``signature`` / ``trust``: the ledger holds a receipt for the artifact, and it is a DSSE
   envelope signed by a key the trust file lists (UntrustedKey, SignatureInvalid, NotInLedger);
2. ``inclusion``: the receipt's leaf is in the ledger's latest checkpoint, whose signature is the
   ledger key's (CheckpointError), by an RFC 9162 inclusion proof (ProofError);
3. ``consistency``: that checkpoint extends the last one this verifier trusted, so the ledger was
   neither rolled back nor forked (RollbackDetected); the trusted checkpoint then moves forward;
4. ``digest``: the bytes (the given file, or the stored object) hash to the receipt's
   ``artifact_commit`` (DigestMismatch, ObjectNotFound).

Each failure is its own exception class with its own CLI exit code. In ``mode="enforce"`` (the
default) a failure raises, with the verdict attached as ``error.verdict``; in ``mode="warn"`` (the
rollback switch) it is logged and returned in the verdict instead, and the caller goes on.

A file is hashed once (natively, with read-ahead, on a worker thread that starts first) and that
one digest serves both to find the receipt and to check the bytes. Everything else (loading the
policy modules and the trust file, opening the ledger, checking the checkpoint signature) runs
while the bytes are being hashed, so verifying costs what hashing the file costs.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from receiptcore import hash_file
from receiptcore.errors import (
    CheckpointError,
    DigestMismatch,
    LedgerCorrupt,
    NotInLedger,
    ObjectNotFound,
    ProofError,
    ReceiptcoreError,
    RollbackDetected,
    SchemaError,
    SignatureInvalid,
    TrustFileError,
    UntrustedKey,
)
from receiptcore.home import ENV_VERIFY_MODE, home_dir, state_dir, trust_path

# Only light imports above: the ledger, the store, the contracts (pydantic) and cryptography are
# imported in _run, after the file has started hashing on its own thread, so that a verifier
# process pays for its start-up while the bytes are being read, not before.
if TYPE_CHECKING:
    from receiptcore.ledger.checkpoint import VerifierKey
    from receiptcore.ledger.sqlite import SqliteLedger
    from receiptcore.ledger.trusted import TrustedCheckpoints
    from receiptcore.trust import Trust

Mode = Literal["enforce", "warn"]
log = logging.getLogger("receiptcore.verify")
log.addHandler(logging.NullHandler())  # a library logs; the application decides what is shown


@dataclass
class Check:
    name: Literal["signature", "trust", "inclusion", "consistency", "digest"]
    ok: bool
    detail: str


@dataclass
class Verdict:
    """Everything a verification found; ``verified`` only if every check passed."""

    mode: Mode
    artifact_id: str | None = None
    artifact_commit: str | None = None
    uri: str | None = None
    ledger_index: int | None = None
    checkpoint_size: int | None = None
    checks: list[Check] = field(default_factory=list)
    error: ReceiptcoreError | None = None

    @property
    def verified(self) -> bool:
        return self.error is None

    def to_json(self) -> dict:
        return {
            "verified": self.verified,
            "mode": self.mode,
            "artifact": {"artifact_id": self.artifact_id, "commit": self.artifact_commit},
            "uri": self.uri,
            "ledger_index": self.ledger_index,
            "checkpoint_size": self.checkpoint_size,
            "checks": [vars(c) for c in self.checks],
            "error": None
            if self.error is None
            else {
                "type": type(self.error).__name__,
                "exit_code": getattr(self.error, "exit_code", 1),
                "message": str(self.error),
            },
        }

    def to_response(self):  # -> receiptcore.contracts.ReceiptVerifyResponse
        """The verdict as the ``receipt.verify`` tool's response contract (a request names both
        the artifact id and the commit it expects, so both are known)."""
        from receiptcore.contracts import ReceiptVerifyResponse, validate

        return validate(
            ReceiptVerifyResponse,
            {
                "artifact": {
                    "artifact_id": self.artifact_id,
                    "commit": (self.artifact_commit or "").removeprefix("sha256:"),
                },
                "verified": self.verified,
                "mode": self.mode,
                "checks": [vars(c) for c in self.checks],
                "ledger_index": self.ledger_index,
            },
            "receipt.verify response",
        )


def default_mode() -> Mode:
    """``$RECEIPTCORE_VERIFY_MODE`` (``enforce`` or ``warn``), ``enforce`` when unset."""
    mode = os.environ.get(ENV_VERIFY_MODE) or "enforce"
    if mode not in ("enforce", "warn"):
        raise ValueError(f"{ENV_VERIFY_MODE} must be 'enforce' or 'warn', not {mode!r}")
    return mode  # type: ignore[return-value]


def verify(
    *,
    path: str | os.PathLike[str] | None = None,
    artifact_id: str | None = None,
    commit: str | None = None,
    home: str | os.PathLike[str] | None = None,
    trust: Trust | str | os.PathLike[str] | None = None,
    ledger_key: VerifierKey | str | None = None,
    state: str | os.PathLike[str] | None = None,
    mode: Mode | None = None,
) -> Verdict:
    """Verify an artifact given as a file (``path``), by id (``artifact_id``), or both.

    ``commit`` is the artifact_commit the caller expects (a reference ``{artifact_id, commit}``).
    ``trust`` is a :class:`Trust` or a trust file path (default: ``$RECEIPTCORE_TRUST`` or
    ``<home>/trust.json``). ``ledger_key`` is the ledger's verifier key (text or file path);
    without it the key pinned at first use is required to match the ledger's.
    """
    mode = mode or default_mode()
    if path is None and artifact_id is None:
        raise ValueError("verify needs a file or an artifact id")
    verdict = Verdict(mode)
    threads: list[_Hashing] = []
    if path is not None:
        threads.append(_Hashing(path))
    try:
        _run(verdict, threads, artifact_id, commit, home_dir(home), trust, ledger_key, state)
    except ReceiptcoreError as error:
        verdict.checks.append(Check(_check_of(error), False, str(error)))
        verdict.error = error
        error.verdict = verdict  # type: ignore[attr-defined]
        if mode == "enforce":
            raise
        log.warning("verification failed (mode=warn, carrying on): %s", error)
    finally:
        for thread in threads:  # a failed check does not leave a file being read behind it
            thread.join()
    return verdict


class _Hashing(threading.Thread):
    """sha256 of a file on a worker thread (the native hasher releases the GIL)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(name="receiptcore-verify-hash")
        self.path, self._digest, self._error = path, None, None
        self.start()

    def run(self) -> None:
        try:
            self._digest = f"sha256:{hash_file(self.path)}"
        except BaseException as error:  # noqa: BLE001 - handed to the caller by result()
            self._error = error

    def result(self) -> str:
        self.join()
        if self._error is not None:
            raise self._error
        return self._digest


_CHECK_OF = {
    TrustFileError: "trust",
    UntrustedKey: "trust",
    SignatureInvalid: "signature",
    SchemaError: "signature",
    NotInLedger: "inclusion",
    CheckpointError: "inclusion",
    ProofError: "inclusion",
    LedgerCorrupt: "inclusion",
    RollbackDetected: "consistency",
    DigestMismatch: "digest",
    ObjectNotFound: "digest",
}


def _check_of(error: ReceiptcoreError) -> str:
    for kind, name in _CHECK_OF.items():
        if isinstance(error, kind):
            return name
    return "signature"


def _run(verdict, threads, artifact_id, commit, home, trust, ledger_key, state) -> None:
    from receiptcore.ledger.sqlite import SqliteLedger
    from receiptcore.store import LocalStore, parse_commit

    expected = None if commit is None else parse_commit(commit)
    verdict.artifact_id = artifact_id
    verdict.artifact_commit = None if expected is None else f"sha256:{expected}"
    ledger = SqliteLedger.open_readonly(home)
    store = LocalStore(home / "objects")
    hashing = threads[0] if threads else None
    entry = object_hashing = None
    if artifact_id is not None:
        entry = ledger.find(artifact_id=artifact_id)
    if hashing is None:
        # By id: start re-hashing the stored object at once. The entry's commit column is only a
        # hint (it is not signed); the object is checked against the signed receipt below.
        try:
            hinted = store.path(entry.artifact_commit) if entry.artifact_commit else None
        except ValueError:  # a column edited into nonsense: no head start, the checks still run
            hinted = None
        if hinted is not None and hinted.is_file():
            object_hashing = _Hashing(hinted)
            threads.append(object_hashing)

    # what needs no digest, while the bytes are being hashed
    from receiptcore.contracts import Envelope, load
    from receiptcore.ledger import merkle
    from receiptcore.ledger.trusted import TrustedCheckpoints
    from receiptcore.receipts import verify_envelope
    from receiptcore.trust import Trust, load_trust

    trust = trust if isinstance(trust, Trust) else load_trust(trust_path(home, trust))
    checkpoints = TrustedCheckpoints(state_dir(state), os.fspath(home.resolve()))
    verifier = ledger_key_for(ledger, ledger_key, home, checkpoints)
    checkpoint, note = ledger.latest_checkpoint(verifier)
    digest = None if hashing is None else hashing.result()
    verdict.artifact_commit = digest or verdict.artifact_commit

    # 1. the receipt, and whose signature is on it
    if entry is None:
        try:
            entry = ledger.find(artifact_commit=digest)
        except NotInLedger:
            raise NotInLedger(
                f"no receipt in the ledger for the bytes of {os.fspath(hashing.path)} ({digest}): "
                "not published, or changed since (--artifact-id ID compares it with ID's receipt)"
            ) from None
    verdict.ledger_index = entry.index
    statement = verify_envelope(load(Envelope, entry.data, f"ledger entry {entry.index}"), trust)
    receipt_commit = f"sha256:{statement.artifact_commit}"
    verdict.artifact_id, verdict.uri = statement.artifact_id, statement.predicate.uri
    verdict.artifact_commit = receipt_commit
    verdict.checks.append(Check("trust", True, "receipt signed by a key in the trust file"))
    # the lookup columns are not signed: the receipt itself must name what was asked for
    if artifact_id is not None and statement.artifact_id != artifact_id:
        raise NotInLedger(
            f"ledger entry {entry.index} is a receipt for {statement.artifact_id!r}, "
            f"not {artifact_id!r}"
        )
    if artifact_id is None and receipt_commit != digest:
        raise NotInLedger(f"ledger entry {entry.index} is a receipt for {receipt_commit}")
    verdict.checks.append(
        Check(
            "signature", True, f"receipt for {statement.artifact_id} at ledger entry {entry.index}"
        )
    )

    # 2. inclusion of that receipt under a checkpoint signed by the ledger key
    verdict.checkpoint_size = checkpoint.size
    if entry.index >= checkpoint.size:
        raise CheckpointError(
            f"no signed checkpoint covers ledger entry {entry.index} "
            f"(latest: size {checkpoint.size})"
        )
    proof = ledger.inclusion_proof(entry.index, checkpoint.size)
    leaf = merkle.leaf_hash(entry.data)  # of the very bytes whose signature was checked
    merkle.verify_inclusion(entry.index, checkpoint.size, leaf, proof, checkpoint.root)
    verdict.checks.append(
        Check(
            "inclusion",
            True,
            f"entry {entry.index} is in the signed checkpoint of size {checkpoint.size} "
            f"({len(proof)}-hash proof)",
        )
    )

    # 3. that checkpoint extends what this verifier trusted before
    advance = checkpoints.advance(verifier, checkpoint, note, ledger.consistency_proof)
    verdict.checks.append(Check("consistency", True, advance.describe()))

    # 4. the bytes
    if expected is not None and f"sha256:{expected}" != receipt_commit:
        raise DigestMismatch(
            f"the caller expects sha256:{expected}, but the receipt is for {receipt_commit}"
        )
    if digest is not None:
        where = os.fspath(hashing.path)
        if digest != receipt_commit:
            raise DigestMismatch(
                f"{where} hashes to {digest}, but its receipt is for {receipt_commit}"
            )
    else:
        where = os.fspath(store.path(receipt_commit))
        if object_hashing is not None and object_hashing.path == store.path(receipt_commit):
            actual = object_hashing.result()
            if actual != receipt_commit:
                raise DigestMismatch(
                    f"stored object {where} hashes to {actual}, not {receipt_commit}: it was changed"
                )
        else:
            store.verify(receipt_commit)
    verdict.checks.append(Check("digest", True, f"{where} hashes to {receipt_commit}"))


def ledger_key_for(
    ledger: SqliteLedger, given: VerifierKey | str | None, home: Path, pins: TrustedCheckpoints
) -> VerifierKey:
    """The ledger key to check checkpoints with: given, else pinned at first use, else the
    ledger's own (``ledger.vkey``), which is then pinned by the first successful verification."""
    from receiptcore.ledger.checkpoint import VerifierKey
    from receiptcore.ledger.keyfile import VKEY_FILE

    if isinstance(given, VerifierKey):
        return given
    if given is not None:
        text = Path(given).read_text() if os.path.isfile(given) else given
        return VerifierKey.from_text(text)
    stated = ledger.verifier_key
    pinned = pins.pinned_key()
    if pinned is not None:
        return pinned
    vkey_file = home / VKEY_FILE
    if vkey_file.is_file() and VerifierKey.from_text(vkey_file.read_text()) != stated:
        raise CheckpointError(f"{vkey_file} and the ledger disagree about the ledger key")
    return stated
