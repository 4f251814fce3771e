//! A submission (ITI TF-3 §4.1.4 "Submission Request"): one SubmissionSet with the
//! DocumentEntries, Folders and Associations submitted together — the content of ITI-41
//! Provide and Register Document Set-b (ITI TF-2b §3.41) and ITI-42 Register Document Set-b
//! (ITI TF-2b §3.42).

use bytes::Bytes;

use super::association::Association;
use super::document_entry::DocumentEntry;
use super::error_code::ErrorCode;
use super::folder::Folder;
use super::object_id::{RegistryObjectId, Uuid};
use super::submission_set::SubmissionSet;

/// Which transaction a submission came with; some rules and error codes differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubmissionKind {
    /// ITI-41 (and RAD-68): metadata with the documents, received by the repository. hash, size
    /// and repositoryUniqueId are optional (the repository sets them).
    ProvideAndRegister,
    /// ITI-42: metadata only, from a repository. hash, size and repositoryUniqueId are required.
    Register,
}

impl SubmissionKind {
    /// The code for metadata errors. hiehub is an integrated repository and registry: what it
    /// finds in an ITI-41 request it finds as the repository (`XDSRepositoryMetadataError`, the
    /// code the fixtures' README prefers); in ITI-42 as the registry.
    pub fn metadata_error(self) -> ErrorCode {
        match self {
            SubmissionKind::ProvideAndRegister => ErrorCode::XDSRepositoryMetadataError,
            SubmissionKind::Register => ErrorCode::XDSRegistryMetadataError,
        }
    }

    /// The code for a uniqueId that occurs twice in the message.
    pub fn duplicate_unique_id_in_message(self) -> ErrorCode {
        match self {
            SubmissionKind::ProvideAndRegister => {
                ErrorCode::XDSRepositoryDuplicateUniqueIdInMessage
            }
            SubmissionKind::Register => ErrorCode::XDSRegistryDuplicateUniqueIdInMessage,
        }
    }

    /// The transaction's name, for messages.
    pub fn transaction(self) -> &'static str {
        match self {
            SubmissionKind::ProvideAndRegister => "ITI-41",
            SubmissionKind::Register => "ITI-42",
        }
    }
}

/// The bytes of one document of an ITI-41 submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentContent {
    /// The id of its DocumentEntry.
    pub entry_uuid: RegistryObjectId,
    pub bytes: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub submission_set: SubmissionSet,
    /// The DocumentEntries.
    pub documents: Vec<DocumentEntry>,
    pub folders: Vec<Folder>,
    pub associations: Vec<Association>,
    /// `rim:ObjectRef`s sent with the metadata (references to registered objects).
    pub object_refs: Vec<RegistryObjectId>,
    /// ITI-41: the documents, in the order sent. Empty for ITI-42.
    pub contents: Vec<DocumentContent>,
}

/// Which end of an association a reference is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum End {
    Source,
    Target,
}

/// An association end that names an object outside the submission: the registry must find it
/// (and check its type, status and patient) before it accepts the submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalReference {
    pub association: RegistryObjectId,
    pub association_type: super::association::AssociationType,
    pub end: End,
    pub uuid: Uuid,
}

impl Submission {
    /// Whether `id` is the id of an object of this submission.
    pub fn contains(&self, id: &RegistryObjectId) -> bool {
        self.submission_set.entry_uuid == *id
            || self.documents.iter().any(|d| d.entry_uuid == *id)
            || self.folders.iter().any(|f| f.entry_uuid == *id)
            || self.associations.iter().any(|a| a.entry_uuid == *id)
    }

    /// Association ends that refer to registered objects (UUIDs not in the submission).
    pub fn external_references(&self) -> Vec<ExternalReference> {
        let mut out = Vec::new();
        for a in &self.associations {
            for (end, id) in [(End::Source, &a.source), (End::Target, &a.target)] {
                if let RegistryObjectId::Uuid(uuid) = id
                    && !self.contains(id)
                {
                    out.push(ExternalReference {
                        association: a.entry_uuid.clone(),
                        association_type: a.association_type,
                        end,
                        uuid: *uuid,
                    });
                }
            }
        }
        out
    }

    /// The content sent for the DocumentEntry `id`.
    pub fn content_of(&self, id: &RegistryObjectId) -> Option<&DocumentContent> {
        self.contents.iter().find(|c| c.entry_uuid == *id)
    }
}
