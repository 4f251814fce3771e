//! Cross-anchoring over HTTP (routes bound in [`super::ledger_api::configure`], documented in
//! `docs/openapi.json`): the witness endpoint `POST /ledger/add-checkpoint` (C2SP tlog-witness),
//! `/ledger/witness-vkey`, `/ledger/cosigned-checkpoint`, and the JSON views of anchoring status,
//! peers and alarms with their evidence.

use actix_web::{HttpRequest, HttpResponse, web};

use super::{AppState, ConnInfo};
use crate::anchor::witness::{self, Reply, Sender};
use crate::anchor::{Anchor, status, store};
use crate::audit::{self, AuditEvent, Code, Outcome, Transport};
use crate::ledger::db;
use crate::store::StoreError;

fn problem(status: actix_web::http::StatusCode, message: impl std::fmt::Display) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "error": message.to_string() }))
}

fn internal(e: impl std::fmt::Display) -> HttpResponse {
    tracing::error!(error = %e, "anchoring API");
    problem(
        actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
        "internal error (see the server log)",
    )
}

/// `POST /ledger/add-checkpoint`: C2SP tlog-witness.
pub async fn add_checkpoint(
    req: HttpRequest,
    state: web::Data<AppState>,
    anchor: web::Data<Anchor>,
    body: web::Bytes,
) -> HttpResponse {
    let conn = req.conn_data::<ConnInfo>().cloned();
    let identity = conn.as_ref().and_then(|c| c.identity.clone());
    let sender = Sender {
        fingerprint: identity.as_ref().and_then(|i| i.fingerprint_bytes()),
        tls: conn.as_ref().is_some_and(|c| c.tls),
    };
    let reply =
        witness::add_checkpoint(&anchor, &state.db, &state.sink, &body, sender.clone()).await;
    match reply {
        Reply::Cosigned(lines) => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(lines),
        Reply::Conflict(size) => HttpResponse::Conflict()
            .content_type("text/x.tlog.size")
            .body(format!("{size}\n")),
        Reply::Refused { status, message } => {
            // A refusal is bad input: audit it (422 and bad signatures were already raised as
            // anchoring alarms with their evidence).
            if matches!(status, 400 | 403 | 404) {
                let mut e = AuditEvent::new(
                    audit::event_id::security_alert(),
                    audit::Action::Execute,
                    Outcome::MinorFailure,
                    if sender.tls {
                        Transport::Https
                    } else {
                        Transport::Http
                    },
                );
                e.event_type = Some(Code {
                    code: "LEDGER-WITNESS".into(),
                    system: "99HIEHUB".into(),
                    display: "Witness request refused".into(),
                });
                e.requestor = identity.as_ref().map(|i| i.subject.clone());
                e.requestor_fingerprint = sender.fingerprint;
                e.remote_addr = req.peer_addr().map(|a| a.to_string());
                e.destination = Some("/ledger/add-checkpoint".into());
                e.outcome_description =
                    Some(format!("add-checkpoint refused ({status}): {message}"));
                if let Err(err) = state.sink.record(e).await {
                    tracing::error!(error = %err, "witness refusal not audited");
                    return internal(err);
                }
            }
            HttpResponse::build(
                actix_web::http::StatusCode::from_u16(status)
                    .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST),
            )
            .content_type("text/plain; charset=utf-8")
            .body(format!("{message}\n"))
        }
    }
}

/// `GET /ledger/witness-vkey`: this hub's cosignature verifier key.
pub async fn witness_vkey(anchor: web::Data<Anchor>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(format!("{}\n", anchor.witness_vkey))
}

/// `GET /ledger/cosigned-checkpoint`: the latest checkpoint with the cosignatures collected for it.
pub async fn cosigned_checkpoint(state: web::Data<AppState>) -> HttpResponse {
    match state.db.run(|c| Ok(status::latest_cosigned(c)?)).await {
        Ok(Some(note)) => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .insert_header(("Hiehub-Verifier-Key", state.sink.vkey().to_owned()))
            .body(note),
        Ok(None) => problem(
            actix_web::http::StatusCode::NOT_FOUND,
            "no checkpoint has been cosigned yet",
        ),
        Err(e) => internal(e),
    }
}

/// `GET /api/ledger/entries/{seq}/anchoring`.
pub async fn anchoring(
    state: web::Data<AppState>,
    anchor: web::Data<Anchor>,
    seq: web::Path<u64>,
) -> HttpResponse {
    let seq = *seq;
    let (k, n) = (anchor.quorum, anchor.peers.len());
    match state
        .db
        .run(move |c| Ok(status::anchoring(c, seq, k, n)?))
        .await
    {
        Ok(a) => HttpResponse::Ok().json(a),
        Err(StoreError::Ledger(e @ db::LedgerDbError::NoEntry { .. })) => {
            problem(actix_web::http::StatusCode::NOT_FOUND, e)
        }
        Err(e) => internal(e),
    }
}

/// `GET /api/ledger/anchors`: the peers, what this hub witnessed of each, what each cosigned of
/// this hub, and the count of alarms.
pub async fn anchors(state: web::Data<AppState>, anchor: web::Data<Anchor>) -> HttpResponse {
    let r = state
        .db
        .run(|c| {
            let witnessed = store::all_witness_states(c)?;
            let cosigned = store::cosigned_sizes(c)?;
            let alarms = store::alarms(c, 1000)?.len();
            Ok((witnessed, cosigned, alarms))
        })
        .await;
    match r {
        Ok((witnessed, cosigned, alarms)) => {
            let peers: Vec<serde_json::Value> = anchor
                .peers
                .iter()
                .map(|p| {
                    let w = witnessed.iter().find(|w| w.origin == p.origin());
                    serde_json::json!({
                        "name": p.name,
                        "url": p.url,
                        "origin": p.origin(),
                        "vkey": p.log_key.to_string(),
                        "witness_vkey": p.witness_key.to_string(),
                        "witnessed_size": w.map(|w| w.size),
                        "witnessed_at": w.map(|w| w.updated_at),
                        "cosigned_size": cosigned.iter().find(|(n, _)| *n == p.name).map(|(_, s)| *s),
                    })
                })
                .collect();
            HttpResponse::Ok().json(serde_json::json!({
                "origin": anchor.origin,
                "witness_vkey": anchor.witness_vkey,
                "quorum": anchor.quorum,
                "peers": peers,
                "alarms": alarms,
            }))
        }
        Err(e) => internal(e),
    }
}

/// `GET /api/ledger/alarms`: anchoring alarms, newest first (evidence included).
pub async fn alarms(state: web::Data<AppState>) -> HttpResponse {
    match state.db.run(|c| Ok(store::alarms(c, 200)?)).await {
        Ok(rows) => HttpResponse::Ok().json(rows),
        Err(e) => internal(e),
    }
}

/// `GET /api/ledger/alarms/{id}/evidence`: the evidence file `hiehub ledger check-fork` reads.
pub async fn evidence(state: web::Data<AppState>, id: web::Path<i64>) -> HttpResponse {
    let id = *id;
    match state.db.run(move |c| Ok(store::alarm(c, id)?)).await {
        Ok(Some(row)) => match row.evidence {
            Some(json) => HttpResponse::Ok()
                .content_type("application/json")
                .insert_header((
                    "Content-Disposition",
                    format!("attachment; filename=\"hiehub-evidence-{id}.json\""),
                ))
                .body(json),
            None => problem(
                actix_web::http::StatusCode::NOT_FOUND,
                format!("alarm {id} has no evidence file (detected by this hub about itself)"),
            ),
        },
        Ok(None) => problem(
            actix_web::http::StatusCode::NOT_FOUND,
            format!("no alarm {id}"),
        ),
        Err(e) => internal(e),
    }
}
