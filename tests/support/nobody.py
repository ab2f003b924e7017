"""Running code as an unprivileged user. Root reads every file, so a test of what cannot be
read runs its check in a child Python that drops to "nobody" first."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

NOBODY = 65534


def reachable_folder(prefix: str) -> Path:
    """A new temporary folder "nobody" may enter (mkdtemp makes it 0700)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    return folder


def run_as_nobody(imports: str, body: str, *args: str) -> str:
    """Runs ``imports`` as root (nobody may not read the stdlib or the package), then drops to
    nobody and runs ``body``; ``sys.argv[1:]`` are ``args``. Returns what it printed."""
    code = (f"import json, os, sys\n{imports}\n"
            f"if os.geteuid() == 0: os.setgid({NOBODY}); os.setuid({NOBODY})\n{body}\n")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          check=True).stdout
