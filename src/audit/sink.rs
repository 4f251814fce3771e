//! The durable audit sink: one writer thread appends to the ledger with group commit, signs
//! checkpoints, and hands a [`Receipt`] (the entry's ledger sequence number) back per event.
//!
//! Callers prepare entries on their own threads (payload bytes, envelope, index row); the writer
//! only hashes, chains and inserts. Whatever is queued when a commit finishes goes into the next
//! commit together, so durability costs one WAL flush per batch, not per event.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use diesel::prelude::*;
use tokio::sync::{mpsc, oneshot};

use super::AuditEvent;
use crate::ledger::checkpoint::{Checkpoint, SigningKey};
use crate::ledger::db::{self, AuditIndexRow, NewEntry, Tail};
use crate::ledger::leaf::{EntryKind, Envelope, Leaf};

/// Checkpoint policy and identity of this hub's ledger.
#[derive(Debug, Clone)]
pub struct LedgerConfig {
    /// Checkpoint origin line, e.g. `hub-a.example.org/atna-ledger/sha3-256/v1`.
    pub origin: String,
    /// Ed25519 log key (PEM, 0600), generated on first start.
    pub key_path: PathBuf,
    /// Sign a checkpoint after this many new entries...
    pub checkpoint_every: u64,
    /// ...or this long after the last one, when the tree has grown.
    pub checkpoint_interval: Duration,
}

#[derive(Debug, Clone)]
pub struct SinkConfig {
    pub batch_max: usize,
    pub queue: usize,
    pub ledger: LedgerConfig,
}

/// Proof that an entry is committed: its ledger sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Receipt {
    pub seq: u64,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum AuditError {
    #[error("the audit writer has stopped")]
    WriterStopped,
    #[error("the audit event could not be committed: {0}")]
    Commit(String),
    #[error("the audit event could not be prepared: {0}")]
    Prepare(String),
}

/// One ledger entry ready to append: everything but its position. Built on the caller's thread
/// (the payload hash included), so the writer only hashes the small leaf and inserts.
#[derive(Debug, Clone)]
pub struct Prepared {
    leaf: Leaf,
    payload: Bytes,
    index: Option<AuditIndexRow>,
}

impl Prepared {
    pub fn new(
        kind: EntryKind,
        envelope: Envelope,
        payload: Bytes,
        index: Option<AuditIndexRow>,
    ) -> Prepared {
        Prepared {
            leaf: Leaf::new(kind, envelope, &payload),
            payload,
            index,
        }
    }

    pub fn kind(&self) -> EntryKind {
        self.leaf.kind
    }
}

struct Pending {
    items: Vec<Prepared>,
    done: oneshot::Sender<Result<Vec<Receipt>, AuditError>>,
}

/// Cloneable handle to the writer.
#[derive(Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<Pending>,
    state: Arc<SinkState>,
    vkey: Arc<str>,
}

#[derive(Default)]
struct SinkState {
    alive: AtomicBool,
    queued: AtomicU64,
    committed: AtomicU64,
    batches: AtomicU64,
    size: AtomicU64,
}

impl AuditSink {
    /// Opens the ledger (loads its tail, the signing key) and starts the writer thread.
    pub fn start(url: String, config: SinkConfig) -> Result<AuditSink, AuditError> {
        let key = SigningKey::load_or_create(&config.ledger.key_path, &config.ledger.origin)
            .map_err(|e| AuditError::Prepare(format!("ledger signing key: {e}")))?;
        let vkey: Arc<str> = key
            .vkey()
            .map_err(|e| AuditError::Prepare(format!("ledger verifier key: {e}")))?
            .into();
        let (tx, rx) = mpsc::channel(config.queue.max(1));
        let state = Arc::new(SinkState::default());
        state.alive.store(true, Ordering::SeqCst);
        let thread_state = state.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || {
                let mut writer = match Writer::open(url, config, key, &thread_state) {
                    Ok(w) => {
                        let _ = ready_tx.send(Ok(()));
                        w
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        thread_state.alive.store(false, Ordering::SeqCst);
                        return;
                    }
                };
                writer.run(rx);
                thread_state.alive.store(false, Ordering::SeqCst);
            })
            .map_err(|e| AuditError::Prepare(format!("cannot start the audit writer: {e}")))?;
        ready_rx.recv().map_err(|_| AuditError::WriterStopped)??;
        Ok(AuditSink { tx, state, vkey })
    }

    /// Records hiehub's own event and waits until it is committed.
    pub async fn record(&self, event: AuditEvent) -> Result<Receipt, AuditError> {
        let prepared = super::prepare_emitted(&event)?;
        let mut r = self.record_batch(vec![prepared]).await?;
        r.pop().ok_or(AuditError::WriterStopped)
    }

    /// Appends prepared entries (e.g. the frames of one syslog read) and waits for their commit.
    /// Waits (backpressure) when the queue is full.
    pub async fn record_batch(&self, items: Vec<Prepared>) -> Result<Vec<Receipt>, AuditError> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let n = items.len() as u64;
        let (done, wait) = oneshot::channel();
        self.state.queued.fetch_add(n, Ordering::Relaxed);
        if self.tx.send(Pending { items, done }).await.is_err() {
            self.state.queued.fetch_sub(n, Ordering::Relaxed);
            return Err(AuditError::WriterStopped);
        }
        wait.await.unwrap_or(Err(AuditError::WriterStopped))
    }

    /// Queues an event that no response waits for (e.g. from a TLS callback); never blocks.
    /// Returns false when the queue is full or the writer is gone (the caller logs it).
    pub fn record_detached(&self, event: AuditEvent) -> bool {
        let Ok(prepared) = super::prepare_emitted(&event) else {
            return false;
        };
        let (done, _wait) = oneshot::channel();
        match self.tx.try_send(Pending {
            items: vec![prepared],
            done,
        }) {
            Ok(()) => {
                self.state.queued.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(_) => false,
        }
    }

    /// This hub's checkpoint verifier key (C2SP vkey), as published at `/ledger/vkey`.
    pub fn vkey(&self) -> &str {
        &self.vkey
    }

    pub fn is_alive(&self) -> bool {
        self.state.alive.load(Ordering::SeqCst) && !self.tx.is_closed()
    }

    /// Entries queued and not yet committed (or failed).
    pub fn queue_depth(&self) -> u64 {
        let q = self.state.queued.load(Ordering::Relaxed);
        let c = self.state.committed.load(Ordering::Relaxed);
        q.saturating_sub(c)
    }

    pub fn committed(&self) -> u64 {
        self.state.committed.load(Ordering::Relaxed)
    }

    pub fn batches(&self) -> u64 {
        self.state.batches.load(Ordering::Relaxed)
    }

    /// The ledger size the writer knows (entries committed so far, all time).
    pub fn ledger_size(&self) -> u64 {
        self.state.size.load(Ordering::Relaxed)
    }
}

/// How long the writer waits for more batches when many callers are active (see `run`).
const LINGER: Duration = Duration::from_micros(500);

struct Writer<'s> {
    url: String,
    config: SinkConfig,
    key: SigningKey,
    conn: Option<PgConnection>,
    tail: Tail,
    last_checkpoint: (u64, Instant),
    /// Callers (pending batches) in the last commit, for the linger heuristic in `run`.
    last_callers: usize,
    state: &'s SinkState,
}

impl<'s> Writer<'s> {
    fn open(
        url: String,
        config: SinkConfig,
        key: SigningKey,
        state: &'s SinkState,
    ) -> Result<Writer<'s>, AuditError> {
        let mut conn = PgConnection::establish(&url)
            .map_err(|e| AuditError::Commit(format!("database unreachable: {e}")))?;
        let tail = db::load_tail(&mut conn).map_err(|e| AuditError::Commit(e.to_string()))?;
        let last_cp = db::latest_checkpoint(&mut conn)
            .map_err(|e| AuditError::Commit(e.to_string()))?
            .map_or(0, |c| c.size);
        state.size.store(tail.size(), Ordering::Relaxed);
        Ok(Writer {
            url,
            config,
            key,
            conn: Some(conn),
            tail,
            last_checkpoint: (last_cp, Instant::now()),
            last_callers: 0,
            state,
        })
    }

    fn run(&mut self, mut rx: mpsc::Receiver<Pending>) {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                tracing::error!(error = %e, "audit writer cannot build its timer runtime");
                return;
            }
        };
        let mut batch: Vec<Pending> = Vec::new();
        let mut backoff = Duration::from_millis(50);
        loop {
            if batch.is_empty() {
                let wait = self.config.ledger.checkpoint_interval;
                match rt.block_on(async { tokio::time::timeout(wait, rx.recv()).await }) {
                    Ok(Some(p)) => batch.push(p),
                    Ok(None) => {
                        // every sender dropped: shutdown, with a final checkpoint
                        self.checkpoint_if_due(true);
                        return;
                    }
                    Err(_) => {
                        self.checkpoint_if_due(false);
                        continue;
                    }
                }
            }
            let mut items: usize = batch.iter().map(|p| p.items.len()).sum();
            while items < self.config.batch_max {
                match rx.try_recv() {
                    Ok(p) => {
                        items += p.items.len();
                        batch.push(p);
                    }
                    Err(_) => break,
                }
            }
            // Many callers at once: the callers the last commit released are about to submit
            // again. Waiting a moment for most of them makes one commit (one WAL flush) carry
            // them all instead of several small ones. A lone caller, or a batch that already
            // holds as many callers as the last one, never waits.
            let target = (self.last_callers * 3 / 4).max(2);
            if batch.len() >= 2 && batch.len() < target && items < self.config.batch_max {
                let until = Instant::now() + LINGER;
                while batch.len() < target
                    && items < self.config.batch_max
                    && Instant::now() < until
                {
                    match rx.try_recv() {
                        Ok(p) => {
                            items += p.items.len();
                            batch.push(p);
                        }
                        Err(_) => std::thread::sleep(Duration::from_micros(50)),
                    }
                }
            }
            self.last_callers = batch.len();
            if self.conn.is_none() {
                match PgConnection::establish(&self.url) {
                    Ok(c) => {
                        self.conn = Some(c);
                        backoff = Duration::from_millis(50);
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "audit writer cannot connect; failing {items} waiting events");
                        self.fail(&mut batch, format!("database unreachable: {e}"));
                        std::thread::sleep(backoff);
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        continue;
                    }
                }
            }
            let started = Instant::now();
            match self.commit(&batch) {
                Ok((tail, seqs)) => {
                    self.tail = tail;
                    metrics::histogram!("hiehub_audit_commit_seconds").record(started.elapsed());
                    metrics::histogram!("hiehub_audit_batch_events").record(seqs.len() as f64);
                    self.state
                        .committed
                        .fetch_add(seqs.len() as u64, Ordering::Relaxed);
                    self.state.batches.fetch_add(1, Ordering::Relaxed);
                    self.state.size.store(self.tail.size(), Ordering::Relaxed);
                    let mut seqs = seqs.into_iter();
                    for p in batch.drain(..) {
                        let receipts = seqs
                            .by_ref()
                            .take(p.items.len())
                            .map(|seq| Receipt { seq })
                            .collect();
                        let _ = p.done.send(Ok(receipts));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "ledger commit failed; failing {items} events");
                    self.fail(&mut batch, e);
                    self.conn = None;
                    // reload the tail: the database is the truth after a failed commit
                    if let Ok(mut c) = PgConnection::establish(&self.url)
                        && let Ok(t) = db::load_tail(&mut c)
                    {
                        self.tail = t;
                        self.conn = Some(c);
                    }
                }
            }
        }
    }

    fn fail(&self, batch: &mut Vec<Pending>, message: String) {
        let n: u64 = batch.iter().map(|p| p.items.len() as u64).sum();
        self.state.committed.fetch_add(n, Ordering::Relaxed); // no longer queued
        metrics::counter!("hiehub_audit_commit_failures_total").increment(n);
        for p in batch.drain(..) {
            let _ = p.done.send(Err(AuditError::Commit(message.clone())));
        }
    }

    /// One transaction: the entries, their nodes and index rows, and a checkpoint when due.
    fn commit(&mut self, batch: &[Pending]) -> Result<(Tail, Vec<u64>), String> {
        let mut entries = Vec::new();
        for item in batch.iter().flat_map(|p| &p.items) {
            let leaf = item.leaf.encode().map_err(|e| e.to_string())?;
            entries.push(NewEntry {
                kind: item.leaf.kind.code() as i16,
                leaf,
                payload: item.payload.clone(),
                index: item.index.clone(),
            });
        }
        let checkpoint_due = {
            let grown = self.tail.size() + entries.len() as u64 - self.last_checkpoint.0;
            grown >= self.config.ledger.checkpoint_every
                || (grown > 0
                    && self.last_checkpoint.1.elapsed() >= self.config.ledger.checkpoint_interval)
        };
        let Some(conn) = self.conn.as_mut() else {
            return Err("no database connection".into());
        };
        let tail = &self.tail;
        let key = &self.key;
        let origin = &self.config.ledger.origin;
        let result = conn
            .transaction::<_, CommitError, _>(|c| {
                let (next, seqs) =
                    db::append(c, tail, entries).map_err(|e| CommitError(e.to_string()))?;
                if checkpoint_due {
                    sign_checkpoint(c, key, origin, &next).map_err(CommitError)?;
                }
                Ok((next, seqs))
            })
            .map_err(|e| e.0)?;
        if checkpoint_due {
            self.last_checkpoint = (result.0.size(), Instant::now());
        }
        Ok(result)
    }

    /// Signs a checkpoint outside a batch (timer, shutdown) when the tree grew since the last one.
    fn checkpoint_if_due(&mut self, force: bool) {
        let grown = self.tail.size() > self.last_checkpoint.0;
        let due = grown
            && (force
                || self.last_checkpoint.1.elapsed() >= self.config.ledger.checkpoint_interval);
        if !due {
            return;
        }
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        match sign_checkpoint(conn, &self.key, &self.config.ledger.origin, &self.tail) {
            Ok(()) => self.last_checkpoint = (self.tail.size(), Instant::now()),
            Err(e) => tracing::error!(error = %e, "checkpoint not signed"),
        }
    }
}

/// A commit failure as text (the transaction rolls back on any of them).
struct CommitError(String);

impl From<diesel::result::Error> for CommitError {
    fn from(e: diesel::result::Error) -> Self {
        CommitError(e.to_string())
    }
}

fn sign_checkpoint(
    conn: &mut PgConnection,
    key: &SigningKey,
    origin: &str,
    tail: &Tail,
) -> Result<(), String> {
    let size = tail.size();
    let root = tail.frontier.root();
    let note = Checkpoint::new(origin, size, root)
        .and_then(|cp| cp.sign(key).map_err(Into::into))
        .map_err(|e| e.to_string())?;
    db::insert_checkpoint(conn, size, &root, &note).map_err(|e| e.to_string())
}
