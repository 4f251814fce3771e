//! The SQL of the stored queries: every filter on an indexed column of the registry tables
//! ([`crate::xds::registry`]), every value a bind parameter (diesel's query builder; the two
//! fragments diesel has no method for — author LIKE over an array — bind their values too).
//! No stored XML is read to decide what matches; the XML is only loaded to answer LeafClass.
//!
//! Each loader takes a `limit` (the result limit + 1), so no query reads more rows than it
//! takes to know that the answer is too large.

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Text};

use crate::store::schema::{
    xds_associations as asn, xds_document_entries as de, xds_folders as fo,
    xds_submission_sets as ss,
};

/// An inclusive-lower, exclusive-upper time range (ITI TF-2a §3.18.4.1.2.3.7.1: `…From` is
/// `>=`, `…To` is `<`), on the first instant of each stored DTM.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Range {
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
}

/// What DocumentEntries are selected on. Each `Vec<Vec<String>>` is one list per slot: the
/// lists are ANDed, the values of one list ORed.
#[derive(Debug, Clone, Default)]
pub struct DocFilter {
    pub patient: Option<String>,
    pub statuses: Option<Vec<String>>,
    pub entry_uuids: Option<Vec<String>>,
    pub unique_ids: Option<Vec<String>>,
    /// objectType UUIDs (Stable / On-Demand).
    pub object_types: Option<Vec<String>>,
    pub class_codes: Vec<Vec<String>>,
    pub type_codes: Vec<Vec<String>>,
    pub practice_setting_codes: Vec<Vec<String>>,
    pub healthcare_facility_type_codes: Vec<Vec<String>>,
    pub format_codes: Vec<Vec<String>>,
    pub event_codes: Vec<Vec<String>>,
    pub confidentiality_codes: Vec<Vec<String>>,
    pub reference_ids: Vec<Vec<String>>,
    /// LIKE patterns (`%`, `_`) on authorPerson.
    pub author_persons: Vec<Vec<String>>,
    pub creation_time: Range,
    pub service_start_time: Range,
    pub service_stop_time: Range,
}

#[derive(Debug, Clone, Default)]
pub struct SetFilter {
    pub patient: Option<String>,
    pub statuses: Option<Vec<String>>,
    pub entry_uuids: Option<Vec<String>>,
    pub unique_ids: Option<Vec<String>>,
    pub source_ids: Option<Vec<String>>,
    pub content_type_codes: Option<Vec<String>>,
    pub author_person: Option<String>,
    pub submission_time: Range,
}

#[derive(Debug, Clone, Default)]
pub struct FolderFilter {
    pub patient: Option<String>,
    pub statuses: Option<Vec<String>>,
    pub entry_uuids: Option<Vec<String>>,
    pub unique_ids: Option<Vec<String>>,
    pub codes: Vec<Vec<String>>,
    pub last_update_time: Range,
}

/// A DocumentEntry or SubmissionSet found.
#[derive(Debug, Clone)]
pub struct ObjectRow {
    pub entry_uuid: String,
    pub patient_id: String,
    pub status: String,
    pub metadata_xml: String,
    /// What a consent decision looks at in a DocumentEntry (read in the same row, so the
    /// consent filter needs no second look); `None` for a SubmissionSet.
    pub facts: Option<crate::consent::DocumentFacts>,
}

type DocTuple = (String, String, String, String, String, Vec<String>, String);

impl From<DocTuple> for ObjectRow {
    fn from(t: DocTuple) -> ObjectRow {
        let (entry_uuid, patient_id, status, metadata_xml, class, conf, facility) = t;
        ObjectRow {
            entry_uuid,
            patient_id,
            status,
            metadata_xml,
            facts: Some(crate::consent::DocumentFacts {
                class_code: class,
                confidentiality_codes: conf,
                healthcare_facility_type_code: facility,
            }),
        }
    }
}

impl From<(String, String, String, String)> for ObjectRow {
    fn from(t: (String, String, String, String)) -> ObjectRow {
        let (entry_uuid, patient_id, status, metadata_xml) = t;
        ObjectRow {
            entry_uuid,
            patient_id,
            status,
            metadata_xml,
            facts: None,
        }
    }
}

#[derive(Debug, Clone, Queryable)]
pub struct FolderRow {
    pub entry_uuid: String,
    pub patient_id: String,
    pub status: String,
    pub last_update_time: NaiveDateTime,
    pub metadata_xml: String,
}

#[derive(Debug, Clone, Queryable)]
pub struct AssociationRow {
    pub entry_uuid: String,
    pub association_type: String,
    pub source_uuid: String,
    pub target_uuid: String,
    pub status: String,
    pub metadata_xml: String,
}

pub fn documents(
    conn: &mut PgConnection,
    f: &DocFilter,
    limit: i64,
) -> QueryResult<Vec<ObjectRow>> {
    let mut q = de::table
        .select((
            de::entry_uuid,
            de::patient_id,
            de::status,
            de::metadata_xml,
            de::class_code,
            de::confidentiality_codes,
            de::healthcare_facility_type_code,
        ))
        .into_boxed();
    if let Some(p) = &f.patient {
        q = q.filter(de::patient_id.eq(p.clone()));
    }
    if let Some(s) = &f.statuses {
        q = q.filter(de::status.eq_any(s.clone()));
    }
    if let Some(ids) = &f.entry_uuids {
        q = q.filter(de::entry_uuid.eq_any(ids.clone()));
    }
    if let Some(ids) = &f.unique_ids {
        q = q.filter(de::unique_id.eq_any(ids.clone()));
    }
    if let Some(t) = &f.object_types {
        q = q.filter(de::object_type.eq_any(t.clone()));
    }
    for codes in &f.class_codes {
        q = q.filter(de::class_code.eq_any(codes.clone()));
    }
    for codes in &f.type_codes {
        q = q.filter(de::type_code.eq_any(codes.clone()));
    }
    for codes in &f.practice_setting_codes {
        q = q.filter(de::practice_setting_code.eq_any(codes.clone()));
    }
    for codes in &f.healthcare_facility_type_codes {
        q = q.filter(de::healthcare_facility_type_code.eq_any(codes.clone()));
    }
    for codes in &f.format_codes {
        q = q.filter(de::format_code.eq_any(codes.clone()));
    }
    for codes in &f.event_codes {
        q = q.filter(de::event_codes.overlaps_with(codes.clone()));
    }
    for codes in &f.confidentiality_codes {
        q = q.filter(de::confidentiality_codes.overlaps_with(codes.clone()));
    }
    for ids in &f.reference_ids {
        q = q.filter(de::reference_ids.overlaps_with(ids.clone()));
    }
    for patterns in &f.author_persons {
        q = q.filter(
            sql::<Bool>(
                "EXISTS (SELECT 1 FROM unnest(xds_document_entries.author_persons) AS a(v) WHERE a.v LIKE ANY(",
            )
            .bind::<Array<Text>, _>(patterns.clone())
            .sql("))"),
        );
    }
    if let Some(t) = f.creation_time.from {
        q = q.filter(de::creation_time.ge(t));
    }
    if let Some(t) = f.creation_time.to {
        q = q.filter(de::creation_time.lt(t));
    }
    if let Some(t) = f.service_start_time.from {
        q = q.filter(de::service_start_time.ge(t));
    }
    if let Some(t) = f.service_start_time.to {
        q = q.filter(de::service_start_time.lt(t));
    }
    if let Some(t) = f.service_stop_time.from {
        q = q.filter(de::service_stop_time.ge(t));
    }
    if let Some(t) = f.service_stop_time.to {
        q = q.filter(de::service_stop_time.lt(t));
    }
    Ok(q.order((de::registered_at, de::entry_uuid))
        .limit(limit)
        .load::<DocTuple>(conn)?
        .into_iter()
        .map(ObjectRow::from)
        .collect())
}

pub fn submission_sets(
    conn: &mut PgConnection,
    f: &SetFilter,
    limit: i64,
) -> QueryResult<Vec<ObjectRow>> {
    let mut q = ss::table
        .select((ss::entry_uuid, ss::patient_id, ss::status, ss::metadata_xml))
        .into_boxed();
    if let Some(p) = &f.patient {
        q = q.filter(ss::patient_id.eq(p.clone()));
    }
    if let Some(s) = &f.statuses {
        q = q.filter(ss::status.eq_any(s.clone()));
    }
    if let Some(ids) = &f.entry_uuids {
        q = q.filter(ss::entry_uuid.eq_any(ids.clone()));
    }
    if let Some(ids) = &f.unique_ids {
        q = q.filter(ss::unique_id.eq_any(ids.clone()));
    }
    if let Some(ids) = &f.source_ids {
        q = q.filter(ss::source_id.eq_any(ids.clone()));
    }
    if let Some(codes) = &f.content_type_codes {
        q = q.filter(ss::content_type_code.eq_any(codes.clone()));
    }
    if let Some(pattern) = &f.author_person {
        q = q.filter(
            sql::<Bool>(
                "EXISTS (SELECT 1 FROM unnest(xds_submission_sets.author_persons) AS a(v) WHERE a.v LIKE ",
            )
            .bind::<Text, _>(pattern.clone())
            .sql(")"),
        );
    }
    if let Some(t) = f.submission_time.from {
        q = q.filter(ss::submission_time.ge(t));
    }
    if let Some(t) = f.submission_time.to {
        q = q.filter(ss::submission_time.lt(t));
    }
    Ok(q.order((ss::registered_at, ss::entry_uuid))
        .limit(limit)
        .load::<(String, String, String, String)>(conn)?
        .into_iter()
        .map(ObjectRow::from)
        .collect())
}

pub fn folders(
    conn: &mut PgConnection,
    f: &FolderFilter,
    limit: i64,
) -> QueryResult<Vec<FolderRow>> {
    let mut q = fo::table
        .select((
            fo::entry_uuid,
            fo::patient_id,
            fo::status,
            fo::last_update_time,
            fo::metadata_xml,
        ))
        .into_boxed();
    if let Some(p) = &f.patient {
        q = q.filter(fo::patient_id.eq(p.clone()));
    }
    if let Some(s) = &f.statuses {
        q = q.filter(fo::status.eq_any(s.clone()));
    }
    if let Some(ids) = &f.entry_uuids {
        q = q.filter(fo::entry_uuid.eq_any(ids.clone()));
    }
    if let Some(ids) = &f.unique_ids {
        q = q.filter(fo::unique_id.eq_any(ids.clone()));
    }
    for codes in &f.codes {
        q = q.filter(fo::code_list.overlaps_with(codes.clone()));
    }
    if let Some(t) = f.last_update_time.from {
        q = q.filter(fo::last_update_time.ge(t));
    }
    if let Some(t) = f.last_update_time.to {
        q = q.filter(fo::last_update_time.lt(t));
    }
    q.order((fo::registered_at, fo::entry_uuid))
        .limit(limit)
        .load(conn)
}

/// Which end(s) of an association must be among the given ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ends {
    /// sourceObject ∈ ids.
    Source,
    /// targetObject ∈ ids.
    Target,
    /// sourceObject ∈ ids or targetObject ∈ ids.
    Either,
    /// sourceObject ∈ ids and targetObject ∈ ids.
    Both,
}

/// The associations with `ends` among `ids`, of one of `types` when given, whose status is one
/// of `statuses` (`$XDSAssociationStatus`).
pub fn associations(
    conn: &mut PgConnection,
    ids: &[String],
    ends: Ends,
    types: Option<&[String]>,
    statuses: &[String],
    limit: i64,
) -> QueryResult<Vec<AssociationRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = asn::table
        .select((
            asn::entry_uuid,
            asn::association_type,
            asn::source_uuid,
            asn::target_uuid,
            asn::status,
            asn::metadata_xml,
        ))
        .into_boxed();
    let ids = ids.to_vec();
    q = match ends {
        Ends::Source => q.filter(asn::source_uuid.eq_any(ids)),
        Ends::Target => q.filter(asn::target_uuid.eq_any(ids)),
        Ends::Either => q.filter(
            asn::source_uuid
                .eq_any(ids.clone())
                .or(asn::target_uuid.eq_any(ids)),
        ),
        Ends::Both => q.filter(
            asn::source_uuid
                .eq_any(ids.clone())
                .and(asn::target_uuid.eq_any(ids)),
        ),
    };
    if let Some(t) = types {
        q = q.filter(asn::association_type.eq_any(t.to_vec()));
    }
    q = q.filter(asn::status.eq_any(statuses.to_vec()));
    q.order((asn::registered_at, asn::entry_uuid))
        .limit(limit)
        .load(conn)
}

/// The associations whose entryUUID is among `ids`.
pub fn associations_by_id(
    conn: &mut PgConnection,
    ids: &[String],
    statuses: &[String],
) -> QueryResult<Vec<AssociationRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    asn::table
        .select((
            asn::entry_uuid,
            asn::association_type,
            asn::source_uuid,
            asn::target_uuid,
            asn::status,
            asn::metadata_xml,
        ))
        .filter(asn::entry_uuid.eq_any(ids.to_vec()))
        .filter(asn::status.eq_any(statuses.to_vec()))
        .order((asn::registered_at, asn::entry_uuid))
        .load(conn)
}
