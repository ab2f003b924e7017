"""The runtime's client of the tool server: typed calls over the official MCP client, and every
proof checked here, against this client's own trust file and pinned checkpoint.

``async with ToolClient(server) as tools`` connects to ``server``: an ``http(s)://…/mcp`` URL
(streamable HTTP, with ``token`` as a bearer token) or a command that starts a server on its
stdin/stdout (``"receiptcore mcp --home /srv/models/.receiptcore"``). Then:

- :meth:`ToolClient.verify` asks ``receipt.verify`` and checks its proofs
  (:func:`receiptcore.runtime.checks.check_receipt`);
- :meth:`ToolClient.fetch` verifies first, then reads the bytes from the ``uri`` the server gives
  or in chunks through ``artifact.fetch``, and hashes all of them against the commit;
  :meth:`ToolClient.fetch_tree` does so for a tree's file list and then for each of its files;
- :meth:`ToolClient.query` verifies the index, its model and its chunk table once per commit,
  then asks ``rag.query`` and checks that the answer names exactly those.

Every request is checked against its contract here before it is sent, and every response after
it arrives. The pinned checkpoint moves only once every check of an answer passed: for a fetch,
once every byte hashed to its commit (before the output appears), as the library's ``verify``
moves it only after its digest check; a failed check, in warn mode too, leaves it where it was.
In ``enforce`` mode (the default) any failure raises the catalogue's exception; in ``warn`` mode
(``mode="warn"`` or ``RECEIPTCORE_VERIFY_MODE=warn``) it is logged and returned in the result's
``warnings``, and the data is returned with it. A server in warn mode does not make
this client lenient: its warnings are failures here unless this client is in warn mode too.
"""

from __future__ import annotations

import base64
import logging
import os
import shlex
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from receiptcore.contracts import Statement, validate
from receiptcore.contracts.requests import read_request
from receiptcore.contracts.schemas import TOOL_SCHEMAS, TOOLS_V2
from receiptcore.contracts.tools import ArtifactRef, IndexRef
from receiptcore.contracts.tools_v2 import (
    ArtifactFetchResponse,
    RagQueryResponse,
    ReceiptVerifyResponse,
    ToolError,
    ToolErrorResult,
)
from receiptcore.errors import (
    ReceiptcoreError,
    SchemaError,
    ToolServerError,
    Unauthorized,
)
from receiptcore.ledger.checkpoint import Checkpoint, VerifierKey
from receiptcore.ledger.pins import TrustedCheckpoints
from receiptcore.runtime._sink import Sink
from receiptcore.runtime.checks import Pin, check_bytes, check_receipt
from receiptcore.signing.trust import Trust, load_trust
from receiptcore.util.home import ENV_TRUST, home_dir, state_dir, trust_path
from receiptcore.verify import Mode, default_mode

CHUNK = 256 << 10
"""Bytes per ``artifact.fetch`` chunk over stdio: a quarter of the cap, measured faster (a stdio
message is one JSON line, and the SDK's reader copies a long line once per 64 KiB read)."""

log = logging.getLogger("receiptcore.runtime")
log.addHandler(logging.NullHandler())



@dataclass
class Receipt:
    """A receipt this client checked: the server's response and the checkpoint it rests on."""

    response: ReceiptVerifyResponse
    checkpoint: Checkpoint | None
    warnings: list[ToolError] = field(default_factory=list)
    pin: Pin | None = field(default=None, repr=False)
    """The checkpoint to remember once the rest of the answer checked (None if it failed)."""
    statement: Statement | None = None
    """The signed statement, once its signature checked: what the artifact is (a tree or not)."""


@dataclass
class Fetched:
    """Bytes of an artifact that hashed to its commit (or, in warn mode, with the warning)."""

    artifact: ArtifactRef
    size: int
    data: bytes | None
    path: Path | None
    warnings: list[ToolError] = field(default_factory=list)


@dataclass
class FetchedTree:
    """A tree artifact written to ``path``: every file hashed to its entry in the file list,
    and the list to the commit (or, in warn mode, with the warnings)."""

    artifact: ArtifactRef
    path: Path
    files: list
    warnings: list[ToolError] = field(default_factory=list)


@dataclass
class Answer:
    response: RagQueryResponse
    warnings: list[ToolError] = field(default_factory=list)

    @property
    def hits(self):
        return self.response.hits


class ToolClient:
    def __init__(
        self,
        server: str | Sequence[str],
        *,
        trust: Trust | str | os.PathLike[str] | None = None,
        ledger_key: VerifierKey | str | None = None,
        home: str | os.PathLike[str] | None = None,
        state: str | os.PathLike[str] | None = None,
        mode: Mode | None = None,
        token: str | None = None,
        location: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.server = server
        self.mode: Mode = mode or default_mode()
        self.token = token
        self.env = env
        self.trust = trust if isinstance(trust, Trust) else load_trust(_trust_file(home, trust))
        self.ledger_key = VerifierKey.from_text(ledger_key) if isinstance(ledger_key, str) else ledger_key
        where = location or (server if isinstance(server, str) else shlex.join(server))
        self.pins = TrustedCheckpoints(state_dir(state), f"mcp:{where}")
        self._client = None
        self._refused: int | None = None
        self._errlog = None
        self._verified: dict[tuple[str, str], Receipt] = {}

    @property
    def is_http(self) -> bool:
        return isinstance(self.server, str) and self.server.startswith(("http://", "https://"))

    # --- connection -----------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        from mcp import Client

        try:
            self._client = Client(self._transport(), mode="legacy", cache=None)
            await self._client.__aenter__()
        except Exception as error:  # noqa: BLE001 - whatever failed, the client has no server
            self._client = None
            failure = self._connection_error(error)
            await self.__aexit__(None, None, None)
            raise failure from None
        return self

    async def __aexit__(self, *exc: object) -> None:
        client, self._client = self._client, None
        try:
            if client is not None:
                await client.__aexit__(*exc)
        except Exception as error:  # noqa: BLE001 - a server gone at close changes nothing
            log.debug("closing the tool server connection: %s", error)
        finally:
            if self._errlog is not None:
                self._errlog.close()

    def _transport(self):
        if self.is_http:
            from receiptcore.runtime._http import streamable_http

            def note_refusal(status: int) -> None:
                # the session reports a refused request as a generic error: keep the status
                if status in (401, 403, 421):
                    self._refused = status

            return streamable_http(self.server, self._auth_headers(), note_refusal)
        from mcp.client.stdio import StdioServerParameters, stdio_client

        argv = shlex.split(self.server) if isinstance(self.server, str) else list(self.server)
        if not argv:
            raise ToolServerError("no tool server: give a URL or a command")
        # the server's stderr is kept, not mixed into ours: its last line says why it stopped
        self._errlog = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115 - closed in __aexit__
        params = StdioServerParameters(command=argv[0], args=argv[1:], env=self.env)
        return stdio_client(params, errlog=self._errlog)

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def _connection_error(self, error: BaseException) -> ReceiptcoreError:
        """What went wrong reaching the server, as the catalogue's error."""
        if isinstance(error, ReceiptcoreError):
            return error
        where = self.server if isinstance(self.server, str) else shlex.join(self.server)
        if self._refused is not None:
            return Unauthorized(
                f"the tool server at {where} refused this client (HTTP {self._refused}): "
                "check the bearer token (--token-file, $RECEIPTCORE_MCP_TOKEN)"
            )
        reasons = [str(e) for e in _chain(error) if str(e) and not hasattr(e, "exceptions")]
        reason = self._server_said() or (reasons[0] if reasons else type(error).__name__)
        return ToolServerError(f"the tool server {where} cannot be reached or stopped: {reason}")

    def _server_said(self) -> str | None:
        """The last line the stdio server wrote on its stderr, if any."""
        if self._errlog is None:
            return None
        self._errlog.seek(0)
        lines = [line.strip() for line in self._errlog.read().splitlines() if line.strip()]
        return lines[-1] if lines else None

    async def call(self, name: str, arguments: dict[str, Any]):
        """One tool call: the request checked against its contract, the response read back as
        the contract's model; an error result raises the catalogue's exception."""
        if self._client is None:
            raise ToolServerError("the client is not connected: use `async with ToolClient(...)`")
        request_model, response_model, _ = TOOLS_V2[TOOL_SCHEMAS[name]]
        read_request(request_model, arguments, f"{name} request")
        try:
            result = await self._send(name, arguments)
        except ReceiptcoreError:
            raise
        except Exception as error:  # noqa: BLE001 - a transport failure, whatever its kind
            raise self._connection_error(error) from None
        body = result.structured_content
        if result.is_error:
            try:
                raise validate(ToolErrorResult, body, f"{name} error").error.to_exception()
            except SchemaError as error:
                raise ToolServerError(f"{name}: the server failed outside the contract ({error})") from None
        try:
            return validate(response_model, body, f"{name} response")
        except SchemaError as error:
            raise ToolServerError(f"{name}: the server answered outside the contract: {error}") from None

    async def _send(self, name: str, arguments: dict[str, Any]):
        """``tools/call`` as the session's plain request, not ``Client.call_tool``: that one also
        checks the structured content against the output schema the *server* listed (with
        jsonschema, about a millisecond per call, and a ``tools/list`` round trip first), which
        proves nothing to a client that trusts no server; :meth:`call` checks every response
        against this client's own contract instead. The result is still read as the protocol's
        ``CallToolResult``."""
        import mcp_types as types

        request = types.CallToolRequest(
            params=types.CallToolRequestParams(name=name, arguments=arguments)
        )
        return await self._client.session.send_request(request, types.CallToolResult)

    # --- the tools ------------------------------------------------------------------------------

    async def verify(self, artifact_id: str, commit: str) -> Receipt:
        """``receipt.verify`` of ``artifact_id@commit``, with every proof checked here; the pin
        moves once they all passed."""
        receipt = await self._receipt(artifact_id, commit)
        self._advance(receipt.pin, receipt.warnings)
        if not receipt.warnings:
            self._verified[(artifact_id, _hex(commit))] = receipt
        return receipt

    async def _receipt(self, artifact_id: str, commit: str) -> Receipt:
        """``receipt.verify`` with every proof checked, the pin not moved yet."""
        asked = ArtifactRef(artifact_id=artifact_id, commit=_hex(commit))
        warnings: list[ToolError] = []
        response = await self.call(
            "receipt.verify", {"artifact": asked.to_json_obj(), "since": self.pins.pinned_size()}
        )
        statement = pin = None
        for failure in response.warnings:  # the server's own failures, reported in its warn mode
            self._fail(failure.to_exception(), warnings)
        if not response.verified and not response.warnings:
            self._fail(ToolServerError("the server did not verify the receipt and said not why"), warnings)
        try:
            statement, pin = check_receipt(
                response.proof, asked, trust=self.trust, pins=self.pins, ledger_key=self.ledger_key
            )
        except ReceiptcoreError as error:
            self._fail(error, warnings)
        checkpoint = None if pin is None else pin.checkpoint
        return Receipt(response, checkpoint, warnings, pin, statement)

    def _advance(self, pin: Pin | None, warnings: list[ToolError]) -> None:
        """Remember ``pin``'s checkpoint, if every check of the answer passed (no warnings)."""
        if pin is None or warnings:
            return
        try:
            pin.advance()  # checks the extension again, under the state file's lock
        except ReceiptcoreError as error:
            self._fail(error, warnings)

    async def fetch(
        self, artifact_id: str, commit: str, out: str | os.PathLike[str] | None = None
    ) -> Fetched:
        """The artifact's bytes (in memory, or streamed to ``out``, which appears only once
        they verified), checked here: the receipt's proofs first, then every byte hashed
        against the commit; then the pin moves."""
        fetched, _ = await self._fetch(artifact_id, commit, out)
        return fetched

    async def _fetch(self, artifact_id: str, commit: str, out, pin_first: bool = True):
        """:meth:`fetch`, and the pin of its receipt: advanced here before ``out`` appears
        (``pin_first``), or left to the caller."""
        receipt = await self._receipt(artifact_id, commit)
        asked = ArtifactRef(artifact_id=artifact_id, commit=_hex(commit))
        warnings = list(receipt.warnings)
        located = await self.call("artifact.fetch", {"artifact": asked.to_json_obj()})
        if located.artifact != asked:
            raise ToolServerError(f"artifact.fetch answered for {located.artifact.artifact_id}, not {artifact_id}")
        signed = receipt.statement
        if signed is not None and located.kind != ("tree" if signed.is_tree else "file"):
            raise ToolServerError(
                f"artifact.fetch calls {artifact_id} a {located.kind}; its signed receipt does not"
            )
        pin = receipt.pin if pin_first else None
        sink = await self._receive(located, asked, out, asked.commit, artifact_id, warnings, pin=pin)
        return Fetched(asked, sink.size, sink.data, sink.path, warnings), receipt.pin

    async def _receive(
        self, located, asked: ArtifactRef, out, sha256: str, what: str, warnings, file=None,
        pin: Pin | None = None,
    ) -> Sink:
        """The bytes ``located`` names, read from its ``uri`` or in ``range`` chunks into ``out``
        (memory when None), every one hashed: they must hash to ``sha256``. Then ``pin`` moves,
        before ``out`` appears."""
        for failure in located.warnings:
            self._fail(failure.to_exception(), warnings)
        with Sink(out, located.size) as sink:
            if located.uri is not None and located.uri.startswith(("http://", "https://")):
                await self._read_url(located, sink)
            else:
                await self._read_chunks(asked, located.size, sink, file=file)
            try:
                expected = ArtifactRef(artifact_id=asked.artifact_id, commit=sha256)
                check_bytes(sink.hasher.hexdigest(), expected, f"the {sink.size} bytes of {what}")
            except ReceiptcoreError as error:
                self._fail(error, warnings)
            self._advance(pin, warnings)
            sink.keep()
        return sink

    async def fetch_tree(
        self, artifact_id: str, commit: str, out: str | os.PathLike[str]
    ) -> FetchedTree:
        """A tree artifact written to the folder ``out`` (which must not exist), checked here:
        the receipt's proofs, then its file list hashed against the commit, then every file,
        fetched by its number, hashed against the list's sha256. The pin moves, and then ``out``
        appears by one rename, only once every file did (in warn mode, with the warnings)."""
        from receiptcore.tree import read_manifest

        listing, pin = await self._fetch(artifact_id, commit, None, pin_first=False)
        warnings = list(listing.warnings)
        manifest = read_manifest(listing.data or b"", f"the file list of {artifact_id}")
        out = Path(out)
        if os.path.lexists(out):
            raise FileExistsError(17, "File exists", os.fspath(out))
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part"))
        try:
            for number, entry in enumerate(manifest.files):
                target = tmp / entry.path
                target.parent.mkdir(parents=True, exist_ok=True)
                await self._fetch_file_of(artifact_id, commit, number, entry, target, warnings)
            self._advance(pin, warnings)
            os.rename(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return FetchedTree(listing.artifact, out, manifest.files, warnings)

    async def _fetch_file_of(self, artifact_id, commit, number, entry, target, warnings) -> None:
        asked = ArtifactRef(artifact_id=artifact_id, commit=_hex(commit))
        located = await self.call(
            "artifact.fetch", {"artifact": asked.to_json_obj(), "file": number}
        )
        if located.file is None or (located.file.path, located.file.sha256) != (entry.path, entry.sha256):
            raise ToolServerError(
                f"artifact.fetch of file {number} of {artifact_id} answered for another file"
            )
        await self._receive(located, asked, target, entry.sha256,
                            f"{artifact_id}'s {entry.path}", warnings, file=number)

    async def _read_url(self, located: ArtifactFetchResponse, sink: Sink) -> None:
        """GET the server's endpoint on a worker thread: a plain blocking reader, reading
        straight into the sink's buffers while its own thread hashes them, where an async HTTP
        client's per-piece overhead did not keep up (benches/)."""
        import anyio

        await anyio.to_thread.run_sync(self._get, located.uri, sink)

    def _get(self, uri: str, sink: Sink) -> None:
        import http.client
        from urllib.parse import urlsplit

        parts = urlsplit(uri)
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = kind(parts.hostname, parts.port, timeout=300)
        try:
            connection.request("GET", parts.path, headers=self._auth_headers())
            response = connection.getresponse()
            if response.status in (401, 403, 421):
                raise Unauthorized(f"{uri}: HTTP {response.status}")
            if response.status != 200:
                raise ToolServerError(f"{uri}: HTTP {response.status}")
            if response.length is not None and response.length != sink.declared:
                raise ToolServerError(
                    f"{uri}: the server sends {response.length} bytes; artifact.fetch declared "
                    f"{sink.declared}"
                )
            sink.receive(response.readinto)
            if sink.size < sink.declared:  # the server cut the stream
                raise ToolServerError(
                    f"{uri}: the transfer stopped {sink.declared - sink.size} bytes short"
                )
            if response.length is None and response.read(1):
                raise ToolServerError(f"{uri}: the server sent more than the {sink.declared} bytes declared")
        except (OSError, http.client.HTTPException) as error:
            raise ToolServerError(f"{uri}: the transfer failed ({error})") from None
        finally:
            connection.close()

    async def _read_chunks(
        self, asked: ArtifactRef, size: int, sink: Sink, file: int | None = None
    ) -> None:
        offset = 0
        which = {} if file is None else {"file": file}
        while True:
            response = await self.call(
                "artifact.fetch",
                {"artifact": asked.to_json_obj(), "range": {"offset": offset, "length": CHUNK},
                 **which},
            )
            chunk = response.chunk
            if chunk is None or chunk.offset != offset:
                raise ToolServerError(f"artifact.fetch: the server sent no chunk at offset {offset}")
            piece = base64.b64decode(chunk.data, validate=True)
            if len(piece) != chunk.length or (not piece and not chunk.eof):
                raise ToolServerError(f"artifact.fetch: a chunk at offset {offset} is malformed")
            sink.write(piece)
            offset += len(piece)
            if chunk.eof or offset >= size:
                return

    async def query(self, index: IndexRef | dict, query: str, top_k: int = 5) -> Answer:
        """``rag.query``: the index, its model and its chunk table verified here (once per
        commit), then the hits; the answer must name exactly what was verified."""
        index = index if isinstance(index, IndexRef) else IndexRef.model_validate(index)
        warnings: list[ToolError] = []
        await self._verified_once(index.artifact_id, index.commit, warnings)
        response = await self.call(
            "rag.query", {"index": index.to_json_obj(), "query": query, "top_k": top_k}
        )
        for failure in response.warnings:
            self._fail(failure.to_exception(), warnings)
        provenance = response.provenance
        if (provenance.index.artifact_id, provenance.index.commit) != (index.artifact_id, index.commit):
            self._fail(
                ToolServerError(f"rag.query answered from {provenance.index.artifact_id}, not the index asked"),
                warnings,
            )
        for used in (provenance.model, provenance.chunks):
            await self._verified_once(used.artifact_id, used.commit, warnings)
        return Answer(response, warnings)

    async def _verified_once(self, artifact_id: str, commit: str, warnings: list[ToolError]) -> Receipt:
        cached = self._verified.get((artifact_id, commit))
        if cached is None:
            cached = await self.verify(artifact_id, commit)
            warnings.extend(cached.warnings)
        return cached

    def _fail(self, error: Exception, warnings: list[ToolError]) -> None:
        """Raise in enforce mode; in warn mode log it and keep it with the result."""
        if self.mode == "enforce":
            raise error
        log.warning("verification failed (mode=warn, carrying on): %s", error)
        warnings.append(ToolError.of(error))


def _trust_file(home, trust) -> Path:
    """The trust file: ``trust``, else ``$RECEIPTCORE_TRUST``, else the home's; a runtime
    given its trust file needs no receiptcore home of its own."""
    if trust is not None or os.environ.get(ENV_TRUST):
        return trust_path(Path(), trust)
    return trust_path(home_dir(home))


def _hex(commit: str) -> str:
    from receiptcore.commit import Commit

    return Commit.parse(commit).hex


def _chain(error: BaseException):
    seen = set()
    todo = [error]
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo.extend(getattr(e, "exceptions", ()))
        for nxt in (e.__cause__, e.__context__):
            if nxt is not None:
                todo.append(nxt)
