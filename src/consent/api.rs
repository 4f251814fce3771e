//! The privacy officer's view (issue 6, item 4), over JSON (documented in `docs/openapi.json`):
//!
//! - `GET /api/consents?patient=<CX>`: the patient's consents (every status: the history of
//!   registrations, replacements and deprecations), which one is in force now, the change
//!   history the registry's triggers kept, and the domain's default and policies;
//! - `GET /api/consents/decision?patient=<CX>&organisation=<O>[&class=..][&confidentiality=..]
//!   [&facility_type=..][&emergency=true][&at=<RFC 3339>]`: "may organisation X see class Y
//!   now?" — the decision and the policy and rule that decided it. Without `class` (and the
//!   other document facts) the question is about the patient as a whole. A what-if: nothing is
//!   audited as an access;
//! - `/consents/`: the page (plain HTML + one ES module, `default-src 'self'`) over both.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{DocumentFacts, Requester, engine};
use crate::web::AppState;
use crate::xds::PatientId;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/consents", web::get().to(consents))
        .route("/api/consents/decision", web::get().to(decision))
        .route("/consents/", web::get().to(page))
        .route("/consents/consents.js", web::get().to(script));
}

fn problem(status: actix_web::http::StatusCode, message: impl std::fmt::Display) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "error": message.to_string() }))
}

/// The patient parameter, checked and in the registry's form.
fn patient_key(raw: &str) -> Result<String, Box<HttpResponse>> {
    PatientId::parse(raw.trim())
        .map(|p| crate::xds::registry::patient_key(&p))
        .map_err(|e| {
            Box::new(problem(
                actix_web::http::StatusCode::BAD_REQUEST,
                format!("query parameter 'patient': {e} (expected id^^^&OID&ISO)"),
            ))
        })
}

#[derive(Deserialize)]
struct PatientQuery {
    patient: String,
}

async fn consents(state: web::Data<AppState>, q: web::Query<PatientQuery>) -> HttpResponse {
    let patient = match patient_key(&q.patient) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let enforcer = state.consent.clone();
    let p = patient.clone();
    let loaded = state
        .db
        .run(move |conn| {
            let consents = super::store::consents_of(conn, std::slice::from_ref(&p))?
                .remove(&p)
                .unwrap_or_default();
            let history = super::store::history(conn, &p)?;
            Ok((consents, history))
        })
        .await;
    let (consents, history) = match loaded {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(error = %e, "consent lookup failed");
            return problem(
                actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
                "the consents could not be read; try again later",
            );
        }
    };
    let now = Utc::now().naive_utc();
    let in_force = engine::in_force(&consents, now).map(|c| c.entry_uuid.clone());
    let policies = enforcer.policies();
    let list: Vec<serde_json::Value> = consents
        .iter()
        .rev()
        .map(|c| {
            serde_json::json!({
                "entry_uuid": c.entry_uuid,
                "unique_id": c.unique_id,
                "status": c.status.rsplit(':').next().unwrap_or(&c.status),
                "version": c.version,
                "start": c.start.map(|t| t.and_utc()),
                "stop": c.stop.map(|t| t.and_utc()),
                "registered_at": c.registered_at.and_utc(),
                "in_force": in_force.as_deref() == Some(c.entry_uuid.as_str()),
                "policies": c.policies.iter().map(|oid| match policies.get(oid) {
                    Some(p) => serde_json::json!({"oid": oid, "name": p.name, "rule": p.rule, "effect": p.effect}),
                    None => serde_json::json!({"oid": oid, "name": null, "rule": "not a policy of this domain"}),
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({
            "patient": patient,
            "domain": policies.domain,
            "default": match policies.default {
                crate::profiles::ConsentDefault::OptIn => "opt-in",
                crate::profiles::ConsentDefault::OptOut => "opt-out",
            },
            "enforcing": enforcer.enforcing(),
            "consents": list,
            "history": history,
            "policies": policies.by_oid.values().collect::<Vec<_>>(),
        }))
}

#[derive(Deserialize)]
struct DecisionQuery {
    patient: String,
    organisation: Option<String>,
    class: Option<String>,
    confidentiality: Option<String>,
    facility_type: Option<String>,
    #[serde(default)]
    emergency: bool,
    at: Option<String>,
}

async fn decision(state: web::Data<AppState>, q: web::Query<DecisionQuery>) -> HttpResponse {
    let patient = match patient_key(&q.patient) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let at = match q.at.as_deref() {
        None | Some("") => Utc::now(),
        Some(s) => match DateTime::parse_from_rfc3339(s) {
            Ok(t) => t.with_timezone(&Utc),
            Err(e) => {
                return problem(
                    actix_web::http::StatusCode::BAD_REQUEST,
                    format!("query parameter 'at': '{s}' is not an RFC 3339 time: {e}"),
                );
            }
        },
    };
    let requester = Requester {
        organisation: q.organisation.clone().filter(|o| !o.is_empty()),
        emergency: q.emergency.then(|| "what-if".to_owned()),
        ..Requester::default()
    };
    let has_doc = q.class.is_some() || q.confidentiality.is_some() || q.facility_type.is_some();
    let doc = has_doc.then(|| DocumentFacts {
        class_code: q.class.clone().unwrap_or_default(),
        confidentiality_codes: q.confidentiality.iter().cloned().collect(),
        healthcare_facility_type_code: q.facility_type.clone().unwrap_or_default(),
    });
    match state
        .consent
        .evaluate(&requester, &patient, doc.as_ref(), at)
        .await
    {
        Ok((d, _)) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({
                "patient": patient,
                "organisation": requester.organisation,
                "document": doc,
                "emergency": q.emergency,
                "at": at,
                "decision": d,
            })),
        Err(e) => {
            tracing::error!(error = %e, "consent lookup failed");
            problem(
                actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
                "the consents could not be read; try again later",
            )
        }
    }
}

fn asset(content_type: &'static str, body: &'static [u8]) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CONTENT_SECURITY_POLICY, "default-src 'self'"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(body)
}

async fn page() -> HttpResponse {
    asset(
        "text/html; charset=utf-8",
        include_bytes!("page/index.html"),
    )
}

async fn script() -> HttpResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_bytes!("page/consents.js"),
    )
}
