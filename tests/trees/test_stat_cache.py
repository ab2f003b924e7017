"""verify --trust-stat-cache: files unchanged since this user hashed them (device, inode, size,
mtime, ctime) are not read again; any change to one, and any file too fresh to judge, is."""

from __future__ import annotations

import os
import shutil

import pytest

import receiptcore.statcache
from receiptcore.publish import publish
from receiptcore.verify import verify
from support.trees import MODEL, cli, make_tree


@pytest.fixture
def tree(env, monkeypatch):
    make_tree(env / "minilm")
    publish(env / "minilm", artifact_id="minilm")
    return env / "minilm"


def _verify(tree, **kwargs):
    hashed = []
    verdict = verify(
        path=tree, artifact_id="minilm", trust_stat_cache=True, mode="warn",
        progress=lambda done, total, files, count: hashed.append(done), **kwargs,
    )
    return verdict, max(hashed, default=0)


@pytest.fixture
def settled(monkeypatch):
    """Files written a moment ago count as settled (the test cannot wait two seconds)."""
    monkeypatch.setattr(receiptcore.statcache, "RACY_NS", -(10**12))


def test_unchanged_files_are_not_read_again(tree, env, settled):
    verdict, hashed = _verify(tree)
    assert verdict.verified and verdict.from_stat_cache == 0 and hashed == sum(map(len, MODEL.values()))
    verdict, hashed = _verify(tree)
    assert verdict.verified and verdict.from_stat_cache == len(MODEL) and hashed == 0
    assert (env / "state" / "stat-cache.sqlite3").exists()
    assert not list(tree.rglob("*.sqlite3"))  # never in the work tree


def test_a_changed_file_is_read_and_named(tree, settled):
    _verify(tree)
    (tree / "config.json").write_bytes(b'{"hidden_size": 999}\n')  # same size, other bytes
    verdict, hashed = _verify(tree)
    assert not verdict.verified and verdict.differences["changed"] == ["config.json (content)"]
    assert verdict.from_stat_cache == len(MODEL) - 1 and hashed == len(MODEL["config.json"])


def test_a_file_replaced_with_the_same_times_is_read_again(tree, settled):
    _verify(tree)
    st = os.stat(tree / "model.safetensors")
    shutil.copyfile(tree / "model.safetensors", tree / "copy")
    os.utime(tree / "copy", ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(tree / "copy", tree / "model.safetensors")  # another inode, same mtime and size
    verdict, hashed = _verify(tree)
    assert verdict.verified and hashed == len(MODEL["model.safetensors"])


def test_files_too_fresh_to_judge_are_never_trusted(tree):
    _verify(tree)
    verdict, hashed = _verify(tree)  # written less than two seconds ago: read again
    assert verdict.from_stat_cache == 0 and hashed == sum(map(len, MODEL.values()))


def test_without_the_flag_nothing_is_cached(tree, env, capsys):
    code, _, err = cli(capsys, "verify", "minilm", "--no-progress")
    assert code == 0, err
    assert not (env / "state" / "stat-cache.sqlite3").exists()
    code, out, _ = cli(capsys, "verify", "minilm", "--trust-stat-cache", "--no-progress")
    assert code == 0 and out.startswith("verified minilm")
