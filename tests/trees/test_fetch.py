"""fetch ID[@COMMIT] --out PATH: the receipt verified, every byte checked as it is copied out,
and the output written whole or not at all."""

from __future__ import annotations

import filecmp
import hashlib
import json
import os

import pytest

from receiptcore.errors import ObjectNotFound, TreeMismatch
from receiptcore.fetch import fetch
from receiptcore.publish import publish
from support.trees import MODEL, cli, independent_tree_commit, make_tree


def _same_tree(a, b) -> bool:
    compared = filecmp.dircmp(a, b)
    if compared.left_only or compared.right_only or compared.diff_files or compared.funny_files:
        return False
    return all(_same_tree(os.path.join(a, d), os.path.join(b, d)) for d in compared.common_dirs)


def test_a_tree_is_fetched_whole_and_verifies(env, capsys):
    make_tree(env / "minilm")
    ref = publish(env / "minilm", artifact_id="minilm")
    code, out, err = cli(capsys, "fetch", "minilm", "--out", "copy", "--no-progress")
    assert code == 0, err
    assert out.startswith(f"fetched minilm {ref.artifact_commit}, a tree of {len(MODEL)} files")
    assert _same_tree(env / "minilm", env / "copy")
    assert independent_tree_commit(env / "copy") == ref.artifact_commit
    assert [p for p in os.listdir(env) if p.endswith(".part")] == []
    assert cli(capsys, "verify", "copy", "--no-progress")[0] == 0


def test_a_file_and_a_pinned_version_are_fetched(env, capsys):
    (env / "w.bin").write_bytes(b"one")
    v1 = publish(env / "w.bin", artifact_id="w")
    (env / "w.bin").write_bytes(b"two")
    publish(env / "w.bin", artifact_id="w", new_version=True)
    assert fetch("w", out=env / "latest.bin") == env / "latest.bin"
    assert (env / "latest.bin").read_bytes() == b"two"
    code, out, err = cli(capsys, "fetch", f"w@{v1.artifact_commit}", "--out", "old.bin", "--json")
    assert code == 0 and json.loads(out)["version"] == 1, err
    assert (env / "old.bin").read_bytes() == b"one"


def test_an_existing_output_is_never_touched(env, capsys):
    make_tree(env / "m", {"a.bin": b"a"})
    publish(env / "m", artifact_id="m")
    (env / "busy").mkdir()
    (env / "busy" / "mine.txt").write_bytes(b"keep me")
    code, _, err = cli(capsys, "fetch", "m", "--out", "busy", "--no-progress")
    assert code == 3 and "busy" in err
    assert os.listdir(env / "busy") == ["mine.txt"]
    (env / "empty").mkdir()
    assert cli(capsys, "fetch", "m", "--out", "empty", "--no-progress")[0] == 0
    assert (env / "empty" / "a.bin").read_bytes() == b"a"


def _object(env, data: bytes):
    h = hashlib.sha256(data).hexdigest()
    path = env / "home" / "objects" / "sha256" / h[:2] / h[2:]
    os.chmod(path, 0o644)
    return path


def test_a_changed_object_fails_the_fetch_and_leaves_nothing(env):
    make_tree(env / "minilm")
    publish(env / "minilm", artifact_id="minilm")
    _object(env, MODEL["tokenizer/vocab.txt"]).write_bytes(b"[PAD]\n[UNK]\nhellO\n")
    with pytest.raises(TreeMismatch, match="tokenizer/vocab.txt"):
        fetch("minilm", out=env / "copy")
    assert not (env / "copy").exists()
    assert [p for p in os.listdir(env) if ".part" in p] == []


def test_a_missing_object_fails_the_fetch_and_leaves_nothing(env, capsys):
    make_tree(env / "minilm")
    publish(env / "minilm", artifact_id="minilm")
    _object(env, MODEL["config.json"]).unlink()
    with pytest.raises(ObjectNotFound):
        fetch("minilm", out=env / "copy")
    assert not (env / "copy").exists()
    (env / "f.bin").write_bytes(b"file")
    publish(env / "f.bin")
    _object(env, b"file").write_bytes(b"fiLe")
    code, _, err = cli(capsys, "fetch", "f.bin", "--out", "out.bin", "--no-progress")
    assert code == 9 and "read back as" in err and not (env / "out.bin").exists()
