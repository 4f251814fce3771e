//! Imaging benchmarks (issue 7, "Benchmarks") against the real binary and a private PostgreSQL
//! cluster with fsync ON (audit durable before every reply):
//!
//! - where a rendered answer's time goes, in process: VOI LUT, JPEG and PNG encoding of the
//!   512×512 frame (mean µs).
//! - rendered 512×512 CT frame (the phantom, 16-bit signed) to JPEG and PNG over HTTP, one
//!   connection (sequential requests) and 4 connections: hiehub
//!   `/dicomweb/.../frames/1/rendered` with the default audit window (60 s: one durable event
//!   per requester × study × window) and with `imaging_audit_window_secs = 0` (one durable event
//!   per request; a second server with its own database), vs Orthanc (Debian package `orthanc`,
//!   started here on a loopback port with a temporary storage directory)
//!   `/instances/{id}/frames/0/rendered` on the same file, 3 rounds interleaved, load printed
//!   per round. Orthanc is skipped with a message when `/usr/sbin/Orthanc` is absent. Then
//!   hiehub with a new window per request (nothing from the rendered-image cache).
//! - STOW-RS ingest of a 512×512 series in one request, MB/s, against `dd` writing the same
//!   number of bytes with one fsync (`conv=fsync`) and with one fsync per file (as the blob
//!   store does) in the same data directory.
//!
//! Run: `flock /work/bench.lock cargo bench --bench imaging -- --seconds 5 --slices 100`
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

fn start_hiehub(dir: &std::path::Path, db: &str, audit_window_secs: u32) -> (Killed, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hiehub"))
        .args(["serve", "--dev", "--http", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .arg("--database-url")
        .arg(db)
        .env("HIEHUB_LOG_LEVEL", "warn")
        .env(
            "HIEHUB_IMAGING_AUDIT_WINDOW_SECS",
            audit_window_secs.to_string(),
        )
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
    let (_server, base) = start_hiehub(dir.path(), &db, 60);
    // the same server with one audit event per image read (imaging_audit_window_secs = 0):
    // its own database and data directory
    cluster.ensure_database("hiehub0").expect("database");
    let dir0 = dir.path().join("window0");
    std::fs::create_dir_all(&dir0).expect("data dir");
    let (_server0, base0) = start_hiehub(&dir0, &cluster.conninfo("hiehub0"), 0);
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

    // where the time of a rendered answer goes, in process: VOI LUT, JPEG, PNG encoding
    let frame = hiehub::render::decode(&series.files[0], 0).expect("decode the phantom");
    let reps = if full { 200 } else { 3 };
    let time = |f: &dyn Fn()| {
        f();
        let t = Instant::now();
        for _ in 0..reps {
            f();
        }
        t.elapsed().as_secs_f64() * 1e6 / f64::from(reps)
    };
    let opts = hiehub::render::Options::default();
    let img = hiehub::render::to_image8(&frame, &opts);
    let lut_us = time(&|| {
        std::hint::black_box(hiehub::render::to_image8(&frame, &opts));
    });
    let jpeg_us = time(&|| {
        std::hint::black_box(hiehub::render::encode_jpeg(&img, 90).expect("jpeg"));
    });
    let png_us = time(&|| {
        std::hint::black_box(hiehub::render::encode_png(&img).expect("png"));
    });
    println!();
    println!("| in process, {size}×{size} frame (mean of {reps}) | µs |");
    println!("|---|---|");
    println!("| VOI LUT to 8 bits (`render::to_image8`) | {lut_us:.0} |");
    println!("| JPEG q90 (`render::encode_jpeg`) | {jpeg_us:.0} |");
    println!("| PNG (`render::encode_png`) | {png_us:.0} |");

    // what one database round trip costs as the request path makes it: `Db::run` (blocking
    // pool hop, r2d2 checkout — which by default runs a test query — then the query) vs the
    // same query on a connection held by this thread. A rendered answer makes two (the index
    // row, the consent decision).
    {
        use diesel::RunQueryDsl;
        let query = format!(
            "SELECT count(*) FROM imaging_instances WHERE sop_instance_uid = '{}'",
            series.sop_instance_uids[0]
        );
        let n = if full { 2000 } else { 10 };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let pool = hiehub::store::Db::new(&db, 2).expect("pool");
        let q = query.clone();
        let via_pool = rt.block_on(async {
            let t = Instant::now();
            for _ in 0..n {
                let q = q.clone();
                pool.run(move |c| {
                    diesel::sql_query(q).execute(c)?;
                    Ok(())
                })
                .await
                .expect("query");
            }
            t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
        });
        let mut conn = hiehub::store::connect(&db).expect("connection");
        let t = Instant::now();
        for _ in 0..n {
            diesel::sql_query(query.clone())
                .execute(&mut conn)
                .expect("query");
        }
        let held = t.elapsed().as_secs_f64() * 1e6 / f64::from(n);
        println!();
        println!("| one index query (mean of {n}) | µs |");
        println!("|---|---|");
        println!(
            "| `Db::run` (blocking pool, r2d2 checkout with its test query, the query) | {via_pool:.0} |"
        );
        println!("| the same query on a held connection | {held:.0} |");
    }

    // rendered frame: hiehub (audit window 60 s and 0) vs Orthanc, 3 rounds interleaved
    let path = format!(
        "/dicomweb/studies/{}/series/{}/instances/{}/frames/1/rendered",
        series.study_uid, series.series_uid, series.sop_instance_uids[0]
    );
    let r = client
        .post(format!("{base0}/dicomweb/studies"))
        .header(
            "Content-Type",
            "multipart/related; type=\"application/dicom\"; boundary=bench-boundary",
        )
        .body(multipart(&series.files[..1], "bench-boundary"))
        .send()
        .expect("STOW-RS");
    assert_eq!(r.status().as_u16(), 200, "STOW-RS to the window-0 server");
    let orthanc = start_orthanc(dir.path());
    let mut targets: Vec<(String, String)> = vec![
        ("hiehub, audit window 60 s".into(), format!("{base}{path}")),
        ("hiehub, audit window 0".into(), format!("{base0}{path}")),
    ];
    match &orthanc {
        None => println!(
            "\nOrthanc skipped: /usr/sbin/Orthanc not installed (apt-get install orthanc) or did not start"
        ),
        Some((_, obase)) => {
            let r = client
                .post(format!("{obase}/instances"))
                .body(series.files[0].clone())
                .send()
                .expect("Orthanc upload");
            assert!(r.status().is_success(), "Orthanc refused the file");
            let v: serde_json::Value = r.json().expect("Orthanc JSON");
            let id = v["ID"].as_str().expect("Orthanc instance id").to_owned();
            targets.push((
                "Orthanc".into(),
                format!("{obase}/instances/{id}/frames/0/rendered"),
            ));
        }
    }
    let connections = 4;
    let rounds = if full { 3 } else { 1 };
    /// (target, format, connections, req/s per round, (p50, p99) per round, bytes)
    type Row<'a> = (String, &'a str, usize, Vec<f64>, Vec<(f64, f64)>, usize);
    let mut results: Vec<Row> = Vec::new();
    for round in 0..rounds {
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        println!(
            "round {}: load {}",
            round + 1,
            load.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        );
        for (label, url) in &targets {
            for (fmt, accept) in [("JPEG", "image/jpeg"), ("PNG", "image/png")] {
                let one = |_: usize| url.clone();
                let _ = sequential(&client, &one, accept, 0.2);
                let (_, rps1, p50, p99, b) = sequential(&client, &one, accept, seconds);
                let rps4 = parallel(url, accept, seconds, connections);
                for (conns, rps) in [(1, rps1), (connections, rps4)] {
                    match results
                        .iter_mut()
                        .find(|r| &r.0 == label && r.1 == fmt && r.2 == conns)
                    {
                        Some(r) => {
                            r.3.push(rps);
                            r.4.push((p50, p99));
                        }
                        None => results.push((
                            label.clone(),
                            fmt,
                            conns,
                            vec![rps],
                            vec![(p50, p99)],
                            b,
                        )),
                    }
                }
            }
        }
    }
    println!();
    println!(
        "| rendered {size}×{size} frame, same request | connections | req/s per round | p50 / p99 ms (1 connection) | bytes |"
    );
    println!("|---|---|---|---|---|");
    for (label, fmt, conns, rps, lat, b) in &results {
        let rps: Vec<String> = rps.iter().map(|r| format!("{r:.0}")).collect();
        let lat: String = if *conns == 1 {
            lat.iter()
                .map(|(a, b)| format!("{a:.2}/{b:.2}"))
                .collect::<Vec<_>>()
                .join(", ")
        } else {
            String::new()
        };
        println!(
            "| {label} {fmt} | {conns} | {} | {lat} | {b} |",
            rps.join(", ")
        );
    }
    // a new window per request: nothing comes from the rendered-image cache (the decoded
    // frame does): VOI LUT + encoding every time
    let frame_url = format!("{base}{path}");
    // (the centre moves by 0.001 HU per request: never the same key, the same picture — an
    // integer step would soon window everything to black, which encodes to almost nothing)
    let varying = |i: usize| format!("{frame_url}?window={:.3},400", 40.0 + i as f64 * 0.001);
    for (label, accept) in [("JPEG", "image/jpeg"), ("PNG", "image/png")] {
        let (n, rps, p50, p99, b) = sequential(&client, &varying, accept, seconds);
        println!(
            "| hiehub (window 60 s) {label}, new window each request (rendered every time), 1 connection: {n} requests, {rps:.0} req/s, p50 {p50:.2} ms, p99 {p99:.2} ms, {b} bytes |"
        );
    }
    drop(orthanc);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "\nload average after: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    drop(_server);
    drop(_server0);
    let _ = cluster.stop();
}
