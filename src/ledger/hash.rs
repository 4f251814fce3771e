//! The three SHA3-256 hash functions of the ledger, each with its own one-byte domain prefix.
//!
//! | function | input | spec |
//! | --- | --- | --- |
//! | [`leaf_hash`] | `0x00 ‖ leaf bytes` | RFC 9162 §2.1.1 (leaf) |
//! | [`node_hash`] | `0x01 ‖ left ‖ right` | RFC 9162 §2.1.1 (interior node) |
//! | [`chain_hash`] | `0x02 ‖ u64be(i) ‖ chain(i-1) ‖ leaf_hash(i)` | hiehub DESIGN.md, "Ledger format" |
//!
//! The prefixes keep the three domains apart: no leaf hash can be passed off as an interior node or a
//! chain link, and the reverse. The payload digest stored inside a leaf ([`payload_hash`]) is the plain
//! SHA3-256 of the payload bytes, with no prefix, so that anyone can recompute it with a stock tool.

use sha3::{Digest, Sha3_256};

/// A SHA3-256 digest.
pub type Hash = [u8; 32];

/// The chain value that precedes entry 0: 32 zero bytes.
///
/// `chain_0 = chain_hash(0, &CHAIN_GENESIS, &leaf_hash_0)`.
pub const CHAIN_GENESIS: Hash = [0; 32];

const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;
const CHAIN_PREFIX: u8 = 0x02;

/// Plain SHA3-256 of `data` (FIPS 202).
pub fn sha3_256(data: &[u8]) -> Hash {
    Sha3_256::digest(data).into()
}

/// The digest of a payload as committed to by a leaf: plain SHA3-256 of the bytes exactly as received.
pub fn payload_hash(payload: &[u8]) -> Hash {
    sha3_256(payload)
}

/// The root of the empty tree: SHA3-256 of the empty string (RFC 9162 §2.1.1, `MTH({}) = HASH()`).
pub fn empty_root() -> Hash {
    sha3_256(&[])
}

/// RFC 9162 leaf hash: `SHA3-256(0x00 ‖ leaf)`.
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    Sha3_256::new()
        .chain_update([LEAF_PREFIX])
        .chain_update(leaf)
        .finalize()
        .into()
}

/// RFC 9162 interior node hash: `SHA3-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Sha3_256::new()
        .chain_update([NODE_PREFIX])
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

/// Linear chain link of entry `index`: `SHA3-256(0x02 ‖ u64be(index) ‖ previous ‖ leaf_hash)`.
///
/// `previous` is the chain value of entry `index - 1`, or [`CHAIN_GENESIS`] (32 zero bytes) for entry 0.
/// A linear scan that recomputes these links catches an edited, deleted or reordered row without the tree.
pub fn chain_hash(index: u64, previous: &Hash, leaf_hash: &Hash) -> Hash {
    Sha3_256::new()
        .chain_update([CHAIN_PREFIX])
        .chain_update(index.to_be_bytes())
        .chain_update(previous)
        .chain_update(leaf_hash)
        .finalize()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Hash {
        let mut out = [0; 32];
        hex::decode_to_slice(s, &mut out).unwrap();
        out
    }

    #[test]
    fn sha3_256_known_answers() {
        // FIPS 202 example values.
        assert_eq!(
            empty_root(),
            h("a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a")
        );
        assert_eq!(
            sha3_256(b"abc"),
            h("3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532")
        );
    }

    #[test]
    fn prefixes_separate_domains() {
        let x = [7u8; 32];
        let leaf_of_64 = leaf_hash(&[x, x].concat());
        assert_ne!(leaf_of_64, node_hash(&x, &x));
        let mut manual = vec![0x01];
        manual.extend_from_slice(&x);
        manual.extend_from_slice(&x);
        assert_eq!(node_hash(&x, &x), sha3_256(&manual));
        assert_eq!(leaf_hash(b"a"), sha3_256(b"\x00a"));
    }

    #[test]
    fn chain_hash_layout() {
        let leaf = leaf_hash(b"entry");
        let mut manual = vec![0x02];
        manual.extend_from_slice(&5u64.to_be_bytes());
        manual.extend_from_slice(&CHAIN_GENESIS);
        manual.extend_from_slice(&leaf);
        assert_eq!(chain_hash(5, &CHAIN_GENESIS, &leaf), sha3_256(&manual));
        assert_ne!(
            chain_hash(0, &CHAIN_GENESIS, &leaf),
            chain_hash(1, &CHAIN_GENESIS, &leaf)
        );
    }
}
