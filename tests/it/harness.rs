//! Test support: one private PostgreSQL cluster per test run, one fresh database per test (cloned
//! from a migrated template), and the real `hiehub` binary started on port 0.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use hiehub::store::cluster::{Cluster, ClusterOptions};

struct TestCluster {
    cluster: Cluster,
    dir: PathBuf,
}

static CLUSTER: OnceLock<TestCluster> = OnceLock::new();
static COUNTER: AtomicUsize = AtomicUsize::new(0);

extern "C" fn stop_cluster() {
    if let Some(c) = CLUSTER.get() {
        let _ = c.cluster.stop();
        let _ = std::fs::remove_dir_all(&c.dir);
    }
}

fn test_cluster() -> &'static TestCluster {
    CLUSTER.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("hiehub-it-")
            .tempdir_in("/tmp")
            .expect("temp dir")
            .keep();
        let cluster = Cluster::new(&dir).expect("PostgreSQL binaries");
        cluster
            .start(&ClusterOptions {
                fsync: false,
                extra_settings: vec![("max_connections".into(), "300".into())],
            })
            .expect("start the test cluster");
        cluster
            .ensure_database("hiehub_template")
            .expect("template db");
        {
            let mut conn = hiehub::store::connect(&cluster.conninfo("hiehub_template"))
                .expect("connect to template");
            hiehub::store::migrate(&mut conn).expect("migrate template");
        }
        // SAFETY: registering a plain extern "C" fn with atexit has no preconditions.
        unsafe {
            libc::atexit(stop_cluster);
        }
        TestCluster { cluster, dir }
    })
}

/// A fresh, migrated database for one test; returns its connection string.
pub fn fresh_database() -> String {
    let tc = test_cluster();
    let name = format!(
        "t{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    tc.cluster
        .create_database_from_template(&name, "hiehub_template")
        .expect("create test database");
    tc.cluster.conninfo(&name)
}

pub fn connect(url: &str) -> PgConnection {
    PgConnection::establish(url).expect("connect to test database")
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_hiehub")
}

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures")
        .join(rel)
}

/// A running `hiehub serve` process.
pub struct Server {
    pub child: Child,
    pub http: Option<String>,
    pub https: Option<String>,
    /// `host:port` of the syslog listeners, when asked for.
    pub syslog_tls: Option<String>,
    pub syslog_udp: Option<String>,
    pub data_dir: tempfile::TempDir,
    pub db_url: Option<String>,
}

pub struct ServerOptions {
    pub https: bool,
    /// Start the ATNA syslog listeners (TLS and UDP) on port 0.
    pub syslog: bool,
    /// None: the embedded cluster under the data dir.
    pub db_url: Option<String>,
    pub extra_args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub data_dir: Option<tempfile::TempDir>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            https: false,
            syslog: false,
            db_url: Some(fresh_database()),
            extra_args: Vec::new(),
            env: Vec::new(),
            data_dir: None,
        }
    }
}

impl Server {
    pub fn start() -> Server {
        Server::start_with(ServerOptions::default())
    }

    pub fn start_with(opts: ServerOptions) -> Server {
        let data_dir = opts.data_dir.unwrap_or_else(|| {
            tempfile::Builder::new()
                .prefix("hiehub-data-")
                .tempdir_in("/tmp")
                .expect("data dir")
        });
        let mut cmd = Command::new(bin());
        cmd.arg("serve")
            .arg("--dev")
            .arg("--data-dir")
            .arg(data_dir.path())
            .arg("--http")
            .arg("127.0.0.1:0")
            .env_remove("RUST_LOG")
            .env("HIEHUB_WORKERS", "2")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if opts.https {
            cmd.arg("--https").arg("127.0.0.1:0");
        }
        if opts.syslog {
            cmd.args(["--syslog-tls", "127.0.0.1:0", "--syslog-udp", "127.0.0.1:0"]);
        }
        if let Some(url) = &opts.db_url {
            cmd.arg("--database-url").arg(url);
        }
        cmd.args(&opts.extra_args);
        cmd.envs(opts.env.iter().map(|(k, v)| (k, v)));
        let mut child = cmd.spawn().expect("spawn hiehub");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        // Keep draining stderr so the server never blocks on a full pipe; echo it for failures.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[hiehub] {line}");
            }
        });
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let want = 1 + usize::from(opts.https) + 2 * usize::from(opts.syslog);
        let mut http = None;
        let mut https = None;
        let mut syslog_tls = None;
        let mut syslog_udp = None;
        let deadline = Instant::now() + Duration::from_secs(60);
        while http.iter().count()
            + https.iter().count()
            + syslog_tls.iter().count()
            + syslog_udp.iter().count()
            < want
        {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("hiehub listening on ") {
                        if url.starts_with("https://") {
                            https = Some(url.replace("127.0.0.1", "localhost"));
                        } else if url.starts_with("http://") {
                            http = Some(url.to_owned());
                        } else if let Some(a) = url.strip_prefix("syslog-tls://") {
                            syslog_tls = Some(a.to_owned());
                        } else if let Some(a) = url.strip_prefix("syslog-udp://") {
                            syslog_udp = Some(a.to_owned());
                        }
                    }
                }
                Err(_) => {
                    let status = child.try_wait();
                    let _ = child.kill();
                    panic!("hiehub did not report its listeners within 60 s (exit: {status:?})");
                }
            }
        }
        Server {
            child,
            http,
            https,
            syslog_tls,
            syslog_udp,
            data_dir,
            db_url: opts.db_url,
        }
    }

    /// Starts a new server process on this one's data directory (and database, if it had one
    /// configured): for restart-after-crash tests. This one must have exited.
    pub fn restart(mut self) -> Server {
        let data_dir = std::mem::replace(
            &mut self.data_dir,
            tempfile::tempdir().expect("placeholder dir"),
        );
        Server::start_with(ServerOptions {
            db_url: self.db_url.clone(),
            data_dir: Some(data_dir),
            ..ServerOptions::default()
        })
    }

    /// HTTP status of `GET path`.
    pub fn get_status(&self, path: &str) -> u16 {
        client()
            .get(self.url(path))
            .send()
            .expect("request")
            .status()
            .as_u16()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.http.as_deref().expect("http listener"), path)
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }

    /// Waits for the process to exit; returns its status.
    pub fn wait(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.signal(libc::SIGTERM);
            if self.wait(Duration::from_secs(20)).is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// A SOAP 1.2 envelope with WS-Addressing headers.
pub fn envelope(action: &str, message_id: &str, body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:a=\"http://www.w3.org/2005/08/addressing\">\
<s:Header><a:Action s:mustUnderstand=\"1\">{action}</a:Action><a:MessageID>{message_id}</a:MessageID>\
<a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo></s:Header>\
<s:Body>{body}</s:Body></s:Envelope>"
    )
}

pub fn echo_envelope(message_id: &str, text: &str) -> String {
    envelope(
        "urn:hiehub:2026:Echo",
        message_id,
        &format!(
            "<d:EchoRequest xmlns:d=\"urn:hiehub:diagnostics:2026\"><d:Text>{text}</d:Text></d:EchoRequest>"
        ),
    )
}

pub const SOAP_CT: &str = "application/soap+xml; charset=utf-8";

/// One audit row: (event_id, outcome, message_id, sender, first event type code).
pub type AuditRow = (String, i16, Option<String>, Option<String>, Option<String>);

/// The audit rows of a test database, in ledger order.
pub fn audit_rows(url: &str) -> Vec<AuditRow> {
    use hiehub::store::schema::audit_events::dsl::*;
    let mut conn = connect(url);
    type Stored = (
        Option<String>,
        Option<i16>,
        Option<String>,
        Option<String>,
        Vec<String>,
    );
    let rows: Vec<Stored> = audit_events
        .order(seq)
        .select((event_id, outcome, message_id, sender, event_types))
        .load(&mut conn)
        .expect("audit rows");
    rows.into_iter()
        .map(|(e, o, m, s, t)| {
            (
                e.unwrap_or_default(),
                o.unwrap_or(-1),
                m,
                s,
                t.into_iter().next(),
            )
        })
        .collect()
}

/// A new, empty database (no migrations) for migration tests; returns its connection string.
pub fn empty_database() -> String {
    let tc = test_cluster();
    let name = format!(
        "e{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    tc.cluster
        .ensure_database(&name)
        .expect("create empty database");
    tc.cluster.conninfo(&name)
}
