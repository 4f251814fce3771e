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
pub mod sink;
pub mod syslog;

pub use sink::{AuditError, AuditSink, Receipt, SinkConfig};

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
    pub remote_addr: Option<String>,
    /// `wsa:MessageID` of the request.
    pub message_id: Option<String>,
    /// The endpoint or listener that handled it, e.g. `/xds/registry`.
    pub destination: Option<String>,
    /// The hub itself (AuditSourceIdentification).
    pub source_id: String,
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
            remote_addr: None,
            message_id: None,
            destination: None,
            source_id: source_id(),
        }
    }
}

/// AuditSourceID: this hub's host name.
pub fn source_id() -> String {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_owned())
            .ok()
            .filter(|s| !s.is_empty())
            .map(|h| format!("hiehub@{h}"))
            .unwrap_or_else(|| "hiehub".into())
    })
    .clone()
}
