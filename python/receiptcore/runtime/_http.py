"""The client's MCP transport over HTTP: each message POSTed on a kept connection.

The SDK's own streamable HTTP transport (``mcp.client.streamable_http``, on httpx) took ~1.2 ms
of the client's CPU per tool call here, more than all the rest of the client does for a call
(benches/bench_tools.py). This one speaks the same transport (MCP's "Streamable HTTP", as of
the 2025-11-25 revision the SDK's session negotiates) for what this client does with it:

- every message is a POST of its JSON with ``Accept: application/json, text/event-stream``;
- a request is answered by the response's JSON body, or by the ``message`` events of its
  ``text/event-stream`` body up to the answer to that request (messages before it, a server's
  notifications or requests, are passed on too); a notification is answered ``202 Accepted``;
- an event stream that ends before the answer, once an event had an ``id``, is resumed with a
  GET that names it (``Last-Event-ID``), after the ``retry`` the server asked for (a server
  that keeps its streams short, polling, does so); three times at most;
- the ``Mcp-Session-Id`` a server gives with its answer to ``initialize`` goes with every later
  message, and the session is ended with a ``DELETE`` when the client closes;
- the headers the SDK's session puts on a message (``MCP-Protocol-Version``, ...) are sent as
  given, and the negotiated version with the messages it puts none on.

Not done, as this client needs none of it: the GET stream for messages a server starts on its
own (this client offers a server nothing to ask), a new session when a server ended its own
(the error says so), following redirects (refused, the location named), proxies (the server is
reached directly, as the client's object reads are). Whatever fails is the answer to the request
it was for: a JSON-RPC error that says what happened, so the caller gets one line, never a hang.

A connection is kept for the next message once an answer was read whole (an event stream's rest
is read for a second after its answer), and not reused if the server closed it meanwhile (an idle
connection that has something to read was closed or broken). Requests at the same time take
connections of their own.
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
RESUMES = 3
"""Times an event stream that ended before its answer is resumed."""
DRAIN = 1.0
"""Seconds an event stream's rest is read for after its answer, to keep the connection."""
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


class EventParser:
    """The events of a ``text/event-stream``, fed in pieces cut anywhere (the WHATWG grammar:
    lines end in CRLF, LF or CR; an empty line ends an event; ``data`` lines are joined by LF;
    ``event`` names its type, ``message`` when none; ``id`` sets the last event id, ``retry``
    the reconnection time; lines starting with ``:`` are comments). Each piece is searched for
    line ends once: one long event in many pieces costs its length, not its length squared."""

    def __init__(self, limit: int = MAX_MESSAGE) -> None:
        self.limit = limit
        self.last_id: str | None = None
        self.retry: int | None = None
        self.restart()

    def restart(self) -> None:
        """A new stream (a resumed one): the last event id and the retry time stay."""
        self.partial: list[bytes] = []  # the line not ended yet
        self.kind = ""
        self.data: list[str] = []
        self.size = 0

    def feed(self, piece: bytes) -> list[tuple[str, str]]:
        """The ``(type, data)`` of each event that ``piece`` completes."""
        if not piece:
            return []
        if b"\n" not in piece and b"\r" not in piece:
            self.partial.append(piece)
            self._count(len(piece))
            return []
        text = b"".join(self.partial) + piece
        lines = re.split(rb"\r\n|\r|\n", text)
        rest = lines.pop()
        if not rest and lines and text.endswith(b"\r"):
            rest = lines.pop() + b"\r"  # half of a CRLF, perhaps: the next bytes say
        self.partial = [rest] if rest else []
        events: list[tuple[str, str]] = []
        for line in lines:
            self._line(line, events)
        self.size = len(rest) + sum(map(len, self.data))
        self._count(0)
        return events

    def finish(self) -> list[tuple[str, str]]:
        """At the stream's end: a line held back for its CR is ended."""
        held = self.partial and self.partial[-1].endswith(b"\r")
        return self.feed(b"\n") if held else []

    def _line(self, line: bytes, events: list[tuple[str, str]]) -> None:
        if not line:
            if self.data:
                events.append((self.kind or "message", "\n".join(self.data)))
            self.kind, self.data = "", []
            return
        name, _, value = line.decode("utf-8", "replace").partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self.data.append(value)
        elif name == "event":
            self.kind = value
        elif name == "id" and "\0" not in value:
            self.last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self.retry = int(value)

    def _count(self, more: int) -> None:
        self.size += more
        if self.size > self.limit:
            raise ValueError(f"an event is larger than {self.limit} bytes")


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
        self.closed = False

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

    def _headers(self) -> list[tuple[str, str]]:
        """What every request carries: the host, the caller's headers (its bearer token), the
        session and the negotiated protocol version."""
        headers = [("Host", self.authority), *self.headers.items()]
        if self.session_id is not None:
            headers.append(("Mcp-Session-Id", self.session_id))
        if self.version is not None:
            headers.append(("MCP-Protocol-Version", self.version))
        return headers

    def _post_headers(self, message: SessionMessage, length: int) -> list[tuple[str, str]]:
        given: dict[str, str] = {}
        metadata = message.metadata
        if isinstance(metadata, ClientMessageMetadata) and metadata.headers:
            given = {name.lower(): value for name, value in metadata.headers.items()}
        if getattr(message.message, "method", None) == "initialize":
            self.version = None  # the handshake negotiates it
        elif VERSION_HEADER in given:
            self.version = given.pop(VERSION_HEADER)
        return [
            *self._headers(),
            ("Accept", "application/json, text/event-stream"),
            ("Content-Type", "application/json"),
            ("Content-Length", str(length)),
            *given.items(),
        ]

    @contextlib.asynccontextmanager
    async def _exchange(self, method: str, headers: list[tuple[str, str]], body: bytes = b""):
        """``(connection, response head)`` of a request sent on a kept or a new connection,
        which is kept for the next request if the answer was read whole."""
        connection = await self._connection()
        http = connection.http
        try:
            data = http.send(h11.Request(method=method, target=self.target, headers=headers))
            if body:
                data += http.send(h11.Data(data=body))
            await connection.stream.send(data + http.send(h11.EndOfMessage()))
            response = await connection.next_event()
            while isinstance(response, h11.InformationalResponse):
                response = await connection.next_event()
            if not isinstance(response, h11.Response):
                raise ConnectionError("the server closed the connection without an answer")
            self.on_status(response.status_code)
            yield connection, response
        finally:
            if http.our_state is h11.DONE and http.their_state is h11.DONE and not self.closed:
                http.start_next_cycle()
                self.idle.append(connection)
            else:
                with anyio.CancelScope(shield=True):
                    await connection.stream.aclose()

    async def send(self, message: SessionMessage, deliver: Deliver) -> None:
        """POST ``message``; what answers it goes to ``deliver``, a failure as an error for it."""
        request_id = message.message.id if isinstance(message.message, types.JSONRPCRequest) else None
        try:
            body = message.message.model_dump_json(by_alias=True, exclude_unset=True).encode()
            async with self._exchange("POST", self._post_headers(message, len(body)), body) as (
                connection, response
            ):
                cut = await self._read_answer(connection, response, message, request_id, deliver)
            if cut is not None:
                await self._resume(request_id, deliver, cut)
        except Exception as error:  # noqa: BLE001 - whatever failed is the request's answer
            reason = f"{self.url}: {_reason(error)}"
            if request_id is None:
                log.debug("sending a notification failed: %s", reason)
                return
            await _answer_error(deliver, request_id, reason)

    async def _read_answer(self, connection: _Connection, response: h11.Response, message,
                           request_id, deliver: Deliver) -> EventParser | None:
        """Pass on what answers ``message``; an event stream that ended before the answer, which
        can be resumed, is returned (its parser knows the last event id)."""
        status, headers = response.status_code, dict(response.headers)
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
                return None
            if status == 404 and self.session_id is not None:
                raise ConnectionError("HTTP 404: the server ended this session; connect again")
            raise ConnectionError(f"HTTP {status}: {_first_line(text)}")
        if request_id is None:  # a notification or a response: no answer but the status
            await connection.body()
            return None
        if status == 202:
            await connection.body()
            raise ConnectionError("HTTP 202: the server accepted a request and will not answer it")
        if content_type.startswith("text/event-stream"):
            parser = EventParser()
            if await self._events_until_answer(connection, request_id, deliver, parser):
                return None
            if parser.last_id is None:
                raise ConnectionError("the event stream ended without the answer")
            return parser
        if not content_type.startswith("application/json"):
            await connection.body()
            raise ConnectionError(f"HTTP {status}: an answer of type {content_type or 'none'}")
        answer = _parsed(await connection.body())
        if not isinstance(answer, types.JSONRPCResponse | types.JSONRPCError) or answer.id != request_id:
            raise ValueError("the answer is not a JSON-RPC response to this request")
        await deliver(SessionMessage(answer))
        return None

    async def _events_until_answer(self, connection: _Connection, request_id, deliver: Deliver,
                                   parser: EventParser) -> bool:
        """Pass on the stream's messages; True once the answer to ``request_id`` was among them
        (the stream's rest then read briefly, so that its connection can be kept)."""
        while isinstance(event := await connection.next_event(), h11.Data):
            for kind, data in parser.feed(event.data):
                if await _passed_on(kind, data, request_id, deliver):
                    with anyio.move_on_after(DRAIN), contextlib.suppress(Exception):
                        while isinstance(await connection.next_event(), h11.Data):
                            pass
                    return True
        for kind, data in parser.finish():
            if await _passed_on(kind, data, request_id, deliver):
                return True
        return False

    async def _resume(self, request_id, deliver: Deliver, parser: EventParser) -> None:
        """GET the rest of an event stream after its last event id, until the answer."""
        for _ in range(RESUMES):
            wait = parser.retry if parser.retry is not None else 1000
            await anyio.sleep(min(wait, 10_000) / 1000)
            parser.restart()
            headers = [*self._headers(), ("Accept", "text/event-stream"),
                       ("Last-Event-ID", parser.last_id or "")]
            async with self._exchange("GET", headers) as (connection, response):
                content_type = dict(response.headers).get(b"content-type", b"").decode("latin-1")
                if response.status_code != 200 or not content_type.lower().startswith("text/event-stream"):
                    await connection.body()
                    raise ConnectionError(f"HTTP {response.status_code}: the event stream could not be resumed")
                if await self._events_until_answer(connection, request_id, deliver, parser):
                    return
        raise ConnectionError(f"the event stream ended without the answer, resumed {RESUMES} times")

    async def close(self) -> None:
        """End the session (a server that keeps none has nothing to end), drop the connections;
        a request still under way closes its own."""
        if self.session_id is not None:
            with anyio.move_on_after(5), contextlib.suppress(Exception):
                async with self._exchange("DELETE", self._headers()) as (connection, _):
                    await connection.body()
        self.closed = True
        for kept in self.idle:
            await kept.stream.aclose()
        self.idle.clear()


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


async def _passed_on(kind: str, data: str, request_id, deliver: Deliver) -> bool:
    """An event's message passed on; True if it is the answer to ``request_id``. An event with
    no data (a server's priming event, whose id is kept for resuming) or of another type is
    not a message."""
    if kind != "message" or not data:
        return False
    answer = _parsed(data.encode())
    if answer is None:
        raise ValueError("an event that is not a JSON-RPC message")
    await deliver(SessionMessage(answer))
    return isinstance(answer, types.JSONRPCResponse | types.JSONRPCError) and answer.id == request_id


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
