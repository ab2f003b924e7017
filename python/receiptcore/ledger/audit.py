"""``receiptcore ledger verify``: recompute the whole log from its leaves and name the first lie.

Nothing stored is taken on trust: every leaf hash is recomputed from the entry's bytes, every
perfect subtree from the leaves (and compared with the stored one that proofs are served from),
and the root at every signed checkpoint from the leaves before it. Because the ledger signs a
checkpoint on every append, the first checkpoint that does not match names the exact entry that
was changed, even when the attacker rewrote its leaf hash too. Entries after the last signed
checkpoint were never signed for (a writer without the ledger key added them): CheckpointError,
as ``verify`` says of such an entry.

The audit covers the ledger as it was when it started (its size then); a publisher appending
meanwhile adds entries and their checkpoint in one transaction, which is not mistaken for either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from receiptcore.errors import CheckpointError, LedgerCorrupt
from receiptcore.ledger import merkle
from receiptcore.ledger.base import Ledger, LogEntry
from receiptcore.ledger.checkpoint import VerifierKey, open_checkpoint

NODE_BATCH = 2000


@dataclass(frozen=True)
class AuditReport:
    size: int
    root: bytes
    checkpoints: int
    nodes: int


def audit(
    ledger: Ledger,
    verifier: VerifierKey,
    check_entry: Callable[[LogEntry], None] | None = None,
) -> AuditReport:
    """Recompute ``ledger``; raise :class:`LedgerCorrupt` naming the first entry that fails.

    ``check_entry`` may add a check of each entry's content (e.g. that its lookup columns match
    the signed receipt); it raises to fail the entry.
    """
    end = ledger.size()  # first: an append commits its entries and checkpoint together
    checkpoints = iter(ledger.checkpoints())
    pending = next(checkpoints, None)
    last_good = 0  # size of the last checkpoint that matched
    frontier = merkle.Frontier()
    size = checked = nodes = 0
    pending_nodes: list[tuple[int, int, bytes]] = []  # recomputed, compared in batches
    for entry in ledger.entries():
        i = entry.index
        if i >= end:
            break
        if i != size:
            raise LedgerCorrupt(f"entry {size} is missing (the next stored entry is {i})", size)
        if merkle.leaf_hash(entry.data) != entry.leaf_hash:
            raise LedgerCorrupt(f"entry {i}: its bytes do not match its leaf hash (edited)", i)
        if check_entry is not None:
            try:
                check_entry(entry)
            except Exception as error:
                raise LedgerCorrupt(f"entry {i}: {error}", i) from error
        size += 1
        completed = frontier.append(entry.leaf_hash)
        while pending is not None and pending[0] <= size:
            cp_size, note = pending
            if cp_size < size:
                raise LedgerCorrupt(f"checkpoint at size {cp_size} is out of order", cp_size)
            try:
                checkpoint = open_checkpoint(note, verifier)
            except CheckpointError as error:
                raise LedgerCorrupt(f"checkpoint at size {cp_size}: {error}", i) from error
            if checkpoint.size != cp_size or checkpoint.root != frontier.root():
                first = last_good
                who = f"entry {i}" if first == i else f"one of entries {first}..{i}"
                raise LedgerCorrupt(
                    f"{who}: the tree does not match the signed checkpoint at size {cp_size} "
                    "(an entry was changed after it was logged)",
                    first,
                )
            last_good, checked = cp_size, checked + 1
            pending = next(checkpoints, None)
        pending_nodes.extend(completed)
        if len(pending_nodes) >= NODE_BATCH:
            nodes += _compare_nodes(ledger, pending_nodes)
    nodes += _compare_nodes(ledger, pending_nodes)
    if last_good < size:
        which = f"entry {last_good}" if last_good == size - 1 else f"entries {last_good}..{size - 1}"
        raise CheckpointError(
            f"{which}: no signed checkpoint covers {'it' if last_good == size - 1 else 'them'} "
            f"(the last one is at size {last_good}): added without the ledger key"
        )
    if pending is not None and ledger.size() < pending[0]:
        raise LedgerCorrupt(
            f"a signed checkpoint covers {pending[0]} entries but only {size} are stored "
            "(entries were removed)",
            size,
        )
    return AuditReport(size, frontier.root(), checked, nodes)


def _compare_nodes(ledger: Ledger, computed: list[tuple[int, int, bytes]]) -> int:
    """Compare recomputed subtree hashes with the stored ones proofs are served from (one read
    for the batch); empties ``computed`` and returns how many were compared."""
    stored = ledger.stored_nodes((level, index) for level, index, _ in computed)
    for level, index, h in sorted(computed, key=lambda n: n[1] << n[0]):
        if stored.get((level, index)) != h:
            first, last = index << level, ((index + 1) << level) - 1
            raise LedgerCorrupt(
                f"entries {first}..{last}: the stored subtree hash (level {level}, index "
                f"{index}) proofs are served from does not match the entries",
                first,
            )
    count = len(computed)
    computed.clear()
    return count
