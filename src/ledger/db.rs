//! The ledger in PostgreSQL: entries, payloads, perfect-subtree nodes, checkpoints.
//!
//! One writer appends (the audit sink's thread); everything else reads. A proof reads the O(log n)
//! perfect nodes its [`super::merkle::ProofPlan`] names in one query each for leaves and nodes.
//!
//! Invariant: [`append`] returns the new [`Tail`] without touching the caller's: the caller adopts it
//! only after the surrounding transaction committed, so a failed commit leaves no trace in memory.

use std::cell::RefCell;

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bytea, SmallInt};

use super::hash::{Hash, chain_hash, leaf_hash};
use super::merkle::{self, Frontier, MerkleError, NodeId, NodeSource};
use crate::store::schema::{
    audit_events, ledger_checkpoints, ledger_entries, ledger_nodes, ledger_payloads,
};

#[derive(Debug, thiserror::Error)]
pub enum LedgerDbError {
    #[error("database: {0}")]
    Db(#[from] diesel::result::Error),
    #[error("ledger tree: {0}")]
    Merkle(#[from] MerkleError),
    #[error("stored hash of {what} has {len} bytes, expected 32")]
    BadHash { what: String, len: usize },
    #[error(
        "node {level}/{index} is not stored (the tree is smaller than asked, or rows are missing)"
    )]
    MissingNode { level: u8, index: u64 },
    #[error("entry {seq} not found")]
    NoEntry { seq: u64 },
    #[error("database connection: {0}")]
    Connect(String),
}

fn to_hash(what: impl FnOnce() -> String, bytes: &[u8]) -> Result<Hash, LedgerDbError> {
    Hash::try_from(bytes).map_err(|_| LedgerDbError::BadHash {
        what: what(),
        len: bytes.len(),
    })
}

fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The end of the ledger as the writer sees it.
#[derive(Debug, Clone)]
pub struct Tail {
    pub frontier: Frontier,
    /// chain hash of the last entry (zeros for the empty ledger).
    pub last_chain: Hash,
}

impl Tail {
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }
}

/// Reads perfect node hashes from the database.
pub struct PgNodes<'c> {
    conn: RefCell<&'c mut PgConnection>,
}

impl<'c> PgNodes<'c> {
    pub fn new(conn: &'c mut PgConnection) -> Self {
        PgNodes {
            conn: RefCell::new(conn),
        }
    }
}

#[derive(QueryableByName)]
struct NodeRow {
    #[diesel(sql_type = SmallInt)]
    level: i16,
    #[diesel(sql_type = BigInt)]
    idx: i64,
    #[diesel(sql_type = Bytea)]
    hash: Vec<u8>,
}

impl PgNodes<'_> {
    /// Stored hashes of `wanted` (perfect nodes; level 0 = leaf hashes), in one query. Absent
    /// nodes are left out of the map.
    pub fn stored(
        &self,
        wanted: &[NodeId],
    ) -> Result<std::collections::HashMap<NodeId, Hash>, LedgerDbError> {
        let mut found = std::collections::HashMap::with_capacity(wanted.len());
        if wanted.is_empty() {
            return Ok(found);
        }
        let leaves: Vec<i64> = wanted
            .iter()
            .filter(|n| n.level == 0)
            .map(|n| i64_of(n.index))
            .collect();
        let (levels, idxs): (Vec<i16>, Vec<i64>) = wanted
            .iter()
            .filter(|n| n.level > 0)
            .map(|n| (i16::from(n.level), i64_of(n.index)))
            .unzip();
        let mut conn = self.conn.borrow_mut();
        let mut rows: Vec<NodeRow> = Vec::new();
        if !leaves.is_empty() {
            rows.extend(
                diesel::sql_query(
                    "SELECT 0::smallint AS level, seq AS idx, leaf_hash AS hash
                       FROM ledger_entries WHERE seq = ANY($1)",
                )
                .bind::<Array<BigInt>, _>(&leaves)
                .load::<NodeRow>(&mut **conn)?,
            );
        }
        if !levels.is_empty() {
            rows.extend(
                diesel::sql_query(
                    "SELECT n.level, n.idx, n.hash
                       FROM unnest($1::smallint[], $2::bigint[]) AS w(level, idx)
                       JOIN ledger_nodes n ON n.level = w.level AND n.idx = w.idx",
                )
                .bind::<Array<SmallInt>, _>(&levels)
                .bind::<Array<BigInt>, _>(&idxs)
                .load::<NodeRow>(&mut **conn)?,
            );
        }
        for r in rows {
            let id = NodeId::new(r.level as u8, r.idx as u64);
            let h = to_hash(|| format!("node {}/{}", r.level, r.idx), &r.hash)?;
            found.insert(id, h);
        }
        Ok(found)
    }
}

impl NodeSource for PgNodes<'_> {
    type Error = LedgerDbError;

    fn nodes(&self, wanted: &[NodeId]) -> Result<Vec<Hash>, LedgerDbError> {
        let found = self.stored(wanted)?;
        wanted
            .iter()
            .map(|id| {
                found.get(id).copied().ok_or(LedgerDbError::MissingNode {
                    level: id.level,
                    index: id.index,
                })
            })
            .collect()
    }
}

fn fetch_err(e: merkle::FetchError<LedgerDbError>) -> LedgerDbError {
    match e {
        merkle::FetchError::Merkle(m) => LedgerDbError::Merkle(m),
        merkle::FetchError::Source(s) => s,
    }
}

/// Stored nodes of `level` with index in `[lo, hi]`, by index range (for sequential scans).
pub fn nodes_in_range(
    conn: &mut PgConnection,
    level: u8,
    lo: u64,
    hi: u64,
) -> Result<Vec<(u64, Hash)>, LedgerDbError> {
    let rows: Vec<(i64, Vec<u8>)> = ledger_nodes::table
        .filter(ledger_nodes::level.eq(i16::from(level)))
        .filter(ledger_nodes::idx.between(i64_of(lo), i64_of(hi)))
        .order(ledger_nodes::idx)
        .select((ledger_nodes::idx, ledger_nodes::hash))
        .load(conn)?;
    rows.into_iter()
        .map(|(i, h)| Ok((i as u64, to_hash(|| format!("node {level}/{i}"), &h)?)))
        .collect()
}

/// Loads the writer's view of the ledger end: size, frontier and last chain hash.
pub fn load_tail(conn: &mut PgConnection) -> Result<Tail, LedgerDbError> {
    let last: Option<(i64, Vec<u8>)> = ledger_entries::table
        .order(ledger_entries::seq.desc())
        .select((ledger_entries::seq, ledger_entries::chain_hash))
        .first(conn)
        .optional()?;
    let Some((seq, chain)) = last else {
        return Ok(Tail {
            frontier: Frontier::new(),
            last_chain: [0; 32],
        });
    };
    let size = seq as u64 + 1;
    let frontier = merkle::frontier(&PgNodes::new(conn), size).map_err(fetch_err)?;
    Ok(Tail {
        frontier,
        last_chain: to_hash(|| format!("chain of entry {seq}"), &chain)?,
    })
}

/// One entry to append: the leaf bytes, its payload, and (for audit events) its index row.
pub struct NewEntry {
    pub kind: i16,
    pub leaf: Vec<u8>,
    pub payload: bytes::Bytes,
    pub index: Option<AuditIndexRow>,
}

/// The searchable fields of one audit event (outside the hash): written at append, read by
/// `/api/audit` (each hit carries its ledger sequence number).
#[derive(Debug, Clone, Default, Insertable, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = audit_events, treat_none_as_default_value = false)]
pub struct AuditIndexRow {
    pub seq: i64,
    pub event_time: Option<chrono::DateTime<chrono::Utc>>,
    pub received_at: chrono::DateTime<chrono::Utc>,
    pub event_id: Option<String>,
    pub event_action: Option<String>,
    pub event_types: Vec<String>,
    pub outcome: Option<i16>,
    pub transport: String,
    pub sender: Option<String>,
    pub remote_addr: Option<String>,
    pub source_id: Option<String>,
    pub users: Vec<String>,
    pub nodes: Vec<String>,
    pub patient_ids: Vec<String>,
    pub object_ids: Vec<String>,
    pub message_id: Option<String>,
    pub valid: bool,
    pub error: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = ledger_entries, treat_none_as_default_value = false)]
struct EntryRow<'a> {
    seq: i64,
    kind: i16,
    leaf: &'a [u8],
    leaf_hash: &'a [u8],
    chain_hash: &'a [u8],
}

#[derive(Insertable)]
#[diesel(table_name = ledger_payloads, treat_none_as_default_value = false)]
struct PayloadRow<'a> {
    seq: i64,
    payload: Option<&'a [u8]>,
}

#[derive(Insertable)]
#[diesel(table_name = ledger_nodes, treat_none_as_default_value = false)]
struct NodeInsert {
    level: i16,
    idx: i64,
    hash: Vec<u8>,
}

/// Small batches: one multi-row INSERT (cheapest round trip). Large ones: binary COPY (no
/// bind-parameter limit, less per-row work). Measured in `benches/ledger_append`.
macro_rules! bulk_insert {
    ($conn:expr, $table:ident, $rows:expr) => {
        if $rows.len() >= 64 {
            diesel::copy_from($table::table)
                .from_insertable(&$rows)
                .execute($conn)?;
        } else if !$rows.is_empty() {
            diesel::insert_into($table::table)
                .values(&$rows)
                .execute($conn)?;
        }
    };
}

/// Appends `entries` after `tail` (inside the caller's transaction). Returns the new tail and
/// the sequence number of each entry.
pub fn append(
    conn: &mut PgConnection,
    tail: &Tail,
    entries: Vec<NewEntry>,
) -> Result<(Tail, Vec<u64>), LedgerDbError> {
    let mut next = tail.clone();
    let mut seqs = Vec::with_capacity(entries.len());
    let mut hashes: Vec<(Hash, Hash)> = Vec::with_capacity(entries.len());
    let mut nodes: Vec<NodeInsert> = Vec::new();
    for e in &entries {
        let seq = next.size();
        let lh = leaf_hash(&e.leaf);
        let ch = chain_hash(seq, &next.last_chain, &lh);
        for (id, h) in next.frontier.append(lh)? {
            if id.level > 0 {
                nodes.push(NodeInsert {
                    level: i16::from(id.level),
                    idx: i64_of(id.index),
                    hash: h.to_vec(),
                });
            }
        }
        next.last_chain = ch;
        seqs.push(seq);
        hashes.push((lh, ch));
    }
    let rows: Vec<EntryRow<'_>> = entries
        .iter()
        .zip(&seqs)
        .zip(&hashes)
        .map(|((e, &seq), (lh, ch))| EntryRow {
            seq: i64_of(seq),
            kind: e.kind,
            leaf: &e.leaf,
            leaf_hash: lh,
            chain_hash: ch,
        })
        .collect();
    bulk_insert!(conn, ledger_entries, rows);
    let payloads: Vec<PayloadRow<'_>> = entries
        .iter()
        .zip(&seqs)
        .map(|(e, &seq)| PayloadRow {
            seq: i64_of(seq),
            payload: Some(&e.payload),
        })
        .collect();
    bulk_insert!(conn, ledger_payloads, payloads);
    bulk_insert!(conn, ledger_nodes, nodes);
    let index: Vec<AuditIndexRow> = entries
        .into_iter()
        .zip(&seqs)
        .filter_map(|(e, &seq)| {
            e.index.map(|mut row| {
                row.seq = i64_of(seq);
                row
            })
        })
        .collect();
    bulk_insert!(conn, audit_events, index);
    Ok((next, seqs))
}

/// A stored checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub root: Hash,
    pub note: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

pub fn insert_checkpoint(
    conn: &mut PgConnection,
    size: u64,
    root: &Hash,
    note: &str,
) -> Result<(), LedgerDbError> {
    diesel::insert_into(ledger_checkpoints::table)
        .values((
            ledger_checkpoints::size.eq(i64_of(size)),
            ledger_checkpoints::root.eq(root.to_vec()),
            ledger_checkpoints::note.eq(note),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(())
}

fn checkpoint_of(
    row: (i64, Vec<u8>, String, chrono::DateTime<chrono::Utc>),
) -> Result<StoredCheckpoint, LedgerDbError> {
    Ok(StoredCheckpoint {
        size: row.0 as u64,
        root: to_hash(|| format!("checkpoint {}", row.0), &row.1)?,
        note: row.2,
        created_at: row.3,
    })
}

pub fn latest_checkpoint(
    conn: &mut PgConnection,
) -> Result<Option<StoredCheckpoint>, LedgerDbError> {
    ledger_checkpoints::table
        .order(ledger_checkpoints::size.desc())
        .select((
            ledger_checkpoints::size,
            ledger_checkpoints::root,
            ledger_checkpoints::note,
            ledger_checkpoints::created_at,
        ))
        .first(conn)
        .optional()?
        .map(checkpoint_of)
        .transpose()
}

pub fn checkpoint_at(
    conn: &mut PgConnection,
    size: u64,
) -> Result<Option<StoredCheckpoint>, LedgerDbError> {
    ledger_checkpoints::table
        .filter(ledger_checkpoints::size.eq(i64_of(size)))
        .select((
            ledger_checkpoints::size,
            ledger_checkpoints::root,
            ledger_checkpoints::note,
            ledger_checkpoints::created_at,
        ))
        .first(conn)
        .optional()?
        .map(checkpoint_of)
        .transpose()
}

/// Inclusion proof of entry `index` in the tree of `size` entries.
pub fn inclusion_proof(
    conn: &mut PgConnection,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, LedgerDbError> {
    merkle::inclusion_proof(&PgNodes::new(conn), index, size).map_err(fetch_err)
}

/// Consistency proof from size `m` to size `n`.
pub fn consistency_proof(
    conn: &mut PgConnection,
    m: u64,
    n: u64,
) -> Result<Vec<Hash>, LedgerDbError> {
    merkle::consistency_proof(&PgNodes::new(conn), m, n).map_err(fetch_err)
}

/// Root of the tree of `size` entries, from stored nodes.
pub fn root_at(conn: &mut PgConnection, size: u64) -> Result<Hash, LedgerDbError> {
    merkle::root(&PgNodes::new(conn), size).map_err(fetch_err)
}

/// One stored entry with its payload.
#[derive(Debug, Clone)]
pub struct StoredEntry {
    pub seq: u64,
    pub kind: i16,
    pub leaf: Vec<u8>,
    pub leaf_hash: Vec<u8>,
    pub chain_hash: Vec<u8>,
    pub committed_at: chrono::DateTime<chrono::Utc>,
    pub payload: Option<Vec<u8>>,
    pub erased_by: Option<i64>,
}

type EntryTuple = (
    i64,
    i16,
    Vec<u8>,
    Vec<u8>,
    Vec<u8>,
    chrono::DateTime<chrono::Utc>,
    Option<Vec<u8>>,
    Option<i64>,
);

fn stored(t: EntryTuple) -> StoredEntry {
    StoredEntry {
        seq: t.0 as u64,
        kind: t.1,
        leaf: t.2,
        leaf_hash: t.3,
        chain_hash: t.4,
        committed_at: t.5,
        payload: t.6,
        erased_by: t.7,
    }
}

/// Entries with seq in `[from, from + limit)`, in order, with payloads (a missing payload row
/// shows as `payload: None, erased_by: None`).
pub fn entries(
    conn: &mut PgConnection,
    from: u64,
    limit: i64,
) -> Result<Vec<StoredEntry>, LedgerDbError> {
    let rows: Vec<EntryTuple> = ledger_entries::table
        .left_join(ledger_payloads::table)
        .filter(ledger_entries::seq.ge(i64_of(from)))
        .order(ledger_entries::seq)
        .limit(limit)
        .select((
            ledger_entries::seq,
            ledger_entries::kind,
            ledger_entries::leaf,
            ledger_entries::leaf_hash,
            ledger_entries::chain_hash,
            ledger_entries::committed_at,
            ledger_payloads::payload.nullable(),
            ledger_payloads::erased_by.nullable(),
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(stored).collect())
}

pub fn entry(conn: &mut PgConnection, seq: u64) -> Result<StoredEntry, LedgerDbError> {
    entries(conn, seq, 1)?
        .into_iter()
        .find(|e| e.seq == seq)
        .ok_or(LedgerDbError::NoEntry { seq })
}
