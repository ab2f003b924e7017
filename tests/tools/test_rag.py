"""rag.query through the official MCP client and the runtime's client, over stdio and HTTP,
against a real server process: an index the pipelines built from a small corpus with the
packaged MiniLM (offline; the model a tree artifact the server fetches and verifies), and every
way it can fail closed."""

from __future__ import annotations

import pytest

from receiptcore.errors import ReceiptcoreError
from receiptcore.runtime import ToolClient
from support.toolserver import Models, mcp_client, server_address

pytestmark = pytest.mark.anyio
TRANSPORTS = ["stdio", "http"]
QUESTION = "Which key signs the checkpoints?"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A models host with the docs index built once for the module (the pipelines' own code)."""
    from pipelines.embed import embed
    from pipelines.index import build_index

    root = tmp_path_factory.mktemp("rag")
    models = Models(root)
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "ledger.md").write_text(
        "# The ledger\n\n" + "An append-only Merkle log keeps every receipt. " * 30)
    (corpus / "notes.jsonl").write_text(
        '{"text": "A receipt is an in-toto statement in a DSSE envelope."}\n'
        '{"text": "Checkpoints are signed by the ledger key."}\n')
    embedded = embed(corpus, artifact_id="docs", chunk_size=48, chunk_overlap=8,
                     home=models.home, progress=False)
    index = build_index(embedded.embeddings(), artifact_id="docs", home=models.home,
                        progress=False)
    models.client_trust.parent.mkdir(parents=True, exist_ok=True)
    models.client_trust.write_bytes((models.home / "trust.json").read_bytes())
    commits = {a["artifact_id"]: a["artifact_commit"].removeprefix("sha256:")
               for a in index.to_json()["artifacts"]}
    return models, commits


@pytest.fixture
def host(built, tmp_path):
    """A fresh copy of the built host for each test (tests tamper with it)."""
    import shutil

    models, commits = built
    copy = Models(tmp_path)
    shutil.copytree(models.root / "models", copy.root / "models")
    shutil.copytree(models.root / "runtime", copy.root / "runtime")
    shutil.rmtree(copy.server_state, ignore_errors=True)
    return copy, commits


def index_ref(commits, kind: str = "faiss", **override) -> dict:
    return {"index_id": "docs", "artifact_id": f"docs.{kind}", "commit": commits[f"docs.{kind}"],
            **override}


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("kind", ["faiss", "usearch"])
async def test_a_valid_query_returns_hits_with_provenance(host, transport, kind):
    models, commits = host
    with server_address(transport, models.argv()) as server:
        async with ToolClient(server, **models.client_options()) as client:
            answer = await client.query(index_ref(commits, kind), QUESTION, 2)
    assert answer.warnings == []
    best = answer.hits[0]
    assert best.rank == 1 and best.path == "notes.jsonl#L2" and "ledger key" in best.text
    provenance = answer.response.provenance
    assert provenance.index.commit == commits[f"docs.{kind}"]
    assert provenance.model.artifact_id == "all-minilm-l6-v2"
    assert provenance.chunks.artifact_id == "docs.chunks"
    assert provenance.checkpoint_size is not None


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_queries_at_once_each_get_their_own_answer(host, transport):
    # queries that wait for the engine together are embedded in one batch: each still gets the
    # hits it gets alone (the scores to float precision: a batch pads the shorter queries)
    import anyio

    models, commits = host
    questions = [QUESTION, "What keeps every receipt?", "What is a DSSE envelope?", "ledger"] * 3
    with server_address(transport, models.argv()) as server:
        async with ToolClient(server, **models.client_options()) as client:
            alone = {q: await client.query(index_ref(commits), q, 3) for q in questions[:4]}
            together: list = [None] * len(questions)

            async def ask(i: int) -> None:
                together[i] = await client.query(index_ref(commits), questions[i], 3)

            async with anyio.create_task_group() as group:
                for i in range(len(questions)):
                    group.start_soon(ask, i)
    for question, answer in zip(questions, together, strict=True):
        expected = alone[question].hits
        assert [(h.path, h.chunk) for h in answer.hits] == [(h.path, h.chunk) for h in expected]
        assert [h.score for h in answer.hits] == pytest.approx([h.score for h in expected], abs=1e-5)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("override", "reason"),
    [({"index_id": "nodocs"}, "ToolUnavailable"), ({"commit": "ab" * 32}, "DigestMismatch")],
    ids=["unknown-index-id", "unknown-commit"],
)
async def test_an_unknown_index_is_an_error_result(host, transport, override, reason):
    models, commits = host
    async with mcp_client(transport, models.argv()) as client:
        result = await client.call_tool(
            "rag.query", {"index": index_ref(commits, **override), "query": QUESTION, "top_k": 2})
    assert result.is_error and result.structured_content["error"]["reason"] == reason


def _tamper_object(models: Models, commit: str) -> None:
    from receiptcore.store import LocalStore

    path = LocalStore(models.home / "objects").path(commit)
    path.chmod(0o644)
    path.write_bytes(path.read_bytes()[:-1] + b"\0")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_tampered_index_is_refused_and_served_with_a_warning_in_warn_mode(host, transport):
    models, commits = host
    _tamper_object(models, commits["docs.faiss"])
    request = {"index": index_ref(commits), "query": QUESTION, "top_k": 2}
    async with mcp_client(transport, models.argv()) as client:
        refused = await client.call_tool("rag.query", request)
    assert refused.is_error
    assert refused.structured_content["error"]["exit_name"] == "digest_mismatch"
    async with mcp_client(transport, models.argv("--mode", "warn")) as client:
        served = await client.call_tool("rag.query", request)
    assert not served.is_error
    assert [w["reason"] for w in served.structured_content["warnings"]] == ["DigestMismatch"]


async def test_an_index_that_did_not_verify_never_costs_the_engine_import(host):
    # the engine (torch, the index readers) is imported while the rest of the lineage is hashed,
    # but only once the index itself verified
    from receiptcore.contracts.tools_v2 import RagQueryRequest
    from receiptcore.tools.rag import RagIndexes
    from receiptcore.tools.service import ServerConfig, ToolService

    models, commits = host
    _tamper_object(models, commits["docs.faiss"])
    indexes = RagIndexes(ToolService(ServerConfig(home=models.home, state=models.server_state)))
    request = RagQueryRequest(index=index_ref(commits), query=QUESTION, top_k=1)
    with pytest.raises(ReceiptcoreError) as refused:
        await indexes.query(request)
    assert refused.value.check == "digest"
    assert indexes._engine is None


async def test_a_tampered_model_is_refused(host):
    models, commits = host
    with server_address("stdio", models.argv()) as server:
        async with ToolClient(server, **models.client_options()) as client:
            await client.query(index_ref(commits), QUESTION, 1)  # loads and caches the model
    folder = next((models.home / "cache" / "models").iterdir())
    config = folder / "config.json"
    config.write_text(config.read_text().replace("}", ', "tampered": true}', 1))
    with server_address("stdio", models.argv()) as server:
        async with ToolClient(server, **models.client_options()) as client:
            with pytest.raises(ReceiptcoreError) as refused:
                await client.query(index_ref(commits), QUESTION, 1)
    assert refused.value.check == "digest"


async def test_a_model_whose_stored_file_changed_is_never_loaded(host):
    import hashlib

    from pipelines.model import packaged_model_dir
    from receiptcore.store import LocalStore

    models, commits = host
    config = hashlib.sha256((packaged_model_dir() / "config.json").read_bytes()).hexdigest()
    stored = LocalStore(models.home / "objects").path(config)
    stored.chmod(0o644)
    stored.write_bytes(stored.read_bytes() + b" ")
    async with mcp_client("stdio", models.argv()) as client:
        refused = await client.call_tool(
            "rag.query", {"index": index_ref(commits), "query": QUESTION, "top_k": 1})
    error = refused.structured_content["error"]
    assert (error["reason"], error["exit_name"]) == ("TreeMismatch", "digest_mismatch")
    assert "config.json" in error["message"]
    cache = models.home / "cache" / "models"
    assert not cache.exists() or list(cache.iterdir()) == []  # nothing fetched half


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_change_under_a_running_server_is_seen_by_the_next_query(host, transport):
    # a loaded index is answered on the engine's thread only while nothing it rests on changed:
    # a ledger append re-verifies it (and answers), a changed model file or index object refuses
    models, commits = host
    request = {"index": index_ref(commits), "query": QUESTION, "top_k": 1}
    async with mcp_client(transport, models.argv()) as client:
        first = await client.call_tool("rag.query", request)
        assert not first.is_error
        size = first.structured_content["provenance"]["checkpoint_size"]
        models.publish("other.bin", b"the ledger grows")
        again = await client.call_tool("rag.query", request)
        assert not again.is_error
        assert again.structured_content["provenance"]["checkpoint_size"] == size + 1
        assert again.structured_content["hits"] == first.structured_content["hits"]
        folder = next((models.home / "cache" / "models").iterdir())
        config = folder / "config.json"
        kept = config.read_text()
        config.write_text(kept.replace("}", ', "tampered": true}', 1))
        refused = await client.call_tool("rag.query", request)
        assert refused.structured_content["error"]["exit_name"] == "digest_mismatch"
        config.write_text(kept)  # the same bytes again: verified again, and answered
        assert not (await client.call_tool("rag.query", request)).is_error
        _tamper_object(models, commits["docs.faiss"])
        refused = await client.call_tool("rag.query", request)
        assert refused.structured_content["error"]["exit_name"] == "digest_mismatch"


@pytest.mark.parametrize("given", [{}, {"GOMP_SPINCOUNT": "7"}, {"OMP_WAIT_POLICY": "ACTIVE"}])
def test_the_engines_openmp_spin_is_shortened_unless_the_user_chose(monkeypatch, tmp_path, given):
    import os

    from receiptcore.tools import rag
    from receiptcore.tools.service import ServerConfig, ToolService

    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    for name, value in given.items():
        monkeypatch.setenv(name, value)
    rag.RagIndexes(ToolService(ServerConfig(home=tmp_path)))
    assert os.environ.get("GOMP_SPINCOUNT") == given.get("GOMP_SPINCOUNT", None if given else rag.SPINCOUNT)


async def test_a_stdio_server_that_answered_a_query_stops_with_nothing_on_stderr(host, tmp_path):
    """Loaded objects are frozen out of the collector's sight while the server runs and handed
    back at exit: frozen, triton's bindings (loaded through torch) reported them as leaks on
    stderr, whose last line is what a client shows of a server that stopped."""
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client

    from support.toolserver import SERVER_ENV

    models, commits = host
    argv = models.argv()
    errlog = tmp_path / "stderr"
    with open(errlog, "w") as err:  # noqa: ASYNC230 - the server writes to it, not this task
        params = StdioServerParameters(command=argv[0], args=argv[1:], env=SERVER_ENV)
        async with Client(stdio_client(params, errlog=err), mode="legacy", cache=None) as client:
            result = await client.call_tool(
                "rag.query", {"index": index_ref(commits), "query": QUESTION, "top_k": 1})
    assert not result.is_error
    assert errlog.read_text() == ""
