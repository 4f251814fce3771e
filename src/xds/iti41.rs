//! ITI-41 Provide and Register Document Set-b (ITI TF-2b §3.41): a Document Source sends
//! documents with their metadata; hiehub, repository and registry in one, stores the documents
//! (content-addressed blobs), sets hash, size and repositoryUniqueId, and registers the metadata
//! (the registration ITI-42 would carry, done in the same PostgreSQL transaction). Request:
//! `xdsb:ProvideAndRegisterDocumentSetRequest`, MTOM/XOP or inline base64; response:
//! `rs:RegistryResponse`.

use super::from_ebxml::{decode_failure, submission_from_provide_and_register};
use super::service::{Answer, Context, register, registry_answer};
use super::submission::SubmissionKind;
use crate::ebxml::{self, WireMessage};
use crate::xml::Element;

pub const ACTION: &str = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b";
pub const RESPONSE_ACTION: &str = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse";

/// Handles the SOAP body `body` (XOP already resolved) of one ITI-41 request.
pub async fn handle(ctx: &Context, body: &Element) -> Answer {
    let kind = SubmissionKind::ProvideAndRegister;
    let request = match ebxml::ProvideAndRegisterDocumentSetRequest::decode(body) {
        Ok(r) => r,
        Err(e) => return registry_answer(&[decode_failure(&e, kind)], Vec::new()),
    };
    let (submission, mut problems) = submission_from_provide_and_register(&request);
    // BPPC consents (issue 6): checked here, audited once stored.
    let consents = ctx
        .consent
        .recognise(submission.as_ref(), kind, &mut problems);
    let answer = register(ctx, kind, submission, problems).await;
    ctx.consent.recorded(consents, &answer).await;
    answer
}
