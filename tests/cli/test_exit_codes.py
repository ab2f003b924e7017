"""Every exit code the catalogue documents is reached through the command line by a real cause,
and each error is one line whose text is pinned in a snapshot (``pytest --snapshot-update``
rewrites them; review the diff)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from receiptcore.cli import main
from receiptcore.errors import ExitCode, list_all_errors
from support.scanrepo import Repo, safetensors_bytes


class Machine:
    """A clean machine in ``root``: home and verifier state there, no CI key, no mode set."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root, self.monkeypatch = root, monkeypatch
        self.later = contextlib.ExitStack()  # what a scenario started (a server), stopped after
        for var in ("RECEIPTCORE_SIGNING_KEY", "RECEIPTCORE_TRUST", "RECEIPTCORE_VERIFY_MODE"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("RECEIPTCORE_HOME", str(root / "home"))
        monkeypatch.setenv("RECEIPTCORE_STATE", str(root / "state"))
        monkeypatch.chdir(root)

    def file(self, name: str, data: bytes = b"model bytes\n" * 1000) -> str:
        (self.root / name).write_bytes(data)
        return name

    def publish(self, name: str) -> None:
        self.file(name, name.encode() * 1000)
        with contextlib.redirect_stdout(open(os.devnull, "w")):
            assert main(["publish", name, "--no-progress"]) == 0

    def db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.root / "home" / "ledger.sqlite3", isolation_level=None)
        for table in ("entries", "nodes", "checkpoints"):
            db.execute(f"DROP TRIGGER IF EXISTS {table}_refuse_UPDATE")
        return db

    def progress_calls(self, callback: Callable[[int], None]) -> None:
        """`hash` reports the bytes done to ``callback`` (as it does to a bar on a terminal)."""

        @contextlib.contextmanager
        def progress(description, enabled=None):
            yield lambda done, total, files, count: callback(done)

        self.monkeypatch.setattr("receiptcore.cli.commands.hash.progress_bar", progress)


# --- one real cause per exit code ------------------------------------------------------------


def ok(m: Machine) -> list[str]:
    return ["hash", m.file("model.bin")]


def scan_findings(m: Machine) -> list[str]:
    (m.root / "repo").mkdir()
    repo = Repo(m.root / "repo")
    repo.write("weights.dat", safetensors_bytes())
    repo.add("weights.dat")
    return ["scan", "repo", "--format", "json"]


def unknown_rule(m: Machine) -> list[str]:
    return ["scan", "--explain", "no-such-rule"]


def missing_file(m: Machine) -> list[str]:
    return ["hash", "absent.bin"]


def file_changed(m: Machine) -> list[str]:
    with open(m.root / "growing.bin", "wb") as f:
        f.truncate(1 << 28)

    def grow(done: int) -> None:
        if done:  # a writer appends while the bytes are read
            with open(m.root / "growing.bin", "ab") as f:
                f.write(b"more")

    m.progress_calls(grow)
    return ["hash", "growing.bin"]


def invalid_document(m: Machine) -> list[str]:
    m.file("bad.json", b'{"kind": "build_manifest",}')
    return ["manifest", "commit", "bad.json"]


def bad_signature(m: Machine) -> list[str]:
    m.publish("model.bin")
    db = m.db()
    (data,) = db.execute("SELECT data FROM entries WHERE idx = 0").fetchone()
    sig = re.search(rb'"sig":"([A-Za-z0-9+/]{4})', data)
    flipped = sig.group(1).replace(b"A", b"B") if b"A" in sig.group(1) else b"AAAA"
    forged = data.replace(sig.group(1), flipped, 1)
    from receiptcore.ledger import merkle

    db.execute(
        "UPDATE entries SET data = ?, leaf_hash = ? WHERE idx = 0", (forged, merkle.leaf_hash(forged))
    )
    return ["verify", "model.bin"]


def untrusted_key(m: Machine) -> list[str]:
    m.publish("model.bin")
    from receiptcore.signing.keys import SigningKey
    from receiptcore.signing.trust import add_trusted_key

    add_trusted_key(m.root / "other.json", SigningKey.generate().public_key, "someone else")
    return ["verify", "model.bin", "--trust", "other.json"]


def bad_signing_key(m: Machine) -> list[str]:
    m.file("key.pem", b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    return ["publish", m.file("model.bin"), "--key", "key.pem"]


def digest_mismatch(m: Machine) -> list[str]:
    m.publish("model.bin")
    m.file("tampered.bin", b"not the model")
    return ["verify", "tampered.bin", "--artifact-id", "model.bin"]


def object_not_found(m: Machine) -> list[str]:
    m.publish("model.bin")
    shutil.rmtree(m.root / "home" / "objects" / "sha256")
    os.remove("model.bin")
    return ["verify", "model.bin"]


def not_in_ledger(m: Machine) -> list[str]:
    m.publish("model.bin")
    return ["verify", m.file("other.bin", b"never published")]


def broken_proof(m: Machine) -> list[str]:
    for i in range(4):
        m.publish(f"a{i}.bin")
    m.db().execute("UPDATE nodes SET hash = zeroblob(32) WHERE level = 1 AND idx = 1")
    return ["verify", "a0.bin"]


def foreign_checkpoint_key(m: Machine) -> list[str]:
    m.publish("model.bin")
    from receiptcore.ledger.checkpoint import SignerKey

    return ["verify", "model.bin", "--ledger-key", SignerKey.generate("evil.example/log").verifier.to_text()]


def rollback(m: Machine) -> list[str]:
    m.publish("first.bin")
    shutil.copytree(m.root / "home", m.root / "backup")
    m.publish("second.bin")
    with contextlib.redirect_stdout(open(os.devnull, "w")):
        assert main(["verify", "second.bin"]) == 0
    shutil.rmtree(m.root / "home")
    shutil.copytree(m.root / "backup", m.root / "home")
    return ["verify", "first.bin"]


def ledger_corrupt(m: Machine) -> list[str]:
    for i in range(3):
        m.publish(f"a{i}.bin")
    db = m.db()
    (data,) = db.execute("SELECT data FROM entries WHERE idx = 1").fetchone()
    forged = data.replace(b'"payloadType"', b'"payloadType" ')
    from receiptcore.ledger import merkle

    db.execute(
        "UPDATE entries SET data = ?, leaf_hash = ? WHERE idx = 1", (forged, merkle.leaf_hash(forged))
    )
    return ["ledger", "verify"]


def ledger_unavailable(m: Machine) -> list[str]:
    m.publish("model.bin")
    m.monkeypatch.setenv("RECEIPTCORE_RETRY_SECONDS", "0")
    return ["verify", "model.bin", "--ledger", "http://127.0.0.1:9"]  # nothing listens there


def store_unavailable(m: Machine) -> list[str]:
    for key, value in {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing listens there
        "AWS_ACCESS_KEY_ID": "key",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_REGION": "us-east-1",
        "RECEIPTCORE_RETRY_SECONDS": "0",
    }.items():
        m.monkeypatch.setenv(key, value)
    return ["publish", m.file("model.bin"), "--store", "s3://bucket/ci", "--no-progress"]


def version_exists(m: Machine) -> list[str]:
    m.publish("config.json")
    m.file("config.json", b"another model's config")
    return ["publish", "config.json", "--no-progress"]


def ambiguous_artifact(m: Machine) -> list[str]:
    m.file("config.json", b"shared by two models")
    for artifact_id in ("model-a/config.json", "model-b/config.json"):
        with contextlib.redirect_stdout(open(os.devnull, "w")):
            assert main(["publish", "config.json", "--artifact-id", artifact_id, "--no-progress"]) == 0
    return ["verify", "config.json"]


def tree_refused(m: Machine) -> list[str]:
    (m.root / "model").mkdir()
    m.file("model/weights.bin")
    os.symlink("weights.bin", m.root / "model" / "alias.bin")
    return ["publish", "model", "--no-progress"]


def home_not_found(m: Machine) -> list[str]:
    return ["verify", "model.bin", "--home", str(m.root / "nowhere")]


def key_revoked(m: Machine) -> list[str]:
    # the ledger's clock, which dates the receipt: 2000-01-02T00:00:00Z
    m.monkeypatch.setattr("receiptcore.ledger.checkpoint.signing_time", lambda: 946771200)
    m.publish("model.bin")
    assert main(["keys", "revoke", "home/signing.key.pub", "--trust", "home/trust.json",
                 "--from", "2000-01-01T00:00:00Z", "--reason", "laptop stolen"]) == 0
    return ["verify", "model.bin"]


def not_a_regular_file(m: Machine) -> list[str]:
    m.publish("model.bin")
    os.mkfifo(m.root / "trust.fifo")
    return ["verify", "model.bin", "--trust", "trust.fifo"]


def trust_not_anchored(m: Machine) -> list[str]:
    m.publish("model.bin")
    return ["verify", "model.bin", "--strict"]


def limit_exceeded(m: Machine) -> list[str]:
    m.file("huge.intoto.json", b" " * ((1 << 20) + 1))
    return ["receipt", "show", "huge.intoto.json"]


def _reference(m: Machine, name: str) -> dict:
    import hashlib

    return {"artifact_id": name, "commit": hashlib.sha256(name.encode() * 1000).hexdigest()}


def _server(m: Machine, *extra: str) -> str:
    """A stdio tool server of this machine's home, as `tool --server` takes it."""
    cli = str(Path(sys.executable).with_name("receiptcore"))
    return " ".join([cli, "mcp", "--home", "home", "--state", "server-state", *extra])


def payload_refused(m: Machine) -> list[str]:
    request = {"artifact": _reference(m, "model.bin"), "embedding": [0.5] * 16}
    return ["tool", "receipt.verify", json.dumps(request), "--server", "unused"]


def request_too_large(m: Machine) -> list[str]:
    index = {"index_id": "docs", **_reference(m, "docs.faiss")}
    request = {"index": index, "query": "why? " * 2000, "top_k": 3}
    return ["tool", "rag.query", json.dumps(request), "--server", "unused"]


def tool_unavailable(m: Machine) -> list[str]:
    m.publish("model.bin")
    index = {"index_id": "docs", **_reference(m, "model.bin")}
    request = {"index": index, "query": "what is in it?", "top_k": 3}
    return ["tool", "rag.query", json.dumps(request), "--server", _server(m)]


def tool_server_gone(m: Machine) -> list[str]:
    m.publish("model.bin")
    request = {"artifact": _reference(m, "model.bin")}
    return ["tool", "receipt.verify", json.dumps(request), "--server", _server(m, "--no-such-flag")]


def unauthorized(m: Machine) -> list[str]:
    from support.toolserver import http_server

    m.publish("model.bin")
    (m.root / "token").write_text("the-right-token\n")
    argv = [*_server(m).split(), "--token-file", "token"]
    url = m.later.enter_context(http_server(argv))
    m.monkeypatch.setenv("RECEIPTCORE_MCP_TOKEN", "a-wrong-token")
    request = {"artifact": _reference(m, "model.bin")}
    return ["tool", "receipt.verify", json.dumps(request), "--server", url]
def _externalized(m: Machine) -> Repo:
    (m.root / "repo").mkdir()
    repo = Repo(m.root / "repo")
    repo.write("model.safetensors", safetensors_bytes())
    repo.add("model.safetensors")
    repo.commit()
    with contextlib.redirect_stdout(open(os.devnull, "w")):
        assert main(["externalize", "--root", "repo", "--no-progress"]) == 0
    return repo


def reference_conflict(m: Machine) -> list[str]:
    repo = _externalized(m)
    repo.write("model.safetensors", b"someone else's weights")
    return ["pull", "repo/model.safetensors.artifact.json", "--no-progress"]


def reference_mismatch(m: Machine) -> list[str]:
    repo = _externalized(m)
    ref = repo.root / "model.safetensors.artifact.json"
    ref.write_bytes(re.sub(rb'"artifact_commit":"[0-9a-f]{64}"', b'"artifact_commit":"' + b"0" * 64 + b'"', ref.read_bytes()))
    return ["pull", "repo/model.safetensors.artifact.json", "--no-progress"]


def interrupted(m: Machine) -> list[str]:
    def ctrl_c(done: int) -> None:
        raise KeyboardInterrupt

    m.progress_calls(ctrl_c)
    return ["hash", m.file("model.bin")]


def corpus_not_text(m: Machine) -> list[str]:
    (m.root / "corpus").mkdir()
    m.file("corpus/notes.md", "caf\xe9".encode("latin-1"))
    return ["pipeline", "embed", "corpus", "--id", "docs"]


def dimension_mismatch(m: Machine) -> list[str]:
    from support.pipelines import published_embeddings

    ref, _ = published_embeddings(m.root, m.root / "home", dimension=24, recorded=16)
    return ["pipeline", "index", "--embeddings", str(ref), "--id", "docs"]


def reader_went_away(m: Machine) -> list[str]:
    read, write = os.pipe()
    os.close(read)
    m.monkeypatch.setattr(sys, "stdout", open(write, "w"))  # noqa: SIM115 - lives as stdout
    return ["hash", m.file("model.bin")]


SCENARIOS: dict[str, tuple[ExitCode, Callable[[Machine], list[str]]]] = {
    "ok": (ExitCode.OK, ok),
    "scan-findings": (ExitCode.FAILED, scan_findings),
    "unknown-rule": (ExitCode.USAGE, unknown_rule),
    "missing-file": (ExitCode.IO, missing_file),
    "file-changed": (ExitCode.FILE_CHANGED, file_changed),
    "invalid-document": (ExitCode.INVALID_DOCUMENT, invalid_document),
    "bad-signature": (ExitCode.BAD_SIGNATURE, bad_signature),
    "untrusted-key": (ExitCode.UNTRUSTED_KEY, untrusted_key),
    "bad-signing-key": (ExitCode.SIGNING_KEY, bad_signing_key),
    "digest-mismatch": (ExitCode.DIGEST_MISMATCH, digest_mismatch),
    "object-not-found": (ExitCode.OBJECT_NOT_FOUND, object_not_found),
    "not-in-ledger": (ExitCode.NOT_IN_LEDGER, not_in_ledger),
    "broken-proof": (ExitCode.PROOF, broken_proof),
    "foreign-checkpoint-key": (ExitCode.CHECKPOINT, foreign_checkpoint_key),
    "rollback": (ExitCode.ROLLBACK, rollback),
    "ledger-corrupt": (ExitCode.LEDGER_CORRUPT, ledger_corrupt),
    "version-exists": (ExitCode.VERSION_EXISTS, version_exists),
    "ambiguous-artifact": (ExitCode.AMBIGUOUS_ARTIFACT, ambiguous_artifact),
    "tree-refused": (ExitCode.TREE_REFUSED, tree_refused),
    "home-not-found": (ExitCode.HOME_NOT_FOUND, home_not_found),
    "ledger-unavailable": (ExitCode.LEDGER_UNAVAILABLE, ledger_unavailable),
    "store-unavailable": (ExitCode.STORE_UNAVAILABLE, store_unavailable),
    "key-revoked": (ExitCode.KEY_REVOKED, key_revoked),
    "not-a-regular-file": (ExitCode.NOT_REGULAR_FILE, not_a_regular_file),
    "trust-not-anchored": (ExitCode.TRUST_NOT_ANCHORED, trust_not_anchored),
    "limit-exceeded": (ExitCode.LIMIT_EXCEEDED, limit_exceeded),
    "payload-refused": (ExitCode.PAYLOAD_REFUSED, payload_refused),
    "request-too-large": (ExitCode.REQUEST_TOO_LARGE, request_too_large),
    "tool-unavailable": (ExitCode.TOOL_UNAVAILABLE, tool_unavailable),
    "tool-server-gone": (ExitCode.TOOL_SERVER, tool_server_gone),
    "unauthorized": (ExitCode.UNAUTHORIZED, unauthorized),
    "corpus-not-text": (ExitCode.CORPUS, corpus_not_text),
    "dimension-mismatch": (ExitCode.DIMENSION_MISMATCH, dimension_mismatch),
    "reference-conflict": (ExitCode.REFERENCE_CONFLICT, reference_conflict),
    "reference-mismatch": (ExitCode.REFERENCE_MISMATCH, reference_mismatch),
    "interrupted": (ExitCode.INTERRUPTED, interrupted),
    "reader-went-away": (ExitCode.BROKEN_PIPE, reader_went_away),
}


def test_every_documented_exit_code_has_a_scenario():
    assert sorted({code for code, _ in SCENARIOS.values()}) == sorted(ExitCode)


def test_exit_codes_are_unique_and_every_error_class_has_one():
    assert len({int(c) for c in ExitCode}) == len(ExitCode)
    assert len({c.name for c in ExitCode}) == len(ExitCode)
    for row in list_all_errors():
        assert ExitCode(row["exit_code"]).name.lower() == row["exit_name"], row


@pytest.mark.parametrize("name", SCENARIOS)
def test_each_failure_is_one_line_and_its_own_exit_code(name, tmp_path, monkeypatch, capsys, snapshot):
    expected, scenario = SCENARIOS[name]
    machine = Machine(tmp_path, monkeypatch)
    with machine.later:
        argv = scenario(machine)
        capsys.readouterr()
        code = main(argv)
        _, err = capsys.readouterr()
    assert code == expected
    assert err.count("\n") == (0 if code in (ExitCode.OK, ExitCode.FAILED, ExitCode.BROKEN_PIPE) else 1)
    assert _stable(f"$ receiptcore {' '.join(argv)}\nexit {code}\n{err}", tmp_path) == snapshot


def _stable(text: str, tmp_path: Path) -> str:
    """Error text with what changes from run to run (temporary paths, keys, digests) named."""
    text = text.replace(str(tmp_path), "<tmp>").replace(str(Path(sys.executable).parent), "<bin>")
    text = re.sub(r"127\.0\.0\.1:\d{4,5}\b", "127.0.0.1:<port>", text)  # an ephemeral port
    text = re.sub(r"receiptcore\.local/[0-9a-f]{16}", "<origin>", text)
    text = re.sub(r"\+[0-9a-f]{8}\+[A-Za-z0-9+/]{43,}=*", "+<id>+<key>", text)
    text = re.sub(r"\+[0-9a-f]{8}\b", "+<id>", text)
    text = re.sub(r"\d+ bytes read", "<n> bytes read", text)
    return re.sub(r"[0-9a-f]{64}", "<hex>", text)
