"""The runtime's client trusts no server: it checks every proof against its own trust file and
pinned checkpoint, and refuses a lying server whatever it says (a real server process, over stdio
and HTTP; a deliberately lying one over stdio)."""

from __future__ import annotations

import subprocess

import httpx2
import pytest

from receiptcore.errors import (
    DigestMismatch,
    ProofError,
    RollbackDetected,
    SignatureInvalid,
    ToolServerError,
    Unauthorized,
    UntrustedKey,
)
from receiptcore.runtime import ToolClient
from support.toolserver import CLI, Models, http_server, server_address

pytestmark = pytest.mark.anyio
TRANSPORTS = ["stdio", "http"]
DATA = bytes(range(256)) * 4096 + b"tail"


@pytest.fixture
def models(tmp_path) -> Models:
    models = Models(tmp_path)
    models.weights = models.publish("weights.bin", DATA)
    models.publish("other.bin", b"other bytes")
    models.publish("third.bin", b"third bytes")
    return models


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_an_honest_server_is_verified_and_its_bytes_fetched(models, transport, tmp_path):
    commit = models.weights.artifact_commit
    with server_address(transport, models.argv()) as server:
        async with ToolClient(server, **models.client_options()) as client:
            receipt = await client.verify("weights.bin", commit)
            fetched = await client.fetch("weights.bin", commit)
            written = await client.fetch("weights.bin", commit, out=tmp_path / "w.bin")
    assert receipt.warnings == [] and receipt.checkpoint.size == 3
    assert client.pins.pinned_size() == 3
    assert fetched.data == DATA and fetched.warnings == []
    assert written.path.read_bytes() == DATA and written.data is None


@pytest.mark.parametrize(
    ("lie", "error"),
    [
        ("forged-receipt", UntrustedKey),
        ("altered-receipt", SignatureInvalid),
        ("other-tree", ProofError),
        ("wrong-bytes", DigestMismatch),
    ],
)
async def test_a_lying_server_is_refused_by_the_client(models, lie, error):
    async with ToolClient(models.liar(lie), **models.client_options()) as client:
        with pytest.raises(error):
            await client.fetch("weights.bin", models.weights.artifact_commit)


async def test_a_rolled_back_checkpoint_is_refused_after_a_newer_one_was_seen(models):
    options = models.client_options(location="the models host")
    async with ToolClient(models.argv(), **options) as client:
        await client.verify("weights.bin", models.weights.artifact_commit)  # pins size 3
    async with ToolClient(models.liar("rolled-back", "--rollback-to", "2"), **options) as client:
        with pytest.raises(RollbackDetected, match="rolled back"):
            await client.verify("weights.bin", models.weights.artifact_commit)


@pytest.mark.parametrize("mode", ["enforce", "warn"])
async def test_bytes_that_do_not_hash_to_the_commit_leave_the_pin_where_it_was(models, mode, tmp_path):
    # as the library's verify: the pin moves only once every check passed, the bytes' too
    options = models.client_options(location="the models host")
    async with ToolClient(models.argv(), **options) as client:
        await client.verify("weights.bin", models.weights.artifact_commit)
    assert client.pins.pinned_size() == 3
    fourth = models.publish("fourth.bin", b"fourth bytes")  # the ledger grows to 4
    before = client.pins.path.read_bytes()
    out = tmp_path / "fourth.bin"
    async with ToolClient(models.liar("wrong-bytes"), **options, mode=mode) as client:
        if mode == "enforce":
            with pytest.raises(DigestMismatch):
                await client.fetch("fourth.bin", fourth.artifact_commit, out=out)
        else:
            fetched = await client.fetch("fourth.bin", fourth.artifact_commit, out=out)
            assert [w.reason for w in fetched.warnings] == ["DigestMismatch"]
    assert client.pins.path.read_bytes() == before and client.pins.pinned_size() == 3
    assert out.exists() == (mode == "warn")
    async with ToolClient(models.argv(), **options) as client:
        fetched = await client.fetch("fourth.bin", fourth.artifact_commit)
    assert fetched.data == b"fourth bytes" and client.pins.pinned_size() == 4


async def test_a_first_fetch_with_other_bytes_pins_nothing(models):
    async with ToolClient(models.liar("wrong-bytes"), **models.client_options()) as client:
        with pytest.raises(DigestMismatch):
            await client.fetch("weights.bin", models.weights.artifact_commit)
    assert client.pins.pinned_size() is None and not client.pins.path.exists()


async def test_in_warn_mode_the_client_returns_the_data_with_the_warning(models):
    async with ToolClient(models.liar("wrong-bytes"), **models.client_options(mode="warn")) as client:
        fetched = await client.fetch("weights.bin", models.weights.artifact_commit)
    assert fetched.data != DATA and len(fetched.data) == len(DATA)
    assert [w.reason for w in fetched.warnings] == ["DigestMismatch"]


async def test_a_server_in_warn_mode_does_not_make_an_enforcing_client_lenient(models):
    from receiptcore.store import LocalStore

    path = LocalStore(models.home / "objects").path(models.weights.artifact_commit)
    path.chmod(0o644)
    path.write_bytes(b"X" + path.read_bytes()[1:])
    server = models.argv("--mode", "warn")
    async with ToolClient(server, **models.client_options()) as client:
        with pytest.raises(DigestMismatch):
            await client.verify("weights.bin", models.weights.artifact_commit)


async def test_http_needs_the_bearer_token_when_one_is_set(models, tmp_path):
    token = tmp_path / "token"
    token.write_text("s3cret-token\n")
    with http_server(models.argv("--token-file", str(token))) as url:
        with pytest.raises(Unauthorized):
            async with ToolClient(url, **models.client_options()):
                pass
        async with ToolClient(url, token="s3cret-token", **models.client_options()) as client:
            fetched = await client.fetch("weights.bin", models.weights.artifact_commit)
    assert fetched.data == DATA


def test_http_refuses_a_foreign_origin_or_host(models):
    with http_server(models.argv()) as url:
        evil_origin = httpx2.post(url, json={}, headers={"Origin": "http://evil.example"})
        evil_host = httpx2.post(url, json={}, headers={"Host": "evil.example:80"})
    assert evil_origin.status_code == 403
    assert evil_host.status_code == 421


def test_beyond_loopback_the_server_will_not_start_without_a_token(models):
    result = subprocess.run(
        [*models.argv(), "--http", "0.0.0.0:0"], check=False, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert "give a bearer token" in result.stderr


async def test_a_server_that_cannot_start_is_a_tool_server_error(models):
    with pytest.raises(ToolServerError):
        async with ToolClient([*CLI, "no-such-command"], **models.client_options()):
            pass
