"""Runs every benchmark in this folder (bench_*.py), one after the other, printing their tables."""

import pathlib
import subprocess
import sys

here = pathlib.Path(__file__).parent
failed = 0
for script in sorted(here.glob("bench_*.py")):
    print(f"\n# {script.name}", flush=True)
    failed |= subprocess.run([sys.executable, str(script)], cwd=here, check=False).returncode
sys.exit(failed)
