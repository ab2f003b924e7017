"""Folders for the tree tests, and the tree commit recomputed without receiptcore: hashlib for
the files, the ``rfc8785`` package for the canonical JSON (an implementation we did not write)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import rfc8785

MODEL = {
    "config.json": b'{"hidden_size": 384}\n',
    "model.safetensors": bytes(range(256)) * 4096,
    "tokenizer/vocab.txt": b"[PAD]\n[UNK]\nhello\n",
    "tokenizer/special_tokens_map.json": b"{}",
    "1_Pooling/config.json": b'{"pooling_mode_mean_tokens": true}',
    ".hidden": b"dot files are files",
    "empty.bin": b"",
    "deep/a/b/c/d/e.txt": "ünïcödé name's file".encode(),
    "name with spaces.txt": b"spaces are fine",
}


def make_tree(root: Path, files: dict[str, bytes] = MODEL) -> Path:
    """Write ``files`` (relative path -> bytes) under ``root``; returns ``root``."""
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def independent_tree_commit(root: Path) -> str:
    """``sha256:<hex>`` of the RFC 8785 form of the folder's file list, as docs/trees.md says."""
    files = []
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                digest = hashlib.file_digest(f, "sha256").hexdigest()
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            files.append({"path": rel, "size": os.path.getsize(path), "sha256": digest})
    files.sort(key=lambda f: f["path"].encode())
    manifest = {"kind": "tree_manifest", "schema_version": 1, "files": files}
    return "sha256:" + hashlib.sha256(rfc8785.dumps(manifest)).hexdigest()


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    """``receiptcore ARGV`` in this process: exit code, stdout, stderr."""
    from receiptcore.cli import main

    capsys.readouterr()
    code = main([*argv])
    out, err = capsys.readouterr()
    return code, out, err


def store_objects(home: Path) -> set[str]:
    """The hex names of every object in the home's store."""
    root = home / "objects" / "sha256"
    if not root.is_dir():
        return set()
    return {p.parent.name + p.name for p in root.glob("*/*")}
