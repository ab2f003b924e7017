"""Merkle tree hashing and proofs exactly as RFC 6962 / RFC 9162 define them (sha256).

A leaf is hashed as ``sha256(0x00 || data)`` and an interior node as ``sha256(0x01 || left ||
right)``, so no leaf can pass for a node (second-preimage resistance), and the tree of ``n``
leaves splits at the largest power of two below ``n``.

Proofs are built from *perfect* subtrees only: ``perfect(level, index)`` returns the hash of the
``2**level`` leaves starting at ``index * 2**level``. Those hashes never change once the subtree
is full, so a store can keep them and serve any proof, at any past tree size, in O(log n) reads
(see :mod:`receiptcore.ledger.sql`). Verification follows RFC 9162 sections 2.1.3.2 and
2.1.4.2 step by step; it needs no storage at all.

An appender's hot loops are native (``receiptcore._core``, re-exported here): ``leaf_hashes``
of a whole batch, and ``Frontier``, the right edge of a growing tree (the roots of its perfect
subtrees), which hashes the subtrees a batch completes in one call, with the GIL released.
:class:`MemoryTree` stays plain Python: the tests' reference for both.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence

from receiptcore._core import Frontier, frontier_positions, leaf_hashes
from receiptcore.errors import ProofError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "Frontier",
    "MemoryTree",
    "PerfectSubtree",
    "consistency_proof",
    "frontier_positions",
    "inclusion_proof",
    "inclusion_proofs",
    "leaf_hash",
    "leaf_hashes",
    "node_hash",
    "range_hash",
    "root_from_inclusion_proof",
    "root_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
MAX_PROOF_HASHES = 64
"""A tree of fewer than 2**64 leaves is at most 64 levels deep, and no RFC 9162 proof in it is
longer: a longer one is refused before a single hash is computed."""

PerfectSubtree = Callable[[int, int], bytes]
"""``perfect(level, index)``: hash of leaves ``[index << level, (index + 1) << level)``."""


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 leaf hash: ``sha256(0x00 || data)``."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash: ``sha256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (n >= 2): where RFC 6962 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


def range_hash(start: int, end: int, perfect: PerfectSubtree) -> bytes:
    """Merkle tree hash of leaves ``[start, end)``, where ``start`` is aligned to the subtree.

    Only the right edge can be incomplete, so this reads O(log n) perfect subtrees.
    """
    if end <= start:
        raise ValueError(f"empty range [{start}, {end})")
    size = end - start
    if size & (size - 1) == 0:
        level = size.bit_length() - 1
        return perfect(level, start >> level)
    k = _split(size)
    return node_hash(range_hash(start, start + k, perfect), range_hash(start + k, end, perfect))


def root_hash(size: int, perfect: PerfectSubtree) -> bytes:
    """Root of the tree of the first ``size`` leaves (``sha256("")`` for the empty tree)."""
    return EMPTY_ROOT if size == 0 else range_hash(0, size, perfect)


def inclusion_proof(index: int, size: int, perfect: PerfectSubtree) -> list[bytes]:
    """RFC 6962 ``PATH(index, D[0:size])``: the audit path, leaf side first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(range_hash(start + k, end, perfect))
            end = start + k
        else:
            path.append(range_hash(start, start + k, perfect))
            start += k
    path.reverse()
    return path


def inclusion_proofs(indexes: Iterable[int], size: int, perfect: PerfectSubtree) -> dict[int, list[bytes]]:
    """:func:`inclusion_proof` of each index, in one descent of the tree: a sibling subtree that
    several paths share is hashed once, not once per path (``serve`` answers every append of a
    batch with its proof; one by one, the proofs were most of the integrator's time)."""
    wanted = sorted(set(indexes))
    if wanted and not (wanted[0] >= 0 and wanted[-1] < size):
        bad = wanted[0] if wanted[0] < 0 else wanted[-1]
        raise ValueError(f"leaf index {bad} is outside a tree of size {size}")
    proofs: dict[int, list[bytes]] = {i: [] for i in wanted}

    def descend(start: int, end: int, lo: int, hi: int) -> None:  # wanted[lo:hi] in [start, end)
        if end - start <= 1:
            return
        k = _split(end - start)
        mid = bisect_left(wanted, start + k, lo, hi)
        if lo < mid:
            descend(start, start + k, lo, mid)
            sibling = range_hash(start + k, end, perfect)
            for i in wanted[lo:mid]:
                proofs[i].append(sibling)
        if mid < hi:
            descend(start + k, end, mid, hi)
            sibling = range_hash(start, start + k, perfect)
            for i in wanted[mid:hi]:
                proofs[i].append(sibling)

    descend(0, size, 0, len(wanted))
    return proofs


def consistency_proof(size1: int, size2: int, perfect: PerfectSubtree) -> list[bytes]:
    """RFC 6962 ``PROOF(size1, D[0:size2])``; empty when ``size1`` is 0 or equals ``size2``."""
    if not 0 <= size1 <= size2:
        raise ValueError(f"no consistency proof from size {size1} to size {size2}")
    if size1 == 0 or size1 == size2:
        return []
    proof: list[bytes] = []
    start, end, m, complete = 0, size2, size1, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            proof.append(range_hash(start + k, end, perfect))
            end = start + k
        else:
            proof.append(range_hash(start, start + k, perfect))
            start, m, complete = start + k, m - k, False
    if not complete:
        proof.append(range_hash(start, end, perfect))
    proof.reverse()
    return proof


def _check_proof(proof: Sequence[bytes], what: str) -> None:
    if len(proof) > MAX_PROOF_HASHES:
        raise ProofError(
            f"{what} proof of {len(proof)} hashes: no proof in a tree of fewer than 2**64 "
            f"leaves is longer than {MAX_PROOF_HASHES}"
        )
    _check_hashes(*proof)


def _check_hashes(*hashes: bytes) -> None:
    for h in hashes:
        if not isinstance(h, bytes | bytearray) or len(h) != HASH_SIZE:
            raise ProofError(f"a hash must be {HASH_SIZE} bytes")


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 2.1.3.2: the root that ``proof`` implies for ``leaf`` (a leaf *hash*)."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    _check_proof(proof, "inclusion")
    _check_hashes(leaf)
    fn, sn, r = index, size - 1, bytes(leaf)
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is deep")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise :class:`ProofError` unless ``proof`` shows ``leaf`` at ``index`` under ``root``."""
    _check_hashes(root)
    if root_from_inclusion_proof(index, size, leaf, proof) != root:
        raise ProofError(
            f"inclusion proof for entry {index} does not lead to the root of size {size}"
        )


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 2.1.4.2: raise :class:`ProofError` unless tree ``size2`` extends tree ``size1``."""
    _check_proof(proof, "consistency")
    _check_hashes(root1, root2)
    if not 0 <= size1 <= size2:
        raise ProofError(f"tree size went backwards from {size1} to {size2}")
    if size1 == size2:
        if proof:
            raise ProofError("a consistency proof between equal sizes must be empty")
        if root1 != root2:
            raise ProofError(f"two different roots for the same tree size {size1}")
        return
    if size1 == 0:
        if proof:
            raise ProofError("a consistency proof from the empty tree must be empty")
        if root1 != EMPTY_ROOT:
            raise ProofError("the root of the empty tree is sha256(\"\"), not the one given")
        return
    if not proof:
        raise ProofError("consistency proof is empty")
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, bytes(root1))
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than the tree is deep")
    if fr != root1:
        raise ProofError(f"consistency proof does not lead to the old root of size {size1}")
    if sr != root2:
        raise ProofError(f"consistency proof does not lead to the new root of size {size2}")


class MemoryTree:
    """All perfect subtrees of a list of leaf hashes, kept in memory: for tests and tools."""

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = [[]]
        for leaf in leaves:
            self.append(leaf)

    def __len__(self) -> int:
        return len(self.levels[0])

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; returns the ``(level, index, hash)`` of every subtree it completed."""
        self.levels[0].append(leaf)
        done = [(0, len(self.levels[0]) - 1, leaf)]
        level = 0
        while len(self.levels[level]) % 2 == 0:
            row = self.levels[level]
            if level + 1 == len(self.levels):
                self.levels.append([])
            parent = node_hash(row[-2], row[-1])
            self.levels[level + 1].append(parent)
            level += 1
            done.append((level, len(self.levels[level]) - 1, parent))
        return done

    def perfect(self, level: int, index: int) -> bytes:
        return self.levels[level][index]

    def root(self, size: int | None = None) -> bytes:
        return root_hash(len(self) if size is None else size, self.perfect)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof(index, len(self) if size is None else size, self.perfect)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        return consistency_proof(size1, len(self) if size2 is None else size2, self.perfect)
