//! The listeners: syslog over mutually authenticated TLS (RFC 5425) and over UDP (RFC 5426).
//!
//! Shutdown is a `tokio::sync::watch::Receiver<bool>`: the listeners stop when it turns `true`
//! or when its sender is dropped. They then stop accepting (TLS) or receiving (UDP); each TLS
//! connection hands over what it has already read (an incomplete frame as a `Truncated` error
//! item) and waits for that batch to be accepted; the UDP worker drains its queue. The task of
//! [`Listening`] ends when all of that is done.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use chrono::Utc;
use openssl::ssl::{Ssl, SslAcceptor};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio_openssl::SslStream;

use super::frame::{Frame, FrameDecoder, FrameError, Framing};
use super::message::{ParseError, parse};
use super::{Ingest, ListenerConfig, Received, Stats, add, next_connection_id};
use crate::audit::Transport;
use crate::tls::NodeIdentity;

/// A running listener.
#[derive(Debug)]
pub struct Listening {
    local_addr: Option<SocketAddr>,
    stats: Arc<Stats>,
    task: JoinHandle<()>,
}

impl Listening {
    /// The bound address (handy with port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// Waits for the listener to stop (after shutdown was signalled).
    pub async fn join(self) -> Result<(), tokio::task::JoinError> {
        self.task.await
    }

    pub fn into_task(self) -> JoinHandle<()> {
        self.task
    }
}

async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // An Err means the sender is gone: treated as a shutdown request.
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Serves RFC 5425 syslog over TLS on `listener`. `acceptor` must require a client certificate
/// (as [`crate::tls::acceptor`] builds it); the certificate's subject becomes
/// [`Received::peer_identity`]. Failed handshakes are counted and logged; they never stop the
/// listener.
pub fn serve_tls<I: Ingest>(
    listener: TcpListener,
    acceptor: SslAcceptor,
    ingest: Arc<I>,
    config: ListenerConfig,
    shutdown: watch::Receiver<bool>,
) -> Listening {
    let stats = Arc::new(Stats::default());
    let local_addr = listener.local_addr().ok();
    let task = tokio::spawn(accept_loop(
        listener,
        Arc::new(acceptor),
        ingest,
        Arc::new(config),
        stats.clone(),
        shutdown,
    ));
    Listening {
        local_addr,
        stats,
        task,
    }
}

async fn accept_loop<I: Ingest>(
    listener: TcpListener,
    acceptor: Arc<SslAcceptor>,
    ingest: Arc<I>,
    config: Arc<ListenerConfig>,
    stats: Arc<Stats>,
    mut shutdown: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let mut connections = JoinSet::new();
    tracing::info!(addr = ?listener.local_addr().ok(), "syslog TLS listener started");
    loop {
        let permit = tokio::select! {
            biased;
            () = stopped(&mut shutdown) => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            biased;
            () = stopped(&mut shutdown) => break,
            accepted = listener.accept() => accepted,
        };
        while connections.try_join_next().is_some() {}
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // EMFILE and the like: back off instead of spinning.
                tracing::warn!(error = %e, "syslog TLS listener: accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let conn = Connection {
            acceptor: acceptor.clone(),
            ingest: ingest.clone(),
            config: config.clone(),
            stats: stats.clone(),
            shutdown: shutdown.clone(),
            peer,
        };
        connections.spawn(async move {
            conn.run(tcp).await;
            drop(permit);
        });
    }
    tracing::info!(
        open = connections.len(),
        "syslog TLS listener stopping; waiting for open connections to hand over their last batch"
    );
    while connections.join_next().await.is_some() {}
}

struct Connection<I> {
    acceptor: Arc<SslAcceptor>,
    ingest: Arc<I>,
    config: Arc<ListenerConfig>,
    stats: Arc<Stats>,
    shutdown: watch::Receiver<bool>,
    peer: SocketAddr,
}

impl<I: Ingest> Connection<I> {
    fn handshake_failed(&self, reason: &str) {
        add(&self.stats.handshake_failures, 1);
        metrics::counter!("hiehub_syslog_tls_handshake_failures_total").increment(1);
        tracing::warn!(peer = %self.peer, reason, "syslog TLS handshake failed");
        if let Some(hook) = &self.config.on_handshake_failure {
            hook(self.peer, reason.to_owned());
        }
    }

    async fn run(mut self, tcp: TcpStream) {
        // No TLS 1.3 session tickets. Syslog senders seldom read; one that closes its socket
        // with the unread tickets in its receive buffer makes its kernel send RST instead of FIN,
        // and the RST throws away whatever the sender had written but not yet sent: frames lost
        // (seen in the backpressure test). Long-lived syslog connections gain nothing from
        // resumption anyway.
        let stream = Ssl::new(self.acceptor.context()).and_then(|mut ssl| {
            ssl.set_num_tickets(0)?;
            SslStream::new(ssl, tcp)
        });
        let mut stream = match stream {
            Ok(stream) => stream,
            Err(e) => return self.handshake_failed(&e.to_string()),
        };
        let handshake = tokio::time::timeout(
            self.config.handshake_timeout,
            Pin::new(&mut stream).accept(),
        );
        let handshake = tokio::select! {
            biased;
            // Nothing was received yet: just drop the connection.
            () = stopped(&mut self.shutdown) => return,
            handshake = handshake => handshake,
        };
        match handshake {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return self.handshake_failed(&e.to_string()),
            Err(_) => return self.handshake_failed("timed out"),
        }
        let identity = stream
            .ssl()
            .peer_certificate()
            .map(|cert| NodeIdentity::from_cert(&cert));
        let connection_id = next_connection_id("tls");
        add(&self.stats.connections, 1);
        add(&self.stats.active_connections, 1);
        metrics::counter!("hiehub_syslog_connections_total").increment(1);
        metrics::gauge!("hiehub_syslog_connections_active").increment(1.0);
        tracing::debug!(
            peer = %self.peer,
            connection_id,
            subject = identity.as_ref().map(|i| i.subject.as_str()),
            "syslog TLS connection"
        );
        self.read_frames(&mut stream, identity, &connection_id)
            .await;
        // Best effort close_notify; the peer may already be gone.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), stream.shutdown()).await;
        self.stats
            .active_connections
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        metrics::gauge!("hiehub_syslog_connections_active").decrement(1.0);
    }

    async fn read_frames(
        &mut self,
        stream: &mut SslStream<TcpStream>,
        identity: Option<NodeIdentity>,
        connection_id: &str,
    ) {
        let mut decoder = FrameDecoder::new(self.config.frame);
        let limit = self.config.frame.max_frame_size.saturating_add(32);
        let mut seq = 0u64;
        loop {
            let want = decoder.wanted().unwrap_or(0).min(limit);
            decoder
                .buffer_mut()
                .reserve(want.max(self.config.read_buffer));
            let read = tokio::select! {
                biased;
                () = stopped(&mut self.shutdown) => None,
                read = stream.read_buf(decoder.buffer_mut()) => Some(read),
            };
            let end = match read {
                Some(Ok(0)) | None => true,
                Some(Ok(n)) => {
                    add(&self.stats.bytes, n as u64);
                    metrics::counter!("hiehub_syslog_bytes_total", "transport" => "syslog-tls")
                        .increment(n as u64);
                    false
                }
                Some(Err(e)) => {
                    tracing::debug!(peer = %self.peer, connection_id, error = %e, "syslog TLS read failed");
                    true
                }
            };
            let received_at = Utc::now();
            let mut batch = Vec::new();
            let mut push = |item| {
                batch.push(received(
                    item,
                    Transport::SyslogTls,
                    self.peer,
                    identity.clone(),
                    connection_id,
                    seq,
                    received_at,
                ));
                seq += 1;
            };
            while let Some(item) = decoder.next_frame() {
                push(item);
            }
            if end {
                while let Some(item) = decoder.finish() {
                    push(item);
                }
            }
            if !batch.is_empty() {
                let n = batch.len() as u64;
                count_batch(&self.stats, &batch, "syslog-tls", true);
                if let Err(e) = self.ingest.ingest(batch).await {
                    add(&self.stats.ingest_failed, n);
                    metrics::counter!("hiehub_syslog_ingest_failed_total", "transport" => "syslog-tls")
                        .increment(n);
                    tracing::warn!(peer = %self.peer, connection_id, error = %e, frames = n, "syslog batch refused; closing the connection");
                    return;
                }
            }
            if end {
                return;
            }
        }
    }
}

/// Counts a batch's parse failures, and its frames unless they were counted on receipt (UDP).
fn count_batch(stats: &Stats, batch: &[Received], transport: &'static str, frames: bool) {
    let n = batch.len() as u64;
    let bad = batch.iter().filter(|r| r.message.is_err()).count() as u64;
    if frames {
        add(&stats.frames, n);
        metrics::counter!("hiehub_syslog_frames_total", "transport" => transport).increment(n);
    }
    if bad > 0 {
        add(&stats.parse_failures, bad);
        metrics::counter!("hiehub_syslog_parse_failures_total", "transport" => transport)
            .increment(bad);
    }
}

fn received(
    item: Result<Frame, FrameError>,
    transport: Transport,
    peer: SocketAddr,
    peer_identity: Option<NodeIdentity>,
    connection_id: &str,
    frame_seq: u64,
    received_at: chrono::DateTime<Utc>,
) -> Received {
    let (raw, framing, message) = match item {
        Ok(frame) => {
            let message = parse(&frame.raw);
            (frame.raw, Some(frame.framing), message)
        }
        Err(e) => (e.raw().clone(), None, Err(ParseError::Framing(e))),
    };
    Received {
        raw,
        message,
        framing,
        transport,
        peer,
        peer_identity,
        connection_id: connection_id.to_owned(),
        frame_seq,
        received_at,
    }
}

/// Serves RFC 5426 syslog over UDP on `socket`: one datagram is one message. Datagrams wait in a
/// bounded queue (`udp_queue`) for `Ingest`; when it is full they are dropped and counted.
pub fn serve_udp<I: Ingest>(
    socket: UdpSocket,
    ingest: Arc<I>,
    config: ListenerConfig,
    shutdown: watch::Receiver<bool>,
) -> Listening {
    let stats = Arc::new(Stats::default());
    let local_addr = socket.local_addr().ok();
    let task = tokio::spawn(udp_loop(socket, ingest, config, stats.clone(), shutdown));
    Listening {
        local_addr,
        stats,
        task,
    }
}

struct Datagram {
    bytes: Bytes,
    peer: SocketAddr,
    received_at: chrono::DateTime<Utc>,
}

async fn udp_loop<I: Ingest>(
    socket: UdpSocket,
    ingest: Arc<I>,
    config: ListenerConfig,
    stats: Arc<Stats>,
    mut shutdown: watch::Receiver<bool>,
) {
    let (tx, rx) = mpsc::channel::<Datagram>(config.udp_queue.max(1));
    let connection_id = next_connection_id("udp");
    tracing::info!(addr = ?socket.local_addr().ok(), connection_id, "syslog UDP listener started");
    let worker = tokio::spawn(udp_worker(
        rx,
        ingest,
        config.clone(),
        stats.clone(),
        connection_id,
    ));
    // Large enough for any UDP datagram, so none is cut short by the read.
    let mut buf = vec![0u8; 65536];
    loop {
        let got = tokio::select! {
            biased;
            () = stopped(&mut shutdown) => break,
            got = socket.recv_from(&mut buf) => got,
        };
        let (n, peer) = match got {
            Ok(got) => got,
            Err(e) => {
                // E.g. ICMP port unreachable reported on a later call; not fatal.
                tracing::debug!(error = %e, "syslog UDP receive failed");
                continue;
            }
        };
        add(&stats.bytes, n as u64);
        add(&stats.frames, 1);
        metrics::counter!("hiehub_syslog_bytes_total", "transport" => "syslog-udp")
            .increment(n as u64);
        metrics::counter!("hiehub_syslog_frames_total", "transport" => "syslog-udp").increment(1);
        let datagram = Datagram {
            bytes: Bytes::copy_from_slice(&buf[..n]),
            peer,
            received_at: Utc::now(),
        };
        match tx.try_send(datagram) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(d)) => {
                add(&stats.udp_dropped, 1);
                metrics::counter!("hiehub_syslog_udp_dropped_total").increment(1);
                tracing::debug!(peer = %d.peer, bytes = d.bytes.len(), "syslog UDP queue full; datagram dropped");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => break,
        }
    }
    drop(tx);
    let _ = worker.await;
}

async fn udp_worker<I: Ingest>(
    mut rx: mpsc::Receiver<Datagram>,
    ingest: Arc<I>,
    config: ListenerConfig,
    stats: Arc<Stats>,
    connection_id: String,
) {
    let max = config.frame.max_frame_size;
    let batch_max = config.udp_batch_max.max(1);
    let mut seq = 0u64;
    let mut datagrams = Vec::with_capacity(batch_max);
    while rx.recv_many(&mut datagrams, batch_max).await > 0 {
        let batch: Vec<Received> = datagrams
            .drain(..)
            .map(|d| {
                let item = if d.bytes.len() > max {
                    Err(FrameError::Oversize {
                        offset: 0,
                        limit: max,
                        len: d.bytes.len() as u64,
                        framing: Framing::Datagram,
                        head: d.bytes.slice(..max),
                    })
                } else {
                    Ok(Frame {
                        raw: d.bytes,
                        framing: Framing::Datagram,
                        offset: 0,
                    })
                };
                let r = received(
                    item,
                    Transport::SyslogUdp,
                    d.peer,
                    None,
                    &connection_id,
                    seq,
                    d.received_at,
                );
                seq += 1;
                r
            })
            .collect();
        let n = batch.len() as u64;
        count_batch(&stats, &batch, "syslog-udp", false);
        if let Err(e) = ingest.ingest(batch).await {
            add(&stats.ingest_failed, n);
            metrics::counter!("hiehub_syslog_ingest_failed_total", "transport" => "syslog-udp")
                .increment(n);
            tracing::warn!(connection_id, error = %e, frames = n, "syslog UDP batch refused");
        }
    }
}

#[cfg(test)]
#[path = "net_tests.rs"]
mod tests;
