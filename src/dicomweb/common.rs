//! What every imaging HTTP exchange shares: the requester, JSON errors, the access check and
//! the audit event committed before the answer.

use actix_web::http::StatusCode;
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};

use crate::audit::dicom::{CodedValue, ObjectDescription, ParticipantObject, SopClass};
use crate::audit::{self, AuditEvent, Code, Outcome, Transport};
use crate::imaging::access::{self, Requester, Subject};
use crate::imaging::audit_window;
use crate::imaging::index::InstanceRow;
use crate::web::{AppState, ConnInfo};
use crate::xds::repository::BlobStore;

/// An error answer: HTTP status, a stable code and a message naming the problem.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "NotFound", message)
    }
    pub fn internal(what: &str, e: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %e, "{what}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            format!("{what}; see the server log"),
        )
    }
    pub fn response(&self) -> HttpResponse {
        HttpResponse::build(self.status)
            .json(serde_json::json!({ "error": self.message, "code": self.code }))
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::internal("database error", e)
    }
}

impl From<crate::render::RenderError> for ApiError {
    fn from(e: crate::render::RenderError) -> Self {
        use crate::render::RenderError as R;
        let (status, code) = match &e {
            R::NoSuchFrame { .. } => (StatusCode::NOT_FOUND, "NoSuchFrame"),
            R::NoPixels => (StatusCode::NOT_FOUND, "NoPixelData"),
            R::Unsupported { .. } => (StatusCode::NOT_ACCEPTABLE, "UnsupportedTransferSyntax"),
            R::NotDicom(_) | R::Inconsistent(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "UndecodablePixelData")
            }
            R::Encode(_) => (StatusCode::INTERNAL_SERVER_ERROR, "EncodeFailed"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

/// The requester of an HTTP request: client-certificate identity (HTTPS) and peer address.
pub fn requester(req: &HttpRequest) -> Requester {
    let conn = req.conn_data::<ConnInfo>().cloned();
    Requester {
        node: conn.and_then(|c| c.identity),
        remote_addr: req.peer_addr().map(|a| a.to_string()),
        ae_title: None,
        consent: req
            .app_data::<actix_web::web::Data<AppState>>()
            .map(|s| s.consent.clone()),
        soap_headers: Vec::new(),
    }
}

/// The blob store of this server.
pub fn blobs(state: &AppState) -> BlobStore {
    BlobStore::new(&state.config.data_dir)
}

/// Checks access to the patients of `rows`; the first refusal is a 403. The decision is per
/// patient (`access::authorize`), so each patient is asked once however many studies and
/// instances of theirs the rows hold.
pub async fn authorize_rows(requester: &Requester, rows: &[InstanceRow]) -> Result<(), ApiError> {
    let mut seen: std::collections::HashSet<(&str, &str)> = std::collections::HashSet::new();
    for r in rows {
        if !seen.insert((r.patient_id.as_str(), r.issuer_of_patient_id.as_str())) {
            continue;
        }
        let cx = access::patient_cx(&r.patient_id, &r.issuer_of_patient_id);
        access::authorize(
            requester,
            &Subject {
                patient_id: &cx,
                study_instance_uid: &r.study_instance_uid,
            },
        )
        .await
        .map_err(|d| ApiError::new(StatusCode::FORBIDDEN, "AccessDenied", d.to_string()))?;
    }
    Ok(())
}

/// What kind of audit event an exchange writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// STOW-RS (RAD-108): DICOM Instances Transferred, Create.
    Store,
    /// QIDO-RS (RAD-129): Query.
    Query,
    /// WADO-RS (RAD-107), WADO-URI (RAD-55): DICOM Instances Transferred, Read.
    Retrieve,
    /// The viewer's own API: DICOM Instances Accessed, Read.
    ViewerAccess,
}

impl Kind {
    fn codes(self, transaction: &str) -> (Code, audit::Action, Code) {
        let tx = |code: &str, name: &str| Code::ihe_transaction(code, name);
        match self {
            Kind::Store => (
                Code::dcm("110104", "DICOM Instances Transferred"),
                audit::Action::Create,
                tx(transaction, "Store Instances over the Web"),
            ),
            Kind::Query => (
                audit::event_id::query(),
                audit::Action::Execute,
                tx(transaction, "Query"),
            ),
            Kind::Retrieve => (
                Code::dcm("110104", "DICOM Instances Transferred"),
                audit::Action::Read,
                tx(transaction, "Retrieve"),
            ),
            Kind::ViewerAccess => (
                Code::dcm("110103", "DICOM Instances Accessed"),
                audit::Action::Read,
                Code {
                    code: transaction.to_owned(),
                    system: "hiehub".into(),
                    display: "Viewer access".into(),
                },
            ),
        }
    }
}

/// The participant objects of the instances an exchange touched: each patient, each study
/// (with its SOP classes and instances).
pub fn participants(rows: &[InstanceRow]) -> Vec<ParticipantObject> {
    participants_of(rows.iter().map(|r| Touched {
        patient_cx: access::patient_cx(&r.patient_id, &r.issuer_of_patient_id),
        study_instance_uid: r.study_instance_uid.clone(),
        accession_number: r.accession_number.clone(),
        sop_class_uid: r.sop_class_uid.clone(),
        sop_instance_uid: r.sop_instance_uid.clone(),
    }))
}

/// One instance an exchange touched, for its audit event.
pub struct Touched {
    pub patient_cx: String,
    pub study_instance_uid: String,
    pub accession_number: String,
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
}

impl Touched {
    pub fn of(i: &crate::imaging::Instance) -> Touched {
        Touched {
            patient_cx: access::patient_cx(&i.patient_id, &i.issuer_of_patient_id),
            study_instance_uid: i.study_instance_uid.to_string(),
            accession_number: i.accession_number.clone(),
            sop_class_uid: i.sop_class_uid.to_string(),
            sop_instance_uid: i.sop_instance_uid.to_string(),
        }
    }
}

/// [`participants`] for instances that are not (or not yet) rows.
pub fn participants_of(items: impl Iterator<Item = Touched>) -> Vec<ParticipantObject> {
    let mut out: Vec<ParticipantObject> = Vec::new();
    let mut patients: Vec<String> = Vec::new();
    // (study UID, [(SOP class, [instances])], accession number)
    type Study = (String, Vec<(String, Vec<String>)>, String);
    let mut studies: Vec<Study> = Vec::new();
    for r in items {
        let cx = r.patient_cx.clone();
        if !patients.contains(&cx) {
            patients.push(cx);
        }
        let study = match studies.iter_mut().find(|s| s.0 == r.study_instance_uid) {
            Some(s) => s,
            None => {
                studies.push((
                    r.study_instance_uid.clone(),
                    Vec::new(),
                    r.accession_number.clone(),
                ));
                let Some(last) = studies.last_mut() else {
                    continue;
                };
                last
            }
        };
        match study.1.iter_mut().find(|c| c.0 == r.sop_class_uid) {
            Some(c) => c.1.push(r.sop_instance_uid.clone()),
            None => study
                .1
                .push((r.sop_class_uid.clone(), vec![r.sop_instance_uid.clone()])),
        }
    }
    out.extend(patients.into_iter().map(ParticipantObject::patient));
    for (uid, classes, accession) in studies {
        let mut p = ParticipantObject::new(CodedValue::dcm("110180", "Study Instance UID"), uid);
        p.type_code = Some(2);
        p.type_code_role = Some(3);
        p.descriptions.push(ObjectDescription {
            accession_numbers: if accession.is_empty() {
                Vec::new()
            } else {
                vec![accession]
            },
            sop_classes: classes
                .into_iter()
                .map(|(c, instances)| SopClass {
                    uid: Some(c),
                    number_of_instances: instances.len() as u64,
                    // Listing every instance of a 300-slice series would bloat the ledger.
                    instances: if instances.len() <= 16 {
                        instances
                    } else {
                        Vec::new()
                    },
                })
                .collect(),
            ..ObjectDescription::default()
        });
        out.push(p);
    }
    out
}

/// The facts of one exchange for its audit event.
pub struct AuditSpec {
    pub kind: Kind,
    /// IHE transaction code (`RAD-107`...) or the viewer route name.
    pub transaction: &'static str,
    pub participants: Vec<ParticipantObject>,
    /// The query (QIDO-RS: the query string), recorded as a ParticipantObjectQuery.
    pub query: Option<String>,
    /// The outcome when the answer is a (partial) failure in its body, e.g. STOW-RS 202/409.
    pub verdict: Option<(Outcome, String)>,
}

/// The audit event of an exchange from its facts and result.
fn event_of(
    req: &HttpRequest,
    spec: AuditSpec,
    result: &Result<HttpResponse, ApiError>,
) -> AuditEvent {
    let (outcome, description) = match result {
        Ok(_) => match spec.verdict {
            Some((o, d)) => (o, Some(d)),
            None => (Outcome::Success, None),
        },
        Err(e) if e.status.is_server_error() => (Outcome::MajorFailure, Some(e.message.clone())),
        Err(e) => (Outcome::SeriousFailure, Some(e.message.clone())),
    };
    let (event_id, action, event_type) = spec.kind.codes(spec.transaction);
    let conn = req.conn_data::<ConnInfo>().cloned();
    let identity = conn.as_ref().and_then(|c| c.identity.clone());
    let transport = if conn.as_ref().is_some_and(|c| c.tls) {
        Transport::Https
    } else {
        Transport::Http
    };
    let mut event = AuditEvent::new(event_id, action, outcome, transport);
    event.event_type = Some(event_type);
    event.outcome_description = description;
    event.requestor = identity.as_ref().map(|i| i.subject.clone());
    event.requestor_fingerprint = identity.as_ref().and_then(|i| i.fingerprint_bytes());
    event.remote_addr = req.peer_addr().map(|a| a.to_string());
    event.destination = Some(req.path().to_owned());
    event.participant_objects = spec.participants;
    if let Some(q) = spec.query {
        event.participant_objects.push(ParticipantObject::query(
            CodedValue::ihe_transaction(spec.transaction, "Query"),
            spec.transaction,
            q.into_bytes(),
        ));
    }
    event
}

fn audit_unavailable() -> HttpResponse {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "AuditUnavailable",
        "the audit trail could not record this access, so it was not completed; try again later",
    )
    .response()
}

/// Records the audit event of the exchange, then answers: `result` when the event is durable,
/// 503 otherwise. A refusal or error is audited with its failure outcome.
pub async fn finish(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    spec: AuditSpec,
    result: Result<HttpResponse, ApiError>,
) -> HttpResponse {
    let event = event_of(req, spec, &result);
    if let Err(e) = state.sink.record(event).await {
        tracing::error!(error = %e, "audit event not committed; refusing to answer");
        return audit_unavailable();
    }
    match result {
        Ok(r) => r,
        Err(e) => e.response(),
    }
}

/// The coalescing keys of an image read: requester × (patient, study) of `rows` × transaction.
/// The requester is the client-certificate fingerprint, else the peer IP (without the port).
pub fn read_keys(
    req: &HttpRequest,
    transaction: &str,
    rows: &[InstanceRow],
) -> Vec<audit_window::Key> {
    let conn = req.conn_data::<ConnInfo>().cloned();
    let requester = match conn
        .as_ref()
        .and_then(|c| c.identity.as_ref())
        .and_then(|i| i.fingerprint_bytes())
    {
        Some(fp) => format!("cert:{}", hex::encode(fp)),
        None => match req.peer_addr() {
            Some(a) => format!("ip:{}", a.ip()),
            None => return Vec::new(),
        },
    };
    let mut keys: Vec<audit_window::Key> = Vec::new();
    for r in rows {
        let k = audit_window::Key {
            requester: requester.clone(),
            patient: access::patient_cx(&r.patient_id, &r.issuer_of_patient_id),
            study: r.study_instance_uid.clone(),
            transaction: transaction.to_owned(),
        };
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys
}

/// [`finish`] for an image read (frame, rendered image, thumbnail, viewer pixels) of `rows`:
/// a successful read inside the audit window of the same requester, patient, study and
/// transaction is answered without a new event (it is counted, and summarised when the window
/// ends); otherwise the event is made durable first and opens the window. Refusals and errors
/// are audited one by one. See `imaging::audit_window`.
pub async fn finish_image_read(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    spec: AuditSpec,
    rows: &[InstanceRow],
    result: Result<HttpResponse, ApiError>,
) -> HttpResponse {
    let secs = state.config.imaging_audit_window_secs;
    if secs == 0 || result.is_err() || spec.verdict.is_some() || rows.is_empty() {
        return finish(state, req, spec, result).await;
    }
    let keys = read_keys(req, spec.transaction, rows);
    let windows = audit_window::global(&state.sink);
    if windows.cover(&keys, Instant::now()) {
        metrics::counter!("hiehub_imaging_reads_coalesced_total").increment(1);
        return match result {
            Ok(r) => r,
            Err(e) => e.response(),
        };
    }
    let event = event_of(req, spec, &result);
    if let Err(e) = state.sink.record(event.clone()).await {
        tracing::error!(error = %e, "audit event not committed; refusing to answer");
        return audit_unavailable();
    }
    let due = windows.open(
        &keys,
        &event,
        Instant::now(),
        Duration::from_secs(u64::from(secs)),
    );
    audit_window::write_summaries(&state.sink, due);
    match result {
        Ok(r) => r,
        Err(e) => e.response(),
    }
}
