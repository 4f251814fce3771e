//! The anchoring tables (migration `2026-11-23-000006_anchor`): `witness_state` (what this hub
//! witnessed of each peer), `anchor_cosignatures` (what peers cosigned of this hub's ledger),
//! `anchor_alarms` (misbehaviour seen, with evidence).

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bytea, Nullable, Text, Timestamptz};

use crate::ledger::hash::Hash;

/// The checkpoint this hub last cosigned for one peer log.
#[derive(Debug, Clone, QueryableByName)]
pub struct WitnessState {
    #[diesel(sql_type = Text)]
    pub origin: String,
    #[diesel(sql_type = Text)]
    pub peer: String,
    #[diesel(sql_type = BigInt)]
    pub size: i64,
    #[diesel(sql_type = Bytea)]
    pub root: Vec<u8>,
    #[diesel(sql_type = Text)]
    pub note: String,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

pub fn witness_state(
    conn: &mut PgConnection,
    origin: &str,
) -> Result<Option<WitnessState>, diesel::result::Error> {
    diesel::sql_query(
        "SELECT origin, peer, size, root, note, updated_at FROM witness_state WHERE origin = $1",
    )
    .bind::<Text, _>(origin)
    .get_result(conn)
    .optional()
}

pub fn all_witness_states(
    conn: &mut PgConnection,
) -> Result<Vec<WitnessState>, diesel::result::Error> {
    diesel::sql_query(
        "SELECT origin, peer, size, root, note, updated_at FROM witness_state ORDER BY peer",
    )
    .load(conn)
}

/// Compare-and-swap in one statement: stores (`size`, `root`, `note`) for `origin` only if the
/// stored state is still (`old_size`, `old_root`) — or absent when `old_size` is 0. Returns
/// whether it was stored.
#[allow(clippy::too_many_arguments)]
pub fn advance_witness_state(
    conn: &mut PgConnection,
    origin: &str,
    peer: &str,
    old_size: u64,
    old_root: &[u8],
    size: u64,
    root: &Hash,
    note: &str,
) -> Result<bool, diesel::result::Error> {
    let n = diesel::sql_query(
        "INSERT INTO witness_state AS w (origin, peer, size, root, note, updated_at)
         VALUES ($1, $2, $3, $4, $5, now())
         ON CONFLICT (origin) DO UPDATE
            SET size = EXCLUDED.size, root = EXCLUDED.root, note = EXCLUDED.note,
                peer = EXCLUDED.peer, updated_at = now()
          WHERE w.size = $6 AND w.root = $7",
    )
    .bind::<Text, _>(origin)
    .bind::<Text, _>(peer)
    .bind::<BigInt, _>(size as i64)
    .bind::<Bytea, _>(root.as_slice())
    .bind::<Text, _>(note)
    .bind::<BigInt, _>(old_size as i64)
    .bind::<Bytea, _>(old_root)
    .execute(conn)?;
    Ok(n == 1)
}

/// Removes the state of `origin` if it is still (`size`, `root`): undoes a first contact whose
/// ledger append failed.
pub fn forget_witness_state(
    conn: &mut PgConnection,
    origin: &str,
    size: u64,
    root: &Hash,
) -> Result<bool, diesel::result::Error> {
    let n = diesel::sql_query(
        "DELETE FROM witness_state WHERE origin = $1 AND size = $2 AND root = $3",
    )
    .bind::<Text, _>(origin)
    .bind::<BigInt, _>(size as i64)
    .bind::<Bytea, _>(root.as_slice())
    .execute(conn)?;
    Ok(n == 1)
}

/// One cosignature a peer made of one of this hub's checkpoints.
#[derive(Debug, Clone, QueryableByName, serde::Serialize)]
pub struct CosignatureRow {
    #[diesel(sql_type = Text)]
    pub peer: String,
    #[diesel(sql_type = BigInt)]
    pub size: i64,
    #[diesel(sql_type = Text)]
    pub key_name: String,
    #[diesel(sql_type = BigInt)]
    pub key_id: i64,
    #[diesel(sql_type = BigInt)]
    pub cosigned_at: i64,
    #[diesel(sql_type = Text)]
    pub line: String,
    #[diesel(sql_type = BigInt)]
    pub ledger_seq: i64,
}

pub struct NewCosignature<'a> {
    pub peer: &'a str,
    pub size: u64,
    pub root: &'a Hash,
    pub key_name: &'a str,
    pub key_id: u32,
    pub cosigned_at: u64,
    pub line: &'a str,
    pub ledger_seq: u64,
}

pub fn insert_cosignature(
    conn: &mut PgConnection,
    c: &NewCosignature<'_>,
) -> Result<(), diesel::result::Error> {
    diesel::sql_query(
        "INSERT INTO anchor_cosignatures
            (peer, size, root, key_name, key_id, cosigned_at, line, ledger_seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
    )
    .bind::<Text, _>(c.peer)
    .bind::<BigInt, _>(c.size as i64)
    .bind::<Bytea, _>(c.root.as_slice())
    .bind::<Text, _>(c.key_name)
    .bind::<BigInt, _>(i64::from(c.key_id))
    .bind::<BigInt, _>(i64::try_from(c.cosigned_at).unwrap_or(i64::MAX))
    .bind::<Text, _>(c.line)
    .bind::<BigInt, _>(c.ledger_seq as i64)
    .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct PeerSize {
    #[diesel(sql_type = Text)]
    peer: String,
    #[diesel(sql_type = BigInt)]
    size: i64,
}

/// The largest size of this hub's ledger each peer has cosigned.
pub fn cosigned_sizes(
    conn: &mut PgConnection,
) -> Result<Vec<(String, u64)>, diesel::result::Error> {
    let rows: Vec<PeerSize> =
        diesel::sql_query("SELECT peer, max(size) AS size FROM anchor_cosignatures GROUP BY peer")
            .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.peer, r.size as u64)).collect())
}

/// For each peer, its first cosignature of a checkpoint covering entry `seq` (size > seq).
pub fn covering_cosignatures(
    conn: &mut PgConnection,
    seq: u64,
) -> Result<Vec<CosignatureRow>, diesel::result::Error> {
    diesel::sql_query(
        "SELECT DISTINCT ON (peer) peer, size, key_name, key_id, cosigned_at, line, ledger_seq
           FROM anchor_cosignatures WHERE size > $1 ORDER BY peer, size",
    )
    .bind::<BigInt, _>(seq as i64)
    .load(conn)
}

/// Every cosignature of the checkpoint of `size`.
pub fn cosignatures_at(
    conn: &mut PgConnection,
    size: u64,
) -> Result<Vec<CosignatureRow>, diesel::result::Error> {
    diesel::sql_query(
        "SELECT peer, size, key_name, key_id, cosigned_at, line, ledger_seq
           FROM anchor_cosignatures WHERE size = $1 ORDER BY peer",
    )
    .bind::<BigInt, _>(size as i64)
    .load(conn)
}

/// One alarm.
#[derive(Debug, Clone, QueryableByName, serde::Serialize)]
pub struct AlarmRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Timestamptz)]
    pub detected_at: chrono::DateTime<chrono::Utc>,
    #[diesel(sql_type = Text)]
    pub peer: String,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub detail: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub evidence: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub ledger_seq: Option<i64>,
}

pub fn insert_alarm(
    conn: &mut PgConnection,
    peer: &str,
    kind: &str,
    detail: &str,
    evidence: Option<&str>,
    ledger_seq: Option<u64>,
) -> Result<i64, diesel::result::Error> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let id: Id = diesel::sql_query(
        "INSERT INTO anchor_alarms (peer, kind, detail, evidence, ledger_seq)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind::<Text, _>(peer)
    .bind::<Text, _>(kind)
    .bind::<Text, _>(detail)
    .bind::<Nullable<Text>, _>(evidence)
    .bind::<Nullable<BigInt>, _>(ledger_seq.map(|s| s as i64))
    .get_result(conn)?;
    Ok(id.id)
}

pub fn alarms(conn: &mut PgConnection, limit: i64) -> Result<Vec<AlarmRow>, diesel::result::Error> {
    diesel::sql_query(
        "SELECT id, detected_at, peer, kind, detail, evidence, ledger_seq
           FROM anchor_alarms ORDER BY id DESC LIMIT $1",
    )
    .bind::<BigInt, _>(limit)
    .load(conn)
}

pub fn alarm(conn: &mut PgConnection, id: i64) -> Result<Option<AlarmRow>, diesel::result::Error> {
    diesel::sql_query(
        "SELECT id, detected_at, peer, kind, detail, evidence, ledger_seq
           FROM anchor_alarms WHERE id = $1",
    )
    .bind::<BigInt, _>(id)
    .get_result(conn)
    .optional()
}
