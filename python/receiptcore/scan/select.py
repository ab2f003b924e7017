"""Which files a scan looks at, and which bytes stand for each.

``git`` (the default) is exactly what git tracks, read from the index: a checkpoint force-added
past ``.gitignore`` is in every clone, so it is in the scan. ``staged`` is what the index adds,
copies, modifies or retypes; ``diff`` what ``BASE...HEAD`` does. In these three the commit is
judged, not the checkout: each file is the blob git stores (the native walk reads it from the
working tree where that holds the same bytes, and from git's object store where it may not: a
file edited after staging, an end-of-line conversion, a smudge filter), submodules are listed
with the commit they pin, and verdicts are cached by object id. ``all`` is a plain walk of the
working tree honouring ``.gitignore``, inside git or not; its verdicts are cached by path and
``lstat`` status (see docs/scan.md, "The verdict cache"). Every cache is one file per
repository (or folder) under the user's cache folder, never inside what is scanned: a
repository, or an archive of one, cannot bring verdicts of its own.
"""

from __future__ import annotations

import os
from pathlib import Path

from receiptcore._core import Listing, PendingListing, start_listing
from receiptcore.errors import ConfigError, GitError
from receiptcore.util.home import cache_dir

SELECTIONS = ("git", "all", "staged", "diff")


def select_files(root: Path, selection: str, base: str | None = None) -> Selection:
    """Starts listing the files of ``selection`` on a native thread and returns at once;
    ``.finish(cache)`` says whether to use the verdict cache and waits for the native listing
    (entries become Python objects only when a rule asks for them). The CLI starts it before
    it loads the rules and the configuration: git's index (9 MB at 100,000 files) is read and
    parsed on the second core meanwhile. A wrong selection or base fails here, at once; what
    git says of the repository, at ``finish``."""
    if selection == "all":
        return Selection("all", start_listing(str(root), "all"), root)
    if selection not in ("git", "staged", "diff"):
        raise ConfigError(f"unknown file selection {selection!r}")
    git_dir = _git_dir(root)
    if selection == "diff":
        if not base:
            raise ConfigError("--diff needs a base revision, e.g. --diff origin/main")
        _git(root, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}",
             error=f"--diff: unknown revision {base!r} (fetch it first, e.g. "
                   "'git fetch origin main' or actions/checkout with fetch-depth: 0)")
    return Selection(selection, start_listing(str(root), selection, base), git_dir)


class Selection:
    """The files of a selection (``name``: one of :data:`SELECTIONS`), being listed on a
    native thread, and the folder whose verdict cache (:func:`cache_file`) it may use."""

    __slots__ = ("_folder", "_pending", "name")

    def __init__(self, name: str, pending: PendingListing, folder: Path) -> None:
        self.name, self._pending, self._folder = name, pending, folder

    def finish(self, cache: bool = True) -> Listing:
        """The listing, with the verdict cache or without (the thread waits for this answer
        before it reads a listed file); git's complaints about the repository are raised here."""
        kind = "all" if self.name == "all" else "git"
        try:
            return self._pending.finish(cache_file(kind, self._folder) if cache else None)
        except GitError as error:
            raise ConfigError(f"{error} (use --all to walk a plain directory)") from None


def cache_file(selection: str, folder: Path) -> Path:
    """The verdict cache of ``selection`` (``git`` for git's selections, keyed by the git
    folder; ``all`` keyed by the folder walked): ``<user cache>/scan/<selection>-<hash of the
    folder's canonical path>``, one per repository or folder whatever path named it. It is kept
    out of the repository on purpose: a verdict found there would be trusted, and whoever hands
    over a repository (an archive with its ``.git``, a shared work tree) could plant one."""
    import hashlib

    digest = hashlib.sha256(os.fsencode(os.path.realpath(folder))).hexdigest()[:32]
    return cache_dir() / "scan" / f"{selection}-{digest}"


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
    import subprocess  # not at import: the usual scan (root/.git a folder) never gets here

    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise ConfigError("git is not installed (use --all to walk a plain directory)") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise ConfigError(error or f"git {' '.join(args)} failed: "
                          f"{message[-1] if message else done.returncode}")
    return done.stdout
