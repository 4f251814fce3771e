//! Load test: the Echo transaction (one audit event per request, durable before the reply) over
//! plain HTTP and over mutual TLS, against the real release binary and a private PostgreSQL
//! cluster with fsync ON.
//!
//! Run: `cargo bench --bench load -- --seconds 10 --clients 16`
//! Under `cargo test` (no `--bench` argument) it runs a short smoke pass so the harness stays working.

mod harness;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hiehub::store::cluster::{Cluster, ClusterOptions};

use harness::arg;

fn echo(id: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:a=\"http://www.w3.org/2005/08/addressing\"><s:Header><a:Action>urn:hiehub:2026:Echo</a:Action><a:MessageID>{id}</a:MessageID></s:Header><s:Body><d:EchoRequest xmlns:d=\"urn:hiehub:diagnostics:2026\"><d:Text>load</d:Text></d:EchoRequest></s:Body></s:Envelope>"
    )
}

struct Result {
    requests: usize,
    errors: u64,
    seconds: f64,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

async fn run(client: reqwest::Client, url: String, clients: usize, seconds: f64) -> Result {
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let client = client.clone();
        let url = url.clone();
        let stop = stop.clone();
        let errors = errors.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let r = client
                    .post(&url)
                    .header("content-type", "application/soap+xml; charset=utf-8")
                    .body(echo(&format!("urn:uuid:load-{c}-{i}")))
                    .send()
                    .await;
                i += 1;
                match r {
                    Ok(resp) if resp.status().is_success() => {
                        let _ = resp.bytes().await;
                        lat.push(t.elapsed());
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            lat
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap_or_default());
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Result {
        requests: all.len(),
        errors: errors.load(Ordering::Relaxed),
        seconds: elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
        max: all.last().copied().unwrap_or_default(),
    }
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let seconds = if full {
        arg("--seconds", 10) as f64
    } else {
        0.5
    };
    let clients = if full {
        arg("--clients", 16) as usize
    } else {
        2
    };

    let dir = tempfile::Builder::new()
        .prefix("hiehub-load-")
        .tempdir_in("/tmp")
        .expect("temp dir");
    let cluster = Cluster::new(dir.path()).expect("PostgreSQL binaries");
    // fsync stays ON: the figure includes a durable commit per audit batch.
    cluster
        .start(&ClusterOptions {
            fsync: true,
            extra_settings: Vec::new(),
        })
        .expect("cluster");
    cluster.ensure_database("hiehub").expect("database");

    let mut child = Command::new(env!("CARGO_BIN_EXE_hiehub"))
        .args([
            "serve",
            "--dev",
            "--http",
            "127.0.0.1:0",
            "--https",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir.path())
        .arg("--database-url")
        .arg(cluster.conninfo("hiehub"))
        .env("HIEHUB_LOG_LEVEL", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn hiehub");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let (mut http, mut https) = (None, None);
    while http.is_none() || https.is_none() {
        let Some(Ok(line)) = lines.next() else {
            panic!("hiehub exited before listening")
        };
        if let Some(u) = line.strip_prefix("hiehub listening on ") {
            if u.starts_with("https") {
                https = Some(u.replace("127.0.0.1", "localhost"));
            } else {
                http = Some(u.to_owned());
            }
        }
    }
    let (http, https) = (http.unwrap_or_default(), https.unwrap_or_default());
    let certs = dir.path().join("certs");
    let read = |f: &str| std::fs::read(certs.join(f)).expect("dev certificate");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let plain = reqwest::Client::builder().build().expect("client");
    let mtls = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&read("ca.pem")).expect("ca"))
        .identity(
            reqwest::Identity::from_pkcs8_pem(&read("client.pem"), &read("client.key"))
                .expect("identity"),
        )
        .build()
        .expect("client");

    println!(
        "Echo load: {clients} concurrent clients, {seconds} s per run, client and server on the same {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| transport | requests | errors | req/s | p50 | p99 | max |");
    println!("|---|---|---|---|---|---|---|");
    let mut total_ok = 0;
    for (name, client, base) in [("http", plain, http), ("mtls", mtls, https)] {
        // warm up connections
        let _ = rt.block_on(run(
            client.clone(),
            format!("{base}/xds/registry"),
            clients,
            0.3,
        ));
        let r = rt.block_on(run(
            client,
            format!("{base}/xds/registry"),
            clients,
            seconds,
        ));
        total_ok += r.requests;
        println!(
            "| {name} | {} | {} | {:.0} | {:.2} ms | {:.2} ms | {:.2} ms |",
            r.requests,
            r.errors,
            r.requests as f64 / r.seconds,
            r.p50.as_secs_f64() * 1e3,
            r.p99.as_secs_f64() * 1e3,
            r.max.as_secs_f64() * 1e3
        );
    }
    println!(
        "server RSS: {} KiB now, {} KiB peak",
        rss_kib(child.id(), "VmRSS:"),
        rss_kib(child.id(), "VmHWM:")
    );
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let _ = child.wait();
    let _ = cluster.stop();
    assert!(total_ok > 0, "no request succeeded");
}
