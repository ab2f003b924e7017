"""Key rotation end to end, as docs/receipts.md tells it, through the command line: a new
receipts key is listed, used, and the old one revoked; what the old key signed before the
revocation still verifies, what it signed after is refused with the revocation named. The
ledger's clock is set by the test (its checkpoints carry the time they were signed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from receiptcore.errors import ExitCode
from receiptcore.signing.trust import parse_time
from support.cli import clean_machine, one_error_line, run


@pytest.fixture
def machine(tmp_path, monkeypatch):
    clean_machine(tmp_path, monkeypatch)
    clock = {"now": parse_time("2026-06-01T00:00:00Z")}
    monkeypatch.setattr("receiptcore.ledger.checkpoint.signing_time", lambda: clock["now"])
    return clock


def publish(capsys, name: str, key: str, monkeypatch) -> None:
    with open(name, "w") as f:
        f.write(f"the bytes of {name}\n")
    monkeypatch.setenv("RECEIPTCORE_SIGNING_KEY", Path(key).read_text())
    assert run(capsys, "publish", name, "--no-progress")[0] == 0
    monkeypatch.delenv("RECEIPTCORE_SIGNING_KEY")


def test_a_receipt_key_is_rotated_end_to_end(machine, monkeypatch, capsys):
    clock = machine
    assert run(capsys, "keys", "generate", "ci.key", "--trust", "trust.json", "--name", "ci")[0] == 0
    publish(capsys, "old-model.bin", "ci.key", monkeypatch)
    # the ledger's own key, so that nothing is trusted on first use
    code, _, _ = run(capsys, "keys", "trust", "home/ledger.vkey", "--role", "ledger",
                     "--trust", "trust.json")
    assert code == 0

    # 1. list the new key, 2. sign with it, 3. revoke the old one from 2027 on
    assert run(capsys, "keys", "generate", "ci-2027.key", "--trust", "trust.json", "--name", "ci-2027")[0] == 0
    clock["now"] = parse_time("2026-12-01T00:00:00Z")
    publish(capsys, "new-model.bin", "ci-2027.key", monkeypatch)
    code, out, _ = run(capsys, "keys", "revoke", "ci.key.pub", "--trust", "trust.json",
                       "--from", "2027-01-01T00:00:00Z", "--reason", "rotated to ci-2027")
    assert code == 0 and "revoked from 2027-01-01T00:00:00Z" in out

    # the old key, stolen, signs something new: the ledger logs it in 2027
    clock["now"] = parse_time("2027-02-01T00:00:00Z")
    publish(capsys, "stolen.bin", "ci.key", monkeypatch)

    for name in ("old-model.bin", "new-model.bin"):
        code, out, err = run(capsys, "verify", name, "--trust", "trust.json", "--strict")
        assert (code, err) == (0, ""), err
    code, _, err = run(capsys, "verify", "stolen.bin", "--trust", "trust.json", "--strict")
    assert code == ExitCode.KEY_REVOKED
    assert "revoked from 2027-01-01T00:00:00Z (rotated to ci-2027)" in err
    assert "the ledger logged it at 2027-02-01T00:00:00Z" in one_error_line(err)


def test_a_receipt_by_a_revoked_key_in_a_ledger_without_times_is_refused(machine, monkeypatch, capsys):
    monkeypatch.setattr("receiptcore.ledger.checkpoint.signing_time", lambda: None)
    assert run(capsys, "keys", "generate", "ci.key", "--trust", "trust.json", "--name", "ci")[0] == 0
    publish(capsys, "model.bin", "ci.key", monkeypatch)
    assert run(capsys, "verify", "model.bin", "--trust", "trust.json")[0] == 0
    assert run(capsys, "keys", "revoke", "ci.key.pub", "--trust", "trust.json", "--reason", "lost")[0] == 0
    code, _, err = run(capsys, "verify", "model.bin", "--trust", "trust.json")
    assert code == ExitCode.KEY_REVOKED and "not known" in err
