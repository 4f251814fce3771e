//! The MPI's SQL (migration 2026-11-23-000005_mpi): records, persons, the XDS registry's
//! `patients` rows, merges (with the registry documents they move) and the review queue.
//! Every function runs on the caller's connection, inside the caller's transaction.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Integer, Nullable, Text};
use diesel::{PgConnection, QueryableByName};

use super::{Demographics, PatientIdentifier};
use crate::store::StoreError;

pub type Result<T> = std::result::Result<T, StoreError>;

pub fn db(e: diesel::result::Error) -> StoreError {
    StoreError::from(e)
}

/// A record row without its demographics.
#[derive(Debug, Clone, QueryableByName)]
pub struct RecordRef {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = BigInt)]
    pub person_id: i64,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub merged_into: Option<i64>,
}

/// A record with its identifier and demographics.
#[derive(Debug, Clone, QueryableByName, serde::Serialize)]
pub struct RecordRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = BigInt)]
    pub person_id: i64,
    #[diesel(sql_type = Text)]
    pub root: String,
    #[diesel(sql_type = Text)]
    pub extension: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub family: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub given: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub family_hangul: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub given_hangul: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub gender: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub birth_date: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub street: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub city: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub postal_code: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub country: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub phone: Option<String>,
    /// Masked national identifier (`900101-1******`), never the value.
    #[diesel(sql_type = Nullable<Text>)]
    pub national_id_mask: Option<String>,
}

/// The columns of [`RecordRow`], for SELECTs (table alias `r`).
pub const RECORD_COLUMNS: &str = "r.id, r.person_id, r.root, r.extension, r.status, r.family, \
     r.given, r.family_hangul, r.given_hangul, r.gender, r.birth_date, r.street, r.city, \
     r.postal_code, r.country, r.phone, r.national_id_mask";

impl RecordRow {
    pub fn identifier(&self) -> PatientIdentifier {
        PatientIdentifier::new(self.root.clone(), self.extension.clone())
    }

    pub fn demographics(&self) -> Demographics {
        Demographics {
            family: self.family.clone(),
            given: self.given.clone(),
            family_hangul: self.family_hangul.clone(),
            given_hangul: self.given_hangul.clone(),
            gender: self.gender.clone(),
            birth_date: self.birth_date.clone(),
            street: self.street.clone(),
            city: self.city.clone(),
            postal_code: self.postal_code.clone(),
            country: self.country.clone(),
            phone: self.phone.clone(),
        }
    }
}

pub fn find_record(conn: &mut PgConnection, id: &PatientIdentifier) -> Result<Option<RecordRef>> {
    diesel::sql_query(
        "SELECT id, person_id, status, merged_into FROM mpi_records WHERE root = $1 AND extension = $2 FOR UPDATE",
    )
    .bind::<Text, _>(&id.root)
    .bind::<Text, _>(&id.extension)
    .get_result(conn)
    .optional()
    .map_err(db)
}

/// Follows `merged_into` from a merged record to the record that survived.
pub fn resolve_record(
    conn: &mut PgConnection,
    id: &PatientIdentifier,
) -> Result<Option<RecordRef>> {
    let mut r = find_record_plain(conn, id)?;
    for _ in 0..16 {
        match &r {
            Some(rec) if rec.status == "merged" => {
                let Some(next) = rec.merged_into else {
                    return Ok(r);
                };
                r = diesel::sql_query(
                    "SELECT id, person_id, status, merged_into FROM mpi_records WHERE id = $1",
                )
                .bind::<BigInt, _>(next)
                .get_result(conn)
                .optional()
                .map_err(db)?;
            }
            _ => return Ok(r),
        }
    }
    Ok(r)
}

pub fn find_record_plain(
    conn: &mut PgConnection,
    id: &PatientIdentifier,
) -> Result<Option<RecordRef>> {
    diesel::sql_query(
        "SELECT id, person_id, status, merged_into FROM mpi_records WHERE root = $1 AND extension = $2",
    )
    .bind::<Text, _>(&id.root)
    .bind::<Text, _>(&id.extension)
    .get_result(conn)
    .optional()
    .map_err(db)
}

#[derive(QueryableByName)]
struct PersonRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    enterprise_id: String,
}

/// A new person with a fresh enterprise id; its enterprise id is registered with the XDS registry.
pub fn insert_person(conn: &mut PgConnection, enterprise_root: &str) -> Result<(i64, String)> {
    let p: PersonRow = diesel::sql_query(
        "WITH n AS (SELECT nextval('mpi_persons_id_seq') AS id) \
         INSERT INTO mpi_persons (id, enterprise_id) SELECT id, 'E' || lpad(id::text, 10, '0') FROM n \
         RETURNING id, enterprise_id",
    )
    .get_result(conn)
    .map_err(db)?;
    register_patient(
        conn,
        &PatientIdentifier::new(enterprise_root, p.enterprise_id.clone()),
    )?;
    Ok((p.id, p.enterprise_id))
}

pub fn enterprise_id(conn: &mut PgConnection, person_id: i64) -> Result<Option<String>> {
    let p: Option<PersonRow> =
        diesel::sql_query("SELECT id, enterprise_id FROM mpi_persons WHERE id = $1")
            .bind::<BigInt, _>(person_id)
            .get_result(conn)
            .optional()
            .map_err(db)?;
    Ok(p.map(|p| p.enterprise_id))
}

pub fn person_by_enterprise_id(
    conn: &mut PgConnection,
    enterprise_id: &str,
) -> Result<Option<i64>> {
    let p: Option<PersonRow> =
        diesel::sql_query("SELECT id, enterprise_id FROM mpi_persons WHERE enterprise_id = $1")
            .bind::<Text, _>(enterprise_id)
            .get_result(conn)
            .optional()
            .map_err(db)?;
    Ok(p.map(|p| p.id))
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Inserts a record (the identifier must not exist) and registers it with the XDS registry.
pub fn insert_record(
    conn: &mut PgConnection,
    person_id: i64,
    id: &PatientIdentifier,
    d: &Demographics,
    source: Option<&str>,
) -> Result<i64> {
    let k = d.keys();
    let row: IdRow = diesel::sql_query(
        "INSERT INTO mpi_records (root, extension, person_id, family, given, family_hangul, \
         given_hangul, family_norm, given_norm, family_alt, given_alt, full_norm, full_alt, gender, \
         birth_date, street, city, postal_code, country, phone, source) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21) RETURNING id",
    )
    .bind::<Text, _>(&id.root)
    .bind::<Text, _>(&id.extension)
    .bind::<BigInt, _>(person_id)
    .bind::<Nullable<Text>, _>(&d.family)
    .bind::<Nullable<Text>, _>(&d.given)
    .bind::<Nullable<Text>, _>(&d.family_hangul)
    .bind::<Nullable<Text>, _>(&d.given_hangul)
    .bind::<Nullable<Text>, _>(&k.family_norm)
    .bind::<Nullable<Text>, _>(&k.given_norm)
    .bind::<Nullable<Text>, _>(&k.family_alt)
    .bind::<Nullable<Text>, _>(&k.given_alt)
    .bind::<Nullable<Text>, _>(&k.full_norm)
    .bind::<Nullable<Text>, _>(&k.full_alt)
    .bind::<Nullable<Text>, _>(&d.gender)
    .bind::<Nullable<Text>, _>(&d.birth_date)
    .bind::<Nullable<Text>, _>(&d.street)
    .bind::<Nullable<Text>, _>(&d.city)
    .bind::<Nullable<Text>, _>(&d.postal_code)
    .bind::<Nullable<Text>, _>(&d.country)
    .bind::<Nullable<Text>, _>(&d.phone)
    .bind::<Nullable<Text>, _>(source)
    .get_result(conn)
    .map_err(db)?;
    register_patient(conn, id)?;
    Ok(row.id)
}

pub fn update_demographics(
    conn: &mut PgConnection,
    record_id: i64,
    d: &Demographics,
) -> Result<()> {
    let k = d.keys();
    diesel::sql_query(
        "UPDATE mpi_records SET family=$2, given=$3, family_hangul=$4, given_hangul=$5, \
         family_norm=$6, given_norm=$7, family_alt=$8, given_alt=$9, full_norm=$10, full_alt=$11, \
         gender=$12, birth_date=$13, street=$14, city=$15, postal_code=$16, country=$17, phone=$18, \
         updated_at=now() WHERE id=$1",
    )
    .bind::<BigInt, _>(record_id)
    .bind::<Nullable<Text>, _>(&d.family)
    .bind::<Nullable<Text>, _>(&d.given)
    .bind::<Nullable<Text>, _>(&d.family_hangul)
    .bind::<Nullable<Text>, _>(&d.given_hangul)
    .bind::<Nullable<Text>, _>(&k.family_norm)
    .bind::<Nullable<Text>, _>(&k.given_norm)
    .bind::<Nullable<Text>, _>(&k.family_alt)
    .bind::<Nullable<Text>, _>(&k.given_alt)
    .bind::<Nullable<Text>, _>(&k.full_norm)
    .bind::<Nullable<Text>, _>(&k.full_alt)
    .bind::<Nullable<Text>, _>(&d.gender)
    .bind::<Nullable<Text>, _>(&d.birth_date)
    .bind::<Nullable<Text>, _>(&d.street)
    .bind::<Nullable<Text>, _>(&d.city)
    .bind::<Nullable<Text>, _>(&d.postal_code)
    .bind::<Nullable<Text>, _>(&d.country)
    .bind::<Nullable<Text>, _>(&d.phone)
    .execute(conn)
    .map_err(db)?;
    Ok(())
}

/// Stores a record's sealed national identifier (hash, ciphertext, mask).
pub fn set_national_id(
    conn: &mut PgConnection,
    record_id: i64,
    sealed: &super::national_id::Sealed,
) -> Result<()> {
    diesel::sql_query(
        "UPDATE mpi_records SET national_id_hmac = $2, national_id_enc = $3, national_id_mask = $4 WHERE id = $1",
    )
    .bind::<BigInt, _>(record_id)
    .bind::<Text, _>(&sealed.hmac)
    .bind::<diesel::sql_types::Binary, _>(&sealed.enc)
    .bind::<Text, _>(&sealed.mask)
    .execute(conn)
    .map_err(db)?;
    Ok(())
}

/// The person of an active record with this national-identifier hash.
pub fn person_by_national_id(conn: &mut PgConnection, hmac: &str) -> Result<Option<i64>> {
    let r: Option<RecordRef> = diesel::sql_query(
        "SELECT id, person_id, status, merged_into FROM mpi_records WHERE national_id_hmac = $1 AND status = 'active' ORDER BY id LIMIT 1",
    )
    .bind::<Text, _>(hmac)
    .get_result(conn)
    .optional()
    .map_err(db)?;
    Ok(r.map(|r| r.person_id))
}

/// Makes `id` known to the XDS registry (`patients`, migration 000003).
pub fn register_patient(conn: &mut PgConnection, id: &PatientIdentifier) -> Result<()> {
    diesel::sql_query(
        "INSERT INTO patients (assigning_authority, patient_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind::<Text, _>(&id.root)
    .bind::<Text, _>(&id.extension)
    .execute(conn)
    .map_err(db)?;
    Ok(())
}

/// Removes `id` from the XDS registry's known patients (it was merged away).
pub fn unregister_patient(conn: &mut PgConnection, id: &PatientIdentifier) -> Result<()> {
    diesel::sql_query("DELETE FROM patients WHERE assigning_authority = $1 AND patient_id = $2")
        .bind::<Text, _>(&id.root)
        .bind::<Text, _>(&id.extension)
        .execute(conn)
        .map_err(db)?;
    Ok(())
}

pub fn set_person(conn: &mut PgConnection, record_id: i64, person_id: i64) -> Result<()> {
    diesel::sql_query("UPDATE mpi_records SET person_id = $2, updated_at = now() WHERE id = $1")
        .bind::<BigInt, _>(record_id)
        .bind::<BigInt, _>(person_id)
        .execute(conn)
        .map_err(db)?;
    Ok(())
}

/// The active records of a person.
pub fn person_records(conn: &mut PgConnection, person_id: i64) -> Result<Vec<RecordRow>> {
    diesel::sql_query(format!(
        "SELECT {RECORD_COLUMNS} FROM mpi_records r WHERE r.person_id = $1 AND r.status = 'active' ORDER BY r.id"
    ))
    .bind::<BigInt, _>(person_id)
    .load(conn)
    .map_err(db)
}

pub fn records_by_ids(conn: &mut PgConnection, ids: &[i64]) -> Result<Vec<RecordRow>> {
    diesel::sql_query(format!(
        "SELECT {RECORD_COLUMNS} FROM mpi_records r WHERE r.id = ANY($1)"
    ))
    .bind::<diesel::sql_types::Array<BigInt>, _>(ids)
    .load(conn)
    .map_err(db)
}

/// All identifiers of a person: its active records' and its enterprise id.
pub fn person_identifiers(
    conn: &mut PgConnection,
    person_id: i64,
    enterprise_root: &str,
) -> Result<Vec<PatientIdentifier>> {
    let mut ids: Vec<PatientIdentifier> = person_records(conn, person_id)?
        .iter()
        .map(RecordRow::identifier)
        .collect();
    if let Some(e) = enterprise_id(conn, person_id)? {
        ids.push(PatientIdentifier::new(enterprise_root, e));
    }
    Ok(ids)
}

/// Whether any record was ever fed under `root`.
pub fn domain_known(conn: &mut PgConnection, root: &str) -> Result<bool> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = Integer)]
        n: i32,
    }
    let r: N = diesel::sql_query(
        "SELECT count(*)::int4 AS n FROM (SELECT 1 FROM mpi_records WHERE root = $1 LIMIT 1) x",
    )
    .bind::<Text, _>(root)
    .get_result(conn)
    .map_err(db)?;
    Ok(r.n > 0)
}

/// Moves the XDS registry's objects of `from` to `to` (patient id column and the patientId
/// ExternalIdentifier in the stored metadata); returns the number of DocumentEntries moved.
pub fn move_documents(
    conn: &mut PgConnection,
    from: &PatientIdentifier,
    to: &PatientIdentifier,
) -> Result<usize> {
    let (old, new) = (from.cx(), to.cx());
    let attr = |cx: &str| format!("value=\"{}\"", crate::xml::escape(cx));
    let (old_attr, new_attr) = (attr(&old), attr(&new));
    let mut docs = 0;
    for table in ["xds_document_entries", "xds_submission_sets", "xds_folders"] {
        let n = diesel::sql_query(format!(
            "UPDATE {table} SET patient_id = $2, metadata_xml = replace(metadata_xml, $3, $4) WHERE patient_id = $1"
        ))
        .bind::<Text, _>(&old)
        .bind::<Text, _>(&new)
        .bind::<Text, _>(&old_attr)
        .bind::<Text, _>(&new_attr)
        .execute(conn)
        .map_err(db)?;
        if table == "xds_document_entries" {
            docs = n;
        }
    }
    Ok(docs)
}

/// Records a merge (the trace of `obsolete` → `survivor`).
pub fn insert_merge(
    conn: &mut PgConnection,
    obsolete: &PatientIdentifier,
    survivor: &PatientIdentifier,
    documents: usize,
) -> Result<()> {
    diesel::sql_query(
        "INSERT INTO mpi_merges (obsolete_root, obsolete_ext, survivor_root, survivor_ext, documents) VALUES ($1,$2,$3,$4,$5)",
    )
    .bind::<Text, _>(&obsolete.root)
    .bind::<Text, _>(&obsolete.extension)
    .bind::<Text, _>(&survivor.root)
    .bind::<Text, _>(&survivor.extension)
    .bind::<Integer, _>(i32::try_from(documents).unwrap_or(i32::MAX))
    .execute(conn)
    .map_err(db)?;
    Ok(())
}

pub fn mark_merged(
    conn: &mut PgConnection,
    record_id: i64,
    into: i64,
    person_id: i64,
) -> Result<()> {
    diesel::sql_query(
        "UPDATE mpi_records SET status = 'merged', merged_into = $2, person_id = $3, updated_at = now() WHERE id = $1",
    )
    .bind::<BigInt, _>(record_id)
    .bind::<BigInt, _>(into)
    .bind::<BigInt, _>(person_id)
    .execute(conn)
    .map_err(db)?;
    Ok(())
}

/// Moves every record of person `from` to person `to`, moves the registry documents of
/// `from`'s enterprise id to `to`'s, and retires `from`'s enterprise id.
pub fn merge_persons(
    conn: &mut PgConnection,
    from: i64,
    to: i64,
    enterprise_root: &str,
) -> Result<()> {
    if from == to {
        return Ok(());
    }
    diesel::sql_query(
        "UPDATE mpi_records SET person_id = $2, updated_at = now() WHERE person_id = $1",
    )
    .bind::<BigInt, _>(from)
    .bind::<BigInt, _>(to)
    .execute(conn)
    .map_err(db)?;
    diesel::sql_query("UPDATE mpi_review SET status = 'dismissed', decided_at = now() WHERE candidate_id = $1 AND status = 'open'")
        .bind::<BigInt, _>(from)
        .execute(conn)
        .map_err(db)?;
    if let (Some(old), Some(new)) = (enterprise_id(conn, from)?, enterprise_id(conn, to)?) {
        let old = PatientIdentifier::new(enterprise_root, old);
        let new = PatientIdentifier::new(enterprise_root, new);
        let n = move_documents(conn, &old, &new)?;
        insert_merge(conn, &old, &new, n)?;
        unregister_patient(conn, &old)?;
    }
    Ok(())
}

/// Merges record `old` into record `surv`: the registry's objects of `old` move to `surv`, the
/// merge is recorded, `old` leaves the registry's known patients and is marked merged, and
/// `old`'s person (everything linked to it) joins `surv`'s person.
pub fn merge_record(
    conn: &mut PgConnection,
    (old_id, old): (&PatientIdentifier, &RecordRef),
    (surv_id, surv): (&PatientIdentifier, &RecordRef),
    enterprise_root: &str,
) -> Result<usize> {
    let moved = move_documents(conn, old_id, surv_id)?;
    insert_merge(conn, old_id, surv_id, moved)?;
    unregister_patient(conn, old_id)?;
    mark_merged(conn, old.id, surv.id, surv.person_id)?;
    merge_persons(conn, old.person_id, surv.person_id, enterprise_root)?;
    Ok(moved)
}

/// Queues a probabilistic link for review.
pub fn insert_review(
    conn: &mut PgConnection,
    record_id: i64,
    candidate: i64,
    score: f64,
) -> Result<()> {
    diesel::sql_query(
        "INSERT INTO mpi_review (record_id, candidate_id, score) VALUES ($1, $2, $3)",
    )
    .bind::<BigInt, _>(record_id)
    .bind::<BigInt, _>(candidate)
    .bind::<Double, _>(score)
    .execute(conn)
    .map_err(db)?;
    Ok(())
}
