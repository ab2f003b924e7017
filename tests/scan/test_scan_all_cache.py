"""``scan --all``'s verdict cache: by path and ``lstat`` status, as git's index remembers a
checkout. A second scan of an unchanged folder reads nothing; a file whose status changed in
any way (ctime, inode, size, mtime), or changed too close to the cache's time (git's "racily
clean" files), is read again; a cache that is damaged or cannot be written is no cache."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from receiptcore.cli import main
from receiptcore.scan.select import cache_file
from support.scanrepo import Repo, flagged, safetensors_bytes


def scan(root: Path, capsys, *args: str) -> dict:
    code = main(["scan", str(root), "--all", "--format", "json", *args])
    out, err = capsys.readouterr()
    assert code in (0, 1) and err == "", err
    return json.loads(out)


def a_minute_on(cache: Path) -> None:
    """The cache as the next scan sees it a minute after the last one began: the files this
    test just wrote are older than its time by more than the racy margin."""
    later = time.time_ns() + 60 * 10**9
    os.utime(cache, ns=(later, later))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A plain folder, no git: sources, a model's weights, and a text file of their size."""
    root = tmp_path / "plain"
    (root / "src").mkdir(parents=True)
    for i in range(10):
        (root / "src" / f"m{i}.py").write_text(f"x = {i}\n")
    weights = safetensors_bytes()
    (root / "model.bin").write_bytes(weights)
    (root / "notes.dat").write_bytes(b"n" * len(weights))
    return root


def test_a_second_scan_of_an_unchanged_folder_reads_nothing(folder, capsys):
    first = scan(folder, capsys)
    assert first["cached"] == 0 and flagged(first["findings"], "weights") == {"model.bin"}
    cache = cache_file("all", folder)
    assert cache.is_file()
    assert cache.parent == Path(os.environ["XDG_CACHE_HOME"]) / "receiptcore" / "scan"
    a_minute_on(cache)
    second = scan(folder, capsys)
    assert second["cached"] == second["files"] == first["files"] == 12
    assert second["findings"] == first["findings"]
    code = main(["scan", str(folder), "--all"])
    assert code == 1 and "12 from the cache" in capsys.readouterr().out
    # Asked not to, it reads every file; and leaves the cache as it was.
    assert scan(folder, capsys, "--no-cache")["cached"] == 0
    assert scan(folder, capsys)["cached"] == 12


def test_cache_false_in_the_config_reads_every_file(folder, capsys):
    (folder / "receiptcore.toml").write_text("[scan]\ncache = false\n")
    scan(folder, capsys)
    assert not cache_file("all", folder).exists()
    (folder / "receiptcore.toml").write_text("[scan]\n")
    scan(folder, capsys)  # a cache that would serve every file, once a minute old
    a_minute_on(cache_file("all", folder))
    (folder / "receiptcore.toml").write_text("[scan]\ncache = false\n")
    assert scan(folder, capsys)["cached"] == 0


def test_files_written_within_the_racy_window_are_read_again(folder, capsys):
    scan(folder, capsys)
    # The cache's time is when the last scan began; every file was written less than the
    # racy margin before it, so its status cannot tell a later write in the same tick apart.
    assert scan(folder, capsys)["cached"] == 0
    a_minute_on(cache_file("all", folder))
    assert scan(folder, capsys)["cached"] == 12


def test_a_rewrite_that_keeps_size_and_mtime_is_read_again(folder, capsys):
    weights = (folder / "model.bin").read_bytes()
    (folder / "other.dat").write_bytes(b"o" * len(weights))
    scan(folder, capsys)
    a_minute_on(cache_file("all", folder))
    assert scan(folder, capsys)["cached"] == 13
    # Weights written over the text in place (same inode, the ctime moves) and renamed over
    # the other (a new inode), each with its size and its old mtime.
    for name, in_place in (("notes.dat", True), ("other.dat", False)):
        path = folder / name
        before = path.stat()
        if in_place:
            path.write_bytes(weights)
        else:
            (folder / "tmp").write_bytes(weights)
            os.replace(folder / "tmp", path)
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        after = path.stat()
        assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
        if in_place:  # only the ctime tells
            assert (after.st_ino, after.st_ctime_ns) != (before.st_ino, before.st_ctime_ns)
            assert after.st_ino == before.st_ino
        else:
            assert after.st_ino != before.st_ino
    a_minute_on(cache_file("all", folder))
    third = scan(folder, capsys)
    assert flagged(third["findings"], "weights") == {"model.bin", "notes.dat", "other.dat"}
    assert third["files"] - third["cached"] == 2


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "another version"])
def test_a_damaged_cache_is_ignored_and_rewritten(folder, capsys, damage):
    first = scan(folder, capsys)
    cache = cache_file("all", folder)
    good = cache.read_bytes()
    cache.write_bytes({
        "truncated": good[: len(good) * 2 // 3],
        "garbage": os.urandom(len(good)),
        "empty": b"",
        "another version": good.replace(b"scan cache 2;", b"scan cache 9;", 1),
    }[damage])
    a_minute_on(cache)
    again = scan(folder, capsys)
    assert again["cached"] == 0 and again["findings"] == first["findings"]
    a_minute_on(cache)
    assert scan(folder, capsys)["cached"] == 12  # written whole again


def test_an_unwritable_cache_folder_is_no_cache_and_no_error(folder, capsys, tmp_path,
                                                             monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file: no folder can be made in it
    for _ in range(2):
        report = scan(folder, capsys)
        assert report["cached"] == 0 and flagged(report["findings"], "weights") == {"model.bin"}
    assert blocker.read_text() == ""


def test_a_file_gone_is_dropped_from_the_cache(folder, capsys):
    scan(folder, capsys)
    before = cache_file("all", folder).read_bytes()
    assert b"src/m3.py" in before
    (folder / "src" / "m3.py").unlink()
    a_minute_on(cache_file("all", folder))
    assert scan(folder, capsys)["cached"] == 11
    assert b"src/m3.py" not in cache_file("all", folder).read_bytes()


def test_no_cache_is_kept_inside_the_repository(tmp_path, capsys):
    """Verdicts found in a repository's own folders would be trusted: whoever hands one over
    (an archive with its .git) could plant them. Every cache is in the user's cache folder."""
    repo = Repo.started(tmp_path / "repo")
    repo.write("untracked.pt", safetensors_bytes())
    cache = cache_file("all", repo.root)
    assert cache.parent == Path(os.environ["XDG_CACHE_HOME"]) / "receiptcore" / "scan"
    assert cache.name.startswith("all-")
    scan(repo.root, capsys)
    a_minute_on(cache)
    second = scan(repo.root, capsys)
    assert second["cached"] == second["files"] == 2
    assert flagged(second["findings"], "weights") == {"untracked.pt"}
    # The same folder by another path (a symlink) is the same cache.
    (tmp_path / "link").symlink_to(repo.root)
    assert cache_file("all", tmp_path / "link") == cache
    repo.add(".")
    repo.commit()
    assert main(["scan", str(repo.root), "--format", "json"]) == 1
    capsys.readouterr()
    assert cache_file("git", repo.root / ".git").is_file()
    assert not (repo.root / ".git" / "receiptcore").exists()
