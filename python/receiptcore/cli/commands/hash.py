"""``receiptcore hash``: digests of files and directory trees."""

from __future__ import annotations

import argparse
import os

from receiptcore._core import hash_files
from receiptcore.cli import options
from receiptcore.cli.output import emit
from receiptcore.errors import NothingToRead
from receiptcore.util.files import expand_paths
from receiptcore.util.progress import progress_bar

EXAMPLES = """\
examples:
  receiptcore hash model.safetensors          sha256:<hex>  model.safetensors
  receiptcore hash checkpoints/               every file below, sorted, hashed in parallel
  receiptcore hash --algo blake3 shard-*.bin  blake3 (several times faster on big files)
  receiptcore hash --json data/ | jq .        machine-readable: path, size, algo, digest
  receiptcore hash --tree minilm/             the artifact commit publish would record: a
                                              folder's tree commit, a file's sha256

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
    options.add(parser, "threads")
    parser.add_argument(
        "--tree",
        action="store_true",
        help="print each PATH's artifact commit instead: a folder's tree commit (sha256 of the "
        "RFC 8785 form of its file list), a file's sha256",
    )
    options.add(parser, "json", "progress")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.tree:
        return run_tree(args)
    listed = expand_paths(args.paths)
    for path in args.paths:
        if os.path.isdir(path) and not expand_paths([path]):
            raise NothingToRead(f"{path}: no file to hash (the directory holds no regular file)")
    files = [path for path, _ in listed]
    sizes = [size for _, size in listed]
    total, count = sum(sizes), len(files)
    with progress_bar("hashing", enabled=False if args.no_progress else None) as update:
        digests = hash_files(
            files, algo=args.algo, threads=args.threads,
            progress=lambda done, n: update(done, total, n, count),
        )
    records = [
        {"path": f, "size": s, "algo": args.algo, "digest": f"{args.algo}:{d}"}
        for f, s, d in zip(files, sizes, digests)
    ]
    text = b"".join(f"{args.algo}:{d}  ".encode() + os.fsencode(f) + b"\n" for f, d in zip(files, digests))
    emit(args, records, text)
    return 0


def run_tree(args: argparse.Namespace) -> int:
    from receiptcore.commitments import artifact_commit

    if args.algo != "sha256":
        raise ValueError("--tree commits are sha256 (as artifact commits are): drop --algo")
    records = []
    with progress_bar("hashing", enabled=False if args.no_progress else None) as update:
        for path in args.paths:
            kind = "tree" if os.path.isdir(path) else "file"
            records.append({"path": path, "kind": kind, "commit": artifact_commit(path, update)})
    text = b"".join(f"{r['commit']}  ".encode() + os.fsencode(r["path"]) + b"\n" for r in records)
    emit(args, records, text)
    return 0
