"""The MCP server: the three tools on the official SDK's low-level ``Server``.

Each tool's ``inputSchema`` and ``outputSchema`` are the request and response parts of its v2
contract (``schemas/v2/tool/*.schema.json``, generated from the same models), so what a client is
shown is what is on disk. A call is read strictly (:mod:`receiptcore.contracts.requests`) before
anything runs, handled off the event loop (on a worker thread; ``rag.query``'s encode and search
on the engine's thread), so that it keeps serving other callers (hashing and search release the
GIL), and its response is validated against its contract, once, by the handler that builds it,
before it is sent. A failure is an error result (``isError: true``) whose structured content is
one ``ToolError`` (the reason, the exit code and its name), and carries no data.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from pydantic import BaseModel

from receiptcore._core import __version__
from receiptcore.contracts.requests import read_request
from receiptcore.contracts.schemas import TOOL_SCHEMAS, TOOLS_V2, part_schema
from receiptcore.contracts.tools_v2 import ToolError
from receiptcore.errors import ReceiptcoreError, ToolUnavailable
from receiptcore.tools.service import ToolService

log = logging.getLogger("receiptcore.tools")


def tool_definitions() -> list[types.Tool]:
    """The tools as a client lists them: schemas from the v2 contracts."""
    tools = []
    for name, filename in TOOL_SCHEMAS.items():
        _, _, description = TOOLS_V2[filename]
        tools.append(
            types.Tool(
                name=name,
                description=description,
                input_schema=part_schema(filename, "request"),
                output_schema=part_schema(filename, "response"),
            )
        )
    return tools


def handlers(service: ToolService) -> dict[str, Callable[[Any], Awaitable[BaseModel]]]:
    """Each tool's handler, awaited on the event loop. ``receipt.verify`` and ``artifact.fetch``
    run on a worker thread; ``rag.query`` chooses its own threads (:mod:`receiptcore.tools.rag`)."""

    def on_worker(handler: Callable[[Any], BaseModel]) -> Callable[[Any], Awaitable[BaseModel]]:
        return lambda request: anyio.to_thread.run_sync(handler, request)

    return {
        "rag.query": service.rag_query,
        "artifact.fetch": on_worker(service.artifact_fetch),
        "receipt.verify": on_worker(service.receipt_verify),
    }


def build_server(service: ToolService) -> Server:
    tools = tool_definitions()
    table = handlers(service)

    async def list_tools(ctx, params) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools)

    async def call_tool(ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
        try:
            body = await _call(table, params.name, params.arguments or {})
        except Exception as error:  # every failure is reported, none is data
            if not isinstance(error, ReceiptcoreError | OSError | ValueError):
                log.exception("%s failed unexpectedly", params.name)  # a bug: keep its trace
            body = {"error": ToolError.of(error).to_json_obj()}
            return _result(body, is_error=True)
        return _result(body, is_error=False)

    return Server(
        "receiptcore",
        version=__version__,
        instructions="Artifacts by reference ({artifact_id, commit}), verified against signed "
        "receipts in an append-only ledger before use; every response carries its proofs.",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


async def _call(table, name: str, arguments: dict) -> dict:
    handler = table.get(name)
    if handler is None:
        raise ToolUnavailable(f"no tool {name!r} here: this server has {', '.join(table)}")
    request_model, response_model, _ = TOOLS_V2[TOOL_SCHEMAS[name]]
    request = read_request(request_model, arguments, f"{name} request")
    response = await handler(request)
    # a response that breaks its contract is never sent: each handler builds its answer with
    # validate(), so an instance of the contract's (frozen) model is one that was checked
    if not isinstance(response, response_model):
        raise TypeError(f"{name} answered a {type(response).__name__}, not its contract's model")
    return response.to_json_obj()


def _result(body: dict, *, is_error: bool) -> types.CallToolResult:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)],
        structured_content=body,
        is_error=is_error,
    )


async def serve_stdio(service: ToolService) -> None:
    from receiptcore.tools.stdio import stdio_streams

    server = build_server(service)
    async with stdio_streams() as (read, write):
        await server.run(read, write, server.create_initialization_options())
