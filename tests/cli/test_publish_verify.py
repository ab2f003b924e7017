"""publish → verify through the CLI on the embedded defaults: one exit code per failure."""

from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3

import pytest

from receiptcore.cli import main
from receiptcore.commitments import build_manifest
from receiptcore.ledger import merkle
from receiptcore.ledger.checkpoint import open_checkpoint
from receiptcore.ledger.sqlite import DB_FILE, SqliteLedger
from receiptcore.store import LocalStore


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def published(env, capsys, name: str = "model.bin", data: bytes | None = None) -> dict:
    path = env / name
    path.write_bytes(os.urandom(200_000) if data is None else data)
    code, out, _ = run(capsys, "publish", str(path), "--json", "--no-progress")
    assert code == 0
    return json.loads(out)


def _db(env) -> sqlite3.Connection:
    db = sqlite3.connect(env / "home" / DB_FILE, isolation_level=None)
    for trigger in ("entries_refuse_UPDATE", "nodes_refuse_UPDATE", "checkpoints_refuse_UPDATE"):
        db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    return db


def test_publish_prints_the_reference_and_ledger_index(env, capsys):
    result = published(env, capsys)
    assert result["artifact_id"] == "model.bin" and result["ledger_index"] == 0
    assert result["artifact_commit"].startswith("sha256:")
    assert result["uri"].startswith("file://") and os.path.isfile(result["uri"][7:])
    code, out, _ = run(capsys, "publish", "model.bin", "--no-progress")
    assert code == 0 and "ledger index 0" in out  # the same bytes again: the same entry


def test_verify_by_file_and_by_id_passes_every_check(env, capsys):
    published(env, capsys)
    code, out, _ = run(capsys, "verify", "model.bin")
    assert code == 0 and out.startswith("verified model.bin sha256:")
    code, out, _ = run(capsys, "verify", "model.bin", "--json")
    verdict = json.loads(out)
    assert verdict["verified"] is True and verdict["ledger_index"] == 0
    assert [c["name"] for c in verdict["checks"]] == [
        "trust",
        "signature",
        "inclusion",
        "consistency",
        "digest",
    ]
    assert all(c["ok"] for c in verdict["checks"])
    os.remove("model.bin")
    assert run(capsys, "verify", "model.bin")[0] == 0  # now an artifact id: the stored object


def test_publish_with_a_build_manifest_takes_the_id_from_it(env, capsys):
    data = b"index bytes" * 1000
    (env / "index.bin").write_bytes(data)
    import hashlib

    manifest = build_manifest(
        dataset_manifest_commits=["a" * 64],
        code_revision="abc123",
        outputs={"docs-index": hashlib.sha256(data).hexdigest(), "other": "b" * 64},
    )
    (env / "build.json").write_bytes(manifest.to_json_bytes())
    code, out, _ = run(capsys, "publish", "index.bin", "--build-manifest", "build.json", "--json")
    assert code == 0 and json.loads(out)["artifact_id"] == "docs-index"
    assert run(capsys, "verify", "docs-index")[0] == 0
    (env / "wrong.bin").write_bytes(b"not in the manifest")
    code, _, err = run(capsys, "publish", "wrong.bin", "--build-manifest", "build.json")
    assert code == 9 and "is not one output of the build manifest" in err


def test_a_changed_file_has_no_receipt(env, capsys):
    published(env, capsys)
    with open("model.bin", "ab") as f:
        f.write(b"!")
    code, _, err = run(capsys, "verify", "model.bin")
    assert code == 11 and "not published, or changed since" in err
    code, _, err = run(capsys, "verify", "model.bin", "--artifact-id", "model.bin")
    assert code == 9 and "but its receipt is for" in err


def test_a_corrupted_or_missing_stored_object_fails(env, capsys):
    result = published(env, capsys)
    store = LocalStore(env / "home" / "objects")
    path = store.path(result["artifact_commit"])
    os.chmod(path, 0o644)
    path.write_bytes(path.read_bytes()[:-1])
    os.rename("model.bin", "elsewhere.bin")  # so that "model.bin" names the artifact id
    code, _, err = run(capsys, "verify", "model.bin", "--home", "home")
    assert code == 9 and "was changed" in err
    path.unlink()
    code, _, err = run(capsys, "verify", "model.bin")
    assert code == 10 and "has no object" in err


def test_unknown_artifact_and_expected_commit(env, capsys):
    result = published(env, capsys)
    assert run(capsys, "verify", "no-such-artifact")[0] == 11
    code, _, err = run(capsys, "verify", "model.bin", "--commit", "sha256:" + "0" * 64)
    assert code == 9 and "the caller expects" in err
    assert run(capsys, "verify", "model.bin", "--commit", result["artifact_commit"])[0] == 0


def test_trust_file_problems(env, capsys):
    published(env, capsys)
    code, _, err = run(capsys, "verify", "model.bin", "--trust", "missing.json")
    assert code == 2 and "trust file" in err
    from receiptcore.signing.keys import SigningKey
    from receiptcore.signing.trust import add_trusted_key

    add_trusted_key(env / "other-trust.json", SigningKey.generate().public_key, "someone else")
    code, _, err = run(capsys, "verify", "model.bin", "--trust", "other-trust.json")
    assert code == 7 and "does not list" in err


def test_a_receipt_with_a_forged_signature_fails(env, capsys):
    published(env, capsys)
    db = _db(env)
    (data,) = db.execute("SELECT data FROM entries WHERE idx = 0").fetchone()
    envelope = json.loads(data)
    sig = bytearray(base64.b64decode(envelope["signatures"][0]["sig"]))
    sig[0] ^= 1
    envelope["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    forged = json.dumps(envelope, separators=(",", ":")).encode()
    db.execute(
        "UPDATE entries SET data = ?, leaf_hash = ? WHERE idx = 0",
        (forged, merkle.leaf_hash(forged)),
    )
    code, _, err = run(capsys, "verify", "model.bin")
    assert code == 6 and "does not verify" in err


def test_a_broken_inclusion_proof_fails(env, capsys):
    for i in range(4):
        published(env, capsys, f"a{i}.bin")
    _db(env).execute("UPDATE nodes SET hash = zeroblob(32) WHERE level = 1 AND idx = 1")
    code, _, err = run(capsys, "verify", "a0.bin")
    assert code == 12 and "inclusion proof for entry 0" in err


def test_a_checkpoint_not_signed_by_the_ledger_key_fails(env, capsys):
    published(env, capsys)
    from receiptcore.ledger.checkpoint import SignerKey

    other = SignerKey.generate("evil.example/log").verifier.to_text()
    code, _, err = run(capsys, "verify", "model.bin", "--ledger-key", other)
    assert code == 13 and "not signed by the trusted key" in err
    db = _db(env)
    (note,) = db.execute("SELECT note FROM checkpoints WHERE size = 1").fetchone()
    db.execute("UPDATE checkpoints SET note = ? WHERE size = 1", (note.replace("\n1\n", "\n2\n"),))
    code, _, err = run(capsys, "verify", "model.bin")
    assert code == 13 and "invalid signature" in err


def test_a_ledger_restored_from_an_older_copy_is_a_rollback(env, capsys):
    published(env, capsys, "first.bin")
    shutil.copytree(env / "home", env / "backup")
    published(env, capsys, "second.bin")
    assert run(capsys, "verify", "second.bin")[0] == 0  # the verifier saw size 2
    shutil.rmtree(env / "home")
    shutil.copytree(env / "backup", env / "home")
    code, _, err = run(capsys, "verify", "first.bin")
    assert code == 14 and "rolled back" in err


def test_a_forked_ledger_is_refused(env, capsys):
    published(env, capsys, "first.bin")
    shutil.copytree(env / "home", env / "backup")
    published(env, capsys, "second.bin")
    assert run(capsys, "verify", "second.bin")[0] == 0
    shutil.rmtree(env / "home")
    shutil.copytree(env / "backup", env / "home")
    published(env, capsys, "third.bin")
    published(env, capsys, "fourth.bin")
    code, _, err = run(capsys, "verify", "first.bin")
    assert code == 14 and "forked" in err


@pytest.mark.parametrize("how", ["flag", "env"])
def test_warn_mode_reports_but_exits_zero(env, capsys, monkeypatch, how):
    published(env, capsys)
    with open("model.bin", "ab") as f:
        f.write(b"!")
    args = ["verify", "model.bin", "--artifact-id", "model.bin", "--json"]
    if how == "flag":
        args += ["--mode", "warn"]
    else:
        monkeypatch.setenv("RECEIPTCORE_VERIFY_MODE", "warn")
    code, out, err = run(capsys, *args)
    verdict = json.loads(out)
    assert code == 0 and verdict["verified"] is False and verdict["mode"] == "warn"
    assert verdict["error"]["type"] == "DigestMismatch" and verdict["error"]["exit_code"] == 9
    assert "NOT verified (mode=warn" in err
    assert published(env, capsys, "after.bin")["ledger_index"] == 1  # ledger writes go on


def test_enforce_mode_prints_the_verdict_as_json_on_failure(env, capsys):
    published(env, capsys)
    code, out, _ = run(capsys, "verify", "nope", "--json")
    assert code == 11
    verdict = json.loads(out)
    assert verdict["verified"] is False and verdict["checks"][-1]["name"] == "inclusion"


def test_ledger_verify_names_an_edited_entry(env, capsys):
    for i in range(5):
        published(env, capsys, f"a{i}.bin")
    code, out, _ = run(capsys, "ledger", "verify", "--trust", "home/trust.json")
    assert code == 0 and "5 entries" in out
    db = _db(env)
    (data,) = db.execute("SELECT data FROM entries WHERE idx = 3").fetchone()
    forged = data.replace(b'"payloadType"', b'"payloadType" ')
    db.execute(
        "UPDATE entries SET data = ?, leaf_hash = ? WHERE idx = 3",
        (forged, merkle.leaf_hash(forged)),
    )
    code, _, err = run(capsys, "ledger", "verify")
    assert code == 15 and "entry 3" in err


def test_ledger_verify_finds_lookup_columns_that_lie(env, capsys):
    published(env, capsys, "a.bin")
    published(env, capsys, "b.bin")
    _db(env).execute("UPDATE entries SET artifact_id = 'a.bin' WHERE idx = 1")
    code, _, err = run(capsys, "ledger", "verify")
    assert code == 15 and "entry 1: its lookup columns say a.bin" in err
    # verify by id follows the lying column to entry 1, whose signed receipt names b.bin
    os.remove("a.bin")
    code, _, err = run(capsys, "verify", "a.bin")
    assert code == 11 and "is a receipt for 'b.bin', not 'a.bin'" in err


def test_ledger_show_and_proof(env, capsys):
    for i in range(3):
        published(env, capsys, f"a{i}.bin")
    code, out, _ = run(capsys, "ledger", "show", "--json")
    shown = json.loads(out)
    assert code == 0 and shown["size"] == 3
    code, out, _ = run(capsys, "ledger", "proof", "1", "--json")
    proof = json.loads(out)
    ledger = SqliteLedger.open_readonly(env / "home")
    checkpoint = open_checkpoint(proof["checkpoint"], ledger.verifier_key)
    merkle.verify_inclusion(
        1,
        checkpoint.size,
        bytes.fromhex(proof["leaf_hash"]),
        [bytes.fromhex(p) for p in proof["proof"]],
        checkpoint.root,
    )
    code, out, _ = run(capsys, "ledger", "show", "1", "--json")
    assert json.loads(out)["artifact_id"] == "a1.bin"
    assert run(capsys, "ledger", "show", "7")[0] == 11


def test_a_ledger_entry_that_is_not_a_receipt_fails_as_malformed(env, capsys):
    published(env, capsys)
    junk = b'{"not": "an envelope"}'
    _db(env).execute(
        "UPDATE entries SET data = ?, leaf_hash = ? WHERE idx = 0", (junk, merkle.leaf_hash(junk))
    )
    os.remove("model.bin")
    code, _, err = run(capsys, "verify", "model.bin")
    assert code == 5 and "ledger entry 0" in err


def test_the_python_api_raises_the_named_error_with_the_verdict(env, capsys):
    from receiptcore.errors import DigestMismatch
    from receiptcore.publish import publish
    from receiptcore.verify import verify

    (env / "w.bin").write_bytes(b"weights")
    ref = publish(env / "w.bin", artifact_id="weights")
    assert ref.reference == {
        "artifact_id": "weights",
        "uri": ref.uri,
        "artifact_commit": ref.artifact_commit,
    }
    assert verify(artifact_id="weights").verified
    (env / "w.bin").write_bytes(b"weightz")
    with pytest.raises(DigestMismatch) as info:
        verify(path=env / "w.bin", artifact_id="weights")
    assert info.value.verdict.checks[-1].name == "digest"
    verdict = verify(path=env / "w.bin", artifact_id="weights", mode="warn")
    assert not verdict.verified and isinstance(verdict.error, DigestMismatch)
    with pytest.raises(ValueError):
        verify()


def test_the_verdict_converts_to_the_receipt_verify_tool_response(env, capsys):
    from receiptcore.verify import verify

    result = published(env, capsys)
    os.remove("model.bin")
    verdict = verify(artifact_id="model.bin", commit=result["artifact_commit"])
    response = verdict.to_response()
    assert response.verified and response.ledger_index == 0
    assert response.artifact.commit == result["artifact_commit"].removeprefix("sha256:")
    failed = verify(artifact_id="model.bin", commit="sha256:" + "0" * 64, mode="warn")
    assert failed.to_response().verified is False
