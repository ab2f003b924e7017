"""The scan's pure parts, without a repository: rules over file records, sizes, the baseline and
the reports, with hypothesis properties."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from receiptcore import Entry, sniff
from receiptcore.errors import ConfigError
from receiptcore.scan.baseline import fingerprint, load_baseline, split_new, write_baseline
from receiptcore.scan.config import ScanConfig, parse_config, parse_size
from receiptcore.scan.report import ScanResult, render_json, render_sarif, render_text
from receiptcore.scan.rules import Finding, check_files
from support.samples import onnx_model
from support.scanrepo import safetensors_bytes

segment = st.sampled_from(["src", "datasets", "corpus", "a", "b.c", "prompts_dump", "x y", "é"])
paths = st.lists(segment, min_size=1, max_size=5).map("/".join)
FORBIDDEN = {"datasets", "corpus", "prompts_dump", "embeddings_dump"}


@settings(max_examples=200)
@given(st.lists(paths, unique=True, max_size=20))
def test_forbidden_dir_is_the_topmost_forbidden_folder_of_each_file(files):
    records = [Entry(p, 1) for p in files]
    found = {f.path for f in check_files(records, ScanConfig()) if f.rule == "forbidden-dir"}
    expected = set()
    for p in files:
        parts = p.split("/")[:-1]
        for i, part in enumerate(parts):
            if part in FORBIDDEN:
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
    found = {f.path: f for f in check_files(records, ScanConfig()) if f.rule == "weights"}
    assert set(found) == {"a.txt", "big.txt"}
    assert found["a.txt"].evidence == f"safetensors: {weights.evidence}"


@pytest.mark.parametrize("path, size, flagged", [
    ("m/model.PT", 1, {"weights"}), ("model.pt.txt", 1, set()), ("x.bin", 1, {"weights"}),
    ("big.txt", (1 << 20) + 1, {"large-file"}), ("edge.txt", 1 << 20, set())])
def test_extension_and_size_rules_from_the_native_first_pass(path, size, flagged):
    found = {f.rule for f in check_files([Entry(path, size)], ScanConfig())}
    assert found == flagged


def test_a_size_limit_past_64_bits_clears_every_file():
    config = parse_config({"max_file_size": "20000000 TiB"}, "t")
    assert check_files([Entry("huge.txt", (1 << 64) - 1)], config) == []


def test_unreadable_files_fail_closed_and_symlinks_are_not_weights():
    records = [Entry("locked.txt", 3, error="cannot read: Permission denied"),
               Entry("link.pt", 9, kind="symlink")]
    found = [(f.rule, f.path) for f in check_files(records, ScanConfig())]
    assert found == [("unreadable", "locked.txt")]


def test_disable_turns_each_rule_off():
    config = parse_config({"disable": ["weights", "large-file", "forbidden-dir"]}, "t")
    records = [Entry("datasets/m.bin", 5 << 20)]
    assert check_files(records, config) == []


findings = st.builds(
    Finding, rule=st.sampled_from(["weights", "large-file", "import-boundary"]), path=paths,
    evidence=st.text(max_size=30), size=st.none() | st.integers(0, 1 << 40),
    line=st.none() | st.integers(1, 10_000), key=st.text(max_size=10))


@settings(max_examples=50)
@given(st.lists(findings, max_size=10), st.lists(findings, max_size=5))
def test_baseline_round_trip_only_new_findings_remain(tmp_path_factory, old, later):
    path = tmp_path_factory.mktemp("b") / "baseline.json"
    write_baseline(path, old)
    new, known = split_new(old + later, load_baseline(path))
    old_prints = {fingerprint(f) for f in old}
    assert {fingerprint(f) for f in new}.isdisjoint(old_prints)
    assert {fingerprint(f) for f in known} <= old_prints
    assert len(new) + len(known) == len(old) + len(later)
    assert list(path.parent.iterdir()) == [path]  # written via a temp file, nothing left over


@settings(max_examples=50)
@given(st.lists(findings, max_size=8), st.booleans())
def test_reports_keep_every_finding(found, warn):
    result = ScanResult(found, [], "warn" if warn else "enforce", "git", 3)
    body = json.loads(render_json(result))
    assert sorted(f["path"] for f in body["findings"]) == sorted(f.path for f in found)
    assert body["failed"] == (bool(found) and not warn)
    sarif = json.loads(render_sarif(result, "0"))
    assert len(sarif["runs"][0]["results"]) == len(found)
    text = render_text(result)
    assert all(f.path in text for f in found)
