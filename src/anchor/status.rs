//! Anchoring status of one entry: the checkpoint that covers it, who cosigned a covering
//! checkpoint and when, and whether at least k peers did (anchored).

use diesel::prelude::*;
use serde::Serialize;

use super::store::{self, CosignatureRow};
use crate::ledger::bundle::{self, InclusionBundle, ProveError};
use crate::ledger::db::{self, LedgerDbError, StoredCheckpoint};
use crate::store::schema::ledger_checkpoints;

#[derive(Debug, Clone, Serialize)]
pub struct Cosigner {
    pub peer: String,
    /// The cosigned checkpoint's size (> seq).
    pub size: u64,
    pub key_name: String,
    /// The cosignature's timestamp.
    pub cosigned_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The Cosignature entry of this hub's ledger that holds it.
    pub ledger_seq: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Anchoring {
    pub seq: u64,
    /// k.
    pub quorum: usize,
    /// n: configured peers.
    pub peers: usize,
    pub anchored: bool,
    /// The first signed checkpoint that covers the entry (size > seq), if any yet.
    pub covering_checkpoint: Option<CoveringCheckpoint>,
    /// For each peer, its first cosignature of a checkpoint covering the entry.
    pub cosigners: Vec<Cosigner>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CoveringCheckpoint {
    pub size: u64,
    pub root: String,
    pub note: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

fn cosigner(r: CosignatureRow) -> Cosigner {
    Cosigner {
        peer: r.peer,
        size: r.size as u64,
        key_name: r.key_name,
        cosigned_at: chrono::DateTime::from_timestamp(r.cosigned_at, 0),
        ledger_seq: r.ledger_seq as u64,
    }
}

fn first_covering(
    conn: &mut PgConnection,
    seq: u64,
) -> Result<Option<StoredCheckpoint>, LedgerDbError> {
    let size: Option<i64> = ledger_checkpoints::table
        .filter(ledger_checkpoints::size.gt(seq as i64))
        .select(diesel::dsl::min(ledger_checkpoints::size))
        .first(conn)?;
    match size {
        Some(s) => db::checkpoint_at(conn, s as u64),
        None => Ok(None),
    }
}

/// The anchoring status of entry `seq` (which must exist).
pub fn anchoring(
    conn: &mut PgConnection,
    seq: u64,
    quorum: usize,
    peers: usize,
) -> Result<Anchoring, LedgerDbError> {
    db::entry(conn, seq)?;
    let covering = first_covering(conn, seq)?;
    let cosigners: Vec<Cosigner> = store::covering_cosignatures(conn, seq)?
        .into_iter()
        .map(cosigner)
        .collect();
    Ok(Anchoring {
        seq,
        quorum,
        peers,
        anchored: quorum > 0 && cosigners.len() >= quorum,
        covering_checkpoint: covering.map(|c| CoveringCheckpoint {
            size: c.size,
            root: hex::encode(c.root),
            note: c.note,
            created_at: c.created_at,
        }),
        cosigners,
    })
}

#[derive(QueryableByName)]
struct SizeRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    size: i64,
}

/// The cosigned checkpoint note of `size`: the signed note followed by every cosignature line
/// collected for it (C2SP tlog-cosignature), or None when nobody cosigned that size.
pub fn cosigned_note(conn: &mut PgConnection, size: u64) -> Result<Option<String>, LedgerDbError> {
    let Some(cp) = db::checkpoint_at(conn, size)? else {
        return Ok(None);
    };
    let rows = store::cosignatures_at(conn, size)?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut note = cp.note;
    for r in rows {
        note.push_str(&r.line);
    }
    Ok(Some(note))
}

/// The latest checkpoint that carries cosignatures, as a cosigned note.
pub fn latest_cosigned(conn: &mut PgConnection) -> Result<Option<String>, LedgerDbError> {
    let row: Option<SizeRow> =
        diesel::sql_query("SELECT max(size) AS size FROM anchor_cosignatures HAVING count(*) > 0")
            .get_result(conn)
            .optional()?;
    match row {
        Some(r) => cosigned_note(conn, r.size as u64),
        None => Ok(None),
    }
}

/// An inclusion proof of `seq` against the covering checkpoint with the most cosigners (the
/// smallest such), its note carrying the cosignature lines, so an auditor can check offline that
/// other hubs attested to the entry. Falls back to the latest checkpoint when none is cosigned.
pub fn prove_anchored(
    conn: &mut PgConnection,
    seq: u64,
    vkey: &str,
    witness_vkeys: Vec<String>,
) -> Result<InclusionBundle, ProveError> {
    let best: Option<SizeRow> = diesel::sql_query(
        "SELECT size FROM anchor_cosignatures WHERE size > $1
          GROUP BY size ORDER BY count(*) DESC, size ASC LIMIT 1",
    )
    .bind::<diesel::sql_types::BigInt, _>(seq as i64)
    .get_result(conn)
    .optional()
    .map_err(LedgerDbError::from)?;
    let Some(best) = best else {
        return bundle::prove(conn, seq, vkey);
    };
    let size = best.size as u64;
    let note = cosigned_note(conn, size)?.ok_or(ProveError::NoCheckpoint)?;
    let mut b = bundle::prove_at(conn, seq, size, vkey)?;
    b.checkpoint = note;
    b.witnesses = witness_vkeys;
    Ok(b)
}
