//! HTTP surface: the SOAP endpoints, `?wsdl` and `/schemas/`, `/healthz`, `/metrics`.
//!
//! Invariant: every route is bound here, so DESIGN.md's network table can be checked in one place.

pub mod anchor_api;
pub mod inspector;
pub mod ledger_api;
pub mod patients_api;
pub mod soap_endpoint;

use actix_web::dev::Extensions;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use metrics_exporter_prometheus::PrometheusHandle;

use crate::audit::AuditSink;
use crate::config::Config;
use crate::store::Db;
use crate::tls::NodeIdentity;
use crate::transaction::Endpoint;
use crate::xml;

/// Everything a request handler may use.
pub struct AppState {
    pub config: Config,
    pub db: Db,
    pub sink: AuditSink,
    pub xml_limits: xml::Limits,
    pub metrics: PrometheusHandle,
    /// The active affinity domain (`profiles/<affinity_domain>`).
    pub domain: std::sync::Arc<crate::profiles::AffinityDomain>,
    /// Patient consent enforcement (issue 6): the one entry point for every exit.
    pub consent: crate::consent::Enforcer,
    /// XUA: the identity providers whose SAML assertions are verified and trusted
    /// (`xua_trusted_certs`); `None`: WS-Security is not processed.
    pub xua: Option<crate::xua::Trust>,
}

/// What the connection told us before any request: TLS or not, and the client's identity.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    pub tls: bool,
    pub identity: Option<NodeIdentity>,
}

/// `on_connect` hook: records the client certificate of TLS connections.
pub fn on_connect(conn: &dyn std::any::Any, ext: &mut Extensions) {
    type Tls = actix_tls::accept::openssl::TlsStream<actix_web::rt::net::TcpStream>;
    if let Some(stream) = conn.downcast_ref::<Tls>() {
        let identity = stream
            .ssl()
            .peer_certificate()
            .map(|c| NodeIdentity::from_cert(&c));
        ext.insert(ConnInfo {
            tls: true,
            identity,
        });
    } else {
        ext.insert(ConnInfo {
            tls: false,
            identity: None,
        });
    }
}

pub mod schemas {
    include!(concat!(env!("OUT_DIR"), "/schemas.rs"));

    pub fn get(name: &str) -> Option<&'static [u8]> {
        FILES.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Bad query parameters get a JSON error naming the problem, like every other API error.
    cfg.app_data(web::QueryConfig::default().error_handler(|err, _req| {
        let message = format!("bad query parameter: {err}");
        actix_web::error::InternalError::from_response(
            err,
            HttpResponse::BadRequest().json(serde_json::json!({ "error": message })),
        )
        .into()
    }));
    for endpoint in Endpoint::ALL {
        cfg.service(
            web::resource(endpoint.path())
                .app_data(web::Data::new(endpoint))
                .route(web::post().to(soap_endpoint::handle))
                .route(web::get().to(wsdl)),
        );
    }
    ledger_api::configure(cfg);
    inspector::configure(cfg);
    patients_api::configure(cfg);
    crate::consent::api::configure(cfg);
    crate::dicomweb::configure(cfg);
    crate::viewer::configure(cfg);
    cfg.route("/schemas/{file}", web::get().to(schema_file))
        .route("/healthz", web::get().to(healthz))
        .route("/metrics", web::get().to(metrics));
}

/// The externally visible base URL of this request (scheme and host as the client used them).
fn base_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

async fn wsdl(req: HttpRequest, endpoint: web::Data<Endpoint>) -> HttpResponse {
    if !req.query_string().eq_ignore_ascii_case("wsdl") {
        return HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, "POST"))
            .body(format!(
                "{} takes SOAP 1.2 requests by POST; GET {}?wsdl for its WSDL\n",
                endpoint.path(),
                endpoint.path()
            ));
    }
    let Some(bytes) = schemas::get(endpoint.wsdl_file()) else {
        return HttpResponse::NotFound().body("WSDL not built into this binary\n");
    };
    let text = String::from_utf8_lossy(bytes);
    let base = base_url(&req);
    let body = rewrite_wsdl(&text, &format!("{base}{}", endpoint.path()), "/schemas/");
    HttpResponse::Ok()
        .content_type("text/xml; charset=utf-8")
        .body(body)
}

/// Points `soap12:address/@location` at `address` and relative `schemaLocation`s at `schema_base`.
pub fn rewrite_wsdl(text: &str, address: &str, schema_base: &str) -> String {
    let text = rewrite_attr(text, "schemaLocation", |v| {
        (!v.starts_with('/') && !v.contains(':')).then(|| format!("{schema_base}{v}"))
    });
    let escaped = crate::xml::escape(address);
    rewrite_attr(&text, "location", |_| Some(escaped.to_string()))
}

/// Replaces the value of every ` name="..."` attribute for which `f` returns a new value.
fn rewrite_attr(text: &str, name: &str, f: impl Fn(&str) -> Option<String>) -> String {
    let pattern = format!(" {name}=\"");
    let mut out = String::with_capacity(text.len() + 256);
    let mut rest = text;
    while let Some(i) = rest.find(&pattern) {
        let start = i + pattern.len();
        let Some(len) = rest[start..].find('"') else {
            break;
        };
        out.push_str(&rest[..start]);
        let value = &rest[start..start + len];
        out.push_str(&f(value).unwrap_or_else(|| value.to_owned()));
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    out
}

async fn schema_file(path: web::Path<String>) -> HttpResponse {
    match schemas::get(&path) {
        Some(bytes) => HttpResponse::Ok()
            .content_type("text/xml; charset=utf-8")
            .body(bytes),
        None => HttpResponse::NotFound().body(format!("no schema named {path}\n")),
    }
}

async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let db = state
        .db
        .run(|c| {
            use diesel::RunQueryDsl;
            diesel::sql_query("SELECT 1").execute(c).map_err(Into::into)
        })
        .await;
    let writer = state.sink.is_alive();
    let body = serde_json::json!({
        "status": if db.is_ok() && writer { "ok" } else { "unavailable" },
        "database": match &db { Ok(_) => "ok".to_string(), Err(e) => e.to_string() },
        "audit_writer": if writer { "ok" } else { "stopped" },
    });
    if db.is_ok() && writer {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let (open, idle) = state.db.pool_state();
    metrics::gauge!("hiehub_db_pool_connections").set(open as f64);
    metrics::gauge!("hiehub_db_pool_idle").set(idle as f64);
    metrics::gauge!("hiehub_audit_queue_depth").set(state.sink.queue_depth() as f64);
    metrics::gauge!("hiehub_audit_events_committed").set(state.sink.committed() as f64);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}

/// Middleware: a request id (the client's `X-Request-Id`, or a new UUID) on a tracing span around
/// the request and echoed in the response.
pub async fn request_id(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    use tracing::Instrument;
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.path());
    let mut res = next.call(req).instrument(span).await?;
    if let Ok(v) = header::HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(header::HeaderName::from_static("x-request-id"), v);
    }
    Ok(res)
}
