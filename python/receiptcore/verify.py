"""The one verification every consumer calls: is this artifact exactly the one that was published?

:func:`verify` runs five checks, in order, and stops at the first failure (fail-closed); each is
one function below that returns its :class:`Check` or raises its error:

1. ``trust``: the ledger holds a receipt for the artifact, a DSSE envelope signed by a key the
   trust file lists (UntrustedKey, SignatureInvalid, NotInLedger);
2. ``signature``: the signed receipt names the artifact that was asked for (NotInLedger);
3. ``inclusion``: the receipt's leaf is in the ledger's latest checkpoint, whose signature is the
   ledger key's (CheckpointError), by an RFC 9162 inclusion proof (ProofError);
4. ``consistency``: that checkpoint extends the last one this verifier trusted, so the ledger was
   neither rolled back nor forked (RollbackDetected); the trusted checkpoint then moves forward;
5. ``digest``: the bytes (the given file, or the stored object) hash to the receipt's
   ``artifact_commit`` (DigestMismatch, ObjectNotFound, FileChangedError).

Each failure is its own exception class, whose ``exit_code`` and ``check`` come from the error
catalogue (:mod:`receiptcore.errors`). In ``mode="enforce"`` (the default) a failure raises, with
the verdict attached as ``error.verdict``; in ``mode="warn"`` (the rollback switch) it is logged
and returned in the verdict instead, and the caller goes on.

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

from receiptcore._core import hash_file
from receiptcore.commit import Commit
from receiptcore.errors import Check as CheckName
from receiptcore.errors import (
    CheckpointError,
    DigestMismatch,
    NotInLedger,
    ReceiptcoreError,
    check_for,
    error_classes,
    exit_code_for,
)
from receiptcore.util.home import ENV_VERIFY_MODE, home_dir, state_dir, trust_path

# Only light imports above: the ledger, the store, the contracts (pydantic) and cryptography are
# imported in _Run.open, after the file has started hashing on its own thread, so that a verifier
# process pays for its start-up while the bytes are being read, not before.
if TYPE_CHECKING:
    from receiptcore.contracts import Statement
    from receiptcore.ledger.base import Ledger, LogEntry
    from receiptcore.ledger.checkpoint import Checkpoint, VerifierKey
    from receiptcore.ledger.pins import TrustedCheckpoints
    from receiptcore.signing.trust import Trust
    from receiptcore.store.base import Store

Mode = Literal["enforce", "warn"]
log = logging.getLogger("receiptcore.verify")
log.addHandler(logging.NullHandler())  # a library logs; the application decides what is shown


CHECKS: dict[CheckName, str] = {
    "trust": "the ledger has a receipt signed by a key in the trust file",
    "signature": "the signed receipt names the artifact that was asked for",
    "inclusion": "the receipt is in the ledger's signed checkpoint",
    "consistency": "that checkpoint extends the last one this verifier trusted",
    "digest": "the bytes hash to the receipt's artifact_commit",
}
"""The checks, in the order they run, and what each proves."""


def checks_table(markdown: bool = False) -> str:
    """Each check with the errors that fail it and their exit codes, from the error catalogue:
    for ``verify --help`` and (``markdown=True``) docs/ledger.md, which a test keeps equal."""
    lines = ["| check | what it proves | fails with (exit code) |\n", "|---|---|---|\n"]
    for name, proves in CHECKS.items():
        failing = sorted((int(c.exit_code), c.__name__) for c in error_classes() if check_for(c) == name)
        if markdown:
            errors = ", ".join(f"{error} {code}" for code, error in failing)
            lines.append(f"| {name} | {proves} | {errors} |\n")
        else:
            codes = ", ".join(str(code) for code in sorted({code for code, _ in failing}))
            lines.append(f"  {name:<12} {proves:<60} ({codes})\n")
    return "".join(lines if markdown else lines[2:])


@dataclass
class Check:
    name: CheckName
    ok: bool
    detail: str


@dataclass
class Verdict:
    """Everything a verification found; ``verified`` only if every check passed."""

    mode: Mode
    artifact_id: str | None = None
    artifact_commit: Commit | None = None
    uri: str | None = None
    ledger_index: int | None = None
    checkpoint_size: int | None = None
    build_manifest_commit: Commit | None = None
    dataset_manifest_commits: list[Commit] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    error: ReceiptcoreError | None = None

    @property
    def verified(self) -> bool:
        return self.error is None

    def to_json(self) -> dict:
        error = None
        if self.error is not None:
            code = exit_code_for(self.error)
            error = {
                "type": type(self.error).__name__,
                "exit_code": int(code),
                "exit_name": code.name.lower(),
                "message": str(self.error),
            }
        return {
            "verified": self.verified,
            "mode": self.mode,
            "artifact": {
                "artifact_id": self.artifact_id,
                "commit": None if self.artifact_commit is None else str(self.artifact_commit),
            },
            "uri": self.uri,
            "ledger_index": self.ledger_index,
            "checkpoint_size": self.checkpoint_size,
            "checks": [vars(c) for c in self.checks],
            "error": error,
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
                    "commit": "" if self.artifact_commit is None else self.artifact_commit.hex,
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
    commit: Commit | str | None = None,
    home: str | os.PathLike[str] | None = None,
    trust: Trust | str | os.PathLike[str] | None = None,
    ledger_key: VerifierKey | str | None = None,
    state: str | os.PathLike[str] | None = None,
    mode: Mode | None = None,
    ledger: str | None = None,
    store: str | None = None,
) -> Verdict:
    """Verify an artifact given as a file (``path``), by id (``artifact_id``), or both.

    ``commit`` is the artifact_commit the caller expects (a reference ``{artifact_id, commit}``).
    ``trust`` is a :class:`Trust` or a trust file path (default: ``$RECEIPTCORE_TRUST`` or
    ``<home>/trust.json``). ``ledger_key`` is the ledger's verifier key (text or file path);
    without it the key pinned at first use is required to match the ledger's. ``ledger`` and
    ``store`` are URLs (default: :mod:`receiptcore.util.locations`); a remote ledger is trusted
    for nothing that can be checked here: proofs and checkpoints are verified in this process.
    """
    mode = mode or default_mode()
    if path is None and artifact_id is None:
        raise ValueError("verify needs a file or an artifact id")
    expected = None if commit is None else Commit.parse(commit)
    verdict = Verdict(mode, artifact_id=artifact_id, artifact_commit=expected)
    run = _Run(verdict, artifact_id, expected, _Hashing(path) if path is not None else None)
    try:
        run.open(home_dir(home), trust, ledger_key, state, ledger, store)
        for check in (_trust, _signature, _inclusion, _consistency, _digest):
            verdict.checks.append(check(run))
    except ReceiptcoreError as error:
        verdict.checks.append(Check(check_for(error) or "signature", False, str(error)))
        verdict.error = error
        error.verdict = verdict  # type: ignore[attr-defined]
        if mode == "enforce":
            raise
        log.warning("verification failed (mode=warn, carrying on): %s", error)
    finally:
        run.join()  # a failed check does not leave a file being read behind it
    return verdict


class _Hashing(threading.Thread):
    """sha256 of a file (or, with ``digest``, of a stored object) on a worker thread (the native
    hasher releases the GIL)."""

    def __init__(self, path: str | os.PathLike[str], digest=None) -> None:
        super().__init__(name="receiptcore-verify-hash")
        self.path, self._digest, self._error = path, None, None
        self._hash = digest or (lambda: Commit(hash_file(self.path)))
        self.start()

    def run(self) -> None:
        try:
            self._digest = self._hash()
        except BaseException as error:  # noqa: BLE001 - handed to the caller by result()
            self._error = error

    def result(self) -> Commit:
        self.join()
        if self._error is not None:
            raise self._error
        return self._digest


@dataclass
class _Run:
    """What the checks share: the inputs, the opened ledger and store, and what each check found
    for the next one."""

    verdict: Verdict
    asked_id: str | None
    expected: Commit | None
    hashing: _Hashing | None
    object_hashing: _Hashing | None = None
    ledger: Ledger = None  # type: ignore[assignment]
    store: Store = None  # type: ignore[assignment]
    trust: Trust = None  # type: ignore[assignment]
    pins: TrustedCheckpoints = None  # type: ignore[assignment]
    verifier: VerifierKey = None  # type: ignore[assignment]
    checkpoint: Checkpoint = None  # type: ignore[assignment]
    note: str = ""
    entry: LogEntry | None = None
    statement: Statement = None  # type: ignore[assignment]

    def open(self, home: Path, trust, ledger_key, state, ledger, store) -> None:
        from receiptcore.ledger import open_ledger
        from receiptcore.store import open_store

        self.ledger = open_ledger(ledger, home=home)
        self.store = open_store(store, home=home)
        if self.asked_id is not None:
            self.entry = self.ledger.find(artifact_id=self.asked_id)
        if self.hashing is None:
            self._start_hashing_the_stored_object()

        # what needs no digest, while the bytes are being hashed
        from receiptcore.ledger.keyfile import ledger_key_for
        from receiptcore.ledger.pins import TrustedCheckpoints
        from receiptcore.signing.trust import Trust, load_trust

        self.trust = trust if isinstance(trust, Trust) else load_trust(trust_path(home, trust))
        self.pins = TrustedCheckpoints(state_dir(state), self.ledger.location)
        self.verifier = ledger_key_for(self.ledger, ledger_key, self.pins)
        self.checkpoint, self.note = self.ledger.latest_checkpoint(self.verifier)

    def _start_hashing_the_stored_object(self) -> None:
        """By id: re-hash the stored object at once. The entry's commit column is only a hint
        (it is not signed); the object is checked against the signed receipt in ``_digest``."""
        try:
            hinted = Commit.parse(self.entry.artifact_commit) if self.entry else None
        except ValueError:  # a column edited into nonsense: no head start, the checks still run
            hinted = None
        if hinted is not None and self.store.exists(hinted):
            store = self.store
            self.object_hashing = _Hashing(store.uri(hinted), lambda: store.digest(hinted))

    @property
    def receipt_commit(self) -> Commit:
        return Commit(self.statement.artifact_commit)

    def join(self) -> None:
        for thread in (self.hashing, self.object_hashing):
            if thread is not None:
                thread.join()
        if self.ledger is not None:
            self.ledger.close()


def _trust(run: _Run) -> Check:
    """The receipt, found by id or by the file's digest, signed by a key in the trust file."""
    from receiptcore.contracts import Envelope, load
    from receiptcore.signing.receipts import verify_envelope

    if run.hashing is not None:
        digest = run.hashing.result()
        run.verdict.artifact_commit = digest
        if run.entry is None:
            try:
                run.entry = run.ledger.find(artifact_commit=str(digest))
            except NotInLedger:
                raise NotInLedger(
                    f"no receipt in the ledger for the bytes of {os.fspath(run.hashing.path)} "
                    f"({digest}): not published, or changed since (--artifact-id ID compares "
                    "it with ID's receipt)"
                ) from None
    entry = run.entry
    run.verdict.ledger_index = entry.index
    envelope = load(Envelope, entry.data, f"ledger entry {entry.index}")
    run.statement = verify_envelope(envelope, run.trust)
    run.verdict.artifact_id = run.statement.artifact_id
    run.verdict.uri = run.statement.predicate.uri
    run.verdict.artifact_commit = run.receipt_commit
    run.verdict.build_manifest_commit = Commit(run.statement.predicate.build_manifest_commit)
    run.verdict.dataset_manifest_commits = [
        Commit(c) for c in run.statement.predicate.dataset_manifest_commits
    ]
    return Check("trust", True, "receipt signed by a key in the trust file")


def _signature(run: _Run) -> Check:
    """The signed receipt names what was asked for: the lookup columns are not signed."""
    entry, statement = run.entry, run.statement
    if run.asked_id is not None and statement.artifact_id != run.asked_id:
        raise NotInLedger(
            f"ledger entry {entry.index} is a receipt for {statement.artifact_id!r}, "
            f"not {run.asked_id!r}"
        )
    if run.asked_id is None and run.receipt_commit != run.hashing.result():
        raise NotInLedger(f"ledger entry {entry.index} is a receipt for {run.receipt_commit}")
    return Check(
        "signature", True, f"receipt for {statement.artifact_id} at ledger entry {entry.index}"
    )


def _inclusion(run: _Run) -> Check:
    """The receipt's leaf is under the latest checkpoint signed by the ledger key."""
    from receiptcore.ledger import merkle

    entry, checkpoint = run.entry, run.checkpoint
    run.verdict.checkpoint_size = checkpoint.size
    if entry.index >= checkpoint.size:
        raise CheckpointError(
            f"no signed checkpoint covers ledger entry {entry.index} "
            f"(latest: size {checkpoint.size})"
        )
    proof = run.ledger.inclusion_proof(entry.index, checkpoint.size)
    leaf = merkle.leaf_hash(entry.data)  # of the very bytes whose signature was checked
    merkle.verify_inclusion(entry.index, checkpoint.size, leaf, proof, checkpoint.root)
    return Check(
        "inclusion",
        True,
        f"entry {entry.index} is in the signed checkpoint of size {checkpoint.size} "
        f"({len(proof)}-hash proof)",
    )


def _consistency(run: _Run) -> Check:
    """That checkpoint extends what this verifier trusted before; the pin then moves forward."""
    advance = run.pins.advance(run.verifier, run.checkpoint, run.note, run.ledger.consistency_proof)
    return Check("consistency", True, advance.describe())


def _digest(run: _Run) -> Check:
    """The bytes (the file given, or the stored object) hash to the receipt's commit."""
    receipt_commit = run.receipt_commit
    if run.expected is not None and run.expected != receipt_commit:
        raise DigestMismatch(
            f"the caller expects {run.expected}, but the receipt is for {receipt_commit}"
        )
    if run.hashing is not None:
        where, digest = os.fspath(run.hashing.path), run.hashing.result()
        if digest != receipt_commit:
            raise DigestMismatch(f"{where} hashes to {digest}, but its receipt is for {receipt_commit}")
        return Check("digest", True, f"{where} hashes to {receipt_commit}")
    where = run.store.uri(receipt_commit)
    hashing = run.object_hashing
    if hashing is not None and hashing.path == where:
        actual = hashing.result()
        if actual != receipt_commit:
            raise DigestMismatch(
                f"stored object {where} hashes to {actual}, not {receipt_commit}: it was changed"
            )
    else:
        run.store.verify(receipt_commit)
    return Check("digest", True, f"{where} hashes to {receipt_commit}")
