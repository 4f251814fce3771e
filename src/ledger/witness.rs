//! The witness protocol's pure parts: the C2SP tlog-witness `add-checkpoint` request body, and
//! fork evidence that anyone can re-check with public keys only (`hiehub ledger check-fork`).
//!
//! Spec: C2SP `tlog-witness` (request body: `old <size>` line, one consistency proof hash per line
//! in standard base64, an empty line, then the signed checkpoint note), C2SP `tlog-cosignature`.
//! No HTTP and no database here: `crate::anchor` does the networked and stored parts.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use super::checkpoint::{Checkpoint, VerifierKey};
use super::hash::Hash;
use super::merkle::{MerkleError, RootRole, verify_consistency};

/// The most consistency proof lines a request may carry (a proof in a tree of 2^63 leaves has
/// fewer than 2 × 64 hashes).
pub const MAX_PROOF_LINES: usize = 130;

/// The largest request body accepted (the checkpoint note is bounded by `MAX_NOTE_BYTES` anyway;
/// a witness request is a few kilobytes).
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// One `add-checkpoint` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size the pusher believes the witness has stored for its log (0: none).
    pub old: u64,
    /// The consistency proof from `old` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, as sent.
    pub checkpoint: String,
}

/// Why a request body was refused (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("request body of {len} bytes exceeds the limit of {max}")]
    TooLarge { len: usize, max: usize },
    #[error("line 1 must be `old <size>` (decimal, no leading zeros), found {found:?}")]
    OldLine { found: String },
    #[error("line {line}: consistency proof hash {text:?} is not the standard base64 of 32 bytes")]
    ProofLine { line: usize, text: String },
    #[error("more than {max} consistency proof lines")]
    TooManyProofLines { max: usize },
    #[error("no empty line separates the proof from the checkpoint")]
    NoCheckpoint,
    #[error("request body is not UTF-8")]
    NotUtf8,
}

impl AddCheckpoint {
    /// The request body.
    pub fn encode(&self) -> String {
        let mut out = format!("old {}\n", self.old);
        for h in &self.proof {
            out.push_str(&BASE64.encode(h));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Parses a request body; nothing is verified yet.
    pub fn parse(body: &[u8]) -> Result<Self, RequestError> {
        if body.len() > MAX_REQUEST_BYTES {
            return Err(RequestError::TooLarge {
                len: body.len(),
                max: MAX_REQUEST_BYTES,
            });
        }
        let text = std::str::from_utf8(body).map_err(|_| RequestError::NotUtf8)?;
        let (head, checkpoint) = text.split_once("\n\n").ok_or(RequestError::NoCheckpoint)?;
        let mut lines = head.split('\n');
        let first = lines.next().unwrap_or_default();
        let old = first
            .strip_prefix("old ")
            .filter(|s| {
                !s.is_empty()
                    && s.bytes().all(|b| b.is_ascii_digit())
                    && (*s == "0" || !s.starts_with('0'))
            })
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| RequestError::OldLine {
                found: first.chars().take(64).collect(),
            })?;
        let mut proof = Vec::new();
        for (i, line) in lines.enumerate() {
            if proof.len() == MAX_PROOF_LINES {
                return Err(RequestError::TooManyProofLines {
                    max: MAX_PROOF_LINES,
                });
            }
            let hash = BASE64
                .decode(line)
                .ok()
                .and_then(|b| Hash::try_from(b.as_slice()).ok())
                .ok_or_else(|| RequestError::ProofLine {
                    line: i + 2,
                    text: line.chars().take(64).collect(),
                })?;
            proof.push(hash);
        }
        Ok(AddCheckpoint {
            old,
            proof,
            checkpoint: checkpoint.to_owned(),
        })
    }
}

/// The format tag of [`Evidence`] files.
pub const EVIDENCE_FORMAT: &str = "hiehub-fork-evidence/v1";

/// What a peer log did wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// Two signed checkpoints of one size with different roots.
    Fork,
    /// A signed checkpoint smaller than one already witnessed.
    Rollback,
    /// A consistency proof from the witnessed checkpoint to the new one that does not verify.
    Inconsistent,
    /// A checkpoint with a signature line by the log's key that does not verify.
    BadSignature,
}

impl EvidenceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fork => "fork",
            Self::Rollback => "rollback",
            Self::Inconsistent => "inconsistent",
            Self::BadSignature => "bad_signature",
        }
    }
}

/// Self-contained evidence: the checkpoints involved, the proof, and the log's public keys (as the
/// witness had them configured; an auditor passes keys obtained independently to `check-fork`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub format: String,
    pub kind: EvidenceKind,
    /// The peer's name at the witness.
    pub peer: String,
    /// The log's origin line.
    pub origin: String,
    /// The checkpoint the witness had stored (absent for a bad signature on a first contact).
    pub witnessed: Option<String>,
    /// The checkpoint presented.
    pub presented: String,
    /// The `old` size of the request.
    pub old: u64,
    /// The consistency proof presented, standard base64.
    pub proof: Vec<String>,
    /// The log's verifier keys (C2SP vkeys) the witness trusted.
    pub vkeys: Vec<String>,
    /// Which witness recorded it, when (RFC 3339), and why in words.
    pub witness: String,
    pub detected_at: String,
    pub detail: String,
}

/// What [`Evidence::check`] established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmed {
    pub kind: EvidenceKind,
    /// In words, with sizes and roots.
    pub statement: String,
}

/// Why evidence does not show misbehaviour.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    #[error("not a {EVIDENCE_FORMAT} file (format {0:?})")]
    Format(String),
    #[error("no verifier key: pass the log's key with --vkey")]
    NoKey,
    #[error("verifier key {key:?}: {detail}")]
    Key { key: String, detail: String },
    #[error("the {which} checkpoint does not verify with the log's keys: {detail}")]
    Signature { which: &'static str, detail: String },
    #[error("the {which} checkpoint is missing")]
    Missing { which: &'static str },
    #[error("not confirmed: {0}")]
    NotShown(String),
}

fn hx(h: &Hash) -> String {
    hex::encode(h)
}

impl Evidence {
    /// Re-checks the evidence with `keys` (the log's verifier keys; the ones inside the file when
    /// empty). Succeeds only if the signed checkpoints themselves show the misbehaviour.
    pub fn check(&self, keys: &[VerifierKey]) -> Result<Confirmed, EvidenceError> {
        if self.format != EVIDENCE_FORMAT {
            return Err(EvidenceError::Format(self.format.clone()));
        }
        let own: Vec<VerifierKey>;
        let keys = if keys.is_empty() {
            own = self
                .vkeys
                .iter()
                .map(|k| {
                    VerifierKey::parse(k).map_err(|e| EvidenceError::Key {
                        key: k.clone(),
                        detail: e.to_string(),
                    })
                })
                .collect::<Result<_, _>>()?;
            &own[..]
        } else {
            keys
        };
        if keys.is_empty() {
            return Err(EvidenceError::NoKey);
        }
        let open = |which: &'static str, note: &str| {
            Checkpoint::open(note, keys)
                .map(|(c, _)| c)
                .map_err(|e| EvidenceError::Signature {
                    which,
                    detail: e.to_string(),
                })
        };
        if self.kind == EvidenceKind::BadSignature {
            return match Checkpoint::open(&self.presented, keys) {
                Ok(_) => Err(EvidenceError::NotShown(
                    "the presented checkpoint verifies with the log's keys".into(),
                )),
                Err(e) => Ok(Confirmed {
                    kind: self.kind,
                    statement: format!(
                        "the checkpoint presented as {} does not verify: {e}",
                        self.origin
                    ),
                }),
            };
        }
        let witnessed = open(
            "witnessed",
            self.witnessed
                .as_deref()
                .ok_or(EvidenceError::Missing { which: "witnessed" })?,
        )?;
        let presented = open("presented", &self.presented)?;
        if witnessed.origin() != presented.origin() {
            return Err(EvidenceError::NotShown(format!(
                "the checkpoints are of different logs ({} and {})",
                witnessed.origin(),
                presented.origin()
            )));
        }
        let (m, n) = (witnessed.size(), presented.size());
        match self.kind {
            EvidenceKind::Fork | EvidenceKind::Inconsistent
                if m == n && witnessed.root() != presented.root() =>
            {
                Ok(Confirmed {
                    kind: EvidenceKind::Fork,
                    statement: format!(
                        "{} signed two different trees of size {m}: root {} and root {}",
                        presented.origin(),
                        hx(witnessed.root()),
                        hx(presented.root())
                    ),
                })
            }
            EvidenceKind::Rollback if n < m => Ok(Confirmed {
                kind: self.kind,
                statement: format!(
                    "{} signed a tree of size {n} after a tree of size {m} had been witnessed (rollback)",
                    presented.origin()
                ),
            }),
            EvidenceKind::Inconsistent if m < n => {
                let proof = self
                    .proof
                    .iter()
                    .map(|p| {
                        BASE64
                            .decode(p)
                            .ok()
                            .and_then(|b| Hash::try_from(b.as_slice()).ok())
                            .ok_or_else(|| {
                                EvidenceError::NotShown(format!("proof hash {p:?} is not base64"))
                            })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                match verify_consistency(m, n, &proof, witnessed.root(), presented.root()) {
                    Ok(()) => Err(EvidenceError::NotShown(format!(
                        "the proof shows the tree of size {m} is a prefix of the tree of size {n}"
                    ))),
                    Err(e) => Ok(Confirmed {
                        kind: self.kind,
                        statement: inconsistency_statement(
                            presented.origin(),
                            m,
                            n,
                            &proof,
                            witnessed.root(),
                            presented.root(),
                            &e,
                        ),
                    }),
                }
            }
            kind => Err(EvidenceError::NotShown(format!(
                "{} evidence with witnessed size {m} and presented size {n} shows nothing",
                kind.as_str()
            ))),
        }
    }
}

/// Words for a failed consistency proof. When the proof does lead to the presented (signed) root
/// but gives another root for the old size, the log's own signed tree contradicts its earlier
/// checkpoint: a proven fork, not just a bad proof.
fn inconsistency_statement(
    origin: &str,
    m: u64,
    n: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
    error: &MerkleError,
) -> String {
    if let MerkleError::RootMismatch {
        role: RootRole::First,
        calculated,
        ..
    } = error
        && !m.is_power_of_two()
        && verify_consistency(m, n, proof, calculated, new_root).is_ok()
    {
        return format!(
            "{origin} forked: its signed tree of size {n} (root {}) has at size {m} the root {}, \
             but it had signed size {m} with root {}",
            hx(new_root),
            hx(calculated),
            hx(old_root)
        );
    }
    format!(
        "{origin} presented size {n} (root {}) with a consistency proof from the witnessed size {m} \
         (root {}) that does not verify: {error}",
        hx(new_root),
        hx(old_root)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::checkpoint::SigningKey;
    use crate::ledger::hash::leaf_hash;
    use crate::ledger::merkle::{MemoryNodes, consistency_proof};

    fn tree(leaves: &[&[u8]]) -> MemoryNodes {
        let mut t = MemoryNodes::new();
        for l in leaves {
            t.push(leaf_hash(l)).unwrap();
        }
        t
    }

    #[test]
    fn request_round_trips_and_refuses_garbage() {
        let req = AddCheckpoint {
            old: 5,
            proof: vec![[1; 32], [2; 32]],
            checkpoint: "o\n7\nAAAA\n\n— k x\n".into(),
        };
        assert_eq!(AddCheckpoint::parse(req.encode().as_bytes()).unwrap(), req);
        let zero = AddCheckpoint {
            old: 0,
            proof: vec![],
            checkpoint: "c\n".into(),
        };
        assert_eq!(
            AddCheckpoint::parse(zero.encode().as_bytes()).unwrap(),
            zero
        );
        for bad in [
            "old 05\n\nc\n",
            "old\n\nc\n",
            "new 5\n\nc\n",
            "old 5\nnot-base64\n\nc\n",
            "old 5\nAAAA\n\nc\n",
            "old 5\n",
        ] {
            assert!(AddCheckpoint::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert!(AddCheckpoint::parse(&[0xff, 0xfe]).is_err());
    }

    fn evidence(kind: EvidenceKind, witnessed: &str, presented: &str, proof: &[Hash]) -> Evidence {
        Evidence {
            format: EVIDENCE_FORMAT.into(),
            kind,
            peer: "a".into(),
            origin: "log-a".into(),
            witnessed: Some(witnessed.into()),
            presented: presented.into(),
            old: 0,
            proof: proof.iter().map(|h| BASE64.encode(h)).collect(),
            vkeys: vec![],
            witness: "w".into(),
            detected_at: "now".into(),
            detail: String::new(),
        }
    }

    #[test]
    fn evidence_is_confirmed_only_when_the_signed_checkpoints_show_it() {
        let key = SigningKey::generate("log-a").unwrap();
        let vk = vec![key.verifier().unwrap()];
        let honest = tree(&[b"0", b"1", b"2", b"3", b"4", b"5", b"6"]);
        let forged = tree(&[b"0", b"1", b"X", b"3", b"4", b"5", b"6"]);
        let sign = |size: u64, root: Hash| {
            Checkpoint::new("log-a", size, root)
                .unwrap()
                .sign(&key)
                .unwrap()
        };
        let old_root = tree(&[b"0", b"1", b"2"]).root();
        let old = sign(3, old_root);
        let new_honest = sign(7, honest.root());
        let new_forged = sign(7, forged.root());
        let good_proof = consistency_proof(&honest, 3, 7).unwrap();
        let forged_proof = consistency_proof(&forged, 3, 7).unwrap();
        // an honest extension is not evidence
        let e = evidence(EvidenceKind::Inconsistent, &old, &new_honest, &good_proof);
        assert!(e.check(&vk).is_err());
        // the forged tree's own proof leads to its root but not to the witnessed one: proven
        let e = evidence(EvidenceKind::Inconsistent, &old, &new_forged, &forged_proof);
        let c = e.check(&vk).unwrap();
        assert!(c.statement.contains("forked"), "{}", c.statement);
        // same size, two roots
        let other = sign(3, tree(&[b"0", b"1", b"Y"]).root());
        let c = evidence(EvidenceKind::Fork, &old, &other, &[])
            .check(&vk)
            .unwrap();
        assert_eq!(c.kind, EvidenceKind::Fork);
        assert!(
            evidence(EvidenceKind::Fork, &old, &old, &[])
                .check(&vk)
                .is_err()
        );
        // rollback
        assert!(
            evidence(EvidenceKind::Rollback, &new_honest, &old, &[])
                .check(&vk)
                .is_ok()
        );
        assert!(
            evidence(EvidenceKind::Rollback, &old, &new_honest, &[])
                .check(&vk)
                .is_err()
        );
        // a checkpoint not signed by the log's key proves nothing about the log
        let stranger = SigningKey::generate("log-a").unwrap();
        let fake = Checkpoint::new("log-a", 3, [9; 32])
            .unwrap()
            .sign(&stranger)
            .unwrap();
        assert!(
            evidence(EvidenceKind::Fork, &old, &fake, &[])
                .check(&vk)
                .is_err()
        );
    }
}
