"""Which files a scan looks at.

``git`` (the default) is exactly what git tracks, read from the index by the native walk: a
checkpoint force-added past ``.gitignore`` is in every clone, so it is in the scan. ``all`` is a
plain walk of the working tree honouring ``.gitignore``. ``staged`` and ``diff`` ask git for the
files added, copied, modified or renamed (in the index, or between ``BASE...HEAD``). ``diff``
sniffs them in the working tree, which in a CI checkout is ``HEAD``. ``staged`` sniffs what the
commit will carry: the working-tree copy where it matches the index, else the staged blob,
written to a temporary folder under .git first.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from receiptcore._core import Entry, git_changes, inspect_files, walk
from receiptcore.errors import ConfigError, GitError

SELECTIONS = ("git", "all", "staged", "diff")


def select_files(root: Path, selection: str, base: str | None = None) -> list[Entry]:
    if selection in ("git", "all"):
        try:
            return walk(str(root), mode="git" if selection == "git" else "gitignore")
        except GitError as error:
            raise ConfigError(f"{error} (use --all to walk a plain directory)") from None
    _require_git(root)
    if selection == "staged":
        staged = _changes(root)
        # Staged, then changed again in the working tree: the commit carries the staged blob.
        changed = set(_names(_git(root, "diff", "--name-only", "-z", "--relative")))
        entries = inspect_files(str(root), [name for name, _ in staged if name not in changed])
        entries += _staged_blobs(root, [(n, kind) for n, kind in staged if n in changed])
        return sorted(entries, key=lambda entry: entry.path)
    if selection == "diff":
        if not base:
            raise ConfigError("--diff needs a base revision, e.g. --diff origin/main")
        _git(root, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}",
             error=f"--diff: unknown revision {base!r} (fetch it first, e.g. "
                   "'git fetch origin main' or actions/checkout with fetch-depth: 0)")
        return inspect_files(str(root), [name for name, _ in _changes(root, base)])
    raise ConfigError(f"unknown file selection {selection!r}")


def _names(output: bytes) -> list[str]:
    return sorted(os.fsdecode(n) for n in output.split(b"\0") if n)


def _changes(root: Path, base: str | None = None) -> list[tuple[str, str]]:
    """``(path, kind)`` of the files staged (``base`` None) or changed since ``base``, listed
    by the native side next to the index listing, with the same rule for submodules."""
    try:
        return git_changes(str(root), base)
    except GitError as error:
        raise ConfigError(str(error)) from None


def _staged_blobs(root: Path, staged: list[tuple[str, str]]) -> list[Entry]:
    """The staged content of each file, written out of git's object store under its own name
    (a symlink as a symlink) and inspected there as the walk would."""
    if not staged:
        return []
    import tempfile

    # Under .git, on the repository's disk: /tmp is often RAM, and a staged checkpoint can be
    # gigabytes.
    git_dir = root / os.fsdecode(_git(root, "rev-parse", "--git-dir").strip())
    failed, written = [], []
    with tempfile.TemporaryDirectory(prefix="receiptcore-staged-", dir=git_dir) as tmp:
        for name, kind in staged:
            copy = Path(tmp, name)
            copy.parent.mkdir(parents=True, exist_ok=True)
            command = ["git", "-C", str(root), "cat-file", "blob", f":./{name}"]
            if kind == "symlink":  # a symlink's blob is its target
                done = subprocess.run(command, capture_output=True, check=False)
                if done.returncode == 0:
                    os.symlink(done.stdout, copy)
            else:  # streamed to disk, never held in memory
                with open(copy, "wb") as out:
                    done = subprocess.run(command, stdout=out, stderr=subprocess.PIPE,
                                          check=False)
            if done.returncode == 0:
                written.append(name)
            else:
                failed.append(Entry(name, 0, error="cannot read the staged blob: "
                                    f"{done.stderr.decode(errors='replace').strip()}"))
        return failed + inspect_files(tmp, written)


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
