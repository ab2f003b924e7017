"""``receiptcore hash``: digests of files and directory trees."""

from __future__ import annotations

import argparse
import os

from receiptcore._core import hash_files
from receiptcore.cli import options
from receiptcore.cli.output import emit
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
    parser = options.command(
        subparsers,
        "hash",
        help="hash files and directories (sha256 or blake3)",
        description="Hash files, and every file under directories (recursively, sorted), in "
        "parallel with constant memory. Shows a progress bar with bytes/s on a terminal.",
        epilog=EXAMPLES,
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or directories")
    parser.add_argument("--algo", choices=("sha256", "blake3"), default="sha256")
    parser.add_argument("--threads", type=int, default=None, help="worker threads (default: one per core)")
    options.add(parser, "json", "progress")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    listed = expand_paths(args.paths)
    files = [path for path, _ in listed]
    sizes = [size for _, size in listed]
    with byte_progress(sum(sizes), "hashing", enabled=False if args.no_progress else None) as update:
        digests = hash_files(files, algo=args.algo, threads=args.threads, progress=update)
    records = [
        {"path": f, "size": s, "algo": args.algo, "digest": f"{args.algo}:{d}"}
        for f, s, d in zip(files, sizes, digests)
    ]
    text = b"".join(f"{args.algo}:{d}  ".encode() + os.fsencode(f) + b"\n" for f, d in zip(files, digests))
    emit(args, records, text)
    return 0
