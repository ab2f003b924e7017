"""A tree artifact (a folder published as one artifact) through the tools: ``artifact.fetch``
serves its file list (the bytes stored under the tree's commit) and each file by its number in
that list, only while every file still verifies; the runtime's client writes the folder only
once every file hashed to its entry. Real server processes, over stdio and HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shlex
import subprocess

import pytest

from receiptcore.errors import DigestMismatch
from receiptcore.runtime import ToolClient
from support.toolserver import CLI, Models, mcp_client, server_address

pytestmark = pytest.mark.anyio
TRANSPORTS = ["stdio", "http"]
FILES = {
    "adapter_config.json": b'{"r": 8}',
    "weights/adapter_model.safetensors": bytes(range(256)) * 4096 + b"tail",  # two 1 MiB chunks
    "weights/empty.bin": b"",
}


@pytest.fixture
def tree(tmp_path):
    models = Models(tmp_path)
    published = models.publish_tree("adapter", FILES)
    assert published.kind == "tree"
    return models, {"artifact_id": "adapter", "commit": published.artifact_commit.removeprefix("sha256:")}


async def read_all(client, request: dict) -> tuple[dict, bytes]:
    """Every byte of what ``request`` names, in chunks; and the first response."""
    first, data = None, b""
    while True:
        result = await client.call_tool(
            "artifact.fetch", {**request, "range": {"offset": len(data), "length": 1 << 20}})
        assert not result.is_error, result.structured_content
        body = result.structured_content
        first = first or body
        data += base64.b64decode(body["chunk"]["data"])
        if body["chunk"]["eof"]:
            return first, data


def tamper(models: Models, rel: str) -> None:
    from receiptcore.store import LocalStore

    path = LocalStore(models.home / "objects").path(hashlib.sha256(FILES[rel]).hexdigest())
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.write(b"X")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_tree_is_its_file_list_and_each_file_by_number(tree, transport):
    models, artifact = tree
    async with mcp_client(transport, models.argv()) as client:
        listed, data = await read_all(client, {"artifact": artifact})
        files = [await read_all(client, {"artifact": artifact, "file": n}) for n in range(3)]
        past = await client.call_tool("artifact.fetch", {"artifact": artifact, "file": 3})
    assert listed["kind"] == "tree" and listed["file"] is None and listed["size"] == len(data)
    assert hashlib.sha256(data).hexdigest() == artifact["commit"]  # the list is the commit's bytes
    entries = json.loads(data)["files"]
    assert [e["path"] for e in entries] == sorted(FILES)
    for number, (entry, (body, got)) in enumerate(zip(entries, files)):
        assert body["file"] == {"number": number, **entry} and body["kind"] == "tree"
        assert got == FILES[entry["path"]] and body["size"] == len(got)
        if transport == "http":
            assert body["uri"].endswith(f"/objects/sha256/{entry['sha256']}")
    assert past.is_error
    error = past.structured_content["error"]
    assert error["reason"] == "SchemaError" and "file: 3 is past the end" in error["message"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_file_changed_after_the_tree_verified_is_refused(tree, transport):
    models, artifact = tree
    async with mcp_client(transport, models.argv()) as client:
        served = await client.call_tool("artifact.fetch", {"artifact": artifact, "file": 1})
        assert not served.is_error  # verified, and the verdict kept
        tamper(models, "weights/adapter_model.safetensors")
        refused = await client.call_tool("artifact.fetch", {"artifact": artifact, "file": 0})
    assert refused.is_error
    error = refused.structured_content["error"]
    assert (error["reason"], error["exit_name"]) == ("TreeMismatch", "digest_mismatch")
    assert "weights/adapter_model.safetensors" in error["message"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_the_client_writes_the_folder_once_every_file_verified(tree, transport, tmp_path):
    models, artifact = tree
    out = tmp_path / "fetched"
    with server_address(transport, models.argv()) as server:
        async with ToolClient(server, **models.client_options()) as client:
            fetched = await client.fetch_tree("adapter", artifact["commit"], out)
    assert fetched.warnings == [] and fetched.path == out
    assert {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()} == FILES
    assert client.pins.pinned_size() == 1  # every file checked: the pin moved


async def test_a_server_sending_other_bytes_for_a_file_leaves_no_folder(tree, tmp_path):
    models, artifact = tree
    liar = models.liar("wrong-file")
    (tmp_path / "downloads").mkdir()
    out = tmp_path / "downloads" / "fetched"
    async with ToolClient(liar, **models.client_options()) as client:
        with pytest.raises(DigestMismatch, match="adapter_config.json"):
            await client.fetch_tree("adapter", artifact["commit"], out)
    assert list(out.parent.iterdir()) == []  # no folder, and no partial one beside it
    assert client.pins.pinned_size() is None  # the file list verified, a file did not: no pin


def tool_fetch(models: Models, artifact: dict, out, *extra: str, server=None) -> subprocess.CompletedProcess:
    """``receiptcore tool artifact.fetch --out OUT`` against a real stdio server (``models``'s)."""
    return subprocess.run(
        [*CLI, "tool", "artifact.fetch", json.dumps({"artifact": artifact}),
         "--server", shlex.join(server or models.argv()), "--trust", str(models.client_trust),
         "--state", str(models.client_state), "--out", str(out), *extra],
        capture_output=True, text=True, timeout=300, check=False,
    )


def tree_of(root) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_the_tool_command_writes_a_tree_as_its_folder(tree, tmp_path):
    models, artifact = tree
    out = tmp_path / "downloads" / "adapter"
    out.parent.mkdir()
    result = tool_fetch(models, artifact, out, "--json")
    assert result.returncode == 0, result.stderr
    source = models.root / "src" / "adapter"
    assert tree_of(out) == tree_of(source) == FILES  # byte for byte, the empty file too
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == sorted(
        p.relative_to(source).as_posix() for p in source.rglob("*"))
    body = json.loads(result.stdout)
    assert (body["kind"], body["files"], body["out"]) == ("tree", 3, str(out))
    assert body["size"] == sum(map(len, FILES.values())) and body["warnings"] == []
    assert os.listdir(out.parent) == ["adapter"]  # nothing else beside it


@pytest.mark.parametrize(
    ("where", "code", "named"),
    [
        ("store", 9, "weights/adapter_model.safetensors"),  # the server refuses a changed object
        ("wrong-file", 9, "adapter_config.json"),  # this client refuses other bytes for a file
        ("kind-file", 33, "signed receipt"),  # a tree called a file: the signed receipt decides
    ],
)
def test_the_tool_command_leaves_no_folder_when_a_check_fails(tree, tmp_path, where, code, named):
    models, artifact = tree
    if where == "store":
        tamper(models, "weights/adapter_model.safetensors")
    out = tmp_path / "downloads" / "adapter"
    out.parent.mkdir()
    result = tool_fetch(models, artifact, out, server=None if where == "store" else models.liar(where))
    assert result.returncode == code, result.stderr  # 9 digest_mismatch, 33 tool_server_error
    [line] = result.stderr.splitlines()
    assert line.startswith("receiptcore: error: ") and named in line
    assert result.stdout == "" and os.listdir(out.parent) == []  # no folder, no partial one
