//! ITI-43 Retrieve Document Set (ITI TF-2b §3.43): a Document Consumer fetches documents from
//! this repository by repositoryUniqueId and document uniqueId, several per request. Request:
//! `xdsb:RetrieveDocumentSetRequest`; response: `xdsb:RetrieveDocumentSetResponse`, always MTOM,
//! each document an attachment.
//!
//! Status (§3.43.4.2.3): Success when every document is returned, PartialSuccess
//! (`urn:ihe:iti:2007:ResponseStatusType:PartialSuccess`) when some are, Failure when none is.
//! A foreign repositoryUniqueId gets `XDSUnknownRepositoryId`, an unknown document
//! `XDSDocumentUniqueIdError`.
//!
//! Memory: a document of 64 KiB or more is memory-mapped from the blob store
//! (`BlobStore::read`), handed to the MTOM encoder as `Bytes` that own the mapping, and written
//! to the socket from there: its pages are the kernel's page cache, so a 100 MB document is never
//! copied into the heap, let alone twice. The encoder does not scan attachments for its boundary
//! (a fresh random UUID), and the body goes out with a Content-Length.

use std::collections::HashMap;

use super::error_code::ErrorCode;
use super::problem::{Problem, Severity};
use super::registry::{self, RepositoryDocument};
use super::repository;
use super::service::{Answer, AuditDetails, Context, internal_error};
use super::to_ebxml;
use crate::audit::Outcome;
use crate::audit::dicom::ParticipantObject;
use crate::ebxml::{self, WireMessage};
use crate::xml::Element;

pub const ACTION: &str = "urn:ihe:iti:2007:RetrieveDocumentSet";
pub const RESPONSE_ACTION: &str = "urn:ihe:iti:2007:RetrieveDocumentSetResponse";

/// What is looked up for one `xdsb:DocumentRequest`.
enum Found {
    Document(ebxml::DocumentResponse),
    Problem(Problem),
}

fn request_context(r: &ebxml::DocumentRequest) -> String {
    format!(
        "DocumentRequest (repositoryUniqueId {}, documentUniqueId {})",
        r.repository_unique_id, r.document_unique_id
    )
}

/// Handles the SOAP body `body` of one ITI-43 request.
pub async fn handle(ctx: &Context, body: &Element) -> Answer {
    let request = match ebxml::RetrieveDocumentSetRequest::decode(body) {
        Ok(r) => r,
        Err(e) => {
            let p = Problem {
                code: ErrorCode::XDSRepositoryError,
                severity: Severity::Error,
                rule: "Message.schema.valid",
                context: e.path().to_string(),
                message: format!(
                    "the message does not follow the XDS.b RetrieveDocumentSetRequest schema: {e}"
                ),
            };
            return answer(vec![Found::Problem(p)], Vec::new());
        }
    };
    let objects: Vec<ParticipantObject> = request
        .requests
        .iter()
        .map(|r| {
            ParticipantObject::document(
                r.document_unique_id.clone(),
                Some(&r.repository_unique_id),
                r.home_community_id.as_deref(),
            )
        })
        .collect();
    let ours = repository::repository_unique_id().as_str().to_owned();
    let wanted: Vec<String> = request
        .requests
        .iter()
        .filter(|r| r.repository_unique_id == ours)
        .map(|r| r.document_unique_id.clone())
        .collect();
    // Patient consent (issue 6): a document the requester may not see is answered as unknown.
    let wanted = ctx.consent.retrievable(&ctx.db, wanted).await;
    let blobs = ctx.blobs.clone();
    let looked_up = ctx
        .db
        .run(move |conn| {
            let rows = registry::repository_documents(conn, &wanted)?;
            let mut out: HashMap<String, (RepositoryDocument, std::io::Result<bytes::Bytes>)> =
                HashMap::new();
            for row in rows {
                let bytes = blobs.read(&row.blob_sha256);
                out.insert(row.document_unique_id.clone(), (row, bytes));
            }
            Ok(out)
        })
        .await;
    let mut found = match looked_up {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(error = %e, "ITI-43 lookup failed");
            let p = internal_error(ErrorCode::XDSRepositoryError, "RetrieveDocumentSetRequest");
            return answer(vec![Found::Problem(p)], objects);
        }
    };
    let mut results = Vec::new();
    for r in &request.requests {
        let ctx_text = request_context(r);
        if r.repository_unique_id != ours {
            results.push(Found::Problem(Problem {
                code: ErrorCode::XDSUnknownRepositoryId,
                severity: Severity::Error,
                rule: "RetrieveDocumentSet.repositoryUniqueId.known",
                context: ctx_text,
                message: format!(
                    "repositoryUniqueId {} is not this repository ({ours})",
                    r.repository_unique_id
                ),
            }));
            continue;
        }
        match found.remove(&r.document_unique_id) {
            Some((row, Ok(bytes))) => results.push(Found::Document(ebxml::DocumentResponse {
                home_community_id: r.home_community_id.clone(),
                repository_unique_id: ours.clone(),
                document_unique_id: row.document_unique_id,
                new_repository_unique_id: None,
                new_document_unique_id: None,
                mime_type: row.mime_type,
                bytes,
            })),
            Some((row, Err(e))) => {
                tracing::error!(error = %e, blob = %row.blob_sha256, document = %row.document_unique_id, "blob unreadable");
                results.push(Found::Problem(internal_error(
                    ErrorCode::XDSRepositoryError,
                    &ctx_text,
                )));
            }
            None => results.push(Found::Problem(Problem {
                code: ErrorCode::XDSDocumentUniqueIdError,
                severity: Severity::Error,
                rule: "RetrieveDocumentSet.documentUniqueId.known",
                context: ctx_text,
                message: format!(
                    "document {} is not in this repository",
                    r.document_unique_id
                ),
            })),
        }
    }
    answer(results, objects)
}

fn answer(results: Vec<Found>, objects: Vec<ParticipantObject>) -> Answer {
    let mut documents = Vec::new();
    let mut problems = Vec::new();
    for r in results {
        match r {
            Found::Document(d) => documents.push(d),
            Found::Problem(p) => problems.push(p),
        }
    }
    let (status, outcome) = match (documents.is_empty(), problems.is_empty()) {
        (_, true) => (ebxml::ResponseStatus::Success, Outcome::Success),
        (true, false) => (ebxml::ResponseStatus::Failure, Outcome::SeriousFailure),
        (false, false) => (
            ebxml::ResponseStatus::IhePartialSuccess,
            Outcome::MinorFailure,
        ),
    };
    let mut codes: Vec<&str> = problems.iter().map(|p| p.code.as_str()).collect();
    codes.sort_unstable();
    codes.dedup();
    let description = (!codes.is_empty()).then(|| codes.join(" "));
    let mut response = to_ebxml::registry_response(&problems);
    response.status = status;
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
            participant_objects: objects,
        },
    }
}
