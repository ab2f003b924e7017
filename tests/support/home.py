"""A clean embedded home for tests that publish: home and verifier state in tmp, no CI key."""

from __future__ import annotations

from pathlib import Path

import pytest

CLEARED = ("RECEIPTCORE_SIGNING_KEY", "RECEIPTCORE_TRUST", "RECEIPTCORE_VERIFY_MODE")


def clean_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Points ``$RECEIPTCORE_HOME`` and ``$RECEIPTCORE_STATE`` into ``tmp_path``; returns the home."""
    for var in CLEARED:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RECEIPTCORE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RECEIPTCORE_STATE", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "home"
