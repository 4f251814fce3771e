//! `ledger verify`: re-derives every leaf, payload, chain and tree hash from the stored rows and
//! checks every stored checkpoint (root and signature). Reports the first bad entry exactly:
//! which hash differed, expected (stored) vs computed.
//!
//! Full verification scans from entry 0. Incremental verification starts at the largest signed
//! checkpoint not beyond the last successful run: the frontier at that size is loaded from the
//! stored nodes and must reproduce the checkpoint's signed root before the scan continues.

use std::time::Instant;

use diesel::prelude::*;
use serde::Serialize;

use super::checkpoint::{Checkpoint, VerifierKey, verify_note};
use super::db::{self, LedgerDbError, StoredCheckpoint};
use super::hash::{Hash, chain_hash, leaf_hash, payload_hash};
use super::leaf::{EntryKind, Leaf};
use super::merkle::{Frontier, NodeId};
use crate::store::schema::{ledger_checkpoints, ledger_verifications};

/// What differed, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Failure {
    #[error("entry {expected} is missing (next stored entry is {found})")]
    MissingEntry { expected: u64, found: u64 },
    #[error("the ledger ends at {size} entries but checkpoint {checkpoint} covers more")]
    Truncated { size: u64, checkpoint: u64 },
    #[error("entry {seq}: leaf hash differs: stored {stored}, computed {computed}")]
    LeafHash {
        seq: u64,
        stored: String,
        computed: String,
    },
    #[error("entry {seq}: leaf does not decode: {error}")]
    LeafDecode { seq: u64, error: String },
    #[error(
        "entry {seq}: payload hash differs: leaf says {expected}, payload hashes to {computed}"
    )]
    PayloadHash {
        seq: u64,
        expected: String,
        computed: String,
    },
    #[error("entry {seq}: payload missing without a recorded erasure")]
    PayloadMissing { seq: u64 },
    #[error("entry {seq}: payload erased by entry {erased_by}, which is not an Erasure entry")]
    BadErasure { seq: u64, erased_by: i64 },
    #[error("entry {seq}: chain hash differs: stored {stored}, computed {computed}")]
    ChainHash {
        seq: u64,
        stored: String,
        computed: String,
    },
    #[error("tree node {level}/{index}: stored {stored}, computed {computed}")]
    NodeHash {
        level: u8,
        index: u64,
        stored: String,
        computed: String,
    },
    #[error("tree node {level}/{index} is missing")]
    NodeMissing { level: u8, index: u64 },
    #[error("{count} tree nodes are stored beyond the ledger's {size} entries")]
    ExtraNodes { size: u64, count: i64 },
    #[error("checkpoint at size {size}: stored root {stored}, tree root {computed}")]
    CheckpointRoot {
        size: u64,
        stored: String,
        computed: String,
    },
    #[error("checkpoint at size {size}: {error}")]
    CheckpointNote { size: u64, error: String },
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub from: u64,
    pub size: u64,
    pub entries_checked: u64,
    pub checkpoints_checked: u64,
    pub erased: Vec<u64>,
    pub seconds: f64,
    pub failure: Option<Failure>,
    /// The failure in words (what `ledger verify` prints).
    pub failure_message: Option<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.failure.is_none()
    }
}

/// Entries read per query.
const CHUNK: i64 = 8192;

fn hx(h: &[u8]) -> String {
    hex::encode(h)
}

/// Verifies the ledger at `url`. `incremental`: start from the last successful run's checkpoint.
/// A second connection prefetches entries while this thread hashes and compares.
pub fn verify(url: &str, keys: &[VerifierKey], incremental: bool) -> Result<Report, LedgerDbError> {
    let mut conn = crate::store::connect(url).map_err(|e| LedgerDbError::Connect(e.to_string()))?;
    let conn = &mut conn;
    let started = Instant::now();
    let checkpoints = all_checkpoints(conn)?;
    let mut report = Report::default();

    let mut start = 0u64;
    let mut frontier = Frontier::new();
    let mut prev_chain: Hash = [0; 32];
    if incremental && let Some(from) = last_verified_checkpoint(conn, &checkpoints)? {
        // The prefix was verified before; its stored frontier must still give the signed root.
        let f =
            super::merkle::frontier(&db::PgNodes::new(conn), from.size).map_err(|e| match e {
                super::merkle::FetchError::Merkle(m) => LedgerDbError::Merkle(m),
                super::merkle::FetchError::Source(s) => s,
            })?;
        if f.root() != from.root {
            report.failure = Some(Failure::CheckpointRoot {
                size: from.size,
                stored: hx(&from.root),
                computed: hx(&f.root()),
            });
            report.seconds = started.elapsed().as_secs_f64();
            report.failure_message = report.failure.as_ref().map(ToString::to_string);
            return Ok(report);
        }
        let last = db::entry(conn, from.size - 1)?;
        prev_chain = Hash::try_from(last.chain_hash.as_slice()).unwrap_or([0; 32]);
        frontier = f;
        start = from.size;
    }
    report.from = start;

    let mut cps = checkpoints.iter().filter(|c| c.size > start).peekable();
    let mut expected = start;
    let mut erasures: Vec<(u64, i64)> = Vec::new();
    let mut produced_nodes: u64 = 0;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<db::StoredEntry>, LedgerDbError>>(2);
    let mut fetch_conn =
        crate::store::connect(url).map_err(|e| LedgerDbError::Connect(e.to_string()))?;
    let fetch_from = expected;
    let fetcher = std::thread::spawn(move || {
        let mut from = fetch_from;
        loop {
            let chunk = db::entries(&mut fetch_conn, from, CHUNK);
            let done = match &chunk {
                Ok(c) => c.is_empty(),
                Err(_) => true,
            };
            if let Ok(c) = &chunk {
                from = c.last().map_or(from, |e| e.seq + 1);
            }
            if tx.send(chunk).is_err() || done {
                return;
            }
        }
    });
    'scan: loop {
        let Ok(chunk) = rx.recv() else { break };
        let chunk = chunk?;
        if chunk.is_empty() {
            break;
        }
        // Hash leaves and payloads on all cores; chain and tree are sequential and cheap.
        let hashed = hash_parallel(&chunk);
        let mut nodes: Vec<(NodeId, Hash)> = Vec::new();
        for (e, (lh, ph)) in chunk.iter().zip(hashed) {
            if e.seq != expected {
                report.failure = Some(Failure::MissingEntry {
                    expected,
                    found: e.seq,
                });
                break 'scan;
            }
            if e.leaf_hash.as_slice() != lh {
                report.failure = Some(Failure::LeafHash {
                    seq: e.seq,
                    stored: hx(&e.leaf_hash),
                    computed: hx(&lh),
                });
                break 'scan;
            }
            let leaf = match Leaf::decode(&e.leaf) {
                Ok(l) => l,
                Err(err) => {
                    report.failure = Some(Failure::LeafDecode {
                        seq: e.seq,
                        error: err.to_string(),
                    });
                    break 'scan;
                }
            };
            match (&ph, e.erased_by) {
                (Some(ph), _) if *ph != leaf.payload_hash => {
                    report.failure = Some(Failure::PayloadHash {
                        seq: e.seq,
                        expected: hx(&leaf.payload_hash),
                        computed: hx(ph),
                    });
                    break 'scan;
                }
                (Some(_), _) => {}
                (None, Some(by)) => erasures.push((e.seq, by)),
                (None, None) => {
                    report.failure = Some(Failure::PayloadMissing { seq: e.seq });
                    break 'scan;
                }
            }
            let ch = chain_hash(e.seq, &prev_chain, &lh);
            if e.chain_hash.as_slice() != ch {
                report.failure = Some(Failure::ChainHash {
                    seq: e.seq,
                    stored: hx(&e.chain_hash),
                    computed: hx(&ch),
                });
                break 'scan;
            }
            prev_chain = ch;
            nodes.extend(
                frontier
                    .append(lh)?
                    .into_iter()
                    .filter(|(id, _)| id.level > 0),
            );
            expected += 1;
            report.entries_checked += 1;
            while let Some(cp) = cps.next_if(|c| c.size == frontier.size()) {
                if let Some(f) = check_checkpoint(cp, &frontier.root(), keys) {
                    report.failure = Some(f);
                    break 'scan;
                }
                report.checkpoints_checked += 1;
            }
        }
        produced_nodes += nodes.len() as u64;
        if let Some(f) = compare_nodes(conn, &nodes)? {
            report.failure = Some(f);
            break;
        }
    }
    drop(rx);
    let _ = fetcher.join();
    report.size = expected;
    if report.failure.is_none()
        && let Some(cp) = cps.next()
    {
        report.failure = Some(Failure::Truncated {
            size: expected,
            checkpoint: cp.size,
        });
    }
    if report.failure.is_none() {
        // Nodes stored beyond what the entries produce. Both counts come from one statement,
        // hence one snapshot: the writer appends entries and their nodes in one transaction, so
        // a ledger that grows while it is verified is not mistaken for one with extra nodes.
        #[derive(QueryableByName)]
        struct Counts {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            nodes: i64,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            entries: i64,
        }
        let counts: Counts = diesel::sql_query(
            "SELECT (SELECT count(*) FROM ledger_nodes) AS nodes, \
                    (SELECT count(*) FROM ledger_entries) AS entries",
        )
        .get_result(conn)?;
        let _ = produced_nodes;
        let now_total = total_nodes(counts.entries.max(0) as u64) as i64;
        if counts.nodes > now_total {
            report.failure = Some(Failure::ExtraNodes {
                size: counts.entries.max(0) as u64,
                count: counts.nodes - now_total,
            });
        }
    }
    if report.failure.is_none() {
        for (seq, by) in &erasures {
            let by_entry = db::entry(conn, *by as u64).ok();
            let is_erasure = by_entry
                .as_ref()
                .is_some_and(|e| e.kind == EntryKind::Erasure.code() as i16);
            if !is_erasure {
                report.failure = Some(Failure::BadErasure {
                    seq: *seq,
                    erased_by: *by,
                });
                break;
            }
        }
        report.erased = erasures.into_iter().map(|(s, _)| s).collect();
    }
    report.seconds = started.elapsed().as_secs_f64();
    report.failure_message = report.failure.as_ref().map(ToString::to_string);
    Ok(report)
}

/// Number of perfect nodes above the leaves in a tree of `size` leaves.
fn total_nodes(size: u64) -> u64 {
    let mut total = 0;
    let mut level = 1;
    while level < 64 && (1u64 << level) <= size {
        total += size >> level;
        level += 1;
    }
    total
}

fn hash_parallel(chunk: &[db::StoredEntry]) -> Vec<(Hash, Option<Hash>)> {
    let one = |e: &db::StoredEntry| (leaf_hash(&e.leaf), e.payload.as_deref().map(payload_hash));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || chunk.len() < 256 {
        return chunk.iter().map(one).collect();
    }
    let per = chunk.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = chunk
            .chunks(per)
            .map(|part| s.spawn(move || part.iter().map(one).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

fn check_checkpoint(cp: &StoredCheckpoint, root: &Hash, keys: &[VerifierKey]) -> Option<Failure> {
    if &cp.root != root {
        return Some(Failure::CheckpointRoot {
            size: cp.size,
            stored: hx(&cp.root),
            computed: hx(root),
        });
    }
    match verify_note(&cp.note, keys) {
        Err(e) => Some(Failure::CheckpointNote {
            size: cp.size,
            error: format!("signature: {e}"),
        }),
        Ok(v) => match Checkpoint::parse(&v.body) {
            Err(e) => Some(Failure::CheckpointNote {
                size: cp.size,
                error: e.to_string(),
            }),
            Ok(c) if c.size() != cp.size || c.root() != root => Some(Failure::CheckpointNote {
                size: cp.size,
                error: format!(
                    "the signed note says size {} root {}, the row says size {} root {}",
                    c.size(),
                    hx(c.root()),
                    cp.size,
                    hx(&cp.root)
                ),
            }),
            Ok(_) => None,
        },
    }
}

fn compare_nodes(
    conn: &mut PgConnection,
    computed: &[(NodeId, Hash)],
) -> Result<Option<Failure>, LedgerDbError> {
    // Fetch by index range per level: the nodes a chunk of leaves completes are contiguous.
    let mut by_level: std::collections::BTreeMap<u8, Vec<(u64, Hash)>> = Default::default();
    for (id, h) in computed {
        by_level.entry(id.level).or_default().push((id.index, *h));
    }
    for (level, nodes) in by_level {
        let (Some(lo), Some(hi)) = (nodes.first().map(|n| n.0), nodes.last().map(|n| n.0)) else {
            continue;
        };
        let stored: std::collections::HashMap<u64, Hash> = db::nodes_in_range(conn, level, lo, hi)?
            .into_iter()
            .collect();
        for (index, hash) in nodes {
            match stored.get(&index) {
                None => return Ok(Some(Failure::NodeMissing { level, index })),
                Some(s) if *s != hash => {
                    return Ok(Some(Failure::NodeHash {
                        level,
                        index,
                        stored: hx(s),
                        computed: hx(&hash),
                    }));
                }
                Some(_) => {}
            }
        }
    }
    Ok(None)
}

fn all_checkpoints(conn: &mut PgConnection) -> Result<Vec<StoredCheckpoint>, LedgerDbError> {
    let rows: Vec<(i64, Vec<u8>, String, chrono::DateTime<chrono::Utc>)> =
        ledger_checkpoints::table
            .order(ledger_checkpoints::size)
            .select((
                ledger_checkpoints::size,
                ledger_checkpoints::root,
                ledger_checkpoints::note,
                ledger_checkpoints::created_at,
            ))
            .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(size, root, note, created_at)| StoredCheckpoint {
            size: size as u64,
            root: Hash::try_from(root.as_slice()).unwrap_or([0; 32]),
            note,
            created_at,
        })
        .collect())
}

fn last_verified_checkpoint(
    conn: &mut PgConnection,
    checkpoints: &[StoredCheckpoint],
) -> Result<Option<StoredCheckpoint>, LedgerDbError> {
    let last_ok: Option<i64> = ledger_verifications::table
        .filter(ledger_verifications::ok.eq(true))
        .select(diesel::dsl::max(ledger_verifications::to_size))
        .first(conn)?;
    let Some(upto) = last_ok else { return Ok(None) };
    Ok(checkpoints
        .iter()
        .filter(|c| c.size <= upto as u64)
        .max_by_key(|c| c.size)
        .cloned())
}

/// Records a run (for the inspector's "last verification" and for incremental runs).
pub fn record(
    conn: &mut PgConnection,
    report: &Report,
    started_at: chrono::DateTime<chrono::Utc>,
) -> Result<(), LedgerDbError> {
    diesel::insert_into(ledger_verifications::table)
        .values((
            ledger_verifications::started_at.eq(started_at),
            ledger_verifications::finished_at.eq(chrono::Utc::now()),
            ledger_verifications::from_size.eq(report.from as i64),
            ledger_verifications::to_size.eq(report.size as i64),
            ledger_verifications::ok.eq(report.ok()),
            ledger_verifications::report.eq(serde_json::to_string(report).unwrap_or_default()),
        ))
        .execute(conn)?;
    Ok(())
}
