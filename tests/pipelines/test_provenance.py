"""What every pipeline shares: references, held-back Ctrl-C while publishing, code revision."""

from __future__ import annotations

import os
import signal

import pytest

from pipelines.provenance import _interrupts_held, code_revision
from pipelines.refs import ArtifactRef
from receiptcore.commit import Commit


@pytest.mark.parametrize(("text", "expected"), [
    ("docs.embeddings", ArtifactRef("docs.embeddings")),
    ("docs@" + "ab" * 32, ArtifactRef("docs", Commit("ab" * 32))),
    ("docs@sha256:" + "ab" * 32, ArtifactRef("docs", Commit("ab" * 32))),
    ("team@host", ArtifactRef("team@host")),  # an id may hold @: only a commit after it counts
])
def test_references_are_id_or_id_at_commit(text, expected):
    assert ArtifactRef.parse(text) == expected


def test_an_unresolved_reference_cannot_be_recorded():
    with pytest.raises(ValueError, match="unresolved"):
        ArtifactRef("docs").to_json()


@pytest.fixture
def sigint(request):
    """SIGINT handled by ``request.param`` for the test, whatever the test run inherited (a
    background job of a shell without job control starts with SIGINT ignored)."""
    before = signal.signal(signal.SIGINT, request.param)
    yield request.param
    signal.signal(signal.SIGINT, before)


@pytest.mark.parametrize("sigint", [signal.default_int_handler], indirect=True)
def test_ctrl_c_while_publishing_waits_for_the_publish_to_end(sigint):
    done = []
    with pytest.raises(KeyboardInterrupt), _interrupts_held():
        os.kill(os.getpid(), signal.SIGINT)
        done.append("published")  # not cut short
    assert done == ["published"]
    assert signal.getsignal(signal.SIGINT) is sigint


@pytest.mark.parametrize("sigint", [signal.SIG_IGN], indirect=True)
def test_a_process_that_ignores_ctrl_c_goes_on_ignoring_it_while_publishing(sigint):
    with _interrupts_held():
        os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_the_code_revision_is_the_checkouts_or_the_environments(monkeypatch):
    monkeypatch.setenv("RECEIPTCORE_CODE_REVISION", "v1.2.3")
    assert code_revision() == "v1.2.3"
    monkeypatch.delenv("RECEIPTCORE_CODE_REVISION")
    revision = code_revision()
    assert len(revision.removesuffix("+dirty")) == 40 or revision.startswith("receiptcore-pipelines ")
