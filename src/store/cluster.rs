//! The embedded PostgreSQL cluster: hiehub's database when no `database_url` is configured.
//!
//! hiehub initialises a private cluster with the system's PostgreSQL binaries, runs it on a
//! unix socket only (`listen_addresses=''`, no TCP), and stops it on exit. Tests use the same
//! code to run one private cluster per `cargo test` run.
//!
//! # Layout
//!
//! ```text
//! <data_dir>/pg/                 root, mode 0700, owned by the user PostgreSQL runs as
//! <data_dir>/pg/data/            PGDATA (initdb -U postgres -A trust -E UTF8 --locale=C.UTF-8)
//! <data_dir>/pg/run/             socket directory: .s.PGSQL.5432 and its .lock, mode 0700
//! <data_dir>/pg/postgres.log     server log (pg_ctl -l); the previous one is kept as postgres.log.1
//! <data_dir>/pg/hiehub.lock      flock(2) taken by init, start and stop, so that two hiehub
//!                                processes never run initdb or pg_ctl on one cluster at once
//! ```
//!
//! A unix socket path must fit in `sun_path` (107 bytes plus NUL). When
//! `<root>/run/.s.PGSQL.5432` would be longer (or the path holds a comma, which libpq's `host`
//! takes as a list separator), the socket directory is
//! `/tmp/hiehub-pg-<FNV-1a 64 of the root path, 16 hex digits>` instead: stable for one root,
//! so every process computes the same one, mode 0700 and owned by the PostgreSQL user. hiehub
//! refuses to use it when someone else owns it (`/tmp` is world-writable).
//!
//! Authentication is `trust`: the only way in is the socket, and the socket directory is
//! mode 0700, so only root and the cluster's owner can connect. Connect with [`Cluster::conninfo`],
//! a libpq keyword/value string (`host=<socket dir> port=5432 user=postgres dbname=...`).
//!
//! # Running as root
//!
//! `initdb` and `postgres` refuse to run as root. When hiehub's effective uid is 0, every
//! PostgreSQL binary runs as the `postgres` system user through `runuser -u postgres -- ...`,
//! the root directory and the socket directory are chowned to that user, and before initdb and
//! start hiehub checks that the user can traverse every ancestor of the data directory (a data
//! directory under `/root`, mode 0700, is the usual failure). Clients (hiehub's pool, `psql`
//! from [`Cluster::psql_command`]) stay root: root may open any socket. Not root: everything
//! runs as the current user and nothing is chowned.
//!
//! # Lifecycle and crashes
//!
//! [`Cluster::start`] answers [`Started::AlreadyRunning`] when a live postmaster already serves
//! this data directory (an earlier `hiehub db start`, or the orphan of a hiehub that was
//! killed): the caller must then leave it running on exit. A postmaster killed with SIGKILL
//! leaves `postmaster.pid` behind. PostgreSQL discards that file itself only when the pid in it
//! no longer exists; a zombie (whose parent has not reaped it yet: PID 1 in some containers
//! never does, and on our VMs it takes about 2 s) or a reused pid makes it refuse to start. So
//! hiehub decides itself: the pid counts as our postmaster only when it is alive, not a zombie,
//! named `postgres` in `/proc/<pid>/comm`, and (when readable) has PGDATA as its working
//! directory. Otherwise the pid file and the socket lock file are stale and are removed before
//! `pg_ctl start`. `pg_ctl` runs in its own process group (and the postmaster in its own
//! session), so a Ctrl-C at the terminal reaches hiehub only, which then stops the cluster.

use std::ffi::CString;
use std::fmt;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

/// The port in the socket file name (`.s.PGSQL.5432`). No TCP listener is opened, so clusters
/// in different socket directories never collide on it.
pub const PORT: u16 = 5432;
/// The database superuser created by initdb; also the OS user PostgreSQL runs as under root.
pub const SUPERUSER: &str = "postgres";
/// OS user the PostgreSQL binaries run as when hiehub runs as root.
pub const UNPRIVILEGED_USER: &str = "postgres";

/// `sizeof(sun_path) - 1` on Linux: PostgreSQL refuses longer socket paths.
const SOCKET_PATH_MAX: usize = 107;
/// How long `pg_ctl` waits for start and stop, and we wait for someone else's start.
const PG_CTL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long init, start and stop wait for another process holding `hiehub.lock`.
const LOCK_TIMEOUT: Duration = Duration::from_secs(180);
/// Lines of the server log quoted in [`ClusterError::StartFailed`].
const LOG_TAIL_LINES: usize = 20;
/// The server log is rotated (one previous generation) at start when bigger than this.
const LOG_ROTATE_BYTES: u64 = 16 * 1024 * 1024;
/// PostgreSQL silently truncates longer identifiers (NAMEDATALEN - 1).
const MAX_IDENTIFIER_BYTES: usize = 63;

/// How the cluster is initialised and started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterOptions {
    /// `true` for the server. `false` (tests only) passes `--no-sync` to initdb and starts the
    /// server with `fsync=off`, `synchronous_commit=off`, `full_page_writes=off`. Then an OS
    /// crash may lose the cluster, and a SIGKILLed postmaster loses the commits of its last
    /// ~0.6 s (asynchronous commit: their WAL was still in shared memory); a session that
    /// needs a commit to survive a kill runs `SET synchronous_commit = on`.
    pub fsync: bool,
    /// Extra server settings, passed as `-c key=value` at start.
    pub extra_settings: Vec<(String, String)>,
}

impl ClusterOptions {
    /// Durable settings, for the server.
    pub fn server() -> ClusterOptions {
        ClusterOptions {
            fsync: true,
            extra_settings: Vec::new(),
        }
    }

    /// Fast, non-durable settings, for tests: a crash of the machine may lose the cluster.
    pub fn for_tests() -> ClusterOptions {
        ClusterOptions {
            fsync: false,
            extra_settings: Vec::new(),
        }
    }
}

impl Default for ClusterOptions {
    fn default() -> ClusterOptions {
        ClusterOptions::server()
    }
}

/// What [`Cluster::status`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// No `PG_VERSION` in PGDATA: initdb has not run (or did not finish).
    NotInitialised,
    /// Initialised; no live postmaster (a stale `postmaster.pid` may remain).
    Stopped,
    /// A live postmaster serves this data directory (it may still be starting up).
    Running { pid: u32 },
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::NotInitialised => f.write_str("not initialised"),
            Status::Stopped => f.write_str("stopped"),
            Status::Running { pid } => write!(f, "running (pid {pid})"),
        }
    }
}

/// What [`Cluster::start`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// This call started the postmaster: the caller stops it on exit.
    Now,
    /// Someone else runs it (an earlier `hiehub db start`, or the orphaned postmaster of a
    /// hiehub that crashed): the caller must NOT stop it on exit.
    AlreadyRunning,
}

/// Everything that can go wrong with the embedded cluster. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH or in \
         /usr/lib/postgresql/*/bin (searched: {}). Install them with `apt-get install -y \
         postgresql` (Debian/Ubuntu) or set database_url to use an existing server.",
        display_paths(.searched)
    )]
    BinariesMissing { searched: Vec<PathBuf> },

    #[error(
        "hiehub runs as root and PostgreSQL refuses to run as root, but there is no `{user}` \
         system user to run it as. Create one with `useradd --system --user-group --home-dir \
         /var/lib/postgresql --shell /bin/bash {user}` (installing the `postgresql` package \
         creates it), run hiehub as an unprivileged user, or set database_url to use an \
         existing server."
    )]
    NoUnprivilegedUser { user: String },

    #[error(
        "hiehub runs as root and needs `runuser` (util-linux) to run PostgreSQL as `{user}`, \
         but it is not on PATH, /usr/sbin or /sbin. Install it with `apt-get install -y \
         util-linux` or run hiehub as an unprivileged user."
    )]
    RunuserMissing { user: String },

    #[error(
        "PostgreSQL runs as `{user}`, which cannot reach the data directory {}: {} is not \
         searchable for it (mode {mode:04o}, owner uid {owner_uid}). Choose a data_dir \
         elsewhere (e.g. /var/lib/hiehub or /srv/hiehub) or allow traversal with `chmod o+x {}`.",
        data_dir.display(), path.display(), path.display()
    )]
    PathNotReachable {
        path: PathBuf,
        user: String,
        data_dir: PathBuf,
        mode: u32,
        owner_uid: u32,
    },

    #[error(
        "the data directory {} cannot hold a PostgreSQL cluster: {reason}. Choose a data_dir \
         without such characters.",
        path.display()
    )]
    UnsupportedPath { path: PathBuf, reason: &'static str },

    #[error(
        "refusing to use the socket directory {}: {reason}. Remove it if it is not yours, or \
         choose a shorter data_dir so that the socket fits under it.",
        path.display()
    )]
    UnsafeSocketDir { path: PathBuf, reason: String },

    #[error("initdb failed for {} ({status}):\n{log}", pgdata.display())]
    InitdbFailed {
        pgdata: PathBuf,
        status: ExitStatus,
        log: String,
    },

    #[error(
        "PostgreSQL did not start (pg_ctl: {status}).\npg_ctl said: {output}\nLast lines of {}:\n{log_tail}",
        log.display()
    )]
    StartFailed {
        status: ExitStatus,
        output: String,
        log: PathBuf,
        log_tail: String,
    },

    #[error(
        "PostgreSQL (pid {pid}) serves {} but has been in state `{state}` for {}s; see {}",
        pgdata.display(), waited.as_secs(), log.display()
    )]
    NotReady {
        pid: u32,
        state: String,
        waited: Duration,
        pgdata: PathBuf,
        log: PathBuf,
    },

    #[error(
        "PostgreSQL (pid {pid}) already serves {} but on socket directory `{found}` port \
         {port}, not {} port {PORT}. Stop it (`hiehub db stop`, or `pg_ctl -D {} stop` as its \
         owner) and start again.",
        pgdata.display(), expected.display(), pgdata.display()
    )]
    RunningElsewhere {
        pid: u32,
        found: String,
        port: String,
        expected: PathBuf,
        pgdata: PathBuf,
    },

    #[error(
        "could not stop PostgreSQL (pid {pid}) serving {} (pg_ctl: {status}): {output}. \
         It may still be shutting down; see {}",
        pgdata.display(), log.display()
    )]
    StopFailed {
        pid: u32,
        status: ExitStatus,
        output: String,
        pgdata: PathBuf,
        log: PathBuf,
    },

    #[error(
        "could not connect to the embedded PostgreSQL ({conninfo}): {message}. Is it running? \
         (`hiehub db start`)"
    )]
    Connect { conninfo: String, message: String },

    #[error("SQL failed: {sql}: {message}")]
    Sql { sql: String, message: String },

    #[error("invalid database name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },

    #[error(
        "another process has held {} for {}s while initialising, starting or stopping the \
         cluster. Wait for it to finish, or find it with `fuser -v {}` and stop it.",
        path.display(), waited.as_secs(), path.display()
    )]
    LockTimeout { path: PathBuf, waited: Duration },

    #[error("could not {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn display_paths(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "nothing".to_owned();
    }
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> ClusterError + use<> {
    let path = path.to_path_buf();
    move |source| ClusterError::Io {
        action,
        path,
        source,
    }
}

/// The OS user the PostgreSQL binaries run as, when hiehub is root.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RunAs {
    name: String,
    uid: u32,
    gid: u32,
    runuser: PathBuf,
}

/// A private PostgreSQL cluster under `<data_dir>/pg`. Cheap to clone; holds no process.
#[derive(Debug, Clone)]
pub struct Cluster {
    root: PathBuf,
    pgdata: PathBuf,
    socket_dir: PathBuf,
    /// `socket_dir` is the short directory under /tmp (see the module doc).
    socket_fallback: bool,
    bin_dir: PathBuf,
    run_as: Option<RunAs>,
}

impl Cluster {
    /// Locates the binaries on PATH, else under the highest `/usr/lib/postgresql/<v>/bin`.
    pub fn new(data_dir: &Path) -> Result<Cluster, ClusterError> {
        Cluster::with_search_path(data_dir, &default_search_path())
    }

    /// Like [`Cluster::new`], but looks for `initdb`, `pg_ctl` and `postgres` only in these
    /// directories, in order. A directory whose `initdb` is a symlink counts as the directory
    /// it points into (so `/usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb` finds
    /// that version's `psql` too).
    pub fn with_search_path(
        data_dir: &Path,
        search_path: &[PathBuf],
    ) -> Result<Cluster, ClusterError> {
        let bin_dir = find_bin_dir(search_path).ok_or_else(|| ClusterError::BinariesMissing {
            searched: search_path.to_vec(),
        })?;
        let run_as = run_as_for(effective_uid(), UNPRIVILEGED_USER)?;
        Cluster::build(data_dir, bin_dir, run_as)
    }

    fn build(
        data_dir: &Path,
        bin_dir: PathBuf,
        run_as: Option<RunAs>,
    ) -> Result<Cluster, ClusterError> {
        let data_dir = match fs::canonicalize(data_dir) {
            Ok(path) => path,
            Err(_) => std::path::absolute(data_dir).map_err(io_err("resolve", data_dir))?,
        };
        check_path_supported(&data_dir)?;
        let root = data_dir.join("pg");
        let (socket_dir, socket_fallback) = choose_socket_dir(&root);
        Ok(Cluster {
            pgdata: root.join("data"),
            root,
            socket_dir,
            socket_fallback,
            bin_dir,
            run_as,
        })
    }

    /// `<data_dir>/pg`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// PGDATA, `<data_dir>/pg/data`.
    pub fn pgdata(&self) -> &Path {
        &self.pgdata
    }

    /// Where the server's unix socket lives: `<root>/run`, or a short directory under /tmp.
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// The server log, `<root>/postgres.log`.
    pub fn log_file(&self) -> PathBuf {
        self.root.join("postgres.log")
    }

    /// The directory `initdb`, `pg_ctl`, `postgres` and `psql` are taken from.
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// The OS user PostgreSQL runs as, when hiehub is root; `None` means the current user.
    pub fn run_as_user(&self) -> Option<&str> {
        self.run_as.as_ref().map(|r| r.name.as_str())
    }

    fn data_dir(&self) -> &Path {
        self.root.parent().unwrap_or(&self.root)
    }

    fn is_initialised(&self) -> bool {
        self.pgdata.join("PG_VERSION").is_file()
    }

    pub fn status(&self) -> Status {
        if !self.is_initialised() {
            return Status::NotInitialised;
        }
        match self.postmaster() {
            Ok(Postmaster::Live(pid_file)) => Status::Running { pid: pid_file.pid },
            Ok(Postmaster::Absent | Postmaster::Stale { .. }) => Status::Stopped,
            Err(error) => {
                tracing::warn!(%error, "cannot read postmaster.pid; reporting the cluster as stopped");
                Status::Stopped
            }
        }
    }

    /// Runs initdb unless PGDATA holds a cluster already. Returns whether it ran initdb now.
    pub fn init_if_needed(&self, opts: &ClusterOptions) -> Result<bool, ClusterError> {
        if self.is_initialised() {
            return Ok(false);
        }
        self.ensure_dirs()?;
        let _lock = self.lock()?;
        self.init_locked(opts)
    }

    /// Initialises the cluster if needed and starts it; returns once it accepts connections.
    pub fn start(&self, opts: &ClusterOptions) -> Result<Started, ClusterError> {
        self.ensure_dirs()?;
        let _lock = self.lock()?;
        self.init_locked(opts)?;
        self.start_locked(opts)
    }

    /// `pg_ctl -m fast -w stop`: disconnects clients, checkpoints, waits for the exit.
    /// Ok when it is not running.
    pub fn stop(&self) -> Result<(), ClusterError> {
        if !self.is_initialised() {
            return Ok(());
        }
        let _lock = self.lock()?;
        let pid = match self.postmaster()? {
            Postmaster::Live(pid_file) => pid_file.pid,
            Postmaster::Absent | Postmaster::Stale { .. } => return Ok(()),
        };
        let started = Instant::now();
        let mut cmd = self.pg_command("pg_ctl");
        cmd.arg("-D")
            .arg(&self.pgdata)
            .args(["-m", "fast", "-w", "-t"])
            .arg(PG_CTL_TIMEOUT.as_secs().to_string())
            .arg("stop");
        let output = run(&mut cmd, &self.bin_dir.join("pg_ctl"))?;
        // pg_ctl also fails when the server exited on its own meanwhile: that is a stop.
        if !output.status.success() && matches!(self.postmaster()?, Postmaster::Live(_)) {
            return Err(ClusterError::StopFailed {
                pid,
                status: output.status,
                output: combined_output(&output),
                pgdata: self.pgdata.clone(),
                log: self.log_file(),
            });
        }
        if self.socket_fallback {
            // Empty once the server is gone; leave it if anything else is inside.
            let _ = fs::remove_dir(&self.socket_dir);
        }
        tracing::info!(pid, elapsed_ms = started.elapsed().as_millis() as u64, pgdata = %self.pgdata.display(), "embedded PostgreSQL stopped");
        Ok(())
    }

    /// libpq keyword/value connection string for `dbname` as the superuser, over the socket.
    pub fn conninfo(&self, dbname: &str) -> String {
        format!(
            "host={} port={PORT} user={} dbname={}",
            conninfo_value(&self.socket_dir.to_string_lossy()),
            conninfo_value(SUPERUSER),
            conninfo_value(dbname),
        )
    }

    /// A new connection to `dbname` as the superuser.
    pub fn connect(&self, dbname: &str) -> Result<PgConnection, ClusterError> {
        let conninfo = self.conninfo(dbname);
        PgConnection::establish(&conninfo).map_err(|e| ClusterError::Connect {
            message: e.to_string().trim_end().to_owned(),
            conninfo,
        })
    }

    /// `CREATE DATABASE dbname` unless it exists. Safe to call concurrently.
    pub fn ensure_database(&self, dbname: &str) -> Result<(), ClusterError> {
        validate_name(dbname)?;
        let mut conn = self.connect("postgres")?;
        if database_exists(&mut conn, dbname)? {
            return Ok(());
        }
        let sql = format!("CREATE DATABASE {}", quote_ident(dbname));
        match diesel::sql_query(&sql).execute(&mut conn) {
            Ok(_) => {
                tracing::info!(dbname, "created database");
                Ok(())
            }
            // Someone else created it between our check and our CREATE.
            Err(_) if database_exists(&mut conn, dbname)? => Ok(()),
            Err(e) => Err(ClusterError::Sql {
                sql,
                message: e.to_string(),
            }),
        }
    }

    /// `CREATE DATABASE dbname TEMPLATE template`: a fresh copy, e.g. one per test. Fails when
    /// `dbname` exists. PostgreSQL waits up to 5 s for other sessions to leave the template,
    /// then fails with "source database ... is being accessed by other users".
    pub fn create_database_from_template(
        &self,
        dbname: &str,
        template: &str,
    ) -> Result<(), ClusterError> {
        validate_name(dbname)?;
        validate_name(template)?;
        let mut conn = self.connect("postgres")?;
        let sql = format!(
            "CREATE DATABASE {} TEMPLATE {}",
            quote_ident(dbname),
            quote_ident(template)
        );
        execute(&mut conn, &sql)
    }

    /// `DROP DATABASE IF EXISTS dbname WITH (FORCE)`: also disconnects its sessions.
    pub fn drop_database(&self, dbname: &str) -> Result<(), ClusterError> {
        validate_name(dbname)?;
        let mut conn = self.connect("postgres")?;
        let sql = format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_ident(dbname)
        );
        execute(&mut conn, &sql)
    }

    /// `psql` as the superuser on `dbname`, for `hiehub db psql`. It runs as the current user
    /// (root may connect to the socket) in the current directory, with the user's psqlrc.
    pub fn psql_command(&self, dbname: &str) -> Command {
        let psql = self.bin_dir.join("psql");
        let mut cmd = if psql.is_file() {
            Command::new(psql)
        } else {
            Command::new("psql")
        };
        scrub_pg_env(&mut cmd);
        cmd.arg(self.conninfo(dbname));
        cmd
    }

    /// Creates `<data_dir>`, the root and the socket directory, owned by the PostgreSQL user.
    fn ensure_dirs(&self) -> Result<(), ClusterError> {
        let data_dir = self.data_dir();
        fs::create_dir_all(data_dir).map_err(io_err("create", data_dir))?;
        self.ensure_private_dir(&self.root)?;
        if self.socket_fallback {
            self.ensure_fallback_socket_dir()
        } else {
            self.ensure_private_dir(&self.socket_dir)
        }
    }

    fn ensure_private_dir(&self, path: &Path) -> Result<(), ClusterError> {
        match DirBuilder::new().mode(0o700).create(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_err("create", path)(e)),
        }
        if let Some(run_as) = &self.run_as {
            let meta = fs::metadata(path).map_err(io_err("inspect", path))?;
            if meta.uid() != run_as.uid {
                std::os::unix::fs::chown(path, Some(run_as.uid), Some(run_as.gid))
                    .map_err(io_err("chown", path))?;
            }
        }
        Ok(())
    }

    fn ensure_fallback_socket_dir(&self) -> Result<(), ClusterError> {
        let path = &self.socket_dir;
        match DirBuilder::new().mode(0o700).create(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_err("create", path)(e)),
        }
        let meta = fs::symlink_metadata(path).map_err(io_err("inspect", path))?;
        if !meta.file_type().is_dir() {
            return Err(ClusterError::UnsafeSocketDir {
                path: path.clone(),
                reason: "it is not a directory (a symlink or a file)".to_owned(),
            });
        }
        let me = effective_uid();
        let (uid, gid) = match &self.run_as {
            Some(r) => (r.uid, Some(r.gid)),
            None => (me, None),
        };
        if meta.uid() != uid && meta.uid() != me {
            return Err(ClusterError::UnsafeSocketDir {
                path: path.clone(),
                reason: format!(
                    "it belongs to uid {}, not to uid {uid} that PostgreSQL runs as",
                    meta.uid()
                ),
            });
        }
        if meta.uid() != uid {
            std::os::unix::fs::chown(path, Some(uid), gid).map_err(io_err("chown", path))?;
        }
        if meta.mode() & 0o777 != 0o700 {
            fs::set_permissions(path, fs::Permissions::from_mode(0o700))
                .map_err(io_err("chmod", path))?;
        }
        Ok(())
    }

    /// As root: fails with [`ClusterError::PathNotReachable`] unless the PostgreSQL user can
    /// traverse to the data directory. Asks the kernel (`test -x` as that user, so groups and
    /// ACLs count), then reads the modes to name the directory in the way.
    fn check_reachable(&self) -> Result<(), ClusterError> {
        let Some(run_as) = &self.run_as else {
            return Ok(());
        };
        let data_dir = self.data_dir();
        let test = ["/usr/bin/test", "/bin/test"]
            .into_iter()
            .map(Path::new)
            .find(|p| p.is_file())
            .unwrap_or(Path::new("test"));
        let mut cmd = Command::new(&run_as.runuser);
        cmd.args(["-u", &run_as.name, "--"])
            .arg(test)
            .arg("-x")
            .arg(data_dir)
            .current_dir("/");
        let output = run(&mut cmd, &run_as.runuser)?;
        if output.status.success() {
            return Ok(());
        }
        let mut ancestors: Vec<&Path> = data_dir.ancestors().collect();
        ancestors.reverse();
        let mut blocking = (data_dir.to_path_buf(), 0, 0);
        for dir in ancestors {
            let meta = fs::metadata(dir).map_err(io_err("inspect", dir))?;
            if !can_traverse(&meta, run_as.uid, run_as.gid) {
                blocking = (dir.to_path_buf(), meta.mode() & 0o7777, meta.uid());
                break;
            }
        }
        Err(ClusterError::PathNotReachable {
            path: blocking.0,
            user: run_as.name.clone(),
            data_dir: data_dir.to_path_buf(),
            mode: blocking.1,
            owner_uid: blocking.2,
        })
    }

    /// Takes `<root>/hiehub.lock` (flock), waiting up to [`LOCK_TIMEOUT`].
    fn lock(&self) -> Result<File, ClusterError> {
        let path = self.root.join("hiehub.lock");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io_err("open", &path))?;
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(fs::TryLockError::WouldBlock) => {}
                Err(fs::TryLockError::Error(e)) => return Err(io_err("lock", &path)(e)),
            }
            if started.elapsed() >= LOCK_TIMEOUT {
                return Err(ClusterError::LockTimeout {
                    path,
                    waited: started.elapsed(),
                });
            }
            sleep(Duration::from_millis(50));
        }
    }

    fn init_locked(&self, opts: &ClusterOptions) -> Result<bool, ClusterError> {
        if self.is_initialised() {
            return Ok(false);
        }
        self.check_reachable()?;
        let started = Instant::now();
        let mut result = self.run_initdb(opts, "C.UTF-8");
        if let Err(ClusterError::InitdbFailed { log, .. }) = &result
            && log.contains("locale")
        {
            tracing::warn!(%log, "initdb refused --locale=C.UTF-8; retrying with --locale=C");
            result = self.run_initdb(opts, "C");
        }
        result?;
        tracing::info!(
            pgdata = %self.pgdata.display(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "initialised the embedded PostgreSQL cluster"
        );
        Ok(true)
    }

    fn run_initdb(&self, opts: &ClusterOptions, locale: &str) -> Result<(), ClusterError> {
        self.remove_unfinished_pgdata()?;
        let mut cmd = self.pg_command("initdb");
        cmd.arg("-D")
            .arg(&self.pgdata)
            .args(["-U", SUPERUSER, "-A", "trust", "-E", "UTF8"])
            .arg(format!("--locale={locale}"));
        if !opts.fsync {
            cmd.arg("--no-sync");
        }
        let output = run(&mut cmd, &self.bin_dir.join("initdb"))?;
        if output.status.success() && self.is_initialised() {
            return Ok(());
        }
        Err(ClusterError::InitdbFailed {
            pgdata: self.pgdata.clone(),
            status: output.status,
            log: combined_output(&output),
        })
    }

    /// A PGDATA without PG_VERSION is what an interrupted initdb leaves; initdb refuses a
    /// non-empty directory, so it goes.
    fn remove_unfinished_pgdata(&self) -> Result<(), ClusterError> {
        let mut entries = match fs::read_dir(&self.pgdata) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err("list", &self.pgdata)(e)),
        };
        if entries.next().is_some() && !self.is_initialised() {
            tracing::warn!(pgdata = %self.pgdata.display(), "removing the remains of an unfinished initdb");
            fs::remove_dir_all(&self.pgdata).map_err(io_err("remove", &self.pgdata))?;
        }
        Ok(())
    }

    fn start_locked(&self, opts: &ClusterOptions) -> Result<Started, ClusterError> {
        let started = Instant::now();
        loop {
            match self.postmaster()? {
                Postmaster::Live(pid_file) if pid_file.is_ready() => {
                    self.check_same_socket(&pid_file)?;
                    tracing::info!(pid = pid_file.pid, "embedded PostgreSQL already running");
                    return Ok(Started::AlreadyRunning);
                }
                Postmaster::Live(pid_file) => {
                    // Someone else's postmaster is starting up (crash recovery) or stopping.
                    if started.elapsed() >= PG_CTL_TIMEOUT {
                        return Err(ClusterError::NotReady {
                            pid: pid_file.pid,
                            state: pid_file.state,
                            waited: started.elapsed(),
                            pgdata: self.pgdata.clone(),
                            log: self.log_file(),
                        });
                    }
                    sleep(Duration::from_millis(100));
                }
                Postmaster::Stale { pid } => {
                    self.remove_stale_lock_files(pid)?;
                    break;
                }
                Postmaster::Absent => break,
            }
        }
        self.check_reachable()?;
        self.rotate_log()?;
        let pg_ctl = self.bin_dir.join("pg_ctl");
        loop {
            let mut cmd = self.pg_command("pg_ctl");
            cmd.arg("-D")
                .arg(&self.pgdata)
                .arg("-l")
                .arg(self.log_file())
                .args(["-w", "-t"])
                .arg(PG_CTL_TIMEOUT.as_secs().to_string())
                .arg("-o")
                .arg(server_options(&self.socket_dir, opts))
                .arg("start")
                .process_group(0);
            let output = run(&mut cmd, &pg_ctl)?;
            if output.status.success() {
                let pid = match self.postmaster()? {
                    Postmaster::Live(pid_file) => pid_file.pid,
                    _ => 0,
                };
                tracing::info!(
                    pid,
                    socket_dir = %self.socket_dir.display(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "embedded PostgreSQL started"
                );
                return Ok(Started::Now);
            }
            let log_tail = tail_lines(&self.log_file(), LOG_TAIL_LINES);
            // The children of a SIGKILLed postmaster hold its shared memory until they notice
            // and exit, which takes a moment: PostgreSQL then refuses to start. Wait for them.
            if log_tail.contains("pre-existing shared memory block")
                && started.elapsed() < Duration::from_secs(10)
            {
                tracing::warn!("old server processes still hold shared memory; retrying");
                sleep(Duration::from_millis(500));
                continue;
            }
            return Err(ClusterError::StartFailed {
                status: output.status,
                output: combined_output(&output),
                log: self.log_file(),
                log_tail,
            });
        }
    }

    fn check_same_socket(&self, pid_file: &PidFile) -> Result<(), ClusterError> {
        let found = pid_file.socket_dir.as_deref().unwrap_or_default();
        let port = pid_file.port.as_deref().unwrap_or_default();
        let same_dir = pid_file.socket_dir.is_none() || Path::new(found) == self.socket_dir;
        let same_port = pid_file.port.is_none() || port == PORT.to_string();
        if same_dir && same_port {
            return Ok(());
        }
        Err(ClusterError::RunningElsewhere {
            pid: pid_file.pid,
            found: found.to_owned(),
            port: port.to_owned(),
            expected: self.socket_dir.clone(),
            pgdata: self.pgdata.clone(),
        })
    }

    fn remove_stale_lock_files(&self, pid: Option<u32>) -> Result<(), ClusterError> {
        let pid_path = self.pgdata.join("postmaster.pid");
        tracing::warn!(?pid, path = %pid_path.display(), "removing the stale lock file of a postmaster that is gone");
        remove_if_exists(&pid_path)?;
        let socket_lock = self.socket_dir.join(format!(".s.PGSQL.{PORT}.lock"));
        let owner = match fs::read_to_string(&socket_lock) {
            Ok(text) => parse_pid(&text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err("read", &socket_lock)(e)),
        };
        let stale = match owner {
            Some(owner) => Some(owner) == pid || liveness(owner, &self.pgdata) != Liveness::Alive,
            None => true,
        };
        if stale {
            remove_if_exists(&socket_lock)?;
        }
        Ok(())
    }

    fn rotate_log(&self) -> Result<(), ClusterError> {
        let log = self.log_file();
        match fs::metadata(&log) {
            Ok(meta) if meta.len() > LOG_ROTATE_BYTES => {
                let old = self.root.join("postgres.log.1");
                fs::rename(&log, &old).map_err(io_err("rotate", &log))
            }
            _ => Ok(()),
        }
    }

    /// Reads `postmaster.pid` and decides whether its pid is our live postmaster.
    fn postmaster(&self) -> Result<Postmaster, ClusterError> {
        let path = self.pgdata.join("postmaster.pid");
        let mut retried = false;
        loop {
            let text = match fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Postmaster::Absent),
                Err(e) => return Err(io_err("read", &path)(e)),
            };
            let Some(pid_file) = PidFile::parse(&text) else {
                // A postmaster writes the file right after creating it: look again once.
                if !retried {
                    retried = true;
                    sleep(Duration::from_millis(200));
                    continue;
                }
                return Ok(Postmaster::Stale { pid: None });
            };
            return Ok(match liveness(pid_file.pid, &self.pgdata) {
                Liveness::Alive => Postmaster::Live(pid_file),
                Liveness::Dead | Liveness::NotPostgres => Postmaster::Stale {
                    pid: Some(pid_file.pid),
                },
            });
        }
    }

    /// A PostgreSQL binary from `bin_dir`, as the PostgreSQL user, with a clean environment.
    fn pg_command(&self, program: &str) -> Command {
        let exe = self.bin_dir.join(program);
        let mut cmd = match &self.run_as {
            Some(run_as) => {
                let mut cmd = Command::new(&run_as.runuser);
                cmd.args(["-u", &run_as.name, "--"]).arg(exe);
                cmd
            }
            None => Command::new(exe),
        };
        scrub_pg_env(&mut cmd);
        // English messages (we search them for "locale" and quote them in errors), and a
        // working directory the PostgreSQL user can read: initdb fails when it cannot getcwd().
        cmd.env_remove("LC_ALL")
            .env("LC_MESSAGES", "C")
            .current_dir("/")
            .stdin(Stdio::null());
        cmd
    }
}

/// PATH, then `/usr/lib/postgresql/<version>/bin` from the highest version down.
pub fn default_search_path() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .filter(|dir| dir.is_absolute())
                .collect()
        })
        .unwrap_or_default();
    dirs.extend(versioned_bin_dirs(Path::new("/usr/lib/postgresql")));
    dirs
}

/// `<base>/<version>/bin` for every numeric version directory, highest first.
fn versioned_bin_dirs(base: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(base) else {
        return Vec::new();
    };
    let mut versions: Vec<(Vec<u32>, PathBuf)> = entries
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let name = entry.file_name();
            let version: Option<Vec<u32>> = name
                .to_str()?
                .split('.')
                .map(|part| part.parse().ok())
                .collect();
            Some((version?, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    versions.into_iter().map(|(_, dir)| dir).collect()
}

fn find_bin_dir(search_path: &[PathBuf]) -> Option<PathBuf> {
    let complete = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|name| is_executable(&dir.join(name)))
    };
    for dir in search_path {
        let initdb = dir.join("initdb");
        if !is_executable(&initdb) {
            continue;
        }
        if let Some(real) = fs::canonicalize(&initdb)
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            && complete(&real)
        {
            return Some(real);
        }
        if complete(dir) {
            return Some(dir.clone());
        }
    }
    None
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.mode() & 0o111 != 0)
}

fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Who runs the PostgreSQL binaries: nobody else unless `euid` is root.
fn run_as_for(euid: u32, user: &str) -> Result<Option<RunAs>, ClusterError> {
    if euid != 0 {
        return Ok(None);
    }
    let no_user = || ClusterError::NoUnprivilegedUser {
        user: user.to_owned(),
    };
    let (uid, gid) = lookup_user(user).ok().flatten().ok_or_else(no_user)?;
    if uid == 0 {
        return Err(no_user());
    }
    let runuser = find_runuser().ok_or_else(|| ClusterError::RunuserMissing {
        user: user.to_owned(),
    })?;
    Ok(Some(RunAs {
        name: user.to_owned(),
        uid,
        gid,
        runuser,
    }))
}

fn find_runuser() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join("runuser"))
        .find(|path| is_executable(path))
}

/// `(uid, gid)` of a user from the system's user database (NSS), `None` when unknown.
fn lookup_user(name: &str) -> io::Result<Option<(u32, u32)>> {
    let cname = CString::new(name).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut buf: Vec<libc::c_char> = vec![0; 4096];
    loop {
        // SAFETY: passwd is plain old data; getpwnam_r fills it in, pointing into `buf`.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call and `buf.len()` is the buffer's size.
        let rc = unsafe {
            libc::getpwnam_r(
                cname.as_ptr(),
                &mut pwd,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        match rc {
            0 if result.is_null() => return Ok(None),
            0 => return Ok(Some((pwd.pw_uid, pwd.pw_gid))),
            libc::ERANGE if buf.len() < 1 << 20 => buf.resize(buf.len() * 2, 0),
            libc::ENOENT | libc::ESRCH => return Ok(None),
            rc => return Err(io::Error::from_raw_os_error(rc)),
        }
    }
}

/// Whether `uid` (primary group `gid`) may search the directory, by its mode bits alone.
fn can_traverse(meta: &fs::Metadata, uid: u32, gid: u32) -> bool {
    let mode = meta.mode();
    if meta.uid() == uid {
        mode & 0o100 != 0
    } else if meta.gid() == gid {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

/// pg_ctl puts PGDATA and the log path in double quotes inside `sh -c`, and
/// `postmaster.pid` is line-based: these characters would break one or the other.
fn check_path_supported(data_dir: &Path) -> Result<(), ClusterError> {
    let unsupported = |reason| ClusterError::UnsupportedPath {
        path: data_dir.to_path_buf(),
        reason,
    };
    let Some(text) = data_dir.to_str() else {
        return Err(unsupported("its path is not valid UTF-8"));
    };
    if text.contains(['"', '$', '`', '\\']) {
        return Err(unsupported(
            "its path contains a shell metacharacter (\", $, ` or \\)",
        ));
    }
    if text.contains(['\n', '\r']) {
        return Err(unsupported("its path contains a line break"));
    }
    Ok(())
}

/// `<root>/run`, unless the socket path would exceed `sun_path` or contains a comma (libpq
/// splits `host` on commas, with no escape); then `/tmp/hiehub-pg-<hash of root>` (see the
/// module doc). Returns the directory and whether it is the fallback.
fn choose_socket_dir(root: &Path) -> (PathBuf, bool) {
    let preferred = root.join("run");
    if socket_path_len(&preferred) <= SOCKET_PATH_MAX
        && !preferred.as_os_str().as_bytes().contains(&b',')
    {
        return (preferred, false);
    }
    let hash = fnv1a64(root.as_os_str().as_bytes());
    (PathBuf::from(format!("/tmp/hiehub-pg-{hash:016x}")), true)
}

fn socket_path_len(dir: &Path) -> usize {
    dir.join(format!(".s.PGSQL.{PORT}")).as_os_str().len()
}

/// FNV-1a, 64 bits: stable across Rust releases, unlike `DefaultHasher`.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The `-o` argument of `pg_ctl start`, which pg_ctl hands to `sh -c`: every word is
/// shell-quoted. The socket directory is also double-quoted for PostgreSQL's own list syntax
/// (`unix_socket_directories` is comma-separated).
fn server_options(socket_dir: &Path, opts: &ClusterOptions) -> String {
    let mut args: Vec<String> = vec![
        "-k".into(),
        format!("\"{}\"", socket_dir.to_string_lossy().replace('"', "\"\"")),
        "-p".into(),
        PORT.to_string(),
        "-c".into(),
        "listen_addresses=".into(),
    ];
    if !opts.fsync {
        for setting in [
            "fsync=off",
            "synchronous_commit=off",
            "full_page_writes=off",
        ] {
            args.push("-c".into());
            args.push(setting.into());
        }
    }
    for (key, value) in &opts.extra_settings {
        args.push("-c".into());
        args.push(format!("{key}={value}"));
    }
    args.iter()
        .map(|arg| shell_quote(arg))
        .collect::<Vec<_>>()
        .join(" ")
}

fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// A libpq keyword/value: quoted when empty or containing whitespace, `'` or `\`.
fn conninfo_value(value: &str) -> String {
    let plain = !value.is_empty()
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c == '\'' || c == '\\');
    if plain {
        return value.to_owned();
    }
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('\'');
    for c in value.chars() {
        if c == '\'' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('\'');
    quoted
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn validate_name(name: &str) -> Result<(), ClusterError> {
    let invalid = |reason| ClusterError::InvalidName {
        name: name.to_owned(),
        reason,
    };
    if name.is_empty() {
        return Err(invalid("it is empty"));
    }
    if name.len() > MAX_IDENTIFIER_BYTES {
        return Err(invalid("it is longer than 63 bytes"));
    }
    if name.contains('\0') {
        return Err(invalid("it contains a NUL byte"));
    }
    Ok(())
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = Bool)]
    exists: bool,
}

fn database_exists(conn: &mut PgConnection, name: &str) -> Result<bool, ClusterError> {
    const SQL: &str = "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists";
    diesel::sql_query(SQL)
        .bind::<Text, _>(name)
        .get_result::<Exists>(conn)
        .map(|row| row.exists)
        .map_err(|e| ClusterError::Sql {
            sql: SQL.to_owned(),
            message: e.to_string(),
        })
}

fn execute(conn: &mut PgConnection, sql: &str) -> Result<(), ClusterError> {
    diesel::sql_query(sql)
        .execute(conn)
        .map(|_| ())
        .map_err(|e| ClusterError::Sql {
            sql: sql.to_owned(),
            message: e.to_string(),
        })
}

/// Drops every `PG*` variable (PGDATA, PGHOST, PGOPTIONS...): the cluster is fully
/// described by arguments.
fn scrub_pg_env(cmd: &mut Command) {
    for (name, _) in std::env::vars_os() {
        if name.as_bytes().starts_with(b"PG") {
            cmd.env_remove(&name);
        }
    }
}

fn run(cmd: &mut Command, program: &Path) -> Result<Output, ClusterError> {
    tracing::debug!(?cmd, "running");
    cmd.output().map_err(io_err("run", program))
}

fn combined_output(output: &Output) -> String {
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    let text = text.trim();
    if text.is_empty() {
        match output.status.signal() {
            Some(signal) => format!("(no output; killed by signal {signal})"),
            None => "(no output)".to_owned(),
        }
    } else {
        text.to_owned()
    }
}

/// The last `n` lines of a file (looking at its last 64 KiB only).
fn tail_lines(path: &Path, n: usize) -> String {
    let read = || -> io::Result<String> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    match read() {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        }
        Err(e) => format!("({} unreadable: {e})", path.display()),
    }
}

fn remove_if_exists(path: &Path) -> Result<(), ClusterError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("remove", path)(e)),
    }
}

enum Postmaster {
    /// No `postmaster.pid`.
    Absent,
    /// `postmaster.pid` names our live postmaster.
    Live(PidFile),
    /// `postmaster.pid` is left over: its pid is gone, a zombie, or someone else now.
    Stale { pid: Option<u32> },
}

/// `postmaster.pid`: pid, data directory, start time, port, socket directory, listen
/// address, shared memory key, status (`starting`, `stopping`, `ready`, `standby`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct PidFile {
    pid: u32,
    port: Option<String>,
    socket_dir: Option<String>,
    state: String,
}

impl PidFile {
    fn parse(text: &str) -> Option<PidFile> {
        let lines: Vec<&str> = text.lines().collect();
        let pid = parse_pid(text)?;
        let line = |i: usize| lines.get(i).map(|l| l.trim().to_owned());
        Some(PidFile {
            pid,
            port: line(3),
            socket_dir: line(4),
            state: line(7).unwrap_or_default(),
        })
    }

    /// PostgreSQL before 10 wrote no status line: treat a live one as ready.
    fn is_ready(&self) -> bool {
        matches!(self.state.as_str(), "ready" | "standby" | "")
    }
}

fn parse_pid(text: &str) -> Option<u32> {
    text.lines()
        .next()?
        .trim()
        .parse()
        .ok()
        .filter(|&pid: &u32| pid > 0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Liveness {
    Dead,
    NotPostgres,
    Alive,
}

/// Whether `pid` is a live postgres process working in `pgdata`. A zombie is dead.
fn liveness(pid: u32, pgdata: &Path) -> Liveness {
    let Ok(raw) = libc::pid_t::try_from(pid) else {
        return Liveness::Dead;
    };
    // SAFETY: signal 0 sends nothing; kill only checks that the process exists.
    if unsafe { libc::kill(raw, 0) } != 0
        && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
    {
        return Liveness::Dead;
    }
    if !Path::new("/proc/self").exists() {
        return Liveness::Alive; // no procfs: kill(2) is all we can know
    }
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    let Ok(stat) = fs::read_to_string(proc_dir.join("stat")) else {
        return Liveness::Dead;
    };
    // "pid (comm) S ...": comm may contain ')', the state follows the last one.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    if matches!(state, Some("Z" | "X" | "x")) {
        return Liveness::Dead;
    }
    let comm = fs::read_to_string(proc_dir.join("comm")).unwrap_or_default();
    if !matches!(comm.trim_end(), "postgres" | "postmaster") {
        return Liveness::NotPostgres;
    }
    // A postmaster's working directory is its PGDATA; unreadable for other users' processes.
    match (
        fs::read_link(proc_dir.join("cwd")),
        fs::canonicalize(pgdata),
    ) {
        (Ok(cwd), Ok(data)) if cwd != data => Liveness::NotPostgres,
        _ => Liveness::Alive,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cluster in its own temp dir under /tmp, stopped on drop even when the test panics.
    struct TestCluster {
        cluster: Cluster,
        // Dropped after `drop` has stopped the server.
        _dir: tempfile::TempDir,
    }

    impl TestCluster {
        fn new() -> TestCluster {
            let dir = temp_dir();
            TestCluster::at(dir, Path::new("data"))
        }

        /// `relative` below a fresh temp dir, every directory traversable by postgres.
        fn at(dir: tempfile::TempDir, relative: &Path) -> TestCluster {
            let data_dir = dir.path().join(relative);
            DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(&data_dir)
                .expect("create data dir");
            let cluster = Cluster::new(&data_dir).expect("locate PostgreSQL");
            TestCluster { cluster, _dir: dir }
        }
    }

    impl Drop for TestCluster {
        fn drop(&mut self) {
            if let Err(e) = self.cluster.stop() {
                eprintln!("stopping the test cluster failed: {e}");
            }
        }
    }

    impl std::ops::Deref for TestCluster {
        type Target = Cluster;
        fn deref(&self) -> &Cluster {
            &self.cluster
        }
    }

    /// A temp dir under /tmp that the postgres user may traverse (tempfile makes it 0700).
    fn temp_dir() -> tempfile::TempDir {
        let dir = tempfile::Builder::new()
            .prefix("hiehub-cluster-")
            .tempdir_in("/tmp")
            .expect("temp dir");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
        dir
    }

    #[derive(QueryableByName)]
    struct Value {
        #[diesel(sql_type = Text)]
        value: String,
    }

    fn query_text(conn: &mut PgConnection, sql: &str) -> String {
        diesel::sql_query(sql)
            .get_result::<Value>(conn)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .value
    }

    fn setting(conn: &mut PgConnection, name: &str) -> String {
        query_text(conn, &format!("SELECT current_setting('{name}') AS value"))
    }

    fn postmaster_pid(cluster: &Cluster) -> u32 {
        let text = fs::read_to_string(cluster.pgdata().join("postmaster.pid")).expect("pid file");
        parse_pid(&text).expect("pid on the first line")
    }

    fn wait_for_status(cluster: &Cluster, want: Status) -> Status {
        let started = Instant::now();
        loop {
            let status = cluster.status();
            if status == want || started.elapsed() > Duration::from_secs(10) {
                return status;
            }
            sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn init_start_ensure_database_connect_stop() {
        let cluster = TestCluster::new();
        assert_eq!(cluster.status(), Status::NotInitialised);
        let mut opts = ClusterOptions::for_tests();
        opts.extra_settings
            .push(("log_line_prefix".into(), "%m [%p] it's hiehub ".into()));
        opts.extra_settings.push(("work_mem".into(), "8MB".into()));

        let t0 = Instant::now();
        assert!(cluster.init_if_needed(&opts).expect("initdb"));
        let t_init = t0.elapsed();
        assert!(!cluster.init_if_needed(&opts).expect("second init"));
        assert_eq!(cluster.status(), Status::Stopped);
        let t1 = Instant::now();
        assert_eq!(cluster.start(&opts).expect("start"), Started::Now);
        let t_start = t1.elapsed();
        let t2 = Instant::now();
        cluster.ensure_database("hiehub").expect("create database");
        let t_db = t2.elapsed();
        cluster.ensure_database("hiehub").expect("idempotent");
        eprintln!(
            "initdb {t_init:?}, start {t_start:?}, CREATE DATABASE {t_db:?}, root {}",
            cluster.root().display()
        );

        let Status::Running { pid } = cluster.status() else {
            panic!("not running: {}", cluster.status());
        };
        assert_eq!(pid, postmaster_pid(&cluster));
        assert!(cluster.socket_dir().join(".s.PGSQL.5432").exists());
        assert_eq!(cluster.socket_dir(), cluster.root().join("run"));

        let mut conn = cluster.connect("hiehub").expect("connect");
        assert_eq!(
            query_text(&mut conn, "SELECT current_database()::text AS value"),
            "hiehub"
        );
        assert_eq!(setting(&mut conn, "listen_addresses"), "");
        assert_eq!(setting(&mut conn, "fsync"), "off");
        assert_eq!(setting(&mut conn, "work_mem"), "8MB");
        assert_eq!(
            setting(&mut conn, "log_line_prefix"),
            "%m [%p] it's hiehub "
        );
        assert_eq!(setting(&mut conn, "server_encoding"), "UTF8");
        assert_eq!(setting(&mut conn, "lc_collate"), "C.UTF-8");
        drop(conn);

        if let Some(run_as) = &cluster.run_as {
            for dir in [cluster.root(), cluster.socket_dir()] {
                let meta = fs::metadata(dir).expect("stat");
                assert_eq!(meta.uid(), run_as.uid, "{} owner", dir.display());
                assert_eq!(meta.mode() & 0o777, 0o700, "{} mode", dir.display());
            }
        }

        cluster.stop().expect("stop");
        assert_eq!(cluster.status(), Status::Stopped);
        assert!(!cluster.pgdata().join("postmaster.pid").exists());
        cluster.stop().expect("stop when stopped");
        assert!(
            matches!(cluster.connect("hiehub"), Err(ClusterError::Connect { .. })),
            "connected to a stopped cluster"
        );
        let log = fs::read_to_string(cluster.log_file()).expect("log");
        assert!(log.contains("database system is shut down"), "{log}");
    }

    #[test]
    fn second_start_reports_already_running() {
        let cluster = TestCluster::new();
        // Server options: fsync stays on.
        let opts = ClusterOptions::server();
        assert_eq!(cluster.start(&opts).expect("start"), Started::Now);
        let pid = postmaster_pid(&cluster);
        assert_eq!(
            cluster.start(&opts).expect("start again"),
            Started::AlreadyRunning
        );

        // Another process (here: another handle) sees the same postmaster.
        let other = Cluster::new(&cluster.root().join("..")).expect("second handle");
        assert_eq!(other.socket_dir(), cluster.socket_dir());
        assert_eq!(other.status(), Status::Running { pid });
        assert_eq!(
            other.start(&opts).expect("start from other"),
            Started::AlreadyRunning
        );
        assert_eq!(postmaster_pid(&cluster), pid);

        let mut conn = cluster.connect("postgres").expect("connect");
        assert_eq!(setting(&mut conn, "fsync"), "on");
    }

    #[test]
    fn kill_9_then_status_is_stopped_and_start_recovers() {
        let cluster = TestCluster::new();
        let opts = ClusterOptions::for_tests();
        assert_eq!(cluster.start(&opts).expect("start"), Started::Now);
        cluster.ensure_database("kept").expect("create database");
        {
            let mut conn = cluster.connect("kept").expect("connect");
            // Test mode runs with synchronous_commit=off: a commit returns before its WAL
            // leaves shared memory, so a SIGKILLed postmaster loses the last ~0.6 s of them.
            // Ask for a synchronous commit where the test needs it to survive.
            execute(&mut conn, "SET synchronous_commit = on").expect("set");
            execute(&mut conn, "CREATE TABLE t (v text)").expect("create table");
            execute(&mut conn, "INSERT INTO t VALUES ('before the crash')").expect("insert");
        }
        let pid = postmaster_pid(&cluster);
        // SAFETY: sends SIGKILL to the postmaster this test started.
        let rc = unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        assert_eq!(rc, 0, "kill -9 {pid}: {}", io::Error::last_os_error());

        assert_eq!(wait_for_status(&cluster, Status::Stopped), Status::Stopped);
        let zombie = fs::read_to_string(format!("/proc/{pid}/stat")).is_ok();
        eprintln!(
            "after kill -9: postmaster {pid} is {}",
            if zombie { "a zombie" } else { "reaped" }
        );
        assert!(
            cluster.pgdata().join("postmaster.pid").exists(),
            "PostgreSQL left no stale pid file: the test does not test recovery"
        );
        assert_eq!(
            cluster.start(&opts).expect("restart after kill -9"),
            Started::Now
        );
        assert_ne!(postmaster_pid(&cluster), pid);

        let mut conn = cluster.connect("kept").expect("the database survived");
        assert_eq!(
            query_text(&mut conn, "SELECT v AS value FROM t"),
            "before the crash"
        );
    }

    #[test]
    fn hiehub_killed_postmaster_alive_means_already_running() {
        let cluster = TestCluster::new();
        let opts = ClusterOptions::for_tests();
        assert_eq!(cluster.start(&opts).expect("start"), Started::Now);
        let pid = postmaster_pid(&cluster);
        // A new hiehub (new handle, nothing in memory) finds the orphan and leaves it alone.
        let restarted = Cluster::new(&cluster.root().join("..")).expect("handle");
        assert_eq!(
            restarted.start(&opts).expect("start"),
            Started::AlreadyRunning
        );
        assert_eq!(restarted.status(), Status::Running { pid });
        restarted.ensure_database("still_serving").expect("usable");
    }

    #[test]
    fn stale_pid_file_of_another_process_is_removed() {
        let cluster = TestCluster::new();
        let opts = ClusterOptions::for_tests();
        cluster.start(&opts).expect("start");
        cluster.stop().expect("stop");
        let pid_path = cluster.pgdata().join("postmaster.pid");

        // A live process that is not a postgres: this test itself (a reused pid).
        let me = std::process::id();
        fs::write(
            &pid_path,
            format!(
                "{me}\n{}\n0\n5432\n\n\n0 0\nready   \n",
                cluster.pgdata().display()
            ),
        )
        .expect("write fake pid file");
        assert_eq!(cluster.status(), Status::Stopped);
        assert_eq!(
            cluster.start(&opts).expect("start over a reused pid"),
            Started::Now
        );
        assert_ne!(postmaster_pid(&cluster), me);
        cluster.stop().expect("stop");

        // A garbled file.
        fs::write(&pid_path, "").expect("write empty pid file");
        assert_eq!(cluster.status(), Status::Stopped);
        assert_eq!(
            cluster.start(&opts).expect("start over a garbled pid file"),
            Started::Now
        );
    }

    #[test]
    fn create_database_from_template_copies_contents() {
        let cluster = TestCluster::new();
        cluster.start(&ClusterOptions::for_tests()).expect("start");
        cluster
            .ensure_database("template_hiehub")
            .expect("template");
        {
            let mut conn = cluster.connect("template_hiehub").expect("connect");
            execute(&mut conn, "CREATE TABLE seeded (v text)").expect("create");
            execute(&mut conn, "INSERT INTO seeded VALUES ('from the template')").expect("insert");
        }
        let t = Instant::now();
        cluster
            .create_database_from_template("test_1", "template_hiehub")
            .expect("copy");
        eprintln!("CREATE DATABASE ... TEMPLATE: {:?}", t.elapsed());
        cluster
            .create_database_from_template("test \"2\"", "template_hiehub")
            .expect("copy with a name that needs quoting");
        for db in ["test_1", "test \"2\""] {
            let mut conn = cluster.connect(db).expect("connect to copy");
            assert_eq!(
                query_text(&mut conn, "SELECT v AS value FROM seeded"),
                "from the template"
            );
        }
        let again = cluster.create_database_from_template("test_1", "template_hiehub");
        assert!(
            matches!(again, Err(ClusterError::Sql { ref message, .. }) if message.contains("already exists")),
            "{again:?}"
        );
        let missing = cluster.create_database_from_template("test_3", "no_such_template");
        assert!(
            matches!(missing, Err(ClusterError::Sql { .. })),
            "{missing:?}"
        );

        cluster.drop_database("test_1").expect("drop");
        cluster.drop_database("test_1").expect("drop twice");
        assert!(matches!(
            cluster.connect("test_1"),
            Err(ClusterError::Connect { .. })
        ));
    }

    #[test]
    fn missing_binaries_say_what_to_install() {
        let dir = temp_dir();
        let err = Cluster::with_search_path(dir.path(), &[]).expect_err("no search path");
        assert!(
            matches!(err, ClusterError::BinariesMissing { .. }),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(text.contains("apt-get install -y postgresql"), "{text}");
        assert!(text.contains("database_url"), "{text}");

        // A directory with an initdb but no pg_ctl or postgres is not enough.
        let fake = dir.path().join("bin");
        fs::create_dir(&fake).expect("mkdir");
        let initdb = fake.join("initdb");
        fs::write(&initdb, "#!/bin/sh\n").expect("write");
        fs::set_permissions(&initdb, fs::Permissions::from_mode(0o755)).expect("chmod");
        let err = Cluster::with_search_path(dir.path(), std::slice::from_ref(&fake))
            .expect_err("incomplete");
        assert!(
            err.to_string().contains(&fake.display().to_string()),
            "{err}"
        );

        // The default search path finds this machine's binaries, following symlinks.
        let found = find_bin_dir(&default_search_path()).expect("PostgreSQL on this machine");
        assert!(found.join("psql").is_file(), "{}", found.display());
    }

    #[test]
    fn long_data_dir_falls_back_to_a_short_socket_dir() {
        let segment = "a directory name with spaces, and a comma";
        let relative: PathBuf = [segment, segment, segment, "data"].iter().collect();
        let cluster = TestCluster::at(temp_dir(), &relative);
        assert!(socket_path_len(&cluster.root().join("run")) > SOCKET_PATH_MAX);
        let socket_dir = cluster.socket_dir().to_path_buf();
        assert!(socket_dir.starts_with("/tmp"), "{}", socket_dir.display());
        assert!(socket_path_len(&socket_dir) <= SOCKET_PATH_MAX);
        assert!(
            socket_dir.to_string_lossy().starts_with("/tmp/hiehub-pg-"),
            "{}",
            socket_dir.display()
        );

        assert_eq!(
            cluster.start(&ClusterOptions::for_tests()).expect("start"),
            Started::Now
        );
        let meta = fs::symlink_metadata(&socket_dir).expect("socket dir");
        assert_eq!(meta.mode() & 0o777, 0o700);
        let expected_owner = cluster
            .run_as
            .as_ref()
            .map_or_else(effective_uid, |r| r.uid);
        assert_eq!(meta.uid(), expected_owner);
        assert!(socket_dir.join(".s.PGSQL.5432").exists());
        assert!(
            cluster
                .conninfo("x")
                .contains(&*socket_dir.to_string_lossy())
        );
        cluster
            .ensure_database("long")
            .expect("connect through the short socket");

        // The same root always maps to the same socket directory.
        let again = Cluster::new(&cluster.root().join("..")).expect("handle");
        assert_eq!(again.socket_dir(), socket_dir);
        assert_eq!(again.status(), cluster.status());
        // postmaster.pid names the socket directory unquoted: the same one.
        assert_eq!(
            again
                .start(&ClusterOptions::for_tests())
                .expect("start again"),
            Started::AlreadyRunning
        );

        cluster.stop().expect("stop");
        assert!(
            !socket_dir.exists(),
            "empty fallback socket dir left behind"
        );
    }

    #[test]
    fn socket_dir_owned_by_someone_else_is_refused() {
        let dir = temp_dir();
        let segment = "x".repeat(60);
        let data_dir = dir.path().join(&segment).join(&segment);
        let cluster =
            Cluster::build(&data_dir, PathBuf::from("/nonexistent"), None).expect("build");
        assert!(cluster.socket_fallback);
        // Plant a symlink where the socket dir goes.
        std::os::unix::fs::symlink(dir.path(), cluster.socket_dir()).expect("symlink");
        let result = cluster.ensure_fallback_socket_dir();
        let _ = fs::remove_file(cluster.socket_dir());
        assert!(
            matches!(result, Err(ClusterError::UnsafeSocketDir { .. })),
            "{result:?}"
        );

        // A directory of another user (only root can plant one for the test).
        if effective_uid() == 0 {
            fs::create_dir(cluster.socket_dir()).expect("mkdir");
            std::os::unix::fs::chown(cluster.socket_dir(), Some(65534), Some(65534))
                .expect("chown nobody");
            let result = cluster.ensure_fallback_socket_dir();
            let _ = fs::remove_dir(cluster.socket_dir());
            match result {
                Err(ClusterError::UnsafeSocketDir { reason, .. }) => {
                    assert!(reason.contains("uid 65534"), "{reason}")
                }
                other => panic!("expected UnsafeSocketDir, got {other:?}"),
            }
        }
    }

    #[test]
    fn unreachable_data_dir_is_reported_before_initdb() {
        let dir = tempfile::Builder::new()
            .prefix("hiehub-cluster-")
            .tempdir_in("/tmp")
            .expect("temp dir");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).expect("chmod");
        let data_dir = dir.path().join("data");
        let cluster = Cluster::new(&data_dir).expect("locate");
        let result = cluster.init_if_needed(&ClusterOptions::for_tests());
        if cluster.run_as.is_some() {
            match result {
                Err(ClusterError::PathNotReachable {
                    ref path,
                    ref user,
                    mode,
                    ..
                }) => {
                    assert_eq!(path, dir.path());
                    assert_eq!(user, "postgres");
                    assert_eq!(mode, 0o700);
                    let text = result.as_ref().expect_err("error").to_string();
                    assert!(text.contains("chmod o+x"), "{text}");
                }
                other => panic!("expected PathNotReachable, got {other:?}"),
            }
            assert!(!cluster.pgdata().exists(), "initdb ran anyway");
        } else {
            // Not root: the directory is ours, nothing to traverse for anybody else.
            assert!(result.expect("initdb as the current user"));
        }
    }

    #[test]
    fn root_needs_an_unprivileged_user() {
        let err = run_as_for(0, "hiehub-no-such-user").expect_err("unknown user");
        assert!(
            matches!(err, ClusterError::NoUnprivilegedUser { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("useradd"), "{err}");
        assert!(matches!(
            run_as_for(0, "root"),
            Err(ClusterError::NoUnprivilegedUser { .. })
        ));
        assert_eq!(
            run_as_for(1000, "hiehub-no-such-user").expect("not root"),
            None
        );
        let postgres = run_as_for(0, "postgres")
            .expect("postgres exists here")
            .expect("root");
        assert_ne!(postgres.uid, 0);
    }

    #[test]
    fn quoting() {
        assert_eq!(conninfo_value("/tmp/x"), "/tmp/x");
        assert_eq!(conninfo_value("a b"), "'a b'");
        assert_eq!(conninfo_value(r"it's a\b"), r"'it\'s a\\b'");
        assert_eq!(conninfo_value(""), "''");
        assert_eq!(quote_ident(r#"a"b"#), r#""a""b""#);
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert!(matches!(
            validate_name(""),
            Err(ClusterError::InvalidName { .. })
        ));
        assert!(matches!(
            validate_name(&"x".repeat(64)),
            Err(ClusterError::InvalidName { .. })
        ));
        assert!(validate_name(&"x".repeat(63)).is_ok());

        let cluster = Cluster::build(
            Path::new("/tmp/my data"),
            PathBuf::from("/nonexistent"),
            None,
        )
        .expect("build");
        assert_eq!(
            cluster.conninfo("app db"),
            "host='/tmp/my data/pg/run' port=5432 user=postgres dbname='app db'"
        );
        let opts = ClusterOptions::for_tests();
        assert_eq!(
            server_options(cluster.socket_dir(), &opts),
            r#"'-k' '"/tmp/my data/pg/run"' '-p' '5432' '-c' 'listen_addresses=' '-c' 'fsync=off' '-c' 'synchronous_commit=off' '-c' 'full_page_writes=off'"#
        );
        let comma = Cluster::build(Path::new("/tmp/a,b"), PathBuf::new(), None).expect("build");
        assert!(comma.socket_fallback, "{}", comma.socket_dir().display());
        assert!(matches!(
            Cluster::build(Path::new("/tmp/a$b"), PathBuf::new(), None),
            Err(ClusterError::UnsupportedPath { .. })
        ));
    }

    #[test]
    fn pid_file_parsing() {
        let text = "4242\n/x/data\n1795387879\n5432\n/x/run\n\n  10010942         4\nready   \n";
        let pid_file = PidFile::parse(text).expect("parse");
        assert_eq!(pid_file.pid, 4242);
        assert_eq!(pid_file.port.as_deref(), Some("5432"));
        assert_eq!(pid_file.socket_dir.as_deref(), Some("/x/run"));
        assert!(pid_file.is_ready());
        assert!(
            !PidFile::parse("4242\n/x\n0\n5432\n/x/run\n\n0 0\nstarting\n")
                .expect("p")
                .is_ready()
        );
        assert_eq!(PidFile::parse(""), None);
        assert_eq!(PidFile::parse("0\n"), None);
        assert_eq!(PidFile::parse("abc\n"), None);
        assert_eq!(liveness(u32::MAX, Path::new("/")), Liveness::Dead);
    }

    #[test]
    fn a_zombie_is_dead() {
        // Our own child, exited but not reaped: kill(pid, 0) still succeeds. This is what a
        // SIGKILLed postmaster looks like until PID 1 reaps it (never, in some containers).
        let mut child = Command::new("true").spawn().expect("spawn true");
        let pid = child.id();
        let started = Instant::now();
        let state = || {
            fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    s.rsplit_once(')')
                        .map(|(_, rest)| rest.trim_start().starts_with('Z'))
                })
        };
        while state() != Some(true) && started.elapsed() < Duration::from_secs(10) {
            sleep(Duration::from_millis(5));
        }
        // SAFETY: signal 0 only checks that our unreaped child exists.
        let exists = unsafe { libc::kill(pid as libc::pid_t, 0) } == 0;
        let seen = liveness(pid, Path::new("/"));
        child.wait().expect("reap");
        assert_eq!(state(), None, "reaped");
        assert!(exists, "kill(zombie, 0) should succeed");
        assert_eq!(seen, Liveness::Dead);
    }

    #[test]
    fn versions_sort_highest_first() {
        let dir = temp_dir();
        for v in ["9.6", "13", "15", "notaversion"] {
            fs::create_dir_all(dir.path().join(v).join("bin")).expect("mkdir");
        }
        let dirs = versioned_bin_dirs(dir.path());
        let names: Vec<String> = dirs
            .iter()
            .map(|d| {
                d.parent()
                    .and_then(Path::file_name)
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(names, ["15", "13", "9.6"]);
    }
}
