//! Consent enforcement overhead on ITI-18 FindDocuments (issue 6, "Benchmarks"), against the
//! real release binary and a private PostgreSQL cluster (fsync on), all in one run:
//!
//! 1. `hiehub bench seed --documents N` fills the registry (10 DocumentEntries per patient);
//! 2. a BPPC consent (ITI-41, a real CDA) is registered for each of the patients the benchmark
//!    queries, naming OPT-IN (permit) and "Laboratory reports only" (2.25.1002);
//! 3. four servers on the same database, one at a time, answer FindDocuments for those
//!    patients, in interleaved rounds:
//!    - **unfiltered**: `HIEHUB_CONSENT_ENFORCEMENT=false` (dev mode only);
//!    - **filtered, patient-level**: the `connectathon` domain, where the consent's known policy
//!      (OPT-IN) does not look at documents; the patient's consents come from the consent cache
//!      after the first query;
//!    - **filtered, per document**: the `consent-opt-out` test domain, where "Laboratory reports
//!      only" looks at the class of each document (read with the document's row);
//!    - **filtered, patient-level, uncached**: as the second with
//!      `HIEHUB_CONSENT_CACHE_PATIENTS=0` (the patient's consents read for every query).
//!
//! Run: `cargo bench --bench consent -- --seconds 10 --documents 1000000 [--clients 16]
//! [--patients 2000] [--rounds 2]`; the overhead is the median over the rounds. Without `--bench` (under `cargo test`) it runs a short smoke pass and
//! asserts that every answer succeeded and that enforcement really ran (the consents are found).

mod harness;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use diesel::prelude::*;
use diesel::sql_types::Text;

use hiehub::ebxml::{self, WireMessage};
use hiehub::store::cluster::{Cluster, ClusterOptions};
use hiehub::xds::{
    self, AssociationType, Code, DtmTime, PatientId, RegistryObjectId, Submission, UniqueId,
};

use harness::{Check, Figures, arg, contains, envelope, fresh_oid, soap_post, template_submission};

const ITI18: &str = "urn:ihe:iti:2007:RegistryStoredQuery";
const ITI41: &str = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b";
const FIND_DOCUMENTS: &str = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d";
const SUCCESS: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success";
const APPROVED: &str = "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')";
const OPT_IN: &str = "1.3.6.1.4.1.21367.2006.7.108";
const LAB_ONLY: &str = "2.25.1002";
const OPT_OUT: &str = "1.3.6.1.4.1.21367.2006.7.106";

fn manifest() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// An ITI-41 request (inline) registering a BPPC consent for `patient` naming `policies`, in
/// force since yesterday.
fn consent_request(
    template: &Submission,
    cda: &str,
    patient: &PatientId,
    policies: &[&str],
) -> String {
    let mut s = template.clone();
    let mut d = s.documents[0].clone();
    let mut a = s
        .associations
        .iter()
        .find(|a| a.association_type == AssociationType::HasMember)
        .expect("HasMember")
        .clone();
    let id = RegistryObjectId::parse("Document01").expect("id");
    let start = chrono::Utc::now().naive_utc() - chrono::Duration::days(1);
    let dtm = start.format("%Y%m%d%H%M%S").to_string();
    d.entry_uuid = id.clone();
    d.unique_id = UniqueId::parse(&fresh_oid()).expect("unique id");
    d.patient_id = patient.clone();
    d.hash = None;
    d.size = None;
    d.mime_type = "text/xml".into();
    d.format_code = Code::new("urn:ihe:iti:bppc:2007", "1.3.6.1.4.1.19376.1.2.3", "BPPC");
    d.event_codes = policies
        .iter()
        .map(|p| Code::new(*p, "1.3.6.1.4.1.21367.2017.3", "policy"))
        .collect();
    d.service_start_time = Some(DtmTime::parse(&dtm).expect("dtm"));
    d.service_stop_time = None;
    s.submission_set.patient_id = patient.clone();
    s.submission_set.unique_id = xds::Oid::parse(&fresh_oid()).expect("oid");
    a.entry_uuid = RegistryObjectId::parse("HasMember01").expect("id");
    a.target = id.clone();
    s.documents = vec![d];
    s.folders.clear();
    s.associations = vec![a];
    // One serviceEvent per policy.
    let mut text = cda
        .replace("{{POLICY}}", policies[0])
        .replace("{{LOW}}", &format!("{dtm}+0000"))
        .replace("{{HIGH}}", "");
    for extra in &policies[1..] {
        let start_i = text.find("  <documentationOf>").expect("documentationOf");
        let end_i = text.find("</documentationOf>").expect("end") + "</documentationOf>".len();
        let more = text[start_i..end_i].replacen(policies[0], extra, 1);
        text.insert_str(end_i, &format!("\n{more}"));
    }
    s.contents = vec![xds::DocumentContent {
        entry_uuid: id,
        bytes: Bytes::from(text),
    }];
    envelope(
        ITI41,
        &xds::to_ebxml::provide_and_register_request(&s)
            .to_xml(ebxml::EncodeOptions::INLINE)
            .xml,
    )
}

fn find_documents(patient: &str) -> String {
    let request = ebxml::AdhocQueryRequest {
        response_option: ebxml::ResponseOption {
            return_type: ebxml::ReturnType::parse("ObjectRef"),
            return_composed_objects: Some(true),
        },
        adhoc_query: ebxml::AdhocQuery {
            object: ebxml::RegistryObject {
                slots: vec![
                    ebxml::Slot::new("$XDSDocumentEntryPatientId", [format!("'{patient}'")]),
                    ebxml::Slot::new("$XDSDocumentEntryStatus", [APPROVED]),
                ],
                ..ebxml::RegistryObject::new(FIND_DOCUMENTS)
            },
            query_expression: None,
        },
        ..ebxml::AdhocQueryRequest::default()
    };
    envelope(ITI18, &request.to_xml(ebxml::EncodeOptions::INLINE).xml)
}

/// FindDocuments (ObjectRef) for the patients in turn, `clients` at a time, for `seconds`.
async fn run(
    client: reqwest::Client,
    url: String,
    patients: Arc<Vec<String>>,
    clients: usize,
    seconds: f64,
) -> Figures {
    let make = soap_post(url, move |c, i| {
        find_documents(&patients[(c * 7919 + i as usize * 104_729) % patients.len()])
    });
    let check: Check = Arc::new(|b| contains(b, SUCCESS.as_bytes()) && contains(b, b"ObjectRef"));
    harness::run(client, clients, seconds, make, check, false).await
}

/// The cluster, stopped when dropped (also when the benchmark panics).
struct Db(Cluster);

impl Drop for Db {
    fn drop(&mut self) {
        let _ = self.0.stop();
    }
}

/// The server processes, stopped when dropped (also when the benchmark panics).
struct Running(Vec<Child>);

impl Drop for Running {
    fn drop(&mut self) {
        for c in &mut self.0 {
            // SAFETY: kill(2) on our own child.
            unsafe {
                libc::kill(c.id() as i32, libc::SIGTERM);
            }
            let _ = c.wait();
        }
    }
}

/// Starts `hiehub serve` on the database; returns the process and its base URL.
fn serve(dir: &std::path::Path, db: &str, extra: &[&str], env: &[(&str, &str)]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hiehub"))
        .args(["serve", "--dev", "--http", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .arg("--database-url")
        .arg(db)
        .args(extra)
        .env("HIEHUB_LOG_LEVEL", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn hiehub");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let Some(Ok(line)) = lines.next() else {
            panic!("hiehub exited before listening")
        };
        if let Some(u) = line.strip_prefix("hiehub listening on ") {
            break u.to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, base)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let seconds = if full {
        arg("--seconds", 10) as f64
    } else {
        0.5
    };
    let clients = if full {
        arg("--clients", 16) as usize
    } else {
        2
    };
    let documents = if full {
        arg("--documents", 1_000_000)
    } else {
        200
    };
    let wanted_patients = if full { arg("--patients", 2000) } else { 10 } as usize;
    let rounds = if full { arg("--rounds", 2) } else { 2 } as usize;

    let dir = tempfile::Builder::new()
        .prefix("hiehub-consent-bench-")
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
    let cluster = Db(cluster);

    let t = Instant::now();
    let seeded = Command::new(env!("CARGO_BIN_EXE_hiehub"))
        .args([
            "bench",
            "seed",
            "--documents",
            &documents.to_string(),
            "--database-url",
            &db,
        ])
        .env("HIEHUB_LOG_LEVEL", "warn")
        .stderr(Stdio::null())
        .output()
        .expect("hiehub bench seed");
    assert!(seeded.status.success(), "seed failed");
    let seed_line = String::from_utf8_lossy(&seeded.stdout).trim().to_owned();
    let seed_seconds = t.elapsed().as_secs_f64();

    #[derive(QueryableByName)]
    struct P {
        #[diesel(sql_type = Text)]
        p: String,
    }
    let mut conn = PgConnection::establish(&db).expect("connect");
    let patients: Vec<String> = diesel::sql_query(
        "SELECT patient_id || '^^^&' || assigning_authority || '&ISO' AS p FROM patients ORDER BY id LIMIT $1",
    )
    .bind::<diesel::sql_types::BigInt, _>(wanted_patients as i64)
    .load::<P>(&mut conn)
    .expect("patients")
    .into_iter()
    .map(|r| r.p)
    .collect();
    assert!(!patients.is_empty());
    let patients = Arc::new(patients);

    let data = |name: &str| {
        let d = dir.path().join(name);
        std::fs::create_dir_all(&d).expect("data dir");
        d
    };
    // One server at a time: the audit ledger has one writer per database.
    let test_domain = manifest().join("tests/data/consent/domains/consent-opt-out");
    let test_domain = test_domain.to_str().expect("path").to_owned();
    let start = |k: usize| -> (Running, String) {
        let (child, url) = match k {
            0 => serve(
                &data("unfiltered"),
                &db,
                &[],
                &[("HIEHUB_CONSENT_ENFORCEMENT", "false")],
            ),
            1 => serve(&data("patient-level"), &db, &[], &[]),
            3 => serve(
                &data("patient-level-uncached"),
                &db,
                &[],
                &[("HIEHUB_CONSENT_CACHE_PATIENTS", "0")],
            ),
            _ => serve(
                &data("per-document"),
                &db,
                &["--affinity-domain", &test_domain],
                &[],
            ),
        };
        (Running(vec![child]), url)
    };

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let client = reqwest::Client::builder().build().expect("client");

    // Register the consents (ITI-41 through the enforcing server: the BPPC checks run).
    let template = template_submission();
    let cda = std::fs::read_to_string(manifest().join("tests/data/consent/opt-in.xml"))
        .expect("consent CDA");
    let t = Instant::now();
    let (running, patient_url) = start(1);
    rt.block_on(async {
        for p in patients.iter() {
            let pid = PatientId::parse(p).expect("patient");
            let body = consent_request(&template, &cda, &pid, &[OPT_IN, LAB_ONLY]);
            let r = client
                .post(format!("{patient_url}/xds/repository"))
                .header("content-type", "application/soap+xml; charset=utf-8")
                .body(body)
                .send()
                .await
                .expect("ITI-41");
            let text = r.text().await.expect("answer");
            assert!(
                text.contains(SUCCESS) && !text.contains("ErrorSeverityType:Error"),
                "consent not registered: {text}"
            );
        }
    });
    drop(running);
    let consent_seconds = t.elapsed().as_secs_f64();
    let n: i64 = {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query("SELECT count(*) AS n FROM consent_history")
            .get_result::<N>(&mut conn)
            .expect("count")
            .n
    };
    assert_eq!(n as usize, patients.len(), "one consent per patient");

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "Consent enforcement on ITI-18 FindDocuments (ObjectRef): {clients} concurrent clients, {seconds} s per run, {rounds} interleaved rounds, client and servers on the same {} cores; load average before: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("{seed_line} (command wall time {seed_seconds:.1} s)");
    println!(
        "{} consents registered by ITI-41 in {consent_seconds:.1} s; queries go to those patients",
        patients.len()
    );
    println!();
    println!("| server | requests | errors | req/s | p50 | p99 |");
    println!("|---|---|---|---|---|---|");

    let names = [
        "unfiltered (consent_enforcement = false)",
        "filtered, patient-level (connectathon)",
        "filtered, per document (consent-opt-out)",
        "filtered, patient-level, consents read every time (consent_cache_patients = 0)",
    ];
    let mut p50s = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    let mut failures = Vec::new();
    for round in 0..rounds {
        for (k, name) in names.iter().enumerate() {
            let (running, base) = start(k);
            let url = format!("{base}/xds/registry");
            let _ = rt.block_on(run(
                client.clone(),
                url.clone(),
                patients.clone(),
                clients,
                0.3,
            ));
            let f = rt.block_on(run(client.clone(), url, patients.clone(), clients, seconds));
            drop(running);
            println!(
                "| {name}, round {} | {} | {} | {:.0} | {:.2} ms | {:.2} ms |",
                round + 1,
                f.requests,
                f.errors,
                f.requests as f64 / f.seconds,
                f.p50.as_secs_f64() * 1e3,
                f.p99.as_secs_f64() * 1e3
            );
            if f.requests == 0 || f.errors > 0 {
                failures.push(format!("{name}: {} ok, {} errors", f.requests, f.errors));
            }
            p50s[k].push(f.p50.as_secs_f64() * 1e3);
        }
    }
    // The median of the rounds' p50s: robust to a round disturbed by other work on the machine.
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(|a, b| a.total_cmp(b));
        let n = v.len();
        if n == 0 {
            0.0
        } else if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        }
    };
    let base = median(&p50s[0]);
    println!();
    for (k, name) in names.iter().enumerate().skip(1) {
        let m = median(&p50s[k]);
        println!(
            "{name}: median p50 {m:.2} ms vs unfiltered {base:.2} ms: overhead {:+.1} %",
            (m - base) / base * 100.0
        );
    }

    // Enforcement really ran: the benchmark's consents permitted every query (no denial in the
    // audit trail), and a patient who opts out is hidden by both enforcing servers but not by
    // the unfiltered one.
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let denied = diesel::sql_query(
        "SELECT count(*) AS n FROM audit_events WHERE 'ConsentDenied' = ANY(event_types)",
    )
    .get_result::<N>(&mut conn)
    .expect("count")
    .n;
    assert_eq!(
        denied, 0,
        "the consents permit every query of the benchmark"
    );
    let first = patients[0].clone();
    let mut answers = Vec::new();
    for k in [1, 0, 2] {
        let (running, base) = start(k);
        if k == 1 {
            let pid = PatientId::parse(&first).expect("patient");
            let body = consent_request(&template, &cda, &pid, &[OPT_OUT]);
            let text = rt.block_on(async {
                let r = client
                    .post(format!("{base}/xds/repository"))
                    .header("content-type", "application/soap+xml; charset=utf-8")
                    .body(body)
                    .send()
                    .await
                    .expect("ITI-41");
                r.text().await.expect("answer")
            });
            assert!(text.contains(SUCCESS), "{text}");
        }
        let b = rt.block_on(async {
            let r = client
                .post(format!("{base}/xds/registry"))
                .header("content-type", "application/soap+xml; charset=utf-8")
                .body(find_documents(&first))
                .send()
                .await
                .expect("ITI-18");
            r.bytes().await.expect("answer")
        });
        drop(running);
        assert!(
            contains(&b, SUCCESS.as_bytes()),
            "{}",
            String::from_utf8_lossy(&b)
        );
        answers.push(contains(&b, b"ObjectRef"));
    }
    let answers: Vec<bool> = vec![answers[1], answers[0], answers[2]];
    assert_eq!(
        answers,
        [true, false, false],
        "after an OPT-OUT only the unfiltered server answers documents"
    );

    drop(cluster);
    assert!(failures.is_empty(), "{failures:?}");
}
