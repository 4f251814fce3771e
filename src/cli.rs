//! The `hiehub` command line. Spellings here are a contract with outside harnesses (issue #2):
//! `serve --dev --data-dir DIR --http ADDR`, `--https`, `--affinity-domain`, `--syslog-tls`,
//! `--syslog-udp`, `db start|stop|status|psql`, `certs dev`, `migrate`.

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
