//! Audit events and the durable audit sink.
//!
//! Every transaction handler builds an [`AuditEvent`] and awaits [`AuditSink::record`], which
//! returns a [`Receipt`] only after the event is committed to PostgreSQL. One writer thread owns a
//! dedicated connection and group-commits whatever events are waiting: concurrent requests share
//! one commit (one WAL flush), so durability costs one fsync per batch, not per request.
//!
//! Invariant: no transaction is answered before its audit event is durable (the web layer builds
//! its response only after holding a `Receipt`).
//! Invariant: the writer never drops an event silently: each one gets Ok(seq) or an error back.

pub mod dicom;
pub mod ingest;
pub mod sink;
pub mod syslog;

pub use sink::{AuditError, AuditSink, LedgerConfig, Prepared, Receipt, SinkConfig};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A coded value (code, code system, display name), as DICOM audit messages carry them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Code {
    pub code: String,
    pub system: String,
    pub display: String,
}

impl Code {
    pub fn dcm(code: &str, display: &str) -> Code {
        Code {
            code: code.into(),
            system: "DCM".into(),
            display: display.into(),
        }
    }

    pub fn ihe_transaction(code: &str, display: &str) -> Code {
        Code {
            code: code.into(),
            system: "IHE Transactions".into(),
            display: display.into(),
        }
    }
}

/// DICOM PS3.15 A.5 EventID values hiehub emits.
pub mod event_id {
    use super::Code;
    pub fn application_activity() -> Code {
        Code::dcm("110100", "Application Activity")
    }
    pub fn query() -> Code {
        Code::dcm("110112", "Query")
    }
    pub fn security_alert() -> Code {
        Code::dcm("110113", "Security Alert")
    }
    pub fn import() -> Code {
        Code::dcm("110107", "Import")
    }
    pub fn export() -> Code {
        Code::dcm("110106", "Export")
    }
    pub fn patient_record() -> Code {
        Code::dcm("110110", "Patient Record")
    }
}

/// EventActionCode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    Create,
    Read,
    Update,
    Delete,
    Execute,
}

impl Action {
    pub fn code(self) -> char {
        match self {
            Action::Create => 'C',
            Action::Read => 'R',
            Action::Update => 'U',
            Action::Delete => 'D',
            Action::Execute => 'E',
        }
    }
}

/// EventOutcomeIndicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Success = 0,
    MinorFailure = 4,
    SeriousFailure = 8,
    MajorFailure = 12,
}

/// How the event reached hiehub (part of the ledger envelope later).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Transport {
    Http,
    Https,
    SyslogTls,
    SyslogUdp,
    Internal,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Http => "http",
            Transport::Https => "https",
            Transport::SyslogTls => "syslog-tls",
            Transport::SyslogUdp => "syslog-udp",
            Transport::Internal => "internal",
        }
    }
}

/// One audit event, in plain Rust. The DICOM audit message XML is made from it at the edge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub event_id: Code,
    pub action: Action,
    pub event_type: Option<Code>,
    pub outcome: Outcome,
    pub outcome_description: Option<String>,
    pub time: DateTime<Utc>,
    pub transport: Transport,
    /// The authenticated node identity (client certificate subject), if any.
    pub requestor: Option<String>,
    /// SHA-256 of the requestor's client certificate (DER), if any.
    #[serde(default)]
    pub requestor_fingerprint: Option<[u8; 32]>,
    pub remote_addr: Option<String>,
    /// `wsa:MessageID` of the request.
    pub message_id: Option<String>,
    /// The endpoint or listener that handled it, e.g. `/xds/registry`.
    pub destination: Option<String>,
    /// The hub itself (AuditSourceIdentification).
    pub source_id: String,
    /// What the transaction was about (patient, submission set, documents, query), as the
    /// DICOM ParticipantObjectIdentification of the emitted message.
    #[serde(default)]
    pub participant_objects: Vec<dicom::ParticipantObject>,
}

impl AuditEvent {
    pub fn new(event_id: Code, action: Action, outcome: Outcome, transport: Transport) -> Self {
        AuditEvent {
            event_id,
            action,
            event_type: None,
            outcome,
            outcome_description: None,
            time: Utc::now(),
            transport,
            requestor: None,
            requestor_fingerprint: None,
            remote_addr: None,
            message_id: None,
            destination: None,
            source_id: source_id(),
            participant_objects: Vec::new(),
        }
    }
}

/// AuditSourceID: this hub's host name.
pub fn source_id() -> String {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        crate::config::hostname()
            .map(|h| format!("hiehub@{h}"))
            .unwrap_or_else(|| "hiehub".into())
    })
    .clone()
}

impl Transport {
    fn ledger(self) -> crate::ledger::leaf::Transport {
        use crate::ledger::leaf::Transport as T;
        match self {
            Transport::Http => T::Http,
            Transport::Https => T::Https,
            Transport::SyslogTls => T::Tls,
            Transport::SyslogUdp => T::Udp,
            Transport::Internal => T::Internal,
        }
    }
}

/// The index row of a decoded audit message (the `seq` is filled in at append).
pub fn index_row(
    message: &dicom::AuditMessage,
    received_at: DateTime<Utc>,
    transport: Transport,
) -> crate::ledger::db::AuditIndexRow {
    let ix = dicom::index(message);
    crate::ledger::db::AuditIndexRow {
        seq: 0,
        event_time: ix.event_time,
        received_at,
        event_id: Some(ix.event_id),
        event_action: ix.action.map(|a| a.code().to_string()),
        event_types: ix.event_types,
        outcome: Some(ix.outcome as i16),
        transport: transport.as_str().to_owned(),
        sender: None,
        remote_addr: None,
        source_id: Some(ix.audit_source_id).filter(|s| !s.is_empty()),
        users: ix.user_ids,
        nodes: ix.source_nodes,
        patient_ids: ix.patient_ids,
        object_ids: ix.object_ids,
        message_id: None,
        valid: true,
        error: None,
    }
}

/// Turns hiehub's own event into a ledger entry: the DICOM audit message (PS3.15 A.5) as payload.
pub fn prepare_emitted(event: &AuditEvent) -> Result<Prepared, AuditError> {
    let message = dicom::AuditMessage::from(event);
    let xml = dicom::encode(&message);
    let mut index = index_row(&message, event.time, event.transport);
    index.sender = event.requestor.clone();
    index.remote_addr = event.remote_addr.clone();
    index.message_id = event.message_id.clone();
    Ok(Prepared::new(
        crate::ledger::leaf::EntryKind::AuditEmitted,
        crate::ledger::leaf::Envelope {
            received_at_micros: event.time.timestamp_micros(),
            transport: event.transport.ledger(),
            sender_fingerprint: event.requestor_fingerprint,
            connection_id: None,
            frame_seq: None,
        },
        bytes::Bytes::from(xml),
        Some(index),
    ))
}
