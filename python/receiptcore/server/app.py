"""The ASGI application of ``receiptcore serve``.

JSON API under ``/v1`` (what :class:`receiptcore.ledger.http.HttpLedger` speaks):

| method and path | what |
|---|---|
| ``POST /v1/entries`` | append the signed receipt in the body (a DSSE envelope, at most 64 KiB); accepted only if a key in the server's trust file signed it and it is a valid receipt. Answer: the checkpoint of its batch, and the entry's index, leaf hash and inclusion proof |
| ``POST /v1/bundle`` | append several receipts at once: the body is an entry bundle (each receipt as a big-endian uint16 length and its bytes, as in tlog tiles); all or none are accepted |
| ``GET /v1/entries/<i>``, ``GET /v1/entries?start=&limit=`` | entries (bytes in base64) |
| ``GET /v1/lookup?artifact_id=`` or ``?artifact_commit=`` | every entry for an id or a commit, oldest first |
| ``GET /v1/proof/inclusion?index=&size=``, ``GET /v1/proof/consistency?from=&to=`` | proofs (hex) |
| ``GET /v1/checkpoint[?size=]``, ``GET /v1/checkpoints?start=&limit=`` | signed checkpoints |
| ``POST /v1/nodes`` | stored subtree hashes ``{"positions": [[level, index], …]}`` (for ``ledger verify``) |
| ``GET /v1/meta`` | origin, ledger key, size |

and the C2SP tlog-tiles read API at the root: ``GET /checkpoint``, ``GET /tile/<L>/<N>[.p/<W>]``,
``GET /tile/entries/<N>[.p/<W>]`` (full tiles never change: served as immutable).

Errors are ``{"error": {"type", "message", "exit_code"}}`` with the error catalogue's class name,
so the client raises the same error a local ledger would (4xx: refused; 503: the database is
unreachable, retry).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar
from urllib.parse import parse_qs

from receiptcore.errors import (
    CheckpointError,
    LedgerUnavailable,
    NotInLedger,
    ReceiptcoreError,
    SchemaError,
    exit_code_for,
)
from receiptcore.ledger import tiles
from receiptcore.ledger.base import Item, Ledger
from receiptcore.ledger.http import entry_json
from receiptcore.server.integrator import Integrator
from receiptcore.signing.trust import Trust

MAX_BODY = tiles.MAX_ENTRY
_IMMUTABLE = b"public, max-age=31536000, immutable"
_NO_CACHE = b"no-cache"

Scope = dict[str, Any]
Response = tuple[int, bytes, bytes, bytes]  # status, body, content type, cache control


class HttpError(Exception):
    def __init__(self, status: int, error: BaseException) -> None:
        super().__init__(str(error))
        self.status, self.error = status, error


class LedgerApp:
    """The app: ``writer`` is appended to only by the integrator; ``reader`` (a second
    connection to the same SQL ledger) answers reads. ``store`` is the artifact store's URL,
    told to clients in ``/v1/meta``."""

    def __init__(
        self,
        writer: Ledger,
        reader: Ledger,
        trust: Trust,
        batch_size: int,
        max_wait: float,
        store: str | None = None,
    ) -> None:
        self.writer, self.reader, self.trust, self.store = writer, reader, trust, store
        self.batch_size, self.max_wait = batch_size, max_wait
        self.integrator: Integrator | None = None
        self._read_lock = asyncio.Lock()

    async def __call__(self, scope: Scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            status, body, content_type, cache = await self._route(scope, receive)
        except HttpError as failure:
            status, body, content_type, cache = _error(failure.status, failure.error)
        except ReceiptcoreError as error:
            status = 400
            if isinstance(error, LedgerUnavailable):
                status = 503
            elif isinstance(error, NotInLedger | CheckpointError):
                status = 404
            status, body, content_type, cache = _error(status, error)
        except (ValueError, KeyError) as error:
            status, body, content_type, cache = _error(400, ValueError(str(error)))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", cache),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.integrator = Integrator(self.writer, self.batch_size, self.max_wait)
                self.integrator.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.integrator is not None:
                    await self.integrator.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # --- routing ----------------------------------------------------------------------------

    async def _route(self, scope: Scope, receive) -> Response:
        method, path = scope["method"], scope["path"]
        query = {k: v[-1] for k, v in parse_qs(scope["query_string"].decode()).items()}
        parts = [p for p in path.split("/") if p]
        if method == "POST" and path == "/v1/entries":
            return _json(await self._append([await _body(receive)]))
        if method == "POST" and path == "/v1/bundle":
            return _json(await self._append(tiles.parse_bundle(await _body(receive, 16 << 20))))
        if method == "POST" and path == "/v1/nodes":
            positions = json.loads(await _body(receive, 1 << 20))["positions"]
            nodes = await self._read(self.reader.stored_nodes, [tuple(p) for p in positions])
            return _json({"nodes": [[lv, i, h.hex()] for (lv, i), h in sorted(nodes.items())]})
        if method != "GET":
            raise HttpError(405, ValueError(f"{method} {path} is not allowed"))
        if path == "/checkpoint":
            note = await self._read(self.reader.checkpoint_note)
            return 200, note.encode(), b"text/plain; charset=utf-8", _NO_CACHE
        if parts[:1] == ["tile"]:
            return await self._tile(parts[1:])
        handler = self._get.get(tuple(parts[:2]))
        if handler is None:
            raise HttpError(404, ValueError(f"no such resource: {path}"))
        return await handler(self, parts, query)

    async def _read(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Reads share one connection, one at a time, off the event loop."""
        async with self._read_lock:
            return await asyncio.to_thread(fn, *args)

    async def _append(self, bodies: list[bytes]) -> dict:
        """Check every receipt (signature by a trusted key, schema), then integrate them."""
        items = self._check(bodies)
        assert self.integrator is not None, "the integrator starts with the app"
        results = await self.integrator.append(items)
        return {
            "checkpoint": results[0].checkpoint if results else None,
            "entries": [
                {
                    "index": r.entry.index,
                    "artifact_id": r.entry.artifact_id,
                    "artifact_commit": r.entry.artifact_commit,
                    "inclusion_proof": [h.hex() for h in r.inclusion_proof],
                }
                for r in results
            ],
        }

    def _check(self, bodies: list[bytes]) -> list[Item]:
        """The receipts as ledger items, once each is a DSSE envelope signed by a trusted key
        over a valid receipt; else the error of the first that is not (all or none).

        The signatures of a request are checked in one native call that releases the GIL (the
        integrator's thread writes the previous batch meanwhile). Handing the whole check to a
        thread cost more server CPU per append than it won, on two cores shared with clients."""
        from receiptcore.commit import Commit
        from receiptcore.contracts import Envelope, load
        from receiptcore.signing.receipts import verify_envelopes

        envelopes, refusal = [], None
        try:
            for body in bodies:
                if len(body) > MAX_BODY:
                    raise HttpError(413, SchemaError(f"a receipt is at most {MAX_BODY} bytes"))
                envelopes.append(load(Envelope, body, "receipt"))
        except (HttpError, ReceiptcoreError) as error:
            refusal = error  # after the receipts before it, which may fail first
        try:
            statements = verify_envelopes(envelopes, self.trust)
        except ReceiptcoreError as error:
            raise HttpError(403 if not isinstance(error, SchemaError) else 400, error) from None
        if refusal is not None:
            raise refusal
        return [
            (body, s.artifact_id, str(Commit(s.artifact_commit)))
            for body, s in zip(bodies, statements)
        ]

    async def _meta(self, parts, query) -> Response:
        origin = await self._read(lambda: self.reader.origin)
        vkey = await self._read(lambda: self.reader.verifier_key.to_text())
        size = await self._read(self.reader.size)
        return _json({"origin": origin, "vkey": vkey, "size": size, "store": self.store})

    async def _entries(self, parts, query) -> Response:
        if len(parts) == 3:
            return _json(entry_json(await self._read(self.reader.entry, int(parts[2]))))
        start, limit = int(query.get("start", 0)), min(int(query.get("limit", 1000)), 10_000)

        def page():
            found = []
            for entry in self.reader.entries(start, limit):
                found.append(entry_json(entry))
                if len(found) == limit:
                    break
            return found

        return _json({"entries": await self._read(page)})

    async def _lookup(self, parts, query) -> Response:
        key = "artifact_id" if "artifact_id" in query else "artifact_commit"
        found = await self._read(lambda: self.reader.find_all(**{key: query[key]}))
        return _json({"entries": [entry_json(e) for e in found]})

    async def _proof(self, parts, query) -> Response:
        if parts[2:] == ["inclusion"]:
            fn, args = self.reader.inclusion_proof, (int(query["index"]), int(query["size"]))
        elif parts[2:] == ["consistency"]:
            fn, args = self.reader.consistency_proof, (int(query["from"]), int(query["to"]))
        else:
            raise HttpError(404, ValueError("proofs are /v1/proof/inclusion or /consistency"))
        proof = await self._read(fn, *args)
        return _json({"proof": [h.hex() for h in proof]})

    async def _checkpoint(self, parts, query) -> Response:
        size = int(query["size"]) if "size" in query else None
        note = await self._read(self.reader.checkpoint_note, size)
        return 200, note.encode(), b"text/plain; charset=utf-8", _NO_CACHE

    async def _checkpoints(self, parts, query) -> Response:
        start, limit = int(query.get("start", 0)), min(int(query.get("limit", 1000)), 10_000)

        def page():
            found = []
            for row in self.reader.checkpoints(start):
                found.append(list(row))
                if len(found) == limit:
                    break
            return found

        return _json({"checkpoints": await self._read(page)})

    async def _tile(self, parts: list[str]) -> Response:
        level, index, width = tiles.parse_tile_path(parts)
        start, end = index * tiles.TILE_WIDTH, index * tiles.TILE_WIDTH + width
        if level == "entries":
            entries = await self._read(_entry_range, self.reader, start, end)
            if len(entries) < width:
                raise HttpError(404, ValueError("the log has no such entry bundle yet"))
            body = tiles.entry_bundle(entries)
        else:
            hashes = await self._read(
                self.reader.node_range, int(level) * tiles.TILE_HEIGHT, start, end
            )
            if len(hashes) < width:
                raise HttpError(404, ValueError("the log has no such tile yet"))
            body = b"".join(hashes)
        cache = _IMMUTABLE if width == tiles.TILE_WIDTH else _NO_CACHE
        return 200, body, b"application/octet-stream", cache

    _get: ClassVar[dict[tuple[str, ...], Callable[..., Awaitable[Response]]]] = {
        ("v1", "meta"): _meta,
        ("v1", "entries"): _entries,
        ("v1", "lookup"): _lookup,
        ("v1", "proof"): _proof,
        ("v1", "checkpoint"): _checkpoint,
        ("v1", "checkpoints"): _checkpoints,
    }


def _entry_range(ledger: Ledger, start: int, end: int) -> list[bytes]:
    found = []
    for entry in ledger.entries(start, end - start):
        if entry.index >= end:
            break
        found.append(entry.data)
    return found


async def _body(receive, limit: int = MAX_BODY) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise HttpError(413, SchemaError(f"a request body is at most {limit} bytes"))
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _json(data: Any) -> Response:
    return 200, json.dumps(data, separators=(",", ":")).encode(), b"application/json", _NO_CACHE


def _error(status: int, error: BaseException) -> Response:
    body = {
        "error": {
            "type": type(error).__name__,
            "message": str(error),
            "exit_code": int(exit_code_for(error)),
        }
    }
    return status, json.dumps(body).encode(), b"application/json", _NO_CACHE


__all__ = ["LedgerApp"]
