"""Every scan rule, flagged and not flagged, on throwaway git repositories with real files."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from support.scanrepo import Repo, faiss_bytes, flagged, npy_bytes, pickle_bytes, safetensors_bytes

SOURCE = "def f():\n    return 1\n"


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    root = tmp_path / "repo"
    root.mkdir()
    return Repo(root)


def test_weights_flagged_by_extension_unless_the_content_clears_it(repo, capsys):
    for ext in ("safetensors", "pt", "pth", "bin", "ckpt", "gguf", "h5", "pkl", "joblib",
                "tflite"):
        repo.write(f"models/m.{ext}", b"\x00\x17\x9a raw tensor bytes, no known format")
        repo.write(f"text/m.{ext}", "plain text cannot be weights\n")
    repo.write("models/README.md", "# models\n")
    repo.write("bin/tool.py", SOURCE)  # a folder named bin is not a .bin file
    repo.add(".")
    found = flagged(repo.findings(capsys), "weights")
    assert found == {f"models/m.{e}" for e in ("safetensors", "pt", "pth", "bin", "ckpt", "gguf",
                                                "h5", "pkl", "joblib", "tflite")}


def test_weights_flagged_by_content_under_an_innocent_name(repo, capsys):
    repo.write("model.safetensors", safetensors_bytes())
    repo.write("docs/notes.txt", safetensors_bytes())
    repo.write("docs/real_notes.txt", "just notes\n")
    repo.add(".")
    findings = repo.findings(capsys)
    assert flagged(findings, "weights") == {"model.safetensors", "docs/notes.txt"}
    renamed = next(f for f in findings if f["path"] == "docs/notes.txt")
    assert renamed["format"] == "safetensors" and renamed["family"] == "weights"
    assert renamed["evidence"] and renamed["size"] == len(safetensors_bytes())


def test_pickle_of_arrays_renamed_is_flagged_and_a_pickle_of_plain_data_is_not(repo, capsys):
    import numpy as np

    repo.write("state.txt", pickle.dumps({"w": np.ones(8, dtype=np.float32)}, protocol=4))
    repo.write("config.pkl", pickle_bytes())
    repo.write("plain.txt", "\\x80\\x04 is how a pickle starts\n")
    repo.add(".")
    findings = repo.findings(capsys)
    assert flagged(findings, "tensor-data") == {"state.txt"}
    assert flagged(findings, "weights") == set()


def test_torch_checkpoint_renamed_is_weights(repo, capsys, tmp_path):
    torch = pytest.importorskip("torch", reason="torch is not in this test environment")
    torch.save({"w": torch.ones(4)}, tmp_path / "ck.pt")
    repo.write("ck.pt", (tmp_path / "ck.pt").read_bytes())
    repo.write("weights.dat", (tmp_path / "ck.pt").read_bytes())
    repo.add(".")
    assert flagged(repo.findings(capsys), "weights") == {"ck.pt", "weights.dat"}


def test_onnx_by_name_only_over_the_threshold(repo, capsys):
    repo.config('onnx_size_threshold = "1 KiB"\n')
    repo.write("small.onnx", b"\x08\x07" * 100)
    repo.write("big.onnx", b"\x08\x07" * 1024)
    repo.add(".")
    assert flagged(repo.findings(capsys), "weights") == {"big.onnx"}


def test_weight_extensions_knob_replaces_the_list(repo, capsys):
    repo.config('weight_extensions = [".ckpt", "mdl"]\n')
    repo.write("a.bin", b"\x00x")
    repo.write("a.ckpt", b"\x00x")
    repo.write("a.mdl", b"\x00x")
    repo.add(".")
    assert flagged(repo.findings(capsys), "weights") == {"a.ckpt", "a.mdl"}


def test_tensor_data_by_content_and_disable(repo, capsys, tmp_path):
    data = npy_bytes(tmp_path)
    repo.write("features.npy", data)
    repo.write("img/logo.png", data)
    repo.write("table.csv", "a,b\n1,2\n")
    repo.add(".")
    assert flagged(repo.findings(capsys), "tensor-data") == {"features.npy", "img/logo.png"}
    repo.config('disable = ["tensor-data"]\n')
    assert flagged(repo.findings(capsys), "tensor-data") == set()


def test_vector_index_by_content_whatever_the_name(repo, capsys, tmp_path):
    data = faiss_bytes(tmp_path)
    repo.write("index/vectors.faiss", data)
    repo.write("README.dat", data)
    repo.write("index/notes.md", "IxF2 is a faiss fourcc, said in text\n")
    repo.add(".")
    findings = repo.findings(capsys)
    assert flagged(findings, "vector-index") == {"index/vectors.faiss", "README.dat"}
    assert all(f["family"] == "vector_index" for f in findings if f["rule"] == "vector-index")



def test_vector_stores_without_a_signature_are_flagged_by_name(repo, capsys, tmp_path):
    import tarfile

    from annoy import AnnoyIndex

    index = AnnoyIndex(8, "angular")
    for i in range(32):
        index.add_item(i, [float((i * j) % 7) for j in range(8)])
    index.build(4)
    index.save(str(repo.root / "items.ann"))
    (tmp_path / "segment.json").write_text("{}")
    with tarfile.open(repo.root / "docs-1-2026.snapshot", "w") as tar:
        tar.add(tmp_path / "segment.json", "0/segments/a/segment.json")
    repo.write("annotations.md", "an .ann file is named here\n")
    repo.add(".")
    findings = repo.findings(capsys)
    assert flagged(findings, "vector-index") == {"items.ann", "docs-1-2026.snapshot"}
    assert all("no content signature" in f["evidence"] for f in findings)
    repo.config('vector_extensions = ["ANN"]\n')
    assert flagged(repo.findings(capsys), "vector-index") == {"items.ann"}
    repo.config('disable = ["vector-index"]\n')
    assert flagged(repo.findings(capsys), "vector-index") == set()

def test_forbidden_dirs_at_any_depth_reported_once_per_directory(repo, capsys):
    repo.write("datasets/a.csv", "1\n")
    repo.write("src/app/corpus/x.txt", "t\n")
    repo.write("src/app/corpus/y.txt", "t\n")
    repo.write("src/prompts_dump/p.json", "{}\n")
    repo.write("embeddings_dump/deep/e.txt", "e\n")
    repo.write("src/datasets.py", SOURCE)  # a module named datasets is fine
    repo.write("mydatasets/ok.txt", "fine\n")  # only the exact name
    repo.add(".")
    findings = repo.findings(capsys)
    assert flagged(findings, "forbidden-dir") == {
        "datasets/", "src/app/corpus/", "src/prompts_dump/", "embeddings_dump/"}
    corpus = next(f for f in findings if f["path"] == "src/app/corpus/")
    assert "2 file(s)" in corpus["evidence"] and corpus["size"] == 4


def test_forbidden_dirs_knob(repo, capsys):
    repo.config('forbidden_dirs = ["raw"]\n')
    repo.write("datasets/a.csv", "1\n")
    repo.write("x/raw/a.csv", "1\n")
    repo.add(".")
    assert flagged(repo.findings(capsys), "forbidden-dir") == {"x/raw/"}


def test_large_file_over_the_limit_only(repo, capsys):
    repo.config('max_file_size = "2 KiB"\n')
    repo.write("big.txt", "x" * 2049)
    repo.write("edge.txt", "x" * 2048)
    repo.add(".")
    findings = repo.findings(capsys)
    assert flagged(findings, "large-file") == {"big.txt"}
    assert next(f for f in findings if f["rule"] == "large-file")["size"] == 2049


def test_large_file_allowlist_needs_a_reason_and_excuses(repo, capsys):
    repo.config('max_file_size = 200\n[[scan.allow_large]]\npath = "vendor/"\n'
                'reason = "pinned third-party bundle"\n')
    repo.write("vendor/lib.js", "x" * 300)
    repo.write("vendorx/lib.js", "x" * 300)
    repo.add(".")
    assert flagged(repo.findings(capsys), "large-file") == {"vendorx/lib.js"}


def test_force_added_file_under_ignored_data_is_still_found(repo, capsys):
    """data/ is allowed only while git ignores it; a force-added file is in every clone."""
    repo.config('max_file_size = 64\n')
    repo.write(".gitignore", "data/\n*.pt\n")
    repo.write("data/big.csv", "x" * 100)
    repo.write("data/other.csv", "x" * 100)
    repo.write("ckpt/model.pt", b"\x00x")
    repo.add(".gitignore", "receiptcore.toml")
    repo.add("data/big.csv", "ckpt/model.pt", force=True)
    findings = repo.findings(capsys)
    assert flagged(findings, "large-file") == {"data/big.csv"}
    assert "only while git-ignored" in next(
        f for f in findings if f["path"] == "data/big.csv")["evidence"]
    assert flagged(findings, "weights") == {"ckpt/model.pt"}


def _package(repo: Repo, name: str, modules: dict[str, str]) -> None:
    repo.write(f"{name}/__init__.py", "")
    for module, body in modules.items():
        repo.write(f"{name}/{module}.py", body)


CONTRACT = ('[[scan.contracts]]\nmodules = ["agents"]\n'
            'forbidden = ["training", "torch"]\n')


def test_import_boundary_reports_chain_and_first_line(repo, capsys):
    repo.config(CONTRACT)
    _package(repo, "agents", {"tool": "import os\n\nfrom agents import helpers\n",
                              "helpers": "\n\ndef f():\n    import training.fit\n"})
    _package(repo, "training", {"fit": "x = 1\n"})
    repo.add(".")
    code, out, _ = repo.scan(capsys)
    assert code == 1
    assert "agents.helpers -> training.fit" in out and "agents/helpers.py:4" in out
    findings = repo.findings(capsys)
    assert [(f["path"], f["line"]) for f in findings] == [("agents/helpers.py", 4)]


def test_import_boundary_through_other_modules(repo, capsys):
    repo.config(CONTRACT)
    _package(repo, "agents", {"tool": "import shared.util\n"})
    _package(repo, "shared", {"util": "from training import fit\n"})
    _package(repo, "training", {"fit": "x = 1\n"})
    repo.add(".")
    [finding] = repo.findings(capsys)
    assert finding["path"] == "agents/tool.py" and finding["line"] == 1
    assert "agents.tool -> shared.util -> training" in finding["evidence"]


def test_import_boundary_external_package_and_clean_code(repo, capsys):
    repo.config(CONTRACT)
    _package(repo, "agents", {"tool": "import json\nimport numpy\n", "ml": "import torch.nn\n"})
    repo.add(".")
    findings = repo.findings(capsys)
    assert [(f["rule"], f["path"], f["line"]) for f in findings] == [
        ("import-boundary", "agents/ml.py", 1)]
    repo.write("agents/ml.py", "import json\n")
    assert repo.findings(capsys) == []


def test_import_boundary_counts_dynamic_imports_of_literal_names(repo, capsys):
    repo.config(CONTRACT)
    _package(repo, "agents", {
        "loader": "import importlib\n\nmod = importlib.import_module('torch')\n",
        "lazy": "def get():\n    return __import__('training.fit')\n",
        "relative": "import shared.util\n",
        # Not imports: a name computed at run time, and the words in a comment or a string.
        "computed": "import importlib\nname = 'torch'\nimportlib.import_module(name)\n",
        "mentions": "# importlib.import_module('torch')\nDOC = \"__import__('torch')\"\n"})
    _package(repo, "shared", {"util": "from importlib import import_module\n"
                                      "bridge = import_module('.bridge', __package__)\n",
                              "bridge": "from training import fit\n"})
    _package(repo, "training", {"fit": "x = 1\n"})
    repo.add(".")
    chains = {(f["path"], f["line"]): f["evidence"] for f in repo.findings(capsys)}
    assert set(chains) == {("agents/loader.py", 3), ("agents/lazy.py", 2),
                           ("agents/relative.py", 1)}
    assert "agents.loader -> torch; first import: `mod = importlib.import_module('torch')`" in (
        chains[("agents/loader.py", 3)])
    assert "agents.relative -> shared.util -> shared.bridge -> training" in (
        chains[("agents/relative.py", 1)])


def test_import_boundary_type_checking_imports_count_unless_ignored(repo, capsys):
    repo.config(CONTRACT)
    _package(repo, "agents", {"hints": "from typing import TYPE_CHECKING\n"
                                       "if TYPE_CHECKING:\n    import torch\n"})
    repo.add(".")
    assert flagged(repo.findings(capsys), "import-boundary") == {"agents/hints.py"}
    repo.config(CONTRACT + "ignore_type_checking = true\n")
    assert flagged(repo.findings(capsys), "import-boundary") == set()


def test_import_boundary_through_a_top_level_single_file_module(repo, capsys):
    repo.config(CONTRACT)
    _package(repo, "agents", {"tool": "import util\n"})
    _package(repo, "training", {"fit": "x = 1\n"})
    repo.write("util.py", "import json\n\n\nimport zhelpers\n")
    repo.write("zhelpers.py", "from training.fit import x\n")
    repo.write("hints.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import torch\n")
    repo.write("runtime.py", "import typing\nif not typing.TYPE_CHECKING:\n    import torch\n")
    repo.add(".")
    [finding] = repo.findings(capsys)
    assert finding["path"] == "agents/tool.py" and finding["line"] == 1
    assert "agents.tool -> util -> zhelpers -> training.fit" in finding["evidence"]
    # A top-level module reached only under TYPE_CHECKING, with and without the knob.
    repo.write("agents/tool.py", "import hints\n")
    assert flagged(repo.findings(capsys), "import-boundary") == {"agents/tool.py"}
    repo.config(CONTRACT + "ignore_type_checking = true\n")
    assert flagged(repo.findings(capsys), "import-boundary") == set()
    # `if not TYPE_CHECKING:` guards imports that do run.
    repo.write("agents/tool.py", "import runtime\n")
    assert flagged(repo.findings(capsys), "import-boundary") == {"agents/tool.py"}


def test_import_boundary_finds_packages_under_src(repo, capsys):
    repo.config(CONTRACT)
    repo.write("src/agents/__init__.py", "import training\n")
    repo.write("src/training/__init__.py", "")
    repo.add(".")
    assert flagged(repo.findings(capsys), "import-boundary") == {"src/agents/__init__.py"}


def test_benign_files_raise_nothing(repo, capsys, tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "a.zip", "w") as z:
        z.writestr("readme.txt", "hello")
    repo.write("docs/bundle.zip", (tmp_path / "a.zip").read_bytes())
    repo.write("src/app.py", SOURCE)
    repo.write("docs/logo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    repo.write("docs/paper.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    repo.add(".")
    code, out, _ = repo.scan(capsys)
    assert (code, out.startswith("clean: 4 file(s)")) == (0, True), out


def test_a_tracked_file_missing_from_the_tree_is_judged_by_its_blob(repo, capsys):
    repo.write("gone.txt", safetensors_bytes())
    repo.write("here.txt", "x")
    repo.add(".")
    (repo.root / "gone.txt").unlink()
    findings = repo.findings(capsys)
    assert [(f["rule"], f["path"], f["format"]) for f in findings] == [
        ("weights", "gone.txt", "safetensors")]


def test_symlinks_are_not_followed_nor_judged_by_name(repo, capsys, tmp_path):
    outside = tmp_path / "weights.safetensors"
    outside.write_bytes(safetensors_bytes())
    (repo.root / "model.bin").symlink_to(outside)
    (repo.root / "datasets").mkdir()
    (repo.root / "datasets" / "link").symlink_to(outside)
    repo.add(".")
    findings = repo.findings(capsys)
    assert [(f["rule"], f["path"]) for f in findings] == [("forbidden-dir", "datasets/")]


def test_a_name_that_is_not_utf8_round_trips_to_its_bytes(repo, capsys):
    import os
    import subprocess
    import sys

    name = os.fsdecode(b"model-\xff.bin")
    repo.write(name, b"\x00x")
    repo.add(".")
    findings = repo.findings(capsys)  # JSON escapes the undecodable byte
    assert ("weights", name) in {(f["rule"], f["path"]) for f in findings}
    done = subprocess.run([sys.executable, "-m", "receiptcore.cli", "scan", str(repo.root)],
                          capture_output=True, check=False)
    assert done.returncode == 1 and b"model-\xff.bin" in done.stdout


class _Evil:
    def __reduce__(self):
        import os

        return os.system, ("id",)


def test_unsafe_pickles_are_their_own_rule_under_any_name(repo, capsys):
    for protocol in (0, 1, 4):
        repo.write(f"notes{protocol}.txt", pickle.dumps(_Evil(), protocol=protocol))
    repo.write("plain.pkl", pickle.dumps({"lr": 0.1}))
    repo.add(".")
    findings = repo.findings(capsys)
    assert flagged(findings, "unsafe-pickle") == {"notes0.txt", "notes1.txt", "notes4.txt"}
    assert "system" in next(f for f in findings if f["rule"] == "unsafe-pickle")["evidence"]
    # A pickle of plain data is not weights, whatever its extension says.
    assert flagged(findings, "weights") == set()


def test_lfs_pointers_keys_and_datasets_by_content(repo, capsys, tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"x": [1, 2, 3]}), tmp_path / "t.parquet")
    repo.write("data/cache.bin", (tmp_path / "t.parquet").read_bytes())
    repo.write("model.safetensors", "version https://git-lfs.github.com/spec/v1\n"
               f"oid sha256:{'c' * 64}\nsize 360448\n")
    repo.write(".gitattributes", "*.md text\n*.safetensors filter=lfs diff=lfs merge=lfs -text\n")
    from receiptcore.ledger.checkpoint import SignerKey

    repo.write("ops/ledger.key", SignerKey.generate("ci.example").to_text() + "\n")
    repo.write("distutils-precedence.pth", "import os; enabled = os.environ.get('X')\n")
    repo.add(".")
    findings = repo.findings(capsys)
    assert flagged(findings, "dataset") == {"data/cache.bin"}
    assert flagged(findings, "lfs-pointer") == {"model.safetensors", ".gitattributes"}
    assert [f["line"] for f in findings if f["path"] == ".gitattributes"] == [2]
    assert flagged(findings, "private-key") == {"ops/ledger.key"}
    assert flagged(findings, "weights") == set()


def test_archives_nested_past_the_depth_limit_fail_closed(repo, capsys):
    import gzip

    data = pickle.dumps({"a": 1})
    for _ in range(8):
        data = gzip.compress(data, compresslevel=0)
    repo.write("blob.gz", data)
    repo.add(".")
    assert flagged(repo.findings(capsys), "unreadable") == {"blob.gz"}
