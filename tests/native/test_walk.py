"""walk() lists a tree on all cores, sniffs every file, never follows symlinks, and reports
what it cannot read instead of failing. Oracles: os.walk, and git's own ls-files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receiptcore import Entry, GitError, ReceiptcoreError, walk
from support import samples
from support.nobody import reachable_folder, run_as_nobody


def git(root, *args):
    return subprocess.run(
        ["git", "-C", str(root), *args], check=True, capture_output=True
    ).stdout


def os_walk_files(root):
    out = set()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            out.add(os.path.relpath(os.path.join(dirpath, name), root))
    return out


def test_walk_finds_weights_under_innocent_names_and_sizes_files(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("print('hi')\n")
    shutil.move(samples.safetensors_file(tmp_path), tmp_path / "src" / "logo.png")
    samples.npy(tmp_path)
    entries = {e.path: e for e in walk(tmp_path)}
    assert set(entries) == {"src/app.py", "src/logo.png", "x.npy"}
    assert entries["src/app.py"].sniff is None
    assert entries["src/app.py"].size == 12
    assert entries["src/logo.png"].sniff.format == "safetensors"
    assert entries["src/logo.png"].size == (tmp_path / "src" / "logo.png").stat().st_size
    assert entries["x.npy"].sniff.format == "npy"
    assert all(e.error is None for e in entries.values())


def test_entries_come_sorted_and_are_frozen_values(tmp_path):
    for name in ["b", "a", "c"]:
        (tmp_path / name).write_text(name)
    first, second = walk(tmp_path), walk(tmp_path)
    assert [e.path for e in first] == ["a", "b", "c"]
    assert first == second
    assert isinstance(first[0], Entry)
    assert repr(first[0]) == 'Entry(path="a", size=1, sniff=None)'
    with pytest.raises(AttributeError):
        first[0].size = 3


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.sampled_from(["a", "b", ".h", "d d", "é", "x.txt"]), min_size=1, max_size=4), max_size=20))
def test_mode_all_lists_what_os_walk_lists(tmp_path_factory, paths):
    root = tmp_path_factory.mktemp("tree")
    for parts in paths:
        target = root.joinpath(*parts)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                target.write_bytes(b"x")
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            continue
    assert {e.path for e in walk(root, "all")} == os_walk_files(root)


def make_repo(root):
    git(root, "init", "-q")
    (root / ".gitignore").write_text("*.pt\nbuild/\n!keep.pt\n")
    (root / "sub").mkdir()
    (root / "sub" / ".gitignore").write_text("*.log\n")
    for rel in ["main.py", "sub/a.log", "sub/b.txt", "build/out.bin", "keep.pt", ".env"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)
    shutil.move(samples.torch_zip(root), root / "forced.pt")
    git(root, "add", ".")
    git(root, "add", "-f", "forced.pt")


def test_gitignore_mode_agrees_with_git_exclude_standard(tmp_path):
    make_repo(tmp_path)
    (tmp_path / "untracked.pt").write_text("ignored")
    oracle = git(tmp_path, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    expected = {p.decode() for p in oracle.split(b"\0") if p} - {"forced.pt"}
    assert {e.path for e in walk(tmp_path, "gitignore")} == expected


def test_git_mode_lists_exactly_the_index_including_force_added_weights(tmp_path):
    make_repo(tmp_path)
    (tmp_path / "untracked.txt").write_text("not in the index")
    entries = {e.path: e for e in walk(tmp_path, mode="git")}
    oracle = {p.decode() for p in git(tmp_path, "ls-files", "-z").split(b"\0") if p}
    assert set(entries) == oracle
    assert entries["forced.pt"].sniff.format == "torch_zip"


def test_every_mode_sorts_by_path_bytes(tmp_path):
    names = ["b", "a-b", "a/b", "a.b", "a/a", "B", "é", "e", "a b", "ab"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    expected = sorted(names, key=os.fsencode)
    for mode in ("all", "gitignore", "git"):
        assert [e.path for e in walk(tmp_path, mode)] == expected, mode


def test_git_mode_from_a_subfolder_lists_paths_relative_to_it(tmp_path):
    make_repo(tmp_path)
    assert {e.path for e in walk(tmp_path / "sub", "git")} == {".gitignore", "b.txt"}


def test_git_mode_reads_tracked_files_missing_from_the_work_tree_from_their_blob(tmp_path):
    make_repo(tmp_path)
    size = (tmp_path / "main.py").stat().st_size
    (tmp_path / "main.py").unlink()
    entry = {e.path: e for e in walk(tmp_path, "git")}["main.py"]
    assert (entry.error, entry.size, entry.kind) == (None, size, "file")
    assert entry.oid == subprocess.run(["git", "-C", str(tmp_path), "rev-parse", ":main.py"],
                                       capture_output=True, text=True, check=True).stdout.strip()


def test_git_mode_outside_a_repository_raises_git_error(tmp_path):
    with pytest.raises(GitError, match="git ls-files failed") as err:
        walk(tmp_path, "git")
    assert isinstance(err.value, ReceiptcoreError)


def test_symlinks_are_listed_not_followed_and_loops_do_not_hang(tmp_path):
    samples.npy(tmp_path)
    os.symlink(tmp_path / "x.npy", tmp_path / "link.npy")
    os.symlink(tmp_path, tmp_path / "loop")
    entries = {e.path: e for e in walk(tmp_path)}
    assert set(entries) == {"x.npy", "link.npy", "loop"}
    assert entries["link.npy"].kind == "symlink" and entries["link.npy"].sniff is None
    assert entries["loop"].kind == "symlink"
    assert entries["x.npy"].kind == "file"


def test_non_utf8_names_are_reported_and_still_sniffed(tmp_path):
    raw = os.fsencode(tmp_path) + b"/caf\xe9.bin"
    with open(raw, "wb") as f:
        f.write(samples.npy(tmp_path).read_bytes())
    entry = {e.path: e for e in walk(tmp_path)}[os.fsdecode(b"caf\xe9.bin")]
    assert "not valid UTF-8" in entry.error
    assert entry.sniff.format == "npy"
    assert os.fsencode(entry.path) == b"caf\xe9.bin"


def test_fifos_are_reported_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    (entry,) = walk(tmp_path)
    assert entry.path == "pipe" and "not a regular file" in entry.error
    assert entry.kind == "special"


def test_unreadable_files_and_directories_are_reported_not_fatal():
    root = reachable_folder("receiptcore-unreadable-")
    (root / "secret").write_text("x")
    (root / "secret").chmod(0)
    (root / "closed").mkdir()
    (root / "closed" / "f").write_text("x")
    (root / "closed").chmod(0)
    try:
        out = run_as_nobody("from receiptcore import walk",
                            "print(json.dumps({e.path: e.error for e in walk(sys.argv[1])}))",
                            str(root))
    finally:
        (root / "closed").chmod(0o755)
        shutil.rmtree(root)
    errors = json.loads(out)
    assert "cannot read" in errors["secret"]
    assert "cannot list" in errors["closed"]


def test_bad_roots_and_modes_raise_named_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        walk(tmp_path / "missing")
    (tmp_path / "f").write_text("x")
    with pytest.raises(NotADirectoryError):
        walk(tmp_path / "f")
    with pytest.raises(ValueError, match="unknown mode"):
        walk(tmp_path, mode="everything")
    with pytest.raises(ValueError, match="unknown kind"):
        Entry("a", 1, kind="folder")


def test_git_mode_lists_tracked_symlinks_without_following_them(tmp_path):
    make_repo(tmp_path)
    os.symlink("forced.pt", tmp_path / "alias.pt")
    git(tmp_path, "add", "-f", "alias.pt")
    entries = {e.path: e for e in walk(tmp_path, "git")}
    assert entries["alias.pt"].kind == "symlink" and entries["alias.pt"].sniff is None
    assert entries["forced.pt"].sniff.format == "torch_zip"


def test_walk_finds_vector_stores_inside_a_tree(tmp_path):
    samples.chroma_dir(tmp_path)
    samples.lance_dataset(tmp_path)
    shutil.move(samples.faiss_indexes(tmp_path)[0], tmp_path / "README")
    found = {e.path: e.sniff.format for e in walk(tmp_path) if e.sniff}
    assert found["chroma/chroma.sqlite3"] == "chroma"
    assert found["README"] == "faiss"
    assert any(p.startswith("vectors.lance/data/") and f == "lance" for p, f in found.items())


def test_listing_without_sniffing_opens_no_file():
    # A file nobody may read is listed with its size and no error when nothing is opened.
    root = reachable_folder("receiptcore-nosniff-")
    secret = samples.npy(root).rename(root / "secret.npy")
    size = secret.stat().st_size
    secret.chmod(0)
    try:
        out = run_as_nobody("from receiptcore import walk",
                            "print(json.dumps([[e.path, e.size, e.kind, e.error, e.sniff is None]"
                            " for e in walk(sys.argv[1], sniff=False)]))", str(root))
    finally:
        shutil.rmtree(root)
    assert json.loads(out) == [["secret.npy", size, "file", None, True]]


def test_tree_mode_is_every_file_dot_git_included(tmp_path):
    make_repo(tmp_path)
    tree = {e.path for e in walk(tmp_path, "tree", sniff=False)}
    assert tree == os_walk_files(tmp_path) | {
        os.path.relpath(os.path.join(d, n), tmp_path)
        for d, _, names in os.walk(tmp_path / ".git") for n in names
    }
    assert any(p.startswith(".git/") for p in tree)
