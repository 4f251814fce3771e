//! The fixed vocabulary of XDS metadata in ebRIM (ITI TF-3 §4.2.5, Table 4.2.5-1 "Metadata
//! Vocabulary", and the sections it points to): classification schemes, classification nodes,
//! external identifier schemes, association types, status values and slot names.
//!
//! Taken from the IHE specification text; every UUID of the DocumentEntry, SubmissionSet and
//! Folder rows also appears in the third-party samples of `../shared/fixtures/` (the NIST ITI-41
//! capture lists most of them as `rim:ObjectRef`s), which a test checks.

// ---------------------------------------------------------------------------------------------
// DocumentEntry (ITI TF-3 §4.2.3.2; Table 4.2.5-1 rows XDSDocumentEntry.*)
// ---------------------------------------------------------------------------------------------

/// objectType of a Stable DocumentEntry (ITI TF-3 Table 4.2.5-1 "XDSDocumentEntry"; §4.2.3.2).
pub const DOCUMENT_ENTRY_STABLE: &str = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1";
/// objectType of an On-Demand DocumentEntry (ITI TF-3 Table 4.2.5-1; §4.2.3.2).
pub const DOCUMENT_ENTRY_ON_DEMAND: &str = "urn:uuid:34268e47-fdf5-41a6-ba33-82133c465248";
/// DocumentEntry.author classification scheme (ITI TF-3 Table 4.2.5-1; §4.2.3.2).
pub const DOCUMENT_ENTRY_AUTHOR: &str = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d";
/// DocumentEntry.classCode classification scheme (ITI TF-3 Table 4.2.5-1; §4.2.3.2).
pub const DOCUMENT_ENTRY_CLASS_CODE: &str = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a";
/// DocumentEntry.confidentialityCode classification scheme (ITI TF-3 Table 4.2.5-1; §4.2.3.2).
pub const DOCUMENT_ENTRY_CONFIDENTIALITY_CODE: &str =
    "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f";
/// DocumentEntry.eventCodeList classification scheme (ITI TF-3 Table 4.2.5-1; §4.2.3.2).
pub const DOCUMENT_ENTRY_EVENT_CODE: &str = "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4";
/// DocumentEntry.formatCode classification scheme (ITI TF-3 Table 4.2.5-1; §4.2.3.2).
pub const DOCUMENT_ENTRY_FORMAT_CODE: &str = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d";
/// DocumentEntry.healthcareFacilityTypeCode classification scheme (ITI TF-3 Table 4.2.5-1; §4.2.3.2).
pub const DOCUMENT_ENTRY_HEALTHCARE_FACILITY_TYPE_CODE: &str =
    "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1";
/// DocumentEntry.practiceSettingCode classification scheme (ITI TF-3 Table 4.2.5-1; §4.2.3.2).
pub const DOCUMENT_ENTRY_PRACTICE_SETTING_CODE: &str =
    "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead";
/// DocumentEntry.typeCode classification scheme (ITI TF-3 Table 4.2.5-1; §4.2.3.2).
pub const DOCUMENT_ENTRY_TYPE_CODE: &str = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983";
/// DocumentEntry.patientId external identifier scheme (ITI TF-3 Table 4.2.5-1; §4.2.3.2).
pub const DOCUMENT_ENTRY_PATIENT_ID: &str = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427";
/// DocumentEntry.uniqueId external identifier scheme (ITI TF-3 Table 4.2.5-1; §4.2.3.2).
pub const DOCUMENT_ENTRY_UNIQUE_ID: &str = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab";
/// DocumentEntry.limitedMetadata classification node (ITI TF-3 Table 4.2.5-1; §4.2.3.2).
pub const DOCUMENT_ENTRY_LIMITED_METADATA: &str = "urn:uuid:ab9b591b-83ab-4d03-8f5d-f93b1fb92e85";

// ---------------------------------------------------------------------------------------------
// SubmissionSet (ITI TF-3 §4.2.3.3; Table 4.2.5-1 rows XDSSubmissionSet.*)
// ---------------------------------------------------------------------------------------------

/// The classification node that makes a RegistryPackage a SubmissionSet (ITI TF-3 Table 4.2.5-1
/// "XDSSubmissionSet"; §4.2.1).
pub const SUBMISSION_SET: &str = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd";
/// SubmissionSet.author classification scheme (ITI TF-3 Table 4.2.5-1; §4.2.3.3).
pub const SUBMISSION_SET_AUTHOR: &str = "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d";
/// SubmissionSet.contentTypeCode classification scheme (ITI TF-3 Table 4.2.5-1; §4.2.3.3).
pub const SUBMISSION_SET_CONTENT_TYPE_CODE: &str = "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500";
/// SubmissionSet.patientId external identifier scheme (ITI TF-3 Table 4.2.5-1; §4.2.3.3).
pub const SUBMISSION_SET_PATIENT_ID: &str = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446";
/// SubmissionSet.sourceId external identifier scheme (ITI TF-3 Table 4.2.5-1; §4.2.3.3).
pub const SUBMISSION_SET_SOURCE_ID: &str = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832";
/// SubmissionSet.uniqueId external identifier scheme (ITI TF-3 Table 4.2.5-1; §4.2.3.3).
pub const SUBMISSION_SET_UNIQUE_ID: &str = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8";
/// SubmissionSet.limitedMetadata classification node (ITI TF-3 Table 4.2.5-1; §4.2.3.3).
pub const SUBMISSION_SET_LIMITED_METADATA: &str = "urn:uuid:5003a9db-8d8d-49e6-bf0c-990e34ac7707";

// ---------------------------------------------------------------------------------------------
// Folder (ITI TF-3 §4.2.3.4; Table 4.2.5-1 rows XDSFolder.*)
// ---------------------------------------------------------------------------------------------

/// The classification node that makes a RegistryPackage a Folder (ITI TF-3 Table 4.2.5-1
/// "XDSFolder"; §4.2.1).
pub const FOLDER: &str = "urn:uuid:d9d542f3-6cc4-48b6-8870-ea235fbc94c2";
/// Folder.codeList classification scheme (ITI TF-3 Table 4.2.5-1; §4.2.3.4).
pub const FOLDER_CODE_LIST: &str = "urn:uuid:1ba97051-7806-41a8-a48b-8fce7af683c5";
/// Folder.patientId external identifier scheme (ITI TF-3 Table 4.2.5-1; §4.2.3.4).
pub const FOLDER_PATIENT_ID: &str = "urn:uuid:f64ffdf0-4b97-4e06-b79f-a52b38ec2f8a";
/// Folder.uniqueId external identifier scheme (ITI TF-3 Table 4.2.5-1; §4.2.3.4).
pub const FOLDER_UNIQUE_ID: &str = "urn:uuid:75df8f67-9973-4fbe-a900-df66cefecc5a";
/// Folder.limitedMetadata classification node (ITI TF-3 Table 4.2.5-1; §4.2.3.4).
pub const FOLDER_LIMITED_METADATA: &str = "urn:uuid:2c144a76-29a9-4b7c-af54-b25409fe7d03";

// ---------------------------------------------------------------------------------------------
// Associations (ITI TF-3 §4.2.2)
// ---------------------------------------------------------------------------------------------

/// Association documentation classification scheme (ITI TF-3 Table 4.2.5-1; §4.2.2).
pub const ASSOCIATION_DOCUMENTATION: &str = "urn:uuid:abd807a3-4432-4053-87b4-fd82c643d1f3";
/// Membership (ITI TF-3 §4.2.2.1).
pub const ASSOCIATION_HAS_MEMBER: &str =
    "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember";
/// Replacement (ITI TF-3 §4.2.2.2).
pub const ASSOCIATION_RPLC: &str = "urn:ihe:iti:2007:AssociationType:RPLC";
/// Transformation (ITI TF-3 §4.2.2.2).
pub const ASSOCIATION_XFRM: &str = "urn:ihe:iti:2007:AssociationType:XFRM";
/// Addendum (ITI TF-3 §4.2.2.2).
pub const ASSOCIATION_APND: &str = "urn:ihe:iti:2007:AssociationType:APND";
/// Replace with transformation (ITI TF-3 §4.2.2.2).
pub const ASSOCIATION_XFRM_RPLC: &str = "urn:ihe:iti:2007:AssociationType:XFRM_RPLC";
/// Digital signature (ITI TF-3 §4.2.2.2).
pub const ASSOCIATION_SIGNS: &str = "urn:ihe:iti:2007:AssociationType:signs";
/// Snapshot of an On-Demand Document (ITI TF-3 §4.2.2.2).
pub const ASSOCIATION_IS_SNAPSHOT_OF: &str = "urn:ihe:iti:2010:AssociationType:IsSnapshotOf";
/// Metadata update: status change (ITI TF-3 §4.2.2; ITI TF-2b §3.57).
pub const ASSOCIATION_UPDATE_AVAILABILITY_STATUS: &str =
    "urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus";
/// Metadata update: new association (ITI TF-3 §4.2.2; ITI TF-2b §3.57).
pub const ASSOCIATION_SUBMIT_ASSOCIATION: &str =
    "urn:ihe:iti:2010:AssociationType:SubmitAssociation";

/// Slot on a SubmissionSet-to-DocumentEntry HasMember association (ITI TF-3 §4.2.2.1).
pub const SLOT_SUBMISSION_SET_STATUS: &str = "SubmissionSetStatus";
pub const SUBMISSION_SET_STATUS_ORIGINAL: &str = "Original";
pub const SUBMISSION_SET_STATUS_REFERENCE: &str = "Reference";

// ---------------------------------------------------------------------------------------------
// Status (ITI TF-3 §4.2.3.2 availabilityStatus; ebRIM 3.0 StatusType)
// ---------------------------------------------------------------------------------------------

pub const STATUS_SUBMITTED: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Submitted";
pub const STATUS_APPROVED: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved";
pub const STATUS_DEPRECATED: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated";

/// The ebRIM objectType values of the objects themselves (ebRIM 3.0 canonical ObjectType scheme);
/// the XDS objects carry them when a registry returns them.
pub const OBJECT_TYPE_REGISTRY_PACKAGE: &str =
    "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:RegistryPackage";
pub const OBJECT_TYPE_ASSOCIATION: &str =
    "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Association";
pub const OBJECT_TYPE_CLASSIFICATION: &str =
    "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Classification";
pub const OBJECT_TYPE_EXTERNAL_IDENTIFIER: &str =
    "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:ExternalIdentifier";

// ---------------------------------------------------------------------------------------------
// Slot names (ITI TF-3 §4.2.3.2 to §4.2.3.4)
// ---------------------------------------------------------------------------------------------

/// On every coded-value Classification: the code system (ITI TF-3 §4.2.3.1).
pub const SLOT_CODING_SCHEME: &str = "codingScheme";
pub const SLOT_AUTHOR_PERSON: &str = "authorPerson";
pub const SLOT_AUTHOR_INSTITUTION: &str = "authorInstitution";
pub const SLOT_AUTHOR_ROLE: &str = "authorRole";
pub const SLOT_AUTHOR_SPECIALTY: &str = "authorSpecialty";
pub const SLOT_AUTHOR_TELECOMMUNICATION: &str = "authorTelecommunication";
pub const SLOT_CREATION_TIME: &str = "creationTime";
pub const SLOT_HASH: &str = "hash";
pub const SLOT_LANGUAGE_CODE: &str = "languageCode";
pub const SLOT_LEGAL_AUTHENTICATOR: &str = "legalAuthenticator";
pub const SLOT_REPOSITORY_UNIQUE_ID: &str = "repositoryUniqueId";
pub const SLOT_SERVICE_START_TIME: &str = "serviceStartTime";
pub const SLOT_SERVICE_STOP_TIME: &str = "serviceStopTime";
pub const SLOT_SIZE: &str = "size";
pub const SLOT_SOURCE_PATIENT_ID: &str = "sourcePatientId";
pub const SLOT_SOURCE_PATIENT_INFO: &str = "sourcePatientInfo";
pub const SLOT_URI: &str = "URI";
pub const SLOT_DOCUMENT_AVAILABILITY: &str = "documentAvailability";
/// DocumentEntry.referenceIdList (ITI TF-3 §4.2.3.2).
pub const SLOT_REFERENCE_ID_LIST: &str = "urn:ihe:iti:xds:2013:referenceIdList";
pub const SLOT_SUBMISSION_TIME: &str = "submissionTime";
pub const SLOT_INTENDED_RECIPIENT: &str = "intendedRecipient";
pub const SLOT_LAST_UPDATE_TIME: &str = "lastUpdateTime";

/// DocumentEntry.documentAvailability values (ITI TF-3 §4.2.3.2).
pub const DOCUMENT_AVAILABILITY_ONLINE: &str = "urn:ihe:iti:2010:DocumentAvailability:Online";
pub const DOCUMENT_AVAILABILITY_OFFLINE: &str = "urn:ihe:iti:2010:DocumentAvailability:Offline";

/// The Names the ExternalIdentifiers carry (ITI TF-3 §4.2.3.1: informative).
pub const NAME_DOCUMENT_ENTRY_PATIENT_ID: &str = "XDSDocumentEntry.patientId";
pub const NAME_DOCUMENT_ENTRY_UNIQUE_ID: &str = "XDSDocumentEntry.uniqueId";
pub const NAME_SUBMISSION_SET_PATIENT_ID: &str = "XDSSubmissionSet.patientId";
pub const NAME_SUBMISSION_SET_SOURCE_ID: &str = "XDSSubmissionSet.sourceId";
pub const NAME_SUBMISSION_SET_UNIQUE_ID: &str = "XDSSubmissionSet.uniqueId";
pub const NAME_FOLDER_PATIENT_ID: &str = "XDSFolder.patientId";
pub const NAME_FOLDER_UNIQUE_ID: &str = "XDSFolder.uniqueId";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ebxml::test_fixtures::{XDS_FIXTURES, read};

    /// Each UUID of the DocumentEntry, SubmissionSet and Folder rows occurs in the samples.
    #[test]
    fn table_4_2_5_1_uuids_appear_in_the_fixtures() {
        let mut all = String::new();
        for rel in XDS_FIXTURES {
            all.push_str(&String::from_utf8_lossy(&read(rel)));
        }
        for uuid in [
            DOCUMENT_ENTRY_STABLE,
            DOCUMENT_ENTRY_AUTHOR,
            DOCUMENT_ENTRY_CLASS_CODE,
            DOCUMENT_ENTRY_CONFIDENTIALITY_CODE,
            DOCUMENT_ENTRY_EVENT_CODE,
            DOCUMENT_ENTRY_FORMAT_CODE,
            DOCUMENT_ENTRY_HEALTHCARE_FACILITY_TYPE_CODE,
            DOCUMENT_ENTRY_PRACTICE_SETTING_CODE,
            DOCUMENT_ENTRY_TYPE_CODE,
            DOCUMENT_ENTRY_PATIENT_ID,
            DOCUMENT_ENTRY_UNIQUE_ID,
            SUBMISSION_SET,
            SUBMISSION_SET_AUTHOR,
            SUBMISSION_SET_CONTENT_TYPE_CODE,
            SUBMISSION_SET_PATIENT_ID,
            SUBMISSION_SET_SOURCE_ID,
            SUBMISSION_SET_UNIQUE_ID,
            FOLDER,
            FOLDER_CODE_LIST,
            FOLDER_PATIENT_ID,
            FOLDER_UNIQUE_ID,
        ] {
            assert!(all.contains(uuid), "{uuid} is in no fixture");
        }
    }
}
