"""``externalize``: every planned path published, verified and replaced by a reference file
that validates; the gate is then clean, nothing else changed, and a second run is a no-op."""

from __future__ import annotations

import json

import pytest

from receiptcore.errors import ReferenceConflict
from receiptcore.migrate.externalize import externalize
from receiptcore.migrate.plan import make_plan
from receiptcore.verify import verify
from support.migrate import PLANNED, git_status, make_runtime_repo, scaler_bytes, snapshot
from support.schemas import validator
from support.trees import cli, independent_tree_commit


@pytest.fixture
def repo(env):
    return make_runtime_repo(env / "repo", env / "tmp")


def _ledger_size(env) -> int:
    import sqlite3

    with sqlite3.connect(env / "home" / "ledger.sqlite3") as db:
        return db.execute("SELECT count(*) FROM entries").fetchone()[0]


def test_externalize_leaves_references_a_clean_gate_and_nothing_else_changed(repo, env, capsys):
    before = snapshot(repo.root)
    trees = {p: independent_tree_commit(repo.root / p) for p, k in PLANNED.items() if k == "tree"}
    code, out, err = cli(capsys, "externalize", "--root", "repo", "--json", "--no-progress")
    assert code == 0, err
    done = {d["path"]: d for d in json.loads(out)["externalized"]}
    assert set(done) == set(PLANNED)
    after = snapshot(repo.root)
    for path, kind in PLANNED.items():
        assert not (repo.root / path).exists()
        ref = repo.root / f"{path}.artifact.json"
        document = json.loads(ref.read_bytes())
        validator("artifact_reference.schema.json").validate(document)
        assert document["kind"] == kind and document["artifact_id"] == path
        if kind == "tree":
            assert f"sha256:{document['artifact_commit']}" == trees[path]
        else:
            assert document["artifact_commit"] == before[path]
        assert verify(artifact_id=path, commit=document["artifact_commit"]).verified
    # nothing else: the code, the README, the settings are as they were
    gone = {p for p in before if any(p == a or p.startswith(a + "/") for a in PLANNED)}
    added = {f"{p}.artifact.json" for p in PLANNED} | {".gitignore"}
    assert {p: h for p, h in before.items() if p not in gone} == {p: h for p, h in after.items() if p not in added}
    assert set(after) - set(before) == added
    ignored = (repo.root / ".gitignore").read_text().splitlines()
    assert ignored == ["/checkpoints/minilm/", "/datasets/", "/features/scaler.pkl", "/indexes/docs.faiss"]
    # staged: the deletions, the references, .gitignore; nothing else
    status = sorted(git_status(repo.root).splitlines())
    assert all(line[0] in "DA" and line[1] == " " for line in status), status
    code, out, err = cli(capsys, "scan", "repo")
    assert code == 0 and out.startswith("clean"), out
    # the code that still names the paths is listed
    sites = {(s["path"], s["line"]) for d in done.values() for s in d["code_sites"]}
    assert ("app/load.py", 12) in sites


def test_a_second_run_changes_nothing(repo, env, capsys):
    externalize(repo.root)
    before, status, entries = snapshot(repo.root), git_status(repo.root), _ledger_size(env)
    code, out, err = cli(capsys, "externalize", "--root", "repo", "--no-progress")
    assert code == 0 and out.strip() == "nothing to externalize", err
    assert externalize(repo.root) == []
    assert externalize(repo.root, ids={"repo/datasets": "corpus"}) == []  # the same command again
    assert snapshot(repo.root) == before and git_status(repo.root) == status
    assert _ledger_size(env) == entries
    assert make_plan(repo.root).artifacts == []


def test_weights_added_back_are_flagged_again(repo, capsys):
    externalize(repo.root)
    repo.commit("externalized")
    repo.write("features/scaler.pkl", scaler_bytes(1))
    repo.add("features/scaler.pkl", force=True)  # past .gitignore
    code, out, _ = cli(capsys, "scan", "repo")
    assert code == 1 and "features/scaler.pkl" in out


def test_a_changed_asset_beside_its_reference_is_never_removed(repo, capsys):
    externalize(repo.root, ["repo/features/scaler.pkl"])
    repo.write("features/scaler.pkl", scaler_bytes(2))  # someone re-adds other bytes
    repo.add("features/scaler.pkl", force=True)
    with pytest.raises(ReferenceConflict, match="nothing was removed"):
        externalize(repo.root)
    assert (repo.root / "features/scaler.pkl").read_bytes() == scaler_bytes(2)
    code, _, err = cli(capsys, "externalize", "--root", "repo", "--no-progress")
    assert code == 35 and err.count("\n") == 1


def test_a_path_pulled_back_and_changed_becomes_the_next_version(repo, capsys):
    externalize(repo.root, ["repo/features/scaler.pkl"])
    ref = repo.root / "features/scaler.pkl.artifact.json"
    first = json.loads(ref.read_bytes())
    repo.write("features/scaler.pkl", scaler_bytes(3))
    code, _, err = cli(capsys, "externalize", "repo/features/scaler.pkl", "--root", "repo", "--no-progress")
    assert code == 16 and "--new-version" in err  # other bytes under the id: explicit only
    assert json.loads(ref.read_bytes()) == first
    code, _, err = cli(capsys, "externalize", "repo/features/scaler.pkl", "--root", "repo",
                       "--new-version", "--no-progress")
    assert code == 0, err
    assert json.loads(ref.read_bytes())["artifact_commit"] != first["artifact_commit"]
    assert not (repo.root / "features/scaler.pkl").exists()
    # and an explicit path already replaced by its reference is done
    assert externalize(repo.root, ["repo/features/scaler.pkl"]) == []


def test_nothing_is_removed_when_the_stored_copy_does_not_verify(repo, env, capsys):
    from receiptcore.signing.keys import SigningKey
    from receiptcore.signing.trust import add_trusted_key

    add_trusted_key(env / "other.json", SigningKey.generate().public_key, "someone else")
    before, status = snapshot(repo.root), git_status(repo.root)
    code, _, err = cli(capsys, "externalize", "repo/indexes/docs.faiss", "--root", "repo",
                       "--trust", "other.json", "--no-progress")
    assert code == 7 and err.count("\n") == 1, err
    assert snapshot(repo.root) == before and git_status(repo.root) == status


def test_progress_counts_bytes_and_artifacts(repo):
    calls = []
    externalize(repo.root, progress=lambda *a: calls.append(a))
    total = calls[-1][1]
    assert calls[-1] == (total, total, 4, 4)
    assert all(b <= t for b, t, _, _ in calls) and [c[2] for c in calls] == sorted(c[2] for c in calls)


def test_the_ignore_line_matches_only_the_path():
    from receiptcore.migrate.git import ignore_pattern

    assert ignore_pattern("a/b", True) == "/a/b/"
    assert ignore_pattern("w[1]*?.pt", False) == "/w\\[1]\\*\\?.pt"
    assert ignore_pattern("#x", False) == "/#x"
    assert ignore_pattern("trailing ", False) == "/trailing\\ "
