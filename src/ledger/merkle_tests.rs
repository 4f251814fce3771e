//! Tests of `ledger::merkle` against a naive recursive transcription of RFC 9162 §2.1.

use std::sync::OnceLock;

use proptest::prelude::*;

use super::*;
use crate::ledger::hash::{leaf_hash, node_hash};

/// Distinct leaf data: leaf `i` is "leaf " followed by `i` in decimal.
fn leaf_data(i: u64) -> Vec<u8> {
    format!("leaf {i}").into_bytes()
}

fn leaf_hashes(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&leaf_data(i))).collect()
}

fn tree(n: u64) -> MemoryNodes {
    let mut nodes = MemoryNodes::new();
    for h in leaf_hashes(n) {
        nodes.push(h).unwrap();
    }
    nodes
}

// --- The RFC, transcribed literally (over leaf hashes) -------------------------------------------

fn k_of(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D[n]), RFC 9162 §2.1.1.
fn mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => crate::ledger::hash::empty_root(),
        1 => d[0],
        n => {
            let k = k_of(n);
            node_hash(&mth(&d[..k]), &mth(&d[k..]))
        }
    }
}

/// PATH(m, D[n]), RFC 9162 §2.1.3.1.
fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
    if d.len() == 1 {
        return Vec::new();
    }
    let k = k_of(d.len());
    if m < k {
        let mut p = path(m, &d[..k]);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = path(m - k, &d[k..]);
        p.push(mth(&d[..k]));
        p
    }
}

/// SUBPROOF(m, D[n], b), RFC 9162 §2.1.4.1.
fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { Vec::new() } else { vec![mth(d)] };
    }
    let k = k_of(n);
    if m <= k {
        let mut p = subproof(m, &d[..k], b);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = subproof(m - k, &d[k..], false);
        p.push(mth(&d[..k]));
        p
    }
}

// --- Exhaustive comparison for small trees --------------------------------------------------------

const SMALL: u64 = 70;

#[test]
fn roots_and_frontiers_match_naive_mth_for_sizes_0_to_70() {
    let hashes = leaf_hashes(SMALL);
    let nodes = tree(SMALL);
    let mut frontier = Frontier::new();
    assert_eq!(frontier.root(), mth(&[]));
    for size in 1..=SMALL {
        frontier.append(hashes[size as usize - 1]).unwrap();
        let expected = mth(&hashes[..size as usize]);
        assert_eq!(frontier.root(), expected, "frontier root at size {size}");
        assert_eq!(
            root(&nodes, size).unwrap(),
            expected,
            "stored root at size {size}"
        );
        let loaded = super::frontier(&nodes, size).unwrap();
        assert_eq!(loaded, frontier, "frontier loaded at size {size}");
    }
    assert_eq!(root(&nodes, 0).unwrap(), mth(&[]));
}

#[test]
fn append_returns_exactly_the_perfect_nodes_completed() {
    let mut frontier = Frontier::new();
    let mut stored = std::collections::BTreeSet::new();
    for (i, h) in leaf_hashes(SMALL).into_iter().enumerate() {
        let created = frontier.append(h).unwrap();
        assert_eq!(created[0], (NodeId::new(0, i as u64), h));
        for (node, hash) in created {
            let width = 1u64 << node.level;
            let leaves = node.index * width..(node.index + 1) * width;
            assert_eq!(
                leaves.end,
                i as u64 + 1,
                "{node:?} must end at the new leaf"
            );
            let expected = mth(&leaf_hashes(leaves.end)[leaves.start as usize..]);
            assert_eq!(hash, expected, "{node:?}");
            assert!(stored.insert(node), "{node:?} created twice");
        }
    }
    // Every perfect node of the 70-leaf tree, and no other, was returned: 70 + 35 + 17 + 8 + 4 + 2 + 1.
    assert_eq!(stored.len(), 137);
}

#[test]
fn inclusion_proofs_match_naive_path_for_all_indices_up_to_70() {
    let hashes = leaf_hashes(SMALL);
    let nodes = tree(SMALL);
    for size in 1..=SMALL {
        let d = &hashes[..size as usize];
        let root_hash = mth(d);
        for index in 0..size {
            let proof = inclusion_proof(&nodes, index, size).unwrap();
            assert_eq!(proof, path(index as usize, d), "PATH({index}, D[{size}])");
            assert_eq!(inclusion_len(index, size), proof.len());
            let plan = inclusion_plan(index, size).unwrap();
            assert!(plan.nodes().len() <= 2 * 64, "plan is O(log n)");
            verify_inclusion(index, size, &d[index as usize], &proof, &root_hash)
                .unwrap_or_else(|e| panic!("({index}, {size}): {e}"));
        }
    }
}

#[test]
fn consistency_proofs_match_naive_subproof_for_all_pairs_up_to_70() {
    let hashes = leaf_hashes(SMALL);
    let nodes = tree(SMALL);
    for n in 1..=SMALL {
        let d = &hashes[..n as usize];
        let second = mth(d);
        for m in 1..=n {
            let first = mth(&d[..m as usize]);
            let proof = consistency_proof(&nodes, m, n).unwrap();
            let expected = if m == n {
                Vec::new()
            } else {
                subproof(m as usize, d, true)
            };
            assert_eq!(proof, expected, "PROOF({m}, D[{n}])");
            if m < n {
                assert_eq!(consistency_len(m, n), proof.len(), "length {m}->{n}");
            }
            verify_consistency(m, n, &proof, &first, &second)
                .unwrap_or_else(|e| panic!("{m} -> {n}: {e}"));
        }
    }
}

#[test]
fn plans_name_each_node_once_and_only_perfect_nodes_inside_the_tree() {
    for n in 1..=SMALL {
        let mut plans = vec![root_plan(n)];
        for i in 0..n {
            plans.push(inclusion_plan(i, n).unwrap().nodes().to_vec());
        }
        for m in 1..=n {
            plans.push(consistency_plan(m, n).unwrap().nodes().to_vec());
        }
        for plan in plans {
            let mut seen = std::collections::BTreeSet::new();
            for node in plan {
                assert!(
                    (node.index + 1) << node.level <= n,
                    "{node:?} beyond size {n}"
                );
                assert!(seen.insert(node), "{node:?} twice");
            }
        }
    }
}

#[test]
fn every_flipped_bit_in_an_inclusion_proof_is_refused() {
    let hashes = leaf_hashes(SMALL);
    let nodes = tree(SMALL);
    for size in [1, 2, 3, 7, 8, 13, 64, 70] {
        let root_hash = nodes_root(&nodes, size);
        for index in 0..size {
            let proof = inclusion_proof(&nodes, index, size).unwrap();
            for element in 0..proof.len() {
                for bit in [0, 77, 255] {
                    let mut bad = proof.clone();
                    bad[element][bit / 8] ^= 1 << (bit % 8);
                    let err =
                        verify_inclusion(index, size, &hashes[index as usize], &bad, &root_hash)
                            .unwrap_err();
                    assert_eq!(
                        err.code(),
                        "root_mismatch",
                        "({index}, {size}) element {element}"
                    );
                }
            }
        }
    }
}

fn nodes_root(nodes: &MemoryNodes, size: u64) -> Hash {
    root(nodes, size).unwrap()
}

#[test]
fn inclusion_verifier_refuses_the_classic_mistakes() {
    let hashes = leaf_hashes(8);
    let nodes = tree(8);
    let root8 = nodes_root(&nodes, 8);
    let proof = inclusion_proof(&nodes, 5, 8).unwrap();
    let leaf = hashes[5];
    let check = |index, size, proof: &[Hash]| verify_inclusion(index, size, &leaf, proof, &root8);

    assert_eq!(check(5, 8, &proof), Ok(()));
    assert_eq!(
        check(0, 0, &[]),
        Err(MerkleError::IndexBeyondSize { index: 0, size: 0 })
    );
    assert_eq!(
        check(8, 8, &proof),
        Err(MerkleError::IndexBeyondSize { index: 8, size: 8 })
    );
    let wrong_len = |got| Err(MerkleError::WrongProofLength { expected: 3, got });
    assert_eq!(check(5, 8, &[]), wrong_len(0));
    assert_eq!(check(5, 8, &proof[..2]), wrong_len(2));
    assert_eq!(
        check(5, 8, &[proof.clone(), vec![root8]].concat()),
        wrong_len(4)
    );
    // Size 16 needs 4 hashes; size 4 does not contain index 5.
    assert_eq!(
        check(5, 16, &proof).unwrap_err().code(),
        "wrong_proof_length"
    );
    assert_eq!(check(5, 4, &proof).unwrap_err().code(), "index_beyond_size");
    assert_eq!(check(4, 8, &proof).unwrap_err().code(), "root_mismatch");
    assert_eq!(check(6, 8, &proof).unwrap_err().code(), "root_mismatch");
    // A single-leaf tree: the root is the leaf hash and the proof is empty.
    assert_eq!(verify_inclusion(0, 1, &leaf, &[], &leaf), Ok(()));
    assert_eq!(
        verify_inclusion(0, 1, &leaf, &[leaf], &leaf)
            .unwrap_err()
            .code(),
        "wrong_proof_length"
    );
    let err = check(4, 8, &proof).unwrap_err();
    assert!(
        err.to_string().starts_with("tree root mismatch: expected "),
        "{err}"
    );
}

#[test]
fn consistency_verifier_refuses_the_classic_mistakes() {
    let nodes = tree(8);
    let r = |size| nodes_root(&nodes, size);
    let one_two = consistency_proof(&nodes, 1, 2).unwrap();
    assert_eq!(one_two, vec![leaf_hash(&leaf_data(1))]);
    assert_eq!(verify_consistency(1, 2, &one_two, &r(1), &r(2)), Ok(()));
    // 1 -> 2 with an empty proof, or with the first root prepended.
    assert_eq!(
        verify_consistency(1, 2, &[], &r(1), &r(2)),
        Err(MerkleError::WrongProofLength {
            expected: 1,
            got: 0
        })
    );
    assert_eq!(
        verify_consistency(1, 2, &[r(1), one_two[0]], &r(1), &r(2))
            .unwrap_err()
            .code(),
        "wrong_proof_length"
    );
    // From size 0, to a smaller size, equal sizes.
    assert_eq!(
        verify_consistency(0, 2, &[], &r(0), &r(2)),
        Err(MerkleError::FromEmptyTree)
    );
    assert_eq!(
        verify_consistency(0, 0, &[], &r(0), &r(0)),
        Err(MerkleError::FromEmptyTree)
    );
    assert_eq!(
        verify_consistency(3, 2, &one_two, &r(3), &r(2)),
        Err(MerkleError::FirstLargerThanSecond {
            first: 3,
            second: 2
        })
    );
    assert_eq!(verify_consistency(5, 5, &[], &r(5), &r(5)), Ok(()));
    assert_eq!(
        verify_consistency(5, 5, &[r(5)], &r(5), &r(5)),
        Err(MerkleError::WrongProofLength {
            expected: 0,
            got: 1
        })
    );
    assert_eq!(
        verify_consistency(5, 5, &[], &r(5), &r(6))
            .unwrap_err()
            .code(),
        "second_root_mismatch"
    );
    // 3 -> 7: swapped roots, wrong first root, wrong sizes.
    let proof = consistency_proof(&nodes, 3, 7).unwrap();
    assert_eq!(verify_consistency(3, 7, &proof, &r(3), &r(7)), Ok(()));
    assert_eq!(
        verify_consistency(3, 7, &proof, &r(7), &r(3))
            .unwrap_err()
            .code(),
        "first_root_mismatch"
    );
    assert_eq!(
        verify_consistency(3, 7, &proof, &r(3), &r(8))
            .unwrap_err()
            .code(),
        "second_root_mismatch"
    );
    // A root commits to the leaves, not to the size: the 3 -> 7 proof also leads to root(7) when read
    // as 3 -> 8, because both audit paths have the same shape. No log signs (8, root(7)), which is
    // why every proof must be checked against the size and root of one signed checkpoint.
    assert_eq!(verify_consistency(3, 8, &proof, &r(3), &r(7)), Ok(()));
    assert!(verify_consistency(3, 8, &proof, &r(3), &r(8)).is_err());
    assert!(verify_consistency(3, 14, &proof, &r(3), &r(7)).is_err());
    assert!(verify_consistency(2, 7, &proof, &r(3), &r(7)).is_err());
    assert!(verify_consistency(4, 7, &proof, &r(3), &r(7)).is_err());
}

#[test]
fn plan_and_fetch_errors_carry_the_counts() {
    let plan = inclusion_plan(5, 8).unwrap();
    assert_eq!(
        plan.assemble(&[[0; 32]]),
        Err(MerkleError::FetchedCount {
            expected: 3,
            got: 1
        })
    );
    assert_eq!(
        Frontier::from_nodes(7, vec![[0; 32]; 2]),
        Err(MerkleError::FetchedCount {
            expected: 3,
            got: 2
        })
    );
    let nodes = tree(5);
    match inclusion_proof(&nodes, 0, 8) {
        Err(FetchError::Source(MissingNode(id))) => assert_eq!(id, NodeId::new(2, 1)),
        other => panic!("expected a missing node, got {other:?}"),
    }
    assert!(matches!(
        consistency_proof(&nodes, 6, 5),
        Err(FetchError::Merkle(
            MerkleError::FirstLargerThanSecond { .. }
        ))
    ));
}

#[test]
fn frontier_plan_and_lengths_at_ten_million() {
    let n = 10_000_000u64;
    assert_eq!(frontier_plan(n).len(), n.count_ones() as usize);
    // DESIGN.md: an inclusion proof at 10 M entries is 24 hashes.
    assert_eq!(inclusion_len(0, n), 24);
    assert_eq!(inclusion_len(n / 2, n), 24);
    // The last leaf sits on the right edge: one hash per set bit of n - 1.
    assert_eq!(inclusion_len(n - 1, n), (n - 1).count_ones() as usize);
    for index in [0, 12_345, n / 2, n - 2, n - 1] {
        let plan = inclusion_plan(index, n).unwrap();
        assert_eq!(plan.proof_len(), inclusion_len(index, n));
        assert!(plan.nodes().len() <= 48);
    }
    for m in [1, 2, 3, 1 << 20, n - 1] {
        assert_eq!(
            consistency_plan(m, n).unwrap().proof_len(),
            consistency_len(m, n)
        );
    }
}

#[test]
fn lengths_and_append_do_not_overflow_at_the_top_of_u64() {
    let max = u64::MAX;
    assert_eq!(
        inclusion_plan(0, max).unwrap().proof_len(),
        inclusion_len(0, max)
    );
    assert_eq!(
        inclusion_plan(max - 1, max).unwrap().proof_len(),
        inclusion_len(max - 1, max)
    );
    assert_eq!(
        consistency_plan(1 << 63, max).unwrap().proof_len(),
        consistency_len(1 << 63, max)
    );
    let mut full = Frontier::from_nodes(max, vec![[0; 32]; 64]).unwrap();
    assert_eq!(
        full.append([1; 32]),
        Err(MerkleError::TreeFull { size: max })
    );
}

// --- Properties over a larger tree ----------------------------------------------------------------

const LARGE: u64 = 3000;

fn large() -> &'static (Vec<Hash>, MemoryNodes, Vec<Hash>) {
    static TREE: OnceLock<(Vec<Hash>, MemoryNodes, Vec<Hash>)> = OnceLock::new();
    TREE.get_or_init(|| {
        let hashes = leaf_hashes(LARGE);
        let mut nodes = MemoryNodes::new();
        let mut roots = vec![nodes.root()];
        for &h in &hashes {
            nodes.push(h).unwrap();
            roots.push(nodes.root());
        }
        (hashes, nodes, roots)
    })
}

proptest! {
    #[test]
    fn inclusion_round_trip_and_tamper(size in 1..=LARGE, index_seed: u64, element_seed: usize, bit in 0usize..256) {
        let (hashes, nodes, roots) = large();
        let index = index_seed % size;
        let proof = inclusion_proof(nodes, index, size).unwrap();
        let leaf = hashes[index as usize];
        let root_hash = roots[size as usize];
        prop_assert_eq!(verify_inclusion(index, size, &leaf, &proof, &root_hash), Ok(()));
        if size <= 300 {
            prop_assert_eq!(&proof, &path(index as usize, &hashes[..size as usize]));
        }
        if !proof.is_empty() {
            let mut bad = proof.clone();
            bad[element_seed % proof.len()][bit / 8] ^= 1 << (bit % 8);
            prop_assert!(verify_inclusion(index, size, &leaf, &bad, &root_hash).is_err());
        }
        let mut wrong_leaf = leaf;
        wrong_leaf[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(verify_inclusion(index, size, &wrong_leaf, &proof, &root_hash).is_err());
        prop_assert!(verify_inclusion(index, size * 2, &leaf, &proof, &root_hash).is_err());
        if size > 1 {
            prop_assert!(verify_inclusion(index, size, &leaf, &proof[1..], &root_hash).is_err());
        }
    }

    #[test]
    fn consistency_round_trip_and_tamper(n in 1..=LARGE, m_seed: u64, element_seed: usize, bit in 0usize..256) {
        let (hashes, nodes, roots) = large();
        let m = 1 + m_seed % n;
        let proof = consistency_proof(nodes, m, n).unwrap();
        let (first, second) = (roots[m as usize], roots[n as usize]);
        prop_assert_eq!(verify_consistency(m, n, &proof, &first, &second), Ok(()));
        if n <= 300 && m < n {
            prop_assert_eq!(&proof, &subproof(m as usize, &hashes[..n as usize], true));
        }
        if !proof.is_empty() {
            let mut bad = proof.clone();
            bad[element_seed % proof.len()][bit / 8] ^= 1 << (bit % 8);
            prop_assert!(verify_consistency(m, n, &bad, &first, &second).is_err());
            prop_assert!(verify_consistency(m, n, &proof[1..], &first, &second).is_err());
            prop_assert!(verify_consistency(m, n, &proof, &second, &first).is_err());
        }
        let mut bad_first = first;
        bad_first[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(verify_consistency(m, n, &proof, &bad_first, &second).is_err());
    }
}
