"""``pull``: a fresh clone gets its files back byte for byte, verified; a reference or object
that does not verify writes nothing and exits with its own code; ``--mode warn`` goes on."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3

import pytest

from receiptcore.migrate.externalize import externalize
from receiptcore.migrate.pull import pull
from support.migrate import (
    PLANNED,
    clone,
    edit_reference,
    make_runtime_repo,
    snapshot,
    store_object,
)
from support.trees import cli


@pytest.fixture
def cloned(env):
    """The repository externalized and committed, and a fresh clone of it (cwd)."""
    repo = make_runtime_repo(env / "repo", env / "tmp")
    original = snapshot(repo.root)
    externalize(repo.root)
    repo.commit("assets moved to the artifact store")
    target = clone(repo.root, env / "clone")
    os.chdir(target)
    return target, original


def _tree_or_file(root, rel):
    return {p: h for p, h in snapshot(root).items() if p == rel or p.startswith(rel + "/")}


def test_a_fresh_clone_pulls_byte_identical_files(cloned, capsys):
    target, original = cloned
    assert not any((target / p).exists() for p in PLANNED)
    code, out, err = cli(capsys, "pull", "--no-progress")
    assert code == 0, err
    assert out.strip().endswith("4 pulled")
    after = snapshot(target)
    assert {p: h for p, h in after.items() if not p.endswith(".artifact.json") and p != ".gitignore"} == original
    code, out, err = cli(capsys, "scan")
    assert code == 0, out  # pulled files are ignored and untracked: the gate stays clean
    code, out, _ = cli(capsys, "pull", "--json", "--no-progress")
    assert code == 0 and {r["status"] for r in json.loads(out)["results"]} == {"present"}
    code, out, _ = cli(capsys, "pull", "--trust-stat-cache", "--no-progress")
    assert code == 0 and out.strip().endswith("4 present")


def test_pull_of_one_reference_and_check_mode(cloned, capsys):
    target, original = cloned
    code, out, err = cli(capsys, "pull", "indexes/docs.faiss", "--no-progress")
    assert code == 0, err
    assert _tree_or_file(target, "indexes/docs.faiss") == _tree_or_file_of(original, "indexes/docs.faiss")
    assert not (target / "datasets").exists()
    code, out, err = cli(capsys, "pull", "--check", "--no-progress")
    assert code == 0 and "3 verified" in out and "1 present" in out, err
    assert not (target / "datasets").exists()


def _tree_or_file_of(snap, rel):
    return {p: h for p, h in snap.items() if p == rel or p.startswith(rel + "/")}


def _nothing_written(target):
    names = {p for p in snapshot(target) if not p.endswith(".artifact.json") and p != ".gitignore"}
    return not any(n == a or n.startswith(a + "/") for n in names for a in PLANNED) and not [
        n for n in names if ".part" in n or ".pulling" in n
    ]


def test_a_tampered_store_object_is_refused_and_nothing_written(cloned, env, capsys):
    target, original = cloned
    store_object(env / "home", original["indexes/docs.faiss"]).write_bytes(b"not faiss")
    code, _, err = cli(capsys, "pull", "indexes/docs.faiss", "--no-progress")
    assert code == 9 and err.count("\n") == 1 and "indexes/docs.faiss.artifact.json" in err
    assert os.listdir(target / "indexes") == ["docs.faiss.artifact.json"]  # no temporary either
    shard = original["checkpoints/minilm/model-00001-of-00002.safetensors"]
    store_object(env / "home", shard).write_bytes(b"changed")
    code, _, err = cli(capsys, "pull", "checkpoints/minilm.artifact.json", "--no-progress")
    assert code == 9 and "model-00001-of-00002.safetensors" in err, err
    assert _nothing_written(target)


def test_a_reference_edited_by_hand_is_refused_and_nothing_written(cloned, capsys):
    target, _ = cloned
    edit_reference(target, "indexes/docs.faiss", artifact_commit=hashlib.sha256(b"other").hexdigest())
    code, _, err = cli(capsys, "pull", "--no-progress")
    assert code == 36 and "is not a version of indexes/docs.faiss" in err, err
    assert _nothing_written(target)  # one bad reference stops the pull before any write


@pytest.mark.parametrize(("field", "value", "message"), [("kind", "tree", "published as a file"), ("size", 1, "holds")])
def test_a_reference_whose_kind_or_size_is_wrong_is_refused(cloned, capsys, field, value, message):
    target, _ = cloned
    edit_reference(target, "features/scaler.pkl", **{field: value})
    code, _, err = cli(capsys, "pull", "features/scaler.pkl", "--no-progress")
    assert code == 36 and message in err
    assert _nothing_written(target)


def test_a_reference_to_an_unknown_id_is_refused(cloned, capsys):
    target, _ = cloned
    edit_reference(target, "features/scaler.pkl", artifact_id="never-published")
    code, _, err = cli(capsys, "pull", "--no-progress")
    assert code == 11 and "never-published" in err
    assert _nothing_written(target)


def test_a_reference_that_breaks_its_contract_is_refused(cloned, capsys):
    target, _ = cloned
    (target / "datasets.artifact.json").write_text('{"kind": "tree"}\n')
    code, _, err = cli(capsys, "pull", "--no-progress")
    assert code == 5 and "datasets.artifact.json" in err
    assert _nothing_written(target)


def test_an_untrusted_key_is_refused(cloned, env, capsys):
    from receiptcore.signing.keys import SigningKey
    from receiptcore.signing.trust import add_trusted_key

    target, _ = cloned
    add_trusted_key(env / "other.json", SigningKey.generate().public_key, "someone else")
    code, _, err = cli(capsys, "pull", "--trust", str(env / "other.json"), "--no-progress")
    assert code == 7 and err.count("\n") == 1
    assert _nothing_written(target)


def test_other_bytes_at_the_path_are_never_overwritten(cloned, capsys):
    target, _ = cloned
    (target / "features/scaler.pkl").write_bytes(b"mine")
    code, _, err = cli(capsys, "pull", "--no-progress")
    assert code == 35 and "nothing was overwritten" in err
    assert (target / "features/scaler.pkl").read_bytes() == b"mine"


def test_warn_mode_reports_and_goes_on(cloned, capsys):
    target, _ = cloned
    edit_reference(target, "indexes/docs.faiss", artifact_id="never-published")
    code, out, err = cli(capsys, "pull", "--mode", "warn", "--no-progress")
    assert code == 0 and "warning" in err and "never-published" in err
    assert "3 pulled, 1 failed" in out
    assert not (target / "indexes/docs.faiss").exists()
    assert (target / "datasets/train.jsonl").exists()
    results = pull(target, mode="warn")
    assert [r.status for r in results].count("present") == 3


def test_pull_outside_a_work_tree_needs_references(env, capsys):
    code, _, err = cli(capsys, "pull", "--no-progress")
    assert code == 2 and "not inside a git work tree" in err
    code, _, err = cli(capsys, "pull", "absent.artifact.json", "--no-progress")
    assert code == 3 and "absent.artifact.json" in err


def test_a_forged_receipt_stops_the_pull(cloned, env, capsys):
    from receiptcore.ledger import merkle

    target, _ = cloned
    db = sqlite3.connect(env / "home" / "ledger.sqlite3", isolation_level=None)
    db.execute("DROP TRIGGER IF EXISTS entries_refuse_UPDATE")
    for index, data in db.execute("SELECT idx, data FROM entries").fetchall():
        forged = re.sub(rb'"sig":"(.)', lambda m: b'"sig":"' + (b"B" if m.group(1) == b"A" else b"A"), data, count=1)
        db.execute("UPDATE entries SET data = ?, leaf_hash = ? WHERE idx = ?", (forged, merkle.leaf_hash(forged), index))
    db.close()
    code, _, err = cli(capsys, "pull", "indexes/docs.faiss", "--no-progress")
    assert code == 6 and err.count("\n") == 1, err
    assert _nothing_written(target)
