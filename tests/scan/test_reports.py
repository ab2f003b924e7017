"""The scan's text, JSON and SARIF reports are pinned in snapshots (``pytest --snapshot-update``
rewrites them; review the diff)."""

from __future__ import annotations

import pytest

from receiptcore._core import __version__
from support.scanrepo import Repo, npy_bytes, safetensors_bytes


@pytest.fixture
def repo(tmp_path) -> Repo:
    repo = Repo(tmp_path)
    repo.write("model/weights.dat", safetensors_bytes())
    repo.write("features.bin", npy_bytes(tmp_path))
    repo.write("datasets/train/a.txt", "text")
    repo.write("src/app.py", "print('hello')\n")
    repo.add("model/weights.dat", "features.bin", "datasets/train/a.txt", "src/app.py")
    repo.commit()
    return repo


@pytest.mark.parametrize("form", ["text", "json", "sarif"])
def test_report(repo, capsys, snapshot, form):
    code, out, err = repo.scan(capsys, "--format", form)
    assert code == 1 and err == ""
    assert out.replace(str(repo.root), "<repo>").replace(__version__, "<version>") == snapshot
