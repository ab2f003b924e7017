"""What the tools do, apart from how they are served: ``receipt.verify`` and ``artifact.fetch``
over the embedded ledger and store (``rag.query`` is in :mod:`receiptcore.tools.rag`).

Everything goes through the one :func:`receiptcore.verify.verify`. ``receipt.verify`` returns its
verdict with the proofs it rests on, read from the same ledger at the same sizes;
``artifact.fetch`` serves only bytes that verified: a file artifact's object, or a tree
artifact's file list (the object stored under the tree's commit) and each of its files by number.
Because a caller verifies, then reads a large artifact in many chunks, a successful verdict is
kept per ``(artifact id, commit)`` and the whole verification is run again whenever the ``stat``
(device, inode, size, mtime and ctime in nanoseconds) of a stored object it covers (for a tree,
every file's), the ledger's size or the trust file changes. The stats are taken before the
verification reads the objects, so a change during it shows at the next call; a tree's files
are known, and stat'ed, only once its first verification has read its file list. The client
re-hashes whatever it reads.
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
    stats: dict[str, tuple[int, ...] | None]
    """The stat of every object the verdict covers, by commit hex (a tree's file list first)."""
    ledger_size: int
    trust: tuple[int, ...] | None
    files: list | None = None
    """A tree's file list (:class:`~receiptcore.contracts.tree.TreeFile` rows), as verified."""


class _LedgerSize:
    """The ledger's size, for the verdict cache's key, read on a kept read-only connection.

    Opening the SQLite ledger (connect, check that it holds a ledger) cost more than the rest of
    a cached call, and a ``rag.query`` reads the size twice; a live connection sees every append,
    so it is kept. It is opened again when the ledger resolves to another folder (``--ledger``,
    ``$RECEIPTCORE_LEDGER``, the config file) or the database file's device, inode, size, mtime
    or ctime changed: another file put in its place, or the file rewritten in place (an append
    goes to the WAL beside it; the file itself changes when the WAL is checkpointed into it,
    which costs one reopen). The stat is taken before the file is opened, and while the
    connection holds the file its inode cannot be reused, so a replaced file always shows.
    Other backends are opened per call, as before."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._kept: tuple[tuple, object] | None = None

    def __call__(self) -> int:
        from receiptcore.ledger import open_ledger, sqlite_folder
        from receiptcore.util.locations import ledger_url

        try:
            folder = sqlite_folder(ledger_url(self.config.ledger), home=self.config.home)
            if folder is None:
                with open_ledger(self.config.ledger, home=self.config.home) as ledger:
                    return ledger.size()
        except ReceiptcoreError:
            return -1
        with self._lock:
            try:
                return self._kept_ledger(folder).size()
            except ReceiptcoreError:
                self.close()
                return -1

    def _kept_ledger(self, folder: Path):
        from receiptcore.ledger.sqlite import DB_FILE, SqliteLedger

        try:
            key = (os.fspath(folder.absolute()), _stat(folder / DB_FILE))
        except OSError:
            key = None  # no ledger file: opening it says so
        if self._kept is None or key is None or self._kept[0] != key:
            self.close()
            self._kept = (key, SqliteLedger.open_readonly(folder))
        return self._kept[1]

    def close(self) -> None:
        """Close the kept connection (the caller holds the lock)."""
        kept, self._kept = self._kept, None
        if kept is not None:
            kept[1].close()


@dataclass
class ToolService:
    config: ServerConfig
    _cache: dict[tuple[str, str], _Cached] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _rag: object = None
    _ledger_size: _LedgerSize = field(init=False)

    def __post_init__(self) -> None:
        self._ledger_size = _LedgerSize(self.config)

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

    async def rag_query(self, request):
        """``rag.query``: see :mod:`receiptcore.tools.rag` (loaded on first use); called on the
        event loop, which it does not block."""
        if self._rag is None:  # only the event loop's thread sets it
            from receiptcore.tools.rag import RagIndexes

            self._rag = RagIndexes(self)
        return await self._rag.query(request)

    def model_folder(self, artifact_id: str, commit: str) -> tuple[Verdict, Path]:
        """A model (a tree artifact) as a folder the engine can load: materialised once from the
        store into ``<home>/cache/models/<commit>`` by the library's fetch (receipt checked,
        every byte hashed on the way, written whole or not at all), and that folder verified
        file by file before every later (re)load."""
        from receiptcore.fetch import fetch_verdict

        c = self.config
        folder = c.home / "cache" / "models" / Commit.parse(commit).hex
        if not folder.is_dir():  # the copy out of the store is the digest check: hashed once
            folder.parent.mkdir(parents=True, exist_ok=True)
            verdict = fetch_verdict(artifact_id, out=folder, commit=commit, home=c.home,
                                    trust=c.trust, ledger_key=c.ledger_key, state=c.state,
                                    ledger=c.ledger, store=c.store)
            return verdict, folder
        verdict = verify(path=folder, artifact_id=artifact_id, commit=commit, home=c.home,
                         trust=c.trust, ledger_key=c.ledger_key, state=c.state, mode=c.mode,
                         ledger=c.ledger, store=c.store)
        return verdict, folder

    # --- artifact.fetch -----------------------------------------------------------------------

    def artifact_fetch(self, request: ArtifactFetchRequest) -> ArtifactFetchResponse:
        """A file artifact's object; a tree's file list, or with ``file`` the file of that
        number in it: where it can be read, its size and, with ``range``, its bytes."""
        artifact = request.artifact
        verdict = self.verified(artifact.artifact_id, artifact.commit)
        kind = verdict.kind or "file"
        target, fetched = artifact.commit, None
        if request.file is not None:
            if kind != "tree":
                raise SchemaError(
                    f"artifact.fetch request: file: {artifact.artifact_id} is a file artifact, "
                    "not a tree"
                )
            files = self.tree_files(artifact.artifact_id, artifact.commit)
            if request.file >= len(files):
                raise SchemaError(
                    f"artifact.fetch request: file: {request.file} is past the end of "
                    f"{artifact.artifact_id}'s {len(files)} files (numbered from 0)"
                )
            entry = files[request.file]
            target = entry.sha256
            fetched = {"number": request.file, **entry.to_json_obj()}
        path = self.object_path(target)
        size = path.stat().st_size
        chunk = None if request.range is None else self._chunk(path, size, request.range)
        return validate(
            ArtifactFetchResponse,
            {
                "artifact": artifact.to_json_obj(),
                "kind": kind,
                "size": size,
                "uri": self.object_url(target),
                "file": fetched,
                "chunk": chunk,
                "ledger_index": verdict.ledger_index,
                "checkpoint_size": verdict.checkpoint_size,
                "warnings": [w.to_json_obj() for w in warnings_of(verdict)],
            },
            "artifact.fetch response",
        )

    def tree_files(self, artifact_id: str, commit: str) -> list:
        """The file list of a tree, as its verification read it (re-read through the store's
        hash-checking reader when the verdict was not kept: a warn-mode failure)."""
        with self._lock:
            cached = self._cache.get((artifact_id, commit))
        if cached is not None and cached.files is not None:
            return cached.files
        return self._read_tree(commit)

    def _read_tree(self, commit: str) -> list:
        from receiptcore.digests import read_tree_manifest

        return list(read_tree_manifest(self.store(), Commit.parse(commit)).files)

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
        path = self._local_store(commit).path(commit)
        if not path.is_file():
            raise ObjectNotFound(f"the artifact store has no object {Commit.parse(commit)}")
        return path

    def _local_store(self, commit: str):
        from receiptcore.store import LocalStore

        store = self.store()
        if not isinstance(store, LocalStore):
            raise ToolUnavailable(
                f"this server reads bytes from a folder store only; {store.uri(commit)} is "
                "the object's own URL"
            )
        return store

    def store(self):
        """The artifact store the server reads (``--store``, else the home's folder)."""
        from receiptcore.store import open_store

        return open_store(self.config.store, home=self.config.home)

    def served(self, commit_hex: str) -> Path | None:
        """The object of a commit that a fetch verified (a file artifact, a tree's file list or
        one of its files), while nothing about it changed."""
        with self._lock:
            cached = [c for c in self._cache.values() if commit_hex in c.stats]
        for entry in cached:
            path = self.object_path(commit_hex)
            if entry.verdict.verified and entry.stats[commit_hex] == _stat(path):
                return path
        return None

    # --- verification, cached for the tools that read bytes -----------------------------------

    def verified(self, artifact_id: str, commit: str) -> Verdict:
        """The verdict on ``artifact_id@commit``, reused while the object's stat and the
        ledger's size are unchanged; in ``enforce`` mode a failure raises."""
        key = (artifact_id, commit)
        kept = self.current(key)[0]
        if kept is not None:
            return kept
        stats = self._stats([commit])
        ledger_size = self._ledger_size()
        trust = self._trust_stat()
        verdict = self._verify(artifact_id, commit)
        if verdict.verified:
            files = None
            if verdict.kind == "tree":
                files = self._read_tree(commit)
                stats |= self._stats([f.sha256 for f in files if f.sha256 not in stats])
            with self._lock:
                self._cache[key] = _Cached(verdict, stats, ledger_size, trust, files)
        return verdict

    def current(self, *refs: tuple[str, str]) -> list[Verdict | None]:
        """The kept verdict of each ``(artifact id, commit)`` while nothing it rests on changed
        (the stat of every object it covers, the ledger's size, the trust file), else None;
        never verifies. The ledger and the trust file are read once for all of them: a cached
        ``rag.query`` asks for its index and chunk table on every call."""
        with self._lock:
            kept = [self._cache.get(ref) for ref in refs]
        if not any(kept):
            return [None] * len(refs)
        ledger_size, trust = self._ledger_size(), self._trust_stat()
        stats = self._stats([commit for k in kept if k is not None for commit in k.stats])
        return [
            k.verdict
            if k is not None and (k.ledger_size, k.trust) == (ledger_size, trust)
            and all(stats[commit] == stat for commit, stat in k.stats.items())
            else None
            for k in kept
        ]

    def _stats(self, commits: list[str]) -> dict[str, tuple[int, ...] | None]:
        """The stat of each stored object (None: not in the store)."""
        store = self._local_store(commits[0]) if commits else None
        found: dict[str, tuple[int, ...] | None] = {}
        for commit in commits:
            try:
                found[commit] = _stat(store.path(commit))
            except FileNotFoundError:
                found[commit] = None
        return found

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


def _stat(path: Path) -> tuple[int, ...]:
    s = path.stat()
    return (s.st_dev, s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns)
