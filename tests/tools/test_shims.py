"""The shims keep the runtime's old call sites: same signatures, a DeprecationWarning once, and
the remote tools (verified here) underneath."""

from __future__ import annotations

import json
import shlex
import warnings

import pytest

from receiptcore.errors import DigestMismatch, ToolServerError
from receiptcore.runtime import shims
from support.toolserver import Models


@pytest.fixture
def models(tmp_path, monkeypatch) -> Models:
    models = Models(tmp_path)
    models.index = models.publish("docs.faiss", b"an index, by reference")
    monkeypatch.setenv(shims.ENV_SERVER, shlex.join(models.argv()))
    monkeypatch.setenv("RECEIPTCORE_TRUST", str(models.client_trust))
    monkeypatch.setenv("RECEIPTCORE_STATE", str(models.client_state))
    monkeypatch.delenv("RECEIPTCORE_VERIFY_MODE", raising=False)
    monkeypatch.setattr(shims, "_state", {})
    monkeypatch.setattr(shims, "_warned", set())
    yield models
    tools = shims._state.get("tools")
    if tools is not None:
        tools.close()


def reference(models: Models, name: str, commit: str) -> str:
    path = models.root / f"{name}.ref.json"
    path.write_text(json.dumps({"artifact_id": name, "artifact_commit": commit, "uri": "x"}))
    return str(path)


def test_load_index_verifies_on_the_servers_proofs_and_warns_once(models):
    ref = reference(models, "docs.faiss", models.index.artifact_commit)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        index = shims.load_index(ref)
        again = shims.load_index(ref)
    deprecations = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert len(deprecations) == 1 and "load_index" in str(deprecations[0].message)
    assert index.ref.index_id == "docs" and again.ref == index.ref
    assert shims._state["tools"].client.pins.pinned_size() == 1


def test_load_index_of_an_unknown_commit_fails_closed(models):
    ref = reference(models, "docs.faiss", "ab" * 32)
    with pytest.warns(DeprecationWarning), pytest.raises(DigestMismatch, match="expects"):
        shims.load_index(ref)


def test_search_before_load_index_says_what_to_do(models):
    with pytest.warns(DeprecationWarning), pytest.raises(ToolServerError, match="load_index"):
        shims.search("anything", 3)
