"""verify DIR and verify ID of a tree: every file re-hashed in parallel, and every file that is
missing, extra or changed named, not only the first."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from receiptcore.errors import TreeMismatch
from receiptcore.publish import publish
from receiptcore.verify import verify
from support.trees import MODEL, cli, make_tree


@pytest.fixture
def published(env):
    make_tree(env / "minilm")
    return publish(env / "minilm", artifact_id="minilm")


def test_a_published_folder_verifies_by_path_and_by_id(published, capsys):
    code, out, err = cli(capsys, "verify", "minilm", "--no-progress")
    assert code == 0, err
    assert out.startswith(f"verified minilm {published.artifact_commit}, a tree of {len(MODEL)} files")
    assert "version 1 of 1, the latest" in out
    code, out, _ = cli(capsys, "verify", "minilm", "--json", "--no-progress")
    verdict = json.loads(out)
    assert verdict["kind"] == "tree" and verdict["files"] == len(MODEL) and verdict["verified"]
    shutil.rmtree("minilm")  # now "minilm" is an id: the stored objects are re-hashed
    code, out, err = cli(capsys, "verify", "minilm", "--no-progress")
    assert code == 0 and "a tree of" in out, err


def _tamper(root, how):
    if how == "byte":
        data = bytearray((root / "model.safetensors").read_bytes())
        data[123_456] ^= 1
        (root / "model.safetensors").write_bytes(bytes(data))
    elif how == "added":
        (root / "tokenizer" / "merges.txt").write_bytes(b"new")
    elif how == "removed":
        (root / "tokenizer" / "vocab.txt").unlink()
    elif how == "renamed":
        os.rename(root / "config.json", root / "config.json.bak")
    elif how == "symlink":
        (root / "1_Pooling" / "config.json").unlink()
        os.symlink("../config.json", root / "1_Pooling" / "config.json")


NAMED = {
    "byte": ("changed", "model.safetensors (content)"),
    "added": ("extra", "tokenizer/merges.txt"),
    "removed": ("missing", "tokenizer/vocab.txt"),
    "renamed": ("missing", "config.json"),
    "symlink": ("changed", "1_Pooling/config.json (now a symlink)"),
}


@pytest.mark.parametrize("how", sorted(NAMED))
def test_every_tamper_of_a_folder_is_named(published, env, capsys, how):
    _tamper(env / "minilm", how)
    code, _, err = cli(capsys, "verify", "minilm", "--artifact-id", "minilm", "--no-progress")
    assert code == 9, err
    kind, name = NAMED[how]
    assert f"{kind}: " in err and name in err
    if how == "renamed":
        assert "1 extra: config.json.bak" in err
    code, out, _ = cli(capsys, "verify", "minilm", "--artifact-id", "minilm", "--json", "--no-progress")
    differences = json.loads(out)["differences"]
    assert any(name in entry for entry in differences[kind])


def test_all_the_tampers_at_once_are_all_named(published, env):
    for how in NAMED:
        _tamper(env / "minilm", how)
    with pytest.raises(TreeMismatch) as info:
        verify(path=env / "minilm", artifact_id="minilm")
    error = info.value
    assert sorted(error.missing) == ["config.json", "tokenizer/vocab.txt"]
    assert sorted(error.extra) == ["config.json.bak", "tokenizer/merges.txt"]
    assert sorted(error.changed) == [
        "1_Pooling/config.json (now a symlink)",
        "model.safetensors (content)",
    ]


def test_a_changed_folder_without_an_id_has_no_receipt_and_a_symlink_is_refused(published, env, capsys):
    (env / "minilm" / "config.json").write_bytes(b"{}")
    code, _, err = cli(capsys, "verify", "minilm", "--no-progress")
    assert code == 11 and "not published, or changed since" in err
    os.symlink("config.json", env / "minilm" / "alias.json")
    code, _, err = cli(capsys, "verify", "minilm", "--no-progress")
    assert code == 18 and "alias.json (a symlink" in err


def _object(env, data: bytes):
    import hashlib

    h = hashlib.sha256(data).hexdigest()
    path = env / "home" / "objects" / "sha256" / h[:2] / h[2:]
    os.chmod(path, 0o644)
    return path


def test_verify_by_id_names_every_stored_object_changed_or_missing(published, env, capsys):
    _object(env, MODEL["config.json"]).write_bytes(b"tampered")
    _object(env, MODEL["tokenizer/vocab.txt"]).write_bytes(b"tampered too")
    _object(env, MODEL[".hidden"]).unlink()
    shutil.rmtree(env / "minilm")
    code, _, err = cli(capsys, "verify", "minilm", "--no-progress")
    assert code == 9, err
    for name in ("config.json", "tokenizer/vocab.txt", ".hidden"):
        assert name in err


def test_verify_by_id_names_missing_objects(published, env, capsys):
    _object(env, MODEL["empty.bin"]).unlink()
    _object(env, MODEL["deep/a/b/c/d/e.txt"]).unlink()
    shutil.rmtree(env / "minilm")
    code, _, err = cli(capsys, "verify", "minilm", "--no-progress")
    assert code == 10 and "lacks 2 objects" in err
    assert "empty.bin" in err and "deep/a/b/c/d/e.txt" in err


def test_a_tampered_file_list_in_the_store_fails(published, env, capsys):
    c = published.artifact_commit.removeprefix("sha256:")
    path = env / "home" / "objects" / "sha256" / c[:2] / c[2:]
    os.chmod(path, 0o644)
    path.write_bytes(path.read_bytes().replace(b"config.json", b"config.jsoN"))
    shutil.rmtree(env / "minilm")
    code, _, err = cli(capsys, "verify", "minilm", "--no-progress")
    assert code == 9 and "truncated, corrupted or swapped" in err


def test_a_folder_is_not_a_file_artifact_and_a_file_not_a_tree(env, capsys):
    make_tree(env / "m", {"a.bin": b"a"})
    publish(env / "m", artifact_id="folder")
    (env / "f.bin").write_bytes(b"f")
    publish(env / "f.bin", artifact_id="file")
    code, _, err = cli(capsys, "verify", "f.bin", "--artifact-id", "folder", "--no-progress")
    assert code == 9 and "is a file, but folder was published as a folder" in err
    code, _, err = cli(capsys, "verify", "m", "--artifact-id", "file", "--no-progress")
    assert code == 9 and "is a folder, but file was published as a file" in err
