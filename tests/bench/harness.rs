//! What the load benchmarks (`xds`, `mpi`, `consent`, `load`) share: command-line arguments, the
//! SOAP envelope, the NIST ITI-41 template, and the closed-loop load generator with its figures.
//! Each bench binary uses a part of it, hence `dead_code` is allowed here.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hiehub::ebxml::{self, WireMessage};
use hiehub::xds::{self, Submission};

pub const SOAP_CT: &str = "application/soap+xml; charset=utf-8";

/// The value after `name` on the command line, else `default`.
pub fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `../shared/fixtures` beside the project.
pub fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures")
}

/// A SOAP 1.2 envelope with WS-Addressing for `action` around `body`.
pub fn envelope(action: &str, body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:a=\"http://www.w3.org/2005/08/addressing\"><s:Header><a:Action s:mustUnderstand=\"1\">{action}</a:Action><a:MessageID>urn:uuid:{}</a:MessageID><a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo></s:Header><s:Body>{body}</s:Body></s:Envelope>",
        uuid::Uuid::new_v4()
    )
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

pub fn fresh_oid() -> String {
    format!("2.25.{}", uuid::Uuid::new_v4().as_u128())
}

/// The NIST inline-base64 ITI-41 submission as a domain value.
pub fn template_submission() -> Submission {
    let dir = fixtures().join("nist/xds/valid-iti41-multipart-inline-base64");
    let plan = std::fs::read_to_string(dir.join("testplan.xml")).expect("testplan");
    let ct = plan
        .lines()
        .find_map(|l| l.trim().strip_prefix("Content-Type:").map(str::trim))
        .expect("content type")
        .to_owned();
    let body = std::fs::read(dir.join("body.txt")).expect("body");
    let parts = hiehub::soap::mtom::decode(&ct, &body, hiehub::soap::mtom::Limits::default())
        .expect("mtom");
    let root = hiehub::xml::parse(&parts.root.body, &hiehub::xml::Limits::default()).expect("xml");
    let body = root
        .child(hiehub::soap::SOAP12_NS, "Body")
        .and_then(|b| b.elements().next())
        .expect("body element");
    let req = ebxml::ProvideAndRegisterDocumentSetRequest::decode(body).expect("decode");
    let (sub, problems) = xds::submission_from_provide_and_register(&req);
    assert!(!xds::has_errors(&problems), "{problems:?}");
    sub.expect("submission")
}

/// What a load run measured.
pub struct Figures {
    pub requests: usize,
    pub errors: u64,
    pub bytes: u64,
    pub seconds: f64,
    pub p50: Duration,
    pub p99: Duration,
}

impl Figures {
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    pub fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / self.seconds / 1e6
    }

    /// `| name | requests | errors | req/s | p50 | p99 | MB/s |`
    pub fn row(&self, name: &str) -> String {
        format!(
            "| {name} | {} | {} | {:.0} | {:.2} ms | {:.2} ms | {:.1} |",
            self.requests,
            self.errors,
            self.rate(),
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3,
            self.mb_per_s()
        )
    }
}

/// What one request is: (url, content type, body) made from (client, i); `check` says whether the
/// answer is a success.
pub type MakeRequest = Arc<dyn Fn(usize, u64) -> (String, String, Vec<u8>) + Send + Sync>;
pub type Check = Arc<dyn Fn(&[u8]) -> bool + Send + Sync>;

/// A SOAP POST to `url` of the envelope `make(client, i)`.
pub fn soap_post(
    url: String,
    make: impl Fn(usize, u64) -> String + Send + Sync + 'static,
) -> MakeRequest {
    Arc::new(move |c, i| (url.clone(), SOAP_CT.to_owned(), make(c, i).into_bytes()))
}

/// `clients` closed-loop clients for `seconds`; latencies of the successful requests only.
pub async fn run(
    client: reqwest::Client,
    clients: usize,
    seconds: f64,
    make: MakeRequest,
    check: Check,
    get: bool,
) -> Figures {
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (client, stop, errors, bytes) =
            (client.clone(), stop.clone(), errors.clone(), bytes.clone());
        let (make, check) = (make.clone(), check.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let (url, ct, body) = make(c, i);
                i += 1;
                let t = Instant::now();
                let r = if get {
                    client.get(&url).send().await
                } else {
                    client
                        .post(&url)
                        .header("content-type", ct)
                        .body(body)
                        .send()
                        .await
                };
                let ok = match r {
                    Ok(resp) if resp.status().is_success() => match resp.bytes().await {
                        Ok(b) if check(&b) => {
                            bytes.fetch_add(b.len() as u64, Ordering::Relaxed);
                            true
                        }
                        _ => false,
                    },
                    _ => false,
                };
                if ok {
                    lat.push(t.elapsed());
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
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
    Figures {
        requests: all.len(),
        errors: errors.load(Ordering::Relaxed),
        bytes: bytes.load(Ordering::Relaxed),
        seconds: elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
    }
}
