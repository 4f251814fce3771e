//! The audit message as plain Rust: no XML names, no XML types.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

pub use crate::audit::{Action as EventAction, Outcome};

/// Which of the two wire forms a message was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Format {
    /// DICOM PS3.15 A.5 (`csd-code`, `originalText`); what [`super::encode`] writes.
    Dicom,
    /// Legacy RFC 3881 (`code`, `displayName`).
    Rfc3881,
}

/// A coded value, e.g. EV(110100, DCM, "Application Activity").
///
/// DICOM requires `codeSystemName` and `originalText` (the code meaning); RFC 3881 makes both
/// optional and carries the meaning in `displayName`. The model keeps what was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodedValue {
    pub code: String,
    pub code_system_name: Option<String>,
    pub display_name: Option<String>,
    pub original_text: Option<String>,
}

impl CodedValue {
    /// EV(code, system, meaning) in the DICOM form: the meaning is the `originalText`.
    pub fn new(code: &str, code_system_name: &str, meaning: &str) -> CodedValue {
        CodedValue {
            code: code.to_owned(),
            code_system_name: Some(code_system_name.to_owned()),
            display_name: None,
            original_text: Some(meaning.to_owned()),
        }
    }

    /// A code from the DICOM Controlled Terminology (PS3.16), coding scheme "DCM".
    pub fn dcm(code: &str, meaning: &str) -> CodedValue {
        CodedValue::new(code, "DCM", meaning)
    }

    /// An IHE transaction as EventTypeCode, e.g. `("ITI-18", "Registry Stored Query")`.
    pub fn ihe_transaction(code: &str, meaning: &str) -> CodedValue {
        CodedValue::new(code, "IHE Transactions", meaning)
    }

    /// A code of RFC 3881 section 5 (e.g. ParticipantObjectIDTypeCode 2 "Patient Number").
    pub fn rfc3881(code: &str, meaning: &str) -> CodedValue {
        CodedValue::new(code, "RFC-3881", meaning)
    }

    /// The human meaning: `originalText`, else `displayName`.
    pub fn meaning(&self) -> Option<&str> {
        self.original_text
            .as_deref()
            .or(self.display_name.as_deref())
    }
}

impl From<&crate::audit::Code> for CodedValue {
    fn from(c: &crate::audit::Code) -> Self {
        CodedValue::new(&c.code, &c.system, &c.display)
    }
}

/// EventIdentification: what happened, when, and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventIdentification {
    pub event_id: CodedValue,
    pub action: Option<EventAction>,
    /// EventDateTime exactly as sent.
    pub date_time: String,
    /// `date_time` parsed, when it parses (a time without zone is read as UTC, per RFC 3881).
    pub time: Option<DateTime<Utc>>,
    pub outcome: Outcome,
    pub outcome_description: Option<String>,
    pub event_type_codes: Vec<CodedValue>,
    pub purpose_of_use: Vec<CodedValue>,
}

impl EventIdentification {
    /// An event at `time`, with `date_time` in the canonical form (UTC, milliseconds, `Z`).
    pub fn new(
        event_id: CodedValue,
        action: Option<EventAction>,
        time: DateTime<Utc>,
        outcome: Outcome,
    ) -> EventIdentification {
        EventIdentification {
            event_id,
            action,
            date_time: time.to_rfc3339_opts(SecondsFormat::Millis, true),
            time: Some(time),
            outcome,
            outcome_description: None,
            event_type_codes: Vec::new(),
            purpose_of_use: Vec::new(),
        }
    }
}

/// ActiveParticipant: a user, process or node that took part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveParticipant {
    pub user_id: String,
    pub alternative_user_id: Option<String>,
    pub user_name: Option<String>,
    pub user_is_requestor: bool,
    pub role_id_codes: Vec<CodedValue>,
    pub network_access_point_id: Option<String>,
    /// 1 machine name, 2 IP address, 3 telephone number, 4 e-mail address, 5 URI.
    pub network_access_point_type_code: Option<u8>,
    /// MediaIdentifier/MediaType (DICOM only): the media of an import or export.
    pub media_type: Option<CodedValue>,
}

impl ActiveParticipant {
    /// A participant with just a UserID (not the requestor, no role).
    pub fn new(user_id: impl Into<String>) -> ActiveParticipant {
        ActiveParticipant {
            user_id: user_id.into(),
            alternative_user_id: None,
            user_name: None,
            user_is_requestor: false,
            role_id_codes: Vec::new(),
            network_access_point_id: None,
            network_access_point_type_code: None,
            media_type: None,
        }
    }

    /// Sets the network access point; the type code is 2 (IP address) for an IPv4 or IPv6
    /// address, else 1 (machine name).
    pub fn with_network_access_point(mut self, id: impl Into<String>) -> ActiveParticipant {
        let id = id.into();
        let type_code = if id.parse::<std::net::IpAddr>().is_ok() {
            2
        } else {
            1
        };
        self.network_access_point_id = Some(id);
        self.network_access_point_type_code = Some(type_code);
        self
    }

    pub fn with_alternative_user_id(mut self, id: impl Into<String>) -> ActiveParticipant {
        self.alternative_user_id = Some(id.into());
        self
    }

    pub fn with_user_name(mut self, name: impl Into<String>) -> ActiveParticipant {
        self.user_name = Some(name.into());
        self
    }

    pub fn with_role(mut self, role: CodedValue) -> ActiveParticipant {
        self.role_id_codes.push(role);
        self
    }

    pub fn requestor(mut self, is_requestor: bool) -> ActiveParticipant {
        self.user_is_requestor = is_requestor;
        self
    }
}

/// AuditSourceIdentification: who wrote the audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditSourceIdentification {
    pub enterprise_site_id: Option<String>,
    pub audit_source_id: String,
    /// AuditSourceTypeCode, any number (1 end-user display device ... 4 application server,
    /// 9 other, or a code of another terminology).
    pub type_codes: Vec<CodedValue>,
}

impl AuditSourceIdentification {
    /// hiehub as the audit source: type 4, "Application Server process or thread".
    pub fn application_server(audit_source_id: impl Into<String>) -> AuditSourceIdentification {
        AuditSourceIdentification {
            enterprise_site_id: None,
            audit_source_id: audit_source_id.into(),
            type_codes: vec![CodedValue {
                code: "4".into(),
                code_system_name: None,
                display_name: None,
                original_text: None,
            }],
        }
    }
}

/// ParticipantObjectDetail: a `type` and a binary `value` (base64 on the wire).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectDetail {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: Vec<u8>,
}

impl ObjectDetail {
    pub fn new(kind: &str, value: impl Into<Vec<u8>>) -> ObjectDetail {
        ObjectDetail {
            kind: kind.to_owned(),
            value: value.into(),
        }
    }
}

/// SOPClass of a ParticipantObjectDescription (DICOM only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SopClass {
    pub uid: Option<String>,
    pub number_of_instances: u64,
    pub instances: Vec<String>,
}

/// ParticipantObjectDescription (DICOM only): the DICOM objects behind a participant object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectDescription {
    pub mpps_uids: Vec<String>,
    pub accession_numbers: Vec<String>,
    pub sop_classes: Vec<SopClass>,
    /// ParticipantObjectContainsStudy: `None` when absent, `Some(uids)` when present.
    pub contains_studies: Option<Vec<String>>,
    pub encrypted: Option<bool>,
    pub anonymized: Option<bool>,
}

/// ParticipantObjectIdentification: a patient, document, query, ... the event touched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantObject {
    pub id_type_code: CodedValue,
    /// 1 person, 2 system object, 3 organization, 4 other.
    pub type_code: Option<u8>,
    /// 1 patient, 2 location, 3 report, ... 24 query, 26 processing element (1..=26).
    pub type_code_role: Option<u8>,
    /// 1 origination ... 15 permanent erasure (1..=15).
    pub data_life_cycle: Option<u8>,
    /// ParticipantObjectID; empty when the sender left it out.
    pub id: String,
    pub sensitivity: Option<String>,
    pub name: Option<String>,
    pub query: Option<Vec<u8>>,
    pub details: Vec<ObjectDetail>,
    pub descriptions: Vec<ObjectDescription>,
}

impl ParticipantObject {
    /// A participant object with the given ID type and ID, nothing else.
    pub fn new(id_type_code: CodedValue, id: impl Into<String>) -> ParticipantObject {
        ParticipantObject {
            id_type_code,
            type_code: None,
            type_code_role: None,
            data_life_cycle: None,
            id: id.into(),
            sensitivity: None,
            name: None,
            query: None,
            details: Vec::new(),
            descriptions: Vec::new(),
        }
    }

    /// A patient (type 1 person, role 1 patient, ID type 2 "Patient Number"); `id` in HL7 CX
    /// form, e.g. `4711^^^&1.2.3&ISO`.
    pub fn patient(id: impl Into<String>) -> ParticipantObject {
        ParticipantObject {
            type_code: Some(1),
            type_code_role: Some(1),
            ..ParticipantObject::new(CodedValue::rfc3881("2", "Patient Number"), id)
        }
    }

    /// The query of a query transaction (type 2 system object, role 24 query), as IHE ITI TF-2
    /// asks for ITI-18 and similar: the transaction as ID type, the stored query id as ID, the
    /// request as ParticipantObjectQuery, and `QueryEncoding` UTF-8.
    pub fn query(
        transaction: CodedValue,
        query_id: impl Into<String>,
        request: impl Into<Vec<u8>>,
    ) -> ParticipantObject {
        ParticipantObject {
            type_code: Some(2),
            type_code_role: Some(24),
            query: Some(request.into()),
            details: vec![ObjectDetail::new("QueryEncoding", "UTF-8")],
            ..ParticipantObject::new(transaction, query_id)
        }
    }

    /// A document (type 2 system object, role 3 report, ID type 9 "Report Number") with its
    /// repository and, if given, home community.
    pub fn document(
        unique_id: impl Into<String>,
        repository_unique_id: Option<&str>,
        home_community_id: Option<&str>,
    ) -> ParticipantObject {
        let mut details = Vec::new();
        if let Some(r) = repository_unique_id {
            details.push(ObjectDetail::new("Repository Unique Id", r));
        }
        if let Some(h) = home_community_id {
            details.push(ObjectDetail::new("ihe:homeCommunityID", h));
        }
        ParticipantObject {
            type_code: Some(2),
            type_code_role: Some(3),
            details,
            ..ParticipantObject::new(CodedValue::rfc3881("9", "Report Number"), unique_id)
        }
    }

    /// An XDS submission set (type 2 system object, role 20 job), identified by its uniqueId.
    pub fn submission_set(unique_id: impl Into<String>) -> ParticipantObject {
        ParticipantObject {
            type_code: Some(2),
            type_code_role: Some(20),
            ..ParticipantObject::new(
                CodedValue::new(
                    "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd",
                    "IHE XDS Metadata",
                    "submission set classificationNode",
                ),
                unique_id,
            )
        }
    }
}

/// One DICOM PS3.15 A.5 audit message (or an RFC 3881 one, read into the same model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditMessage {
    pub format: Format,
    pub event: EventIdentification,
    pub active_participants: Vec<ActiveParticipant>,
    pub audit_source: AuditSourceIdentification,
    /// Further AuditSourceIdentification elements: RFC 3881 allows several, DICOM one.
    pub additional_audit_sources: Vec<AuditSourceIdentification>,
    pub participant_objects: Vec<ParticipantObject>,
}
