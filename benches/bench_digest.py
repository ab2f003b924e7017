"""Digest throughput, side by side with what a user would otherwise run.

Workloads (page-cached: each file is read once before timing):
  1. one 4 GiB file: receiptcore sha256 / blake3, hashlib.sha256, sha256sum, blake3 (PyPI), b3sum;
  2. a checkpoint folder of 8 x 512 MiB shards: hash_files on every core vs sequential hashlib.

    python benches/bench_digest.py [--gib 4] [--dir /path/with/space]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

import receiptcore
from _common import best_of, table

CHUNK = 1 << 20


def write_random(path: str, size: int) -> None:
    block = os.urandom(16 << 20)
    with open(path, "wb") as f:
        f.writelines(block for _ in range(size // len(block)))


def hashlib_file(path: str) -> str:
    # What a careful user writes: hashlib.file_digest reads in 256 KiB chunks into one buffer.
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def blake3_pkg_file(path: str) -> str:
    import blake3

    return blake3.blake3(max_threads=blake3.blake3.AUTO).update_mmap(path).hexdigest()


def run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gib", type=int, default=4, help="size of the single file (GiB)")
    parser.add_argument("--dir", default=None, help="where to write the data (default: a temp dir)")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, python {sys.version.split()[0]}, receiptcore {receiptcore.__version__}")

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        big = os.path.join(tmp, "one.bin")
        size = args.gib << 30
        write_random(big, size)
        receiptcore.hash_file(big)  # warm the page cache
        expected = hashlib_file(big)
        assert receiptcore.hash_file(big) == expected
        rows = [
            ("receiptcore sha256", best_of(lambda: receiptcore.hash_file(big))),
            ("hashlib.sha256 (file_digest)", best_of(lambda: hashlib_file(big))),
        ]
        if shutil.which("sha256sum"):
            rows.append(("sha256sum", best_of(lambda: run(["sha256sum", big]), repeat=1)))
        rows.append(("receiptcore blake3", best_of(lambda: receiptcore.hash_file(big, algo="blake3"))))
        try:
            rows.append(("blake3 (PyPI, mmap, threads)", best_of(lambda: blake3_pkg_file(big))))
        except ImportError:
            print("blake3 package not installed: row skipped")
        if shutil.which("b3sum"):
            rows.append(("b3sum", best_of(lambda: run(["b3sum", big]))))
        else:
            print("b3sum not installed (apt-get install b3sum): row skipped")
        table(f"one {args.gib} GiB file, page-cached", rows, size, "hashlib.sha256 (file_digest)")
        os.unlink(big)

        shards = []
        for i in range(8):
            shard = os.path.join(tmp, f"model-{i:05d}.bin")
            write_random(shard, 512 << 20)
            shards.append(shard)
        receiptcore.hash_files(shards)
        rows = [
            ("receiptcore hash_files sha256", best_of(lambda: receiptcore.hash_files(shards))),
            ("hashlib.sha256, sequential", best_of(lambda: [hashlib_file(s) for s in shards])),
            ("receiptcore hash_files blake3", best_of(lambda: receiptcore.hash_files(shards, algo="blake3"))),
        ]
        table("checkpoint folder, 8 x 512 MiB shards", rows, 8 * (512 << 20), "hashlib.sha256, sequential")


if __name__ == "__main__":
    main()
