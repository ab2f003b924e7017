"""The command line as a shell user meets it: help, version, pipes."""

from __future__ import annotations

import subprocess
import sys

import receiptcore


def run_cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "receiptcore.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        **kwargs,
    )


def test_version_and_help_name_every_command():
    assert run_cli("--version").stdout.strip() == f"receiptcore {receiptcore.__version__}"
    help_text = run_cli("--help").stdout
    for command in ("hash", "manifest", "keys", "receipt", "publish", "verify", "ledger", "scan"):
        assert command in help_text


def test_a_reader_that_stops_early_is_not_an_error(tmp_path):
    for i in range(10_000):  # ~800 KB of output: far more than a pipe buffer holds
        (tmp_path / f"{i:05d}.txt").write_text(str(i))
    shell = f"{sys.executable} -m receiptcore.cli hash --no-progress {tmp_path} | head -n 1"
    out = subprocess.run(
        ["bash", "-o", "pipefail", "-c", shell], capture_output=True, text=True, check=False
    )
    assert out.stdout.startswith("sha256:")
    assert out.stderr == ""
    assert out.returncode == 141
