//! Configuration: defaults, then `hiehub.toml`, then `HIEHUB_*` environment variables, then
//! command-line flags — each later source overrides the earlier ones, key by key.
//!
//! Every key is listed in [`KEYS`] with its documentation; `hiehub serve --print-config` prints
//! the effective configuration with those comments, and the README's reference table is the same
//! list. A test checks that every field of [`Config`] is documented.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub data_dir: PathBuf,
    pub dev: bool,
    pub http_addr: String,
    pub https_addr: String,
    pub tls_cert_file: String,
    pub tls_key_file: String,
    pub tls_client_ca_file: String,
    pub database_url: String,
    pub db_pool_size: u32,
    pub affinity_domain: String,
    pub syslog_tls_addr: String,
    pub syslog_udp_addr: String,
    pub max_body_bytes: u64,
    pub max_xml_depth: u32,
    pub max_xml_elements: u32,
    /// ITI-18: the most objects one query answer carries (`xds::iti18::max_results`).
    pub max_query_results: u32,
    pub audit_batch_max: u32,
    pub audit_queue: u32,
    pub ledger_origin: String,
    pub checkpoint_every: u32,
    pub checkpoint_interval_secs: u32,
    pub workers: u32,
    pub log_format: String,
    pub log_level: String,
    /// Cross-anchoring (issue #8): the peer hubs this hub witnesses and asks to witness it.
    pub peers: Vec<PeerConfig>,
    pub witness_interval_secs: u32,
    pub anchor_quorum: u32,
    pub witness_name: String,
    pub peer_tls_cert_file: String,
    pub peer_tls_key_file: String,
    /// MPI (issue 5): the assigning authority of the enterprise ids hiehub assigns.
    pub mpi_enterprise_authority: String,
    pub mpi_probabilistic: bool,
    pub mpi_link_upper: u32,
    pub mpi_link_lower: u32,
    pub pix_consumers: String,
    pub mpi_national_id_roots: String,
    /// Patient consent enforcement (issue 6); `false` only in dev mode (benchmarks).
    pub consent_enforcement: bool,
    /// Patients whose consents are kept in memory (0: none).
    pub consent_cache_patients: usize,
    /// ITI-47 answers leave out persons whose consent denies the requester.
    pub consent_pdq_filter: bool,
    /// XUA: PEM file of trusted identity-provider certificates; empty: WS-Security not processed.
    pub xua_trusted_certs: String,
    /// HL7 v2 MLLP listener (ITI-8, ITI-9); empty: off.
    pub mllp_addr: String,
    pub dicom_addr: String,
    pub dicom_ae_title: String,
    pub max_stow_bytes: u64,
    /// Audit coalescing of image reads (`imaging::audit_window`); 0 = one event per read.
    pub imaging_audit_window_secs: u32,
}

/// One `[[peers]]` table: a peer hub this hub witnesses and pushes its checkpoints to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// A short name for logs, metrics and pages, e.g. `hub-b`.
    pub name: String,
    /// Base URL of the peer (HTTPS with mutual TLS), e.g. `https://hub-b.example.org:8443`.
    pub url: String,
    /// The peer's checkpoint (log) verifier key, a C2SP vkey (its `/ledger/vkey`).
    pub vkey: String,
    /// The peer's witness (cosignature) verifier key, a C2SP vkey (its `/ledger/witness-vkey`).
    pub witness_vkey: String,
    /// Log keys the peer used before a rotation: still accepted for checkpoints already stored.
    #[serde(default)]
    pub old_vkeys: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./data"),
            dev: false,
            http_addr: String::new(),
            https_addr: String::new(),
            tls_cert_file: String::new(),
            tls_key_file: String::new(),
            tls_client_ca_file: String::new(),
            database_url: String::new(),
            db_pool_size: 16,
            affinity_domain: "connectathon".into(),
            syslog_tls_addr: String::new(),
            syslog_udp_addr: String::new(),
            max_body_bytes: 64 * 1024 * 1024,
            max_xml_depth: 128,
            max_xml_elements: 1_000_000,
            max_query_results: crate::xds::iti18::DEFAULT_MAX_RESULTS,
            audit_batch_max: 512,
            audit_queue: 8192,
            ledger_origin: String::new(),
            checkpoint_every: 1000,
            checkpoint_interval_secs: 10,
            workers: 0,
            log_format: "text".into(),
            log_level: "info".into(),
            peers: Vec::new(),
            witness_interval_secs: 10,
            anchor_quorum: 1,
            witness_name: String::new(),
            peer_tls_cert_file: String::new(),
            peer_tls_key_file: String::new(),
            mpi_enterprise_authority: "2.25.178311688111297260283467408422902523674".into(),
            mpi_probabilistic: true,
            mpi_link_upper: 92,
            mpi_link_lower: 75,
            pix_consumers: String::new(),
            mpi_national_id_roots: crate::mpi::national_id::DEFAULT_ROOTS.into(),
            consent_enforcement: true,
            consent_cache_patients: 100_000,
            consent_pdq_filter: false,
            xua_trusted_certs: String::new(),
            mllp_addr: String::new(),
            dicom_addr: String::new(),
            dicom_ae_title: "HIEHUB".into(),
            max_stow_bytes: 4 * 1024 * 1024 * 1024,
            imaging_audit_window_secs: 60,
        }
    }
}

/// Every configuration key: name, documentation. Environment variable = `HIEHUB_` + upper case.
pub const KEYS: &[(&str, &str)] = &[
    (
        "data_dir",
        "Directory for the embedded PostgreSQL cluster (<data_dir>/pg), development certificates (<data_dir>/certs) and blobs.",
    ),
    (
        "dev",
        "Development mode: plain HTTP allowed on loopback, development certificates made on first start.",
    ),
    (
        "http_addr",
        "Plain HTTP listener. Only allowed in dev mode and only on a loopback address. Empty: 127.0.0.1:8080 in dev mode, none otherwise.",
    ),
    (
        "https_addr",
        "HTTPS listener with mutual TLS (IHE ATNA ITI-19). Required outside dev mode. Empty: none.",
    ),
    (
        "tls_cert_file",
        "Server certificate chain (PEM). Empty in dev mode: <data_dir>/certs/server.pem.",
    ),
    (
        "tls_key_file",
        "Server private key (PEM). Empty in dev mode: <data_dir>/certs/server.key.",
    ),
    (
        "tls_client_ca_file",
        "CA bundle (PEM) that client certificates must chain to. Empty in dev mode: <data_dir>/certs/ca.pem.",
    ),
    (
        "database_url",
        "PostgreSQL connection (URL or libpq key=value string). Empty: the embedded cluster under <data_dir>/pg.",
    ),
    (
        "db_pool_size",
        "Database connections in the request pool (blocking work runs on at most this many threads at once).",
    ),
    (
        "affinity_domain",
        "Affinity domain: the name of one built into the binary from profiles/ (connectathon, kr-hie), or the path (anything with a /) of an operator's own folder in the same format (profiles/README.md): code sets, assigning authorities, consent policies, rule severities.",
    ),
    (
        "syslog_tls_addr",
        "ATNA syslog over TLS (RFC 5425) listener, e.g. 0.0.0.0:6514. Empty: off.",
    ),
    (
        "syslog_udp_addr",
        "ATNA syslog over UDP (RFC 5426) listener, e.g. 0.0.0.0:5514. Empty: off.",
    ),
    (
        "max_body_bytes",
        "Largest HTTP request body accepted (bytes); larger declared or streamed bodies get a SOAP fault.",
    ),
    ("max_xml_depth", "Deepest element nesting accepted in XML."),
    (
        "max_xml_elements",
        "Most elements accepted in one XML document.",
    ),
    (
        "audit_batch_max",
        "Most audit events committed in one group commit.",
    ),
    (
        "audit_queue",
        "Audit events waiting for commit before new requests wait (backpressure).",
    ),
    (
        "ledger_origin",
        "Origin line of this hub's signed checkpoints (C2SP tlog-checkpoint). Empty: <hostname>/atna-ledger/sha3-256/v1.",
    ),
    (
        "checkpoint_every",
        "Sign a ledger checkpoint after this many new entries.",
    ),
    (
        "checkpoint_interval_secs",
        "...or this many seconds after the last checkpoint, when the ledger has grown.",
    ),
    (
        "max_query_results",
        "ITI-18 Registry Stored Query: the most objects one answer carries; more is XDSTooManyResults.",
    ),
    ("workers", "HTTP worker threads; 0 = one per core."),
    ("log_format", "Log format: text or json."),
    (
        "log_level",
        "Log filter (tracing EnvFilter syntax, e.g. info or hiehub=debug). RUST_LOG overrides it.",
    ),
    (
        "peers",
        "Peer hubs for cross-anchoring, as [[peers]] tables: name, url (HTTPS, mutual TLS), vkey (the peer's checkpoint key, C2SP vkey), witness_vkey (its cosignature key), old_vkeys (keys before a rotation, for stored checkpoints). Empty: no witnessing.",
    ),
    (
        "witness_interval_secs",
        "Push this hub's latest checkpoint (with a consistency proof) to every peer this often.",
    ),
    (
        "anchor_quorum",
        "k: an entry is anchored once a checkpoint covering it is cosigned by at least this many peers.",
    ),
    (
        "witness_name",
        "Key name of this hub's witness cosignatures (C2SP tlog-cosignature). Empty: <first part of the origin>/witness. The witness key is <data_dir>/ledger/witness-key.pem, generated on first start.",
    ),
    (
        "peer_tls_cert_file",
        "Client certificate (PEM) this hub presents to peers. Empty in dev mode: <data_dir>/certs/client.pem. Peers' server certificates are checked against tls_client_ca_file.",
    ),
    (
        "peer_tls_key_file",
        "Private key (PEM) of peer_tls_cert_file. Empty in dev mode: <data_dir>/certs/client.key.",
    ),
    (
        "mpi_enterprise_authority",
        "MPI: the assigning-authority OID of the enterprise (regional) patient ids hiehub assigns; also its HL7v3 device id. Ids of this authority are never accepted in a feed.",
    ),
    (
        "mpi_probabilistic",
        "MPI: link new records to persons on demographics (name incl. Hangul/romanised, birth date, gender, phone, address) when no identifier is shared.",
    ),
    (
        "mpi_link_upper",
        "MPI: score (percent) at or above which a new record is linked to the best candidate person.",
    ),
    (
        "mpi_link_lower",
        "MPI: score (percent) at or above which (and below mpi_link_upper) a new record gets a new person and a review-queue entry.",
    ),
    (
        "pix_consumers",
        "ITI-46: comma-separated endpoint URLs (http://host:port/path) of PIX Consumers notified when a cross-reference changes.",
    ),
    (
        "mpi_national_id_roots",
        "MPI: comma-separated roots of national identifiers (Korean RRN 1.2.410.100.100.10.1): accepted only as asOtherIDs, stored sealed (AES-256-GCM) with a keyed-hash index, shown masked, never patient ids.",
    ),
    (
        "consent_enforcement",
        "Patient consent (BPPC) enforcement on every ITI-18 result and ITI-43 retrieve. false is refused outside dev mode: it exists to measure enforcement overhead.",
    ),
    (
        "consent_cache_patients",
        "Patient consent: how many patients' consents are kept in memory between requests (dropped when a change commits, by PostgreSQL notification). 0 reads them from the database for every decision.",
    ),
    (
        "consent_pdq_filter",
        "Patient consent on PDQ (ITI-47): true leaves out of every answer (before counting and paging) the persons whose consent in force denies the requester, each denial audited. false (default) answers demographics to every authenticated node, as IHE PDQ does: a hospital must find the regional patient id to register the patient's consent at all.",
    ),
    (
        "xua_trusted_certs",
        "XUA (ITI-40): PEM file of the identity providers' signing certificates (or their CAs). Set: wsse:Security is processed, every SAML assertion must carry a valid enveloped XML signature by one of them and be inside its validity window, else the request gets a wsse:FailedCheck / wsse:InvalidSecurity fault and a security alert. Empty: wsse:Security is not processed (mustUnderstand gets a MustUnderstand fault; otherwise its attributes are read as unverified claims).",
    ),
    (
        "mllp_addr",
        "HL7 v2.5 over MLLP (ITI-8 ADT^A01/A04/A05/A08/A40 feeds, ITI-9 QBP^Q23 PIX and ITI-21 QBP^Q22 PDQ queries), e.g. 0.0.0.0:2575. Empty: off.",
    ),
    (
        "dicom_addr",
        "DICOM listener (C-STORE SCP and C-ECHO, PS3.8 upper layer), e.g. 0.0.0.0:11112. Empty: off.",
    ),
    (
        "dicom_ae_title",
        "This hub's DICOM AE title: associations called to another AE title are rejected; also the Retrieve AE Title in answers.",
    ),
    (
        "max_stow_bytes",
        "Largest STOW-RS request body accepted (bytes); larger ones get 413.",
    ),
    (
        "imaging_audit_window_secs",
        "Image reads (WADO-RS frames/rendered/thumbnails, WADO-URI images, viewer pixels): the first successful read of a study by a requester through a transaction writes its audit event durably before answering and opens a window of this many seconds in which further such reads are answered without a new event; a summary event counting them is written when the window ends. Refusals are always audited one by one. 0 = one event per read.",
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("configuration file {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("configuration: {0}")]
    Invalid(String),
}

/// Where the configuration file is looked for when none is named.
pub const DEFAULT_FILE: &str = "hiehub.toml";

impl Config {
    /// Loads defaults ← file ← environment ← `flags` (a table of keys set on the command line).
    /// `file`: an explicit path (must exist), or None to use `./hiehub.toml` when present.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        flags: toml::Table,
    ) -> Result<Config, ConfigError> {
        let defaults = toml::Table::try_from(Config::default())
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        let mut merged = defaults.clone();

        let file = match file {
            Some(p) => Some(p.to_path_buf()),
            None => Some(PathBuf::from(DEFAULT_FILE)).filter(|p| p.exists()),
        };
        if let Some(path) = file {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            let table: toml::Table =
                text.parse()
                    .map_err(|e: toml::de::Error| ConfigError::File {
                        path: path.clone(),
                        message: e.to_string(),
                    })?;
            for (k, v) in table {
                if !defaults.contains_key(&k) {
                    return Err(ConfigError::File {
                        path,
                        message: format!("unknown key '{k}' (see `hiehub serve --print-config`)"),
                    });
                }
                merged.insert(k, v);
            }
        }

        for (var, raw) in env {
            let Some(key) = var.strip_prefix("HIEHUB_") else {
                continue;
            };
            let key = key.to_ascii_lowercase();
            if key == "config" {
                continue;
            }
            let Some(default) = defaults.get(&key) else {
                return Err(ConfigError::Env {
                    var,
                    message: "not a hiehub configuration key".into(),
                });
            };
            let value = coerce(default, &raw).map_err(|message| ConfigError::Env {
                var: var.clone(),
                message,
            })?;
            merged.insert(key, value);
        }

        for (k, v) in flags {
            merged.insert(k, v);
        }

        let config: Config = merged
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.to_string()))?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(ConfigError::Invalid(format!(
                "log_format must be text or json, not '{}'",
                self.log_format
            )));
        }
        crate::anchor::peers_of(self).map_err(|e| ConfigError::Invalid(format!("peers: {e}")))?;
        if !self.consent_enforcement && !self.dev {
            return Err(ConfigError::Invalid(
                "consent_enforcement = false is only allowed in dev mode".into(),
            ));
        }
        if self.db_pool_size == 0 {
            return Err(ConfigError::Invalid(
                "db_pool_size must be at least 1".into(),
            ));
        }
        for (key, value) in [
            ("http_addr", &self.http_addr),
            ("https_addr", &self.https_addr),
            ("syslog_tls_addr", &self.syslog_tls_addr),
            ("syslog_udp_addr", &self.syslog_udp_addr),
            ("dicom_addr", &self.dicom_addr),
        ] {
            if !value.is_empty() && value.parse::<SocketAddr>().is_err() {
                return Err(ConfigError::Invalid(format!(
                    "{key} '{value}' is not an address of the form IP:PORT"
                )));
            }
        }
        Ok(())
    }

    /// The plain HTTP address to listen on, after the dev-mode default and the loopback rule.
    pub fn http_listener(&self) -> Result<Option<SocketAddr>, ConfigError> {
        let addr = if self.http_addr.is_empty() {
            if self.dev {
                "127.0.0.1:8080"
            } else {
                return Ok(None);
            }
        } else {
            self.http_addr.as_str()
        };
        let addr: SocketAddr = addr
            .parse()
            .map_err(|_| ConfigError::Invalid(format!("http_addr '{addr}' is not IP:PORT")))?;
        if !self.dev {
            return Err(ConfigError::Invalid(
                "plain HTTP (http_addr) is only allowed in dev mode; use https_addr with client certificates".into(),
            ));
        }
        if !addr.ip().is_loopback() {
            return Err(ConfigError::Invalid(format!(
                "plain HTTP may only listen on a loopback address, not {addr}; use https_addr for the network"
            )));
        }
        Ok(Some(addr))
    }

    pub fn https_listener(&self) -> Result<Option<SocketAddr>, ConfigError> {
        if self.https_addr.is_empty() {
            if self.dev {
                return Ok(None);
            }
            return Err(ConfigError::Invalid(
                "outside dev mode hiehub refuses to start without TLS: set https_addr (and tls_cert_file, tls_key_file, tls_client_ca_file)".into(),
            ));
        }
        self.https_addr.parse().map(Some).map_err(|_| {
            ConfigError::Invalid(format!("https_addr '{}' is not IP:PORT", self.https_addr))
        })
    }

    /// The checkpoint origin: configured, or derived from the host name.
    pub fn origin(&self) -> String {
        if !self.ledger_origin.is_empty() {
            return self.ledger_origin.clone();
        }
        let host = hostname().unwrap_or_else(|| "localhost".into());
        format!("{host}/atna-ledger/sha3-256/v1")
    }

    /// The ledger's Ed25519 log key (generated on first start, mode 0600).
    pub fn ledger_key_path(&self) -> PathBuf {
        self.data_dir.join("ledger").join("log-key.pem")
    }

    pub fn sink_config(&self) -> crate::audit::SinkConfig {
        crate::audit::SinkConfig {
            batch_max: self.audit_batch_max.max(1) as usize,
            queue: self.audit_queue.max(1) as usize,
            ledger: crate::audit::LedgerConfig {
                origin: self.origin(),
                key_path: self.ledger_key_path(),
                checkpoint_every: u64::from(self.checkpoint_every.max(1)),
                checkpoint_interval: std::time::Duration::from_secs(u64::from(
                    self.checkpoint_interval_secs.max(1),
                )),
            },
        }
    }

    /// The witness's Ed25519 cosigning key (separate from the log key; generated on first start).
    pub fn witness_key_path(&self) -> PathBuf {
        self.data_dir.join("ledger").join("witness-key.pem")
    }

    /// The key name of this hub's cosignatures: configured, or derived from the origin.
    pub fn witness_key_name(&self) -> String {
        if !self.witness_name.is_empty() {
            return self.witness_name.clone();
        }
        let origin = self.origin();
        let host = origin.split('/').next().unwrap_or("hiehub");
        format!("{host}/witness")
    }

    pub fn certs_dir(&self) -> PathBuf {
        self.data_dir.join("certs")
    }

    /// The effective configuration as commented TOML.
    pub fn to_commented_toml(&self) -> String {
        let table = toml::Table::try_from(self).unwrap_or_default();
        let defaults = toml::Table::try_from(Config::default()).unwrap_or_default();
        let mut out = String::from(
            "# hiehub effective configuration (defaults <- hiehub.toml <- HIEHUB_* <- flags)\n",
        );
        for (key, doc) in KEYS {
            let value = table.get(*key).map(|v| v.to_string()).unwrap_or_default();
            let default = defaults
                .get(*key)
                .map(|v| v.to_string())
                .unwrap_or_default();
            out.push_str(&format!(
                "\n# {doc}\n# env: HIEHUB_{}  default: {default}\n{key} = {value}\n",
                key.to_ascii_uppercase()
            ));
        }
        out
    }
}

/// This machine's host name, if the kernel tells it.
pub fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
}

/// Parses an environment string into the type of the key's default value.
fn coerce(default: &toml::Value, raw: &str) -> Result<toml::Value, String> {
    match default {
        toml::Value::String(_) => Ok(toml::Value::String(raw.to_owned())),
        toml::Value::Boolean(_) => match raw.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(toml::Value::Boolean(true)),
            "0" | "false" | "no" | "off" | "" => Ok(toml::Value::Boolean(false)),
            other => Err(format!("'{other}' is not a boolean (true/false)")),
        },
        toml::Value::Integer(_) => raw
            .trim()
            .parse::<i64>()
            .map(toml::Value::Integer)
            .map_err(|_| format!("'{raw}' is not an integer")),
        other => Err(format!("unsupported type {}", other.type_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(pairs: &[(&str, toml::Value)]) -> toml::Table {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn every_key_is_documented_and_only_once() {
        let table = toml::Table::try_from(Config::default()).unwrap();
        let documented: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
        for key in table.keys() {
            assert!(
                documented.contains(&key.as_str()),
                "{key} has no documentation"
            );
        }
        assert_eq!(documented.len(), table.len());
    }

    #[test]
    fn precedence_is_file_then_env_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hiehub.toml");
        std::fs::write(
            &file,
            "affinity_domain = \"from-file\"\ndb_pool_size = 3\nworkers = 2\ndev = true\n",
        )
        .unwrap();
        let env = vec![
            ("HIEHUB_DB_POOL_SIZE".to_string(), "5".to_string()),
            ("HIEHUB_WORKERS".to_string(), "4".to_string()),
            ("PATH".to_string(), "/bin".to_string()),
        ];
        let c = Config::load(
            Some(&file),
            env,
            flags(&[("workers", toml::Value::Integer(6))]),
        )
        .unwrap();
        assert_eq!(c.affinity_domain, "from-file");
        assert_eq!(c.db_pool_size, 5);
        assert_eq!(c.workers, 6);
        assert!(c.dev);
    }

    #[test]
    fn bad_values_are_named() {
        let err = Config::load(
            None,
            vec![("HIEHUB_DB_POOL_SIZE".into(), "many".into())],
            toml::Table::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("HIEHUB_DB_POOL_SIZE"), "{err}");
        let err = Config::load(
            None,
            vec![("HIEHUB_NO_SUCH_KEY".into(), "1".into())],
            toml::Table::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("HIEHUB_NO_SUCH_KEY"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.toml");
        std::fs::write(&file, "colour = 1\n").unwrap();
        let err = Config::load(Some(&file), vec![], toml::Table::new()).unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
    }

    #[test]
    fn plain_http_only_in_dev_and_on_loopback() {
        let dev = Config {
            dev: true,
            ..Config::default()
        };
        assert_eq!(
            dev.http_listener().unwrap(),
            Some("127.0.0.1:8080".parse().unwrap())
        );
        let public = Config {
            dev: true,
            http_addr: "0.0.0.0:8080".into(),
            ..Config::default()
        };
        assert!(public.http_listener().is_err());
        let prod = Config {
            http_addr: "127.0.0.1:8080".into(),
            ..Config::default()
        };
        assert!(prod.http_listener().is_err());
        assert!(Config::default().https_listener().is_err());
    }

    #[test]
    fn printed_config_parses_back() {
        let c = Config {
            dev: true,
            affinity_domain: "kr".into(),
            ..Config::default()
        };
        let text = c.to_commented_toml();
        let back: Config = toml::from_str(&text).unwrap();
        assert_eq!(back, c);
    }
}
