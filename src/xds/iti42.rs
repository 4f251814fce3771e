//! ITI-42 Register Document Set-b (ITI TF-2b §3.42): a Document Repository (another one than
//! hiehub's own) registers the metadata of documents it stores. Request: `lcm:SubmitObjectsRequest`
//! (hash, size and repositoryUniqueId required); response: `rs:RegistryResponse`.

use super::from_ebxml::{decode_failure, submission_from_register};
use super::service::{Answer, Context, register, registry_answer};
use super::submission::SubmissionKind;
use crate::ebxml::{self, WireMessage};
use crate::xml::Element;

pub const ACTION: &str = "urn:ihe:iti:2007:RegisterDocumentSet-b";
pub const RESPONSE_ACTION: &str = "urn:ihe:iti:2007:RegisterDocumentSet-bResponse";

/// Handles the SOAP body `body` of one ITI-42 request.
pub async fn handle(ctx: &Context, body: &Element) -> Answer {
    let kind = SubmissionKind::Register;
    let request = match ebxml::SubmitObjectsRequest::decode(body) {
        Ok(r) => r,
        Err(e) => return registry_answer(&[decode_failure(&e, kind)], Vec::new()),
    };
    let (submission, mut problems) = submission_from_register(&request);
    // BPPC consents (issue 6): registered without their document, so only the metadata is
    // checked; audited once stored.
    let consents = ctx
        .consent
        .recognise(submission.as_ref(), kind, &mut problems);
    let answer = register(ctx, kind, submission, problems).await;
    ctx.consent.recorded(consents, &answer).await;
    answer
}
