"""RFC 6962 / 9162 Merkle hashing and proofs, checked against vectors we did not write.

Vectors: transparency-dev/merkle (Apache-2.0), ``rfc6962/rfc6962_test.go`` (hasher) and
``proof/verify_test.go`` (the 8-leaf reference tree: leaves, roots of sizes 1..8, inclusion and
consistency proofs). Their leaf numbers are 1-based; ours are 0-based indexes.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from receiptcore.errors import ProofError
from receiptcore.ledger import merkle
from receiptcore.ledger.merkle import (
    EMPTY_ROOT,
    Frontier,
    MemoryTree,
    frontier_positions,
    inclusion_proof,
    inclusion_proofs,
    leaf_hash,
    leaf_hashes,
    node_hash,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)

h = bytes.fromhex

# transparency-dev/merkle proof/verify_test.go: `leaves`, `roots`
LEAVES = [h(x) for x in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                         "606162636465666768696a6b6c6d6e6f")]
ROOTS = [h(x) for x in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]
# `inclusionProofs` (leaf converted to a 0-based index), `consistencyProofs`
INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
CONSISTENCY = [
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]


@pytest.fixture(scope="module")
def reference_tree() -> MemoryTree:
    return MemoryTree(leaf_hash(d) for d in LEAVES)


def test_hashes_match_rfc6962_hasher_vectors():
    # transparency-dev/merkle rfc6962/rfc6962_test.go TestRFC6962Hasher
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert leaf_hash(b"L123456").hex() == (
        "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56")
    assert node_hash(b"N123", b"N456").hex() == (
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb")


def test_empty_tree_root_is_sha256_of_nothing():
    assert MemoryTree().root() == hashlib.sha256(b"").digest()


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_of_every_prefix_match_the_reference_tree(reference_tree, size):
    assert reference_tree.root(size) == ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_proofs_match_the_reference_vectors(reference_tree, index, size, proof):
    assert [p.hex() for p in reference_tree.inclusion_proof(index, size)] == proof
    verify_inclusion(index, size, leaf_hash(LEAVES[index]), [h(p) for p in proof], ROOTS[size - 1])


@pytest.mark.parametrize(("size1", "size2", "proof"), CONSISTENCY)
def test_consistency_proofs_match_the_reference_vectors(reference_tree, size1, size2, proof):
    assert [p.hex() for p in reference_tree.consistency_proof(size1, size2)] == proof
    verify_consistency(size1, size2, ROOTS[size1 - 1], ROOTS[size2 - 1], [h(p) for p in proof])


def test_single_leaf_tree_has_an_empty_proof_and_its_leaf_as_root():
    leaf = leaf_hash(b"data")
    verify_inclusion(0, 1, leaf, [], leaf)
    with pytest.raises(ProofError):
        verify_inclusion(0, 1, leaf, [], EMPTY_ROOT)


def test_many_inclusion_proofs_at_once_are_the_reference_vectors(reference_tree):
    for size in range(1, len(reference_tree) + 1):
        proofs = inclusion_proofs(range(size), size, reference_tree.perfect)
        assert proofs == {i: inclusion_proof(i, size, reference_tree.perfect) for i in range(size)}


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 1100).flatmap(
    lambda n: st.tuples(st.just(n), st.lists(st.integers(0, n - 1), max_size=64))
))
def test_many_inclusion_proofs_at_once_equal_one_at_a_time_and_read_the_same_subtrees(args):
    size, indexes = args
    tree = MemoryTree(leaf_hash(i.to_bytes(4, "big")) for i in range(size))
    read_together: list[tuple[int, int]] = []
    read_alone: list[tuple[int, int]] = []

    def reading(into):
        return lambda level, index: into.append((level, index)) or tree.perfect(level, index)

    together = inclusion_proofs(indexes, size, reading(read_together))
    alone = {i: inclusion_proof(i, size, reading(read_alone)) for i in indexes}
    assert together == alone
    assert set(read_together) == set(read_alone)
    assert len(read_together) <= len(read_alone)


@pytest.mark.parametrize(("indexes", "size"), [([0], 0), ([3, 1], 3), ([-1, 0], 4)])
def test_many_inclusion_proofs_outside_the_tree_are_refused(indexes, size):
    with pytest.raises(ValueError, match="outside a tree"):
        inclusion_proofs(indexes, size, lambda level, index: EMPTY_ROOT)


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 0), (2, 1), (-1, 4)])
def test_inclusion_outside_the_tree_is_refused(index, size):
    with pytest.raises(ProofError):
        root_from_inclusion_proof(index, size, leaf_hash(b"x"), [])


def test_reference_inclusion_proofs_fail_when_corrupted(reference_tree):
    # the probes of transparency-dev's corruptInclusionProof
    for index, size, hex_proof in INCLUSION:
        proof, root, leaf = [h(p) for p in hex_proof], ROOTS[size - 1], leaf_hash(LEAVES[index])
        probes = [
            (index - 1, size, leaf, proof, root), (index + 1, size, leaf, proof, root),
            (index ^ 2, size, leaf, proof, root), (index, size * 2, leaf, proof, root),
            (index, size // 2, leaf, proof, root), (index, size, leaf_hash(b"Wrong"), proof, root),
            (index, size, leaf, proof, EMPTY_ROOT), (index, size, leaf, proof + [root], root),
            (index, size, leaf, [root] + proof, root), (index, size, leaf, proof[:-1], root),
            (index, size, leaf, [proof[0], EMPTY_ROOT] + proof[1:], root),
        ]
        for probe in probes:
            with pytest.raises(ProofError):
                verify_inclusion(*probe)


def test_consistency_edge_cases_follow_the_reference_semantics():
    a, b = ROOTS[0], ROOTS[1]
    verify_consistency(0, 0, a, a, [])
    verify_consistency(0, 5, EMPTY_ROOT, b, [])
    verify_consistency(3, 3, b, b, [])
    # Stricter than the reference at one point: from size 0 the old root must be sha256("")
    # (transparency-dev accepts any old root there).
    for args in [(3, 3, a, b, []), (2, 1, a, b, []), (1, 2, a, b, []), (0, 1, a, b, [EMPTY_ROOT]),
                 (1, 1, a, a, [EMPTY_ROOT]), (0, 5, a, b, [])]:
        with pytest.raises(ProofError):
            verify_consistency(*args)


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


tree_and_index = st.integers(min_value=1, max_value=300).flatmap(
    lambda n: st.tuples(st.just(n), st.integers(0, n - 1), st.integers(0, 255))
)


@settings(max_examples=150, deadline=None)
@given(tree_and_index)
def test_every_inclusion_proof_verifies_and_any_flipped_bit_fails(args):
    size, index, bit = args
    tree = MemoryTree(leaf_hash(i.to_bytes(4, "big")) for i in range(size))
    proof, root, leaf = tree.inclusion_proof(index), tree.root(), tree.perfect(0, index)
    verify_inclusion(index, size, leaf, proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(index, size, _flip(leaf, bit), proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(index, size, leaf, proof, _flip(root, bit))
    for i in range(len(proof)):
        bad = proof[:i] + [_flip(proof[i], bit)] + proof[i + 1:]
        with pytest.raises(ProofError):
            verify_inclusion(index, size, leaf, bad, root)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 300).flatmap(
    lambda n: st.tuples(st.integers(1, n), st.just(n), st.integers(0, 255))))
def test_every_consistency_proof_verifies_and_any_flipped_bit_fails(args):
    size1, size2, bit = args
    tree = MemoryTree(leaf_hash(i.to_bytes(4, "big")) for i in range(size2))
    proof, root1, root2 = tree.consistency_proof(size1), tree.root(size1), tree.root()
    verify_consistency(size1, size2, root1, root2, proof)
    if size1 == size2:
        return
    with pytest.raises(ProofError):
        verify_consistency(size1, size2, _flip(root1, bit), root2, proof)
    with pytest.raises(ProofError):
        verify_consistency(size1, size2, root1, _flip(root2, bit), proof)
    for i in range(len(proof)):
        bad = proof[:i] + [_flip(proof[i], bit)] + proof[i + 1:]
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, root1, root2, bad)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 200))
def test_root_matches_the_recursive_definition_of_rfc6962(size):
    def mth(leaves):
        if len(leaves) == 1:
            return leaf_hash(leaves[0])
        k = 1 << ((len(leaves) - 1).bit_length() - 1)
        return node_hash(mth(leaves[:k]), mth(leaves[k:]))

    data = [i.to_bytes(4, "big") for i in range(size)]
    assert MemoryTree(leaf_hash(d) for d in data).root() == mth(data)


def test_a_consistency_proof_from_the_empty_tree_checks_the_old_root():
    """The empty tree's root is sha256(""): any other old root is not the tree of size 0."""
    tree = merkle.MemoryTree(merkle.leaf_hash(bytes([i])) for i in range(5))
    merkle.verify_consistency(0, 5, merkle.EMPTY_ROOT, tree.root(), [])
    with pytest.raises(ProofError, match="empty tree"):
        merkle.verify_consistency(0, 5, tree.root(), tree.root(), [])


def test_a_proof_longer_than_any_tree_is_deep_is_refused_before_hashing(monkeypatch):
    hashed = []
    monkeypatch.setattr(merkle, "node_hash", lambda a, b: hashed.append(1) or bytes(32))
    long_proof = [bytes(32)] * (merkle.MAX_PROOF_HASHES + 1)
    with pytest.raises(ProofError, match="no proof"):
        merkle.verify_inclusion(0, 2, bytes(32), long_proof, bytes(32))
    with pytest.raises(ProofError, match="no proof"):
        merkle.verify_consistency(1, 2, bytes(32), bytes(32), [bytes(32)] * 300_000)
    assert hashed == []


# --- the native hot loops of an append: leaf_hashes and Frontier ------------------------------


def test_native_leaf_hashes_match_the_rfc6962_hasher_vectors():
    assert leaf_hashes(LEAVES) == [leaf_hash(d) for d in LEAVES]
    assert leaf_hashes([b""]) == [h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")]
    assert leaf_hashes([]) == []
    big = [bytes(range(256)) * 300 for _ in range(3)]  # past the size where the GIL is released
    assert leaf_hashes(big) == [leaf_hash(d) for d in big]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 70), min_size=1, max_size=5), st.booleans())
def test_the_frontier_grows_as_the_reference_tree_in_any_batching(batches, one_by_one):
    """Batches extended at once, or leaf by leaf, from a frontier rebuilt from its stored hashes
    each time (as an appender does): the same roots and the same completed subtrees as the
    reference tree, each subtree completed exactly once."""
    tree, frontier, completed = MemoryTree(), Frontier(), set()
    for count in batches:
        leaves = leaf_hashes([b"%d" % (len(tree) + i) for i in range(count)])
        frontier = Frontier(frontier.size, frontier.hashes())
        if one_by_one:
            done = [node for leaf in leaves for node in frontier.append(leaf)]
        else:
            done = frontier.extend(leaves)
        for leaf in leaves:
            tree.append(leaf)
        assert frontier.size == len(tree) and frontier.root() == tree.root()
        assert not completed & {(level, i) for level, i, _ in done}
        completed |= {(level, i) for level, i, _ in done}
        assert all(tree.perfect(level, i) == node for level, i, node in done)
        assert frontier.hashes() == [tree.perfect(*p) for p in frontier_positions(len(tree))]
    interior = {(level, i) for level in range(1, len(tree.levels)) for i in range(len(tree.levels[level]))}
    assert completed == interior


def test_the_empty_frontier_has_the_empty_root_and_a_wrong_edge_is_refused():
    assert Frontier().root() == EMPTY_ROOT and Frontier().hashes() == []
    assert frontier_positions(6) == [(2, 0), (1, 2)]
    with pytest.raises(ValueError, match="a tree of size 6 has 2 frontier subtrees, not 1"):
        Frontier(6, [bytes(32)])
    with pytest.raises(ValueError, match="a hash must be 32 bytes, not 31"):
        Frontier(1, [bytes(31)])
    with pytest.raises(ValueError, match="a hash must be 32 bytes"):
        Frontier().extend([bytes(32), b"short"])
    with pytest.raises(TypeError, match="bytes-like"):
        Frontier().append("not bytes")
