"""The scan's pure parts, without a repository: rules over file records, sizes, the baseline and
the reports, with hypothesis properties."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from receiptcore import Entry, sniff
from receiptcore._core import Listing
from receiptcore.errors import ConfigError
from receiptcore.scan.baseline import load_baseline, split_new, write_baseline
from receiptcore.scan.config import ScanConfig, parse_config, parse_size
from receiptcore.scan.report import ScanResult, render_json, render_text
from receiptcore.scan.rules import Finding, check_files
from receiptcore.scan.sarif import render_sarif
from support.samples import onnx_model
from support.scanrepo import safetensors_bytes

segment = st.sampled_from(["src", "datasets", "corpus", "a", "b.c", "prompts_dump", "x y", "é",
                           "Datasets", "CORPUS"])
paths = st.lists(segment, min_size=1, max_size=5).map("/".join)
FORBIDDEN = {"datasets", "corpus", "prompts_dump", "embeddings_dump"}


def check(records, config: ScanConfig | None = None) -> list[Finding]:
    return check_files(Listing(records), config or ScanConfig())[0]


@settings(max_examples=200)
@given(st.lists(paths, unique=True, max_size=20))
def test_forbidden_dir_is_the_topmost_forbidden_folder_of_each_file(files):
    records = [Entry(p, 1) for p in files]
    found = {f.path for f in check(records) if f.rule == "forbidden-dir"}
    expected = set()
    for p in files:
        parts = p.split("/")[:-1]
        for i, part in enumerate(parts):
            if part.lower() in FORBIDDEN:
                expected.add("/".join(parts[: i + 1]) + "/")
                break
    assert found == expected


@pytest.mark.parametrize("text, size", [
    (0, 0), (1048576, 1048576), ("1 MiB", 1 << 20), ("500 KB", 500_000), ("2GiB", 2 << 30),
    ("1.5 KiB", 1536), ("10 B", 10), ("7", 7)])
def test_sizes_with_and_without_units(text, size):
    assert parse_size(text, "k", "here") == size


@pytest.mark.parametrize("bad", ["-1", "1 MB extra", "", True, -5, 1.5, "1 XB"])
def test_bad_sizes_are_config_errors(bad):
    with pytest.raises(ConfigError, match="'k' must be a size"):
        parse_size(bad, "k", "here")


def test_sniffed_weights_are_flagged_and_small_onnx_is_not(tmp_path):
    weights, onnx = sniff(safetensors_bytes()), sniff(onnx_model(tmp_path))
    records = [Entry("a.txt", 10, weights), Entry("g.txt", 10, onnx),
               Entry("big.txt", 2 << 20, onnx), Entry("plain.txt", 10)]
    found = {f.path: f for f in check(records) if f.rule == "weights"}
    assert set(found) == {"a.txt", "big.txt"}
    assert found["a.txt"].evidence == f"safetensors: {weights.evidence}"


@pytest.mark.parametrize("path, size, flagged", [
    ("m/model.PT", 1, {"weights"}), ("model.pt.txt", 1, set()), ("x.bin", 1, {"weights"}),
    ("big.txt", (1 << 20) + 1, {"large-file"}), ("edge.txt", 1 << 20, set())])
def test_extension_and_size_rules_from_the_native_first_pass(path, size, flagged):
    found = {f.rule for f in check([Entry(path, size)])}
    assert found == flagged


def test_a_size_limit_past_64_bits_clears_every_file():
    config = parse_config({"max_file_size": "20000000 TiB"}, "t")
    assert check([Entry("huge.txt", (1 << 64) - 1)], config) == []


def test_unreadable_files_fail_closed_and_symlinks_are_not_weights():
    records = [Entry("locked.txt", 3, error="cannot read: Permission denied"),
               Entry("link.pt", 9, kind="symlink")]
    found = [(f.rule, f.path) for f in check(records)]
    assert found == [("unreadable", "locked.txt")]


def test_disable_turns_each_rule_off():
    config = parse_config({"disable": ["weights", "large-file", "forbidden-dir"]}, "t")
    records = [Entry("datasets/m.bin", 5 << 20)]
    assert check(records, config) == []


rules = st.sampled_from(["weights", "large-file", "import-boundary", "unsafe-pickle"])
findings = st.builds(
    Finding, rule=rules, path=paths, evidence=st.text(max_size=30),
    size=st.none() | st.integers(0, 1 << 40), line=st.none() | st.integers(1, 10_000),
    key=st.text(max_size=10), also=st.lists(rules, max_size=2, unique=True).map(tuple),
    content=st.none() | st.sampled_from(["git:" + "a" * 40, "sha256:" + "b" * 64]))


def _trusted(f: Finding, old: list[Finding]) -> bool:
    return any((o.path, o.key, o.content) == (f.path, f.key, f.content)
               and set(f.rules) <= set(o.rules) for o in old)


@settings(max_examples=80)
@given(st.lists(findings, max_size=10), st.lists(findings, max_size=5))
def test_baseline_trusts_content_and_rules_not_paths(tmp_path_factory, old, later):
    path = tmp_path_factory.mktemp("b") / "baseline.json"
    write_baseline(path, old)
    new, known = split_new(old + later, load_baseline(path))
    assert all(_trusted(f, old) for f in known)
    assert not any(_trusted(f, old) for f in new)
    assert len(new) + len(known) == len(old) + len(later)
    assert list(path.parent.iterdir()) == [path]  # written via a temp file, nothing left over


def test_changed_content_or_a_new_rule_under_a_baselined_path_is_new(tmp_path):
    path = tmp_path / "baseline.json"
    pinned = Finding("weights", "m.safetensors", "x", content="git:" + "1" * 40)
    write_baseline(path, [pinned])
    known = load_baseline(path)
    grown = Finding("weights", "m.safetensors", "x", content="git:" + "2" * 40)
    worse = Finding("unsafe-pickle", "m.safetensors", "x", also=("weights",),
                    content=pinned.content)
    assert split_new([pinned, grown, worse], known) == ([grown, worse], [pinned])


def test_a_version_1_baseline_is_refused_with_the_way_out(tmp_path):
    path = tmp_path / "baseline.json"
    path.write_text('{"version": 1, "findings": [{"rule": "weights", "path": "a.pt"}]}')
    with pytest.raises(ConfigError, match="trusts paths whatever their content.*--write-baseline"):
        load_baseline(path)


@settings(max_examples=50)
@given(st.lists(findings, max_size=8), st.booleans())
def test_reports_keep_every_finding(found, warn):
    result = ScanResult(found, [], "warn" if warn else "enforce", "git", 3)
    body = json.loads(render_json(result))
    assert sorted(f["path"] for f in body["findings"]) == sorted(f.path for f in found)
    assert body["failed"] == (bool(found) and not warn)
    sarif = json.loads(render_sarif(result, "0", Path("."))[0])
    assert len(sarif["runs"][0]["results"]) == len(found)
    text = render_text(result)
    assert all(f.path in text for f in found)
