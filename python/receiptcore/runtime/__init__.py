"""What a runtime repository keeps of the models side: a client of its tool server that
checks every proof itself, and the shims that keep old call sites working.

- :class:`ToolClient` (async) and :class:`Tools` (blocking): ``receipt.verify``,
  ``artifact.fetch``, ``rag.query``, each response checked against this machine's own trust
  file and pinned checkpoint (:mod:`receiptcore.runtime.checks`);
- :func:`load_index` and :func:`search`: the in-process signatures of before, deprecated, now
  remote and verified (:mod:`receiptcore.runtime.shims`).

Its import contract (``[tool.receiptcore.scan]`` in pyproject.toml, checked by ``make test``):
no training or ML library, no ``pipelines``, and not the server (``receiptcore.tools``).
"""

from receiptcore.runtime.blocking import Tools
from receiptcore.runtime.client import Answer, Fetched, FetchedTree, Receipt, ToolClient
from receiptcore.runtime.shims import RemoteIndex, load_index, search

__all__ = [
    "Answer",
    "Fetched",
    "FetchedTree",
    "Receipt",
    "RemoteIndex",
    "ToolClient",
    "Tools",
    "load_index",
    "search",
]
