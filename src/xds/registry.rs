//! The Document Registry's store (ITI TF-3 §4.1: the objects the registry keeps): SubmissionSets,
//! DocumentEntries, Folders and Associations in PostgreSQL, plus the patients known in the
//! affinity domain and the repository's document index.
//!
//! Each object keeps its metadata as submitted — the ebRIM XML of the object with the ids and
//! status the registry assigned (`metadata_xml`, what a LeafClass answer returns) — and indexed
//! columns for what ITI-18 queries on. availabilityStatus lives in the `status` column; the XML
//! keeps the status at registration, so readers take the column.
//!
//! Invariant: every function here takes the caller's connection; the transaction boundary (one
//! submission = one PostgreSQL transaction) is the caller's ([`super::submit`]).

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::code::Code;
use super::document_entry::DocumentEntry;
use super::folder::Folder;
use super::object_id::RegistryObjectId;
use super::patient_id::PatientId;
use super::status::AvailabilityStatus;
use super::submission::{Submission, SubmissionKind};
use super::submission_set::SubmissionSet;
use super::to_ebxml;
use crate::ebxml::{self, WireMessage};
use crate::store::schema::{
    patients, xds_associations, xds_document_entries, xds_folders, xds_repository_documents,
    xds_submission_sets,
};

/// How a patient id is stored and compared: `id^^^&OID&ISO` (the namespace id is a label,
/// [`PatientId::same_patient`]).
pub fn patient_key(p: &PatientId) -> String {
    format!("{}^^^&{}&ISO", p.id, p.authority)
}

/// How a code is stored: `code^^^codingScheme`, the form of ITI-18 code parameters.
pub fn code_key(c: &Code) -> String {
    format!("{}^^^{}", c.code, c.scheme)
}

/// The patients of `ids` that are in the `patients` table.
pub fn known_patients(
    conn: &mut PgConnection,
    ids: &[&PatientId],
) -> QueryResult<HashSet<PatientId>> {
    let mut out = HashSet::new();
    for p in ids {
        let found: i64 = patients::table
            .filter(patients::assigning_authority.eq(p.authority.as_str()))
            .filter(patients::patient_id.eq(&p.id))
            .count()
            .get_result(conn)?;
        if found > 0 {
            out.insert((*p).clone());
        }
    }
    Ok(out)
}

/// The patients known in the affinity domain, as loaded for one submission.
pub struct KnownPatients(pub HashSet<PatientId>);

impl super::catalogue::PatientRegistry for KnownPatients {
    fn is_known(&self, patient: &PatientId) -> bool {
        self.0.iter().any(|p| p.same_patient(patient))
    }
}

/// Which of `unique_ids` a DocumentEntry, Folder or SubmissionSet already has.
pub fn used_unique_ids(
    conn: &mut PgConnection,
    unique_ids: &[String],
) -> QueryResult<HashSet<String>> {
    let mut out: HashSet<String> = xds_document_entries::table
        .filter(xds_document_entries::unique_id.eq_any(unique_ids))
        .select(xds_document_entries::unique_id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    out.extend(
        xds_folders::table
            .filter(xds_folders::unique_id.eq_any(unique_ids))
            .select(xds_folders::unique_id)
            .load::<String>(conn)?,
    );
    out.extend(
        xds_submission_sets::table
            .filter(xds_submission_sets::unique_id.eq_any(unique_ids))
            .select(xds_submission_sets::unique_id)
            .load::<String>(conn)?,
    );
    Ok(out)
}

/// What kind of registered object an entryUUID names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    DocumentEntry,
    Folder,
    SubmissionSet,
    Association,
}

/// A registered object an association of a new submission refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredObject {
    pub kind: Registered,
    pub status: Option<AvailabilityStatus>,
    /// DocumentEntries and Folders.
    pub patient_id: Option<String>,
}

/// The registered objects among `uuids` (`urn:uuid:` form). DocumentEntries are locked
/// (`FOR UPDATE`): a replacement decides on their status and then deprecates them.
pub fn registered_objects(
    conn: &mut PgConnection,
    uuids: &[String],
) -> QueryResult<HashMap<String, RegisteredObject>> {
    let mut out = HashMap::new();
    if uuids.is_empty() {
        return Ok(out);
    }
    let docs: Vec<(String, String, String)> = xds_document_entries::table
        .filter(xds_document_entries::entry_uuid.eq_any(uuids))
        .select((
            xds_document_entries::entry_uuid,
            xds_document_entries::status,
            xds_document_entries::patient_id,
        ))
        .for_update()
        .load(conn)?;
    for (id, status, patient) in docs {
        out.insert(
            id,
            RegisteredObject {
                kind: Registered::DocumentEntry,
                status: AvailabilityStatus::parse(&status),
                patient_id: Some(patient),
            },
        );
    }
    let folders: Vec<(String, String, String)> = xds_folders::table
        .filter(xds_folders::entry_uuid.eq_any(uuids))
        .select((
            xds_folders::entry_uuid,
            xds_folders::status,
            xds_folders::patient_id,
        ))
        .load(conn)?;
    for (id, status, patient) in folders {
        out.insert(
            id,
            RegisteredObject {
                kind: Registered::Folder,
                status: AvailabilityStatus::parse(&status),
                patient_id: Some(patient),
            },
        );
    }
    let sets: Vec<(String, String, String)> = xds_submission_sets::table
        .filter(xds_submission_sets::entry_uuid.eq_any(uuids))
        .select((
            xds_submission_sets::entry_uuid,
            xds_submission_sets::status,
            xds_submission_sets::patient_id,
        ))
        .load(conn)?;
    for (id, status, patient) in sets {
        out.insert(
            id,
            RegisteredObject {
                kind: Registered::SubmissionSet,
                status: AvailabilityStatus::parse(&status),
                patient_id: Some(patient),
            },
        );
    }
    let associations: Vec<(String, String)> = xds_associations::table
        .filter(xds_associations::entry_uuid.eq_any(uuids))
        .select((xds_associations::entry_uuid, xds_associations::status))
        .load(conn)?;
    for (id, status) in associations {
        out.insert(
            id,
            RegisteredObject {
                kind: Registered::Association,
                status: AvailabilityStatus::parse(&status),
                patient_id: None,
            },
        );
    }
    Ok(out)
}

/// Sets DocumentEntries Deprecated (RPLC and XFRM_RPLC targets, ITI TF-3 §4.2.2.2).
pub fn deprecate_document_entries(conn: &mut PgConnection, uuids: &[String]) -> QueryResult<()> {
    if uuids.is_empty() {
        return Ok(());
    }
    diesel::update(
        xds_document_entries::table.filter(xds_document_entries::entry_uuid.eq_any(uuids)),
    )
    .set(xds_document_entries::status.eq(AvailabilityStatus::Deprecated.as_urn()))
    .execute(conn)?;
    Ok(())
}

/// The status of the DocumentEntry `entry_uuid`, if registered.
pub fn document_entry_status(
    conn: &mut PgConnection,
    entry_uuid: &str,
) -> QueryResult<Option<AvailabilityStatus>> {
    let status: Option<String> = xds_document_entries::table
        .find(entry_uuid)
        .select(xds_document_entries::status)
        .first(conn)
        .optional()?;
    Ok(status.as_deref().and_then(AvailabilityStatus::parse))
}

/// The object as the XML of a one-object `rim:RegistryObjectList` inside an
/// `lcm:SubmitObjectsRequest` (decodable with [`ebxml::SubmitObjectsRequest`]).
fn object_xml(object: ebxml::Identifiable) -> String {
    ebxml::SubmitObjectsRequest {
        request: ebxml::RegistryRequest::default(),
        objects: ebxml::RegistryObjectList {
            objects: vec![object],
        },
    }
    .to_xml(ebxml::EncodeOptions::INLINE)
    .xml
}

fn uuid_text(id: &RegistryObjectId) -> String {
    id.to_string()
}

fn status_text(s: Option<AvailabilityStatus>) -> &'static str {
    s.unwrap_or(AvailabilityStatus::Approved).as_urn()
}

fn authors(list: &[super::author::Author]) -> Vec<String> {
    list.iter()
        .filter_map(|a| a.person.as_ref().map(|p| p.as_str().to_owned()))
        .collect()
}

fn version_number(v: &Option<String>) -> i32 {
    v.as_deref()
        .and_then(|v| v.trim().parse::<i32>().ok())
        .filter(|v| *v >= 1)
        .unwrap_or(1)
}

/// Inserts every object of `s` (ids already UUIDs, statuses set). `now` is the Folder
/// lastUpdateTime.
pub fn insert_submission(
    conn: &mut PgConnection,
    s: &Submission,
    kind: SubmissionKind,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let set_uuid = uuid_text(&s.submission_set.entry_uuid);
    insert_submission_set(conn, &s.submission_set, kind)?;
    for f in &s.folders {
        insert_folder(conn, f, &set_uuid, now)?;
    }
    for d in &s.documents {
        insert_document_entry(conn, d, &set_uuid)?;
    }
    for a in &s.associations {
        diesel::insert_into(xds_associations::table)
            .values((
                xds_associations::entry_uuid.eq(uuid_text(&a.entry_uuid)),
                xds_associations::association_type.eq(a.association_type.as_urn()),
                xds_associations::source_uuid.eq(uuid_text(&a.source)),
                xds_associations::target_uuid.eq(uuid_text(&a.target)),
                xds_associations::status.eq(status_text(a.availability_status)),
                xds_associations::submission_set_status
                    .eq(a.submission_set_status.map(|st| st.as_str())),
                xds_associations::submission_set.eq(&set_uuid),
                xds_associations::metadata_xml.eq(object_xml(ebxml::Identifiable::Association(
                    to_ebxml::association_to_ebxml(a),
                ))),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn insert_submission_set(
    conn: &mut PgConnection,
    set: &SubmissionSet,
    kind: SubmissionKind,
) -> QueryResult<()> {
    diesel::insert_into(xds_submission_sets::table)
        .values((
            xds_submission_sets::entry_uuid.eq(uuid_text(&set.entry_uuid)),
            xds_submission_sets::unique_id.eq(set.unique_id.as_str()),
            xds_submission_sets::patient_id.eq(patient_key(&set.patient_id)),
            xds_submission_sets::source_id.eq(set.source_id.as_str()),
            xds_submission_sets::status.eq(status_text(set.availability_status)),
            xds_submission_sets::submission_time.eq(set.submission_time.start()),
            xds_submission_sets::content_type_code.eq(code_key(&set.content_type_code)),
            xds_submission_sets::author_persons.eq(authors(&set.authors)),
            xds_submission_sets::intended_recipients.eq(&set.intended_recipients),
            xds_submission_sets::transaction.eq(kind.transaction()),
            xds_submission_sets::metadata_xml.eq(object_xml(ebxml::Identifiable::RegistryPackage(
                to_ebxml::submission_set_to_ebxml(set),
            ))),
        ))
        .execute(conn)?;
    Ok(())
}

fn insert_folder(
    conn: &mut PgConnection,
    f: &Folder,
    set_uuid: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let id = uuid_text(&f.entry_uuid);
    diesel::insert_into(xds_folders::table)
        .values((
            xds_folders::entry_uuid.eq(&id),
            xds_folders::logical_id.eq(f.logical_id.as_ref().map_or(id.clone(), uuid_text)),
            xds_folders::version.eq(version_number(&f.version)),
            xds_folders::unique_id.eq(f.unique_id.as_str()),
            xds_folders::patient_id.eq(patient_key(&f.patient_id)),
            xds_folders::status.eq(status_text(f.availability_status)),
            xds_folders::code_list.eq(f.code_list.iter().map(code_key).collect::<Vec<_>>()),
            xds_folders::last_update_time.eq(now),
            xds_folders::submission_set.eq(set_uuid),
            xds_folders::metadata_xml.eq(object_xml(ebxml::Identifiable::RegistryPackage(
                to_ebxml::folder_to_ebxml(f),
            ))),
        ))
        .execute(conn)?;
    Ok(())
}

fn insert_document_entry(
    conn: &mut PgConnection,
    d: &DocumentEntry,
    set_uuid: &str,
) -> QueryResult<()> {
    let id = uuid_text(&d.entry_uuid);
    diesel::insert_into(xds_document_entries::table)
        .values((
            xds_document_entries::entry_uuid.eq(&id),
            xds_document_entries::logical_id
                .eq(d.logical_id.as_ref().map_or(id.clone(), uuid_text)),
            xds_document_entries::version.eq(version_number(&d.version)),
            xds_document_entries::unique_id.eq(d.unique_id.to_string()),
            xds_document_entries::patient_id.eq(patient_key(&d.patient_id)),
            xds_document_entries::status.eq(status_text(d.availability_status)),
            xds_document_entries::object_type.eq(d.object_type.as_uuid()),
            xds_document_entries::mime_type.eq(&d.mime_type),
            xds_document_entries::class_code.eq(code_key(&d.class_code)),
            xds_document_entries::type_code.eq(code_key(&d.type_code)),
            xds_document_entries::format_code.eq(code_key(&d.format_code)),
            xds_document_entries::healthcare_facility_type_code
                .eq(code_key(&d.healthcare_facility_type_code)),
            xds_document_entries::practice_setting_code.eq(code_key(&d.practice_setting_code)),
            xds_document_entries::confidentiality_codes.eq(d
                .confidentiality_codes
                .iter()
                .map(code_key)
                .collect::<Vec<_>>()),
            xds_document_entries::event_codes.eq(d
                .event_codes
                .iter()
                .map(code_key)
                .collect::<Vec<_>>()),
            xds_document_entries::creation_time.eq(d.creation_time.map(|t| t.start())),
            xds_document_entries::service_start_time.eq(d.service_start_time.map(|t| t.start())),
            xds_document_entries::service_stop_time.eq(d.service_stop_time.map(|t| t.start())),
            xds_document_entries::author_persons.eq(authors(&d.authors)),
            xds_document_entries::reference_ids.eq(&d.reference_id_list),
            xds_document_entries::hash.eq(d.hash.map(|h| h.to_string())),
            xds_document_entries::size.eq(d.size.and_then(|s| i64::try_from(s).ok())),
            xds_document_entries::repository_unique_id.eq(d
                .repository_unique_id
                .as_ref()
                .map(|r| r.as_str().to_owned())),
            xds_document_entries::home_community_id.eq(d.home_community_id.as_deref()),
            xds_document_entries::submission_set.eq(set_uuid),
            xds_document_entries::metadata_xml.eq(object_xml(
                ebxml::Identifiable::ExtrinsicObject(to_ebxml::document_entry_to_ebxml(d)),
            )),
        ))
        .execute(conn)?;
    Ok(())
}

/// One document of the repository (ITI-41 stores it, ITI-43 reads it).
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct RepositoryDocument {
    pub document_unique_id: String,
    pub blob_sha256: String,
    pub sha1: String,
    pub size: i64,
    pub mime_type: String,
}

pub fn insert_repository_document(
    conn: &mut PgConnection,
    doc: &RepositoryDocument,
) -> QueryResult<()> {
    diesel::insert_into(xds_repository_documents::table)
        .values((
            xds_repository_documents::document_unique_id.eq(&doc.document_unique_id),
            xds_repository_documents::blob_sha256.eq(&doc.blob_sha256),
            xds_repository_documents::sha1.eq(&doc.sha1),
            xds_repository_documents::size.eq(doc.size),
            xds_repository_documents::mime_type.eq(&doc.mime_type),
        ))
        .execute(conn)?;
    Ok(())
}

/// The repository documents among `unique_ids`.
pub fn repository_documents(
    conn: &mut PgConnection,
    unique_ids: &[String],
) -> QueryResult<Vec<RepositoryDocument>> {
    xds_repository_documents::table
        .filter(xds_repository_documents::document_unique_id.eq_any(unique_ids))
        .select((
            xds_repository_documents::document_unique_id,
            xds_repository_documents::blob_sha256,
            xds_repository_documents::sha1,
            xds_repository_documents::size,
            xds_repository_documents::mime_type,
        ))
        .load(conn)
}

/// Whether a committed repository row refers to blob `key`.
pub fn blob_referenced(conn: &mut PgConnection, key: &str) -> QueryResult<bool> {
    let n: i64 = xds_repository_documents::table
        .filter(xds_repository_documents::blob_sha256.eq(key))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

// ---------------------------------------------------------------------------------------------
// Lifecycle: ITI-62 Delete Document Set, ITI-57 Update Document Set, Folder lastUpdateTime.
// ---------------------------------------------------------------------------------------------

/// A registered object as the lifecycle transactions see it (ITI-62, ITI-57).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleObject {
    pub entry_uuid: String,
    pub kind: Registered,
    pub status: Option<AvailabilityStatus>,
    /// DocumentEntries, Folders and SubmissionSets (`id^^^&OID&ISO`).
    pub patient_id: Option<String>,
    /// DocumentEntries, Folders and SubmissionSets.
    pub unique_id: Option<String>,
    /// DocumentEntries.
    pub repository_unique_id: Option<String>,
    /// DocumentEntries and Folders.
    pub logical_id: Option<String>,
    /// DocumentEntries and Folders.
    pub version: Option<i32>,
    /// DocumentEntries.
    pub object_type: Option<String>,
    /// DocumentEntries: SHA-1 (lower-case hex) and size.
    pub hash: Option<String>,
    pub size: Option<i64>,
}

impl LifecycleObject {
    fn new(entry_uuid: String, kind: Registered, status: &str) -> LifecycleObject {
        LifecycleObject {
            entry_uuid,
            kind,
            status: AvailabilityStatus::parse(status),
            patient_id: None,
            unique_id: None,
            repository_unique_id: None,
            logical_id: None,
            version: None,
            object_type: None,
            hash: None,
            size: None,
        }
    }
}

/// The registered objects among `uuids` (`urn:uuid:` form), every row locked (`FOR UPDATE`)
/// until the caller's transaction ends.
pub fn lifecycle_objects(
    conn: &mut PgConnection,
    uuids: &[String],
) -> QueryResult<HashMap<String, LifecycleObject>> {
    let mut out = HashMap::new();
    if uuids.is_empty() {
        return Ok(out);
    }
    type DocRow = (
        String,
        String,
        String,
        String,
        Option<String>,
        String,
        i32,
        String,
        Option<String>,
        Option<i64>,
    );
    let docs: Vec<DocRow> = xds_document_entries::table
        .filter(xds_document_entries::entry_uuid.eq_any(uuids))
        .select((
            xds_document_entries::entry_uuid,
            xds_document_entries::status,
            xds_document_entries::patient_id,
            xds_document_entries::unique_id,
            xds_document_entries::repository_unique_id,
            xds_document_entries::logical_id,
            xds_document_entries::version,
            xds_document_entries::object_type,
            xds_document_entries::hash,
            xds_document_entries::size,
        ))
        .for_update()
        .load(conn)?;
    for (id, status, patient, unique, repo, lid, version, object_type, hash, size) in docs {
        let mut o = LifecycleObject::new(id.clone(), Registered::DocumentEntry, &status);
        o.patient_id = Some(patient);
        o.unique_id = Some(unique);
        o.repository_unique_id = repo;
        o.logical_id = Some(lid);
        o.version = Some(version);
        o.object_type = Some(object_type);
        o.hash = hash;
        o.size = size;
        out.insert(id, o);
    }
    let folders: Vec<(String, String, String, String, String, i32)> = xds_folders::table
        .filter(xds_folders::entry_uuid.eq_any(uuids))
        .select((
            xds_folders::entry_uuid,
            xds_folders::status,
            xds_folders::patient_id,
            xds_folders::unique_id,
            xds_folders::logical_id,
            xds_folders::version,
        ))
        .for_update()
        .load(conn)?;
    for (id, status, patient, unique, lid, version) in folders {
        let mut o = LifecycleObject::new(id.clone(), Registered::Folder, &status);
        o.patient_id = Some(patient);
        o.unique_id = Some(unique);
        o.logical_id = Some(lid);
        o.version = Some(version);
        out.insert(id, o);
    }
    let sets: Vec<(String, String, String, String)> = xds_submission_sets::table
        .filter(xds_submission_sets::entry_uuid.eq_any(uuids))
        .select((
            xds_submission_sets::entry_uuid,
            xds_submission_sets::status,
            xds_submission_sets::patient_id,
            xds_submission_sets::unique_id,
        ))
        .for_update()
        .load(conn)?;
    for (id, status, patient, unique) in sets {
        let mut o = LifecycleObject::new(id.clone(), Registered::SubmissionSet, &status);
        o.patient_id = Some(patient);
        o.unique_id = Some(unique);
        out.insert(id, o);
    }
    let associations: Vec<(String, String)> = xds_associations::table
        .filter(xds_associations::entry_uuid.eq_any(uuids))
        .select((xds_associations::entry_uuid, xds_associations::status))
        .for_update()
        .load(conn)?;
    for (id, status) in associations {
        out.insert(
            id.clone(),
            LifecycleObject::new(id, Registered::Association, &status),
        );
    }
    Ok(out)
}

/// A registered association: its id, type URN and ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociationRow {
    pub entry_uuid: String,
    pub association_type: String,
    pub source: String,
    pub target: String,
}

/// The registered associations among `uuids`.
pub fn associations_by_id(
    conn: &mut PgConnection,
    uuids: &[String],
) -> QueryResult<Vec<AssociationRow>> {
    if uuids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(String, String, String, String)> = xds_associations::table
        .filter(xds_associations::entry_uuid.eq_any(uuids))
        .select((
            xds_associations::entry_uuid,
            xds_associations::association_type,
            xds_associations::source_uuid,
            xds_associations::target_uuid,
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(association_row).collect())
}

/// The registered associations whose sourceObject or targetObject is one of `uuids`.
pub fn associations_referencing(
    conn: &mut PgConnection,
    uuids: &[String],
) -> QueryResult<Vec<AssociationRow>> {
    if uuids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(String, String, String, String)> = xds_associations::table
        .filter(
            xds_associations::source_uuid
                .eq_any(uuids)
                .or(xds_associations::target_uuid.eq_any(uuids)),
        )
        .select((
            xds_associations::entry_uuid,
            xds_associations::association_type,
            xds_associations::source_uuid,
            xds_associations::target_uuid,
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(association_row).collect())
}

fn association_row(
    (entry_uuid, association_type, source, target): (String, String, String, String),
) -> AssociationRow {
    AssociationRow {
        entry_uuid,
        association_type,
        source,
        target,
    }
}

/// The objects (entryUUID, kind) registered with one of the SubmissionSets `set_uuids` (the
/// `submission_set` column: the SubmissionSet a row came with).
pub fn registered_with(
    conn: &mut PgConnection,
    set_uuids: &[String],
) -> QueryResult<Vec<(String, Registered)>> {
    if set_uuids.is_empty() {
        return Ok(Vec::new());
    }
    let mut out: Vec<(String, Registered)> = xds_document_entries::table
        .filter(xds_document_entries::submission_set.eq_any(set_uuids))
        .select(xds_document_entries::entry_uuid)
        .load::<String>(conn)?
        .into_iter()
        .map(|id| (id, Registered::DocumentEntry))
        .collect();
    out.extend(
        xds_folders::table
            .filter(xds_folders::submission_set.eq_any(set_uuids))
            .select(xds_folders::entry_uuid)
            .load::<String>(conn)?
            .into_iter()
            .map(|id| (id, Registered::Folder)),
    );
    out.extend(
        xds_associations::table
            .filter(xds_associations::submission_set.eq_any(set_uuids))
            .select(xds_associations::entry_uuid)
            .load::<String>(conn)?
            .into_iter()
            .map(|id| (id, Registered::Association)),
    );
    Ok(out)
}

/// Deletes the registry objects `objects` (ITI-62): associations first, then DocumentEntries
/// and Folders, then SubmissionSets. Repository documents are not touched (ITI-62 removes
/// metadata only).
pub fn delete_objects(
    conn: &mut PgConnection,
    objects: &[(String, Registered)],
) -> QueryResult<()> {
    let of = |k: Registered| -> Vec<&str> {
        objects
            .iter()
            .filter(|(_, kind)| *kind == k)
            .map(|(id, _)| id.as_str())
            .collect()
    };
    diesel::delete(
        xds_associations::table
            .filter(xds_associations::entry_uuid.eq_any(of(Registered::Association))),
    )
    .execute(conn)?;
    diesel::delete(
        xds_document_entries::table
            .filter(xds_document_entries::entry_uuid.eq_any(of(Registered::DocumentEntry))),
    )
    .execute(conn)?;
    diesel::delete(
        xds_folders::table.filter(xds_folders::entry_uuid.eq_any(of(Registered::Folder))),
    )
    .execute(conn)?;
    diesel::delete(
        xds_submission_sets::table
            .filter(xds_submission_sets::entry_uuid.eq_any(of(Registered::SubmissionSet))),
    )
    .execute(conn)?;
    Ok(())
}

/// The latest version of the DocumentEntry with logicalID `logical_id`, locked (`FOR UPDATE`).
pub fn latest_document_entry(
    conn: &mut PgConnection,
    logical_id: &str,
) -> QueryResult<Option<LifecycleObject>> {
    let id: Option<String> = xds_document_entries::table
        .filter(xds_document_entries::logical_id.eq(logical_id))
        .order(xds_document_entries::version.desc())
        .select(xds_document_entries::entry_uuid)
        .first(conn)
        .optional()?;
    let Some(id) = id else {
        return Ok(None);
    };
    Ok(lifecycle_objects(conn, std::slice::from_ref(&id))?.remove(&id))
}

/// Whether a DocumentEntry or Folder with logicalID `logical_id` has a version above `version`.
pub fn has_later_version(
    conn: &mut PgConnection,
    kind: Registered,
    logical_id: &str,
    version: i32,
) -> QueryResult<bool> {
    let n: i64 = match kind {
        Registered::DocumentEntry => xds_document_entries::table
            .filter(xds_document_entries::logical_id.eq(logical_id))
            .filter(xds_document_entries::version.gt(version))
            .count()
            .get_result(conn)?,
        Registered::Folder => xds_folders::table
            .filter(xds_folders::logical_id.eq(logical_id))
            .filter(xds_folders::version.gt(version))
            .count()
            .get_result(conn)?,
        Registered::SubmissionSet | Registered::Association => 0,
    };
    Ok(n > 0)
}

/// Sets the availabilityStatus of one DocumentEntry or Folder (ITI-57 UpdateAvailabilityStatus).
pub fn set_status(
    conn: &mut PgConnection,
    kind: Registered,
    entry_uuid: &str,
    status: AvailabilityStatus,
) -> QueryResult<usize> {
    match kind {
        Registered::DocumentEntry => diesel::update(xds_document_entries::table.find(entry_uuid))
            .set(xds_document_entries::status.eq(status.as_urn()))
            .execute(conn),
        Registered::Folder => diesel::update(xds_folders::table.find(entry_uuid))
            .set(xds_folders::status.eq(status.as_urn()))
            .execute(conn),
        Registered::SubmissionSet => diesel::update(xds_submission_sets::table.find(entry_uuid))
            .set(xds_submission_sets::status.eq(status.as_urn()))
            .execute(conn),
        Registered::Association => diesel::update(xds_associations::table.find(entry_uuid))
            .set(xds_associations::status.eq(status.as_urn()))
            .execute(conn),
    }
}

/// Records which transaction registered the SubmissionSet `set_uuid` (`ITI-57` for updates;
/// [`insert_submission`] writes the ITI-41/42 value).
pub fn set_submission_transaction(
    conn: &mut PgConnection,
    set_uuid: &str,
    transaction: &str,
) -> QueryResult<()> {
    diesel::update(xds_submission_sets::table.find(set_uuid))
        .set(xds_submission_sets::transaction.eq(transaction))
        .execute(conn)?;
    Ok(())
}

/// Moves the lastUpdateTime of the Folders `uuids` to `now` (ITI TF-3 §4.2.3.4: set by the
/// registry whenever DocumentEntries are added to the Folder).
pub fn touch_folders(
    conn: &mut PgConnection,
    uuids: &[String],
    now: NaiveDateTime,
) -> QueryResult<usize> {
    if uuids.is_empty() {
        return Ok(0);
    }
    diesel::update(xds_folders::table.filter(xds_folders::entry_uuid.eq_any(uuids)))
        .set(xds_folders::last_update_time.eq(now))
        .execute(conn)
}

/// Inserts one Association registered with the SubmissionSet `set_uuid` (ids already UUIDs).
pub fn insert_association(
    conn: &mut PgConnection,
    a: &super::association::Association,
    set_uuid: &str,
) -> QueryResult<()> {
    diesel::insert_into(xds_associations::table)
        .values((
            xds_associations::entry_uuid.eq(uuid_text(&a.entry_uuid)),
            xds_associations::association_type.eq(a.association_type.as_urn()),
            xds_associations::source_uuid.eq(uuid_text(&a.source)),
            xds_associations::target_uuid.eq(uuid_text(&a.target)),
            xds_associations::status.eq(status_text(a.availability_status)),
            xds_associations::submission_set_status
                .eq(a.submission_set_status.map(|st| st.as_str())),
            xds_associations::submission_set.eq(set_uuid),
            xds_associations::metadata_xml.eq(object_xml(ebxml::Identifiable::Association(
                to_ebxml::association_to_ebxml(a),
            ))),
        ))
        .execute(conn)?;
    Ok(())
}
