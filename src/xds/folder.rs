//! Folder (ITI TF-3 §4.1.1 and §4.2.3.4): a named group of DocumentEntries of one patient, a
//! `rim:RegistryPackage` classified with the Folder node on the wire.

use super::code::Code;
use super::dtm::DtmTime;
use super::object_id::RegistryObjectId;
use super::oid::Oid;
use super::patient_id::PatientId;
use super::slot::Slot;
use super::status::AvailabilityStatus;
use super::text::InternationalText;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    pub entry_uuid: RegistryObjectId,
    pub logical_id: Option<RegistryObjectId>,
    pub version: Option<String>,
    pub availability_status: Option<AvailabilityStatus>,
    pub home_community_id: Option<String>,
    pub patient_id: PatientId,
    pub unique_id: Oid,
    /// codeList: at least one.
    pub code_list: Vec<Code>,
    /// Set by the registry when documents are added (a submitted value is kept but not trusted).
    pub last_update_time: Option<DtmTime>,
    pub title: Option<InternationalText>,
    pub comments: Option<InternationalText>,
    pub limited_metadata: bool,
    pub extra_slots: Vec<Slot>,
}
