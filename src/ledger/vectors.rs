//! Generated proof test vectors: `tests/data/ledger/{inclusion,consistency}/<scenario>/<case>.json`.
//!
//! Each scenario (a leaf index in a tree, or a pair of tree sizes) has a `happy-path.json`, which
//! also lists every leaf of the tree, and one file per way the proof can be wrong: a flipped bit in
//! each proof element, index ±1, size ×2 and ÷2, size 0, index = size, a wrong leaf or root,
//! swapped roots, extra or missing hashes. Every bad vector is refused by construction; its
//! `expected` field pins the error code our verifier gives ([`MerkleError::code`]).
//!
//! - `cargo test --lib ledger::vectors` checks that the files are exactly what this generator
//!   writes, that the Rust verifier gives each file's expected verdict, and that the independent
//!   Python verifier `tests/interop/rfc9162_verify.py` agrees on every file.
//! - `HIEHUB_REGEN_VECTORS=1 cargo test --lib ledger::vectors -- --test-threads=1` rewrites them;
//!   review the diff.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use super::hash::{Hash, leaf_hash};
use super::merkle::{
    MemoryNodes, MerkleError, consistency_proof, inclusion_proof, root, verify_consistency,
    verify_inclusion,
};

const REGEN_VAR: &str = "HIEHUB_REGEN_VECTORS";

const INCLUSION_SCENARIOS: [(u64, u64); 13] = [
    (0, 1),
    (0, 2),
    (1, 2),
    (2, 3),
    (0, 8),
    (5, 8),
    (7, 8),
    (6, 7),
    (3, 5),
    (12, 13),
    (31, 70),
    (64, 70),
    (69, 70),
];

const CONSISTENCY_SCENARIOS: [(u64, u64); 13] = [
    (1, 1),
    (1, 2),
    (1, 8),
    (2, 5),
    (3, 7),
    (4, 8),
    (6, 8),
    (5, 13),
    (7, 70),
    (32, 70),
    (64, 70),
    (69, 70),
    (70, 70),
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct InclusionVector {
    description: String,
    leaf: String,
    leaf_index: u64,
    tree_size: u64,
    root: String,
    proof: Vec<String>,
    expected: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tree_leaves: Option<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyVector {
    description: String,
    first_size: u64,
    second_size: u64,
    first_root: String,
    second_root: String,
    proof: Vec<String>,
    expected: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tree_leaves: Option<Vec<String>>,
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ledger")
}

fn leaf_data(i: u64) -> Vec<u8> {
    format!("hiehub leaf {i}").into_bytes()
}

fn tree(size: u64) -> MemoryNodes {
    let mut nodes = MemoryNodes::new();
    for i in 0..size {
        nodes.push(leaf_hash(&leaf_data(i))).unwrap();
    }
    nodes
}

fn hexes(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(hex::encode).collect()
}

fn flip(hash: &Hash, bit: usize) -> Hash {
    let mut out = *hash;
    out[bit / 8] ^= 1 << (bit % 8);
    out
}

fn garbage() -> Hash {
    leaf_hash(b"garbage")
}

fn verdict(result: Result<(), MerkleError>) -> String {
    match result {
        Ok(()) => "ok".to_owned(),
        Err(e) => e.code().to_owned(),
    }
}

/// One inclusion case before it is written: what the verifier is given.
struct InclusionCase {
    name: String,
    description: String,
    leaf: Vec<u8>,
    index: u64,
    size: u64,
    root: Hash,
    proof: Vec<Hash>,
}

fn inclusion_cases(index: u64, size: u64) -> Vec<InclusionCase> {
    let nodes = tree(size);
    let proof = inclusion_proof(&nodes, index, size).unwrap();
    let root_hash = root(&nodes, size).unwrap();
    let base = InclusionCase {
        name: "happy-path".into(),
        description: format!("leaf {index} of a tree of {size}: valid proof"),
        leaf: leaf_data(index),
        index,
        size,
        root: root_hash,
        proof: proof.clone(),
    };
    let mut cases = Vec::new();
    let mut add = |name: String, description: String, edit: &dyn Fn(&mut InclusionCase)| {
        let mut case = InclusionCase {
            name,
            description,
            proof: base.proof.clone(),
            leaf: base.leaf.clone(),
            ..base
        };
        edit(&mut case);
        cases.push(case);
    };
    add(
        "wrong-leaf".into(),
        "the leaf data of another leaf".into(),
        &|c| c.leaf = leaf_data(index + 1),
    );
    for e in 0..proof.len() {
        let bit = (e * 37 + 5) % 256;
        add(
            format!("modified-proof-{e}-bit-{bit}"),
            format!("proof element {e} has bit {bit} flipped"),
            &|c| c.proof[e] = flip(&c.proof[e], bit),
        );
    }
    add("index-plus-1".into(), "leaf index + 1".into(), &|c| {
        c.index += 1
    });
    if index > 0 {
        add("index-minus-1".into(), "leaf index - 1".into(), &|c| {
            c.index -= 1
        });
    }
    add(
        "index-equals-size".into(),
        "leaf index = tree size".into(),
        &|c| c.index = size,
    );
    add(
        "size-times-2".into(),
        "tree size x 2 (proof for another size than the checkpoint's)".into(),
        &|c| c.size *= 2,
    );
    add("size-div-2".into(), "tree size / 2".into(), &|c| {
        c.size /= 2
    });
    add(
        "size-zero".into(),
        "proof against the empty tree (size 0)".into(),
        &|c| c.size = 0,
    );
    add(
        "wrong-root".into(),
        "root with bit 0 flipped".into(),
        &|c| c.root = flip(&c.root, 0),
    );
    if size > 1 {
        add(
            "root-is-leaf-hash".into(),
            "the leaf hash given as root".into(),
            &|c| c.root = leaf_hash(&c.leaf),
        );
    }
    add(
        "trailing-garbage".into(),
        "an extra hash after the proof".into(),
        &|c| c.proof.push(garbage()),
    );
    add(
        "preceding-garbage".into(),
        "an extra hash before the proof".into(),
        &|c| c.proof.insert(0, garbage()),
    );
    if !proof.is_empty() {
        add(
            "truncated-proof".into(),
            "the last proof hash missing".into(),
            &|c| {
                c.proof.pop();
            },
        );
        add(
            "missing-first".into(),
            "the first proof hash missing".into(),
            &|c| {
                c.proof.remove(0);
            },
        );
        add("empty-proof".into(), "an empty proof".into(), &|c| {
            c.proof.clear()
        });
    }
    cases.insert(0, base);
    cases
}

fn inclusion_vectors(index: u64, size: u64) -> BTreeMap<String, InclusionVector> {
    let mut out = BTreeMap::new();
    for case in inclusion_cases(index, size) {
        let happy = case.name == "happy-path";
        let result = verify_inclusion(
            case.index,
            case.size,
            &leaf_hash(&case.leaf),
            &case.proof,
            &case.root,
        );
        assert_eq!(
            result.is_ok(),
            happy,
            "{index}-of-{size}/{}: {result:?}",
            case.name
        );
        out.insert(
            case.name,
            InclusionVector {
                description: case.description,
                leaf: hex::encode(&case.leaf),
                leaf_index: case.index,
                tree_size: case.size,
                root: hex::encode(case.root),
                proof: hexes(&case.proof),
                expected: verdict(result),
                tree_leaves: happy.then(|| (0..size).map(|i| hex::encode(leaf_data(i))).collect()),
            },
        );
    }
    out
}

/// One consistency case before it is written.
struct ConsistencyCase {
    name: String,
    description: String,
    m: u64,
    n: u64,
    first: Hash,
    second: Hash,
    proof: Vec<Hash>,
}

fn consistency_cases(m: u64, n: u64) -> Vec<ConsistencyCase> {
    let nodes = tree(n);
    let proof = consistency_proof(&nodes, m, n).unwrap();
    let (first, second) = (root(&nodes, m).unwrap(), root(&nodes, n).unwrap());
    let base = ConsistencyCase {
        name: "happy-path".into(),
        description: format!("tree of {m} to tree of {n}: valid proof"),
        m,
        n,
        first,
        second,
        proof: proof.clone(),
    };
    let mut cases = Vec::new();
    let mut add = |name: String, description: String, edit: &dyn Fn(&mut ConsistencyCase)| {
        let mut case = ConsistencyCase {
            name,
            description,
            proof: base.proof.clone(),
            ..base
        };
        edit(&mut case);
        cases.push(case);
    };
    for e in 0..proof.len() {
        let bit = (e * 37 + 5) % 256;
        add(
            format!("modified-proof-{e}-bit-{bit}"),
            format!("proof element {e} has bit {bit} flipped"),
            &|c| c.proof[e] = flip(&c.proof[e], bit),
        );
    }
    add("first-size-plus-1".into(), "first size + 1".into(), &|c| {
        c.m += 1
    });
    add("first-size-minus-1".into(), "first size - 1".into(), &|c| {
        c.m -= 1
    });
    add(
        "first-size-zero".into(),
        "proof from the empty tree (size 0)".into(),
        &|c| c.m = 0,
    );
    add(
        "second-size-times-2".into(),
        "second size x 2".into(),
        &|c| c.n *= 2,
    );
    add("second-size-div-2".into(), "second size / 2".into(), &|c| {
        c.n /= 2
    });
    add(
        "first-root-wrong".into(),
        "first root with bit 0 flipped".into(),
        &|c| c.first = flip(&c.first, 0),
    );
    add(
        "second-root-wrong".into(),
        "second root with bit 0 flipped".into(),
        &|c| c.second = flip(&c.second, 0),
    );
    add(
        "trailing-garbage".into(),
        "an extra hash after the proof".into(),
        &|c| c.proof.push(garbage()),
    );
    add(
        "preceding-garbage".into(),
        "an extra hash before the proof".into(),
        &|c| c.proof.insert(0, garbage()),
    );
    add(
        "preceding-first-root".into(),
        "the first root prepended to the proof".into(),
        &|c| c.proof.insert(0, c.first),
    );
    if m < n {
        add(
            "sizes-swapped".into(),
            "first and second sizes swapped".into(),
            &|c| (c.m, c.n) = (c.n, c.m),
        );
        add(
            "roots-swapped".into(),
            "first and second roots swapped".into(),
            &|c| (c.first, c.second) = (c.second, c.first),
        );
        add(
            "truncated-proof".into(),
            "the last proof hash missing".into(),
            &|c| {
                c.proof.pop();
            },
        );
        add(
            "missing-first".into(),
            "the first proof hash missing".into(),
            &|c| {
                c.proof.remove(0);
            },
        );
        add("empty-proof".into(), "an empty proof".into(), &|c| {
            c.proof.clear()
        });
    }
    cases.insert(0, base);
    cases
}

fn consistency_vectors(m: u64, n: u64) -> BTreeMap<String, ConsistencyVector> {
    let mut out = BTreeMap::new();
    for case in consistency_cases(m, n) {
        let happy = case.name == "happy-path";
        let result = verify_consistency(case.m, case.n, &case.proof, &case.first, &case.second);
        assert_eq!(
            result.is_ok(),
            happy,
            "{m}-to-{n}/{}: {result:?}",
            case.name
        );
        out.insert(
            case.name,
            ConsistencyVector {
                description: case.description,
                first_size: case.m,
                second_size: case.n,
                first_root: hex::encode(case.first),
                second_root: hex::encode(case.second),
                proof: hexes(&case.proof),
                expected: verdict(result),
                tree_leaves: happy.then(|| (0..n).map(|i| hex::encode(leaf_data(i))).collect()),
            },
        );
    }
    out
}

/// Every vector file, relative path → contents.
fn generate() -> BTreeMap<PathBuf, String> {
    fn json<T: Serialize>(v: &T) -> String {
        serde_json::to_string_pretty(v).unwrap() + "\n"
    }
    let mut files = BTreeMap::new();
    for (index, size) in INCLUSION_SCENARIOS {
        for (case, v) in inclusion_vectors(index, size) {
            let path = format!("inclusion/{index}-of-{size}/{case}.json");
            files.insert(PathBuf::from(path), json(&v));
        }
    }
    for (m, n) in CONSISTENCY_SCENARIOS {
        for (case, v) in consistency_vectors(m, n) {
            let path = format!("consistency/{m}-to-{n}/{case}.json");
            files.insert(PathBuf::from(path), json(&v));
        }
    }
    files
}

fn files_on_disk(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    for kind in ["inclusion", "consistency"] {
        let Ok(scenarios) = fs::read_dir(dir.join(kind)) else {
            continue;
        };
        for scenario in scenarios {
            let scenario = scenario.unwrap().path();
            for file in fs::read_dir(&scenario).unwrap() {
                let path = file.unwrap().path();
                let relative = path.strip_prefix(dir).unwrap().to_owned();
                out.insert(relative, fs::read_to_string(&path).unwrap());
            }
        }
    }
    out
}

fn regenerate(dir: &Path, files: &BTreeMap<PathBuf, String>) {
    for kind in ["inclusion", "consistency"] {
        let _ = fs::remove_dir_all(dir.join(kind));
    }
    for (relative, contents) in files {
        let path = dir.join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, contents).unwrap();
    }
}

fn hash_of(text: &str) -> Hash {
    let mut out = [0; 32];
    hex::decode_to_slice(text, &mut out).unwrap();
    out
}

fn check_file(relative: &Path, contents: &str) {
    let name = relative.display();
    let got = if relative.starts_with("inclusion") {
        let v: InclusionVector = serde_json::from_str(contents).unwrap();
        let proof: Vec<Hash> = v.proof.iter().map(|h| hash_of(h)).collect();
        let leaf = hex::decode(&v.leaf).unwrap();
        let result = verify_inclusion(
            v.leaf_index,
            v.tree_size,
            &leaf_hash(&leaf),
            &proof,
            &hash_of(&v.root),
        );
        (verdict(result), v.expected)
    } else {
        let v: ConsistencyVector = serde_json::from_str(contents).unwrap();
        let proof: Vec<Hash> = v.proof.iter().map(|h| hash_of(h)).collect();
        let result = verify_consistency(
            v.first_size,
            v.second_size,
            &proof,
            &hash_of(&v.first_root),
            &hash_of(&v.second_root),
        );
        (verdict(result), v.expected)
    };
    assert_eq!(
        got.0, got.1,
        "{name}: verifier says {}, file expects {}",
        got.0, got.1
    );
}

#[test]
fn vectors_are_current_and_the_rust_verifier_agrees() {
    let dir = data_dir();
    let generated = generate();
    if std::env::var_os(REGEN_VAR).is_some() {
        regenerate(&dir, &generated);
    }
    let on_disk = files_on_disk(&dir);
    for (relative, contents) in &on_disk {
        check_file(relative, contents);
    }
    let stale = on_disk.keys().filter(|p| !generated.contains_key(*p));
    let missing = generated.keys().filter(|p| !on_disk.contains_key(*p));
    let changed = generated
        .iter()
        .filter(|(p, c)| on_disk.get(*p).is_some_and(|d| d != *c))
        .map(|(p, _)| p);
    let report = |what: &str, paths: Vec<&PathBuf>| match paths.len() {
        0 => String::new(),
        n => format!("{n} {what} (first: {}); ", paths[0].display()),
    };
    let differences = report("stale", stale.collect())
        + &report("missing", missing.collect())
        + &report("changed", changed.collect());
    assert!(
        differences.is_empty(),
        "test vectors under {} differ from the generator: {differences}\
         run `{REGEN_VAR}=1 cargo test --lib ledger::vectors -- --test-threads=1` and review the diff",
        dir.display()
    );
    // Every way of being wrong is there, and each is refused.
    let refused = on_disk
        .keys()
        .filter(|p| !p.ends_with("happy-path.json"))
        .count();
    assert!(refused > 300, "only {refused} bad vectors");
}

#[test]
fn independent_python_verifier_agrees() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/rfc9162_verify.py");
    let output = match Command::new("python3")
        .arg(&script)
        .arg(data_dir())
        .output()
    {
        Ok(output) => output,
        Err(e) => panic!("cannot run python3 ({e}): install the Debian package python3"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{} failed ({}):\n{stdout}\n{stderr}",
        script.display(),
        output.status
    );
    assert!(stdout.contains(" 0 disagreements"), "{stdout}");
}
