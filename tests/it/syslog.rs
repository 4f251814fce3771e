//! ITI-20 end to end: real senders (util-linux `logger`, `openssl s_client`) → the server's syslog
//! listeners → the ledger, parsed and indexed; garbage kept raw; a crash mid-load loses nothing
//! that was committed and `ledger verify` passes afterwards.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use diesel::prelude::*;

use crate::harness::*;

fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(fixture(&format!("ipf/atna/{name}"))).unwrap()
}

/// An RFC 5424 message with MSGID IHE+RFC-3881 around `xml`, octet-counted (RFC 5425).
fn frame(xml: &str, host: &str) -> Vec<u8> {
    let msg = format!(
        "<85>1 2026-11-22T10:00:00.000Z {host} hospital-emr 4711 IHE+RFC-3881 - \u{feff}{xml}"
    );
    let mut out = format!("{} ", msg.len()).into_bytes();
    out.extend_from_slice(msg.as_bytes());
    out
}

/// `openssl s_client` to the syslog TLS listener with the dev client certificate.
fn s_client_command(server: &Server) -> Command {
    let certs = server.data_dir.path().join("certs");
    let mut cmd = Command::new("openssl");
    cmd.args([
        "s_client",
        "-connect",
        server.syslog_tls.as_deref().unwrap(),
        "-cert",
    ])
    .arg(certs.join("client.pem"))
    .arg("-key")
    .arg(certs.join("client.key"))
    .arg("-CAfile")
    .arg(certs.join("ca.pem"))
    .args(["-verify_return_error", "-nocommands", "-brief"])
    .stdin(Stdio::piped())
    .stdout(Stdio::null());
    cmd
}

fn s_client(server: &Server, bytes: &[u8]) {
    let mut child = s_client_command(server)
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl (Debian package openssl) must be installed");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

type Row = (
    i64,
    Option<String>,
    bool,
    Option<String>,
    Vec<String>,
    String,
);

fn received_rows(url: &str) -> Vec<Row> {
    use hiehub::store::schema::audit_events::dsl::*;
    let mut conn = connect(url);
    audit_events
        .filter(transport.like("syslog%"))
        .order(seq)
        .select((seq, event_id, valid, sender, patient_ids, transport))
        .load(&mut conn)
        .unwrap()
}

fn wait_for(url: &str, n: usize) -> Vec<Row> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows = received_rows(url);
        if rows.len() >= n || Instant::now() > deadline {
            return rows;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn real_senders_land_parsed_indexed_and_chained() {
    let server = Server::start_with(ServerOptions {
        syslog: true,
        env: vec![("HIEHUB_CHECKPOINT_INTERVAL_SECS".into(), "1".into())],
        ..ServerOptions::default()
    });
    let url = server.db_url.clone().unwrap();
    let start = fixture_text("audit-application-start.xml");
    let pix = fixture_text("audit-iti44-pix-source-feed.xml");

    // TLS with the client certificate: three frames in one write — one with a Hangul patient
    // name (octet counts are bytes, not characters) — and one garbage frame that must be kept raw.
    let query = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/audit/dicom-iti18-registry-stored-query.xml"
    ))
    .unwrap();
    assert!(query.contains("홍길동"));
    let mut bytes = frame(&start, "emr-1");
    bytes.extend(frame(&pix, "emr-2"));
    bytes.extend(frame(&query, "emr-3"));
    let garbage = "this is not syslog";
    bytes.extend(format!("{} {garbage}", garbage.len()).as_bytes());
    s_client(&server, &bytes);

    // UDP from util-linux logger (-S: logger truncates at 1 KiB by default)
    let (host, port) = server
        .syslog_udp
        .as_deref()
        .unwrap()
        .rsplit_once(':')
        .unwrap();
    let status = Command::new("logger")
        .args(["--rfc5424", "--udp", "--server", host, "--port", port])
        .args(["--msgid", "IHE+RFC-3881", "-S", "65000", "--", &pix])
        .status()
        .expect("logger (Debian package bsdutils) must be installed");
    assert!(status.success());

    let rows = wait_for(&url, 5);
    assert_eq!(rows.len(), 5, "{rows:?}");
    let tls: Vec<_> = rows.iter().filter(|r| r.5 == "syslog-tls").collect();
    assert_eq!(tls.len(), 4);
    assert_eq!(tls[0].1.as_deref(), Some("110100"));
    assert!(tls[0].2);
    assert_eq!(
        tls[0].3.as_deref(),
        Some("CN=hiehub dev client,O=hiehub development")
    );
    assert_eq!(tls[1].1.as_deref(), Some("110110"));
    assert!(
        !tls[1].4.is_empty(),
        "the ITI-44 feed names a patient: {:?}",
        tls[1]
    );
    assert_eq!(tls[2].1.as_deref(), Some("110112"));
    assert!(tls[2].2, "{:?}", tls[2]);
    assert!(!tls[3].2, "garbage is kept, flagged invalid");
    let udp: Vec<_> = rows.iter().filter(|r| r.5 == "syslog-udp").collect();
    assert_eq!(udp.len(), 1);
    assert_eq!(udp[0].1.as_deref(), Some("110110"));

    // the payload is the frame exactly as received
    let mut conn = connect(&url);
    let payload: Option<Vec<u8>> = hiehub::store::schema::ledger_payloads::table
        .filter(hiehub::store::schema::ledger_payloads::seq.eq(tls[0].0))
        .select(hiehub::store::schema::ledger_payloads::payload)
        .first(&mut conn)
        .unwrap();
    let expected = &frame(&start, "emr-1");
    let body = &expected[expected.iter().position(|&b| b == b' ').unwrap() + 1..];
    assert_eq!(payload.as_deref(), Some(body));

    // and it is chained: searchable, provable, verifiable
    let page: serde_json::Value = client()
        .get(server.url("/api/audit?event_id=110110"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(page["hits"].as_array().unwrap().len(), 2, "{page}");
    let page: serde_json::Value = client()
        .get(server.url("/api/audit?valid=false"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(page["hits"].as_array().unwrap().len(), 1, "{page}");
    let report: serde_json::Value = client()
        .post(server.url("/api/ledger/verify?full=true"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(report["failure"].is_null(), "{report}");
}

#[test]
fn a_crash_during_syslog_load_loses_nothing_committed() {
    let mut server = Server::start_with(ServerOptions {
        syslog: true,
        ..ServerOptions::default()
    });
    let url = server.db_url.clone().unwrap();
    let xml = fixture_text("audit-iti44-pix-source-feed.xml");
    // A long stream on one TLS connection; kill -9 the server while it flows.
    let mut stream = Vec::new();
    for i in 0..20_000 {
        stream.extend(frame(&xml, &format!("emr-{i}")));
    }
    let mut child = s_client_command(&server)
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&stream);
    });
    // wait until a good part has been committed, then crash
    let deadline = Instant::now() + Duration::from_secs(30);
    while received_rows(&url).len() < 500 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    server.signal(libc::SIGKILL);
    server.wait(Duration::from_secs(10)).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let _ = writer.join();

    // What was committed is a gap-free prefix of what was sent, frame by frame.
    let mut conn = connect(&url);
    let leaves: Vec<Vec<u8>> = hiehub::store::schema::ledger_entries::table
        .filter(hiehub::store::schema::ledger_entries::kind.eq(1))
        .order(hiehub::store::schema::ledger_entries::seq)
        .select(hiehub::store::schema::ledger_entries::leaf)
        .load(&mut conn)
        .unwrap();
    assert!(leaves.len() >= 500, "{}", leaves.len());
    for (i, leaf) in leaves.iter().enumerate() {
        let leaf = hiehub::ledger::leaf::Leaf::decode(leaf).unwrap();
        assert_eq!(
            leaf.envelope.frame_seq,
            Some(i as u64),
            "gap before frame {i}"
        );
    }

    // The restarted hub continues the same ledger and it verifies.
    let mut server = server.restart();
    client()
        .post(server.url("/pdq"))
        .header("content-type", SOAP_CT)
        .body(echo_envelope("urn:uuid:after-crash", "x"))
        .send()
        .unwrap();
    server.signal(libc::SIGTERM);
    server.wait(Duration::from_secs(30)).unwrap();
    let out = Command::new(bin())
        .args(["ledger", "verify", "--data-dir"])
        .arg(server.data_dir.path())
        .args(["--database-url", &url])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
}
