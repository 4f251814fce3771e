//! The viewer's JSON API (the viewer contract): what `dicom-viewer/` reads.

use std::io::Write;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text, Timestamp};
use serde_json::{Value, json};

use crate::dicomweb::common::{self, ApiError, AuditSpec, Kind};
use crate::dicomweb::wado;
use crate::imaging::access::{self, Subject};
use crate::imaging::index::{self, InstanceRow};
use crate::store::StoreError;
use crate::web::AppState;

/// A report (CDA DocumentEntry) listed beside a study.
#[derive(Debug, Clone, QueryableByName)]
pub struct ReportRow {
    #[diesel(sql_type = Text)]
    pub unique_id: String,
    #[diesel(sql_type = Text)]
    pub metadata_xml: String,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub creation_time: Option<chrono::NaiveDateTime>,
}

const APPROVED: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved";

/// The approved CDA documents about a study: registered in the same submission set as a
/// manifest (RAD-68) that references the study, or naming the study or its accession number in
/// their referenceIdList.
pub fn reports_of_study(
    conn: &mut PgConnection,
    study: &str,
    accession: &str,
) -> Result<Vec<ReportRow>, StoreError> {
    Ok(diesel::sql_query(
        "SELECT d.unique_id, d.metadata_xml, d.creation_time FROM xds_document_entries d \
         WHERE d.status = $3 AND d.mime_type = 'text/xml' AND ( \
           d.submission_set IN (SELECT k.submission_set FROM xds_document_entries k \
             JOIN imaging_manifest_references r ON r.manifest_unique_id = k.unique_id \
             WHERE r.study_instance_uid = $1 AND k.status = $3) \
           OR EXISTS (SELECT 1 FROM unnest(d.reference_ids) ref \
             WHERE split_part(ref, '^', 1) = $1 OR ($2 <> '' AND split_part(ref, '^', 1) = $2))) \
         ORDER BY d.creation_time DESC NULLS LAST, d.unique_id",
    )
    .bind::<Text, _>(study)
    .bind::<Text, _>(accession)
    .bind::<Text, _>(APPROVED)
    .load(conn)?)
}

fn report_title(r: &ReportRow) -> String {
    // The DocumentEntry title: ExtrinsicObject/Name/LocalizedString/@value of the ebRIM XML the
    // registry stored (a SubmitObjectsRequest holding the one object; our own XML).
    fn extrinsic(e: &crate::xml::Element) -> Option<&crate::xml::Element> {
        if e.local == "ExtrinsicObject" {
            return Some(e);
        }
        e.elements().find_map(extrinsic)
    }
    let limits = crate::xml::Limits::default();
    crate::xml::parse(r.metadata_xml.as_bytes(), &limits)
        .ok()
        .and_then(|root| {
            extrinsic(&root)
                .and_then(|x| x.elements().find(|c| c.local == "Name"))
                .and_then(|n| n.elements().find(|c| c.local == "LocalizedString"))
                .and_then(|l| l.attr("value").map(str::to_owned))
        })
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| "Report".to_owned())
}

fn report_json(r: &ReportRow, with_url: bool) -> Value {
    let mut v = json!({
        "documentUniqueId": r.unique_id,
        "title": report_title(r),
        "creationTime": r.creation_time.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
    });
    if with_url {
        v["url"] = Value::from(format!("/viewer/api/reports/{}", r.unique_id));
    }
    v
}

/// `id^^^&oid&ISO` → (id, Some(oid)); a bare id → (id, None).
pub fn split_cx(cx: &str) -> (String, Option<String>) {
    match cx.split_once("^^^") {
        Some((id, rest)) => {
            let oid = rest.trim_start_matches('&').split('&').next().unwrap_or("");
            (id.to_owned(), (!oid.is_empty()).then(|| oid.to_owned()))
        }
        None => (cx.to_owned(), None),
    }
}

fn modalities(rows: &[&InstanceRow]) -> Vec<String> {
    let mut m: Vec<String> = rows
        .iter()
        .map(|r| r.modality.clone())
        .filter(|m| !m.is_empty())
        .collect();
    m.sort();
    m.dedup();
    m
}

fn count_distinct<'a>(it: impl Iterator<Item = &'a str>) -> usize {
    let mut v: Vec<&str> = it.collect();
    v.sort_unstable();
    v.dedup();
    v.len()
}

fn viewer_audit(transaction: &'static str, rows: &[InstanceRow]) -> AuditSpec {
    AuditSpec {
        kind: Kind::ViewerAccess,
        transaction,
        participants: common::participants(rows),
        query: None,
        verdict: None,
    }
}

/// `/viewer/api/patients/{patientId}/studies`
pub async fn patient_studies(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> HttpResponse {
    let cx = path.into_inner();
    let mut touched: Vec<InstanceRow> = Vec::new();
    let result = async {
        if cx.is_empty() || cx.len() > 256 {
            return Err(ApiError::bad_request("patient id must be 1..=256 characters"));
        }
        let (id, issuer) = split_cx(&cx);
        let (id2, issuer2) = (id.clone(), issuer.clone());
        let rows = state
            .db
            .run(move |c| index::studies_of_patient(c, &id2, issuer2.as_deref()))
            .await?;
        access::authorize(
            &common::requester(&req),
            &Subject {
                patient_id: &cx,
                study_instance_uid: "",
            },
        ).await
        .map_err(|d| ApiError::new(StatusCode::FORBIDDEN, "AccessDenied", d.to_string()))?;
        common::authorize_rows(&common::requester(&req), &rows).await?;
        let mut studies: Vec<(String, Vec<&InstanceRow>)> = Vec::new();
        for r in &rows {
            match studies.iter_mut().find(|s| s.0 == r.study_instance_uid) {
                Some(s) => s.1.push(r),
                None => studies.push((r.study_instance_uid.clone(), vec![r])),
            }
        }
        let keys: Vec<(String, String)> = studies
            .iter()
            .map(|(uid, rs)| (uid.clone(), rs[0].accession_number.clone()))
            .collect();
        let reports = state
            .db
            .run(move |c| {
                keys.iter()
                    .map(|(s, a)| reports_of_study(c, s, a))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await?;
        let first = rows.first();
        let patient = json!({
            "id": cx,
            "name": first.map(|r| r.patient_name.clone()),
            "birthDate": first.map(|r| r.patient_birth_date.clone()),
            "sex": first.map(|r| r.patient_sex.clone()),
        });
        let list: Vec<Value> = studies
            .iter()
            .zip(reports)
            .map(|((uid, rs), reps)| {
                let f = rs[0];
                json!({
                    "studyInstanceUid": uid,
                    "studyDate": f.study_date,
                    "studyTime": f.study_time,
                    "description": f.study_description,
                    "accessionNumber": f.accession_number,
                    "modalities": modalities(rs),
                    "numberOfSeries": count_distinct(rs.iter().map(|r| r.series_instance_uid.as_str())),
                    "numberOfInstances": rs.len(),
                    "reports": reps.iter().map(|r| report_json(r, false)).collect::<Vec<_>>(),
                })
            })
            .collect();
        let body = json!({ "patient": patient, "studies": list });
        touched = rows.clone();
        Ok(HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(body))
    }
    .await;
    let mut spec = viewer_audit("viewer-patient-studies", &touched);
    if touched.is_empty() {
        spec.participants
            .push(crate::audit::dicom::ParticipantObject::patient(cx));
    }
    common::finish(&state, &req, spec, result).await
}

/// The display order of a series: along the slice normal (from the image orientation) by image
/// position, descending (head first for axial series), else by instance number.
fn sort_for_display(rows: &mut [&InstanceRow]) {
    let key = |r: &InstanceRow| -> Option<f64> {
        let ri = r.render_info();
        let o = ri.image_orientation?;
        let p = ri.image_position?;
        let n = [
            o[1] * o[5] - o[2] * o[4],
            o[2] * o[3] - o[0] * o[5],
            o[0] * o[4] - o[1] * o[3],
        ];
        Some(n[0] * p[0] + n[1] * p[1] + n[2] * p[2])
    };
    if rows.iter().all(|r| key(r).is_some()) {
        rows.sort_by(|a, b| {
            key(b)
                .partial_cmp(&key(a))
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.instance_number.cmp(&b.instance_number))
        });
    } else {
        rows.sort_by(|a, b| {
            a.instance_number
                .unwrap_or(i32::MAX)
                .cmp(&b.instance_number.unwrap_or(i32::MAX))
                .then(a.sop_instance_uid.cmp(&b.sop_instance_uid))
        });
    }
}

fn instance_json(r: &InstanceRow) -> Value {
    let ri = r.render_info();
    json!({
        "sopInstanceUid": r.sop_instance_uid,
        "sopClassUid": r.sop_class_uid,
        "instanceNumber": r.instance_number,
        "numberOfFrames": r.number_of_frames,
        "rows": r.image_rows,
        "columns": r.image_columns,
        "bitsAllocated": ri.bits_allocated,
        "bitsStored": ri.bits_stored,
        "pixelRepresentation": ri.pixel_representation,
        "photometricInterpretation": ri.photometric_interpretation,
        "samplesPerPixel": ri.samples_per_pixel,
        "rescaleSlope": ri.rescale_slope,
        "rescaleIntercept": ri.rescale_intercept,
        "windowCenter": ri.window_center,
        "windowWidth": ri.window_width,
        "pixelSpacing": ri.pixel_spacing,
        "sliceLocation": ri.slice_location,
        "imagePositionPatient": ri.image_position,
        "hasPixelData": ri.has_pixels,
        "transferSyntaxUid": r.transfer_syntax_uid,
    })
}

/// `/viewer/api/studies/{studyUid}`
pub async fn study(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> HttpResponse {
    let study = path.into_inner();
    let mut touched: Vec<InstanceRow> = Vec::new();
    let result = async {
        crate::imaging::DicomUid::parse(&study)
            .map_err(|e| ApiError::bad_request(format!("study UID: {e}")))?;
        let s2 = study.clone();
        let rows = state
            .db
            .run(move |c| index::instances_of(c, &s2, None))
            .await?;
        if rows.is_empty() {
            return Err(ApiError::not_found(format!(
                "no study {study} is stored here"
            )));
        }
        common::authorize_rows(&common::requester(&req), &rows).await?;
        let (s3, acc) = (study.clone(), rows[0].accession_number.clone());
        let reports = state
            .db
            .run(move |c| reports_of_study(c, &s3, &acc))
            .await?;
        let f = &rows[0];
        let all: Vec<&InstanceRow> = rows.iter().collect();
        let mut series: Vec<(String, Vec<&InstanceRow>)> = Vec::new();
        for r in &rows {
            match series.iter_mut().find(|s| s.0 == r.series_instance_uid) {
                Some(s) => s.1.push(r),
                None => series.push((r.series_instance_uid.clone(), vec![r])),
            }
        }
        let series_json: Vec<Value> = series
            .iter_mut()
            .map(|(uid, rs)| {
                sort_for_display(rs);
                let s0 = rs[0];
                json!({
                    "seriesInstanceUid": uid,
                    "seriesNumber": s0.series_number,
                    "modality": s0.modality,
                    "description": s0.series_description,
                    "thumbnail": format!("/dicomweb/studies/{study}/series/{uid}/thumbnail"),
                    "instances": rs.iter().map(|r| instance_json(r)).collect::<Vec<_>>(),
                })
            })
            .collect();
        let body = json!({
            "study": {
                "studyInstanceUid": study,
                "patientId": access::patient_cx(&f.patient_id, &f.issuer_of_patient_id),
                "patientName": f.patient_name,
                "patientBirthDate": f.patient_birth_date,
                "patientSex": f.patient_sex,
                "studyDate": f.study_date,
                "studyTime": f.study_time,
                "description": f.study_description,
                "accessionNumber": f.accession_number,
                "referringPhysician": f.referring_physician,
                "modalities": modalities(&all),
            },
            "series": series_json,
            "reports": reports.iter().map(|r| report_json(r, true)).collect::<Vec<_>>(),
        });
        touched = rows;
        Ok(HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(body))
    }
    .await;
    let mut spec = viewer_audit("viewer-study", &touched);
    for p in &mut spec.participants {
        for d in &mut p.descriptions {
            for c in &mut d.sop_classes {
                c.instances.clear();
            }
        }
    }
    common::finish(&state, &req, spec, result).await
}

/// `/viewer/api/pixels/{study}/{series}/{instance}/{frame}`: decoded stored values.
pub async fn pixels(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String, String)>,
) -> HttpResponse {
    let (study, series, instance, frame) = path.into_inner();
    let mut touched: Vec<InstanceRow> = Vec::new();
    let result = async {
        let frame: u32 = frame
            .parse()
            .map_err(|_| ApiError::bad_request(format!("frame '{frame}' is not a number")))?;
        let target = wado::Target {
            study,
            series: Some(series),
            instance: Some(instance),
        };
        let rows = wado::rows_of(&state, &target).await?;
        touched = rows.clone();
        common::authorize_rows(&common::requester(&req), &rows).await?;
        let f = wado::frame_of(&state, &rows[0], frame).await?;
        let gzip = req
            .headers()
            .get(actix_web::http::header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("gzip"));
        let (format, body, rows_n, cols) = tokio::task::spawn_blocking(move || {
            let (format, raw) = crate::render::raw_pixels(&f);
            let body = if gzip {
                let mut enc = flate2::write::GzEncoder::new(
                    Vec::with_capacity(raw.len() / 2),
                    flate2::Compression::fast(),
                );
                enc.write_all(&raw).and_then(|_| enc.finish())
            } else {
                Ok(raw)
            };
            body.map(|b| (format, b, f.rows, f.columns))
        })
        .await
        .map_err(|e| ApiError::internal("pixel task failed", e))?
        .map_err(|e| ApiError::internal("gzip failed", e))?;
        let mut resp = HttpResponse::Ok();
        resp.content_type("application/octet-stream")
            .insert_header(("X-Pixel-Format", format))
            .insert_header(("X-Rows", rows_n.to_string()))
            .insert_header(("X-Columns", cols.to_string()))
            .insert_header(("Cache-Control", "private, max-age=3600"))
            .insert_header(("Vary", "Accept-Encoding"));
        if gzip {
            resp.insert_header(("Content-Encoding", "gzip"));
        }
        Ok(resp.body(body))
    }
    .await;
    common::finish_image_read(
        &state,
        &req,
        viewer_audit("viewer-pixels", &touched),
        &touched,
        result,
    )
    .await
}

/// `/viewer/api/reports/{documentUniqueId}`: the CDA report as a safe HTML fragment.
pub async fn report(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> HttpResponse {
    let unique_id = path.into_inner();
    let mut participants = Vec::new();
    let result = async {
        if unique_id.is_empty() || unique_id.len() > 128 {
            return Err(ApiError::bad_request(
                "document unique id must be 1..=128 characters",
            ));
        }
        let u = unique_id.clone();
        let found: Option<(String, String)> = state
            .db
            .run(move |c| {
                use crate::store::schema::{
                    xds_document_entries as d, xds_repository_documents as r,
                };
                let patient: Option<String> = d::table
                    .filter(d::unique_id.eq(&u))
                    .filter(d::status.eq(APPROVED))
                    .select(d::patient_id)
                    .first(c)
                    .optional()?;
                let blob: Option<String> = r::table
                    .filter(r::document_unique_id.eq(&u))
                    .select(r::blob_sha256)
                    .first(c)
                    .optional()?;
                Ok(patient.zip(blob))
            })
            .await?;
        let (patient, blob_key) = found
            .ok_or_else(|| ApiError::not_found(format!("no document {unique_id} is held here")))?;
        participants.push(crate::audit::dicom::ParticipantObject::patient(
            patient.clone(),
        ));
        participants.push(crate::audit::dicom::ParticipantObject::document(
            unique_id.clone(),
            Some(crate::xds::repository::repository_unique_id().as_str()),
            None,
        ));
        access::authorize(
            &common::requester(&req),
            &Subject {
                patient_id: &patient,
                study_instance_uid: "",
            },
        )
        .await
        .map_err(|d| ApiError::new(StatusCode::FORBIDDEN, "AccessDenied", d.to_string()))?;
        let blobs = common::blobs(&state);
        let limits = state.xml_limits;
        let html = tokio::task::spawn_blocking(move || {
            let bytes = blobs
                .read(&blob_key)
                .map_err(|e| ApiError::internal("stored document unreadable", e))?;
            let doc = crate::xml::parse(&bytes, &limits).map_err(|e| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "NotCda",
                    format!("the document is not well-formed XML: {e}"),
                )
            })?;
            super::report::render(&doc)
                .map_err(|m| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "NotCda", m))
        })
        .await
        .map_err(|e| ApiError::internal("report task failed", e))??;
        Ok(HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header(("Cache-Control", "no-store"))
            .insert_header(("Content-Security-Policy", "default-src 'none'"))
            .body(html))
    }
    .await;
    let spec = AuditSpec {
        kind: Kind::ViewerAccess,
        transaction: "viewer-report",
        participants,
        query: None,
        verdict: None,
    };
    common::finish(&state, &req, spec, result).await
}

/// Any other `/viewer/api/...` path: a JSON 404 (not the static index page).
pub async fn unknown(req: HttpRequest) -> HttpResponse {
    ApiError::not_found(format!("no viewer API at {}", req.path())).response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cx_split() {
        assert_eq!(
            split_cx("4711^^^&1.2.3&ISO"),
            ("4711".to_owned(), Some("1.2.3".to_owned()))
        );
        assert_eq!(split_cx("PHANTOM-1"), ("PHANTOM-1".to_owned(), None));
    }
}
