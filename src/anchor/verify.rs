//! `ledger verify`'s cross-hub part: every stored peer checkpoint entry (signature by the peer's
//! log key, current or old, and the consistency proof it came with, from the previous one of the
//! same peer) and every Cosignature entry (this hub's signature, each peer's cosignature, and the
//! cosigned root against this ledger's own tree at that size — what a rewrite of the past breaks).

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bytea, Nullable, SmallInt};
use serde::Serialize;

use super::Peer;
use crate::ledger::checkpoint::{Checkpoint, VerifierKey, parse_note, verify_note};
use crate::ledger::db::{self, LedgerDbError};
use crate::ledger::hash::Hash;
use crate::ledger::leaf::EntryKind;
use crate::ledger::merkle::verify_consistency;
use crate::ledger::witness::AddCheckpoint;

#[derive(Debug, Clone, Default, Serialize)]
pub struct AnchorReport {
    pub peer_checkpoints_checked: u64,
    pub cosignature_entries_checked: u64,
    pub cosignatures_checked: u64,
    pub failure: Option<String>,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = SmallInt)]
    kind: i16,
    #[diesel(sql_type = Nullable<Bytea>)]
    payload: Option<Vec<u8>>,
}

/// Checks the anchoring entries of the ledger at `conn`. `own_keys`: this hub's log keys;
/// `peers`: the configured peers (their log and witness keys).
pub fn verify_anchors(
    conn: &mut PgConnection,
    own_keys: &[VerifierKey],
    peers: &[Peer],
) -> Result<AnchorReport, LedgerDbError> {
    let mut report = AnchorReport::default();
    let tree_size = db::load_tail(conn)?.size();
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT e.seq, e.kind, p.payload FROM ledger_entries e
           LEFT JOIN ledger_payloads p ON p.seq = e.seq
          WHERE e.kind IN ($1, $2) ORDER BY e.seq",
    )
    .bind::<SmallInt, _>(EntryKind::PeerCheckpoint.code() as i16)
    .bind::<SmallInt, _>(EntryKind::Cosignature.code() as i16)
    .load(conn)?;
    let mut last: HashMap<String, (u64, Hash)> = HashMap::new();
    for row in rows {
        let Some(payload) = row.payload else {
            continue; // erased under a recorded erasure: `verify` proper checks that
        };
        let failure = if row.kind == EntryKind::PeerCheckpoint.code() as i16 {
            check_peer_checkpoint(&payload, peers, &mut last).map(|()| {
                report.peer_checkpoints_checked += 1;
            })
        } else {
            check_cosignature_entry(conn, &payload, own_keys, peers, tree_size).map(|n| {
                report.cosignature_entries_checked += 1;
                report.cosignatures_checked += n;
            })
        };
        if let Err(f) = failure {
            report.failure = Some(format!("entry {}: {f}", row.seq));
            break;
        }
    }
    Ok(report)
}

fn check_peer_checkpoint(
    payload: &[u8],
    peers: &[Peer],
    last: &mut HashMap<String, (u64, Hash)>,
) -> Result<(), String> {
    let req = AddCheckpoint::parse(payload).map_err(|e| format!("peer checkpoint entry: {e}"))?;
    let note = parse_note(&req.checkpoint).map_err(|e| format!("peer checkpoint: {e}"))?;
    let origin = note.text.split('\n').next().unwrap_or_default();
    let peer = peers.iter().find(|p| p.origin() == origin).ok_or_else(|| {
        format!(
            "peer checkpoint of {origin:?}, which is not a configured peer (its keys are unknown)"
        )
    })?;
    let (cp, _) = Checkpoint::open(&req.checkpoint, &peer.all_log_keys())
        .map_err(|e| format!("checkpoint of peer {} size ?: signature: {e}", peer.name))?;
    if let Some((m, root)) = last.get(origin) {
        let (m, root) = (*m, *root);
        if m > cp.size() {
            return Err(format!(
                "peer {} checkpoint of size {} stored after one of size {m}",
                peer.name,
                cp.size()
            ));
        }
        if req.old != m {
            return Err(format!(
                "peer {} checkpoint of size {} was accepted from size {}, the previous stored one has size {m}",
                peer.name,
                cp.size(),
                req.old
            ));
        }
        verify_consistency(m, cp.size(), &req.proof, &root, cp.root()).map_err(|e| {
            format!(
                "peer {} checkpoint of size {} is not consistent with its stored size {m}: {e}",
                peer.name,
                cp.size()
            )
        })?;
    }
    last.insert(origin.to_owned(), (cp.size(), *cp.root()));
    Ok(())
}

/// Returns the number of cosignatures checked.
fn check_cosignature_entry(
    conn: &mut PgConnection,
    payload: &[u8],
    own_keys: &[VerifierKey],
    peers: &[Peer],
    tree_size: u64,
) -> Result<u64, String> {
    let note =
        std::str::from_utf8(payload).map_err(|_| "cosigned checkpoint is not UTF-8".to_string())?;
    let (cp, _) = Checkpoint::open(note, own_keys)
        .map_err(|e| format!("cosigned checkpoint: this hub's signature: {e}"))?;
    if cp.size() > tree_size {
        return Err(format!(
            "peers cosigned size {}, but this ledger has only {tree_size} entries",
            cp.size()
        ));
    }
    let ours = db::root_at(conn, cp.size()).map_err(|e| e.to_string())?;
    if &ours != cp.root() {
        return Err(format!(
            "peers cosigned this ledger at size {} with root {}, but this ledger's tree has root {} at that size: its past was rewritten",
            cp.size(),
            hex::encode(cp.root()),
            hex::encode(ours)
        ));
    }
    let parsed = parse_note(note).map_err(|e| e.to_string())?;
    let mut checked = 0;
    for sig in &parsed.signatures {
        let Some(peer) = peers
            .iter()
            .find(|p| p.witness_key.name() == sig.name && p.witness_key.key_id() == sig.key_id)
        else {
            continue; // this hub's own signature, or a witness no longer configured
        };
        verify_note(note, std::slice::from_ref(&peer.witness_key)).map_err(|e| {
            format!(
                "cosignature of size {} by peer {}: {e}",
                cp.size(),
                peer.name
            )
        })?;
        checked += 1;
    }
    Ok(checked)
}
