"""A server of the MCP SDK's own, not this project's: its high-level ``MCPServer`` over streamable
HTTP as the SDK serves by default (a session per client, answers as event streams), to prove
the runtime's HTTP transport against a server it was not written with.

    python sdk_http_server.py --http 127.0.0.1:0 [--keep-alive SECONDS]

Its tool ``echo(text)`` logs a message to the client before it answers (an event before the
answer, on the same stream), and prints on stderr ``serving URL`` once it listens.
"""

from __future__ import annotations

import argparse
import socket
import sys

import anyio
import uvicorn
from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("sdk-echo")


@server.tool()
async def echo(text: str, ctx: Context) -> str:
    await ctx.info(f"echoing {len(text)} characters")
    return text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", required=True)
    parser.add_argument("--keep-alive", type=float, default=5)
    args = parser.parse_args()
    host, _, port = args.http.rpartition(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, int(port)))
    sock.listen(64)
    app = server.streamable_http_app()
    config = uvicorn.Config(app, log_level="warning", timeout_keep_alive=args.keep_alive)
    print(f"serving http://{host}:{sock.getsockname()[1]}/mcp", file=sys.stderr, flush=True)
    anyio.run(uvicorn.Server(config).serve, [sock])


if __name__ == "__main__":
    main()
