//! ITI-57 Update Document Set (ITI TF-2b §3.57, XDS Metadata Update: Restricted Metadata
//! Update): a Document Administrator sends an `lcm:SubmitObjectsRequest` whose SubmissionSet
//! carries metadata updates; response: `rs:RegistryResponse`.
//!
//! Operations hiehub performs (§3.57.4.1.3.3), all in one PostgreSQL transaction:
//! - **new version of a DocumentEntry**: a DocumentEntry whose `lid` is the logicalID of a
//!   registered entry, member of the SubmissionSet (HasMember, SubmissionSetStatus Original)
//!   with slot `PreviousVersion` = the latest registered version. The latest version must be
//!   Approved, of the same patient (`XDSPatientIDReconciliationError`), uniqueId and objectType
//!   (`XDSMetadataUpdateError`); a PreviousVersion that is not the latest version gets
//!   `XDSMetadataVersionError`. The new version is registered Approved with version + 1 and the
//!   previous one becomes Deprecated. Folder memberships of the previous version move to the
//!   new one unless the association carries `AssociationPropagation` = `no`.
//! - **availabilityStatus change of a DocumentEntry, Folder or Association**: an
//!   `UpdateAvailabilityStatus` Association from the SubmissionSet to the object's entryUUID with
//!   slots `OriginalStatus` (must be the current status) and `NewStatus` (Approved or
//!   Deprecated). An Association's ends must be the SubmissionSet's patient's; a SubmissionSet's
//!   own HasMember associations cannot change. Deprecating a Folder's HasMember association takes
//!   the DocumentEntry out of the Folder (stored queries follow Approved associations unless
//!   `$XDSAssociationStatus` says otherwise) and moves the Folder's lastUpdateTime.
//!
//! Not supported (answered `XDSMetadataUpdateOperationError`, nothing stored): Folder metadata
//! updates (new Folder versions), new DocumentEntries and other Associations (SubmitAssociation,
//! relationships, Folder membership: use ITI-42 for those).

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use diesel::Connection;

use super::association::{Association, AssociationType, SubmissionSetStatus};
use super::catalogue::check_affinity_domain;
use super::error_code::ErrorCode;
use super::from_ebxml::{decode_failure, submission_from_register};
use super::object_id::RegistryObjectId;
use super::problem::{Problem, Severity, apply_rule_settings, has_errors};
use super::registry::{self, KnownPatients, LifecycleObject, Registered};
use super::service::{
    Answer, Context, assign_uuids, internal_error, registry_answer, set_approved,
};
use super::status::AvailabilityStatus;
use super::submission::{Submission, SubmissionKind};
use crate::audit::dicom::ParticipantObject;
use crate::ebxml::{self, WireMessage};
use crate::xml::Element;

pub const ACTION: &str = "urn:ihe:iti:2010:UpdateDocumentSet";
pub const RESPONSE_ACTION: &str = "urn:ihe:iti:2010:UpdateDocumentSetResponse";

const SLOT_PREVIOUS_VERSION: &str = "PreviousVersion";
const SLOT_ORIGINAL_STATUS: &str = "OriginalStatus";
const SLOT_NEW_STATUS: &str = "NewStatus";
const SLOT_ASSOCIATION_PROPAGATION: &str = "AssociationPropagation";

/// The operations of one ITI-57 request, read from its submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateDocumentSetRequest {
    pub submission: Submission,
    pub operations: Vec<Operation>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// `documents[document]` is a new version of the DocumentEntry with logicalID `logical_id`.
    NewVersion {
        document: usize,
        logical_id: String,
        /// The SubmissionSet-HasMember-DocumentEntry association.
        association: usize,
        previous_version: Option<String>,
        propagate: bool,
        /// The entryUUID of the version replaced (set by the registry checks).
        previous_entry: Option<String>,
    },
    /// `associations[association]` changes the status of `target`.
    StatusChange {
        association: usize,
        target: String,
        original: Option<AvailabilityStatus>,
        new: Option<AvailabilityStatus>,
    },
}

fn problem(code: ErrorCode, rule: &'static str, context: String, message: String) -> Problem {
    Problem {
        code,
        severity: Severity::Error,
        rule,
        context,
        message,
    }
}

fn unsupported(context: String, message: impl Into<String>) -> Problem {
    problem(
        ErrorCode::XDSMetadataUpdateOperationError,
        "UpdateDocumentSet.operation.supported",
        context,
        message.into(),
    )
}

fn slot_values<'a>(a: &'a Association, name: &str) -> Option<&'a [String]> {
    a.extra_slots
        .iter()
        .find(|s| s.name == name)
        .map(|s| s.values.as_slice())
}

fn association_context(a: &Association) -> String {
    format!(
        "{} Association '{}' ({} -> {})",
        a.association_type, a.entry_uuid, a.source, a.target
    )
}

/// A status slot: `(status, problem)`.
fn status_slot(a: &Association, name: &str) -> Result<AvailabilityStatus, Problem> {
    let fail = |message: String| {
        problem(
            ErrorCode::XDSMetadataUpdateError,
            "UpdateDocumentSet.status.slots",
            association_context(a),
            message,
        )
    };
    match slot_values(a, name) {
        None => Err(fail(format!("the {name} slot is required"))),
        Some([one]) => AvailabilityStatus::parse(one)
            .ok_or_else(|| fail(format!("{name} '{one}' is not an availabilityStatus URN"))),
        Some(values) => Err(fail(format!(
            "{name} has {} values, exactly one is required",
            values.len()
        ))),
    }
}

impl UpdateDocumentSetRequest {
    /// Sorts the objects of `s` into operations; what hiehub does not perform is a problem.
    pub fn from_submission(s: Submission) -> (Option<Self>, Vec<Problem>) {
        let mut problems = Vec::new();
        let mut operations = Vec::new();
        for f in &s.folders {
            problems.push(unsupported(
                format!("Folder '{}' (uniqueId {})", f.entry_uuid, f.unique_id),
                "Folder metadata updates are not supported by this registry",
            ));
        }
        let set = &s.submission_set.entry_uuid;
        let mut version_links: HashSet<usize> = HashSet::new();
        for (i, d) in s.documents.iter().enumerate() {
            let context = format!(
                "DocumentEntry '{}' (uniqueId {})",
                d.entry_uuid, d.unique_id
            );
            let logical_id = match &d.logical_id {
                Some(l) if l.is_uuid() && *l != d.entry_uuid => l.to_string(),
                _ => {
                    problems.push(unsupported(
                        context,
                        "ITI-57 registers new versions only: lid must be the logicalID (urn:uuid:…) of a registered DocumentEntry; submit new documents with ITI-41/42",
                    ));
                    continue;
                }
            };
            let link = s.associations.iter().position(|a| {
                a.association_type == AssociationType::HasMember
                    && a.source == *set
                    && a.target == d.entry_uuid
            });
            let Some(association) = link else {
                problems.push(problem(
                    ErrorCode::XDSMetadataUpdateError,
                    "UpdateDocumentSet.version.hasMember",
                    context,
                    "a new version is a member of the SubmissionSet (HasMember with PreviousVersion)"
                        .into(),
                ));
                continue;
            };
            version_links.insert(association);
            let a = &s.associations[association];
            if a.submission_set_status == Some(SubmissionSetStatus::Reference) {
                problems.push(problem(
                    ErrorCode::XDSMetadataUpdateError,
                    "UpdateDocumentSet.version.hasMember",
                    association_context(a),
                    "the new version is submitted with this SubmissionSet: SubmissionSetStatus must be Original".into(),
                ));
            }
            let previous_version = match slot_values(a, SLOT_PREVIOUS_VERSION) {
                Some([one]) => Some(one.trim().to_string()),
                _ => {
                    problems.push(problem(
                        ErrorCode::XDSMetadataUpdateError,
                        "UpdateDocumentSet.version.previousVersion",
                        association_context(a),
                        "the PreviousVersion slot with exactly one value (the version being replaced) is required".into(),
                    ));
                    None
                }
            };
            let propagate = !matches!(
                slot_values(a, SLOT_ASSOCIATION_PROPAGATION),
                Some([v]) if v.trim().eq_ignore_ascii_case("no")
            );
            operations.push(Operation::NewVersion {
                document: i,
                logical_id,
                association,
                previous_version,
                propagate,
                previous_entry: None,
            });
        }
        for (i, a) in s.associations.iter().enumerate() {
            if version_links.contains(&i) {
                continue;
            }
            let context = association_context(a);
            if a.association_type != AssociationType::UpdateAvailabilityStatus {
                problems.push(unsupported(
                    context,
                    format!(
                        "{} associations are not supported in ITI-57 by this registry",
                        a.association_type
                    ),
                ));
                continue;
            }
            if a.source != *set || !a.target.is_uuid() || s.contains(&a.target) {
                problems.push(problem(
                    ErrorCode::XDSMetadataUpdateError,
                    "UpdateDocumentSet.status.ends",
                    context,
                    "UpdateAvailabilityStatus goes from the SubmissionSet to the entryUUID of a registered object".into(),
                ));
                continue;
            }
            let original = status_slot(a, SLOT_ORIGINAL_STATUS)
                .map_err(|p| problems.push(p))
                .ok();
            let new = status_slot(a, SLOT_NEW_STATUS)
                .map_err(|p| problems.push(p))
                .ok();
            if let Some(n) = new
                && n == AvailabilityStatus::Submitted
            {
                problems.push(problem(
                    ErrorCode::XDSMetadataUpdateError,
                    "UpdateDocumentSet.status.slots",
                    association_context(a),
                    "NewStatus must be Approved or Deprecated".into(),
                ));
            }
            operations.push(Operation::StatusChange {
                association: i,
                target: a.target.to_string(),
                original,
                new,
            });
        }
        if operations.is_empty() && problems.is_empty() {
            problems.push(unsupported(
                format!("SubmissionSet '{}'", s.submission_set.entry_uuid),
                "the SubmissionSet carries no update (no new DocumentEntry version, no UpdateAvailabilityStatus)",
            ));
        }
        if has_errors(&problems) {
            return (None, problems);
        }
        (
            Some(UpdateDocumentSetRequest {
                submission: s,
                operations,
            }),
            problems,
        )
    }
}

/// Handles the SOAP body `body` of one ITI-57 request.
pub async fn handle(ctx: &Context, body: &Element) -> Answer {
    let kind = SubmissionKind::Register;
    let request = match ebxml::SubmitObjectsRequest::decode(body) {
        Ok(r) => r,
        Err(e) => return registry_answer(&[decode_failure(&e, kind)], Vec::new()),
    };
    let (submission, mut problems) = submission_from_register(&request);
    // The metadata-update association types are what ITI-57 is for.
    problems.retain(|p| p.rule != "Association.associationType.allowed");
    let problems = apply_rule_settings(problems, |r| ctx.domain.rule_setting(r));
    let Some(submission) = submission else {
        return registry_answer(&problems, Vec::new());
    };
    let early = vec![
        ParticipantObject::patient(registry::patient_key(&submission.submission_set.patient_id)),
        ParticipantObject::submission_set(submission.submission_set.unique_id.as_str()),
    ];
    if has_errors(&problems) {
        return registry_answer(&problems, early);
    }
    let ctx2 = ctx.clone();
    let result = ctx
        .db
        .run(move |conn| Ok(update_blocking(conn, &ctx2, submission, problems)))
        .await;
    match result {
        Ok((problems, objects, consents)) => {
            // Consents deprecated or approved again (issue 6): their events before the answer.
            if let Err(e) = ctx.consent.updated("ITI-57", consents).await {
                tracing::error!(error = %e, "ITI-57: consent change events not recorded");
            }
            registry_answer(&problems, objects)
        }
        Err(e) => {
            tracing::error!(error = %e, transaction = "ITI-57", "update failed");
            let p = internal_error(ErrorCode::XDSRegistryError, "UpdateDocumentSet");
            registry_answer(&[p], early)
        }
    }
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

type Updated = (
    Vec<Problem>,
    Vec<ParticipantObject>,
    Vec<crate::consent::store::ConsentUpdate>,
);

fn update_blocking(
    conn: &mut diesel::PgConnection,
    ctx: &Context,
    s: Submission,
    problems: Vec<Problem>,
) -> Updated {
    let mut consents = Vec::new();
    let (problems, objects) = update_checked(conn, ctx, s, problems, &mut consents);
    (problems, objects, consents)
}

fn update_checked(
    conn: &mut diesel::PgConnection,
    ctx: &Context,
    s: Submission,
    mut problems: Vec<Problem>,
    consents: &mut Vec<crate::consent::store::ConsentUpdate>,
) -> (Vec<Problem>, Vec<ParticipantObject>) {
    let mut objects = vec![
        ParticipantObject::patient(registry::patient_key(&s.submission_set.patient_id)),
        ParticipantObject::submission_set(s.submission_set.unique_id.as_str()),
    ];
    let known = match registry::known_patients(conn, &[&s.submission_set.patient_id]) {
        Ok(k) => k,
        Err(e) => {
            tracing::error!(error = %e, "patient lookup failed");
            return (
                vec![internal_error(
                    ErrorCode::XDSRegistryError,
                    "UpdateDocumentSet",
                )],
                objects,
            );
        }
    };
    let known = known
        .into_iter()
        .filter(|p| ctx.domain.accepts_authority(&p.authority))
        .collect();
    let found = check_affinity_domain(
        &s,
        SubmissionKind::Register,
        ctx.domain.as_ref(),
        &KnownPatients(known),
    );
    problems.extend(apply_rule_settings(found, |r| ctx.domain.rule_setting(r)));
    if has_errors(&problems) {
        return (problems, objects);
    }
    let (request, found) = UpdateDocumentSetRequest::from_submission(s);
    problems.extend(found);
    let Some(mut request) = request else {
        return (problems, objects);
    };
    assign_uuids(&mut request.submission);
    set_approved(&mut request.submission);

    let now = Utc::now().naive_utc();
    type Done = (
        Vec<Problem>,
        Vec<ParticipantObject>,
        Vec<crate::consent::store::ConsentUpdate>,
    );
    let tx = conn.transaction::<Done, TxError, _>(|conn| {
        let (found, documents) = registry_checks(conn, &mut request)?;
        if has_errors(&found) {
            return Err(TxError::Rejected(found));
        }
        apply(conn, &request, now)?;
        let changed = crate::consent::store::changes_in_transaction(conn)?;
        Ok((found, documents, changed))
    });
    match tx {
        Ok((warnings, documents, changed)) => {
            *consents = changed;
            problems.extend(warnings);
            objects.extend(documents);
            (problems, objects)
        }
        Err(TxError::Rejected(found)) => {
            problems.extend(found);
            (problems, objects)
        }
        Err(TxError::Db(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ))) => (
            vec![problem(
                ErrorCode::XDSMetadataVersionError,
                "UpdateDocumentSet.version.previousVersion",
                "UpdateDocumentSet".into(),
                "another update of the same object was registered at the same time; query the latest version and try again".into(),
            )],
            objects,
        ),
        Err(TxError::Db(e)) => {
            tracing::error!(error = %e, "ITI-57 transaction failed");
            (
                vec![internal_error(
                    ErrorCode::XDSRegistryError,
                    "UpdateDocumentSet",
                )],
                objects,
            )
        }
    }
}

fn describe(o: &LifecycleObject) -> String {
    let kind = match o.kind {
        Registered::DocumentEntry => "DocumentEntry",
        Registered::Folder => "Folder",
        Registered::SubmissionSet => "SubmissionSet",
        Registered::Association => "Association",
    };
    match &o.unique_id {
        Some(u) => format!("registered {kind} '{}' (uniqueId {u})", o.entry_uuid),
        None => format!("registered {kind} '{}'", o.entry_uuid),
    }
}

/// The rules that need the registry (§3.57.4.1.3.3), inside the transaction; sets the version
/// of each new DocumentEntry version. Returns the problems and the audit objects (documents).
fn registry_checks(
    conn: &mut diesel::PgConnection,
    r: &mut UpdateDocumentSetRequest,
) -> Result<(Vec<Problem>, Vec<ParticipantObject>), diesel::result::Error> {
    let mut problems = Vec::new();
    let mut documents = Vec::new();
    let s = &r.submission;
    let set_patient = registry::patient_key(&s.submission_set.patient_id);
    let set_context = format!(
        "SubmissionSet '{}' (uniqueId {})",
        s.submission_set.entry_uuid, s.submission_set.unique_id
    );

    let set_unique = s.submission_set.unique_id.to_string();
    if registry::used_unique_ids(conn, std::slice::from_ref(&set_unique))?.contains(&set_unique) {
        problems.push(problem(
            ErrorCode::XDSDuplicateUniqueIdInRegistry,
            "UpdateDocumentSet.uniqueId.unused",
            set_context.clone(),
            format!("uniqueId {set_unique} is already registered"),
        ));
    }
    let mut own: Vec<&RegistryObjectId> = vec![&s.submission_set.entry_uuid];
    own.extend(s.documents.iter().map(|d| &d.entry_uuid));
    own.extend(s.associations.iter().map(|a| &a.entry_uuid));
    let own: Vec<String> = own.iter().map(|id| id.to_string()).collect();
    let taken = registry::registered_objects(conn, &own)?;
    for id in &own {
        if taken.contains_key(id) {
            problems.push(problem(
                ErrorCode::XDSRegistryMetadataError,
                "UpdateDocumentSet.ids.unused",
                format!("object '{id}'"),
                "this entryUUID is already the id of a registered object; new objects need new ids"
                    .into(),
            ));
        }
    }

    let mut versions: Vec<(usize, i32, String)> = Vec::new();
    let mut touched: HashMap<String, String> = HashMap::new();
    for op in &r.operations {
        let Operation::NewVersion {
            document,
            logical_id,
            association,
            previous_version,
            ..
        } = op
        else {
            continue;
        };
        let d = &s.documents[*document];
        let context = format!(
            "DocumentEntry '{}' (uniqueId {})",
            d.entry_uuid, d.unique_id
        );
        let Some(latest) = registry::latest_document_entry(conn, logical_id)? else {
            problems.push(problem(
                ErrorCode::XDSMetadataUpdateError,
                "UpdateDocumentSet.version.previousRegistered",
                context,
                format!("no registered DocumentEntry has logicalID {logical_id}"),
            ));
            continue;
        };
        let current = latest.version.unwrap_or(1);
        let mut fail = |code: ErrorCode, rule: &'static str, message: String| {
            problems.push(problem(code, rule, context.clone(), message));
        };
        if let Some(prev) = previous_version
            && prev != &current.to_string()
        {
            fail(
                ErrorCode::XDSMetadataVersionError,
                "UpdateDocumentSet.version.previousVersion",
                format!(
                    "PreviousVersion is {prev} (Association '{}'), but the latest registered version of {logical_id} is {current}",
                    s.associations[*association].entry_uuid
                ),
            );
        }
        if latest.status != Some(AvailabilityStatus::Approved) {
            fail(
                ErrorCode::XDSMetadataUpdateError,
                "UpdateDocumentSet.version.previousApproved",
                format!(
                    "the latest version ({}) of {logical_id} is {}, not Approved",
                    latest.entry_uuid,
                    latest.status.map_or("of unknown status", |st| st.as_urn())
                ),
            );
        }
        if latest.patient_id.as_deref() != Some(registry::patient_key(&d.patient_id).as_str())
            || latest.patient_id.as_deref() != Some(set_patient.as_str())
        {
            fail(
                ErrorCode::XDSPatientIDReconciliationError,
                "UpdateDocumentSet.patientId.unchanged",
                format!(
                    "the patientId may not change: {} is registered for {}",
                    latest.entry_uuid,
                    latest.patient_id.as_deref().unwrap_or("?")
                ),
            );
        }
        if latest.unique_id.as_deref() != Some(d.unique_id.to_string().as_str()) {
            fail(
                ErrorCode::XDSMetadataUpdateError,
                "UpdateDocumentSet.version.sameUniqueId",
                format!(
                    "the uniqueId may not change: the previous version has {}",
                    latest.unique_id.as_deref().unwrap_or("?")
                ),
            );
        }
        // The document itself does not change: only its metadata does.
        let same = |registered: Option<String>, sent: Option<String>| match (registered, sent) {
            (Some(r), Some(s)) => r.eq_ignore_ascii_case(&s),
            _ => true,
        };
        for (attribute, registered, sent) in [
            ("hash", latest.hash.clone(), d.hash.map(|h| h.to_string())),
            (
                "size",
                latest.size.map(|n| n.to_string()),
                d.size.map(|n| n.to_string()),
            ),
            (
                "repositoryUniqueId",
                latest.repository_unique_id.clone(),
                d.repository_unique_id
                    .as_ref()
                    .map(|r| r.as_str().to_owned()),
            ),
        ] {
            if !same(registered.clone(), sent.clone()) {
                fail(
                    ErrorCode::XDSMetadataUpdateError,
                    "UpdateDocumentSet.version.sameDocument",
                    format!(
                        "{attribute} may not change in a metadata update: registered {}, sent {}",
                        registered.unwrap_or_default(),
                        sent.unwrap_or_default()
                    ),
                );
            }
        }
        if latest.object_type.as_deref() != Some(d.object_type.as_uuid()) {
            fail(
                ErrorCode::XDSMetadataUpdateError,
                "UpdateDocumentSet.version.sameObjectType",
                "the objectType may not change".into(),
            );
        }
        if touched
            .insert(latest.entry_uuid.clone(), context.clone())
            .is_some()
        {
            fail(
                ErrorCode::XDSMetadataUpdateError,
                "UpdateDocumentSet.operation.once",
                format!("{} is updated twice in this request", latest.entry_uuid),
            );
        }
        versions.push((*document, current + 1, latest.entry_uuid.clone()));
        documents.push(ParticipantObject::document(
            d.unique_id.to_string(),
            d.repository_unique_id.as_ref().map(|o| o.as_str()),
            d.home_community_id.as_deref(),
        ));
    }

    let targets: Vec<String> = r
        .operations
        .iter()
        .filter_map(|op| match op {
            Operation::StatusChange { target, .. } => Some(target.clone()),
            Operation::NewVersion { .. } => None,
        })
        .collect();
    let registered = registry::lifecycle_objects(conn, &targets)?;
    for op in &r.operations {
        let Operation::StatusChange {
            association,
            target,
            original,
            new,
        } = op
        else {
            continue;
        };
        let context = association_context(&s.associations[*association]);
        let Some(o) = registered.get(target) else {
            problems.push(problem(
                ErrorCode::XDSMetadataUpdateError,
                "UpdateDocumentSet.status.targetRegistered",
                context,
                format!("no registered object has entryUUID {target}"),
            ));
            continue;
        };
        let mut fail = |code: ErrorCode, rule: &'static str, message: String| {
            problems.push(problem(code, rule, context.clone(), message));
        };
        // The patient an object belongs to; for an Association, that of its ends.
        let mut patient = o.patient_id.clone();
        match o.kind {
            Registered::DocumentEntry | Registered::Folder => {}
            Registered::SubmissionSet => {
                fail(
                    ErrorCode::XDSMetadataUpdateOperationError,
                    "UpdateDocumentSet.operation.supported",
                    format!(
                        "{}: a SubmissionSet's status does not change (update DocumentEntries, Folders or Associations)",
                        describe(o)
                    ),
                );
                continue;
            }
            Registered::Association => {
                // §3.57.4.1.3.3.5 Update Association Status, e.g. taking a DocumentEntry out
                // of a Folder by deprecating the Folder's HasMember association.
                let Some(row) = registry::associations_by_id(conn, std::slice::from_ref(target))?
                    .into_iter()
                    .next()
                else {
                    continue;
                };
                let ends =
                    registry::lifecycle_objects(conn, &[row.source.clone(), row.target.clone()])?;
                if ends.get(&row.source).map(|e| e.kind) == Some(Registered::SubmissionSet) {
                    fail(
                        ErrorCode::XDSMetadataUpdateOperationError,
                        "UpdateDocumentSet.operation.supported",
                        format!(
                            "{}: the membership of a SubmissionSet is what was submitted and cannot change",
                            describe(o)
                        ),
                    );
                    continue;
                }
                let patients: HashSet<&str> = ends
                    .values()
                    .filter_map(|e| e.patient_id.as_deref())
                    .collect();
                patient = match patients.len() {
                    1 => patients.into_iter().next().map(str::to_owned),
                    _ => None,
                };
            }
        }
        if let Some(orig) = original
            && o.status != Some(*orig)
        {
            fail(
                ErrorCode::XDSMetadataUpdateError,
                "UpdateDocumentSet.status.original",
                format!(
                    "OriginalStatus is {orig}, but the {} is {}",
                    describe(o),
                    o.status.map_or("of unknown status", |st| st.as_urn())
                ),
            );
        }
        if patient.as_deref() != Some(set_patient.as_str()) {
            fail(
                ErrorCode::XDSPatientIDReconciliationError,
                "UpdateDocumentSet.patientId.unchanged",
                format!(
                    "the {} belongs to another patient than the SubmissionSet's {set_patient}",
                    describe(o)
                ),
            );
        }
        if let (Some(lid), Some(version)) = (&o.logical_id, o.version)
            && registry::has_later_version(conn, o.kind, lid, version)?
        {
            fail(
                ErrorCode::XDSMetadataUpdateError,
                "UpdateDocumentSet.status.latestVersion",
                format!(
                    "the {} is version {version}; only the latest version's status can change",
                    describe(o)
                ),
            );
        }
        if let Some(first) = touched.insert(o.entry_uuid.clone(), context.clone()) {
            fail(
                ErrorCode::XDSMetadataUpdateError,
                "UpdateDocumentSet.operation.once",
                format!("{} is also updated by {first}", describe(o)),
            );
        }
        if new.is_some()
            && o.kind == Registered::DocumentEntry
            && let Some(u) = &o.unique_id
        {
            documents.push(ParticipantObject::document(
                u.as_str(),
                o.repository_unique_id.as_deref(),
                None,
            ));
        }
    }
    for (document, version, previous) in versions {
        r.submission.documents[document].version = Some(version.to_string());
        for op in &mut r.operations {
            if let Operation::NewVersion {
                document: d,
                previous_entry,
                ..
            } = op
                && *d == document
            {
                *previous_entry = Some(previous.clone());
            }
        }
    }
    Ok((problems, documents))
}

/// Registers the update: the SubmissionSet and its objects, previous versions Deprecated,
/// Folder memberships propagated, statuses changed.
fn apply(
    conn: &mut diesel::PgConnection,
    r: &UpdateDocumentSetRequest,
    now: chrono::NaiveDateTime,
) -> Result<(), diesel::result::Error> {
    let s = &r.submission;
    let set_uuid = s.submission_set.entry_uuid.to_string();
    registry::insert_submission(conn, s, SubmissionKind::Register, now)?;
    registry::set_submission_transaction(conn, &set_uuid, "ITI-57")?;
    for op in &r.operations {
        match op {
            Operation::NewVersion {
                document,
                propagate,
                previous_entry: Some(previous),
                ..
            } => {
                let d = &s.documents[*document];
                registry::deprecate_document_entries(conn, std::slice::from_ref(previous))?;
                if *propagate {
                    propagate_folders(conn, previous, &d.entry_uuid, &set_uuid, now)?;
                }
            }
            // Not reached: the registry checks set every previous entry or reject the request.
            Operation::NewVersion {
                previous_entry: None,
                ..
            } => {}
            Operation::StatusChange { target, new, .. } => {
                let Some(new) = new else { continue };
                let kind = registry::lifecycle_objects(conn, std::slice::from_ref(target))?
                    .get(target)
                    .map(|o| o.kind);
                if let Some(kind) = kind {
                    registry::set_status(conn, kind, target, *new)?;
                }
                // A Folder's membership changed: its lastUpdateTime moves (ITI TF-3 §4.2.3.4).
                if kind == Some(Registered::Association)
                    && let Some(row) =
                        registry::associations_by_id(conn, std::slice::from_ref(target))?
                            .into_iter()
                            .next()
                    && registry::lifecycle_objects(conn, std::slice::from_ref(&row.source))?
                        .get(&row.source)
                        .map(|o| o.kind)
                        == Some(Registered::Folder)
                {
                    registry::touch_folders(conn, std::slice::from_ref(&row.source), now)?;
                }
            }
        }
    }
    Ok(())
}

/// The Folders the previous version `previous` is a member of get the new version `new` as
/// member too (HasMember registered with this SubmissionSet), and a new lastUpdateTime.
fn propagate_folders(
    conn: &mut diesel::PgConnection,
    previous: &str,
    new: &RegistryObjectId,
    set_uuid: &str,
    now: chrono::NaiveDateTime,
) -> Result<(), diesel::result::Error> {
    let has_member = AssociationType::HasMember.as_urn();
    let memberships: Vec<registry::AssociationRow> =
        registry::associations_referencing(conn, &[previous.to_string()])?
            .into_iter()
            .filter(|a| a.target == previous && a.association_type == has_member)
            .collect();
    let sources: Vec<String> = memberships.iter().map(|a| a.source.clone()).collect();
    let kinds = registry::lifecycle_objects(conn, &sources)?;
    let mut folders = Vec::new();
    for source in sources {
        if kinds.get(&source).map(|o| o.kind) != Some(Registered::Folder) {
            continue;
        }
        let Ok(folder) = RegistryObjectId::parse(&source) else {
            continue;
        };
        let a = Association {
            entry_uuid: RegistryObjectId::new_random(),
            association_type: AssociationType::HasMember,
            source: folder,
            target: new.clone(),
            availability_status: Some(AvailabilityStatus::Approved),
            submission_set_status: None,
            extra_slots: Vec::new(),
        };
        registry::insert_association(conn, &a, set_uuid)?;
        folders.push(source);
    }
    registry::touch_folders(conn, &folders, now)?;
    Ok(())
}
