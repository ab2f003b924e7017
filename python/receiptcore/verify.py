"""The one verification every consumer calls: is this artifact exactly the one that was published?

:func:`verify` runs five checks, in order, and stops at the first failure (fail-closed); each is
one function below that returns its :class:`Check` or raises its error:

1. ``trust``: the ledger holds a receipt for the artifact, a DSSE envelope signed by a key the
   trust file lists (UntrustedKey, SignatureInvalid, NotInLedger, AmbiguousArtifact);
2. ``signature``: the signed receipt names the artifact that was asked for (NotInLedger);
3. ``inclusion``: the receipt's leaf is in the ledger's latest checkpoint, whose signature is the
   ledger key's (CheckpointError), by an RFC 9162 inclusion proof (ProofError);
4. ``consistency``: that checkpoint extends the last one this verifier trusted, so the ledger was
   neither rolled back nor forked (RollbackDetected);
5. ``digest``: the bytes (the given file or folder, or the stored objects) hash to the receipt's
   ``artifact_commit`` (DigestMismatch, TreeMismatch, ObjectNotFound, FileChangedError). A
   folder that differs from its tree names every file missing, extra or changed.

Which receipt: by id, the one of the id's latest version, or of the version ``commit`` pins
(:mod:`receiptcore.versions`); by path, the one for the bytes' commit, and when the same bytes
were published under several ids, none: AmbiguousArtifact lists them.

Only when all five passed does the trusted checkpoint move forward (in either mode). A receipt
that is not found is first explained by the ledger itself: a ledger rolled back behind what this
verifier trusted is RollbackDetected, one that stores fewer entries than its own signed
checkpoint covers is LedgerCorrupt, and only a whole, consistent ledger says NotInLedger. A
ledger that holds nothing at all (deleted, emptied, a fresh one) is RollbackDetected too when this
verifier trusted some of it, before anything else is looked at (:func:`~receiptcore.ledger.pins.
open_pinned`).

Each failure is its own exception class, whose ``exit_code`` and ``check`` come from the error
catalogue (:mod:`receiptcore.errors`). In ``mode="enforce"`` (the default) a failure raises, with
the verdict attached as ``error.verdict``; in ``mode="warn"`` (the rollback switch) it is logged
and returned in the verdict instead, and the caller goes on.

The bytes are hashed once (natively, files in parallel, on a worker thread that starts first)
and that one result serves both to find the receipt and to check the bytes. Everything else
(loading the policy modules and the trust file, opening the ledger, checking the checkpoint
signature) runs while the bytes are being hashed, so verifying costs what hashing costs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from receiptcore.commit import Commit
from receiptcore.digests import Background, PathDigest, Progress, digest_path, digest_stored
from receiptcore.errors import (
    AmbiguousArtifact,
    CheckpointError,
    DigestMismatch,
    LedgerCorrupt,
    LimitExceeded,
    NotInLedger,
    ObjectNotFound,
    ReceiptcoreError,
    TreeMismatch,
    TrustNotAnchored,
    check_for,
    error_classes,
    exit_code_for,
)
from receiptcore.errors import Check as CheckName
from receiptcore.util.home import (
    ENV_TRUST,
    ENV_VERIFY_MODE,
    home_dir,
    is_inside,
    state_dir,
    trust_path,
)
from receiptcore.util.reading import LIMITS

# Only light imports above: the ledger, the store, the contracts (pydantic) and cryptography are
# imported in _Run.open, after the bytes have started hashing on their own thread, so that a
# verifier process pays for its start-up while the bytes are being read, not before.
if TYPE_CHECKING:
    from receiptcore.contracts import Statement
    from receiptcore.digests import StoredDigest
    from receiptcore.ledger.base import Ledger, LogEntry
    from receiptcore.ledger.checkpoint import Checkpoint, VerifierKey
    from receiptcore.ledger.pins import TrustedCheckpoints
    from receiptcore.signing.trust import Trust
    from receiptcore.store.base import Store
    from receiptcore.versions import Versions

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
    """Everything a verification found; ``verified`` only if every check passed.

    ``version`` is the number of the version checked among the id's ``versions`` (``latest``
    says whether it is the newest); ``kind`` is ``file`` or ``tree``, ``files`` and ``size``
    what it holds; ``differences`` names every file of a folder that differs from its tree."""

    mode: Mode
    artifact_id: str | None = None
    artifact_commit: Commit | None = None
    uri: str | None = None
    ledger_index: int | None = None
    checkpoint_size: int | None = None
    build_manifest_commit: Commit | None = None
    dataset_manifest_commits: list[Commit] = field(default_factory=list)
    kind: Literal["file", "tree"] | None = None
    version: int | None = None
    versions: int | None = None
    latest: Commit | None = None
    files: int | None = None
    size: int | None = None
    from_stat_cache: int = 0
    differences: dict[str, list[str]] | None = None
    checks: list[Check] = field(default_factory=list)
    error: ReceiptcoreError | None = None
    warnings: list[str] = field(default_factory=list)
    """What the verification leaned on that an attacker could have written: a trust file in the
    ledger folder, a ledger key taken on first use. ``strict=True`` refuses these instead."""

    @property
    def verified(self) -> bool:
        return self.error is None

    @property
    def is_latest(self) -> bool:
        return self.latest is not None and self.latest == self.artifact_commit

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
            "kind": self.kind,
            "version": self.version,
            "versions": self.versions,
            "latest": None if self.latest is None else str(self.latest),
            "files": self.files,
            "size": self.size,
            "from_stat_cache": self.from_stat_cache,
            "uri": self.uri,
            "ledger_index": self.ledger_index,
            "checkpoint_size": self.checkpoint_size,
            "checks": [vars(c) for c in self.checks],
            "differences": self.differences,
            "warnings": self.warnings,
            "error": error,
        }

    def describe(self) -> str:
        """One line for people: what was verified, which version, where in the ledger."""
        what = f"{self.artifact_id} {self.artifact_commit}"
        if self.kind == "tree":
            what += f", a tree of {self.files} file{'s' * (self.files != 1)} ({self.size} bytes)"
        if self.version is not None:
            which = "the latest" if self.is_latest else f"not the latest, which is {self.latest}"
            what += f" (version {self.version} of {self.versions}, {which})"
        cached = f", {self.from_stat_cache} from the stat cache" if self.from_stat_cache else ""
        return (
            f"verified {what}; ledger entry {self.ledger_index}, checkpoint size "
            f"{self.checkpoint_size}{cached}"
        )

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
    trust_stat_cache: bool = False,
    progress: Progress | None = None,
    ledger: str | None = None,
    store: str | None = None,
    strict: bool = False,
) -> Verdict:
    """Verify an artifact given as a file or folder (``path``), by id (``artifact_id``), or both.

    ``commit`` pins a version of the id (a reference ``ID@COMMIT``); without it, an id is checked
    at its latest version. ``trust`` is a :class:`Trust` or a trust file path (default:
    ``$RECEIPTCORE_TRUST`` or ``<home>/trust.json``). ``ledger_key`` is the ledger's verifier key
    (text or file path); without it, the trust file's ``ledger`` key, else the key pinned at
    first use. ``trust_stat_cache`` skips re-hashing files of ``path`` unchanged since this user
    hashed them (docs/trees.md). ``progress(bytes_done, bytes_total, files_done, files_total)``
    is called while bytes are hashed. ``ledger`` and ``store`` are URLs (default:
    :mod:`receiptcore.util.locations`); a remote ledger is trusted for nothing that can be
    checked here: proofs and checkpoints are verified in this process. ``strict`` (CI)
    refuses, with TrustNotAnchored, what ``verify`` otherwise allows with a warning in
    ``Verdict.warnings``: the embedded trust file inside the ledger folder, and a ledger key
    trusted on first use.
    """
    return run_verification(
        _digest,
        path=path,
        artifact_id=artifact_id,
        commit=commit,
        home=home,
        trust=trust,
        ledger_key=ledger_key,
        state=state,
        mode=mode or default_mode(),
        trust_stat_cache=trust_stat_cache,
        progress=progress,
        ledger=ledger,
        store=store,
        strict=strict,
    )


def run_verification(
    digest_check: Callable[[_Run], Check],
    *,
    path,
    artifact_id,
    commit,
    home,
    trust,
    ledger_key,
    state,
    mode: Mode,
    trust_stat_cache: bool = False,
    progress: Progress | None = None,
    rehash_store: bool = True,
    ledger: str | None = None,
    store: str | None = None,
    strict: bool = False,
) -> Verdict:
    """The checks, with ``digest_check`` as the last: :func:`verify`'s, or a fetch's (which
    checks the bytes while it copies them out, so the store is not re-hashed first)."""
    if path is None and artifact_id is None:
        raise ValueError("verify needs a file, a folder or an artifact id")
    expected = None if commit is None else Commit.parse(commit)
    verdict = Verdict(mode, artifact_id=artifact_id, artifact_commit=expected)
    home = _home(home, ledger)
    state = state_dir(state)
    hashing = None
    if path is not None:
        cache = state if trust_stat_cache else None
        hashing = Background(lambda: digest_path(path, cache=cache, progress=progress), "receiptcore-verify-hash")
    run = _Run(verdict, artifact_id, expected, hashing, progress, rehash_store, strict=strict)
    try:
        run.open(home, trust, ledger_key, state, ledger, store)
        for check in (_trust, _signature, _inclusion, _consistency, digest_check):
            verdict.checks.append(check(run))
        run.pins.advance(run.verifier, run.checkpoint, run.note, run.ledger.consistency_proof)
    except ReceiptcoreError as error:
        verdict.checks.append(Check(check_for(error) or "signature", False, str(error)))
        verdict.error = error
        error.verdict = verdict  # type: ignore[attr-defined]
        if mode == "enforce":
            raise
        log.warning("verification failed (mode=warn, carrying on): %s", error)
    finally:
        run.join()  # a failed check does not leave bytes being read behind it
    return verdict


def _home(home, ledger) -> Path:
    """The home to read from: it must exist for the embedded ledger; with a ledger named by URL
    (a database, a serve endpoint) it only holds the trust file, and may be absent."""
    from receiptcore.errors import HomeNotFound
    from receiptcore.util.locations import ledger_url

    try:
        return home_dir(home)
    except HomeNotFound:
        if ledger_url(ledger) is None:
            raise
        return Path(home or os.environ.get("RECEIPTCORE_HOME") or ".receiptcore")


@dataclass
class _Run:
    """What the checks share: the inputs, the opened ledger and store, and what each check found
    for the next one."""

    verdict: Verdict
    asked_id: str | None
    expected: Commit | None
    hashing: Background[PathDigest] | None
    progress: Progress | None = None
    rehash_store: bool = True
    stored: Background[StoredDigest] | None = None
    ledger: Ledger = None  # type: ignore[assignment]
    store: Store = None  # type: ignore[assignment]
    home: Path = None  # type: ignore[assignment]
    trust: Trust = None  # type: ignore[assignment]
    pins: TrustedCheckpoints = None  # type: ignore[assignment]
    verifier: VerifierKey = None  # type: ignore[assignment]
    checkpoint: Checkpoint = None  # type: ignore[assignment]
    note: str = ""
    entry: LogEntry | None = None
    versions: Versions | None = None
    missing: NotInLedger | None = None
    statement: Statement = None  # type: ignore[assignment]
    strict: bool = False

    def open(self, home: Path, trust, ledger_key, state: Path, ledger, store) -> None:
        from receiptcore.ledger.pins import open_pinned
        from receiptcore.store import open_store

        self.home = home
        self.ledger, self.pins = open_pinned(ledger, home=home, state=state)
        self.store = open_store(store, home=home)
        if self.asked_id is not None:
            try:
                self._pick_version(self.asked_id)
            except NotInLedger as error:  # explained once the checkpoints are known (_trust)
                self.missing = error
            if self.entry is not None and self.hashing is None and self.rehash_store:
                self._start_hashing_the_stored_objects()

        # what needs no digest, while the bytes are being hashed
        from receiptcore.ledger.keyfile import ledger_key_for
        from receiptcore.signing.trust import Trust

        self.trust = trust if isinstance(trust, Trust) else self._load_trust(home, trust)
        if ledger_key is None:
            self._refuse_a_recreated_ledger()
        self.verifier = ledger_key_for(self.ledger, ledger_key, self.pins, self.trust.ledger_keys)
        if ledger_key is None and not self.trust.ledger_keys and self.pins.pinned_key() is None:
            self._weak_anchor(
                f"first use of the ledger at {self.ledger.location}: its key "
                f"{self.verifier.to_text()} is trusted because the ledger states it",
                "name it in the trust file: receiptcore keys trust VKEY --role ledger --trust FILE",
            )
        self.checkpoint, self.note = self.ledger.latest_checkpoint(self.verifier)

    def _load_trust(self, home: Path, given) -> Trust:
        """The trust file; one inside the ledger folder only as the embedded default."""
        from receiptcore.signing.trust import load_trust

        path = trust_path(home, given)
        if is_inside(path, home):
            problem = (
                f"the trust file {path} is inside the ledger folder {home}: whoever can write "
                "that folder chooses whom this verifier trusts"
            )
            if given is not None or os.environ.get(ENV_TRUST):
                raise TrustNotAnchored(f"{problem}; only the embedded default may be read there")
            self._weak_anchor(problem, "give --trust FILE kept outside it")
        return load_trust(path)

    def _weak_anchor(self, problem: str, remedy: str) -> None:
        """Trust that rests on what the verified party can write: a warning in the verdict, or,
        with ``strict``, a TrustNotAnchored error."""
        if self.strict:
            raise TrustNotAnchored(f"{problem}; --strict refuses this ({remedy})")
        self.verdict.warnings.append(f"{problem} ({remedy}; --strict refuses this)")

    def _pick_version(self, artifact_id: str, hint: Commit | None = None) -> None:
        """The entry of the version asked for: pinned by ``expected``, else the latest."""
        from receiptcore.versions import Versions

        self.versions = versions = Versions.of(self.ledger, artifact_id)
        if not versions:
            raise NotInLedger(f"no receipt in the ledger for artifact id {artifact_id}")
        pinned = self.expected or hint
        version = versions.latest if pinned is None else versions.find(pinned)
        if version is None:
            raise DigestMismatch(
                f"the caller expects {pinned}, but {artifact_id} has no such version; its "
                f"versions: {versions.describe()}"
            )
        self.entry = self.ledger.entry(version.index)
        self.verdict.version, self.verdict.versions = version.number, len(versions.versions)
        self.verdict.latest = versions.latest.commit  # type: ignore[union-attr]

    def _start_hashing_the_stored_objects(self) -> None:
        """By id: re-hash the stored object(s) at once. The entry's commit column and its
        receipt's kind are read before the signature is checked: they only choose what to
        hash; ``_digest`` compares the result with the signed receipt."""
        from receiptcore.contracts import Envelope, load
        from receiptcore.signing.receipts import unverified_statement

        try:
            statement = unverified_statement(load(Envelope, self.entry.data, "receipt"))
            hinted = Commit(statement.artifact_commit)
        except (ValueError, ReceiptcoreError):  # malformed: no head start, the checks still run
            return
        store, progress = self.store, self.progress
        self.stored = Background(
            lambda: digest_stored(store, hinted, statement.is_tree, progress),
            "receiptcore-verify-store",
        )

    def _refuse_a_recreated_ledger(self) -> None:
        """A ledger whose key is not the one pinned was replaced: say how to forget the pin
        when that was done on purpose (CheckpointError, exit 13)."""
        pinned = self.pins.pinned_key()
        stated = self.ledger.verifier_key
        if pinned is not None and pinned != stated:
            raise CheckpointError(
                f"the ledger at {self.pins.location} is not the one this verifier trusted before "
                f"(it pinned key {pinned.to_text()}; the ledger now states {stated.to_text()}): "
                "if it was deleted and recreated on purpose, forget the old pin with: "
                f"{self.pins.forget_command()}"
            )

    @property
    def receipt_commit(self) -> Commit:
        return Commit(self.statement.artifact_commit)

    def join(self) -> None:
        for thread in (self.hashing, self.stored):
            if thread is not None:
                thread.join()
        if self.ledger is not None:
            self.ledger.close()


def _trust(run: _Run) -> Check:
    """The receipt, found by id or by the bytes' commit, signed by a key in the trust file."""
    from receiptcore.contracts import Envelope, load
    from receiptcore.signing.receipts import verify_envelope

    if run.hashing is not None:
        found = run.hashing.result()
        run.verdict.kind = "tree" if found.is_tree else "file"
        if run.entry is None and run.missing is None:
            try:
                _find_by_commit(run, found)
            except NotInLedger as error:
                run.missing = error
    if run.missing is not None:
        _explain_missing(run)
    entry = run.entry
    run.verdict.ledger_index = entry.index
    if len(entry.data) > LIMITS["receipt"]:
        raise LimitExceeded(
            f"ledger entry {entry.index} is {len(entry.data)} bytes; a receipt is read only up "
            f"to {LIMITS['receipt']} bytes",
            check="trust",
        )
    envelope = load(Envelope, entry.data, f"ledger entry {entry.index}")
    run.statement = verify_envelope(envelope, run.trust, lambda: _logged_at(run, entry))
    run.verdict.artifact_id = run.statement.artifact_id
    run.verdict.uri = run.statement.predicate.uri
    run.verdict.artifact_commit = run.receipt_commit
    run.verdict.build_manifest_commit = Commit(run.statement.predicate.build_manifest_commit)
    run.verdict.dataset_manifest_commits = [
        Commit(c) for c in run.statement.predicate.dataset_manifest_commits
    ]
    run.verdict.kind = "tree" if run.statement.is_tree else "file"
    return Check("trust", True, "receipt signed by a key in the trust file")


def _find_by_commit(run: _Run, found: PathDigest) -> None:
    """The receipt for the bytes at a path: one id only, never a guess among several."""
    what = f"the {'tree' if found.is_tree else 'bytes'} of {found.path}"
    if found.commit is None:  # a folder holding no file, or what a tree cannot record
        from receiptcore.tree import refuse_unrecordable

        refuse_unrecordable(found.listing)  # type: ignore[arg-type]
    run.verdict.artifact_commit = found.commit
    entries = run.ledger.find_all(artifact_commit=str(found.commit))
    if not entries:
        hint = "names every file that differs from ID's tree" if found.is_tree else "compares it with ID's receipt"
        raise NotInLedger(
            f"no receipt in the ledger for {what} ({found.commit}): not published, or changed "
            f"since (--artifact-id ID {hint})"
        )
    ids = sorted({e.artifact_id for e in entries if e.artifact_id is not None})
    if len(ids) > 1:
        raise AmbiguousArtifact(
            f"{what} ({found.commit}) were published under {len(ids)} artifact ids: "
            f"{', '.join(ids)}; name the one to check with --artifact-id"
        )
    run._pick_version(ids[0], found.commit)


def _explain_missing(run: _Run) -> None:
    """No receipt was found: say why, from the ledger's own evidence. Behind what this verifier
    trusted, the receipt may be in a tail that was rolled back (RollbackDetected); under a signed
    checkpoint larger than what is stored, its entry may have been deleted (LedgerCorrupt); only
    a ledger that is neither says NotInLedger."""
    run.pins.check(run.verifier, run.checkpoint, run.ledger.consistency_proof)
    stored = run.ledger.size()
    if stored < run.checkpoint.size:
        raise LedgerCorrupt(
            f"the ledger's signed checkpoint covers {run.checkpoint.size} entries but only "
            f"{stored} are stored (entries were removed): {run.missing}",
            stored,
        )
    raise run.missing


def _logged_at(run: _Run, entry: LogEntry) -> int | None:
    """When the ledger logged ``entry``, on the ledger key's word: the time in the first signed
    checkpoint that covers it, once a proof shows the entry is in that checkpoint's tree (so the
    receipt existed then). None if that checkpoint carries no time. Asked only when the receipt's
    signer is revoked: a stolen key cannot backdate what the ledger timed."""
    from receiptcore.ledger import merkle
    from receiptcore.ledger.checkpoint import open_checkpoint

    covering = next(iter(run.ledger.checkpoints(start=entry.index + 1, batch=1)), None)
    if covering is None:
        return None
    checkpoint = open_checkpoint(covering[1], run.verifier)
    if checkpoint.time is None:
        return None
    proof = run.ledger.inclusion_proof(entry.index, checkpoint.size)
    leaf = merkle.leaf_hash(entry.data)
    merkle.verify_inclusion(entry.index, checkpoint.size, leaf, proof, checkpoint.root)
    return checkpoint.time


def _signature(run: _Run) -> Check:
    """The signed receipt names what was asked for: the lookup columns are not signed."""
    entry, statement = run.entry, run.statement
    asked = run.asked_id or (run.versions.artifact_id if run.versions else None)
    if asked is not None and statement.artifact_id != asked:
        raise NotInLedger(
            f"ledger entry {entry.index} is a receipt for {statement.artifact_id!r}, not {asked!r}"
        )
    column = entry.artifact_commit
    if column is not None and column != str(run.receipt_commit):
        raise NotInLedger(
            f"ledger entry {entry.index} is a receipt for {run.receipt_commit}, not {column}"
        )
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
    """That checkpoint extends what this verifier trusted before (the pin moves forward only
    once the digest check passed too)."""
    advance = run.pins.check(run.verifier, run.checkpoint, run.ledger.consistency_proof)
    return Check("consistency", True, advance.describe())


def _digest(run: _Run) -> Check:
    """The bytes (the file or folder given, or the stored objects) hash to the receipt's commit."""
    receipt_commit = run.receipt_commit
    if run.expected is not None and run.expected != receipt_commit:
        raise DigestMismatch(
            f"the caller expects {run.expected}, but the receipt is for {receipt_commit}"
        )
    if run.hashing is not None:
        return _digest_of_path(run, run.hashing.result())
    stored = run.stored.result() if run.stored is not None else None
    if stored is None or stored.commit != receipt_commit:  # no head start, or a lying column
        stored = digest_stored(run.store, receipt_commit, run.statement.is_tree, run.progress)
    where = run.store.uri(receipt_commit)
    if not run.statement.is_tree:
        run.verdict.files, run.verdict.size = 1, run.store.size(receipt_commit)
        if stored.actual != receipt_commit:
            raise DigestMismatch(
                f"stored object {where} hashes to {stored.actual}, not {receipt_commit}: it was changed"
            )
        return Check("digest", True, f"{where} hashes to {receipt_commit}")
    files = stored.manifest.files
    run.verdict.files, run.verdict.size = len(files), sum(f.size for f in files)
    missing = [f.path for f, got in zip(files, stored.objects) if got is None]
    changed = [f.path for f, got in zip(files, stored.objects) if got is not None and got.hex != f.sha256]
    if changed:
        run.verdict.differences = {"missing": missing, "extra": [], "changed": changed}
        raise TreeMismatch(
            f"stored objects of tree {receipt_commit} ({run.store.location}) were changed: "
            f"{len(changed)}: {', '.join(changed)}"
            + (f"; and {len(missing)} are missing: {', '.join(missing)}" if missing else ""),
            missing=missing,
            changed=changed,
        )
    if missing:
        run.verdict.differences = {"missing": missing, "extra": [], "changed": []}
        raise ObjectNotFound(
            f"the artifact store {run.store.location} lacks {len(missing)} object"
            f"{'s' * (len(missing) != 1)} of tree {receipt_commit}: {', '.join(missing)}"
        )
    return Check(
        "digest", True, f"the {len(files)} stored objects of tree {receipt_commit} hash to its file list"
    )


def _digest_of_path(run: _Run, found: PathDigest) -> Check:
    """A file's sha256, or a folder's tree, against the receipt; a folder that differs names
    every file missing, extra or changed (the tree's file list comes from the store)."""
    receipt_commit, tree = run.receipt_commit, run.statement.is_tree
    run.verdict.size, run.verdict.from_stat_cache = found.size, found.from_cache
    run.verdict.files = len(found.listing.files) if found.listing is not None else 1
    if found.is_tree != tree:
        kinds = ("a folder", "a file") if found.is_tree else ("a file", "a folder")
        raise DigestMismatch(
            f"{found.path} is {kinds[0]}, but {run.statement.artifact_id} was published as "
            f"{kinds[1]} ({receipt_commit})"
        )
    if found.commit == receipt_commit:
        what = f"the tree of {found.path}" if tree else found.path
        return Check("digest", True, f"{what} hashes to {receipt_commit}")
    if not tree:
        raise DigestMismatch(
            f"{found.path} hashes to {found.commit}, but its receipt is for {receipt_commit}"
        )
    from receiptcore.digests import read_tree_manifest
    from receiptcore.tree import compare

    try:
        manifest = read_tree_manifest(run.store, receipt_commit)
    except ObjectNotFound:
        raise DigestMismatch(
            f"the tree of {found.path} is {found.commit}, but its receipt is for {receipt_commit} "
            "(the store holds no file list of that tree to name the files that differ)"
        ) from None
    expected = [(f.path, f.size, f.sha256) for f in manifest.files]
    differences = compare(expected, found.listing, found.digests)  # type: ignore[arg-type]
    run.verdict.differences = vars(differences)
    raise TreeMismatch(
        f"{found.path} differs from tree {receipt_commit} of {run.statement.artifact_id}: "
        f"{differences.describe()}",
        missing=differences.missing,
        extra=differences.extra,
        changed=differences.changed,
    )
