"""``receiptcore serve``: one ledger for many machines, over HTTP.

:mod:`.app` is the ASGI application (appends, entries, proofs, checkpoints, and the C2SP
tlog-tiles read API), :mod:`.integrator` turns concurrent appends into batches (one transaction
and one signed checkpoint per batch) and :mod:`.run`
starts it all on uvicorn (the ``server`` extra). Clients use
:class:`receiptcore.ledger.http.HttpLedger` (``--ledger http://…``).
"""

DEFAULT_HTTP = "127.0.0.1:8080"
DEFAULT_BATCH_SIZE = 1024
"""Most appends integrated in one batch (one transaction, one signed checkpoint)."""
DEFAULT_MAX_WAIT = 0.0
"""Longest an append waits for its batch to fill while the integrator is free (seconds): 0
integrates at once, and appends that arrive during a write form the next batch."""
