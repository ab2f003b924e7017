"""`pipeline index` end to end on file artifacts: embeddings taken by reference and verified,
both indexes published under one build manifest, twice the same commits, lineage walked, and
every bad input refused with its exit code and nothing published."""

from __future__ import annotations

import json
import os

from pipelines import index as index_module
from pipelines.index import build_index
from receiptcore.cli import main
from receiptcore.errors import DigestMismatch, DimensionMismatch, ExitCode
from receiptcore.ledger.sqlite import SqliteLedger
from receiptcore.lineage import lineage
from receiptcore.store import LocalStore
from support.pipelines import published_embeddings


def _ledger_size(home) -> int:
    with SqliteLedger(home) as ledger:
        return ledger.size()


def test_two_runs_give_the_same_build_and_artifact_commits(tmp_path, home):
    ref, _ = published_embeddings(tmp_path, home)
    first = build_index(ref, artifact_id="docs", progress=False)
    second = build_index(ref, artifact_id="docs", progress=False)
    assert first.to_json() == second.to_json()
    data = first.to_json()
    assert [a["artifact_id"] for a in data["artifacts"]] == ["docs.faiss", "docs.usearch"]
    assert set(data["inputs"]) == {"chunks", "embeddings", "model"}
    assert first.build.inputs.parameters["faiss"]["type"] == "flat"


def test_lineage_of_the_index_reaches_the_dataset_through_every_input(tmp_path, home):
    ref, _ = published_embeddings(tmp_path, home)
    build_index(ref, artifact_id="docs", progress=False)
    tree = lineage("docs.faiss", home=home)
    roles = {c.role: c for c in tree.children if c.kind == "artifact"}
    assert set(roles) == {"chunks", "embeddings", "model"}
    assert [c.kind for c in roles["embeddings"].children] == ["dataset", "artifact"]


def test_the_cli_prints_every_commit_as_json(tmp_path, home, capsys):
    ref, _ = published_embeddings(tmp_path, home)
    code = main(["pipeline", "index", "--embeddings", str(ref), "--id", "docs", "--json",
                 "--no-progress"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["vectors"] == 200 and data["dimension"] == 24
    assert all(a["artifact_commit"].startswith("sha256:") and a["ledger_index"] >= 0
               for a in data["artifacts"])
    assert data["build_manifest_commit"].startswith("sha256:")


def test_a_dimension_other_than_the_models_is_refused(tmp_path, home, capsys):
    ref, _ = published_embeddings(tmp_path, home, recorded=16)
    before = _ledger_size(home)
    assert main(["pipeline", "index", "--embeddings", str(ref), "--id", "docs"]) == 41
    err = capsys.readouterr().err
    assert err.startswith("receiptcore: error: docs.embeddings@sha256:") and "dimension 24" in err
    assert err.count("\n") == 1 and _ledger_size(home) == before
    assert DimensionMismatch.exit_code == ExitCode.DIMENSION_MISMATCH


def test_tampered_embeddings_are_not_indexed(tmp_path, home, capsys):
    ref, _ = published_embeddings(tmp_path, home)
    stored = LocalStore(home / "objects").path(ref.commit)
    os.chmod(stored, 0o644)
    with open(stored, "r+b") as f:
        f.seek(200)
        f.write(b"\xff")
    before = _ledger_size(home)
    assert main(["pipeline", "index", "--embeddings", str(ref), "--id", "docs"]) == 9
    assert "input docs.embeddings@" in capsys.readouterr().err
    assert _ledger_size(home) == before


def test_an_unknown_commit_is_refused(tmp_path, home, capsys):
    published_embeddings(tmp_path, home)
    code = main(["pipeline", "index", "--embeddings", "docs.embeddings@" + "ab" * 32, "--id", "x"])
    assert code == DigestMismatch.exit_code
    assert "expects sha256:abab" in capsys.readouterr().err


def test_ctrl_c_while_building_publishes_nothing(tmp_path, home, capsys, monkeypatch):
    ref, _ = published_embeddings(tmp_path, home)
    before = _ledger_size(home)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(index_module, "write_usearch", interrupted)
    assert main(["pipeline", "index", "--embeddings", str(ref), "--id", "docs"]) == 130
    assert _ledger_size(home) == before
