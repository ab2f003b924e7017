"""A server of the MCP SDK's own, not this project's: its high-level ``MCPServer`` over streamable
HTTP as the SDK serves by default (a session per client, answers as event streams), to prove
the runtime's HTTP transport against a server it was not written with.

    python sdk_http_server.py --http 127.0.0.1:0 [--keep-alive SECONDS] [--resumable]

Its tool ``echo(text)`` logs a message to the client before it answers (an event before the
answer, on the same stream); ``poll(text)`` closes its event stream before it answers, as a
server that keeps its streams short does (``--resumable``: events kept in memory, each with an
id, and a priming event first, so that a client resumes the stream with ``Last-Event-ID``).
It prints on stderr ``serving URL`` once it listens.
"""

from __future__ import annotations

import argparse
import itertools
import socket
import sys

import anyio
import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.streamable_http import EventCallback, EventMessage, EventStore

server = MCPServer("sdk-echo")


@server.tool()
async def echo(text: str, ctx: Context) -> str:
    await ctx.info(f"echoing {len(text)} characters")
    return text


@server.tool()
async def poll(text: str, ctx: Context) -> str:
    await ctx.close_sse_stream()
    await anyio.sleep(0.1)  # answered after the stream closed: kept in the store meanwhile
    return text


class MemoryEvents(EventStore):
    """Every event of every stream, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, object]] = []
        self.ids = itertools.count(1)

    async def store_event(self, stream_id, message):
        event_id = str(next(self.ids))
        self.events.append((event_id, stream_id, message))
        return event_id

    async def replay_events_after(self, last_event_id, send_callback: EventCallback):
        stream = next((s for e, s, _ in self.events if e == last_event_id), None)
        if stream is None:
            return None
        after = False
        for event_id, stream_id, message in self.events:
            if after and stream_id == stream and message is not None:
                await send_callback(EventMessage(message, event_id))
            after = after or event_id == last_event_id
        return stream


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", required=True)
    parser.add_argument("--keep-alive", type=float, default=5)
    parser.add_argument("--resumable", action="store_true")
    args = parser.parse_args()
    host, _, port = args.http.rpartition(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, int(port)))
    sock.listen(64)
    events = {"event_store": MemoryEvents(), "retry_interval": 50} if args.resumable else {}
    app = server.streamable_http_app(**events)
    config = uvicorn.Config(app, log_level="warning", timeout_keep_alive=args.keep_alive)
    print(f"serving http://{host}:{sock.getsockname()[1]}/mcp", file=sys.stderr, flush=True)
    anyio.run(uvicorn.Server(config).serve, [sock])


if __name__ == "__main__":
    main()
