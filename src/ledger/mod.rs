//! The ATNA ledger core: hashes, RFC 9162 Merkle tree and proofs, leaf encoding, signed checkpoints.
//!
//! Pure computation: no database, no HTTP, no clock. The store and the web layer build on this API.
//!
//! | module | what | spec |
//! | --- | --- | --- |
//! | [`hash`] | leaf, node and chain hashes (SHA3-256, domain prefixes `0x00`/`0x01`/`0x02`) | RFC 9162 §2.1.1, DESIGN.md "Ledger format" |
//! | [`merkle`] | node-store plans, frontier, inclusion and consistency proofs and their verifiers | RFC 9162 §2.1.3, §2.1.4 |
//! | [`leaf`] | canonical, versioned leaf bytes (kind, envelope, payload SHA3-256) | DESIGN.md "Ledger format" |
//! | [`checkpoint`] | checkpoints as signed notes, Ed25519 keys and vkeys, witness cosignatures | C2SP signed-note, tlog-checkpoint, tlog-cosignature |

pub mod checkpoint;
pub mod db;
pub mod hash;
pub mod leaf;
pub mod merkle;

#[cfg(test)]
mod vectors;
