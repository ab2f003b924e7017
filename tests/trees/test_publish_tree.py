"""publish DIR: one artifact whose commit is the sha256 of the RFC 8785 form of its file list,
recomputed here without receiptcore; every file one object, the file list an object too."""

from __future__ import annotations

import hashlib
import json
import os
import threading

import pytest
import rfc8785

from receiptcore.errors import FileChangedError
from receiptcore.publish import publish
from support.trees import MODEL, cli, independent_tree_commit, make_tree, store_objects


def test_a_folder_is_one_artifact_whose_commit_anyone_can_recompute(env, capsys):
    make_tree(env / "minilm")
    code, out, err = cli(capsys, "publish", "minilm/", "--json", "--no-progress")
    assert code == 0, err
    result = json.loads(out)
    assert result["artifact_id"] == "minilm" and result["kind"] == "tree"
    assert result["artifact_commit"] == independent_tree_commit(env / "minilm")
    assert result["files"] == len(MODEL) and result["size"] == sum(map(len, MODEL.values()))
    assert result["version"] == 1 and result["ledger_index"] == 0
    code, out, _ = cli(capsys, "hash", "--tree", "minilm", "--no-progress")
    assert out.split()[0] == result["artifact_commit"]


def test_every_file_is_an_object_and_the_file_list_is_one_too(env):
    make_tree(env / "minilm")
    ref = publish(env / "minilm", artifact_id="minilm")
    objects = store_objects(env / "home")
    for data in MODEL.values():
        assert hashlib.sha256(data).hexdigest() in objects
    tree = (env / "home" / "objects" / "sha256" / ref.artifact_commit[7:9] / ref.artifact_commit[9:])
    manifest = json.loads(tree.read_bytes())
    assert tree.read_bytes() == rfc8785.dumps(manifest)  # stored in its canonical form
    assert [f["path"] for f in manifest["files"]] == sorted(MODEL, key=str.encode)
    assert not os.listdir(env / "home" / "objects" / "tmp")


def test_shards_shared_by_two_versions_are_stored_once(env):
    make_tree(env / "v1")
    publish(env / "v1", artifact_id="model")
    before = store_objects(env / "home")
    make_tree(env / "v2", {**MODEL, "config.json": b'{"hidden_size": 768}\n'})
    ref = publish(env / "v2", artifact_id="model", new_version=True)
    added = store_objects(env / "home") - before
    # the changed config, the new file list, and the build manifest recorded for it
    assert hashlib.sha256(b'{"hidden_size": 768}\n').hexdigest() in added
    assert ref.artifact_commit[7:] in added and len(added) == 3
    assert ref.version == 2


def test_a_file_that_changes_while_read_fails_the_publish_and_leaves_nothing(env):
    make_tree(env / "model", {"small.json": b"{}"})
    with open(env / "model" / "shard.bin", "wb") as f:
        f.truncate(1 << 30)
    grown = threading.Event()

    def grow(done, total, files, count):
        if not grown.is_set():
            with open(env / "model" / "shard.bin", "ab") as f:
                f.write(b"more")
            grown.set()

    with pytest.raises(FileChangedError, match="shard.bin"):
        publish(env / "model", progress=grow)
    assert store_objects(env / "home") == set()
    assert os.listdir(env / "home" / "objects" / "tmp") == []
    assert not (env / "home" / "ledger.sqlite3").exists()


def test_a_tree_copied_in_batches_is_the_same_tree_and_a_late_failure_leaves_nothing(
    env, monkeypatch
):
    """The folder store copies and names a tree a batch at a time (memory stays small): the
    commit, the objects and the progress are those of one batch, and a file that changes in
    the last batch removes what the earlier batches copied."""
    from receiptcore.store import local

    monkeypatch.setattr(local, "BATCH", 2)
    make_tree(env / "model")
    seen = []
    ref = publish(env / "model", progress=lambda *report: seen.append(report))
    assert ref.artifact_commit == independent_tree_commit(env / "model")
    assert store_objects(env / "home") >= {
        hashlib.sha256(data).hexdigest() for data in MODEL.values()
    }
    size = sum(map(len, MODEL.values()))
    assert seen[-1] == (size, size, len(MODEL), len(MODEL))
    assert [r[0] for r in seen] == sorted(r[0] for r in seen)  # never counts back

    make_tree(env / "later", {f"{i}.json": b"{}" * (i + 1) for i in range(5)})
    with open(env / "later" / "zz-shard.bin", "wb") as f:  # sorts last: the last batch
        f.truncate(1 << 30)
    grown = threading.Event()

    def grow(done, total, files, count):
        if files >= 5 and not grown.is_set():
            with open(env / "later" / "zz-shard.bin", "ab") as f:
                f.write(b"more")
            grown.set()

    before = store_objects(env / "home")
    with pytest.raises(FileChangedError, match="zz-shard.bin"):
        publish(env / "later", progress=grow)
    assert store_objects(env / "home") == before
    assert os.listdir(env / "home" / "objects" / "tmp") == []


@pytest.mark.parametrize(
    ("make", "named"),
    [
        (lambda d: os.symlink("config.json", d / "link.json"), "link.json (a symlink"),
        (lambda d: os.mkfifo(d / "pipe"), "pipe (not a regular file"),
        (lambda d: open(os.fsencode(d) + b"/caf\xe9.txt", "wb").close(), "not valid UTF-8"),
        (lambda d: (d / "new\nline.txt").write_bytes(b"x"), "control character"),
        (lambda d: (d / "hollow").mkdir(), "hollow (an empty folder"),
    ],
    ids=["symlink", "fifo", "non-utf8-name", "control-character", "empty-folder"],
)
def test_what_a_tree_cannot_record_is_refused_by_name_and_nothing_is_stored(env, capsys, make, named):
    make_tree(env / "model", {"config.json": b"{}", "weights.bin": b"w" * 1000})
    make(env / "model")
    code, _, err = cli(capsys, "publish", "model", "--no-progress")
    assert code == 18 and named in err, err
    assert store_objects(env / "home") == set()
    assert not (env / "home" / "ledger.sqlite3").exists()


def test_a_folder_holding_the_home_or_no_file_is_refused(env, capsys, monkeypatch):
    make_tree(env / "project", {"model.bin": b"w"})
    monkeypatch.setenv("RECEIPTCORE_HOME", str(env / "project" / ".receiptcore"))
    code, _, err = cli(capsys, "publish", "project", "--no-progress")
    assert code == 18 and "holds the receiptcore home" in err
    (env / "empty").mkdir()
    code, _, err = cli(capsys, "publish", "empty", "--no-progress")
    assert code == 18 and "holds no file" in err


def test_a_build_manifest_can_name_a_tree_as_its_output(env, capsys):
    make_tree(env / "lora")
    code, _, err = cli(
        capsys, "manifest", "build", "--code-revision", "abc", "--artifact", "lora-adapter=lora",
        "--out", "build.json",
    )
    assert code == 0, err
    code, out, _ = cli(capsys, "publish", "lora", "--build-manifest", "build.json", "--json")
    result = json.loads(out)
    assert code == 0 and result["artifact_id"] == "lora-adapter" and result["kind"] == "tree"
    assert result["artifact_commit"] == independent_tree_commit(env / "lora")


def test_a_git_folder_is_part_of_the_tree_and_a_file_added_to_it_is_named(env, capsys):
    """A tree is every file below the folder, .git included (docs/trees.md): the commit is what
    the independent recipe computes, and bytes slipped into .git are not left unverified."""
    make_tree(env / "model", {**MODEL, ".git/HEAD": b"ref: refs/heads/main\n",
                              ".git/refs/heads/main": b"0" * 40 + b"\n"})
    ref = publish(env / "model", artifact_id="model")
    assert ref.files == len(MODEL) + 2
    assert ref.artifact_commit == independent_tree_commit(env / "model")
    (env / "model" / ".git" / "hooks").mkdir()
    (env / "model" / ".git" / "hooks" / "post-checkout").write_bytes(b"#!/bin/sh\ncurl evil\n")
    code, _, err = cli(capsys, "verify", "model", "--artifact-id", "model", "--no-progress")
    assert code == 9, err
    assert "1 extra: .git/hooks/post-checkout" in err


def test_an_empty_folder_inside_git_is_refused_like_any_other(env, capsys):
    make_tree(env / "clone", {"config.json": b"{}", ".git/HEAD": b"ref: refs/heads/main\n"})
    (env / "clone" / ".git" / "refs" / "tags").mkdir(parents=True)
    code, _, err = cli(capsys, "publish", "clone", "--no-progress")
    assert code == 18, err
    assert ".git/refs/tags (an empty folder)" in err
