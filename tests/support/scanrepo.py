"""Throwaway git repositories for the scan tests, with files from the real writers."""

from __future__ import annotations

import json
import pickle
import subprocess
from pathlib import Path

from receiptcore.cli import main

GIT = ["git", "-c", "user.name=scan-test", "-c", "user.email=scan@test.invalid",
       "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"]


class Repo:
    def __init__(self, root: Path, init: bool = True) -> None:
        self.root = root
        if init:
            root.mkdir(parents=True, exist_ok=True)
            self.git("init", "-q")

    @classmethod
    def existing(cls, root: Path) -> Repo:
        """A repository already there (a clone)."""
        return cls(root, init=False)

    def git(self, *args: str) -> str:
        done = subprocess.run([*GIT, "-C", str(self.root), *args], capture_output=True,
                              text=True, check=True)
        return done.stdout

    def write(self, rel: str, data: bytes | str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    def add(self, *rels: str, force: bool = False) -> None:
        self.git("add", *(["-f"] if force else []), "--", *rels)

    def commit(self, message: str = "c") -> None:
        self.git("commit", "-q", "--allow-empty", "-m", message)

    def config(self, toml: str) -> None:
        self.write("receiptcore.toml", "[scan]\n" + toml)

    def scan(self, capsys, *args: str) -> tuple[int, str, str]:
        code = main(["scan", str(self.root), *args])
        out, err = capsys.readouterr()
        return code, out, err

    @classmethod
    def started(cls, root: Path) -> Repo:
        """A new repository with one commit (a README), as most scan tests begin."""
        repo = cls(root)
        repo.write("README.md", "# app\n")
        repo.add(".")
        repo.commit("start")
        return repo

    def findings(self, capsys, *args: str) -> list[dict]:
        code, out, err = self.scan(capsys, "--format", "json", *args)
        assert code in (0, 1), err
        return json.loads(out)["findings"]


def flagged(findings: list[dict], rule: str) -> set[str]:
    """The paths of the findings that ``rule`` flagged (first, or beside a more severe one)."""
    return {f["path"] for f in findings if rule in f["rules"]}


# Real writers. Each returns the bytes a real library wrote.

def npy_bytes(tmp: Path) -> bytes:
    import numpy as np

    np.save(tmp / "a.npy", np.arange(64, dtype=np.float32).reshape(8, 8))
    return (tmp / "a.npy").read_bytes()


def safetensors_bytes() -> bytes:
    import numpy as np
    from safetensors.numpy import save

    return save({"w": np.ones((4, 4), dtype=np.float32)})


def faiss_bytes(tmp: Path) -> bytes:
    import faiss
    import numpy as np

    index = faiss.IndexFlatL2(8)
    index.add(np.random.default_rng(0).random((16, 8), dtype=np.float32))
    faiss.write_index(index, str(tmp / "a.faiss"))
    return (tmp / "a.faiss").read_bytes()


def pickle_bytes() -> bytes:
    return pickle.dumps({"layer.weight": [0.5] * 64}, protocol=4)
