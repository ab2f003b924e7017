"""Fetching an artifact out of the store: its receipt verified, its bytes checked on the way out,
and the output written whole or not at all.

:func:`fetch` runs the receipt checks of :func:`receiptcore.verify.verify` (trust, signature,
inclusion, consistency) on the id's latest version or the pinned one, then copies the bytes out
of the store into a temporary sibling of ``out``, hashing them as they are copied (the store's
``copy_objects``: files in parallel, each fsynced): that copy is the digest check. Only when every
byte matched does the temporary get the name ``out``, in one rename. A file or object that does
not match, a missing object, a Ctrl-C: the temporary is removed and ``out`` does not appear.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from receiptcore._core import place_files
from receiptcore.commit import Commit
from receiptcore.digests import Progress, read_tree_manifest
from receiptcore.errors import DigestMismatch, TreeMismatch
from receiptcore.util.atomic import fsync_dir
from receiptcore.verify import Check, Verdict, run_verification


def fetch(artifact_id: str, *, out: str | os.PathLike[str], **options) -> Path:
    """Materialise the file or tree ``artifact_id`` at ``out``, which must not exist (or, for a
    tree, be an empty folder); returns ``out``. ``options`` are :func:`fetch_verdict`'s:
    ``commit`` (else the latest version), ``home``, ``trust``, ``ledger_key``, ``state``,
    ``progress``, ``ledger``, ``store``."""
    fetch_verdict(artifact_id, out=out, **options)
    return Path(out)


def fetch_verdict(
    artifact_id: str,
    *,
    out: str | os.PathLike[str],
    commit: Commit | str | None = None,
    home: str | os.PathLike[str] | None = None,
    trust=None,
    ledger_key=None,
    state: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    ledger: str | None = None,
    store: str | None = None,
) -> Verdict:
    """:func:`fetch`, returning the verdict of the checks (the last is the copy's). ``ledger``
    and ``store`` are URLs."""
    out = Path(out)
    _check_free(out)

    def materialise(run) -> Check:
        target = run.receipt_commit
        if run.expected is not None and run.expected != target:
            raise DigestMismatch(f"the caller expects {run.expected}, but the receipt is for {target}")
        if run.statement.is_tree:
            detail = _fetch_tree(run.store, target, out, progress, run.verdict)
        else:
            detail = _fetch_file(run.store, target, out, progress, run.verdict)
        return Check("digest", True, detail)

    return run_verification(
        materialise, path=None, artifact_id=artifact_id, commit=commit, home=home, trust=trust,
        ledger_key=ledger_key, state=state, mode="enforce", rehash_store=False, ledger=ledger,
        store=store,
    )


def _check_free(out: Path) -> None:
    if out.is_dir() and not out.is_symlink():
        if any(out.iterdir()):
            raise FileExistsError(17, "Folder exists and is not empty", os.fspath(out))
    elif os.path.lexists(out):
        raise FileExistsError(17, "File exists", os.fspath(out))


def _temporary(out: Path) -> Path:
    return out.parent / f".{out.name}.{secrets.token_hex(4)}.part"


def _fetch_file(store, commit: Commit, out: Path, progress, verdict: Verdict) -> str:
    tmp = _temporary(out)
    report = _report(progress, store.size(commit), 1)
    try:
        [actual] = store.copy_objects([(commit, tmp)], report)
        if actual != commit:
            raise DigestMismatch(f"stored object {commit} read back as {actual}: it was changed")
        if not place_files([(tmp, out)])[0]:
            raise FileExistsError(17, "File exists", os.fspath(out))
    finally:
        tmp.unlink(missing_ok=True)
    verdict.files, verdict.size = 1, out.stat().st_size
    return f"{out} written; its bytes hash to {commit}"


def _fetch_tree(store, commit: Commit, out: Path, progress, verdict: Verdict) -> str:
    manifest = read_tree_manifest(store, commit)
    files = manifest.files
    tmp = _temporary(out)
    try:
        tmp.mkdir()
        folders = sorted({os.path.dirname(f.path) for f in files} - {""})
        for folder in folders:
            (tmp / folder).mkdir(parents=True, exist_ok=True)
        report = _report(progress, sum(f.size for f in files), len(files))
        actual = store.copy_objects([(Commit(f.sha256), tmp / f.path) for f in files], report)
        changed = [f.path for f, got in zip(files, actual) if got.hex != f.sha256]
        if changed:
            raise TreeMismatch(
                f"stored objects of tree {commit} were changed: {len(changed)}: {', '.join(changed)}",
                changed=changed,
            )
        for folder in [*folders, ""]:
            fsync_dir(tmp / folder)
        os.rename(tmp, out)  # replaces an empty folder, nothing else
        fsync_dir(out.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    verdict.files, verdict.size = len(files), sum(f.size for f in files)
    return f"{out} written: {len(files)} files, each hashing to its entry in tree {commit}"


def _report(progress: Progress | None, total: int, count: int):
    if progress is None:
        return None
    return lambda done, files: progress(done, total, files, count)

