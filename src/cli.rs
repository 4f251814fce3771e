//! The `hiehub` command line. Spellings here are a contract with outside harnesses (issue #2):
//! `serve --dev --data-dir DIR --http ADDR`, `--https`, `--affinity-domain`, `--syslog-tls`,
//! `--syslog-udp`, `db start|stop|status|psql`, `certs dev`, `migrate`, `bench seed`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::Config;
use crate::server;
use crate::store::{self, cluster};
use crate::tls::DevPki;

#[derive(Parser, Debug)]
#[command(
    name = "hiehub",
    version,
    about = "Regional health information exchange hub (IHE XDS.b, XDS-I.b, PIX/PDQ, BPPC, ATNA)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(CommonArgs),
    /// Manage the embedded PostgreSQL cluster under <data_dir>/pg.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Certificates.
    Certs {
        #[command(subcommand)]
        command: CertsCommand,
    },
    /// The ATNA ledger: verify, prove, check proofs offline.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// Benchmark helpers.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Fill the registry with synthetic DocumentEntries (bulk COPY), for ITI-18 benchmarks.
    Seed {
        #[command(flatten)]
        common: CommonArgs,
        /// How many DocumentEntries to register.
        #[arg(long, default_value_t = 0)]
        documents: u64,
        /// DocumentEntries per patient.
        #[arg(long, default_value_t = 10)]
        per_patient: u64,
        /// Seed even when the registry already holds DocumentEntries.
        #[arg(long)]
        append: bool,
        /// MPI: how many persons to add, each with 3 local ids (`mpi::seed`).
        #[arg(long, default_value_t = 0)]
        patients: u64,
    },
    /// Write a synthetic multi-slice CT series (Part-10 files) and print its StudyInstanceUID.
    Phantom {
        /// Number of slices.
        #[arg(long, default_value_t = 20)]
        slices: u32,
        #[arg(long, default_value_t = 512)]
        rows: u16,
        #[arg(long, default_value_t = 512)]
        columns: u16,
        /// Output directory (created if needed).
        #[arg(long)]
        out: std::path::PathBuf,
        /// StudyInstanceUID to use (default: a new 2.25 UID).
        #[arg(long)]
        study_uid: Option<String>,
        /// PatientID (0010,0020); default PHANTOM-1.
        #[arg(long)]
        patient_id: Option<String>,
        /// IssuerOfPatientID (0010,0021), e.g. an assigning authority OID.
        #[arg(long)]
        issuer: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum LedgerCommand {
    /// Re-derive every leaf, payload, chain and tree hash and check every checkpoint; exit 1 and
    /// name the first bad entry on failure.
    Verify {
        #[command(flatten)]
        common: CommonArgs,
        /// Start from the last successfully verified checkpoint instead of entry 0.
        #[arg(long)]
        incremental: bool,
        /// Verifier key to check checkpoint signatures with (default: this hub's own key).
        #[arg(long)]
        vkey: Vec<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print an inclusion proof (JSON) of entry SEQ against the latest checkpoint.
    Prove {
        #[command(flatten)]
        common: CommonArgs,
        seq: u64,
    },
    /// Check a proof printed by `prove` offline, with no database.
    CheckProof {
        /// The proof file (JSON), or - for standard input.
        file: PathBuf,
        /// The hub's verifier key, obtained independently (e.g. from /ledger/checkpoint).
        /// Without it, the key inside the proof is used and a warning is printed.
        #[arg(long)]
        vkey: Option<String>,
        /// The payload (audit message) to check against the leaf's payload hash.
        #[arg(long)]
        payload: Option<PathBuf>,
        /// A peer's witness key (C2SP vkey) to check its cosignature of the checkpoint with
        /// (repeatable). Without it, the keys inside the proof are used and a warning is printed.
        #[arg(long)]
        witness_vkey: Vec<String>,
    },
    /// Re-check fork evidence (a file exported from /api/ledger/alarms/{id}/evidence, or a
    /// directory of them) with public keys only; exit 1 unless every file shows misbehaviour.
    CheckFork {
        /// An evidence file (JSON) or a directory of *.json evidence files.
        evidence: PathBuf,
        /// The accused log's verifier key, obtained independently (repeatable). Without it, the
        /// keys inside the evidence are used and a warning is printed.
        #[arg(long)]
        vkey: Vec<String>,
    },
    /// Check a peer hub from outside, with no database: its signed checkpoint, the cosignatures
    /// on its latest cosigned checkpoint, consistency with the checkpoint seen last time, alarms.
    AuditPeer {
        /// The peer's base URL, e.g. https://hub-b.example.org:8443.
        url: String,
        /// The peer's log verifier key (C2SP vkey), obtained independently.
        #[arg(long)]
        vkey: Option<String>,
        /// Witness keys to check the cosignatures with (repeatable).
        #[arg(long)]
        witness_vkey: Vec<String>,
        /// How many cosignatures make the peer's checkpoint anchored.
        #[arg(long, default_value_t = 1)]
        quorum: usize,
        /// A file keeping the peer's checkpoint between runs (consistency is checked against it).
        #[arg(long)]
        state: Option<PathBuf>,
        /// Client certificate and key (PEM) for mutual TLS, and the CA bundle of the peer.
        #[arg(long)]
        cert: Option<PathBuf>,
        #[arg(long)]
        key: Option<PathBuf>,
        #[arg(long)]
        ca: Option<PathBuf>,
    },
}

#[derive(Args, Debug, Default, Clone)]
pub struct CommonArgs {
    /// Configuration file (default: ./hiehub.toml when present; env HIEHUB_CONFIG).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Data directory (env HIEHUB_DATA_DIR).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL connection; empty = embedded cluster (env HIEHUB_DATABASE_URL).
    #[arg(long)]
    pub database_url: Option<String>,
    /// Log format: text or json (env HIEHUB_LOG_FORMAT).
    #[arg(long)]
    pub log_format: Option<String>,
}

#[derive(Args, Debug, Default)]
pub struct ServeArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Development mode: plain HTTP on loopback, development certificates (env HIEHUB_DEV).
    #[arg(long)]
    pub dev: bool,
    /// Plain HTTP listener, loopback only, dev mode only (env HIEHUB_HTTP_ADDR).
    #[arg(long = "http", value_name = "ADDR")]
    pub http: Option<String>,
    /// HTTPS listener with mutual TLS (env HIEHUB_HTTPS_ADDR).
    #[arg(long = "https", value_name = "ADDR")]
    pub https: Option<String>,
    /// Affinity domain under profiles/ (env HIEHUB_AFFINITY_DOMAIN).
    #[arg(long, value_name = "NAME")]
    pub affinity_domain: Option<String>,
    /// ATNA syslog over TLS listener (env HIEHUB_SYSLOG_TLS_ADDR).
    #[arg(long = "syslog-tls", value_name = "ADDR")]
    pub syslog_tls: Option<String>,
    /// ATNA syslog over UDP listener (env HIEHUB_SYSLOG_UDP_ADDR).
    #[arg(long = "syslog-udp", value_name = "ADDR")]
    pub syslog_udp: Option<String>,
    /// Print the effective configuration (with every key documented) and exit.
    #[arg(long)]
    pub print_config: bool,
}

#[derive(Subcommand, Debug)]
pub enum DbCommand {
    /// Initialise (if needed) and start the embedded cluster, then exit leaving it running.
    Start(CommonArgs),
    /// Stop the embedded cluster.
    Stop(CommonArgs),
    /// Show whether the embedded cluster is initialised and running.
    Status(CommonArgs),
    /// psql as superuser on the embedded cluster's hiehub database: `hiehub db psql -- -c 'SELECT 1'`.
    Psql {
        #[command(flatten)]
        common: CommonArgs,
        /// Arguments passed to psql.
        #[arg(last = true)]
        args: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum CertsCommand {
    /// Make a development CA, a server certificate and a client certificate in <data_dir>/certs.
    Dev {
        #[command(flatten)]
        common: CommonArgs,
        /// Host names or IP addresses for the server certificate (repeatable).
        #[arg(long = "host", default_values_t = ["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()])]
        hosts: Vec<String>,
        /// Replace existing certificates.
        #[arg(long)]
        force: bool,
    },
}

fn flags_table(common: &CommonArgs, serve: Option<&ServeArgs>) -> toml::Table {
    let mut t = toml::Table::new();
    let mut set = |k: &str, v: Option<toml::Value>| {
        if let Some(v) = v {
            t.insert(k.to_owned(), v);
        }
    };
    set(
        "data_dir",
        common
            .data_dir
            .as_ref()
            .map(|p| toml::Value::String(p.display().to_string())),
    );
    set(
        "database_url",
        common.database_url.clone().map(toml::Value::String),
    );
    set(
        "log_format",
        common.log_format.clone().map(toml::Value::String),
    );
    if let Some(s) = serve {
        if s.dev {
            set("dev", Some(toml::Value::Boolean(true)));
        }
        set("http_addr", s.http.clone().map(toml::Value::String));
        set("https_addr", s.https.clone().map(toml::Value::String));
        set(
            "affinity_domain",
            s.affinity_domain.clone().map(toml::Value::String),
        );
        set(
            "syslog_tls_addr",
            s.syslog_tls.clone().map(toml::Value::String),
        );
        set(
            "syslog_udp_addr",
            s.syslog_udp.clone().map(toml::Value::String),
        );
    }
    t
}

fn load(common: &CommonArgs, serve: Option<&ServeArgs>) -> anyhow::Result<Config> {
    let file = common
        .config
        .clone()
        .or_else(|| std::env::var_os("HIEHUB_CONFIG").map(PathBuf::from));
    Ok(Config::load(
        file.as_deref(),
        std::env::vars(),
        flags_table(common, serve),
    )?)
}

fn init_logging(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log_level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if config.log_format == "json" {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match execute(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hiehub: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn execute(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => {
            let config = load(&args.common, Some(&args))?;
            if args.print_config {
                print!("{}", config.to_commented_toml());
                return Ok(ExitCode::SUCCESS);
            }
            init_logging(&config);
            server::serve(config)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate(common) => {
            let config = load(&common, None)?;
            init_logging(&config);
            let db = server::open_database(&config)?;
            let result = store::connect(&db.url).and_then(|mut c| store::migrate(&mut c));
            db.close();
            let applied = result?;
            if applied.is_empty() {
                println!("database is up to date");
            }
            for m in applied {
                println!("applied {m}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Db { command } => db(command),
        Command::Ledger { command } => ledger(command),
        Command::Bench { command } => bench(command),
        Command::Certs {
            command:
                CertsCommand::Dev {
                    common,
                    hosts,
                    force,
                },
        } => {
            let config = load(&common, None)?;
            let pki = DevPki::new(&config.certs_dir());
            if pki.exists() && !force {
                println!(
                    "development certificates already exist in {} (use --force to replace them)",
                    pki.dir.display()
                );
                return Ok(ExitCode::SUCCESS);
            }
            pki.generate(&hosts)?;
            println!("development CA: {}", pki.ca_cert().display());
            println!(
                "server certificate: {} (key {}) for {}",
                pki.server_cert().display(),
                pki.server_key().display(),
                hosts.join(", ")
            );
            println!(
                "client certificate: {} (key {})",
                pki.client_cert().display(),
                pki.client_key().display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn db(command: DbCommand) -> anyhow::Result<ExitCode> {
    let common = match &command {
        DbCommand::Start(c) | DbCommand::Stop(c) | DbCommand::Status(c) => c.clone(),
        DbCommand::Psql { common, .. } => common.clone(),
    };
    let config = load(&common, None)?;
    let c = cluster::Cluster::new(&config.data_dir)?;
    let opts = cluster::ClusterOptions {
        fsync: true,
        extra_settings: Vec::new(),
    };
    match command {
        DbCommand::Start(_) => {
            match c.start(&opts)? {
                cluster::Started::Now => println!("started"),
                cluster::Started::AlreadyRunning => println!("already running"),
            }
            c.ensure_database("hiehub")?;
            println!("socket directory: {}", c.socket_dir().display());
            println!("connection: {}", c.conninfo("hiehub"));
            Ok(ExitCode::SUCCESS)
        }
        DbCommand::Stop(_) => {
            c.stop()?;
            println!("stopped");
            Ok(ExitCode::SUCCESS)
        }
        DbCommand::Status(_) => {
            let status = c.status();
            match status {
                cluster::Status::NotInitialised => {
                    println!("not initialised ({})", c.root().display())
                }
                cluster::Status::Stopped => println!("stopped ({})", c.root().display()),
                cluster::Status::Running { pid } => println!(
                    "running (pid {pid}, socket directory {})",
                    c.socket_dir().display()
                ),
            }
            Ok(if matches!(status, cluster::Status::Running { .. }) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            })
        }
        DbCommand::Psql { args, .. } => {
            let started = c.start(&opts)?;
            c.ensure_database("hiehub")?;
            let status = c.psql_command("hiehub").args(&args).status();
            if matches!(started, cluster::Started::Now) {
                c.stop()?;
            }
            let status = status?;
            Ok(ExitCode::from(
                status.code().unwrap_or(1).clamp(0, 255) as u8
            ))
        }
    }
}

fn bench(command: BenchCommand) -> anyhow::Result<ExitCode> {
    let (common, documents, per_patient, append, patients) = match command {
        BenchCommand::Seed {
            common,
            documents,
            per_patient,
            append,
            patients,
        } => (common, documents, per_patient, append, patients),
        BenchCommand::Phantom {
            slices,
            rows,
            columns,
            out,
            study_uid,
            patient_id,
            issuer,
        } => {
            return phantom(slices, rows, columns, &out, study_uid, patient_id, issuer);
        }
    };
    let config = load(&common, None)?;
    init_logging(&config);
    if documents == 0 && patients == 0 {
        anyhow::bail!("nothing to seed: give --documents N and/or --patients N");
    }
    let db = server::open_database(&config)?;
    if patients > 0 {
        let result = (|| -> anyhow::Result<crate::mpi::seed::SeedReport> {
            let mut conn = store::connect(&db.url)?;
            store::migrate(&mut conn)?;
            crate::mpi::seed::seed(&mut conn, patients, &config.mpi_enterprise_authority, |r| {
                eprintln!(
                    "seeded {} persons ({:.0}/s)",
                    r.persons,
                    r.persons as f64 / r.seconds.max(1e-9)
                );
            })
        })();
        let r = match result {
            Ok(r) => r,
            Err(e) => {
                db.close();
                return Err(e);
            }
        };
        println!(
            "seeded {} persons with {} local ids in {:.1} s ({:.0} persons/s)",
            r.persons,
            r.records,
            r.seconds,
            r.persons as f64 / r.seconds.max(1e-9)
        );
        if documents == 0 {
            db.close();
            return Ok(ExitCode::SUCCESS);
        }
    }
    let result = (|| -> anyhow::Result<crate::xds::seed::SeedReport> {
        let mut conn = store::connect(&db.url)?;
        store::migrate(&mut conn)?;
        let opts = crate::xds::seed::SeedOptions {
            documents,
            per_patient,
            append,
        };
        crate::xds::seed::seed(&mut conn, &opts, |r| {
            eprintln!(
                "seeded {} DocumentEntries ({:.0}/s)",
                r.documents,
                r.documents as f64 / r.seconds.max(1e-9)
            );
        })
    })();
    db.close();
    let r = result?;
    println!(
        "seeded {} DocumentEntries, {} SubmissionSets, {} associations, {} patients in {:.1} s ({:.0} entries/s)",
        r.documents,
        r.submission_sets,
        r.associations,
        r.patients,
        r.seconds,
        r.documents as f64 / r.seconds.max(1e-9)
    );
    Ok(ExitCode::SUCCESS)
}

/// `hiehub bench phantom`: the synthetic CT series of `imaging::phantom`.
fn phantom(
    slices: u32,
    rows: u16,
    columns: u16,
    out: &std::path::Path,
    study_uid: Option<String>,
    patient_id: Option<String>,
    issuer: Option<String>,
) -> anyhow::Result<ExitCode> {
    if slices == 0 || rows < 8 || columns < 8 {
        anyhow::bail!("--slices must be at least 1 and --rows/--columns at least 8");
    }
    if let Some(u) = &study_uid {
        crate::imaging::DicomUid::parse(u).map_err(|e| anyhow::anyhow!("--study-uid: {e}"))?;
    }
    let series = crate::imaging::phantom::Phantom {
        slices,
        rows,
        columns,
        study_uid,
        patient_id,
        issuer,
    }
    .generate();
    if series.files.iter().any(Vec::is_empty) {
        anyhow::bail!("a phantom slice could not be encoded");
    }
    series
        .write(out)
        .map_err(|e| anyhow::anyhow!("writing to {}: {e}", out.display()))?;
    println!("{}", series.study_uid);
    Ok(ExitCode::SUCCESS)
}

/// This hub's verifier key, from the log key in the data directory.
fn own_vkey(config: &Config) -> anyhow::Result<String> {
    let path = config.ledger_key_path();
    let pem = std::fs::read(&path).map_err(|e| {
        anyhow::anyhow!(
            "cannot read the ledger key {} ({e}); pass the hub's verifier key with --vkey",
            path.display()
        )
    })?;
    let key = crate::ledger::checkpoint::SigningKey::from_pem(&config.origin(), &pem)?;
    Ok(key.vkey()?)
}

/// `ledger check-fork`: every evidence file must show misbehaviour with the log's keys.
fn check_fork(path: &std::path::Path, vkeys: &[String]) -> anyhow::Result<ExitCode> {
    use crate::ledger::checkpoint::VerifierKey;
    use crate::ledger::witness::Evidence;
    let keys = vkeys
        .iter()
        .map(|k| VerifierKey::parse(k))
        .collect::<Result<Vec<_>, _>>()?;
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(path)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        v.sort();
        v
    } else {
        vec![path.to_owned()]
    };
    if files.is_empty() {
        println!("FAILED: no evidence files in {}", path.display());
        return Ok(ExitCode::FAILURE);
    }
    if keys.is_empty() {
        eprintln!(
            "warning: no --vkey given; using the keys inside the evidence. Compare them with the log's published key."
        );
    }
    let mut all = true;
    for f in files {
        let text = std::fs::read_to_string(&f)?;
        let outcome = serde_json::from_str::<Evidence>(&text)
            .map_err(|e| format!("not an evidence file: {e}"))
            .and_then(|ev| ev.check(&keys).map_err(|e| e.to_string()));
        match outcome {
            Ok(c) => println!(
                "CONFIRMED {}: {}: {}",
                f.display(),
                c.kind.as_str(),
                c.statement
            ),
            Err(e) => {
                all = false;
                println!("NOT CONFIRMED {}: {e}", f.display());
            }
        }
    }
    Ok(if all {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn ledger(command: LedgerCommand) -> anyhow::Result<ExitCode> {
    use crate::ledger::{bundle, checkpoint::VerifierKey, verify};
    match command {
        LedgerCommand::Verify {
            common,
            incremental,
            vkey,
            json,
        } => {
            let config = load(&common, None)?;
            let vkeys = if vkey.is_empty() {
                vec![own_vkey(&config)?]
            } else {
                vkey
            };
            let keys = vkeys
                .iter()
                .map(|k| VerifierKey::parse(k))
                .collect::<Result<Vec<_>, _>>()?;
            let peers = crate::anchor::peers_of(&config).map_err(|e| anyhow::anyhow!(e))?;
            let db = server::open_database(&config)?;
            let result =
                (|| -> anyhow::Result<(verify::Report, crate::anchor::verify::AnchorReport)> {
                    let mut conn = store::connect(&db.url)?;
                    store::migrate(&mut conn)?;
                    let started = chrono::Utc::now();
                    let mut report = verify::verify(&db.url, &keys, incremental)?;
                    let anchors = crate::anchor::verify::verify_anchors(&mut conn, &keys, &peers)?;
                    if report.failure.is_none()
                        && let Some(f) = &anchors.failure
                    {
                        report.failure_message = Some(format!("anchoring: {f}"));
                    }
                    verify::record(&mut conn, &report, started)?;
                    Ok((report, anchors))
                })();
            db.close();
            let (report, anchors) = result?;
            let anchored_ok = anchors.failure.is_none();
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "ledger": report,
                        "anchoring": anchors,
                    }))?
                );
            } else {
                println!(
                    "checked entries {}..{} ({} entries, {} checkpoints) in {:.2} s ({:.0} entries/s)",
                    report.from,
                    report.size,
                    report.entries_checked,
                    report.checkpoints_checked,
                    report.seconds,
                    report.entries_checked as f64 / report.seconds.max(1e-9)
                );
                if !report.erased.is_empty() {
                    println!("erased payloads (recorded erasures): {:?}", report.erased);
                }
                match &report.failure {
                    None => println!("OK: the ledger is intact"),
                    Some(f) => println!("FAILED: {f}"),
                }
                println!(
                    "checked {} peer checkpoints, {} cosigned checkpoints ({} cosignatures)",
                    anchors.peer_checkpoints_checked,
                    anchors.cosignature_entries_checked,
                    anchors.cosignatures_checked
                );
                match &anchors.failure {
                    None => println!("OK: the stored peer checkpoints and cosignatures hold"),
                    Some(f) => println!("FAILED: anchoring: {f}"),
                }
            }
            Ok(if report.ok() && anchored_ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        LedgerCommand::Prove { common, seq } => {
            let config = load(&common, None)?;
            let vkey = own_vkey(&config)?;
            let witnesses = crate::anchor::peers_of(&config)
                .map_err(|e| anyhow::anyhow!(e))?
                .iter()
                .map(|p| p.witness_key.to_string())
                .collect();
            let db = server::open_database(&config)?;
            let result = store::connect(&db.url)
                .map_err(anyhow::Error::from)
                .and_then(|mut c| {
                    Ok(crate::anchor::status::prove_anchored(
                        &mut c, seq, &vkey, witnesses,
                    )?)
                });
            db.close();
            println!("{}", serde_json::to_string_pretty(&result?)?);
            Ok(ExitCode::SUCCESS)
        }
        LedgerCommand::CheckFork { evidence, vkey } => check_fork(&evidence, &vkey),
        LedgerCommand::AuditPeer {
            url,
            vkey,
            witness_vkey,
            quorum,
            state,
            cert,
            key,
            ca,
        } => crate::anchor::audit_peer::run(&crate::anchor::audit_peer::Options {
            url,
            vkey,
            witness_vkeys: witness_vkey,
            quorum,
            state,
            cert,
            key,
            ca,
        }),
        LedgerCommand::CheckProof {
            file,
            vkey,
            payload,
            witness_vkey,
        } => {
            let text = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                std::fs::read_to_string(&file)?
            };
            let b: bundle::InclusionBundle = serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("not a proof bundle: {e}"))?;
            let key = match vkey {
                Some(k) => k,
                None => {
                    eprintln!(
                        "warning: no --vkey given; using the key inside the proof ({}). Compare it with the hub's published key.",
                        b.vkey
                    );
                    b.vkey.clone()
                }
            };
            let payload = payload.map(std::fs::read).transpose()?;
            match b.check(&key, payload.as_deref()) {
                Ok(c) => {
                    println!(
                        "OK: entry {} is in {} at tree size {} (root {})",
                        c.seq,
                        c.origin,
                        c.tree_size,
                        hex::encode(c.root)
                    );
                    if c.payload_checked {
                        println!("OK: the payload matches the leaf");
                    }
                    let witnesses = if witness_vkey.is_empty() && !b.witnesses.is_empty() {
                        eprintln!(
                            "warning: no --witness-vkey given; using the witness keys inside the proof"
                        );
                        b.witnesses.clone()
                    } else {
                        witness_vkey
                    };
                    for w in &witnesses {
                        let key = VerifierKey::parse(w)?;
                        match crate::ledger::checkpoint::verify_note(
                            &b.checkpoint,
                            std::slice::from_ref(&key),
                        ) {
                            Ok(v) => {
                                let ts = v.signatures.iter().find_map(|s| s.timestamp);
                                let when = ts
                                    .and_then(|t| chrono::DateTime::from_timestamp(t as i64, 0))
                                    .map(|t| t.to_rfc3339())
                                    .unwrap_or_default();
                                println!("OK: cosigned by witness {} at {when}", key.name());
                            }
                            Err(e) => {
                                println!(
                                    "FAILED: no valid cosignature by witness {}: {e}",
                                    key.name()
                                );
                                return Ok(ExitCode::FAILURE);
                            }
                        }
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    println!("FAILED: {e}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}
