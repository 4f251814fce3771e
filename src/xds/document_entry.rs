//! DocumentEntry (ITI TF-3 §4.1.1, §4.1.3 and §4.2.3.2): the metadata of one document, a
//! `rim:ExtrinsicObject` on the wire.
//!
//! Attributes every DocumentEntry has (Table 4.3.1-3: required for the Document Source and the
//! Document Repository alike) are plain fields; attributes that are optional, required only for
//! some actors (hash, size, repositoryUniqueId: required in ITI-42, computed by the repository in
//! ITI-41) or absent for On-Demand entries (creationTime) are `Option`s.

use super::author::Author;
use super::code::Code;
use super::dtm::DtmTime;
use super::hl7::Xcn;
use super::object_id::RegistryObjectId;
use super::oid::Oid;
use super::patient_id::PatientId;
use super::sha1_hex::Sha1Hex;
use super::slot::Slot;
use super::status::AvailabilityStatus;
use super::text::InternationalText;
use super::unique_id::UniqueId;
use super::vocabulary::{DOCUMENT_ENTRY_ON_DEMAND, DOCUMENT_ENTRY_STABLE};

/// objectType (ITI TF-3 §4.2.3.2 objectType).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentEntryType {
    Stable,
    OnDemand,
}

impl DocumentEntryType {
    pub fn as_uuid(self) -> &'static str {
        match self {
            DocumentEntryType::Stable => DOCUMENT_ENTRY_STABLE,
            DocumentEntryType::OnDemand => DOCUMENT_ENTRY_ON_DEMAND,
        }
    }

    pub fn parse(uuid: &str) -> Option<DocumentEntryType> {
        match uuid.trim() {
            DOCUMENT_ENTRY_STABLE => Some(DocumentEntryType::Stable),
            DOCUMENT_ENTRY_ON_DEMAND => Some(DocumentEntryType::OnDemand),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentEntry {
    /// entryUUID (a symbolic id until the registry assigns a UUID).
    pub entry_uuid: RegistryObjectId,
    /// logicalID (`lid`), for versioned entries (ITI-57).
    pub logical_id: Option<RegistryObjectId>,
    /// version (`VersionInfo/@versionName`).
    pub version: Option<String>,
    pub object_type: DocumentEntryType,
    pub availability_status: Option<AvailabilityStatus>,
    /// homeCommunityId (`home`).
    pub home_community_id: Option<String>,
    pub patient_id: PatientId,
    pub unique_id: UniqueId,
    pub mime_type: String,
    pub class_code: Code,
    pub type_code: Code,
    pub format_code: Code,
    pub healthcare_facility_type_code: Code,
    pub practice_setting_code: Code,
    /// At least one.
    pub confidentiality_codes: Vec<Code>,
    pub event_codes: Vec<Code>,
    pub authors: Vec<Author>,
    pub title: Option<InternationalText>,
    pub comments: Option<InternationalText>,
    pub language_code: String,
    pub creation_time: Option<DtmTime>,
    pub service_start_time: Option<DtmTime>,
    pub service_stop_time: Option<DtmTime>,
    pub hash: Option<Sha1Hex>,
    pub size: Option<u64>,
    pub repository_unique_id: Option<Oid>,
    /// sourcePatientId (CX as sent: the source's local id need not be an ISO-OID one).
    pub source_patient_id: Option<String>,
    /// sourcePatientInfo (`PID-n|value` lines as sent).
    pub source_patient_info: Vec<String>,
    pub legal_authenticator: Option<Xcn>,
    pub uri: Option<String>,
    /// referenceIdList (CXi values as sent).
    pub reference_id_list: Vec<String>,
    /// documentAvailability (Online/Offline URN as sent).
    pub document_availability: Option<String>,
    /// Classified with the limitedMetadata node.
    pub limited_metadata: bool,
    /// Slots that are not attributes of ITI TF-3, kept in order.
    pub extra_slots: Vec<Slot>,
}
