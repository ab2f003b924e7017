"""``receiptcore mcp`` through the official MCP client, over stdio and over HTTP, against a real
server process: what a client is shown, what it gets, and every refusal as an error result with
its machine-readable reason and exit-code name, never data."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil

import pytest

from receiptcore.contracts.schemas import DRAFT, TOOL_SCHEMAS
from receiptcore.signing.keys import SigningKey
from receiptcore.signing.trust import add_trusted_key
from support.paths import REPO
from support.toolserver import Models, mcp_client

pytestmark = pytest.mark.anyio
TRANSPORTS = ["stdio", "http"]
DATA = bytes(range(256)) * 4096 + b"tail"  # 1 MiB and 4 bytes: two chunks


@pytest.fixture
def models(tmp_path) -> Models:
    models = Models(tmp_path)
    models.publish("weights.bin", DATA)
    models.publish("other.bin", b"other bytes")
    return models


def ref(models: Models, name: str = "weights.bin") -> dict:
    data = (models.root / "src" / name).read_bytes()
    return {"artifact_id": name, "commit": hashlib.sha256(data).hexdigest()}


def error_of(result) -> dict:
    assert result.is_error, result
    body = result.structured_content
    assert set(body) == {"error"}, "an error result carries the error and no data"
    assert json.loads(result.content[0].text) == body
    return body["error"]


def on_disk_part(filename: str, part: str) -> dict:
    """A tool schema's part, derived from the committed file itself (not from the models)."""
    whole = json.loads((REPO / "schemas" / filename).read_text(encoding="utf-8"))
    name = whole["$defs"][part]["$ref"].removeprefix("#/$defs/")
    return {"$schema": DRAFT, **whole["$defs"][name], "$defs": whole["$defs"]}


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_client_is_shown_the_schemas_on_disk(models, transport):
    async with mcp_client(transport, models.argv()) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert sorted(listed) == sorted(TOOL_SCHEMAS)
    for name, filename in TOOL_SCHEMAS.items():
        assert listed[name].input_schema == on_disk_part(filename, "request")
        assert listed[name].output_schema == on_disk_part(filename, "response")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_receipt_verify_returns_the_verdict_and_its_proofs(models, transport):
    async with mcp_client(transport, models.argv()) as client:
        result = await client.call_tool("receipt.verify", {"artifact": ref(models), "since": 1})
    assert not result.is_error
    body = result.structured_content
    assert body["verified"] is True and body["warnings"] == []
    assert [c["name"] for c in body["checks"]] == ["trust", "signature", "inclusion", "consistency", "digest"]
    proof = body["proof"]
    assert proof["ledger_index"] == body["ledger_index"] == 0
    assert proof["inclusion"]["tree_size"] == body["checkpoint_size"] == 2
    assert proof["consistency"]["from_size"] == 1 and proof["consistency"]["to_size"] == 2
    assert json.loads(proof["entry"])["payloadType"] == "application/vnd.in-toto+json"
    assert proof["checkpoint"].splitlines()[1] == "2"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_artifact_fetch_gives_the_bytes_in_bounded_chunks(models, transport):
    async with mcp_client(transport, models.argv()) as client:
        located = await client.call_tool("artifact.fetch", {"artifact": ref(models)})
        got, offset = b"", 0
        while True:
            result = await client.call_tool(
                "artifact.fetch",
                {"artifact": ref(models), "range": {"offset": offset, "length": 1 << 20}},
            )
            chunk = result.structured_content["chunk"]
            got += base64.b64decode(chunk["data"])
            offset += chunk["length"]
            if chunk["eof"]:
                break
    body = located.structured_content
    assert body["size"] == len(DATA) and body["kind"] == "file" and body["chunk"] is None
    assert got == DATA
    if transport == "stdio":
        assert body["uri"] is None  # no endpoint, and never a path on the server
    else:
        assert body["uri"].startswith("http://127.0.0.1:") and "/objects/sha256/" in body["uri"]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("arguments", "reason", "exit_name", "field"),
    [
        ({"artifact": {"artifact_id": "nobody.bin", "commit": "ab" * 32}}, "NotInLedger",
         "not_in_ledger", "nobody.bin"),
        ({"artifact": {"artifact_id": "weights.bin", "commit": "ab" * 32}}, "DigestMismatch",
         "digest_mismatch", "expects"),
        ({"artifact": {"artifact_id": "weights.bin", "commit": "xyz"}}, "SchemaError",
         "invalid_document", "artifact.commit"),
        ({"artifact": {"artifact_id": "weights.bin", "commit": "ab" * 32},
          "embedding": [0.25] * 384}, "PayloadRefused", "payload_refused", "embedding"),
        ({"artifact": {"artifact_id": "weights.bin", "commit": "ab" * 32},
          "note": "x" * 1000}, "PayloadRefused", "payload_refused", "note"),
        ({"artifact": {"artifact_id": "file:///etc/passwd", "commit": "ab" * 32}},
         "PayloadRefused", "payload_refused", "artifact.artifact_id"),
        ({"artifact": {"artifact_id": "weights.bin", "commit": "ab" * 32},
          "source": "/etc/shadow"}, "PayloadRefused", "payload_refused", "source"),
        ({"artifact": {"artifact_id": "w" * 70000, "commit": "ab" * 32}}, "RequestTooLarge",
         "request_too_large", "over the cap"),
        ({"artifact": {"artifact_id": "w" * 300, "commit": "ab" * 32}}, "RequestTooLarge",
         "request_too_large", "artifact.artifact_id"),
    ],
    ids=["unknown-id", "unknown-commit", "schema-invalid", "smuggled-vector", "smuggled-text",
         "url-for-an-id", "smuggled-path", "oversized-request", "oversized-value"],
)
async def test_a_bad_request_is_an_error_result_naming_the_field(
    models, transport, arguments, reason, exit_name, field
):
    async with mcp_client(transport, models.argv()) as client:
        result = await client.call_tool("receipt.verify", arguments)
    error = error_of(result)
    assert (error["reason"], error["exit_name"]) == (reason, exit_name)
    assert field in error["message"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_range_over_the_cap_is_refused(models, transport):
    async with mcp_client(transport, models.argv()) as client:
        result = await client.call_tool(
            "artifact.fetch",
            {"artifact": ref(models), "range": {"offset": 0, "length": (1 << 20) + 1}},
        )
    error = error_of(result)
    assert error["reason"] == "RequestTooLarge" and "range.length" in error["message"]


def tamper(models: Models, name: str = "weights.bin") -> None:
    from receiptcore.store import LocalStore

    path = LocalStore(models.home / "objects").path(ref(models, name)["commit"])
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.write(b"X")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_tampered_object_is_refused_in_enforce_and_served_with_a_warning_in_warn(
    models, transport
):
    tamper(models)
    async with mcp_client(transport, models.argv()) as client:
        refused = await client.call_tool("artifact.fetch", {"artifact": ref(models)})
    error = error_of(refused)
    assert (error["reason"], error["exit_name"], error["check"]) == (
        "DigestMismatch", "digest_mismatch", "digest")
    async with mcp_client(transport, models.argv("--mode", "warn")) as client:
        served = await client.call_tool(
            "artifact.fetch", {"artifact": ref(models), "range": {"offset": 0, "length": 16}}
        )
    assert not served.is_error
    body = served.structured_content
    assert base64.b64decode(body["chunk"]["data"]) == b"X" + DATA[1:16]
    assert [w["reason"] for w in body["warnings"]] == ["DigestMismatch"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_an_untrusted_signing_key_is_refused(models, transport):
    other = models.root / "other-trust.json"
    add_trusted_key(other, SigningKey.generate().public_key, "someone else")
    async with mcp_client(transport, models.argv("--trust", str(other))) as client:
        result = await client.call_tool("receipt.verify", {"artifact": ref(models)})
    error = error_of(result)
    assert (error["reason"], error["exit_name"], error["check"]) == ("UntrustedKey", "untrusted_key", "trust")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_rolled_back_ledger_is_refused(models, transport):
    backup = models.root / "backup"
    shutil.copytree(models.home, backup)
    models.publish("third.bin", b"third")
    async with mcp_client(transport, models.argv()) as client:  # the server pins size 3
        assert not (await client.call_tool("receipt.verify", {"artifact": ref(models)})).is_error
    shutil.rmtree(models.home)
    shutil.copytree(backup, models.home)
    async with mcp_client(transport, models.argv()) as client:
        result = await client.call_tool("receipt.verify", {"artifact": ref(models)})
    error = error_of(result)
    assert (error["reason"], error["exit_name"]) == ("RollbackDetected", "rollback")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_warn_mode_returns_the_verdict_with_the_warning(models, transport):
    other = models.root / "other-trust.json"
    add_trusted_key(other, SigningKey.generate().public_key, "someone else")
    async with mcp_client(transport, models.argv("--trust", str(other), "--mode", "warn")) as client:
        result = await client.call_tool("receipt.verify", {"artifact": ref(models)})
    body = result.structured_content
    assert not result.is_error and body["verified"] is False and body["mode"] == "warn"
    assert [w["exit_name"] for w in body["warnings"]] == ["untrusted_key"]
    assert body["proof"] is not None  # the client can still check for itself
