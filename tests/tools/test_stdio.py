"""The stdio server's own pipe streams (receiptcore/tools/stdio.py): every line arrives whole,
however the pipe splits it, and a message larger than the pipe's buffer is written whole; a
server whose stdin is a file (not a pipe) serves through the SDK's streams."""

from __future__ import annotations

import json
import os
import subprocess

import anyio
import pytest

from receiptcore.tools.stdio import _Lines, _Writer
from support.toolserver import Models

pytestmark = pytest.mark.anyio


async def test_lines_arrive_whole_however_the_pipe_splits_them():
    read, write = os.pipe()
    os.set_blocking(read, False)
    long = "x" * (200 << 10)  # over three reads of the pipe
    lines: list[str] = []

    async def reader() -> None:
        async for line in _Lines(read):
            lines.append(line)

    async with anyio.create_task_group() as group:
        group.start_soon(reader)
        for piece in (b'{"a":', b"1}\n", long.encode() + b"\n", "caf\u00e9\n".encode(), b"last"):
            await anyio.to_thread.run_sync(os.write, write, piece)
        os.close(write)
    os.close(read)
    assert lines == ['{"a":1}\n', long + "\n", "caf\u00e9\n", "last"]


async def test_a_message_larger_than_the_pipe_is_written_whole():
    read, write = os.pipe()
    os.set_blocking(write, False)
    message = "y" * (1 << 20) + "\n"
    received = bytearray()

    def drain() -> None:
        while data := os.read(read, 1 << 16):
            received.extend(data)

    async with anyio.create_task_group() as group:
        group.start_soon(anyio.to_thread.run_sync, drain)
        await _Writer(write).write(message)
        os.close(write)
    os.close(read)
    assert received.decode() == message


def test_a_server_reading_a_file_answers_through_the_sdk_streams(tmp_path):
    models = Models(tmp_path)
    models.publish("a.bin", b"bytes")
    requests = tmp_path / "requests.jsonl"
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"}}}
    requests.write_text(json.dumps(initialize) + "\n")
    with open(requests, "rb") as stdin:
        done = subprocess.run(models.argv(), stdin=stdin, capture_output=True, timeout=120, check=False)
    answer = json.loads(done.stdout.decode().splitlines()[0])
    assert answer["id"] == 1 and answer["result"]["serverInfo"]["name"] == "receiptcore"
