"""The tool server against doing the same work in-process, side by side in one run.

- ``artifact.fetch`` of a 1 GiB artifact (verified on the server, cached; streamed from its HTTP
  endpoint; every byte hashed by the client) vs reading and hashing the same stored file locally
  (``hashlib.sha256``, 1 MiB reads); target ≥ 0.8× the local throughput. The same through
  ``artifact.fetch`` chunks over stdio (no HTTP endpoint) is printed beside it.
- ``rag.query`` (needs the models side, ``pip install ./pipelines``):
  this project's ``docs/`` embedded with the packaged MiniLM and indexed with faiss; with index
  and model verified and cached, 8 callers at once (over HTTP a client each, over stdio its one
  connection) vs the same encode + search done in-process by 8 threads, queries back to back,
  in turns (target ≥ 0.8× the throughput; p50 added latency ≤ 3 ms, each query's latency
  taken meanwhile); one stdio caller vs one in-process thread beside it (the stricter
  reading); a lone query's added p50 over stdio and over HTTP, from rounds of one in-process
  query and one remote query in turns (the machine's drift between two separate runs was
  larger than the target); and the first query of a server that was just started vs hashing
  the index, chunk table and model files plus loading them alone (≤ 1.2×).

    python benches/bench_tools.py [--size-mib 1024] [--queries 200] [--skip rag,fetch]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from _common import best_of
from receiptcore.runtime import ToolClient
from support.toolserver import Models, http_server


def local_read_and_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while data := source.read(1 << 20):
            digest.update(data)
    return digest.hexdigest()


def make_artifact(models: Models, size: int):
    block = hashlib.sha256(b"seed").digest() * (1 << 15)  # 1 MiB, not all one byte
    path = models.root / "src" / "big.bin"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        out.writelines(block for _ in range(size // len(block)))
    from receiptcore.publish import publish

    published = publish(path, artifact_id="big.bin", home=models.home)
    os.unlink(path)
    (models.root / "runtime").mkdir(parents=True, exist_ok=True)
    (models.root / "runtime" / "trust.json").write_bytes((models.home / "trust.json").read_bytes())
    return published


async def fetch_best(server, models: Models, commit: str, repeat: int = 3) -> tuple[float, bool]:
    """Best of ``repeat`` fetches, as the anchor is, after one that warms the server's cache."""
    async with ToolClient(server, **models.client_options()) as client:
        await client.fetch("big.bin", commit)  # warm: the server verified and cached it
        times, right = [], True
        for _ in range(repeat):
            start = time.perf_counter()
            fetched = await client.fetch("big.bin", commit)
            times.append(time.perf_counter() - start)
            right &= fetched.warnings == [] and fetched.size == size_of(models, commit)
            del fetched
    return min(times), right


def size_of(models: Models, commit: str) -> int:
    from receiptcore.store import LocalStore

    return LocalStore(models.home / "objects").path(commit).stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--chunks-mib", type=int, default=128, help="stdio chunks: a smaller file")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--skip", default="", help="parts to leave out: rag, fetch")
    args = parser.parse_args()
    skip = set(args.skip.split(","))
    print(f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    if "rag" not in skip:
        bench_rag(args.queries)
    if "fetch" not in skip:
        bench_fetch(args)


def bench_fetch(args) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-tools-") as tmp:
        models = Models(Path(tmp))
        published = make_artifact(models, args.size_mib << 20)
        commit = published.artifact_commit.removeprefix("sha256:")
        stored = Path(published.uri.removeprefix("file://"))
        size = stored.stat().st_size

        local = best_of(lambda: local_read_and_hash(stored))
        local_ok = local_read_and_hash(stored) == commit
        with http_server(models.argv()) as url:
            http_seconds, http_ok = anyio.run(fetch_best, url, models, commit)
        print(f"\n## artifact.fetch of {size >> 20} MiB (best of 3, anchor and fetch; the server's cache warm)\n")
        print("| path | seconds | GiB/s | vs local read+hash | right answer |")
        print("|---|---:|---:|---:|---|")
        gib = size / (1 << 30)
        print(f"| local: hashlib.sha256, 1 MiB reads | {local:.3f} | {gib / local:.2f} | 1.00x | {local_ok} |")
        print(f"| artifact.fetch over HTTP (uri, client hashes) | {http_seconds:.3f} | "
              f"{gib / http_seconds:.2f} | {local / http_seconds:.2f}x | {http_ok} |")

    with tempfile.TemporaryDirectory(prefix="bench-tools-") as tmp:
        models = Models(Path(tmp))
        published = make_artifact(models, args.chunks_mib << 20)
        commit = published.artifact_commit.removeprefix("sha256:")
        stored = Path(published.uri.removeprefix("file://"))
        size = stored.stat().st_size
        local = best_of(lambda: local_read_and_hash(stored))
        stdio_seconds, stdio_ok = anyio.run(fetch_best, models.argv(), models, commit, 1)
        gib = size / (1 << 30)
        print(f"| local, {size >> 20} MiB | {local:.3f} | {gib / local:.2f} | 1.00x | True |")
        print(f"| artifact.fetch over stdio, 256 KiB base64 chunks, {size >> 20} MiB | "
              f"{stdio_seconds:.3f} | {gib / stdio_seconds:.2f} | {local / stdio_seconds:.2f}x | "
              f"{stdio_ok} |")


QUESTIONS = [
    "How do I verify a receipt offline?", "What does the ledger sign?", "Which exit code is a rollback?",
    "How are folders published?", "What is a tree commit?", "Where is the trust file?",
    "What does scan refuse?", "How is canonical JSON computed?",
]


def build_docs_index(models: Models):
    from pipelines.embed import embed
    from pipelines.index import build_index

    root = Path(__file__).resolve().parent.parent / "docs"
    embedded = embed(root, artifact_id="docs", home=models.home, progress=False)
    index = build_index(embedded.embeddings(), artifact_id="docs", home=models.home, progress=False)
    (models.root / "runtime").mkdir(parents=True, exist_ok=True)
    (models.root / "runtime" / "trust.json").write_bytes((models.home / "trust.json").read_bytes())
    commits = {a["artifact_id"]: a["artifact_commit"].removeprefix("sha256:")
               for a in index.to_json()["artifacts"]}
    return {"index_id": "docs", "artifact_id": "docs.faiss", "commit": commits["docs.faiss"]}


CALLERS = 8
"""Callers at once: the issue's 8 concurrent clients (over HTTP a connection each; over stdio the
one connection a stdio server has, as a runtime's concurrent agents share it)."""
PAUSE = 0.02
"""Seconds between the queries of the paired rounds: enough for libgomp's idle threads, on
either side, to stop spinning before the next query starts."""
ROUNDS = 200
"""Paired rounds, each side first in every other one: whichever went first in every round was
up to a millisecond slower or faster (the same client against itself, in a fixed order)."""
STARTS = 3
"""First queries of a fresh server and anchors, in turns as the throughput runs: importing torch
varies by seconds here (one run's pair took 5.9 and 7.3 s, the next ones' 7.5 and 7.5 s)."""
TURNS = 5
"""Throughput runs of each side, in turns (each first in every other turn): the turn whose
ratio is the median is shown. The machine's speed drifts by a third within minutes here, so
only the two runs of one turn are compared with each other."""


def in_process(models: Models, ref: dict):
    """The same encode + search without a server: ``run(queries, threads)`` (queries/s and each
    query's latency); and ``one(i)``, one query, to be paired with a remote client's
    (:func:`remote`).

    One thread does it all, this one, which built the index (as the server's engine thread
    does all of its own): torch's OpenMP team belongs to the thread that calls it, and a thread
    of a pool started after this one had a team ran at half its speed on 2 cores (104 -> 60
    queries/s here). ``threads`` > 1 are that many threads, each with its own team."""
    from concurrent.futures import ThreadPoolExecutor

    from pipelines.serving import RagEngine
    from receiptcore.store import LocalStore

    folder = next((models.home / "cache" / "models").iterdir())
    engine = RagEngine()
    encode = engine.encoder(str(folder), True)
    search = engine.index(str(LocalStore(models.home / "objects").path(ref["commit"])), "faiss")
    # torch stays loaded in this process for the remote runs too, which a runtime never has:
    # kept out of the collector's sight, as the server keeps it, so no full collection of it
    # stalls either side's measurement
    gc.freeze()

    def one(i: int):
        return search(encode([QUESTIONS[i % len(QUESTIONS)]]), 3)

    def timed(i: int) -> float:
        start = time.perf_counter()
        one(i)
        return time.perf_counter() - start

    def run(queries: int, threads: int) -> tuple[float, list[float]]:
        start = time.perf_counter()
        if threads == 1:
            latencies = [timed(i) for i in range(queries)]
        else:
            with ThreadPoolExecutor(threads) as pool:
                latencies = list(pool.map(timed, range(queries)))
        return queries / (time.perf_counter() - start), latencies

    return run, one


@dataclass
class Side:
    """One side of a throughput comparison: queries/s, and each query's latency meanwhile."""

    qps: float
    latencies: list[float]


async def throughput(tools: list, ref: dict, queries: int, callers: int, local) -> tuple[Side, Side]:
    """``callers`` at once, spread over the connections ``tools``, against as many threads
    in-process (``local``, :func:`in_process`), queries back to back, in turns (each side first
    in every other): the turn with the median ratio."""
    local_run, _ = local

    async def caller(tools, k: int, count: int, latencies: list[float]) -> None:
        for i in range(count):  # callers at once ask different questions, as threads do
            start = time.perf_counter()
            await tools.query(ref, QUESTIONS[(k + i) % len(QUESTIONS)], 3)
            latencies.append(time.perf_counter() - start)

    async def remote_run() -> Side:
        latencies: list[float] = []
        start = time.perf_counter()
        async with anyio.create_task_group() as group:
            for k in range(callers):
                group.start_soon(caller, tools[k % len(tools)], k, queries // callers, latencies)
        return Side(len(latencies) / (time.perf_counter() - start), latencies)

    turns = []  # (in-process, remote), each side first in every other turn
    for turn in range(TURNS):
        if turn % 2:
            here = Side(*local_run(queries, callers))
            turns.append((here, await remote_run()))
        else:
            there = await remote_run()
            turns.append((Side(*local_run(queries, callers)), there))
    return median_turn(turns, lambda turn: turn[1].qps / turn[0].qps)


def median_turn(turns: list[tuple], ratio) -> tuple:
    """The turn whose ``ratio`` is the median: only the two runs of one turn are compared."""
    return sorted(turns, key=ratio)[len(turns) // 2]


async def lone_latency(tools, ref: dict, local) -> tuple[list[float], list[float]]:
    """Rounds of one query in-process and the same query by one client alone, in turns (each
    first in every other round): the two latencies of a round are taken under the same
    conditions, whatever the machine does meanwhile."""
    _, local_one = local
    here: list[float] = []
    there: list[float] = []
    for i in range(ROUNDS):
        for remote_side in (False, True) if i % 2 else (True, False):
            start = time.perf_counter()
            if remote_side:
                await tools.query(ref, QUESTIONS[i % len(QUESTIONS)], 3)
                there.append(time.perf_counter() - start)
            else:
                local_one(i)
                here.append(time.perf_counter() - start)
            await anyio.sleep(PAUSE)
    return here, there


async def remote(server, models: Models, ref: dict, queries: int, connections: int, local):
    """Over ``connections`` runtime clients (each verified the index, model and chunk table on
    its first query, not timed): 8 callers at once against 8 threads in-process; over stdio
    also one caller against one thread; then a lone query's latency (:func:`lone_latency`)."""
    async with contextlib.AsyncExitStack() as stack:
        tools = [await stack.enter_async_context(ToolClient(server, **models.client_options()))
                 for _ in range(connections)]
        first = None
        for t in tools:
            first = await t.query(ref, QUESTIONS[0], 3)
        loaded = await throughput(tools, ref, queries, CALLERS, local)
        alone = await throughput(tools[:1], ref, queries // 2, 1, local) if connections == 1 else None
        lone = await lone_latency(tools[0], ref, local)
    return loaded, alone, lone, first


def p50(latencies: list[float]) -> float:
    return sorted(latencies)[len(latencies) // 2]


def first_query(models: Models, ref: dict) -> float:
    """A server just started (the model already materialised in its cache): its first rag.query,
    timed on the server's side of the wire by the raw MCP client."""
    async def run() -> float:
        from support.toolserver import mcp_client

        async with mcp_client("stdio", models.argv()) as client:
            start = time.perf_counter()
            result = await client.call_tool("rag.query", {"index": ref, "query": QUESTIONS[0], "top_k": 3})
            assert not result.is_error, result
            return time.perf_counter() - start

    return anyio.run(run)


def start_turns(models: Models, ref: dict) -> tuple[float, float]:
    """``(anchor, first query)`` of the turn whose ratio is the median, each side first in
    every other turn."""
    turns = []
    for turn in range(STARTS):
        if turn % 2:
            first = first_query(models, ref)
            anchor = hash_and_load_alone(models, ref)
        else:
            anchor = hash_and_load_alone(models, ref)
            first = first_query(models, ref)
        turns.append((anchor, first))
    return median_turn(turns, lambda turn: turn[1] / turn[0])


ANCHOR = """
import hashlib, sys, time
start = time.perf_counter()
for path in sys.argv[2:]:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while data := f.read(1 << 20):
            digest.update(data)
from pipelines.serving import RagEngine
engine = RagEngine()
engine.encoder(sys.argv[1], True)(["warm"])
engine.index(sys.argv[2], "faiss")
print(time.perf_counter() - start)
"""


def hash_and_load_alone(models: Models, ref: dict) -> float:
    import subprocess

    from receiptcore.store import LocalStore

    store = LocalStore(models.home / "objects")
    folder = next((models.home / "cache" / "models").iterdir())
    files = [str(store.path(ref["commit"]))] + [str(p) for p in sorted(folder.rglob("*")) if p.is_file()]
    out = subprocess.run([sys.executable, "-c", ANCHOR, str(folder), *files], capture_output=True,
                         text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def bench_rag(queries: int) -> None:
    import importlib.util

    if importlib.util.find_spec("pipelines") is None:
        print("\n## rag.query: skipped (needs the models side: pip install ./pipelines)")
        return
    with tempfile.TemporaryDirectory(prefix="bench-rag-") as tmp:
        models = Models(Path(tmp))
        ref = build_docs_index(models)
        first_query(models, ref)  # materialises the model in the server's cache
        anchor, first = start_turns(models, ref)
        local = in_process(models, ref)
        local_answer = local[1](0)
        with http_server(models.argv()) as url:
            http_loaded, _, http_lone, http_answer = anyio.run(remote, url, models, ref, queries, 8, local)
        stdio_loaded, stdio_alone, stdio_lone, stdio_answer = anyio.run(  # its one connection
            remote, models.argv(), models, ref, queries, 1, local)
    right = [h[0] for h in local_answer]
    ok = {"HTTP": [h.row for h in http_answer.hits] == right,
          "stdio": [h.row for h in stdio_answer.hits] == right}
    print("\n## rag.query on loopback (index and model cached)\n")
    print(f"Throughput: {CALLERS} callers at once (HTTP: a client each; stdio: its one connection) against")
    print(f"{CALLERS} threads in-process, and one stdio caller against one thread; queries back to back, {TURNS}")
    print("turns of both sides (the median turn shown); p50 of each query's latency meanwhile.\n")
    print("| path | queries/s | vs in-process | p50 ms | added p50 ms |")
    print("|---|---:|---:|---:|---:|")
    rows = [(f"in-process encode+search, {CALLERS} threads", f"rag.query over HTTP, {CALLERS} clients", http_loaded),
            (f"in-process encode+search, {CALLERS} threads", f"rag.query over stdio, {CALLERS} callers", stdio_loaded),
            ("in-process encode+search, 1 thread", "rag.query over stdio, 1 caller", stdio_alone)]
    for baseline, path, (here, there) in rows:
        print(f"| {baseline} | {here.qps:.1f} | 1.00x | {p50(here.latencies) * 1e3:.2f} | - |")
        print(f"| {path} | {there.qps:.1f} | {there.qps / here.qps:.2f}x | "
              f"{p50(there.latencies) * 1e3:.2f} | {(p50(there.latencies) - p50(here.latencies)) * 1e3:.2f} |")
    print(f"\nA lone query: {ROUNDS} rounds of one query in-process and the same query by one client,")
    print(f"{PAUSE * 1e3:.0f} ms apart, each side first in every other round.\n")
    print("| path | p50 ms | in-process p50 ms | added p50 ms | right answer |\n|---|---:|---:|---:|---|")
    for name, (here, there) in (("HTTP", http_lone), ("stdio", stdio_lone)):
        print(f"| rag.query over {name} | {p50(there) * 1e3:.2f} | {p50(here) * 1e3:.2f} | "
              f"{(p50(there) - p50(here)) * 1e3:.2f} | {ok[name]} |")
    print(f"\n| first query after start (the median of {STARTS} turns) | seconds | vs hash + load alone |")
    print("|---|---:|---:|")
    print(f"| hash index + model files, import and load them (anchor) | {anchor:.2f} | 1.00x |")
    print(f"| server's first rag.query (verify index, chunks, model; load; search) | {first:.2f} | "
          f"{first / anchor:.2f}x |")


if __name__ == "__main__":
    main()
