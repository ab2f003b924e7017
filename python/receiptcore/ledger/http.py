"""A ledger served by ``receiptcore serve``, read and appended to over HTTP (stdlib only).

The client trusts the server for nothing it can check: entries come with their bytes (the leaf
hash is recomputed), proofs are verified here against checkpoints signed by the ledger key, and
:func:`receiptcore.verify.verify` keeps its pinned checkpoint for this URL like for any ledger,
so a server that rolls back or forks its log is caught. An append returns its index with an
inclusion proof against the checkpoint of the batch it was integrated in, checked before the
entry is handed back.

Connection failures (refused, reset, a server restarting) and 5xx answers are retried on a new
connection for ``$RECEIPTCORE_RETRY_SECONDS`` (appends are idempotent, so redoing one is safe),
then :class:`LedgerUnavailable`. A refusal (bad receipt, untrusted key) is raised as the same
error class, with the same exit code, as it would be locally.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any, Self
from urllib.parse import urlencode, urlsplit

from receiptcore import errors
from receiptcore.errors import CheckpointError, LedgerUnavailable, NotInLedger
from receiptcore.ledger import merkle
from receiptcore.ledger.base import Item, LogEntry, pages
from receiptcore.ledger.checkpoint import Checkpoint, VerifierKey, open_checkpoint
from receiptcore.ledger.tiles import entry_bundle
from receiptcore.util.locations import retry_seconds

API = "/v1"
BUNDLE = 256  # receipts per append request


class HttpLedger:
    """The ledger at ``url`` (``http(s)://host:port[/prefix]``)."""

    signer = None  # the server signs

    def __init__(self, url: str, timeout: float = 60.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) ledger URL: {url!r}")
        self.location = url.rstrip("/")
        self._scheme, self._host, self._port = parts.scheme, parts.hostname, parts.port
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        self._lock = threading.Lock()
        self._conn: http.client.HTTPConnection | None = None
        self._meta: dict | None = None

    # --- transport --------------------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
            conn = cls(self._host, self._port, timeout=self._timeout)
            conn.connect()
            # http.client sends a request's headers and body in two writes: without this, the
            # body waits for the server's delayed ACK of the headers (Nagle), tens of ms each.
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._conn = conn
        return self._conn

    def request(self, method: str, path: str, body: bytes | None = None, **query: Any) -> bytes:
        """One request, retried on a new connection while the server is unreachable."""
        target = self._prefix + path + (f"?{urlencode(query)}" if query else "")
        deadline = time.monotonic() + retry_seconds()
        while True:
            try:
                with self._lock:
                    conn = self._connection()
                    conn.request(method, target, body=body)
                    response = conn.getresponse()
                    data = response.read()
                    status = response.status
            except (OSError, http.client.HTTPException) as error:
                self.close()
                problem = f"{type(error).__name__}: {error}"
            else:
                if status < 500:
                    break
                problem = _message(data) or f"HTTP {status}"
            if time.monotonic() >= deadline:
                raise LedgerUnavailable(f"the ledger at {self.location} is unreachable: {problem}")
            time.sleep(0.2)
        if status >= 400:
            raise _error(status, data, self.location)
        return data

    def _json(self, method: str, path: str, body: bytes | None = None, **query: Any) -> Any:
        return json.loads(self.request(method, path, body, **query))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the Ledger protocol ----------------------------------------------------------------

    def _stated(self) -> dict:
        if self._meta is None:
            self._meta = self._json("GET", f"{API}/meta")
        return self._meta

    @property
    def origin(self) -> str:
        return self._stated()["origin"]

    @property
    def verifier_key(self) -> VerifierKey:
        return VerifierKey.from_text(self._stated()["vkey"])

    def size(self) -> int:
        return int(self._json("GET", f"{API}/meta")["size"])

    def append(
        self, data: bytes, artifact_id: str | None = None, artifact_commit: str | None = None
    ) -> LogEntry:
        """Append a signed receipt; the server takes the lookup columns from the receipt itself."""
        return self.append_many([(data, artifact_id, artifact_commit)])[0]

    def append_many(self, items: Iterable[Item]) -> list[LogEntry]:
        """Append receipts, up to :data:`BUNDLE` per request (one bundle is integrated in one
        batch). Each answer's inclusion proofs are checked against its signed checkpoint
        before the entries are returned (CheckpointError or ProofError otherwise)."""
        datas = [bytes(data) for data, _, _ in items]
        entries: list[LogEntry] = []
        for start in range(0, len(datas), BUNDLE):
            part = datas[start : start + BUNDLE]
            if len(part) == 1:
                answer = self._json("POST", f"{API}/entries", part[0])
            else:
                answer = self._json("POST", f"{API}/bundle", entry_bundle(part))
            checkpoint = open_checkpoint(answer["checkpoint"], self.verifier_key)
            for data, got in zip(part, answer["entries"], strict=True):
                leaf = merkle.leaf_hash(data)
                proof = [bytes.fromhex(h) for h in got["inclusion_proof"]]
                merkle.verify_inclusion(got["index"], checkpoint.size, leaf, proof, checkpoint.root)
                entries.append(
                    LogEntry(got["index"], leaf, data, got["artifact_id"], got["artifact_commit"])
                )
        return entries

    def entry(self, index: int) -> LogEntry:
        return _entry(self._json("GET", f"{API}/entries/{int(index)}"))

    def find(
        self, *, artifact_id: str | None = None, artifact_commit: str | None = None
    ) -> LogEntry:
        found = self.find_all(artifact_id=artifact_id, artifact_commit=artifact_commit)
        if not found:
            column, value = (
                ("artifact id", artifact_id) if artifact_id is not None
                else ("artifact commit", artifact_commit)
            )
            raise NotInLedger(f"no receipt in the ledger for {column} {value}")
        return found[-1]

    def find_all(
        self, *, artifact_id: str | None = None, artifact_commit: str | None = None
    ) -> list[LogEntry]:
        if (artifact_id is None) == (artifact_commit is None):
            raise ValueError("look up by artifact_id or by artifact_commit (one of them)")
        query = {"artifact_id": artifact_id} if artifact_id is not None else {
            "artifact_commit": str(artifact_commit)
        }
        return [_entry(e) for e in self._json("GET", f"{API}/lookup", **query)["entries"]]

    def entries(self, start: int = 0, batch: int = 4096) -> Iterator[LogEntry]:
        def fetch(first: int, limit: int) -> list[dict]:
            return self._json("GET", f"{API}/entries", start=first, limit=limit)["entries"]

        return map(_entry, pages(fetch, start, batch, lambda row: row["index"]))

    def checkpoint_note(self, size: int | None = None) -> str:
        query = {} if size is None else {"size": size}
        return self.request("GET", f"{API}/checkpoint", **query).decode()

    def checkpoints(self, start: int = 0, batch: int = 4096) -> Iterator[tuple[int, str]]:
        def fetch(first: int, limit: int) -> list[list]:
            return self._json("GET", f"{API}/checkpoints", start=first, limit=limit)["checkpoints"]

        return ((int(size), note) for size, note in pages(fetch, start, batch, lambda row: row[0]))

    def latest_checkpoint(self, verifier: VerifierKey) -> tuple[Checkpoint, str]:
        note = self.checkpoint_note()
        return open_checkpoint(note, verifier), note

    def stored_nodes(self, positions: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        wanted = [list(p) for p in set(positions)]
        found: dict[tuple[int, int], bytes] = {}
        for i in range(0, len(wanted), 2000):
            body = json.dumps({"positions": wanted[i : i + 2000]}).encode()
            for level, index, h in self._json("POST", f"{API}/nodes", body)["nodes"]:
                found[(int(level), int(index))] = bytes.fromhex(h)
        return found

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        answer = self._json("GET", f"{API}/proof/inclusion", index=index, size=size)
        return [bytes.fromhex(h) for h in answer["proof"]]

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        answer = self._json("GET", f"{API}/proof/consistency", **{"from": size1, "to": size2})
        return [bytes.fromhex(h) for h in answer["proof"]]


def entry_json(entry: LogEntry) -> dict:
    """An entry on the wire (the server's side of :func:`_entry`)."""
    return {
        "index": entry.index,
        "leaf_hash": entry.leaf_hash.hex(),
        "data": base64.b64encode(entry.data).decode(),
        "artifact_id": entry.artifact_id,
        "artifact_commit": entry.artifact_commit,
    }


def _entry(raw: dict) -> LogEntry:
    data = base64.b64decode(raw["data"], validate=True)
    leaf = merkle.leaf_hash(data)  # recomputed, never taken from the server
    if raw.get("leaf_hash") not in (None, leaf.hex()):
        raise errors.LedgerCorrupt(f"entry {raw['index']}: its bytes do not match its leaf hash")
    return LogEntry(int(raw["index"]), leaf, data, raw.get("artifact_id"), raw.get("artifact_commit"))


def _message(data: bytes) -> str | None:
    try:
        return json.loads(data)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return None


def _error(status: int, data: bytes, location: str) -> Exception:
    """The server's refusal as our own error class (its name is on the wire)."""
    try:
        error = json.loads(data)["error"]
        kind, message = error["type"], error["message"]
    except (ValueError, KeyError, TypeError):
        return LedgerUnavailable(f"the ledger at {location} answered HTTP {status}")
    cls = getattr(errors, kind, None)
    if isinstance(cls, type) and issubclass(cls, errors.ReceiptcoreError):
        return cls(message)
    if kind == "ValueError":
        return ValueError(message)
    return CheckpointError(f"the ledger at {location} answered HTTP {status}: {message}")
