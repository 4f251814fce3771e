//! MPI benchmarks (issue 5, "Benchmarks") against the real release binary and a private
//! PostgreSQL cluster with fsync ON, over `hiehub bench seed --patients N` (3 local ids per
//! person, Korean names):
//!
//! - ITI-45 PIX query for a random seeded local id (one client: latency);
//! - ITI-47 PDQ by family name + birth date of a random seeded person (one client: latency);
//! - ITI-44 add of new patients with random Korean demographics, probabilistic linking on, the
//!   audit event durable before each reply (`--clients` concurrent clients: throughput).
//!
//! Run: `cargo bench --bench mpi -- --seconds 10 --patients 1000000 [--clients 16]`
//! Without `--bench` (under `cargo test`) it runs a short smoke pass and asserts success.

mod harness;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use diesel::prelude::*;
use diesel::sql_types::Text;

use hiehub::store::cluster::{Cluster, ClusterOptions};

use harness::{Check, Figures, arg, contains, envelope, soap_post};

const ITI44: &str = "urn:hl7-org:v3:PRPA_IN201301UV02";
const ITI45: &str = "urn:hl7-org:v3:PRPA_IN201309UV02";
const ITI47: &str = "urn:hl7-org:v3:PRPA_IN201305UV02";

fn head(interaction: &str) -> String {
    format!(
        r#"<{interaction} xmlns="urn:hl7-org:v3" ITSVersion="XML_1.0"><id root="{}"/><creationTime value="20261123020000"/><interactionId root="2.16.840.1.113883.1.6" extension="{interaction}"/><processingCode code="P"/><processingModeCode code="T"/><acceptAckCode code="AL"/><receiver typeCode="RCV"><device classCode="DEV" determinerCode="INSTANCE"><id root="1.2.3.4.5.999"/></device></receiver><sender typeCode="SND"><device classCode="DEV" determinerCode="INSTANCE"><id root="1.2.410.200.9"/></device></sender>"#,
        uuid::Uuid::new_v4()
    )
}

fn pix_query(root: &str, ext: &str) -> String {
    envelope(
        ITI45,
        &format!(
            r#"{}<controlActProcess classCode="CACT" moodCode="EVN"><code code="PRPA_TE201309UV02" codeSystem="2.16.840.1.113883.1.6"/><queryByParameter><queryId root="1.2.410.200.9.7" extension="{}"/><statusCode code="new"/><responsePriorityCode code="I"/><parameterList><patientIdentifier><value root="{root}" extension="{ext}"/><semanticsText>Patient.Id</semanticsText></patientIdentifier></parameterList></queryByParameter></controlActProcess></PRPA_IN201309UV02>"#,
            head("PRPA_IN201309UV02"),
            uuid::Uuid::new_v4()
        ),
    )
}

fn pdq_query(family: &str, birth: &str) -> String {
    envelope(
        ITI47,
        &format!(
            r#"{}<controlActProcess classCode="CACT" moodCode="EVN"><code code="PRPA_TE201305UV02" codeSystem="2.16.840.1.113883.1.6"/><queryByParameter><queryId root="1.2.410.200.9.8" extension="{}"/><statusCode code="new"/><responseModalityCode code="R"/><responsePriorityCode code="I"/><parameterList><livingSubjectBirthTime><value value="{birth}"/><semanticsText>LivingSubject.birthTime</semanticsText></livingSubjectBirthTime><livingSubjectName><value><family>{family}</family></value><semanticsText>LivingSubject.name</semanticsText></livingSubjectName></parameterList></queryByParameter></controlActProcess></PRPA_IN201305UV02>"#,
            head("PRPA_IN201305UV02"),
            uuid::Uuid::new_v4()
        ),
    )
}

const FAMILY: [&str; 8] = ["김", "이", "박", "최", "정", "강", "조", "윤"];
const SYL: [&str; 12] = [
    "민", "서", "준", "지", "하", "도", "윤", "우", "현", "수", "예", "은",
];

fn feed(k: u64, ext: &str) -> String {
    let f = FAMILY[(k % 8) as usize];
    let g = format!(
        "{}{}",
        SYL[((k >> 3) % 12) as usize],
        SYL[((k >> 7) % 12) as usize]
    );
    let birth = format!(
        "19{:02}{:02}{:02}",
        30 + (k >> 11) % 70,
        1 + (k >> 17) % 12,
        1 + (k >> 21) % 28
    );
    let sex = if (k >> 26).is_multiple_of(2) {
        "M"
    } else {
        "F"
    };
    envelope(
        ITI44,
        &format!(
            r#"{}<controlActProcess classCode="CACT" moodCode="EVN"><code code="PRPA_TE201301UV02" codeSystem="2.16.840.1.113883.1.6"/><subject typeCode="SUBJ"><registrationEvent classCode="REG" moodCode="EVN"><id nullFlavor="NA"/><statusCode code="active"/><subject1 typeCode="SBJ"><patient classCode="PAT"><id root="1.2.410.200.100.9" extension="{ext}"/><statusCode code="active"/><patientPerson classCode="PSN" determinerCode="INSTANCE"><name use="SYL"><given>{g}</given><family>{f}</family></name><administrativeGenderCode code="{sex}"/><birthTime value="{birth}"/></patientPerson></patient></subject1></registrationEvent></subject></controlActProcess></PRPA_IN201301UV02>"#,
            head("PRPA_IN201301UV02")
        ),
    )
}

/// `| transaction | clients | requests | errors | req/s | p50 | p99 |`
fn row(f: &Figures, name: &str, clients: usize) -> String {
    format!(
        "| {name} | {clients} | {} | {} | {:.0} | {:.2} ms | {:.2} ms |",
        f.requests,
        f.errors,
        f.rate(),
        f.p50.as_secs_f64() * 1e3,
        f.p99.as_secs_f64() * 1e3,
    )
}

type MakeBody = Arc<dyn Fn(usize, u64) -> String + Send + Sync>;

/// `clients` clients POSTing `make(client, i)` to `url` for `seconds`; an answer holding
/// `expect` is a success.
async fn run(
    client: reqwest::Client,
    url: String,
    clients: usize,
    seconds: f64,
    make: MakeBody,
    expect: &'static str,
) -> Figures {
    let request = soap_post(url, move |c, i| make(c, i));
    let check: Check = Arc::new(move |b| contains(b, expect.as_bytes()));
    harness::run(client, clients, seconds, request, check, false).await
}

fn mix(c: usize, i: u64) -> u64 {
    let k = (c as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ i.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    (k ^ (k >> 29)).wrapping_mul(0x94d0_49bb_1331_11eb) ^ (k >> 32)
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
    let patients = if full {
        arg("--patients", 1_000_000)
    } else {
        2_000
    };

    let dir = tempfile::Builder::new()
        .prefix("hiehub-mpi-bench-")
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

    let t = Instant::now();
    let seeded = Command::new(env!("CARGO_BIN_EXE_hiehub"))
        .args([
            "bench",
            "seed",
            "--patients",
            &patients.to_string(),
            "--database-url",
            &db,
        ])
        .env("HIEHUB_LOG_LEVEL", "warn")
        .stderr(Stdio::null())
        .output()
        .expect("hiehub bench seed");
    assert!(
        seeded.status.success(),
        "seed failed: {}",
        String::from_utf8_lossy(&seeded.stdout)
    );
    let seed_line = String::from_utf8_lossy(&seeded.stdout).trim().to_owned();
    let seed_seconds = t.elapsed().as_secs_f64();

    #[derive(QueryableByName)]
    struct Sample {
        #[diesel(sql_type = Text)]
        root: String,
        #[diesel(sql_type = Text)]
        extension: String,
        #[diesel(sql_type = Text)]
        family: String,
        #[diesel(sql_type = Text)]
        birth: String,
    }
    let mut conn = PgConnection::establish(&db).expect("connect");
    let sample: Vec<Sample> = diesel::sql_query(
        "SELECT root, extension, family_hangul AS family, birth_date AS birth \
         FROM mpi_records TABLESAMPLE SYSTEM (5) LIMIT 20000",
    )
    .load(&mut conn)
    .expect("sample");
    assert!(!sample.is_empty());
    let sample = Arc::new(sample);

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
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "MPI benchmarks: {seconds} s per run, client and server on the same {} cores; load average before: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("{seed_line} (command wall time {seed_seconds:.1} s)");
    println!();
    println!("| transaction | clients | requests | errors | req/s | p50 | p99 |");
    println!("|---|---|---|---|---|---|---|");
    let mut failures = Vec::new();
    let mut measure = |name: &str, path: &str, n: usize, make: MakeBody, expect: &'static str| {
        let url = format!("{base}{path}");
        // Warm-up (caches after the seed), not measured.
        let warm = if full { 2.0 } else { 0.2 };
        let _ = rt.block_on(run(
            client.clone(),
            url.clone(),
            n,
            warm,
            make.clone(),
            expect,
        ));
        let f = rt.block_on(run(client.clone(), url, n, seconds, make, expect));
        println!("{}", row(&f, name, n));
        if f.requests == 0 || f.errors > 0 {
            failures.push(format!("{name}: {} ok, {} errors", f.requests, f.errors));
        }
    };

    let s = sample.clone();
    measure(
        &format!(
            "ITI-45 PIX query ({patients} persons, {} ids)",
            patients * 4
        ),
        "/pix",
        1,
        Arc::new(move |c, i| {
            let r = &s[(mix(c, i) % s.len() as u64) as usize];
            pix_query(&r.root, &r.extension)
        }),
        "<queryResponseCode code=\"OK\"/>",
    );
    let s = sample.clone();
    measure(
        "ITI-47 PDQ family name + birth date",
        "/pdq",
        1,
        Arc::new(move |c, i| {
            let r = &s[(mix(c, i) % s.len() as u64) as usize];
            pdq_query(&r.family, &r.birth)
        }),
        "<queryResponseCode code=\"OK\"/>",
    );
    let s = sample.clone();
    measure(
        "ITI-45 PIX query",
        "/pix",
        clients,
        Arc::new(move |c, i| {
            let r = &s[(mix(c, i) % s.len() as u64) as usize];
            pix_query(&r.root, &r.extension)
        }),
        "<queryResponseCode code=\"OK\"/>",
    );
    let s = sample.clone();
    measure(
        "ITI-47 PDQ family name + birth date",
        "/pdq",
        clients,
        Arc::new(move |c, i| {
            let r = &s[(mix(c, i) % s.len() as u64) as usize];
            pdq_query(&r.family, &r.birth)
        }),
        "<queryResponseCode code=\"OK\"/>",
    );
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    measure(
        "ITI-44 add (probabilistic linking on, audit durable)",
        "/pix",
        clients,
        Arc::new(move |c, i| feed(mix(c, i), &format!("{run_id}-{c}-{i}"))),
        "<typeCode code=\"AA\"/>",
    );

    let _ = child.kill();
    let _ = child.wait();
    let _ = cluster.stop();
    assert!(failures.is_empty(), "{failures:?}");
}
