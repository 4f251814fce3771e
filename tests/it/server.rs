//! The process as an operator sees it: embedded PostgreSQL, signals, crashes, mutual TLS,
//! configuration, health and metrics, and the audit durability guarantee.

use std::collections::HashSet;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::harness::*;

fn db_status(data_dir: &std::path::Path) -> (i32, String) {
    let out = Command::new(bin())
        .args(["db", "status", "--data-dir"])
        .arg(data_dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn postmaster_pid(data_dir: &std::path::Path) -> i32 {
    let pid = std::fs::read_to_string(data_dir.join("pg/data/postmaster.pid")).unwrap();
    pid.lines().next().unwrap().trim().parse().unwrap()
}

#[test]
fn embedded_cluster_starts_stops_and_survives_kill_9() {
    // No database_url: hiehub initialises and starts its own cluster under <data_dir>/pg.
    let mut server = Server::start_with(ServerOptions {
        db_url: None,
        ..ServerOptions::default()
    });
    let data = server.data_dir.path().to_owned();
    let health: serde_json::Value = client()
        .get(server.url("/healthz"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(health["status"], "ok", "{health}");
    assert!(data.join("pg/data/PG_VERSION").exists());
    assert_eq!(db_status(&data).0, 0, "cluster should be running");

    // SIGTERM: clean shutdown, the cluster it started is stopped.
    server.signal(libc::SIGTERM);
    let status = server
        .wait(Duration::from_secs(30))
        .expect("exits on SIGTERM");
    assert!(status.success(), "{status:?}");
    let (code, text) = db_status(&data);
    assert_eq!(code, 3, "{text}");
    assert!(text.starts_with("stopped"), "{text}");

    // Restart on the same data dir, then kill -9 hiehub: the postmaster is orphaned, still running.
    let mut server = server.restart();
    server.signal(libc::SIGKILL);
    server.wait(Duration::from_secs(10)).unwrap();
    // ...and a new hiehub adopts the running cluster.
    let mut server = server.restart();
    assert_eq!(server.get_status("/healthz"), 200);

    // kill -9 the postmaster itself (a crash): hiehub reports it unhealthy...
    let pid = postmaster_pid(server.data_dir.path());
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(server.get_status("/healthz"), 503);
    server.signal(libc::SIGTERM);
    server.wait(Duration::from_secs(30)).expect("exits");
    // ...and the next start recovers from the stale postmaster.pid, with the data intact.
    let server = server.restart();
    assert_eq!(server.get_status("/healthz"), 200);
    let out = Command::new(bin())
        .args(["db", "psql", "--data-dir"])
        .arg(server.data_dir.path())
        .args([
            "--",
            "-At",
            "-c",
            "SELECT count(*) FROM audit_events WHERE '110120' = ANY(event_types)",
        ])
        .output()
        .unwrap();
    let count: i64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(-1);
    assert!(count >= 4, "one Application Start per start: {count}");
}

#[test]
fn every_answered_request_is_in_the_audit_trail_after_kill_9() {
    let mut server = Server::start();
    let url = server.url("/xds/registry");
    let db = server.db_url.clone().unwrap();
    let answered = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for t in 0..8 {
        let url = url.clone();
        let answered = answered.clone();
        let stop = stop.clone();
        threads.push(std::thread::spawn(move || {
            let c = client();
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let id = format!("urn:uuid:load-{t}-{i}");
                i += 1;
                let r = c
                    .post(&url)
                    .header("content-type", SOAP_CT)
                    .body(echo_envelope(&id, "x"))
                    .send();
                let ok = r.is_ok_and(|resp| {
                    resp.status().as_u16() == 200 && resp.text().is_ok_and(|t| t.contains(&id))
                });
                if ok {
                    answered.lock().unwrap().push(id);
                }
            }
        }));
    }
    // Kill once the load is well under way (a loaded CI machine may need longer than 1.5 s).
    let started = std::time::Instant::now();
    std::thread::sleep(Duration::from_millis(1500));
    while answered.lock().unwrap().len() <= 100 && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(100));
    }
    server.signal(libc::SIGKILL);
    server.wait(Duration::from_secs(10)).expect("killed");
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        t.join().unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    assert!(
        answered.len() > 50,
        "load did not get going: {}",
        answered.len()
    );
    let recorded: HashSet<String> = audit_rows(&db).into_iter().filter_map(|r| r.2).collect();
    let missing: Vec<_> = answered
        .iter()
        .filter(|id| !recorded.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} answered requests have no audit event: {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );

    // the same database serves again after the crash
    let server = Server::start_with(ServerOptions {
        db_url: Some(db),
        ..ServerOptions::default()
    });
    assert_eq!(
        client()
            .get(server.url("/healthz"))
            .send()
            .unwrap()
            .status()
            .as_u16(),
        200
    );
}

fn tls_client(
    pki_dir: Option<&std::path::Path>,
    ca: &std::path::Path,
) -> reqwest::blocking::Client {
    let mut b = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap());
    if let Some(dir) = pki_dir {
        let cert = std::fs::read(dir.join("client.pem")).unwrap();
        let key = std::fs::read(dir.join("client.key")).unwrap();
        b = b.identity(reqwest::Identity::from_pkcs8_pem(&cert, &key).unwrap());
    }
    b.build().unwrap()
}

#[test]
fn mutual_tls_admits_only_clients_of_the_configured_ca() {
    let server = Server::start_with(ServerOptions {
        https: true,
        ..ServerOptions::default()
    });
    let certs = server.data_dir.path().join("certs");
    let base = server.https.clone().unwrap();
    let ca = certs.join("ca.pem");

    let ok = tls_client(Some(&certs), &ca)
        .post(format!("{base}/xds/registry"))
        .header("content-type", SOAP_CT)
        .body(echo_envelope("urn:uuid:mtls-ok", "tls"))
        .send()
        .expect("client with a certificate from the configured CA gets in");
    assert_eq!(ok.status().as_u16(), 200);

    let none = tls_client(None, &ca)
        .post(format!("{base}/xds/registry"))
        .header("content-type", SOAP_CT)
        .body(echo_envelope("urn:uuid:mtls-none", "tls"))
        .send();
    assert!(
        none.is_err(),
        "a client without a certificate must be refused: {none:?}"
    );

    let other = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .args(["certs", "dev", "--data-dir"])
        .arg(other.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let foreign = tls_client(Some(&other.path().join("certs")), &ca)
        .post(format!("{base}/xds/registry"))
        .header("content-type", SOAP_CT)
        .body(echo_envelope("urn:uuid:mtls-foreign", "tls"))
        .send();
    assert!(
        foreign.is_err(),
        "a client from another CA must be refused: {foreign:?}"
    );

    std::thread::sleep(Duration::from_millis(300));
    let rows = audit_rows(server.db_url.as_deref().unwrap());
    let mtls = rows
        .iter()
        .find(|r| r.2.as_deref() == Some("urn:uuid:mtls-ok"))
        .expect("audited");
    assert_eq!(
        mtls.3.as_deref(),
        Some("CN=hiehub dev client,O=hiehub development")
    );
    assert!(
        rows.iter()
            .any(|r| r.0 == "110113" && r.4.as_deref() == Some("110126")),
        "the refused foreign certificate is a security alert: {rows:?}"
    );
    // plain HTTP stays open on loopback in dev mode
    assert_eq!(
        client()
            .get(server.url("/healthz"))
            .send()
            .unwrap()
            .status()
            .as_u16(),
        200
    );
}

#[test]
fn print_config_shows_precedence_and_documents_every_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hiehub.toml");
    std::fs::write(
        &file,
        "affinity_domain = \"from-file\"\ndb_pool_size = 3\nworkers = 3\n",
    )
    .unwrap();
    let out = Command::new(bin())
        .args(["serve", "--print-config", "--config"])
        .arg(&file)
        .args(["--dev", "--http", "127.0.0.1:9999"])
        .env("HIEHUB_DB_POOL_SIZE", "7")
        .env("HIEHUB_HTTP_ADDR", "127.0.0.1:1")
        .env("HIEHUB_DATA_DIR", "/srv/hiehub")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("affinity_domain = \"from-file\""), "{text}");
    assert!(text.contains("db_pool_size = 7"), "{text}");
    assert!(text.contains("http_addr = \"127.0.0.1:9999\""), "{text}");
    assert!(text.contains("data_dir = \"/srv/hiehub\""), "{text}");
    assert!(text.contains("# env: HIEHUB_SYSLOG_TLS_ADDR"), "{text}");

    // production refuses plain HTTP and a missing TLS listener
    let out = Command::new(bin())
        .args(["serve", "--data-dir"])
        .arg(dir.path())
        .args(["--http", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("only allowed in dev mode"));
}

#[test]
fn healthz_and_metrics_report() {
    let server = Server::start();
    let health: serde_json::Value = client()
        .get(server.url("/healthz"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(health["database"], "ok");
    assert_eq!(health["audit_writer"], "ok");
    let resp = client()
        .post(server.url("/pdq"))
        .header("content-type", SOAP_CT)
        .header("x-request-id", "req-42")
        .body(echo_envelope("urn:uuid:m1", "m"))
        .send()
        .unwrap();
    assert_eq!(resp.headers().get("x-request-id").unwrap(), "req-42");
    let text = client()
        .get(server.url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        text.contains(
            "hiehub_requests_total{transaction=\"urn:hiehub:2026:Echo\",outcome=\"ok\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains("hiehub_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("hiehub_audit_queue_depth"), "{text}");
    assert!(text.contains("hiehub_db_pool_connections"), "{text}");
}

#[test]
fn sample_production_config_is_valid_and_demands_tls() {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/hiehub.toml");
    let out = Command::new(bin())
        .args(["serve", "--print-config", "--config", sample])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("dev = false"), "{text}");
    assert!(text.contains("https_addr = \"0.0.0.0:8443\""), "{text}");
    // without an https listener the production profile refuses to start
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .args(["serve", "--config", sample, "--data-dir"])
        .arg(dir.path())
        .env("HIEHUB_HTTPS_ADDR", "")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("refuses to start without TLS"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_unknown_affinity_domain_is_refused_at_start_naming_the_shipped_ones() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .args([
            "serve",
            "--dev",
            "--http",
            "127.0.0.1:0",
            "--affinity-domain",
            "atlantis",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("atlantis") && err.contains("connectathon") && err.contains("kr-hie"),
        "{err}"
    );
}
