//! Ledger append core: 1 KiB entries through the audit sink (leaf, chain, Merkle nodes, payload,
//! group commit with fsync on), no parsing; then `ledger verify` over what was written, beside raw
//! SHA3-256 throughput on all cores measured in the same run.
//!
//! Run: `cargo bench --bench ledger_append -- --seconds 10`
//! Under `cargo test` (no `--bench`) it runs a short smoke pass.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hiehub::audit::{AuditSink, LedgerConfig, Prepared, SinkConfig};
use hiehub::ledger::leaf::{EntryKind, Envelope, Transport};
use hiehub::store::cluster::{Cluster, ClusterOptions};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn entry(i: u64) -> Prepared {
    let mut payload = vec![0u8; 1024];
    for (j, b) in payload.iter_mut().enumerate() {
        *b = (i as usize * 31 + j * 7) as u8;
    }
    Prepared::new(
        EntryKind::AuditReceived,
        Envelope {
            received_at_micros: 1_790_000_000_000_000 + i as i64,
            transport: Transport::Tls,
            sender_fingerprint: Some([7; 32]),
            connection_id: Some(format!("bench-{}", i % 100)),
            frame_seq: Some(i),
        },
        Bytes::from(payload),
        None,
    )
}

struct Run {
    entries: u64,
    seconds: f64,
    p50: Duration,
    p99: Duration,
}

async fn load(sink: AuditSink, producers: usize, batch: usize, seconds: f64) -> Run {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for p in 0..producers {
        let sink = sink.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut n = 0u64;
            let mut i = (p as u64) << 40;
            while !stop.load(Ordering::Relaxed) {
                let items: Vec<Prepared> = (0..batch).map(|k| entry(i + k as u64)).collect();
                i += batch as u64;
                let t = Instant::now();
                if sink.record_batch(items).await.is_ok() {
                    lat.push(t.elapsed());
                    n += batch as u64;
                }
            }
            (n, lat)
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    let mut lat = Vec::new();
    for t in tasks {
        if let Ok((n, l)) = t.await {
            total += n;
            lat.extend(l);
        }
    }
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Run {
        entries: total,
        seconds: started.elapsed().as_secs_f64(),
        p50: pct(0.5),
        p99: pct(0.99),
    }
}

fn raw_sha3_per_second(seconds: f64) -> f64 {
    use sha3::Digest;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let data = vec![0x5au8; 1024 + 100];
    let stop = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let stop = stop.clone();
            let data = data.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..256 {
                        std::hint::black_box(sha3::Sha3_256::digest(&data));
                    }
                    n += 256;
                }
                n
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    stop.store(true, Ordering::Relaxed);
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    total as f64 / seconds
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let seconds = if full {
        arg("--seconds", 10) as f64
    } else {
        0.3
    };

    let dir = tempfile::Builder::new()
        .prefix("hiehub-ledger-bench-")
        .tempdir_in("/tmp")
        .expect("temp dir");
    let cluster = Cluster::new(dir.path()).expect("PostgreSQL binaries");
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
    let url = cluster.conninfo("hiehub");
    let mut conn = hiehub::store::connect(&url).expect("connect");
    hiehub::store::migrate(&mut conn).expect("migrate");

    let config = SinkConfig {
        batch_max: 4096,
        queue: 65_536,
        ledger: LedgerConfig {
            origin: "bench.hiehub.test/atna-ledger/sha3-256/v1".into(),
            key_path: dir.path().join("ledger/log-key.pem"),
            checkpoint_every: 100_000,
            checkpoint_interval: Duration::from_secs(5),
        },
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let sink = rt
        .block_on(async { AuditSink::start(url.clone(), config) })
        .expect("sink");
    let vkey = sink.vkey().to_owned();

    println!("Ledger append, 1 KiB entries, fsync on, {seconds} s per run");
    println!("| producers × entries per call | entries/s | call p50 | call p99 |");
    println!("|---|---|---|---|");
    let mut written = 0;
    for (producers, batch) in [(64, 1), (100, 16), (32, 256)] {
        let r = rt.block_on(load(sink.clone(), producers, batch, seconds));
        written += r.entries;
        println!(
            "| {producers} × {batch} | {:.0} | {:.2} ms | {:.2} ms |",
            r.entries as f64 / r.seconds,
            r.p50.as_secs_f64() * 1e3,
            r.p99.as_secs_f64() * 1e3
        );
    }
    drop(sink); // the writer signs a final checkpoint and stops
    std::thread::sleep(Duration::from_millis(500));

    if std::env::var_os("HIEHUB_BENCH_FETCH").is_some() {
        let t = Instant::now();
        let mut from = 0;
        loop {
            let chunk = hiehub::ledger::db::entries(&mut conn, from, 8192).expect("entries");
            if chunk.is_empty() {
                break;
            }
            from += chunk.len() as u64;
        }
        println!(
            "fetch only: {from} entries in {:.2} s",
            t.elapsed().as_secs_f64()
        );
    }
    let keys = vec![hiehub::ledger::checkpoint::VerifierKey::parse(&vkey).expect("vkey")];
    let t = Instant::now();
    let report = hiehub::ledger::verify::verify(&url, &keys, false).expect("verify");
    let secs = t.elapsed().as_secs_f64();
    let raw = raw_sha3_per_second(if full { 3.0 } else { 0.2 });
    println!(
        "ledger verify: {} entries in {:.2} s = {:.0} entries/s; raw SHA3-256 of 1.1 KiB on all cores: {:.0}/s; ratio {:.0} %",
        report.entries_checked,
        secs,
        report.entries_checked as f64 / secs,
        raw,
        100.0 * (report.entries_checked as f64 / secs) / raw
    );
    assert!(report.ok(), "{:?}", report.failure);
    assert_eq!(report.entries_checked, written);
    let _ = cluster.stop();
}
