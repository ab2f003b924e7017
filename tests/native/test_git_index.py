"""The default scan's listing of the git index is read natively when its meaning is certain,
and by ``git ls-files`` otherwise; either way it is exactly git's. Oracle: ``git ls-files -z
--stage`` on repositories real git made. A listing made with no ``git`` on the PATH proves that
no git process ran (the native reading); one that fails there proves the index was left to git.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from receiptcore import GitError, sniff, walk
from support.scanrepo import GIT, Repo, safetensors_bytes

KINDS = {b"160000": "submodule", b"120000": "symlink"}


def run_git(root: Path, *args: str | bytes, **kw) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*GIT, "-C", str(root), *args], capture_output=True, check=False,
                          **kw)


def git(root: Path, *args: str | bytes, **kw) -> bytes:
    done = run_git(root, *args, **kw)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def oracle(root: Path) -> list[tuple[str, str, str]]:
    """git's listing as the walk keeps it: each path once (a conflict's first stage), with the
    kind its mode says and its object id."""
    listed: list[tuple[str, str, str]] = []
    for record in git(root, "ls-files", "-z", "--stage").split(b"\0"):
        if not record:
            continue
        meta, path = record.split(b"\t", 1)
        mode, oid, _stage = meta.split(b" ")
        name = os.fsdecode(path)
        if listed and listed[-1][0] == name:
            continue
        listed.append((name, KINDS.get(mode, "file"), oid.decode()))
    return listed


def listed(root: Path) -> list[tuple[str, str, str]]:
    return [(e.path, e.kind, e.oid) for e in walk(root, "git", sniff=False)]


@contextmanager
def no_git(tmp: Path):
    """A PATH on which there is no git."""
    empty = tmp / "empty-path"
    empty.mkdir(exist_ok=True)
    saved = os.environ["PATH"]
    os.environ["PATH"] = str(empty)
    try:
        yield
    finally:
        os.environ["PATH"] = saved


def write(root: Path, name: str | bytes, data: bytes = b"x") -> None:
    path = root / os.fsdecode(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def varied(root: Path) -> Path:
    """Files, an executable, a symlink, a submodule, a non-UTF-8 name and one longer than the
    index's 12-bit length field, committed."""
    root.mkdir(exist_ok=True)
    git(root, "init", "-q")
    write(root, "src/app.py", b"print('hi')\n")
    write(root, "bin/run", b"#!/bin/sh\n")
    (root / "bin/run").chmod(0o755)
    (root / "link").symlink_to("src/app.py")
    write(root, b"caf\xe9/\xff.bin", b"latin-1")
    write(root, "odd/new\nline", b"n")
    sub = root / "sub"
    sub.mkdir()
    git(sub, "init", "-q")
    write(sub, "x")
    git(sub, "add", "x")
    git(sub, "commit", "-qm", "sub")
    git(root, "add", "-A")
    blob = git(root, "hash-object", "-w", "src/app.py").decode().strip()
    long_name = "/".join(["d" * 200] * 25)
    git(root, "update-index", "--add", "--cacheinfo", f"100644,{blob},{long_name}")
    git(root, "commit", "-qm", "varied")
    return root


def version_4(root: Path) -> Path:
    git(varied(root), "update-index", "--index-version", "4")
    return root


def intent_to_add_and_skip_worktree(root: Path) -> Path:
    varied(root)
    write(root, "later.txt", b"soon\n")
    git(root, "add", "-N", "later.txt")
    git(root, "update-index", "--skip-worktree", "src/app.py")
    return root


def conflict(root: Path) -> Path:
    root.mkdir()
    git(root, "init", "-q")
    write(root, "x", b"base\n")
    git(root, "add", "x")
    git(root, "commit", "-qm", "base")
    git(root, "checkout", "-qb", "other")
    write(root, "x", b"theirs\n")
    git(root, "commit", "-qam", "theirs")
    git(root, "checkout", "-q", "main")
    write(root, "x", b"ours\n")
    git(root, "commit", "-qam", "ours")
    run_git(root, "merge", "-q", "other")
    assert b" 3\tx" in git(root, "ls-files", "--stage")
    return root


def empty(root: Path) -> Path:
    root.mkdir()
    git(root, "init", "-q")
    return root


@pytest.mark.parametrize("make", [varied, version_4, intent_to_add_and_skip_worktree, conflict,
                                  empty])
def test_a_plain_index_is_listed_as_git_lists_it_without_running_git(tmp_path, make):
    root = make(tmp_path / "repo")
    want = oracle(root)
    assert listed(root) == want
    with no_git(tmp_path):
        assert listed(root) == want


def split(root: Path) -> Path:
    git(varied(root), "update-index", "--split-index")
    return root


def sparse(root: Path) -> Path:
    varied(root)
    done = run_git(root, "sparse-checkout", "init", "--cone", "--sparse-index")
    if done.returncode:
        pytest.skip(f"this git has no sparse index: {done.stderr.decode().strip()}")
    git(root, "sparse-checkout", "set", "bin")
    return root


def linked_work_tree(root: Path) -> Path:
    main = root.parent / "main"
    main.mkdir()
    git(main, "init", "-q")
    write(main, "src/app.py")
    git(main, "add", "-A")
    git(main, "commit", "-qm", "app")
    git(main, "worktree", "add", "-q", "--detach", str(root))
    return root


def subfolder(root: Path) -> Path:
    return varied(root) / "src"


@pytest.mark.parametrize("make", [split, sparse, linked_work_tree, subfolder])
def test_other_indexes_are_left_to_git(tmp_path, make):
    root = make(tmp_path / "repo")
    assert listed(root) == oracle(root)
    with no_git(tmp_path), pytest.raises(GitError, match="cannot run git ls-files"):
        listed(root)


def test_git_index_file_in_the_environment_is_the_index_listed(tmp_path, monkeypatch):
    root = varied(tmp_path / "repo")
    other = tmp_path / "other-index"
    monkeypatch.setenv("GIT_INDEX_FILE", str(other))
    git(root, "add", "src/app.py")  # into the other index only
    assert [p for p, _, _ in listed(root)] == ["src/app.py"]
    assert listed(root) == oracle(root)


@pytest.mark.parametrize("damage", [b"", b"DIRC", "cut header", "cut entries", "cut checksum",
                                    "long name length", "version 5"])
def test_a_damaged_index_is_listed_as_git_lists_it_or_refused_as_git_refuses_it(tmp_path,
                                                                               damage):
    root = varied(tmp_path / "repo")
    index = root / ".git" / "index"
    data = bytearray(index.read_bytes())
    if damage == "cut header":
        data = data[:11]
    elif damage == "cut entries":
        data = data[:len(data) // 2]
    elif damage == "cut checksum":
        data = data[:-1]
    elif damage == "long name length":
        data[12 + 60] |= 0x0F  # the first entry's name length field: 0xFxx
    elif damage == "version 5":
        data[7] = 5
    else:
        data = bytearray(damage)
    index.write_bytes(bytes(data))
    if run_git(root, "ls-files").returncode:
        with pytest.raises(GitError, match="git ls-files failed"):
            listed(root)
    else:
        assert listed(root) == oracle(root)


def test_a_repeated_scan_of_an_unchanged_repository_runs_no_git(tmp_path, capsys):
    repo = Repo.started(tmp_path / "repo")
    repo.write("src/app.py", "print('hi')\n")
    repo.add(".")
    repo.commit()
    code, out, _ = repo.scan(capsys, "--format", "json")
    first = json.loads(out)
    assert code == 0 and first["cached"] < first["files"] == 2
    with no_git(tmp_path):
        code, out, err = repo.scan(capsys, "--format", "json")
    again = json.loads(out)
    assert (code, err) == (0, "")
    assert again == {**first, "cached": first["files"]}


WEIGHTS = safetensors_bytes()
TEXT = b"#" * len(WEIGHTS)


def settled(root: Path) -> Path:
    """A repository whose blob ``w.safetensors`` holds weights, its files dated a minute before
    the index is written, so no entry is racy and the index vouches for every checkout."""
    root.mkdir()
    git(root, "init", "-q")
    write(root, "w.safetensors", WEIGHTS)
    write(root, "src/app.py", b"print('hi')\n")
    (root / "link").symlink_to("src/app.py")
    past = time.time() - 60
    for name in ("w.safetensors", "src/app.py", "link"):
        os.utime(root / name, (past, past), follow_symlinks=False)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "settled")
    return root


def overwritten(path: Path, data: bytes) -> None:
    """Other bytes of the same size, the modification time put back: only the ctime (and the
    content) tell."""
    before = path.stat()
    path.write_bytes(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def replaced(path: Path, data: bytes) -> None:
    """A new file (another inode) renamed over the old one, size and times as before."""
    before = path.stat()
    fresh = path.with_name(path.name + ".new")
    fresh.write_bytes(data)
    os.utime(fresh, ns=(before.st_atime_ns, before.st_mtime_ns))
    fresh.replace(path)


def forged_status(root: Path, name: bytes) -> None:
    """Rewrites the status the index recorded of ``name`` to its checkout's current one (and
    the index's checksum), as one who controls the repository could: git then takes the
    checkout for the blob, and so does the walk, unless the entry is racy."""
    index = root / ".git" / "index"
    data = bytearray(index.read_bytes())
    assert data[:4] == b"DIRC" and int.from_bytes(data[4:8], "big") == 2
    at = 12
    for _ in range(int.from_bytes(data[8:12], "big")):
        end = data.index(b"\0", at + 62)
        if bytes(data[at + 62:end]) == name:
            st = os.lstat(root / os.fsdecode(name))
            fields = [st.st_ctime_ns // 10**9, st.st_ctime_ns % 10**9, st.st_mtime_ns // 10**9,
                      st.st_mtime_ns % 10**9, st.st_dev, st.st_ino, st.st_mode, st.st_uid,
                      st.st_gid, st.st_size]
            data[at:at + 40] = b"".join((f & 0xFFFFFFFF).to_bytes(4, "big") for f in fields)
            break
        at += (62 + end - (at + 62) + 8) & ~7
    else:
        raise AssertionError(f"{name!r} is not in the index")
    data[-20:] = hashlib.sha1(data[:-20]).digest()
    written = index.stat()
    index.write_bytes(bytes(data))
    os.utime(index, ns=(written.st_atime_ns, written.st_mtime_ns))


def judged(root: Path) -> dict[str, str | None]:
    """What the walk judged of each file: its format, or its error."""
    return {e.path: e.error or (e.sniff.format if e.sniff else None)
            for e in walk(root, "git")}


def blobs(root: Path) -> dict[str, str | None]:
    """The oracle: the format of each blob the index holds, read by git."""
    out = {}
    for name, kind, oid in oracle(root):
        if kind == "file":
            found = sniff(git(root, "cat-file", "blob", oid))
            out[name] = found.format if found else None
    return out


def test_a_settled_checkout_is_read_without_asking_git(tmp_path):
    root = settled(tmp_path / "repo")
    want = blobs(root)
    with no_git(tmp_path):
        assert {k: v for k, v in judged(root).items() if k != "link"} == want


@pytest.mark.parametrize("change", [
    lambda p: overwritten(p, TEXT),
    lambda p: replaced(p, TEXT),
    lambda p: p.chmod(0o755),
    lambda p: (p.unlink(), p.symlink_to("src/app.py")),
    lambda p: p.unlink(),
], ids=["same-size-and-mtime", "new-inode", "executable", "now-a-symlink", "deleted"])
def test_a_checkout_that_is_not_as_recorded_is_judged_by_its_blob(tmp_path, change):
    """Stricter than ``git diff-files``: a git built without ``USE_NSEC`` (Debian's) compares
    whole seconds, and misses other bytes of the same size written in the second of the
    last status change with the modification time put back."""
    root = settled(tmp_path / "repo")
    change(root / "w.safetensors")
    assert judged(root)["w.safetensors"] == blobs(root)["w.safetensors"] == "safetensors"
    with no_git(tmp_path), pytest.raises(GitError):
        walk(root, "git")  # the blob is read through git: the checkout was not trusted


def test_a_forged_status_is_trusted_as_git_trusts_it_unless_the_entry_is_racy(tmp_path):
    root = settled(tmp_path / "repo")
    overwritten(root / "w.safetensors", TEXT)
    forged_status(root, b"w.safetensors")
    assert git(root, "diff-files", "--name-only") == b""  # git takes the checkout too
    assert judged(root)["w.safetensors"] is None
    # The index written before the file's time: the entry is racy, the blob is read.
    past = (root / "w.safetensors").stat().st_mtime - 1
    os.utime(root / ".git" / "index", (past, past))
    assert judged(root)["w.safetensors"] == "safetensors"


# Names git may hold: any bytes but NUL and "/" in a component, never ".", ".." or ".git".
component = st.binary(min_size=1, max_size=8).filter(
    lambda b: b"\0" not in b and b"/" not in b and b.lower() not in (b".", b"..", b".git"))
paths = st.lists(st.lists(component, min_size=1, max_size=4).map(b"/".join),
                 min_size=1, max_size=30, unique=True)


@settings(max_examples=40, deadline=None)
@given(paths=paths, modes=st.lists(st.sampled_from(["100644", "100755", "120000", "160000"]),
                                   min_size=30, max_size=30),
       version=st.sampled_from(["2", "3", "4"]))
def test_any_set_of_paths_is_listed_as_git_lists_it(tmp_path_factory, paths, modes, version):
    root = tmp_path_factory.mktemp("repo")
    git(root, "init", "-q")
    blob = git(root, "hash-object", "-w", "--stdin", input=b"x").decode().strip()
    info = b"".join(f"{mode} {blob}\t".encode() + path + b"\0"
                    for mode, path in zip(modes, paths))
    # git refuses a path it would never write, and keeps one of a file and a folder by one
    # name: the oracle is what it kept.
    run_git(root, "update-index", "-z", "--index-info", input=info)
    git(root, "update-index", "--index-version", version)
    want = oracle(root)
    with no_git(root):
        assert listed(root) == want


def test_a_started_listing_is_finished_once_and_a_wrong_selection_fails_at_the_start(tmp_path):
    from receiptcore._core import start_listing

    repo = Repo(tmp_path / "repo")
    repo.write("model.bin", safetensors_bytes())
    repo.add(".")
    cache = tmp_path / "verdicts"
    started = start_listing(repo.root, "git")
    assert [e.path for e in started.finish(cache)] == ["model.bin"] and cache.is_file()
    with pytest.raises(ValueError, match="already finished"):
        started.finish()
    with pytest.raises(ValueError, match="needs a base revision"):
        start_listing(repo.root, "diff")
    with pytest.raises(ValueError, match="unknown selection"):
        start_listing(repo.root, "everything")
    # git's own complaint comes with the listing, not before it.
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(GitError):
        start_listing(plain, "staged").finish()
