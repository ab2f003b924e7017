"""A runtime repository as the migration meets it, made at test time with real writers: a
sharded safetensors checkpoint folder, a faiss index, a ``datasets/`` folder, a pickle, and
Python code that opens some of them by path."""

from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
from pathlib import Path

from support.scanrepo import GIT, Repo, faiss_bytes

LOADER = '''\
"""Loads what the runtime used to keep in the repository."""
import pickle
from pathlib import Path

CHECKPOINT = "checkpoints/minilm"
INDEX = Path("indexes") / "docs.faiss"


def load_index():
    import faiss

    return faiss.read_index("indexes/docs.faiss")


def load_scaler():
    with open("../features/scaler.pkl", "rb") as f:  # relative to app/
        return pickle.load(f)


def shard(n):
    return f"{CHECKPOINT}/model-0000{n}-of-00002.safetensors"


GREETING = "hello, not a path"
'''

PLANNED = {
    "checkpoints/minilm": "tree",
    "datasets": "tree",
    "features/scaler.pkl": "file",
    "indexes/docs.faiss": "file",
}
"""What the plan makes of the repository: path -> kind."""

CODE_SITES = {
    ("app/load.py", 5, "checkpoints/minilm", "checkpoints/minilm"),
    ("app/load.py", 12, "indexes/docs.faiss", "indexes/docs.faiss"),
    ("app/load.py", 16, "../features/scaler.pkl", "features/scaler.pkl"),
}
"""(file, line, literal, the planned path it names)."""


def _shard(seed: int) -> bytes:
    import numpy as np
    from safetensors.numpy import save

    rng = np.random.default_rng(seed)
    return save({f"layer{seed}.weight": rng.random((64, 64), dtype=np.float32)})


def make_runtime_repo(root: Path, tmp: Path) -> Repo:
    """The repository at ``root``, everything committed."""
    root.mkdir(parents=True, exist_ok=True)
    tmp.mkdir(parents=True, exist_ok=True)
    repo = Repo(root)
    repo.write("README.md", "# runtime\n")
    repo.write("app/__init__.py", "")
    repo.write("app/load.py", LOADER)
    repo.write("app/settings.json", '{"top_k": 3}\n')
    repo.write("checkpoints/minilm/model-00001-of-00002.safetensors", _shard(1))
    repo.write("checkpoints/minilm/model-00002-of-00002.safetensors", _shard(2))
    repo.write("checkpoints/minilm/model.safetensors.index.json", '{"weight_map": {}}\n')
    repo.write("checkpoints/minilm/config.json", '{"hidden_size": 64}\n')
    repo.write("indexes/docs.faiss", faiss_bytes(tmp))
    repo.write("datasets/train.jsonl", '{"text": "a"}\n' * 50)
    repo.write("datasets/eval/part-0.jsonl", '{"text": "b"}\n' * 20)
    import numpy as np

    scaler = {"mean": np.arange(32, dtype=np.float32), "scale": np.ones(32, dtype=np.float32)}
    repo.write("features/scaler.pkl", pickle.dumps(scaler, protocol=4))
    repo.add(".")
    repo.commit("the runtime, with its assets")
    return repo


def snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` (``.git`` aside) -> sha256 of its bytes."""
    found = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in names:
            path = Path(folder, name)
            found[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def git_status(root: Path) -> str:
    return subprocess.run([*GIT, "-C", str(root), "status", "--porcelain", "--untracked-files=all"],
                          capture_output=True, text=True, check=True).stdout


def clone(source: Path, target: Path) -> Path:
    subprocess.run([*GIT, "clone", "-q", str(source), str(target)], check=True, capture_output=True)
    return target


def edit_reference(root: Path, rel: str, **fields) -> None:
    """Change fields of ``rel``'s reference file, keeping its written form (an edit that a
    reviewer could miss)."""
    import json

    import rfc8785

    path = root / f"{rel}.artifact.json"
    document = {**json.loads(path.read_bytes()), **fields}
    path.write_bytes(rfc8785.dumps(document) + b"\n")


def store_object(home: Path, hexdigest: str) -> Path:
    """The stored object's file, made writable (for tests that tamper with it)."""
    path = home / "objects" / "sha256" / hexdigest[:2] / hexdigest[2:]
    os.chmod(path, 0o644)
    return path


def scaler_bytes(seed: int) -> bytes:
    """Another version of the pickled scaler (NumPy arrays: the gate flags it by content)."""
    import numpy as np

    return pickle.dumps({"mean": np.full(32, seed, dtype=np.float32)}, protocol=4)
