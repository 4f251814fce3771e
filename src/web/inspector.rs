//! The audit inspector at `/audit/`: pages for security officers over the JSON API of
//! [`super::ledger_api`].
//!
//! - `/audit/` (`index.html` + `events.js`): a live table of recent events from `/api/audit`, with
//!   the search filters kept in the page's query string so a filtered view can be bookmarked.
//! - `/audit/event.html?seq=N` (`event.js`): one ledger entry, decoded and raw, and its inclusion
//!   proof to view and download.
//! - `/audit/chain.html` (`chain.js`): the latest signed checkpoint and verifier key, past
//!   verifications, and "verify now".
//!
//! The pages are plain HTML, CSS and ES modules under `src/web/inspector/`, embedded in the
//! binary: no build step, no framework, nothing fetched from elsewhere.
//!
//! Invariant: the inspector has no data path of its own; everything it shows comes from the
//! public JSON API, called from the browser.
//! Invariant: no inline script or style: every response carries `Content-Security-Policy:
//! default-src 'self'`, and the scripts put untrusted text into the page only as text nodes.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use sha3::{Digest, Sha3_256};

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

const ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        content_type: HTML,
        body: include_bytes!("inspector/index.html"),
    },
    Asset {
        name: "event.html",
        content_type: HTML,
        body: include_bytes!("inspector/event.html"),
    },
    Asset {
        name: "chain.html",
        content_type: HTML,
        body: include_bytes!("inspector/chain.html"),
    },
    Asset {
        name: "common.js",
        content_type: JS,
        body: include_bytes!("inspector/common.js"),
    },
    Asset {
        name: "events.js",
        content_type: JS,
        body: include_bytes!("inspector/events.js"),
    },
    Asset {
        name: "event.js",
        content_type: JS,
        body: include_bytes!("inspector/event.js"),
    },
    Asset {
        name: "chain.js",
        content_type: JS,
        body: include_bytes!("inspector/chain.js"),
    },
    Asset {
        name: "style.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("inspector/style.css"),
    },
    Asset {
        name: "icon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("inspector/icon.svg"),
    },
];

const CSP: &str = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Strong validators, one per asset (same order as [`ASSETS`]): a page load revalidates with
/// `If-None-Match` and gets `304 Not Modified` until the binary changes.
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| format!("\"{}\"", hex::encode(&Sha3_256::digest(a.body)[..12])))
        .collect()
});

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/audit")
            .route(web::get().to(to_index))
            .route(web::head().to(to_index)),
    )
    .service(
        web::resource("/audit/")
            .route(web::get().to(index))
            .route(web::head().to(index)),
    )
    .service(
        web::resource("/audit/{file}")
            .route(web::get().to(file))
            .route(web::head().to(file)),
    );
}

async fn to_index() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/audit/"))
        .finish()
}

async fn index(req: HttpRequest) -> HttpResponse {
    serve(&req, "index.html")
}

async fn file(req: HttpRequest, name: web::Path<String>) -> HttpResponse {
    serve(&req, &name)
}

fn serve(req: &HttpRequest, name: &str) -> HttpResponse {
    let Some(i) = ASSETS.iter().position(|a| a.name == name) else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body(format!("no inspector page named {name}\n"));
    };
    let asset = &ASSETS[i];
    let etag = ETAGS[i].as_str();
    let fresh = if_none_match(req, etag);
    let mut resp = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    resp.insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::ETAG, etag));
    if fresh {
        return resp.finish();
    }
    resp.content_type(asset.content_type).body(asset.body)
}

/// Whether the request's `If-None-Match` names `etag` (or `*`).
fn if_none_match(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_and_module_it_references_is_embedded() {
        let names: Vec<&str> = ASSETS.iter().map(|a| a.name).collect();
        for a in ASSETS.iter().filter(|a| a.name.ends_with(".html")) {
            let text = std::str::from_utf8(a.body).unwrap();
            for attr in ["src=\"", "href=\""] {
                for part in text.split(attr).skip(1) {
                    let target = part.split('"').next().unwrap();
                    let target = target.split(['?', '#']).next().unwrap();
                    // "./" is the index; absolute paths are the server's own API
                    if target.is_empty() || target == "./" || target.starts_with('/') {
                        continue;
                    }
                    assert!(names.contains(&target), "{} references {target}", a.name);
                }
            }
            assert!(!text.contains("<script>"), "{}: inline script", a.name);
            assert!(!text.contains(" style=\""), "{}: inline style", a.name);
        }
        for a in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            let text = std::str::from_utf8(a.body).unwrap();
            for part in text.split(" from './").skip(1) {
                let target = part.split('\'').next().unwrap();
                assert!(names.contains(&target), "{} imports {target}", a.name);
            }
            assert!(!text.contains("innerHTML"), "{}: innerHTML", a.name);
        }
    }

    #[test]
    fn if_none_match_accepts_lists_and_weak_tags() {
        let req = actix_web::test::TestRequest::default()
            .insert_header((header::IF_NONE_MATCH, "\"a\", W/\"b\""))
            .to_http_request();
        assert!(if_none_match(&req, "\"b\""));
        assert!(!if_none_match(&req, "\"c\""));
    }
}
