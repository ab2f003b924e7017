"""``pull``: every reference file's artifact back at its path, verified first, atomically.

Two phases. First, each reference is read (its contract) and checked against the ledger
(:func:`~receiptcore.migrate.check.check_reference`: its commit a version of its id, its kind and
size the receipt's): in ``enforce`` mode one that fails stops the pull before anything is
written. Then the artifacts are materialised in parallel, each by ``fetch`` (receipt, trust,
inclusion, consistency, then every byte hashed as it is copied; the path appears whole or not
at all, and only under its name once its size is the reference's). A path that is already there is verified instead (``trust_stat_cache`` re-hashes only
files changed since this user last hashed them), and never overwritten: other bytes there are a
ReferenceConflict. In ``warn`` mode (the rollback switch) failures are reported and the pull
goes on.
"""

from __future__ import annotations

import os
import secrets
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from receiptcore.errors import DigestMismatch, ReceiptcoreError, ReferenceConflict, exit_code_for
from receiptcore.migrate import git
from receiptcore.migrate.reference import SUFFIX, asset_path, read_reference, reference_path
from receiptcore.util.atomic import fsync_dir
from receiptcore.util.progress import Update

Status = Literal["pulled", "present", "verified", "failed"]


@dataclass
class Pulled:
    """What became of one reference file."""

    reference: str
    path: str
    status: Status
    artifact_id: str | None = None
    artifact_commit: str | None = None
    kind: str | None = None
    size: int | None = None
    error: BaseException | None = None
    target: Path = field(default=Path(), repr=False)
    document: Any = field(default=None, repr=False)

    def to_json(self) -> dict:
        error = None
        if self.error is not None:
            code = exit_code_for(self.error)
            error = {"type": type(self.error).__name__, "exit_code": int(code), "message": str(self.error)}
        return {
            "reference": self.reference, "path": self.path, "status": self.status,
            "artifact_id": self.artifact_id, "artifact_commit": self.artifact_commit,
            "kind": self.kind, "size": self.size, "error": error,
        }


def pull(
    root: str | os.PathLike[str] = ".",
    references: list[str] | None = None,
    *,
    mode: Literal["enforce", "warn"] | None = None,
    check: bool = False,
    trust_stat_cache: bool = False,
    jobs: int | None = None,
    home: str | os.PathLike[str] | None = None,
    trust: str | os.PathLike[str] | None = None,
    ledger_key: str | None = None,
    state: str | os.PathLike[str] | None = None,
    ledger: str | None = None,
    store: str | None = None,
    progress: Update | None = None,
) -> list[Pulled]:
    """Materialise (``check``: only verify) the artifact of each reference file in
    ``references`` (reference files, or the paths they stand for), or of every reference file
    in the git work tree ``root``. In ``enforce`` mode (default: ``$RECEIPTCORE_VERIFY_MODE``,
    else enforce) the first failure is raised, after the other artifacts were done; in
    ``warn`` mode each result carries its error. ``progress(bytes_done, bytes_total,
    artifacts_done, artifacts_total)``."""
    from receiptcore.verify import default_mode

    mode = mode or default_mode()
    locations = {"home": home, "trust": trust, "ledger_key": ledger_key, "state": state,
                 "ledger": ledger, "store": store}
    refs = _references(Path(root), references)
    results = [_checked(ref, locations) for ref in refs]
    failed = [r for r in results if r.error is not None]
    if failed and mode == "enforce":
        raise failed[0].error  # nothing written yet
    todo = [r for r in results if r.error is None]
    bar = _Progress(progress, sum(r.size or 0 for r in todo), len(todo))
    workers = jobs or min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="receiptcore-pull") as pool:
        for future in [
            pool.submit(_materialise, r, check, trust_stat_cache, locations, bar) for r in todo
        ]:
            future.result()
    failed = [r for r in results if r.error is not None]
    if failed and mode == "enforce":
        raise failed[0].error
    return results


def _references(root: Path, given: list[str] | None) -> list[tuple[str, Path]]:
    """(how to show it, its path) of each reference file to pull."""
    if not given:
        top = git.require_work_tree(root)
        return [(rel, top / rel) for rel in git.references(top, SUFFIX)]
    refs = []
    for name in given:
        ref = Path(name) if name.endswith(SUFFIX) else reference_path(name)
        refs.append((os.fspath(ref), ref))
    return refs


def _checked(ref: tuple[str, Path], locations: dict) -> Pulled:
    """The reference read and checked against the ledger (no byte of the artifact read)."""
    from receiptcore.migrate.check import check_reference

    shown, path = ref
    result = Pulled(shown, os.fspath(asset_path(shown)), "failed", target=asset_path(path))
    try:
        reference = read_reference(path)
        result.document = reference
        result.artifact_id = reference.artifact_id
        result.artifact_commit = f"sha256:{reference.artifact_commit}"
        result.kind, result.size = reference.kind, reference.size
        check_reference(reference, shown, locations)
    except (ReceiptcoreError, OSError, ValueError) as error:
        result.error = _named(error, shown)
    return result


def _materialise(result: Pulled, check: bool, stat_cache: bool, locations: dict, bar) -> None:
    from receiptcore.fetch import fetch_verdict
    from receiptcore.migrate.check import check_size
    from receiptcore.verify import verify

    target, reference = result.target, result.document
    pinned = {"artifact_id": result.artifact_id, "commit": result.artifact_commit}
    report = bar.for_one(result.reference)
    created: list[Path] = []
    try:
        if os.path.lexists(target):
            try:
                verdict = verify(path=target, mode="enforce", trust_stat_cache=stat_cache,
                                 progress=report, **pinned, **locations)
            except DigestMismatch as error:
                raise ReferenceConflict(
                    f"{result.path} is there and is not the artifact its reference names "
                    f"({result.artifact_id}@{result.artifact_commit}): {error}; nothing was "
                    f"overwritten: move {result.path} away and pull again"
                ) from None
            check_size(reference, result.reference, verdict.size)
            result.status = "present"
        elif check:
            verdict = verify(mode="enforce", progress=report, **pinned, **locations)
            check_size(reference, result.reference, verdict.size)
            result.status = "verified"
        else:
            created = _make_parents(target)
            staged = target.with_name(f".{target.name}.{secrets.token_hex(4)}.pulling")
            verdict = fetch_verdict(result.artifact_id, out=staged, commit=result.artifact_commit,
                                    progress=report, **locations)
            try:
                check_size(reference, result.reference, verdict.size)
                _place(staged, target)
            finally:
                _discard(staged)
            result.status = "pulled"
    except (ReceiptcoreError, OSError, ValueError) as error:
        result.status, result.error = "failed", _named(error, result.reference)
        for folder in reversed(created):  # nothing half-written: not even an empty folder
            try:
                folder.rmdir()
            except OSError:
                break
    finally:
        bar.done_one(result.reference, result.size or 0)


def _place(staged: Path, target: Path) -> None:
    """The verified file or folder under its name in one step; never over something there."""
    if staged.is_dir():
        if os.path.lexists(target):
            raise FileExistsError(17, "File exists", os.fspath(target))
        os.rename(staged, target)
    else:
        os.link(staged, target)  # refuses an existing name
    fsync_dir(target.parent)


def _discard(staged: Path) -> None:
    if staged.is_dir() and not staged.is_symlink():
        shutil.rmtree(staged, ignore_errors=True)
    elif os.path.lexists(staged):
        staged.unlink()


def _make_parents(target: Path) -> list[Path]:
    """The missing folders above ``target``, made; returned outermost first."""
    missing = []
    for folder in target.parents:
        if folder.exists():
            break
        missing.append(folder)
    missing.reverse()
    for folder in missing:
        folder.mkdir()
    return missing


def _named(error: BaseException, reference: str) -> BaseException:
    """The error with the reference file it concerns at the front of its message (once)."""
    message = str(error)
    if isinstance(error, ReceiptcoreError | ValueError) and not message.startswith(reference):
        error.args = (f"{reference}: {message}",)
    elif isinstance(error, OSError) and error.filename is None:
        error.filename = reference
    return error


class _Progress:
    """One bar over every artifact: the bytes of all of them, and artifacts done of the total
    (artifacts are fetched in parallel, so their reports are summed under a lock)."""

    def __init__(self, update: Update | None, total: int, count: int) -> None:
        self.update, self.total, self.count = update, total, count
        self.lock = threading.Lock()
        self.finished = 0
        self.running: dict[str, int] = {}
        self.finished_bytes = 0

    def for_one(self, key: str):
        if self.update is None:
            return None

        def report(done: int, _total: int, _files: int, _count: int) -> None:
            with self.lock:
                self.running[key] = done
                self._show()

        return report

    def done_one(self, key: str, size: int) -> None:
        if self.update is None:
            return
        with self.lock:
            self.running.pop(key, None)
            self.finished += 1
            self.finished_bytes += size
            self._show()

    def _show(self) -> None:
        done = min(self.finished_bytes + sum(self.running.values()), self.total)
        self.update(done, self.total, self.finished, self.count)
