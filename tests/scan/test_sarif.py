"""``receiptcore scan --format sarif`` as GitHub code scanning takes it: valid against the
official SARIF 2.1.0 schema (outside vectors), and clean under a checker of GitHub's documented
rules (tests/support/github_sarif.py), fingerprints included; past GitHub's limits it is cut,
saying so."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from receiptcore.scan.catalogue import RULES
from receiptcore.scan.report import ScanResult
from receiptcore.scan.rules import Finding
from receiptcore.scan.sarif import MAX_GZIP_BYTES, MAX_RESULTS, render_sarif
from support import github_sarif
from support.scanrepo import Repo


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    r = Repo(tmp_path / "repo")
    r.config('max_file_size = "1 KiB"\n[[scan.contracts]]\nmodules = ["agents"]\n'
             'forbidden = ["training"]\n')
    r.write("agents/__init__.py", "")
    r.write("agents/tool.py", "import os\nimport training\n")
    r.write("training/__init__.py", "")
    r.write("docs/notes.txt", big_safetensors())
    r.write("my file #1.bin", b"\x00x")
    r.write("datasets/a.csv", "1\n")
    r.write("big.log", "x" * 2000)
    r.write(".gitattributes", "*.gguf filter=lfs -text\n")
    r.write("old.pt", b"\x00x")
    r.add(".")
    r.commit()
    r.git("update-index", "--add", "--cacheinfo",
          f"160000,{r.git('rev-parse', 'HEAD').strip()},vendor/lib")
    r.write(".gitmodules", '[submodule "lib"]\n\tpath = vendor/lib\n\turl = ../lib\n')
    r.add(".gitmodules")
    return r


def big_safetensors() -> bytes:
    import numpy as np
    from safetensors.numpy import save

    return save({"w": np.ones((64, 64), dtype=np.float32)})  # 16 KiB: over the 1 KiB limit


def sarif(repo: Repo, capsys, *args: str) -> tuple[dict, bytes]:
    code, out, err = repo.scan(capsys, "--format", "sarif", *args)
    assert code == 1 and err == "", err
    return json.loads(out), out.encode()


def test_the_log_validates_against_the_official_schema(repo, capsys, vectors):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((vectors / "sarif-schema-2.1.0.json").read_text())
    repo.scan(capsys, "--write-baseline")
    repo.write("new.pt", b"\x00x")
    repo.add("new.pt")
    log, _ = sarif(repo, capsys)
    jsonschema.Draft4Validator(schema).validate(log)
    results = log["runs"][0]["results"]
    states = {r["properties"]["path"]: r["baselineState"] for r in results}
    assert states["new.pt"] == "new" and states["old.pt"] == "unchanged"
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert "my%20file%20%231.bin" in uris


def test_the_log_follows_githubs_documented_rules(repo, capsys):
    repo.scan(capsys, "--write-baseline")
    repo.write("new.pt", b"\x00x")
    repo.add("new.pt")
    log, raw = sarif(repo, capsys)
    assert github_sarif.problems(log, raw, repo.root) == []
    run = log["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.root.resolve().as_uri() + "/"
    rules = {r["properties"]["path"]: r for r in run["results"]}
    assert set(rules) >= {"datasets/", "vendor/lib", "agents/tool.py", ".gitattributes",
                          "docs/notes.txt", "new.pt"}
    # A line finding sits on its line; a file finding on the file's first line.
    chain = rules["agents/tool.py"]["locations"][0]["physicalLocation"]["region"]
    assert (chain["startLine"], chain["endColumn"]) == (2, len("import training") + 1)
    assert rules["new.pt"]["locations"][0]["physicalLocation"]["region"]["startLine"] == 1


def test_directories_are_placed_on_a_file_and_named_in_the_message(repo, capsys):
    log, _ = sarif(repo, capsys)
    results = {r["properties"]["path"]: r for r in log["runs"][0]["results"]}
    folder = results["datasets/"]
    assert folder["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "datasets/a.csv")
    assert "the directory datasets/" in folder["message"]["text"]
    sub = results["vendor/lib"]
    where = sub["locations"][0]["physicalLocation"]
    assert where["artifactLocation"]["uri"] == ".gitmodules"
    assert where["region"]["startLine"] == 2  # its "path = vendor/lib" line
    assert "the submodule vendor/lib" in sub["message"]["text"]


def test_a_file_flagged_by_several_rules_is_one_result_naming_them_all(repo, capsys):
    log, _ = sarif(repo, capsys)
    [notes] = [r for r in log["runs"][0]["results"]
               if r["properties"]["path"] == "docs/notes.txt"]
    assert notes["ruleId"] == "weights"
    assert notes["properties"]["rules"] == ["weights", "large-file"]
    assert "Also flagged by: large-file" in notes["message"]["text"]


def test_fingerprints_follow_the_line_not_its_number(repo, capsys):
    log, _ = sarif(repo, capsys)
    before = {r["properties"]["path"]: r["partialFingerprints"]["primaryLocationLineHash"]
              for r in log["runs"][0]["results"]}
    repo.write("agents/tool.py", "# a comment above\nimport os\nimport training\n")
    repo.add("agents/tool.py")
    log, raw = sarif(repo, capsys)
    assert github_sarif.problems(log, raw, repo.root) == []
    after = {r["properties"]["path"]: r for r in log["runs"][0]["results"]}
    chain = after["agents/tool.py"]
    assert chain["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    assert chain["partialFingerprints"]["primaryLocationLineHash"] == before["agents/tool.py"]


def test_the_checker_catches_what_github_refuses():
    """The issue's list, as our first SARIF had it: the checker must not pass it."""
    log = {"$schema": "x", "version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "t", "rules": [
            {"id": "r", "shortDescription": {"text": "s"}, "fullDescription": {"text": "f" * 2000},
             "help": {"text": "h"}}]}},
        "results": [{"ruleId": "r", "message": {"text": "m"},
                     "locations": [{"physicalLocation": {
                         "artifactLocation": {"uri": "datasets/", "uriBaseId": "%SRCROOT%"}}}],
                     "partialFingerprints": {"receiptcoreFinding/v1": "abc"}}]}]}
    found = "\n".join(github_sarif.problems(log, json.dumps(log).encode()))
    for needle in ("fullDescription.text: over 1024", "region.startLine",
                   "primaryLocationLineHash", "not in originalUriBaseIds"):
        assert needle in found


def _findings(n: int, evidence: int = 10) -> list[Finding]:
    rules = [rule.id for rule in RULES if rule.id != "import-boundary"]
    noise = base64.b64encode(os.urandom(evidence * n)).decode()
    return [Finding(rules[i % len(rules)], f"gone/{i}.bin", noise[i * evidence:(i + 1) * evidence])
            for i in range(n)]


def test_the_limits_are_githubs():
    assert MAX_RESULTS == github_sarif.RESULTS_PER_RUN == 25_000
    assert MAX_GZIP_BYTES == github_sarif.GZIP_BYTES == 10_000_000


def test_results_past_the_limit_are_cut_most_severe_kept_with_a_note(tmp_path, monkeypatch):
    from receiptcore.scan import sarif as module

    monkeypatch.setattr(module, "MAX_RESULTS", 100)
    found = _findings(101)
    text, note = render_sarif(ScanResult(found, [], "enforce", "git", 1), "0", tmp_path)
    run = json.loads(text)["runs"][0]
    assert len(run["results"]) == 100
    assert note and note.startswith("1 of 101 results left out")
    assert run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"] == note
    assert "unsafe-pickle" in {r["ruleId"] for r in run["results"]}  # the least severe go
    assert github_sarif.problems(json.loads(text), text.encode()) == []


def test_a_log_past_the_gzipped_size_limit_is_cut_to_fit(tmp_path, monkeypatch):
    import gzip

    from receiptcore.scan import sarif as module

    monkeypatch.setattr(module, "MAX_GZIP_BYTES", 200_000)
    found = _findings(1_000, evidence=600)  # random text: gzip cannot shrink it enough
    text, note = render_sarif(ScanResult(found, [], "enforce", "git", 1), "0", tmp_path)
    kept = len(json.loads(text)["runs"][0]["results"])
    assert note and "results left out" in note and 0 < kept < 1_000
    assert len(gzip.compress(text.encode())) <= 200_000
    # Not cut more than the estimate needs: most of what fits is kept.
    assert len(gzip.compress(text.encode())) > 150_000


def test_the_checker_refuses_logs_past_githubs_limits():
    result = {"ruleId": "r", "message": {"text": "m"}, "partialFingerprints": {
        "primaryLocationLineHash": "1:1"}, "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": "a"}, "region": {
                "startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 2}}}]}
    rule = {"id": "r", "shortDescription": {"text": "s"}, "fullDescription": {"text": "f"},
            "help": {"text": "h"}}
    log = {"$schema": "x", "version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "t", "rules": [rule]}}, "results": [result] * 25_001}]}
    assert github_sarif.problems(log, b"{}") == [
        "runs[0].results: required, at most 25,000"]
    assert github_sarif.problems(log, os.urandom(10_100_000))[0] == (
        "gzip-compressed file over 10 MB")


def test_the_cli_prints_the_cut_on_stderr(repo, capsys, monkeypatch):
    from receiptcore.scan import sarif as module

    monkeypatch.setattr(module, "MAX_RESULTS", 2)
    code, out, err = repo.scan(capsys, "--format", "sarif")
    assert code == 1 and len(json.loads(out)["runs"][0]["results"]) == 2
    assert err.startswith("receiptcore: warning: ") and "results left out" in err


def test_every_rule_fits_githubs_text_limits():
    for rule in RULES:
        assert len(rule.title) <= 1024 and len(rule.explain) <= 1024, rule.id

