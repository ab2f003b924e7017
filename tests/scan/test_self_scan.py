"""The project guards itself: `receiptcore scan` on this repository finds nothing, including the
contract that the library never imports the pipelines, torch, sentence-transformers or peft."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest

from support.paths import REPO

ML_STACK = {"pipelines", "torch", "sentence_transformers", "transformers", "peft", "faiss", "usearch"}


def _contracts() -> dict[str, dict]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["receiptcore"]["scan"]
    return {tuple(c["modules"]): c for c in config["contracts"]}


def test_project_config_declares_the_library_boundary():
    contract = _contracts()[("receiptcore",)]
    assert set(contract["forbidden"]) >= ML_STACK


def test_project_config_declares_the_runtime_boundary():
    """What a runtime repository keeps imports neither the ML stack nor the tool server."""
    contract = _contracts()[("receiptcore.runtime",)]
    assert set(contract["forbidden"]) >= ML_STACK | {"receiptcore.tools", "receiptcore.publish"}


def test_receiptcore_scan_on_this_repository_is_clean():
    if not (REPO / ".git").exists():
        pytest.skip(f"{REPO} is not a git checkout")
    done = subprocess.run([sys.executable, "-m", "receiptcore.cli", "scan", str(REPO)],
                          check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("clean: ")
