//! The ledger and audit JSON API (`/api/ledger/...`, `/api/audit`) and what peers fetch
//! (`/ledger/checkpoint`, `/ledger/vkey`). Documented in `docs/openapi.json`.

use actix_web::{HttpResponse, web};
use base64::Engine;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::anchor_api::{
    add_checkpoint, alarms, anchoring as status, anchors, cosigned_checkpoint as cosigned,
    evidence, witness_vkey,
};
use crate::audit::{self, AuditEvent, Code, Outcome, Transport};
use crate::ledger::{bundle, checkpoint::VerifierKey, db, verify};
use crate::store::StoreError;
use crate::store::schema::{audit_events, ledger_verifications};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/ledger/checkpoint", web::get().to(checkpoint_note))
        .route("/ledger/vkey", web::get().to(vkey))
        .route("/api/ledger/checkpoint", web::get().to(checkpoint_json))
        .route("/api/ledger/entries", web::get().to(entries))
        .route("/api/ledger/entries/{seq}", web::get().to(entry))
        .route("/api/ledger/proof/{seq}", web::get().to(proof))
        .route("/api/ledger/consistency", web::get().to(consistency))
        .route("/api/ledger/verify", web::post().to(run_verify))
        .route("/api/ledger/verifications", web::get().to(verifications))
        .route("/api/audit", web::get().to(search))
        .route("/ledger/add-checkpoint", web::post().to(add_checkpoint))
        .route("/ledger/witness-vkey", web::get().to(witness_vkey))
        .route("/ledger/cosigned-checkpoint", web::get().to(cosigned))
        .route("/api/ledger/entries/{seq}/anchoring", web::get().to(status))
        .route("/api/ledger/anchors", web::get().to(anchors))
        .route("/api/ledger/alarms", web::get().to(alarms))
        .route("/api/ledger/alarms/{id}/evidence", web::get().to(evidence))
        .route("/api/openapi.json", web::get().to(openapi));
}

/// The OpenAPI description of this API (`docs/openapi.json`, embedded).
pub const OPENAPI: &str = include_str!("../../docs/openapi.json");

async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI)
}

fn problem(status: actix_web::http::StatusCode, message: impl std::fmt::Display) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "error": message.to_string() }))
}

fn internal(e: impl std::fmt::Display) -> HttpResponse {
    tracing::error!(error = %e, "ledger API");
    problem(
        actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
        "internal error (see the server log)",
    )
}

async fn checkpoint_note(state: web::Data<AppState>) -> HttpResponse {
    match state.db.run(|c| Ok(db::latest_checkpoint(c)?)).await {
        Ok(Some(cp)) => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .insert_header(("Hiehub-Verifier-Key", state.sink.vkey().to_owned()))
            .body(cp.note),
        Ok(None) => problem(
            actix_web::http::StatusCode::NOT_FOUND,
            "no checkpoint has been signed yet",
        ),
        Err(e) => internal(e),
    }
}

async fn vkey(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(format!("{}\n", state.sink.vkey()))
}

#[derive(Serialize)]
struct CheckpointJson {
    size: u64,
    root: String,
    note: String,
    vkey: String,
    created_at: DateTime<Utc>,
}

async fn checkpoint_json(state: web::Data<AppState>) -> HttpResponse {
    let vkey = state.sink.vkey().to_owned();
    match state.db.run(|c| Ok(db::latest_checkpoint(c)?)).await {
        Ok(Some(cp)) => HttpResponse::Ok().json(CheckpointJson {
            size: cp.size,
            root: hex::encode(cp.root),
            note: cp.note,
            vkey,
            created_at: cp.created_at,
        }),
        Ok(None) => problem(
            actix_web::http::StatusCode::NOT_FOUND,
            "no checkpoint has been signed yet",
        ),
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
struct Page {
    from: Option<u64>,
    limit: Option<i64>,
}

#[derive(Serialize)]
struct EntrySummary {
    seq: u64,
    kind: String,
    leaf_hash: String,
    chain_hash: String,
    committed_at: DateTime<Utc>,
    payload_bytes: Option<usize>,
    erased_by: Option<i64>,
}

fn kind_name(code: i16) -> String {
    u16::try_from(code)
        .ok()
        .and_then(crate::ledger::leaf::EntryKind::from_code)
        .map(|k| format!("{k:?}"))
        .unwrap_or_else(|| format!("unknown({code})"))
}

fn summary(e: &db::StoredEntry) -> EntrySummary {
    EntrySummary {
        seq: e.seq,
        kind: kind_name(e.kind),
        leaf_hash: hex::encode(&e.leaf_hash),
        chain_hash: hex::encode(&e.chain_hash),
        committed_at: e.committed_at,
        payload_bytes: e.payload.as_ref().map(Vec::len),
        erased_by: e.erased_by,
    }
}

async fn entries(state: web::Data<AppState>, q: web::Query<Page>) -> HttpResponse {
    let from = q.from.unwrap_or(0);
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    match state
        .db
        .run(move |c| Ok(db::entries(c, from, limit)?))
        .await
    {
        Ok(list) => HttpResponse::Ok().json(list.iter().map(summary).collect::<Vec<_>>()),
        Err(e) => internal(e),
    }
}

#[derive(Serialize)]
struct EntryDetail {
    #[serde(flatten)]
    summary: EntrySummary,
    leaf: String,
    envelope: Option<serde_json::Value>,
    payload_sha3: Option<String>,
    /// The payload as text when it is UTF-8, else base64 in `payload_base64`.
    payload_text: Option<String>,
    payload_base64: Option<String>,
    index: Option<AuditHit>,
    decoded: Option<serde_json::Value>,
}

async fn entry(state: web::Data<AppState>, seq: web::Path<u64>) -> HttpResponse {
    let seq = *seq;
    let found = state
        .db
        .run(move |c| {
            let e = db::entry(c, seq)?;
            let hit: Option<AuditHit> = audit_events::table
                .filter(audit_events::seq.eq(seq as i64))
                .select(AuditHit::as_select())
                .first(c)
                .optional()?;
            Ok((e, hit))
        })
        .await;
    let (e, hit) = match found {
        Ok(x) => x,
        Err(StoreError::Ledger(e @ db::LedgerDbError::NoEntry { .. })) => {
            return problem(actix_web::http::StatusCode::NOT_FOUND, e);
        }
        Err(err) => return internal(err),
    };
    let leaf = crate::ledger::leaf::Leaf::decode(&e.leaf).ok();
    let envelope = leaf.as_ref().map(|l| {
        serde_json::json!({
            "format_version": format!("{:?}", l.version),
            "received_at": DateTime::<Utc>::from_timestamp_micros(l.envelope.received_at_micros),
            "transport": format!("{:?}", l.envelope.transport),
            "sender_fingerprint": l.envelope.sender_fingerprint.map(hex::encode),
            "connection_id": l.envelope.connection_id,
            "frame_seq": l.envelope.frame_seq,
        })
    });
    let (payload_text, payload_base64) = match &e.payload {
        Some(p) => match std::str::from_utf8(p) {
            Ok(t) => (Some(t.to_owned()), None),
            Err(_) => (
                None,
                Some(base64::engine::general_purpose::STANDARD.encode(p)),
            ),
        },
        None => (None, None),
    };
    let decoded = e
        .payload
        .as_deref()
        .and_then(|p| audit::dicom::decode(strip_syslog(p)).ok())
        .and_then(|m| serde_json::to_value(m).ok());
    HttpResponse::Ok().json(EntryDetail {
        summary: summary(&e),
        leaf: hex::encode(&e.leaf),
        envelope,
        payload_sha3: leaf.map(|l| hex::encode(l.payload_hash)),
        payload_text,
        payload_base64,
        index: hit,
        decoded,
    })
}

/// The XML part of a received syslog frame (payloads keep the whole frame as received).
pub fn strip_syslog(p: &[u8]) -> &[u8] {
    match p.iter().position(|&b| b == b'<') {
        Some(0) => {
            // "<PRI>..." header: the XML starts at the first "<?xml" or "<AuditMessage"
            let text = p;
            let find = |pat: &[u8]| text.windows(pat.len()).skip(1).position(|w| w == pat);
            match find(b"<?xml").or_else(|| find(b"<AuditMessage")) {
                Some(i) => &p[i + 1..],
                None => p,
            }
        }
        _ => p,
    }
}

async fn proof(state: web::Data<AppState>, seq: web::Path<u64>) -> HttpResponse {
    let seq = *seq;
    let vkey = state.sink.vkey().to_owned();
    let r = state
        .db
        .run(move |c| Ok(bundle::prove(c, seq, &vkey)))
        .await;
    match r {
        Ok(Ok(b)) => HttpResponse::Ok()
            .insert_header((
                "Content-Disposition",
                format!("attachment; filename=\"hiehub-proof-{seq}.json\""),
            ))
            .json(b),
        Ok(Err(e @ bundle::ProveError::NotCovered { .. }))
        | Ok(Err(e @ bundle::ProveError::NoCheckpoint)) => {
            problem(actix_web::http::StatusCode::CONFLICT, e)
        }
        Ok(Err(bundle::ProveError::Db(db::LedgerDbError::NoEntry { seq }))) => problem(
            actix_web::http::StatusCode::NOT_FOUND,
            format!("entry {seq} not found"),
        ),
        Ok(Err(e)) => internal(e),
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
struct ConsistencyQuery {
    from: u64,
    to: Option<u64>,
}

async fn consistency(state: web::Data<AppState>, q: web::Query<ConsistencyQuery>) -> HttpResponse {
    let from = q.from;
    let to = q.to;
    let r = state
        .db
        .run(move |c| {
            let second = match to {
                Some(n) => db::checkpoint_at(c, n)?,
                None => db::latest_checkpoint(c)?,
            };
            let first = db::checkpoint_at(c, from)?;
            let (Some(first), Some(second)) = (first, second) else {
                return Ok(Err(
                    "both sizes must be sizes of signed checkpoints (see /api/ledger/checkpoint)"
                        .to_string(),
                ));
            };
            match db::consistency_proof(c, first.size, second.size) {
                Ok(p) => Ok(Ok(serde_json::json!({
                    "from": first.size,
                    "to": second.size,
                    "from_checkpoint": first.note,
                    "to_checkpoint": second.note,
                    "proof": p.iter().map(hex::encode).collect::<Vec<_>>(),
                }))),
                Err(e) => Ok(Err(e.to_string())),
            }
        })
        .await;
    match r {
        Ok(Ok(v)) => HttpResponse::Ok().json(v),
        Ok(Err(m)) => problem(actix_web::http::StatusCode::BAD_REQUEST, m),
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
struct VerifyQuery {
    full: Option<bool>,
}

/// Runs `ledger verify` inside the server (the inspector's "verify now"); a failure is audited
/// as a Security Alert.
async fn run_verify(state: web::Data<AppState>, q: web::Query<VerifyQuery>) -> HttpResponse {
    let incremental = !q.full.unwrap_or(false);
    let keys = match VerifierKey::parse(state.sink.vkey()) {
        Ok(k) => vec![k],
        Err(e) => return internal(e),
    };
    let url = state.db.url().to_owned();
    let r = state
        .db
        .run(move |c| {
            let started = Utc::now();
            let report = verify::verify(&url, &keys, incremental)?;
            verify::record(c, &report, started)?;
            Ok(report)
        })
        .await;
    match r {
        Ok(report) => {
            if let Some(f) = &report.failure {
                let mut e = AuditEvent::new(
                    audit::event_id::security_alert(),
                    audit::Action::Execute,
                    Outcome::SeriousFailure,
                    Transport::Internal,
                );
                // DICOM CID 403 has no security alert type for this: a private code, as
                // dcm4chee does with 99DCM4CHEE.
                e.event_type = Some(Code {
                    code: "LEDGER-VERIFY".into(),
                    system: "99HIEHUB".into(),
                    display: "Ledger verification failed".into(),
                });
                e.outcome_description = Some(format!("ledger verification failed: {f}"));
                if let Err(err) = state.sink.record(e).await {
                    tracing::error!(error = %err, "ledger verification failure not audited");
                }
            }
            HttpResponse::Ok().json(report)
        }
        Err(e) => internal(e),
    }
}

#[derive(Serialize, Queryable)]
struct VerificationRow {
    id: i64,
    started_at: DateTime<Utc>,
    finished_at: DateTime<Utc>,
    from_size: i64,
    to_size: i64,
    ok: bool,
    report: String,
}

async fn verifications(state: web::Data<AppState>) -> HttpResponse {
    let r = state
        .db
        .run(|c| {
            Ok(ledger_verifications::table
                .order(ledger_verifications::id.desc())
                .limit(20)
                .load::<VerificationRow>(c)?)
        })
        .await;
    match r {
        Ok(rows) => HttpResponse::Ok().json(rows),
        Err(e) => internal(e),
    }
}

/// One search hit: the index row of an audit event, with its ledger sequence number.
pub type AuditHit = db::AuditIndexRow;

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    /// Event time range (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub patient: Option<String>,
    pub event_id: Option<String>,
    pub event_type: Option<String>,
    pub outcome: Option<i16>,
    pub user: Option<String>,
    pub node: Option<String>,
    pub object: Option<String>,
    pub source: Option<String>,
    pub valid: Option<bool>,
    /// Paging: hits with seq below this (newest first).
    pub before: Option<i64>,
    pub limit: Option<i64>,
}

#[derive(Serialize)]
struct SearchPage {
    hits: Vec<AuditHit>,
    /// Pass as `before` for the next page; absent on the last page.
    next_before: Option<i64>,
}

async fn search(state: web::Data<AppState>, q: web::Query<SearchQuery>) -> HttpResponse {
    let q = q.into_inner();
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let r = state
        .db
        .run(move |c| {
            use diesel::PgArrayExpressionMethods;
            let mut query = audit_events::table.into_boxed();
            if let Some(t) = q.since {
                query = query.filter(audit_events::event_time.ge(t));
            }
            if let Some(t) = q.until {
                query = query.filter(audit_events::event_time.lt(t));
            }
            if let Some(p) = q.patient.filter(|s| !s.is_empty()) {
                query = query.filter(audit_events::patient_ids.contains(vec![p]));
            }
            if let Some(v) = q.event_id.filter(|s| !s.is_empty()) {
                query = query.filter(audit_events::event_id.eq(v));
            }
            if let Some(v) = q.event_type.filter(|s| !s.is_empty()) {
                query = query.filter(audit_events::event_types.contains(vec![v]));
            }
            if let Some(v) = q.outcome {
                query = query.filter(audit_events::outcome.eq(v));
            }
            if let Some(v) = q.user.filter(|s| !s.is_empty()) {
                query = query.filter(audit_events::users.contains(vec![v]));
            }
            if let Some(v) = q.node.filter(|s| !s.is_empty()) {
                query = query.filter(audit_events::nodes.contains(vec![v]));
            }
            if let Some(v) = q.object.filter(|s| !s.is_empty()) {
                query = query.filter(audit_events::object_ids.contains(vec![v]));
            }
            if let Some(v) = q.source.filter(|s| !s.is_empty()) {
                query = query.filter(audit_events::source_id.eq(v));
            }
            if let Some(v) = q.valid {
                query = query.filter(audit_events::valid.eq(v));
            }
            if let Some(b) = q.before {
                query = query.filter(audit_events::seq.lt(b));
            }
            let hits: Vec<AuditHit> = query
                .order(audit_events::seq.desc())
                .limit(limit + 1)
                .select(AuditHit::as_select())
                .load(c)?;
            Ok(hits)
        })
        .await;
    match r {
        Ok(mut hits) => {
            let next_before = if hits.len() as i64 > limit {
                hits.truncate(limit as usize);
                hits.last().map(|h| h.seq)
            } else {
                None
            };
            HttpResponse::Ok().json(SearchPage { hits, next_before })
        }
        Err(e) => internal(e),
    }
}
