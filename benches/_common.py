"""Helpers shared by the benchmarks: timing side by side, printing one table per workload, and
the generated trees the folder benchmarks walk."""

from __future__ import annotations

import pickle
import random
import time
from collections.abc import Callable
from pathlib import Path


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    """Best wall time of ``repeat`` runs: the least disturbed by the rest of the machine."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def table(title: str, rows: list[tuple[str, float]], size_bytes: int | None, reference: str) -> None:
    """Prints seconds, throughput and the speed ratio of every row against ``reference``."""
    ref = dict(rows)[reference]
    print(f"\n## {title}\n")
    head = "| tool | seconds | " + ("GiB/s | " if size_bytes else "") + f"speed vs {reference} |"
    print(head)
    print("|---|---:|" + ("---:|" if size_bytes else "") + "---:|")
    for name, seconds in rows:
        rate = f" {size_bytes / seconds / (1 << 30):.2f} |" if size_bytes else ""
        print(f"| {name} | {seconds:.3f} |{rate} {ref / seconds:.2f}x |")


_WORDS = ["def", "class", "return", "import", "self", "value", "data", "model", "index", "vector",
          "weight", "token"]


def _text(rng: random.Random, size: int) -> bytes:
    out = []
    n = 0
    while n < size:
        line = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 12))) + "\n"
        out.append(line)
        n += len(line)
    return "".join(out).encode()[:size]


def _binary_sample(kind: int, path: Path) -> None:
    import numpy as np

    arr = np.arange(256, dtype=np.float32)
    if kind == 0:
        np.save(path, arr)
    elif kind == 1:
        from safetensors.numpy import save_file

        save_file({"w": arr}, str(path))
    elif kind == 2:
        path.write_bytes(pickle.dumps({"w": arr.tolist()}, protocol=4))
    else:
        with open(path, "wb") as f:
            np.savez(f, a=arr)


def generate_tree(root: Path, files: int, seed: int = 0) -> None:
    """A repository-shaped folder of ``files`` files: folders of 100, mostly small sources and
    text (one in ten over the walk's 4 KiB head), one in a thousand a real binary format
    (npy, safetensors, pickle, npz) written by its own library. The same tree for a seed."""
    rng = random.Random(seed)
    per_dir = 100
    exts = [".py", ".rs", ".md", ".json", ".txt", ".toml"]
    for i in range(files):
        d = root / f"pkg{i // (per_dir * 20):03d}" / f"mod{(i // per_dir) % 20:02d}"
        if i % per_dir == 0:
            d.mkdir(parents=True, exist_ok=True)
        if i % 1000 == 999:
            _binary_sample((i // 1000) % 4, d / f"asset{i}.bin")
            continue
        size = rng.randint(4097, 40000) if rng.random() < 0.1 else rng.randint(50, 4000)
        (d / f"file{i}{rng.choice(exts)}").write_bytes(_text(rng, size))
