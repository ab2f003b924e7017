"""What the migration asks of git: which files it tracks, untracking and staging them, the
``.gitignore`` lines of externalized paths, and the bytes history still holds for them.

Every call is ``git -C ROOT ...`` with NUL-separated output; a failure is a ConfigError that
quotes git's last line. History is only ever read: rewriting it is the user's call
(docs/migrate.md shows ``git filter-repo``).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from receiptcore.errors import ConfigError
from receiptcore.util.atomic import replace_file

GITIGNORE = ".gitignore"
_ZERO = "0" * 40


def git(root: Path, *args: str, stdin: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(
            ["git", "-C", os.fspath(root), *args], input=stdin, capture_output=True, check=False
        )
    except FileNotFoundError:
        raise ConfigError("git is not installed: externalize and pull work in a git repository") from None
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        raise ConfigError(f"git {args[0]} failed in {os.fspath(root)}: {lines[-1] if lines else done.returncode}")
    return done.stdout


def require_work_tree(root: Path) -> Path:
    """``root`` resolved, when it is the top of a git work tree (ConfigError otherwise): every
    path in a plan, a reference and ``.gitignore`` is relative to it."""
    if not root.is_dir():
        raise ConfigError(f"{os.fspath(root)}: not a directory")
    try:
        top = git(root, "rev-parse", "--show-toplevel").decode().strip()
    except ConfigError:
        raise ConfigError(f"{os.fspath(root)} is not inside a git work tree") from None
    if Path(top).resolve() != root.resolve():
        raise ConfigError(f"{os.fspath(root)} is inside the git work tree {top}: run from its top")
    return root.resolve()


def _names(output: bytes) -> list[str]:
    return [os.fsdecode(n) for n in output.split(b"\0") if n]


def tracked(root: Path, *pathspecs: str) -> list[str]:
    """The files git tracks (the index), under ``pathspecs`` (literal paths) or all."""
    return _names(git(root, "--literal-pathspecs", "ls-files", "-z", "--cached", "--", *pathspecs))


def python_naming(root: Path, needles: list[str]) -> list[str]:
    """The tracked Python files whose work-tree text holds one of ``needles`` (fixed strings),
    found by ``git grep`` (native, threaded): the only files worth parsing."""
    args = [arg for needle in sorted(set(needles)) for arg in ("-e", needle)]
    try:
        done = subprocess.run(
            ["git", "-C", os.fspath(root), "grep", "-l", "-z", "-F", "-I", *args, "--", "*.py"],
            capture_output=True, check=False,
        )
    except FileNotFoundError:
        raise ConfigError("git is not installed: externalize and pull work in a git repository") from None
    if done.returncode not in (0, 1):  # 1: nothing found
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        raise ConfigError(f"git grep failed in {os.fspath(root)}: {lines[-1] if lines else done.returncode}")
    return _names(done.stdout)


def references(root: Path, suffix: str, *, untracked: bool = True) -> list[str]:
    """Reference files in the work tree, tracked or, with ``untracked``, not yet (but not
    ignored), sorted. Looking for untracked files walks the whole work tree: on 100,000 files
    it was most of a scan's time, where the index alone is read in milliseconds."""
    others = ("--others", "--exclude-standard") if untracked else ()
    found = git(root, "ls-files", "-z", "--cached", *others, "--", f"*{suffix}")
    return sorted(set(_names(found)))


def untrack(root: Path, rel: str) -> None:
    """``rel`` (a file or folder) out of the index, the work tree left alone; idempotent."""
    git(root, "--literal-pathspecs", "rm", "-r", "-q", "--cached", "--ignore-unmatch", "--", rel)


def stage(root: Path, *rels: str) -> None:
    git(root, "--literal-pathspecs", "add", "-f", "--", *rels)


def ignore_pattern(rel: str, is_dir: bool) -> str:
    """The ``.gitignore`` line that matches exactly ``rel`` from the root: anchored by its
    leading ``/`` (so a ``#`` or ``!`` never starts it), ``*?[\\`` and trailing spaces escaped."""
    escaped = "".join("\\" + c if c in "*?[\\" else c for c in rel)
    stripped = escaped.rstrip(" ")
    escaped = stripped + "\\ " * (len(escaped) - len(stripped))
    return "/" + escaped + ("/" if is_dir else "")


def ignored_lines(root: Path) -> set[str]:
    path = root / GITIGNORE
    if not path.exists():
        return set()
    return set(path.read_text(encoding="utf-8", errors="surrogateescape").splitlines())


def ignore(root: Path, patterns: list[str]) -> bool:
    """Append the ``patterns`` the root ``.gitignore`` lacks (atomically); True if it changed."""
    path = root / GITIGNORE
    text = path.read_text(encoding="utf-8", errors="surrogateescape") if path.exists() else ""
    have = set(text.splitlines())
    missing = [p for p in patterns if p not in have]
    if not missing:
        return False
    if text and not text.endswith("\n"):
        text += "\n"
    text += "".join(p + "\n" for p in missing)
    replace_file(path, text.encode("utf-8", "surrogateescape"))
    return True


def history_bytes(root: Path, rels: list[str]) -> dict[str, int]:
    """For each path (a file or folder), the bytes of every distinct blob git history holds
    at or below it, on every branch and tag: what stays in every clone until history is
    rewritten. One ``git log`` and one ``git cat-file`` for all the paths."""
    if not rels:
        return {}
    raw = git(
        root, "--literal-pathspecs", "log", "--all", "--format=", "--raw", "--no-abbrev", "-z",
        "--no-renames", "--", *rels,
    ).split(b"\0")
    blobs: dict[str, set[str]] = {rel: set() for rel in rels}
    # Records are ":old_mode new_mode old_id new_id status" then the path.
    for meta, name in zip(raw[0::2], raw[1::2]):
        fields = meta.split(b" ")
        if not meta.startswith(b":") or len(fields) < 4:
            continue
        oid, path = fields[3].decode(), os.fsdecode(name)
        if oid == _ZERO:
            continue
        for rel in rels:
            if path == rel or path.startswith(rel + "/"):
                blobs[rel].add(oid)
    every = sorted(set().union(*blobs.values()))
    if not every:
        return dict.fromkeys(rels, 0)
    sizes = {}
    out = git(root, "cat-file", "--batch-check=%(objectname) %(objectsize)", stdin="\n".join(every).encode() + b"\n")
    for line in out.decode().splitlines():
        oid, _, size = line.partition(" ")
        if size.isdigit():
            sizes[oid] = int(size)
    return {rel: sum(sizes.get(oid, 0) for oid in oids) for rel, oids in blobs.items()}
