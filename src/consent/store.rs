//! The SQL of consent enforcement: a patient's consents (the registry's BPPC DocumentEntries,
//! found through the partial index of migration `2026-11-23-000008_consent`), the facts of
//! documents a decision looks at, and the consent history the triggers keep.
//!
//! Invariant: consents are read from the registry's columns in the transaction that needs them;
//! nothing is cached, so a consent registered, replaced or deprecated is in force for the next
//! request.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, Text, Timestamp, Timestamptz};

use super::DocumentFacts;
use super::engine::ConsentRecord;

/// The formatCodes that make a DocumentEntry a BPPC consent.
pub const BPPC_FORMAT: &str = "urn:ihe:iti:bppc:2007";
pub const BPPC_SD_FORMAT: &str = "urn:ihe:iti:bppc-sd:2007";

/// The predicate of the partial index (keep the two identical, or the index is not used).
const IS_CONSENT: &str =
    "split_part(format_code, '^', 1) IN ('urn:ihe:iti:bppc:2007', 'urn:ihe:iti:bppc-sd:2007')";

#[derive(QueryableByName)]
struct ConsentRow {
    #[diesel(sql_type = Text)]
    patient_id: String,
    #[diesel(sql_type = Text)]
    entry_uuid: String,
    #[diesel(sql_type = Text)]
    unique_id: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Array<Text>)]
    event_codes: Vec<String>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    service_start_time: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    service_stop_time: Option<NaiveDateTime>,
    #[diesel(sql_type = Timestamp)]
    registered: NaiveDateTime,
    #[diesel(sql_type = Integer)]
    version: i32,
}

/// Every consent (any status) of each patient in `patients`.
pub fn consents_of(
    conn: &mut PgConnection,
    patients: &[String],
) -> QueryResult<HashMap<String, Vec<ConsentRecord>>> {
    let mut out: HashMap<String, Vec<ConsentRecord>> = HashMap::new();
    if patients.is_empty() {
        return Ok(out);
    }
    let rows: Vec<ConsentRow> = diesel::sql_query(format!(
        "SELECT patient_id, entry_uuid, unique_id, status, event_codes, service_start_time, \
         service_stop_time, (registered_at AT TIME ZONE 'UTC') AS registered, version \
         FROM xds_document_entries WHERE patient_id = ANY($1) AND {IS_CONSENT} \
         ORDER BY registered_at, version, entry_uuid"
    ))
    .bind::<Array<Text>, _>(patients)
    .load(conn)?;
    for r in rows {
        out.entry(r.patient_id).or_default().push(ConsentRecord {
            entry_uuid: r.entry_uuid,
            unique_id: r.unique_id,
            status: r.status,
            policies: r
                .event_codes
                .iter()
                .map(|c| c.split("^^^").next().unwrap_or(c).to_owned())
                .collect(),
            start: r.service_start_time,
            stop: r.service_stop_time,
            registered_at: r.registered,
            version: r.version,
        });
    }
    Ok(out)
}

#[derive(QueryableByName)]
struct FactsRow {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = Text)]
    patient_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    class_code: Option<String>,
    #[diesel(sql_type = Nullable<Array<Text>>)]
    confidentiality_codes: Option<Vec<String>>,
    #[diesel(sql_type = Nullable<Text>)]
    healthcare_facility_type_code: Option<String>,
    #[diesel(sql_type = Bool)]
    document: bool,
}

/// A registered object a decision is about.
#[derive(Debug, Clone)]
pub struct ObjectFacts {
    pub patient_id: String,
    /// `None` for SubmissionSets and Folders (only their patient matters).
    pub document: Option<DocumentFacts>,
}

fn to_facts(rows: Vec<FactsRow>) -> Vec<(String, ObjectFacts)> {
    rows.into_iter()
        .map(|r| {
            let document = r.document.then(|| DocumentFacts {
                class_code: r.class_code.unwrap_or_default(),
                confidentiality_codes: r.confidentiality_codes.unwrap_or_default(),
                healthcare_facility_type_code: r.healthcare_facility_type_code.unwrap_or_default(),
            });
            (
                r.key,
                ObjectFacts {
                    patient_id: r.patient_id,
                    document,
                },
            )
        })
        .collect()
}

/// The DocumentEntries, SubmissionSets and Folders among `entry_uuids`, by entryUUID
/// (Associations and unknown ids are absent).
pub fn objects(
    conn: &mut PgConnection,
    entry_uuids: &[String],
) -> QueryResult<HashMap<String, ObjectFacts>> {
    if entry_uuids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<FactsRow> = diesel::sql_query(
        "SELECT entry_uuid AS key, patient_id, class_code, confidentiality_codes, \
         healthcare_facility_type_code, true AS document \
         FROM xds_document_entries WHERE entry_uuid = ANY($1) \
         UNION ALL SELECT entry_uuid, patient_id, NULL, NULL, NULL, false \
         FROM xds_submission_sets WHERE entry_uuid = ANY($1) \
         UNION ALL SELECT entry_uuid, patient_id, NULL, NULL, NULL, false \
         FROM xds_folders WHERE entry_uuid = ANY($1)",
    )
    .bind::<Array<Text>, _>(entry_uuids)
    .load(conn)?;
    Ok(to_facts(rows).into_iter().collect())
}

/// Every version of the DocumentEntries with these uniqueIds: (uniqueId, facts).
pub fn documents_by_unique_id(
    conn: &mut PgConnection,
    unique_ids: &[String],
) -> QueryResult<Vec<(String, ObjectFacts)>> {
    if unique_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<FactsRow> = diesel::sql_query(
        "SELECT unique_id AS key, patient_id, class_code, confidentiality_codes, \
         healthcare_facility_type_code, true AS document \
         FROM xds_document_entries WHERE unique_id = ANY($1)",
    )
    .bind::<Array<Text>, _>(unique_ids)
    .load(conn)?;
    Ok(to_facts(rows))
}

/// One change of a consent (migration `2026-11-23-000008_consent`, `consent_history`).
#[derive(Debug, Clone, QueryableByName, serde::Serialize)]
pub struct HistoryRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub entry_uuid: String,
    #[diesel(sql_type = Text)]
    pub unique_id: String,
    #[diesel(sql_type = Text)]
    pub change: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub status: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub at: chrono::DateTime<chrono::Utc>,
}

/// The consent history of `patient`, oldest first.
pub fn history(conn: &mut PgConnection, patient: &str) -> QueryResult<Vec<HistoryRow>> {
    diesel::sql_query(
        "SELECT id, entry_uuid, unique_id, change, status, at FROM consent_history \
         WHERE patient_id = $1 ORDER BY id",
    )
    .bind::<Text, _>(patient)
    .load(conn)
}

#[derive(QueryableByName)]
struct ChangeRow {
    #[diesel(sql_type = Text)]
    patient_id: String,
    #[diesel(sql_type = Text)]
    unique_id: String,
    #[diesel(sql_type = Text)]
    change: String,
    #[diesel(sql_type = Nullable<Text>)]
    status: Option<String>,
    #[diesel(sql_type = Array<Text>)]
    event_codes: Vec<String>,
}

/// A change to a consent made by a metadata update (ITI-57) or a removal (ITI-62), for its audit
/// event: the consent, its patient and policies, and whether it now shares less (revoked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentUpdate {
    pub patient_id: String,
    pub unique_id: String,
    pub policies: Vec<String>,
    /// Deprecated or removed: no longer in force.
    pub revoked: bool,
}

/// The consent changes the current transaction has made so far (the `consent_history` rows of
/// this transaction, written by the triggers), other than registrations (ITI-41 audits those
/// itself) and merges (the merge's own event names both patients).
pub fn changes_in_transaction(conn: &mut PgConnection) -> QueryResult<Vec<ConsentUpdate>> {
    let rows: Vec<ChangeRow> = diesel::sql_query(
        "SELECT h.patient_id, h.unique_id, h.change, h.status, \
         coalesce(d.event_codes, '{}'::text[]) AS event_codes \
         FROM consent_history h LEFT JOIN xds_document_entries d ON d.entry_uuid = h.entry_uuid \
         WHERE h.txid = txid_current() AND h.change IN ('status', 'removed') ORDER BY h.id",
    )
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| ConsentUpdate {
            revoked: r.change == "removed" || r.status.as_deref() != Some(super::engine::APPROVED),
            patient_id: r.patient_id,
            unique_id: r.unique_id,
            policies: r
                .event_codes
                .iter()
                .map(|c| c.split("^^^").next().unwrap_or(c).to_owned())
                .collect(),
        })
        .collect())
}
