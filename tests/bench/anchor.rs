//! Cross-anchoring (issue #8) costs, against a real witness: the `hiehub serve` binary (dev mode,
//! HTTPS with mutual TLS on loopback, its own database in the bench's PostgreSQL cluster, fsync on).
//!
//! 1. **Witness round at 10,000,000 entries.** This hub's ledger holds a 10 M-entry tree; each
//!    round appends one audit entry (a checkpoint is signed with it), then runs the witness client's
//!    round: consistency proof from the witness's last size read from the stored nodes, HTTPS POST
//!    to `/ledger/add-checkpoint`, the witness verifies signature and proof, compare-and-swaps its
//!    state, appends our checkpoint to its ledger (fsync) and cosigns; we verify the cosignature
//!    and append it to our ledger (fsync). Reported: time per round (p50, max) and the proof size.
//!    The 10 M tree is built in memory and only part of it stored (every node of level ≥ 10, and
//!    every node and leaf in the last 65,536 leaves and around the middle): the rows a proof reads
//!    are the same as in a full ledger, the tables and their indexes are smaller.
//! 2. **Ingest overhead of witnessing 4 peers every 10 s.** Audit appends (1 KiB entries, 32
//!    producers × 64 entries per call, group commit, fsync on) for the same time with and without
//!    witnessing running beside them, alternating, twice: every 10 s this hub pushes to 4 peers
//!    (4 proofs, 4 HTTPS requests) and 4 simulated peer logs push their checkpoints to this hub's
//!    witness code (signature and proof checks, state swap, ledger append, cosignature).
//!
//! Run: `cargo bench --bench anchor -- --entries 10000000 --seconds 30`
//! Without `--bench` (under `cargo test`) it runs a small smoke pass and asserts success.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use diesel::prelude::*;
use hiehub::anchor::client::{Client, http_client};
use hiehub::anchor::witness::{Reply, Sender, add_checkpoint};
use hiehub::anchor::{Anchor, Peer};
use hiehub::audit::{AuditSink, LedgerConfig, Prepared, SinkConfig};
use hiehub::ledger::checkpoint::{Checkpoint, SigningKey, VerifierKey};
use hiehub::ledger::hash::leaf_hash;
use hiehub::ledger::leaf::{EntryKind, Envelope, Transport};
use hiehub::ledger::merkle::{Frontier, MemoryNodes, consistency_proof};
use hiehub::ledger::witness::AddCheckpoint;
use hiehub::store::cluster::{Cluster, ClusterOptions};
use hiehub::store::schema::{ledger_checkpoints, ledger_entries, ledger_nodes};

const ORIGIN: &str = "hub.bench.test/atna-ledger/sha3-256/v1";

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

#[derive(Insertable)]
#[diesel(table_name = ledger_entries, treat_none_as_default_value = false)]
struct EntryRow {
    seq: i64,
    kind: i16,
    leaf: Vec<u8>,
    leaf_hash: Vec<u8>,
    chain_hash: Vec<u8>,
}

#[derive(Insertable)]
#[diesel(table_name = ledger_nodes, treat_none_as_default_value = false)]
struct NodeRow {
    level: i16,
    idx: i64,
    hash: Vec<u8>,
}

/// Stores the part of an `n`-entry tree that proofs near its end (and from its middle) read.
fn build_ledger(conn: &mut PgConnection, n: u64, key: &SigningKey) {
    let started = Instant::now();
    let full = n <= 1 << 16;
    let hot = |lo: u64, hi: u64| {
        full || hi > n.saturating_sub(1 << 16) || (lo < n / 2 + 1024 && hi + 1024 > n / 2)
    };
    let mut frontier = Frontier::new();
    let mut entries = Vec::new();
    let mut nodes = Vec::new();
    for i in 0..n {
        let lh = leaf_hash(&i.to_be_bytes());
        if hot(i, i + 1) {
            entries.push(EntryRow {
                seq: i as i64,
                kind: EntryKind::AuditReceived.code() as i16,
                leaf: i.to_be_bytes().to_vec(),
                leaf_hash: lh.to_vec(),
                chain_hash: lh.to_vec(),
            });
        }
        for (id, h) in frontier.append(lh).expect("append") {
            let lo = id.index << id.level;
            let hi = (id.index + 1) << id.level;
            if id.level > 0 && (id.level >= 10 || hot(lo, hi)) {
                nodes.push(NodeRow {
                    level: i16::from(id.level),
                    idx: id.index as i64,
                    hash: h.to_vec(),
                });
            }
        }
    }
    for chunk in entries.chunks(50_000) {
        diesel::copy_from(ledger_entries::table)
            .from_insertable(chunk)
            .execute(conn)
            .expect("entries");
    }
    for chunk in nodes.chunks(50_000) {
        diesel::copy_from(ledger_nodes::table)
            .from_insertable(chunk)
            .execute(conn)
            .expect("nodes");
    }
    let root = frontier.root();
    let note = Checkpoint::new(ORIGIN, n, root)
        .expect("checkpoint")
        .sign(key)
        .expect("sign");
    diesel::insert_into(ledger_checkpoints::table)
        .values((
            ledger_checkpoints::size.eq(n as i64),
            ledger_checkpoints::root.eq(root.to_vec()),
            ledger_checkpoints::note.eq(note),
        ))
        .execute(conn)
        .expect("checkpoint");
    eprintln!(
        "stored a {n}-entry tree ({} entries, {} nodes kept) in {:.1?}",
        entries.len(),
        nodes.len(),
        started.elapsed()
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port()
}

/// The witness: `hiehub serve`, its own database, our log configured as its peer.
struct Witness {
    child: std::process::Child,
    url: String,
    http_url: String,
    dir: tempfile::TempDir,
}

impl Drop for Witness {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

fn start_witness(db_url: &str, our_vkey: &str, our_witness_vkey: &str) -> Witness {
    let dir = tempfile::Builder::new()
        .prefix("hiehub-anchor-witness-")
        .tempdir_in("/tmp")
        .expect("dir");
    let port = free_port();
    let config = dir.path().join("hiehub.toml");
    std::fs::write(
        &config,
        format!(
            "ledger_origin = \"witness.bench.test/atna-ledger/sha3-256/v1\"\n\
             witness_interval_secs = 3600\n\n[[peers]]\nname = \"hub\"\nurl = \"https://localhost:1\"\n\
             vkey = \"{our_vkey}\"\nwitness_vkey = \"{our_witness_vkey}\"\n"
        ),
    )
    .expect("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hiehub"))
        .args(["serve", "--dev", "--http", "127.0.0.1:0"])
        .arg("--https")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(dir.path())
        .arg("--database-url")
        .arg(db_url)
        .arg("--config")
        .arg(&config)
        .env("HIEHUB_LOG_LEVEL", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn hiehub");
    let stdout = child.stdout.take().expect("stdout");
    let mut http_url = String::new();
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        if let Some(u) = line.strip_prefix("hiehub listening on http://") {
            http_url = format!("http://{u}");
        }
        if line.starts_with("hiehub listening on https://") {
            break;
        }
    }
    assert!(!http_url.is_empty(), "the witness did not start");
    Witness {
        child,
        url: format!("https://localhost:{port}"),
        http_url,
        dir,
    }
}

fn get_text(url: &str) -> String {
    reqwest::blocking::get(url)
        .and_then(|r| r.text())
        .expect("GET")
        .trim()
        .to_owned()
}

async fn get_async(http: &reqwest::Client, url: &str) -> String {
    http.get(url)
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted
        .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

async fn ingest(sink: AuditSink, seconds: f64, base: u64) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for p in 0..32u64 {
        let sink = sink.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            let mut i = base + (p << 32);
            while !stop.load(Ordering::Relaxed) {
                let items: Vec<Prepared> = (0..64).map(|k| entry(i + k)).collect();
                i += 64;
                if sink.record_batch(items).await.is_ok() {
                    n += 64;
                }
            }
            n
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap_or(0);
    }
    total as f64 / started.elapsed().as_secs_f64()
}

/// A simulated peer log that pushes its checkpoints to this hub's witness code.
struct SimPeer {
    key: SigningKey,
    tree: MemoryNodes,
    witnessed: u64,
}

impl SimPeer {
    fn push(&mut self, grow: u64) -> AddCheckpoint {
        for _ in 0..grow {
            let i = self.tree.size();
            self.tree.push(leaf_hash(&i.to_be_bytes())).expect("push");
        }
        let n = self.tree.size();
        let proof = if self.witnessed == 0 {
            Vec::new()
        } else {
            consistency_proof(&self.tree, self.witnessed, n).expect("proof")
        };
        let note = Checkpoint::new(self.key.name(), n, self.tree.root())
            .expect("checkpoint")
            .sign(&self.key)
            .expect("sign");
        let req = AddCheckpoint {
            old: self.witnessed,
            proof,
            checkpoint: note,
        };
        self.witnessed = n;
        req
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n = if full {
        arg("--entries", 10_000_000)
    } else {
        4096
    };
    let seconds = if full {
        arg("--seconds", 30) as f64
    } else {
        0.4
    };
    let rounds = if full { 30 } else { 3 };
    let period = if full {
        Duration::from_secs(10)
    } else {
        Duration::from_millis(100)
    };

    let dir = tempfile::Builder::new()
        .prefix("hiehub-anchor-bench-")
        .tempdir_in("/tmp")
        .expect("temp dir");
    let cluster = Cluster::new(dir.path()).expect("PostgreSQL binaries");
    cluster
        .start(&ClusterOptions {
            fsync: true,
            extra_settings: vec![("max_wal_size".into(), "4GB".into())],
        })
        .expect("cluster");
    for db in ["hub", "witness"] {
        cluster.ensure_database(db).expect("database");
    }
    let url = cluster.conninfo("hub");
    let mut conn = hiehub::store::connect(&url).expect("connect");
    hiehub::store::migrate(&mut conn).expect("migrate");

    let key_path = dir.path().join("ledger/log-key.pem");
    let log_key = SigningKey::load_or_create(&key_path, ORIGIN).expect("log key");
    build_ledger(&mut conn, n, &log_key);
    let our_witness = SigningKey::generate("hub.bench.test/witness").expect("witness key");
    let our_witness_vkey = our_witness.cosigner_verifier().expect("vkey").to_string();
    let witness = start_witness(
        &cluster.conninfo("witness"),
        &log_key.vkey().expect("vkey"),
        &our_witness_vkey,
    );
    let w_log = VerifierKey::parse(&get_text(&format!("{}/ledger/vkey", witness.http_url)))
        .expect("witness log vkey");
    let w_cosign = VerifierKey::parse(&get_text(&format!(
        "{}/ledger/witness-vkey",
        witness.http_url
    )))
    .expect("witness cosigner vkey");
    let certs = witness.dir.path().join("certs");
    let http = http_client(
        &certs.join("client.pem"),
        &certs.join("client.key"),
        &certs.join("ca.pem"),
    )
    .expect("client");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let sink_config = |every: u64| SinkConfig {
        batch_max: 4096,
        queue: 65_536,
        ledger: LedgerConfig {
            origin: ORIGIN.into(),
            key_path: key_path.clone(),
            checkpoint_every: every,
            checkpoint_interval: Duration::from_secs(10),
        },
    };
    let db = hiehub::store::Db::new(&url, 8).expect("pool");

    // 1. witness rounds at n entries
    let peer = |name: &str, log_key: VerifierKey| Peer {
        name: name.into(),
        url: witness.url.clone(),
        log_key,
        old_log_keys: Vec::new(),
        witness_key: w_cosign.clone(),
    };
    let (times, proof_bytes) = rt.block_on(async {
        let sink = AuditSink::start(url.clone(), sink_config(1)).expect("sink");
        let anchor = Arc::new(Anchor {
            peers: vec![peer("witness", w_log.clone())],
            witness_key: SigningKey::generate("hub.bench.test/witness").expect("key"),
            witness_vkey: our_witness_vkey.clone(),
            quorum: 1,
            interval: period,
            origin: ORIGIN.into(),
        });
        let mut client = Client::new(anchor, db.clone(), sink.clone(), http.clone())
            .await
            .expect("client");
        sink.record_batch(vec![entry(0)]).await.expect("append");
        client.round().await; // first contact: the witness stores our size, no proof
        let mut times = Vec::new();
        let mut proof_bytes = 0;
        for r in 0..rounds {
            sink.record_batch(vec![entry(r + 1)]).await.expect("append");
            let before = db
                .run(|c| Ok(hiehub::ledger::db::latest_checkpoint(c)?))
                .await
                .expect("checkpoint")
                .expect("a checkpoint");
            let t = Instant::now();
            client.round().await;
            times.push(t.elapsed());
            let witnessed =
                get_async(&http, &format!("{}/api/ledger/anchors", witness.http_url)).await;
            let v: serde_json::Value = serde_json::from_str(&witnessed).expect("json");
            let held = v["peers"][0]["witnessed_size"].as_u64().unwrap_or(0);
            assert_eq!(held, before.size, "round {r} was not cosigned");
            if r == 0 {
                let prev = before.size - 2;
                proof_bytes = db
                    .run(move |c| Ok(hiehub::ledger::db::consistency_proof(c, prev, before.size)?))
                    .await
                    .expect("proof")
                    .len()
                    * 32;
            }
        }
        (times, proof_bytes)
    });
    std::thread::sleep(Duration::from_millis(500));
    let mut sorted = times.clone();
    sorted.sort();
    let half = n / 2;
    let size = hiehub::ledger::db::load_tail(&mut conn)
        .expect("tail")
        .size();
    let t = Instant::now();
    let catch_up = hiehub::ledger::db::consistency_proof(&mut conn, half, size).expect("proof");
    let catch_up_time = t.elapsed();
    println!(
        "Witness round against a real witness (hiehub serve, HTTPS mutual TLS on loopback, fsync on), ledger of {n} entries"
    );
    println!(
        "| rounds | p50 | max | consistency proof m→m+2 | catch-up proof {half}→{size} (read from the database in) |"
    );
    println!("|---|---|---|---|---|");
    println!(
        "| {rounds} | {:.1} ms | {:.1} ms | {} hashes, {proof_bytes} bytes | {} hashes, {} bytes ({:.2} ms) |",
        percentile(&sorted, 0.5).as_secs_f64() * 1e3,
        sorted.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        proof_bytes / 32,
        catch_up.len(),
        catch_up.len() * 32,
        catch_up_time.as_secs_f64() * 1e3
    );

    // 2. ingest with and without witnessing 4 peers every `period`
    let results = rt.block_on(async {
        let sink = AuditSink::start(url.clone(), sink_config(1000)).expect("sink");
        let mut sims: Vec<SimPeer> = (1..=4)
            .map(|i| SimPeer {
                key: SigningKey::generate(&format!("peer-{i}.bench.test/atna-ledger/sha3-256/v1"))
                    .expect("key"),
                tree: MemoryNodes::new(),
                witnessed: 0,
            })
            .collect();
        let anchor = Arc::new(Anchor {
            peers: sims
                .iter()
                .enumerate()
                .map(|(i, s)| peer(&format!("peer-{}", i + 1), s.key.verifier().expect("vkey")))
                .collect(),
            witness_key: SigningKey::generate("hub.bench.test/witness").expect("key"),
            witness_vkey: our_witness_vkey.clone(),
            quorum: 2,
            interval: period,
            origin: ORIGIN.into(),
        });
        let mut results = Vec::new();
        for pass in 0..4u64 {
            let with = pass % 2 == 1;
            let stop = Arc::new(AtomicBool::new(false));
            let witnessing = if with {
                let (anchor, db, sink, http, stop) = (
                    anchor.clone(),
                    db.clone(),
                    sink.clone(),
                    http.clone(),
                    stop.clone(),
                );
                let mut sims = std::mem::take(&mut sims);
                Some(tokio::spawn(async move {
                    let mut client = Client::new(anchor.clone(), db.clone(), sink.clone(), http)
                        .await
                        .expect("client");
                    let mut cosigned = 0;
                    while !stop.load(Ordering::Relaxed) {
                        client.round().await;
                        for s in &mut sims {
                            let body = s.push(10).encode();
                            let reply = add_checkpoint(
                                &anchor,
                                &db,
                                &sink,
                                body.as_bytes(),
                                Sender::default(),
                            )
                            .await;
                            assert!(matches!(reply, Reply::Cosigned(_)), "{reply:?}");
                            cosigned += 1;
                        }
                        let until = Instant::now() + period;
                        while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                    (sims, cosigned)
                }))
            } else {
                None
            };
            let rate = ingest(sink.clone(), seconds, pass << 48).await;
            stop.store(true, Ordering::Relaxed);
            if let Some(task) = witnessing {
                let (back, cosigned) = task.await.expect("witnessing");
                assert!(cosigned >= 4);
                sims = back;
            }
            results.push((with, rate));
        }
        results
    });
    let base: Vec<f64> = results.iter().filter(|r| !r.0).map(|r| r.1).collect();
    let with: Vec<f64> = results.iter().filter(|r| r.0).map(|r| r.1).collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    println!();
    println!(
        "Audit ingest (1 KiB entries, 32 producers × 64 per call, fsync on), {seconds} s per pass, alternating"
    );
    println!("| pass | witnessing 4 peers every {period:?} | entries/s |");
    println!("|---|---|---|");
    for (i, (w, r)) in results.iter().enumerate() {
        println!("| {} | {} | {r:.0} |", i + 1, if *w { "yes" } else { "no" });
    }
    println!(
        "overhead: {:.1} % (mean without {:.0}/s, with {:.0}/s)",
        (1.0 - mean(&with) / mean(&base)) * 100.0,
        mean(&base),
        mean(&with)
    );
    drop(witness);
    let _ = cluster.stop();
}
