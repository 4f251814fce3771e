//! WADO-URI (PS3.18 §9, IHE RAD-55): `GET /wado?requestType=WADO&studyUID=..&seriesUID=..&
//! objectUID=..` with `contentType` application/dicom (as stored), image/jpeg (default) or
//! image/png, and for images `windowCenter`/`windowWidth`, `frameNumber`, `rows`/`columns`,
//! `region`, `imageQuality`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::common::{self, ApiError, AuditSpec, Kind};
use super::wado::{self, RenderRequest, Target};
use crate::render::Options;
use crate::web::AppState;

#[derive(Debug, Default)]
struct Params {
    target: Option<Target>,
    content_type: String,
    frame: u32,
    request: Option<RenderRequest>,
    transfer_syntax: Option<String>,
}

fn parse(req: &HttpRequest) -> Result<Params, ApiError> {
    let pairs = super::query_pairs(req)?;
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    match get("requestType") {
        Some("WADO") => {}
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "requestType '{other}' is not supported (WADO)"
            )));
        }
        None => return Err(ApiError::bad_request("requestType=WADO is required")),
    }
    let need = |k: &str| {
        get(k)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| ApiError::bad_request(format!("{k} is required")))
    };
    let target = Target {
        study: need("studyUID")?,
        series: Some(need("seriesUID")?),
        instance: Some(need("objectUID")?),
    };
    // contentType may list several types; the first one we produce wins.
    let content_type = get("contentType")
        .unwrap_or("image/jpeg")
        .split(',')
        .map(|t| {
            t.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .find(|t| {
            matches!(
                t.as_str(),
                "application/dicom" | "image/jpeg" | "image/png" | "*/*" | "image/*"
            )
        })
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_ACCEPTABLE,
                "UnsupportedContentType",
                format!(
                    "contentType '{}' is not one of application/dicom, image/jpeg, image/png",
                    get("contentType").unwrap_or("")
                ),
            )
        })?;
    let num = |k: &str| -> Result<Option<f64>, ApiError> {
        match get(k) {
            None | Some("") => Ok(None),
            Some(v) => v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(Some)
                .ok_or_else(|| ApiError::bad_request(format!("{k} '{v}' is not a number"))),
        }
    };
    let dim = |k: &str| -> Result<Option<u32>, ApiError> {
        match num(k)? {
            None => Ok(None),
            Some(x) if (1.0..=8192.0).contains(&x) && x.fract() == 0.0 => Ok(Some(x as u32)),
            Some(x) => Err(ApiError::bad_request(format!("{k} {x} is not 1..=8192"))),
        }
    };
    let frame = match num("frameNumber")? {
        None => 1,
        Some(x) if x >= 1.0 && x.fract() == 0.0 && x <= f64::from(u32::MAX) => x as u32,
        Some(x) => {
            return Err(ApiError::bad_request(format!(
                "frameNumber {x} is not a frame number (from 1)"
            )));
        }
    };
    let window = match (num("windowCenter")?, num("windowWidth")?) {
        (Some(c), Some(w)) if w >= 1.0 => Some((c, w)),
        (None, None) => None,
        _ => {
            return Err(ApiError::bad_request(
                "windowCenter and windowWidth go together, with windowWidth >= 1",
            ));
        }
    };
    let region = match get("region") {
        None | Some("") => None,
        Some(v) => {
            let p: Vec<f64> = v.split(',').filter_map(|s| s.trim().parse().ok()).collect();
            match p.as_slice() {
                [a, b, c, d] if p.iter().all(|x| (0.0..=1.0).contains(x)) && a < c && b < d => {
                    Some([*a, *b, *c, *d])
                }
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "region '{v}' is not x1,y1,x2,y2 with 0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1"
                    )));
                }
            }
        }
    };
    let (rows, cols) = (dim("rows")?, dim("columns")?);
    let quality = match num("imageQuality")? {
        None => 90,
        Some(q) if (1.0..=100.0).contains(&q) => q as u8,
        Some(q) => {
            return Err(ApiError::bad_request(format!(
                "imageQuality {q} is not 1..=100"
            )));
        }
    };
    let size = match (rows, cols) {
        (None, None) => None,
        (r, c) => Some((c.unwrap_or(8192), r.unwrap_or(8192))),
    };
    Ok(Params {
        target: Some(target),
        frame,
        request: Some(RenderRequest {
            options: Options {
                window,
                region,
                size,
            },
            png: content_type == "image/png",
            quality,
        }),
        content_type,
        transfer_syntax: get("transferSyntax").map(str::to_owned),
    })
}

pub async fn handle(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let mut touched = Vec::new();
    // application/dicom is an instance retrieval (one event each); images use the window
    let mut image_read = false;
    let result = async {
        let p = parse(&req)?;
        image_read = p.content_type != "application/dicom";
        let target = p
            .target
            .ok_or_else(|| ApiError::bad_request("no object named"))?;
        let rows = wado::rows_of(&state, &target).await?;
        touched = rows.clone();
        common::authorize_rows(&common::requester(&req), &rows).await?;
        let row = &rows[0];
        if p.content_type == "application/dicom" {
            if let Some(ts) = &p.transfer_syntax
                && ts != &row.transfer_syntax_uid
                && ts != "*"
            {
                return Err(ApiError::new(
                    StatusCode::NOT_ACCEPTABLE,
                    "TransferSyntaxNotAvailable",
                    format!(
                        "the object is stored in {}; transcoding to {ts} is not available",
                        row.transfer_syntax_uid
                    ),
                ));
            }
            let bytes = wado::blob(&state, row).await?;
            return Ok(HttpResponse::Ok()
                .content_type("application/dicom")
                .body(bytes));
        }
        let rr = p
            .request
            .ok_or_else(|| ApiError::bad_request("no rendering parameters"))?;
        wado::render_frame(&state, row, p.frame, rr).await
    }
    .await;
    let spec = AuditSpec {
        kind: Kind::Retrieve,
        transaction: "RAD-55",
        participants: common::participants(&touched),
        query: None,
        verdict: None,
    };
    if image_read {
        common::finish_image_read(&state, &req, spec, &touched, result).await
    } else {
        common::finish(&state, &req, spec, result).await
    }
}
