"""The bytes of a fetch read from a ``uri``: the client trusts nothing the endpoint says. It
hashes every byte it keeps (received on one thread, hashed on another), refuses a transfer that
stops short or declares another size than ``artifact.fetch`` did, and writes ``out`` only once
they all hashed to the commit. (The server's side: test_objects.py.)"""

from __future__ import annotations

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from receiptcore.errors import DigestMismatch, ToolServerError
from receiptcore.runtime import ToolClient, _sink
from support.toolserver import Models

pytestmark = pytest.mark.anyio
DATA = bytes(range(256)) * 4096 * 9 + b"tail"  # 9 MiB and 4 bytes: three of the client's buffers


@pytest.fixture
def models(tmp_path) -> Models:
    models = Models(tmp_path)
    models.weights = models.publish("weights.bin", DATA)
    return models


@contextlib.contextmanager
def endpoint(body: bytes, declared: int):
    """An HTTP endpoint on loopback that declares ``declared`` bytes and sends ``body``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(declared))
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/objects/sha256/{'0' * 64}"
    finally:
        server.shutdown()
        server.server_close()


async def fetch_from(models: Models, uri: str, out=None):
    """A fetch of weights.bin from a server whose artifact.fetch answers with ``uri``."""
    async with ToolClient(models.liar("honest", "--uri", uri), **models.client_options()) as client:
        return await client.fetch("weights.bin", models.weights.artifact_commit, out=out)


@pytest.mark.parametrize("to_file", [False, True])
async def test_the_bytes_of_an_endpoint_are_kept_whole_once_they_hash_to_the_commit(
    models, tmp_path, to_file
):
    out = tmp_path / "w.bin" if to_file else None
    with endpoint(DATA, len(DATA)) as uri:
        fetched = await fetch_from(models, uri, out)
    assert fetched.size == len(DATA) and fetched.warnings == []
    assert (out.read_bytes() if to_file else fetched.data) == DATA


@pytest.mark.parametrize("to_file", [False, True])
async def test_a_transfer_that_stops_short_is_refused(models, tmp_path, to_file):
    out = tmp_path / "w.bin" if to_file else None
    with endpoint(DATA[:-100], len(DATA)) as uri, pytest.raises(ToolServerError, match="100 bytes short"):
        await fetch_from(models, uri, out)
    assert list(tmp_path.glob("w.bin*")) == [] and list(tmp_path.glob(".w.bin*")) == []


async def test_an_endpoint_that_declares_another_size_than_artifact_fetch_is_refused(models):
    with endpoint(DATA + b"more", len(DATA) + 4) as uri, pytest.raises(ToolServerError, match="declared"):
        await fetch_from(models, uri)


async def test_bytes_changed_on_the_way_are_refused_and_pin_nothing(models, tmp_path):
    changed = bytearray(DATA)
    changed[len(DATA) // 2] ^= 0xFF  # in a buffer the hashing thread gets after the first
    out = tmp_path / "w.bin"
    with endpoint(bytes(changed), len(DATA)) as uri, pytest.raises(DigestMismatch):
        await fetch_from(models, uri, out)
    assert not out.exists()


def test_a_sink_hashes_every_piece_in_order_whatever_the_pieces():
    import hashlib
    import io

    source = io.BytesIO(DATA)

    def read_into(view: memoryview) -> int:
        return source.readinto(view[:1000])  # pieces that straddle the sink's buffers

    with _sink.Sink(None, len(DATA)) as sink:
        sink.receive(read_into)
    assert sink.size == len(DATA) and sink.data == DATA
    assert sink.hasher.hexdigest() == hashlib.sha256(DATA).hexdigest()


def test_an_artifact_too_large_for_memory_is_refused_in_one_line_and_a_file_named_instead():
    with pytest.raises(ToolServerError, match=r"more than this process can hold in memory: fetch it to a file"):
        _sink.Sink(None, 1 << 62)
