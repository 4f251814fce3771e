//! ITI-62 Delete Document Set (ITI TF-2b §3.62, XDS Metadata Update): a Document Administrator
//! removes registry objects — DocumentEntries, Folders, SubmissionSets, Associations — named by
//! entryUUID in the `rim:ObjectRefList` of an `lcm:RemoveObjectsRequest`; response:
//! `rs:RegistryResponse`.
//!
//! Expected actions (§3.62.4.1.3), all in one PostgreSQL transaction, all or nothing:
//! - every ObjectRef names a registered object, else `UnresolvedReferenceException`;
//! - no object removed stays referenced by an Association that is not removed too, else
//!   `ReferencesExistException` (a SubmissionSet is also referenced by the objects registered
//!   with it: hiehub keeps that link, so they must go with it);
//! - no object that stays loses its last reference because the Associations naming it are
//!   removed (a SubmissionSet without members, a DocumentEntry in no SubmissionSet), else
//!   `UnreferencedObjectException` (NIST test 30002 step 2).
//!
//! Only registry metadata is removed: documents stay in the repository (ITI-86 Remove Documents
//! is the repository's transaction).

use std::collections::HashSet;

use super::error_code::ErrorCode;
use super::from_ebxml::decode_failure;
use super::object_id::RegistryObjectId;
use super::problem::{Problem, Severity, has_errors};
use super::registry::{self, LifecycleObject, Registered};
use super::service::{Answer, Context, internal_error, registry_answer};
use super::submission::SubmissionKind;
use crate::audit::dicom::ParticipantObject;
use crate::ebxml::{self, WireMessage};
use crate::xml::Element;

pub const ACTION: &str = "urn:ihe:iti:2010:DeleteDocumentSet";
pub const RESPONSE_ACTION: &str = "urn:ihe:iti:2010:DeleteDocumentSetResponse";

/// The schema default and the only scope ITI-62 uses.
const DELETE_ALL: &str = "urn:oasis:names:tc:ebxml-regrep:DeletionScopeType:DeleteAll";

/// One ITI-62 request: the entryUUIDs to remove, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteDocumentSetRequest {
    pub object_refs: Vec<String>,
}

impl DeleteDocumentSetRequest {
    /// The request in `r`, or the problems that make it no ITI-62 request (§3.62.4.1.2: an
    /// ObjectRefList, no AdhocQuery, no deletionScope other than the default).
    pub fn from_ebxml(r: &ebxml::RemoveObjectsRequest) -> Result<Self, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut refuse = |rule: &'static str, message: &str| {
            problems.push(problem(
                ErrorCode::XDSRegistryMetadataError,
                rule,
                "RemoveObjectsRequest".into(),
                message.into(),
            ))
        };
        if r.adhoc_query.is_some() {
            refuse(
                "DeleteDocumentSet.request.noAdhocQuery",
                "ITI-62 names the objects to remove in an ObjectRefList; an AdhocQuery is not accepted",
            );
        }
        if r.object_refs.is_empty() {
            refuse(
                "DeleteDocumentSet.request.objectRefList",
                "the ObjectRefList is missing or empty: name at least one object to remove",
            );
        }
        if let Some(scope) = r.deletion_scope.as_deref()
            && scope.trim() != DELETE_ALL
        {
            refuse(
                "DeleteDocumentSet.request.deletionScope",
                &format!(
                    "deletionScope '{scope}' is not supported; ITI-62 removes metadata only (DeleteAll)"
                ),
            );
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(DeleteDocumentSetRequest {
            object_refs: r.object_refs.iter().map(|o| o.id.clone()).collect(),
        })
    }
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

/// Handles the SOAP body `body` of one ITI-62 request.
pub async fn handle(ctx: &Context, body: &Element) -> Answer {
    let request = match ebxml::RemoveObjectsRequest::decode(body) {
        Ok(r) => r,
        Err(e) => {
            return registry_answer(&[decode_failure(&e, SubmissionKind::Register)], Vec::new());
        }
    };
    let request = match DeleteDocumentSetRequest::from_ebxml(&request) {
        Ok(r) => r,
        Err(problems) => return registry_answer(&problems, Vec::new()),
    };
    let result = ctx
        .db
        .run(move |conn| Ok(delete_blocking(conn, &request)))
        .await;
    match result {
        Ok((problems, objects, consents)) => {
            // Consents removed (issue 6): their revocation events before the answer.
            if let Err(e) = ctx.consent.updated("ITI-62", consents).await {
                tracing::error!(error = %e, "ITI-62: consent revocation events not recorded");
            }
            registry_answer(&problems, objects)
        }
        Err(e) => {
            tracing::error!(error = %e, transaction = "ITI-62", "delete failed");
            let p = internal_error(ErrorCode::XDSRegistryError, "DeleteDocumentSet");
            registry_answer(&[p], Vec::new())
        }
    }
}

enum TxError {
    Rejected(Vec<Problem>, Vec<ParticipantObject>),
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for TxError {
    fn from(e: diesel::result::Error) -> Self {
        TxError::Db(e)
    }
}

type Deleted = (
    Vec<Problem>,
    Vec<ParticipantObject>,
    Vec<crate::consent::store::ConsentUpdate>,
);

fn delete_blocking(conn: &mut diesel::PgConnection, request: &DeleteDocumentSetRequest) -> Deleted {
    use diesel::Connection;
    type Done = (
        Vec<ParticipantObject>,
        Vec<crate::consent::store::ConsentUpdate>,
    );
    let tx = conn.transaction::<Done, TxError, _>(|conn| {
        let (problems, objects, participants) = checks(conn, request)?;
        if has_errors(&problems) {
            return Err(TxError::Rejected(problems, participants));
        }
        registry::delete_objects(conn, &objects)?;
        let consents = crate::consent::store::changes_in_transaction(conn)?;
        Ok((participants, consents))
    });
    match tx {
        Ok((participants, consents)) => (Vec::new(), participants, consents),
        Err(TxError::Rejected(problems, participants)) => (problems, participants, Vec::new()),
        Err(TxError::Db(e)) => {
            tracing::error!(error = %e, "ITI-62 transaction failed");
            (
                vec![internal_error(
                    ErrorCode::XDSRegistryError,
                    "DeleteDocumentSet",
                )],
                Vec::new(),
                Vec::new(),
            )
        }
    }
}

/// What the object `o` is, for codeContext.
fn describe(o: &LifecycleObject) -> String {
    let kind = match o.kind {
        Registered::DocumentEntry => "DocumentEntry",
        Registered::Folder => "Folder",
        Registered::SubmissionSet => "SubmissionSet",
        Registered::Association => "Association",
    };
    match &o.unique_id {
        Some(u) => format!("{kind} '{}' (uniqueId {u})", o.entry_uuid),
        None => format!("{kind} '{}'", o.entry_uuid),
    }
}

type Checked = (
    Vec<Problem>,
    Vec<(String, Registered)>,
    Vec<ParticipantObject>,
);

/// The §3.62.4.1.3 rules, inside the transaction (the rows named are locked).
fn checks(
    conn: &mut diesel::PgConnection,
    request: &DeleteDocumentSetRequest,
) -> Result<Checked, diesel::result::Error> {
    let mut problems = Vec::new();

    // The ids, in canonical form; a symbolic or malformed id names nothing in the registry.
    let mut ids: Vec<String> = Vec::new();
    for raw in &request.object_refs {
        match RegistryObjectId::parse(raw) {
            Ok(id) if id.is_uuid() => {
                let id = id.to_string();
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            _ => problems.push(problem(
                ErrorCode::UnresolvedReferenceException,
                "DeleteDocumentSet.objectRef.registered",
                format!("ObjectRef '{raw}'"),
                "not an entryUUID (urn:uuid:…): registered objects are named by their entryUUID"
                    .into(),
            )),
        }
    }
    let found = registry::lifecycle_objects(conn, &ids)?;
    for id in &ids {
        if !found.contains_key(id) {
            problems.push(problem(
                ErrorCode::UnresolvedReferenceException,
                "DeleteDocumentSet.objectRef.registered",
                format!("ObjectRef '{id}'"),
                "no registered object has this entryUUID".into(),
            ));
        }
    }
    let objects: Vec<&LifecycleObject> = ids.iter().filter_map(|id| found.get(id)).collect();
    let participants = participants(&objects);
    if has_errors(&problems) {
        return Ok((problems, Vec::new(), participants));
    }
    let removed: HashSet<&str> = ids.iter().map(String::as_str).collect();

    // Objects removed that an Association staying behind still references.
    let referencing = registry::associations_referencing(conn, &ids)?;
    for o in &objects {
        let staying: Vec<&registry::AssociationRow> = referencing
            .iter()
            .filter(|a| a.source == o.entry_uuid || a.target == o.entry_uuid)
            .filter(|a| !removed.contains(a.entry_uuid.as_str()))
            .collect();
        if !staying.is_empty() {
            let names: Vec<&str> = staying.iter().map(|a| a.entry_uuid.as_str()).collect();
            problems.push(problem(
                ErrorCode::ReferencesExistException,
                "DeleteDocumentSet.references.removedToo",
                describe(o),
                format!(
                    "it is still referenced by {} Association(s) not in this request: {}",
                    names.len(),
                    names.join(", ")
                ),
            ));
        }
    }
    // A SubmissionSet removed while objects registered with it stay.
    let sets: Vec<String> = objects
        .iter()
        .filter(|o| o.kind == Registered::SubmissionSet)
        .map(|o| o.entry_uuid.clone())
        .collect();
    let members = registry::registered_with(conn, &sets)?;
    let staying: Vec<&str> = members
        .iter()
        .filter(|(id, _)| !removed.contains(id.as_str()))
        .map(|(id, _)| id.as_str())
        .collect();
    if !staying.is_empty() {
        for o in objects
            .iter()
            .filter(|o| o.kind == Registered::SubmissionSet)
        {
            problems.push(problem(
                ErrorCode::ReferencesExistException,
                "DeleteDocumentSet.references.removedToo",
                describe(o),
                format!(
                    "objects registered with this SubmissionSet are not in this request: {}",
                    staying.join(", ")
                ),
            ));
        }
    }

    // Objects that stay but lose their last reference with the Associations removed.
    let removed_associations: Vec<String> = objects
        .iter()
        .filter(|o| o.kind == Registered::Association)
        .map(|o| o.entry_uuid.clone())
        .collect();
    let rows = registry::associations_by_id(conn, &removed_associations)?;
    let mut ends: Vec<String> = Vec::new();
    for a in &rows {
        for end in [&a.source, &a.target] {
            if !removed.contains(end.as_str()) && !ends.contains(end) {
                ends.push(end.clone());
            }
        }
    }
    let still = registry::associations_referencing(conn, &ends)?;
    let end_objects = registry::lifecycle_objects(conn, &ends)?;
    for end in &ends {
        let referenced = still.iter().any(|a| {
            (a.source == *end || a.target == *end) && !removed.contains(a.entry_uuid.as_str())
        });
        if referenced {
            continue;
        }
        let via: Vec<&str> = rows
            .iter()
            .filter(|a| a.source == *end || a.target == *end)
            .map(|a| a.entry_uuid.as_str())
            .collect();
        let context = end_objects
            .get(end)
            .map_or_else(|| format!("object '{end}'"), describe);
        problems.push(problem(
            ErrorCode::UnreferencedObjectException,
            "DeleteDocumentSet.objects.stayReferenced",
            context,
            format!(
                "removing Association(s) {} would leave it referenced by no Association; remove it too, or keep them",
                via.join(", ")
            ),
        ));
    }

    let to_delete = objects
        .iter()
        .map(|o| (o.entry_uuid.clone(), o.kind))
        .collect();
    Ok((problems, to_delete, participants))
}

/// The audit participant objects: the patients, SubmissionSets and documents concerned.
fn participants(objects: &[&LifecycleObject]) -> Vec<ParticipantObject> {
    let mut out = Vec::new();
    let mut patients: Vec<&str> = objects
        .iter()
        .filter_map(|o| o.patient_id.as_deref())
        .collect();
    patients.sort_unstable();
    patients.dedup();
    out.extend(patients.into_iter().map(ParticipantObject::patient));
    for o in objects {
        match (o.kind, &o.unique_id) {
            (Registered::SubmissionSet, Some(u)) => {
                out.push(ParticipantObject::submission_set(u.as_str()))
            }
            (Registered::DocumentEntry, Some(u)) => out.push(ParticipantObject::document(
                u.as_str(),
                o.repository_unique_id.as_deref(),
                None,
            )),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(xml: &str) -> ebxml::RemoveObjectsRequest {
        let root = crate::xml::parse(xml.as_bytes(), &crate::xml::Limits::default()).expect("xml");
        ebxml::RemoveObjectsRequest::decode(&root).expect("decode")
    }

    const HEAD: &str = r#"<lcm:RemoveObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0""#;

    #[test]
    fn object_refs_are_read() {
        let r = request(&format!(
            r#"{HEAD}><rim:ObjectRefList><rim:ObjectRef id="urn:uuid:aabbccdd-bdda-424e-8c96-df4873bf9101"/></rim:ObjectRefList></lcm:RemoveObjectsRequest>"#
        ));
        let r = DeleteDocumentSetRequest::from_ebxml(&r).expect("valid");
        assert_eq!(
            r.object_refs,
            vec!["urn:uuid:aabbccdd-bdda-424e-8c96-df4873bf9101".to_string()]
        );
    }

    #[test]
    fn an_empty_list_or_another_scope_is_refused() {
        let r = request(&format!("{HEAD}/>"));
        let p = DeleteDocumentSetRequest::from_ebxml(&r).expect_err("empty");
        assert_eq!(p[0].code, ErrorCode::XDSRegistryMetadataError);
        assert_eq!(p[0].rule, "DeleteDocumentSet.request.objectRefList");
        let r = request(&format!(
            r#"{HEAD} deletionScope="urn:oasis:names:tc:ebxml-regrep:DeletionScopeType:DeleteRepositoryItemOnly"><rim:ObjectRefList><rim:ObjectRef id="urn:uuid:aabbccdd-bdda-424e-8c96-df4873bf9101"/></rim:ObjectRefList></lcm:RemoveObjectsRequest>"#
        ));
        let p = DeleteDocumentSetRequest::from_ebxml(&r).expect_err("scope");
        assert_eq!(p[0].rule, "DeleteDocumentSet.request.deletionScope");
    }
}
