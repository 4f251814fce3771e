//! Imaging benchmarks (issue 7, "Benchmarks") against the real binary and a private PostgreSQL
//! cluster with fsync ON (audit durable before every reply):
//!
//! - rendered 512×512 CT frame (the phantom, 16-bit signed) to JPEG and PNG over HTTP, one
//!   connection, sequential requests: hiehub `/dicomweb/.../frames/1/rendered` vs Orthanc
//!   (Debian package `orthanc`, started here on a loopback port with a temporary storage
//!   directory) `/instances/{id}/frames/0/rendered` on the same file, in the same run. Orthanc
//!   is skipped with a message when `/usr/sbin/Orthanc` is absent.
//! - STOW-RS ingest of a 512×512 series in one request, MB/s, against `dd` writing the same
//!   number of bytes with one fsync (`conv=fsync`) and with one fsync per file (as the blob
//!   store does) in the same data directory.
//!
//! Run: `cargo bench --bench imaging -- --seconds 10 --slices 100`
//! Without `--bench` (under `cargo test`) it runs a short smoke pass and asserts success.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hiehub::store::cluster::{Cluster, ClusterOptions};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn multipart(files: &[Vec<u8>], boundary: &str) -> Vec<u8> {
    let mut body = Vec::with_capacity(files.iter().map(Vec::len).sum::<usize>() + 4096);
    for f in files {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Type: application/dicom\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(f);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

/// Sequential GETs of `url` on one keep-alive connection for `seconds`:
/// (requests, req/s, p50 ms, p99 ms, bytes of one answer).
fn sequential(
    client: &reqwest::blocking::Client,
    url: &dyn Fn(usize) -> String,
    accept: &str,
    seconds: f64,
) -> (u64, f64, f64, f64, usize) {
    let mut lat = Vec::new();
    let mut size = 0;
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < seconds || lat.len() < 5 {
        let t = Instant::now();
        let url = url(lat.len());
        let r = client
            .get(&url)
            .header("Accept", accept)
            .send()
            .expect("request");
        assert!(r.status().is_success(), "{url}: {}", r.status());
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        assert!(ct.starts_with(accept), "{url}: {ct} instead of {accept}");
        size = r.bytes().expect("body").len();
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let total = start.elapsed().as_secs_f64();
    lat.sort_by(|a, b| a.total_cmp(b));
    let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    (
        lat.len() as u64,
        lat.len() as f64 / total,
        p(0.5),
        p(0.99),
        size,
    )
}

/// `connections` threads each running [`sequential`] on its own connection: total req/s.
fn parallel(url: &str, accept: &str, seconds: f64, connections: usize) -> f64 {
    let threads: Vec<_> = (0..connections)
        .map(|_| {
            let url = url.to_owned();
            let accept = accept.to_owned();
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::new();
                sequential(&client, &|_| url.clone(), &accept, seconds).1
            })
        })
        .collect();
    threads.into_iter().filter_map(|t| t.join().ok()).sum()
}

fn start_hiehub(dir: &std::path::Path, db: &str) -> (Killed, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hiehub"))
        .args(["serve", "--dev", "--http", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .arg("--database-url")
        .arg(db)
        .env("HIEHUB_LOG_LEVEL", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn hiehub");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let Some(Ok(line)) = lines.next() else {
            panic!("hiehub exited before listening")
        };
        if let Some(u) = line.strip_prefix("hiehub listening on http://") {
            break format!("http://{u}");
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (Killed(child), base)
}

/// Orthanc on a free loopback port with its storage in `dir`: (process, base URL).
fn start_orthanc(dir: &std::path::Path) -> Option<(Killed, String)> {
    let bin = std::path::Path::new("/usr/sbin/Orthanc");
    if !bin.exists() {
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .ok()?;
    let config = dir.join("orthanc.json");
    let storage = dir.join("orthanc-db");
    let mut f = std::fs::File::create(&config).ok()?;
    writeln!(
        f,
        r#"{{"Name": "bench", "StorageDirectory": "{0}", "IndexDirectory": "{0}",
"HttpPort": {port}, "DicomServerEnabled": false, "RemoteAccessAllowed": false,
"AuthenticationEnabled": false, "HttpServerEnabled": true, "Plugins": [],
"ConcurrentJobs": 1, "StorageCompression": false}}"#,
        storage.display()
    )
    .ok()?;
    let child = Command::new(bin)
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let child = Killed(child);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::blocking::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if client
            .get(format!("{base}/system"))
            .send()
            .is_ok_and(|r| r.status().is_success())
        {
            return Some((child, base));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let seconds = if full {
        arg("--seconds", 10) as f64
    } else {
        0.3
    };
    let slices = if full { arg("--slices", 100) as u32 } else { 4 };
    let size: u16 = if full { 512 } else { 128 };

    let dir = tempfile::Builder::new()
        .prefix("hiehub-imaging-bench-")
        .tempdir_in("/tmp")
        .expect("temp dir");
    let cluster = Cluster::new(dir.path()).expect("PostgreSQL binaries");
    cluster
        .start(&ClusterOptions {
            fsync: true,
            extra_settings: Vec::new(),
        })
        .expect("cluster");
    cluster.ensure_database("hiehub").expect("database");
    let db = cluster.conninfo("hiehub");
    let (_server, base) = start_hiehub(dir.path(), &db);
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .expect("client");

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "Imaging benchmarks: {size}×{size} CT phantom, {seconds} s per run, client and servers on the same {} cores (shared); load average before: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );

    // STOW-RS ingest vs dd
    let mut rates = Vec::new();
    let mut first = None;
    for round in 0..3 {
        let series = hiehub::imaging::phantom::Phantom {
            slices,
            rows: size,
            columns: size,
            study_uid: None,
            patient_id: None,
            issuer: None,
        }
        .generate();
        let bytes: usize = series.files.iter().map(Vec::len).sum();
        let body = multipart(&series.files, "bench-boundary");
        let t = Instant::now();
        let r = client
            .post(format!("{base}/dicomweb/studies"))
            .header(
                "Content-Type",
                "multipart/related; type=\"application/dicom\"; boundary=bench-boundary",
            )
            .body(body)
            .send()
            .expect("STOW-RS");
        assert_eq!(r.status().as_u16(), 200, "STOW-RS round {round}");
        let secs = t.elapsed().as_secs_f64();
        rates.push(bytes as f64 / 1e6 / secs);
        if first.is_none() {
            first = Some((series, bytes));
        }
    }
    let (series, bytes) = first.expect("a series");
    let mb = bytes as f64 / 1e6;
    let dd = |args: &[&str]| -> f64 {
        let out = dir.path().join("dd.bin");
        let t = Instant::now();
        let st = Command::new("dd")
            .arg("if=/dev/zero")
            .arg(format!("of={}", out.display()))
            .args(args)
            .stderr(Stdio::null())
            .status()
            .expect("dd");
        assert!(st.success());
        let secs = t.elapsed().as_secs_f64();
        let _ = std::fs::remove_file(&out);
        secs
    };
    let file_kb = (bytes / slices as usize / 1024).max(1);
    let one_fsync = dd(&[
        "bs=1M",
        &format!("count={}", (bytes / (1 << 20)).max(1)),
        "conv=fsync",
    ]);
    // one fsync per file, like the blob store (temp file, fsync, rename, directory fsync)
    let t = Instant::now();
    for i in 0..slices {
        let p = dir.path().join(format!("dd-{i}.bin"));
        let st = Command::new("dd")
            .arg("if=/dev/zero")
            .arg(format!("of={}", p.display()))
            .args(["bs=1k", &format!("count={file_kb}"), "conv=fsync"])
            .stderr(Stdio::null())
            .status()
            .expect("dd");
        assert!(st.success());
        let _ = std::fs::remove_file(&p);
    }
    let per_file = t.elapsed().as_secs_f64();
    rates.sort_by(|a, b| a.total_cmp(b));
    println!();
    println!("| ingest | MB | MB/s |");
    println!("|---|---|---|");
    println!(
        "| STOW-RS, {slices} instances in one request (median of 3) | {mb:.1} | {:.1} |",
        rates[1]
    );
    println!(
        "| dd, same bytes, one fsync (conv=fsync) | {mb:.1} | {:.1} |",
        mb / one_fsync
    );
    println!(
        "| dd, {slices} files of {file_kb} KiB, fsync each | {mb:.1} | {:.1} |",
        mb / per_file
    );

    // rendered frame: hiehub vs Orthanc
    let study = &series.study_uid;
    let frame_url = format!(
        "{base}/dicomweb/studies/{study}/series/{}/instances/{}/frames/1/rendered",
        series.series_uid, series.sop_instance_uids[0]
    );
    println!();
    println!(
        "| rendered {size}×{size} frame, one connection | requests | req/s | p50 ms | p99 ms | bytes |"
    );
    println!("|---|---|---|---|---|---|");
    let same = |_: usize| frame_url.clone();
    for (label, accept) in [("JPEG", "image/jpeg"), ("PNG", "image/png")] {
        let _ = sequential(&client, &same, accept, 0.2);
        let (n, rps, p50, p99, b) = sequential(&client, &same, accept, seconds);
        println!(
            "| hiehub {label}, same request (rendered-image cache hit; audit durable per request) | {n} | {rps:.0} | {p50:.2} | {p99:.2} | {b} |"
        );
    }
    let connections = 4;
    let rps = parallel(&frame_url, "image/jpeg", seconds, connections);
    println!(
        "| hiehub JPEG, same request, {connections} connections (group commit shared) | | {rps:.0} | | | |"
    );
    // a new window per request: nothing comes from the rendered-image cache (the decoded
    // frame does): VOI LUT + encoding every time
    let varying = |i: usize| format!("{frame_url}?window={},{}", 40 + (i % 100_000), 400);
    for (label, accept) in [("JPEG", "image/jpeg"), ("PNG", "image/png")] {
        let (n, rps, p50, p99, b) = sequential(&client, &varying, accept, seconds);
        println!(
            "| hiehub {label}, new window each request (rendered every time) | {n} | {rps:.0} | {p50:.2} | {p99:.2} | {b} |"
        );
    }
    match start_orthanc(dir.path()) {
        None => println!(
            "| Orthanc | skipped: /usr/sbin/Orthanc not installed (apt-get install orthanc) or did not start | | | | |"
        ),
        Some((_orthanc, obase)) => {
            let r = client
                .post(format!("{obase}/instances"))
                .body(series.files[0].clone())
                .send()
                .expect("Orthanc upload");
            assert!(r.status().is_success(), "Orthanc refused the file");
            let v: serde_json::Value = r.json().expect("Orthanc JSON");
            let id = v["ID"].as_str().expect("Orthanc instance id").to_owned();
            let url = format!("{obase}/instances/{id}/frames/0/rendered");
            let ourl = |_: usize| url.clone();
            for (label, accept) in [("JPEG", "image/jpeg"), ("PNG", "image/png")] {
                let _ = sequential(&client, &ourl, accept, 0.2);
                let (n, rps, p50, p99, b) = sequential(&client, &ourl, accept, seconds);
                println!("| Orthanc {label} | {n} | {rps:.0} | {p50:.2} | {p99:.2} | {b} |");
            }
            let connections = 4;
            let rps = parallel(&url, "image/jpeg", seconds, connections);
            println!("| Orthanc JPEG, {connections} connections | | {rps:.0} | | | |");
        }
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "\nload average after: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    drop(_server);
    let _ = cluster.stop();
}
