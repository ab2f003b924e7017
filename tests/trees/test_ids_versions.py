"""Artifact ids and versions: an id names a sequence of versions; new bytes need --new-version;
verify ID checks the latest and says so; ID@COMMIT pins one; a path never guesses its id."""

from __future__ import annotations

import json

import pytest

from receiptcore.errors import ArtifactIdError, VersionExists
from receiptcore.ids import default_artifact_id, parse_reference
from receiptcore.publish import publish
from support.trees import cli


def _file(env, name: str, data: bytes) -> str:
    (env / name).write_bytes(data)
    return name


def test_other_bytes_under_an_existing_id_need_new_version(env, capsys):
    first = publish(env / _file(env, "config.json", b"model A"))
    code, _, err = cli(capsys, "publish", _file(env, "config.json", b"model B"), "--no-progress")
    assert code == 16, err
    assert f"config.json already has version 1, {first.artifact_commit} (ledger entry 0)" in err
    assert "--new-version" in err and "--artifact-id" in err
    code, out, _ = cli(capsys, "publish", "config.json", "--new-version", "--json", "--no-progress")
    second = json.loads(out)
    assert code == 0 and second["version"] == 2 and second["ledger_index"] == 1
    code, out, _ = cli(capsys, "publish", "config.json", "--json", "--no-progress")
    assert code == 0 and json.loads(out)["ledger_index"] == 1  # the same bytes again: a no-op


def test_an_older_version_cannot_be_published_again(env):
    path = env / "w.bin"
    path.write_bytes(b"one")
    publish(path, artifact_id="w")
    path.write_bytes(b"two")
    publish(path, artifact_id="w", new_version=True)
    path.write_bytes(b"one")
    with pytest.raises(VersionExists, match="is already version 1 of w.*use the old one pinned"):
        publish(path, artifact_id="w", new_version=True)


def test_verify_an_id_checks_its_latest_version_and_a_reference_pins_one(env, capsys):
    path = env / "w.bin"
    path.write_bytes(b"one")
    v1 = publish(path, artifact_id="w")
    path.write_bytes(b"two")
    v2 = publish(path, artifact_id="w", new_version=True)
    path.unlink()
    code, out, _ = cli(capsys, "verify", "w", "--no-progress")
    assert code == 0 and f"verified w {v2.artifact_commit}" in out
    assert "(version 2 of 2, the latest)" in out
    code, out, _ = cli(capsys, "verify", f"w@{v1.artifact_commit}", "--no-progress")
    assert code == 0 and f"(version 1 of 2, not the latest, which is {v2.artifact_commit})" in out
    code, out, _ = cli(capsys, "verify", "w", "--commit", v1.artifact_commit[7:], "--json")
    assert code == 0 and json.loads(out)["version"] == 1
    code, _, err = cli(capsys, "verify", "w@sha256:" + "0" * 64, "--no-progress")
    assert code == 9 and "the caller expects" in err and "its versions: 1: " in err
    code, _, err = cli(capsys, "verify", f"w@{v1.artifact_commit}", "--commit", v2.artifact_commit)
    assert code == 2 and "disagree" in err


def test_verify_a_file_never_guesses_between_ids(env, capsys):
    _file(env, "config.json", b"shared bytes")
    publish(env / "config.json", artifact_id="model-a/config.json")
    publish(env / "config.json", artifact_id="model-b/config.json")
    code, _, err = cli(capsys, "verify", "config.json", "--no-progress")
    assert code == 17, err
    assert "model-a/config.json, model-b/config.json" in err and "--artifact-id" in err
    code, out, _ = cli(capsys, "verify", "config.json", "--artifact-id", "model-b/config.json")
    assert code == 0 and out.startswith("verified model-b/config.json")


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [("My Model.safetensors", "My-Model.safetensors"), (".", None), ("_private.bin", "private.bin")],
)
def test_a_name_that_is_no_valid_id_asks_for_one(env, capsys, name, suggestion):
    if name != ".":
        _file(env, name, b"weights")
    code, _, err = cli(capsys, "publish", name, "--no-progress")
    assert code == 2, err
    assert "an id starts with a letter or digit, then letters, digits and . _ : / @ + -" in err
    assert "pass --artifact-id" in err
    if suggestion:
        assert f"e.g. --artifact-id {suggestion}" in err
    assert not (env / "home" / "ledger.sqlite3").exists()


def test_ids_and_references_parse_as_documented():
    assert default_artifact_id("models/minilm/") == "minilm"
    with pytest.raises(ArtifactIdError):
        default_artifact_id("..")
    c = "sha256:" + "ab" * 32
    assert parse_reference("minilm") == ("minilm", None)
    assert str(parse_reference(f"minilm@{c}")[1]) == c
    assert parse_reference(f"minilm@{c[7:]}")[0] == "minilm"
    assert parse_reference("team@corp/model") == ("team@corp/model", None)  # no commit after @
    with pytest.raises(ArtifactIdError):
        parse_reference("bad id")
