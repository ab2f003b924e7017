"""The tool server against doing the same work in-process, side by side in one run.

- ``artifact.fetch`` of a 1 GiB artifact (verified on the server, cached; streamed from its HTTP
  endpoint; every byte hashed by the client) vs reading and hashing the same stored file locally
  (``hashlib.sha256``, 1 MiB reads); target ≥ 0.8× the local throughput. The same through
  ``artifact.fetch`` chunks over stdio (no HTTP endpoint) is printed beside it.
- ``rag.query`` (when the rag engine and a published index are available): see
  ``bench_rag`` below.

    python benches/bench_tools.py [--size-mib 1024]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
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


async def fetch_once(server, models: Models, commit: str) -> tuple[float, bool]:
    async with ToolClient(server, **models.client_options()) as client:
        await client.fetch("big.bin", commit)  # warm: the server verified and cached it
        start = time.perf_counter()
        fetched = await client.fetch("big.bin", commit)
        seconds = time.perf_counter() - start
    return seconds, fetched.warnings == [] and fetched.size == size_of(models, commit)


def size_of(models: Models, commit: str) -> int:
    from receiptcore.store import LocalStore

    return LocalStore(models.home / "objects").path(commit).stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--chunks-mib", type=int, default=128, help="stdio chunks: a smaller file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-tools-") as tmp:
        models = Models(Path(tmp))
        published = make_artifact(models, args.size_mib << 20)
        commit = published.artifact_commit.removeprefix("sha256:")
        stored = Path(published.uri.removeprefix("file://"))
        size = stored.stat().st_size

        local = best_of(lambda: local_read_and_hash(stored))
        local_ok = local_read_and_hash(stored) == commit
        with http_server(models.argv()) as url:
            http_seconds, http_ok = anyio.run(fetch_once, url, models, commit)
        print(f"\n## artifact.fetch of {size >> 20} MiB (one warm fetch; best of 3 for the anchor)\n")
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
        stdio_seconds, stdio_ok = anyio.run(fetch_once, models.argv(), models, commit)
        gib = size / (1 << 30)
        print(f"| local, {size >> 20} MiB | {local:.3f} | {gib / local:.2f} | 1.00x | True |")
        print(f"| artifact.fetch over stdio, 1 MiB base64 chunks, {size >> 20} MiB | "
              f"{stdio_seconds:.3f} | {gib / stdio_seconds:.2f} | {local / stdio_seconds:.2f}x | "
              f"{stdio_ok} |")


if __name__ == "__main__":
    main()
