//! The fields `/api/audit` searches on, pulled out of an [`AuditMessage`].

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::model::*;

/// Search fields of one audit message. Lists keep message order, without duplicates or empty
/// strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditIndex {
    /// EventDateTime, when it parsed.
    pub event_time: Option<DateTime<Utc>>,
    /// EventID code, e.g. `110112`.
    pub event_id: String,
    /// EventTypeCode codes, e.g. `ITI-18`.
    pub event_types: Vec<String>,
    pub action: Option<EventAction>,
    pub outcome: Outcome,
    /// UserIDs of the active participants, requestors first.
    pub user_ids: Vec<String>,
    /// NetworkAccessPointIDs of the active participants, requestors first.
    pub source_nodes: Vec<String>,
    /// AuditSourceID of the (first) audit source.
    pub audit_source_id: String,
    /// IDs of the participant objects that are patients: type 1 (person), role 1 (patient), ID
    /// type code 2 (Patient Number).
    pub patient_ids: Vec<String>,
    /// IDs of all participant objects.
    pub object_ids: Vec<String>,
}

fn push_unique(list: &mut Vec<String>, value: &str) {
    if !value.is_empty() && !list.iter().any(|v| v == value) {
        list.push(value.to_owned());
    }
}

/// A patient: type 1 (person), role 1 (patient), ID type code 2 (Patient Number).
fn is_patient(o: &ParticipantObject) -> bool {
    o.type_code == Some(1) && o.type_code_role == Some(1) && o.id_type_code.code == "2"
}

/// Extracts the search fields.
pub fn index(message: &AuditMessage) -> AuditIndex {
    let e = &message.event;
    let mut event_types = Vec::new();
    for t in &e.event_type_codes {
        push_unique(&mut event_types, &t.code);
    }
    let participants = || {
        let p = &message.active_participants;
        p.iter()
            .filter(|p| p.user_is_requestor)
            .chain(p.iter().filter(|p| !p.user_is_requestor))
    };
    let mut user_ids = Vec::new();
    let mut source_nodes = Vec::new();
    for p in participants() {
        push_unique(&mut user_ids, &p.user_id);
        if let Some(n) = &p.network_access_point_id {
            push_unique(&mut source_nodes, n);
        }
    }
    // Object ids can be many (thousands of instances); dedupe those through a set.
    let (mut objects_seen, mut patients_seen) = (HashSet::new(), HashSet::new());
    let mut object_ids = Vec::new();
    let mut patient_ids = Vec::new();
    for o in &message.participant_objects {
        if o.id.is_empty() {
            continue;
        }
        if objects_seen.insert(o.id.as_str()) {
            object_ids.push(o.id.clone());
        }
        if is_patient(o) && patients_seen.insert(o.id.as_str()) {
            patient_ids.push(o.id.clone());
        }
    }
    AuditIndex {
        event_time: e.time,
        event_id: e.event_id.code.clone(),
        event_types,
        action: e.action,
        outcome: e.outcome,
        user_ids,
        source_nodes,
        audit_source_id: message.audit_source.audit_source_id.clone(),
        patient_ids,
        object_ids,
    }
}
