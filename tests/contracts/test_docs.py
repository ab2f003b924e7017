"""The docs tell the truth: every example validates against its schema (and model), every
contract has an example, and the standard-tools recipe verifies a real receipt and rejects a
tampered one."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess

import pytest

from receiptcore.contracts import validate
from receiptcore.signing.keys import generate_key_pair
from receiptcore.signing.receipts import sign_receipt, write_envelope
from receiptcore.signing.trust import add_trusted_key
from support.paths import REPO
from support.schemas import CASES, validator

DOCS = [
    REPO / "docs" / "contracts.md", REPO / "docs" / "receipts.md", REPO / "docs" / "trees.md",
    REPO / "docs" / "migrate.md",
]
BLOCK = re.compile(r"<!-- (example|recipe): (\S+) -->\n```(\w+)\n(.*?)\n```", re.DOTALL)


def recipe_text(name: str) -> str:
    [script] = [text for target, text in blocks("recipe") if target == name]
    return script


def blocks(kind: str) -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for match in BLOCK.finditer(doc.read_text(encoding="utf-8")):
            if match.group(1) == kind:
                found.append((match.group(2), match.group(4)))
    return found


EXAMPLES = blocks("example")
MODELS = {(name if part is None else f"{name}#{part}"): model for name, part, model, _ in CASES}


def test_every_contract_has_an_example_in_the_docs():
    assert sorted(MODELS) == sorted({target for target, _ in EXAMPLES})


@pytest.mark.parametrize(("target", "text"), EXAMPLES, ids=[t for t, _ in EXAMPLES])
def test_every_docs_example_validates_against_its_schema_and_model(target, text):
    document = json.loads(text)
    name, _, part = target.partition("#")
    validator(name, part or None).validate(document)
    validate(MODELS[target], document, target)


TOOLS = ("bash", "jq", "xxd", "base64", "openssl", "sha256sum")


@pytest.mark.skipif(
    any(shutil.which(t) is None for t in TOOLS), reason=f"needs all of {', '.join(TOOLS)}"
)
def test_the_standard_tools_recipe_verifies_a_receipt_and_rejects_a_tampered_one(tmp_path):
    script = recipe_text("verify-with-openssl")
    artifact = tmp_path / "index.bin"
    artifact.write_bytes(b"index bytes\n" * 1000)
    commit = hashlib.sha256(artifact.read_bytes()).hexdigest()
    key = generate_key_pair(tmp_path / "ci.key")
    add_trusted_key(tmp_path / "trust.json", key.public_key, "ci")
    envelope = sign_receipt("docs-index", commit, "file:///x", "ab" * 32, ["cd" * 32], key)
    write_envelope(tmp_path / "good.json", envelope)

    def recipe(receipt: str, artifact_path=artifact) -> subprocess.CompletedProcess:
        env = {"RECEIPT": receipt, "TRUST": str(tmp_path / "trust.json"), "ARTIFACT": str(artifact_path),
               "PATH": "/usr/local/bin:/usr/bin:/bin"}
        return subprocess.run(
            ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
        )

    good = recipe(str(tmp_path / "good.json"))
    assert good.returncode == 0, good.stderr
    assert "receipt verified" in good.stdout

    document = envelope.to_json_obj()
    payload = base64.b64decode(document["payload"]).replace(b"file:///x", b"file:///y")
    document["payload"] = base64.b64encode(payload).decode()
    (tmp_path / "bad.json").write_text(json.dumps(document))
    assert recipe(str(tmp_path / "bad.json")).returncode != 0

    other = tmp_path / "other.bin"
    other.write_bytes(b"not the index")
    assert recipe(str(tmp_path / "good.json"), other).returncode != 0


TREE_TOOLS = ("bash", "find", "sort", "xargs", "sha256sum", "stat", "jq", "python3")


@pytest.mark.skipif(
    any(shutil.which(t) is None for t in TREE_TOOLS), reason=f"needs all of {', '.join(TREE_TOOLS)}"
)
def test_the_standard_tools_recipe_recomputes_a_published_tree_commit(tmp_path, monkeypatch):
    import os
    import sys

    from receiptcore.publish import publish
    from support.trees import make_tree

    monkeypatch.setenv("RECEIPTCORE_STATE", str(tmp_path / "state"))
    tree = make_tree(tmp_path / "minilm")
    ref = publish(tree, artifact_id="minilm", home=tmp_path / "home")

    def run_recipe(folder) -> str:
        # python3 is the one with rfc8785 installed (the test extra), as the docs' reader's is
        path = f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin"
        done = subprocess.run(
            ["bash", "-c", recipe_text("tree-commit")], env={"TREE": str(folder), "PATH": path},
            capture_output=True, text=True, check=True,
        )
        return "sha256:" + done.stdout.strip()

    assert run_recipe(tree) == ref.artifact_commit
    (tree / "tokenizer" / "vocab.txt").write_bytes(b"[PAD]\n[UNK]\nhellO\n")
    assert run_recipe(tree) != ref.artifact_commit
