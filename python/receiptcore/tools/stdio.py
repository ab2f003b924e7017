"""``receiptcore mcp`` over stdio: stdin and stdout read and written on the event loop.

The SDK's :func:`~mcp.server.stdio.stdio_server` wraps both in anyio's thread-backed files, so
every message took three trips to a worker thread (read a line; write it; flush), each a wake-up
of another thread and of the event loop, on a call whose own work is a fraction of a
millisecond. When both are pipes (or sockets), as a client that starts the server makes them,
they are used non-blocking here instead, and given to ``stdio_server`` as its streams; anything
else (a file, a terminal) keeps the SDK's own. As the SDK does while it serves, fd 0 and fd 1
are pointed elsewhere (``/dev/null``, stderr), so that nothing a handler or a child process
prints can corrupt the wire, and restored after.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import AsyncIterator

import anyio

READ = 1 << 16


def _is_pipe(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


@contextlib.asynccontextmanager
async def stdio_streams() -> AsyncIterator[tuple]:
    """``(read_stream, write_stream)`` of MCP messages over this process's stdin and stdout."""
    from mcp.server.stdio import stdio_server

    if sys.platform == "win32" or not (_is_pipe(0) and _is_pipe(1)):
        async with stdio_server() as streams:
            yield streams
        return
    with _diverted(0, os.O_RDONLY) as wire_in, _diverted(1, os.O_WRONLY) as wire_out:
        async with stdio_server(_Lines(wire_in), _Writer(wire_out)) as streams:
            yield streams


@contextlib.contextmanager
def _diverted(fd: int, flags: int):
    """A private, non-blocking copy of ``fd`` (the wire), while ``fd`` itself points at
    ``/dev/null`` (stdin) or stderr (stdout); both restored on exit."""
    wire = os.dup(fd)
    was_blocking = os.get_blocking(wire)
    try:
        if fd == 0:
            null = os.open(os.devnull, flags)
            os.dup2(null, 0)
            os.close(null)
        else:
            os.dup2(2, 1)
        os.set_blocking(wire, False)
        yield wire
    finally:
        os.set_blocking(wire, was_blocking)
        os.dup2(wire, fd)
        os.close(wire)


class _Lines:
    """The lines arriving on a non-blocking pipe, as text (invalid UTF-8 replaced, as the SDK's
    reader does)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = bytearray()
        self.scanned = 0  # no newline before this offset: a long line is scanned once

    def __aiter__(self) -> _Lines:
        return self

    async def __anext__(self) -> str:
        while True:
            end = self.buffer.find(b"\n", self.scanned)
            if end >= 0:
                line = bytes(self.buffer[: end + 1])
                del self.buffer[: end + 1]
                self.scanned = 0
                return line.decode("utf-8", errors="replace")
            self.scanned = len(self.buffer)
            try:
                data = os.read(self.fd, READ)
            except BlockingIOError:
                await anyio.wait_readable(self.fd)
                continue
            if not data:  # end of input: a last line without its newline, then the end
                if not self.buffer:
                    raise StopAsyncIteration
                line, self.buffer = bytes(self.buffer), bytearray()
                return line.decode("utf-8", errors="replace")
            self.buffer += data


class _Writer:
    """Text written whole to a non-blocking pipe, waiting while it is full."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    async def write(self, text: str) -> None:
        view = memoryview(text.encode("utf-8"))
        while view:
            try:
                view = view[os.write(self.fd, view) :]
            except BlockingIOError:
                await anyio.wait_writable(self.fd)

    async def flush(self) -> None:
        """Nothing is buffered here."""
