//! Self-contained inclusion proofs: what `hiehub ledger prove` prints and `/api/ledger/proof`
//! answers, and what `hiehub ledger check-proof` verifies offline with no database.
//!
//! A bundle names the signed checkpoint it was computed against (never a size fetched
//! separately): the proof is checked against the root inside the verified note.

use serde::{Deserialize, Serialize};

use super::checkpoint::{Checkpoint, VerifierKey, verify_note};
use super::hash::{Hash, leaf_hash, payload_hash};
use super::leaf::Leaf;
use super::merkle::verify_inclusion;

pub const FORMAT: &str = "hiehub-inclusion-proof/v1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionBundle {
    pub format: String,
    /// 0-based leaf index.
    pub seq: u64,
    /// The canonical leaf bytes, hex.
    pub leaf: String,
    /// SHA3-256(0x00 ‖ leaf), hex (informative: the checker recomputes it).
    pub leaf_hash: String,
    /// Tree size of the checkpoint the proof is against.
    pub tree_size: u64,
    /// RFC 9162 inclusion proof, hex hashes.
    pub proof: Vec<String>,
    /// The signed checkpoint (C2SP signed note).
    pub checkpoint: String,
    /// The hub's verifier key as published at `/ledger/checkpoint` (informative: an auditor checks
    /// the note with the key they obtained independently, `check-proof --vkey`).
    pub vkey: String,
    /// Witness keys (C2SP vkeys, type 0x04) of the peers whose cosignature lines follow the hub's
    /// signature in `checkpoint` (informative, like `vkey`; empty when the checkpoint is not
    /// cosigned).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub witnesses: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("not a {FORMAT} bundle (format '{0}')")]
    Format(String),
    #[error("{field} is not valid hex: {detail}")]
    Hex { field: String, detail: String },
    #[error("the checkpoint signature does not verify with key '{key}': {detail}")]
    Signature { key: String, detail: String },
    #[error("the checkpoint does not parse: {0}")]
    Checkpoint(String),
    #[error("the bundle says tree size {bundle}, the signed checkpoint says {checkpoint}")]
    SizeMismatch { bundle: u64, checkpoint: u64 },
    #[error("the leaf does not decode: {0}")]
    Leaf(String),
    #[error("inclusion proof refused: {0}")]
    Proof(String),
    #[error("the payload hashes to {computed}, the leaf commits to {expected}")]
    Payload { expected: String, computed: String },
    #[error("the verifier key does not parse: {0}")]
    Key(String),
}

fn unhex(field: &str, s: &str) -> Result<Vec<u8>, BundleError> {
    hex::decode(s).map_err(|e| BundleError::Hex {
        field: field.to_owned(),
        detail: e.to_string(),
    })
}

fn unhex32(field: &str, s: &str) -> Result<Hash, BundleError> {
    let v = unhex(field, s)?;
    Hash::try_from(v.as_slice()).map_err(|_| BundleError::Hex {
        field: field.to_owned(),
        detail: format!("{} bytes, expected 32", v.len()),
    })
}

/// What a successful check established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub origin: String,
    pub seq: u64,
    pub tree_size: u64,
    pub root: Hash,
    pub leaf: Leaf,
    pub payload_checked: bool,
}

impl InclusionBundle {
    /// Verifies the bundle with `vkey` (the key the auditor trusts), and the payload if given.
    pub fn check(&self, vkey: &str, payload: Option<&[u8]>) -> Result<Checked, BundleError> {
        if self.format != FORMAT {
            return Err(BundleError::Format(self.format.clone()));
        }
        let key = VerifierKey::parse(vkey).map_err(|e| BundleError::Key(e.to_string()))?;
        let verified = verify_note(&self.checkpoint, std::slice::from_ref(&key)).map_err(|e| {
            BundleError::Signature {
                key: key.name().to_owned(),
                detail: e.to_string(),
            }
        })?;
        let cp = Checkpoint::parse(&verified.body)
            .map_err(|e| BundleError::Checkpoint(e.to_string()))?;
        if cp.size() != self.tree_size {
            return Err(BundleError::SizeMismatch {
                bundle: self.tree_size,
                checkpoint: cp.size(),
            });
        }
        let leaf_bytes = unhex("leaf", &self.leaf)?;
        let leaf = Leaf::decode(&leaf_bytes).map_err(|e| BundleError::Leaf(e.to_string()))?;
        let proof = self
            .proof
            .iter()
            .enumerate()
            .map(|(i, h)| unhex32(&format!("proof[{i}]"), h))
            .collect::<Result<Vec<_>, _>>()?;
        verify_inclusion(
            self.seq,
            cp.size(),
            &leaf_hash(&leaf_bytes),
            &proof,
            cp.root(),
        )
        .map_err(|e| BundleError::Proof(e.to_string()))?;
        if let Some(p) = payload {
            let computed = payload_hash(p);
            if computed != leaf.payload_hash {
                return Err(BundleError::Payload {
                    expected: hex::encode(leaf.payload_hash),
                    computed: hex::encode(computed),
                });
            }
        }
        Ok(Checked {
            origin: cp.origin().to_owned(),
            seq: self.seq,
            tree_size: cp.size(),
            root: *cp.root(),
            leaf,
            payload_checked: payload.is_some(),
        })
    }
}

/// Builds the bundle for entry `seq` against the latest checkpoint that covers it.
pub fn prove(
    conn: &mut diesel::PgConnection,
    seq: u64,
    vkey: &str,
) -> Result<InclusionBundle, ProveError> {
    let cp = super::db::latest_checkpoint(conn)?.ok_or(ProveError::NoCheckpoint)?;
    if seq >= cp.size {
        return Err(ProveError::NotCovered { seq, size: cp.size });
    }
    let entry = super::db::entry(conn, seq)?;
    let proof = super::db::inclusion_proof(conn, seq, cp.size)?;
    Ok(InclusionBundle {
        format: FORMAT.into(),
        seq,
        leaf: hex::encode(&entry.leaf),
        leaf_hash: hex::encode(&entry.leaf_hash),
        tree_size: cp.size,
        proof: proof.iter().map(hex::encode).collect(),
        checkpoint: cp.note,
        vkey: vkey.to_owned(),
        witnesses: Vec::new(),
    })
}

/// Builds the bundle for entry `seq` against the stored checkpoint of `size`.
pub fn prove_at(
    conn: &mut diesel::PgConnection,
    seq: u64,
    size: u64,
    vkey: &str,
) -> Result<InclusionBundle, ProveError> {
    let cp = super::db::checkpoint_at(conn, size)?.ok_or(ProveError::NoCheckpoint)?;
    if seq >= cp.size {
        return Err(ProveError::NotCovered { seq, size: cp.size });
    }
    let entry = super::db::entry(conn, seq)?;
    let proof = super::db::inclusion_proof(conn, seq, cp.size)?;
    Ok(InclusionBundle {
        format: FORMAT.into(),
        seq,
        leaf: hex::encode(&entry.leaf),
        leaf_hash: hex::encode(&entry.leaf_hash),
        tree_size: cp.size,
        proof: proof.iter().map(hex::encode).collect(),
        checkpoint: cp.note,
        vkey: vkey.to_owned(),
        witnesses: Vec::new(),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    #[error("no checkpoint has been signed yet")]
    NoCheckpoint,
    #[error(
        "entry {seq} is not covered by the latest checkpoint (size {size}) yet; try again after the next checkpoint"
    )]
    NotCovered { seq: u64, size: u64 },
    #[error(transparent)]
    Db(#[from] super::db::LedgerDbError),
}
