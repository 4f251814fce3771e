//! One SOAP request, from bytes to response:
//! body (size-limited, streamed) → MTOM/XOP or plain → safe XML → envelope + WS-Addressing →
//! transaction table → handler → audit event committed → response.
//!
//! Invariant: a response (success or fault) is built only from an [`audit::Receipt`]; when the
//! audit event cannot be committed the client gets a Receiver fault, never a success.

use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

use super::{AppState, ConnInfo};
use crate::audit::dicom::ParticipantObject;
use crate::audit::{self, AuditEvent, Code, Outcome, Receipt, Transport};
use crate::diagnostics;
use crate::soap::fault::{Fault, Subcode};
use crate::soap::mtom::{self, OutgoingPart};
use crate::soap::{self, Addressing, envelope};
use crate::transaction::{self, Endpoint, Transaction};
use crate::xds;
use crate::xml::{self, XmlError};

/// What a transaction handler hands back on success.
pub struct Reply {
    pub response_action: &'static str,
    pub body_xml: String,
    pub attachments: Vec<OutgoingPart>,
    pub mtom: bool,
    pub audit: ReplyAudit,
}

/// What a handler adds to the audit event of its request.
#[derive(Default)]
pub struct ReplyAudit {
    /// The outcome when the answer reports a failure in its body (an XDS `RegistryResponse`
    /// with status Failure or PartialSuccess); `None` is Success.
    pub outcome: Option<(Outcome, Option<String>)>,
    /// Patient, submission set, documents, ... (ParticipantObjectIdentification).
    pub participant_objects: Vec<ParticipantObject>,
}

impl From<xds::service::AuditDetails> for ReplyAudit {
    fn from(a: xds::service::AuditDetails) -> Self {
        ReplyAudit {
            outcome: (a.outcome != Outcome::Success).then_some((a.outcome, a.description)),
            participant_objects: a.participant_objects,
        }
    }
}

impl From<crate::mpi::Answer> for ReplyAudit {
    fn from(a: crate::mpi::Answer) -> Self {
        ReplyAudit {
            outcome: (a.outcome != Outcome::Success).then_some((a.outcome, a.description)),
            participant_objects: a.participant_objects,
        }
    }
}

/// The MPI's handles for one request.
fn mpi_context(state: &AppState) -> crate::mpi::Context {
    crate::mpi::Context {
        db: state.db.clone(),
        domain: state.domain.clone(),
        settings: std::sync::Arc::new(crate::mpi::Settings::from_config(&state.config)),
        consent: None,
    }
}

/// The MPI context of a PDQ request: with the consent gate when `consent_pdq_filter` is on.
fn pdq_context(
    req: &HttpRequest,
    state: &AppState,
    headers: &[xml::Element],
) -> crate::mpi::Context {
    let mut ctx = mpi_context(state);
    if state.config.consent_pdq_filter {
        ctx.consent = Some(consent_gate(req, state, headers));
    }
    ctx
}

/// HL7v3 answers content errors with acknowledgements (AE/AR), not faults: the reply is always
/// a success envelope; the audit outcome says what happened.
fn mpi_reply(row: &transaction::Row, mut answer: crate::mpi::Answer) -> Reply {
    Reply {
        response_action: row.response_action,
        body_xml: std::mem::take(&mut answer.body_xml),
        attachments: Vec::new(),
        mtom: row.mtom_response,
        audit: answer.into(),
    }
}

fn xds_reply(row: &transaction::Row, answer: xds::service::Answer) -> Reply {
    Reply {
        response_action: row.response_action,
        body_xml: answer.body_xml,
        attachments: answer.attachments,
        mtom: row.mtom_response,
        audit: answer.audit.into(),
    }
}

/// What went wrong, with the HTTP status it maps to (413/415 for transport-level problems).
struct Failure {
    fault: Fault,
    status: Option<StatusCode>,
}

impl From<Fault> for Failure {
    fn from(fault: Fault) -> Self {
        Failure {
            fault,
            status: None,
        }
    }
}

/// The audit facts gathered while handling one request.
struct Facts {
    addressing: Addressing,
    audit: (Code, audit::Action, Code),
    transaction: &'static str,
}

pub async fn handle(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    endpoint: web::Data<Endpoint>,
) -> HttpResponse {
    let started = Instant::now();
    let endpoint = **endpoint;
    let conn = req.conn_data::<ConnInfo>().cloned();
    let identity = conn.as_ref().and_then(|c| c.identity.clone());
    let node = identity.as_ref().map(|i| i.subject.clone());
    let mut facts = Facts {
        addressing: Addressing::default(),
        audit: rejected_message_audit(),
        transaction: "unknown",
    };
    let mut result = process(&req, payload, &state, endpoint, &mut facts).await;

    let (outcome, description) = match &result {
        Ok(reply) => reply
            .audit
            .outcome
            .clone()
            .unwrap_or((Outcome::Success, None)),
        Err(f) if f.fault.http_status() >= 500 => {
            (Outcome::MajorFailure, Some(f.fault.reason.clone()))
        }
        Err(f) => (Outcome::SeriousFailure, Some(f.fault.reason.clone())),
    };
    let (event_id, action, event_type) = match &result {
        Err(f) if f.fault.security => (
            audit::event_id::security_alert(),
            audit::Action::Execute,
            facts.audit.2.clone(),
        ),
        _ => facts.audit.clone(),
    };
    let transport = if conn.as_ref().is_some_and(|c| c.tls) {
        Transport::Https
    } else {
        Transport::Http
    };
    let mut event = AuditEvent::new(event_id, action, outcome, transport);
    event.event_type = Some(event_type);
    event.outcome_description = description;
    event.requestor = node;
    event.requestor_fingerprint = identity.as_ref().and_then(|i| i.fingerprint_bytes());
    event.remote_addr = req.peer_addr().map(|a| a.to_string());
    event.message_id = facts.addressing.message_id.clone();
    event.destination = Some(endpoint.path().to_owned());
    if let Ok(reply) = &mut result {
        event.participant_objects = std::mem::take(&mut reply.audit.participant_objects);
    }

    let receipt = match state.sink.record(event).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "audit event not committed; refusing to answer with success");
            let fault = Fault::receiver(
                Subcode::hiehub("AuditUnavailable"),
                "the audit trail could not record this transaction, so it was not completed; try again later",
            );
            return finish(
                fault_response(&fault, None, facts.addressing.message_id.as_deref()),
                facts.transaction,
                "audit_failure",
                started,
            );
        }
    };
    match result {
        Ok(reply) => finish(
            reply_response(reply, receipt, facts.addressing.message_id.as_deref()),
            facts.transaction,
            "ok",
            started,
        ),
        Err(f) => {
            tracing::info!(fault = %f.fault.reason, transaction = facts.transaction, "request refused");
            finish(
                fault_response(&f.fault, f.status, facts.addressing.message_id.as_deref()),
                facts.transaction,
                "fault",
                started,
            )
        }
    }
}

fn finish(
    resp: HttpResponse,
    transaction: &'static str,
    outcome: &'static str,
    started: Instant,
) -> HttpResponse {
    metrics::counter!("hiehub_requests_total", "transaction" => transaction, "outcome" => outcome)
        .increment(1);
    metrics::histogram!("hiehub_request_duration_seconds", "transaction" => transaction)
        .record(started.elapsed());
    resp
}

fn rejected_message_audit() -> (Code, audit::Action, Code) {
    (
        audit::event_id::application_activity(),
        audit::Action::Execute,
        Code {
            code: "RejectedMessage".into(),
            system: "hiehub".into(),
            display: "SOAP message refused before dispatch".into(),
        },
    )
}

async fn process(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    endpoint: Endpoint,
    facts: &mut Facts,
) -> Result<Reply, Failure> {
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let (root, http_action, mtom_parts, raw) =
        read_message(req, payload, state, &content_type).await?;

    let understood: &[&str] = if state.xua.is_some() {
        &[crate::xua::WSSE_NS]
    } else {
        &[]
    };
    let mut env =
        soap::parse_envelope_with(root, http_action.as_deref(), understood).map_err(|e| {
            facts.addressing = *e.addressing;
            Failure::from(e.fault)
        })?;
    facts.addressing = env.addressing.clone();
    if let Some(trust) = &state.xua {
        let verified = xua_check(&raw, &env.other_headers, trust)?;
        req.extensions_mut().insert(verified);
    }
    match &mtom_parts {
        Some(parts) => {
            envelope::resolve_xop(&mut env.body, parts)?;
        }
        None => envelope::forbid_xop(&mut env.body)?,
    }
    let action = env.addressing.action.clone().unwrap_or_default();
    let Some(row) = transaction::lookup(endpoint, &action) else {
        return Err(Fault::action_not_supported(&action, endpoint.path()).into());
    };
    facts.audit = (row.audit)();
    facts.transaction = row.action;

    // Closed dispatch: no catch-all arm, so each transaction is wired explicitly.
    match row.transaction {
        Transaction::Echo => {
            let request = diagnostics::EchoRequest::from_xml(&env.body)?;
            let response = diagnostics::echo(request);
            Ok(Reply {
                response_action: row.response_action,
                body_xml: response.to_xml(),
                attachments: Vec::new(),
                mtom: row.mtom_response,
                audit: ReplyAudit::default(),
            })
        }
        Transaction::RegistryStoredQuery => {
            let ctx = xds::service::Context::new(
                state.db.clone(),
                &state.config.data_dir,
                state.domain.clone(),
            )
            .with_consent(consent_gate(req, state, &env.other_headers));
            let max = xds::iti18::max_results(&state.config);
            Ok(xds_reply(
                row,
                xds::iti18::handle(&ctx, &env.body, max).await,
            ))
        }
        Transaction::ProvideAndRegisterDocumentSetB => {
            let ctx = xds::service::Context::new(
                state.db.clone(),
                &state.config.data_dir,
                state.domain.clone(),
            )
            .with_consent(consent_gate(req, state, &env.other_headers));
            Ok(xds_reply(row, xds::iti41::handle(&ctx, &env.body).await))
        }
        Transaction::RegisterDocumentSetB => {
            let ctx = xds::service::Context::new(
                state.db.clone(),
                &state.config.data_dir,
                state.domain.clone(),
            )
            .with_consent(consent_gate(req, state, &env.other_headers));
            Ok(xds_reply(row, xds::iti42::handle(&ctx, &env.body).await))
        }
        Transaction::RetrieveDocumentSet => {
            let ctx = xds::service::Context::new(
                state.db.clone(),
                &state.config.data_dir,
                state.domain.clone(),
            )
            .with_consent(consent_gate(req, state, &env.other_headers));
            Ok(xds_reply(row, xds::iti43::handle(&ctx, &env.body).await))
        }
        Transaction::UpdateDocumentSet => {
            let ctx = xds::service::Context::new(
                state.db.clone(),
                &state.config.data_dir,
                state.domain.clone(),
            )
            .with_consent(consent_gate(req, state, &env.other_headers));
            Ok(xds_reply(row, xds::iti57::handle(&ctx, &env.body).await))
        }
        Transaction::DeleteDocumentSet => {
            let ctx = xds::service::Context::new(
                state.db.clone(),
                &state.config.data_dir,
                state.domain.clone(),
            )
            .with_consent(consent_gate(req, state, &env.other_headers));
            Ok(xds_reply(row, xds::iti62::handle(&ctx, &env.body).await))
        }
        Transaction::PatientIdentityFeedAdd => {
            let msg = &env.body;
            let answer =
                crate::mpi::iti44::handle(&mpi_context(state), msg, "PRPA_IN201301UV02").await;
            Ok(mpi_reply(row, answer))
        }
        Transaction::PatientIdentityFeedRevise => {
            let msg = &env.body;
            let answer =
                crate::mpi::iti44::handle(&mpi_context(state), msg, "PRPA_IN201302UV02").await;
            Ok(mpi_reply(row, answer))
        }
        Transaction::PatientIdentityFeedMerge => {
            let msg = &env.body;
            let answer =
                crate::mpi::iti44::handle(&mpi_context(state), msg, "PRPA_IN201304UV02").await;
            Ok(mpi_reply(row, answer))
        }
        Transaction::PixQuery => {
            let msg = &env.body;
            let answer = crate::mpi::iti45::handle(&mpi_context(state), msg).await;
            Ok(mpi_reply(row, answer))
        }
        Transaction::PatientDemographicsQuery => {
            let msg = &env.body;
            let answer =
                crate::mpi::iti47::handle(&pdq_context(req, state, &env.other_headers), msg).await;
            Ok(mpi_reply(row, answer))
        }
        Transaction::PatientDemographicsQueryContinue => {
            let msg = &env.body;
            let answer =
                crate::mpi::iti47::handle_continuation(&mpi_context(state), msg, false).await;
            Ok(mpi_reply(row, answer))
        }
        Transaction::PatientDemographicsQueryCancel => {
            let msg = &env.body;
            let answer =
                crate::mpi::iti47::handle_continuation(&mpi_context(state), msg, true).await;
            Ok(mpi_reply(row, answer))
        }
        Transaction::RetrieveImagingDocumentSet => {
            let blobs = xds::repository::BlobStore::new(&state.config.data_dir);
            let mut requester = crate::dicomweb::common::requester(req);
            requester.soap_headers = env.other_headers.clone();
            let answer = crate::xdsi::rad69::handle(&state.db, &blobs, &requester, &env.body).await;
            Ok(xds_reply(row, answer))
        }
    }
}

/// The XUA assertions of this request, verified (`xua_trusted_certs` set): every
/// `wsse:Security` block's SAML assertion must verify, or the request is refused with a
/// WS-Security fault that is audited as a security alert.
fn xua_check(
    raw: &[u8],
    headers: &[xml::Element],
    trust: &crate::xua::Trust,
) -> Result<XuaVerified, Failure> {
    let mut verified = XuaVerified::default();
    let text = std::str::from_utf8(raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw))
        .map_err(|_| Fault::sender(Subcode::wsse("InvalidSecurity"), "the message is not UTF-8"))?;
    for h in headers
        .iter()
        .filter(|h| h.is(crate::xua::WSSE_NS, "Security"))
    {
        let Some(a) = crate::xua::assertion_of(h) else {
            continue;
        };
        match crate::xua::verify(text, a, trust, chrono::Utc::now()) {
            Ok(v) => verified.0.push(v),
            Err(e) => {
                let (local, reason) = match e {
                    crate::xua::XuaError::Invalid(r) => ("InvalidSecurity", r),
                    crate::xua::XuaError::FailedCheck(r) => ("FailedCheck", r),
                };
                let mut fault = Fault::sender(
                    Subcode::wsse(local),
                    format!("XUA assertion refused: {reason}"),
                );
                fault.security = true;
                return Err(Failure::from(fault));
            }
        }
    }
    Ok(verified)
}

/// What [`xua_check`] verified, kept in the request's extensions for [`consent_gate`].
#[derive(Debug, Clone, Default)]
struct XuaVerified(Vec<crate::xua::Verified>);

/// The patient-consent gate of this request: the client certificate's node identity and the
/// XUA / break-the-glass header blocks (issue 6).
fn consent_gate(
    req: &HttpRequest,
    state: &AppState,
    headers: &[xml::Element],
) -> crate::consent::Gate {
    let conn = req.conn_data::<ConnInfo>();
    let identity = conn.and_then(|c| c.identity.as_ref());
    let verified = req
        .extensions()
        .get::<XuaVerified>()
        .and_then(|v| v.0.first().map(|v| v.signer.clone()));
    let requester = crate::consent::Requester::from_node(identity)
        .with_headers(headers)
        .with_xua_signer(verified);
    state.consent.gate(requester)
}

fn too_large(limit: u64, seen: u64) -> Failure {
    Failure {
        fault: Fault::sender(
            Subcode::hiehub("MessageTooLarge"),
            format!("the request body of {seen} bytes exceeds the limit of {limit} bytes"),
        ),
        status: Some(StatusCode::PAYLOAD_TOO_LARGE),
    }
}

/// Reads the body (as it streams in, within limits) and returns the root XML element, the
/// Content-Type action parameter, and the MIME parts when it was MTOM.
/// A request read: the SOAP envelope's root element, the HTTP `action` parameter, the MTOM parts,
/// and the envelope's bytes as sent (what XUA signatures are checked against).
type Message = (xml::Element, Option<String>, Option<mtom::Multipart>, Bytes);

async fn read_message(
    req: &HttpRequest,
    mut payload: web::Payload,
    state: &AppState,
    content_type: &str,
) -> Result<Message, Failure> {
    let limit = state.config.max_body_bytes;
    if let Some(declared) = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        && declared > limit
    {
        return Err(too_large(limit, declared));
    }
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let xml_limits = xml::Limits {
        max_bytes: usize::try_from(limit).unwrap_or(usize::MAX),
        ..state.xml_limits
    };
    let stream_err = |e: actix_web::error::PayloadError| {
        Failure::from(Fault::sender(
            Subcode::hiehub("BrokenBody"),
            format!("the request body could not be read: {e}"),
        ))
    };
    if media == "multipart/related" {
        let ct = mtom::parse_content_type(content_type).map_err(mtom_fault)?;
        let limits = mtom::Limits {
            max_total_bytes: usize::try_from(limit).unwrap_or(usize::MAX),
            ..mtom::Limits::default()
        };
        let mut decoder = mtom::Decoder::new(&ct, limits);
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(stream_err)?;
            decoder.push(&chunk).map_err(mtom_fault)?;
        }
        let parts = decoder.finish().map_err(mtom_fault)?;
        let action = ct.action.clone().or_else(|| {
            parts
                .root
                .content_type
                .as_deref()
                .and_then(|t| param(t, "action"))
        });
        let root = xml::parse(&parts.root.body, &xml_limits).map_err(xml_fault)?;
        let raw = parts.root.body.clone();
        return Ok((root, action, Some(parts), raw));
    }
    if media != "application/soap+xml" && media != "text/xml" {
        return Err(Failure {
            fault: Fault::sender(
                Subcode::hiehub("UnsupportedMediaType"),
                format!(
                    "Content-Type '{media}' is not accepted: send application/soap+xml (SOAP 1.2) or multipart/related (MTOM/XOP)"
                ),
            ),
            status: Some(StatusCode::UNSUPPORTED_MEDIA_TYPE),
        });
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk: Bytes = chunk.map_err(stream_err)?;
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(too_large(limit, (body.len() + chunk.len()) as u64));
        }
        body.extend_from_slice(&chunk);
    }
    let root = xml::parse(&body, &xml_limits).map_err(xml_fault)?;
    Ok((root, param(content_type, "action"), None, body.freeze()))
}

/// A parameter of a MIME header value (`name=value` or `name="value"`).
fn param(header: &str, name: &str) -> Option<String> {
    header.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

fn mtom_fault(e: mtom::MtomError) -> Failure {
    use mtom::MtomError as E;
    let (subcode, status) = match e {
        E::TooLarge { .. } => ("MessageTooLarge", Some(StatusCode::PAYLOAD_TOO_LARGE)),
        E::BadRootContentType { .. } | E::NotMultipartRelated { .. } => {
            ("WrongMimePart", Some(StatusCode::UNSUPPORTED_MEDIA_TYPE))
        }
        _ => ("InvalidMultipart", None),
    };
    Failure {
        fault: Fault::sender(Subcode::hiehub(subcode), format!("MTOM/XOP: {e}")),
        status,
    }
}

fn xml_fault(e: XmlError) -> Failure {
    let security = matches!(
        e,
        XmlError::Doctype { .. } | XmlError::UndeclaredEntity { .. }
    );
    let status = match e {
        XmlError::TooLarge { .. } => Some(StatusCode::PAYLOAD_TOO_LARGE),
        _ => None,
    };
    let fault = Fault::sender(Subcode::hiehub("MalformedXml"), e.to_string());
    Failure {
        fault: if security {
            fault.with_security()
        } else {
            fault
        },
        status,
    }
}

fn fault_response(
    fault: &Fault,
    status: Option<StatusCode>,
    relates_to: Option<&str>,
) -> HttpResponse {
    let status = status.unwrap_or_else(|| {
        StatusCode::from_u16(fault.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    });
    HttpResponse::build(status)
        .content_type("application/soap+xml; charset=utf-8")
        .body(fault.to_envelope(relates_to))
}

/// Builds the success response. Taking the [`Receipt`] makes "audit first" a type-level fact.
fn reply_response(reply: Reply, _receipt: Receipt, relates_to: Option<&str>) -> HttpResponse {
    let xml = soap::response_envelope(reply.response_action, relates_to, &reply.body_xml);
    if reply.mtom {
        let (content_type, chunks) = mtom::encode(
            Bytes::from(xml),
            Some(reply.response_action),
            &reply.attachments,
        );
        // Sized, so the body goes out with Content-Length rather than chunked framing.
        let len: u64 = chunks.iter().map(|c| c.len() as u64).sum();
        let body =
            futures_util::stream::iter(chunks.into_iter().map(Ok::<_, std::convert::Infallible>));
        HttpResponse::Ok()
            .content_type(content_type)
            .body(actix_web::body::SizedStream::new(len, body))
    } else {
        HttpResponse::Ok()
            .content_type(format!(
                "application/soap+xml; charset=utf-8; action=\"{}\"",
                reply.response_action
            ))
            .body(xml)
    }
}
