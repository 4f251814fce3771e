//! Administration of the cross-references (the JSON API `/api/patients/...` in
//! `web::patients_api`): list and read persons, link a record to a person, unlink it (it gets a
//! new person), merge two records of one domain, and the review queue of probabilistic links.
//! Every change runs in one transaction with its ITI-46 notifications; the web layer audits.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, Text};
use diesel::{Connection, PgConnection};
use serde::Serialize;

use super::store::{self, RecordRow};
use super::{PatientIdentifier, Settings, iti46, names};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for AdminError {
    fn from(e: diesel::result::Error) -> Self {
        AdminError::Store(StoreError::from(e))
    }
}

pub type Result<T> = std::result::Result<T, AdminError>;

#[derive(Debug, Serialize)]
pub struct PersonView {
    pub enterprise_id: PatientIdentifier,
    pub records: Vec<RecordRow>,
}

#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub family: Option<String>,
    pub birth_date: Option<String>,
    /// Persons with an id greater than this (paging).
    pub after: Option<i64>,
    pub limit: i64,
}

#[derive(QueryableByName)]
struct PersonKey {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    enterprise_id: String,
}

fn view(conn: &mut PgConnection, p: &PersonKey, s: &Settings) -> Result<PersonView> {
    Ok(PersonView {
        enterprise_id: PatientIdentifier::new(s.enterprise_root.clone(), p.enterprise_id.clone()),
        records: store::person_records(conn, p.id)?,
    })
}

/// Persons (with their active records) matching the filter, by person id.
pub fn list(conn: &mut PgConnection, s: &Settings, f: &ListFilter) -> Result<Vec<PersonView>> {
    let family = f
        .family
        .as_deref()
        .map(names::key)
        .filter(|k| !k.is_empty());
    let persons: Vec<PersonKey> = diesel::sql_query(
        "SELECT p.id, p.enterprise_id FROM mpi_persons p WHERE p.id > $1 AND EXISTS ( \
           SELECT 1 FROM mpi_records r WHERE r.person_id = p.id AND r.status = 'active' \
           AND ($2::text IS NULL OR r.family_norm = $2 OR r.family_alt = $2) \
           AND ($3::text IS NULL OR r.birth_date = $3)) \
         ORDER BY p.id LIMIT $4",
    )
    .bind::<BigInt, _>(f.after.unwrap_or(0))
    .bind::<Nullable<Text>, _>(family)
    .bind::<Nullable<Text>, _>(&f.birth_date)
    .bind::<BigInt, _>(f.limit.clamp(1, 1000))
    .load(conn)?;
    persons.iter().map(|p| view(conn, p, s)).collect()
}

fn person(conn: &mut PgConnection, enterprise_id: &str) -> Result<PersonKey> {
    diesel::sql_query("SELECT id, enterprise_id FROM mpi_persons WHERE enterprise_id = $1")
        .bind::<Text, _>(enterprise_id)
        .get_result(conn)
        .optional()?
        .ok_or_else(|| {
            AdminError::NotFound(format!("no person with enterprise id {enterprise_id}"))
        })
}

fn person_by_id(conn: &mut PgConnection, id: i64) -> Result<PersonKey> {
    diesel::sql_query("SELECT id, enterprise_id FROM mpi_persons WHERE id = $1")
        .bind::<BigInt, _>(id)
        .get_result(conn)
        .optional()?
        .ok_or_else(|| AdminError::NotFound(format!("no person {id}")))
}

pub fn get(conn: &mut PgConnection, s: &Settings, enterprise_id: &str) -> Result<PersonView> {
    let p = person(conn, enterprise_id)?;
    view(conn, &p, s)
}

fn active_record(conn: &mut PgConnection, id: &PatientIdentifier) -> Result<store::RecordRef> {
    match store::find_record(conn, id)? {
        Some(r) if r.status == "active" => Ok(r),
        Some(_) => Err(AdminError::Invalid(format!(
            "patient id {id} was merged away"
        ))),
        None => Err(AdminError::NotFound(format!(
            "no record with patient id {id}"
        ))),
    }
}

/// Moves `record` to the person with `enterprise_id`.
pub fn link(
    conn: &mut PgConnection,
    s: &Settings,
    record: &PatientIdentifier,
    enterprise_id: &str,
) -> Result<PersonView> {
    conn.transaction(|conn| {
        let r = active_record(conn, record)?;
        let p = person(conn, enterprise_id)?;
        if r.person_id != p.id {
            store::set_person(conn, r.id, p.id)?;
            iti46::enqueue(conn, s, r.person_id)?;
            iti46::enqueue(conn, s, p.id)?;
        }
        view(conn, &p, s)
    })
}

/// Gives `record` a person of its own.
pub fn unlink(
    conn: &mut PgConnection,
    s: &Settings,
    record: &PatientIdentifier,
) -> Result<PersonView> {
    conn.transaction(|conn| {
        let r = active_record(conn, record)?;
        let (new, _) = store::insert_person(conn, &s.enterprise_root)?;
        store::set_person(conn, r.id, new)?;
        iti46::enqueue(conn, s, r.person_id)?;
        iti46::enqueue(conn, s, new)?;
        let p = person_by_id(conn, new)?;
        view(conn, &p, s)
    })
}

/// Merges `obsolete` into `survivor` (same domain), as ITI-44 PRPA_IN201304UV02 does.
pub fn merge(
    conn: &mut PgConnection,
    s: &Settings,
    survivor: &PatientIdentifier,
    obsolete: &PatientIdentifier,
) -> Result<(PersonView, usize)> {
    if survivor.root != obsolete.root {
        return Err(AdminError::Invalid(format!(
            "{obsolete} and {survivor} are in different domains; a merge resolves duplicates within one domain"
        )));
    }
    if survivor == obsolete {
        return Err(AdminError::Invalid(format!(
            "{survivor} cannot be merged into itself"
        )));
    }
    conn.transaction(|conn| {
        let surv = active_record(conn, survivor)?;
        let old = active_record(conn, obsolete)?;
        let moved = store::merge_record(
            conn,
            (obsolete, &old),
            (survivor, &surv),
            &s.enterprise_root,
        )?;
        iti46::enqueue(conn, s, surv.person_id)?;
        let p = person_by_id(conn, surv.person_id)?;
        Ok((view(conn, &p, s)?, moved))
    })
}

#[derive(Debug, Serialize, QueryableByName)]
pub struct ReviewItem {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub record_root: String,
    #[diesel(sql_type = Text)]
    pub record_extension: String,
    #[diesel(sql_type = Text)]
    pub candidate_enterprise_id: String,
    #[diesel(sql_type = Double)]
    pub score: f64,
    #[diesel(sql_type = Text)]
    pub status: String,
}

/// The open review items, oldest first.
pub fn review_queue(conn: &mut PgConnection, limit: i64) -> Result<Vec<ReviewItem>> {
    Ok(diesel::sql_query(
        "SELECT v.id, r.root AS record_root, r.extension AS record_extension, \
                p.enterprise_id AS candidate_enterprise_id, v.score, v.status \
         FROM mpi_review v JOIN mpi_records r ON r.id = v.record_id JOIN mpi_persons p ON p.id = v.candidate_id \
         WHERE v.status = 'open' ORDER BY v.id LIMIT $1",
    )
    .bind::<BigInt, _>(limit.clamp(1, 1000))
    .load(conn)?)
}

/// Decides a review item: link the record to the candidate, or dismiss the suggestion.
pub fn decide(conn: &mut PgConnection, s: &Settings, id: i64, link_it: bool) -> Result<ReviewItem> {
    conn.transaction(|conn| {
        #[derive(QueryableByName)]
        struct Open {
            #[diesel(sql_type = BigInt)]
            record_id: i64,
            #[diesel(sql_type = BigInt)]
            candidate_id: i64,
            #[diesel(sql_type = Text)]
            status: String,
        }
        let item: Open = diesel::sql_query(
            "SELECT record_id, candidate_id, status FROM mpi_review WHERE id = $1 FOR UPDATE",
        )
        .bind::<BigInt, _>(id)
        .get_result(conn)
        .optional()?
        .ok_or_else(|| AdminError::NotFound(format!("no review item {id}")))?;
        if item.status != "open" {
            return Err(AdminError::Invalid(format!(
                "review item {id} was already decided ({})",
                item.status
            )));
        }
        if link_it {
            let rec = store::records_by_ids(conn, &[item.record_id])?;
            let Some(rec) = rec.first() else {
                return Err(AdminError::NotFound(format!("the record of review item {id} is gone")));
            };
            if rec.status != "active" {
                return Err(AdminError::Invalid(format!(
                    "the record of review item {id} was merged away"
                )));
            }
            store::set_person(conn, rec.id, item.candidate_id)?;
            iti46::enqueue(conn, s, rec.person_id)?;
            iti46::enqueue(conn, s, item.candidate_id)?;
        }
        diesel::sql_query("UPDATE mpi_review SET status = $2, decided_at = now() WHERE id = $1")
            .bind::<BigInt, _>(id)
            .bind::<Text, _>(if link_it { "linked" } else { "dismissed" })
            .execute(conn)?;
        let items: Vec<ReviewItem> = diesel::sql_query(
            "SELECT v.id, r.root AS record_root, r.extension AS record_extension, \
                    p.enterprise_id AS candidate_enterprise_id, v.score, v.status \
             FROM mpi_review v JOIN mpi_records r ON r.id = v.record_id JOIN mpi_persons p ON p.id = v.candidate_id \
             WHERE v.id = $1",
        )
        .bind::<BigInt, _>(id)
        .load(conn)?;
        items
            .into_iter()
            .next()
            .ok_or_else(|| AdminError::NotFound(format!("no review item {id}")))
    })
}
