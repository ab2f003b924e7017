"""The client's MCP transport over HTTP: each message POSTed on a kept connection.

The SDK's own streamable HTTP transport (``mcp.client.streamable_http``, on httpx) took ~1.2 ms
of the client's CPU per tool call here, more than all the rest of the client does for a call
(benches/bench_tools.py). This one speaks the same transport (MCP 2025-06-18, "Streamable
HTTP") for what this client does with it:

- every message is a POST of its JSON with ``Accept: application/json, text/event-stream``;
- a request is answered by the response's JSON body, or by the ``message`` events of its
  ``text/event-stream`` body up to the answer to that request (messages before it, a server's
  notifications or requests, are passed on too); a notification is answered ``202 Accepted``;
- the ``Mcp-Session-Id`` a server gives with its answer to ``initialize`` goes with every later
  message, and the session is ended with a ``DELETE`` when the client closes;
- the headers the SDK's session puts on a message (``MCP-Protocol-Version``, ...) are sent as
  given, and the negotiated version with the messages it puts none on.

Not done, as this client needs none of it: the GET stream for messages a server starts on its
own (this client offers a server nothing to ask), resuming a broken event stream (the request
fails instead), following redirects (refused, the location named), proxies (the server is
reached directly, as the client's object reads are). Whatever fails is the answer to the request
it was for: a JSON-RPC error that says what happened, so the caller gets one line, never a hang.

A connection is kept for the next message once an answer was read whole, and not reused if the
server closed it meanwhile (an idle connection that has something to read was closed or broken).
Requests at the same time take connections of their own.
"""

from __future__ import annotations

import contextlib
import logging
import re
import select
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit

import anyio
import h11
import mcp_types as types
from anyio.abc import SocketAttribute
from mcp.shared.message import ClientMessageMetadata, SessionMessage

CONNECT_TIMEOUT = 60
READ_TIMEOUT = 300
"""Seconds to wait for the server's next bytes: a tool call may take long (a first rag.query
verifies and loads an index and its model)."""
MAX_MESSAGE = 64 << 20
"""Bytes of one answer at most (an ``artifact.fetch`` chunk is at most 1 MiB in base64)."""
READ = 1 << 16
VERSION_HEADER = "mcp-protocol-version"

log = logging.getLogger("receiptcore.runtime")

Deliver = Callable[[SessionMessage], Awaitable[None]]


class _Connection:
    def __init__(self, stream) -> None:
        self.stream = stream
        self.http = h11.Connection(h11.CLIENT, max_incomplete_event_size=1 << 16)

    def closed_meanwhile(self) -> bool:
        """An idle connection with something to read: the server closed it (or broke it). Asked
        with poll, not select: select cannot watch a descriptor numbered past 1023."""
        poller = select.poll()
        poller.register(self.stream.extra(SocketAttribute.raw_socket).fileno(), select.POLLIN)
        return bool(poller.poll(0))

    async def next_event(self):
        while True:
            event = self.http.next_event()
            if event is not h11.NEED_DATA:
                return event
            with anyio.fail_after(READ_TIMEOUT):
                try:
                    data = await self.stream.receive(READ)
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    data = b""
            if not data and self.http.their_state is h11.SEND_RESPONSE:
                raise ConnectionError("the server closed the connection without an answer")
            self.http.receive_data(data)

    async def body(self, limit: int = MAX_MESSAGE) -> bytes:
        """The rest of the response's body, whole."""
        parts, size = [], 0
        while isinstance(event := await self.next_event(), h11.Data):
            size += len(event.data)
            if size > limit:
                raise ValueError(f"the answer is larger than {limit} bytes")
            parts.append(event.data)
        return b"".join(parts)

    async def events(self) -> AsyncIterator[tuple[str, str]]:
        """``(type, data)`` of each event of a ``text/event-stream`` body."""
        parser = EventParser()
        while isinstance(event := await self.next_event(), h11.Data):
            for found in parser.feed(event.data):
                yield found


class EventParser:
    """The events of a ``text/event-stream``, fed in pieces cut anywhere (the WHATWG grammar:
    lines end in CRLF, LF or CR; an empty line ends an event; ``data`` lines are joined by LF;
    ``event`` names its type, ``message`` when none; lines starting with ``:`` are comments)."""

    def __init__(self, limit: int = MAX_MESSAGE) -> None:
        self.limit = limit
        self.buffer = b""
        self.kind = ""
        self.data: list[str] = []
        self.size = 0

    def feed(self, piece: bytes) -> list[tuple[str, str]]:
        self.buffer += piece
        lines = re.split(rb"\r\n|\r|\n", self.buffer)
        self.buffer = lines.pop()
        if not self.buffer and lines and piece.endswith(b"\r"):
            self.buffer = lines.pop() + b"\r"  # half of a CRLF, perhaps: the next bytes say
        events = []
        for line in lines:
            if not line:
                if self.data:
                    events.append((self.kind or "message", "\n".join(self.data)))
                self.kind, self.data, self.size = "", [], 0
                continue
            name, _, value = line.decode("utf-8", "replace").partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                self.data.append(value)
                self.size += len(value)
            elif name == "event":
                self.kind = value
        if len(self.buffer) + self.size > self.limit:
            raise ValueError(f"an event is larger than {self.limit} bytes")
        return events


class StreamableHTTP:
    """The transport's state: where the server is, its session, the connections kept."""

    def __init__(self, url: str, headers: dict[str, str], on_status: Callable[[int], None]) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url}")
        self.url, self.headers, self.on_status = url, headers, on_status
        self.tls = parts.scheme == "https"
        self.host, self.port = parts.hostname, parts.port or (443 if self.tls else 80)
        self.authority = parts.netloc.rpartition("@")[2]
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.session_id: str | None = None
        self.version: str | None = None
        self.idle: list[_Connection] = []

    async def _connection(self) -> _Connection:
        while self.idle:
            kept = self.idle.pop()
            if not kept.closed_meanwhile():
                return kept
            await kept.stream.aclose()
        with anyio.fail_after(CONNECT_TIMEOUT):
            if not self.tls:
                return _Connection(await anyio.connect_tcp(self.host, self.port))
            # a server may close without TLS's close_notify: every answer here has its own end
            return _Connection(await anyio.connect_tcp(self.host, self.port, tls=True,
                                                       tls_standard_compatible=False))

    def _headers(self, message: SessionMessage, length: int) -> list[tuple[str, str]]:
        given: dict[str, str] = {}
        metadata = message.metadata
        if isinstance(metadata, ClientMessageMetadata) and metadata.headers:
            given = {name.lower(): value for name, value in metadata.headers.items()}
        if getattr(message.message, "method", None) == "initialize":
            self.version = None  # the handshake negotiates it
        elif VERSION_HEADER in given:
            self.version = given[VERSION_HEADER]
        elif self.version is not None:
            given[VERSION_HEADER] = self.version
        if self.session_id is not None:
            given["mcp-session-id"] = self.session_id
        return [
            ("Host", self.authority),
            ("Accept", "application/json, text/event-stream"),
            ("Content-Type", "application/json"),
            ("Content-Length", str(length)),
            *self.headers.items(),
            *given.items(),
        ]

    async def send(self, message: SessionMessage, deliver: Deliver) -> None:
        """POST ``message``; what answers it goes to ``deliver``, a failure as an error for it."""
        request_id = message.message.id if isinstance(message.message, types.JSONRPCRequest) else None
        try:
            await self._post(message, request_id, deliver)
        except Exception as error:  # noqa: BLE001 - whatever failed is the request's answer
            reason = f"{self.url}: {_reason(error)}"
            if request_id is None:
                log.debug("sending a notification failed: %s", reason)
                return
            await _answer_error(deliver, request_id, reason)

    async def _post(self, message: SessionMessage, request_id, deliver: Deliver) -> None:
        body = message.message.model_dump_json(by_alias=True, exclude_unset=True).encode()
        connection = await self._connection()
        http = connection.http
        try:
            request = h11.Request(method="POST", target=self.target, headers=self._headers(message, len(body)))
            await connection.stream.send(http.send(request) + http.send(h11.Data(data=body)) + http.send(h11.EndOfMessage()))
            response = await connection.next_event()
            while isinstance(response, h11.InformationalResponse):
                response = await connection.next_event()
            if not isinstance(response, h11.Response):
                raise ConnectionError("the server closed the connection without an answer")
            await self._read_answer(connection, response, message, request_id, deliver)
        finally:
            if http.our_state is h11.DONE and http.their_state is h11.DONE:
                http.start_next_cycle()
                self.idle.append(connection)
            else:
                await connection.stream.aclose()

    async def _read_answer(self, connection: _Connection, response: h11.Response, message,
                           request_id, deliver: Deliver) -> None:
        status, headers = response.status_code, dict(response.headers)
        self.on_status(status)
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        if status == 200 and getattr(message.message, "method", None) == "initialize":
            session = headers.get(b"mcp-session-id")
            self.session_id = session.decode("ascii") if session else None
        if 300 <= status < 400:
            await connection.body()
            where = headers.get(b"location", b"").decode("latin-1")
            raise ConnectionError(f"HTTP {status}: a redirect to {where} is not followed; "
                                  "use that URL if it is the server meant")
        if status >= 400:
            text = await connection.body()
            if request_id is None:
                raise ConnectionError(f"HTTP {status}")
            answer = _parsed(text) if content_type.startswith("application/json") else None
            if isinstance(answer, types.JSONRPCError):  # the server's own error, at its status
                await deliver(SessionMessage(types.JSONRPCError(jsonrpc="2.0", id=request_id, error=answer.error)))
                return
            if status == 404 and self.session_id is not None:
                raise ConnectionError("HTTP 404: the server ended this session")
            raise ConnectionError(f"HTTP {status}: {_first_line(text)}")
        if request_id is None:  # a notification or a response: no answer but the status
            await connection.body()
            return
        if status == 202:
            await connection.body()
            raise ConnectionError("HTTP 202: the server accepted a request and will not answer it")
        if content_type.startswith("text/event-stream"):
            async for kind, data in connection.events():
                if kind != "message":
                    continue
                answer = _parsed(data.encode())
                if answer is None:
                    raise ValueError("an event that is not a JSON-RPC message")
                await deliver(SessionMessage(answer))
                if isinstance(answer, types.JSONRPCResponse | types.JSONRPCError) and answer.id == request_id:
                    return
            raise ConnectionError("the event stream ended without the answer")
        if not content_type.startswith("application/json"):
            await connection.body()
            raise ConnectionError(f"HTTP {status}: an answer of type {content_type or 'none'}")
        answer = _parsed(await connection.body())
        if answer is None:
            raise ValueError("the answer is not a JSON-RPC message")
        await deliver(SessionMessage(answer))

    async def close(self) -> None:
        """End the session (a server that keeps none has nothing to end), drop the connections."""
        if self.session_id is not None:
            with anyio.move_on_after(5), contextlib.suppress(Exception):
                await self._delete()
        for kept in self.idle:
            await kept.stream.aclose()
        self.idle.clear()

    async def _delete(self) -> None:
        connection = await self._connection()
        http = connection.http
        headers = [("Host", self.authority), *self.headers.items(), ("Mcp-Session-Id", self.session_id or "")]
        if self.version is not None:
            headers.append((VERSION_HEADER, self.version))
        try:
            await connection.stream.send(http.send(h11.Request(method="DELETE", target=self.target, headers=headers))
                                         + http.send(h11.EndOfMessage()))
            await connection.next_event()
            await connection.body()
        finally:
            await connection.stream.aclose()


@contextlib.asynccontextmanager
async def streamable_http(
    url: str, headers: dict[str, str], on_status: Callable[[int], None]
) -> AsyncIterator[tuple]:
    """The SDK's ``(read_stream, write_stream)`` of messages, over ``url``; ``headers`` go with
    every request, and ``on_status`` is told the status of every answer."""
    transport = StreamableHTTP(url, headers, on_status)
    read_writer, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_stream, write_reader = anyio.create_memory_object_stream[SessionMessage](0)

    async def post_each(group) -> None:
        async with write_reader:
            async for message in write_reader:
                if isinstance(message.message, types.JSONRPCRequest):
                    group.start_soon(transport.send, message, read_writer.send)
                else:  # in order: a notification may not overtake the request before it
                    await transport.send(message, read_writer.send)

    async with read_writer, read_stream, write_stream, anyio.create_task_group() as group:
        group.start_soon(post_each, group)
        try:
            yield read_stream, write_stream
        finally:
            with anyio.CancelScope(shield=True):
                await transport.close()
            group.cancel_scope.cancel()


def _parsed(data: bytes) -> types.JSONRPCMessage | None:
    try:
        return types.jsonrpc_message_adapter.validate_json(data, by_name=False)
    except ValueError:
        return None


async def _answer_error(deliver: Deliver, request_id, reason: str) -> None:
    error = types.ErrorData(code=types.CONNECTION_CLOSED, message=reason)
    with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
        await deliver(SessionMessage(types.JSONRPCError(jsonrpc="2.0", id=request_id, error=error)))


def _reason(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "no answer in time"
    if isinstance(error, anyio.BrokenResourceError):
        return "the connection broke"
    return str(error) or type(error).__name__


def _first_line(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip()
    return text.splitlines()[0][:200] if text else "no reason given"
