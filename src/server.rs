//! The `serve` lifecycle: database (embedded or configured), migrations, audit writer, listeners,
//! application start/stop audit events, clean shutdown on SIGINT/SIGTERM.

use std::sync::Arc;

use actix_web::{App, HttpServer, middleware, web};

use crate::audit::{self, AuditEvent, AuditSink, Code, Outcome, Transport};
use crate::config::Config;
use crate::store::{self, Db, cluster};
use crate::tls::{self, DevPki};
use crate::web::{self as routes, AppState};
use crate::xml;

/// Where the database comes from, and whether hiehub must stop it on exit.
pub struct Database {
    pub url: String,
    pub cluster: Option<(cluster::Cluster, bool)>,
}

/// Resolves `database_url`, starting the embedded cluster when none is configured.
pub fn open_database(config: &Config) -> anyhow::Result<Database> {
    if !config.database_url.is_empty() {
        return Ok(Database {
            url: config.database_url.clone(),
            cluster: None,
        });
    }
    std::fs::create_dir_all(&config.data_dir)?;
    let c = cluster::Cluster::new(&config.data_dir)?;
    let started = c.start(&cluster::ClusterOptions {
        fsync: true,
        extra_settings: Vec::new(),
    })?;
    let ours = matches!(started, cluster::Started::Now);
    c.ensure_database("hiehub")?;
    tracing::info!(
        socket_dir = %c.socket_dir().display(),
        already_running = !ours,
        "embedded PostgreSQL ready"
    );
    Ok(Database {
        url: c.conninfo("hiehub"),
        cluster: Some((c, ours)),
    })
}

impl Database {
    /// Stops the embedded cluster if this process started it.
    pub fn close(self) {
        if let Some((c, true)) = self.cluster
            && let Err(e) = c.stop()
        {
            tracing::error!(error = %e, "stopping the embedded PostgreSQL cluster failed");
        }
    }
}

fn app_event(code: &str, display: &str, outcome: Outcome) -> AuditEvent {
    let mut e = AuditEvent::new(
        audit::event_id::application_activity(),
        audit::Action::Execute,
        outcome,
        Transport::Internal,
    );
    e.event_type = Some(Code::dcm(code, display));
    e
}

pub fn serve(config: Config) -> anyhow::Result<()> {
    let http = config.http_listener()?;
    let https = config.https_listener()?;
    std::fs::create_dir_all(&config.data_dir)?;
    if config.dev {
        let pki = DevPki::new(&config.certs_dir());
        if !pki.exists() {
            pki.generate(&["localhost".into(), "127.0.0.1".into(), "::1".into()])?;
            tracing::info!(dir = %pki.dir.display(), "development CA and certificates made");
        }
    }

    // A name is one of the domains built into the binary (profiles/<name>); a path (anything
    // with a slash) is an operator's own domain folder in the same format.
    let domain = if config.affinity_domain.contains('/') {
        crate::profiles::AffinityDomain::load_dir(std::path::Path::new(&config.affinity_domain))
    } else {
        crate::profiles::AffinityDomain::load(&config.affinity_domain)
    };
    let domain =
        domain.map_err(|e| anyhow::anyhow!("affinity domain '{}': {e}", config.affinity_domain))?;
    for p in domain.placeholders() {
        tracing::warn!(placeholder = ?p, "the affinity domain has a placeholder the operator must fill in");
    }
    let db = open_database(&config)?;
    let result = run(&config, &db.url, http, https, std::sync::Arc::new(domain));
    db.close();
    result
}

fn run(
    config: &Config,
    url: &str,
    http: Option<std::net::SocketAddr>,
    https: Option<std::net::SocketAddr>,
    domain: std::sync::Arc<crate::profiles::AffinityDomain>,
) -> anyhow::Result<()> {
    let mut conn = store::connect(url)?;
    let applied = store::migrate(&mut conn)?;
    if !applied.is_empty() {
        tracing::info!(?applied, "migrations applied");
    }
    drop(conn);

    let workers = if config.workers == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        config.workers as usize
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let sys = actix_web::rt::System::with_tokio_rt(|| rt);
    sys.block_on(async move {
        let sink = AuditSink::start(url.to_owned(), config.sink_config())?;
        let db = Db::new(url, config.db_pool_size)?;
        let started = sink
            .record(app_event("110120", "Application Start", Outcome::Success))
            .await?;
        tracing::info!(seq = started.seq, "application start audited");

        let consent = crate::consent::Enforcer::new(
            &domain,
            db.clone(),
            sink.clone(),
            config.consent_enforcement,
            config.consent_cache_patients,
        )
        .map_err(|e| anyhow::anyhow!(e))?;
        let xua = if config.xua_trusted_certs.is_empty() {
            None
        } else {
            let trust = crate::xua::Trust::from_pem_file(std::path::Path::new(
                &config.xua_trusted_certs,
            ))
            .map_err(|e| anyhow::anyhow!("xua_trusted_certs: {e}"))?;
            tracing::info!(issuers = ?trust.subjects, "XUA assertions verified against these certificates");
            Some(trust)
        };
        let state = web::Data::new(AppState {
            config: config.clone(),
            db,
            sink: sink.clone(),
            xml_limits: xml::Limits {
                max_depth: config.max_xml_depth as usize,
                max_elements: config.max_xml_elements as usize,
                ..xml::Limits::default()
            },
            metrics: crate::metrics::handle(),
            consent,
            domain,
            xua,
        });
        let max_body = usize::try_from(config.max_body_bytes).unwrap_or(usize::MAX);
        let anchor = web::Data::new(
            crate::anchor::Anchor::from_config(config).map_err(|e| anyhow::anyhow!(e))?,
        );
        let app_state = state.clone();
        let app_anchor = anchor.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .app_data(app_anchor.clone())
                .app_data(web::PayloadConfig::new(max_body))
                .wrap(middleware::from_fn(crate::web::request_id))
                .configure(routes::configure)
        })
        .on_connect(routes::on_connect)
        .workers(workers);

        if let Some(addr) = http {
            server = server.bind(addr)?;
        }
        if let Some(addr) = https {
            let (cert, key, ca) = tls_files(config);
            let hook = reject_hook(&sink, Transport::Https);
            let acceptor = tls::acceptor(&cert, &key, &ca, hook)?;
            server = server.bind_openssl(addr, acceptor)?;
        }
        if !config.dicom_addr.is_empty() {
            let addr: std::net::SocketAddr = config.dicom_addr.parse()?;
            let bound = crate::dimse::serve(
                addr,
                crate::dimse::Context {
                    ae_title: config.dicom_ae_title.clone(),
                    db: state.db.clone(),
                    blobs: crate::xds::repository::BlobStore::new(&config.data_dir),
                    sink: sink.clone(),
                    runtime: tokio::runtime::Handle::current(),
                },
            )?;
            println!(
                "hiehub listening on dicom://{bound} (AE {})",
                config.dicom_ae_title
            );
        }
        if !config.mllp_addr.is_empty() {
            let addr: std::net::SocketAddr = config.mllp_addr.parse()?;
            let ctx = crate::mpi::Context {
                db: state.db.clone(),
                domain: state.domain.clone(),
                settings: std::sync::Arc::new(crate::mpi::Settings::from_config(config)),
                consent: None,
            };
            let bound =
                crate::mpi::v2::serve(addr, std::sync::Arc::new(ctx), sink.clone()).await?;
            println!("hiehub listening on mllp://{bound}");
        }
        crate::metrics::spawn_upkeep(crate::metrics::handle(), std::time::Duration::from_secs(5));
        crate::mpi::iti46::spawn(
            state.db.clone(),
            sink.clone(),
            std::sync::Arc::new(crate::mpi::Settings::from_config(config)),
        );
        let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
        if !anchor.peers.is_empty() {
            // Before anything is accepted: a hub restored from a backup learns from its peers
            // that they witnessed more of its ledger than it has (alarm).
            start_witness_client(
                config,
                anchor.clone().into_inner(),
                &state,
                shutdown_rx.clone(),
            )
            .await?;
        }
        let listeners = start_syslog(config, &sink, shutdown_rx).await?;
        let addrs = server.addrs_with_scheme();
        for (addr, scheme) in &addrs {
            let scheme = if *scheme == "https" { "https" } else { "http" };
            // A stable line on stdout: test harnesses and scripts read the bound port from it.
            println!("hiehub listening on {scheme}://{addr}");
        }
        tracing::info!(?addrs, affinity_domain = %config.affinity_domain, "serving");
        server.run().await?;
        let _ = shutdown_tx.send(true);
        for l in listeners {
            let _ = l.join().await;
        }

        match sink
            .record(app_event("110121", "Application Stop", Outcome::Success))
            .await
        {
            Ok(r) => tracing::info!(seq = r.seq, "application stop audited"),
            Err(e) => tracing::error!(error = %e, "application stop not audited"),
        }
        anyhow::Ok(())
    })
}

/// The cross-anchoring client task (pushes this hub's checkpoints to its peers).
async fn start_witness_client(
    config: &Config,
    anchor: Arc<crate::anchor::Anchor>,
    state: &web::Data<AppState>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let pki = DevPki::new(&config.certs_dir());
    let pick = |set: &str, dev: std::path::PathBuf| {
        if set.is_empty() {
            dev
        } else {
            std::path::PathBuf::from(set)
        }
    };
    let cert = pick(&config.peer_tls_cert_file, pki.client_cert());
    let key = pick(&config.peer_tls_key_file, pki.client_key());
    let (_, _, ca) = tls_files(config);
    let http = crate::anchor::client::http_client(&cert, &key, &ca)
        .map_err(|e| anyhow::anyhow!("peer TLS client: {e}"))?;
    let mut client =
        crate::anchor::client::Client::new(anchor, state.db.clone(), state.sink.clone(), http)
            .await
            .map_err(|e| anyhow::anyhow!("witness client: {e}"))?;
    client.round().await;
    tokio::spawn(client.run(shutdown));
    Ok(())
}

/// Counts and audits refused client certificates (Security Alert, Node Authentication).
fn reject_hook(sink: &AuditSink, transport: Transport) -> tls::RejectHook {
    let sink = sink.clone();
    Arc::new(move |subject, reason| {
        metrics::counter!("hiehub_tls_handshake_failures_total", "transport" => transport.as_str())
            .increment(1);
        tracing::warn!(%subject, %reason, transport = transport.as_str(), "client certificate refused");
        let mut e = AuditEvent::new(
            audit::event_id::security_alert(),
            audit::Action::Execute,
            Outcome::SeriousFailure,
            transport,
        );
        e.event_type = Some(Code::dcm("110126", "Node Authentication"));
        e.outcome_description = Some(format!("client certificate '{subject}' refused: {reason}"));
        if !sink.record_detached(e) {
            tracing::error!("audit queue full: TLS failure not audited");
        }
    })
}

/// The ATNA syslog listeners (ITI-20): TLS with client certificates, and UDP.
async fn start_syslog(
    config: &Config,
    sink: &AuditSink,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Vec<crate::audit::syslog::Listening>> {
    use crate::audit::ingest::LedgerIngest;
    use crate::audit::syslog::{self, ListenerConfig};
    let mut out = Vec::new();
    let ingest = Arc::new(LedgerIngest { sink: sink.clone() });
    if !config.syslog_tls_addr.is_empty() {
        let addr: std::net::SocketAddr = config.syslog_tls_addr.parse()?;
        let (cert, key, ca) = tls_files(config);
        let acceptor =
            tls::acceptor(&cert, &key, &ca, reject_hook(sink, Transport::SyslogTls))?.build();
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let hook_sink = sink.clone();
        let listener_config = ListenerConfig {
            on_handshake_failure: Some(Arc::new(move |peer, reason| {
                let mut e = AuditEvent::new(
                    audit::event_id::security_alert(),
                    audit::Action::Execute,
                    Outcome::SeriousFailure,
                    Transport::SyslogTls,
                );
                e.event_type = Some(Code::dcm("110126", "Node Authentication"));
                e.remote_addr = Some(peer.to_string());
                e.outcome_description = Some(format!("syslog TLS handshake refused: {reason}"));
                if !hook_sink.record_detached(e) {
                    tracing::error!("audit queue full: syslog TLS failure not audited");
                }
            })),
            ..ListenerConfig::default()
        };
        let l = syslog::serve_tls(
            listener,
            acceptor,
            ingest.clone(),
            listener_config,
            shutdown.clone(),
        );
        if let Some(a) = l.local_addr() {
            println!("hiehub listening on syslog-tls://{a}");
        }
        out.push(l);
    }
    if !config.syslog_udp_addr.is_empty() {
        let addr: std::net::SocketAddr = config.syslog_udp_addr.parse()?;
        let socket = tokio::net::UdpSocket::bind(addr).await?;
        let l = syslog::serve_udp(socket, ingest, ListenerConfig::default(), shutdown);
        if let Some(a) = l.local_addr() {
            println!("hiehub listening on syslog-udp://{a}");
        }
        out.push(l);
    }
    Ok(out)
}

fn tls_files(config: &Config) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let pki = DevPki::new(&config.certs_dir());
    let pick = |set: &str, dev: std::path::PathBuf| {
        if set.is_empty() {
            dev
        } else {
            std::path::PathBuf::from(set)
        }
    };
    (
        pick(&config.tls_cert_file, pki.server_cert()),
        pick(&config.tls_key_file, pki.server_key()),
        pick(&config.tls_client_ca_file, pki.ca_cert()),
    )
}
