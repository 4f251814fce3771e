//! RAD-69 Retrieve Imaging Document Set (RAD TF-3 §4.69): an Imaging Document Consumer asks
//! for the DICOM instances a manifest names, grouped by study and series, with the transfer
//! syntaxes it accepts (`TransferSyntaxUIDList`, in order of preference). Response:
//! `xdsb:RetrieveDocumentSetResponse`, MTOM, one `DocumentResponse` (application/dicom) per
//! instance returned.
//!
//! Per document: a foreign RepositoryUniqueId is `XDSUnknownRepositoryId`; an instance not held
//! here (or not in the study/series the request puts it in) is `XDSDocumentUniqueIdError`; an
//! instance that cannot be given in any requested transfer syntax is `urn:dicom:wado:0007`
//! ("cannot be provided in the requested transfer syntax", the code dcm4chee-arc uses); an
//! access refusal is `XDSRepositoryError` with the reason. An instance that manifests reference
//! but no Approved manifest does any more (the source replaced the KOS without it, RPLC) is
//! withdrawn: `XDSDocumentUniqueIdError`. Instances no manifest ever named (STOW-RS, C-STORE
//! only) are served. Status: Success, PartialSuccess
//! (`urn:ihe:iti:2007:ResponseStatusType:PartialSuccess`) or Failure.
//!
//! Transcoding: an instance stored compressed is decoded to Explicit VR Little Endian when the
//! consumer lists that (or Implicit VR Little Endian) and the codec is available.

use bytes::Bytes;
use diesel::prelude::*;

use crate::audit::Outcome;
use crate::dicomweb::common;
use crate::ebxml::{self, ErrorSeverity, RegistryError, RegistryErrorList, WireMessage};
use crate::imaging::access::{self, Requester, Subject};
use crate::imaging::index::{InstanceRow, imaging_instances};
use crate::store::Db;
use crate::xds::repository::{self, BlobStore};
use crate::xds::service::{Answer, AuditDetails};
use crate::xml::Element;

pub const ACTION: &str = "urn:ihe:rad:2009:RetrieveImagingDocumentSet";
pub const RESPONSE_ACTION: &str = "urn:ihe:iti:2007:RetrieveDocumentSetResponse";

const XDSI_NS: &str = "urn:ihe:rad:xdsi-b:2009";
const XDSB_NS: &str = "urn:ihe:iti:xds-b:2007";
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const IMPLICIT_LE: &str = "1.2.840.10008.1.2";

/// One requested instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceRequest {
    pub study_instance_uid: String,
    pub series_instance_uid: String,
    pub home_community_id: Option<String>,
    pub repository_unique_id: String,
    pub document_unique_id: String,
}

/// `iherad:RetrieveImagingDocumentSetRequest` in domain terms.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
    pub instances: Vec<InstanceRequest>,
    /// In the consumer's order of preference.
    pub transfer_syntaxes: Vec<String>,
}

fn child_text(e: &Element, ns: &str, local: &str) -> Option<String> {
    e.child(ns, local).map(|c| c.text().trim().to_owned())
}

/// Reads the request; the error names the element path.
pub fn decode(body: &Element) -> Result<Request, String> {
    if !body.is(XDSI_NS, "RetrieveImagingDocumentSetRequest") {
        return Err(format!(
            "the body is {{{}}}{}, not {{{XDSI_NS}}}RetrieveImagingDocumentSetRequest",
            body.namespace().unwrap_or(""),
            body.local
        ));
    }
    let mut r = Request::default();
    for (i, study) in body.children_named(XDSI_NS, "StudyRequest").enumerate() {
        let at = format!("StudyRequest[{}]", i + 1);
        let study_uid = study
            .attr("studyInstanceUID")
            .ok_or(format!("{at}/@studyInstanceUID is missing"))?
            .trim()
            .to_owned();
        for (j, series) in study.children_named(XDSI_NS, "SeriesRequest").enumerate() {
            let at = format!("{at}/SeriesRequest[{}]", j + 1);
            let series_uid = series
                .attr("seriesInstanceUID")
                .ok_or(format!("{at}/@seriesInstanceUID is missing"))?
                .trim()
                .to_owned();
            for (k, doc) in series
                .children_named(XDSB_NS, "DocumentRequest")
                .enumerate()
            {
                let at = format!("{at}/DocumentRequest[{}]", k + 1);
                r.instances.push(InstanceRequest {
                    study_instance_uid: study_uid.clone(),
                    series_instance_uid: series_uid.clone(),
                    home_community_id: child_text(doc, XDSB_NS, "HomeCommunityId"),
                    repository_unique_id: child_text(doc, XDSB_NS, "RepositoryUniqueId")
                        .ok_or(format!("{at}/RepositoryUniqueId is missing"))?,
                    document_unique_id: child_text(doc, XDSB_NS, "DocumentUniqueId")
                        .ok_or(format!("{at}/DocumentUniqueId is missing"))?,
                });
            }
        }
    }
    if r.instances.is_empty() {
        return Err("StudyRequest/SeriesRequest/DocumentRequest: no instance requested".into());
    }
    let list = body
        .child(XDSI_NS, "TransferSyntaxUIDList")
        .ok_or("TransferSyntaxUIDList is missing")?;
    r.transfer_syntaxes = list
        .children_named(XDSI_NS, "TransferSyntaxUID")
        .map(|t| t.text().trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    if r.transfer_syntaxes.is_empty() {
        return Err("TransferSyntaxUIDList names no TransferSyntaxUID".into());
    }
    Ok(r)
}

fn error(code: &str, context: String, message: String) -> RegistryError {
    RegistryError {
        error_code: code.to_owned(),
        code_context: format!("{context}: {message}"),
        location: None,
        severity: Some(ErrorSeverity::Error),
        message: String::new(),
    }
}

/// The instance in a transfer syntax the consumer accepts, or why not.
pub fn in_transfer_syntax(
    bytes: Bytes,
    stored_ts: &str,
    wanted: &[String],
) -> Result<Bytes, String> {
    if wanted.iter().any(|t| t == stored_ts) {
        return Ok(bytes);
    }
    let target = [EXPLICIT_LE, IMPLICIT_LE]
        .into_iter()
        .find(|t| wanted.iter().any(|w| w == t))
        .ok_or_else(|| {
            format!(
                "stored as {stored_ts}; none of the requested transfer syntaxes ({}) is available",
                wanted.join(", ")
            )
        })?;
    use dicom_encoding::TransferSyntaxIndex;
    use dicom_pixeldata::Transcode;
    let ts = dicom_transfer_syntax_registry::TransferSyntaxRegistry
        .get(target)
        .ok_or("transfer syntax registry incomplete")?;
    let mut obj = crate::imaging::parse::read_object(&bytes).map_err(|e| e.to_string())?;
    obj.transcode(ts)
        .map_err(|e| format!("stored as {stored_ts}; transcoding to {target} failed: {e}"))?;
    let mut out = Vec::with_capacity(bytes.len() * 2);
    obj.write_all(&mut out).map_err(|e| e.to_string())?;
    Ok(Bytes::from(out))
}

/// Handles the SOAP body of one RAD-69 request.
pub async fn handle(db: &Db, blobs: &BlobStore, requester: &Requester, body: &Element) -> Answer {
    let request = match decode(body) {
        Ok(r) => r,
        Err(e) => {
            return answer(
                Vec::new(),
                vec![error(
                    "XDSRepositoryError",
                    "RetrieveImagingDocumentSetRequest".into(),
                    format!("the request does not follow the RAD-69 schema: {e}"),
                )],
                Vec::new(),
            );
        }
    };
    let ours = repository::repository_unique_id().as_str().to_owned();
    let uids: Vec<String> = request
        .instances
        .iter()
        .map(|i| i.document_unique_id.clone())
        .collect();
    let rows = db
        .run(move |c| {
            Ok(imaging_instances::table
                .filter(imaging_instances::sop_instance_uid.eq_any(uids))
                .select(InstanceRow::as_select())
                .load::<InstanceRow>(c)?)
        })
        .await;
    // Instances that manifests reference, but no Approved one any more: withdrawn (the source
    // replaced the manifest without them, RAD TF-3 §4.68.4.1.2.5).
    let wanted: Vec<String> = request
        .instances
        .iter()
        .map(|i| i.document_unique_id.clone())
        .collect();
    // A failed manifest lookup fails the request: serving as if nothing were withdrawn would
    // hand out instances their source took back.
    let withdrawn = db
        .run(move |c| Ok(super::rad68::withdrawn(c, &wanted)?))
        .await;
    let (rows, withdrawn_list) = match rows.and_then(|r| withdrawn.map(|w| (r, w))) {
        Ok(both) => both,
        Err(e) => {
            tracing::error!(error = %e, "RAD-69 lookup failed");
            return answer(
                Vec::new(),
                vec![error(
                    "XDSRepositoryError",
                    "RetrieveImagingDocumentSetRequest".into(),
                    "internal error; see the repository's log".into(),
                )],
                Vec::new(),
            );
        }
    };
    let mut documents = Vec::new();
    let mut errors = Vec::new();
    let mut returned: Vec<InstanceRow> = Vec::new();
    for r in &request.instances {
        let context = format!(
            "DocumentRequest (study {}, series {}, documentUniqueId {})",
            r.study_instance_uid, r.series_instance_uid, r.document_unique_id
        );
        if r.repository_unique_id != ours {
            errors.push(error(
                "XDSUnknownRepositoryId",
                context,
                format!(
                    "repositoryUniqueId {} is not this Imaging Document Source ({ours})",
                    r.repository_unique_id
                ),
            ));
            continue;
        }
        let Some(row) = rows.iter().find(|row| {
            row.sop_instance_uid == r.document_unique_id
                && row.study_instance_uid == r.study_instance_uid
                && row.series_instance_uid == r.series_instance_uid
        }) else {
            errors.push(error(
                "XDSDocumentUniqueIdError",
                context,
                "no such instance in this study and series is held here".into(),
            ));
            continue;
        };
        if withdrawn_list.contains(&row.sop_instance_uid) {
            errors.push(error(
                "XDSDocumentUniqueIdError",
                context,
                "the instance was withdrawn: no current (Approved) manifest references it".into(),
            ));
            continue;
        }
        let cx = access::patient_cx(&row.patient_id, &row.issuer_of_patient_id);
        if let Err(d) = access::authorize(
            requester,
            &Subject {
                patient_id: &cx,
                study_instance_uid: &row.study_instance_uid,
            },
        )
        .await
        {
            errors.push(error("XDSRepositoryError", context, d.to_string()));
            continue;
        }
        let b = blobs.clone();
        let key = row.blob_sha256.clone();
        let stored_ts = row.transfer_syntax_uid.clone();
        let wanted = request.transfer_syntaxes.clone();
        let result = tokio::task::spawn_blocking(move || {
            let bytes = b
                .read(&key)
                .map_err(|e| format!("stored instance unreadable: {e}"))?;
            in_transfer_syntax(bytes, &stored_ts, &wanted)
        })
        .await
        .unwrap_or_else(|e| Err(format!("task failed: {e}")));
        match result {
            Ok(bytes) => {
                documents.push(ebxml::DocumentResponse {
                    home_community_id: r.home_community_id.clone(),
                    repository_unique_id: ours.clone(),
                    document_unique_id: row.sop_instance_uid.clone(),
                    new_repository_unique_id: None,
                    new_document_unique_id: None,
                    mime_type: "application/dicom".into(),
                    bytes,
                });
                returned.push(row.clone());
            }
            Err(m) => errors.push(error("urn:dicom:wado:0007", context, m)),
        }
    }
    let mut participants = common::participants(&returned);
    if returned.is_empty() {
        for r in &request.instances {
            participants.push(crate::audit::dicom::ParticipantObject::document(
                r.document_unique_id.clone(),
                Some(&r.repository_unique_id),
                r.home_community_id.as_deref(),
            ));
        }
    }
    answer(documents, errors, participants)
}

fn answer(
    documents: Vec<ebxml::DocumentResponse>,
    errors: Vec<RegistryError>,
    participants: Vec<crate::audit::dicom::ParticipantObject>,
) -> Answer {
    let (status, outcome) = match (documents.is_empty(), errors.is_empty()) {
        (_, true) => (ebxml::ResponseStatus::Success, Outcome::Success),
        (true, false) => (ebxml::ResponseStatus::Failure, Outcome::SeriousFailure),
        (false, false) => (
            ebxml::ResponseStatus::IhePartialSuccess,
            Outcome::MinorFailure,
        ),
    };
    let mut codes: Vec<String> = errors.iter().map(|e| e.error_code.clone()).collect();
    codes.sort();
    codes.dedup();
    let description = (!codes.is_empty()).then(|| codes.join(" "));
    let response = ebxml::RegistryResponse {
        status,
        request_id: None,
        response_slots: Vec::new(),
        errors: (!errors.is_empty()).then(|| RegistryErrorList::new(errors)),
    };
    let encoded = ebxml::RetrieveDocumentSetResponse {
        response,
        documents,
    }
    .to_xml(ebxml::EncodeOptions::MTOM);
    Answer {
        body_xml: encoded.xml,
        attachments: encoded.attachments,
        audit: AuditDetails {
            outcome,
            description,
            participant_objects: participants,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nist_request_decodes() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/fixtures/nist/xds-i/rad69-request-single-study.xml"
        );
        let Ok(bytes) = std::fs::read(path) else {
            panic!("fixture {path} missing");
        };
        let body = crate::xml::parse(&bytes, &crate::xml::Limits::default()).expect("xml");
        let r = decode(&body).expect("request");
        assert_eq!(r.instances.len(), 1);
        assert_eq!(
            r.instances[0].document_unique_id,
            "1.3.6.1.4.1.21367.201599.3.201606010958036.1"
        );
        assert_eq!(r.transfer_syntaxes, vec!["1.2.840.10008.1.2.1".to_owned()]);
    }

    #[test]
    fn transfer_syntax_not_available_is_explained() {
        let e = in_transfer_syntax(
            Bytes::from_static(b"x"),
            "1.2.840.10008.1.2.4.50",
            &["1.2.840.10008.1.2.4.90".to_owned()],
        )
        .expect_err("no");
        assert!(e.contains("none of the requested"), "{e}");
    }
}
