//! IHE ITI-20 Record Audit Event, receiving side (ITI TF-2 §3.20): the syslog transports of an
//! Audit Record Repository, as a library the server wires in.
//!
//! | RFC | what | where |
//! | --- | --- | --- |
//! | RFC 5424 | The Syslog Protocol: header, STRUCTURED-DATA, MSG (BOM) | [`message`] |
//! | RFC 3164 | BSD syslog, tolerated from legacy senders | [`message`] |
//! | RFC 5425 | TLS transport, octet-counting framing, mutual authentication | [`frame`], [`serve_tls`] |
//! | RFC 6587 | syslog over TCP: non-transparent (LF / CRLF / NUL) framing, tolerated | [`frame`] |
//! | RFC 5426 | UDP transport, one message per datagram | [`serve_udp`] |
//!
//! Three stages, so that even garbage is kept: the stream decoder ([`frame::FrameDecoder`]) cuts
//! frames (raw bytes) out of a TLS stream; [`message::parse`] reads a frame as a syslog message;
//! the listeners hand both to an [`Ingest`] in batches as [`Received`] items. A frame that does
//! not parse, or that the decoder could not accept whole, is still handed over (its `message`
//! is an `Err`), for the ledger to store raw and flagged invalid.
//!
//! Invariant: nothing here knows the ledger or the audit message schema; the server implements
//! [`Ingest`].
//! Invariant: on TLS, a connection reads no more bytes while its previous batch is not accepted
//! (a slow store slows the sender down through TCP flow control; nothing is dropped).
//! Invariant: on UDP, a datagram is dropped only when the bounded queue is full, and each drop is
//! counted (`hiehub_syslog_udp_dropped_total`, [`Stats::udp_dropped`]).
//! Invariant: no plain-TCP listener: syslog over TCP is always mutually authenticated TLS.

pub mod frame;
pub mod message;
mod net;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};

pub use frame::{Frame, FrameDecoder, FrameError, FrameLimits, Framing};
pub use message::{
    Facility, Format, MSGID_DICOM_RFC3881, MSGID_IHE_RFC3881, ParseError, SdElement, SdParam,
    Severity, SyslogMessage, parse,
};
pub use net::{Listening, serve_tls, serve_udp};

use super::Transport;
use crate::tls::NodeIdentity;

/// One frame (TLS) or datagram (UDP) as received, with its parse.
#[derive(Debug, Clone)]
pub struct Received {
    /// The SYSLOG-MSG bytes exactly as received, without the transport framing (MSG-LEN SP, or a
    /// legacy LF/CRLF/NUL trailer). For a frame the decoder could not accept whole, the bytes it
    /// kept (see [`FrameError::raw`]).
    pub raw: Bytes,
    /// The parse of `raw`; `Err(ParseError::Framing(..))` for a framing error.
    pub message: Result<SyslogMessage, ParseError>,
    /// How the frame was delimited (`Datagram` on UDP); `None` for a framing error.
    pub framing: Option<Framing>,
    /// `Transport::SyslogTls` or `Transport::SyslogUdp`.
    pub transport: Transport,
    pub peer: SocketAddr,
    /// The subject of the client certificate (TLS only).
    pub peer_identity: Option<NodeIdentity>,
    /// Unique in this process (and, with overwhelming probability, across restarts): one per TLS
    /// connection, one per UDP listener.
    pub connection_id: String,
    /// Index of the frame on its connection (TLS) or listener (UDP), from 0.
    pub frame_seq: u64,
    /// When the read that completed the frame returned.
    pub received_at: DateTime<Utc>,
}

impl Received {
    /// Whether the frame parsed as a syslog message.
    pub fn is_valid(&self) -> bool {
        self.message.is_ok()
    }
}

/// The batch was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the syslog batch was not accepted: {reason}")]
pub struct IngestError {
    pub reason: String,
}

/// Where received frames go: the server implements it by appending them to the ledger.
///
/// `ingest` resolves when the batch is accepted (for the ledger: committed). The listeners await
/// it before reading on, which is how backpressure reaches TLS senders. Retrying transient
/// failures is the implementation's business: an `Err` means "given up", and then a TLS
/// connection is closed (the sender sees the failure and reconnects) and a UDP batch is counted
/// in [`Stats::ingest_failed`].
pub trait Ingest: Send + Sync + 'static {
    fn ingest(&self, batch: Vec<Received>) -> impl Future<Output = Result<(), IngestError>> + Send;
}

/// A closure is an `Ingest`: `Arc::new(move |batch| async move { ...; Ok(()) })`.
impl<F, Fut> Ingest for F
where
    F: Fn(Vec<Received>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), IngestError>> + Send,
{
    fn ingest(&self, batch: Vec<Received>) -> impl Future<Output = Result<(), IngestError>> + Send {
        self(batch)
    }
}

/// Called for each failed TLS handshake with the peer address and the reason (for the server's
/// Security Alert audit events, 110113). Certificate rejections also reach the acceptor's own
/// [`crate::tls::RejectHook`]; a client that sends no certificate, or no TLS at all, only this.
pub type HandshakeHook = Arc<dyn Fn(SocketAddr, String) + Send + Sync>;

/// Listener settings.
#[derive(Clone)]
pub struct ListenerConfig {
    pub frame: FrameLimits,
    /// Bytes requested per read (TLS). All frames completed by one read form one batch.
    pub read_buffer: usize,
    /// A TLS handshake that takes longer fails (and is counted).
    pub handshake_timeout: Duration,
    /// Concurrent TLS connections; further connections wait in the listen backlog.
    pub max_connections: usize,
    /// UDP datagrams queued between the socket and `Ingest`; beyond it they are dropped.
    pub udp_queue: usize,
    /// Most UDP datagrams per batch.
    pub udp_batch_max: usize,
    pub on_handshake_failure: Option<HandshakeHook>,
}

impl std::fmt::Debug for ListenerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerConfig")
            .field("frame", &self.frame)
            .field("read_buffer", &self.read_buffer)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("max_connections", &self.max_connections)
            .field("udp_queue", &self.udp_queue)
            .field("udp_batch_max", &self.udp_batch_max)
            .field("on_handshake_failure", &self.on_handshake_failure.is_some())
            .finish()
    }
}

impl Default for ListenerConfig {
    fn default() -> Self {
        ListenerConfig {
            frame: FrameLimits::default(),
            read_buffer: 64 * 1024,
            handshake_timeout: Duration::from_secs(10),
            max_connections: 1024,
            udp_queue: 8192,
            udp_batch_max: 512,
            on_handshake_failure: None,
        }
    }
}

/// Counters of one listener. The same figures go to the process-wide `metrics` recorder:
/// `hiehub_syslog_frames_total`, `hiehub_syslog_bytes_total`,
/// `hiehub_syslog_parse_failures_total`, `hiehub_syslog_ingest_failed_total` (label
/// `transport`), `hiehub_syslog_udp_dropped_total`, `hiehub_syslog_tls_handshake_failures_total`,
/// `hiehub_syslog_connections_total` and the gauge `hiehub_syslog_connections_active`.
#[derive(Debug, Default)]
pub struct Stats {
    frames: AtomicU64,
    bytes: AtomicU64,
    parse_failures: AtomicU64,
    ingest_failed: AtomicU64,
    udp_dropped: AtomicU64,
    handshake_failures: AtomicU64,
    connections: AtomicU64,
    active_connections: AtomicU64,
}

impl Stats {
    /// Frames (TLS) or datagrams (UDP) handed to `Ingest` or dropped, framing errors included.
    pub fn frames(&self) -> u64 {
        self.frames.load(Ordering::Relaxed)
    }
    /// Bytes read from the TLS streams (plaintext) or received in datagrams.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
    /// Frames whose `message` is an `Err` (framing errors included).
    pub fn parse_failures(&self) -> u64 {
        self.parse_failures.load(Ordering::Relaxed)
    }
    /// Frames in batches that `Ingest` refused.
    pub fn ingest_failed(&self) -> u64 {
        self.ingest_failed.load(Ordering::Relaxed)
    }
    /// UDP datagrams dropped because the queue was full.
    pub fn udp_dropped(&self) -> u64 {
        self.udp_dropped.load(Ordering::Relaxed)
    }
    /// TLS handshakes that failed or timed out (no or bad client certificate among them).
    pub fn handshake_failures(&self) -> u64 {
        self.handshake_failures.load(Ordering::Relaxed)
    }
    /// TLS connections accepted (handshake done).
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }
    /// TLS connections open now.
    pub fn active_connections(&self) -> u64 {
        self.active_connections.load(Ordering::Relaxed)
    }
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// A connection id: `<kind>-<process tag>-<n>`, the tag random per process.
fn next_connection_id(kind: &str) -> String {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let tag = TAG.get_or_init(|| uuid::Uuid::new_v4().simple().to_string()[..12].to_owned());
    format!("{kind}-{tag}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod frame_tests;
#[cfg(test)]
mod message_tests;
