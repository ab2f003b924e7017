"""Compatibility shims: the call signatures the runtime used when the index lived in its own
process, now answered by the tool server and verified here. Each warns once (DeprecationWarning)
and calls the remote tools through :class:`receiptcore.runtime.Tools`.

Before the move, a runtime call site read::

    from retrieval import load_index, search
    load_index("indexes/docs.faiss")        # read the index file from the repository
    hits = search("how do I reset my password?", 3)

After it, the same lines with one import changed::

    from receiptcore.runtime import load_index, search
    load_index("indexes/docs.faiss.ref.json")   # the reference file left in the index's place
    hits = search("how do I reset my password?", 3)

The server is ``$RECEIPTCORE_MCP_SERVER`` (an ``http(s)://…/mcp`` URL or a command that starts one
on stdio; bearer token ``$RECEIPTCORE_MCP_TOKEN``); trust, state and mode are the client's usual
defaults (``$RECEIPTCORE_TRUST``, ``$RECEIPTCORE_STATE``, ``$RECEIPTCORE_VERIFY_MODE``).
"""

from __future__ import annotations

import atexit
import os
import threading
import warnings
from typing import Any

from receiptcore.contracts import load
from receiptcore.contracts.tools import IndexRef
from receiptcore.errors import ToolServerError

ENV_SERVER = "RECEIPTCORE_MCP_SERVER"
_warned: set[str] = set()
_lock = threading.Lock()
_state: dict[str, Any] = {}


class RemoteIndex:
    """An index loaded by reference: searching it is a verified ``rag.query``."""

    def __init__(self, ref: IndexRef) -> None:
        self.ref = ref

    def search(self, query: str, k: int = 5) -> list[dict[str, Any]]:
        answer = _tools().query(self.ref, query, k)
        return [hit.to_json_obj() for hit in answer.hits]


def load_index(path: str | os.PathLike[str]) -> RemoteIndex:
    """Deprecated: was ``faiss.read_index(path)``. Reads the reference file at ``path``
    (``{"artifact_id", "artifact_commit", ...}``), verifies the index's receipt on the server's
    proofs, and makes it the index :func:`search` uses."""
    _deprecated("load_index", "ToolClient.verify (or query)")
    ref = _index_ref(path)
    _tools().verify(ref.artifact_id, ref.commit)
    index = RemoteIndex(ref)
    _state["index"] = index
    return index


def search(query: str, k: int = 5) -> list[dict[str, Any]]:
    """Deprecated: was ``search(query, k)`` over the in-process index. The ``k`` best passages
    of the index :func:`load_index` loaded, each ``{rank, score, path, chunk, row, text, sha256}``."""
    _deprecated("search", "ToolClient.query")
    index = _state.get("index")
    if index is None:
        raise ToolServerError("search() before load_index(): load the index's reference first")
    return index.search(query, k)


def _index_ref(path: str | os.PathLike[str]) -> IndexRef:
    from pydantic import BaseModel, ConfigDict

    class Reference(BaseModel):  # the reference file; other keys (uri, ...) are not used here
        model_config = ConfigDict(extra="ignore", strict=True)
        artifact_id: str
        artifact_commit: str
        index_id: str | None = None

    with open(path, "rb") as source:
        ref = load(Reference, source.read(), os.fspath(path))
    from receiptcore.commit import Commit

    index_id = ref.index_id or ref.artifact_id.rsplit(".", 1)[0]
    return IndexRef(
        index_id=index_id, artifact_id=ref.artifact_id, commit=Commit.parse(ref.artifact_commit).hex
    )


def _deprecated(name: str, instead: str) -> None:
    with _lock:
        if name in _warned:
            return
        _warned.add(name)
    warnings.warn(
        f"receiptcore.runtime.{name}() is a compatibility shim over the remote tools; "
        f"use {instead} from receiptcore.runtime instead",
        DeprecationWarning,
        stacklevel=3,
    )


def _tools():
    from receiptcore.runtime.blocking import Tools

    with _lock:
        tools = _state.get("tools")
        if tools is None:
            server = os.environ.get(ENV_SERVER)
            if not server:
                raise ToolServerError(f"no tool server: set {ENV_SERVER} to its URL or command")
            tools = Tools(server, token=os.environ.get("RECEIPTCORE_MCP_TOKEN") or None)
            _state["tools"] = tools
            atexit.register(tools.close)
        return tools
