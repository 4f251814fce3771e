//! The durable audit sink: one writer thread, group commit, a receipt per event.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use tokio::sync::{mpsc, oneshot};

use super::AuditEvent;
use crate::store::schema::audit_events;

#[derive(Debug, Clone)]
pub struct SinkConfig {
    pub batch_max: usize,
    pub queue: usize,
}

impl Default for SinkConfig {
    fn default() -> Self {
        SinkConfig {
            batch_max: 512,
            queue: 8192,
        }
    }
}

/// Proof that an event is committed: its sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Receipt {
    pub seq: i64,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum AuditError {
    #[error("the audit writer has stopped")]
    WriterStopped,
    #[error("the audit event could not be committed: {0}")]
    Commit(String),
}

struct Pending {
    event: AuditEvent,
    done: oneshot::Sender<Result<Receipt, AuditError>>,
}

/// Cloneable handle to the writer.
#[derive(Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<Pending>,
    state: Arc<SinkState>,
}

#[derive(Default)]
struct SinkState {
    alive: AtomicBool,
    queued: AtomicU64,
    committed: AtomicU64,
    batches: AtomicU64,
}

#[derive(Insertable)]
#[diesel(table_name = audit_events)]
struct NewRow<'a> {
    event_time: chrono::DateTime<chrono::Utc>,
    event_id: &'a str,
    event_action: String,
    event_type: Option<&'a str>,
    outcome: i16,
    transport: &'a str,
    requestor: Option<&'a str>,
    remote_addr: Option<&'a str>,
    message_id: Option<&'a str>,
    payload: serde_json::Value,
}

impl AuditSink {
    /// Starts the writer thread with its own connection to `url`.
    pub fn start(url: String, config: SinkConfig) -> AuditSink {
        let (tx, rx) = mpsc::channel(config.queue.max(1));
        let state = Arc::new(SinkState::default());
        state.alive.store(true, Ordering::SeqCst);
        let thread_state = state.clone();
        let spawned = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || {
                writer(url, config, rx, &thread_state);
                thread_state.alive.store(false, Ordering::SeqCst);
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the audit writer thread");
            state.alive.store(false, Ordering::SeqCst);
        }
        AuditSink { tx, state }
    }

    /// Queues `event` and waits until it is committed. Waits (backpressure) when the queue is full.
    pub async fn record(&self, event: AuditEvent) -> Result<Receipt, AuditError> {
        let (done, wait) = oneshot::channel();
        self.state.queued.fetch_add(1, Ordering::Relaxed);
        let sent = self.tx.send(Pending { event, done }).await;
        if sent.is_err() {
            self.state.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(AuditError::WriterStopped);
        }
        wait.await.unwrap_or(Err(AuditError::WriterStopped))
    }

    /// Queues an event that no response waits for (e.g. from a TLS callback); never blocks.
    /// Returns false when the queue is full or the writer is gone (the caller logs it).
    pub fn record_detached(&self, event: AuditEvent) -> bool {
        let (done, _wait) = oneshot::channel();
        match self.tx.try_send(Pending { event, done }) {
            Ok(()) => {
                self.state.queued.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(_) => false,
        }
    }

    pub fn is_alive(&self) -> bool {
        self.state.alive.load(Ordering::SeqCst) && !self.tx.is_closed()
    }

    /// Events queued and not yet committed.
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
}

fn writer(url: String, config: SinkConfig, mut rx: mpsc::Receiver<Pending>, state: &SinkState) {
    let mut conn: Option<PgConnection> = None;
    let mut batch: Vec<Pending> = Vec::with_capacity(config.batch_max);
    let mut backoff = Duration::from_millis(50);
    loop {
        if batch.is_empty() {
            match rx.blocking_recv() {
                Some(p) => batch.push(p),
                None => return, // every sender dropped: shutdown
            }
        }
        while batch.len() < config.batch_max {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        if conn.is_none() {
            match PgConnection::establish(&url) {
                Ok(c) => {
                    conn = Some(c);
                    backoff = Duration::from_millis(50);
                }
                Err(e) => {
                    tracing::error!(error = %e, "audit writer cannot connect; failing {} waiting events", batch.len());
                    fail(&mut batch, state, format!("database unreachable: {e}"));
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        let started = Instant::now();
        match commit(c, &batch) {
            Ok(seqs) => {
                let n = batch.len() as u64;
                metrics::histogram!("hiehub_audit_commit_seconds").record(started.elapsed());
                metrics::histogram!("hiehub_audit_batch_events").record(n as f64);
                state.committed.fetch_add(n, Ordering::Relaxed);
                state.batches.fetch_add(1, Ordering::Relaxed);
                for (p, seq) in batch.drain(..).zip(seqs) {
                    let _ = p.done.send(Ok(Receipt { seq }));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "audit commit failed; failing {} events", batch.len());
                fail(&mut batch, state, e.to_string());
                conn = None;
            }
        }
    }
}

fn fail(batch: &mut Vec<Pending>, state: &SinkState, message: String) {
    let n = batch.len() as u64;
    state.committed.fetch_add(n, Ordering::Relaxed); // no longer queued
    metrics::counter!("hiehub_audit_commit_failures_total").increment(n);
    for p in batch.drain(..) {
        let _ = p.done.send(Err(AuditError::Commit(message.clone())));
    }
}

fn commit(conn: &mut PgConnection, batch: &[Pending]) -> Result<Vec<i64>, diesel::result::Error> {
    let rows: Vec<NewRow<'_>> = batch
        .iter()
        .map(|p| {
            let e = &p.event;
            NewRow {
                event_time: e.time,
                event_id: &e.event_id.code,
                event_action: e.action.code().to_string(),
                event_type: e.event_type.as_ref().map(|c| c.code.as_str()),
                outcome: e.outcome as i16,
                transport: e.transport.as_str(),
                requestor: e.requestor.as_deref(),
                remote_addr: e.remote_addr.as_deref(),
                message_id: e.message_id.as_deref(),
                payload: serde_json::to_value(e).unwrap_or(serde_json::Value::Null),
            }
        })
        .collect();
    conn.transaction(|c| {
        diesel::insert_into(audit_events::table)
            .values(&rows)
            .returning(audit_events::seq)
            .get_results::<i64>(c)
    })
}
