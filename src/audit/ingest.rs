//! ITI-20 receiving side, glued to the ledger: every syslog frame becomes one ledger entry
//! (kind AuditReceived) whose payload is the frame exactly as received, with its index row when
//! the DICOM / RFC 3881 message decodes, or flagged invalid (kept raw, counted) when it does not.
//!
//! Invariant: a batch is acknowledged to the listener only after its entries are committed, so
//! on TLS the sender is slowed down instead of anything being dropped.

use bytes::Bytes;

use super::syslog::{Ingest, IngestError, Received};
use super::{AuditSink, Prepared, Transport, dicom, index_row};
use crate::ledger::db::AuditIndexRow;
use crate::ledger::leaf::{EntryKind, Envelope};

/// Writes received syslog frames into the ledger through the audit sink.
pub struct LedgerIngest {
    pub sink: AuditSink,
}

impl Ingest for LedgerIngest {
    fn ingest(
        &self,
        batch: Vec<Received>,
    ) -> impl std::future::Future<Output = Result<(), IngestError>> + Send {
        let sink = self.sink.clone();
        async move {
            let items: Vec<Prepared> = batch.iter().map(prepare_received).collect();
            sink.record_batch(items)
                .await
                .map(|_| ())
                .map_err(|e| IngestError {
                    reason: e.to_string(),
                })
        }
    }
}

/// The ledger entry for one received frame.
pub fn prepare_received(r: &Received) -> Prepared {
    let transport = r.transport;
    let ledger_transport = match transport {
        Transport::SyslogUdp => crate::ledger::leaf::Transport::Udp,
        _ => crate::ledger::leaf::Transport::Tls,
    };
    let mut index = match &r.message {
        Ok(msg) => {
            let body = msg.msg.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&msg.msg);
            match dicom::decode(body) {
                Ok(m) => index_row(&m, r.received_at, transport),
                Err(e) => invalid(r, transport, format!("audit message: {e}")),
            }
        }
        Err(e) => invalid(r, transport, format!("syslog: {e}")),
    };
    if !index.valid {
        metrics::counter!("hiehub_audit_invalid_received_total").increment(1);
    }
    index.sender = r.peer_identity.as_ref().map(|i| i.subject.clone());
    index.remote_addr = Some(r.peer.to_string());
    Prepared::new(
        EntryKind::AuditReceived,
        Envelope {
            received_at_micros: r.received_at.timestamp_micros(),
            transport: ledger_transport,
            sender_fingerprint: r.peer_identity.as_ref().and_then(|i| i.fingerprint_bytes()),
            connection_id: Some(r.connection_id.clone()),
            frame_seq: Some(r.frame_seq),
        },
        Bytes::clone(&r.raw),
        Some(index),
    )
}

fn invalid(r: &Received, transport: Transport, error: String) -> AuditIndexRow {
    AuditIndexRow {
        received_at: r.received_at,
        transport: transport.as_str().to_owned(),
        valid: false,
        error: Some(error),
        ..AuditIndexRow::default()
    }
}
