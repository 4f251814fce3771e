//! RAD-68 Provide and Register Imaging Document Set – MTOM/XOP (RAD TF-3 §4.68): an ITI-41
//! whose DocumentEntry is a KOS manifest (formatCode 1.2.840.10008.5.1.4.1.1.88.59,
//! mimeType application/dicom). Beside what ITI-41 does, the manifest's references are indexed
//! (`imaging_manifest_references`) and the KOS itself becomes a stored instance, in the same
//! transaction as the registration.

use diesel::pg::PgConnection;
use diesel::prelude::*;

use super::kos;
use crate::xds::error_code::ErrorCode;
use crate::xds::problem::{Problem, Severity};
use crate::xds::registry::RepositoryDocument;
use crate::xds::submission::Submission;

diesel::table! {
    imaging_manifest_references (manifest_unique_id, sop_instance_uid) {
        manifest_unique_id -> Text,
        study_instance_uid -> Text,
        series_instance_uid -> Text,
        sop_instance_uid -> Text,
        sop_class_uid -> Text,
        retrieve_ae_title -> Text,
        retrieve_location_uid -> Text,
    }
}

/// Indexes every KOS manifest of an ITI-41 submission. Runs inside the registration
/// transaction: an Err rolls the submission back; returned problems with errors reject it.
pub fn index_manifests(
    conn: &mut PgConnection,
    s: &Submission,
    repository_rows: &[RepositoryDocument],
) -> Result<Vec<Problem>, diesel::result::Error> {
    use imaging_manifest_references::dsl as m;
    let mut problems = Vec::new();
    for d in &s.documents {
        if d.format_code.code != super::KOS_FORMAT_CODE {
            continue;
        }
        let Some(content) = s.content_of(&d.entry_uuid) else {
            continue;
        };
        let context = format!("DocumentEntry {} (uniqueId {})", d.entry_uuid, d.unique_id);
        let manifest = match kos::parse(&content.bytes) {
            Ok(m) => m,
            Err(e) => {
                problems.push(Problem {
                    code: ErrorCode::XDSRepositoryMetadataError,
                    severity: Severity::Error,
                    rule: "RAD-68.manifest.decodable",
                    context,
                    message: format!("the KOS manifest cannot be used: {e}"),
                });
                continue;
            }
        };
        let unique_id = d.unique_id.to_string();
        for r in &manifest.references {
            diesel::insert_into(m::imaging_manifest_references)
                .values((
                    m::manifest_unique_id.eq(&unique_id),
                    m::study_instance_uid.eq(&r.study_instance_uid),
                    m::series_instance_uid.eq(&r.series_instance_uid),
                    m::sop_instance_uid.eq(&r.sop_instance_uid),
                    m::sop_class_uid.eq(&r.sop_class_uid),
                    m::retrieve_ae_title.eq(&r.retrieve_ae_title),
                    m::retrieve_location_uid.eq(&r.retrieve_location_uid),
                ))
                .on_conflict_do_nothing()
                .execute(conn)?;
        }
        // The manifest is itself a DICOM instance: index it (WADO, QIDO, RAD-69 find it).
        let parsed = crate::imaging::parse::read_object(&content.bytes)
            .and_then(|o| crate::imaging::parse::instance(&o));
        if let (Ok(instance), Some(row)) = (
            parsed,
            repository_rows
                .iter()
                .find(|r| r.document_unique_id == unique_id),
        ) {
            crate::imaging::index::upsert(conn, &instance, &row.blob_sha256, row.size, "RAD-68")
                .map_err(|e| match e {
                    crate::store::StoreError::Query(q) => q,
                    other => diesel::result::Error::QueryBuilderError(other.to_string().into()),
                })?;
        }
    }
    Ok(problems)
}

/// The Approved manifests that reference `study` (newest registration first).
pub fn manifests_of_study(
    conn: &mut PgConnection,
    study: &str,
) -> Result<Vec<String>, diesel::result::Error> {
    use imaging_manifest_references::dsl as m;
    m::imaging_manifest_references
        .filter(m::study_instance_uid.eq(study))
        .select(m::manifest_unique_id)
        .distinct()
        .load(conn)
}

/// Of `sops`, those referenced by some manifest but by no Approved one (withdrawn by a
/// replacement, RPLC, or deprecated).
pub fn withdrawn(
    conn: &mut PgConnection,
    sops: &[String],
) -> Result<Vec<String>, diesel::result::Error> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        sop: String,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT r.sop_instance_uid AS sop FROM imaging_manifest_references r \
         LEFT JOIN xds_document_entries d ON d.unique_id = r.manifest_unique_id \
         WHERE r.sop_instance_uid = ANY($1) \
         GROUP BY r.sop_instance_uid \
         HAVING NOT bool_or(COALESCE(d.status = 'urn:oasis:names:tc:ebxml-regrep:StatusType:Approved', false))",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(sops)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| r.sop).collect())
}
