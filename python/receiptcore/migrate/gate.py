"""The gate's rule for reference files, ``unverified-reference``: no proof, no merge.

A reference file is never flagged for being one. It is flagged when it does not hold: it breaks
its contract or its written form, its id has no receipt in the ledger, its commit is no version
of the id, its kind or size are not the receipt's, its receipt is not signed by a key in the
trust file or not in the ledger's signed checkpoint, the ledger was rolled back, the store lacks
its objects or they changed, or the path it stands for is tracked beside it: the one
``verify`` by id and commit, which re-hashes the stored bytes (the gate runs where the store is
near; ``disable = ["unverified-reference"]`` and ``receiptcore pull --check`` in another job
where it is not).

The ledger, store and trust file are found as ``verify`` finds them (``$RECEIPTCORE_HOME``,
``$RECEIPTCORE_LEDGER``...); where there are none, every reference is a finding that says so:
a gate that cannot check a proof does not pass it.
"""

from __future__ import annotations

from pathlib import Path

from receiptcore._core import Listing, triage
from receiptcore.errors import ReceiptcoreError, exit_code_for
from receiptcore.migrate.reference import SUFFIX, asset_path, read_reference

RULE = "unverified-reference"


def check_references(
    root: Path, listing: Listing, disabled: tuple[str, ...] = (), selection: str = "all"
) -> list:
    """One finding per reference file under ``root`` that does not verify: every one in the
    index of a git repository, whatever the selection (a change that leaves a reference alone
    can still break it: its asset re-added, the ledger rolled back), but not an untracked one,
    which no commit holds (the scan judges what git stores); in a plain folder, the ones among
    the scan's files (``listing``). The default selection's listing is the whole index: its
    references are picked out of it, with no second look at the index."""
    from receiptcore.scan.rules import Finding

    if RULE in disabled:
        return []
    in_git = _is_git(root) and selection != "git"
    refs = _git_references(root) if in_git else reference_files(listing)
    if not refs:
        return []
    # Imported here, with subprocess: the usual scan, of a repository with no reference in
    # it, never asks git.
    from receiptcore.migrate import git

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


def reference_files(listing: Listing) -> list[str]:
    """The reference files of a scan's listing, picked out natively by name: no second walk."""
    from receiptcore.scan.rules import NO_LIMIT

    candidates, _ = triage(listing, [SUFFIX], NO_LIMIT, [])
    return sorted(e.path for e in candidates if e.path.endswith(SUFFIX))


def _git_references(root: Path) -> list[str]:
    """The reference files in the index, as git lists them."""
    from receiptcore.migrate import git

    return git.references(root, SUFFIX, untracked=False)


def _is_git(root: Path) -> bool:
    return (root / ".git").exists()


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


def _proofs(reference) -> int | None:
    """The one verification by id and commit, every stored byte re-hashed; the artifact's size."""
    from receiptcore.migrate.check import verify_stored

    locations = dict.fromkeys(("home", "trust", "ledger_key", "state", "ledger", "store"))
    return verify_stored(reference.artifact_id, reference.artifact_commit, locations, rehash=True).size
