"""``receiptcore serve``: the shared ledger over HTTP, for many machines."""

from __future__ import annotations

import argparse

from receiptcore.cli import options

EXAMPLES = """\
examples:
  receiptcore serve --ledger postgresql://ledger@db/receipts --trust ci-keys.json
      serve the PostgreSQL ledger on 127.0.0.1:8080; appends must be signed by a key in
      ci-keys.json (the ledger's checkpoint key: $RECEIPTCORE_LEDGER_SIGNER or <home>/ledger.key)
  receiptcore serve --http 0.0.0.0:8443 --batch-size 512 --batch-wait 0.01
      trade a little latency for fewer, larger batches (one signed checkpoint per batch)
  receiptcore publish model.bin --ledger http://ledger.internal:8080 --store s3://artifacts/ci
  receiptcore verify model.bin --ledger http://ledger.internal:8080
      proofs and checkpoints are checked here; the pinned checkpoint guards against rollback

Read API for transparency-log clients (C2SP tlog-tiles): GET /checkpoint, /tile/<L>/<N>,
/tile/entries/<N>. JSON API: /v1/... (docs/backends.md).
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from receiptcore.server import DEFAULT_BATCH_SIZE, DEFAULT_HTTP, DEFAULT_MAX_WAIT

    parser = options.command(
        subparsers,
        "serve",
        help="serve the ledger over HTTP: batched appends, proofs, checkpoints, tlog tiles",
        description="Serve a database ledger to many machines. Appends are accepted only when "
        "a key in the trust file signed a valid receipt, and are integrated in batches: one "
        "transaction and one signed checkpoint per batch. Needs the 'server' extra.",
        epilog=EXAMPLES,
    )
    options.add(parser, "ledger", "store", "home", "trust")
    parser.add_argument(
        "--http", metavar="HOST:PORT", default=DEFAULT_HTTP,
        help=f"where to listen (default: {DEFAULT_HTTP}, loopback only)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=DEFAULT_BATCH_SIZE, metavar="N",
        help=f"most appends in one batch (default: {DEFAULT_BATCH_SIZE})",
    )
    parser.add_argument(
        "--batch-wait", type=float, default=DEFAULT_MAX_WAIT, metavar="SECONDS",
        help="longest an append waits for its batch to fill while the integrator is free "
        f"(default: {DEFAULT_MAX_WAIT:g}: integrate at once; appends that arrive during a "
        "write form the next batch)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from receiptcore.server.run import serve

    serve(
        args.http, ledger=args.ledger, store=args.store, trust=args.trust, home=args.home,
        batch_size=args.batch_size, max_wait=args.batch_wait,
    )
    return 0
