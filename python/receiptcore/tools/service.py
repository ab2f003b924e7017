"""What the tools do, apart from how they are served: ``receipt.verify`` and ``artifact.fetch``
over the embedded ledger and store (``rag.query`` is in :mod:`receiptcore.tools.rag`).

Everything goes through the one :func:`receiptcore.verify.verify`. ``receipt.verify`` returns its
verdict with the proofs it rests on, read from the same ledger at the same sizes;
``artifact.fetch`` serves only bytes that verified. Because a caller verifies, then reads a large
artifact in many chunks, a successful verdict is kept per ``(artifact id, commit)`` and the whole
verification is run again whenever the stored object's ``stat`` (device, inode, size, mtime and
ctime in nanoseconds) or the ledger's size, or the trust file, changes. The client re-hashes whatever it reads.
"""

from __future__ import annotations

import base64
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from receiptcore.commit import Commit
from receiptcore.contracts import validate
from receiptcore.contracts.tools_v2 import (
    MAX_CHUNK,
    ArtifactFetchRequest,
    ArtifactFetchResponse,
    ReceiptProof,
    ReceiptVerifyRequest,
    ReceiptVerifyResponse,
    ToolError,
)
from receiptcore.errors import (
    ObjectNotFound,
    ReceiptcoreError,
    RequestTooLarge,
    SchemaError,
    ToolUnavailable,
)
from receiptcore.ledger.checkpoint import Checkpoint
from receiptcore.verify import Mode, Verdict, verify


def warnings_of(*verdicts: Verdict) -> list[ToolError]:
    return [ToolError.of(v.error) for v in verdicts if v.error is not None]


@dataclass
class ServerConfig:
    """Where the server's ledger, store and trust are, and how it decides."""

    home: Path
    trust: str | None = None
    ledger_key: str | None = None
    state: Path | None = None
    mode: Mode = "enforce"
    ledger: str | None = None
    """The ledger's URL (``--ledger``; None: the fallbacks, else the SQLite ledger in home)."""
    store: str | None = None
    """The store's URL (``--store``; None: the fallbacks, else ``<home>/objects``)."""
    max_chunk: int = MAX_CHUNK
    base_url: str | None = None
    """Where this server's HTTP endpoint is, as clients reach it (None over stdio)."""


@dataclass
class _Cached:
    verdict: Verdict
    stat: tuple[int, ...] | None
    ledger_size: int
    trust: tuple[int, ...] | None


@dataclass
class ToolService:
    config: ServerConfig
    _cache: dict[tuple[str, str], _Cached] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _rag: object = None

    # --- receipt.verify -----------------------------------------------------------------------

    def receipt_verify(self, request: ReceiptVerifyRequest) -> ReceiptVerifyResponse:
        verdict = self.verified(request.artifact.artifact_id, request.artifact.commit)
        return validate(
            ReceiptVerifyResponse,
            {
                **verdict.to_response().to_json_obj(),
                "checkpoint_size": verdict.checkpoint_size,
                "proof": self._proof(verdict, request.since),
                "warnings": [w.to_json_obj() for w in warnings_of(verdict)],
            },
            "receipt.verify response",
        )

    def _proof(self, verdict: Verdict, since: int | None) -> dict | None:
        """The ledger entry, inclusion proof, signed checkpoint and consistency proof that the
        verdict rests on, read at the sizes it used."""
        if verdict.ledger_index is None:
            return None
        with self._ledger() as ledger:
            entry = ledger.entry(verdict.ledger_index)
            note = ledger.checkpoint_note(verdict.checkpoint_size)
            size = Checkpoint.unverified(note).size  # the size the verdict was checked at
            if entry.index >= size:
                return None
            consistency = None
            if since is not None and since <= size:
                consistency = {
                    "from_size": since,
                    "to_size": size,
                    "hashes": [h.hex() for h in ledger.consistency_proof(since, size)],
                }
            return validate(
                ReceiptProof,
                {
                    "entry": entry.data.decode("utf-8"),
                    "ledger_index": entry.index,
                    "inclusion": {
                        "tree_size": size,
                        "hashes": [h.hex() for h in ledger.inclusion_proof(entry.index, size)],
                    },
                    "checkpoint": note,
                    "consistency": consistency,
                    "ledger_key": ledger.verifier_key.to_text(),
                },
                "receipt proof",
            ).to_json_obj()

    # --- rag.query ----------------------------------------------------------------------------

    def rag_query(self, request):
        """``rag.query``: see :mod:`receiptcore.tools.rag` (loaded on first use)."""
        with self._lock:
            if self._rag is None:
                from receiptcore.tools.rag import RagIndexes

                self._rag = RagIndexes(self)
        return self._rag.query(request)

    def model_folder(self, artifact_id: str, commit: str) -> tuple[Verdict, Path]:
        """A model (a tree artifact) as a folder the engine can load: materialised once from the
        store into ``<home>/cache/models/<commit>`` (verified on the way, written whole or not
        at all), and that folder verified file by file before every (re)load."""
        from receiptcore.fetch import fetch

        c = self.config
        folder = c.home / "cache" / "models" / Commit.parse(commit).hex
        if not folder.is_dir():
            folder.parent.mkdir(parents=True, exist_ok=True)
            fetch(artifact_id, out=folder, commit=commit, home=c.home, trust=c.trust,
                  ledger_key=c.ledger_key, state=c.state)
        verdict = verify(path=folder, artifact_id=artifact_id, commit=commit, home=c.home,
                         trust=c.trust, ledger_key=c.ledger_key, state=c.state, mode=c.mode,
                         ledger=c.ledger, store=c.store)
        return verdict, folder

    # --- artifact.fetch -----------------------------------------------------------------------

    def artifact_fetch(self, request: ArtifactFetchRequest) -> ArtifactFetchResponse:
        artifact = request.artifact
        verdict = self.verified(artifact.artifact_id, artifact.commit)
        if request.file is not None:
            raise SchemaError(
                f"artifact.fetch request: file: {artifact.artifact_id} is a file artifact, "
                "not a tree"
            )
        path = self.object_path(artifact.commit)
        size = path.stat().st_size
        chunk = None if request.range is None else self._chunk(path, size, request.range)
        return validate(
            ArtifactFetchResponse,
            {
                "artifact": artifact.to_json_obj(),
                "kind": "file",
                "size": size,
                "uri": self.object_url(artifact.commit),
                "file": None,
                "chunk": chunk,
                "ledger_index": verdict.ledger_index,
                "checkpoint_size": verdict.checkpoint_size,
                "warnings": [w.to_json_obj() for w in warnings_of(verdict)],
            },
            "artifact.fetch response",
        )

    def _chunk(self, path: Path, size: int, wanted) -> dict:
        if wanted.length > self.config.max_chunk:
            raise RequestTooLarge(
                f"artifact.fetch request: range.length: {wanted.length} bytes, over this "
                f"server's cap of {self.config.max_chunk} per call"
            )
        if wanted.offset > size:
            raise SchemaError(
                f"artifact.fetch request: range.offset: {wanted.offset} is past the end "
                f"({size} bytes)"
            )
        fd = os.open(path, os.O_RDONLY)
        try:
            data = os.pread(fd, wanted.length, wanted.offset)
        finally:
            os.close(fd)
        return {
            "offset": wanted.offset,
            "length": len(data),
            "data": base64.b64encode(data).decode("ascii"),
            "eof": wanted.offset + len(data) >= size,
        }

    def object_url(self, commit: str) -> str | None:
        """The server's own endpoint for a verified object (None without an HTTP endpoint)."""
        if self.config.base_url is None:
            return None
        return f"{self.config.base_url}/objects/sha256/{Commit.parse(commit).hex}"

    def object_path(self, commit: str) -> Path:
        """The stored object's file: bytes are served from a folder store (a remote store's
        objects are fetched by their own URL, which ``uri`` gives)."""
        from receiptcore.store import LocalStore, open_store

        store = open_store(self.config.store, home=self.config.home)
        if not isinstance(store, LocalStore):
            raise ToolUnavailable(
                f"this server reads bytes from a folder store only; {store.uri(commit)} is "
                "the object's own URL"
            )
        path = store.path(commit)
        if not path.is_file():
            raise ObjectNotFound(f"the artifact store has no object {Commit.parse(commit)}")
        return path

    def served(self, commit_hex: str) -> Path | None:
        """The object of a commit that a fetch verified, while nothing about it changed."""
        with self._lock:
            cached = [c for (_, h), c in self._cache.items() if h == commit_hex]
        for entry in cached:
            path = self.object_path(commit_hex)
            if entry.verdict.verified and entry.stat == _stat(path):
                return path
        return None

    # --- verification, cached for the tools that read bytes -----------------------------------

    def verified(self, artifact_id: str, commit: str) -> Verdict:
        """The verdict on ``artifact_id@commit``, reused while the object's stat and the
        ledger's size are unchanged; in ``enforce`` mode a failure raises."""
        key = (artifact_id, commit)
        try:
            stat = _stat(self.object_path(commit))
        except ObjectNotFound:
            stat = None
        ledger_size = self._ledger_size()
        trust = self._trust_stat()
        with self._lock:
            cached = self._cache.get(key)
        if cached and (cached.stat, cached.ledger_size, cached.trust) == (stat, ledger_size, trust):
            return cached.verdict
        verdict = self._verify(artifact_id, commit)
        if verdict.verified:
            with self._lock:
                self._cache[key] = _Cached(verdict, stat, ledger_size, trust)
        return verdict

    def _trust_stat(self) -> tuple[int, ...] | None:
        """A changed trust file (a key removed) is a change too."""
        from receiptcore.util.home import trust_path

        try:
            return _stat(trust_path(self.config.home, self.config.trust))
        except OSError:
            return None

    def _verify(self, artifact_id: str, commit: str) -> Verdict:
        c = self.config
        return verify(
            artifact_id=artifact_id,
            commit=commit,
            home=c.home,
            trust=c.trust,
            ledger_key=c.ledger_key,
            state=c.state,
            mode=c.mode,
            ledger=c.ledger,
            store=c.store,
        )

    def _ledger(self):
        from receiptcore.ledger import open_ledger

        return open_ledger(self.config.ledger, home=self.config.home)

    def _ledger_size(self) -> int:
        try:
            with self._ledger() as ledger:
                return ledger.size()
        except ReceiptcoreError:
            return -1


def _stat(path: Path) -> tuple[int, ...]:
    s = path.stat()
    return (s.st_dev, s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns)
