//! SubmissionSet (ITI TF-3 §4.1.4 and §4.2.3.3): the record of one submission, a
//! `rim:RegistryPackage` classified with the SubmissionSet node on the wire.

use super::author::Author;
use super::code::Code;
use super::dtm::DtmTime;
use super::object_id::RegistryObjectId;
use super::oid::Oid;
use super::patient_id::PatientId;
use super::slot::Slot;
use super::status::AvailabilityStatus;
use super::text::InternationalText;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionSet {
    pub entry_uuid: RegistryObjectId,
    pub availability_status: Option<AvailabilityStatus>,
    pub home_community_id: Option<String>,
    pub patient_id: PatientId,
    pub unique_id: Oid,
    pub source_id: Oid,
    pub submission_time: DtmTime,
    pub content_type_code: Code,
    pub authors: Vec<Author>,
    pub title: Option<InternationalText>,
    pub comments: Option<InternationalText>,
    /// intendedRecipient (`XON|XCN|XTN` values as sent).
    pub intended_recipients: Vec<String>,
    pub limited_metadata: bool,
    pub extra_slots: Vec<Slot>,
}
