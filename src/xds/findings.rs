//! The collector the conversions and checks report into, and the facts about each submitted
//! object that the cross-object rules ([`super::structure`]) work on. Facts are gathered even for
//! objects too broken to become domain values, so one broken object does not hide the problems
//! of the others.

use super::association::AssociationType;
use super::error_code::ErrorCode;
use super::object_id::RegistryObjectId;
use super::patient_id::PatientId;
use super::problem::{Problem, Severity};
use super::sha1_hex::Sha1Hex;
use super::submission::SubmissionKind;

pub(crate) struct Findings {
    pub kind: SubmissionKind,
    pub problems: Vec<Problem>,
}

impl Findings {
    pub fn new(kind: SubmissionKind) -> Findings {
        Findings {
            kind,
            problems: Vec::new(),
        }
    }

    pub fn push(
        &mut self,
        code: ErrorCode,
        severity: Severity,
        rule: &'static str,
        context: &str,
        message: impl Into<String>,
    ) {
        debug_assert!(super::problem::is_rule(rule), "rule {rule} is not in RULES");
        self.problems.push(Problem {
            code,
            severity,
            rule,
            context: context.to_string(),
            message: message.into(),
        });
    }

    /// A metadata error, with the code of the transaction ([`SubmissionKind::metadata_error`]).
    pub fn metadata(&mut self, rule: &'static str, context: &str, message: impl Into<String>) {
        self.push(
            self.kind.metadata_error(),
            Severity::Error,
            rule,
            context,
            message,
        );
    }

    /// Metadata not kept (a warning).
    pub fn not_saved(&mut self, rule: &'static str, context: &str, message: impl Into<String>) {
        self.push(
            ErrorCode::XDSExtraMetadataNotSaved,
            Severity::Warning,
            rule,
            context,
            message,
        );
    }
}

/// The key objects are matched by: the canonical form of a UUID id, the trimmed text otherwise.
pub(crate) fn id_key(raw: &str) -> String {
    match RegistryObjectId::parse(raw) {
        Ok(id) => id.to_string(),
        Err(_) => raw.trim().to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ObjectKind {
    DocumentEntry,
    SubmissionSet,
    Folder,
    Association,
    /// A RegistryPackage that is neither SubmissionSet nor Folder.
    Package,
}

impl ObjectKind {
    pub fn name(self) -> &'static str {
        match self {
            ObjectKind::DocumentEntry => "DocumentEntry",
            ObjectKind::SubmissionSet => "SubmissionSet",
            ObjectKind::Folder => "Folder",
            ObjectKind::Association => "Association",
            ObjectKind::Package => "RegistryPackage",
        }
    }
}

/// What the cross-object rules need to know about a DocumentEntry, SubmissionSet or Folder.
#[derive(Debug, Clone)]
pub(crate) struct ObjectFacts {
    pub key: String,
    pub kind: ObjectKind,
    /// How problems name the object, e.g. `DocumentEntry 'Document01' (uniqueId 1.42.1)`.
    pub context: String,
    pub patient_id: Option<PatientId>,
    /// The uniqueId as sent (trimmed).
    pub unique_id: Option<String>,
    pub hash: Option<Sha1Hex>,
    pub size: Option<u64>,
    pub on_demand: bool,
}

/// What the cross-object rules need to know about an Association.
#[derive(Debug, Clone)]
pub(crate) struct AssociationFacts {
    pub key: String,
    pub context: String,
    pub association_type: Option<AssociationType>,
    pub source_key: String,
    pub target_key: String,
    /// The end is a well-formed `urn:uuid:` id (it may name a registered object).
    pub source_is_uuid: bool,
    pub target_is_uuid: bool,
    /// The values of the SubmissionSetStatus slot, when the slot is present.
    pub submission_set_status: Option<Vec<String>>,
}

/// A document of an ITI-41 request.
#[derive(Debug, Clone)]
pub(crate) struct DocumentFacts {
    pub key: String,
    pub context: String,
    pub hash: Sha1Hex,
    pub size: u64,
}
