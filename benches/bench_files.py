"""Benchmark: `receiptcore hash DIR` and `receiptcore manifest dataset DIR` on a folder of
100,000 small files, as users run them (a fresh process each), side by side with `sha256sum`
over `find | xargs` and a Python os.walk + hashlib; then the listing alone, the native walk
(nothing opened) against the os.walk + stat per file these commands listed with before.

    python benches/bench_files.py [--files 100000] [--root DIR] [--repeat 3]

The tree is bench_walk's (`_common.generate_tree`: sources and text, one file in a thousand a real binary format);
--root reuses one made earlier. Best of --repeat runs after a warm-up, so the page cache is
warm for every tool. Each row says whether the tool produced the right answer: digests
equal to hashlib's for every file, and a manifest commit equal to rfc8785 + hashlib over the
manifest the command printed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import rfc8785

from _common import best_of, generate_tree
from receiptcore import walk

BIN = Path(sys.executable).parent
TERMS = ["--source", "bench", "--license", "CC0-1.0", "--owner", "bench", "--no-progress"]


def run(cmd: list[str] | str) -> bytes:
    return subprocess.run(cmd, shell=isinstance(cmd, str), check=True, stdout=subprocess.PIPE).stdout


def hashlib_walk(root: Path) -> dict[str, str]:
    """What a careful user writes: os.walk, then hashlib.file_digest of each file in turn."""
    digests = {}
    for directory, _, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            with open(path, "rb") as f:
                digests[path] = hashlib.file_digest(f, "sha256").hexdigest()
    return digests


def os_walk_listing(root: Path) -> list[tuple[str, str, int]]:
    """The listing `manifest dataset` did before the native walk: os.walk, a stat per file."""
    found = []
    for directory, dirs, names in os.walk(root):
        for name in dirs + names:
            path = os.path.join(directory, name)
            info = os.stat(path)
            if not os.path.isdir(path):
                found.append((os.path.relpath(path, root), path, info.st_size))
    return sorted(found)


def show(title: str, table: list[tuple[str, float, bool]]) -> None:
    ours = table[0][1]
    print(f"\n## {title}\n")
    print("| tool | seconds | time / ours | right answer |\n|---|---:|---:|---|")
    for name, seconds, ok in table:
        print(f"| {name} | {seconds:.3f} | {seconds / ours:.2f}x | {'yes' if ok else 'NO'} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--root", type=Path, help="generate into (or reuse) this directory")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-files-"))
    try:
        root = args.root or tmp / "corpus"
        if not root.exists():
            root.mkdir(parents=True)
            start = time.perf_counter()
            generate_tree(root, args.files)
            print(f"generated {args.files} files in {time.perf_counter() - start:.1f} s under {root}")
        rc = str(BIN / "receiptcore")
        hash_cmd = [rc, "hash", "--no-progress", str(root)]
        manifest_cmd = [rc, "manifest", "dataset", str(root), *TERMS]
        truth = hashlib_walk(root)  # also warms the page cache

        hashed = json.loads(run([*hash_cmd, "--json"]))
        hash_ok = {r["path"]: r["digest"].removeprefix("sha256:") for r in hashed} == truth
        printed = json.loads(run([*manifest_cmd, "--json"]))
        manifest = printed["manifest"]
        commit = next(v for k, v in printed.items() if k.endswith("commit")).removeprefix("sha256:")
        manifest_ok = (
            commit == hashlib.sha256(rfc8785.dumps(manifest)).hexdigest()
            and {f["path"]: f["sha256"] for f in manifest["files"]}
            == {os.path.relpath(p, root): d for p, d in truth.items()}
        )
        find = f"find {root} -type f -print0 | xargs -0 -n 2000 -P {os.cpu_count()} sha256sum"
        find_ok = {line[66:]: line[:64] for line in run(find).decode().splitlines()} == truth

        def timed(cmd: list[str] | str) -> float:
            return best_of(lambda: run(cmd), args.repeat)

        rows = [
            ("receiptcore hash DIR", timed(hash_cmd), hash_ok),
            ("receiptcore manifest dataset DIR", timed(manifest_cmd), manifest_ok),
            ("find + xargs -P sha256sum", timed(find), find_ok),
            ("python os.walk + hashlib.file_digest", best_of(lambda: hashlib_walk(root), args.repeat),
             True),
        ]
        print(f"cores: {os.cpu_count()}; {len(truth)} files; best of {args.repeat}")
        show("hash and manifest of a folder, fresh process each", rows)
        try:
            native = walk(root, "tree", sniff=False)
        except TypeError:  # a build from before the walk could list without sniffing
            print("\nthis build's walk cannot list without sniffing: listing rows skipped")
            return
        listing_ok = [(e.path, e.size) for e in native] == [
            (rel, size) for rel, _, size in os_walk_listing(root)]
        show("listing alone, in this process", [
            ("native walk, sniff=False (the listing now)",
             best_of(lambda: walk(root, "tree", sniff=False), args.repeat), listing_ok),
            ("os.walk + stat per file (the listing before)",
             best_of(lambda: os_walk_listing(root), args.repeat), True),
        ])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
