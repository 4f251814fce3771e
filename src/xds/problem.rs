//! What validation finds: a [`Problem`] names its IHE error code, its severity, the stable name of
//! the rule that found it, and the object it is about (ITI TF-3 §4.2.4.1: `codeContext` "shall
//! name the offending object").
//!
//! Conversions collect problems instead of stopping at the first (STYLE: broken input gives
//! `(T, Vec<Error>)`). Rule names are stable: affinity-domain profiles set a severity per rule
//! name, and tests refer to them.

use std::fmt;

use super::error_code::ErrorCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// The submission fails (RegistryError severity Error).
    Error,
    /// Reported in the response, submission kept (RegistryError severity Warning).
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: ErrorCode,
    pub severity: Severity,
    /// The rule, e.g. `DocumentEntry.patientId.required` (see [`RULES`]).
    pub rule: &'static str,
    /// The object: kind, id and uniqueId when known, e.g.
    /// `DocumentEntry 'Document01' (uniqueId 1.42.1)`.
    pub context: String,
    /// What is wrong, in words a sender's integrator understands. Never internal detail.
    pub message: String,
}

impl Problem {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The text for `rs:RegistryError/@codeContext`.
    pub fn code_context(&self) -> String {
        format!("{}: {}", self.context, self.message)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{severity} {} [{}] {}: {}",
            self.code, self.rule, self.context, self.message
        )
    }
}

/// Whether any problem fails the request.
pub fn has_errors(problems: &[Problem]) -> bool {
    problems.iter().any(Problem::is_error)
}

/// What an affinity domain makes of a rule (issue 3: error / warning in the response / off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleSetting {
    Error,
    Warning,
    Off,
}

/// Applies an affinity domain's settings: `setting(rule)` gives the rule's setting, `None`
/// keeps the IHE default the problem was raised with.
pub fn apply_rule_settings(
    problems: Vec<Problem>,
    setting: impl Fn(&str) -> Option<RuleSetting>,
) -> Vec<Problem> {
    problems
        .into_iter()
        .filter_map(|mut p| {
            match setting(p.rule) {
                None => {}
                Some(RuleSetting::Off) => return None,
                Some(RuleSetting::Error) => p.severity = Severity::Error,
                Some(RuleSetting::Warning) => p.severity = Severity::Warning,
            }
            Some(p)
        })
        .collect()
}

/// Every rule the `xds` conversions and checks apply, with what it checks. `{Object}` rules exist
/// for DocumentEntry, SubmissionSet and Folder as listed.
pub const RULES: &[(&str, &str)] = &[
    // The message (ebRIM/ebRS 3.0 schemas)
    (
        "Message.schema.valid",
        "the message follows the ebRIM/ebRS 3.0 and XDS.b schemas (element order, required attributes)",
    ),
    // Submission structure (ITI TF-3 §4.1.4, §4.2.1)
    (
        "Submission.submissionSet.exactlyOne",
        "a submission holds exactly one SubmissionSet",
    ),
    (
        "Submission.ids.unique",
        "no two objects of a submission share an id",
    ),
    (
        "Submission.uniqueIds.unique",
        "no two DocumentEntries, Folders or SubmissionSets of a submission share a uniqueId",
    ),
    (
        "Submission.patientId.consistent",
        "DocumentEntries and Folders carry the SubmissionSet's patientId",
    ),
    (
        "Submission.patientId.known",
        "the patientId is known in the affinity domain (hook: PatientRegistry)",
    ),
    (
        "Submission.onDemand.notAllowed",
        "ITI-41/42 register Stable DocumentEntries only",
    ),
    (
        "RegistryPackage.kind.known",
        "a RegistryPackage is classified as exactly one of SubmissionSet or Folder",
    ),
    (
        "Classification.classifiedObject.resolves",
        "a top-level Classification classifies an object of the submission",
    ),
    (
        "Classification.classifiedObject.matchesParent",
        "a nested Classification classifies its parent",
    ),
    (
        "Classification.scheme.known",
        "classifications of an unknown scheme are not kept (XDSExtraMetadataNotSaved)",
    ),
    (
        "ExternalIdentifier.registryObject.resolves",
        "a top-level ExternalIdentifier identifies an object of the submission",
    ),
    (
        "ExternalIdentifier.registryObject.matchesParent",
        "a nested ExternalIdentifier identifies its parent",
    ),
    (
        "ExternalIdentifier.scheme.known",
        "identifiers of an unknown scheme are not kept (XDSExtraMetadataNotSaved)",
    ),
    // Documents of ITI-41 (ITI TF-2b §3.41.4.1.3)
    (
        "DocumentEntry.document.present",
        "each DocumentEntry of an ITI-41 submission has its document",
    ),
    (
        "Document.metadata.present",
        "each document of an ITI-41 submission has its DocumentEntry",
    ),
    (
        "Document.id.unique",
        "no two documents of an ITI-41 submission share an id",
    ),
    (
        "DocumentEntry.hash.matchesDocument",
        "a submitted hash is the SHA-1 of the document",
    ),
    (
        "DocumentEntry.size.matchesDocument",
        "a submitted size is the document's length",
    ),
    // Associations (ITI TF-3 §4.2.2)
    (
        "Association.associationType.known",
        "the association type is one of ITI TF-3 §4.2.2",
    ),
    (
        "Association.associationType.allowed",
        "metadata-update association types belong to ITI-57, not ITI-41/42",
    ),
    (
        "Association.entryUUID.format",
        "an id that starts urn:uuid: is a UUID",
    ),
    (
        "Association.sourceObject.resolves",
        "a symbolic sourceObject names an object of the submission",
    ),
    (
        "Association.targetObject.resolves",
        "a symbolic targetObject names an object of the submission",
    ),
    (
        "Association.sourceObject.format",
        "a sourceObject that starts urn:uuid: is a UUID",
    ),
    (
        "Association.targetObject.format",
        "a targetObject that starts urn:uuid: is a UUID",
    ),
    (
        "Association.HasMember.source.valid",
        "HasMember goes from the SubmissionSet or a Folder",
    ),
    (
        "Association.HasMember.target.valid",
        "HasMember from a Folder targets a DocumentEntry; from the SubmissionSet a DocumentEntry, Folder or Association",
    ),
    (
        "Association.HasMember.SubmissionSetStatus.required",
        "SubmissionSet-HasMember-DocumentEntry carries SubmissionSetStatus",
    ),
    (
        "Association.HasMember.SubmissionSetStatus.valid",
        "SubmissionSetStatus is Original or Reference, single-valued",
    ),
    (
        "Association.HasMember.SubmissionSetStatus.consistent",
        "Original targets a DocumentEntry of the submission, Reference one already registered",
    ),
    (
        "Association.relationship.sourceInSubmission",
        "RPLC, XFRM, APND, XFRM_RPLC and signs go from a DocumentEntry of the submission",
    ),
    (
        "Association.relationship.targetRegistered",
        "RPLC, XFRM, APND and XFRM_RPLC target a DocumentEntry already registered",
    ),
    (
        "DocumentEntry.submissionSetMembership.required",
        "each DocumentEntry is a member of the SubmissionSet (HasMember, Original)",
    ),
    (
        "Folder.submissionSetMembership.required",
        "each Folder is a member of the SubmissionSet",
    ),
    // Object attributes (ITI TF-3 Table 4.3.1-3; formats of §4.2.3.1)
    (
        "DocumentEntry.entryUUID.format",
        "an id that starts urn:uuid: is a UUID",
    ),
    ("DocumentEntry.objectType.required", "objectType is given"),
    (
        "DocumentEntry.objectType.valid",
        "objectType is the Stable or On-Demand DocumentEntry type",
    ),
    ("DocumentEntry.mimeType.required", "mimeType is given"),
    ("DocumentEntry.patientId.required", "one patientId"),
    (
        "DocumentEntry.patientId.singleValued",
        "at most one patientId",
    ),
    (
        "DocumentEntry.patientId.format",
        "patientId is CX id^^^&OID&ISO",
    ),
    ("DocumentEntry.uniqueId.required", "one uniqueId"),
    (
        "DocumentEntry.uniqueId.singleValued",
        "at most one uniqueId",
    ),
    (
        "DocumentEntry.uniqueId.format",
        "uniqueId is OID (max 64) or OID^extension (max 16)",
    ),
    ("DocumentEntry.classCode.required", "one classCode"),
    (
        "DocumentEntry.classCode.singleValued",
        "at most one classCode",
    ),
    (
        "DocumentEntry.confidentialityCode.required",
        "at least one confidentialityCode",
    ),
    ("DocumentEntry.formatCode.required", "one formatCode"),
    (
        "DocumentEntry.formatCode.singleValued",
        "at most one formatCode",
    ),
    (
        "DocumentEntry.healthcareFacilityTypeCode.required",
        "one healthcareFacilityTypeCode",
    ),
    (
        "DocumentEntry.healthcareFacilityTypeCode.singleValued",
        "at most one healthcareFacilityTypeCode",
    ),
    (
        "DocumentEntry.practiceSettingCode.required",
        "one practiceSettingCode",
    ),
    (
        "DocumentEntry.practiceSettingCode.singleValued",
        "at most one practiceSettingCode",
    ),
    ("DocumentEntry.typeCode.required", "one typeCode"),
    (
        "DocumentEntry.typeCode.singleValued",
        "at most one typeCode",
    ),
    (
        "DocumentEntry.creationTime.required",
        "creationTime is given (Stable entries)",
    ),
    (
        "DocumentEntry.creationTime.singleValued",
        "creationTime has one value",
    ),
    (
        "DocumentEntry.creationTime.format",
        "creationTime is DTM YYYY[MM[DD[hh[mm[ss]]]]]",
    ),
    (
        "DocumentEntry.serviceStartTime.singleValued",
        "serviceStartTime has one value",
    ),
    (
        "DocumentEntry.serviceStartTime.format",
        "serviceStartTime is DTM",
    ),
    (
        "DocumentEntry.serviceStopTime.singleValued",
        "serviceStopTime has one value",
    ),
    (
        "DocumentEntry.serviceStopTime.format",
        "serviceStopTime is DTM",
    ),
    (
        "DocumentEntry.languageCode.required",
        "languageCode is given",
    ),
    (
        "DocumentEntry.languageCode.singleValued",
        "languageCode has one value",
    ),
    (
        "DocumentEntry.sourcePatientId.required",
        "sourcePatientId is given",
    ),
    (
        "DocumentEntry.sourcePatientId.singleValued",
        "sourcePatientId has one value",
    ),
    (
        "DocumentEntry.legalAuthenticator.singleValued",
        "legalAuthenticator has one value",
    ),
    ("DocumentEntry.hash.required", "hash is given (ITI-42)"),
    ("DocumentEntry.hash.singleValued", "hash has one value"),
    (
        "DocumentEntry.hash.format",
        "hash is 40 hexadecimal digits (SHA-1)",
    ),
    ("DocumentEntry.size.required", "size is given (ITI-42)"),
    ("DocumentEntry.size.singleValued", "size has one value"),
    (
        "DocumentEntry.size.format",
        "size is a non-negative integer",
    ),
    (
        "DocumentEntry.repositoryUniqueId.required",
        "repositoryUniqueId is given (ITI-42)",
    ),
    (
        "DocumentEntry.repositoryUniqueId.singleValued",
        "repositoryUniqueId has one value",
    ),
    (
        "DocumentEntry.repositoryUniqueId.format",
        "repositoryUniqueId is an OID",
    ),
    ("DocumentEntry.URI.singleValued", "URI has one value"),
    (
        "DocumentEntry.documentAvailability.singleValued",
        "documentAvailability has one value",
    ),
    (
        "DocumentEntry.availabilityStatus.format",
        "status is Submitted, Approved or Deprecated",
    ),
    (
        "SubmissionSet.entryUUID.format",
        "an id that starts urn:uuid: is a UUID",
    ),
    ("SubmissionSet.patientId.required", "one patientId"),
    (
        "SubmissionSet.patientId.singleValued",
        "at most one patientId",
    ),
    (
        "SubmissionSet.patientId.format",
        "patientId is CX id^^^&OID&ISO",
    ),
    ("SubmissionSet.uniqueId.required", "one uniqueId"),
    (
        "SubmissionSet.uniqueId.singleValued",
        "at most one uniqueId",
    ),
    (
        "SubmissionSet.uniqueId.format",
        "uniqueId is an OID (max 64)",
    ),
    ("SubmissionSet.sourceId.required", "one sourceId"),
    (
        "SubmissionSet.sourceId.singleValued",
        "at most one sourceId",
    ),
    ("SubmissionSet.sourceId.format", "sourceId is an OID"),
    (
        "SubmissionSet.submissionTime.required",
        "submissionTime is given",
    ),
    (
        "SubmissionSet.submissionTime.singleValued",
        "submissionTime has one value",
    ),
    (
        "SubmissionSet.submissionTime.format",
        "submissionTime is DTM",
    ),
    (
        "SubmissionSet.contentTypeCode.required",
        "one contentTypeCode",
    ),
    (
        "SubmissionSet.contentTypeCode.singleValued",
        "at most one contentTypeCode",
    ),
    (
        "SubmissionSet.availabilityStatus.format",
        "status is Submitted, Approved or Deprecated",
    ),
    (
        "Folder.entryUUID.format",
        "an id that starts urn:uuid: is a UUID",
    ),
    ("Folder.patientId.required", "one patientId"),
    ("Folder.patientId.singleValued", "at most one patientId"),
    ("Folder.patientId.format", "patientId is CX id^^^&OID&ISO"),
    ("Folder.uniqueId.required", "one uniqueId"),
    ("Folder.uniqueId.singleValued", "at most one uniqueId"),
    ("Folder.uniqueId.format", "uniqueId is an OID (max 64)"),
    ("Folder.codeList.required", "at least one codeList code"),
    (
        "Folder.lastUpdateTime.singleValued",
        "lastUpdateTime has one value",
    ),
    ("Folder.lastUpdateTime.format", "lastUpdateTime is DTM"),
    (
        "Folder.availabilityStatus.format",
        "status is Submitted, Approved or Deprecated",
    ),
    (
        "Association.availabilityStatus.format",
        "status is Submitted, Approved or Deprecated",
    ),
    // Coded values and authors (ITI TF-3 §4.2.3.1)
    (
        "Code.code.required",
        "a coded value has a code (nodeRepresentation)",
    ),
    (
        "Code.codingScheme.required",
        "a coded value has one codingScheme",
    ),
    (
        "Code.displayName.required",
        "a coded value has a display name (Name)",
    ),
    (
        "Author.content.required",
        "an author has at least one of authorPerson, authorInstitution, authorRole, authorSpecialty, authorTelecommunication",
    ),
    (
        "Author.authorPerson.singleValued",
        "authorPerson has one value",
    ),
    // Affinity domain (hooks: CodeCatalogue)
    (
        "DocumentEntry.classCode.inAffinityDomain",
        "classCode is a code of the affinity domain",
    ),
    (
        "DocumentEntry.confidentialityCode.inAffinityDomain",
        "confidentialityCode is a code of the affinity domain",
    ),
    (
        "DocumentEntry.eventCodeList.inAffinityDomain",
        "eventCodeList codes are codes of the affinity domain",
    ),
    (
        "DocumentEntry.formatCode.inAffinityDomain",
        "formatCode is a code of the affinity domain",
    ),
    (
        "DocumentEntry.healthcareFacilityTypeCode.inAffinityDomain",
        "healthcareFacilityTypeCode is a code of the affinity domain",
    ),
    (
        "DocumentEntry.practiceSettingCode.inAffinityDomain",
        "practiceSettingCode is a code of the affinity domain",
    ),
    (
        "DocumentEntry.typeCode.inAffinityDomain",
        "typeCode is a code of the affinity domain",
    ),
    (
        "DocumentEntry.mimeType.inAffinityDomain",
        "mimeType is accepted in the affinity domain",
    ),
    (
        "SubmissionSet.contentTypeCode.inAffinityDomain",
        "contentTypeCode is a code of the affinity domain",
    ),
    (
        "Folder.codeList.inAffinityDomain",
        "codeList codes are codes of the affinity domain",
    ),
    // ITI-62 Delete Document Set (ITI TF-2b §3.62) and ITI-57 Update Document Set (§3.57)
    (
        "DeleteDocumentSet.request.objectRefList",
        "ITI-62: the RemoveObjectsRequest names the objects to remove in an ObjectRefList",
    ),
    (
        "DeleteDocumentSet.request.noAdhocQuery",
        "ITI-62: objects are named by ObjectRef, not selected by an AdhocQuery",
    ),
    (
        "DeleteDocumentSet.request.deletionScope",
        "ITI-62: deletionScope is DeleteAll (the default)",
    ),
    (
        "DeleteDocumentSet.objectRef.registered",
        "ITI-62: every ObjectRef names a registered object (UnresolvedReferenceException)",
    ),
    (
        "DeleteDocumentSet.references.removedToo",
        "ITI-62: an object is removed only with the Associations that reference it (ReferencesExistException)",
    ),
    (
        "DeleteDocumentSet.objects.stayReferenced",
        "ITI-62: removing Associations leaves no object unreferenced (UnreferencedObjectException)",
    ),
    (
        "UpdateDocumentSet.operation.supported",
        "ITI-57: the update is one hiehub performs (new DocumentEntry version, availability status change)",
    ),
    (
        "UpdateDocumentSet.operation.once",
        "ITI-57: each object is changed at most once per request",
    ),
    (
        "UpdateDocumentSet.ids.unused",
        "ITI-57: the new version's entryUUID is not yet registered",
    ),
    (
        "UpdateDocumentSet.uniqueId.unused",
        "ITI-57: uniqueIds of new objects are not yet registered",
    ),
    (
        "UpdateDocumentSet.patientId.unchanged",
        "ITI-57: a new version keeps the patient id (XDSPatientIDReconciliationError)",
    ),
    (
        "UpdateDocumentSet.version.hasMember",
        "ITI-57: the new version is a member of the update's SubmissionSet",
    ),
    (
        "UpdateDocumentSet.version.previousVersion",
        "ITI-57: the HasMember carries PreviousVersion equal to the latest registered version (XDSMetadataVersionError)",
    ),
    (
        "UpdateDocumentSet.version.previousRegistered",
        "ITI-57: the logicalID names a registered DocumentEntry",
    ),
    (
        "UpdateDocumentSet.version.previousApproved",
        "ITI-57: the latest version is Approved",
    ),
    (
        "UpdateDocumentSet.version.sameDocument",
        "ITI-57: hash, size and repositoryUniqueId do not change (metadata-only update)",
    ),
    (
        "UpdateDocumentSet.version.sameObjectType",
        "ITI-57: the objectType (stable / on-demand) does not change",
    ),
    (
        "UpdateDocumentSet.version.sameUniqueId",
        "ITI-57: the uniqueId does not change",
    ),
    (
        "UpdateDocumentSet.status.slots",
        "ITI-57: an UpdateAvailabilityStatus association carries OriginalStatus and NewStatus",
    ),
    (
        "UpdateDocumentSet.status.ends",
        "ITI-57: an UpdateAvailabilityStatus association goes from the SubmissionSet to a DocumentEntry or Folder",
    ),
    (
        "UpdateDocumentSet.status.targetRegistered",
        "ITI-57: the status change targets a registered object",
    ),
    (
        "UpdateDocumentSet.status.original",
        "ITI-57: OriginalStatus equals the object's current status",
    ),
    (
        "UpdateDocumentSet.status.latestVersion",
        "ITI-57: only the latest version's status changes",
    ),
    // BPPC consent documents (issue 6, `consent::bppc`)
    (
        "Consent.policy.known",
        "a BPPC consent's eventCodeList names a consent policy of the affinity domain",
    ),
    (
        "Consent.document.template",
        "a BPPC consent is a CDA with the BPPC templateId (and the XDS-SD one for BPPC-SD) and a documentationOf/serviceEvent",
    ),
    (
        "Consent.document.policies",
        "every policy of a BPPC consent's eventCodeList is acknowledged by a serviceEvent/code of the document",
    ),
    (
        "Consent.document.effectiveTime",
        "a BPPC consent's serviceEvent effectiveTime low/high equal serviceStartTime/serviceStopTime",
    ),
];

/// Whether `rule` is one of [`RULES`].
pub fn is_rule(rule: &str) -> bool {
    RULES.iter().any(|(r, _)| *r == rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_settings_change_severity_or_drop() {
        let p = |rule: &'static str| Problem {
            code: ErrorCode::XDSRegistryMetadataError,
            severity: Severity::Error,
            rule,
            context: "DocumentEntry 'a'".into(),
            message: "m".into(),
        };
        let out = apply_rule_settings(
            vec![
                p("DocumentEntry.classCode.inAffinityDomain"),
                p("DocumentEntry.URI.singleValued"),
                p("Submission.ids.unique"),
            ],
            |rule| match rule {
                "DocumentEntry.classCode.inAffinityDomain" => Some(RuleSetting::Warning),
                "DocumentEntry.URI.singleValued" => Some(RuleSetting::Off),
                _ => None,
            },
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].severity, Severity::Warning);
        assert_eq!(out[1].severity, Severity::Error);
        assert!(has_errors(&out));
    }

    #[test]
    fn rule_names_are_unique() {
        let mut names: Vec<&str> = RULES.iter().map(|(r, _)| *r).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    /// Every rule name written in the sources of `xds` is listed in [`RULES`].
    #[test]
    fn every_rule_used_in_the_sources_is_listed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/xds");
        let prefixes = [
            "Message.",
            "Submission.",
            "RegistryPackage.",
            "Classification.",
            "ExternalIdentifier.",
            "DocumentEntry.",
            "Document.",
            "Association.",
            "SubmissionSet.",
            "Folder.",
            "Code.",
            "Author.",
            "DeleteDocumentSet.",
            "UpdateDocumentSet.",
        ];
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).expect("read src/xds") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.file_name().is_some_and(|n| n == "problem.rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).expect("read source");
                for literal in text.split('"').skip(1).step_by(2) {
                    let looks_like_rule = prefixes.iter().any(|p| literal.starts_with(p))
                        && literal.matches('.').count() >= 2
                        && literal
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
                        && !literal.contains("..");
                    if looks_like_rule {
                        assert!(
                            is_rule(literal),
                            "{}: rule {literal} is not in RULES",
                            path.display()
                        );
                    }
                }
            }
        }
    }
}
