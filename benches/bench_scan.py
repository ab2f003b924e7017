"""Benchmark: `receiptcore scan` next to `rg --files`, pre-commit's check-added-large-files and
modelscan, on the same trees, in one run.

Trees: a synthetic 100,000-file git repository (source and text with a sprinkling of real
weights, tensor and faiss files; generated here) and the site-packages of this environment.
Each tool is run as users run it (a fresh process), best of --repeat runs, output to /dev/null.

    .venv/bin/python benches/bench_scan.py [--files 100000] [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
# Run as installed: pip compiles bytecode at install, while PYTHONDONTWRITEBYTECODE (set in
# some shells and CI images) would make every run compile receiptcore's modules again.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
MODELSCAN_TIMEOUT = 180  # seconds; on the 100k-file tree it ran past 300 s here


def generate(root: Path, n_files: int) -> None:
    """A repository-shaped tree: folders of ~50 files, mostly small source and text files, one
    in a thousand a real weights, tensor or faiss file, then `git add` so the index lists it."""
    import numpy as np

    samples = _binary_samples(root.parent)
    rng = np.random.default_rng(7)
    bodies = [("py", "import os\n\n\ndef f(x):\n    return x + 1\n" * 8),
              ("md", "# Notes\n\nSome words about the project.\n" * 10),
              ("json", '{"key": "value", "items": [1, 2, 3]}\n' * 6),
              ("txt", "plain text line\n" * 30)]
    root.mkdir(parents=True)
    made = 0
    while made < n_files:
        folder = root / f"pkg{made // 2500}" / f"mod{made // 50}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(min(50, n_files - made)):
            if (made + i) % 1000 == 999:
                ext, data = samples[(made + i) // 1000 % len(samples)]
                (folder / f"blob{i}.{ext}").write_bytes(data)
            else:
                ext, body = bodies[rng.integers(len(bodies))]
                (folder / f"file{i}.{ext}").write_text(body)
        made += 50
    (root / ".gitignore").write_text("*.log\n")
    git = ["git", "-C", str(root), "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)


def _binary_samples(tmp: Path) -> list[tuple[str, bytes]]:
    import numpy as np
    from safetensors.numpy import save

    samples = [("bin", save({"w": np.ones((64, 64), dtype=np.float32)}))]
    np.save(tmp / "x.npy", np.zeros((32, 32), dtype=np.float32))
    samples.append(("dat", (tmp / "x.npy").read_bytes()))
    try:
        import faiss

        index = faiss.IndexFlatL2(16)
        index.add(np.zeros((64, 16), dtype=np.float32))
        faiss.write_index(index, str(tmp / "x.faiss"))
        samples.append(("idx", (tmp / "x.faiss").read_bytes()))
    except ImportError:
        pass
    return samples


def timed(cmd: list[str] | str, cwd: Path, repeat: int, timeout: float = 600) -> float | None:
    best = None
    for _ in range(repeat):
        start = time.perf_counter()
        try:
            subprocess.run(cmd, cwd=cwd, shell=isinstance(cmd, str), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=timeout, check=False, env=ENV)
        except subprocess.TimeoutExpired:
            return None
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best


def count(cmd: list[str] | str, cwd: Path) -> int:
    out = subprocess.run(cmd, cwd=cwd, shell=isinstance(cmd, str), capture_output=True,
                         check=False).stdout
    return len([line for line in out.split(b"\n") if line])


def bench_tree(title: str, root: Path, git: bool, repeat: int) -> None:
    rc = str(BIN / "receiptcore")
    flag = [] if git else ["--all"]
    # Size limit and hook flags alike for every tool; no contracts: a file scan.
    config = root.parent / f"{root.name}-scan.toml"
    config.write_text('[scan]\nmax_file_size = "500 KiB"\n')
    rows: list[tuple[str, float | None, str]] = []
    ours = [rc, "scan", *flag, "--config", str(config), "--mode", "warn", str(root)]
    rows.append((f"receiptcore scan {' '.join(flag) or '(git index)'}",
                 timed(ours, root, repeat), ""))
    if git:
        rows.append(("receiptcore scan --all", timed([*ours[:2], "--all", *ours[2:]], root,
                                                     repeat), ""))
    # The floor under the scan: the native walk alone (opens and sniffs every file), no rules.
    code = f"import sys; from receiptcore import walk; walk(sys.argv[1], {'git' if git else 'gitignore'!r})"
    walk_only = [sys.executable, "-c", code, str(root)]
    rows.append(("walk alone (python -c, no rules)", timed(walk_only, root, repeat), ""))
    if shutil.which("rg"):
        rg = ["rg", "--files", "--hidden", "--no-require-git", "-g", "!.git"]
        rows.append(("rg --files --hidden", timed(rg, root, repeat),
                     f"{count(rg, root)} files"))
        # ripgrep opening and reading every file, as a content scan must (no file matches).
        reads = ["rg", "-l", "-uuu", "--no-messages", "-g", "!.git", "--",
                 "q7Zx9-never-in-any-file", "."]  # '.': with no path, rg may read stdin
        rows.append(("rg -l (reads every file)", timed(reads, root, repeat), ""))
    if git:
        rows.append(("git ls-files", timed(["git", "ls-files"], root, repeat), ""))
    hook = BIN / "check-added-large-files"
    if hook.exists():
        lister = "git ls-files -z" if git else "find . -type f -not -path './.git/*' -print0"
        cmd = f"{lister} | xargs -0 {hook} --enforce-all --maxkb=500"
        rows.append(("check-added-large-files --enforce-all", timed(cmd, root, 1), "1 run"))
    modelscan = BIN / "modelscan"
    if modelscan.exists():
        took = timed([str(modelscan), "-p", str(root)], root, 1, timeout=MODELSCAN_TIMEOUT)
        rows.append(("modelscan -p", took, "1 run" if took else f"over {MODELSCAN_TIMEOUT} s"))
    rg_time = next((t for name, t, _ in rows if name.startswith("rg ")), None)
    report = subprocess.run([*ours, "--format", "json"], capture_output=True, check=False).stdout
    files = json.loads(report)["files"]
    rows[0] = (rows[0][0], rows[0][1], f"{files} files")
    print(f"\n## {title}\n")
    print("| tool | seconds | time / rg's | note |\n|---|---:|---:|---|")
    for name, took, note in rows:
        ratio = f"{took / rg_time:.2f}x" if took and rg_time else "-"
        shown = f"{took:.3f}" if took is not None else "n/a"
        print(f"| {name} | {shown} | {ratio} | {note} |")


def bench_imports(site: Path) -> None:
    """grimp on a big real tree: a contract over every package in site-packages."""
    from receiptcore.scan.config import parse_config
    from receiptcore.scan.imports import check_imports

    config = parse_config({"import_paths": ["."], "contracts": [
        {"modules": ["hypothesis"], "forbidden": ["torch", "pipelines"]}]}, "bench")
    packages = [init.parent for init in site.glob("*/__init__.py")]
    modules = sum(1 for p in packages for _ in p.rglob("*.py"))
    start = time.perf_counter()
    findings = check_imports(site, config)
    took = time.perf_counter() - start
    print(f"\n## import-boundary contract over site-packages: grimp graph of {len(packages)} "
          f"packages, {modules} modules: {took:.2f} s, {len(findings)} finding(s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this directory")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-scan-"))
    try:
        root = args.keep or tmp / "repo"
        if not (root / ".git").exists():
            start = time.perf_counter()
            generate(root, args.files)
            print(f"generated {args.files} files in {time.perf_counter() - start:.1f} s")
        print(f"cores: {os.cpu_count()}; best of {args.repeat} unless noted")
        bench_tree(f"synthetic repository, {args.files} files", root, True, args.repeat)
        site = Path(sysconfig.get_paths()["purelib"])
        if site.is_dir():
            # A copy (hard links) outside any git work tree, so no parent .gitignore hides it.
            copy = tmp / "site-packages"
            shutil.copytree(site, copy, symlinks=True, copy_function=os.link)
            bench_tree("site-packages of this environment (a copy)", copy, False, args.repeat)
            if (copy / "hypothesis").is_dir():  # absent from a bare environment (compare.py)
                bench_imports(copy)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
