"""docs/tools.md tells the truth: its session runs as written, against a real server process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from support.paths import REPO


def test_the_session_in_the_docs_runs(tmp_path):
    text = (REPO / "docs" / "tools.md").read_text(encoding="utf-8")
    [script] = re.findall(r"<!-- example: tools-session -->\n```sh\n(.*?)\n```", text, re.DOTALL)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for var in ("RECEIPTCORE_TRUST", "RECEIPTCORE_VERIFY_MODE", "RECEIPTCORE_SIGNING_KEY"):
        env.pop(var, None)
    result = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=600, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "proofs checked here" in result.stdout
    assert (tmp_path / "fetched.bin").read_bytes() == b"index bytes\n"
    assert (tmp_path / "fetched-adapter" / "weights" / "model.bin").read_bytes() == b"weights\n"
