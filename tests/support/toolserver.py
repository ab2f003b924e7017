"""Real tool servers for the tests: ``receiptcore mcp`` in a process of its own, over stdio or
HTTP on 127.0.0.1 (a free port), always stopped; and published artifacts for them to serve."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from receiptcore.publish import Publication, publish

CLI = [sys.executable, "-m", "receiptcore.cli"]
SERVER_ENV = {"PYTHONPATH": os.environ["PYTHONPATH"]} if os.environ.get("PYTHONPATH") else None
"""Given to stdio servers: the SDK's stdio client passes a server only HOME, PATH and a few
others, so without it a server run from a worktree (``PYTHONPATH=…/python``) imported the
receiptcore installed in the environment, not the code under test."""
LIAR = [sys.executable, str(Path(__file__).with_name("lying_server.py"))]


@dataclass
class Models:
    """A models host: a home with published artifacts, and a runtime's own trust file and
    verifier state (kept apart from the server's)."""

    root: Path

    @property
    def home(self) -> Path:
        return self.root / "models" / ".receiptcore"

    @property
    def server_state(self) -> Path:
        return self.root / "models" / "state"

    @property
    def client_trust(self) -> Path:
        return self.root / "runtime" / "trust.json"

    @property
    def client_state(self) -> Path:
        return self.root / "runtime" / "state"

    def publish(self, name: str, data: bytes) -> Publication:
        path = self.root / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        published = publish(path, artifact_id=name, home=self.home)
        self.client_trust.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.home / "trust.json", self.client_trust)  # what the runtime was given
        return published

    def publish_tree(self, name: str, files: dict[str, bytes]) -> Publication:
        """A folder of ``files`` (relative path -> bytes) published as one tree artifact."""
        root = self.root / "src" / name
        for rel, data in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
        published = publish(root, artifact_id=name, home=self.home)
        self.client_trust.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.home / "trust.json", self.client_trust)
        return published

    def argv(self, *extra: str) -> list[str]:
        """The command of a stdio server of this host."""
        return [*CLI, "mcp", "--home", str(self.home), "--state", str(self.server_state), *extra]

    def liar(self, lie: str, *extra: str) -> list[str]:
        """The command of a stdio server of this host that lies (tests/support/lying_server.py)."""
        return [*LIAR, lie, "--home", str(self.home), "--state", str(self.server_state), *extra]

    def client_options(self, **override) -> dict:
        return {"trust": self.client_trust, "state": self.client_state, "env": SERVER_ENV, **override}


@contextlib.contextmanager
def http_server(argv: list[str], *extra: str, env: dict | None = None) -> Iterator[str]:
    """Start ``argv --http 127.0.0.1:0``; yields the MCP endpoint's URL, once it listens."""
    process = subprocess.Popen(
        [*argv, "--http", "127.0.0.1:0", *extra],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env=env,
    )
    lines: list[str] = []
    try:
        first = process.stderr.readline()  # the server prints its URL once it listens
        lines.append(first)
        drain = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)
        drain.start()
        match = re.search(r"serving (http://\S+)", first)
        if match is None:
            process.wait(timeout=30)
            raise AssertionError(f"the server did not start: {''.join(lines)}")
        yield match.group(1)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.asynccontextmanager
async def mcp_client(transport: str, argv: list[str], *extra: str):
    """The official MCP client, connected to a real server process over ``transport``."""
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client

    if transport == "stdio":
        params = StdioServerParameters(command=argv[0], args=[*argv[1:], *extra], env=SERVER_ENV)
        # the server's stderr to a real file: pytest's captured sys.stderr may have no fileno
        with tempfile.TemporaryFile("w+") as errlog:
            async with Client(stdio_client(params, errlog=errlog), mode="legacy", cache=None) as client:
                yield client
        return
    with http_server(argv, *extra) as url:
        async with Client(url, mode="legacy", cache=None) as client:
            yield client


@contextlib.contextmanager
def server_address(transport: str, argv: list[str], *extra: str) -> Iterator[str | list[str]]:
    """What a :class:`receiptcore.runtime.ToolClient` is given: a command, or a running URL."""
    if transport == "stdio":
        yield [*argv, *extra]
        return
    with http_server(argv, *extra) as url:
        yield url
