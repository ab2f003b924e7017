"""Which files a scan looks at.

``git`` (the default) is exactly what git tracks, read from the index by the native walk: a
checkpoint force-added past ``.gitignore`` is in every clone, so it is in the scan. ``all`` is a
plain walk of the working tree honouring ``.gitignore``. ``staged`` and ``diff`` ask git for the
files added, copied, modified or renamed (in the index, or between ``BASE...HEAD``), then sniff
each one in the working tree: in a pre-commit hook (which stashes unstaged changes) and in a CI
checkout, that is the content being committed.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from receiptcore.errors import ConfigError, GitError
from receiptcore.scan.rules import FileRecord

SELECTIONS = ("git", "all", "staged", "diff")


def select_files(root: Path, selection: str, base: str | None = None) -> list[FileRecord]:
    from receiptcore import sniff, walk


    if selection in ("git", "all"):
        try:
            entries = walk(str(root), mode="git" if selection == "git" else "gitignore")
        except GitError as error:
            raise ConfigError(f"{error} (use --all to walk a plain directory)") from None
        if os.sep == "/":
            return entries  # native Entry objects have FileRecord's fields
        return [FileRecord(_posix(e.path), e.size, e.sniff, e.is_symlink, e.error)
                for e in entries]
    _require_git(root)
    if selection == "staged":
        names = _git(root, "diff", "--cached", "--name-only", "-z", "--no-renames",
                     "--diff-filter=ACMT", "--relative")
    elif selection == "diff":
        if not base:
            raise ConfigError("--diff needs a base revision, e.g. --diff origin/main")
        _git(root, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}",
             error=f"--diff: unknown revision {base!r} (fetch it first, e.g. "
                   "'git fetch origin main' or actions/checkout with fetch-depth: 0)")
        names = _git(root, "diff", "--name-only", "-z", "--no-renames", "--diff-filter=ACMT",
                     "--relative", f"{base}...HEAD")
    else:
        raise ConfigError(f"unknown file selection {selection!r}")
    records = []
    for name in sorted(n for n in names.split(b"\0") if n):
        path = root / os.fsdecode(name)
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            continue  # staged, then deleted from the working tree: nothing to sniff
        rel = _posix(os.fsdecode(name))
        if stat.S_ISLNK(info.st_mode):
            records.append(FileRecord(rel, info.st_size, is_symlink=True))
            continue
        try:
            records.append(FileRecord(rel, info.st_size, sniff(path)))
        except OSError as error:
            records.append(FileRecord(rel, info.st_size, error=error.strerror or str(error)))
    return records


def _posix(path: str) -> str:
    return path.replace(os.sep, "/") if os.sep != "/" else path


def _require_git(root: Path) -> None:
    _git(root, "rev-parse", "--is-inside-work-tree",
         error=f"{root} is not inside a git work tree (use --all to walk a plain directory)")


def _git(root: Path, *args: str, error: str | None = None) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise ConfigError("git is not installed (use --all to walk a plain directory)") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise ConfigError(error or f"git {' '.join(args)} failed: "
                          f"{message[-1] if message else done.returncode}")
    return done.stdout
