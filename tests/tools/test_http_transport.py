"""The runtime's MCP transport over HTTP (receiptcore.runtime._http): against the SDK's own
server (a session per client, answers as event streams), and against servers that answer
wrongly, each failure one line that says what the server did."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from pathlib import Path

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mcp import Client

from receiptcore.errors import ToolServerError
from receiptcore.runtime import ToolClient
from receiptcore.runtime._http import EventParser, streamable_http
from support.toolserver import Models, http_server

SDK_SERVER = [sys.executable, str(Path(__file__).parents[1] / "support" / "sdk_http_server.py")]
pytestmark = pytest.mark.anyio


@pytest.fixture
def models(tmp_path) -> Models:
    """A runtime with a trust file of its own (what it has before it reaches any server)."""
    models = Models(tmp_path)
    models.publish("a.bin", b"a")
    return models


async def test_a_session_of_the_sdk_server_with_its_event_streams():
    statuses, logs = [], []

    async def on_log(params) -> None:
        logs.append(params.data)

    with http_server(SDK_SERVER) as url:
        async with Client(streamable_http(url, {}, statuses.append), mode="legacy",
                          logging_callback=on_log) as client:
            assert [tool.name for tool in (await client.list_tools()).tools] == ["echo", "poll"]
            first = await client.call_tool("echo", {"text": "hello"})
            second = await client.call_tool("echo", {"text": "again"})
    assert (first.structured_content, second.structured_content) == ({"result": "hello"}, {"result": "again"})
    # the log message came on each call's stream, before its answer; without the session id
    # the server would have refused every message after initialize (400)
    assert logs == ["echoing 5 characters"] * 2
    assert statuses == [200, 202, 200, 200, 200, 200]  # ..., the session ended (DELETE)


async def test_requests_at_the_same_time_each_get_their_own_answer():
    answers = {}
    with http_server(SDK_SERVER) as url:
        async with Client(streamable_http(url, {}, lambda status: None), mode="legacy") as client:

            async def call(text: str) -> None:
                answers[text] = (await client.call_tool("echo", {"text": text})).structured_content

            async with anyio.create_task_group() as group:
                for n in range(6):
                    group.start_soon(call, f"call {n}")
    assert answers == {f"call {n}": {"result": f"call {n}"} for n in range(6)}


async def test_a_stream_the_server_closed_before_its_answer_is_resumed():
    # the SDK's server with an event store primes each stream with an event id and, in ``poll``,
    # closes it before the answer: the answer comes on a GET that names the last event id
    statuses = []
    with http_server(SDK_SERVER, "--resumable") as url:
        async with Client(streamable_http(url, {}, statuses.append), mode="legacy") as client:
            echoed = await client.call_tool("echo", {"text": "primed"})
            polled = await client.call_tool("poll", {"text": "resumed"})
    assert (echoed.structured_content, polled.structured_content) == ({"result": "primed"}, {"result": "resumed"})
    # initialize, initialized, echo, poll's POST, a GET or more that resumed it, the DELETE
    assert statuses[:4] == [200, 202, 200, 200] and len(statuses) >= 6 and set(statuses) == {200, 202}


async def test_a_connection_the_server_closed_while_idle_is_not_reused():
    with http_server(SDK_SERVER, "--keep-alive", "0.2") as url:
        async with Client(streamable_http(url, {}, lambda status: None), mode="legacy") as client:
            await client.call_tool("echo", {"text": "before"})
            await anyio.sleep(0.5)  # the server closes the kept connection meanwhile
            after = await client.call_tool("echo", {"text": "after"})
    assert after.structured_content == {"result": "after"}


@contextlib.contextmanager
def answering(reply: bytes):
    """A server on loopback that reads one request and sends ``reply``, then closes."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                with conn:
                    head = b""
                    while b"\r\n\r\n" not in head:
                        head += conn.recv(65536)
                    conn.sendall(reply)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/mcp"
    finally:
        listener.close()


def _http(status: str, content_type: str, body: bytes, more: str = "") -> bytes:
    return (f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\n{more}"
            f"content-length: {len(body)}\r\n\r\n").encode() + body


@pytest.mark.parametrize(
    ("reply", "said"),
    [
        (_http("307 Temporary Redirect", "text/plain", b"", "location: http://elsewhere.example/mcp\r\n"),
         "HTTP 307: a redirect to http://elsewhere.example/mcp is not followed"),
        (_http("500 Internal Server Error", "text/plain", b"boom\nand more"), "HTTP 500: boom"),
        (_http("400 Bad Request", "application/json",
               b'{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"no such thing"}}'),
         "no such thing"),
        (_http("200 OK", "text/html", b"<html>"), "an answer of type text/html"),
        (_http("200 OK", "application/json", b'{"not": "json-rpc"}'), "not a JSON-RPC response to this request"),
        (_http("200 OK", "application/json", b'{"jsonrpc":"2.0","id":"another","result":{}}'),
         "not a JSON-RPC response to this request"),
        (_http("200 OK", "application/json",
               b'{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"x"}}'),
         "not a JSON-RPC response to this request"),
        (_http("200 OK", "text/event-stream", b"id: 7\nretry: 10\ndata: \n\n"),
         "the event stream ended without the answer, resumed 3 times"),
        (_http("202 Accepted", "application/json", b""), "HTTP 202"),
        (_http("200 OK", "text/event-stream", b"event: message\r\ndata: {\"jsonrpc\":\"2.0\",\"method\":"
                                              b"\"notifications/message\",\"params\":{\"level\":\"info\","
                                              b"\"data\":\"x\"}}\r\n\r\n"),
         "the event stream ended without the answer"),
        (b"", "closed the connection without an answer"),
        (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{",
         "closed connection without sending complete message body"),
    ],
    ids=["redirect", "500", "json-rpc-error", "html", "not-json-rpc", "other-id", "notification",
         "not-resumable", "202", "stream-cut", "closed", "body-cut"],
)
async def test_a_server_that_answers_wrongly_is_one_line_that_says_how(reply, said, models):
    with answering(reply) as url, pytest.raises(ToolServerError) as raised:
        async with ToolClient(url, **models.client_options()):
            pass
    message = str(raised.value)
    assert said in message and url in message and "\n" not in message


async def test_nothing_listening_is_one_line(models):
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{free.getsockname()[1]}/mcp"
    with pytest.raises(ToolServerError, match="cannot be reached") as raised:
        async with ToolClient(url, **models.client_options()):
            pass
    assert "\n" not in str(raised.value)


SEPARATORS = st.sampled_from(["\r\n", "\n", "\r"])


@given(
    events=st.lists(
        st.tuples(st.sampled_from(["", "message", "ping"]),
                  st.lists(st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=20),
                           min_size=1, max_size=3)),
        max_size=5,
    ),
    newline=SEPARATORS,
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=8),
)
def test_events_are_the_same_however_the_stream_is_cut(events, newline, cuts):
    wire = ": a comment" + newline
    for kind, lines in events:
        if kind:
            wire += f"event: {kind}{newline}"
        wire += "".join(f"data: {line}{newline}" for line in lines) + newline
    data = wire.encode()
    parser, found, start = EventParser(), [], 0
    for cut in sorted({min(c, len(data)) for c in cuts}) + [len(data)]:
        found += parser.feed(data[start:cut])
        start = cut
    found += parser.finish()  # a CR at the very end was held: half of a CRLF, perhaps
    assert found == [(kind or "message", "\n".join(lines)) for kind, lines in events]


def test_the_last_event_id_and_the_retry_time_are_kept():
    parser = EventParser()
    # an event whose one data line is empty is an event (the transport passes no such message on)
    found = parser.feed(b"id: 1\nretry: 50\ndata: \n\n: a comment\nid: 2\ndata: x\n\n")
    assert found == [("message", ""), ("message", "x")]
    assert (parser.last_id, parser.retry) == ("2", 50)
    parser.feed(b"id: bad\0id\nretry: soon\n\n")  # ignored, as the grammar says
    assert (parser.last_id, parser.retry) == ("2", 50)


def test_one_long_event_in_many_pieces():
    parser, line = EventParser(), b"data: " + b"x" * 300_000
    found = [event for i in range(0, len(line), 1000) for event in parser.feed(line[i:i + 1000])]
    assert found + parser.feed(b"\r\n\r\n") == [("message", "x" * 300_000)]


def test_an_event_larger_than_the_limit_is_refused():
    parser = EventParser(limit=10)
    with pytest.raises(ValueError, match="larger than 10 bytes"):
        parser.feed(b"data: " + b"x" * 20)
