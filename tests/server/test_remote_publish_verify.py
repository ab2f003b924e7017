"""Two CI jobs on other machines, one shared ledger (``serve`` over PostgreSQL) and one bucket
(SeaweedFS): publish and verify through the command line, every check made by the client."""

from __future__ import annotations

import json
import os

import pytest

from receiptcore.cli import main
from receiptcore.signing.keys import generate_key_pair
from support.backends import Backend
from support.serving import Served


@pytest.fixture
def shared(postgres, s3, tmp_path, monkeypatch):
    backend = Backend("postgresql", tmp_path, postgres)
    backend.open().close()
    server = Served(backend.url, backend.signer, tmp_path / "serve")
    key = generate_key_pair(tmp_path / "ci.key")
    from receiptcore.signing.trust import add_trusted_key

    add_trusted_key(server.trust, key.public_key, "ci@models-host")
    server.start()
    monkeypatch.chdir(tmp_path)
    for var in ("RECEIPTCORE_HOME", "RECEIPTCORE_TRUST", "RECEIPTCORE_VERIFY_MODE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RECEIPTCORE_SIGNING_KEY", (tmp_path / "ci.key").read_text())
    monkeypatch.setenv("RECEIPTCORE_RETRY_SECONDS", "30")
    yield server, backend, s3.url(f"shared-{os.getpid()}-{id(server)}")
    server.stop()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_publish_on_one_machine_and_verify_on_another(shared, tmp_path, capsys, monkeypatch):
    server, backend, bucket = shared
    models = tmp_path / "models-host"
    models.mkdir()
    (models / "model.bin").write_bytes(os.urandom(20 << 20))  # a multipart upload
    monkeypatch.setenv("RECEIPTCORE_HOME", str(models / ".receiptcore"))
    code, out, err = run(
        capsys, "publish", str(models / "model.bin"), "--ledger", server.url,
        "--store", bucket, "--json", "--no-progress",
    )
    assert code == 0, err
    published = json.loads(out)
    assert published["uri"].startswith(bucket + "/sha256/") and published["ledger_index"] == 0

    # The agents' CI: another home, the trust file that lists the models' CI key, its own state.
    monkeypatch.setenv("RECEIPTCORE_HOME", str(tmp_path / "agents-host"))
    monkeypatch.setenv("RECEIPTCORE_STATE", str(tmp_path / "agents-state"))
    monkeypatch.setenv("RECEIPTCORE_LEDGER", server.url)
    monkeypatch.setenv("RECEIPTCORE_STORE", bucket)
    trust = str(server.trust)
    code, out, err = run(capsys, "verify", "model.bin", "--trust", trust, "--json")
    assert code == 0, err
    verdict = json.loads(out)
    assert verdict["verified"] and all(c["ok"] for c in verdict["checks"])
    assert verdict["uri"] == published["uri"]
    code, out, err = run(capsys, "ledger", "verify", "--trust", trust)
    assert code == 0 and "1 entries" in out, err

    # The server's database is rolled back behind its back: the agents' pinned checkpoint sees it.
    (models / "second.bin").write_bytes(b"second")
    monkeypatch.setenv("RECEIPTCORE_HOME", str(models / ".receiptcore"))
    assert run(capsys, "publish", str(models / "second.bin"), "--no-progress")[0] == 0
    monkeypatch.setenv("RECEIPTCORE_HOME", str(tmp_path / "agents-host"))
    assert run(capsys, "verify", "second.bin", "--trust", trust)[0] == 0
    backend.tamper("DELETE FROM entries WHERE idx = 1")
    backend.tamper("DELETE FROM checkpoints WHERE size = 2")
    code, _, err = run(capsys, "verify", "model.bin", "--trust", trust)
    assert code == 14 and "rolled back" in err


def test_a_stored_object_changed_in_the_bucket_fails_verify(shared, tmp_path, capsys, monkeypatch):
    server, _, bucket = shared
    monkeypatch.setenv("RECEIPTCORE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RECEIPTCORE_STATE", str(tmp_path / "state"))
    (tmp_path / "w.bin").write_bytes(b"weights" * 1000)
    code, out, _ = run(capsys, "publish", "w.bin", "--ledger", server.url, "--store", bucket, "--json")
    assert code == 0
    commit = json.loads(out)["artifact_commit"]
    from receiptcore.store import open_store

    store = open_store(bucket)
    import obstore

    obstore.put(store._store, store.key(commit), b"weightz" * 1000)
    os.remove(tmp_path / "w.bin")
    code, _, err = run(
        capsys, "verify", "w.bin", "--ledger", server.url, "--store", bucket, "--trust", str(server.trust)
    )
    assert code == 9 and "was changed" in err
