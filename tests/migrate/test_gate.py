"""The gate knows references: a reference that holds is never a finding; one that does not
(tampered object, edited commit, untrusted key, unknown id, broken contract, its asset tracked
beside it, no ledger to check it against) is an ``unverified-reference`` finding that names it
with the exit code ``pull`` would give."""

from __future__ import annotations

import hashlib
import json

import pytest

from receiptcore.migrate.externalize import externalize
from support.migrate import edit_reference, make_runtime_repo, scaler_bytes, snapshot, store_object
from support.trees import cli

REF = "indexes/docs.faiss.artifact.json"


@pytest.fixture
def repo(env):
    repo = make_runtime_repo(env / "repo", env / "tmp")
    original = snapshot(repo.root)
    externalize(repo.root)
    repo.commit("assets moved to the artifact store")
    repo.original = original
    return repo


def _findings(capsys, repo) -> dict[str, str]:
    code, out, err = cli(capsys, "scan", str(repo.root), "--format", "json")
    assert code in (0, 1), err
    return {f["path"]: f["evidence"] for f in json.loads(out)["findings"] if f["rule"] == "unverified-reference"}


def test_references_that_hold_are_not_findings(repo, capsys):
    code, out, _ = cli(capsys, "scan", str(repo.root))
    assert code == 0 and out.startswith("clean"), out


def _untrusted(repo, env, monkeypatch):
    from receiptcore.signing.keys import SigningKey
    from receiptcore.signing.trust import add_trusted_key

    add_trusted_key(env / "other.json", SigningKey.generate().public_key, "someone else")
    monkeypatch.setenv("RECEIPTCORE_TRUST", str(env / "other.json"))


CASES = {
    "tampered-object": (
        lambda repo, env, mp: store_object(env / "home", repo.original["indexes/docs.faiss"]).write_bytes(b"x" * 10),
        "(exit 9, digest_mismatch)",
    ),
    "edited-commit": (
        lambda repo, env, mp: edit_reference(repo.root, "indexes/docs.faiss", artifact_commit=hashlib.sha256(b"o").hexdigest()),
        "(exit 36, reference_mismatch)",
    ),
    "edited-size": (
        lambda repo, env, mp: edit_reference(repo.root, "indexes/docs.faiss", size=1),
        "(exit 36, reference_mismatch)",
    ),
    "unknown-id": (
        lambda repo, env, mp: edit_reference(repo.root, "indexes/docs.faiss", artifact_id="never-published"),
        "(exit 11, not_in_ledger)",
    ),
    "broken-contract": (
        lambda repo, env, mp: (repo.root / REF).write_text('{"kind": "file"}\n'),
        "(exit 5, invalid_document)",
    ),
    "deleted-ledger": (  # this verifier pinned it when externalize checked its receipts
        lambda repo, env, mp: (env / "home" / "ledger.sqlite3").unlink(),
        "(exit 14, rollback)",
    ),
    "no-ledger-here": (
        lambda repo, env, mp: mp.setenv("RECEIPTCORE_HOME", str(env / "nowhere")),
        "(exit 19, home_not_found)",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_reference_that_does_not_hold_is_a_finding_with_its_exit_code(repo, env, monkeypatch, capsys, case):
    spoil, evidence = CASES[case]
    spoil(repo, env, monkeypatch)
    found = _findings(capsys, repo)
    assert REF in found and found[REF].endswith(evidence), found
    if case not in ("no-ledger-here", "deleted-ledger"):
        assert set(found) == {REF}  # the others still hold


def test_an_untrusted_key_makes_every_reference_a_finding(repo, env, monkeypatch, capsys):
    _untrusted(repo, env, monkeypatch)
    found = _findings(capsys, repo)
    assert len(found) == 4 and all(e.endswith("(exit 7, untrusted_key)") for e in found.values())


def test_an_asset_tracked_beside_its_reference_is_a_finding(repo, capsys):
    repo.write("features/scaler.pkl", scaler_bytes(1))
    repo.add("features/scaler.pkl", force=True)
    code, out, _ = cli(capsys, "scan", str(repo.root))
    assert code == 1 and "features/scaler.pkl is tracked beside its reference" in out


def test_the_rule_can_be_disabled_for_a_job_without_the_store(repo, env, monkeypatch, capsys):
    monkeypatch.setenv("RECEIPTCORE_HOME", str(env / "nowhere"))
    repo.config('disable = ["unverified-reference"]\n')
    code, out, _ = cli(capsys, "scan", str(repo.root))
    assert code == 0, out


def test_a_plain_folder_and_every_git_selection_judge_their_references(repo, env, capsys):
    """``--all`` of a plain folder (no git) judges the references among its files; in a git
    repository every selection judges every reference, even one the change leaves alone."""
    import shutil

    plain = env / "plain"
    shutil.copytree(repo.root, plain, ignore=shutil.ignore_patterns(".git"))
    edit_reference(plain, "indexes/docs.faiss", size=1)
    code, out, err = cli(capsys, "scan", "--all", str(plain), "--format", "json")
    found = {f["path"] for f in json.loads(out)["findings"] if f["rule"] == "unverified-reference"}
    assert code == 1 and found == {REF}, err
    edit_reference(repo.root, "indexes/docs.faiss", size=1)  # in the work tree, not staged
    code, out, err = cli(capsys, "scan", "--staged", str(repo.root), "--format", "json")
    found = {f["path"] for f in json.loads(out)["findings"] if f["rule"] == "unverified-reference"}
    assert code == 1 and found == {REF}, out


def test_an_untracked_reference_is_judged_once_it_is_staged(repo, capsys):
    """The scan judges what git stores: a reference no commit holds is no finding yet."""
    stray = "indexes/stray.faiss.artifact.json"
    repo.write(stray, '{"kind": "file"}\n')
    assert stray not in _findings(capsys, repo)
    repo.add(stray)
    assert _findings(capsys, repo)[stray].endswith("(exit 5, invalid_document)")
