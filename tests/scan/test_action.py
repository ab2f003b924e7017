"""The GitHub Action (``action.yml`` at the root): its metadata valid against the published JSON
Schema for action metadata (SchemaStore's ``github-action.json``, as the check-jsonschema package
ships it), its expressions naming only what it declares, and its scan step's own script run here
on real repositories."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
import yaml

from support.paths import REPO
from support.scanrepo import Repo, safetensors_bytes

ACTION = REPO / "action.yml"
# How a runner runs a step with `shell: bash`.
BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"]


@pytest.fixture(scope="module")
def action() -> dict:
    return yaml.safe_load(ACTION.read_text(encoding="utf-8"))


def test_the_metadata_validates_against_schemastores_action_schema(action):
    import jsonschema

    vendored = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads((vendored / "github-actions.json").read_text(encoding="utf-8"))
    assert schema["$id"] == "https://json.schemastore.org/github-action.json"
    jsonschema.Draft7Validator(schema).validate(action)
    # And the schema is not a rubber stamp: it refuses a run step without a shell.
    broken = json.loads(json.dumps(action))
    next(s for s in broken["runs"]["steps"] if "run" in s).pop("shell")
    assert not jsonschema.Draft7Validator(schema).is_valid(broken)


def test_expressions_name_only_declared_inputs_steps_and_outputs(action):
    text = ACTION.read_text(encoding="utf-8")
    inputs = set(action["inputs"])
    assert set(re.findall(r"inputs\.([\w-]+)", text)) <= inputs
    ids = {s["id"] for s in action["runs"]["steps"] if "id" in s}
    assert set(re.findall(r"steps\.([\w-]+)\.outputs", text)) <= ids
    written = set(re.findall(r'echo "([\w-]+)=', text))
    assert set(re.findall(r"steps\.scan\.outputs\.([\w-]+)", text)) <= written
    assert action["runs"]["using"] == "composite"


def _step(action: dict, name: str) -> dict:
    return next(s for s in action["runs"]["steps"] if s.get("name") == name)


def run_scan_step(action: dict, root: Path, tmp: Path, **env: str) -> tuple[int, dict, str]:
    """The Scan step's script under bash, as the runner runs it: inputs through env, outputs
    through $GITHUB_OUTPUT; receiptcore from this environment."""
    script = _step(action, "Scan")["run"]
    outputs = tmp / "github_output"
    outputs.write_text("")
    values = {"SCOPE": "diff", "BASE": "", "ROOT": str(root), "ARGS": "",
              "SARIF": str(tmp / "scan.sarif"), **env}
    done = subprocess.run(
        [*BASH, script], capture_output=True, text=True, check=False, cwd=tmp,
        env={**os.environ, **values, "GITHUB_OUTPUT": str(outputs),
             "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"})
    written = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    return done.returncode, written, done.stdout + done.stderr


def test_the_scan_step_scans_a_pull_request_and_writes_sarif(action, tmp_path):
    repo = Repo(tmp_path / "repo")
    repo.write("README.md", "# app\n")
    repo.add(".")
    repo.commit()
    base = repo.git("rev-parse", "HEAD").strip()
    repo.write("model.dat", safetensors_bytes())
    repo.add(".")
    repo.commit()
    code, out, log = run_scan_step(action, repo.root, tmp_path, BASE=base)
    assert code == 0, log  # the step itself passes; a later step fails the job
    assert out["exit-code"] == "1" and "model.dat" in log
    sarif = json.loads(Path(out["sarif-file"]).read_text())
    assert [r["properties"]["path"] for r in sarif["runs"][0]["results"]] == ["model.dat"]
    # The second scan of the step read nothing: the verdicts were cached by object id.
    assert "from the cache" in log
    clean = Repo(tmp_path / "clean")
    clean.write("README.md", "# app\n")
    clean.add(".")
    clean.commit()
    code, out, log = run_scan_step(action, clean.root, tmp_path, SCOPE="all")
    assert (code, out["exit-code"]) == (0, "0"), log


def test_the_scan_step_reports_usage_errors_as_exit_2(action, tmp_path):
    repo = Repo(tmp_path / "repo")
    repo.write("README.md", "# app\n")
    repo.add(".")
    repo.commit()
    code, out, log = run_scan_step(action, repo.root, tmp_path, BASE="f" * 40)
    assert (code, out["exit-code"]) == (0, "2") and "unknown revision" in log
    code, _, log = run_scan_step(action, repo.root, tmp_path, SCOPE="everything")
    assert code == 2 and "scope must be" in log


@pytest.mark.parametrize("exit_code", ["1", "2"])
def test_the_last_step_fails_the_job_with_the_scans_exit_code(action, exit_code):
    script = _step(action, "Fail on findings")["run"]
    done = subprocess.run([*BASH, script], env={**os.environ, "CODE": exit_code},
                          capture_output=True, text=True, check=False)
    assert done.returncode == int(exit_code)


def test_the_docs_show_the_action_with_the_permissions_it_needs():
    docs = (REPO / "docs" / "scan.md").read_text(encoding="utf-8")
    workflow = docs[docs.index("## GitHub Actions"):]
    for needed in ("security-events: write", "contents: read", "actions: read",
                   "fetch-depth: 0", "uses: "):
        assert needed in workflow
