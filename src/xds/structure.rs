//! The rules about a submission as a whole (ITI TF-3 §4.1.4 Submission Request, §4.2.2
//! Associations; ITI TF-2b §3.41.4.1.3 and §3.42.4.1.3): one SubmissionSet, unique ids and
//! uniqueIds, one patient, associations whose symbolic ends resolve inside the submission,
//! SubmissionSet membership with SubmissionSetStatus, and — for ITI-41 — documents paired with
//! their DocumentEntries, with matching hash and size.
//!
//! What needs the registry's data (targets that are already registered, their status and
//! patient, uniqueIds already used, patients known to the affinity domain) is left to the
//! transaction: see [`super::Submission::external_references`] and [`super::catalogue`].

use std::collections::{HashMap, HashSet};

use super::association::{AssociationType, SubmissionSetStatus};
use super::error_code::ErrorCode;
use super::findings::{AssociationFacts, DocumentFacts, Findings, ObjectFacts, ObjectKind};
use super::problem::Severity;
use super::submission::SubmissionKind;

pub(crate) fn check(
    f: &mut Findings,
    objects: &[ObjectFacts],
    associations: &[AssociationFacts],
    documents: Option<&[DocumentFacts]>,
) {
    let sets: Vec<&ObjectFacts> = objects
        .iter()
        .filter(|o| o.kind == ObjectKind::SubmissionSet)
        .collect();
    let set = match sets[..] {
        [one] => Some(one),
        [] => {
            f.metadata(
                "Submission.submissionSet.exactlyOne",
                "submission",
                "there is no SubmissionSet (a RegistryPackage classified urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd)",
            );
            None
        }
        _ => {
            let names: Vec<&str> = sets.iter().map(|s| s.context.as_str()).collect();
            f.metadata(
                "Submission.submissionSet.exactlyOne",
                "submission",
                format!(
                    "there are {} SubmissionSets: {}",
                    sets.len(),
                    names.join(", ")
                ),
            );
            None
        }
    };

    unique_ids(f, objects, associations);
    unique_unique_ids(f, objects);
    if let Some(set) = set {
        same_patient(f, set, objects);
    }
    for o in objects {
        if o.on_demand {
            f.metadata(
                "Submission.onDemand.notAllowed",
                &o.context,
                format!(
                    "{} registers Stable DocumentEntries only; On-Demand entries are registered with ITI-61",
                    f.kind.transaction()
                ),
            );
        }
    }
    let by_key: HashMap<&str, &ObjectFacts> = objects.iter().map(|o| (o.key.as_str(), o)).collect();
    let association_keys: HashSet<&str> = associations.iter().map(|a| a.key.as_str()).collect();
    let resolve = |key: &str| -> Local {
        match by_key.get(key) {
            Some(o) => Local::Object(o.kind),
            None if association_keys.contains(key) => Local::Object(ObjectKind::Association),
            None => Local::Outside,
        }
    };
    for a in associations {
        association(f, a, set, &resolve);
    }
    if let Some(set) = set {
        membership(f, set, objects, associations);
    }
    if let Some(docs) = documents {
        pair_documents(f, objects, docs);
    }
}

/// Where an association end points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Local {
    Object(ObjectKind),
    /// Not an object of this submission.
    Outside,
}

fn unique_ids(f: &mut Findings, objects: &[ObjectFacts], associations: &[AssociationFacts]) {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    let all = objects
        .iter()
        .map(|o| (o.key.as_str(), o.context.as_str()))
        .chain(
            associations
                .iter()
                .map(|a| (a.key.as_str(), a.context.as_str())),
        );
    for (key, context) in all {
        if let Some(first) = seen.insert(key, context) {
            f.metadata(
                "Submission.ids.unique",
                context,
                format!("its id '{key}' is also the id of {first}"),
            );
        }
    }
}

fn unique_unique_ids(f: &mut Findings, objects: &[ObjectFacts]) {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for o in objects {
        let Some(u) = o.unique_id.as_deref() else {
            continue;
        };
        if let Some(first) = seen.insert(u, o.context.as_str()) {
            f.push(
                f.kind.duplicate_unique_id_in_message(),
                Severity::Error,
                "Submission.uniqueIds.unique",
                &o.context,
                format!("uniqueId {u} is also the uniqueId of {first} in this message"),
            );
        }
    }
}

fn same_patient(f: &mut Findings, set: &ObjectFacts, objects: &[ObjectFacts]) {
    let Some(expected) = &set.patient_id else {
        return;
    };
    for o in objects {
        if !matches!(o.kind, ObjectKind::DocumentEntry | ObjectKind::Folder) {
            continue;
        }
        let Some(p) = &o.patient_id else { continue };
        if !p.same_patient(expected) {
            f.push(
                ErrorCode::XDSPatientIdDoesNotMatch,
                Severity::Error,
                "Submission.patientId.consistent",
                &o.context,
                format!("patientId {p} differs from the SubmissionSet's patientId {expected}"),
            );
        }
    }
}

fn association(
    f: &mut Findings,
    a: &AssociationFacts,
    set: Option<&ObjectFacts>,
    resolve: &dyn Fn(&str) -> Local,
) {
    let ctx = a.context.as_str();
    let source = resolve(&a.source_key);
    let target = resolve(&a.target_key);
    // A symbolic id means nothing outside its submission.
    if source == Local::Outside && !a.source_is_uuid {
        f.metadata(
            "Association.sourceObject.resolves",
            ctx,
            format!(
                "sourceObject '{}' is a symbolic id that names no object of this submission",
                a.source_key
            ),
        );
    }
    if target == Local::Outside && !a.target_is_uuid {
        f.metadata(
            "Association.targetObject.resolves",
            ctx,
            format!(
                "targetObject '{}' is a symbolic id that names no object of this submission",
                a.target_key
            ),
        );
    }
    let Some(kind) = a.association_type else {
        return;
    };
    let from_set = set.is_some_and(|s| s.key == a.source_key);
    match kind {
        AssociationType::HasMember => has_member(f, a, from_set, source, target),
        AssociationType::UpdateAvailabilityStatus | AssociationType::SubmitAssociation => {
            f.metadata(
                "Association.associationType.allowed",
                ctx,
                format!(
                    "{kind} associations belong to ITI-57 Update Document Set, not to {}",
                    f.kind.transaction()
                ),
            );
        }
        _ => {
            if source != Local::Object(ObjectKind::DocumentEntry) {
                f.metadata(
                    "Association.relationship.sourceInSubmission",
                    ctx,
                    format!(
                        "the sourceObject of {kind} must be a DocumentEntry of this submission"
                    ),
                );
            }
            if kind.targets_registered_document() && target != Local::Outside {
                f.metadata(
                    "Association.relationship.targetRegistered",
                    ctx,
                    format!("the targetObject of {kind} must be a DocumentEntry already registered, not an object of this submission"),
                );
            }
        }
    }
}

fn has_member(
    f: &mut Findings,
    a: &AssociationFacts,
    from_set: bool,
    source: Local,
    target: Local,
) {
    let ctx = a.context.as_str();
    if from_set {
        match target {
            Local::Object(ObjectKind::DocumentEntry) => match submission_set_status(f, a) {
                Some(SubmissionSetStatus::Original) => {}
                Some(SubmissionSetStatus::Reference) => f.metadata(
                    "Association.HasMember.SubmissionSetStatus.consistent",
                    ctx,
                    "SubmissionSetStatus is Reference, but the DocumentEntry is submitted with this SubmissionSet (Original)",
                ),
                None if a.submission_set_status.is_none() => f.metadata(
                    "Association.HasMember.SubmissionSetStatus.required",
                    ctx,
                    "SubmissionSet-HasMember-DocumentEntry requires the SubmissionSetStatus slot (Original or Reference)",
                ),
                None => {}
            },
            // A symbolic target that resolves nowhere is reported once, above.
            Local::Outside if !a.target_is_uuid => {}
            Local::Outside => {
                if a.submission_set_status.is_some()
                    && submission_set_status(f, a) == Some(SubmissionSetStatus::Original)
                {
                    f.metadata(
                        "Association.HasMember.SubmissionSetStatus.consistent",
                        ctx,
                        "SubmissionSetStatus is Original, but the target is not submitted with this SubmissionSet (Reference)",
                    );
                }
            }
            Local::Object(ObjectKind::Folder | ObjectKind::Association) => {}
            Local::Object(other) => f.metadata(
                "Association.HasMember.target.valid",
                ctx,
                format!("a SubmissionSet cannot have a {} as member", other.name()),
            ),
        }
        return;
    }
    match source {
        Local::Object(ObjectKind::Folder) | Local::Outside => {
            // From a Folder (of this submission, or a registered one): the target is a DocumentEntry.
            if let Local::Object(other) = target
                && other != ObjectKind::DocumentEntry
            {
                f.metadata(
                    "Association.HasMember.target.valid",
                    ctx,
                    format!(
                        "a Folder can only have DocumentEntries as members, not a {}",
                        other.name()
                    ),
                );
            }
        }
        Local::Object(other) => f.metadata(
            "Association.HasMember.source.valid",
            ctx,
            format!(
                "HasMember goes from the SubmissionSet or a Folder, not from a {}",
                other.name()
            ),
        ),
    }
}

/// The SubmissionSetStatus value, reporting a bad one.
fn submission_set_status(f: &mut Findings, a: &AssociationFacts) -> Option<SubmissionSetStatus> {
    let values = a.submission_set_status.as_ref()?;
    match &values[..] {
        [one] => {
            let s = SubmissionSetStatus::parse(one);
            if s.is_none() {
                f.metadata(
                    "Association.HasMember.SubmissionSetStatus.valid",
                    &a.context,
                    format!("SubmissionSetStatus '{one}' is neither Original nor Reference"),
                );
            }
            s
        }
        _ => {
            f.metadata(
                "Association.HasMember.SubmissionSetStatus.valid",
                &a.context,
                format!(
                    "SubmissionSetStatus has {} values, exactly one is required",
                    values.len()
                ),
            );
            None
        }
    }
}

/// Every DocumentEntry and Folder of the submission is a member of its SubmissionSet.
fn membership(
    f: &mut Findings,
    set: &ObjectFacts,
    objects: &[ObjectFacts],
    associations: &[AssociationFacts],
) {
    let members: HashSet<&str> = associations
        .iter()
        .filter(|a| {
            a.association_type == Some(AssociationType::HasMember) && a.source_key == set.key
        })
        .map(|a| a.target_key.as_str())
        .collect();
    for o in objects {
        let rule = match o.kind {
            ObjectKind::DocumentEntry => "DocumentEntry.submissionSetMembership.required",
            ObjectKind::Folder => "Folder.submissionSetMembership.required",
            _ => continue,
        };
        if !members.contains(o.key.as_str()) {
            f.metadata(
                rule,
                &o.context,
                format!(
                    "no HasMember association links the SubmissionSet '{}' to it",
                    set.key
                ),
            );
        }
    }
}

/// ITI-41: each DocumentEntry has its document and each document its DocumentEntry; a
/// submitted hash and size match the bytes.
fn pair_documents(f: &mut Findings, objects: &[ObjectFacts], documents: &[DocumentFacts]) {
    debug_assert_eq!(f.kind, SubmissionKind::ProvideAndRegister);
    let mut by_key: HashMap<&str, &DocumentFacts> = HashMap::new();
    for d in documents {
        if by_key.insert(d.key.as_str(), d).is_some() {
            f.push(
                ErrorCode::XDSRepositoryMetadataError,
                Severity::Error,
                "Document.id.unique",
                &d.context,
                "another document of this request has the same id",
            );
        }
    }
    let entries: HashSet<&str> = objects
        .iter()
        .filter(|o| o.kind == ObjectKind::DocumentEntry)
        .map(|o| o.key.as_str())
        .collect();
    for o in objects
        .iter()
        .filter(|o| o.kind == ObjectKind::DocumentEntry)
    {
        let Some(d) = by_key.get(o.key.as_str()) else {
            f.push(
                ErrorCode::XDSMissingDocument,
                Severity::Error,
                "DocumentEntry.document.present",
                &o.context,
                "no xdsb:Document with its id is attached",
            );
            continue;
        };
        if let Some(h) = o.hash
            && h != d.hash
        {
            f.push(
                ErrorCode::XDSNonIdenticalHash,
                Severity::Error,
                "DocumentEntry.hash.matchesDocument",
                &o.context,
                format!(
                    "the submitted hash {h} is not the SHA-1 of the document, {}",
                    d.hash
                ),
            );
        }
        if let Some(s) = o.size
            && s != d.size
        {
            f.push(
                ErrorCode::XDSNonIdenticalSize,
                Severity::Error,
                "DocumentEntry.size.matchesDocument",
                &o.context,
                format!(
                    "the submitted size {s} is not the document's size, {}",
                    d.size
                ),
            );
        }
    }
    for d in documents {
        if !entries.contains(d.key.as_str()) {
            f.push(
                ErrorCode::XDSMissingDocumentMetadata,
                Severity::Error,
                "Document.metadata.present",
                &d.context,
                "no DocumentEntry (ExtrinsicObject) has this document's id",
            );
        }
    }
}
