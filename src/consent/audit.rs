//! The audit events of consent work, into the ledger like every event:
//!
//! | what | EventID | action | EventTypeCode | ledger kind |
//! | --- | --- | --- | --- | --- |
//! | consent recorded | 110110 Patient Record | C | `ConsentRecorded` (hiehub) | ConsentEvent |
//! | consent changed (RPLC) | 110110 Patient Record | U | `ConsentChanged` (hiehub) | ConsentEvent |
//! | consent revoked (an opt-out registered) | 110110 Patient Record | U | `ConsentRevoked` (hiehub) | ConsentEvent |
//! | access denied by consent | 110110 Patient Record | R, outcome 4 | `ConsentDenied` (hiehub) | ConsentEvent |
//! | break-the-glass access | 110113 Security Alert | E | 110127 Emergency Override Started (DCM) | AuditEmitted |
//!
//! Each names the patient, the documents concerned, and in ParticipantObjectDetail the policy
//! (`hiehub:consent-policy`), the consent (`hiehub:consent`) and the rule that decided
//! (`hiehub:consent-rule`); the requester is the event's requestor (certificate subject and
//! fingerprint), its XUA subject in `hiehub:xua-subject`.

use super::bppc::{ConsentChange, Recognised};
use super::{Decision, Requester};
use crate::audit::dicom::{ObjectDetail, ParticipantObject};
use crate::audit::{self, Action, AuditEvent, AuditSink, Code, Outcome, Prepared, Transport};
use crate::ledger::leaf::EntryKind;

fn hiehub(code: &str, display: &str) -> Code {
    Code {
        code: code.into(),
        system: "hiehub".into(),
        display: display.into(),
    }
}

fn base(event_id: Code, action: Action, outcome: Outcome, requester: &Requester) -> AuditEvent {
    let mut e = AuditEvent::new(event_id, action, outcome, Transport::Internal);
    e.requestor = requester.node.clone();
    e.requestor_fingerprint = requester
        .fingerprint
        .as_deref()
        .and_then(|f| hex::decode(f).ok())
        .and_then(|v| <[u8; 32]>::try_from(v).ok());
    e
}

fn decision_details(o: &mut ParticipantObject, d: &Decision, requester: &Requester) {
    if let Some(p) = &d.policy {
        o.details
            .push(ObjectDetail::new("hiehub:consent-policy", p.as_str()));
    }
    if let Some(c) = &d.consent {
        o.details
            .push(ObjectDetail::new("hiehub:consent", c.as_str()));
    }
    o.details
        .push(ObjectDetail::new("hiehub:consent-rule", d.rule.as_str()));
    if let Some(u) = requester.xua.as_ref().and_then(|x| x.subject_id.as_deref()) {
        o.details.push(ObjectDetail::new("hiehub:xua-subject", u));
    }
    if let Some(r) = &requester.emergency {
        o.details
            .push(ObjectDetail::new("hiehub:emergency-reason", r.as_str()));
    }
}

/// The event for a decision that denied (`break_the_glass == false`) or permitted by
/// break-the-glass, about `patient` and the documents `objects` (ids as the transaction knows
/// them: uniqueIds for ITI-43, entryUUIDs for ITI-18).
pub fn decision_event(
    requester: &Requester,
    transaction: &str,
    patient: &str,
    objects: &[String],
    d: &Decision,
) -> AuditEvent {
    let mut e = if d.break_the_glass {
        let mut e = base(
            audit::event_id::security_alert(),
            Action::Execute,
            Outcome::Success,
            requester,
        );
        e.event_type = Some(Code::dcm("110127", "Emergency Override Started"));
        e.outcome_description = Some(format!(
            "{transaction}: break-the-glass access by {}: {}",
            requester.describe(),
            d.rule
        ));
        e
    } else {
        let mut e = base(
            audit::event_id::patient_record(),
            Action::Read,
            Outcome::MinorFailure,
            requester,
        );
        e.event_type = Some(hiehub("ConsentDenied", "access denied by patient consent"));
        e.outcome_description = Some(format!(
            "{transaction}: {} denied to {}: {}",
            if objects.is_empty() {
                "the patient".to_owned()
            } else {
                format!("{} document(s)", objects.len())
            },
            requester.describe(),
            d.rule
        ));
        e
    };
    let mut p = ParticipantObject::patient(patient);
    decision_details(&mut p, d, requester);
    e.participant_objects.push(p);
    for id in objects {
        e.participant_objects
            .push(ParticipantObject::document(id.as_str(), None, None));
    }
    e
}

/// The event for a consent registered by ITI-41.
pub fn consent_event(requester: &Requester, c: &Recognised) -> AuditEvent {
    let (action, code, display) = match c.change {
        ConsentChange::Recorded => (
            Action::Create,
            "ConsentRecorded",
            "patient consent recorded",
        ),
        ConsentChange::Changed => (Action::Update, "ConsentChanged", "patient consent changed"),
        ConsentChange::Revoked => (Action::Update, "ConsentRevoked", "patient consent revoked"),
    };
    let mut e = base(
        audit::event_id::patient_record(),
        action,
        Outcome::Success,
        requester,
    );
    e.event_type = Some(hiehub(code, display));
    e.outcome_description = Some(format!(
        "{display}: consent {} naming {}",
        c.unique_id,
        c.policies.join(", ")
    ));
    consent_participants(&mut e, &c.patient_id, &c.policies, &c.unique_id);
    e
}

/// The event for a consent deprecated or re-approved by ITI-57, or removed by ITI-62.
pub fn update_event(
    requester: &Requester,
    transaction: &str,
    u: &super::store::ConsentUpdate,
) -> AuditEvent {
    let (code, display) = if u.revoked {
        ("ConsentRevoked", "patient consent revoked")
    } else {
        ("ConsentChanged", "patient consent changed")
    };
    let what = match (transaction, u.revoked) {
        ("ITI-62", _) => "removed from the registry (ITI-62)",
        (_, true) => "deprecated (ITI-57); no longer in force",
        (_, false) => "approved again (ITI-57)",
    };
    let mut e = base(
        audit::event_id::patient_record(),
        if transaction == "ITI-62" {
            Action::Delete
        } else {
            Action::Update
        },
        Outcome::Success,
        requester,
    );
    e.event_type = Some(hiehub(code, display));
    e.outcome_description = Some(format!(
        "{display}: consent {} {what}{}",
        u.unique_id,
        if u.policies.is_empty() {
            String::new()
        } else {
            format!(", naming {}", u.policies.join(", "))
        }
    ));
    consent_participants(&mut e, &u.patient_id, &u.policies, &u.unique_id);
    e
}

/// The patient (with the consent's policies) and the consent document of a consent event.
fn consent_participants(e: &mut AuditEvent, patient: &str, policies: &[String], unique_id: &str) {
    let mut p = ParticipantObject::patient(patient);
    for oid in policies {
        p.details
            .push(ObjectDetail::new("hiehub:consent-policy", oid.as_str()));
    }
    e.participant_objects.push(p);
    e.participant_objects
        .push(ParticipantObject::document(unique_id, None, None));
}

/// Records `events` (consent events as ledger kind ConsentEvent, security alerts as
/// AuditEmitted) and waits until they are committed.
pub async fn record(sink: &AuditSink, events: Vec<AuditEvent>) -> Result<(), audit::AuditError> {
    let mut prepared = Vec::with_capacity(events.len());
    for e in &events {
        if e.event_id.code == "110113" {
            prepared.push(audit::prepare_emitted(e)?);
            continue;
        }
        // As `audit::prepare_emitted`, with the ledger kind of consent events.
        let message = crate::audit::dicom::AuditMessage::from(e);
        let xml = crate::audit::dicom::encode(&message);
        let mut index = audit::index_row(&message, e.time, e.transport);
        index.sender = e.requestor.clone();
        prepared.push(Prepared::new(
            EntryKind::ConsentEvent,
            crate::ledger::leaf::Envelope {
                received_at_micros: e.time.timestamp_micros(),
                transport: crate::ledger::leaf::Transport::Internal,
                sender_fingerprint: e.requestor_fingerprint,
                connection_id: None,
                frame_seq: None,
            },
            bytes::Bytes::from(xml),
            Some(index),
        ));
    }
    sink.record_batch(prepared).await.map(|_| ())
}
