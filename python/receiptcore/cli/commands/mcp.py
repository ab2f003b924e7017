"""``receiptcore mcp``: serve rag.query, artifact.fetch and receipt.verify to runtimes."""

from __future__ import annotations

import argparse

from receiptcore.cli import options

EXAMPLES = """\
examples:
  receiptcore mcp                              over stdin/stdout, for a client that starts it
  receiptcore mcp --http 127.0.0.1:8765        streamable HTTP at http://127.0.0.1:8765/mcp
  RECEIPTCORE_MCP_TOKEN=$(cat token) receiptcore mcp --http 10.0.0.5:8765 --allow-origin https://agents.example
                                               bound beyond loopback: a bearer token is required
  receiptcore mcp --mode warn                  report failed checks beside the data (rollback)

A client that trusts no server: receiptcore tool --help, and docs/tools.md.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = options.command(
        subparsers,
        "mcp",
        help="serve the tools rag.query, artifact.fetch and receipt.verify over MCP",
        description="Serve the three tools over the Model Context Protocol: on stdin/stdout, or "
        "streamable HTTP with --http. Requests name artifacts by reference and are read "
        "strictly; everything is verified against its signed receipt before use, and "
        "receipt.verify returns the proofs a client checks itself.",
        epilog=EXAMPLES,
    )
    parser.add_argument(
        "--http",
        metavar="HOST:PORT",
        help="serve streamable HTTP at http://HOST:PORT/mcp instead of stdio (port 0: any free "
        "one; the URL is printed on stderr). Beyond loopback a bearer token is required",
    )
    parser.add_argument(
        "--allow-origin",
        metavar="ORIGIN",
        action="append",
        default=[],
        help="a browser origin (scheme://host:port) allowed to call; others are refused (403)",
    )
    options.add(parser, "token", "home", "ledger", "store", "trust", "ledger_key", "state", "mode")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import anyio

    from receiptcore.tools.service import ServerConfig, ToolService
    from receiptcore.util.home import home_dir
    from receiptcore.verify import default_mode

    service = ToolService(
        ServerConfig(
            home=home_dir(args.home),
            trust=args.trust,
            ledger_key=args.ledger_key,
            state=args.state,
            mode=args.mode or default_mode(),
            ledger=args.ledger,
            store=args.store,
        )
    )
    if args.http is None:
        from receiptcore.tools.server import serve_stdio

        anyio.run(serve_stdio, service)
        return 0
    from receiptcore.tools.http import parse_address, serve_http

    host, port = parse_address(args.http)
    serve_http(service, host, port, options.token(args), args.allow_origin)
    return 0
