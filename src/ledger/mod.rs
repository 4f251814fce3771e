//! The ATNA ledger: hashes, RFC 9162 Merkle tree and proofs, leaf encoding, signed checkpoints.
//!
//! The core modules below are pure computation: no database, no HTTP, no clock, no global state.
//! [`db`] stores the ledger in PostgreSQL on top of them.
//!
//! | module | what | spec |
//! | --- | --- | --- |
//! | [`hash`] | leaf, node and chain hashes (SHA3-256, domain prefixes `0x00`/`0x01`/`0x02`) | RFC 9162 §2.1.1, DESIGN.md "Ledger format" |
//! | [`merkle`] | node-store plans, frontier, inclusion and consistency proofs and their verifiers | RFC 9162 §2.1.3, §2.1.4 |
//! | [`leaf`] | canonical, versioned leaf bytes (kind, envelope, payload SHA3-256) | DESIGN.md "Ledger format" |
//! | [`checkpoint`] | checkpoints as signed notes, Ed25519 keys and vkeys, witness cosignatures | C2SP signed-note, tlog-checkpoint, tlog-cosignature |
//!
//! Test vectors for every way a proof can be wrong live in `tests/data/ledger/`, generated and
//! checked by `vectors.rs` and re-checked by the independent `tests/interop/rfc9162_verify.py`.

pub mod bundle;
pub mod checkpoint;
pub mod db;
pub mod hash;
pub mod leaf;
pub mod merkle;
pub mod verify;
pub mod witness;

#[cfg(test)]
mod vectors;
