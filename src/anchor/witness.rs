//! The witness side of C2SP tlog-witness: `POST /ledger/add-checkpoint`.
//!
//! Order of checks (status codes as tlog-witness gives them):
//! body parses (400) → origin is a configured peer (404) → signed by the peer's current log key
//! (403; a line by that key that does not verify is also an alarm) → a signed checkpoint smaller
//! than the one stored is a rollback (alarm) → `old` equals the stored size (409 with the stored
//! size as `text/x.tlog.size`) → `old` not above the checkpoint size (400) → same size: same root
//! (else a fork: 422 and alarm) → the consistency proof verifies from the stored root (422 and
//! alarm with evidence) → compare-and-swap of (size, root) (409 if another request won) → the peer's
//! checkpoint appended to this hub's ledger (entanglement) → cosignature (200).

use bytes::Bytes;

use super::alarm::{self, Alarm};
use super::{Anchor, Peer, store};
use crate::audit::{AuditSink, Prepared};
use crate::ledger::checkpoint::{Checkpoint, CheckpointError, NoteError, parse_note};
use crate::ledger::leaf::{EntryKind, Envelope, Transport};
use crate::ledger::merkle::verify_consistency;
use crate::ledger::witness::{AddCheckpoint, EVIDENCE_FORMAT, Evidence, EvidenceKind};
use crate::store::Db;

/// What to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// 200: the cosignature line(s).
    Cosigned(String),
    /// 409: the size this witness has stored for the log.
    Conflict(u64),
    /// Any other refusal: HTTP status and a message naming the problem.
    Refused { status: u16, message: String },
}

fn refused(status: u16, message: impl Into<String>) -> Reply {
    Reply::Refused {
        status,
        message: message.into(),
    }
}

/// Who sent the request (for the ledger envelope).
#[derive(Debug, Clone, Default)]
pub struct Sender {
    pub fingerprint: Option<[u8; 32]>,
    pub tls: bool,
}

fn evidence(
    anchor: &Anchor,
    peer: &Peer,
    kind: EvidenceKind,
    witnessed: Option<String>,
    req: &AddCheckpoint,
    detail: &str,
) -> Evidence {
    use base64::Engine;
    Evidence {
        format: EVIDENCE_FORMAT.into(),
        kind,
        peer: peer.name.clone(),
        origin: peer.origin().to_owned(),
        witnessed,
        presented: req.checkpoint.clone(),
        old: req.old,
        proof: req
            .proof
            .iter()
            .map(|h| base64::engine::general_purpose::STANDARD.encode(h))
            .collect(),
        vkeys: peer
            .all_log_keys()
            .iter()
            .map(ToString::to_string)
            .collect(),
        witness: anchor.witness_vkey.clone(),
        detected_at: chrono::Utc::now().to_rfc3339(),
        detail: detail.to_owned(),
    }
}

/// Handles one `add-checkpoint` request.
pub async fn add_checkpoint(
    anchor: &Anchor,
    db: &Db,
    sink: &AuditSink,
    body: &[u8],
    sender: Sender,
) -> Reply {
    let req = match AddCheckpoint::parse(body) {
        Ok(r) => r,
        Err(e) => return refused(400, format!("add-checkpoint request: {e}")),
    };
    let origin = match parse_note(&req.checkpoint) {
        Ok(n) => n.text.split('\n').next().unwrap_or_default().to_owned(),
        Err(e) => return refused(400, format!("checkpoint note: {e}")),
    };
    let Some(peer) = anchor.peer_by_origin(&origin) else {
        return refused(
            404,
            format!("unknown log origin {origin:?}: not a configured peer"),
        );
    };
    let (cp, body_text) =
        match Checkpoint::open(&req.checkpoint, std::slice::from_ref(&peer.log_key)) {
            Ok((cp, v)) => (cp, v.body),
            Err(CheckpointError::Note(e @ NoteError::BadSignature { .. })) => {
                let detail = format!(
                    "checkpoint signature by {}'s log key does not verify: {e}",
                    peer.name
                );
                let ev = evidence(
                    anchor,
                    peer,
                    EvidenceKind::BadSignature,
                    None,
                    &req,
                    &detail,
                );
                alarm::raise(
                    db,
                    sink,
                    Alarm {
                        peer: peer.name.clone(),
                        kind: "bad_signature",
                        detail: detail.clone(),
                        evidence: Some(ev),
                        dedup: format!("bad_signature:{}:{}", peer.name, req.checkpoint),
                    },
                )
                .await;
                return refused(403, detail);
            }
            Err(CheckpointError::Note(e)) => {
                return refused(
                    403,
                    format!(
                        "checkpoint is not signed by {}'s current log key {}: {e}",
                        peer.name, peer.log_key
                    ),
                );
            }
            Err(e) => return refused(400, format!("checkpoint: {e}")),
        };
    let n = cp.size();
    let origin_owned = origin.clone();
    let stored = match db
        .run(move |c| Ok(store::witness_state(c, &origin_owned)?))
        .await
    {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "witness state");
            return refused(500, "internal error (see the server log)");
        }
    };
    let stored_size = stored.as_ref().map_or(0, |s| s.size as u64);
    if let Some(s) = &stored
        && n < stored_size
    {
        let detail = format!(
            "{} presented a signed checkpoint of size {n} after size {stored_size} was witnessed (rollback)",
            peer.name
        );
        let ev = evidence(
            anchor,
            peer,
            EvidenceKind::Rollback,
            Some(s.note.clone()),
            &req,
            &detail,
        );
        alarm::raise(
            db,
            sink,
            Alarm {
                peer: peer.name.clone(),
                kind: "rollback",
                detail,
                evidence: Some(ev),
                dedup: format!("rollback:{}:{}:{}", peer.name, n, hex::encode(cp.root())),
            },
        )
        .await;
    }
    if req.old != stored_size {
        return Reply::Conflict(stored_size);
    }
    if req.old > n {
        return refused(
            400,
            format!(
                "old size {} is larger than the checkpoint size {n}",
                req.old
            ),
        );
    }
    let stored_root = stored.as_ref().map(|s| s.root.clone()).unwrap_or_default();
    if let Some(s) = &stored {
        let consistent = if n == stored_size {
            if req.proof.is_empty() && s.root.as_slice() == cp.root().as_slice() {
                Ok(())
            } else {
                Err(format!(
                    "same size {n} with a different root (witnessed {}, presented {})",
                    hex::encode(&s.root),
                    hex::encode(cp.root())
                ))
            }
        } else {
            match <[u8; 32]>::try_from(s.root.as_slice()) {
                Ok(old_root) => {
                    verify_consistency(stored_size, n, &req.proof, &old_root, cp.root())
                        .map_err(|e| e.to_string())
                }
                Err(_) => Err("stored root is not 32 bytes".into()),
            }
        };
        if let Err(why) = consistent {
            let kind = if n == stored_size {
                EvidenceKind::Fork
            } else {
                EvidenceKind::Inconsistent
            };
            let detail = format!(
                "{}'s checkpoint of size {n} is not consistent with the witnessed size {stored_size}: {why}",
                peer.name
            );
            let ev = evidence(anchor, peer, kind, Some(s.note.clone()), &req, &detail);
            alarm::raise(
                db,
                sink,
                Alarm {
                    peer: peer.name.clone(),
                    kind: kind.as_str(),
                    detail: detail.clone(),
                    evidence: Some(ev),
                    dedup: format!(
                        "{}:{}:{}:{}",
                        kind.as_str(),
                        peer.name,
                        n,
                        hex::encode(cp.root())
                    ),
                },
            )
            .await;
            return refused(422, detail);
        }
    } else if !req.proof.is_empty() {
        return refused(400, "old size 0 takes no consistency proof");
    }
    if n > stored_size {
        let (origin2, name, root, note, expected_root) = (
            origin.clone(),
            peer.name.clone(),
            *cp.root(),
            req.checkpoint.clone(),
            stored_root.clone(),
        );
        let swapped = db
            .run(move |c| {
                Ok(store::advance_witness_state(
                    c,
                    &origin2,
                    &name,
                    stored_size,
                    &expected_root,
                    n,
                    &root,
                    &note,
                )?)
            })
            .await;
        match swapped {
            Ok(true) => {}
            Ok(false) => {
                // Another request advanced it between our read and our write.
                let origin3 = origin.clone();
                let now = db
                    .run(move |c| Ok(store::witness_state(c, &origin3)?))
                    .await
                    .ok()
                    .flatten()
                    .map_or(0, |s| s.size as u64);
                return Reply::Conflict(now);
            }
            Err(e) => {
                tracing::error!(error = %e, "witness state not advanced");
                return refused(500, "internal error (see the server log)");
            }
        }
        // Entanglement: the peer's checkpoint (with the proof that it extends the last one) goes
        // into this hub's ledger before the cosignature leaves.
        let entry = Prepared::new(
            EntryKind::PeerCheckpoint,
            Envelope {
                received_at_micros: chrono::Utc::now().timestamp_micros(),
                transport: if sender.tls {
                    Transport::Https
                } else {
                    Transport::Http
                },
                sender_fingerprint: sender.fingerprint,
                connection_id: None,
                frame_seq: None,
            },
            Bytes::from(req.encode()),
            None,
        );
        if let Err(e) = sink.record_batch(vec![entry]).await {
            tracing::error!(error = %e, "witnessed checkpoint not appended to the ledger");
            // Undo the swap (again compare-and-swap, so a later winner is left alone): the stored
            // state never stays ahead of what this hub's ledger holds.
            let (origin4, name) = (origin.clone(), peer.name.clone());
            let (new_root, old_note) = (*cp.root(), stored.as_ref().map(|s| s.note.clone()));
            let undone = db
                .run(move |c| {
                    Ok(
                        match (&old_note, <[u8; 32]>::try_from(stored_root.as_slice())) {
                            (Some(note), Ok(old_root)) => store::advance_witness_state(
                                c,
                                &origin4,
                                &name,
                                n,
                                &new_root,
                                stored_size,
                                &old_root,
                                note,
                            )?,
                            _ => store::forget_witness_state(c, &origin4, n, &new_root)?,
                        },
                    )
                })
                .await;
            if !matches!(undone, Ok(true)) {
                tracing::error!(origin = %origin, "witness state ahead of the ledger: {undone:?}");
            }
            return refused(
                503,
                "the witnessed checkpoint could not be made durable; retry",
            );
        }
        metrics::counter!("hiehub_witness_checkpoints_total", "peer" => peer.name.clone())
            .increment(1);
    }
    let now = chrono::Utc::now().timestamp().max(0) as u64;
    match anchor.witness_key.cosignature_line(&body_text, now) {
        Ok(line) => Reply::Cosigned(line),
        Err(e) => {
            tracing::error!(error = %e, "cosignature");
            refused(500, "internal error (see the server log)")
        }
    }
}
