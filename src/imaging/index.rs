//! The `imaging_instances` table: one row per stored instance, patient/study/series attributes
//! denormalised. QIDO-RS and the viewer query it; nothing here reads blobs.

use diesel::pg::PgConnection;
use diesel::prelude::*;

use super::Instance;
use crate::store::StoreError;

diesel::table! {
    imaging_instances (sop_instance_uid) {
        sop_instance_uid -> Text,
        sop_class_uid -> Text,
        study_instance_uid -> Text,
        series_instance_uid -> Text,
        patient_id -> Text,
        issuer_of_patient_id -> Text,
        patient_name -> Text,
        patient_birth_date -> Text,
        patient_sex -> Text,
        study_date -> Text,
        study_time -> Text,
        study_id -> Text,
        study_description -> Text,
        accession_number -> Text,
        referring_physician -> Text,
        modality -> Text,
        series_number -> Nullable<Int4>,
        series_description -> Text,
        instance_number -> Nullable<Int4>,
        transfer_syntax_uid -> Text,
        number_of_frames -> Int4,
        image_rows -> Nullable<Int4>,
        image_columns -> Nullable<Int4>,
        render -> Jsonb,
        blob_sha256 -> Text,
        size -> Int8,
        source -> Text,
        stored_at -> Timestamptz,
    }
}

use imaging_instances::dsl as t;

/// One stored instance as the index knows it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = imaging_instances)]
pub struct InstanceRow {
    pub sop_instance_uid: String,
    pub sop_class_uid: String,
    pub study_instance_uid: String,
    pub series_instance_uid: String,
    pub patient_id: String,
    pub issuer_of_patient_id: String,
    pub patient_name: String,
    pub patient_birth_date: String,
    pub patient_sex: String,
    pub study_date: String,
    pub study_time: String,
    pub study_id: String,
    pub study_description: String,
    pub accession_number: String,
    pub referring_physician: String,
    pub modality: String,
    pub series_number: Option<i32>,
    pub series_description: String,
    pub instance_number: Option<i32>,
    pub transfer_syntax_uid: String,
    pub number_of_frames: i32,
    pub image_rows: Option<i32>,
    pub image_columns: Option<i32>,
    pub render: serde_json::Value,
    pub blob_sha256: String,
    pub size: i64,
    pub source: String,
    pub stored_at: chrono::DateTime<chrono::Utc>,
}

impl InstanceRow {
    pub fn render_info(&self) -> super::RenderInfo {
        serde_json::from_value(self.render.clone()).unwrap_or_default()
    }
}

#[derive(Insertable, AsChangeset)]
#[diesel(table_name = imaging_instances)]
struct NewRow<'a> {
    sop_instance_uid: &'a str,
    sop_class_uid: &'a str,
    study_instance_uid: &'a str,
    series_instance_uid: &'a str,
    patient_id: &'a str,
    issuer_of_patient_id: &'a str,
    patient_name: &'a str,
    patient_birth_date: &'a str,
    patient_sex: &'a str,
    study_date: &'a str,
    study_time: &'a str,
    study_id: &'a str,
    study_description: &'a str,
    accession_number: &'a str,
    referring_physician: &'a str,
    modality: &'a str,
    series_number: Option<i32>,
    series_description: &'a str,
    instance_number: Option<i32>,
    transfer_syntax_uid: &'a str,
    number_of_frames: i32,
    image_rows: Option<i32>,
    image_columns: Option<i32>,
    render: serde_json::Value,
    blob_sha256: &'a str,
    size: i64,
    source: &'a str,
}

/// Inserts (or, for a SOP Instance UID already stored, replaces) the row of `instance`.
/// Returns the blob key the row referred to before, if it was replaced.
pub fn upsert(
    conn: &mut PgConnection,
    instance: &Instance,
    blob_key: &str,
    size: i64,
    source: &str,
) -> Result<Option<String>, StoreError> {
    let previous: Option<String> = t::imaging_instances
        .find(instance.sop_instance_uid.as_str())
        .select(t::blob_sha256)
        .for_update()
        .first(conn)
        .optional()?;
    let row = NewRow {
        sop_instance_uid: instance.sop_instance_uid.as_str(),
        sop_class_uid: instance.sop_class_uid.as_str(),
        study_instance_uid: instance.study_instance_uid.as_str(),
        series_instance_uid: instance.series_instance_uid.as_str(),
        patient_id: &instance.patient_id,
        issuer_of_patient_id: &instance.issuer_of_patient_id,
        patient_name: &instance.patient_name,
        patient_birth_date: &instance.patient_birth_date,
        patient_sex: &instance.patient_sex,
        study_date: &instance.study_date,
        study_time: &instance.study_time,
        study_id: &instance.study_id,
        study_description: &instance.study_description,
        accession_number: &instance.accession_number,
        referring_physician: &instance.referring_physician,
        modality: &instance.modality,
        series_number: instance.series_number,
        series_description: &instance.series_description,
        instance_number: instance.instance_number,
        transfer_syntax_uid: &instance.transfer_syntax_uid,
        number_of_frames: instance.number_of_frames,
        image_rows: instance.rows,
        image_columns: instance.columns,
        render: serde_json::to_value(&instance.render).unwrap_or_default(),
        blob_sha256: blob_key,
        size,
        source,
    };
    diesel::insert_into(t::imaging_instances)
        .values(&row)
        .on_conflict(t::sop_instance_uid)
        .do_update()
        .set(&row)
        .execute(conn)?;
    Ok(previous.filter(|p| p != blob_key))
}

/// Whether any instance row refers to blob `key`.
pub fn blob_referenced(conn: &mut PgConnection, key: &str) -> Result<bool, StoreError> {
    let n: i64 = t::imaging_instances
        .filter(t::blob_sha256.eq(key))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// The rows an exit may offer: not withdrawn. An instance that some KOS manifest (RAD-68)
/// references but no Approved manifest does any more was withdrawn by its source (the manifest
/// was replaced, RPLC, without it); instances no manifest ever named (STOW-RS, C-STORE only)
/// stay visible. Both probes use `imaging_manifest_references_sop` and
/// `xds_document_entries_unique_id`.
///
/// Invariant: QIDO-RS, WADO-RS, WADO-URI, the viewer API and thumbnails read instances only
/// through queries filtered by this predicate (RAD-69 applies the same rule per document).
pub fn not_withdrawn() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql::<diesel::sql_types::Bool>(
        "(NOT EXISTS (SELECT 1 FROM imaging_manifest_references wr \
           WHERE wr.sop_instance_uid = imaging_instances.sop_instance_uid) \
         OR EXISTS (SELECT 1 FROM imaging_manifest_references ar \
           JOIN xds_document_entries ad ON ad.unique_id = ar.manifest_unique_id \
           WHERE ar.sop_instance_uid = imaging_instances.sop_instance_uid \
             AND ad.status = 'urn:oasis:names:tc:ebxml-regrep:StatusType:Approved'))",
    )
}

/// One instance by its SOP Instance UID, unless withdrawn ([`not_withdrawn`]).
pub fn instance(conn: &mut PgConnection, sop: &str) -> Result<Option<InstanceRow>, StoreError> {
    Ok(t::imaging_instances
        .find(sop)
        .filter(not_withdrawn())
        .select(InstanceRow::as_select())
        .first(conn)
        .optional()?)
}

/// Every instance of a study (optionally one series), in series then instance order.
pub fn instances_of(
    conn: &mut PgConnection,
    study: &str,
    series: Option<&str>,
) -> Result<Vec<InstanceRow>, StoreError> {
    let mut q = t::imaging_instances
        .filter(t::study_instance_uid.eq(study))
        .filter(not_withdrawn())
        .select(InstanceRow::as_select())
        .into_boxed();
    if let Some(s) = series {
        q = q.filter(t::series_instance_uid.eq(s.to_owned()));
    }
    Ok(q.order((
        t::series_number.asc().nulls_last(),
        t::series_instance_uid,
        t::instance_number.asc().nulls_last(),
        t::sop_instance_uid,
    ))
    .load(conn)?)
}

/// A QIDO-RS matching key (PS3.18 §8.3.4 / PS3.4 C.2.2.2).
#[derive(Debug, Clone, PartialEq)]
pub enum Match {
    /// Single value matching (case-sensitive, except PN which is case-insensitive here).
    Exact(String),
    /// `*` and `?` wildcards.
    Wildcard(String),
    /// UID list matching (`uid1,uid2` or repeated parameters).
    List(Vec<String>),
    /// Range matching on DA/TM (`from-to`, either end open).
    Range(Option<String>, Option<String>),
}

/// The attributes QIDO-RS can match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    PatientId,
    PatientName,
    StudyInstanceUid,
    SeriesInstanceUid,
    SopInstanceUid,
    SopClassUid,
    AccessionNumber,
    StudyDate,
    StudyTime,
    StudyId,
    StudyDescription,
    ReferringPhysician,
    Modality,
    SeriesNumber,
    SeriesDescription,
    InstanceNumber,
}

impl Key {
    /// (keyword, tag) of every matching key.
    pub const ALL: &'static [(Key, &'static str, &'static str)] = &[
        (Key::PatientId, "PatientID", "00100020"),
        (Key::PatientName, "PatientName", "00100010"),
        (Key::StudyInstanceUid, "StudyInstanceUID", "0020000D"),
        (Key::SeriesInstanceUid, "SeriesInstanceUID", "0020000E"),
        (Key::SopInstanceUid, "SOPInstanceUID", "00080018"),
        (Key::SopClassUid, "SOPClassUID", "00080016"),
        (Key::AccessionNumber, "AccessionNumber", "00080050"),
        (Key::StudyDate, "StudyDate", "00080020"),
        (Key::StudyTime, "StudyTime", "00080030"),
        (Key::StudyId, "StudyID", "00200010"),
        (Key::StudyDescription, "StudyDescription", "00081030"),
        (
            Key::ReferringPhysician,
            "ReferringPhysicianName",
            "00080090",
        ),
        (Key::Modality, "Modality", "00080060"),
        (Key::Modality, "ModalitiesInStudy", "00080061"),
        (Key::SeriesNumber, "SeriesNumber", "00200011"),
        (Key::SeriesDescription, "SeriesDescription", "0008103E"),
        (Key::InstanceNumber, "InstanceNumber", "00200013"),
    ];

    /// The key named by a query parameter (keyword or 8-digit hex tag).
    pub fn from_param(name: &str) -> Option<Key> {
        Key::ALL
            .iter()
            .find(|(_, kw, tag)| *kw == name || tag.eq_ignore_ascii_case(name))
            .map(|(k, _, _)| *k)
    }

    fn is_uid(self) -> bool {
        matches!(
            self,
            Key::StudyInstanceUid | Key::SeriesInstanceUid | Key::SopInstanceUid | Key::SopClassUid
        )
    }

    fn is_range(self) -> bool {
        matches!(self, Key::StudyDate | Key::StudyTime)
    }

    /// Parses the parameter value into a match.
    pub fn parse_match(self, value: &str) -> Result<Match, String> {
        if self.is_uid() {
            let uids: Vec<String> = value
                .split([',', '\\'])
                .map(|s| s.trim().to_owned())
                .collect();
            for u in &uids {
                super::DicomUid::parse(u)?;
            }
            return Ok(if uids.len() == 1 {
                Match::Exact(uids.into_iter().next().unwrap_or_default())
            } else {
                Match::List(uids)
            });
        }
        if self.is_range() && value.contains('-') {
            let (a, b) = value.split_once('-').unwrap_or((value, ""));
            let ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit() || b == b'.');
            if !ok(a) || !ok(b) {
                return Err(format!("'{value}' is not a date/time range"));
            }
            let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
            return Ok(Match::Range(some(a), some(b)));
        }
        if matches!(self, Key::SeriesNumber | Key::InstanceNumber) && value.parse::<i32>().is_err()
        {
            return Err(format!("'{value}' is not an integer"));
        }
        if value.contains(['*', '?']) {
            return Ok(Match::Wildcard(value.to_owned()));
        }
        Ok(Match::Exact(value.to_owned()))
    }
}

fn like_pattern(wildcard: &str) -> String {
    let mut out = String::with_capacity(wildcard.len() + 4);
    for ch in wildcard.chars() {
        match ch {
            '*' => out.push('%'),
            '?' => out.push('_'),
            '%' | '_' | '\\' => {
                out.push('\\');
                out.push(ch);
            }
            c => out.push(c),
        }
    }
    out
}

type Boxed<'a> = imaging_instances::BoxedQuery<'a, diesel::pg::Pg>;

macro_rules! text_match {
    ($q:expr, $col:expr, $m:expr, $ci:expr) => {
        match $m {
            Match::Exact(v) if $ci => $q.filter($col.ilike(like_pattern(v))),
            Match::Exact(v) => $q.filter($col.eq(v.clone())),
            Match::Wildcard(v) => $q.filter($col.ilike(like_pattern(v))),
            Match::List(v) => $q.filter($col.eq_any(v.clone())),
            Match::Range(a, b) => {
                let mut q = $q.filter($col.ne(""));
                if let Some(a) = a {
                    q = q.filter($col.ge(a.clone()));
                }
                if let Some(b) = b {
                    q = q.filter($col.le(b.clone()));
                }
                q
            }
        }
    };
}

fn apply<'a>(q: Boxed<'a>, key: Key, m: &Match) -> Boxed<'a> {
    match key {
        Key::PatientId => text_match!(q, t::patient_id, m, false),
        Key::PatientName => text_match!(q, t::patient_name, m, true),
        Key::StudyInstanceUid => text_match!(q, t::study_instance_uid, m, false),
        Key::SeriesInstanceUid => text_match!(q, t::series_instance_uid, m, false),
        Key::SopInstanceUid => text_match!(q, t::sop_instance_uid, m, false),
        Key::SopClassUid => text_match!(q, t::sop_class_uid, m, false),
        Key::AccessionNumber => text_match!(q, t::accession_number, m, false),
        Key::StudyDate => text_match!(q, t::study_date, m, false),
        Key::StudyTime => text_match!(q, t::study_time, m, false),
        Key::StudyId => text_match!(q, t::study_id, m, false),
        Key::StudyDescription => text_match!(q, t::study_description, m, true),
        Key::ReferringPhysician => text_match!(q, t::referring_physician, m, true),
        Key::Modality => text_match!(q, t::modality, m, false),
        Key::SeriesDescription => text_match!(q, t::series_description, m, true),
        Key::SeriesNumber => match m {
            Match::Exact(v) => q.filter(t::series_number.eq(v.parse::<i32>().unwrap_or(i32::MIN))),
            _ => q,
        },
        Key::InstanceNumber => match m {
            Match::Exact(v) => {
                q.filter(t::instance_number.eq(v.parse::<i32>().unwrap_or(i32::MIN)))
            }
            _ => q,
        },
    }
}

/// The level a query answers at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Study,
    Series,
    Instance,
}

/// Rows matching `filters`, grouped by the distinct `level` key: at most `limit` groups after
/// skipping `offset`, every instance row of each group returned (so counts and modalities can
/// be computed). Groups come in key order.
pub fn search(
    conn: &mut PgConnection,
    level: Level,
    filters: &[(Key, Match)],
    limit: i64,
    offset: i64,
) -> Result<Vec<InstanceRow>, StoreError> {
    let mut q = t::imaging_instances.filter(not_withdrawn()).into_boxed();
    for (k, m) in filters {
        q = apply(q, *k, m);
    }
    match level {
        Level::Instance => Ok(q
            .select(InstanceRow::as_select())
            .order((
                t::study_instance_uid,
                t::series_number.asc().nulls_last(),
                t::series_instance_uid,
                t::instance_number.asc().nulls_last(),
                t::sop_instance_uid,
            ))
            .limit(limit)
            .offset(offset)
            .load(conn)?),
        Level::Series => {
            let keys: Vec<String> = q
                .select(t::series_instance_uid)
                .distinct()
                .order(t::series_instance_uid)
                .limit(limit)
                .offset(offset)
                .load(conn)?;
            Ok(t::imaging_instances
                .filter(t::series_instance_uid.eq_any(keys))
                .filter(not_withdrawn())
                .select(InstanceRow::as_select())
                .order((t::study_instance_uid, t::series_instance_uid))
                .load(conn)?)
        }
        Level::Study => {
            let keys: Vec<String> = q
                .select(t::study_instance_uid)
                .distinct()
                .order(t::study_instance_uid)
                .limit(limit)
                .offset(offset)
                .load(conn)?;
            Ok(t::imaging_instances
                .filter(t::study_instance_uid.eq_any(keys))
                .filter(not_withdrawn())
                .select(InstanceRow::as_select())
                .order(t::study_instance_uid)
                .load(conn)?)
        }
    }
}

/// Study UIDs of a patient (DICOM PatientID, and issuer when given), newest study first.
pub fn studies_of_patient(
    conn: &mut PgConnection,
    patient_id: &str,
    issuer: Option<&str>,
) -> Result<Vec<InstanceRow>, StoreError> {
    let mut q = t::imaging_instances
        .filter(t::patient_id.eq(patient_id.to_owned()))
        .filter(not_withdrawn())
        .select(InstanceRow::as_select())
        .into_boxed();
    if let Some(i) = issuer {
        q = q.filter(
            t::issuer_of_patient_id
                .eq(i.to_owned())
                .or(t::issuer_of_patient_id.eq("")),
        );
    }
    Ok(q.order((t::study_date.desc(), t::study_instance_uid))
        .load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_keys() {
        assert_eq!(Key::from_param("00100020"), Some(Key::PatientId));
        assert_eq!(Key::from_param("ModalitiesInStudy"), Some(Key::Modality));
        assert_eq!(Key::from_param("Nope"), None);
        assert_eq!(
            Key::StudyDate.parse_match("20260101-"),
            Ok(Match::Range(Some("20260101".into()), None))
        );
        assert_eq!(
            Key::StudyInstanceUid.parse_match("1.2,1.3"),
            Ok(Match::List(vec!["1.2".into(), "1.3".into()]))
        );
        assert!(Key::StudyInstanceUid.parse_match("x").is_err());
        assert_eq!(
            Key::PatientName.parse_match("Doe*"),
            Ok(Match::Wildcard("Doe*".into()))
        );
        assert_eq!(like_pattern("a_b*c?%"), "a\\_b%c_\\%");
        assert!(Key::SeriesNumber.parse_match("x").is_err());
    }
}
