"""``receiptcore hash``: digests of files and directory trees."""

from __future__ import annotations

import argparse
import json
import os
import sys

from receiptcore._core import hash_files
from receiptcore.util.files import expand_paths
from receiptcore.util.progress import byte_progress

EXAMPLES = """\
examples:
  receiptcore hash model.safetensors          sha256:<hex>  model.safetensors
  receiptcore hash checkpoints/               every file below, sorted, hashed in parallel
  receiptcore hash --algo blake3 shard-*.bin  blake3 (several times faster on big files)
  receiptcore hash --json data/ | jq .        machine-readable: path, size, algo, digest

Output lines follow sha256sum's layout ('<digest>  <path>') with the algorithm as a prefix.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "hash",
        help="hash files and directories (sha256 or blake3)",
        description="Hash files, and every file under directories (recursively, sorted), in "
        "parallel with constant memory. Shows a progress bar with bytes/s on a terminal.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or directories")
    parser.add_argument("--algo", choices=("sha256", "blake3"), default="sha256")
    parser.add_argument("--json", action="store_true", help="print a JSON array instead of lines")
    parser.add_argument("--threads", type=int, default=None, help="worker threads (default: one per core)")
    parser.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    files = expand_paths(args.paths)
    sizes = [os.stat(f).st_size for f in files]
    with byte_progress(sum(sizes), "hashing", enabled=False if args.no_progress else None) as update:
        digests = hash_files(files, algo=args.algo, threads=args.threads, progress=update)
    if args.json:
        records = [
            {"path": f, "size": s, "algo": args.algo, "digest": f"{args.algo}:{d}"}
            for f, s, d in zip(files, sizes, digests)
        ]
        json.dump(records, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        out = sys.stdout.buffer
        for f, d in zip(files, digests):
            out.write(f"{args.algo}:{d}  ".encode() + os.fsencode(f) + b"\n")
        out.flush()
    return 0
