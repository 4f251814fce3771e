//! WADO-RS (PS3.18 §10.4, IHE RAD-107): instances (multipart/related application/dicom, as
//! stored), metadata (DICOM JSON), frames (uncompressed, multipart/related
//! application/octet-stream), rendered (JPEG/PNG) and thumbnails.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use serde_json::Value;

use super::common::{self, ApiError, AuditSpec, Kind};
use super::json::Object;
use crate::imaging::index::{self, InstanceRow};
use crate::render::{self, Frame, Options};
use crate::web::AppState;

/// Which instances a URL names.
#[derive(Debug, Clone)]
pub struct Target {
    pub study: String,
    pub series: Option<String>,
    pub instance: Option<String>,
}

/// The index rows a target names (404 when none), in display order.
pub async fn rows_of(state: &AppState, target: &Target) -> Result<Vec<InstanceRow>, ApiError> {
    for uid in [
        Some(&target.study),
        target.series.as_ref(),
        target.instance.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        crate::imaging::DicomUid::parse(uid)
            .map_err(|e| ApiError::bad_request(format!("UID in the URL: {e}")))?;
    }
    let t = target.clone();
    let rows = state
        .db
        .run(move |c| match &t.instance {
            Some(i) => Ok(index::instance(c, i)?
                .filter(|r| {
                    r.study_instance_uid == t.study
                        && t.series
                            .as_ref()
                            .is_none_or(|s| *s == r.series_instance_uid)
                })
                .into_iter()
                .collect()),
            None => index::instances_of(c, &t.study, t.series.as_deref()),
        })
        .await?;
    if rows.is_empty() {
        return Err(ApiError::not_found(
            match (&target.series, &target.instance) {
                (_, Some(i)) => format!("no instance {i} in study {}", target.study),
                (Some(s), None) => format!("no series {s} in study {}", target.study),
                _ => format!("no study {}", target.study),
            },
        ));
    }
    Ok(rows)
}

/// The bytes of a stored instance.
pub async fn blob(state: &AppState, row: &InstanceRow) -> Result<Bytes, ApiError> {
    let blobs = common::blobs(state);
    let key = row.blob_sha256.clone();
    tokio::task::spawn_blocking(move || blobs.read(&key))
        .await
        .map_err(|e| ApiError::internal("blob read task failed", e))?
        .map_err(|e| ApiError::internal("stored instance unreadable", e))
}

/// The DICOM JSON of an instance's data set (no file meta, no pixel data).
pub async fn header_json(state: &AppState, row: &InstanceRow) -> Result<Object, ApiError> {
    let bytes = blob(state, row).await?;
    tokio::task::spawn_blocking(move || {
        let obj = crate::imaging::parse::read_header(&bytes)
            .map_err(|e| ApiError::internal("stored instance does not parse", e))?;
        let inner: &dicom_object::InMemDicomObject = &obj;
        match dicom_json::to_value(inner) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Ok(Object::new()),
            Err(e) => Err(ApiError::internal("DICOM JSON encoding failed", e)),
        }
    })
    .await
    .map_err(|e| ApiError::internal("metadata task failed", e))?
}

/// Decoded frame `frame` (1-based) of `row`, through the frame cache.
pub async fn frame_of(
    state: &AppState,
    row: &InstanceRow,
    frame: u32,
) -> Result<Arc<Frame>, ApiError> {
    if frame == 0 || frame > row.number_of_frames.max(1) as u32 {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NoSuchFrame",
            format!(
                "frame {frame} requested, instance {} has {} (frames are numbered from 1)",
                row.sop_instance_uid, row.number_of_frames
            ),
        ));
    }
    let blobs = common::blobs(state);
    let key = row.blob_sha256.clone();
    Ok(tokio::task::spawn_blocking(move || {
        render::frame_cached(&key, frame - 1, || blobs.read(&key))
    })
    .await
    .map_err(|e| ApiError::internal("decode task failed", e))??)
}

async fn audited(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    transaction: &'static str,
    rows: &[InstanceRow],
    result: Result<HttpResponse, ApiError>,
    image_read: bool,
) -> HttpResponse {
    let spec = AuditSpec {
        kind: Kind::Retrieve,
        transaction,
        participants: common::participants(rows),
        query: None,
        verdict: None,
    };
    if image_read {
        common::finish_image_read(state, req, spec, rows, result).await
    } else {
        common::finish(state, req, spec, result).await
    }
}

/// Looks up, authorizes, runs `f`, audits (`image_read`: frames, rendered, thumbnails, whose
/// successful answers use the audit window, `imaging::audit_window`).
async fn with_rows<F, Fut>(
    req: HttpRequest,
    state: web::Data<AppState>,
    target: Target,
    image_read: bool,
    f: F,
) -> HttpResponse
where
    F: FnOnce(Vec<InstanceRow>, web::Data<AppState>, HttpRequest) -> Fut,
    Fut: std::future::Future<Output = (Vec<InstanceRow>, Result<HttpResponse, ApiError>)>,
{
    let rows = match rows_of(&state, &target).await {
        Ok(r) => r,
        Err(e) => return audited(&req, &state, "RAD-107", &[], Err(e), false).await,
    };
    if let Err(e) = common::authorize_rows(&common::requester(&req), &rows).await {
        return audited(&req, &state, "RAD-107", &rows, Err(e), false).await;
    }
    let (touched, result) = f(rows, state.clone(), req.clone()).await;
    audited(&req, &state, "RAD-107", &touched, result, image_read).await
}

fn multipart(parts: Vec<(String, Bytes)>, type_param: &str) -> HttpResponse {
    let boundary = format!("hiehub-{}", uuid::Uuid::new_v4().simple());
    let mut body: Vec<Bytes> = Vec::with_capacity(parts.len() * 2 + 1);
    for (ct, bytes) in parts {
        body.push(Bytes::from(format!(
            "--{boundary}\r\nContent-Type: {ct}\r\n\r\n"
        )));
        body.push(bytes);
        body.push(Bytes::from_static(b"\r\n"));
    }
    body.push(Bytes::from(format!("--{boundary}--\r\n")));
    let stream = futures_util::stream::iter(body.into_iter().map(Ok::<_, actix_web::Error>));
    HttpResponse::Ok()
        .content_type(format!(
            "multipart/related; type=\"{type_param}\"; boundary={boundary}"
        ))
        .streaming(stream)
}

/// The `transfer-syntax` parameters of the `application/dicom` media ranges of an Accept
/// header (PS3.18 §8.7.3.5): empty when none names one (then instances go as stored).
pub fn accepted_transfer_syntaxes(accept: &str) -> Vec<String> {
    let mut out = Vec::new();
    for range in accept.split(',') {
        let mut params = range.split(';').map(str::trim);
        let media = params.next().unwrap_or("").to_ascii_lowercase();
        let mut ts = None;
        let mut dicom = media == "application/dicom";
        for p in params {
            let Some((k, v)) = p.split_once('=') else {
                continue;
            };
            let v = v.trim().trim_matches('"');
            match k.trim().to_ascii_lowercase().as_str() {
                "transfer-syntax" => ts = Some(v.to_owned()),
                "type" => dicom |= v.eq_ignore_ascii_case("application/dicom"),
                _ => {}
            }
        }
        if let (true, Some(t)) = (dicom, ts)
            && !t.is_empty()
        {
            out.push(t);
        }
    }
    out
}

async fn retrieve(req: HttpRequest, state: web::Data<AppState>, target: Target) -> HttpResponse {
    with_rows(req, state, target, false, |rows, state, req| async move {
        let accept = req
            .headers()
            .get(actix_web::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let wanted = accepted_transfer_syntaxes(accept);
        let any = wanted.is_empty() || wanted.iter().any(|t| t == "*");
        let mut parts = Vec::with_capacity(rows.len());
        for r in &rows {
            let b = match blob(&state, r).await {
                Ok(b) => b,
                Err(e) => return (rows, Err(e)),
            };
            if any || wanted.contains(&r.transfer_syntax_uid) {
                parts.push((
                    format!(
                        "application/dicom; transfer-syntax={}",
                        r.transfer_syntax_uid
                    ),
                    b,
                ));
                continue;
            }
            let (stored, w) = (r.transfer_syntax_uid.clone(), wanted.clone());
            let converted = tokio::task::spawn_blocking(move || {
                let out = crate::xdsi::rad69::in_transfer_syntax(b, &stored, &w)?;
                let ts = crate::imaging::parse::read_header(&out)
                    .map(|o| o.meta().transfer_syntax().trim_end_matches('\0').to_owned())
                    .map_err(|e| e.to_string())?;
                Ok::<_, String>((out, ts))
            })
            .await;
            match converted {
                Ok(Ok((out, ts))) => {
                    parts.push((format!("application/dicom; transfer-syntax={ts}"), out))
                }
                Ok(Err(m)) => {
                    let e = ApiError::new(
                        StatusCode::NOT_ACCEPTABLE,
                        "TransferSyntaxNotAvailable",
                        format!(
                            "instance {}: {m}; this server transcodes to Explicit or Implicit VR Little Endian only (or send transfer-syntax=* for the stored syntax)",
                            r.sop_instance_uid
                        ),
                    );
                    return (rows, Err(e));
                }
                Err(e) => return (rows, Err(ApiError::internal("transcode task failed", e))),
            }
        }
        (rows, Ok(multipart(parts, "application/dicom")))
    })
    .await
}

async fn metadata(req: HttpRequest, state: web::Data<AppState>, target: Target) -> HttpResponse {
    with_rows(req, state, target, false, |rows, state, req| async move {
        let base = super::base(&req);
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut m = match header_json(&state, r).await {
                Ok(m) => m,
                Err(e) => return (rows, Err(e)),
            };
            // The header is read without the pixel data; the frames are its bulk data.
            m.remove("7FE00010");
            if r.render_info().has_pixels {
                m.insert(
                    "7FE00010".into(),
                    serde_json::json!({
                        "vr": "OW",
                        "BulkDataURI": format!(
                            "{base}/studies/{}/series/{}/instances/{}/frames/1",
                            r.study_instance_uid, r.series_instance_uid, r.sop_instance_uid
                        ),
                    }),
                );
            }
            out.push(Value::Object(m));
        }
        let body = Value::Array(out).to_string();
        (
            rows,
            Ok(HttpResponse::Ok()
                .content_type("application/dicom+json")
                .body(body)),
        )
    })
    .await
}

/// Rendering options from `window`, `viewport`, `quality`, `accept` (PS3.18 §8.3.5).
#[derive(Debug)]
pub struct RenderRequest {
    pub options: Options,
    pub png: bool,
    pub quality: u8,
}

pub fn render_request(req: &HttpRequest) -> Result<RenderRequest, ApiError> {
    let mut r = RenderRequest {
        options: Options::default(),
        png: false,
        quality: 90,
    };
    let accept = req
        .headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    r.png = accept_prefers_png(&accept);
    for (k, v) in super::query_pairs(req)? {
        match k.as_str() {
            "window" => {
                let p: Vec<&str> = v.split(',').collect();
                let c = p.first().and_then(|s| s.trim().parse::<f64>().ok());
                let w = p.get(1).and_then(|s| s.trim().parse::<f64>().ok());
                match (c, w) {
                    (Some(c), Some(w)) if w >= 1.0 && c.is_finite() && w.is_finite() => {
                        r.options.window = Some((c, w))
                    }
                    _ => {
                        return Err(ApiError::bad_request(format!(
                            "window '{v}' is not center,width[,function] with width >= 1"
                        )));
                    }
                }
                if let Some(f) = p.get(2)
                    && !f.trim().eq_ignore_ascii_case("linear")
                {
                    return Err(ApiError::bad_request(format!(
                        "window function '{f}' is not supported (linear only)"
                    )));
                }
            }
            "viewport" => {
                let p: Vec<u32> = v.split(',').filter_map(|s| s.trim().parse().ok()).collect();
                match p.as_slice() {
                    [w, h, ..] if *w > 0 && *h > 0 && *w <= 8192 && *h <= 8192 => {
                        r.options.size = Some((*w, *h))
                    }
                    _ => {
                        return Err(ApiError::bad_request(format!(
                            "viewport '{v}' is not width,height (1..=8192)"
                        )));
                    }
                }
            }
            "quality" => {
                r.quality = v
                    .parse::<u8>()
                    .ok()
                    .filter(|q| (1..=100).contains(q))
                    .ok_or_else(|| {
                        ApiError::bad_request(format!("quality '{v}' is not 1..=100"))
                    })?;
            }
            "accept" => r.png = accept_prefers_png(&v.to_ascii_lowercase()),
            _ => {}
        }
    }
    Ok(r)
}

fn accept_prefers_png(accept: &str) -> bool {
    match (accept.find("image/png"), accept.find("image/jpeg")) {
        (Some(p), Some(j)) => p < j,
        (Some(_), None) => true,
        _ => false,
    }
}

/// Renders one frame as the request asks.
pub async fn render_frame(
    state: &AppState,
    row: &InstanceRow,
    frame: u32,
    rr: RenderRequest,
) -> Result<HttpResponse, ApiError> {
    let key = format!(
        "{}/{frame}/{:?}/{:?}/{:?}/{}/{}",
        row.blob_sha256, rr.options.window, rr.options.size, rr.options.region, rr.png, rr.quality
    );
    let (ct, body) = match render::rendered_cache().get(&key) {
        Some(hit) => hit,
        None => {
            let f = frame_of(state, row, frame).await?;
            let (ct, body) = tokio::task::spawn_blocking(move || {
                let img = render::to_image8(&f, &rr.options);
                if rr.png {
                    render::encode_png(&img).map(|b| ("image/png", b))
                } else {
                    render::encode_jpeg(&img, rr.quality).map(|b| ("image/jpeg", b))
                }
            })
            .await
            .map_err(|e| ApiError::internal("render task failed", e))??;
            let body = Bytes::from(body);
            render::rendered_cache().put(key, (ct, body.clone()));
            (ct, body)
        }
    };
    Ok(HttpResponse::Ok()
        .content_type(ct)
        .insert_header(("Cache-Control", "private, max-age=3600"))
        .body(body))
}

async fn rendered(
    req: HttpRequest,
    state: web::Data<AppState>,
    target: Target,
    frame: u32,
) -> HttpResponse {
    with_rows(
        req,
        state,
        target,
        true,
        move |rows, state, req| async move {
            let result = match render_request(&req) {
                Ok(rr) => render_frame(&state, &rows[0], frame, rr).await,
                Err(e) => Err(e),
            };
            (rows, result)
        },
    )
    .await
}

/// The instance a series or study is represented by: the middle one of the first series.
fn representative(rows: &[InstanceRow]) -> Option<&InstanceRow> {
    let first_series = &rows.first()?.series_instance_uid;
    let series: Vec<&InstanceRow> = rows
        .iter()
        .filter(|r| &r.series_instance_uid == first_series && r.render_info().has_pixels)
        .collect();
    series.get(series.len() / 2).copied()
}

async fn thumbnail(req: HttpRequest, state: web::Data<AppState>, target: Target) -> HttpResponse {
    with_rows(req, state, target, true, |rows, state, req| async move {
        let Some(row) = representative(&rows).cloned() else {
            return (
                rows,
                Err(ApiError::not_found(
                    "no instance with pixel data to make a thumbnail of",
                )),
            );
        };
        let result = match render_request(&req) {
            Ok(mut rr) => {
                rr.options.size = rr.options.size.or(Some((128, 128)));
                render_frame(&state, &row, 1, rr).await
            }
            Err(e) => Err(e),
        };
        (vec![row], result)
    })
    .await
}

/// `/frames/{list}`: frame numbers, comma separated, 1-based.
pub async fn frames(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String, String)>,
) -> HttpResponse {
    let (study, series, instance, list) = path.into_inner();
    let numbers: Result<Vec<u32>, _> = list.split(',').map(|s| s.trim().parse::<u32>()).collect();
    let numbers = match numbers {
        Ok(n) if !n.is_empty() && n.len() <= 10_000 => n,
        _ => {
            return ApiError::bad_request(format!("frame list '{list}' is not numbers like 1,2,3"))
                .response();
        }
    };
    let target = Target {
        study,
        series: Some(series),
        instance: Some(instance),
    };
    with_rows(req, state, target, true, |rows, state, _req| async move {
        let mut parts = Vec::with_capacity(numbers.len());
        for n in numbers {
            match frame_of(&state, &rows[0], n).await {
                Ok(f) => parts.push((
                    "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1".to_owned(),
                    Bytes::from(render::native_bytes(&f)),
                )),
                Err(e) => return (rows, Err(e)),
            }
        }
        (rows, Ok(multipart(parts, "application/octet-stream")))
    })
    .await
}

fn t(study: String, series: Option<String>, instance: Option<String>) -> Target {
    Target {
        study,
        series,
        instance,
    }
}

pub async fn retrieve_study(
    req: HttpRequest,
    state: web::Data<AppState>,
    p: web::Path<String>,
) -> HttpResponse {
    retrieve(req, state, t(p.into_inner(), None, None)).await
}

pub async fn retrieve_series(
    req: HttpRequest,
    state: web::Data<AppState>,
    p: web::Path<(String, String)>,
) -> HttpResponse {
    let (s, se) = p.into_inner();
    retrieve(req, state, t(s, Some(se), None)).await
}

pub async fn retrieve_instance(
    req: HttpRequest,
    state: web::Data<AppState>,
    p: web::Path<(String, String, String)>,
) -> HttpResponse {
    let (s, se, i) = p.into_inner();
    retrieve(req, state, t(s, Some(se), Some(i))).await
}

pub async fn metadata_study(
    req: HttpRequest,
    state: web::Data<AppState>,
    p: web::Path<String>,
) -> HttpResponse {
    metadata(req, state, t(p.into_inner(), None, None)).await
}

pub async fn metadata_series(
    req: HttpRequest,
    state: web::Data<AppState>,
    p: web::Path<(String, String)>,
) -> HttpResponse {
    let (s, se) = p.into_inner();
    metadata(req, state, t(s, Some(se), None)).await
}

pub async fn metadata_instance(
    req: HttpRequest,
    state: web::Data<AppState>,
    p: web::Path<(String, String, String)>,
) -> HttpResponse {
    let (s, se, i) = p.into_inner();
    metadata(req, state, t(s, Some(se), Some(i))).await
}

pub async fn rendered_instance(
    req: HttpRequest,
    state: web::Data<AppState>,
    p: web::Path<(String, String, String)>,
) -> HttpResponse {
    let (s, se, i) = p.into_inner();
    rendered(req, state, t(s, Some(se), Some(i)), 1).await
}

pub async fn rendered_frame(
    req: HttpRequest,
    state: web::Data<AppState>,
    p: web::Path<(String, String, String, String)>,
) -> HttpResponse {
    let (s, se, i, f) = p.into_inner();
    let Ok(frame) = f.trim().parse::<u32>() else {
        return ApiError::bad_request(format!("frame '{f}' is not a number")).response();
    };
    rendered(req, state, t(s, Some(se), Some(i)), frame).await
}

pub async fn thumbnail_study(
    req: HttpRequest,
    state: web::Data<AppState>,
    p: web::Path<String>,
) -> HttpResponse {
    thumbnail(req, state, t(p.into_inner(), None, None)).await
}

pub async fn thumbnail_series(
    req: HttpRequest,
    state: web::Data<AppState>,
    p: web::Path<(String, String)>,
) -> HttpResponse {
    let (s, se) = p.into_inner();
    thumbnail(req, state, t(s, Some(se), None)).await
}

pub async fn thumbnail_instance(
    req: HttpRequest,
    state: web::Data<AppState>,
    p: web::Path<(String, String, String)>,
) -> HttpResponse {
    let (s, se, i) = p.into_inner();
    thumbnail(req, state, t(s, Some(se), Some(i))).await
}

#[cfg(test)]
mod tests {
    use super::accepted_transfer_syntaxes as ts;

    #[test]
    fn transfer_syntax_parameters_of_the_accept_header() {
        assert!(ts("").is_empty());
        assert!(ts("multipart/related; type=\"application/dicom\"").is_empty());
        assert_eq!(
            ts(
                "multipart/related; type=\"application/dicom\"; transfer-syntax=1.2.840.10008.1.2.1"
            ),
            vec!["1.2.840.10008.1.2.1"]
        );
        assert_eq!(
            ts(
                "multipart/related; type=application/dicom; transfer-syntax=\"*\", multipart/related; type=\"application/octet-stream\"; transfer-syntax=1.2.3"
            ),
            vec!["*"]
        );
    }
}
