//! Raising an anchoring alarm: the log line, `/metrics`, a Security Alert (110113) audit event and
//! the evidence as an `EquivocationEvidence` entry in this hub's ledger (one group commit), and a
//! row in `anchor_alarms` that the inspector pages show as a banner.

use std::collections::HashSet;
use std::sync::Mutex;

use bytes::Bytes;

use crate::audit::{self, AuditEvent, AuditSink, Code, Outcome, Prepared, Transport};
use crate::ledger::leaf::{EntryKind, Envelope};
use crate::ledger::witness::Evidence;
use crate::store::Db;

/// Alarms already raised since start, so a peer that repeats itself does not flood the ledger.
static RAISED: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// One alarm to raise.
pub struct Alarm {
    pub peer: String,
    /// `fork`, `rollback`, `inconsistent`, `bad_signature`, `own_rollback`.
    pub kind: &'static str,
    pub detail: String,
    pub evidence: Option<Evidence>,
    /// Identifies repeats of the same alarm (e.g. peer + kind + presented size and root).
    pub dedup: String,
}

/// Raises `alarm` unless the same one was raised before by this process. Returns the ledger
/// sequence number of the Security Alert (None when deduplicated or when the sink failed).
pub async fn raise(db: &Db, sink: &AuditSink, alarm: Alarm) -> Option<u64> {
    {
        let mut guard = RAISED.lock().unwrap_or_else(|e| e.into_inner());
        let set = guard.get_or_insert_with(HashSet::new);
        if !set.insert(alarm.dedup.clone()) {
            return None;
        }
    }
    tracing::error!(peer = %alarm.peer, kind = alarm.kind, detail = %alarm.detail, "ANCHORING ALARM");
    metrics::counter!("hiehub_anchor_alarms_total", "peer" => alarm.peer.clone(), "kind" => alarm.kind)
        .increment(1);
    metrics::gauge!("hiehub_anchor_alarm").set(1.0);
    let mut event = AuditEvent::new(
        audit::event_id::security_alert(),
        audit::Action::Execute,
        Outcome::SeriousFailure,
        Transport::Internal,
    );
    // DICOM CID 403 has no type for this: a private code, like LEDGER-VERIFY.
    event.event_type = Some(Code {
        code: "LEDGER-ANCHOR".into(),
        system: "99HIEHUB".into(),
        display: "Ledger anchoring alarm".into(),
    });
    event.outcome_description = Some(format!(
        "anchoring alarm ({}) for peer {}: {}",
        alarm.kind, alarm.peer, alarm.detail
    ));
    let evidence_json = alarm
        .evidence
        .as_ref()
        .and_then(|e| serde_json::to_string_pretty(e).ok());
    let mut items = match audit::prepare_emitted(&event) {
        Ok(p) => vec![p],
        Err(e) => {
            tracing::error!(error = %e, "anchoring alarm not audited");
            return None;
        }
    };
    if let Some(json) = &evidence_json {
        items.push(Prepared::new(
            EntryKind::EquivocationEvidence,
            Envelope {
                received_at_micros: chrono::Utc::now().timestamp_micros(),
                transport: crate::ledger::leaf::Transport::Internal,
                sender_fingerprint: None,
                connection_id: None,
                frame_seq: None,
            },
            Bytes::from(json.clone()),
            None,
        ));
    }
    let receipts = match sink.record_batch(items).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "anchoring alarm not audited");
            return None;
        }
    };
    let seq = receipts.first().map(|r| r.seq);
    let evidence_seq = receipts.get(1).map(|r| r.seq).or(seq);
    let (peer, kind, detail) = (alarm.peer, alarm.kind, alarm.detail);
    let stored = db
        .run(move |c| {
            Ok(super::store::insert_alarm(
                c,
                &peer,
                kind,
                &detail,
                evidence_json.as_deref(),
                evidence_seq,
            )?)
        })
        .await;
    if let Err(e) = stored {
        tracing::error!(error = %e, "anchoring alarm not stored in anchor_alarms (it is in the ledger)");
    }
    seq
}
