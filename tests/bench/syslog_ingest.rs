//! ATNA syslog ingest (ITI-20; issue #4, "Benchmarks" and the soak test), end to end: N
//! concurrent mutual-TLS senders (tokio + tokio-openssl, one connection each) send RFC 5425
//! octet-counted RFC 5424 frames (MSGID `IHE+RFC-3881`) carrying real DICOM / RFC 3881 audit
//! messages of 1–4 KiB (the ATNA fixtures, a different patient or user id in every frame, one host
//! name per sender) as fast as the receiver takes them, to
//!
//! 1. the real `hiehub serve` binary on a private PostgreSQL cluster with fsync ON, and then
//! 2. Debian's `rsyslogd` (imtcp + openssl driver, same dev PKI, omfile with `sync="on"`; config
//!    in `tests/bench/rsyslog/`), with the very same load, in the same run, twice: with its
//!    default in-memory main queue ("queued": frames leave the sockets before they are on disk)
//!    and with a Direct main queue ("direct": a connection is read on only once its messages are
//!    synced, hiehub's contract).
//!
//! Figure: **events/s parsed, indexed and durable** = rows in `audit_events` with transport
//! `syslog-tls` once the senders stopped and the server drained ÷ the time from the first frame
//! until the last of those rows was committed (for rsyslog: lines in its file ÷ the same time,
//! the file synced after every batch). Also: the time a sender waits in one write of one frame
//! (p50/p99/max, log buckets, ≤ 3 % error), the receiver's peak RSS (VmHWM) and CPU, the bench's
//! own CPU and the whole machine's.
//!
//! Each sender's socket gets SO_SNDBUF 64 KiB (the kernel doubles it). Left to loopback
//! autotuning (4 MiB each) 100 senders park some 400 MB in their send buffers within seconds:
//! "sent" and the write waits then measure the kernel, and the run is mostly the drain.
//!
//! Run:
//!   cargo bench --bench syslog_ingest -- --seconds 10 --senders 100
//!   cargo bench --bench syslog_ingest -- --soak 30 --senders 20 --rate 1000  (tests/bench/soak.sh)
//! More options: `--client-threads N` (sender runtime, default 1), `--rate R` (frames/s over all
//! senders, 0 = unthrottled; default 0, soak 1000), `--sndbuf-kib K` (SO_SNDBUF of each sender,
//! default 64; 0 = the kernel's autotuning), `--no-hiehub`, `--no-rsyslog`, `--rsyslog-conf FILE`
//! (another template), `--rsyslog-queue queued|direct` (one variant only), `--rss-growth-mib M`
//! (soak bound, default 16).
//!
//! Soak: one server for MINUTES at a steady rate; every 30 s a row with the ledger size, the
//! server's RSS and the write-wait p99 of the last 30 s. Exits 1 on a stall (the ledger did not
//! grow for 60 s), when a frame sent is missing at the end, or when VmRSS grew by more than
//! `--rss-growth-mib` between the 5-minute mark (half the run when shorter than 10 minutes) and
//! the end.
//!
//! Under `cargo test --benches` (no `--bench` argument) it does a 0.5 s smoke pass with 4 senders
//! against hiehub only and asserts that every frame sent landed, parsed.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use hiehub::store::cluster::{Cluster, ClusterOptions};
use hiehub::store::schema::{audit_events, ledger_entries};
use openssl::ssl::{SslConnector, SslFiletype, SslMethod};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_openssl::SslStream;

const RSYSLOG_CONF: &str = include_str!("rsyslog/imtcp-ossl-omfile.conf");
const RSYSLOG_APT: &str = "apt-get install -y rsyslog rsyslog-openssl";

// ---------------------------------------------------------------------------------------------
// Options

struct Options {
    full: bool,
    seconds: f64,
    senders: usize,
    client_threads: usize,
    /// Frames per second over all senders; 0 = as fast as the receiver takes them.
    rate: u64,
    soak_minutes: Option<u64>,
    rss_growth_mib: u64,
    /// SO_SNDBUF of each sender's socket; None = the kernel's autotuning.
    sndbuf: Option<u32>,
    hiehub: bool,
    rsyslog: bool,
    /// Another rsyslog config template than tests/bench/rsyslog/imtcp-ossl-omfile.conf.
    rsyslog_conf: Option<PathBuf>,
    /// Only this rsyslog variant ("queued" or "direct"); both when None.
    rsyslog_queue: Option<String>,
}

impl Options {
    fn parse() -> Options {
        let args: Vec<String> = std::env::args().collect();
        let flag = |name: &str| args.iter().any(|a| a == name);
        let text = |name: &str| {
            args.iter()
                .position(|a| a == name)
                .and_then(|i| args.get(i + 1))
                .cloned()
        };
        let value = |name: &str| {
            text(name).map(|v| {
                v.parse::<f64>()
                    .unwrap_or_else(|_| panic!("{name} wants a number, got {v:?}"))
            })
        };
        let full = flag("--bench");
        let soak_minutes = value("--soak").map(|m| m as u64);
        let (seconds, senders) = if full {
            (value("--seconds").unwrap_or(10.0), 100.0)
        } else {
            (0.5, 4.0)
        };
        let senders = value("--senders").unwrap_or(if soak_minutes.is_some() {
            20.0
        } else {
            senders
        });
        Options {
            full,
            seconds,
            senders: (senders as usize).max(1),
            client_threads: value("--client-threads").map_or(1, |n| (n as usize).max(1)),
            rate: value("--rate")
                .map_or(if soak_minutes.is_some() { 1000 } else { 0 }, |r| r as u64),
            soak_minutes,
            rss_growth_mib: value("--rss-growth-mib").map_or(16, |m| m as u64),
            sndbuf: match value("--sndbuf-kib") {
                Some(k) if k <= 0.0 => None,
                k => Some((k.unwrap_or(64.0) * 1024.0) as u32),
            },
            hiehub: !flag("--no-hiehub"),
            rsyslog: full && !flag("--no-rsyslog"),
            rsyslog_conf: text("--rsyslog-conf").map(PathBuf::from),
            rsyslog_queue: text("--rsyslog-queue"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Write-wait histogram: microseconds in log-linear buckets, 32 per power of two (≤ 3 % error).

const SUB: u64 = 32;
const BUCKETS: usize = 64 * SUB as usize;

fn bucket(us: u64) -> usize {
    if us < SUB {
        us as usize
    } else {
        let shift = u64::from(63 - us.leading_zeros()) - 5;
        ((shift + 1) * SUB + ((us >> shift) - SUB)) as usize
    }
}

/// The smallest value of bucket `b`.
fn bucket_floor(b: usize) -> u64 {
    let b = b as u64;
    if b < SUB {
        b
    } else {
        let shift = b / SUB - 1;
        (SUB + b % SUB) << shift
    }
}

struct Hist {
    buckets: Vec<AtomicU64>,
}

impl Hist {
    fn new() -> Hist {
        Hist {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn record(&self, wait: Duration) {
        let us = u64::try_from(wait.as_micros()).unwrap_or(u64::MAX);
        self.buckets[bucket(us)].fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> Vec<u64> {
        self.buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect()
    }
}

#[derive(Clone, Copy, Default)]
struct Waits {
    p50: Duration,
    p99: Duration,
    max: Duration,
}

/// Percentiles of `now - before` (two snapshots), each the upper edge of its bucket.
fn waits(now: &[u64], before: Option<&[u64]>) -> Waits {
    let counts: Vec<u64> = now
        .iter()
        .enumerate()
        .map(|(i, n)| n - before.map_or(0, |b| b[i]))
        .collect();
    let count: u64 = counts.iter().sum();
    let top = |b: usize| Duration::from_micros(bucket_floor(b + 1));
    let pct = |p: f64| {
        let rank = ((count as f64 * p).ceil() as u64).max(1);
        let mut seen = 0;
        for (b, n) in counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return top(b);
            }
        }
        Duration::ZERO
    };
    if count == 0 {
        return Waits::default();
    }
    Waits {
        p50: pct(0.50),
        p99: pct(0.99),
        max: counts
            .iter()
            .rposition(|&n| n > 0)
            .map_or(Duration::ZERO, top),
    }
}

/// A wait for the tables; "–" for none (no write completed in the window).
fn ms(d: Duration) -> String {
    if d.is_zero() {
        "–".into()
    } else if d < Duration::from_millis(1) {
        format!("{} µs", d.as_micros())
    } else {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    }
}

// ---------------------------------------------------------------------------------------------
// The frames: ATNA fixtures, varied per frame.

/// A fixture cut around the id that changes in every frame.
struct Template {
    head: String,
    tail: String,
}

struct Corpus {
    templates: Vec<Template>,
}

impl Corpus {
    fn load() -> Corpus {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        // (file, the text to replace, what comes before and after the per-frame id)
        let sources = [
            (
                "../shared/fixtures/ipf/atna/audit-application-start.xml",
                "UserID=\"WDF-LAP-1237$\"",
                "UserID=\"WDF-LAP-",
                "$\"",
            ),
            (
                "../shared/fixtures/ipf/atna/audit-iti44-pix-source-feed.xml",
                "ParticipantObjectID=\"PIX^^^",
                "ParticipantObjectID=\"PIX",
                "^^^",
            ),
            (
                "tests/data/audit/dicom-iti18-registry-stored-query.xml",
                "ParticipantObjectID=\"KR8701^^^",
                "ParticipantObjectID=\"KR",
                "^^^",
            ),
            (
                "tests/data/audit/rfc3881-iti9-pix-query.xml",
                "ParticipantObjectID=\"KR8701^^^",
                "ParticipantObjectID=\"KR",
                "^^^",
            ),
        ];
        let templates = sources
            .iter()
            .map(|(file, needle, before, after)| {
                let path = root.join(file);
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("ATNA fixture {}: {e}", path.display()));
                let (head, tail) = text
                    .split_once(needle)
                    .unwrap_or_else(|| panic!("{} no longer contains {needle}", path.display()));
                Template {
                    head: format!("{head}{before}"),
                    tail: format!("{after}{tail}"),
                }
            })
            .collect();
        Corpus { templates }
    }

    /// Frame `i` of sender `s` (MSG-LEN SP SYSLOG-MSG) into `out`; `msg` is scratch space.
    fn frame(&self, s: usize, i: u64, msg: &mut String, out: &mut Vec<u8>) {
        let t = &self.templates[(i as usize + s) % self.templates.len()];
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        msg.clear();
        // PRI 85 = authpriv.notice; STRUCTURED-DATA origin as RFC 5424 §7.2 describes it.
        let _ = write!(
            msg,
            "<85>1 {now} emr-{s:03}.bench.example hospital-emr {} IHE+RFC-3881 \
             [origin@32473 ip=\"10.1.{}.{}\" software=\"hiehub-bench\" swVersion=\"1\"] \
             \u{feff}{}{s}-{i}{}",
            4000 + s,
            s / 250,
            s % 250 + 1,
            t.head,
            t.tail
        );
        out.clear();
        out.extend_from_slice(format!("{} ", msg.len()).as_bytes());
        out.extend_from_slice(msg.as_bytes());
    }

    /// (smallest, largest, mean) frame size in bytes.
    fn sizes(&self) -> (usize, usize, usize) {
        let (mut msg, mut out) = (String::new(), Vec::new());
        let sizes: Vec<usize> = (0..self.templates.len() as u64)
            .map(|i| {
                self.frame(0, i, &mut msg, &mut out);
                out.len()
            })
            .collect();
        let min = sizes.iter().copied().min().unwrap_or(0);
        let max = sizes.iter().copied().max().unwrap_or(0);
        (min, max, sizes.iter().sum::<usize>() / sizes.len().max(1))
    }
}

// ---------------------------------------------------------------------------------------------
// Senders

struct Target {
    addr: SocketAddr,
    connector: SslConnector,
    /// SO_SNDBUF of the senders' sockets (None: the kernel's autotuning).
    sndbuf: Option<u32>,
}

impl Target {
    /// Mutual TLS with the dev PKI in `certs` (`ca.pem`, `client.pem`, `client.key`).
    fn new(addr: SocketAddr, certs: &Path, sndbuf: Option<u32>) -> Target {
        let mut b = SslConnector::builder(SslMethod::tls_client()).expect("TLS client context");
        b.set_ca_file(certs.join("ca.pem")).expect("dev CA");
        b.set_certificate_chain_file(certs.join("client.pem"))
            .expect("dev client certificate");
        b.set_private_key_file(certs.join("client.key"), SslFiletype::PEM)
            .expect("dev client key");
        Target {
            addr,
            connector: b.build(),
            sndbuf,
        }
    }

    async fn connect(&self) -> Result<SslStream<TcpStream>, String> {
        let ssl = self
            .connector
            .configure()
            .and_then(|c| c.into_ssl("localhost"))
            .map_err(|e| e.to_string())?;
        let socket = tokio::net::TcpSocket::new_v4().map_err(|e| e.to_string())?;
        if let Some(bytes) = self.sndbuf {
            socket
                .set_send_buffer_size(bytes)
                .map_err(|e| format!("SO_SNDBUF: {e}"))?;
        }
        let tcp = socket
            .connect(self.addr)
            .await
            .map_err(|e| format!("connect {}: {e}", self.addr))?;
        let mut stream = SslStream::new(ssl, tcp).map_err(|e| e.to_string())?;
        Pin::new(&mut stream)
            .connect()
            .await
            .map_err(|e| format!("TLS handshake with {}: {e}", self.addr))?;
        Ok(stream)
    }
}

/// Counters shared by all senders of one run.
struct Shared {
    stop: AtomicBool,
    sent: AtomicU64,
    errors: AtomicU64,
    waits: Hist,
}

/// Sends frames until `stop`, one frame per write, then closes gracefully: close_notify, and
/// reads to EOF (the receiver closes once it has taken everything), so that nothing unread on
/// either side turns the close into a RST that would destroy frames in flight.
async fn send(
    id: usize,
    mut stream: SslStream<TcpStream>,
    target: Arc<Target>,
    corpus: Arc<Corpus>,
    shared: Arc<Shared>,
    pace: Option<(Duration, Duration)>,
) {
    let (mut msg, mut frame) = (String::with_capacity(8192), Vec::with_capacity(8192));
    let mut ticks = pace.map(|(period, offset)| {
        let mut t = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        t
    });
    let mut i = 0u64;
    while !shared.stop.load(Ordering::Relaxed) {
        if let Some(t) = ticks.as_mut() {
            t.tick().await;
        }
        corpus.frame(id, i, &mut msg, &mut frame);
        let started = Instant::now();
        match stream.write_all(&frame).await {
            Ok(()) => {
                shared.waits.record(started.elapsed());
                shared.sent.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
            Err(e) => {
                shared.errors.fetch_add(1, Ordering::Relaxed);
                eprintln!("sender {id}: write failed ({e}); reconnecting");
                loop {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    if shared.stop.load(Ordering::Relaxed) {
                        return;
                    }
                    match target.connect().await {
                        Ok(s) => break stream = s,
                        Err(e) => {
                            shared.errors.fetch_add(1, Ordering::Relaxed);
                            eprintln!("sender {id}: {e}");
                        }
                    }
                }
            }
        }
    }
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_secs(120), async {
        while let Ok(n) = stream.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

/// A load in progress.
struct Load {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
    started: Instant,
}

/// Connects `senders` connections (not timed), then starts them all at once.
fn start_load(
    rt: &tokio::runtime::Runtime,
    target: &Arc<Target>,
    corpus: &Arc<Corpus>,
    senders: usize,
    rate: u64,
) -> Load {
    let streams: Vec<_> = rt.block_on(async {
        let mut streams = Vec::new();
        for s in 0..senders {
            let stream = target
                .connect()
                .await
                .unwrap_or_else(|e| panic!("sender {s}: {e}"));
            streams.push(stream);
        }
        streams
    });
    let shared = Arc::new(Shared {
        stop: AtomicBool::new(false),
        sent: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        waits: Hist::new(),
    });
    let period = (rate > 0).then(|| Duration::from_secs_f64(senders as f64 / rate as f64));
    let started = Instant::now();
    let tasks = streams
        .into_iter()
        .enumerate()
        .map(|(s, stream)| {
            // paced senders start staggered over one period
            let pace = period.map(|p| (p, p.mul_f64(s as f64 / senders as f64)));
            rt.spawn(send(
                s,
                stream,
                target.clone(),
                corpus.clone(),
                shared.clone(),
                pace,
            ))
        })
        .collect();
    Load {
        shared,
        tasks,
        started,
    }
}

struct Stopped {
    sent: u64,
    errors: u64,
    waits: Waits,
    started: Instant,
    stopped: Instant,
}

/// Stops the senders and waits (at most `limit`) until they have closed their connections.
fn stop_load(rt: &tokio::runtime::Runtime, load: Load, limit: Duration) -> Stopped {
    load.shared.stop.store(true, Ordering::Relaxed);
    let stopped = Instant::now();
    let joined = rt.block_on(async {
        tokio::time::timeout(limit, async {
            for t in load.tasks {
                let _ = t.await;
            }
        })
        .await
    });
    if joined.is_err() {
        eprintln!(
            "senders still blocked {} s after stop: the receiver is not reading",
            limit.as_secs()
        );
    }
    Stopped {
        sent: load.shared.sent.load(Ordering::Relaxed),
        errors: load.shared.errors.load(Ordering::Relaxed),
        waits: waits(&load.shared.waits.snapshot(), None),
        started: load.started,
        stopped,
    }
}

// ---------------------------------------------------------------------------------------------
// Progress of a receiver: a cheap probe polled every 100 ms in a thread; only changes are kept.

type Probe = Box<dyn FnMut() -> Option<u64> + Send>;

struct Poller {
    stop: Arc<AtomicBool>,
    changes: Arc<Mutex<Vec<(Instant, u64)>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Poller {
    fn start(mut probe: Probe) -> Poller {
        let stop = Arc::new(AtomicBool::new(false));
        let changes = Arc::new(Mutex::new(Vec::<(Instant, u64)>::new()));
        let thread = {
            let (stop, changes) = (stop.clone(), changes.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    // what the probe sees was true when it started
                    let at = Instant::now();
                    if let Some(v) = probe() {
                        let mut c = changes.lock().expect("poller lock");
                        if c.last().is_none_or(|&(_, last)| last != v) {
                            c.push((at, v));
                        }
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
        };
        Poller {
            stop,
            changes,
            thread: Some(thread),
        }
    }

    /// The last value and when it was first seen.
    fn last(&self) -> Option<(Instant, u64)> {
        self.changes.lock().expect("poller lock").last().copied()
    }

    /// Waits until the value has not changed for `quiet` (at most `limit`); returns when it
    /// reached its final value.
    fn settle(&self, quiet: Duration, limit: Duration) -> Option<Instant> {
        let deadline = Instant::now() + limit;
        loop {
            std::thread::sleep(Duration::from_millis(100));
            let last = self.last();
            if last.is_some_and(|(at, _)| at.elapsed() >= quiet) || Instant::now() > deadline {
                return last.map(|(at, _)| at);
            }
        }
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Processes

/// A child process, terminated (SIGTERM, then SIGKILL after 30 s) when dropped.
struct Proc {
    child: Child,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn terminate(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        // SAFETY: signalling our own child, which has not been reaped (try_wait above).
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// The private cluster, stopped when dropped.
struct Db(Cluster);

impl Drop for Db {
    fn drop(&mut self) {
        let _ = self.0.stop();
    }
}

fn start_cluster(dir: &Path) -> Db {
    let cluster = Cluster::new(dir).expect("PostgreSQL binaries");
    // fsync stays ON: every committed group is on disk.
    cluster
        .start(&ClusterOptions {
            fsync: true,
            extra_settings: vec![
                ("max_wal_size".into(), "4GB".into()),
                ("checkpoint_timeout".into(), "30min".into()),
            ],
        })
        .expect("cluster");
    cluster.ensure_database("hiehub").expect("database");
    Db(cluster)
}

/// `hiehub serve --dev` with the syslog TLS listener; returns it and the listener's address.
fn start_hiehub(dir: &Path, url: &str) -> (Proc, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hiehub"))
        .args(["serve", "--dev", "--http", "127.0.0.1:0"])
        .args(["--syslog-tls", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .arg("--database-url")
        .arg(url)
        .env("HIEHUB_LOG_LEVEL", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn hiehub");
    let stdout = child.stdout.take().expect("hiehub stdout");
    let server = Proc { child };
    let mut lines = BufReader::new(stdout).lines();
    let (mut syslog, mut http) = (None, false);
    while syslog.is_none() || !http {
        let Some(Ok(line)) = lines.next() else {
            panic!("hiehub exited before listening")
        };
        if let Some(addr) = line.strip_prefix("hiehub listening on syslog-tls://") {
            syslog = Some(addr.parse().expect("syslog-tls address"));
        } else if line.starts_with("hiehub listening on http") {
            http = true;
        }
    }
    // keep the pipe drained
    std::thread::spawn(move || for _ in lines {});
    (server, syslog.expect("syslog-tls address"))
}

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// How rsyslog's main queue is set up (`@MAIN_QUEUE@` in the config template).
struct RsyslogVariant {
    name: &'static str,
    main_queue: &'static str,
    what: &'static str,
}

const RSYSLOG_VARIANTS: [RsyslogVariant; 2] = [
    RsyslogVariant {
        name: "queued",
        main_queue: "",
        what: "default in-memory main queue",
    },
    RsyslogVariant {
        name: "direct",
        main_queue: "main_queue(queue.type=\"Direct\")",
        what: "main queue Direct: synced before reading on",
    },
];

/// rsyslogd with `tests/bench/rsyslog/imtcp-ossl-omfile.conf`, once it completes a handshake.
fn start_rsyslog(
    rt: &tokio::runtime::Runtime,
    rsyslogd: &Path,
    dir: &Path,
    certs: &Path,
    sndbuf: Option<u32>,
    template: Option<&Path>,
    variant: &RsyslogVariant,
) -> Result<(Proc, Arc<Target>, PathBuf), String> {
    let work = dir.join(format!("rsyslog-{}", variant.name));
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let out = work.join("atna.log");
    let port = free_port();
    let template = match template {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("rsyslog config {}: {e}", path.display()))?,
        None => RSYSLOG_CONF.to_owned(),
    };
    let conf = template
        .replace("@WORK@", &work.to_string_lossy())
        .replace("@CERTS@", &certs.to_string_lossy())
        .replace("@PORT@", &port.to_string())
        .replace("@MAIN_QUEUE@", variant.main_queue)
        .replace("@OUT@", &out.to_string_lossy());
    let conf_path = work.join("rsyslog.conf");
    std::fs::write(&conf_path, conf).map_err(|e| e.to_string())?;
    let log = work.join("rsyslogd.log");
    let log_file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
    let child = Command::new(rsyslogd)
        .arg("-n")
        .arg("-f")
        .arg(&conf_path)
        .arg("-i")
        .arg(work.join("rsyslogd.pid"))
        .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
        .stderr(log_file)
        .spawn()
        .map_err(|e| format!("{}: {e}", rsyslogd.display()))?;
    let mut proc = Proc { child };
    let target = Arc::new(Target::new(
        SocketAddr::from(([127, 0, 0, 1], port)),
        certs,
        sndbuf,
    ));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match rt.block_on(target.connect()) {
            Ok(mut s) => {
                rt.block_on(async {
                    let _ = s.shutdown().await;
                    let mut b = [0u8; 1024];
                    while let Ok(n) = s.read(&mut b).await {
                        if n == 0 {
                            break;
                        }
                    }
                });
                return Ok((proc, target, out));
            }
            Err(e) if Instant::now() > deadline => {
                proc.terminate();
                let said = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(format!("rsyslogd did not come up: {e}\n{said}"));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn rsyslog_version(rsyslogd: &Path) -> String {
    Command::new(rsyslogd)
        .arg("-v")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .nth(1)
                .map(str::to_owned)
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// /proc readings

fn status_kib(pid: u32, field: &str) -> u64 {
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

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// utime + stime of a process ("self" for this one), in seconds.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<u64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| {
            rest.split_whitespace()
                .map(|f| f.parse().unwrap_or(0))
                .collect()
        })
        .unwrap_or_default();
    // after "pid (comm)": state is field 3, utime 14, stime 15
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    ticks as f64 / clock_ticks()
}

/// CPU seconds of `root` and its children (PostgreSQL: the postmaster and its backends).
fn tree_cpu_seconds(root: u32) -> f64 {
    let mut total = 0.0;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(pid) = name.parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // after "pid (comm)": ppid is field 4
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if pid == root || ppid == Some(root) {
            total += cpu_seconds(&name);
        }
    }
    total
}

fn postmaster_pid(cluster: &Cluster) -> u32 {
    std::fs::read_to_string(cluster.pgdata().join("postmaster.pid"))
        .ok()
        .and_then(|s| s.lines().next().and_then(|l| l.trim().parse().ok()))
        .unwrap_or(0)
}

/// Busy (not idle, not iowait) CPU seconds of the whole machine, all cores.
fn machine_busy_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpu: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let total: u64 = cpu.iter().take(8).sum();
    let idle = cpu.get(3).copied().unwrap_or(0) + cpu.get(4).copied().unwrap_or(0);
    total.saturating_sub(idle) as f64 / clock_ticks()
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------------------------
// Counting what is durable

fn ledger_size(conn: &mut PgConnection) -> Option<u64> {
    ledger_entries::table
        .select(diesel::dsl::max(ledger_entries::seq))
        .first::<Option<i64>>(conn)
        .ok()
        .map(|m| m.map_or(0, |m| m as u64 + 1))
}

/// (rows with transport syslog-tls, of which invalid)
fn syslog_rows(url: &str) -> (u64, u64) {
    let mut conn = hiehub::store::connect(url).expect("connect to the bench cluster");
    let tls = audit_events::table.filter(audit_events::transport.eq("syslog-tls"));
    let rows: i64 = tls
        .count()
        .get_result(&mut conn)
        .expect("count syslog rows");
    let invalid: i64 = tls
        .filter(audit_events::valid.eq(false))
        .count()
        .get_result(&mut conn)
        .expect("count invalid rows");
    (rows as u64, invalid as u64)
}

#[derive(QueryableByName)]
struct XactCommit {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    xact_commit: i64,
}

/// Transactions committed in the current database so far (PostgreSQL's statistics, which a
/// backend reports at most once a second).
fn xact_commits(url: &str) -> u64 {
    let mut conn = hiehub::store::connect(url).expect("connect to the bench cluster");
    diesel::sql_query("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        .get_result::<XactCommit>(&mut conn)
        .map_or(0, |r| r.xact_commit as u64)
}

fn count_lines(path: &Path) -> u64 {
    let mut f = std::fs::File::open(path).expect("rsyslog output file");
    let mut buf = vec![0u8; 1 << 20];
    let mut lines = 0u64;
    loop {
        let n = f.read(&mut buf).expect("read rsyslog output file");
        if n == 0 {
            return lines;
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

// ---------------------------------------------------------------------------------------------
// One measured run

struct Measured {
    name: String,
    sent: u64,
    errors: u64,
    durable: u64,
    invalid: Option<u64>,
    /// From the first frame until the last durable one.
    seconds: f64,
    /// From the stop until the last durable frame.
    drain: f64,
    waits: Waits,
    rss_peak_kib: u64,
    receiver_cpu: f64,
    postgres_cpu: f64,
    client_cpu: f64,
    machine_cpu: f64,
}

impl Measured {
    fn rate(&self) -> f64 {
        self.durable as f64 / self.seconds
    }
}

/// Runs the load against `target` for `seconds` and waits for the receiver to drain.
/// `count` gives (durable, invalid) once it has settled.
#[allow(clippy::too_many_arguments)]
fn measure(
    name: String,
    rt: &tokio::runtime::Runtime,
    target: &Arc<Target>,
    corpus: &Arc<Corpus>,
    opts: &Options,
    receiver_pid: u32,
    postmaster: u32,
    probe: Probe,
    count: impl FnOnce() -> (u64, Option<u64>),
) -> Measured {
    let poller = Poller::start(probe);
    let pid = receiver_pid.to_string();
    let load = start_load(rt, target, corpus, opts.senders, opts.rate);
    // CPU is read over the sending period (start to stop), not the drain
    let cpu_started = Instant::now();
    let cpu0 = (
        cpu_seconds(&pid),
        cpu_seconds("self"),
        machine_busy_seconds(),
        tree_cpu_seconds(postmaster),
    );
    std::thread::sleep(Duration::from_secs_f64(opts.seconds));
    let cpu1 = (
        cpu_seconds(&pid),
        cpu_seconds("self"),
        machine_busy_seconds(),
        tree_cpu_seconds(postmaster),
    );
    let busy = cpu_started.elapsed().as_secs_f64();
    let s = stop_load(rt, load, Duration::from_secs(300));
    let durable_at = poller
        .settle(Duration::from_secs(3), Duration::from_secs(300))
        .unwrap_or(s.stopped);
    drop(poller);
    let wall = durable_at.max(s.stopped).duration_since(s.started);
    let (receiver_cpu, client_cpu, machine_cpu, postgres_cpu) = (
        (cpu1.0 - cpu0.0) / busy,
        (cpu1.1 - cpu0.1) / busy,
        (cpu1.2 - cpu0.2) / busy,
        (cpu1.3 - cpu0.3) / busy,
    );
    let (durable, invalid) = count();
    Measured {
        name,
        sent: s.sent,
        errors: s.errors,
        durable,
        invalid,
        seconds: wall.as_secs_f64(),
        drain: durable_at
            .saturating_duration_since(s.stopped)
            .as_secs_f64(),
        waits: s.waits,
        rss_peak_kib: status_kib(receiver_pid, "VmHWM:"),
        receiver_cpu,
        postgres_cpu,
        client_cpu,
        machine_cpu,
    }
}

fn runtime(threads: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("sender runtime")
}

fn print_table(rows: &[Measured], mean_frame: usize) {
    println!(
        "| receiver | sent | durable | invalid | lost | s to durable (drain) | events/s | MiB/s | write p50 | write p99 | write max | peak RSS | receiver CPU | PostgreSQL CPU | bench CPU | machine CPU |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} | {:.2} ({:.2}) | **{:.0}** | {:.1} | {} | {} | {} | {:.0} MiB | {:.2} cores | {:.2} cores | {:.2} cores | {:.2} of 2 |",
            r.name,
            r.sent,
            r.durable,
            r.invalid.map_or("–".into(), |n| n.to_string()),
            r.sent.saturating_sub(r.durable),
            r.seconds,
            r.drain,
            r.rate(),
            r.rate() * mean_frame as f64 / (1024.0 * 1024.0),
            ms(r.waits.p50),
            ms(r.waits.p99),
            ms(r.waits.max),
            r.rss_peak_kib as f64 / 1024.0,
            r.receiver_cpu,
            r.postgres_cpu,
            r.client_cpu,
            r.machine_cpu,
        );
        if r.errors > 0 {
            println!("({}: {} write or connect errors)", r.name, r.errors);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Modes

fn bench(opts: &Options) {
    let corpus = Arc::new(Corpus::load());
    let (min, max, mean) = corpus.sizes();
    let dir = tempfile::Builder::new()
        .prefix("hiehub-syslog-bench-")
        .tempdir_in("/tmp")
        .expect("temp dir");
    let db = start_cluster(dir.path());
    let url = db.0.conninfo("hiehub");
    let postmaster = postmaster_pid(&db.0);
    let (mut server, addr) = start_hiehub(dir.path(), &url);
    let certs = dir.path().join("certs");
    let rt = runtime(opts.client_threads);

    println!(
        "ATNA syslog ingest: {} mutual-TLS senders × {} s{}, one frame per write, SO_SNDBUF {}, \
         frames {min}–{max} B (mean {mean}); receiver, PostgreSQL (fsync on) and senders ({} \
         thread{}) on the same {} cores; load average at start {}",
        opts.senders,
        opts.seconds,
        if opts.rate > 0 {
            format!(" at {} frames/s", opts.rate)
        } else {
            String::new()
        },
        opts.sndbuf
            .map_or("autotuned".into(), |b| format!("{} KiB", b / 1024)),
        opts.client_threads,
        if opts.client_threads == 1 { "" } else { "s" },
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg()
    );
    let target = Arc::new(Target::new(addr, &certs, opts.sndbuf));
    let probe_url = url.clone();
    let mut probe_conn = None;
    let mut rows = Vec::new();
    let mut commits = None;
    if opts.hiehub {
        let commits0 = xact_commits(&url);
        rows.push(measure(
            "hiehub".into(),
            &rt,
            &target,
            &corpus,
            opts,
            server.pid(),
            postmaster,
            Box::new(move || {
                if probe_conn.is_none() {
                    probe_conn = hiehub::store::connect(&probe_url).ok();
                }
                ledger_size(probe_conn.as_mut()?)
            }),
            || {
                let (rows, invalid) = syslog_rows(&url);
                (rows, Some(invalid))
            },
        ));
        commits = Some(xact_commits(&url) - commits0);
    }
    server.terminate();

    if opts.rsyslog {
        let rsyslogd = find_program("rsyslogd");
        if rsyslogd.is_none() {
            println!("rsyslogd is not installed, so no comparison this time: {RSYSLOG_APT}");
        }
        let variants = RSYSLOG_VARIANTS
            .iter()
            .filter(|v| opts.rsyslog_queue.as_deref().is_none_or(|q| q == v.name));
        for variant in variants {
            let Some(rsyslogd) = rsyslogd.as_deref() else {
                break;
            };
            let started = start_rsyslog(
                &rt,
                rsyslogd,
                dir.path(),
                &certs,
                opts.sndbuf,
                opts.rsyslog_conf.as_deref(),
                variant,
            );
            let (rsyslog, target, out) = match started {
                Ok(started) => started,
                Err(e) => {
                    println!("rsyslog ({}) comparison skipped: {e}", variant.name);
                    continue;
                }
            };
            let probe_out = out.clone();
            rows.push(measure(
                format!(
                    "rsyslog {} {} ({})",
                    rsyslog_version(rsyslogd),
                    variant.name,
                    variant.what
                ),
                &rt,
                &target,
                &corpus,
                opts,
                rsyslog.pid(),
                postmaster,
                Box::new(move || std::fs::metadata(&probe_out).ok().map(|m| m.len())),
                || (count_lines(&out), None),
            ));
        }
    }
    print_table(&rows, mean);
    if let Some(h) = rows.iter().find(|r| r.name == "hiehub") {
        for r in rows.iter().filter(|r| r.name.starts_with("rsyslog")) {
            println!(
                "hiehub / {}: {:.2} (durable events/s)",
                r.name,
                h.rate() / r.rate()
            );
        }
    }
    if let (Some(h), Some(commits)) = (rows.iter().find(|r| r.name == "hiehub"), commits) {
        println!(
            "hiehub: {commits} PostgreSQL transactions in its database during the run (the \
             bench's own 10/s progress probe included): {:.0} events per transaction",
            h.durable as f64 / commits.max(1) as f64
        );
    }
    println!("load average at end {}", loadavg());
    if let Some(h) = rows.iter().find(|r| r.name == "hiehub") {
        assert!(h.durable > 0, "no event landed");
        assert_eq!(h.durable, h.sent, "frames sent but not in audit_events");
        if !opts.full {
            assert_eq!(h.invalid, Some(0), "frames that did not parse");
        }
    }
}

/// Least-squares slope of (t, KiB) samples, in KiB/s.
fn slope_kib_per_s(samples: &[(Duration, u64)]) -> f64 {
    let n = samples.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let mean_t = samples.iter().map(|(t, _)| t.as_secs_f64()).sum::<f64>() / n;
    let mean_v = samples.iter().map(|&(_, v)| v as f64).sum::<f64>() / n;
    let (mut num, mut den) = (0.0, 0.0);
    for &(t, v) in samples {
        let dt = t.as_secs_f64() - mean_t;
        num += dt * (v as f64 - mean_v);
        den += dt * dt;
    }
    if den > 0.0 { num / den } else { 0.0 }
}

fn soak(opts: &Options, minutes: u64) -> i32 {
    let corpus = Arc::new(Corpus::load());
    let dir = tempfile::Builder::new()
        .prefix("hiehub-syslog-soak-")
        .tempdir_in("/tmp")
        .expect("temp dir");
    let db = start_cluster(dir.path());
    let url = db.0.conninfo("hiehub");
    let (mut server, addr) = start_hiehub(dir.path(), &url);
    let pid = server.pid();
    let target = Arc::new(Target::new(addr, &dir.path().join("certs"), opts.sndbuf));
    let rt = runtime(opts.client_threads);
    let duration = Duration::from_secs(minutes * 60);
    let baseline_at = Duration::from_secs(300).min(duration / 2);
    let stall = Duration::from_secs(60);
    let sample_every = Duration::from_secs(30);
    let bound_kib = opts.rss_growth_mib * 1024;

    println!(
        "Soak: {} mutual-TLS senders at {} frames/s for {minutes} min against one hiehub (fsync on); \
         fails on a stall (no ledger growth for {} s), on a lost frame, or on VmRSS growth > {} MiB \
         between {} s and the end. Load average at start {}",
        opts.senders,
        opts.rate,
        stall.as_secs(),
        opts.rss_growth_mib,
        baseline_at.as_secs(),
        loadavg()
    );
    println!(
        "| t | ledger size | ledger +/s | sent | write p99 (30 s) | write max (30 s) | VmRSS | errors |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut probe_conn = None;
    let probe_url = url.clone();
    let poller = Poller::start(Box::new(move || {
        if probe_conn.is_none() {
            probe_conn = hiehub::store::connect(&probe_url).ok();
        }
        ledger_size(probe_conn.as_mut()?)
    }));
    let load = start_load(&rt, &target, &corpus, opts.senders, opts.rate);
    let mut failure = None;
    let mut samples: Vec<(Duration, u64)> = Vec::new(); // (t, VmRSS KiB)
    let (mut last_size, mut last_hist, mut last_t) = (0u64, load.shared.waits.snapshot(), 0.0);
    let mut next_sample = sample_every;
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let t = load.started.elapsed();
        let (changed, size) = poller.last().unwrap_or((load.started, 0));
        if changed.elapsed() > stall {
            failure = Some(format!(
                "stall: the ledger stayed at {size} entries for {} s",
                changed.elapsed().as_secs()
            ));
        }
        let end = t >= duration || failure.is_some();
        if t >= next_sample || end {
            let hist = load.shared.waits.snapshot();
            let w = waits(&hist, Some(&last_hist));
            let rss = status_kib(pid, "VmRSS:");
            println!(
                "| {:.0} s | {size} | {:.0} | {} | {} | {} | {:.1} MiB | {} |",
                t.as_secs_f64(),
                size.saturating_sub(last_size) as f64 / (t.as_secs_f64() - last_t),
                load.shared.sent.load(Ordering::Relaxed),
                ms(w.p99),
                ms(w.max),
                rss as f64 / 1024.0,
                load.shared.errors.load(Ordering::Relaxed)
            );
            samples.push((t, rss));
            (last_size, last_hist, last_t) = (size, hist, t.as_secs_f64());
            next_sample += sample_every;
        }
        if end {
            break;
        }
    }
    let s = stop_load(&rt, load, Duration::from_secs(120));
    poller.settle(Duration::from_secs(3), Duration::from_secs(120));
    drop(poller);
    let (rows, invalid) = syslog_rows(&url);
    let peak = status_kib(pid, "VmHWM:");
    server.terminate();

    println!(
        "sent {} frames, {rows} rows with transport syslog-tls ({invalid} invalid), {} send errors; \
         write wait over the whole run p50 {} p99 {} max {}; peak RSS {:.1} MiB",
        s.sent,
        s.errors,
        ms(s.waits.p50),
        ms(s.waits.p99),
        ms(s.waits.max),
        peak as f64 / 1024.0
    );
    if failure.is_none() && rows < s.sent {
        failure = Some(format!(
            "{} frames sent but not in the ledger",
            s.sent - rows
        ));
    }
    let base = samples.iter().position(|(t, _)| *t >= baseline_at);
    if let (Some(b), Some(&(t1, rss1))) = (base, samples.last()) {
        let (t0, rss0) = samples[b];
        let growth = rss1 as i64 - rss0 as i64;
        println!(
            "VmRSS {:.1} MiB at {} s → {:.1} MiB at {} s: {:+.1} MiB (bound {} MiB); trend over \
             that span {:+.2} MiB/min",
            rss0 as f64 / 1024.0,
            t0.as_secs(),
            rss1 as f64 / 1024.0,
            t1.as_secs(),
            growth as f64 / 1024.0,
            opts.rss_growth_mib,
            slope_kib_per_s(&samples[b..]) * 60.0 / 1024.0
        );
        if failure.is_none() && growth > bound_kib as i64 {
            failure = Some(format!(
                "VmRSS grew by {:.1} MiB after {} s",
                growth as f64 / 1024.0,
                t0.as_secs()
            ));
        }
    }
    println!("load average at end {}", loadavg());
    drop(db);
    drop(dir);
    match failure {
        Some(f) => {
            println!("SOAK FAILED: {f}");
            1
        }
        None => {
            println!("soak passed");
            0
        }
    }
}

fn main() {
    let opts = Options::parse();
    match opts.soak_minutes {
        Some(minutes) => std::process::exit(soak(&opts, minutes)),
        None => bench(&opts),
    }
}
