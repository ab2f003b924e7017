"""Running the command line in-process, as a user on a clean machine would."""

from __future__ import annotations

from pathlib import Path

import pytest

from receiptcore.cli import main


def clean_machine(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Home (``root/home``) and verifier state (``root/state``) in ``root``, no CI key, no trust
    file or mode from the environment, ``root`` the current directory."""
    for var in ("RECEIPTCORE_SIGNING_KEY", "RECEIPTCORE_TRUST", "RECEIPTCORE_VERIFY_MODE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RECEIPTCORE_HOME", str(root / "home"))
    monkeypatch.setenv("RECEIPTCORE_STATE", str(root / "state"))
    monkeypatch.chdir(root)
    return root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``receiptcore ARGV``: exit code, stdout, stderr (argparse's usage errors included)."""
    capsys.readouterr()
    try:
        code = main(list(argv))
    except SystemExit as exit:
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    """The single ``receiptcore: error:`` line of ``err``; fails on a traceback or on more."""
    lines = [line for line in err.splitlines() if line.startswith("receiptcore: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]
