"""The client for code that is not async (the shims, scripts): the same :class:`ToolClient` on
an event loop of its own, in a background thread, holding one connection open."""

from __future__ import annotations

import threading
from typing import Any, Self

from receiptcore.runtime.client import Answer, Fetched, FetchedTree, Receipt, ToolClient


class Tools:
    """``with Tools(server) as tools: tools.verify(...)``; arguments as :class:`ToolClient`'s."""

    def __init__(self, server, **options: Any) -> None:
        from anyio.from_thread import start_blocking_portal

        self.client = ToolClient(server, **options)
        self._portal_cm = start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        self._stop = threading.Event()
        try:
            # enter and leave the connection in one task: anyio's scopes belong to the task
            self._held = self._portal.start_task_soon(self._hold)
            self._portal.call(self._wait_connected)
        except BaseException:
            self.close()
            raise

    async def _hold(self) -> None:
        import anyio

        self._connected, self._stopping = anyio.Event(), anyio.Event()
        try:
            async with self.client:
                self._connected.set()
                await self._stopping.wait()
        finally:
            self._connected.set()

    async def _wait_connected(self) -> None:
        import anyio

        while not hasattr(self, "_connected"):
            await anyio.lowlevel.checkpoint()
        await self._connected.wait()
        if self._held.done() and self._held.exception() is not None:
            raise self._held.exception()

    def verify(self, artifact_id: str, commit: str) -> Receipt:
        return self._portal.call(self.client.verify, artifact_id, commit)

    def fetch(self, artifact_id: str, commit: str, out=None) -> Fetched:
        return self._portal.call(self.client.fetch, artifact_id, commit, out)

    def fetch_tree(self, artifact_id: str, commit: str, out) -> FetchedTree:
        return self._portal.call(self.client.fetch_tree, artifact_id, commit, out)

    def query(self, index, query: str, top_k: int = 5) -> Answer:
        return self._portal.call(self.client.query, index, query, top_k)

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        try:
            if hasattr(self, "_held"):
                self._portal.call(self._stopping.set)
                self._held.exception()  # waits for the connection to close
        finally:
            self._portal_cm.__exit__(None, None, None)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
