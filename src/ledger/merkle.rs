//! RFC 9162 Merkle tree over SHA3-256: node store plans, frontier, inclusion and consistency proofs.
//!
//! Spec: RFC 9162 §2.1 — §2.1.1 (tree hash `MTH`), §2.1.3.1 (`PATH`, inclusion proof),
//! §2.1.3.2 (verifying an inclusion proof), §2.1.4.1 (`PROOF`/`SUBPROOF`, consistency proof),
//! §2.1.4.2 (verifying a consistency proof). Hashes are [`super::hash`]: `0x00` leaf prefix,
//! `0x01` node prefix, SHA3-256.
//!
//! # Perfect nodes and the node store
//!
//! A *perfect node* `(level, index)` ([`NodeId`]) is the root of the complete subtree over the
//! `2^level` leaves `[index·2^level, (index+1)·2^level)`; level 0 holds the leaf hashes. A perfect
//! node never changes once its last leaf is appended, so a store can keep every one of them
//! (about `2n` rows for `n` leaves). The RFC 9162 tree of size `n` is made of perfect nodes plus
//! the nodes on its right edge, which are not perfect; the hash of such an edge subtree `[a, n)`
//! is recomputed from the perfect nodes covering it ([`perfect_cover`]), at most `log2 n` of them.
//!
//! So every question costs one batch read of `O(log n)` perfect nodes:
//! 1. plan: [`inclusion_plan`], [`consistency_plan`] or [`frontier_plan`] (= [`root_plan`]) name
//!    the perfect nodes needed, in order;
//! 2. fetch them in one query (a [`NodeSource`]);
//! 3. assemble: [`ProofPlan::assemble`] or [`Frontier::from_nodes`].
//!
//! [`inclusion_proof`], [`consistency_proof`] and [`root`] do the three steps with a [`NodeSource`].
//!
//! # Writing
//!
//! [`Frontier`] holds the perfect subtree roots along the right edge of the tree at its current
//! size (one per set bit of the size). [`Frontier::append`] returns every perfect node that the new
//! leaf completes: the leaf itself at level 0 and one node per level it merges. Storing all of them
//! is exactly what the planners above assume.
//!
//! # Verifying
//!
//! [`verify_inclusion`] and [`verify_consistency`] follow the RFC 9162 §2.1.3.2 and §2.1.4.2
//! algorithms step by step, after checking the proof length that the sizes require, so that a short,
//! long or empty proof is named as such. They refuse a leaf index at or beyond the tree size, a
//! consistency proof from size 0 or to a smaller size, and a non-empty proof between equal sizes.
//! A root commits to its leaves, not to its size: a proof must be checked against the size and root
//! of one signed checkpoint.

use std::ops::Range;

use thiserror::Error;

use super::hash::{Hash, empty_root, node_hash};

/// A perfect subtree: the `2^level` leaves `[index·2^level, (index+1)·2^level)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    /// Height above the leaves; 0 = a leaf hash.
    pub level: u8,
    /// Position among the nodes of that level, from 0 at the left.
    pub index: u64,
}

impl NodeId {
    /// The node at `level` and `index`.
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }
}

impl From<(u8, u64)> for NodeId {
    fn from((level, index): (u8, u64)) -> Self {
        Self { level, index }
    }
}

/// Which root a mismatch is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootRole {
    /// The root an inclusion proof is checked against.
    Tree,
    /// The root of the smaller tree (size `m`) of a consistency proof.
    First,
    /// The root of the larger tree (size `n`) of a consistency proof.
    Second,
}

impl std::fmt::Display for RootRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Tree => "tree",
            Self::First => "first",
            Self::Second => "second",
        })
    }
}

/// Why a proof could not be built or was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum MerkleError {
    /// A leaf index at or beyond the tree size (this includes every index of the empty tree).
    #[error("leaf index {index} is not below tree size {size}")]
    IndexBeyondSize { index: u64, size: u64 },
    /// A consistency proof asked from a larger to a smaller tree.
    #[error("consistency from size {first} to smaller size {second}")]
    FirstLargerThanSecond { first: u64, second: u64 },
    /// A consistency proof from the empty tree, which RFC 9162 does not define.
    #[error("consistency proof from the empty tree (size 0) is not defined")]
    FromEmptyTree,
    /// A proof with more or fewer hashes than the sizes require.
    #[error("proof has {got} hashes, the sizes require {expected}")]
    WrongProofLength { expected: usize, got: usize },
    /// The root computed from the proof is not the expected one.
    #[error(
        "{role} root mismatch: expected {}, calculated {}",
        hex::encode(.expected),
        hex::encode(.calculated)
    )]
    RootMismatch {
        role: RootRole,
        expected: Hash,
        calculated: Hash,
    },
    /// A node source or caller supplied a number of hashes different from the plan's.
    #[error("{got} hashes supplied for a plan of {expected} nodes")]
    FetchedCount { expected: usize, got: usize },
    /// The tree holds `u64::MAX` leaves and cannot grow.
    #[error("tree size {size} cannot grow")]
    TreeFull { size: u64 },
}

impl MerkleError {
    /// A stable short code for the error, for JSON answers and test vectors.
    pub fn code(&self) -> &'static str {
        match self {
            Self::IndexBeyondSize { .. } => "index_beyond_size",
            Self::FirstLargerThanSecond { .. } => "first_larger_than_second",
            Self::FromEmptyTree => "from_empty_tree",
            Self::WrongProofLength { .. } => "wrong_proof_length",
            Self::RootMismatch {
                role: RootRole::Tree,
                ..
            } => "root_mismatch",
            Self::RootMismatch {
                role: RootRole::First,
                ..
            } => "first_root_mismatch",
            Self::RootMismatch {
                role: RootRole::Second,
                ..
            } => "second_root_mismatch",
            Self::FetchedCount { .. } => "fetched_count",
            Self::TreeFull { .. } => "tree_full",
        }
    }
}

/// Where perfect node hashes come from: the database, or memory ([`MemoryNodes`]).
pub trait NodeSource {
    /// The source's own failure (I/O, missing row, …).
    type Error: std::error::Error + Send + Sync + 'static;

    /// The hashes of `wanted`, in the same order and as many. Each id names a perfect node of a tree
    /// size the caller believes the source holds; a node the source does not hold is an error.
    fn nodes(&self, wanted: &[NodeId]) -> Result<Vec<Hash>, Self::Error>;
}

/// A failure while building a proof or root from a [`NodeSource`].
#[derive(Debug, Error)]
pub enum FetchError<E: std::error::Error + 'static> {
    /// The request itself is invalid, or the source answered with the wrong number of hashes.
    #[error(transparent)]
    Merkle(#[from] MerkleError),
    /// The source failed.
    #[error("node source failed: {0}")]
    Source(#[source] E),
}

/// The largest power of two strictly below `len` (`len >= 2`): where RFC 9162 splits `len` leaves.
fn split_point(len: u64) -> u64 {
    1 << (63 - (len - 1).leading_zeros())
}

/// The perfect nodes whose concatenation is the leaf range `range`, left to right, largest first.
///
/// For a subtree of the RFC 9162 tree (a range starting at a multiple of a power of two at least as
/// large as its length) the subtree hash is these nodes folded from the right:
/// `node_hash(c0, node_hash(c1, … node_hash(c[k-2], c[k-1])))`.
pub fn perfect_cover(range: Range<u64>) -> Vec<NodeId> {
    let mut nodes = Vec::new();
    let mut start = range.start;
    while start < range.end {
        let aligned = start.trailing_zeros(); // 64 for start == 0
        let fits = 63 - (range.end - start).leading_zeros();
        let level = aligned.min(fits);
        nodes.push(NodeId::new(level as u8, start >> level));
        start += 1 << level;
    }
    nodes
}

/// The hash of a subtree from its perfect cover, folded from the right; the empty cover gives the
/// empty tree's root.
fn fold_cover(cover: &[Hash]) -> Hash {
    cover
        .iter()
        .rev()
        .copied()
        .reduce(|right, left| node_hash(&left, &right))
        .unwrap_or_else(empty_root)
}

/// The leaf ranges of the subtrees in `PATH(index, D[0:size])` (RFC 9162 §2.1.3.1), bottom first.
fn inclusion_ranges(index: u64, size: u64) -> Vec<Range<u64>> {
    let mut siblings = Vec::new();
    let mut range = 0..size;
    while range.end - range.start > 1 {
        let mid = range.start + split_point(range.end - range.start);
        if index < mid {
            siblings.push(mid..range.end);
            range = range.start..mid;
        } else {
            siblings.push(range.start..mid);
            range = mid..range.end;
        }
    }
    siblings.reverse();
    siblings
}

/// The leaf ranges of the subtrees in `PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true)`
/// (RFC 9162 §2.1.4.1), bottom first. Requires `0 < m < n`.
fn consistency_ranges(m: u64, n: u64) -> Vec<Range<u64>> {
    let mut subtrees = Vec::new();
    let mut range = 0..n;
    // SUBPROOF's flag b: "this subtree is the old tree itself", so its hash need not be sent.
    let mut whole_old_tree = true;
    while m != range.end {
        let mid = range.start + split_point(range.end - range.start);
        if m <= mid {
            subtrees.push(mid..range.end);
            range = range.start..mid;
        } else {
            subtrees.push(range.start..mid);
            range = mid..range.end;
            whole_old_tree = false;
        }
    }
    if !whole_old_tree {
        subtrees.push(range);
    }
    subtrees.reverse();
    subtrees
}

/// Which perfect nodes a proof needs and how to combine them into the proof's hashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofPlan {
    nodes: Vec<NodeId>,
    /// How many consecutive entries of `nodes` make up each proof hash.
    element_sizes: Vec<usize>,
}

impl ProofPlan {
    fn from_ranges(ranges: Vec<Range<u64>>) -> Self {
        let mut nodes = Vec::new();
        let mut element_sizes = Vec::with_capacity(ranges.len());
        for range in ranges {
            let cover = perfect_cover(range);
            element_sizes.push(cover.len());
            nodes.extend(cover);
        }
        Self {
            nodes,
            element_sizes,
        }
    }

    /// The perfect nodes to fetch, in the order [`ProofPlan::assemble`] expects their hashes.
    /// No node appears twice.
    pub fn nodes(&self) -> &[NodeId] {
        &self.nodes
    }

    /// The number of hashes in the finished proof.
    pub fn proof_len(&self) -> usize {
        self.element_sizes.len()
    }

    /// The proof, from the hashes of [`ProofPlan::nodes`] in the same order.
    pub fn assemble(&self, fetched: &[Hash]) -> Result<Vec<Hash>, MerkleError> {
        if fetched.len() != self.nodes.len() {
            return Err(MerkleError::FetchedCount {
                expected: self.nodes.len(),
                got: fetched.len(),
            });
        }
        let mut rest = fetched;
        let mut proof = Vec::with_capacity(self.element_sizes.len());
        for &count in &self.element_sizes {
            let (cover, tail) = rest.split_at(count);
            proof.push(fold_cover(cover));
            rest = tail;
        }
        Ok(proof)
    }
}

/// The plan for the inclusion proof (audit path) of leaf `index` in the tree of size `size`.
pub fn inclusion_plan(index: u64, size: u64) -> Result<ProofPlan, MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexBeyondSize { index, size });
    }
    Ok(ProofPlan::from_ranges(inclusion_ranges(index, size)))
}

/// The plan for the consistency proof from size `m` to size `n`; empty when `m == n`.
pub fn consistency_plan(m: u64, n: u64) -> Result<ProofPlan, MerkleError> {
    check_consistency_sizes(m, n)?;
    if m == n {
        return Ok(ProofPlan::from_ranges(Vec::new()));
    }
    Ok(ProofPlan::from_ranges(consistency_ranges(m, n)))
}

fn check_consistency_sizes(m: u64, n: u64) -> Result<(), MerkleError> {
    if m > n {
        return Err(MerkleError::FirstLargerThanSecond {
            first: m,
            second: n,
        });
    }
    if m == 0 {
        return Err(MerkleError::FromEmptyTree);
    }
    Ok(())
}

/// The perfect nodes of the frontier of a tree of size `size`: the perfect cover of `[0, size)`,
/// one node per set bit of `size`, largest first. Load them with [`Frontier::from_nodes`].
pub fn frontier_plan(size: u64) -> Vec<NodeId> {
    perfect_cover(0..size)
}

/// The perfect nodes from which the root of the tree of size `size` is computed: the frontier
/// ([`frontier_plan`]); compute the root with [`Frontier::from_nodes`] and [`Frontier::root`].
pub fn root_plan(size: u64) -> Vec<NodeId> {
    frontier_plan(size)
}

fn fetch<S: NodeSource>(source: &S, wanted: &[NodeId]) -> Result<Vec<Hash>, FetchError<S::Error>> {
    let hashes = source.nodes(wanted).map_err(FetchError::Source)?;
    if hashes.len() != wanted.len() {
        return Err(MerkleError::FetchedCount {
            expected: wanted.len(),
            got: hashes.len(),
        }
        .into());
    }
    Ok(hashes)
}

/// The inclusion proof of leaf `index` in the tree of size `size`, in one read from `source`.
pub fn inclusion_proof<S: NodeSource>(
    source: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, FetchError<S::Error>> {
    let plan = inclusion_plan(index, size)?;
    Ok(plan.assemble(&fetch(source, plan.nodes())?)?)
}

/// The consistency proof from size `m` to size `n`, in one read from `source`.
pub fn consistency_proof<S: NodeSource>(
    source: &S,
    m: u64,
    n: u64,
) -> Result<Vec<Hash>, FetchError<S::Error>> {
    let plan = consistency_plan(m, n)?;
    Ok(plan.assemble(&fetch(source, plan.nodes())?)?)
}

/// The frontier of the tree of size `size`, in one read from `source`.
pub fn frontier<S: NodeSource>(source: &S, size: u64) -> Result<Frontier, FetchError<S::Error>> {
    let hashes = fetch(source, &frontier_plan(size))?;
    Ok(Frontier::from_nodes(size, hashes)?)
}

/// The root of the tree of size `size`, in one read from `source`.
pub fn root<S: NodeSource>(source: &S, size: u64) -> Result<Hash, FetchError<S::Error>> {
    Ok(frontier(source, size)?.root())
}

/// The right edge of the tree: the roots of the perfect subtrees covering `[0, size)`, largest first
/// (a compact range starting at 0).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// Hashes of [`frontier_plan`]`(size)`, in that order.
    hashes: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The frontier of size `size` from the hashes of [`frontier_plan`]`(size)`, in that order.
    pub fn from_nodes(size: u64, hashes: Vec<Hash>) -> Result<Self, MerkleError> {
        let expected = size.count_ones() as usize;
        if hashes.len() != expected {
            return Err(MerkleError::FetchedCount {
                expected,
                got: hashes.len(),
            });
        }
        Ok(Self { size, hashes })
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The frontier's nodes with their hashes, largest first.
    pub fn nodes(&self) -> Vec<(NodeId, Hash)> {
        frontier_plan(self.size)
            .into_iter()
            .zip(self.hashes.iter().copied())
            .collect()
    }

    /// The RFC 9162 root at the current size (`SHA3-256("")` for the empty tree).
    pub fn root(&self) -> Hash {
        fold_cover(&self.hashes)
    }

    /// Appends leaf `size` and returns every perfect node it completes, bottom first: the leaf hash
    /// as `(0, size)`, then one node per level merged. A store that keeps all of them can answer
    /// every plan of this module.
    pub fn append(&mut self, leaf_hash: Hash) -> Result<Vec<(NodeId, Hash)>, MerkleError> {
        let index = self.size;
        let new_size = index
            .checked_add(1)
            .ok_or(MerkleError::TreeFull { size: index })?;
        // The new leaf completes one perfect node per trailing one bit of its index: the frontier
        // ends with exactly that many subtrees, of levels (merges - 1) down to 0.
        let merges = index.trailing_ones() as usize;
        let lefts = self
            .hashes
            .split_off(self.hashes.len().saturating_sub(merges));
        let mut created = Vec::with_capacity(merges + 1);
        let mut node = NodeId::new(0, index);
        let mut hash = leaf_hash;
        created.push((node, hash));
        for left in lefts.iter().rev() {
            hash = node_hash(left, &hash);
            node = NodeId::new(node.level + 1, node.index >> 1);
            created.push((node, hash));
        }
        self.hashes.push(hash);
        self.size = new_size;
        Ok(created)
    }
}

/// Every perfect node of a tree, in memory, one vector per level: a [`NodeSource`] for tests,
/// benchmarks and offline tools.
#[derive(Clone, Debug, Default)]
pub struct MemoryNodes {
    levels: Vec<Vec<Hash>>,
    frontier: Frontier,
}

/// [`MemoryNodes`] was asked for a node it does not hold.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("perfect node (level {}, index {}) is not stored", .0.level, .0.index)]
pub struct MissingNode(pub NodeId);

impl MemoryNodes {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty tree with room for `leaves` leaves.
    pub fn with_capacity(leaves: usize) -> Self {
        let mut levels = Vec::new();
        let mut width = leaves;
        while width > 0 {
            levels.push(Vec::with_capacity(width));
            width /= 2;
        }
        Self {
            levels,
            frontier: Frontier::new(),
        }
    }

    /// Appends a leaf hash and keeps every perfect node it completes.
    pub fn push(&mut self, leaf_hash: Hash) -> Result<(), MerkleError> {
        for (node, hash) in self.frontier.append(leaf_hash)? {
            let level = usize::from(node.level);
            if self.levels.len() <= level {
                self.levels.resize_with(level + 1, Vec::new);
            }
            // Nodes of one level are completed left to right, so `node.index` is the next slot.
            self.levels[level].push(hash);
        }
        Ok(())
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The root at the current size.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    fn node(&self, id: NodeId) -> Option<Hash> {
        let slot = usize::try_from(id.index).ok()?;
        self.levels.get(usize::from(id.level))?.get(slot).copied()
    }
}

impl NodeSource for MemoryNodes {
    type Error = MissingNode;

    fn nodes(&self, wanted: &[NodeId]) -> Result<Vec<Hash>, MissingNode> {
        wanted
            .iter()
            .map(|&id| self.node(id).ok_or(MissingNode(id)))
            .collect()
    }
}

/// The number of hashes in the inclusion proof of `index` in a tree of `size` (`index < size`).
///
/// The audit paths of `index` and of the last leaf `size - 1` share their upper part; below the
/// level where they part (`inner` levels) every level has a sibling, above it only the levels
/// where `index` has a left sibling (set bits of `index >> inner`).
fn inclusion_len(index: u64, size: u64) -> usize {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// The number of hashes in the consistency proof from `m` to `n` (`0 < m < n`).
///
/// It is the inclusion proof of leaf `m - 1` in the tree of size `n`, less the levels below the
/// smallest complete subtree of the old tree (`trailing_zeros(m)`), plus that subtree's hash unless
/// it is the whole old tree (`m` a power of two), which the verifier already has.
fn consistency_len(m: u64, n: u64) -> usize {
    let last = m - 1;
    let inner = 64 - (last ^ (n - 1)).leading_zeros();
    let border = last.checked_shr(inner).unwrap_or(0).count_ones();
    let seed = usize::from(!m.is_power_of_two());
    seed + inner.saturating_sub(m.trailing_zeros()) as usize + border as usize
}

/// Verifies that `leaf_hash` is leaf `index` of the tree of size `size` and root `root`
/// (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf_hash: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), MerkleError> {
    let calculated = root_from_inclusion_proof(index, size, leaf_hash, proof)?;
    expect_root(RootRole::Tree, root, calculated)
}

fn expect_root(role: RootRole, expected: &Hash, calculated: Hash) -> Result<(), MerkleError> {
    if calculated == *expected {
        Ok(())
    } else {
        Err(MerkleError::RootMismatch {
            role,
            expected: *expected,
            calculated,
        })
    }
}

/// The root that an inclusion proof leads to (RFC 9162 §2.1.3.2 steps 1–5, without the final
/// comparison).
pub fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf_hash: &Hash,
    proof: &[Hash],
) -> Result<Hash, MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexBeyondSize { index, size });
    }
    let expected = inclusion_len(index, size);
    let wrong_length = MerkleError::WrongProofLength {
        expected,
        got: proof.len(),
    };
    if proof.len() != expected {
        return Err(wrong_length);
    }
    let (mut f_n, mut s_n) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if s_n == 0 {
            return Err(wrong_length);
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(wrong_length);
    }
    Ok(r)
}

/// Verifies that the tree of size `m` and root `first_root` is a prefix of the tree of size `n` and
/// root `second_root` (RFC 9162 §2.1.4.2). Equal sizes need an empty proof and equal roots.
pub fn verify_consistency(
    m: u64,
    n: u64,
    proof: &[Hash],
    first_root: &Hash,
    second_root: &Hash,
) -> Result<(), MerkleError> {
    check_consistency_sizes(m, n)?;
    if m == n {
        if !proof.is_empty() {
            return Err(MerkleError::WrongProofLength {
                expected: 0,
                got: proof.len(),
            });
        }
        return expect_root(RootRole::Second, second_root, *first_root);
    }
    let expected = consistency_len(m, n);
    let wrong_length = MerkleError::WrongProofLength {
        expected,
        got: proof.len(),
    };
    // Step 1 (an empty proof fails) is part of this check: `expected >= 1` when m < n.
    if proof.len() != expected {
        return Err(wrong_length);
    }
    // Step 2: if m is a power of two, the proof starts implicitly with first_root.
    let (seed, rest) = match proof.split_first() {
        Some(_) if m.is_power_of_two() => (*first_root, proof),
        Some((first, rest)) => (*first, rest),
        None => return Err(wrong_length),
    };
    // Steps 3–4.
    let (mut f_n, mut s_n) = (m - 1, n - 1);
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    // Steps 5–6.
    let (mut f_r, mut s_r) = (seed, seed);
    for c in rest {
        if s_n == 0 {
            return Err(wrong_length);
        }
        if f_n & 1 == 1 || f_n == s_n {
            f_r = node_hash(c, &f_r);
            s_r = node_hash(c, &s_r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            s_r = node_hash(&s_r, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    // Step 7.
    if s_n != 0 {
        return Err(wrong_length);
    }
    expect_root(RootRole::First, first_root, f_r)?;
    expect_root(RootRole::Second, second_root, s_r)
}

#[cfg(test)]
#[path = "merkle_tests.rs"]
mod tests;
