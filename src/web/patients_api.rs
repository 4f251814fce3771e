//! The MPI administration JSON API (`/api/patients/...`, `mpi::admin`), documented in
//! `docs/openapi.json`. Every request writes an audit event before it is answered: reads as
//! Query (110112), changes as Patient Record (110110, Update) naming the patients concerned.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{AppState, ConnInfo};
use crate::audit::dicom::ParticipantObject;
use crate::audit::{self, AuditEvent, Code, Outcome, Transport};
use crate::mpi::admin::{self, AdminError};
use crate::mpi::{PatientIdentifier, Settings};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/patients", web::get().to(list))
        .route("/api/patients/review", web::get().to(review_queue))
        .route("/api/patients/review/{id}", web::post().to(decide))
        .route("/api/patients/link", web::post().to(link))
        .route("/api/patients/unlink", web::post().to(unlink))
        .route("/api/patients/merge", web::post().to(merge))
        .route("/api/patients/{enterprise_id}", web::get().to(get));
}

fn problem(status: StatusCode, message: impl std::fmt::Display) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "error": message.to_string() }))
}

/// What one request did, for its audit event.
struct Audited {
    change: bool,
    code: &'static str,
    display: &'static str,
    patients: Vec<String>,
}

/// Records the audit event, then builds the answer (or 503 when the audit failed).
async fn answer(
    req: &HttpRequest,
    state: &AppState,
    a: Audited,
    result: Result<serde_json::Value, AdminError>,
) -> HttpResponse {
    let (outcome, description) = match &result {
        Ok(_) => (Outcome::Success, None),
        Err(AdminError::Store(_)) => (Outcome::MajorFailure, Some("internal error".to_owned())),
        Err(e) => (Outcome::SeriousFailure, Some(e.to_string())),
    };
    let conn = req.conn_data::<ConnInfo>().cloned();
    let (event_id, action) = if a.change {
        (audit::event_id::patient_record(), audit::Action::Update)
    } else {
        (audit::event_id::query(), audit::Action::Execute)
    };
    let transport = if conn.as_ref().is_some_and(|c| c.tls) {
        Transport::Https
    } else {
        Transport::Http
    };
    let mut event = AuditEvent::new(event_id, action, outcome, transport);
    event.event_type = Some(Code {
        code: a.code.into(),
        system: "99HIEHUB".into(),
        display: a.display.into(),
    });
    event.outcome_description = description;
    let identity = conn.as_ref().and_then(|c| c.identity.clone());
    event.requestor = identity.as_ref().map(|i| i.subject.clone());
    event.requestor_fingerprint = identity.as_ref().and_then(|i| i.fingerprint_bytes());
    event.remote_addr = req.peer_addr().map(|a| a.to_string());
    event.destination = Some(req.path().to_owned());
    event.participant_objects = a
        .patients
        .into_iter()
        .map(ParticipantObject::patient)
        .collect();
    if let Err(e) = state.sink.record(event).await {
        tracing::error!(error = %e, "patients API: audit event not committed");
        return problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "the audit trail could not record this request, so it was not answered; try again later",
        );
    }
    match result {
        Ok(v) => HttpResponse::Ok().json(v),
        Err(AdminError::NotFound(m)) => problem(StatusCode::NOT_FOUND, m),
        Err(AdminError::Invalid(m)) => problem(StatusCode::UNPROCESSABLE_ENTITY, m),
        Err(AdminError::Store(e)) => {
            tracing::error!(error = %e, "patients API");
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error (see the server log)",
            )
        }
    }
}

fn settings(state: &AppState) -> Settings {
    Settings::from_config(&state.config)
}

async fn run<T: serde::Serialize + Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut diesel::PgConnection, &Settings) -> Result<T, AdminError> + Send + 'static,
) -> Result<serde_json::Value, AdminError> {
    let s = settings(state);
    let r = state
        .db
        .run(move |conn| Ok(f(conn, &s)))
        .await
        .map_err(AdminError::Store)?;
    let v = r?;
    serde_json::to_value(v).map_err(|e| AdminError::Invalid(e.to_string()))
}

#[derive(Deserialize)]
struct ListQuery {
    family: Option<String>,
    birth_date: Option<String>,
    after: Option<i64>,
    limit: Option<i64>,
}

async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> HttpResponse {
    let f = admin::ListFilter {
        family: q.family.clone(),
        birth_date: q.birth_date.clone(),
        after: q.after,
        limit: q.limit.unwrap_or(100),
    };
    let result = run(&state, move |c, s| admin::list(c, s, &f)).await;
    let a = Audited {
        change: false,
        code: "MPI-LIST",
        display: "MPI person list",
        patients: Vec::new(),
    };
    answer(&req, &state, a, result).await
}

async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> HttpResponse {
    let id = path.into_inner();
    let eid = id.clone();
    let result = run(&state, move |c, s| admin::get(c, s, &eid)).await;
    let a = Audited {
        change: false,
        code: "MPI-READ",
        display: "MPI person read",
        patients: vec![PatientIdentifier::new(settings(&state).enterprise_root, id).cx()],
    };
    answer(&req, &state, a, result).await
}

#[derive(Deserialize)]
struct Id {
    root: String,
    extension: String,
}

impl Id {
    fn id(&self) -> PatientIdentifier {
        PatientIdentifier::new(self.root.clone(), self.extension.clone())
    }
}

#[derive(Deserialize)]
struct LinkBody {
    record: Id,
    enterprise_id: String,
}

async fn link(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<LinkBody>,
) -> HttpResponse {
    let record = body.record.id();
    let eid = body.enterprise_id.clone();
    let patients = vec![
        record.cx(),
        PatientIdentifier::new(settings(&state).enterprise_root, eid.clone()).cx(),
    ];
    let result = run(&state, move |c, s| admin::link(c, s, &record, &eid)).await;
    let a = Audited {
        change: true,
        code: "MPI-LINK",
        display: "MPI manual link",
        patients,
    };
    answer(&req, &state, a, result).await
}

#[derive(Deserialize)]
struct UnlinkBody {
    record: Id,
}

async fn unlink(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<UnlinkBody>,
) -> HttpResponse {
    let record = body.record.id();
    let patients = vec![record.cx()];
    let result = run(&state, move |c, s| admin::unlink(c, s, &record)).await;
    let a = Audited {
        change: true,
        code: "MPI-UNLINK",
        display: "MPI manual unlink",
        patients,
    };
    answer(&req, &state, a, result).await
}

#[derive(Deserialize)]
struct MergeBody {
    survivor: Id,
    obsolete: Id,
}

async fn merge(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<MergeBody>,
) -> HttpResponse {
    let survivor = body.survivor.id();
    let obsolete = body.obsolete.id();
    let patients = vec![survivor.cx(), obsolete.cx()];
    let result = run(&state, move |c, s| {
        let (person, moved) = admin::merge(c, s, &survivor, &obsolete)?;
        Ok(serde_json::json!({ "person": person, "documents_moved": moved }))
    })
    .await;
    let a = Audited {
        change: true,
        code: "MPI-MERGE",
        display: "MPI manual merge",
        patients,
    };
    answer(&req, &state, a, result).await
}

#[derive(Deserialize)]
struct ReviewQuery {
    limit: Option<i64>,
}

async fn review_queue(
    req: HttpRequest,
    state: web::Data<AppState>,
    q: web::Query<ReviewQuery>,
) -> HttpResponse {
    let limit = q.limit.unwrap_or(100);
    let result = run(&state, move |c, _| admin::review_queue(c, limit)).await;
    let a = Audited {
        change: false,
        code: "MPI-REVIEW",
        display: "MPI review queue",
        patients: Vec::new(),
    };
    answer(&req, &state, a, result).await
}

#[derive(Deserialize)]
struct Decision {
    /// `link` or `dismiss`.
    decision: String,
}

async fn decide(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Json<Decision>,
) -> HttpResponse {
    let id = path.into_inner();
    let link_it = match body.decision.as_str() {
        "link" => Ok(true),
        "dismiss" => Ok(false),
        other => Err(AdminError::Invalid(format!(
            "decision must be \"link\" or \"dismiss\", not \"{other}\""
        ))),
    };
    let result = match link_it {
        Ok(l) => run(&state, move |c, s| admin::decide(c, s, id, l)).await,
        Err(e) => Err(e),
    };
    let patients = match &result {
        Ok(v) => v["record_extension"]
            .as_str()
            .zip(v["record_root"].as_str())
            .map(|(e, r)| vec![PatientIdentifier::new(r, e).cx()])
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let a = Audited {
        change: true,
        code: "MPI-REVIEW-DECIDE",
        display: "MPI review decision",
        patients,
    };
    answer(&req, &state, a, result).await
}
