//! STOW-RS (PS3.18 §10.5, IHE RAD-108): `POST /dicomweb/studies[/{study}]` with
//! `multipart/related; type="application/dicom"`. Each part is one Part-10 instance; the good
//! ones are stored in one transaction, the bad ones listed in the FailedSOPSequence with their
//! failure reason. 200 all stored, 202 some, 409 none.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use serde_json::{Map, Value};

use super::common::{self, ApiError, AuditSpec, Kind, Touched};
use super::json;
use crate::audit::Outcome;
use crate::imaging::ingest::{self, Check};
use crate::web::AppState;

pub async fn store(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    path: Option<web::Path<String>>,
) -> HttpResponse {
    let study = path.map(|p| p.into_inner());
    let result = run(&req, payload, &state, study).await;
    let (result, touched, verdict) = match result {
        Ok((resp, touched, verdict)) => (Ok(resp), touched, verdict),
        Err(e) => (Err(e), Vec::new(), None),
    };
    let spec = AuditSpec {
        kind: Kind::Store,
        transaction: "RAD-108",
        participants: common::participants_of(touched.into_iter()),
        query: None,
        verdict,
    };
    common::finish(&state, &req, spec, result).await
}

async fn run(
    req: &HttpRequest,
    mut payload: web::Payload,
    state: &AppState,
    study: Option<String>,
) -> Result<(HttpResponse, Vec<Touched>, Option<(Outcome, String)>), ApiError> {
    if let Some(s) = &study {
        crate::imaging::DicomUid::parse(s)
            .map_err(|e| ApiError::bad_request(format!("study in the URL: {e}")))?;
    }
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let boundary = boundary_of(content_type)?;
    let limit = state.config.max_stow_bytes;
    if let Some(len) = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > limit
    {
        return Err(too_large(len, limit));
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))?;
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(too_large((body.len() + chunk.len()) as u64, limit));
        }
        body.extend_from_slice(&chunk);
    }
    let parts = split_multipart(body.freeze(), &boundary)?;
    if parts.is_empty() {
        return Err(ApiError::bad_request(
            "the multipart/related body has no parts",
        ));
    }
    let mut files = Vec::with_capacity(parts.len());
    let mut wrong_type = Vec::new();
    for (i, (ct, bytes)) in parts.into_iter().enumerate() {
        match ct {
            Some(t)
                if !t
                    .trim()
                    .to_ascii_lowercase()
                    .starts_with("application/dicom") =>
            {
                wrong_type.push((i, t));
                files.push(Bytes::new());
            }
            _ => files.push(bytes),
        }
    }
    let check: Option<Check> = study.clone().map(|s| {
        Box::new(move |i: &crate::imaging::Instance| {
            if i.study_instance_uid.as_str() == s {
                Ok(())
            } else {
                Err((
                    0xA900_u16,
                    format!(
                        "StudyInstanceUID {} does not match the study {s} of the request URL",
                        i.study_instance_uid
                    ),
                ))
            }
        }) as Check
    });
    let outcome =
        ingest::store_batch(&state.db, &common::blobs(state), files, "STOW-RS", check).await?;
    let base = super::base(req);
    let mut answer = Map::new();
    if let Some(s) = &study {
        json::text(
            &mut answer,
            "00081190",
            "UR",
            &format!("{base}/studies/{s}"),
        );
    }
    let referenced: Vec<Value> = outcome
        .accepted
        .iter()
        .map(|a| {
            let i = &a.instance;
            let mut m = Map::new();
            json::text(&mut m, "00081150", "UI", i.sop_class_uid.as_str());
            json::text(&mut m, "00081155", "UI", i.sop_instance_uid.as_str());
            json::text(
                &mut m,
                "00081190",
                "UR",
                &format!(
                    "{base}/studies/{}/series/{}/instances/{}",
                    i.study_instance_uid, i.series_instance_uid, i.sop_instance_uid
                ),
            );
            Value::Object(m)
        })
        .collect();
    let mut failed: Vec<Value> = Vec::new();
    for r in &outcome.refused {
        if wrong_type.iter().any(|(i, _)| *i == r.part) {
            continue;
        }
        tracing::info!(part = r.part, reason = r.reason, message = %r.message, "STOW-RS part refused");
        let mut m = Map::new();
        json::text(
            &mut m,
            "00081150",
            "UI",
            r.sop_class_uid.as_deref().unwrap_or(""),
        );
        json::text(
            &mut m,
            "00081155",
            "UI",
            r.sop_instance_uid.as_deref().unwrap_or(""),
        );
        json::number(&mut m, "00081197", "US", Some(i64::from(r.reason)));
        // hiehub's explanation, so a person reading the answer sees why (ErrorComment).
        json::text(
            &mut m,
            "00000902",
            "LO",
            &format!("part {}: {}", r.part + 1, r.message),
        );
        failed.push(Value::Object(m));
    }
    for (i, t) in &wrong_type {
        let mut m = Map::new();
        json::number(&mut m, "00081197", "US", Some(0xC000));
        json::text(
            &mut m,
            "00000902",
            "LO",
            &format!("part {}: media type {t} is not application/dicom", i + 1),
        );
        failed.push(Value::Object(m));
    }
    if !referenced.is_empty() {
        answer.insert(
            "00081199".into(),
            serde_json::json!({"vr": "SQ", "Value": referenced}),
        );
    }
    if !failed.is_empty() {
        answer.insert(
            "00081198".into(),
            serde_json::json!({"vr": "SQ", "Value": failed}),
        );
    }
    let status = if failed.is_empty() {
        StatusCode::OK
    } else if referenced.is_empty() {
        StatusCode::CONFLICT
    } else {
        StatusCode::ACCEPTED
    };
    let touched = outcome
        .accepted
        .iter()
        .map(|a| Touched::of(&a.instance))
        .collect();
    let resp = HttpResponse::build(status)
        .content_type("application/dicom+json")
        .body(Value::Object(answer).to_string());
    let verdict = if referenced.is_empty() {
        Some((Outcome::SeriousFailure, "nothing stored".to_owned()))
    } else if !failed.is_empty() {
        Some((
            Outcome::MinorFailure,
            format!(
                "{} of {} parts refused",
                failed.len(),
                failed.len() + referenced.len()
            ),
        ))
    } else {
        None
    };
    Ok((resp, touched, verdict))
}

fn too_large(len: u64, limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "TooLarge",
        format!("request body of {len} bytes exceeds max_stow_bytes ({limit})"),
    )
}

/// The boundary of a `multipart/related` content type whose `type` (if given) is
/// application/dicom; 415 otherwise.
fn boundary_of(content_type: &str) -> Result<String, ApiError> {
    let unsupported = |why: String| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            why,
        )
    };
    let m: mime::Mime = content_type.parse().map_err(|_| {
        unsupported(format!(
            "Content-Type '{content_type}' is not multipart/related; type=\"application/dicom\""
        ))
    })?;
    if m.type_() != mime::MULTIPART || m.subtype().as_str() != "related" {
        return Err(unsupported(format!(
            "Content-Type {} is not multipart/related",
            m.essence_str()
        )));
    }
    if let Some(t) = m.get_param("type")
        && !t.as_str().eq_ignore_ascii_case("application/dicom")
    {
        return Err(unsupported(format!(
            "multipart/related type {} is not supported (only application/dicom)",
            t.as_str()
        )));
    }
    m.get_param(mime::BOUNDARY)
        .map(|b| b.as_str().to_owned())
        .filter(|b| !b.is_empty() && b.len() <= 200)
        .ok_or_else(|| ApiError::bad_request("multipart/related without a boundary parameter"))
}

/// Splits a multipart body into (Content-Type of the part, content) pairs. Tolerates bare LF
/// line ends; the preamble and epilogue are ignored.
pub fn split_multipart(
    body: Bytes,
    boundary: &str,
) -> Result<Vec<(Option<String>, Bytes)>, ApiError> {
    let delim = format!("--{boundary}");
    let finder = memchr::memmem::Finder::new(delim.as_bytes());
    let mut positions: Vec<usize> = Vec::new();
    let mut at = 0;
    while let Some(p) = finder.find(&body[at..]) {
        let abs = at + p;
        // a delimiter starts a line
        if abs == 0 || body[abs - 1] == b'\n' {
            positions.push(abs);
        }
        at = abs + delim.len();
    }
    if positions.is_empty() {
        return Err(ApiError::bad_request(format!(
            "no multipart boundary '{boundary}' found in the body"
        )));
    }
    let mut parts = Vec::new();
    for w in positions.windows(2) {
        let start = w[0] + delim.len();
        if body[start..].starts_with(b"--") {
            break;
        }
        // the part ends before the CRLF (or LF) that precedes the next delimiter
        let mut end = w[1];
        if end > start && body[end - 1] == b'\n' {
            end -= 1;
        }
        if end > start && body[end - 1] == b'\r' {
            end -= 1;
        }
        let part = body.slice(start..end.max(start));
        // skip the rest of the delimiter line
        let Some(nl) = memchr::memchr(b'\n', &part) else {
            return Err(ApiError::bad_request(
                "a multipart part has no header section",
            ));
        };
        let rest = part.slice(nl + 1..);
        let (header_end, content_start) = match memchr::memmem::find(&rest, b"\r\n\r\n") {
            Some(i) => (i, i + 4),
            None if rest.starts_with(b"\r\n") => (0, 2),
            None => match memchr::memmem::find(&rest, b"\n\n") {
                Some(i) => (i, i + 2),
                None if rest.starts_with(b"\n") => (0, 1),
                None => {
                    return Err(ApiError::bad_request(
                        "a multipart part has no blank line after its headers",
                    ));
                }
            },
        };
        let headers = String::from_utf8_lossy(&rest[..header_end]);
        let content_type = headers.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_owned())
        });
        parts.push((content_type, rest.slice(content_start..)));
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_split() {
        let body = Bytes::from_static(
            b"preamble\r\n--b1\r\nContent-Type: application/dicom\r\n\r\nAAA\r\n--b1\r\n\r\nBB\r\n--b1--\r\n",
        );
        let parts = split_multipart(body, "b1").expect("parts");
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].0.as_deref(), Some("application/dicom"));
        assert_eq!(&parts[0].1[..], b"AAA");
        assert_eq!(parts[1].0, None);
        assert_eq!(&parts[1].1[..], b"BB");
        assert!(split_multipart(Bytes::from_static(b"x"), "b1").is_err());
    }

    #[test]
    fn content_types() {
        assert_eq!(
            boundary_of("multipart/related; type=\"application/dicom\"; boundary=xyz").expect("ok"),
            "xyz"
        );
        assert_eq!(
            boundary_of("multipart/related; type=\"application/dicom+xml\"; boundary=x")
                .expect_err("415")
                .status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert!(boundary_of("application/dicom").is_err());
    }
}
