//! RFC 6962 / RFC 9162 Merkle tree hashing for an append-only log: leaf and node hashes, the
//! frontier (the right edge of a growing tree), and a batch of leaves appended at once, hashing
//! each subtree it completes once.
//!
//! A leaf is `sha256(0x00 || data)`, an interior node `sha256(0x01 || left || right)`, and the
//! tree of `n` leaves splits at the largest power of two below `n`. Everything here is built on
//! *perfect* subtrees, named `(level, index)`: the `2^level` leaves from `index << level`. Their
//! hashes never change once the subtree is full, which is why a ledger can store them and prove
//! anything in O(log n) reads. Proofs are built and checked on the Python side
//! (`receiptcore.ledger.merkle`), which needs no storage.

use std::fmt;

use sha2::{Digest as _, Sha256};

pub type Hash = [u8; 32];

/// `sha256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// `sha256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut block = [0u8; 65];
    block[0] = 1;
    block[1..33].copy_from_slice(left);
    block[33..].copy_from_slice(right);
    Sha256::digest(block).into()
}

/// The hash of the empty tree, `sha256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// A perfect subtree that a batch of leaves completed: it can be stored from now on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Node {
    pub level: u32,
    pub index: u64,
    pub hash: Hash,
}

#[derive(Debug, PartialEq, Eq)]
pub enum MerkleError {
    /// The frontier hashes given do not fit a tree of this size.
    FrontierSize { size: u64, want: usize, got: usize },
}

impl fmt::Display for MerkleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MerkleError::FrontierSize { size, want, got } => write!(
                f,
                "a tree of size {size} has {want} frontier subtrees, not {got}"
            ),
        }
    }
}

impl std::error::Error for MerkleError {}

/// The perfect subtrees `(level, index)` that make up a tree of `size` leaves, largest (leftmost)
/// first: one per bit set in `size`.
pub fn frontier_positions(size: u64) -> Vec<(u32, u64)> {
    let mut out = Vec::with_capacity(size.count_ones() as usize);
    let mut start = 0u64;
    for level in (0..u64::BITS - size.leading_zeros()).rev() {
        if size >> level & 1 == 1 {
            out.push((level, start >> level));
            start += 1 << level;
        }
    }
    out
}

/// The right edge of a growing tree: the roots of its perfect subtrees, largest first. It is all
/// an appender or an auditor carries: a leaf completes at most log2(n) subtrees, and the root at
/// any size folds the edge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<(u32, Hash)>,
}

impl Frontier {
    pub fn empty() -> Frontier {
        Frontier {
            size: 0,
            nodes: Vec::new(),
        }
    }

    /// The edge of a tree of `size` leaves, from the hashes at [`frontier_positions`]`(size)`.
    pub fn new(size: u64, hashes: &[Hash]) -> Result<Frontier, MerkleError> {
        let positions = frontier_positions(size);
        if positions.len() != hashes.len() {
            return Err(MerkleError::FrontierSize {
                size,
                want: positions.len(),
                got: hashes.len(),
            });
        }
        let nodes = positions
            .iter()
            .zip(hashes)
            .map(|(&(level, _), h)| (level, *h))
            .collect();
        Ok(Frontier { size, nodes })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The hashes of the subtrees at [`frontier_positions`]`(self.size())`, in order.
    pub fn hashes(&self) -> impl Iterator<Item = &Hash> {
        self.nodes.iter().map(|(_, h)| h)
    }

    /// Add a leaf hash; every interior subtree it completes is pushed to `completed`.
    pub fn append(&mut self, leaf: Hash, completed: &mut Vec<Node>) {
        self.size += 1;
        let mut level = 0;
        let mut hash = leaf;
        while let Some(&(top, left)) = self.nodes.last() {
            if top != level {
                break;
            }
            self.nodes.pop();
            hash = node_hash(&left, &hash);
            level += 1;
            completed.push(Node {
                level,
                index: (self.size >> level) - 1,
                hash,
            });
        }
        self.nodes.push((level, hash));
    }

    /// The tree's root (the empty tree's, `sha256("")`, at size 0).
    pub fn root(&self) -> Hash {
        let mut iter = self.nodes.iter().rev();
        let Some(&(_, mut root)) = iter.next() else {
            return empty_root();
        };
        for (_, h) in iter {
            root = node_hash(h, &root);
        }
        root
    }

    /// The hash of the frontier subtree `(level, index)`, if it is one.
    fn node(&self, level: u32, index: u64) -> Option<Hash> {
        let mut start = 0u64;
        for &(l, h) in &self.nodes {
            if l == level && start >> level == index {
                return Some(h);
            }
            start += 1 << l;
        }
        None
    }

    /// Append `leaves` at once: every perfect subtree they complete is hashed once.
    pub fn extend(&self, leaves: Vec<Hash>) -> Batch {
        Batch::new(self.clone(), leaves)
    }
}

/// A tree of `start` leaves (known by its frontier) grown by a batch of leaves to `end`.
///
/// Level `L` keeps the perfect subtrees `(L, j)` that end after `start` and no later than
/// `end`: `j` from `start >> L` to `(end >> L) - 1`. Each is hashed once from its children: both
/// are kept at the level below, except the left child of a subtree that straddles `start`,
/// which lies wholly before it and is therefore a subtree of the old frontier.
pub struct Batch {
    old: Frontier,
    start: u64,
    end: u64,
    levels: Vec<Vec<Hash>>,
}

impl Batch {
    fn new(old: Frontier, leaves: Vec<Hash>) -> Batch {
        let start = old.size;
        let end = start + leaves.len() as u64;
        let mut levels = vec![leaves];
        for level in 1u32.. {
            let (lo, hi) = (start >> level, end >> level);
            if hi <= lo {
                break;
            }
            let below = &levels[level as usize - 1];
            let below_lo = start >> (level - 1);
            let mut row = Vec::with_capacity((hi - lo) as usize);
            for j in lo..hi {
                let left = match (2 * j).checked_sub(below_lo) {
                    Some(k) => below[k as usize],
                    None => old
                        .node(level - 1, 2 * j)
                        .expect("the left child of a subtree straddling the old size is old"),
                };
                let right = below[(2 * j + 1 - below_lo) as usize];
                row.push(node_hash(&left, &right));
            }
            levels.push(row);
        }
        Batch {
            old,
            start,
            end,
            levels,
        }
    }

    /// Every interior subtree the batch completed, level by level.
    pub fn completed(&self) -> impl Iterator<Item = Node> + '_ {
        self.levels
            .iter()
            .enumerate()
            .skip(1)
            .flat_map(|(level, row)| {
                let lo = self.start >> level;
                row.iter().enumerate().map(move |(k, hash)| Node {
                    level: level as u32,
                    index: lo + k as u64,
                    hash: *hash,
                })
            })
    }

    /// The perfect subtree `(level, index)` of the grown tree's frontier: kept by the batch, or
    /// an old frontier subtree.
    fn perfect(&self, level: u32, index: u64) -> Hash {
        let lo = self.start >> level;
        match index.checked_sub(lo) {
            Some(k) => self.levels[level as usize][k as usize],
            None => self
                .old
                .node(level, index)
                .expect("a subtree wholly before the batch is an old frontier subtree"),
        }
    }

    /// The frontier of the grown tree.
    pub fn frontier(&self) -> Frontier {
        let nodes = frontier_positions(self.end)
            .into_iter()
            .map(|(level, index)| (level, self.perfect(level, index)))
            .collect();
        Frontier {
            size: self.end,
            nodes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The largest power of two strictly below `n` (n >= 2): where RFC 6962 splits a tree.
    fn split(n: u64) -> u64 {
        1 << (u64::BITS - 1 - (n - 1).leading_zeros())
    }

    /// RFC 6962's definitions, written as plainly as they are in the RFC (section 2.1).
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(&(i as u64).to_be_bytes()))
            .collect()
    }

    fn grown(n: usize) -> Frontier {
        let mut f = Frontier::empty();
        let mut done = vec![];
        for leaf in leaves(n) {
            f.append(leaf, &mut done);
        }
        f
    }

    #[test]
    fn hashes_are_domain_separated_as_rfc_6962_says() {
        // The empty tree and the leaf of no bytes, from RFC 6962's test data (Go's
        // transparency-dev/merkle testonly: "e3b0c442...", "6e340b9c...").
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex::encode(leaf_hash(b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    #[test]
    fn frontier_positions_follow_the_bits_of_the_size() {
        assert_eq!(frontier_positions(0), vec![]);
        assert_eq!(frontier_positions(1), vec![(0, 0)]);
        assert_eq!(frontier_positions(6), vec![(2, 0), (1, 2)]);
        assert_eq!(frontier_positions(7), vec![(2, 0), (1, 2), (0, 6)]);
    }

    #[test]
    fn the_frontier_root_is_the_tree_hash_at_every_size() {
        let all = leaves(70);
        let mut f = Frontier::empty();
        let mut done = vec![];
        assert_eq!(f.root(), mth(&[]));
        for (n, leaf) in all.iter().enumerate() {
            f.append(*leaf, &mut done);
            assert_eq!(f.root(), mth(&all[..=n]), "size {}", n + 1);
        }
        // Every interior subtree was completed exactly once, with its right hash.
        assert_eq!(done.len(), 70 - 70u64.count_ones() as usize);
        for node in done {
            let lo = (node.index << node.level) as usize;
            assert_eq!(node.hash, mth(&all[lo..lo + (1 << node.level)]));
        }
    }

    #[test]
    fn a_frontier_is_rebuilt_from_its_stored_hashes() {
        let f = grown(13);
        let hashes: Vec<Hash> = f.hashes().copied().collect();
        assert_eq!(Frontier::new(13, &hashes).unwrap(), f);
        assert_eq!(
            Frontier::new(12, &hashes),
            Err(MerkleError::FrontierSize {
                size: 12,
                want: 2,
                got: 3
            })
        );
    }

    #[test]
    fn a_batch_gives_the_same_tree_as_appending_one_by_one() {
        for start in 0..40usize {
            for count in 0..40usize {
                let all = leaves(start + count);
                let old = grown(start);
                let batch = old.extend(all[start..].to_vec());

                let mut one_by_one = old.clone();
                let mut done = vec![];
                for leaf in &all[start..] {
                    one_by_one.append(*leaf, &mut done);
                }
                assert_eq!(batch.frontier(), one_by_one, "{start}+{count}");
                let mut completed: Vec<Node> = batch.completed().collect();
                completed.sort_by_key(|n| (n.level, n.index));
                done.sort_by_key(|n| (n.level, n.index));
                assert_eq!(completed, done, "{start}+{count}");
            }
        }
    }

    #[test]
    fn a_big_batch_on_a_big_tree_has_the_tree_hash_as_root() {
        let all = leaves(5000);
        let batch = grown(3333).extend(all[3333..].to_vec());
        assert_eq!(batch.frontier().root(), mth(&all));
        let interior = |n: u64| (n - u64::from(n.count_ones())) as usize;
        assert_eq!(batch.completed().count(), interior(5000) - interior(3333));
    }
}
