"""``rag.query``: passages from a verified index, embedded by the verified model that built it.

What an index is comes from its own receipt (docs/pipelines.md, "What a published index
holds"): the receipt names the index's build manifest, whose ``parameters.inputs`` name the
``model`` (a sentence-transformers folder artifact) and the ``chunks`` table (JSON Lines, one row
per index key). Each is verified through the one :func:`receiptcore.verify.verify` before a byte
of it is used; whether queries are normalized is what the chunk table's own build says.

Loaded once per ``(index id, artifact id, commit)`` and kept: every later query re-checks the
verdicts (cheap while the stored objects' ``stat`` and the ledger's size are unchanged; a full
re-verification, then a reload, when either changed).

The library never imports the ML stack (its import contract says so, and ``make test`` checks it
with ``receiptcore scan``): the embedding model and the index readers are the models side's
**rag engine**, found through the entry point ``receiptcore.engines:rag`` that ``pipelines/``
installs. Without it, rag.query answers ToolUnavailable and the other tools work as before.
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import importlib.metadata
import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from receiptcore.commit import Commit
from receiptcore.contracts import BuildManifest, validate
from receiptcore.contracts.tools import IndexRef
from receiptcore.contracts.tools_v2 import RagQueryRequest, RagQueryResponse, ToolError
from receiptcore.errors import ToolUnavailable
from receiptcore.tools.batches import Batches
from receiptcore.verify import Verdict

ENGINE_GROUP = "receiptcore.engines"
INDEX_KINDS = {".faiss": "faiss", ".usearch": "usearch"}


SPINCOUNT = "100000"
"""How long an idle thread of the engine's OpenMP team (GNU libgomp, torch's) spins before it
sleeps, unless ``GOMP_SPINCOUNT`` or ``OMP_WAIT_POLICY`` is set. libgomp's default (300,000
spins) kept the team's second thread spinning for milliseconds after every encode, on one of
the two cores the event loop and a local client need to send the answer: on 2 cores, one HTTP
client alone, 10,000 to 100,000 took ~5 ms of server CPU and ~2 ms of p50 off a query. Fewer
spins cost throughput (8 clients: 100,000 within noise of the default, 10,000 -20%, 1,000
-40%, as ``OMP_WAIT_POLICY=PASSIVE``): the team then sleeps between the parallel regions of
one encode."""


def load_engine() -> Any:
    """The rag engine the models side installs (``pipelines``), or ToolUnavailable."""
    found = importlib.metadata.entry_points(group=ENGINE_GROUP, name="rag")
    if not found:
        raise ToolUnavailable(
            "rag.query needs the models side's rag engine, which is not installed here: "
            "pip install 'receiptcore[pipelines]' ./pipelines"
        )
    return next(iter(found)).load()()


@dataclass
class _Loaded:
    verdicts: tuple[Verdict, Verdict, Verdict]
    refs: dict[str, tuple[str, str]]
    folder: Path
    stamp: tuple
    encode: Any
    search: Any
    rows: list[dict]


class RagIndexes:
    """The indexes this server has loaded, each keyed by its reference."""

    def __init__(self, service) -> None:
        # before the engine's thread imports torch: libgomp reads its settings when it is loaded
        if "GOMP_SPINCOUNT" not in os.environ and "OMP_WAIT_POLICY" not in os.environ:
            os.environ["GOMP_SPINCOUNT"] = SPINCOUNT
        self.service = service
        self._loaded: dict[tuple[str, str, str], _Loaded] = {}
        self._locks: dict[tuple[str, str, str], threading.Lock] = {}
        self._guard = threading.Lock()
        self._engine: Future | None = None
        self._engine_thread = ThreadPoolExecutor(1, "receiptcore-rag-engine")
        self._batches = Batches(self._engine_thread, self._search_loaded)
        # Frozen objects (_load, and the CLI's entry before it exits) are never collected;
        # at exit triton's bindings, loaded through torch, then report them as leaks on
        # stderr: the last lines a client reads from a stdio server that stopped.
        atexit.register(gc.unfreeze)

    async def query(self, request: RagQueryRequest) -> RagQueryResponse:
        """The answer, from the event loop: while the index is loaded and nothing it rests on
        changed, the check, the encode and the search are one trip to the engine's thread (the
        hop through a worker thread that waited on it cost two thread wake-ups per query),
        with the queries that waited for it meanwhile (:mod:`receiptcore.tools.batches`);
        otherwise a worker thread (re)verifies and (re)loads it first, as the first query does.
        Both servers run on asyncio (``anyio.run``'s default), which awaits the engine's future."""
        kind = _index_kind(request.index)  # an unknown index id is refused before anything is read
        key = (request.index.index_id, request.index.artifact_id, request.index.commit)
        ready = await asyncio.wrap_future(self._batches.submit(key, request))
        if ready is None:
            ready = await anyio.to_thread.run_sync(self._search_loading, key, kind, request)
        return _response(request, *ready)

    def _search_loaded(self, key, requests: list[RagQueryRequest]) -> list:
        """On the engine's thread: ``(loaded, found)`` for each request if ``key`` is loaded and
        unchanged (one check for all of them), else None for each. Never loads or verifies
        (that would hold up every other query) and takes no lock (a loader holds its lock while
        it waits for this thread)."""
        loaded = self._loaded.get(key)
        if loaded is None or not self._unchanged(loaded):
            return [None] * len(requests)
        return [(loaded, found) for found in self._search(loaded, requests)]

    def _search_loading(self, key, kind: str, request: RagQueryRequest):
        """On a worker thread: ``(loaded, found)``, verifying and loading the index first."""
        loaded = self._get(request.index, key, kind)
        return loaded, self._on_engine(self._search, loaded, [request])[0]

    @staticmethod
    def _search(loaded: _Loaded, requests: list[RagQueryRequest]) -> list[list[tuple[int, float]]]:
        """The hits of each request: their queries embedded in one batch, each searched alone."""
        vectors = loaded.encode([r.query for r in requests])
        return [loaded.search(vectors[i : i + 1], min(r.top_k, len(loaded.rows)))
                for i, r in enumerate(requests)]

    # --- loading, once per commit -------------------------------------------------------------

    def _get(self, ref: IndexRef, key: tuple[str, str, str], kind: str) -> _Loaded:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # one loader per index; other indexes load meanwhile
            loaded = self._loaded.get(key)
            if loaded is not None and self._unchanged(loaded):
                return loaded
            loaded = self._load(ref, kind)
            self._loaded[key] = loaded
            return loaded

    def _unchanged(self, loaded: _Loaded) -> bool:
        """Still the bytes that verified: the cached verdicts stand (same objects, ledger and
        trust file) and the model folder's files have the same stat."""
        index, _, chunks = loaded.verdicts
        kept = self.service.current(loaded.refs["index"], loaded.refs["chunks"])
        return kept[0] is index and kept[1] is chunks and _stamp(loaded.folder) == loaded.stamp

    def _engine_future(self) -> Future:
        """The engine, built on its thread (it imports torch and the index readers) while the
        rest of the index's lineage is hashed: nothing is loaded before it verified, and an
        index that did not verify never costs the import."""
        with self._guard:
            if self._engine is None:
                self._engine = self._engine_thread.submit(load_engine)
            return self._engine

    def _on_engine(self, work: Callable[..., Any], *args: Any) -> Any:
        """``work(*args)`` on the engine's one thread, which loads every model and index and runs
        every encode and search. Torch (and faiss) run a parallel region on an OpenMP team that
        belongs to the calling thread; called from whichever worker thread took the request, a
        server grew a team per worker, whose idle threads spin against the working one: on 2
        cores a query's encode took 17-21 ms there against 10-13 ms on one thread, which is
        also what a model loaded and called in one thread takes in-process. The caller's
        worker thread waits; requests to other tools are not held up."""
        return self._engine_thread.submit(work, *args).result()

    def _load(self, ref: IndexRef, kind: str) -> _Loaded:
        from receiptcore.lineage import input_refs, read_stored_manifest

        home, store = self.service.config.home, self.service.config.store
        index = self.service.verified(ref.artifact_id, ref.commit)
        engine = self._engine_future()
        build = read_stored_manifest(index.build_manifest_commit, BuildManifest, home=home,
                                     store=store)
        inputs = input_refs(build, index.build_manifest_commit)
        missing = {"model", "chunks"} - set(inputs)
        if missing:
            raise ToolUnavailable(
                f"{ref.artifact_id} is not an index built by `receiptcore pipeline index`: its "
                f"build names no {' and no '.join(sorted(missing))}"
            )
        refs = {"index": (ref.artifact_id, ref.commit)}
        for role in ("model", "chunks"):
            artifact_id, commit = inputs[role]
            refs[role] = (artifact_id, Commit.parse(str(commit)).hex)
        chunks = self.service.verified(*refs["chunks"])
        embed_build = read_stored_manifest(chunks.build_manifest_commit, BuildManifest, home=home,
                                           store=store)
        normalize = bool(embed_build.inputs.parameters.get("normalize", True))
        model, folder = self.service.model_folder(*refs["model"])
        stamp = _stamp(folder)
        rows = _read_chunk_table(self.service, refs["chunks"][1])
        rag = engine.result()
        encode = self._on_engine(rag.encoder, str(folder), normalize)
        search = self._on_engine(rag.index, str(self.service.object_path(ref.commit)), kind)
        # What was just imported and loaded (torch, the model, the index: some 550,000 objects)
        # lives as long as the server: out of the collector's sight, a full collection walked
        # it all (0.26 s) and stalled one query in a few hundred by that much. (Collected at
        # exit again: see __init__.)
        gc.freeze()
        return _Loaded((index, model, chunks), refs, folder, stamp, encode, search, rows)


def _response(request: RagQueryRequest, loaded: _Loaded, found) -> RagQueryResponse:
    """The answer to ``request`` from ``found`` (``(row, score)`` pairs, best first), validated
    against its contract here, the one check before it is sent."""
    hits = []
    for rank, (row, score) in enumerate(found, start=1):
        chunk = loaded.rows[row]
        hits.append({
            "rank": rank, "score": float(score), "path": chunk["path"],
            "chunk": chunk["chunk"], "row": chunk["row"], "text": chunk["text"],
            "sha256": chunk["sha256"],
        })
    index_verdict, model_verdict, chunks_verdict = loaded.verdicts
    return validate(
        RagQueryResponse,
        {
            "index": request.index.to_json_obj(),
            "hits": hits,
            "provenance": {
                "index": _provenance(loaded.refs["index"], index_verdict),
                "model": _provenance(loaded.refs["model"], model_verdict),
                "chunks": _provenance(loaded.refs["chunks"], chunks_verdict),
                "checkpoint_size": index_verdict.checkpoint_size,
            },
            "warnings": [
                w.to_json_obj() for w in _warnings(index_verdict, model_verdict, chunks_verdict)
            ],
        },
        "rag.query response",
    )


def _stamp(folder: Path) -> tuple:
    """Every entry under a folder with its lstat: what changes when a byte of the model is edited.
    Taken before every query, so walked with ``os.scandir`` on plain strings (``Path.rglob``
    made a third of a cached query's time on the server)."""
    entries = []
    todo = [os.fspath(folder)]
    while todo:
        with os.scandir(todo.pop()) as found:
            for entry in found:
                s = entry.stat(follow_symlinks=False)
                entries.append((entry.path, s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns))
                if entry.is_dir(follow_symlinks=False):
                    todo.append(entry.path)
    return tuple(sorted(entries))


def _index_kind(ref: IndexRef) -> str:
    """``faiss`` or ``usearch``: the index ``ID`` is published as ``ID.faiss`` and ``ID.usearch``."""
    for suffix, kind in INDEX_KINDS.items():
        if ref.artifact_id == ref.index_id + suffix:
            return kind
    raise ToolUnavailable(
        f"unknown index id {ref.index_id!r} for {ref.artifact_id}: the indexes of an id are "
        f"{ref.index_id}.faiss and {ref.index_id}.usearch"
    )


def _read_chunk_table(service, commit: str) -> list[dict]:
    """The chunk table's rows, read through the store's reader that checks the bytes' sha256."""
    with service.store().open(commit) as reader:
        data = reader.read()
    rows = [json.loads(line) for line in data.decode("utf-8").splitlines() if line]
    for number, row in enumerate(rows):
        if row.get("row") != number:
            raise ToolUnavailable(f"chunk table {commit}: row {number} is numbered {row.get('row')}")
    return rows


def _provenance(ref: tuple[str, str], verdict: Verdict) -> dict:
    return {"artifact_id": ref[0], "commit": ref[1], "ledger_index": verdict.ledger_index}


def _warnings(*verdicts: Verdict) -> list[ToolError]:
    return [ToolError.of(v.error) for v in verdicts if v.error is not None]
