//! DICOMweb (PS3.18) and WADO-URI over HTTP: STOW-RS, QIDO-RS, WADO-RS (instances, metadata,
//! frames, rendered, thumbnails) under `/dicomweb`, WADO-URI (IHE RAD-55) at `/wado`.
//!
//! Invariant: every handler that returns imaging data goes through
//! `imaging::access::authorize` (via [`common::authorize_rows`]) and answers only after its
//! audit event is committed ([`common::finish`]).

pub mod common;
pub mod json;
pub mod qido;
pub mod stow;
pub mod wado;
pub mod wado_uri;

use actix_web::{HttpRequest, web};

/// Every DICOMweb and WADO-URI route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    const S: &str = "/dicomweb/studies/{study}";
    const SE: &str = "/dicomweb/studies/{study}/series/{series}";
    const I: &str = "/dicomweb/studies/{study}/series/{series}/instances/{instance}";
    cfg.route("/dicomweb/studies", web::post().to(stow_all))
        .route("/dicomweb/studies", web::get().to(qido::studies))
        .route("/dicomweb/series", web::get().to(qido::all_series))
        .route("/dicomweb/instances", web::get().to(qido::all_instances))
        .route(S, web::post().to(stow_study))
        .route(S, web::get().to(wado::retrieve_study))
        .route(
            &format!("{S}/metadata"),
            web::get().to(wado::metadata_study),
        )
        .route(
            &format!("{S}/thumbnail"),
            web::get().to(wado::thumbnail_study),
        )
        .route(&format!("{S}/series"), web::get().to(qido::study_series))
        .route(
            &format!("{S}/instances"),
            web::get().to(qido::study_instances),
        )
        .route(SE, web::get().to(wado::retrieve_series))
        .route(
            &format!("{SE}/metadata"),
            web::get().to(wado::metadata_series),
        )
        .route(
            &format!("{SE}/thumbnail"),
            web::get().to(wado::thumbnail_series),
        )
        .route(
            &format!("{SE}/instances"),
            web::get().to(qido::series_instances),
        )
        .route(I, web::get().to(wado::retrieve_instance))
        .route(
            &format!("{I}/metadata"),
            web::get().to(wado::metadata_instance),
        )
        .route(
            &format!("{I}/rendered"),
            web::get().to(wado::rendered_instance),
        )
        .route(
            &format!("{I}/thumbnail"),
            web::get().to(wado::thumbnail_instance),
        )
        .route(
            &format!("{I}/frames/{{frames}}"),
            web::get().to(wado::frames),
        )
        .route(
            &format!("{I}/frames/{{frames}}/rendered"),
            web::get().to(wado::rendered_frame),
        )
        .route("/wado", web::get().to(wado_uri::handle));
}

async fn stow_all(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<crate::web::AppState>,
) -> actix_web::HttpResponse {
    stow::store(req, payload, state, None).await
}

async fn stow_study(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<crate::web::AppState>,
    path: web::Path<String>,
) -> actix_web::HttpResponse {
    stow::store(req, payload, state, Some(path)).await
}

/// The DICOMweb base URL of this request (`scheme://host/dicomweb`).
pub fn base(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}/dicomweb", info.scheme(), info.host())
}

/// The query pairs of a request, in order (repeated keys kept).
pub fn query_pairs(req: &HttpRequest) -> Result<Vec<(String, String)>, common::ApiError> {
    web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .map_err(|e| common::ApiError::bad_request(format!("bad query string: {e}")))
}
