//! The ledger core (`hiehub::ledger`): proofs over a 10,000,000-leaf tree held in memory, next to
//! raw SHA3-256 of 1 KiB for scale.
//!
//! Run: `cargo bench --bench ledger -- --warm-up-time 1 --measurement-time 3`
//!
//! The tree is built once (about 20 M SHA3-256 calls, a few seconds) into `MemoryNodes`, which keeps
//! every perfect node per level in a `Vec`, as the database keeps them in rows; proofs are built
//! from the same `NodeSource` plans the database uses, so these figures are the computation alone.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hiehub::ledger::hash::{Hash, leaf_hash, sha3_256};
use hiehub::ledger::merkle::{
    Frontier, MemoryNodes, consistency_proof, inclusion_proof, root, verify_consistency,
    verify_inclusion,
};

/// 10,000,000 leaves under `cargo bench`; a small tree when `cargo test` runs the bench once as a
/// smoke test (a debug build would spend minutes building the big one).
fn leaves() -> u64 {
    if std::env::args().any(|a| a == "--bench") {
        10_000_000
    } else {
        4096
    }
}
const SAMPLES: usize = 1024;

fn build_tree() -> (MemoryNodes, Vec<Hash>) {
    let started = Instant::now();
    let mut nodes = MemoryNodes::with_capacity(leaves() as usize);
    let mut leaf_hashes = Vec::with_capacity(leaves() as usize);
    for i in 0..leaves() {
        let h = leaf_hash(&i.to_be_bytes());
        leaf_hashes.push(h);
        nodes.push(h).expect("push");
    }
    eprintln!(
        "built a tree of {} leaves in {:.1?}",
        leaves(),
        started.elapsed()
    );
    (nodes, leaf_hashes)
}

/// Spread-out indices below `bound` (a fixed linear congruential sequence).
fn indices(bound: u64) -> Vec<u64> {
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    (0..SAMPLES)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 11) % bound
        })
        .collect()
}

fn proofs(c: &mut Criterion) {
    let (nodes, leaf_hashes) = build_tree();
    let tree_root = root(&nodes, leaves()).expect("root");
    let picks = indices(leaves());
    let mut group = c.benchmark_group("ledger_10M");

    let mut next = picks.iter().cycle();
    group.bench_function("inclusion_proof_generate", |b| {
        b.iter(|| {
            let index = *next.next().expect("cycle");
            inclusion_proof(&nodes, black_box(index), leaves()).expect("proof")
        })
    });

    let inclusion: Vec<(u64, Vec<Hash>)> = picks
        .iter()
        .map(|&i| (i, inclusion_proof(&nodes, i, leaves()).expect("proof")))
        .collect();
    let mut next = inclusion.iter().cycle();
    group.bench_function("inclusion_proof_verify", |b| {
        b.iter(|| {
            let (index, proof) = next.next().expect("cycle");
            let leaf = &leaf_hashes[*index as usize];
            verify_inclusion(*index, leaves(), leaf, black_box(proof), &tree_root).expect("valid")
        })
    });

    let firsts: Vec<u64> = picks.iter().map(|&i| i.max(1)).collect();
    let mut next = firsts.iter().cycle();
    group.bench_function("consistency_proof_generate", |b| {
        b.iter(|| {
            let m = *next.next().expect("cycle");
            consistency_proof(&nodes, black_box(m), leaves()).expect("proof")
        })
    });

    let consistency: Vec<(u64, Hash, Vec<Hash>)> = firsts
        .iter()
        .map(|&m| {
            let first_root = root(&nodes, m).expect("root");
            (
                m,
                first_root,
                consistency_proof(&nodes, m, leaves()).expect("proof"),
            )
        })
        .collect();
    let mut next = consistency.iter().cycle();
    group.bench_function("consistency_proof_verify", |b| {
        b.iter(|| {
            let (m, first_root, proof) = next.next().expect("cycle");
            verify_consistency(*m, leaves(), black_box(proof), first_root, &tree_root)
                .expect("valid")
        })
    });

    let mut next = firsts.iter().cycle();
    group.bench_function("root_at_size", |b| {
        b.iter(|| root(&nodes, black_box(*next.next().expect("cycle"))).expect("root"))
    });
    group.finish();
}

fn hashing(c: &mut Criterion) {
    let kib = vec![0x5a_u8; 1024];
    let mut group = c.benchmark_group("ledger_hash");
    group.throughput(Throughput::Bytes(1024));
    group.bench_function("sha3_256_1KiB", |b| b.iter(|| sha3_256(black_box(&kib))));
    group.bench_function("leaf_hash_1KiB", |b| b.iter(|| leaf_hash(black_box(&kib))));
    group.throughput(Throughput::Elements(1));
    let mut frontier = Frontier::new();
    let leaf = leaf_hash(&kib);
    group.bench_function("frontier_append", |b| {
        b.iter(|| frontier.append(black_box(leaf)).expect("append"))
    });
    group.finish();
}

criterion_group!(benches, hashing, proofs);
criterion_main!(benches);
