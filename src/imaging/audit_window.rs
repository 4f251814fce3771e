//! Audit coalescing for image reads (frames, rendered images, thumbnails, the viewer's pixels).
//!
//! A viewer scrolling a 300-slice series makes 300+ image requests about the same study; one
//! durable "DICOM Instances Transferred/Accessed" event each would flood the ledger with the
//! same fact and cost an fsync per slice. Instead, per key (requester, patient, study,
//! transaction):
//!
//! - the first successful read writes its event durably before it is answered (as every other
//!   exchange does) and then opens a window of `imaging_audit_window_secs`;
//! - later successful reads with the same key inside the window are answered without a new
//!   event and counted in the window;
//! - when the window has passed (the sweeper looks every second) or the next event for the key
//!   opens a new one, a summary event naming how many further reads the window covered is
//!   queued (best effort: it gates no answer).
//!
//! The window opens only after the first event's receipt, so no read is answered before an
//! event covering it is durable. Refusals and errors never use a window (the caller writes
//! their event as before); window 0 means one event per read. Only the image routes use this;
//! retrieval of instances, metadata, STOW-RS, RAD-69 and C-STORE write one event per exchange.
//!
//! The requester is the client-certificate fingerprint when there is one, else the peer IP
//! address without the port (a browser opens several connections). Windows live in memory: a
//! restart loses the pending summaries, never a first event.
//!
//! Invariant: every image answered is covered by a durable audit event naming requester,
//! patient and study, written before the first answer of its window.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::audit::{AuditEvent, AuditSink};

/// The most open windows kept; beyond it, reads are audited one by one.
pub const MAX_WINDOWS: usize = 100_000;

/// Who read what through which transaction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub requester: String,
    pub patient: String,
    pub study: String,
    pub transaction: String,
}

/// A window that has ended with reads it covered: the summary event to write.
#[derive(Debug, Clone)]
pub struct Closed {
    pub key: Key,
    pub covered: u64,
    pub opened: DateTime<Utc>,
    pub closed: DateTime<Utc>,
    /// The event that opened the window (requester, participants, transaction).
    pub first: AuditEvent,
}

impl Closed {
    /// The summary event: the first event's facts, this window's count and span.
    pub fn summary(&self) -> AuditEvent {
        let mut e = self.first.clone();
        e.time = self.closed;
        e.outcome = crate::audit::Outcome::Success;
        e.message_id = None;
        e.outcome_description = Some(format!(
            "coalesced image reads: {} further read(s) of study {} by {} through {} between {} and {} were answered under the event of {} (imaging_audit_window_secs)",
            self.covered,
            self.key.study,
            self.key.requester,
            self.key.transaction,
            self.opened.format("%Y-%m-%dT%H:%M:%SZ"),
            self.closed.format("%Y-%m-%dT%H:%M:%SZ"),
            self.opened.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
        ));
        e
    }
}

#[derive(Debug)]
struct Window {
    until: Instant,
    opened: DateTime<Utc>,
    covered: u64,
    first: AuditEvent,
}

/// The open windows.
#[derive(Debug, Default)]
pub struct Windows {
    open: Mutex<HashMap<Key, Window>>,
}

impl Windows {
    pub fn new() -> Windows {
        Windows::default()
    }

    /// Whether every key has an open window at `now`; if so each counts one more covered read.
    /// An empty key list is never covered.
    pub fn cover(&self, keys: &[Key], now: Instant) -> bool {
        if keys.is_empty() {
            return false;
        }
        let Ok(mut open) = self.open.lock() else {
            return false;
        };
        if !keys
            .iter()
            .all(|k| open.get(k).is_some_and(|w| now < w.until))
        {
            return false;
        }
        for k in keys {
            if let Some(w) = open.get_mut(k) {
                w.covered += 1;
            }
        }
        true
    }

    /// Opens (or restarts) the window of each key after `first` was made durable. Returns the
    /// windows it replaced that covered reads (their summaries are due).
    pub fn open(
        &self,
        keys: &[Key],
        first: &AuditEvent,
        now: Instant,
        length: Duration,
    ) -> Vec<Closed> {
        let mut due = Vec::new();
        let Ok(mut open) = self.open.lock() else {
            return due;
        };
        for k in keys {
            if open.len() >= MAX_WINDOWS && !open.contains_key(k) {
                continue;
            }
            let new = Window {
                until: now + length,
                opened: first.time,
                covered: 0,
                first: first.clone(),
            };
            if let Some(old) = open.insert(k.clone(), new)
                && old.covered > 0
            {
                due.push(Closed {
                    key: k.clone(),
                    covered: old.covered,
                    opened: old.opened,
                    closed: Utc::now(),
                    first: old.first,
                });
            }
        }
        due
    }

    /// Removes the windows that ended by `now`; returns those that covered reads.
    pub fn take_expired(&self, now: Instant) -> Vec<Closed> {
        let Ok(mut open) = self.open.lock() else {
            return Vec::new();
        };
        let ended: Vec<Key> = open
            .iter()
            .filter(|(_, w)| now >= w.until)
            .map(|(k, _)| k.clone())
            .collect();
        ended
            .into_iter()
            .filter_map(|k| {
                let w = open.remove(&k)?;
                (w.covered > 0).then(|| Closed {
                    key: k,
                    covered: w.covered,
                    opened: w.opened,
                    closed: Utc::now(),
                    first: w.first,
                })
            })
            .collect()
    }

    /// Number of open windows.
    pub fn len(&self) -> usize {
        self.open.lock().map(|o| o.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Queues the summaries of `closed` (best effort; a full queue is logged).
pub fn write_summaries(sink: &AuditSink, closed: Vec<Closed>) {
    for c in closed {
        if !sink.record_detached(c.summary()) {
            tracing::warn!(
                study = %c.key.study,
                requester = %c.key.requester,
                covered = c.covered,
                "audit queue full: summary of coalesced image reads not written"
            );
        }
    }
}

/// This process's windows, with the sweeper thread that writes the summaries of ended windows
/// (started on first use with the server's sink).
pub fn global(sink: &AuditSink) -> &'static Windows {
    static WINDOWS: OnceLock<Windows> = OnceLock::new();
    static SWEEPER: OnceLock<()> = OnceLock::new();
    let windows = WINDOWS.get_or_init(Windows::new);
    SWEEPER.get_or_init(|| {
        let sink = sink.clone();
        let spawned = std::thread::Builder::new()
            .name("imaging-audit-window".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_secs(1));
                    if let Some(w) = WINDOWS.get() {
                        write_summaries(&sink, w.take_expired(Instant::now()));
                    }
                    if !sink.is_alive() {
                        break;
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the imaging audit window sweeper");
        }
    });
    windows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Action, Code, Outcome, Transport};

    fn key(study: &str) -> Key {
        Key {
            requester: "127.0.0.1".into(),
            patient: "P1".into(),
            study: study.into(),
            transaction: "RAD-107".into(),
        }
    }

    fn event() -> AuditEvent {
        AuditEvent::new(
            Code::dcm("110104", "DICOM Instances Transferred"),
            Action::Read,
            Outcome::Success,
            Transport::Http,
        )
    }

    #[test]
    fn a_read_in_an_open_window_is_covered_and_counted() {
        let w = Windows::new();
        let t0 = Instant::now();
        let k = vec![key("1.2.3")];
        assert!(!w.cover(&k, t0), "no window yet");
        assert!(w.open(&k, &event(), t0, Duration::from_secs(60)).is_empty());
        assert!(w.cover(&k, t0 + Duration::from_secs(1)));
        assert!(w.cover(&k, t0 + Duration::from_secs(59)));
        assert!(!w.cover(&k, t0 + Duration::from_secs(60)), "window over");
        assert!(!w.cover(&[key("1.2.4")], t0), "another study");
        let closed = w.take_expired(t0 + Duration::from_secs(61));
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].covered, 2);
        let s = closed[0].summary();
        assert!(
            s.outcome_description
                .as_deref()
                .unwrap_or("")
                .contains("2 further read(s) of study 1.2.3"),
            "{s:?}"
        );
        assert!(w.is_empty());
    }

    #[test]
    fn every_key_must_be_open_and_reopening_returns_the_old_count() {
        let w = Windows::new();
        let t0 = Instant::now();
        let both = vec![key("1.2.3"), key("1.2.4")];
        w.open(&both[..1], &event(), t0, Duration::from_secs(60));
        assert!(!w.cover(&both, t0), "one study has no window");
        assert!(w.cover(&both[..1], t0));
        let due = w.open(&both, &event(), t0, Duration::from_secs(60));
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].covered, 1);
        assert!(w.cover(&both, t0));
    }

    #[test]
    fn a_window_without_covered_reads_ends_silently() {
        let w = Windows::new();
        let t0 = Instant::now();
        w.open(&[key("1.2.3")], &event(), t0, Duration::from_secs(1));
        assert!(w.take_expired(t0 + Duration::from_secs(2)).is_empty());
        assert!(w.is_empty());
        assert!(!w.cover(&[], t0), "nothing to cover");
    }
}
