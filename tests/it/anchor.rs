//! Cross-anchoring (issue #8) end to end: three `hiehub serve` processes, each with its own
//! embedded PostgreSQL cluster under its data directory, talking HTTPS with mutual TLS (one test
//! CA, made by `hiehub certs dev`), witnessing each other under audit load; then an operator who
//! rewrites hub A's past (direct SQL with the append-only triggers disabled, tree rebuilt and
//! re-signed with A's own key), a hub restored from an old copy of its data directory, a peer that
//! was down, and a log key rotation announced in configuration.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bytea};
use hiehub::ledger::checkpoint::{Checkpoint, SigningKey};
use hiehub::ledger::hash::{chain_hash, leaf_hash, payload_hash};
use hiehub::ledger::leaf::Leaf;
use hiehub::ledger::merkle::Frontier;
use hiehub::store::cluster::{Cluster, ClusterOptions};

use crate::harness::*;

const NAMES: [&str; 3] = ["hub-a", "hub-b", "hub-c"];

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One hub of the region: its keys, its port, its data directory (which holds its cluster).
struct Hub {
    name: &'static str,
    port: u16,
    dir: Option<tempfile::TempDir>,
    server: Option<Server>,
    log_vkey: String,
    old_log_vkeys: Vec<String>,
    witness_vkey: String,
}

impl Hub {
    fn origin(&self) -> String {
        origin_of(self.name)
    }
    fn path(&self) -> PathBuf {
        match (&self.dir, &self.server) {
            (Some(d), _) => d.path().to_owned(),
            (None, Some(s)) => s.data_dir.path().to_owned(),
            (None, None) => unreachable!("a hub always has its data directory"),
        }
    }
    fn server(&self) -> &Server {
        self.server.as_ref().expect("hub is running")
    }
    fn url(&self, path: &str) -> String {
        self.server().url(path)
    }
    fn get_json(&self, path: &str) -> serde_json::Value {
        let r = client().get(self.url(path)).send().unwrap();
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().unwrap()
    }
    fn start(&mut self) {
        let dir = self.dir.take().expect("hub is stopped");
        let config = dir.path().join("hiehub.toml");
        self.server = Some(Server::start_with(ServerOptions {
            db_url: None,
            data_dir: Some(dir),
            extra_args: vec!["--config".into(), config.display().to_string()],
            ..ServerOptions::default()
        }));
    }
    fn stop(&mut self) {
        let mut s = self.server.take().expect("hub is running");
        s.signal(libc::SIGTERM);
        let status = s.wait(Duration::from_secs(60)).expect("hub stops");
        assert!(status.success(), "{} exited with {status}", self.name);
        self.dir = Some(std::mem::replace(
            &mut s.data_dir,
            tempfile::tempdir().unwrap(),
        ));
    }
    /// `hiehub ARGS --data-dir DIR --config FILE` (the hub's cluster is used as it is).
    fn cli(&self, args: &[&str]) -> (i32, String) {
        let dir = self.path();
        let out = Command::new(bin())
            .args(args)
            .arg("--data-dir")
            .arg(&dir)
            .arg("--config")
            .arg(dir.join("hiehub.toml"))
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }
}

fn origin_of(name: &str) -> String {
    format!("{name}.test/atna-ledger/sha3-256/v1")
}

/// Makes three hubs that trust one test CA and know each other's keys.
fn region() -> Vec<Hub> {
    let pki = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .args(["certs", "dev", "--data-dir"])
        .arg(pki.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let mut hubs: Vec<Hub> = NAMES
        .iter()
        .map(|name| {
            let dir = tempfile::Builder::new()
                .prefix("hiehub-anchor-")
                .tempdir_in("/tmp")
                .unwrap();
            copy_dir(&pki.path().join("certs"), &dir.path().join("certs"));
            let log = SigningKey::load_or_create(
                &dir.path().join("ledger/log-key.pem"),
                &origin_of(name),
            )
            .unwrap();
            let witness = SigningKey::load_or_create(
                &dir.path().join("ledger/witness-key.pem"),
                &format!("{name}.test/witness"),
            )
            .unwrap();
            Hub {
                name,
                port: free_port(),
                dir: Some(dir),
                server: None,
                log_vkey: log.vkey().unwrap(),
                old_log_vkeys: Vec::new(),
                witness_vkey: witness.cosigner_verifier().unwrap().to_string(),
            }
        })
        .collect();
    for i in 0..hubs.len() {
        write_config(&mut hubs, i);
    }
    hubs
}

fn write_config(hubs: &mut [Hub], i: usize) {
    let me = &hubs[i];
    let mut toml = format!(
        "ledger_origin = \"{}\"\nhttps_addr = \"127.0.0.1:{}\"\ncheckpoint_every = 40\n\
         checkpoint_interval_secs = 1\nwitness_interval_secs = 1\nanchor_quorum = 2\n",
        me.origin(),
        me.port
    );
    for (j, p) in hubs.iter().enumerate() {
        if j == i {
            continue;
        }
        let old: Vec<String> = p.old_log_vkeys.iter().map(|k| format!("\"{k}\"")).collect();
        toml.push_str(&format!(
            "\n[[peers]]\nname = \"{}\"\nurl = \"https://localhost:{}\"\nvkey = \"{}\"\n\
             witness_vkey = \"{}\"\nold_vkeys = [{}]\n",
            p.name,
            p.port,
            p.log_vkey,
            p.witness_vkey,
            old.join(", ")
        ));
    }
    std::fs::write(hubs[i].path().join("hiehub.toml"), toml).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

/// `n` Echo requests to `hub` (each one an audit event in its ledger).
fn echo_load(hub: &Hub, tag: &str, n: usize) {
    for i in 0..n {
        let r = client()
            .post(hub.url("/xds/registry"))
            .header("content-type", SOAP_CT)
            .body(echo_envelope(&format!("urn:uuid:{tag}-{i}"), tag))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
    }
}

/// The same load on every running hub at once.
fn load_all(hubs: &[Hub], tag: &str, n: usize) {
    std::thread::scope(|s| {
        for h in hubs.iter().filter(|h| h.server.is_some()) {
            s.spawn(move || echo_load(h, &format!("{tag}-{}", h.name), n));
        }
    });
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Sequence numbers of the audit events in `hub`'s index (newest first, up to 500).
fn audit_seqs(hub: &Hub) -> Vec<u64> {
    hub.get_json("/api/audit?limit=500")["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["seq"].as_u64().unwrap())
        .collect()
}

fn anchoring(hub: &Hub, seq: u64) -> serde_json::Value {
    hub.get_json(&format!("/api/ledger/entries/{seq}/anchoring"))
}

fn witnessed_size(hub: &Hub, peer: &str) -> Option<u64> {
    hub.get_json("/api/ledger/anchors")["peers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == peer)
        .and_then(|p| p["witnessed_size"].as_u64())
}

fn latest_size(hub: &Hub) -> u64 {
    hub.get_json("/api/ledger/checkpoint")["size"]
        .as_u64()
        .unwrap()
}

fn alarms(hub: &Hub) -> Vec<serde_json::Value> {
    hub.get_json("/api/ledger/alarms")
        .as_array()
        .unwrap()
        .clone()
}

/// Waits until every audit event of every running hub is anchored (k = 2 of 2 peers).
fn wait_all_anchored(hubs: &[Hub]) {
    for h in hubs.iter().filter(|h| h.server.is_some()) {
        let seqs = audit_seqs(h);
        let newest = *seqs.first().unwrap();
        wait_for(
            &format!("{}: entry {newest} anchored", h.name),
            Duration::from_secs(90),
            || anchoring(h, newest)["anchored"] == true,
        );
        for seq in seqs {
            let a = anchoring(h, seq);
            assert_eq!(a["anchored"], true, "{}: {a}", h.name);
            assert_eq!(a["quorum"], 2, "{a}");
            let cosigners = a["cosigners"].as_array().unwrap();
            assert_eq!(cosigners.len(), 2, "{a}");
            assert!(
                a["covering_checkpoint"]["size"].as_u64().unwrap() > seq,
                "{a}"
            );
            for c in cosigners {
                assert!(c["size"].as_u64().unwrap() > seq, "{a}");
                assert!(c["cosigned_at"].is_string(), "{a}");
            }
        }
    }
}

/// The attacker: with A stopped and superuser rights on its database, rewrites the payload of
/// entry `seq`, recomputes every leaf, chain and tree hash after it and re-signs every
/// checkpoint with A's own log key. A's ledger is then internally consistent again.
fn rewrite_past(hub: &Hub, seq: u64) {
    let dir = hub.path();
    let cluster = Cluster::new(&dir).unwrap();
    cluster.start(&ClusterOptions::server()).unwrap();
    let mut conn = connect(&cluster.conninfo("hiehub"));
    diesel::sql_query("SET session_replication_role = replica")
        .execute(&mut conn)
        .unwrap();
    #[derive(QueryableByName)]
    struct E {
        #[diesel(sql_type = BigInt)]
        seq: i64,
        #[diesel(sql_type = Bytea)]
        leaf: Vec<u8>,
        #[diesel(sql_type = Bytea)]
        payload: Vec<u8>,
    }
    let victim: E = diesel::sql_query(
        "SELECT e.seq, e.leaf, p.payload FROM ledger_entries e JOIN ledger_payloads p USING (seq) WHERE e.seq = $1",
    )
    .bind::<BigInt, _>(seq as i64)
    .get_result(&mut conn)
    .unwrap();
    let text = String::from_utf8(victim.payload).unwrap();
    assert!(text.contains("EventOutcomeIndicator=\"0\""), "{text}");
    let forged = text.replace("EventOutcomeIndicator=\"0\"", "EventOutcomeIndicator=\"4\"");
    let mut leaf = Leaf::decode(&victim.leaf).unwrap();
    leaf.payload_hash = payload_hash(forged.as_bytes());
    let leaf_bytes = leaf.encode().unwrap();
    diesel::sql_query("UPDATE ledger_payloads SET payload = $1 WHERE seq = $2")
        .bind::<Bytea, _>(forged.as_bytes())
        .bind::<BigInt, _>(victim.seq)
        .execute(&mut conn)
        .unwrap();
    diesel::sql_query("UPDATE ledger_entries SET leaf = $1, leaf_hash = $2 WHERE seq = $3")
        .bind::<Bytea, _>(&leaf_bytes)
        .bind::<Bytea, _>(leaf_hash(&leaf_bytes).as_slice())
        .bind::<BigInt, _>(victim.seq)
        .execute(&mut conn)
        .unwrap();
    // every chain hash from the victim on, every tree node, every checkpoint
    #[derive(QueryableByName)]
    struct H {
        #[diesel(sql_type = BigInt)]
        seq: i64,
        #[diesel(sql_type = Bytea)]
        leaf_hash: Vec<u8>,
    }
    let all: Vec<H> = diesel::sql_query("SELECT seq, leaf_hash FROM ledger_entries ORDER BY seq")
        .load(&mut conn)
        .unwrap();
    #[derive(QueryableByName)]
    struct S {
        #[diesel(sql_type = BigInt)]
        size: i64,
    }
    let sizes: Vec<u64> = diesel::sql_query("SELECT size FROM ledger_checkpoints ORDER BY size")
        .load::<S>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|s| s.size as u64)
        .collect();
    let key = SigningKey::load_or_create(&dir.join("ledger/log-key.pem"), &hub.origin()).unwrap();
    diesel::sql_query("DELETE FROM ledger_nodes")
        .execute(&mut conn)
        .unwrap();
    let mut frontier = Frontier::new();
    let mut chain = [0u8; 32];
    let mut nodes: Vec<(i16, i64, Vec<u8>)> = Vec::new();
    for h in &all {
        let lh: [u8; 32] = h.leaf_hash.as_slice().try_into().unwrap();
        chain = chain_hash(h.seq as u64, &chain, &lh);
        if h.seq >= victim.seq {
            diesel::sql_query("UPDATE ledger_entries SET chain_hash = $1 WHERE seq = $2")
                .bind::<Bytea, _>(chain.as_slice())
                .bind::<BigInt, _>(h.seq)
                .execute(&mut conn)
                .unwrap();
        }
        for (id, hash) in frontier.append(lh).unwrap() {
            if id.level > 0 {
                nodes.push((i16::from(id.level), id.index as i64, hash.to_vec()));
            }
        }
        if sizes.contains(&frontier.size()) {
            let root = frontier.root();
            let note = Checkpoint::new(&hub.origin(), frontier.size(), root)
                .unwrap()
                .sign(&key)
                .unwrap();
            diesel::sql_query("UPDATE ledger_checkpoints SET root = $1, note = $2 WHERE size = $3")
                .bind::<Bytea, _>(root.as_slice())
                .bind::<diesel::sql_types::Text, _>(&note)
                .bind::<BigInt, _>(frontier.size() as i64)
                .execute(&mut conn)
                .unwrap();
        }
    }
    for (level, idx, hash) in nodes {
        diesel::sql_query("INSERT INTO ledger_nodes (level, idx, hash) VALUES ($1, $2, $3)")
            .bind::<diesel::sql_types::SmallInt, _>(level)
            .bind::<BigInt, _>(idx)
            .bind::<Bytea, _>(&hash)
            .execute(&mut conn)
            .unwrap();
    }
    drop(conn);
    cluster.stop().unwrap();
}

/// Writes each alarm's evidence of `kind` to `dir`; returns how many.
fn export_evidence(hub: &Hub, kind: &str, dir: &Path) -> usize {
    let mut n = 0;
    for a in alarms(hub).iter().filter(|a| a["kind"] == kind) {
        let id = a["id"].as_i64().unwrap();
        let r = client()
            .get(hub.url(&format!("/api/ledger/alarms/{id}/evidence")))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        std::fs::write(
            dir.join(format!("{}-{id}.json", hub.name)),
            r.bytes().unwrap(),
        )
        .unwrap();
        n += 1;
    }
    n
}

fn metric(hub: &Hub, name: &str) -> f64 {
    let text = client()
        .get(hub.url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Runs `tests/browser/anchor.mjs` (playwright-core + Debian's chromium, as the inspector test).
fn browser(args: &[&str]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core/package.json")
            .exists(),
        "the npm package 'playwright-core' is not installed in tests/browser: run deploy/setup.sh --test"
    );
    let out = Command::new("node")
        .arg(dir.join("anchor.mjs"))
        .args(args)
        .output()
        .expect("node (Debian package 'nodejs'): run deploy/setup.sh --test");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("[anchor.mjs {}]\n{text}", args[0]);
    assert!(out.status.success(), "anchor.mjs {args:?}: {text}");
}

#[test]
fn three_hubs_anchor_every_event_and_refuse_a_rewritten_past() {
    let mut hubs = region();
    for h in &mut hubs {
        h.start();
    }
    load_all(&hubs, "load1", 30);
    wait_all_anchored(&hubs);

    // a security officer sees it on the event page
    let shown = audit_seqs(&hubs[0])[3];
    browser(&[
        "anchored",
        &hubs[0].url(&format!("/audit/event.html?seq={shown}")),
        "2",
    ]);

    // the entanglement: each hub's ledger holds the others' checkpoints and their cosignatures
    // (verified with the hub stopped: `verify` reads a ledger that is not growing)
    hubs[1].stop();
    let (code, out) = hubs[1].cli(&["ledger", "verify"]);
    hubs[1].start();
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("OK: the stored peer checkpoints and cosignatures hold"),
        "{out}"
    );
    assert!(!out.contains("checked 0 peer checkpoints"), "{out}");
    assert!(!out.contains(", 0 cosigned checkpoints"), "{out}");

    // `ledger prove` carries the cosignatures; check-proof verifies them offline
    let seqs = audit_seqs(&hubs[0]);
    let victim = *seqs.iter().rev().nth(5).unwrap();
    let (code, proof) = hubs[0].cli(&["ledger", "prove", &victim.to_string()]);
    assert_eq!(code, 0, "{proof}");
    let proof_file = hubs[0].path().join("proof.json");
    std::fs::write(&proof_file, &proof).unwrap();
    let out = Command::new(bin())
        .args(["ledger", "check-proof"])
        .arg(&proof_file)
        .args(["--vkey", &hubs[0].log_vkey])
        .args(["--witness-vkey", &hubs[1].witness_vkey])
        .args(["--witness-vkey", &hubs[2].witness_vkey])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("OK: cosigned by witness hub-b.test/witness"),
        "{text}"
    );
    assert!(
        text.contains("OK: cosigned by witness hub-c.test/witness"),
        "{text}"
    );
    // a witness key that did not cosign fails the check
    let stranger = SigningKey::generate("hub-x.test/witness").unwrap();
    let out = Command::new(bin())
        .args(["ledger", "check-proof"])
        .arg(&proof_file)
        .args(["--vkey", &hubs[0].log_vkey])
        .args([
            "--witness-vkey",
            &stranger.cosigner_verifier().unwrap().to_string(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());

    // audit-peer from outside, no database
    let out = Command::new(bin())
        .args(["ledger", "audit-peer", &hubs[1].url("")])
        .args(["--vkey", &hubs[1].log_vkey])
        .args(["--witness-vkey", &hubs[0].witness_vkey])
        .args(["--witness-vkey", &hubs[2].witness_vkey])
        .args(["--quorum", "2"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("is anchored (2 of k = 2)"), "{text}");

    // The operator of hub A rewrites an old audit event and covers the tracks.
    assert_eq!(metric(&hubs[1], "hiehub_anchor_alarms_total"), 0.0);
    hubs[0].stop();
    let held_before: Vec<Option<u64>> = hubs[1..]
        .iter()
        .map(|w| witnessed_size(w, "hub-a"))
        .collect();
    rewrite_past(&hubs[0], victim);
    hubs[0].start();
    // A's own ledger is internally consistent again...
    // ...and B and C refuse its next checkpoint.
    load_all(&hubs[..1], "after-rewrite", 5);
    for w in &hubs[1..] {
        wait_for(
            &format!("{} raises the alarm", w.name),
            Duration::from_secs(60),
            || alarms(w).iter().any(|a| a["peer"] == "hub-a"),
        );
        let list = alarms(w);
        let a = list.iter().find(|a| a["peer"] == "hub-a").unwrap();
        assert_eq!(a["kind"], "inconsistent", "{a}");
        assert!(metric(w, "hiehub_anchor_alarms_total") >= 1.0);
        assert_eq!(metric(w, "hiehub_anchor_alarm"), 1.0);
        let hits = w.get_json("/api/audit?event_type=LEDGER-ANCHOR")["hits"]
            .as_array()
            .unwrap()
            .clone();
        assert!(!hits.is_empty(), "{} has no Security Alert", w.name);
        assert_eq!(hits[0]["event_id"], "110113");
    }
    browser(&["alarm", &hubs[1].url("/audit/"), "hub-a"]);
    std::thread::sleep(Duration::from_secs(3));
    // no witness moved on to the forged history
    for (w, held) in hubs[1..].iter().zip(&held_before) {
        assert_eq!(witnessed_size(w, "hub-a"), *held, "{}", w.name);
    }
    let a = anchoring(&hubs[0], latest_size(&hubs[0]) - 1);
    assert_eq!(a["anchored"], false, "{a}");

    // The evidence convinces anyone with A's public key.
    let evidence = tempfile::tempdir().unwrap();
    let n = export_evidence(&hubs[1], "inconsistent", evidence.path())
        + export_evidence(&hubs[2], "inconsistent", evidence.path());
    assert!(n >= 2);
    let out = Command::new(bin())
        .args(["ledger", "check-fork"])
        .arg(evidence.path())
        .args(["--vkey", &hubs[0].log_vkey])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("CONFIRMED"), "{text}");
    assert!(text.contains("forked"), "{text}");
    // ...and not with another key
    let out = Command::new(bin())
        .args(["ledger", "check-fork"])
        .arg(evidence.path())
        .args(["--vkey", &hubs[1].log_vkey])
        .output()
        .unwrap();
    assert!(!out.status.success());

    // A's own verification fails against the cosigned checkpoints it holds.
    hubs[0].stop();
    let (code, out) = hubs[0].cli(&["ledger", "verify"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("OK: the ledger is intact"), "{out}");
    assert!(out.contains("FAILED: anchoring"), "{out}");
    assert!(out.contains("its past was rewritten"), "{out}");
}

#[test]
fn catch_up_rotation_and_rollback_are_handled() {
    let mut hubs = region();
    for h in &mut hubs {
        h.start();
    }
    load_all(&hubs, "load1", 10);
    wait_all_anchored(&hubs);

    // C is down for a while; A grows; C catches up from its last witnessed size in one proof.
    let c_had = witnessed_size(&hubs[2], "hub-a").unwrap();
    hubs[2].stop();
    load_all(&hubs[..2], "while-c-down", 20);
    std::thread::sleep(Duration::from_secs(3));
    let a_now = latest_size(&hubs[0]);
    assert!(a_now > c_had);
    hubs[2].start();
    wait_for("C catches up with A", Duration::from_secs(60), || {
        witnessed_size(&hubs[2], "hub-a").is_some_and(|s| s >= a_now)
    });
    let entries = hubs[2].get_json(&format!("/api/ledger/entries?from={}&limit=1000", 0));
    let caught_up = entries
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "PeerCheckpoint")
        .any(|e| {
            let p = hubs[2].get_json(&format!("/api/ledger/entries/{}", e["seq"]))["payload_text"]
                .as_str()
                .unwrap()
                .to_owned();
            p.contains("hub-a.test") && p.starts_with(&format!("old {c_had}\n")) && {
                let size: u64 = p
                    .split("\n\n")
                    .nth(1)
                    .and_then(|cp| cp.lines().nth(1))
                    .and_then(|s| s.parse().ok())
                    .unwrap();
                size >= a_now
            }
        });
    assert!(
        caught_up,
        "C did not catch up from size {c_had} in one proof"
    );
    wait_all_anchored(&hubs);

    // A rotates its log key; B and C are told in configuration (the old key stays for the past).
    hubs[0].stop();
    let witnessed_before = witnessed_size(&hubs[1], "hub-a").unwrap();
    let key_path = hubs[0].path().join("ledger/log-key.pem");
    std::fs::remove_file(&key_path).unwrap();
    let new_key = SigningKey::load_or_create(&key_path, &hubs[0].origin()).unwrap();
    let old = std::mem::replace(&mut hubs[0].log_vkey, new_key.vkey().unwrap());
    hubs[0].old_log_vkeys.push(old.clone());
    for i in [1, 2] {
        hubs[i].stop();
        write_config(&mut hubs, i);
        hubs[i].start();
    }
    write_config(&mut hubs, 0);
    hubs[0].start();
    load_all(&hubs[..1], "after-rotation", 5);
    for w in &hubs[1..] {
        wait_for(
            &format!("{} cosigns A under its new key", w.name),
            Duration::from_secs(60),
            || witnessed_size(w, "hub-a").is_some_and(|s| s > witnessed_before),
        );
        assert!(alarms(w).is_empty(), "{:?}", alarms(w));
    }
    // B's stored history (old key) and new entries (new key) both verify
    hubs[1].stop();
    let (code, out) = hubs[1].cli(&["ledger", "verify"]);
    assert_eq!(code, 0, "{out}");
    hubs[1].start();
    // A's own ledger: old checkpoints need the old key, new ones the new key
    hubs[0].stop();
    let (code, out) = hubs[0].cli(&["ledger", "verify", "--vkey", &old]);
    assert_ne!(
        code, 0,
        "old key alone cannot verify A's new checkpoints: {out}"
    );
    let new = hubs[0].log_vkey.clone();
    let (code, out) = hubs[0].cli(&["ledger", "verify", "--vkey", &old, "--vkey", &new]);
    assert_eq!(code, 0, "{out}");
    hubs[0].start();
    let old_note = {
        let v = hubs[1].get_json("/api/ledger/entries?from=0&limit=1000");
        let seq = v
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "PeerCheckpoint")
            .unwrap()["seq"]
            .as_u64()
            .unwrap();
        let p = hubs[1].get_json(&format!("/api/ledger/entries/{seq}"))["payload_text"]
            .as_str()
            .unwrap()
            .to_owned();
        p.split_once("\n\n").unwrap().1.to_owned()
    };
    let body = format!(
        "old {}\n\n{old_note}",
        witnessed_size(&hubs[1], "hub-a").unwrap()
    );
    let r = client()
        .post(hubs[1].url("/ledger/add-checkpoint"))
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // bad input gets a clear 4xx and a Security Alert
    let r = client()
        .post(hubs[1].url("/ledger/add-checkpoint"))
        .body("new 5\n\nnot a checkpoint\n")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().unwrap().contains("old <size>"));
    let stranger = SigningKey::generate("hub-x.test/atna-ledger/sha3-256/v1").unwrap();
    let note = Checkpoint::new(stranger.name(), 1, [1; 32])
        .unwrap()
        .sign(&stranger)
        .unwrap();
    let r = client()
        .post(hubs[1].url("/ledger/add-checkpoint"))
        .body(format!("old 0\n\n{note}"))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let refusals = hubs[1].get_json("/api/audit?event_type=LEDGER-WITNESS")["hits"]
        .as_array()
        .unwrap()
        .len();
    assert!(refusals >= 3, "{refusals} refusals audited");
    // a checkpoint with A's name and key id whose signature does not verify: alarm and evidence
    let good = client()
        .get(hubs[0].url("/ledger/checkpoint"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let (text, sig) = good.trim_end().rsplit_once(' ').unwrap();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut raw = b64.decode(sig).unwrap();
    *raw.last_mut().unwrap() ^= 1;
    let forged = format!("{text} {}\n", b64.encode(raw));
    let r = client()
        .post(hubs[1].url("/ledger/add-checkpoint"))
        .body(format!(
            "old {}\n\n{forged}",
            witnessed_size(&hubs[1], "hub-a").unwrap()
        ))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let ev = tempfile::tempdir().unwrap();
    assert_eq!(export_evidence(&hubs[1], "bad_signature", ev.path()), 1);
    let out = Command::new(bin())
        .args(["ledger", "check-fork"])
        .arg(ev.path())
        .args(["--vkey", &hubs[0].log_vkey])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    wait_all_anchored(&hubs);

    // A is restored from a copy of its data directory taken earlier.
    hubs[0].stop();
    let backup = tempfile::tempdir().unwrap();
    copy_dir(&hubs[0].path().join("pg"), &backup.path().join("pg"));
    hubs[0].start();
    load_all(&hubs[..1], "lost", 20);
    let a_at_loss = latest_size(&hubs[0]);
    for w in &hubs[1..] {
        wait_for(
            &format!("{} witnesses A at {a_at_loss}", w.name),
            Duration::from_secs(60),
            || witnessed_size(w, "hub-a").is_some_and(|s| s >= a_at_loss),
        );
    }
    hubs[0].stop();
    std::fs::remove_dir_all(hubs[0].path().join("pg")).unwrap();
    copy_dir(&backup.path().join("pg"), &hubs[0].path().join("pg"));
    hubs[0].start();
    // A learns from its peers that they saw more of its ledger than it has: alarm at A
    wait_for(
        "A detects its own rollback",
        Duration::from_secs(60),
        || alarms(&hubs[0]).iter().any(|a| a["kind"] == "own_rollback"),
    );
    assert!(metric(&hubs[0], "hiehub_anchor_alarms_total") >= 1.0);
    // and the witnesses were shown a smaller tree than they hold: alarm there, with evidence
    let evidence = tempfile::tempdir().unwrap();
    for w in &hubs[1..] {
        wait_for(
            &format!("{} detects A's rollback", w.name),
            Duration::from_secs(60),
            || alarms(w).iter().any(|a| a["kind"] == "rollback"),
        );
        export_evidence(w, "rollback", evidence.path());
    }
    let out = Command::new(bin())
        .args(["ledger", "check-fork"])
        .arg(evidence.path())
        .args(["--vkey", &hubs[0].log_vkey])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("rollback"), "{text}");
    // A writes on past the lost size with a different history: a proven fork at B and C
    load_all(&hubs[..1], "regrown", 30);
    for w in &hubs[1..] {
        wait_for(
            &format!("{} refuses A's regrown history", w.name),
            Duration::from_secs(60),
            || alarms(w).iter().any(|a| a["kind"] == "inconsistent"),
        );
    }
}
