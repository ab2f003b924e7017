"""The tool tests drive real servers with the official MCP client, on asyncio."""

import pytest


@pytest.fixture
def anyio_backend():
    return "asyncio"
