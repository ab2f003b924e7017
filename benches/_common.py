"""Helpers shared by the benchmarks: timing side by side and printing one table per workload."""

from __future__ import annotations

import time
from collections.abc import Callable


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
