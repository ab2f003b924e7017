"""`hash` and `manifest dataset` list folders with the native walk, and keep the policy they had
over os.walk: the os.walk implementations they replaced are the oracles here, on trees with
every kind of thing a folder can hold (hidden files, .git, symlinks to files, to folders and to
nothing, pipes, names that are not UTF-8)."""

from __future__ import annotations

import json
import os
import shutil
import stat

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receiptcore.commitments import dataset_manifest, list_corpus
from receiptcore.util.files import expand_paths
from support.nobody import reachable_folder, run_as_nobody

TERMS = {"name": "c", "source": "s3://c", "license": "MIT", "owner": "me"}


def os_walk_expand(paths):
    """expand_paths as it was, over os.walk (with the sizes `hash` then took by stat)."""
    files = []
    for path in paths:
        path = os.fsdecode(path)
        if os.path.isdir(path) and not os.path.islink(path):
            found = []
            for root, dirs, names in os.walk(path, onerror=_raise):
                dirs.sort()
                found.extend(os.path.join(root, n) for n in names)
            files.extend(sorted(f for f in found if os.path.isfile(f)))
        elif os.path.lexists(path):
            files.append(path)
        else:
            raise FileNotFoundError(2, "No such file or directory", path)
    return [(f, os.stat(f).st_size) for f in files]


def os_walk_corpus(root):
    """list_corpus as it was, over os.walk and a stat per file."""
    root = os.fspath(root)
    found = []
    for directory, dirs, names in os.walk(root, onerror=_raise):
        for name in dirs + names:
            path = os.path.join(directory, name)
            info = os.stat(path)
            if stat.S_ISDIR(info.st_mode):
                if os.path.islink(path):
                    raise ValueError(f"{path}: symlink to a directory; a corpus must not hold one")
                continue
            if not stat.S_ISREG(info.st_mode):
                raise ValueError(f"{path}: not a regular file (device, pipe or socket)")
            relative = os.path.relpath(path, root)
            try:
                relative.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(f"{path!r}: file name is not valid UTF-8") from None
            found.append((relative, path, info.st_size))
    return sorted(found)


def _raise(error):
    raise error


def outcome(function, *args):
    """What a call returns, or the type and message of what it raises."""
    try:
        return function(*args)
    except (OSError, ValueError) as error:
        return type(error), str(error)


def test_hash_lists_what_it_listed_over_os_walk(tmp_path):
    (tmp_path / "d" / ".git").mkdir(parents=True)
    (tmp_path / "d" / ".git" / "config").write_text("git")
    (tmp_path / "d" / ".hidden").write_text("h")
    (tmp_path / "d" / "sub").mkdir()
    (tmp_path / "d" / "sub" / "b.txt").write_text("bee")
    (tmp_path / "d" / "to-file").symlink_to(tmp_path / "d" / "sub" / "b.txt")
    (tmp_path / "d" / "to-dir").symlink_to(tmp_path / "d" / "sub")
    (tmp_path / "d" / "dangling").symlink_to(tmp_path / "nowhere")
    os.mkfifo(tmp_path / "d" / "pipe")
    with open(os.fsencode(tmp_path / "d") + b"/caf\xe9", "wb") as f:
        f.write(b"latin-1")
    (tmp_path / "single").write_text("one")
    paths = [tmp_path / "d", str(tmp_path / "single"), os.fsencode(tmp_path / "d" / "sub")]
    listed = expand_paths(paths)
    assert listed == os_walk_expand(paths)
    names = [os.path.relpath(p, tmp_path) for p, _ in listed]
    assert "d/.git/config" in names and "d/to-file" in names and "d/pipe" not in names
    assert dict(listed)[str(tmp_path / "d" / "to-file")] == 3  # the target's size


def test_hash_of_a_missing_path_raises_file_not_found(tmp_path):
    assert outcome(expand_paths, [tmp_path / "absent"]) == outcome(os_walk_expand, [tmp_path / "absent"])
    with pytest.raises(FileNotFoundError):
        expand_paths([tmp_path / "absent"])


def test_manifest_dataset_lists_what_it_listed_over_os_walk(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref")
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "c.bin").write_bytes(b"\0" * 300)
    (tmp_path / "link").symlink_to(tmp_path / "a" / "b" / "c.bin")
    corpus = list_corpus(tmp_path)
    assert corpus == os_walk_corpus(tmp_path)
    manifest = dataset_manifest(tmp_path, **TERMS, files=corpus)
    assert [(f.path, f.size) for f in manifest.files] == [(".git/HEAD", 3), ("a/b/c.bin", 300), ("link", 300)]


@pytest.mark.parametrize("bad", ["to-dir", "dangling", "pipe", "latin-1"])
def test_manifest_dataset_refuses_what_it_refused_over_os_walk(tmp_path, bad):
    (tmp_path / "ok.txt").write_text("ok")
    target = tmp_path / bad
    if bad == "to-dir":
        target.symlink_to(tmp_path)
    elif bad == "dangling":
        target.symlink_to(tmp_path / "nowhere")
    elif bad == "pipe":
        os.mkfifo(target)
    else:
        with open(os.fsencode(tmp_path) + b"/caf\xe9", "wb") as f:
            f.write(b"x")
    got = outcome(list_corpus, tmp_path)
    assert got == outcome(os_walk_corpus, tmp_path)
    assert isinstance(got, tuple) and issubclass(got[0], (OSError, ValueError))


ENTRY = st.sampled_from(["file", "hidden", "nested", "to-file", "to-dir", "dangling"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "é", "x y"]), ENTRY), max_size=12)
       .filter(lambda spec: sum(kind in ("to-dir", "dangling") for _, kind in spec) <= 1))
def test_both_listings_agree_with_os_walk_on_any_tree(tmp_path_factory, spec):
    # At most one entry a corpus refuses: with several, the first met is the one named, and
    # os.walk met them in directory order where the walk goes by sorted path.
    root = tmp_path_factory.mktemp("tree")
    (root / "base.txt").write_text("base")
    for i, (name, kind) in enumerate(spec):
        path = root / f"{name}{i}"
        if kind == "file":
            path.write_bytes(b"x" * i)
        elif kind == "hidden":
            (root / f".{name}{i}").write_text("h")
        elif kind == "nested":
            path.mkdir()
            (path / "inner").write_bytes(b"y" * i)
        elif kind == "to-file":
            path.symlink_to(root / "base.txt")
        elif kind == "to-dir":
            path.symlink_to(root)
        else:
            path.symlink_to(root / "nowhere")
    assert expand_paths([root]) == os_walk_expand([root])
    assert outcome(list_corpus, root) == outcome(os_walk_corpus, root)


def test_an_unreadable_folder_raises_permission_error_in_both():
    root = reachable_folder("receiptcore-files-")
    (root / "closed").mkdir()
    (root / "closed" / "f").write_text("x")
    (root / "closed").chmod(0)
    body = """out = []
for call in (lambda: expand_paths([sys.argv[1]]), lambda: list_corpus(sys.argv[1])):
    try:
        call()
    except OSError as e:
        out.append([type(e).__name__, e.errno, e.filename])
print(json.dumps(out))"""
    try:
        out = run_as_nobody("from receiptcore.util.files import expand_paths\n"
                            "from receiptcore.commitments import list_corpus", body, str(root))
    finally:
        (root / "closed").chmod(0o755)
        shutil.rmtree(root)
    assert json.loads(out) == [["PermissionError", 13, str(root / "closed")]] * 2
