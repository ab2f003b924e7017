"""``externalize --plan``: the gate's findings as artifacts, ids, sizes, reference files, code
sites and history, for people and for machines; it changes nothing."""

from __future__ import annotations

import json

import pytest

from receiptcore.errors import ArtifactIdError, ConfigError
from receiptcore.migrate.plan import make_plan
from support.migrate import (
    CODE_SITES,
    PLANNED,
    git_status,
    make_runtime_repo,
    scaler_bytes,
    snapshot,
)
from support.trees import cli


@pytest.fixture
def repo(env):
    return make_runtime_repo(env / "repo", env / "tmp")


def test_the_plan_lists_every_artifact_and_every_code_site(repo, capsys):
    before, status = snapshot(repo.root), git_status(repo.root)
    code, out, err = cli(capsys, "externalize", "--plan", "--json", "--root", "repo")
    assert code == 0, err
    plan = json.loads(out)
    assert {a["path"]: a["kind"] for a in plan["artifacts"]} == PLANNED
    by_path = {a["path"]: a for a in plan["artifacts"]}
    sites = {
        (s["path"], s["line"], s["literal"], a["path"]) for a in plan["artifacts"] for s in a["code_sites"]
    }
    assert CODE_SITES <= sites
    assert ("app/load.py", 6, "docs.faiss", "indexes/docs.faiss") in sites  # a file's own name
    assert all("hello" not in s[2] for s in sites)
    minilm = by_path["checkpoints/minilm"]
    assert minilm["artifact_id"] == "checkpoints/minilm"
    assert minilm["reference"] == "checkpoints/minilm.artifact.json"
    assert minilm["files"] == 4  # the shards, their index and the config move together
    assert minilm["size"] == sum(
        (repo.root / "checkpoints/minilm" / n).stat().st_size for n in (repo.root / "checkpoints/minilm").iterdir()
    )
    assert set(minilm["flagged"]) == {
        "checkpoints/minilm/model-00001-of-00002.safetensors",
        "checkpoints/minilm/model-00002-of-00002.safetensors",
    }
    assert by_path["datasets"]["rules"] == ["forbidden-dir"]
    assert by_path["datasets"]["files"] == 2
    # history holds each blob once: all of them, as the tree is committed once
    assert plan["history_bytes"] == plan["size"]
    assert snapshot(repo.root) == before and git_status(repo.root) == status


def test_the_text_plan_says_the_same_for_people(repo, capsys):
    code, out, err = cli(capsys, "externalize", "--plan", "--root", "repo")
    assert code == 0, err
    assert "checkpoints/minilm/  ->  checkpoints/minilm  (tree of 4 files" in out
    assert "    reference: indexes/docs.faiss.artifact.json" in out
    assert "    named in app/load.py:16: '../features/scaler.pkl'" in out
    assert out.rstrip().endswith("(docs/migrate.md: git filter-repo)")
    assert "4 artifact(s)" in out


def test_history_counts_every_version_git_still_holds(repo):
    repo.write("features/scaler.pkl", scaler_bytes(7))
    repo.add("features/scaler.pkl")
    repo.commit("retrained")
    plan = make_plan(repo.root)
    [scaler] = [a for a in plan.artifacts if a.path == "features/scaler.pkl"]
    assert scaler.history_bytes > scaler.size  # the old version is still in every clone


def test_ids_can_be_given_and_are_checked(repo, capsys):
    plan = make_plan(repo.root, ids={"repo/datasets": "corpus-v1"})
    assert {a.path: a.artifact_id for a in plan.artifacts}["datasets"] == "corpus-v1"
    code, _, err = cli(capsys, "externalize", "--plan", "--root", "repo", "--id", "repo/datasets=-bad")
    assert code == 2 and "not a valid artifact id" in err
    with pytest.raises(ConfigError, match="would both be artifact id 'same'"):
        make_plan(repo.root, ids={"repo/datasets": "same", "repo/indexes/docs.faiss": "same"})
    with pytest.raises(ConfigError, match="not planned: repo-elsewhere|not planned"):
        make_plan(repo.root, ids={"repo/README.md": "readme"})
    code, _, err = cli(capsys, "externalize", "--plan", "--root", "repo", "--id", "no-equals-sign")
    assert code == 2 and "PATH=ID" in err


def test_a_path_that_makes_no_id_asks_for_one(repo):
    repo.write("weights/ünï.pt", b"\x80\x02}q\x00.")
    repo.add("weights")
    repo.commit()
    plan = make_plan(repo.root, ["repo/weights/ünï.pt"])
    assert plan.artifacts[0].artifact_id == "weights/-n-.pt"  # what is not allowed made "-"
    repo.write("üü", b"\x80\x02}q\x00.")
    with pytest.raises(ArtifactIdError, match="pass --id üü=ID"):
        make_plan(repo.root, ["repo/üü"])


def test_given_paths_are_planned_whatever_the_gate_says(repo, env):
    plan = make_plan(repo.root, ["repo/app/settings.json", "repo/checkpoints"])
    assert [(a.path, a.kind) for a in plan.artifacts] == [("app/settings.json", "file"), ("checkpoints", "tree")]
    with pytest.raises(ConfigError, match="outside the repository"):
        make_plan(repo.root, [str(env)])
    with pytest.raises(ConfigError, match="cannot be externalized"):
        make_plan(repo.root, ["repo/.git"])
    with pytest.raises(FileNotFoundError):
        make_plan(repo.root, ["repo/absent.bin"])


def test_findings_that_are_not_bytes_are_left_for_a_person(repo, capsys):
    repo.config('[[scan.contracts]]\nname = "runtime"\nmodules = ["app"]\nforbidden = ["faiss"]\n')
    plan = make_plan(repo.root)
    assert [(x.rule, x.path) for x in plan.left] == [("import-boundary", "app/load.py")]
    assert "left for you: app/load.py (import-boundary)" in plan.describe()


def test_outside_a_git_work_tree_the_plan_is_a_usage_error(env, capsys):
    (env / "plain").mkdir()
    code, _, err = cli(capsys, "externalize", "--plan", "--root", "plain")
    assert code == 2 and "not inside a git work tree" in err
    code, _, err = cli(capsys, "externalize", "--plan", "--root", "repo-missing")
    assert code == 2 and "not a directory" in err


def test_the_walk_enters_only_lines_that_name_an_artifact_and_misses_no_literal_on_them():
    """``_nodes_on`` skips subtrees on no marked line: on every module of this project, the
    string literals holding a needle are exactly those a full ``ast.walk`` finds."""
    import ast
    from pathlib import Path

    from receiptcore.migrate.plan import _nodes_on

    def holding(nodes, needle):
        return sorted((n.lineno, n.value) for n in nodes
                      if isinstance(n, ast.Constant) and isinstance(n.value, str) and needle in n.value)

    decorated = b'@pytest.mark.parametrize("p", ["models/model.pt"])\nclass T:\n    @cache("models/b.pt")\n    def f(self):\n        pass\n'
    sources = sorted(Path(__file__).resolve().parents[2].joinpath("python").rglob("*.py"))
    assert len(sources) > 50
    for needle in ("receiptcore", ".json", "ledger", "models/"):
        for source in [*sources, decorated]:
            text = source if isinstance(source, bytes) else source.read_bytes()
            tree = ast.parse(text)
            marked = [n for n, line in enumerate(text.splitlines(), 1) if needle.encode() in line]
            assert holding(_nodes_on(tree, marked), needle) == holding(ast.walk(tree), needle), source
    assert len(holding(ast.walk(ast.parse(decorated)), "models/")) == 2
