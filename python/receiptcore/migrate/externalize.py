"""``externalize``: each planned path published, checked, replaced by its reference file.

For one path, in this order, so that an interruption at any point leaves either the original
or a reference whose artifact is published, never neither:

1. publish it (:func:`receiptcore.publish.publish`: the bytes hashed once while copied into the
   store, each fsynced, a signed receipt appended to the ledger);
2. verify it as any consumer will (by id and commit: trust file, signature, inclusion in the
   signed checkpoint, consistency) and that the store holds every object under its name with
   its size (:func:`receiptcore.migrate.check.verify_stored`: publish hashed every byte as it
   wrote it; reading it back at once would read the page cache). A failure stops here, the
   original untouched;
3. write the reference file (atomically, fsynced);
4. remove the original from the work tree (first renamed aside in one step, then deleted), from
   the git index, and add it to the root ``.gitignore``; the reference and ``.gitignore`` are
   staged.

Running it again finishes what an interruption left (:func:`receiptcore.migrate.plan.unfinished`:
an asset beside its reference is checked against it, byte for byte, before it is removed), and
after a complete run it changes nothing.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from receiptcore.errors import DigestMismatch, ReferenceConflict
from receiptcore.migrate import git
from receiptcore.migrate.plan import CodeSite, Plan, make_plan, tomb
from receiptcore.migrate.reference import asset_path, read_reference, write_reference
from receiptcore.signing.receipts import DEFAULT_ISSUER
from receiptcore.util.progress import Update


@dataclass
class Externalized:
    """One path done: the reference it left, and the code that still names it."""

    path: str
    reference: str
    artifact_id: str
    artifact_commit: str
    kind: Literal["file", "tree"]
    size: int
    files: int
    ledger_index: int
    status: Literal["externalized", "finished"]
    code_sites: list[CodeSite] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


def externalize(
    root: str | os.PathLike[str] = ".",
    paths: list[str] | None = None,
    *,
    ids: dict[str, str] | None = None,
    new_version: bool = False,
    key=None,
    issuer: str = DEFAULT_ISSUER,
    home: str | os.PathLike[str] | None = None,
    trust: str | os.PathLike[str] | None = None,
    ledger_key: str | None = None,
    state: str | os.PathLike[str] | None = None,
    ledger: str | None = None,
    store: str | None = None,
    config_file: str | os.PathLike[str] | None = None,
    progress: Update | None = None,
    plan: Plan | None = None,
) -> list[Externalized]:
    """Externalize ``paths`` (each a file or folder), or everything the gate flags in ``root``
    (the plan of :func:`~receiptcore.migrate.plan.make_plan`), finishing any interrupted run
    first. ``progress(bytes_done, bytes_total, artifacts_done, artifacts_total)``."""
    plan = plan or make_plan(root, paths, ids, config_file)
    root = plan.root
    checks = {"home": home, "trust": trust, "ledger_key": ledger_key, "state": state,
              "ledger": ledger, "store": store}
    done = [_finish(root, ref, checks) for ref in plan.unfinished]
    total, count = plan.size, len(plan.artifacts)
    offset = 0
    for number, artifact in enumerate(plan.artifacts):
        report = None
        if progress is not None:
            report = lambda b, _t, _f, _c, o=offset, n=number: progress(o + b, total, n, count)
        publication = _publish(root, artifact, new_version, key, issuer, home, ledger, store, report)
        _verify_stored(publication, checks)
        reference = _reference_of(publication)
        write_reference(root / artifact.reference, reference)
        _remove(root, artifact.path, artifact.reference, artifact.kind == "tree")
        offset += artifact.size
        if progress is not None:
            progress(offset, total, number + 1, count)
        done.append(_result(artifact.path, artifact.reference, reference, "externalized", artifact.code_sites))
    return done


def _publish(root: Path, artifact, new_version, key, issuer, home, ledger, store, progress):
    from receiptcore.publish import publish

    return publish(
        root / artifact.path, artifact_id=artifact.artifact_id, new_version=new_version, key=key,
        issuer=issuer, home=home, ledger=ledger, store=store, progress=progress,
    )


def _verify_stored(publication, checks: dict) -> None:
    """The receipt as any consumer checks it, and the stored objects by name and size (every
    byte was hashed as publish wrote it), before the original may go."""
    from receiptcore.migrate.check import verify_stored

    verify_stored(publication.artifact_id, publication.artifact_commit, checks, rehash=False)


def _reference_of(publication):
    from receiptcore.commit import Commit
    from receiptcore.contracts import ArtifactReference

    return ArtifactReference(
        kind=publication.kind,
        schema_version=1,
        artifact_id=publication.artifact_id,
        artifact_commit=Commit.parse(publication.artifact_commit).hex,
        uri=publication.uri,
        size=publication.size,
        files=publication.files,
        ledger_index=publication.ledger_index,
    )


def _finish(root: Path, ref: str, checks: dict) -> Externalized:
    """Finish an interrupted externalize of ``ref``'s asset: if the asset is still there, it
    must be exactly the reference's artifact (receipt and bytes verified) before it goes."""
    from receiptcore.migrate.check import check_reference
    from receiptcore.verify import verify

    reference = read_reference(root / ref)
    rel = asset_path(ref).as_posix()
    if os.path.lexists(root / rel):
        check_reference(reference, ref, checks)
        try:
            verify(path=root / rel, artifact_id=reference.artifact_id,
                   commit=reference.artifact_commit, mode="enforce", **checks)
        except DigestMismatch as error:  # the version is the id's: the bytes are not
            raise _conflict(rel, ref, reference, error) from None
    _remove(root, rel, ref, reference.kind == "tree")
    return _result(rel, ref, reference, "finished", [])


def _conflict(rel: str, ref: str, reference, error) -> ReferenceConflict:
    return ReferenceConflict(
        f"{rel} is not the artifact its reference {ref} names ({reference.artifact_id}@"
        f"sha256:{reference.artifact_commit}): {error}; nothing was removed: move {rel} away to "
        f"keep the reference, or delete {ref} to externalize these bytes anew"
    )


def _remove(root: Path, rel: str, ref: str, is_dir: bool) -> None:
    """The asset out of the work tree (renamed aside in one step, then deleted), out of the
    index, into ``.gitignore``; the reference and ``.gitignore`` staged. Each step idempotent."""
    full, aside = root / rel, root / tomb(rel)
    if os.path.lexists(full):
        os.rename(full, aside)
    if aside.is_dir() and not aside.is_symlink():
        shutil.rmtree(aside)
    elif os.path.lexists(aside):
        aside.unlink()
    git.untrack(root, rel)
    git.ignore(root, [git.ignore_pattern(rel, is_dir)])
    git.stage(root, ref, git.GITIGNORE)


def _result(rel: str, ref: str, reference, status, sites) -> Externalized:
    return Externalized(
        path=rel, reference=ref, artifact_id=reference.artifact_id,
        artifact_commit=f"sha256:{reference.artifact_commit}", kind=reference.kind,
        size=reference.size, files=reference.files, ledger_index=reference.ledger_index,
        status=status, code_sites=list(sites),
    )
