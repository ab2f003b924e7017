"""Start ``receiptcore serve``: open the ledger twice (the integrator's writer, and a reader),
load the trust file, and run the app on uvicorn (uvloop + httptools), on loopback by default."""

from __future__ import annotations

import os

from receiptcore.errors import ConfigError
from receiptcore.server import DEFAULT_BATCH_SIZE, DEFAULT_HTTP, DEFAULT_MAX_WAIT


def parse_http(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"--http wants HOST:PORT, not {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def build_app(
    ledger: str | None = None,
    *,
    store: str | None = None,
    trust: str | os.PathLike[str] | None = None,
    home: str | os.PathLike[str] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_wait: float = DEFAULT_MAX_WAIT,
):
    from receiptcore.ledger import open_ledger
    from receiptcore.ledger.sql import SqlLedger
    from receiptcore.server.app import LedgerApp
    from receiptcore.signing.trust import load_trust
    from receiptcore.util.home import home_dir, trust_path
    from receiptcore.util.locations import store_url

    home = home_dir(home, create=True)
    writer = open_ledger(ledger, writable=True, home=home)
    if not isinstance(writer, SqlLedger):
        raise ConfigError("serve keeps its ledger in a database: --ledger sqlite:///… or postgresql://…")
    reader = open_ledger(ledger, writable=False, home=home)
    return LedgerApp(
        writer, reader, load_trust(trust_path(home, trust)), batch_size, max_wait, store_url(store)
    )


def serve(http: str = DEFAULT_HTTP, **options) -> None:
    """Run until interrupted (SIGINT/SIGTERM stop it cleanly; an append acknowledged before is
    committed, whatever happens after)."""
    import uvicorn

    host, port = parse_http(http)
    app = build_app(**options)
    config = uvicorn.Config(
        app, host=host, port=port, loop="uvloop", http="httptools", lifespan="on",
        log_level="warning", access_log=False, timeout_keep_alive=30,
    )
    uvicorn.Server(config).run()
