"""A reference file's own claims: before any byte is read, is its commit a version of its id
and its kind the receipt's; once the artifact is verified, is its size the artifact's?

The proofs (the receipt's signature and trust, its inclusion in the signed checkpoint, the
bytes) are checked by the one :func:`receiptcore.verify.verify`, through ``fetch`` or ``verify``.
"""

from __future__ import annotations

from receiptcore.commit import Commit
from receiptcore.errors import NotInLedger, ReferenceMismatch


def check_reference(reference, source: str, locations: dict) -> None:
    """NotInLedger (11) when the ledger has no receipt for the id; ReferenceMismatch (36) when
    the commit is no version of it, or the receipt's kind differs; RollbackDetected (14) when
    this verifier pinned the ledger and it now holds nothing. ``locations``: ``home``,
    ``ledger`` and ``state`` (others are ignored)."""
    from receiptcore.contracts import Envelope, load
    from receiptcore.ledger.pins import open_pinned
    from receiptcore.signing.receipts import unverified_statement
    from receiptcore.util.home import state_dir
    from receiptcore.verify import _home  # the home as verify finds it
    from receiptcore.versions import Versions

    home = _home(locations.get("home"), locations.get("ledger"))
    commit = Commit(reference.artifact_commit)
    log, _ = open_pinned(locations.get("ledger"), home=home, state=state_dir(locations.get("state")))
    with log:
        versions = Versions.of(log, reference.artifact_id)
        if not versions:
            raise NotInLedger(f"{source}: no receipt in the ledger for artifact id {reference.artifact_id}")
        version = versions.find(commit)
        if version is None:
            raise ReferenceMismatch(
                f"{source}: {commit} is not a version of {reference.artifact_id} in the ledger "
                f"(its versions: {versions.describe()}); was the reference edited?"
            )
        data = log.entry(version.index).data
    # Unverified here: only compared with the reference; verify checks the signature.
    statement = unverified_statement(load(Envelope, data, f"ledger entry {version.index}"))
    kind = "tree" if statement.is_tree else "file"
    if kind != reference.kind:
        raise ReferenceMismatch(
            f"{source}: kind {reference.kind!r}, but {reference.artifact_id}@{commit} was "
            f"published as a {kind}"
        )


def check_size(reference, source: str, size: int | None) -> None:
    """ReferenceMismatch (36) unless the verified artifact holds the reference's size."""
    if size != reference.size:
        raise ReferenceMismatch(
            f"{source}: size {reference.size}, but {reference.artifact_id}@sha256:"
            f"{reference.artifact_commit} holds {size} bytes"
        )


def verify_stored(artifact_id: str, commit: str, locations: dict, *, rehash: bool):
    """The receipt of ``artifact_id@commit`` verified as any consumer verifies it (trust,
    signature, inclusion, consistency) and its stored objects: re-hashed with ``rehash`` (the
    one :func:`~receiptcore.verify.verify`), else present under their names with their sizes.

    Without ``rehash`` is for a publisher that has just hashed every byte as it wrote it into
    the store: reading the objects back at once would read the page cache, not the disk, and
    prove nothing more. ``locations``: home, trust, ledger_key, state, ledger, store."""
    from receiptcore.verify import Check, run_verification, verify

    if rehash:
        return verify(artifact_id=artifact_id, commit=commit, mode="enforce", **locations)

    def stored_by_name(run) -> Check:
        from receiptcore.digests import read_tree_manifest
        from receiptcore.errors import DigestMismatch, ObjectNotFound

        target = run.receipt_commit
        if run.statement.is_tree:
            files = read_tree_manifest(run.store, target).files  # checked against the commit
            wanted = [(Commit(f.sha256), f.size) for f in files]
        else:
            wanted = [(target, None)]
        size = 0
        for name, expected in wanted:
            if not run.store.exists(name):
                raise ObjectNotFound(f"the artifact store {run.store.location} lacks {name} of {target}")
            actual = run.store.size(name)
            if expected is not None and actual != expected:
                raise DigestMismatch(f"stored object {name} of {target} is {actual} bytes, not {expected}")
            size += actual
        run.verdict.files, run.verdict.size = len(wanted), size
        return Check("digest", True, f"the store holds the {len(wanted)} object(s) of {target}")

    return run_verification(
        stored_by_name, path=None, artifact_id=artifact_id, commit=commit, mode="enforce",
        rehash_store=False, **locations,
    )
