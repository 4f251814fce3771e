//! What ITI-41 and ITI-42 share: registering one submission (ITI TF-2b §3.42.4.1.3 "Expected
//! Actions", which §3.41.4.1.3 invokes for the integrated repository + registry), and what every
//! XDS transaction hands back to the web layer ([`Answer`]).
//!
//! Order of work for one submission:
//! 1. the problems the conversion found (structure, attributes, hash/size against the bytes);
//! 2. the affinity domain: codes ([`catalogue`]) and the patient (`patients` table);
//! 3. ITI-41: hash, size and repositoryUniqueId set by the repository, blobs written (fsynced);
//! 4. one PostgreSQL transaction: uniqueIds and entryUUIDs not yet used, relationship targets
//!    registered, Approved and of the same patient, rows inserted, RPLC targets deprecated.
//!
//! Invariant: one submission = one PostgreSQL transaction; when it does not commit, the blobs
//! this submission created are removed, so a failed submission leaves no row and no blob.
//! Invariant: no internal detail reaches a response: store errors become `XDSRegistryError` /
//! `XDSRepositoryError` with a fixed text, the cause goes to the log.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use diesel::Connection;

use super::association::AssociationType;
use super::catalogue::check_affinity_domain;
use super::error_code::ErrorCode;
use super::findings::Findings;
use super::object_id::RegistryObjectId;
use super::problem::{Problem, Severity, apply_rule_settings, has_errors};
use super::registry::{self, KnownPatients, Registered, RepositoryDocument};
use super::repository::{self, BlobStore, Stored};
use super::sha1_hex::Sha1Hex;
use super::status::AvailabilityStatus;
use super::submission::{End, Submission, SubmissionKind};
use super::to_ebxml;
use crate::audit::Outcome;
use crate::audit::dicom::ParticipantObject;
use crate::ebxml::{self, WireMessage};
use crate::profiles::AffinityDomain;
use crate::soap::mtom::OutgoingPart;
use crate::store::Db;

/// The affinity domain's code sets until `profiles` lands: every code and mime type is accepted.
///
/// What the web layer needs from an XDS transaction: the body of the response, its MTOM parts,
/// and what the audit event says beyond what the SOAP pipeline knows.
#[derive(Debug, Clone)]
pub struct Answer {
    pub body_xml: String,
    pub attachments: Vec<OutgoingPart>,
    pub audit: AuditDetails,
}

#[derive(Debug, Clone)]
pub struct AuditDetails {
    pub outcome: Outcome,
    /// Error codes for a failure; never internal detail.
    pub description: Option<String>,
    pub participant_objects: Vec<ParticipantObject>,
}

/// The handles a transaction works with.
#[derive(Clone)]
pub struct Context {
    pub db: Db,
    pub blobs: BlobStore,
    /// The active affinity domain: code sets, assigning authorities, rule severities.
    pub domain: Arc<AffinityDomain>,
    /// Patient consent for this request (issue 6); closed (shares nothing) unless set with
    /// [`Context::with_consent`].
    pub consent: crate::consent::Gate,
}

impl Context {
    pub fn new(db: Db, data_dir: &std::path::Path, domain: Arc<AffinityDomain>) -> Context {
        Context {
            db,
            blobs: BlobStore::new(data_dir),
            domain,
            consent: crate::consent::Gate::closed(),
        }
    }

    /// This context with the requester's consent gate.
    pub fn with_consent(self, consent: crate::consent::Gate) -> Context {
        Context { consent, ..self }
    }
}

/// The internal-error problem for `kind`: a fixed text, no detail.
pub(crate) fn internal_error(code: ErrorCode, context: &str) -> Problem {
    Problem {
        code,
        severity: Severity::Error,
        rule: "hiehub.internal",
        context: context.to_owned(),
        message: "an internal error occurred; nothing was stored; try again later".into(),
    }
}

fn internal_code(kind: SubmissionKind) -> ErrorCode {
    match kind {
        SubmissionKind::ProvideAndRegister => ErrorCode::XDSRepositoryError,
        SubmissionKind::Register => ErrorCode::XDSRegistryError,
    }
}

/// Audit outcome and description from a response's problems.
pub(crate) fn audit_outcome(problems: &[Problem]) -> (Outcome, Option<String>) {
    if !has_errors(problems) {
        return (Outcome::Success, None);
    }
    let mut codes: Vec<&str> = problems
        .iter()
        .filter(|p| p.is_error())
        .map(|p| p.code.as_str())
        .collect();
    codes.sort_unstable();
    codes.dedup();
    (Outcome::SeriousFailure, Some(codes.join(" ")))
}

/// The `rs:RegistryResponse` answer to a submission.
pub(crate) fn registry_answer(
    problems: &[Problem],
    participant_objects: Vec<ParticipantObject>,
) -> Answer {
    let (outcome, description) = audit_outcome(problems);
    Answer {
        body_xml: to_ebxml::registry_response(problems)
            .to_xml(ebxml::EncodeOptions::INLINE)
            .xml,
        attachments: Vec::new(),
        audit: AuditDetails {
            outcome,
            description,
            participant_objects,
        },
    }
}

/// The audit participant objects of a submission: patient, submission set, documents.
fn participants(s: &Submission) -> Vec<ParticipantObject> {
    let mut out = vec![
        ParticipantObject::patient(registry::patient_key(&s.submission_set.patient_id)),
        ParticipantObject::submission_set(s.submission_set.unique_id.as_str()),
    ];
    for d in &s.documents {
        let repo = d
            .repository_unique_id
            .as_ref()
            .map(|r| r.as_str().to_owned());
        out.push(ParticipantObject::document(
            d.unique_id.to_string(),
            repo.as_deref(),
            d.home_community_id.as_deref(),
        ));
    }
    out
}

enum TxError {
    Rejected(Vec<Problem>),
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for TxError {
    fn from(e: diesel::result::Error) -> Self {
        TxError::Db(e)
    }
}

/// Registers `submission` (ITI-42) or stores its documents and registers it (ITI-41).
/// `problems` are those the conversion found.
pub(crate) async fn register(
    ctx: &Context,
    kind: SubmissionKind,
    submission: Option<Submission>,
    problems: Vec<Problem>,
) -> Answer {
    let Some(submission) = submission else {
        let problems = apply_rule_settings(problems, |r| ctx.domain.rule_setting(r));
        return registry_answer(&problems, Vec::new());
    };
    let early = participants(&submission);
    let ctx2 = ctx.clone();
    let result = ctx
        .db
        .run(move |conn| Ok(register_blocking(conn, &ctx2, kind, submission, problems)))
        .await;
    match result {
        Ok((problems, objects)) => registry_answer(&problems, objects),
        Err(e) => {
            tracing::error!(error = %e, transaction = kind.transaction(), "submission failed");
            let p = internal_error(internal_code(kind), "submission");
            registry_answer(&[p], early)
        }
    }
}

fn register_blocking(
    conn: &mut diesel::PgConnection,
    ctx: &Context,
    kind: SubmissionKind,
    mut s: Submission,
    mut problems: Vec<Problem>,
) -> (Vec<Problem>, Vec<ParticipantObject>) {
    let known = match registry::known_patients(conn, &[&s.submission_set.patient_id]) {
        Ok(k) => k,
        Err(e) => {
            tracing::error!(error = %e, "patient lookup failed");
            return (
                vec![internal_error(internal_code(kind), "submission")],
                participants(&s),
            );
        }
    };
    // A patient id counts only when it was fed and its assigning authority belongs to the domain.
    let known = known
        .into_iter()
        .filter(|p| ctx.domain.accepts_authority(&p.authority))
        .collect();
    problems.extend(check_affinity_domain(
        &s,
        kind,
        ctx.domain.as_ref(),
        &KnownPatients(known),
    ));
    let problems = apply_rule_settings(problems, |r| ctx.domain.rule_setting(r));
    if has_errors(&problems) {
        return (problems, participants(&s));
    }

    // The registry assigns: Approved, UUIDs for symbolic ids; the repository: hash, size, id.
    if kind == SubmissionKind::ProvideAndRegister {
        set_repository_attributes(&mut s);
    }
    assign_uuids(&mut s);
    set_approved(&mut s);
    let objects = participants(&s);

    let mut stored: Vec<Stored> = Vec::new();
    let mut repository_rows = Vec::new();
    if kind == SubmissionKind::ProvideAndRegister {
        for d in &s.documents {
            let Some(content) = s.content_of(&d.entry_uuid) else {
                continue;
            };
            match ctx.blobs.put(&content.bytes) {
                Ok(st) => {
                    repository_rows.push(RepositoryDocument {
                        document_unique_id: d.unique_id.to_string(),
                        blob_sha256: st.key.clone(),
                        sha1: Sha1Hex::digest(&content.bytes).to_string(),
                        size: i64::try_from(content.bytes.len()).unwrap_or(i64::MAX),
                        mime_type: d.mime_type.clone(),
                    });
                    stored.push(st);
                }
                Err(e) => {
                    tracing::error!(error = %e, "blob write failed");
                    ctx.blobs.discard(&stored, |_| true);
                    return (
                        vec![internal_error(ErrorCode::XDSRepositoryError, "submission")],
                        objects,
                    );
                }
            }
        }
    }

    let now = Utc::now().naive_utc();
    let tx = conn.transaction::<Vec<Problem>, TxError, _>(|conn| {
        let found = registry_checks(conn, &s, kind)?;
        if has_errors(&found) {
            return Err(TxError::Rejected(found));
        }
        registry::insert_submission(conn, &s, kind, now)?;
        for row in &repository_rows {
            registry::insert_repository_document(conn, row)?;
        }
        // RAD-68: KOS manifests' references are indexed in this same transaction.
        let manifests = crate::xdsi::rad68::index_manifests(conn, &s, &repository_rows)?;
        if has_errors(&manifests) {
            return Err(TxError::Rejected(manifests));
        }
        let replaced: Vec<String> = s
            .associations
            .iter()
            .filter(|a| a.association_type.replaces())
            .map(|a| a.target.to_string())
            .collect();
        registry::deprecate_document_entries(conn, &replaced)?;
        // Registered Folders that get members (HasMember from outside the submission: a Folder,
        // checked above) move their lastUpdateTime (ITI TF-3 §4.2.3.4).
        let grown: Vec<String> = s
            .associations
            .iter()
            .filter(|a| a.association_type == AssociationType::HasMember && !s.contains(&a.source))
            .map(|a| a.source.to_string())
            .collect();
        registry::touch_folders(conn, &grown, now)?;
        Ok(found)
    });
    match tx {
        Ok(warnings) => {
            ctx.blobs.release(&stored);
            let mut all = problems;
            all.extend(warnings);
            (all, objects)
        }
        Err(e) => {
            ctx.blobs.discard(&stored, |key| {
                registry::blob_referenced(conn, key).unwrap_or(true)
            });
            match e {
                TxError::Rejected(found) => {
                    let mut all = problems;
                    all.extend(found);
                    (all, objects)
                }
                TxError::Db(e) => {
                    tracing::error!(error = %e, "submission transaction failed");
                    (
                        vec![internal_error(internal_code(kind), "submission")],
                        objects,
                    )
                }
            }
        }
    }
}

/// ITI-41: the repository computes hash and size (already checked against submitted values by
/// the conversion) and sets its repositoryUniqueId.
fn set_repository_attributes(s: &mut Submission) {
    let contents: HashMap<RegistryObjectId, (Sha1Hex, u64)> = s
        .contents
        .iter()
        .map(|c| {
            (
                c.entry_uuid.clone(),
                (Sha1Hex::digest(&c.bytes), c.bytes.len() as u64),
            )
        })
        .collect();
    let repo = repository::repository_unique_id().clone();
    for d in &mut s.documents {
        if let Some((hash, size)) = contents.get(&d.entry_uuid) {
            d.hash = Some(*hash);
            d.size = Some(*size);
        }
        d.repository_unique_id = Some(repo.clone());
    }
}

/// Symbolic ids become UUIDs (ITI TF-3 §4.2.3.1.5: the registry assigns them), everywhere the
/// submission names them.
pub(crate) fn assign_uuids(s: &mut Submission) {
    let mut map: HashMap<RegistryObjectId, RegistryObjectId> = HashMap::new();
    let mut assign = |id: &mut RegistryObjectId| {
        if !id.is_uuid() {
            let new = map
                .entry(id.clone())
                .or_insert_with(RegistryObjectId::new_random)
                .clone();
            *id = new;
        }
    };
    assign(&mut s.submission_set.entry_uuid);
    for d in &mut s.documents {
        assign(&mut d.entry_uuid);
    }
    for f in &mut s.folders {
        assign(&mut f.entry_uuid);
    }
    for a in &mut s.associations {
        assign(&mut a.entry_uuid);
    }
    let resolve = |id: &mut RegistryObjectId| {
        if let Some(new) = map.get(id) {
            *id = new.clone();
        }
    };
    for a in &mut s.associations {
        resolve(&mut a.source);
        resolve(&mut a.target);
    }
    for c in &mut s.contents {
        resolve(&mut c.entry_uuid);
    }
    for d in &mut s.documents {
        if let Some(l) = &mut d.logical_id {
            resolve(l);
        }
    }
    for f in &mut s.folders {
        if let Some(l) = &mut f.logical_id {
            resolve(l);
        }
    }
}

pub(crate) fn set_approved(s: &mut Submission) {
    let approved = Some(AvailabilityStatus::Approved);
    s.submission_set.availability_status = approved;
    for d in &mut s.documents {
        d.availability_status = approved;
    }
    for f in &mut s.folders {
        f.availability_status = approved;
    }
    for a in &mut s.associations {
        a.availability_status = approved;
    }
}

fn context_of(s: &Submission, id: &RegistryObjectId) -> String {
    if let Some(d) = s.documents.iter().find(|d| d.entry_uuid == *id) {
        return format!(
            "DocumentEntry '{}' (uniqueId {})",
            d.entry_uuid, d.unique_id
        );
    }
    if let Some(f) = s.folders.iter().find(|f| f.entry_uuid == *id) {
        return format!("Folder '{}' (uniqueId {})", f.entry_uuid, f.unique_id);
    }
    if s.submission_set.entry_uuid == *id {
        return format!(
            "SubmissionSet '{}' (uniqueId {})",
            s.submission_set.entry_uuid, s.submission_set.unique_id
        );
    }
    format!("Association '{id}'")
}

/// The rules that need the registry's data (ITI TF-2b §3.42.4.1.3). Runs inside the submission's
/// transaction; relationship targets are locked until it ends.
fn registry_checks(
    conn: &mut diesel::PgConnection,
    s: &Submission,
    kind: SubmissionKind,
) -> Result<Vec<Problem>, diesel::result::Error> {
    let mut f = Findings::new(kind);

    // uniqueIds already registered.
    let mut unique_ids: Vec<(String, String)> = s
        .documents
        .iter()
        .map(|d| (d.unique_id.to_string(), context_of(s, &d.entry_uuid)))
        .collect();
    unique_ids.extend(
        s.folders
            .iter()
            .map(|fo| (fo.unique_id.to_string(), context_of(s, &fo.entry_uuid))),
    );
    unique_ids.push((
        s.submission_set.unique_id.to_string(),
        context_of(s, &s.submission_set.entry_uuid),
    ));
    let wanted: Vec<String> = unique_ids.iter().map(|(u, _)| u.clone()).collect();
    let used = registry::used_unique_ids(conn, &wanted)?;
    for (u, ctx) in &unique_ids {
        if used.contains(u) {
            f.push(
                ErrorCode::XDSDuplicateUniqueIdInRegistry,
                Severity::Error,
                "Submission.uniqueIds.unique",
                ctx,
                format!("uniqueId {u} is already registered"),
            );
        }
    }

    // entryUUIDs submitted as UUIDs that name registered objects.
    let mut own: Vec<&RegistryObjectId> = vec![&s.submission_set.entry_uuid];
    own.extend(s.documents.iter().map(|d| &d.entry_uuid));
    own.extend(s.folders.iter().map(|fo| &fo.entry_uuid));
    own.extend(s.associations.iter().map(|a| &a.entry_uuid));
    let own_ids: Vec<String> = own.iter().map(|id| id.to_string()).collect();
    let taken = registry::registered_objects(conn, &own_ids)?;
    for id in own {
        if taken.contains_key(&id.to_string()) {
            f.metadata(
                "Submission.ids.unique",
                &context_of(s, id),
                format!("its entryUUID {id} is already the id of a registered object"),
            );
        }
    }

    // Association ends outside the submission.
    let external = s.external_references();
    let ids: Vec<String> = external
        .iter()
        .map(|r| RegistryObjectId::from(r.uuid).to_string())
        .collect();
    let registered = registry::registered_objects(conn, &ids)?;
    let set_patient = registry::patient_key(&s.submission_set.patient_id);
    for r in &external {
        let id = RegistryObjectId::from(r.uuid).to_string();
        let ctx = format!("{} Association '{}'", r.association_type, r.association);
        let found = registered.get(&id);
        let t = r.association_type;
        if t.targets_registered_document() && r.end == End::Target {
            match found {
                Some(o) if o.kind == Registered::DocumentEntry => {
                    if o.status != Some(AvailabilityStatus::Approved) {
                        f.push(
                            ErrorCode::XDSReplaceFailed,
                            Severity::Error,
                            "Association.relationship.targetRegistered",
                            &ctx,
                            format!(
                                "the target DocumentEntry {id} of {t} is not Approved (it is {})",
                                o.status.map_or("of unknown status", |st| st.as_urn())
                            ),
                        );
                    }
                    if o.patient_id.as_deref() != Some(set_patient.as_str()) {
                        f.push(
                            ErrorCode::XDSPatientIdDoesNotMatch,
                            Severity::Error,
                            "Submission.patientId.consistent",
                            &ctx,
                            format!(
                                "the target DocumentEntry {id} of {t} belongs to another patient than the SubmissionSet's {set_patient}"
                            ),
                        );
                    }
                }
                _ => f.push(
                    ErrorCode::XDSReplaceFailed,
                    Severity::Error,
                    "Association.relationship.targetRegistered",
                    &ctx,
                    format!("the target {id} of {t} is not a registered DocumentEntry"),
                ),
            }
            continue;
        }
        match (t, r.end, found) {
            (_, _, None) => {
                let rule = match (t, r.end) {
                    (AssociationType::HasMember, End::Source) => {
                        "Association.HasMember.source.valid"
                    }
                    (AssociationType::HasMember, End::Target) => {
                        "Association.HasMember.SubmissionSetStatus.consistent"
                    }
                    (_, End::Source) => "Association.sourceObject.resolves",
                    (_, End::Target) => "Association.targetObject.resolves",
                };
                f.metadata(
                    rule,
                    &ctx,
                    format!(
                        "{id} names neither an object of this submission nor a registered object"
                    ),
                );
            }
            (AssociationType::HasMember, End::Source, Some(o)) => {
                if o.kind != Registered::Folder {
                    f.metadata(
                        "Association.HasMember.source.valid",
                        &ctx,
                        format!("the registered source {id} of HasMember is not a Folder"),
                    );
                } else if o.patient_id.as_deref() != Some(set_patient.as_str()) {
                    f.push(
                        ErrorCode::XDSPatientIdDoesNotMatch,
                        Severity::Error,
                        "Submission.patientId.consistent",
                        &ctx,
                        format!("the registered Folder {id} belongs to another patient"),
                    );
                }
            }
            (AssociationType::HasMember, End::Target, Some(o))
                if o.kind == Registered::DocumentEntry
                    && o.patient_id.as_deref() != Some(set_patient.as_str()) =>
            {
                f.push(
                    ErrorCode::XDSPatientIdDoesNotMatch,
                    Severity::Error,
                    "Submission.patientId.consistent",
                    &ctx,
                    format!("the registered DocumentEntry {id} belongs to another patient"),
                );
            }
            _ => {}
        }
    }
    Ok(f.problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ebxml::test_fixtures;

    fn inline_fixture() -> Submission {
        let body = test_fixtures::body("nist/xds/valid-iti41-multipart-inline-base64/body.txt");
        let req = ebxml::ProvideAndRegisterDocumentSetRequest::decode(&body).expect("decode");
        let (s, problems) = super::super::submission_from_provide_and_register(&req);
        assert!(!has_errors(&problems), "{problems:?}");
        s.expect("submission")
    }

    #[test]
    fn symbolic_ids_become_uuids_everywhere() {
        let mut s = inline_fixture();
        assert!(!s.documents[0].entry_uuid.is_uuid());
        set_repository_attributes(&mut s);
        assign_uuids(&mut s);
        set_approved(&mut s);
        let doc = &s.documents[0];
        assert!(doc.entry_uuid.is_uuid() && s.submission_set.entry_uuid.is_uuid());
        assert_eq!(s.contents[0].entry_uuid, doc.entry_uuid);
        for a in &s.associations {
            assert!(a.entry_uuid.is_uuid() && a.source.is_uuid() && a.target.is_uuid());
            assert!(s.contains(&a.source) && s.contains(&a.target));
        }
        assert_eq!(doc.hash, Some(Sha1Hex::digest(&s.contents[0].bytes)));
        assert_eq!(doc.size, Some(s.contents[0].bytes.len() as u64));
        assert_eq!(
            doc.repository_unique_id.as_ref(),
            Some(repository::repository_unique_id())
        );
        assert_eq!(doc.availability_status, Some(AvailabilityStatus::Approved));
        assert!(s.external_references().is_empty());
    }

    #[test]
    fn failures_are_audited_with_codes_only() {
        let p = internal_error(ErrorCode::XDSRegistryError, "submission");
        let (outcome, description) = audit_outcome(std::slice::from_ref(&p));
        assert_eq!(outcome, Outcome::SeriousFailure);
        assert_eq!(description.as_deref(), Some("XDSRegistryError"));
        let answer = registry_answer(&[p], Vec::new());
        assert!(answer.body_xml.contains("XDSRegistryError"));
        assert!(answer.body_xml.contains("nothing was stored"));
        assert_eq!(audit_outcome(&[]), (Outcome::Success, None));
    }
}
