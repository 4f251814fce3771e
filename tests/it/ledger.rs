//! The ATNA ledger end to end: verify, prove, check-proof offline, the API, and tampering — each
//! kind done with direct SQL as a superuser and caught with the exact first bad entry.

use std::process::Command;
use std::time::Duration;

use diesel::prelude::*;

use crate::harness::*;

/// A server with `n` echo requests behind it, stopped cleanly (final checkpoint signed).
fn ledger_with(n: usize) -> (Server, String) {
    let mut server = Server::start_with(ServerOptions {
        env: vec![("HIEHUB_CHECKPOINT_EVERY".into(), "4".into())],
        ..ServerOptions::default()
    });
    for i in 0..n {
        let resp = client()
            .post(server.url("/xds/registry"))
            .header("content-type", SOAP_CT)
            .body(echo_envelope(&format!("urn:uuid:ledger-{i}"), "x"))
            .send()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
    }
    let vkey = client()
        .get(server.url("/ledger/vkey"))
        .send()
        .unwrap()
        .text()
        .unwrap()
        .trim()
        .to_owned();
    server.signal(libc::SIGTERM);
    assert!(server.wait(Duration::from_secs(30)).unwrap().success());
    (server, vkey)
}

fn hiehub(server: &Server, args: &[&str]) -> (i32, String) {
    let out = Command::new(bin())
        .args(args)
        .arg("--data-dir")
        .arg(server.data_dir.path())
        .arg("--database-url")
        .arg(server.db_url.as_deref().unwrap())
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

fn verify(server: &Server) -> (i32, String) {
    hiehub(server, &["ledger", "verify"])
}

fn tamper(server: &Server, sql: &str) {
    let mut conn = connect(server.db_url.as_deref().unwrap());
    diesel::sql_query("SET session_replication_role = replica")
        .execute(&mut conn)
        .unwrap();
    for stmt in sql.split(';').filter(|s| !s.trim().is_empty()) {
        diesel::sql_query(stmt).execute(&mut conn).unwrap();
    }
}

#[test]
fn an_intact_ledger_verifies_and_proofs_check_offline() {
    let (server, vkey) = ledger_with(10);
    let (code, out) = verify(&server);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("OK: the ledger is intact"), "{out}");
    // incremental verification from the last verified checkpoint
    let (code, out) = hiehub(&server, &["ledger", "verify", "--incremental"]);
    assert_eq!(code, 0, "{out}");

    let (code, proof) = hiehub(&server, &["ledger", "prove", "3"]);
    assert_eq!(code, 0, "{proof}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("proof.json");
    std::fs::write(&file, &proof).unwrap();
    let out = Command::new(bin())
        .args(["ledger", "check-proof"])
        .arg(&file)
        .args(["--vkey", &vkey])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("OK: entry 3 is in"), "{text}");

    // the payload itself checks against the leaf
    let mut conn = connect(server.db_url.as_deref().unwrap());
    let payload: Vec<u8> = hiehub::store::schema::ledger_payloads::table
        .filter(hiehub::store::schema::ledger_payloads::seq.eq(3))
        .select(hiehub::store::schema::ledger_payloads::payload)
        .first::<Option<Vec<u8>>>(&mut conn)
        .unwrap()
        .unwrap();
    let pfile = dir.path().join("payload.xml");
    std::fs::write(&pfile, &payload).unwrap();
    let out = Command::new(bin())
        .args(["ledger", "check-proof"])
        .arg(&file)
        .args(["--vkey", &vkey, "--payload"])
        .arg(&pfile)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("payload matches"));
    // and a wrong payload does not
    std::fs::write(&pfile, b"<AuditMessage/>").unwrap();
    let out = Command::new(bin())
        .args(["ledger", "check-proof"])
        .arg(&file)
        .args(["--vkey", &vkey, "--payload"])
        .arg(&pfile)
        .output()
        .unwrap();
    assert!(!out.status.success());

    // a proof checked with another hub's key is refused
    let other = "other.example.org/atna-ledger/sha3-256/v1+1f2e3d4c+AS7mPXlQ1pCzPvhDCMWsMLFDkYhSsAuaxUDmSbwFoEqd";
    let out = Command::new(bin())
        .args(["ledger", "check-proof"])
        .arg(&file)
        .args(["--vkey", other])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // an independent RFC 9162 verifier (Python hashlib.sha3_256) agrees
    let out = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/interop/check_bundle.py"
        ))
        .arg(&file)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn expect_failure(server: &Server, needle: &str) {
    let (code, out) = verify(server);
    assert_eq!(code, 1, "verify should fail: {out}");
    assert!(out.contains(needle), "expected '{needle}' in: {out}");
}

#[test]
fn a_changed_payload_byte_is_named() {
    let (server, _) = ledger_with(9);
    tamper(
        &server,
        "UPDATE ledger_payloads SET payload = overlay(payload placing '\\x58'::bytea from 40 for 1) WHERE seq = 5",
    );
    expect_failure(&server, "entry 5: payload hash differs");
}

#[test]
fn a_deleted_entry_is_named() {
    let (server, _) = ledger_with(9);
    tamper(
        &server,
        "DELETE FROM audit_events WHERE seq = 4; DELETE FROM ledger_payloads WHERE seq = 4; DELETE FROM ledger_entries WHERE seq = 4",
    );
    expect_failure(&server, "entry 4 is missing");
}

#[test]
fn swapped_entries_are_named() {
    let (server, _) = ledger_with(9);
    tamper(
        &server,
        "UPDATE ledger_entries SET seq = 1000000 WHERE seq = 2;
         UPDATE ledger_entries SET seq = 2 WHERE seq = 6;
         UPDATE ledger_entries SET seq = 6 WHERE seq = 1000000;
         UPDATE ledger_payloads SET seq = 1000000 WHERE seq = 2;
         UPDATE ledger_payloads SET seq = 2 WHERE seq = 6;
         UPDATE ledger_payloads SET seq = 6 WHERE seq = 1000000",
    );
    expect_failure(&server, "entry 2: chain hash differs");
}

#[test]
fn a_truncated_tail_is_named() {
    let (server, _) = ledger_with(9);
    // every entry is covered by the final checkpoint signed at shutdown
    tamper(
        &server,
        "DELETE FROM audit_events WHERE seq >= 7; DELETE FROM ledger_payloads WHERE seq >= 7; DELETE FROM ledger_entries WHERE seq >= 7",
    );
    expect_failure(&server, "the ledger ends at 7 entries but checkpoint");
}

#[test]
fn a_replaced_checkpoint_is_named() {
    let (server, _) = ledger_with(9);
    tamper(
        &server,
        "UPDATE ledger_checkpoints SET root = sha256(root) WHERE size = 8",
    );
    expect_failure(&server, "checkpoint at size 8: stored root");
}

#[test]
fn a_checkpoint_re_signed_with_another_key_is_named() {
    let (server, _) = ledger_with(9);
    let mut conn = connect(server.db_url.as_deref().unwrap());
    let (note, origin): (String, String) = {
        let note: String = hiehub::store::schema::ledger_checkpoints::table
            .filter(hiehub::store::schema::ledger_checkpoints::size.eq(8))
            .select(hiehub::store::schema::ledger_checkpoints::note)
            .first(&mut conn)
            .unwrap();
        let origin = note.lines().next().unwrap().to_owned();
        (note, origin)
    };
    let body: String = note.split("\n\n").next().unwrap().to_owned() + "\n";
    let forger = hiehub::ledger::checkpoint::SigningKey::generate(&origin).unwrap();
    let forged = forger.sign_note(&body).unwrap();
    tamper(
        &server,
        &format!(
            "UPDATE ledger_checkpoints SET note = '{}' WHERE size = 8",
            forged.replace('\'', "''")
        ),
    );
    expect_failure(&server, "checkpoint at size 8: signature");
}

#[test]
fn the_api_serves_checkpoints_proofs_and_search() {
    let server = Server::start_with(ServerOptions {
        env: vec![("HIEHUB_CHECKPOINT_EVERY".into(), "2".into())],
        ..ServerOptions::default()
    });
    for i in 0..5 {
        client()
            .post(server.url("/pix"))
            .header("content-type", SOAP_CT)
            .body(echo_envelope(&format!("urn:uuid:api-{i}"), "x"))
            .send()
            .unwrap();
    }
    let note = client()
        .get(server.url("/ledger/checkpoint"))
        .send()
        .unwrap();
    assert_eq!(note.status().as_u16(), 200);
    let vkey = note
        .headers()
        .get("hiehub-verifier-key")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let text = note.text().unwrap();
    assert!(text.contains("/atna-ledger/sha3-256/v1\n"), "{text}");
    assert!(text.contains("\n\n\u{2014} "), "{text}");

    let cp: serde_json::Value = client()
        .get(server.url("/api/ledger/checkpoint"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(cp["vkey"], vkey);
    let size = cp["size"].as_u64().unwrap();
    assert!(size >= 4, "{cp}");

    let bundle: serde_json::Value = client()
        .get(server.url("/api/ledger/proof/1"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let b: hiehub::ledger::bundle::InclusionBundle = serde_json::from_value(bundle).unwrap();
    let checked = b.check(&vkey, None).unwrap();
    assert_eq!(checked.seq, 1);

    let beyond = client()
        .get(server.url("/api/ledger/proof/100000"))
        .send()
        .unwrap();
    assert_eq!(beyond.status().as_u16(), 409);

    let page: serde_json::Value = client()
        .get(server.url("/api/audit?event_type=Echo&limit=2"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let hits = page["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 2, "{page}");
    assert!(hits[0]["seq"].as_i64().unwrap() > hits[1]["seq"].as_i64().unwrap());
    let next = page["next_before"].as_i64().unwrap();
    let page2: serde_json::Value = client()
        .get(server.url(&format!(
            "/api/audit?event_type=Echo&limit=10&before={next}"
        )))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(page2["hits"].as_array().unwrap().len(), 3, "{page2}");

    let detail: serde_json::Value = client()
        .get(server.url(&format!("/api/ledger/entries/{}", hits[0]["seq"])))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(
        detail["payload_text"]
            .as_str()
            .unwrap()
            .contains("AuditMessage"),
        "{detail}"
    );
    assert_eq!(detail["index"]["message_id"], hits[0]["message_id"]);
    assert_eq!(
        detail["decoded"]["event"]["event_id"]["code"], "110100",
        "{detail}"
    );

    let report: serde_json::Value = client()
        .post(server.url("/api/ledger/verify?full=true"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(report["failure"].is_null(), "{report}");
    let runs: serde_json::Value = client()
        .get(server.url("/api/ledger/verifications"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(runs[0]["ok"], true);
    let consistency: serde_json::Value = client()
        .get(server.url("/api/ledger/consistency?from=2"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(consistency["from"], 2, "{consistency}");
}

#[test]
fn every_api_route_is_in_the_openapi_document() {
    let server = Server::start();
    let doc: serde_json::Value = client()
        .get(server.url("/api/openapi.json"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let sources = [
        include_str!("../../src/web/ledger_api.rs"),
        include_str!("../../src/web/patients_api.rs"),
        include_str!("../../src/consent/api.rs"),
    ];
    let mut routes = 0;
    for line in sources.iter().flat_map(|s| s.lines()) {
        let Some(rest) = line
            .trim()
            .strip_prefix(".route(\"")
            .or_else(|| line.trim().strip_prefix("cfg.route(\""))
        else {
            continue;
        };
        let path = rest.split('"').next().unwrap();
        // Pages (e.g. /consents/) are not part of the JSON API.
        if path == "/api/openapi.json"
            || !(path.starts_with("/api/") || path.starts_with("/ledger/"))
        {
            continue;
        }
        routes += 1;
        assert!(
            paths.contains_key(path),
            "{path} is not documented in docs/openapi.json"
        );
    }
    assert!(routes >= 10, "found only {routes} routes");
    // The imaging routes (/dicomweb, /wado, /viewer/api) are checked by tests/it/imaging.rs.
    let ledger_paths = paths
        .keys()
        .filter(|p| p.starts_with("/api/") || p.starts_with("/ledger/"))
        .count();
    assert_eq!(
        ledger_paths, routes,
        "docs/openapi.json documents paths the server does not serve"
    );
}
