"""The verified bytes of fetched artifacts at ``/objects/sha256/<hex>``, sent by the kernel.

An object goes from the page cache to the socket with ``sendfile``. Through the ASGI layers each
piece was read into Python and written out again: 0.5-0.6 s of server CPU per GiB, on the same
two cores where the client hashes; with ``sendfile`` 0.10-0.24 s (``benches/bench_tools.py``
prints the fetch against reading and hashing locally). uvicorn offers an
ASGI app no zero-copy send, so object requests are recognised where a connection begins: the
first bytes of every connection are read by :class:`FirstRequest`. A ``GET`` of
``/objects/sha256/`` is parsed here (by h11), checked by the same :class:`~receiptcore.tools.http.Guard`
as every other route, answered, and the connection closed; anything else is handed, with the
bytes read so far, to uvicorn's own protocol, which serves the connection from then on as if it
had accepted it (asyncio's ``transport.set_protocol``).

An object is served only after an ``artifact.fetch`` of it verified (the whole object hashed),
and only while its ``stat`` is unchanged: it is checked again before the last piece is sent, and
the connection is closed short of the declared ``Content-Length`` when it changed. The bytes are
not hashed a second time on the way out: the client hashes every byte it reads.
"""

from __future__ import annotations

import asyncio
import functools
import http
import logging
import os
import re
import select
from collections.abc import Callable
from pathlib import Path

import h11
from starlette.requests import Request

from receiptcore.errors import DigestMismatch, ObjectNotFound

PREFIX = "/objects/sha256/"
START = b"GET " + PREFIX.encode()
"""The first bytes of a connection that make it an object request."""
TAIL = 8 << 20
"""The last bytes of an object, sent only once its ``stat`` is checked again."""
STALL = 60.0
"""Seconds a client may stop reading before its transfer is abandoned."""
HEX = re.compile(r"[0-9a-f]{64}")

log = logging.getLogger("receiptcore.tools")


def protocol(served: Callable[[str], Path | None], guard) -> Callable[..., asyncio.Protocol]:
    """What uvicorn's ``Config(http=...)`` takes: a protocol class, called as uvicorn calls its
    own (``config``, ``server_state``, ``app_state``); ``served(hex)`` is the object a fetch
    verified, or None."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    def make(config, server_state, app_state, _loop=None) -> FirstRequest:
        uvicorn = functools.partial(
            AutoHTTPProtocol, config=config, server_state=server_state, app_state=app_state, _loop=_loop
        )
        return FirstRequest(uvicorn, served, guard)

    return make


class FirstRequest(asyncio.Protocol):
    """A new connection: an object request is answered here, anything else goes to uvicorn."""

    def __init__(self, uvicorn: Callable[[], asyncio.Protocol], served, guard) -> None:
        self.uvicorn, self.served, self.guard = uvicorn, served, guard
        self.head = bytearray()
        self.parser: h11.Connection | None = None
        self.transport: asyncio.Transport | None = None
        self.task: asyncio.Task | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.task is not None:
            return  # answering already: a client has nothing more to say on this connection
        if self.parser is None:
            self.head += data
            if not self.head.startswith(START):
                if not START.startswith(self.head):
                    self._hand_over()
                return  # not yet known
            self.parser, data = h11.Connection(h11.SERVER), bytes(self.head)
        try:
            self.parser.receive_data(data)
            event = self.parser.next_event()
        except h11.RemoteProtocolError as error:
            self._reply(error.error_status_hint, str(error))
            return
        if event is h11.NEED_DATA:
            return
        self.transport.pause_reading()
        self.task = asyncio.ensure_future(self._answer(event))

    def eof_received(self) -> bool:
        return False  # closes the connection; an answer under way finds it closed

    def _hand_over(self) -> None:
        app = self.uvicorn()
        self.transport.set_protocol(app)
        app.connection_made(self.transport)
        app.data_received(bytes(self.head))

    def _reply(self, status: int, text: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        """A short answer, then the connection closed."""
        body = text.encode()
        head = [(b"content-type", b"text/plain; charset=utf-8"), *(headers or []),
                (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
        self.transport.write(_head(status, head) + body)
        self.transport.close()

    async def _answer(self, request: h11.Request) -> None:
        try:
            headers = list(request.headers)  # (name, value), names in lower case
            refused = await self.guard.refusal(Request({"type": "http", "headers": headers}))
            if refused is not None:
                extra = [(k, v) for k, v in refused.raw_headers if k not in (b"content-length", b"content-type")]
                self._reply(refused.status_code, refused.body.decode(), extra)
                return
            commit = request.target.decode("ascii", "replace").partition("?")[0].removeprefix(PREFIX)
            try:
                path = self.served(commit) if HEX.fullmatch(commit) else None
            except ObjectNotFound:  # verified, then removed from the store
                path = None
            if path is None:
                self._reply(404, "not a verified object: call artifact.fetch first")
                return
            size = path.stat().st_size
            head = _head(200, [(b"content-type", b"application/octet-stream"),
                               (b"content-length", str(size).encode()), (b"connection", b"close")])
            # a descriptor of our own: the transport may close its own meanwhile
            fd = os.dup(self.transport.get_extra_info("socket").fileno())
            try:
                served = functools.partial(self.served, commit)
                await asyncio.get_running_loop().run_in_executor(None, send, fd, head, path, size, served)
            finally:
                os.close(fd)
        except DigestMismatch as error:
            log.warning("%s: the transfer was cut short", error)
        except OSError as error:  # the client went away, or stopped reading (TimeoutError)
            log.info("an object transfer stopped: %s", error)
        except Exception:  # a bug: keep its trace, close the connection
            log.exception("serving an object failed")
        finally:
            self.transport.close()


def _head(status: int, headers: list[tuple[bytes, bytes]]) -> bytes:
    """A response's status line and headers (every value is this module's own)."""
    lines = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}".encode()]
    lines += [name + b": " + value for name, value in headers]
    return b"\r\n".join([*lines, b"", b""])


def send(fd: int, head: bytes, path: Path, size: int, served: Callable[[], Path | None]) -> None:
    """``head``, then the object's ``size`` bytes with ``sendfile``, on the non-blocking socket
    ``fd``; the last :data:`TAIL` bytes only while ``served()`` is still ``path``. Blocks (a
    worker thread's job); the caller closes the connection."""
    _send_bytes(fd, head)
    with open(path, "rb") as source:
        tail = max(0, size - TAIL)
        _sendfile(fd, source.fileno(), 0, tail)
        if served() != path:
            raise DigestMismatch(f"stored object {path.name} changed while it was served")
        _sendfile(fd, source.fileno(), tail, size)


def _send_bytes(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            _writable(fd)


def _sendfile(fd: int, source: int, offset: int, end: int) -> None:
    while offset < end:
        try:
            sent = os.sendfile(fd, source, offset, end - offset)
        except BlockingIOError:
            _writable(fd)
            continue
        if sent == 0:
            raise DigestMismatch(f"stored object ended {end - offset} bytes early while it was served")
        offset += sent


def _writable(fd: int) -> None:
    poll = select.poll()
    poll.register(fd, select.POLLOUT)
    if not poll.poll(STALL * 1000):
        raise TimeoutError(f"the client read nothing for {STALL:.0f} s")
