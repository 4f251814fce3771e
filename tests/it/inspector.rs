//! The audit inspector pages (`/audit/`) in headless Chromium: a real server seeded with Echo
//! requests and one refused XXE request (a Security Alert), driven by `tests/browser/inspector.mjs`
//! (npm `playwright-core` with Debian's `chromium`); the proof it downloads must pass
//! `hiehub ledger check-proof`, and a payload changed behind the server's back must be named by the
//! page's full verification.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use diesel::prelude::*;

use crate::harness::*;

const CHROMIUM: &str = "/usr/bin/chromium";
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Fails naming the package when something the browser test drives is missing.
fn require_browser_tools() {
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.as_ref().is_ok_and(|o| o.status.success()),
        "node is not installed (Debian package 'nodejs', >= 20): run deploy/setup.sh --test ({node:?})"
    );
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install the Debian package 'chromium' (deploy/setup.sh --test does)"
    );
    assert!(
        browser_dir()
            .join("node_modules/playwright-core/package.json")
            .exists(),
        "the npm package 'playwright-core' is not installed in tests/browser: run deploy/setup.sh --test \
         (npm ci --no-audit --no-fund in tests/browser)"
    );
}

/// Runs the Playwright script; returns whether it succeeded and everything it printed.
fn run_script(args: &[&str]) -> (bool, String) {
    let started = Instant::now();
    let mut child = Command::new("node")
        .arg(browser_dir().join("inspector.mjs"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn node");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for node") {
            break Some(status);
        }
        if started.elapsed() > SCRIPT_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let text = format!(
        "{}{}",
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default()
    );
    eprintln!(
        "[inspector.mjs {}] {:.1} s\n{text}",
        args.get(2).copied().unwrap_or("intact"),
        started.elapsed().as_secs_f64()
    );
    match status {
        Some(s) => (s.success(), text),
        None => (
            false,
            format!("{text}\ninspector.mjs did not finish within {SCRIPT_TIMEOUT:?}"),
        ),
    }
}

fn get_json(server: &Server, path: &str) -> serde_json::Value {
    let resp = client().get(server.url(path)).send().unwrap();
    assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
    resp.json().unwrap()
}

/// Seeds five Echo requests and one XXE request; returns the ledger seq of the Security Alert.
fn seed(server: &Server) -> u64 {
    for i in 0..5 {
        let resp = client()
            .post(server.url("/xds/registry"))
            .header("content-type", SOAP_CT)
            .body(echo_envelope(&format!("urn:uuid:inspector-{i}"), "x"))
            .send()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
    }
    let xxe = "<?xml version=\"1.0\"?><!DOCTYPE s:Envelope [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\
<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body>&xxe;</s:Body></s:Envelope>";
    let resp = client()
        .post(server.url("/xds/registry"))
        .header("content-type", SOAP_CT)
        .body(xxe)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let alerts = get_json(server, "/api/audit?event_id=110113");
    let hits = alerts["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 1, "{alerts}");
    hits[0]["seq"].as_u64().unwrap()
}

/// Waits until a signed checkpoint covers entry `seq`, so its proof can be downloaded.
fn wait_for_checkpoint(server: &Server, seq: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let resp = client()
            .get(server.url("/api/ledger/checkpoint"))
            .send()
            .unwrap();
        if resp.status().is_success() {
            let cp: serde_json::Value = resp.json().unwrap();
            if cp["size"].as_u64().unwrap() > seq {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoint covers entry {seq} after 30 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_inspector_filters_opens_an_event_downloads_its_proof_and_verifies() {
    require_browser_tools();
    let server = Server::start_with(ServerOptions {
        env: vec![
            ("HIEHUB_CHECKPOINT_EVERY".into(), "2".into()),
            ("HIEHUB_CHECKPOINT_INTERVAL_SECS".into(), "1".into()),
        ],
        ..ServerOptions::default()
    });
    let alert = seed(&server);
    wait_for_checkpoint(&server, alert);

    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("inspector");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let base = server.url("");
    let dir_arg = dir.to_str().unwrap();
    let (ok, out) = run_script(&[&base, dir_arg]);
    assert!(ok, "the browser test failed:\n{out}");

    // the proof as the browser saved it checks offline with the key the hub publishes
    let vkey = client()
        .get(server.url("/ledger/vkey"))
        .send()
        .unwrap()
        .text()
        .unwrap()
        .trim()
        .to_owned();
    let shown = std::fs::read_to_string(dir.join("page-vkey.txt")).unwrap();
    assert_eq!(shown.trim(), vkey, "the chain-state page shows another key");
    let proof = dir.join(format!("hiehub-proof-{alert}.json"));
    assert!(
        proof.exists(),
        "no {} after the download:\n{out}",
        proof.display()
    );
    let check = Command::new(bin())
        .args(["ledger", "check-proof"])
        .arg(&proof)
        .args(["--vkey", &vkey])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "check-proof refused the downloaded proof: {text}{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(text.contains(&format!("OK: entry {alert} is in")), "{text}");

    // change one byte of an Echo event's payload behind the server's back
    let echo = get_json(&server, "/api/audit?event_type=Echo&limit=1");
    let victim = echo["hits"][0]["seq"].as_u64().unwrap();
    let mut conn = connect(server.db_url.as_deref().unwrap());
    diesel::sql_query("SET session_replication_role = replica")
        .execute(&mut conn)
        .unwrap();
    let changed = diesel::sql_query(format!(
        "UPDATE ledger_payloads SET payload = overlay(payload placing '\\x58'::bytea from 40 for 1) WHERE seq = {victim}"
    ))
    .execute(&mut conn)
    .unwrap();
    assert_eq!(changed, 1);
    let (ok, out) = run_script(&[&base, dir_arg, "--tampered", &victim.to_string()]);
    assert!(ok, "the browser test after tampering failed:\n{out}");
}
