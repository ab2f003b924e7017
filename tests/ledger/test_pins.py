"""A verifier remembers the last checkpoint it trusted: rollbacks and forks are refused."""

from __future__ import annotations

import shutil

import pytest

from receiptcore.errors import CheckpointError, RollbackDetected
from receiptcore.ledger.checkpoint import SignerKey
from receiptcore.ledger.pins import TrustedCheckpoints
from receiptcore.ledger.sqlite import SqliteLedger


def _advance(pins: TrustedCheckpoints, ledger: SqliteLedger):
    checkpoint, note = ledger.latest_checkpoint(ledger.verifier_key)
    return pins.advance(ledger.verifier_key, checkpoint, note, ledger.consistency_proof)


def test_first_use_pins_then_each_extension_moves_forward(tmp_path):
    ledger, pins = SqliteLedger(tmp_path / "ledger"), TrustedCheckpoints(tmp_path / "state", "L")
    ledger.append(b"a")
    assert _advance(pins, ledger).previous_size is None
    ledger.append_many((bytes([i]), None, None) for i in range(10))
    advance = _advance(pins, ledger)
    assert (advance.previous_size, advance.size) == (1, 11)
    assert pins.pinned_key() == ledger.verifier_key
    assert _advance(pins, ledger).size == 11  # same checkpoint again: fine


def test_a_ledger_rolled_back_to_an_older_copy_is_refused(tmp_path):
    ledger, pins = SqliteLedger(tmp_path / "ledger"), TrustedCheckpoints(tmp_path / "state", "L")
    ledger.append_many((bytes([i]), None, None) for i in range(5))
    ledger.close()
    shutil.copytree(tmp_path / "ledger", tmp_path / "backup")
    ledger = SqliteLedger(tmp_path / "ledger")
    ledger.append(b"newer receipt")
    _advance(pins, ledger)
    ledger.close()
    old = SqliteLedger(tmp_path / "backup")  # same key, same signatures, fewer entries
    with pytest.raises(RollbackDetected, match="rolled back: it now has 5 entries.*6"):
        _advance(pins, old)


def test_a_forked_ledger_with_the_same_key_is_refused(tmp_path):
    ledger, pins = SqliteLedger(tmp_path / "ledger"), TrustedCheckpoints(tmp_path / "state", "L")
    ledger.append_many((bytes([i]), None, None) for i in range(5))
    ledger.close()
    shutil.copytree(tmp_path / "ledger", tmp_path / "fork")
    ledger = SqliteLedger(tmp_path / "ledger")
    ledger.append(b"what the verifier saw")
    _advance(pins, ledger)
    fork = SqliteLedger(tmp_path / "fork")
    fork.append(b"history rewritten")
    with pytest.raises(RollbackDetected, match="forked"):
        _advance(pins, fork)  # same size, other root
    fork.append_many((bytes([100 + i]), None, None) for i in range(7))
    with pytest.raises(RollbackDetected, match="forked"):
        _advance(pins, fork)  # larger, but not an extension


def test_a_ledger_replaced_by_one_with_another_key_is_refused(tmp_path):
    pins = TrustedCheckpoints(tmp_path / "state", "L")
    ledger = SqliteLedger(tmp_path / "ledger")
    ledger.append(b"a")
    _advance(pins, ledger)
    other = SqliteLedger(tmp_path / "other", signer=SignerKey.generate("evil.example/log"))
    other.append(b"a")
    with pytest.raises(CheckpointError, match="first seen with key"):
        _advance(pins, other)


def test_unreadable_state_fails_closed(tmp_path):
    pins = TrustedCheckpoints(tmp_path / "state", "L")
    pins.path.parent.mkdir(parents=True)
    pins.path.write_text("{not json")
    ledger = SqliteLedger(tmp_path / "ledger")
    ledger.append(b"a")
    with pytest.raises(CheckpointError, match="unreadable verifier state"):
        _advance(pins, ledger)
