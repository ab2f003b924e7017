"""The default scan's listing of the git index is read natively when its meaning is certain,
and by ``git ls-files`` otherwise; either way it is exactly git's. Oracle: ``git ls-files -z
--stage`` on repositories real git made. A listing made with no ``git`` on the PATH proves that
no git process ran (the native reading); one that fails there proves the index was left to git.
"""

from __future__ import annotations

import json
import os
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from receiptcore import GitError, walk
from support.scanrepo import GIT, Repo

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
