"""Appends integrated in batches, as Trillian Tessera does: one transaction and one signed
checkpoint per batch, however many clients are appending.

Each append (one receipt, or a client's bundle of them) waits in a queue. The integrator takes
up to ``batch_size`` receipts as soon as it is free, or, with ``max_wait`` > 0, once the oldest has waited that long or the batch is full;
appends that arrive while a batch is being written form the next one (group commit). So under
load a batch grows to whatever arrived during the previous write, and an append alone is
integrated at once. The answer to each append is given only after its batch committed: its
index, the batch's signed checkpoint and its inclusion proof (all proofs of a batch are read in
one query).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from receiptcore.ledger import merkle
from receiptcore.ledger.base import Item, Ledger, LogEntry
from receiptcore.ledger.checkpoint import Checkpoint
from receiptcore.ledger.sql import prove
from receiptcore.server import DEFAULT_BATCH_SIZE, DEFAULT_MAX_WAIT


@dataclass(frozen=True)
class Integrated:
    """What an append is answered with."""

    entry: LogEntry
    checkpoint: str
    inclusion_proof: list[bytes]


class Integrator:
    """Batches appends to ``ledger`` (which this integrator alone writes)."""

    def __init__(
        self,
        ledger: Ledger,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_wait: float = DEFAULT_MAX_WAIT,
    ) -> None:
        if batch_size < 1 or max_wait < 0:
            raise ValueError("batch size must be at least 1 and the longest wait not negative")
        self.ledger, self.batch_size, self.max_wait = ledger, batch_size, max_wait
        self._queue: list[tuple[list[Item], asyncio.Future, float]] = []
        self._queued = 0  # receipts in the queue
        self._arrived = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.batches = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def append(self, items: list[Item]) -> list[Integrated]:
        """Integrate ``items`` (in one batch, with whatever else is waiting)."""
        future = asyncio.get_running_loop().create_future()
        self._queue.append((items, future, time.monotonic()))
        self._queued += len(items)
        self._arrived.set()
        return await future

    async def _run(self) -> None:
        while True:
            await self._arrived.wait()
            if self.max_wait and self._queued < self.batch_size:
                oldest = self._queue[0][2]
                while self._queued < self.batch_size:
                    left = oldest + self.max_wait - time.monotonic()
                    if left <= 0:
                        break
                    self._arrived.clear()
                    try:
                        await asyncio.wait_for(self._arrived.wait(), left)
                    except TimeoutError:
                        break
            batch, count = [], 0
            while self._queue and (not batch or count + len(self._queue[0][0]) <= self.batch_size):
                batch.append(self._queue.pop(0))
                count += len(batch[-1][0])
            self._queued -= count
            if not self._queue:
                self._arrived.clear()
            try:
                results = await asyncio.to_thread(
                    self._integrate, [item for items, _, _ in batch for item in items]
                )
            except Exception as error:  # noqa: BLE001 - every waiting append is told
                for _, future, _ in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            self.batches += 1
            for items, future, _ in batch:
                mine, results = results[: len(items)], results[len(items) :]
                if not future.done():
                    future.set_result(mine)

    def _integrate(self, items: list[Item]) -> list[Integrated]:
        """One transaction, one checkpoint; then every inclusion proof in one read."""
        entries = self.ledger.append_many(items)
        note = self.ledger.checkpoint_note()
        size = Checkpoint.parse(note[: note.index("\n\n") + 1]).size
        indexes = {e.index for e in entries}
        proofs = prove(merkle.inclusion_proofs, (indexes, size), self.ledger.stored_nodes)
        return [Integrated(e, note, proofs[e.index]) for e in entries]
