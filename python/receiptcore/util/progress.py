"""Progress bars for long work: shown on a terminal, silent in CI logs and pipes."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Update = Callable[[int, int, int, int], None]
"""``update(bytes_done, bytes_total, files_done, files_total)``: what ``publish``, ``verify``,
``fetch`` and ``hash`` report as they go."""


@contextmanager
def progress_bar(
    description: str, enabled: bool | None = None, counting: str = "files"
) -> Iterator[Update]:
    """Yields an :data:`Update` that drives a bar on stderr: bytes done of the total, bytes/s,
    and ``counting`` (files, or artifacts) done of the total.

    ``enabled=None`` shows the bar only when stderr is a terminal.
    """
    with _bar(0, description, enabled, unit="B", unit_scale=True, unit_divisor=1024) as bar:
        if bar is None:
            yield lambda done, total, files, count: None
            return

        def update(done: int, total: int, files: int, count: int) -> None:
            if bar.total != total:
                bar.total = total
            bar.set_postfix_str(f"{counting} {files}/{count}", refresh=False)
            bar.update(done - bar.n)

        yield update


@contextmanager
def count_progress(
    total: int, description: str, unit: str, enabled: bool | None = None
) -> Iterator[Callable[[int], None]]:
    """Yields ``advance(n)`` that drives a bar of ``total`` items (items/s and ETA) on stderr,
    shown only on a terminal when ``enabled`` is None."""
    with _bar(total, description, enabled, unit=f" {unit}") as bar:
        yield (lambda n: None) if bar is None else bar.update


@contextmanager
def _bar(total: int, description: str, enabled: bool | None, **style: Any) -> Iterator[Any]:
    """A tqdm bar on stderr, or None when it is not shown."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield None
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=description, file=sys.stderr, leave=False, dynamic_ncols=True,
              **style) as bar:
        yield bar
