"""``receiptcore scan`` as CI and hooks run it: file selection, baseline, modes, config errors,
and the text and JSON reports (SARIF has tests/scan/test_sarif.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from receiptcore.cli import main
from support.scanrepo import Repo, flagged, safetensors_bytes

CONTRACT = '[[scan.contracts]]\nmodules = ["agents"]\nforbidden = ["training"]\n'


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo.started(tmp_path / "repo")


def test_default_selection_is_exactly_what_git_tracks(repo, capsys):
    repo.write(".gitignore", "*.bin\n")
    repo.write("tracked.bin", b"\x00x")
    repo.write("untracked.pt", b"\x00x")
    repo.write("ignored.bin", b"\x00x")
    repo.add(".gitignore")
    repo.add("tracked.bin", force=True)
    assert flagged(repo.findings(capsys), "weights") == {"tracked.bin"}


def test_all_walks_the_tree_honouring_gitignore(repo, capsys):
    repo.write(".gitignore", "*.bin\n")
    repo.write("ignored.bin", b"\x00x")
    repo.write("untracked.pt", b"\x00x")
    assert flagged(repo.findings(capsys, "--all"), "weights") == {"untracked.pt"}


def test_staged_sees_only_what_is_about_to_be_committed(repo, capsys):
    repo.write("old.pt", b"\x00x")
    repo.add("old.pt")
    repo.commit()
    repo.write("new.safetensors", safetensors_bytes())
    repo.write("renamed.txt", safetensors_bytes())
    repo.write("not_staged.pt", b"\x00x")
    repo.add("new.safetensors", "renamed.txt")
    findings = repo.findings(capsys, "--staged")
    assert flagged(findings, "weights") == {"new.safetensors", "renamed.txt"}


def test_staged_judges_the_staged_blob_not_the_working_tree_copy(repo, capsys):
    # Weights staged, then the working copy overwritten: the commit still carries weights.
    repo.write("model.txt", safetensors_bytes())
    repo.write("sub/notes.txt", "just notes\n")
    repo.add("model.txt", "sub/notes.txt")
    repo.write("model.txt", "harmless now\n")
    (repo.root / "sub" / "notes.txt").unlink()
    repo.write("sub/notes.txt", safetensors_bytes())
    findings = repo.findings(capsys, "--staged")
    assert flagged(findings, "weights") == {"model.txt"}
    [weights] = [f for f in findings if f["rule"] == "weights"]
    assert weights["format"] == "safetensors" and weights["size"] == len(safetensors_bytes())


def test_staged_names_that_are_not_utf8_fail_closed_and_blobs_leave_nothing(repo, capsys):
    import os

    name = os.fsdecode(b"bad\xff.txt")
    repo.write(name, "notes\n")
    repo.add(name)
    repo.write("edited.txt", safetensors_bytes())
    repo.add("edited.txt")
    repo.write("edited.txt", "harmless now\n")
    findings = repo.findings(capsys, "--staged")
    assert {(f["rule"], f["path"]) for f in findings} == {
        ("unreadable", name), ("weights", "edited.txt")}
    assert not list((repo.root / ".git").glob("receiptcore-staged-*"))


def test_staged_symlink_is_judged_as_the_link_it_is(repo, capsys):
    import os

    os.symlink("README.md", repo.root / "link.pt")
    repo.add("link.pt")
    (repo.root / "link.pt").unlink()
    repo.write("link.pt", safetensors_bytes())  # the working copy is now weights
    assert repo.findings(capsys, "--staged") == []


def test_staged_then_deleted_is_still_judged(repo, capsys):
    repo.write("gone.txt", safetensors_bytes())
    repo.add("gone.txt")
    (repo.root / "gone.txt").unlink()
    assert flagged(repo.findings(capsys, "--staged"), "weights") == {"gone.txt"}


def test_staged_from_a_subfolder_reads_blobs_of_that_folder(repo, capsys):
    repo.write("app/model.txt", safetensors_bytes())
    repo.add("app/model.txt")
    repo.write("app/model.txt", "changed\n")
    code = main(["scan", str(repo.root / "app"), "--staged", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and flagged(out["findings"], "weights") == {"model.txt"}


def test_submodules_are_listed_with_the_commit_they_pin_in_every_git_selection(repo, capsys):
    commit = repo.git("rev-parse", "HEAD").strip()
    # A gitlink staged without its folder checked out (as after a shallow clone).
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{commit},vendor/lib")
    repo.write("new.pt", b"\x00x")
    repo.add("new.pt")
    for args in (["--staged"], []):
        found = {f["path"]: f for f in repo.findings(capsys, *args)}
        assert set(found) == {"new.pt", "vendor/lib"}
        assert found["vendor/lib"]["rule"] == "submodule"
        assert found["vendor/lib"]["content"] == f"git:{commit}"
        assert commit in found["vendor/lib"]["evidence"]
    repo.commit()
    repo.config('disable = ["submodule"]\n')
    assert {f["path"] for f in repo.findings(capsys)} == {"new.pt"}


def test_diff_sees_only_what_the_branch_adds(repo, capsys):
    repo.write("old.pt", b"\x00x")
    repo.add("old.pt")
    repo.commit()
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("new.ckpt", b"\x00x")
    repo.write("src/ok.py", "x = 1\n")
    repo.add(".")
    repo.commit()
    repo.git("rm", "-q", "old.pt")
    repo.commit()
    assert flagged(repo.findings(capsys, "--diff", "main"), "weights") == {"new.ckpt"}


def test_diff_with_an_unknown_base_is_a_usage_error(repo, capsys):
    code, _, err = repo.scan(capsys, "--diff", "no-such-branch")
    assert code == 2 and "no-such-branch" in err


def test_selections_are_mutually_exclusive(repo, capsys):
    with pytest.raises(SystemExit) as exit_:
        repo.scan(capsys, "--all", "--staged")
    assert exit_.value.code == 2


def test_git_selection_outside_a_repository_is_a_usage_error(tmp_path, capsys):
    from receiptcore.cli import main

    assert main(["scan", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not inside a git work tree" in err and "use --all" in err


def test_baseline_then_only_new_findings_fail(repo, capsys):
    repo.write("legacy/model.bin", b"\x00x")
    repo.write("datasets/a.csv", "1\n")
    repo.add(".")
    assert repo.scan(capsys)[0] == 1
    code, _, err = repo.scan(capsys, "--write-baseline")
    assert code == 0 and "2 finding(s)" in err
    baseline = json.loads((repo.root / "receiptcore-scan-baseline.json").read_text())
    blob = repo.git("rev-parse", ":legacy/model.bin").strip()
    entries = {e["path"]: e for e in baseline["findings"]}
    assert entries["legacy/model.bin"] == {"path": "legacy/model.bin", "rules": ["weights"],
                                           "content": f"git:{blob}"}
    assert entries["datasets/"]["rules"] == ["forbidden-dir"]
    code, out, _ = repo.scan(capsys)
    assert code == 0 and "2 baselined" in out
    repo.write("legacy/second.pt", b"\x00x")
    repo.add(".")
    code, out, _ = repo.scan(capsys, "--format", "json")
    report = json.loads(out)
    assert code == 1 and [f["path"] for f in report["findings"]] == ["legacy/second.pt"]
    assert len(report["baselined"]) == 2
    assert len(repo.findings(capsys, "--no-baseline")) == 3


def test_a_baselined_path_with_other_content_is_a_new_finding(repo, capsys):
    import numpy as np
    from safetensors.numpy import save

    small = save({"w": np.ones((64, 64), dtype=np.float32)})  # 16 KiB
    repo.write("model.safetensors", small)
    repo.write("datasets/a.csv", "1\n")
    repo.add(".")
    repo.commit()
    assert repo.scan(capsys, "--write-baseline")[0] == 0
    assert repo.scan(capsys)[0] == 0
    repo.write("model.safetensors", save({"w": np.ones((300, 300), dtype=np.float32)}))
    repo.write("datasets/b.csv", "2\n")
    repo.add(".")
    repo.commit()
    base = repo.git("rev-parse", "HEAD~1").strip()
    for args in ([], ["--diff", base]):
        code, out, _ = repo.scan(capsys, "--format", "json", *args)
        assert code == 1
        assert {f["path"] for f in json.loads(out)["findings"]} >= {"model.safetensors"}
    assert {f["path"] for f in repo.findings(capsys)} == {"model.safetensors", "datasets/"}
    # Outside git the content is the file's sha256.
    assert repo.scan(capsys, "--all", "--write-baseline")[0] == 0
    assert repo.scan(capsys, "--all")[0] == 0
    repo.write("model.safetensors", small)
    assert {f["path"] for f in repo.findings(capsys, "--all")} == {"model.safetensors"}


def test_baseline_path_from_config_and_bad_baseline_file(repo, capsys):
    repo.config('baseline = "ci/scan-baseline.json"\n')
    (repo.root / "ci").mkdir()
    repo.write("m.bin", b"\x00x")
    repo.add(".")
    assert repo.scan(capsys, "--write-baseline")[0] == 0
    assert (repo.root / "ci/scan-baseline.json").is_file()
    assert repo.scan(capsys)[0] == 0
    repo.write("ci/scan-baseline.json", "[1, 2]")
    code, _, err = repo.scan(capsys)
    assert code == 2 and "not a receiptcore scan baseline" in err


def test_warn_mode_reports_but_exits_zero(repo, capsys):
    repo.write("m.bin", b"\x00x")
    repo.add(".")
    repo.config('mode = "warn"\n')
    code, out, _ = repo.scan(capsys)
    assert code == 0 and "m.bin" in out and "mode = warn" in out
    assert repo.scan(capsys, "--mode", "enforce")[0] == 1
    repo.config("")
    assert repo.scan(capsys, "--mode", "warn")[0] == 0


@pytest.mark.parametrize("toml, named", [
    ("max_file_sise = 10\n", "'max_file_sise'"),
    ('[[scan.contracts]]\nmodules = ["a"]\nforbidden = ["b"]\nforbiden = ["c"]\n',
     "'contracts[0].forbiden'"),
    ('[[scan.allow_large]]\npath = "x/"\nreson = "typo"\n', "'allow_large[0].reson'"),
    ('[[scan.allow_large]]\npath = "x/"\n', "needs a 'reason'"),
    ('max_file_size = "huge"\n', "'max_file_size'"),
    ('mode = "off"\n', "'mode'"),
    ('disable = ["weight"]\n', "unknown rule 'weight'"),
    ("forbidden_dirs = 3\n", "'forbidden_dirs'"),
    ("mode = \n", "invalid TOML"),
    ('[[scan.contracts]]\nmodules = ["agents"]\nforbidden = ["x"]\n', "'agents' not found"),
])
def test_bad_config_is_exit_2_naming_the_problem(repo, capsys, toml, named):
    repo.config(toml)
    code, out, err = repo.scan(capsys)
    assert code == 2 and out == ""
    assert named in err and err.count("\n") == 1, err


def test_unknown_key_in_pyproject_is_named(repo, capsys):
    repo.write("pyproject.toml", "[tool.receiptcore.scan]\nmax_files = 1\n")
    code, _, err = repo.scan(capsys)
    assert code == 2 and "unknown key 'max_files'" in err and "pyproject.toml" in err


def test_pyproject_config_is_read_and_receiptcore_toml_wins(repo, capsys):
    repo.write("pyproject.toml", '[tool.receiptcore.scan]\nforbidden_dirs = ["raw"]\n')
    repo.write("raw/a.txt", "a")
    repo.write("corpus/a.txt", "a")
    repo.add(".")
    assert flagged(repo.findings(capsys), "forbidden-dir") == {"raw/"}
    repo.config('forbidden_dirs = ["corpus"]\n')
    assert flagged(repo.findings(capsys), "forbidden-dir") == {"corpus/"}


def test_explicit_config_file(repo, capsys, tmp_path):
    (tmp_path / "gate.toml").write_text('[scan]\nforbidden_dirs = ["raw"]\n')
    repo.write("raw/a.txt", "a")
    repo.add(".")
    assert flagged(repo.findings(capsys, "--config", str(tmp_path / "gate.toml")),
                   "forbidden-dir") == {"raw/"}
    code, _, err = repo.scan(capsys, "--config", str(tmp_path / "missing.toml"))
    assert code == 2 and "missing.toml" in err


def test_explain_every_rule_and_unknown_rule(capsys):
    from receiptcore.cli import main
    from receiptcore.scan.catalogue import RULE_IDS

    for rule in RULE_IDS:
        assert main(["scan", "--explain", rule]) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"{rule}: ") and "default:" in out and "knob:" in out
    assert main(["scan", "--explain", "nope"]) == 2
    assert "unknown rule 'nope'" in capsys.readouterr().err


def _mixed(repo: Repo) -> None:
    repo.config('max_file_size = "1 KiB"\n' + CONTRACT)
    repo.write("agents/__init__.py", "")
    repo.write("agents/tool.py", "import os\nimport training\n")
    repo.write("training/__init__.py", "")
    repo.write("docs/notes.txt", safetensors_bytes())
    repo.write("my file #1.bin", b"\x00x")
    repo.write("datasets/a.csv", "1\n")
    repo.write("big.log", "x" * 2000)
    repo.add(".")


def test_text_report_groups_by_rule_with_evidence(repo, capsys):
    _mixed(repo)
    code, out, _ = repo.scan(capsys)
    assert code == 1
    headers = [line.split(" ")[0] for line in out.splitlines() if line and not line[0].isspace()]
    assert headers[:5] == ["weights", "forbidden-dir", "large-file", "import-boundary", "5"]
    assert "agents/tool.py:2" in out and "safetensors" in out


def test_json_fields_are_stable(repo, capsys):
    _mixed(repo)
    for f in repo.findings(capsys):
        assert list(f) == ["rule", "rules", "path", "format", "family", "size", "evidence",
                           "line", "content"]


def test_syntax_error_in_a_graphed_package_is_exit_2_naming_the_file(repo, capsys):
    repo.config(CONTRACT)
    repo.write("agents/__init__.py", "")
    repo.write("agents/bad.py", "def f(:\n")
    repo.add(".")
    code, out, err = repo.scan(capsys)
    assert code == 2 and out == "" and "agents/bad.py, line 1" in err
