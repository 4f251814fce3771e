//! Associations (ITI TF-3 §4.1.2 and §4.2.2): membership (HasMember) and the relationships
//! between documents (RPLC, XFRM, APND, XFRM_RPLC, signs, IsSnapshotOf), plus the metadata-update
//! types of ITI-57.

use std::fmt;

use super::object_id::RegistryObjectId;
use super::slot::Slot;
use super::status::AvailabilityStatus;
use super::vocabulary as v;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssociationType {
    HasMember,
    Rplc,
    Xfrm,
    Apnd,
    XfrmRplc,
    Signs,
    IsSnapshotOf,
    /// ITI-57 only.
    UpdateAvailabilityStatus,
    /// ITI-57 only.
    SubmitAssociation,
}

impl AssociationType {
    pub const ALL: [AssociationType; 9] = [
        AssociationType::HasMember,
        AssociationType::Rplc,
        AssociationType::Xfrm,
        AssociationType::Apnd,
        AssociationType::XfrmRplc,
        AssociationType::Signs,
        AssociationType::IsSnapshotOf,
        AssociationType::UpdateAvailabilityStatus,
        AssociationType::SubmitAssociation,
    ];

    pub fn as_urn(self) -> &'static str {
        match self {
            AssociationType::HasMember => v::ASSOCIATION_HAS_MEMBER,
            AssociationType::Rplc => v::ASSOCIATION_RPLC,
            AssociationType::Xfrm => v::ASSOCIATION_XFRM,
            AssociationType::Apnd => v::ASSOCIATION_APND,
            AssociationType::XfrmRplc => v::ASSOCIATION_XFRM_RPLC,
            AssociationType::Signs => v::ASSOCIATION_SIGNS,
            AssociationType::IsSnapshotOf => v::ASSOCIATION_IS_SNAPSHOT_OF,
            AssociationType::UpdateAvailabilityStatus => v::ASSOCIATION_UPDATE_AVAILABILITY_STATUS,
            AssociationType::SubmitAssociation => v::ASSOCIATION_SUBMIT_ASSOCIATION,
        }
    }

    pub fn parse(urn: &str) -> Option<AssociationType> {
        let urn = urn.trim();
        AssociationType::ALL.into_iter().find(|t| t.as_urn() == urn)
    }

    /// The short name used in ITI TF-3 (`HasMember`, `RPLC`, ...).
    pub fn name(self) -> &'static str {
        match self {
            AssociationType::HasMember => "HasMember",
            AssociationType::Rplc => "RPLC",
            AssociationType::Xfrm => "XFRM",
            AssociationType::Apnd => "APND",
            AssociationType::XfrmRplc => "XFRM_RPLC",
            AssociationType::Signs => "signs",
            AssociationType::IsSnapshotOf => "IsSnapshotOf",
            AssociationType::UpdateAvailabilityStatus => "UpdateAvailabilityStatus",
            AssociationType::SubmitAssociation => "SubmitAssociation",
        }
    }

    /// A relationship between a new document and an existing one (ITI TF-3 §4.2.2.2), whose
    /// target the registry must find registered (and Approved, for the replacements).
    pub fn targets_registered_document(self) -> bool {
        matches!(
            self,
            AssociationType::Rplc
                | AssociationType::Xfrm
                | AssociationType::Apnd
                | AssociationType::XfrmRplc
                | AssociationType::IsSnapshotOf
        )
    }

    /// Deprecates its target (ITI TF-3 §4.2.2.2: RPLC and XFRM_RPLC).
    pub fn replaces(self) -> bool {
        matches!(self, AssociationType::Rplc | AssociationType::XfrmRplc)
    }
}

impl fmt::Display for AssociationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The SubmissionSetStatus slot of SubmissionSet-HasMember-DocumentEntry (ITI TF-3 §4.2.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubmissionSetStatus {
    /// The DocumentEntry is submitted with this SubmissionSet.
    Original,
    /// The DocumentEntry was registered earlier; this SubmissionSet refers to it.
    Reference,
}

impl SubmissionSetStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SubmissionSetStatus::Original => v::SUBMISSION_SET_STATUS_ORIGINAL,
            SubmissionSetStatus::Reference => v::SUBMISSION_SET_STATUS_REFERENCE,
        }
    }

    pub fn parse(s: &str) -> Option<SubmissionSetStatus> {
        match s.trim() {
            v::SUBMISSION_SET_STATUS_ORIGINAL => Some(SubmissionSetStatus::Original),
            v::SUBMISSION_SET_STATUS_REFERENCE => Some(SubmissionSetStatus::Reference),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Association {
    pub entry_uuid: RegistryObjectId,
    pub association_type: AssociationType,
    pub source: RegistryObjectId,
    pub target: RegistryObjectId,
    pub availability_status: Option<AvailabilityStatus>,
    pub submission_set_status: Option<SubmissionSetStatus>,
    /// Other slots (e.g. the ITI-57 NewStatus/OriginalStatus/PreviousVersion), kept in order.
    pub extra_slots: Vec<Slot>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_statuses() {
        for t in AssociationType::ALL {
            assert_eq!(AssociationType::parse(t.as_urn()), Some(t));
        }
        assert_eq!(AssociationType::parse("HasMember"), None);
        assert_eq!(
            AssociationType::parse("urn:ihe:iti:2007:AssociationType:XFRM"),
            Some(AssociationType::Xfrm)
        );
        assert_eq!(
            SubmissionSetStatus::parse("Reference"),
            Some(SubmissionSetStatus::Reference)
        );
        assert_eq!(SubmissionSetStatus::parse("original"), None);
    }
}
