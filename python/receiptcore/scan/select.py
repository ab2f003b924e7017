"""Which files a scan looks at, and which bytes stand for each.

``git`` (the default) is exactly what git tracks, read from the index: a checkpoint force-added
past ``.gitignore`` is in every clone, so it is in the scan. ``staged`` is what the index adds,
copies, modifies or retypes; ``diff`` what ``BASE...HEAD`` does. In these three the commit is
judged, not the checkout: each file is the blob git stores (the native walk reads it from the
working tree where that holds the same bytes, and from git's object store where it may not: a
file edited after staging, an end-of-line conversion, a smudge filter), submodules are listed
with the commit they pin, and verdicts are cached by object id under the git folder. ``all``
is a plain walk of the working tree honouring ``.gitignore``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from receiptcore._core import Listing, list_files
from receiptcore.errors import ConfigError, GitError

SELECTIONS = ("git", "all", "staged", "diff")
# The verdict cache, inside the git folder (per work tree): it moves with the repository and
# is never committed.
CACHE_FILE = Path("receiptcore", "scan-cache")


def select_files(root: Path, selection: str, base: str | None = None,
                 cache: bool = True) -> Listing:
    """The files of ``selection``, as a native listing (entries become Python objects only
    when a rule asks for them)."""
    if selection == "all":
        return list_files(str(root), "all")
    if selection not in ("git", "staged", "diff"):
        raise ConfigError(f"unknown file selection {selection!r}")
    git_dir = _git_dir(root)
    if selection == "diff":
        if not base:
            raise ConfigError("--diff needs a base revision, e.g. --diff origin/main")
        _git(root, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}",
             error=f"--diff: unknown revision {base!r} (fetch it first, e.g. "
                   "'git fetch origin main' or actions/checkout with fetch-depth: 0)")
    try:
        return list_files(str(root), selection, base,
                          cache=str(git_dir / CACHE_FILE) if cache else None)
    except GitError as error:
        raise ConfigError(f"{error} (use --all to walk a plain directory)") from None


def _git_dir(root: Path) -> Path:
    out = _git(root, "rev-parse", "--absolute-git-dir",
               error=f"{root} is not inside a git work tree (use --all to walk a plain "
                     "directory)")
    return Path(os.fsdecode(out.strip()))


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
