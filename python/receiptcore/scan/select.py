"""Which files a scan looks at, and which bytes stand for each.

``git`` (the default) is exactly what git tracks, read from the index: a checkpoint force-added
past ``.gitignore`` is in every clone, so it is in the scan. ``staged`` is what the index adds,
copies, modifies or retypes; ``diff`` what ``BASE...HEAD`` does. In these three the commit is
judged, not the checkout: each file is the blob git stores (the native walk reads it from the
working tree where that holds the same bytes, and from git's object store where it may not: a
file edited after staging, an end-of-line conversion, a smudge filter), submodules are listed
with the commit they pin, and verdicts are cached by object id under the git folder. ``all``
is a plain walk of the working tree honouring ``.gitignore``, inside git or not; its verdicts
are cached by path and ``lstat`` status (see docs/scan.md, "The verdict cache"), in one file
per root: in the git folder when the root is in a git work tree, else under the user's cache
folder.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from receiptcore._core import Listing, list_files
from receiptcore.errors import ConfigError, GitError
from receiptcore.util.home import cache_dir

SELECTIONS = ("git", "all", "staged", "diff")
# The verdict cache, inside the git folder (per work tree): it moves with the repository and
# is never committed.
CACHE_FILE = Path("receiptcore", "scan-cache")


def select_files(root: Path, selection: str, base: str | None = None,
                 cache: bool = True) -> Listing:
    """The files of ``selection``, as a native listing (entries become Python objects only
    when a rule asks for them)."""
    if selection == "all":
        return list_files(str(root), "all", cache=str(all_cache_file(root)) if cache else None)
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


def all_cache_file(root: Path) -> Path:
    """``--all``'s verdict cache for ``root``: named by a hash of the root's canonical path (a
    cache per folder scanned, whatever path named it), kept beside the git modes' cache when
    the root is in a git work tree (it goes when the repository goes), else in
    ``<user cache>/scan/``. Asking git costs a few milliseconds; without git, or outside a
    work tree, the user cache is used."""
    name = "scan-all-" + hashlib.sha256(os.fsencode(os.path.realpath(root))).hexdigest()[:32]
    try:
        return _git_dir(root) / CACHE_FILE.parent / name
    except ConfigError:
        return cache_dir() / "scan" / name


def _git_dir(root: Path) -> Path:
    """The repository's git folder: ``root/.git`` when it is a folder (the top of a usual work
    tree, found without starting a git process: a pre-commit hook's scan pays for every one),
    else where git says (a linked work tree, a submodule, ``$GIT_DIR``, a subfolder)."""
    dot_git = root / ".git"
    if "GIT_DIR" not in os.environ and dot_git.is_dir():
        return dot_git.resolve()
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
