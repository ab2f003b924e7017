"""``receiptcore manifest | keys | receipt``: the happy path end to end, and every bad input
exits non-zero with a one-line reason and writes nothing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from receiptcore.cli import main
from receiptcore.signing.keys import ENV_SIGNING_KEY
from support.contract_examples import DOCUMENTS, fresh


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A folder with a corpus, an artifact, a key pair and a trust file; cwd is that folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_SIGNING_KEY, raising=False)
    (tmp_path / "corpus" / "faq").mkdir(parents=True)
    (tmp_path / "corpus" / "faq" / "a.md").write_text("answer")
    (tmp_path / "corpus" / "b.md").write_text("bee")
    (tmp_path / "index.bin").write_bytes(os.urandom(4096))
    assert main(["keys", "generate", "ci.key", "--trust", "trust.json", "--name", "ci"]) == 0
    return tmp_path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def build_files(capsys) -> tuple[str, str]:
    code, dataset_commit, _ = run(capsys, "manifest", "dataset", "corpus", "--source", "s3://c", "--license",
                                  "CC0-1.0", "--owner", "me", "--out", "ds.json", "--no-progress")
    assert code == 0
    code, build_commit, _ = run(capsys, "manifest", "build", "--dataset", "ds.json", "--code-revision", "abc123",
                                "--param", "chunk=512", "--param", 'model="bge"', "--seed", "python=7",
                                "--library", "pydantic", "--library", "faiss==1.8.0",
                                "--artifact", "docs-index=index.bin", "--out", "build.json")
    assert code == 0
    return dataset_commit.strip(), build_commit.strip()


def test_the_whole_flow_manifest_build_sign_show(work, capsys):
    dataset_commit, build_commit = build_files(capsys)
    assert run(capsys, "manifest", "commit", "ds.json")[1].strip() == dataset_commit
    assert run(capsys, "manifest", "commit", "build.json")[1].strip() == build_commit
    build = json.loads((work / "build.json").read_text())
    assert dataset_commit.startswith("sha256:")  # printed in the one spelling; documents carry hex
    assert build["inputs"]["dataset_manifest_commits"] == [dataset_commit.removeprefix("sha256:")]
    assert build["inputs"]["libraries"]["faiss"] == "1.8.0"
    assert build["inputs"]["parameters"] == {"chunk": 512, "model": "bge"}

    code, out, err = run(capsys, "receipt", "sign", "--build-manifest", "build.json", "--artifact-id", "docs-index",
                         "--file", "index.bin", "--uri", "s3://models/docs-index", "--key", "ci.key",
                         "--issuer", "ci@models-host", "--out", "r.intoto.json")
    assert code == 0, err
    code, out, _ = run(capsys, "receipt", "show", "r.intoto.json", "--trust", "trust.json", "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["verified"] is True
    predicate = shown["statement"]["predicate"]
    assert predicate["build_manifest_commit"] == build_commit.removeprefix("sha256:")
    assert predicate["dataset_manifest_commits"] == [dataset_commit.removeprefix("sha256:")]
    assert predicate["issuer"] == "ci@models-host"
    code, out, _ = run(capsys, "receipt", "show", "r.intoto.json")
    assert "NOT checked" in out and "docs-index" in out


def test_the_signing_key_can_come_from_the_environment(work, capsys, monkeypatch):
    build_files(capsys)
    monkeypatch.setenv(ENV_SIGNING_KEY, (work / "ci.key").read_text())
    code, out, err = run(capsys, "receipt", "sign", "--build-manifest", "build.json", "--artifact-id",
                         "docs-index", "--uri", "file:///x", "--out", "r.json", "--json")
    assert code == 0, err
    assert json.loads(out)["keyid"] == json.loads((work / "trust.json").read_text())["keys"][0]["keyid"]


def test_json_output_of_dataset_manifest_carries_commit_and_manifest(work, capsys):
    code, out, _ = run(capsys, "manifest", "dataset", "corpus", "--source", "s", "--license", "MIT", "--owner", "o",
                       "--json", "--no-progress")
    record = json.loads(out)
    assert code == 0
    assert [f["path"] for f in record["manifest"]["files"]] == ["b.md", "faq/a.md"]
    assert re.fullmatch("sha256:[0-9a-f]{64}", record["dataset_manifest_commit"])


def test_keys_show_and_trust(work, capsys):
    code, out, _ = run(capsys, "keys", "show", "ci.key.pub", "--json")
    assert code == 0
    keyid = json.loads(out)["keyid"]
    code, out, _ = run(capsys, "keys", "trust", "ci.key.pub", "--trust", "trust.json", "--name", "ci")
    assert code == 0 and f"{keyid} already in trust.json" in out


def test_the_installed_command_runs_as_a_process(work):
    result = subprocess.run(
        [sys.executable, "-m", "receiptcore.cli", "manifest", "commit", "absent.json"],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1 and "absent.json" in result.stderr


def _write(work, name: str, content: str | dict) -> None:
    text = content if isinstance(content, str) else json.dumps(content)
    (work / name).write_text(text)


BAD_DATASET = fresh(DOCUMENTS["dataset_manifest.schema.json"])
BAD_DATASET["files"][0]["size"] = "1834"
BAD_BUILD = fresh(DOCUMENTS["build_manifest.schema.json"])
BAD_BUILD["extra"] = True
GOOD_BUILD = DOCUMENTS["build_manifest.schema.json"]

# (files to create, argv, exit code, text the one-line reason must hold)
BAD_INPUTS = {
    "dataset dir missing": ({}, ["manifest", "dataset", "nope", "--source", "s", "--license", "MIT", "--owner", "o", "--out", "o.json"], 3, "nope"),
    "dataset bad terms": ({}, ["manifest", "dataset", "corpus", "--source", "", "--license", "MIT", "--owner", "o", "--out", "o.json"], 5, "source"),
    "output directory missing": ({}, ["manifest", "dataset", "corpus", "--source", "s", "--license", "MIT", "--owner", "o", "--out", "no/dir/o.json"], 3, "no/dir: No such directory for output"),
    "key directory missing": ({}, ["keys", "generate", "no/dir/k.key"], 3, "no/dir: No such directory for output"),
    "build dataset missing": ({}, ["manifest", "build", "--dataset", "ds.json", "--code-revision", "r", "--artifact", "a=index.bin", "--out", "o.json"], 3, "ds.json"),
    "build dataset malformed": ({"ds.json": "{oops"}, ["manifest", "build", "--dataset", "ds.json", "--code-revision", "r", "--artifact", "a=index.bin", "--out", "o.json"], 5, "not valid JSON"),
    "build dataset schema": ({"ds.json": BAD_DATASET}, ["manifest", "build", "--dataset", "ds.json", "--code-revision", "r", "--artifact", "a=index.bin", "--out", "o.json"], 5, "files[0].size"),
    "build dataset is a build": ({"ds.json": GOOD_BUILD}, ["manifest", "build", "--dataset", "ds.json", "--code-revision", "r", "--artifact", "a=index.bin", "--out", "o.json"], 5, "kind: expected 'dataset_manifest'"),
    "build artifact missing": ({}, ["manifest", "build", "--code-revision", "r", "--artifact", "a=gone.bin", "--out", "o.json"], 3, "gone.bin"),
    "build artifact bad id": ({}, ["manifest", "build", "--code-revision", "r", "--artifact", "../a=index.bin", "--out", "o.json"], 5, "outputs[0].artifact_id"),
    "build param not json": ({}, ["manifest", "build", "--code-revision", "r", "--param", "m=bge", "--artifact", "a=index.bin", "--out", "o.json"], 5, "JSON quotes"),
    "build seed not int": ({}, ["manifest", "build", "--code-revision", "r", "--seed", "s=x", "--artifact", "a=index.bin", "--out", "o.json"], 2, "integer"),
    "build library unknown": ({}, ["manifest", "build", "--code-revision", "r", "--library", "no-such-lib-xyz", "--artifact", "a=index.bin", "--out", "o.json"], 2, "not installed"),
    "commit missing": ({}, ["manifest", "commit", "m.json"], 3, "m.json"),
    "commit malformed": ({"m.json": "[1,"}, ["manifest", "commit", "m.json"], 5, "not valid JSON"),
    "commit schema": ({"m.json": BAD_BUILD}, ["manifest", "commit", "m.json"], 5, "extra: unknown field"),
    "keys overwrite": ({}, ["keys", "generate", "ci.key"], 8, "refusing to overwrite"),
    "keys trust needs name": ({}, ["keys", "generate", "new.key", "--trust", "t2.json"], 2, "--name"),
    "keys trust pub missing": ({}, ["keys", "trust", "x.pub", "--trust", "t2.json", "--name", "n"], 3, "x.pub"),
    "keys trust pub malformed": ({"x.pub": "hello"}, ["keys", "trust", "x.pub", "--trust", "t2.json", "--name", "n"], 8, "not a PEM public key"),
    "sign build missing": ({}, ["receipt", "sign", "--build-manifest", "b.json", "--artifact-id", "a", "--uri", "s3://models/x", "--key", "ci.key", "--out", "r.json"], 3, "b.json"),
    "sign build malformed": ({"b.json": "{"}, ["receipt", "sign", "--build-manifest", "b.json", "--artifact-id", "a", "--uri", "s3://models/x", "--key", "ci.key", "--out", "r.json"], 5, "not valid JSON"),
    "sign build schema": ({"b.json": BAD_BUILD}, ["receipt", "sign", "--build-manifest", "b.json", "--artifact-id", "a", "--uri", "s3://models/x", "--key", "ci.key", "--out", "r.json"], 5, "extra: unknown field"),
    "sign not an output": ({"b.json": GOOD_BUILD}, ["receipt", "sign", "--build-manifest", "b.json", "--artifact-id", "other", "--uri", "s3://models/x", "--key", "ci.key", "--out", "r.json"], 2, "not an output"),
    "sign bytes differ": ({"b.json": GOOD_BUILD}, ["receipt", "sign", "--build-manifest", "b.json", "--artifact-id", "support-docs-index", "--file", "index.bin", "--uri", "s3://models/x", "--key", "ci.key", "--out", "r.json"], 9, "but the build manifest says"),
    "sign no key": ({"b.json": GOOD_BUILD}, ["receipt", "sign", "--build-manifest", "b.json", "--artifact-id", "support-docs-index", "--uri", "s3://models/x", "--out", "r.json"], 8, "no signing key"),
    "sign key file missing": ({"b.json": GOOD_BUILD}, ["receipt", "sign", "--build-manifest", "b.json", "--artifact-id", "support-docs-index", "--uri", "s3://models/x", "--key", "k.key", "--out", "r.json"], 3, "k.key"),
    "sign key is public": ({"b.json": GOOD_BUILD}, ["receipt", "sign", "--build-manifest", "b.json", "--artifact-id", "support-docs-index", "--uri", "s3://models/x", "--key", "ci.key.pub", "--out", "r.json"], 8, "not a PEM private key"),
    "show missing": ({}, ["receipt", "show", "r.json"], 3, "r.json"),
    "show malformed": ({"r.json": "nope"}, ["receipt", "show", "r.json"], 5, "not valid JSON"),
    "show not an envelope": ({"r.json": GOOD_BUILD}, ["receipt", "show", "r.json"], 5, "payload: required field is missing"),
    "show trust broken": ({"r.json": DOCUMENTS["dsse_envelope.schema.json"], "t.json": "{"}, ["receipt", "show", "r.json", "--trust", "t.json"], 2, "t.json"),
    "show untrusted": ({"r.json": DOCUMENTS["dsse_envelope.schema.json"]}, ["receipt", "show", "r.json", "--trust", "trust.json"], 7, "does not list"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_exits_non_zero_with_one_line_and_writes_nothing(work, capsys, case):
    files, argv, expected_code, reason = BAD_INPUTS[case]
    for name, content in files.items():
        _write(work, name, content)
    before = {p: p.stat().st_mtime_ns for p in work.rglob("*")}
    code, out, err = run(capsys, *argv)
    assert code == expected_code, err
    assert err.startswith("receiptcore: error: ") and err.count("\n") == 1, err
    assert reason in err
    assert out == ""
    assert {p: p.stat().st_mtime_ns for p in work.rglob("*")} == before  # nothing written


def test_a_tampered_receipt_fails_show_with_the_signature_exit_code(work, capsys):
    build_files(capsys)
    run(capsys, "receipt", "sign", "--build-manifest", "build.json", "--artifact-id", "docs-index",
        "--uri", "s3://models/x", "--key", "ci.key", "--out", "r.json")
    document = json.loads((work / "r.json").read_text())
    document["payloadType"] = "application/vnd.in-toto+json"
    sig = bytearray(__import__("base64").b64decode(document["signatures"][0]["sig"]))
    sig[0] ^= 1
    document["signatures"][0]["sig"] = __import__("base64").b64encode(bytes(sig)).decode()
    _write(work, "r.json", document)
    code, out, err = run(capsys, "receipt", "show", "r.json", "--trust", "trust.json")
    assert code == 6 and "does not verify" in err and out == ""


def test_the_cli_parser_loads_without_pydantic_or_cryptography():
    code = (
        "import sys; from receiptcore.cli import build_parser; build_parser(); "
        "print(sorted(m for m in ('pydantic', 'cryptography') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_cli_default_issuer_is_the_library_s():
    from receiptcore.cli.commands import receipt as command
    from receiptcore.signing.receipts import DEFAULT_ISSUER

    assert command.DEFAULT_ISSUER == DEFAULT_ISSUER
