"""`verify --lineage`: a build's inputs walked back to the dataset manifests, each verified, and
a tamper anywhere fails the whole chain with the path to it and its own exit code."""

from __future__ import annotations

import json
import os

import pytest

from receiptcore.cli import main
from receiptcore.commitments import artifact_commit, build_manifest, commit_of, dataset_manifest
from receiptcore.errors import DigestMismatch, ExitCode, ObjectNotFound, SchemaError
from receiptcore.lineage import lineage
from receiptcore.publish import publish, store_manifest
from receiptcore.store import LocalStore
from support.home import clean_home


@pytest.fixture
def home(tmp_path, monkeypatch):
    return clean_home(tmp_path, monkeypatch)


def _chain(tmp_path, home):
    """corpus -> (dataset manifest) -> vectors.bin -> index.bin, like the pipelines make it."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text("alpha\n")
    manifest = dataset_manifest(corpus, name="corpus", source="test", license="CC0-1.0", owner="t")
    store_manifest(manifest, home=home)
    vectors = tmp_path / "vectors.bin"
    vectors.write_bytes(os.urandom(4096))
    first = build_manifest(dataset_manifest_commits=[commit_of(manifest)], code_revision="r1",
                           outputs={"vectors": artifact_commit(vectors)})
    made = publish(vectors, build=first, artifact_id="vectors", home=home)
    index = tmp_path / "index.bin"
    index.write_bytes(os.urandom(2048))
    second = build_manifest(
        dataset_manifest_commits=[commit_of(manifest)], code_revision="r1",
        outputs={"index": artifact_commit(index)},
        parameters={"inputs": {"embeddings": {"artifact_id": "vectors",
                                              "artifact_commit": made.artifact_commit[7:]}}},
    )
    publish(index, build=second, artifact_id="index", home=home)
    return manifest, made


def test_lineage_walks_inputs_back_to_the_dataset_manifest(tmp_path, home):
    manifest, made = _chain(tmp_path, home)
    tree = lineage("index", home=home)
    assert tree.artifact_id == "index" and tree.ledger_index == 1
    dataset, vectors = tree.children
    assert dataset.kind == "dataset" and dataset.commit == commit_of(manifest)
    assert "corpus (1 file)" in dataset.detail
    assert vectors.role == "embeddings" and str(vectors.commit) == made.artifact_commit
    assert [c.kind for c in vectors.children] == ["dataset"]
    text = tree.render()
    assert text.splitlines()[0].startswith("index sha256:") and "embeddings: vectors" in text


def test_the_cli_prints_the_tree_and_json(tmp_path, home, capsys):
    _chain(tmp_path, home)
    assert main(["verify", "index", "--lineage"]) == 0
    out = capsys.readouterr().out
    assert "├─ dataset sha256:" in out and "└─ embeddings: vectors sha256:" in out
    assert main(["verify", "index", "--lineage", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [i["kind"] for i in data["inputs"]] == ["dataset", "artifact"]
    assert data["inputs"][1]["inputs"][0]["kind"] == "dataset"


def test_strict_holds_for_every_artifact_of_the_chain(tmp_path, home, capsys):
    _chain(tmp_path, home)
    # the embedded trust file, inside the ledger folder: a warning without --strict
    assert main(["verify", "index", "--lineage", "--strict"]) == ExitCode.TRUST_NOT_ANCHORED
    assert "--strict refuses this" in capsys.readouterr().err
    assert main(["verify", "index", "--lineage"]) == 0


def test_a_tampered_input_fails_the_chain_with_its_path(tmp_path, home, capsys):
    _, made = _chain(tmp_path, home)
    stored = LocalStore(home / "objects").path(made.artifact_commit)
    os.chmod(stored, 0o644)
    with open(stored, "r+b") as f:
        f.write(b"X")
    with pytest.raises(DigestMismatch, match=r"^index -> embeddings vectors: "):
        lineage("index", home=home)
    assert main(["verify", "index", "--lineage"]) == DigestMismatch.exit_code
    err = capsys.readouterr().err
    assert err.startswith("receiptcore: error: index -> embeddings vectors: ") and err.count("\n") == 1


def test_a_missing_dataset_manifest_is_named(tmp_path, home):
    manifest, _ = _chain(tmp_path, home)
    LocalStore(home / "objects").path(commit_of(manifest)).unlink()
    with pytest.raises(ObjectNotFound, match=r"^index -> dataset [0-9a-f]{12}: "):
        lineage("index", home=home)


def test_a_malformed_inputs_parameter_is_a_schema_error(tmp_path, home):
    blob = tmp_path / "x.bin"
    blob.write_bytes(b"x" * 100)
    build = build_manifest(dataset_manifest_commits=[], code_revision="r",
                           outputs={"x": artifact_commit(blob)},
                           parameters={"inputs": {"model": "not a reference"}})
    publish(blob, build=build, artifact_id="x", home=home)
    with pytest.raises(SchemaError, match=r"parameters\.inputs\.model"):
        lineage("x", home=home)
