//! ebXML → XDS: reading the metadata objects of a submission out of the ebRIM mirror types
//! (ITI TF-3 §4.2: ebRIM representation of the metadata), collecting every problem.
//!
//! Per object this checks what Table 4.3.1-3 requires of the sender, the formats of §4.2.3.1, and
//! single-valuedness; the `structure` module then checks the submission as a whole.
//! Classifications and ExternalIdentifiers may come nested in their object or at the top level of
//! the `RegistryObjectList`; both are read. Slots that are not XDS attributes are kept as
//! `extra_slots`; classifications and identifiers of unknown schemes are reported as not saved.

mod association;
mod common;
mod document_entry;
mod folder;
mod submission_set;

use std::collections::HashMap;

use crate::ebxml;

use super::findings::{DocumentFacts, Findings, ObjectFacts, ObjectKind, id_key};
use super::object_id::RegistryObjectId;
use super::problem::Problem;
use super::sha1_hex::Sha1Hex;
use super::structure;
use super::submission::{DocumentContent, Submission, SubmissionKind};
use super::submission_set::SubmissionSet;
use super::vocabulary as v;
use association::read_association;
use document_entry::read_document_entry;
use folder::read_folder;
use submission_set::read_submission_set;

/// ITI-42 Register Document Set-b: the submission in `request`, and every problem found.
/// `None` when no valid SubmissionSet could be read (the problems say why).
pub fn submission_from_register(
    request: &ebxml::SubmitObjectsRequest,
) -> (Option<Submission>, Vec<Problem>) {
    read_submission(&request.objects, None, SubmissionKind::Register)
}

/// ITI-41 Provide and Register Document Set-b (and RAD-68): the submission with its documents.
pub fn submission_from_provide_and_register(
    request: &ebxml::ProvideAndRegisterDocumentSetRequest,
) -> (Option<Submission>, Vec<Problem>) {
    read_submission(
        &request.submit.objects,
        Some(&request.documents),
        SubmissionKind::ProvideAndRegister,
    )
}

/// The problem to answer when the message itself could not be decoded (schema-invalid ebXML):
/// rule `Message.schema.valid`, the transaction's metadata error code.
pub fn decode_failure(error: &ebxml::DecodeError, kind: SubmissionKind) -> Problem {
    let mut f = Findings::new(kind);
    f.metadata(
        "Message.schema.valid",
        error.path(),
        format!("the message does not follow the ebRIM/ebRS 3.0 schema: {error}"),
    );
    f.problems.remove(0)
}

/// The Classifications and ExternalIdentifiers of one object: nested ones and top-level ones
/// that point to it.
#[derive(Default)]
pub(super) struct Attached<'a> {
    pub classifications: Vec<&'a ebxml::Classification>,
    pub external_identifiers: Vec<&'a ebxml::ExternalIdentifier>,
}

fn read_submission(
    list: &ebxml::RegistryObjectList,
    documents: Option<&[ebxml::Document]>,
    kind: SubmissionKind,
) -> (Option<Submission>, Vec<Problem>) {
    let mut f = Findings::new(kind);

    // Which ids the objects that can carry classifications have.
    let mut owners: HashMap<String, Attached<'_>> = HashMap::new();
    for o in &list.objects {
        let object = match o {
            ebxml::Identifiable::ExtrinsicObject(e) => &e.object,
            ebxml::Identifiable::RegistryPackage(p) => &p.object,
            ebxml::Identifiable::Association(a) => &a.object,
            _ => continue,
        };
        let attached = owners.entry(id_key(&object.id)).or_default();
        attached
            .classifications
            .extend(object.classifications.iter());
        attached
            .external_identifiers
            .extend(object.external_identifiers.iter());
    }
    for c in list.classifications() {
        match owners.get_mut(&id_key(&c.classified_object)) {
            Some(a) => a.classifications.push(c),
            None => f.metadata(
                "Classification.classifiedObject.resolves",
                &format!("Classification '{}'", c.object.id),
                format!(
                    "classifiedObject '{}' is not an object of this submission",
                    c.classified_object
                ),
            ),
        }
    }
    for e in list.external_identifiers() {
        match owners.get_mut(&id_key(&e.registry_object)) {
            Some(a) => a.external_identifiers.push(e),
            None => f.metadata(
                "ExternalIdentifier.registryObject.resolves",
                &format!("ExternalIdentifier '{}'", e.object.id),
                format!(
                    "registryObject '{}' is not an object of this submission",
                    e.registry_object
                ),
            ),
        }
    }
    let empty = Attached::default();
    let attached = |id: &str| owners.get(&id_key(id)).unwrap_or(&empty);

    let mut facts: Vec<ObjectFacts> = Vec::new();
    let mut entries = Vec::new();
    for eo in list.extrinsic_objects() {
        let (entry, fact) = read_document_entry(&mut f, eo, attached(&eo.object.id));
        facts.push(fact);
        entries.extend(entry);
    }
    let mut sets = Vec::new();
    let mut folders = Vec::new();
    for p in list.registry_packages() {
        let at = attached(&p.object.id);
        match package_kind(&mut f, p, at) {
            ObjectKind::SubmissionSet => {
                let (set, fact) = read_submission_set(&mut f, p, at);
                facts.push(fact);
                sets.extend(set);
            }
            ObjectKind::Folder => {
                let (folder, fact) = read_folder(&mut f, p, at);
                facts.push(fact);
                folders.extend(folder);
            }
            other => facts.push(ObjectFacts {
                key: id_key(&p.object.id),
                kind: other,
                context: format!("RegistryPackage '{}'", p.object.id),
                patient_id: None,
                unique_id: None,
                hash: None,
                size: None,
                on_demand: false,
            }),
        }
    }
    let mut association_facts = Vec::new();
    let mut associations = Vec::new();
    for a in list.associations() {
        let (association, fact) = read_association(&mut f, a, attached(&a.object.id));
        association_facts.push(fact);
        associations.extend(association);
    }
    let object_refs = list
        .object_refs()
        .filter_map(|r| RegistryObjectId::parse(&r.id).ok())
        .collect();

    let mut contents = Vec::new();
    let document_facts: Option<Vec<DocumentFacts>> = documents.map(|docs| {
        docs.iter()
            .map(|d| {
                if let Ok(id) = RegistryObjectId::parse(&d.id) {
                    contents.push(DocumentContent {
                        entry_uuid: id,
                        bytes: d.bytes.clone(),
                    });
                }
                DocumentFacts {
                    key: id_key(&d.id),
                    context: format!("Document '{}'", d.id),
                    hash: Sha1Hex::digest(&d.bytes),
                    size: d.bytes.len() as u64,
                }
            })
            .collect()
    });

    structure::check(
        &mut f,
        &facts,
        &association_facts,
        document_facts.as_deref(),
    );

    let submission = match <[SubmissionSet; 1]>::try_from(sets) {
        Ok([submission_set]) => Some(Submission {
            submission_set,
            documents: entries,
            folders,
            associations,
            object_refs,
            contents,
        }),
        Err(_) => None,
    };
    (submission, f.problems)
}

/// SubmissionSet, Folder or neither, by the classification nodes of a RegistryPackage.
fn package_kind(f: &mut Findings, p: &ebxml::RegistryPackage, at: &Attached<'_>) -> ObjectKind {
    let node = |uuid: &str| {
        at.classifications
            .iter()
            .any(|c| c.classification_node.as_deref().map(str::trim) == Some(uuid))
    };
    let (set, folder) = (node(v::SUBMISSION_SET), node(v::FOLDER));
    let context = format!("RegistryPackage '{}'", p.object.id);
    match (set, folder) {
        (true, false) => ObjectKind::SubmissionSet,
        (false, true) => ObjectKind::Folder,
        (true, true) => {
            f.metadata(
                "RegistryPackage.kind.known",
                &context,
                "it is classified both as SubmissionSet and as Folder",
            );
            ObjectKind::Package
        }
        (false, false) => {
            f.metadata(
                "RegistryPackage.kind.known",
                &context,
                format!(
                    "it is classified neither as SubmissionSet ({}) nor as Folder ({})",
                    v::SUBMISSION_SET,
                    v::FOLDER
                ),
            );
            ObjectKind::Package
        }
    }
}
