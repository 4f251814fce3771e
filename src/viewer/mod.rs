//! The browser viewer: the static files of `dicom-viewer/` (embedded at build time by
//! `build.rs`) at `/viewer/`, and the viewer's JSON API at `/viewer/api/` (the contract is
//! `dicom-viewer`'s README / the viewer contract): studies of a patient, one study's series and
//! instances, decoded pixels, the radiology report as safe HTML.
//!
//! Invariant: the running server needs no file of the source tree (the files are in the binary).
//! Invariant: every API answer passes `imaging::access::authorize` and is audited
//! (DICOM Instances Accessed) before it is sent.

pub mod api;
pub mod report;

use actix_web::{HttpRequest, HttpResponse, web};

mod files {
    include!(concat!(env!("OUT_DIR"), "/viewer_files.rs"));
}

/// The embedded file at `path` (relative to `dicom-viewer/`, `/`-separated).
pub fn file(path: &str) -> Option<&'static [u8]> {
    files::FILES
        .iter()
        .find(|(n, _)| *n == path)
        .map(|(_, b)| *b)
}

/// The embedded file names.
pub fn file_names() -> impl Iterator<Item = &'static str> {
    files::FILES.iter().map(|(n, _)| *n)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/viewer/api/patients/{patient}/studies",
        web::get().to(api::patient_studies),
    )
    .route("/viewer/api/studies/{study}", web::get().to(api::study))
    .route(
        "/viewer/api/pixels/{study}/{series}/{instance}/{frame}",
        web::get().to(api::pixels),
    )
    .route("/viewer/api/reports/{document}", web::get().to(api::report))
    .route("/viewer/api/{rest:.*}", web::get().to(api::unknown))
    .route("/viewer", web::get().to(redirect))
    .route("/viewer/", web::get().to(index))
    .route("/viewer/{path:.*}", web::get().to(static_file));
}

async fn redirect(req: HttpRequest) -> HttpResponse {
    let q = req.query_string();
    let to = if q.is_empty() {
        "/viewer/".to_owned()
    } else {
        format!("/viewer/?{q}")
    };
    HttpResponse::PermanentRedirect()
        .insert_header(("Location", to))
        .finish()
}

async fn index() -> HttpResponse {
    serve("index.html")
}

async fn static_file(path: web::Path<String>) -> HttpResponse {
    let p = path.into_inner();
    if p.is_empty() {
        return serve("index.html");
    }
    serve(&p)
}

fn serve(path: &str) -> HttpResponse {
    match file(path) {
        Some(bytes) => HttpResponse::Ok()
            .content_type(content_type(path))
            .insert_header((
                "Cache-Control",
                if path.ends_with(".html") {
                    "no-cache"
                } else {
                    "public, max-age=300"
                },
            ))
            .insert_header(("X-Content-Type-Options", "nosniff"))
            .body(bytes),
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body(format!("no viewer file {path}\n")),
    }
}

/// The Content-Type of a viewer file, by extension.
pub fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "ico" => "image/x-icon",
        "wasm" => "application/wasm",
        "woff2" => "font/woff2",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}
