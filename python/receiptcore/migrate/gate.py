"""The gate's rule for reference files, ``unverified-reference``: no proof, no merge.

A reference file is never flagged for being one. It is flagged when it does not hold: it breaks
its contract or its written form, its id has no receipt in the ledger, its commit is no version
of the id, its kind or size are not the receipt's, its receipt is not signed by a key in the
trust file or not in the ledger's signed checkpoint, the ledger was rolled back, the store lacks
its objects, or the path it stands for is tracked beside it. The stored bytes are not re-hashed
here (``receiptcore pull --check`` does that): the gate checks proofs, in milliseconds.

The ledger, store and trust file are found as ``verify`` finds them (``$RECEIPTCORE_HOME``,
``$RECEIPTCORE_LEDGER``...); where there are none, every reference is a finding that says so:
a gate that cannot check a proof does not pass it.
"""

from __future__ import annotations

import os
from pathlib import Path

from receiptcore.errors import ObjectNotFound, ReceiptcoreError, exit_code_for
from receiptcore.migrate import git
from receiptcore.migrate.reference import SUFFIX, asset_path, read_reference

RULE = "unverified-reference"


def check_references(root: Path, disabled: tuple[str, ...] = ()) -> list:
    """One finding per reference file under ``root`` that does not verify."""
    from receiptcore.scan.rules import Finding

    if RULE in disabled:
        return []
    refs = _reference_files(root)
    if not refs:
        return []
    tracked = set(git.tracked(root, *(asset_path(r).as_posix() for r in refs))) if _is_git(root) else set()
    findings = []
    for rel in refs:
        why = _why_not(root, rel)
        asset = asset_path(rel).as_posix()
        if why is None and any(p == asset or p.startswith(asset + "/") for p in tracked):
            why = (f"{asset} is tracked beside its reference: finish with receiptcore "
                   "externalize, or delete the reference")
        if why is not None:
            findings.append(Finding(RULE, rel, why))
    return findings


def _is_git(root: Path) -> bool:
    return (root / ".git").exists()


def _reference_files(root: Path) -> list[str]:
    if _is_git(root):
        return git.references(root, SUFFIX)
    return sorted(p.relative_to(root).as_posix() for p in root.rglob(f"*{SUFFIX}") if p.is_file())


def _why_not(root: Path, rel: str) -> str | None:
    """Why the reference does not verify (with the exit code pull would give), or None."""
    from receiptcore.migrate.check import check_reference, check_size

    try:
        reference = read_reference(root / rel)
        check_reference(reference, rel, {})
        check_size(reference, rel, _proofs(reference))
    except (ReceiptcoreError, OSError, ValueError) as error:
        code = exit_code_for(error)
        message = str(error) or type(error).__name__
        return f"{message} (exit {int(code)}, {code.name.lower()})"
    return None


def _proofs(reference) -> int:
    """Trust, signature, inclusion and consistency, as verify checks them; then that the store
    holds every object (by name: bytes are pull's to hash). Returns the artifact's size (a
    tree's from its file list, checked against its commit; a file's as the store states it)."""
    from receiptcore.verify import Check, run_verification

    def objects_present(run) -> Check:
        commit = run.receipt_commit
        names = [commit]
        if run.statement.is_tree:
            from receiptcore.commit import Commit
            from receiptcore.digests import read_tree_manifest

            files = read_tree_manifest(run.store, commit).files
            names = [Commit(f.sha256) for f in files]
            run.verdict.size = sum(f.size for f in files)
        missing = [str(c) for c in names if not run.store.exists(c)]
        if missing:
            raise ObjectNotFound(f"the store lacks {len(missing)} object(s) of {commit}: {', '.join(missing)}")
        if not run.statement.is_tree:
            run.verdict.size = run.store.size(commit)
        return Check("digest", True, f"the store holds the {len(names)} object(s) of {commit}")

    return run_verification(
        objects_present, path=None, artifact_id=reference.artifact_id,
        commit=reference.artifact_commit, home=None, trust=None, ledger_key=None,
        state=None, mode="enforce", rehash_store=False,
    ).size
