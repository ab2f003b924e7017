"""Runs the same benchmarks against two builds of receiptcore, side by side in one run.

    .venv/bin/python benches/compare.py --base main                # main against this checkout
    .venv/bin/python benches/compare.py --base HEAD~3 bench_canonical.py "bench_digest.py --gib 1"
    .venv/bin/python benches/compare.py --base HEAD --base-features abi3   # what abi3 costs

Each side is a release wheel (`maturin build --release`) installed into its own virtual
environment: the base from `git archive REV`, the head from this working tree as it is
(uncommitted changes included), each with the Cargo features given. The benchmark scripts
are this checkout's, run by each side's interpreter in turn (--rounds times, alternating, the
best kept); the libraries they compare against come from this environment, the same for both
(commands installed beside this interpreter, such as modelscan, are left out).
Prints each script's own tables, then one table of every row: base seconds, head seconds,
and head / base (below 1 is faster). Anchor rows (hashlib, rg...) run the same code on both
sides: how far they move is the noise of this machine.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT = ["bench_digest.py", "bench_canonical.py", "bench_walk.py", "bench_scan.py", "bench_files.py"]
ROW = re.compile(r"^\|\s*(?P<name>[^|]+?)\s*\|\s*(?P<seconds>\d+(?:\.\d+)?)\s*\|")


def sh(*cmd: str | Path, cwd: Path | None = None, env: dict | None = None) -> None:
    subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, check=True)


def build(side: str, rev: str | None, features: str, work: Path) -> Path:
    """A release wheel of ``rev`` (None: this working tree) with ``features``; returns it."""
    source = REPO
    env = dict(os.environ)
    if rev is not None:
        source = work / f"src-{side}"
        source.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], check=True,
                                 stdout=subprocess.PIPE).stdout
        subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
        # Its own target folder, kept between runs: only what changed is compiled again.
        env["CARGO_TARGET_DIR"] = str(REPO / "target" / f"compare-{side}")
    out = work / f"wheel-{side}"
    command = [Path(sys.executable).parent / "maturin", "build", "--release", "--quiet",
               "--out", out, "--interpreter", sys.executable]
    if features:
        command += ["--features", features]
    sh(*command, cwd=source, env=env)
    (wheel,) = out.glob("*.whl")
    return wheel


def venv(side: str, wheel: Path, work: Path) -> Path:
    """A fresh environment with ``wheel`` installed, and this environment's packages (the
    dependencies and the anchors the benchmarks compare against) visible after its own."""
    root = work / f"venv-{side}"
    sh(sys.executable, "-m", "venv", "--without-pip", root)
    python = root / "bin" / "python"
    sh(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", wheel)
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "_compare_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # Only receiptcore's own command sits beside the interpreter: the anchors that scripts find
    # there (check-added-large-files, modelscan: minutes each, the same code on both sides)
    # are left out of a comparison of two builds.
    return python


def run(python: Path, script: list[str], side: str) -> dict[tuple[str, str], float]:
    """Runs one benchmark; prints its output and returns {(table title, row): seconds}."""
    print(f"\n# {side}: {' '.join(script)}", flush=True)
    done = subprocess.run([str(python), *script], cwd=HERE, check=False, capture_output=True,
                          text=True)
    print(done.stdout, end="")
    if done.returncode != 0:  # the rows it printed before failing still count
        print(f"{done.stderr}\n{script[0]} failed on the {side} build", file=sys.stderr)
    rows, title = {}, ""
    for line in done.stdout.splitlines():
        if line.startswith("## "):
            title = line[3:].strip()
        elif match := ROW.match(line):
            rows[(title, match["name"])] = float(match["seconds"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="the revision to compare against")
    parser.add_argument("--head", help="a revision (default: this working tree)")
    parser.add_argument("--base-features", default="", help="Cargo features of the base build")
    parser.add_argument("--head-features", default="", help="Cargo features of the head build")
    parser.add_argument("--rounds", type=int, default=1, help="alternating runs per side")
    parser.add_argument("scripts", nargs="*", default=DEFAULT,
                        help='benchmark scripts, each with its arguments: "bench_digest.py --gib 1"')
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="receiptcore-compare-") as tmp:
        work = Path(tmp)
        sides = {
            "base": venv("base", build("base", args.base, args.base_features, work), work),
            "head": venv("head", build("head", args.head, args.head_features, work), work),
        }
        label = {"base": f"{args.base} {args.base_features}".strip(),
                 "head": f"{args.head or 'working tree'} {args.head_features}".strip()}
        best: dict[str, dict[tuple[str, str, str], float]] = {"base": {}, "head": {}}
        for spec in args.scripts:
            script = shlex.split(spec)
            # Trees the scripts generate are made once and shared by both sides.
            if script[0] in ("bench_walk.py", "bench_files.py") and "--root" not in script:
                script += ["--root", str(work / f"tree-{script[0]}")]
            if script[0] == "bench_scan.py" and "--keep" not in script:
                script += ["--keep", str(work / "tree-scan")]
            for _ in range(args.rounds):
                for side, python in sides.items():
                    for (title, row), seconds in run(python, script, label[side]).items():
                        key = (script[0], title, row)
                        best[side][key] = min(seconds, best[side].get(key, seconds))
    print(f"\n## {label['head']} against {label['base']}: seconds, best of each side\n")
    print("| benchmark | table | row | base | head | head / base |\n|---|---|---|---:|---:|---:|")
    for key, base in best["base"].items():
        head = best["head"].get(key)
        if head is not None:
            ratio = f"{head / base:.2f}" if base else "-"
            print(f"| {key[0]} | {key[1]} | {key[2]} | {base:.3f} | {head:.3f} | {ratio} |")


if __name__ == "__main__":
    main()
