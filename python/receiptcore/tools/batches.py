"""Work that waits for one thread, taken together: ``rag.query``'s encodes on the engine's thread.

The engine runs every encode on its one thread (:mod:`receiptcore.tools.rag` says why). While it
encodes, other queries wait; when it is free it takes all that wait and runs them as one batch
per key: one encode of eight MiniLM queries took 11.8 ms on 2 cores, eight encodes one by one
41.5 ms. A query that arrives while the thread is idle is taken at once: nothing waits for a
batch to fill, so a lone query's latency is what it was without batching.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Executor, Future
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
I = TypeVar("I")
R = TypeVar("R")


class Batches(Generic[K, I, R]):
    """``submit(key, item)`` → a future of ``run(key, items)``'s answer for ``item``, where
    ``items`` are all the items of ``key`` that waited together; ``run`` answers each, in order."""

    def __init__(self, thread: Executor, run: Callable[[K, list[I]], list[R]]) -> None:
        self._thread = thread
        self._run = run
        self._waiting: list[tuple[K, I, Future[R]]] = []
        self._lock = threading.Lock()

    def submit(self, key: K, item: I) -> Future[R]:
        future: Future[R] = Future()
        with self._lock:
            self._waiting.append((key, item, future))
            first = len(self._waiting) == 1
        if first:  # the one drain for this batch; the others join it until it starts
            self._thread.submit(self._drain)
        return future

    def _drain(self) -> None:
        with self._lock:
            taken, self._waiting = self._waiting, []
        groups: dict[K, list[tuple[I, Future[R]]]] = {}
        for key, item, future in taken:
            if future.set_running_or_notify_cancel():  # a caller that gave up is not run
                groups.setdefault(key, []).append((item, future))
        for key, group in groups.items():
            self._answer(key, group)

    def _answer(self, key: K, group: list[tuple[I, Future[R]]]) -> None:
        try:
            answers = self._run(key, [item for item, _ in group])
            if len(answers) != len(group):
                raise RuntimeError(f"{len(group)} items answered {len(answers)} times")
        except BaseException as error:  # noqa: BLE001 - handed to the caller, as an executor does
            if len(group) > 1:  # one item's failure is its own: each alone again
                for one in group:
                    self._answer(key, [one])
            else:
                group[0][1].set_exception(error)
            return
        for (_, future), answer in zip(group, answers, strict=True):
            future.set_result(answer)
