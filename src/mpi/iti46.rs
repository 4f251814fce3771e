//! ITI-46 PIX Update Notification HL7 V3 (ITI TF-2b §3.46): when a person's cross-references
//! change, PRPA_IN201302UV02 with all its identifiers goes to every configured PIX Consumer
//! (`pix_consumers`).
//!
//! Persistent outbox: the feed's transaction inserts one `mpi_outbox` row per consumer, so a
//! notification exists exactly when the change committed. One worker sends them: per consumer
//! strictly in row order (a row is not tried before the ones before it were delivered, so the
//! order per patient is kept), retrying with exponential backoff (0.2 s doubling up to
//! [`MAX_BACKOFF`]); rows survive restarts. Every attempt is audited (Export 110106, ITI-46)
//! before the row is marked delivered.

use std::sync::Arc;
use std::time::Duration;

use diesel::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Settings, store, wire};
use crate::audit::dicom::ParticipantObject;
use crate::audit::{self, AuditEvent, AuditSink, Code, Outcome, Transport};
use crate::hl7v3::encode;
use crate::store::{Db, StoreError};

pub const ACTION: &str = "urn:hl7-org:v3:PRPA_IN201302UV02";
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(200);

/// Queues the notification of `person_id`'s current cross-references for every consumer.
pub fn enqueue(conn: &mut PgConnection, s: &Settings, person_id: i64) -> Result<(), StoreError> {
    if s.consumers.is_empty() {
        return Ok(());
    }
    let records = store::person_records(conn, person_id)?;
    let ids = store::person_identifiers(conn, person_id, &s.enterprise_root)?;
    let demographics = records
        .first()
        .map(|r| r.demographics())
        .unwrap_or_default();
    let body = encode::update_notification(
        &s.device,
        None,
        &ids.iter().map(wire::ii).collect::<Vec<_>>(),
        &wire::person(&demographics),
    );
    for consumer in &s.consumers {
        diesel::sql_query(
            "INSERT INTO mpi_outbox (consumer, person_id, body_xml) VALUES ($1, $2, $3)",
        )
        .bind::<Text, _>(consumer)
        .bind::<BigInt, _>(person_id)
        .bind::<Text, _>(&body)
        .execute(conn)
        .map_err(store::db)?;
    }
    Ok(())
}

#[derive(QueryableByName, Debug)]
struct Pending {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    consumer: String,
    #[diesel(sql_type = BigInt)]
    person_id: i64,
    #[diesel(sql_type = Text)]
    body_xml: String,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Nullable<Text>)]
    cx: Option<String>,
}

/// The head of each consumer's queue, when it is due.
fn due(conn: &mut PgConnection) -> Result<Vec<Pending>, StoreError> {
    diesel::sql_query(
        "SELECT o.id, o.consumer, o.person_id, o.body_xml, o.attempts, \
                (SELECT r.extension || '^^^&' || r.root || '&ISO' FROM mpi_records r WHERE r.person_id = o.person_id AND r.status = 'active' ORDER BY r.id LIMIT 1) AS cx \
         FROM mpi_outbox o \
         WHERE o.id IN (SELECT min(id) FROM mpi_outbox WHERE delivered_at IS NULL GROUP BY consumer) \
           AND o.next_attempt_at <= now()",
    )
    .load(conn)
    .map_err(store::db)
}

fn backoff(attempts: i32) -> Duration {
    let ms = 200u64.saturating_mul(1u64 << attempts.clamp(0, 16));
    Duration::from_millis(ms).min(MAX_BACKOFF)
}

/// Starts the worker on the current runtime.
pub fn spawn(db: Db, sink: AuditSink, settings: Arc<Settings>) {
    if settings.consumers.is_empty() {
        return;
    }
    tokio::spawn(async move {
        loop {
            if let Err(e) = round(&db, &sink).await {
                tracing::warn!(error = %e, "ITI-46 outbox round failed");
            }
            tokio::time::sleep(POLL).await;
        }
    });
}

async fn round(db: &Db, sink: &AuditSink) -> Result<(), StoreError> {
    let pending = db.run(due).await?;
    for p in pending {
        let result = send(&p.consumer, &p.body_xml).await;
        let mut event = AuditEvent::new(
            audit::event_id::export(),
            audit::Action::Read,
            if result.is_ok() {
                Outcome::Success
            } else {
                Outcome::SeriousFailure
            },
            if p.consumer.starts_with("https:") {
                Transport::Https
            } else {
                Transport::Http
            },
        );
        event.event_type = Some(Code::ihe_transaction("ITI-46", "PIX Update Notification"));
        event.destination = Some(p.consumer.clone());
        event.outcome_description = result.as_ref().err().cloned();
        if let Some(cx) = &p.cx {
            event
                .participant_objects
                .push(ParticipantObject::patient(cx.clone()));
        }
        if let Err(e) = sink.record(event).await {
            // Without an audit record the row stays pending and is sent again later.
            tracing::error!(error = %e, "ITI-46 send not audited; will retry");
            continue;
        }
        let id = p.id;
        match result {
            Ok(()) => {
                db.run(move |conn| {
                    diesel::sql_query("UPDATE mpi_outbox SET delivered_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = $1")
                        .bind::<BigInt, _>(id)
                        .execute(conn)
                        .map_err(store::db)
                })
                .await?;
                tracing::info!(consumer = %p.consumer, person = p.person_id, "ITI-46 notification delivered");
            }
            Err(e) => {
                let wait = backoff(p.attempts);
                let ms = i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
                db.run(move |conn| {
                    diesel::sql_query(
                        "UPDATE mpi_outbox SET attempts = attempts + 1, last_error = $2, \
                         next_attempt_at = now() + ($3 * interval '1 millisecond') WHERE id = $1",
                    )
                    .bind::<BigInt, _>(id)
                    .bind::<Text, _>(e)
                    .bind::<BigInt, _>(ms)
                    .execute(conn)
                    .map_err(store::db)
                })
                .await?;
            }
        }
    }
    Ok(())
}

/// POSTs the notification in a SOAP 1.2 envelope; Ok on HTTP 2xx.
async fn send(url: &str, body_xml: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("consumer {url}: only http:// consumers are supported"))?;
    let (host, path) = match rest.split_once('/') {
        Some((h, p)) => (h, format!("/{p}")),
        None => (rest, "/".to_owned()),
    };
    let envelope = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <soap:Envelope xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:wsa=\"http://www.w3.org/2005/08/addressing\">\
         <soap:Header><wsa:Action soap:mustUnderstand=\"true\">{ACTION}</wsa:Action>\
         <wsa:MessageID>urn:uuid:{}</wsa:MessageID><wsa:To>{}</wsa:To></soap:Header>\
         <soap:Body>{body_xml}</soap:Body></soap:Envelope>",
        uuid::Uuid::new_v4(),
        crate::xml::escape(url)
    );
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/soap+xml; charset=utf-8; action=\"{ACTION}\"\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{envelope}",
        envelope.len()
    );
    let io = async {
        let mut stream = tokio::net::TcpStream::connect(host)
            .await
            .map_err(|e| format!("connect {host}: {e}"))?;
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("write to {host}: {e}"))?;
        let mut response = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = stream
                .read(&mut buf)
                .await
                .map_err(|e| format!("read from {host}: {e}"))?;
            if n == 0 || response.len() > 1 << 20 {
                break;
            }
            response.extend_from_slice(&buf[..n]);
            if status_of(&response).is_some_and(|s| !(200..300).contains(&s)) {
                break;
            }
        }
        Ok::<Vec<u8>, String>(response)
    };
    let response = tokio::time::timeout(Duration::from_secs(10), io)
        .await
        .map_err(|_| format!("{url}: no answer within 10 s"))??;
    match status_of(&response) {
        Some(s) if (200..300).contains(&s) => Ok(()),
        Some(s) => Err(format!("{url} answered HTTP {s}")),
        None => Err(format!("{url} sent no HTTP status line")),
    }
}

fn status_of(response: &[u8]) -> Option<u16> {
    let line_end = response.iter().position(|b| *b == b'\n')?;
    let line = std::str::from_utf8(&response[..line_end]).ok()?;
    line.split_whitespace().nth(1)?.parse().ok()
}
