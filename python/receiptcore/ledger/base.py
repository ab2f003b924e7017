"""What every ledger backend is: the :class:`Ledger` protocol, and the entry it returns.

``verify``, ``publish``, ``ledger verify`` and ``serve`` see a ledger only through this protocol;
the backends behind it are one file each (:mod:`.sqlite`, :mod:`.postgres`, :mod:`.http`) and
:func:`receiptcore.ledger.open_ledger` picks one by URL. None of the protocol's answers is
trusted by a verifier: entries are re-hashed, proofs are checked against checkpoints signed by
the ledger key, and checkpoints against the one a verifier remembers (:mod:`.pins`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from receiptcore.ledger.checkpoint import Checkpoint, VerifierKey

Item = tuple[bytes, str | None, str | None]
"""What is appended: ``(receipt bytes, artifact_id, artifact_commit)``; the last two are lookup
columns only (the signed receipt is what counts)."""


@dataclass(frozen=True)
class LogEntry:
    """One leaf of the log: its index, its RFC 6962 leaf hash and the bytes it commits to."""

    index: int
    leaf_hash: bytes
    data: bytes
    artifact_id: str | None = None
    artifact_commit: str | None = None


class Ledger(Protocol):
    """An append-only Merkle log of receipts with signed checkpoints."""

    location: str
    """Where the ledger is (a folder, or a URL without its password): what a verifier's memory
    of it is keyed by."""

    @property
    def origin(self) -> str: ...

    @property
    def verifier_key(self) -> VerifierKey:
        """The key the ledger *states* it signs with (a verifier pins it at first use)."""
        ...

    def size(self) -> int: ...

    def append(
        self, data: bytes, artifact_id: str | None = None, artifact_commit: str | None = None
    ) -> LogEntry:
        """Append one receipt (bytes already logged return their first entry)."""
        ...

    def append_many(self, items: Iterable[Item]) -> list[LogEntry]:
        """Append many receipts at once: one transaction, one signed checkpoint."""
        ...

    def entry(self, index: int) -> LogEntry: ...

    def find(
        self, *, artifact_id: str | None = None, artifact_commit: str | None = None
    ) -> LogEntry:
        """The latest entry for an artifact id or commit; NotInLedger if there is none."""
        ...

    def find_all(
        self, *, artifact_id: str | None = None, artifact_commit: str | None = None
    ) -> list[LogEntry]:
        """Every entry for an artifact id (its versions) or for a commit (every id the same
        bytes were published under), oldest first; empty if there is none."""
        ...

    def entries(self, start: int = 0) -> Iterator[LogEntry]:
        """Every entry from ``start`` in index order, in constant memory."""
        ...

    def checkpoint_note(self, size: int | None = None) -> str:
        """The signed checkpoint note at ``size`` (default: the latest)."""
        ...

    def checkpoints(self) -> Iterator[tuple[int, str]]:
        """Every signed checkpoint ``(size, note)``, by size."""
        ...

    def latest_checkpoint(self, verifier: VerifierKey) -> tuple[Checkpoint, str]:
        """The latest checkpoint, opened (signature checked) with ``verifier``, and its note."""
        ...

    def stored_nodes(self, positions: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """The stored hashes of perfect subtrees ``(level, index)`` (level 0: leaf hashes), in
        one read; missing ones are left out."""
        ...

    def inclusion_proof(self, index: int, size: int) -> list[bytes]: ...

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]: ...

    def close(self) -> None: ...


def pages(
    fetch: Callable[[int, int], Sequence[Any]], start: int, batch: int, key: Callable[[Any], int]
) -> Iterator[Any]:
    """Every row ``fetch(start, batch)`` gives, page after page (constant memory): the next page
    starts after the ``key`` of the last row; a short page is the last."""
    while True:
        rows = fetch(start, batch)
        yield from rows
        if len(rows) < batch:
            return
        start = key(rows[-1]) + 1
