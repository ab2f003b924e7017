"""The project guards itself: `receiptcore scan` on this repository finds nothing, including the
contract that the library never imports the pipelines, torch, sentence-transformers or peft."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest

from support.paths import REPO


def test_project_config_declares_the_library_boundary():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["receiptcore"]["scan"]
    [contract] = config["contracts"]
    assert contract["modules"] == ["receiptcore"]
    assert set(contract["forbidden"]) >= {"pipelines", "torch", "sentence_transformers",
                                          "transformers", "peft", "faiss", "usearch"}


def test_receiptcore_scan_on_this_repository_is_clean():
    if not (REPO / ".git").exists():
        pytest.skip(f"{REPO} is not a git checkout")
    done = subprocess.run([sys.executable, "-m", "receiptcore.cli", "scan", str(REPO)],
                          check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("clean: ")
