"""Progress bars for long work: shown on a terminal, silent in CI logs and pipes."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def byte_progress(total: int, description: str, enabled: bool | None = None) -> Iterator[Callable[[int], None]]:
    """Yields ``update(bytes_done)`` that drives a bar with bytes/s on stderr.

    ``enabled=None`` shows the bar only when stderr is a terminal.
    """
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield lambda done: None
        return
    from tqdm import tqdm

    with tqdm(
        total=total, desc=description, unit="B", unit_scale=True, unit_divisor=1024,
        file=sys.stderr, leave=False, dynamic_ncols=True,
    ) as bar:

        def update(done: int) -> None:
            bar.update(done - bar.n)

        yield update


@contextmanager
def count_progress(
    total: int, description: str, unit: str, enabled: bool | None = None
) -> Iterator[Callable[[int], None]]:
    """Yields ``advance(n)`` that drives a bar of ``total`` items (items/s and ETA) on stderr,
    shown only on a terminal when ``enabled`` is None."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield lambda n: None
        return
    from tqdm import tqdm

    with tqdm(
        total=total, desc=description, unit=f" {unit}", file=sys.stderr, leave=False,
        dynamic_ncols=True,
    ) as bar:
        yield bar.update
