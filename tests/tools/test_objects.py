"""The server's side of a fetch's bytes (``receiptcore.tools.objects``): ``/objects/sha256/<hex>``
is answered with ``sendfile`` before the ASGI app, on the MCP endpoint's own port, behind the same
Host/Origin and bearer-token checks; an object is served only once a fetch verified it, and its
last piece only while it is unchanged. Every other request on that port still reaches the app."""

from __future__ import annotations

import hashlib
import http.client
import socket
import threading
from urllib.parse import urlsplit

import pytest

from receiptcore.errors import DigestMismatch
from receiptcore.runtime import ToolClient
from receiptcore.tools import objects
from support.toolserver import Models, http_server

pytestmark = pytest.mark.anyio
DATA = hashlib.sha256(b"object").digest() * (1 << 16)  # 2 MiB


@pytest.fixture
def models(tmp_path) -> Models:
    models = Models(tmp_path)
    models.weights = models.publish("weights.bin", DATA)
    return models


def get(url: str, target: str, headers: dict | None = None, method: str = "GET"):
    """One raw request to the server of ``url``: (status, headers, body)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(method, target, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()  # headers: any case
    finally:
        connection.close()


def object_target(models: Models) -> str:
    return f"/objects/sha256/{models.weights.artifact_commit.removeprefix('sha256:')}"


async def test_an_object_is_served_whole_once_a_fetch_verified_it_and_the_port_still_serves_mcp(models):
    with http_server(models.argv()) as url:
        before = get(url, object_target(models))
        async with ToolClient(url, **models.client_options()) as client:
            fetched = await client.fetch("weights.bin", models.weights.artifact_commit)
            status, headers, body = get(url, object_target(models))
            again = await client.verify("weights.bin", models.weights.artifact_commit)  # MCP after
    assert before[0] == 404 and before[2] == b"not a verified object: call artifact.fetch first"
    assert fetched.data == DATA
    assert (status, body) == (200, DATA)
    assert headers["Content-Length"] == str(len(DATA)) and headers["Connection"] == "close"
    assert again.response.verified


async def test_an_object_removed_from_the_store_after_its_fetch_is_not_found(models):
    from receiptcore.store import LocalStore

    with http_server(models.argv()) as url:
        async with ToolClient(url, **models.client_options()) as client:
            await client.fetch("weights.bin", models.weights.artifact_commit)
        LocalStore(models.home / "objects").path(models.weights.artifact_commit).unlink()
        assert get(url, object_target(models))[0] == 404


@pytest.mark.parametrize("target", ["/objects/sha256/" + "0" * 64, "/objects/sha256/../../etc/passwd",
                                    "/objects/sha256/" + "A" * 64])
def test_anything_but_a_verified_object_is_not_found(models, target):
    with http_server(models.argv()) as url:
        assert get(url, target)[0] == 404


async def test_objects_need_the_bearer_token_when_one_is_set(models, tmp_path):
    token = tmp_path / "token"
    token.write_text("s3cret-token\n")
    with http_server(models.argv("--token-file", str(token))) as url:
        async with ToolClient(url, token="s3cret-token", **models.client_options()) as client:
            await client.fetch("weights.bin", models.weights.artifact_commit)
        none = get(url, object_target(models))
        wrong = get(url, object_target(models), {"Authorization": "Bearer guess"})
        right = get(url, object_target(models), {"Authorization": "Bearer s3cret-token"})
    assert none[0] == wrong[0] == 401 and none[1]["WWW-Authenticate"] == 'Bearer realm="receiptcore"'
    assert none[2] == b"missing or wrong bearer token"
    assert (right[0], right[2]) == (200, DATA)


def test_objects_refuse_a_foreign_origin_or_host(models):
    with http_server(models.argv()) as url:
        origin = get(url, object_target(models), {"Origin": "http://evil.example"})
        host = get(url, object_target(models), {"Host": "evil.example:80"})
    assert (origin[0], origin[2]) == (403, b"Invalid Origin header")
    assert (host[0], host[2]) == (421, b"Invalid Host header")


def test_a_malformed_object_request_is_a_bad_request_and_other_methods_reach_the_app(models):
    with http_server(models.argv()) as url:
        parts = urlsplit(url)
        with socket.create_connection((parts.hostname, parts.port), timeout=30) as raw:
            raw.sendall(b"GET /objects/sha256/" + b"0" * 64 + b" HTTP/1.1\r\nno colon here\r\n\r\n")
            answer = b"".join(iter(lambda: raw.recv(65536), b""))
        posted = get(url, object_target(models), method="POST")
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert posted[0] in (404, 405)  # the app's answer: objects are only read


def test_an_unchanged_object_is_sent_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(objects, "TAIL", 4)
    path = tmp_path / "object"
    path.write_bytes(b"0123456789")
    assert sent_over_a_socket(path, lambda: path) == b"HEAD0123456789"


def test_the_last_piece_of_a_changed_object_is_never_sent(tmp_path, monkeypatch):
    monkeypatch.setattr(objects, "TAIL", 4)
    path = tmp_path / "object"
    path.write_bytes(b"0123456789")
    with pytest.raises(DigestMismatch, match="changed while it was served"):
        sent_over_a_socket(path, lambda: None)  # no longer the verified one
    assert received == [b"HEAD012345"]  # the declared length is never reached


def test_an_object_that_shrank_while_it_was_served_stops_short(tmp_path):
    path = tmp_path / "object"
    path.write_bytes(b"0123456789")
    with pytest.raises(DigestMismatch, match="ended 5 bytes early"):
        sent_over_a_socket(path, lambda: path, size=15)


def test_a_client_that_stops_reading_is_given_up_after_the_stall_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(objects, "STALL", 0.2)
    path = tmp_path / "object"
    path.write_bytes(bytes(16 << 20))  # more than the socket buffers hold
    sender, reader = socket.socketpair()
    with sender, reader:
        sender.setblocking(False)
        with pytest.raises(TimeoutError, match="read nothing for"):
            objects.send(sender.fileno(), b"HEAD", path, 16 << 20, lambda: path)


received: list[bytes] = []


def sent_over_a_socket(path, served, size: int | None = None) -> bytes:
    """What a peer reads while :func:`objects.send` sends ``path`` on a non-blocking socket."""
    received.clear()
    sender, reader = socket.socketpair()
    with sender, reader:
        sender.setblocking(False)
        reading = threading.Thread(target=lambda: received.append(b"".join(iter(lambda: reader.recv(1 << 16), b""))))
        reading.start()
        try:
            objects.send(sender.fileno(), b"HEAD", path, size or path.stat().st_size, served)
        finally:
            sender.shutdown(socket.SHUT_WR)
            reading.join()
    return received[0]
