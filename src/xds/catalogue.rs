//! Hooks for the checks that need affinity-domain data (ITI TF-3 §4.2.3.1: codes "from the
//! affinity domain"; ITI TF-2b §3.42.4.1.3: XDSUnknownPatientId). The data lives in the profiles
//! and the database, not here: this module only walks a submission and asks.
//!
//! Every problem is reported as an error (the IHE default); profiles set each rule's severity
//! afterwards by its name ([`super::RULES`]).

use super::code::{Code, CodeScheme};
use super::error_code::ErrorCode;
use super::findings::Findings;
use super::patient_id::PatientId;
use super::problem::{Problem, Severity};
use super::submission::{Submission, SubmissionKind};

/// The code sets of an affinity domain.
pub trait CodeCatalogue {
    /// Whether `code` (code and codingScheme) is allowed for `scheme`.
    fn knows(&self, scheme: CodeScheme, code: &Code) -> bool;

    /// Whether documents of `mime_type` are accepted.
    fn knows_mime_type(&self, _mime_type: &str) -> bool {
        true
    }
}

/// The patients known in the affinity domain (fed by ITI-44 / ITI-8).
pub trait PatientRegistry {
    fn is_known(&self, patient: &PatientId) -> bool;
}

/// Every coded value of a submission with the scheme it fills and the object it belongs to.
pub fn codes_of(s: &Submission) -> Vec<(CodeScheme, &Code, String)> {
    let mut out = Vec::new();
    for d in &s.documents {
        let ctx = format!(
            "DocumentEntry '{}' (uniqueId {})",
            d.entry_uuid, d.unique_id
        );
        for (scheme, code) in [
            (CodeScheme::ClassCode, &d.class_code),
            (CodeScheme::FormatCode, &d.format_code),
            (
                CodeScheme::HealthcareFacilityTypeCode,
                &d.healthcare_facility_type_code,
            ),
            (CodeScheme::PracticeSettingCode, &d.practice_setting_code),
            (CodeScheme::TypeCode, &d.type_code),
        ] {
            out.push((scheme, code, ctx.clone()));
        }
        out.extend(
            d.confidentiality_codes
                .iter()
                .map(|c| (CodeScheme::ConfidentialityCode, c, ctx.clone())),
        );
        out.extend(
            d.event_codes
                .iter()
                .map(|c| (CodeScheme::EventCode, c, ctx.clone())),
        );
    }
    let set = &s.submission_set;
    out.push((
        CodeScheme::ContentTypeCode,
        &set.content_type_code,
        format!(
            "SubmissionSet '{}' (uniqueId {})",
            set.entry_uuid, set.unique_id
        ),
    ));
    for f in &s.folders {
        let ctx = format!("Folder '{}' (uniqueId {})", f.entry_uuid, f.unique_id);
        out.extend(
            f.code_list
                .iter()
                .map(|c| (CodeScheme::FolderCode, c, ctx.clone())),
        );
    }
    out
}

/// Checks the codes, mime types and patient of `submission` against the affinity domain.
pub fn check_affinity_domain(
    submission: &Submission,
    kind: SubmissionKind,
    codes: &dyn CodeCatalogue,
    patients: &dyn PatientRegistry,
) -> Vec<Problem> {
    let mut f = Findings::new(kind);
    for (scheme, code, ctx) in codes_of(submission) {
        if !codes.knows(scheme, code) {
            f.metadata(
                scheme.rule_in_affinity_domain(),
                &ctx,
                format!(
                    "{} '{}' of coding scheme '{}' is not a code of the affinity domain",
                    scheme.attribute(),
                    code.code,
                    code.scheme
                ),
            );
        }
    }
    for d in &submission.documents {
        if !codes.knows_mime_type(&d.mime_type) {
            f.metadata(
                "DocumentEntry.mimeType.inAffinityDomain",
                &format!(
                    "DocumentEntry '{}' (uniqueId {})",
                    d.entry_uuid, d.unique_id
                ),
                format!(
                    "mimeType '{}' is not accepted in the affinity domain",
                    d.mime_type
                ),
            );
        }
    }
    let set = &submission.submission_set;
    if !patients.is_known(&set.patient_id) {
        f.push(
            ErrorCode::XDSUnknownPatientId,
            Severity::Error,
            "Submission.patientId.known",
            &format!(
                "SubmissionSet '{}' (uniqueId {})",
                set.entry_uuid, set.unique_id
            ),
            format!(
                "patientId {} is not known in the affinity domain",
                set.patient_id
            ),
        );
    }
    f.problems
}
