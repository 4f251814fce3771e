//! QIDO-RS (PS3.18 §10.6, IHE RAD-129): studies, series and instances matched on the index.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::common::{self, ApiError, AuditSpec, Kind};
use super::json;
use crate::imaging::index::{self, InstanceRow, Key, Level, Match};
use crate::web::AppState;

const DEFAULT_LIMIT: i64 = 1000;
const MAX_LIMIT: i64 = 10_000;

/// A parsed QIDO query.
#[derive(Debug, Default)]
pub struct Query {
    pub filters: Vec<(Key, Match)>,
    pub limit: i64,
    pub offset: i64,
    /// `None`: the default attributes; `Some(["all"])`: everything.
    pub include: Option<Vec<String>>,
}

pub fn parse_query(pairs: &[(String, String)]) -> Result<Query, ApiError> {
    let mut q = Query {
        limit: DEFAULT_LIMIT,
        ..Query::default()
    };
    for (k, v) in pairs {
        match k.as_str() {
            "limit" => {
                q.limit = v
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| ApiError::bad_request(format!("limit '{v}' is not a count")))?
                    .min(MAX_LIMIT);
            }
            "offset" => {
                q.offset =
                    v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                        ApiError::bad_request(format!("offset '{v}' is not a count"))
                    })?;
            }
            "includefield" => {
                let list = q.include.get_or_insert_with(Vec::new);
                for f in v.split(',').map(str::trim).filter(|f| !f.is_empty()) {
                    list.push(match f {
                        "all" => "all".to_owned(),
                        f if f.len() == 8 && f.bytes().all(|b| b.is_ascii_hexdigit()) => {
                            f.to_ascii_uppercase()
                        }
                        f => tag_of_keyword(f).ok_or_else(|| {
                            ApiError::bad_request(format!("includefield '{f}' is not an attribute"))
                        })?,
                    });
                }
            }
            "fuzzymatching" | "accept" | "charset" => {}
            name => {
                let key = Key::from_param(name).ok_or_else(|| {
                    ApiError::bad_request(format!("'{name}' is not a supported query key"))
                })?;
                if v.is_empty() {
                    continue; // universal matching
                }
                let m = key
                    .parse_match(v)
                    .map_err(|e| ApiError::bad_request(format!("{name}: {e}")))?;
                q.filters.push((key, m));
            }
        }
    }
    Ok(q)
}

fn tag_of_keyword(keyword: &str) -> Option<String> {
    use dicom_core::dictionary::DataDictionary;
    dicom_dictionary_std::StandardDataDictionary
        .by_name(keyword)
        .and_then(|e| match e.tag {
            dicom_core::dictionary::TagRange::Single(t) => {
                Some(format!("{:04X}{:04X}", t.group(), t.element()))
            }
            _ => None,
        })
}

async fn search(
    req: HttpRequest,
    state: web::Data<AppState>,
    level: Level,
    fixed: Vec<(Key, Match)>,
) -> HttpResponse {
    let mut rows_for_audit: Vec<InstanceRow> = Vec::new();
    let result = async {
        let mut q = parse_query(&super::query_pairs(&req)?)?;
        q.filters.extend(fixed);
        let (filters, limit, offset) = (q.filters.clone(), q.limit, q.offset);
        let rows = state
            .db
            .run(move |c| index::search(c, level, &filters, limit, offset))
            .await?;
        common::authorize_rows(&common::requester(&req), &rows).await?;
        let base = super::base(&req);
        let answer = answer(level, &rows, &base, q.include.as_deref(), &state).await?;
        rows_for_audit = rows;
        Ok(HttpResponse::Ok()
            .content_type("application/dicom+json")
            .body(Value::Array(answer).to_string()))
    }
    .await;
    let mut participants = common::participants(&rows_for_audit);
    // A query names its patients and studies, not every matching instance.
    for p in &mut participants {
        for d in &mut p.descriptions {
            for c in &mut d.sop_classes {
                c.instances.clear();
            }
        }
    }
    let spec = AuditSpec {
        kind: Kind::Query,
        transaction: "RAD-129",
        participants,
        query: Some(req.query_string().to_owned()),
        verdict: None,
    };
    common::finish(&state, &req, spec, result).await
}

async fn answer(
    level: Level,
    rows: &[InstanceRow],
    base: &str,
    include: Option<&[String]>,
    state: &AppState,
) -> Result<Vec<Value>, ApiError> {
    let all = include.is_some_and(|i| i.iter().any(|f| f == "all"));
    let mut out = Vec::new();
    match level {
        Level::Study | Level::Series => {
            let mut groups: Vec<(&str, Vec<&InstanceRow>)> = Vec::new();
            for r in rows {
                let key = if level == Level::Study {
                    r.study_instance_uid.as_str()
                } else {
                    r.series_instance_uid.as_str()
                };
                match groups.iter_mut().find(|g| g.0 == key) {
                    Some(g) => g.1.push(r),
                    None => groups.push((key, vec![r])),
                }
            }
            for (_, g) in groups {
                let m = if level == Level::Study {
                    json::study(&g, base)
                } else {
                    json::series(&g, base)
                };
                out.push(Value::Object(m));
            }
        }
        Level::Instance => {
            for r in rows {
                let mut m = json::instance(r, base);
                let extra: Vec<&String> = include
                    .unwrap_or(&[])
                    .iter()
                    .filter(|t| *t != "all" && !m.contains_key(t.as_str()))
                    .collect();
                if all || !extra.is_empty() {
                    let header = super::wado::header_json(state, r).await?;
                    for (k, v) in header {
                        if k.starts_with("7FE0") {
                            continue;
                        }
                        if all || extra.iter().any(|t| **t == k) {
                            m.entry(k).or_insert(v);
                        }
                    }
                }
                out.push(Value::Object(m));
            }
        }
    }
    Ok(out)
}

fn study_key(study: &str) -> Result<(Key, Match), ApiError> {
    crate::imaging::DicomUid::parse(study)
        .map_err(|e| ApiError::bad_request(format!("study in the URL: {e}")))?;
    Ok((Key::StudyInstanceUid, Match::Exact(study.to_owned())))
}

pub async fn studies(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    search(req, state, Level::Study, Vec::new()).await
}

pub async fn all_series(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    search(req, state, Level::Series, Vec::new()).await
}

pub async fn all_instances(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    search(req, state, Level::Instance, Vec::new()).await
}

pub async fn study_series(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> HttpResponse {
    match study_key(&path) {
        Ok(k) => search(req, state, Level::Series, vec![k]).await,
        Err(e) => e.response(),
    }
}

pub async fn study_instances(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> HttpResponse {
    match study_key(&path) {
        Ok(k) => search(req, state, Level::Instance, vec![k]).await,
        Err(e) => e.response(),
    }
}

pub async fn series_instances(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (study, series) = path.into_inner();
    match study_key(&study) {
        Ok(k) => {
            search(
                req,
                state,
                Level::Instance,
                vec![k, (Key::SeriesInstanceUid, Match::Exact(series))],
            )
            .await
        }
        Err(e) => e.response(),
    }
}
