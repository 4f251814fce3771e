//! XDS.b benchmarks (issue 3, "Benchmarks") against the real release binary and a private
//! PostgreSQL cluster with fsync ON:
//!
//! - ITI-41: one ~20 KB CDA per request (a fixture padded with an XML comment), MTOM, a unique
//!   document uniqueId per request, audit durable before the reply;
//! - ITI-18 FindDocuments over a registry seeded with `hiehub bench seed` (10 DocumentEntries
//!   per patient), random patients, status Approved, LeafClass and ObjectRef;
//! - ITI-43 of a 1 MB document against nginx (from Debian, on a loopback port, minimal config
//!   in a temp dir) serving the same bytes in the same run.
//!
//! Run: `cargo bench --bench xds -- --seconds 10 --documents 1000000 [--clients 16]`
//! Without `--bench` (under `cargo test`) it runs a short smoke pass and asserts success.

mod harness;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use diesel::prelude::*;
use diesel::sql_types::Text;

use hiehub::ebxml::{self, WireMessage};
use hiehub::soap::mtom;
use hiehub::store::cluster::{Cluster, ClusterOptions};
use hiehub::xds::{self, AssociationType, PatientId, RegistryObjectId, Submission, UniqueId};

use harness::{
    Check, MakeRequest, arg, contains, envelope, fixtures, fresh_oid, run, template_submission,
};

const ITI18: &str = "urn:ihe:iti:2007:RegistryStoredQuery";
const ITI41: &str = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b";
const ITI43: &str = "urn:ihe:iti:2007:RetrieveDocumentSet";
const FIND_DOCUMENTS: &str = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d";
const SUCCESS: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success";
const APPROVED: &str = "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')";

/// A C-CDA fixture padded with a trailing XML comment to `size` bytes (still well-formed).
fn cda(size: usize) -> Bytes {
    let dir = fixtures().join("hl7-c-cda-examples/cda");
    let mut text =
        std::fs::read_to_string(dir.join("ccda-Embedded_Text_Plain_Surgical_Consult.xml"))
            .expect("C-CDA fixture");
    if text.len() + 16 < size {
        let pad = size - text.len() - 10;
        text.push_str("\n<!-- ");
        text.extend(std::iter::repeat_n('x', pad));
        text.push_str(" -->");
    }
    Bytes::from(text)
}

/// An ITI-41 request (MTOM): one document `content` for `patient` with a fresh uniqueId.
/// Returns (content type, body, document uniqueId).
fn provide_request(
    template: &Submission,
    patient: &PatientId,
    content: &Bytes,
) -> (String, Vec<u8>, String) {
    let mut s = template.clone();
    let mut d = s.documents[0].clone();
    let mut a = s
        .associations
        .iter()
        .find(|a| a.association_type == AssociationType::HasMember)
        .expect("HasMember")
        .clone();
    let id = RegistryObjectId::parse("Document01").expect("id");
    let unique = fresh_oid();
    d.entry_uuid = id.clone();
    d.unique_id = UniqueId::parse(&unique).expect("unique id");
    d.patient_id = patient.clone();
    d.hash = None;
    d.size = None;
    d.mime_type = "text/xml".into();
    s.submission_set.patient_id = patient.clone();
    s.submission_set.unique_id = xds::Oid::parse(&fresh_oid()).expect("oid");
    a.entry_uuid = RegistryObjectId::parse("HasMember01").expect("id");
    a.target = id.clone();
    s.documents = vec![d];
    s.folders.clear();
    s.associations = vec![a];
    s.contents = vec![xds::DocumentContent {
        entry_uuid: id,
        bytes: content.clone(),
    }];
    let encoded =
        xds::to_ebxml::provide_and_register_request(&s).to_xml(ebxml::EncodeOptions::MTOM);
    let root = Bytes::from(envelope(ITI41, &encoded.xml));
    let (ct, chunks) = mtom::encode(root, Some(ITI41), &encoded.attachments);
    (ct, chunks.concat(), unique)
}

fn find_documents(patient: &str, return_type: &str) -> String {
    let request = ebxml::AdhocQueryRequest {
        response_option: ebxml::ResponseOption {
            return_type: ebxml::ReturnType::parse(return_type),
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

fn retrieve(document: &str) -> String {
    let request = ebxml::RetrieveDocumentSetRequest {
        requests: vec![ebxml::DocumentRequest {
            home_community_id: None,
            repository_unique_id: xds::repository::DEFAULT_REPOSITORY_UNIQUE_ID.into(),
            document_unique_id: document.into(),
        }],
    };
    envelope(ITI43, &request.to_xml(ebxml::EncodeOptions::INLINE).xml)
}

fn start_nginx(dir: &std::path::Path) -> Option<(Child, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let conf = dir.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "daemon off;\nworker_processes 1;\npid {0}/nginx.pid;\nerror_log {0}/error.log;\nevents {{ worker_connections 256; }}\nhttp {{\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  keepalive_requests 100000;\n  client_body_temp_path {0};\n  proxy_temp_path {0};\n  fastcgi_temp_path {0};\n  uwsgi_temp_path {0};\n  scgi_temp_path {0};\n  server {{\n    listen 127.0.0.1:{port};\n    root {0}/www;\n  }}\n}}\n",
            dir.display()
        ),
    )
    .ok()?;
    let child = Command::new("nginx")
        .arg("-c")
        .arg(&conf)
        .arg("-p")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((child, format!("http://127.0.0.1:{port}")));
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

    let dir = tempfile::Builder::new()
        .prefix("hiehub-xds-bench-")
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

    // Seed the registry.
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
        "SELECT patient_id || '^^^&' || assigning_authority || '&ISO' AS p FROM patients",
    )
    .load::<P>(&mut conn)
    .expect("patients")
    .into_iter()
    .map(|r| r.p)
    .collect();
    assert!(!patients.is_empty());
    let patients = Arc::new(patients);

    let mut child = Command::new(env!("CARGO_BIN_EXE_hiehub"))
        .args(["serve", "--dev", "--http", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .arg("--database-url")
        .arg(&db)
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
        if let Some(u) = line.strip_prefix("hiehub listening on ") {
            break u.to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let client = reqwest::Client::builder().build().expect("client");
    let registry = format!("{base}/xds/registry");
    let repository = format!("{base}/xds/repository");

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "XDS.b benchmarks: {clients} concurrent clients, {seconds} s per run, client and server on the same {} cores; load average before: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("{seed_line} (command wall time {seed_seconds:.1} s)");
    println!();
    println!("| transaction | requests | errors | req/s | p50 | p99 | MB/s |");
    println!("|---|---|---|---|---|---|---|");
    let mut failures = Vec::new();

    // ITI-18 FindDocuments, random patients.
    for rt_name in ["LeafClass", "ObjectRef"] {
        let patients = patients.clone();
        let url = registry.clone();
        let make: MakeRequest = Arc::new(move |c, i| {
            let k = (c as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
                ^ i.wrapping_mul(0xbf58_476d_1ce4_e5b9);
            let k = (k ^ (k >> 29)).wrapping_mul(0x94d0_49bb_1331_11eb) ^ (k >> 32);
            let p = &patients[(k % patients.len() as u64) as usize];
            (
                url.clone(),
                "application/soap+xml; charset=utf-8".into(),
                find_documents(p, rt_name).into_bytes(),
            )
        });
        let expect = if rt_name == "LeafClass" {
            "ExtrinsicObject"
        } else {
            "ObjectRef"
        };
        let check: Check = Arc::new(move |b: &[u8]| {
            contains(b, SUCCESS.as_bytes()) && contains(b, expect.as_bytes())
        });
        let _ = rt.block_on(run(
            client.clone(),
            clients,
            0.3,
            make.clone(),
            check.clone(),
            false,
        ));
        let f = rt.block_on(run(client.clone(), clients, seconds, make, check, false));
        println!(
            "{}",
            f.row(&format!(
                "ITI-18 FindDocuments {rt_name} ({documents} entries)"
            ))
        );
        if f.requests == 0 || f.errors > 0 {
            failures.push(format!(
                "ITI-18 {rt_name}: {} ok, {} errors",
                f.requests, f.errors
            ));
        }
    }

    // ITI-41, one ~20 KB CDA per request.
    let template = Arc::new(template_submission());
    let doc20k = cda(20 * 1024);
    {
        let patients = patients.clone();
        let template = template.clone();
        let url = repository.clone();
        let content = doc20k.clone();
        let make: MakeRequest = Arc::new(move |c, i| {
            let p = &patients[(c * 7919 + i as usize) % patients.len()];
            let pid = PatientId::parse(p).expect("patient");
            let (ct, body, _) = provide_request(&template, &pid, &content);
            (url.clone(), ct, body)
        });
        let check: Check = Arc::new(|b: &[u8]| contains(b, SUCCESS.as_bytes()));
        let _ = rt.block_on(run(
            client.clone(),
            clients,
            0.3,
            make.clone(),
            check.clone(),
            false,
        ));
        let f = rt.block_on(run(client.clone(), clients, seconds, make, check, false));
        println!("{}", f.row(&format!("ITI-41 MTOM, {} B CDA", doc20k.len())));
        if f.requests == 0 || f.errors > 0 {
            failures.push(format!("ITI-41: {} ok, {} errors", f.requests, f.errors));
        }
    }

    // ITI-43 of a 1 MB document vs nginx serving the same bytes.
    let doc1m = cda(1 << 20);
    let pid = PatientId::parse(&patients[0]).expect("patient");
    let (ct, body, unique) = provide_request(&template, &pid, &doc1m);
    let stored = rt.block_on(async {
        let r = client
            .post(&repository)
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .ok()?;
        r.bytes().await.ok()
    });
    assert!(
        stored.is_some_and(|b| contains(&b, SUCCESS.as_bytes())),
        "storing the 1 MB document failed"
    );
    let retrieve_body = retrieve(&unique).into_bytes();
    let iti43 = {
        let url = repository.clone();
        let make: MakeRequest = Arc::new(move |_, _| {
            (
                url.clone(),
                "application/soap+xml; charset=utf-8".into(),
                retrieve_body.clone(),
            )
        });
        let check: Check = Arc::new(|b: &[u8]| {
            b.len() > (1 << 20) && contains(&b[..4096.min(b.len())], b"Success")
        });
        let _ = rt.block_on(run(
            client.clone(),
            clients,
            0.3,
            make.clone(),
            check.clone(),
            false,
        ));
        rt.block_on(run(client.clone(), clients, seconds, make, check, false))
    };
    println!("{}", iti43.row("ITI-43 1 MB document (MTOM)"));
    if iti43.requests == 0 || iti43.errors > 0 {
        failures.push(format!(
            "ITI-43: {} ok, {} errors",
            iti43.requests, iti43.errors
        ));
    }
    let www = dir.path().join("nginx");
    std::fs::create_dir_all(www.join("www")).expect("nginx dir");
    std::fs::write(www.join("www/doc.xml"), &doc1m).expect("nginx file");
    match start_nginx(&www) {
        Some((mut nginx, url)) => {
            let make: MakeRequest =
                Arc::new(move |_, _| (format!("{url}/doc.xml"), String::new(), Vec::new()));
            let check: Check = Arc::new(|b: &[u8]| b.len() == 1 << 20);
            let _ = rt.block_on(run(
                client.clone(),
                clients,
                0.3,
                make.clone(),
                check.clone(),
                true,
            ));
            let f = rt.block_on(run(client.clone(), clients, seconds, make, check, true));
            println!("{}", f.row("nginx static GET, same 1 MB file"));
            println!();
            println!(
                "ITI-43 / nginx throughput: {:.0} % (floor 50 %, goal 80 %)",
                100.0 * iti43.mb_per_s() / f.mb_per_s().max(1e-9)
            );
            // SIGTERM to the master: it stops its workers and exits (SIGKILL would orphan them).
            // SAFETY: signalling our own child.
            unsafe {
                libc::kill(nginx.id() as i32, libc::SIGTERM);
            }
            let _ = nginx.wait();
        }
        None => println!("nginx did not start: no static-server comparison"),
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average after: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );

    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let _ = child.wait();
    let _ = cluster.stop();
    assert!(failures.is_empty(), "{failures:?}");
}
