"""``receiptcore mcp --http HOST:PORT``: the tools over MCP streamable HTTP, and the verified
bytes of fetched artifacts at ``/objects/sha256/<hex>`` (:mod:`receiptcore.tools.objects`).

Who may call, as the MCP specification asks of HTTP servers (transports, security warning):

- **Host and Origin** are checked on every request, the MCP endpoint's and the objects' alike
  (the SDK's own check, :class:`~mcp.server.transport_security.TransportSecurityMiddleware`):
  a browser page that rebinds its name to this address sends its own name in ``Host`` and its own
  origin in ``Origin``, and is refused (421 / 403). On loopback the loopback names are allowed;
  bound elsewhere, only ``HOST:PORT`` as given and the origins passed with ``--allow-origin``.
- **A bearer token** (``Authorization: Bearer <token>``, compared in constant time) is required
  when the server is bound to anything but loopback, and whenever one is configured.
"""

from __future__ import annotations

import hmac
import importlib.util
import ipaddress
import socket
import sys

from starlette.requests import Request
from starlette.responses import Response

from receiptcore.errors import ConfigError
from receiptcore.tools.service import ToolService

MCP_PATH = "/mcp"
MAX_BODY = 256 << 10
"""HTTP bodies the server reads at most: a request is small (the tools cap it at 64 KiB)."""


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6); port 0 picks a free one."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ConfigError(f"--http wants HOST:PORT (e.g. 127.0.0.1:8765), not {text!r}")
    return host.removeprefix("[").removesuffix("]"), int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class Guard:
    """ASGI middleware: Host/Origin (DNS rebinding), then the bearer token, for every route (and
    :meth:`refusal` for the object requests answered before the ASGI app)."""

    def __init__(self, app, *, host: str, port: int, token: str | None, origins: list[str]):
        from mcp.server.transport_security import (
            TransportSecurityMiddleware,
            TransportSecuritySettings,
        )

        if is_loopback(host):
            hosts = [f"{name}:{port}" for name in ("127.0.0.1", "localhost", "[::1]")]
            allowed = [f"http://{h}" for h in hosts] + origins
        else:
            hosts, allowed = [f"{_url_host(host)}:{port}"], origins
        settings = TransportSecuritySettings(allowed_hosts=hosts, allowed_origins=allowed)
        self.app, self.token = app, token
        self.check = TransportSecurityMiddleware(settings)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = await self.refusal(Request(scope))
        if refused is not None:
            await refused(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def refusal(self, request: Request) -> Response | None:
        """Why ``request`` (its headers) is refused, as the response that says so; None if not."""
        refused = await self.check.validate_request(request, is_post=False)
        if refused is None and self.token is not None:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
                refused = Response(
                    "missing or wrong bearer token",
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="receiptcore"'},
                )
        return refused


def serve_http(
    service: ToolService, host: str, port: int, token: str | None, origins: list[str]
) -> None:
    """Serve until interrupted; prints the endpoint's URL on stderr once listening."""
    import anyio
    import uvicorn

    from receiptcore.tools import objects
    from receiptcore.tools.server import build_server

    if token is None and not is_loopback(host):
        raise ConfigError(
            f"--http {host}:{port} is not loopback: give a bearer token "
            "(--token-file FILE or $RECEIPTCORE_MCP_TOKEN)"
        )
    # IPPROTO_TCP named, not left 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on
    # sockets whose proto says TCP, and with it on, each response's body waited for the client's
    # delayed ACK of its headers: 40 ms added to every tool call.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)  # connections queue from now on: the URL printed below is reachable
    port = sock.getsockname()[1]
    service.config.base_url = f"http://{_url_host(host)}:{port}"
    server = build_server(service)
    from mcp.server.transport_security import TransportSecuritySettings

    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        json_response=True,
        stateless_http=True,
        max_request_body_size=MAX_BODY,
        # checked for every route by Guard (one check, the SDK's), not only for MCP_PATH
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        host=host,
    )
    guarded = Guard(app, host=host, port=port, token=token, origins=origins)
    config = uvicorn.Config(
        guarded, http=objects.protocol(service.served, guarded), log_level="warning", lifespan="on",
        access_log=False,
    )
    print(f"receiptcore mcp: serving {service.config.base_url}{MCP_PATH}", file=sys.stderr, flush=True)
    # uvloop when installed, as uvicorn's loop="auto" would pick it (it sets TCP_NODELAY itself)
    uvloop = importlib.util.find_spec("uvloop") is not None
    anyio.run(uvicorn.Server(config).serve, [sock], backend_options={"use_uvloop": uvloop})
