//! The master patient index: hiehub as PIX Manager and PDQ Supplier of its affinity domain.
//!
//! Model: every local identifier ([`PatientIdentifier`], a (root OID, extension) pair in an
//! assigning-authority domain the affinity domain declares) is one *record* with the
//! [`Demographics`] its source sent, linked to exactly one *person* whose enterprise id hiehub
//! assigns (root `mpi_enterprise_authority`). Linking ([`link`]) is deterministic on shared
//! identifiers and, when enabled, probabilistic on demographics.
//!
//! Transactions: [`iti44`] (feed: add, revise, merge), [`iti45`] (PIX query), [`iti46`] (update
//! notifications from a persistent outbox), [`iti47`] (PDQ with continuation), [`admin`] (JSON).
//! The SQL lives in [`store`]; names and Revised Romanization in [`names`].
//!
//! Invariant: `mpi` never sees XML: the `hl7v3` codec converts at the edge ([`wire`]).
//! Invariant: one feed = one PostgreSQL transaction, covering the MPI tables, the XDS registry's
//! `patients` rows, the moved registry documents of a merge and the ITI-46 outbox rows.

pub mod admin;
pub mod iti44;
pub mod iti45;
pub mod iti46;
pub mod iti47;
pub mod link;
pub mod names;
pub mod national_id;
pub mod seed;
pub mod store;
pub mod v2;
pub mod wire;

use std::sync::Arc;

use crate::audit::Outcome;
use crate::audit::dicom::ParticipantObject;
use crate::config::Config;
use crate::profiles::AffinityDomain;
use crate::store::Db;

/// A local (or enterprise) patient identifier: assigning authority OID and id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct PatientIdentifier {
    pub root: String,
    pub extension: String,
}

impl PatientIdentifier {
    pub fn new(root: impl Into<String>, extension: impl Into<String>) -> PatientIdentifier {
        PatientIdentifier {
            root: root.into(),
            extension: extension.into(),
        }
    }

    /// The HL7 v2 CX form the XDS registry stores: `id^^^&OID&ISO`.
    pub fn cx(&self) -> String {
        format!("{}^^^&{}&ISO", self.extension, self.root)
    }
}

impl std::fmt::Display for PatientIdentifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.cx())
    }
}

/// What a source says about a patient. Names in two forms: Hangul (as sent) and Latin (as sent).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Demographics {
    pub family: Option<String>,
    pub given: Option<String>,
    pub family_hangul: Option<String>,
    pub given_hangul: Option<String>,
    /// M, F, UN, ... (HL7 AdministrativeGender).
    pub gender: Option<String>,
    /// YYYYMMDD (or a shorter prefix).
    pub birth_date: Option<String>,
    pub street: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    /// Digits only.
    pub phone: Option<String>,
}

/// The normalised keys stored beside a record's names (see [`names::key`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameKeys {
    pub family_norm: Option<String>,
    pub given_norm: Option<String>,
    pub family_alt: Option<String>,
    pub given_alt: Option<String>,
    pub full_norm: Option<String>,
    pub full_alt: Option<String>,
}

fn nonempty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

impl Demographics {
    /// Primary keys come from the Hangul name when there is one (romanised), else from the Latin
    /// name; the alternative keys from the Latin name sent beside a Hangul one.
    pub fn keys(&self) -> NameKeys {
        let k = |s: &Option<String>| s.as_deref().map(names::key).and_then(nonempty);
        let hangul = self.family_hangul.is_some() || self.given_hangul.is_some();
        let (family_norm, given_norm, family_alt, given_alt) = if hangul {
            (
                k(&self.family_hangul),
                k(&self.given_hangul),
                k(&self.family),
                k(&self.given),
            )
        } else {
            (k(&self.family), k(&self.given), None, None)
        };
        let full = |f: &Option<String>, g: &Option<String>| {
            (f.is_some() || g.is_some()).then(|| {
                format!(
                    "{}{}",
                    f.as_deref().unwrap_or(""),
                    g.as_deref().unwrap_or("")
                )
            })
        };
        NameKeys {
            full_norm: full(&family_norm, &given_norm),
            full_alt: full(&family_alt, &given_alt),
            family_norm,
            given_norm,
            family_alt,
            given_alt,
        }
    }
}

/// The MPI's settings, from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The assigning authority of enterprise ids.
    pub enterprise_root: String,
    /// The device id hiehub uses as HL7v3 sender.
    pub device: String,
    pub probabilistic: bool,
    /// Link at or above (0..=1).
    pub upper: f64,
    /// Review between `lower` and `upper`; new person below.
    pub lower: f64,
    /// ITI-46 PIX consumers (endpoint URLs).
    pub consumers: Vec<String>,
    /// The most patients one PDQ query ranks (continuation pages through them).
    pub pdq_max_results: u32,
    /// Roots of national identifiers (stored sealed, never patient ids).
    pub national_roots: Vec<String>,
    /// The key sealing and hashing national identifiers (`None`: the key file is unusable;
    /// feeds carrying a national identifier are then refused).
    pub national_key: Option<Arc<national_id::NationalIdKey>>,
}

impl Settings {
    pub fn from_config(c: &Config) -> Settings {
        Settings {
            enterprise_root: c.mpi_enterprise_authority.clone(),
            device: c.mpi_enterprise_authority.clone(),
            probabilistic: c.mpi_probabilistic,
            upper: f64::from(c.mpi_link_upper.min(100)) / 100.0,
            lower: f64::from(c.mpi_link_lower.min(100)) / 100.0,
            consumers: c
                .pix_consumers
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            pdq_max_results: c.max_query_results.max(1),
            national_roots: c
                .mpi_national_id_roots
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            national_key: match national_id::NationalIdKey::for_data_dir(&c.data_dir) {
                Ok(k) => Some(k),
                Err(e) => {
                    tracing::error!(error = %e, "national identifier key unavailable");
                    None
                }
            },
        }
    }

    pub fn is_national_root(&self, root: &str) -> bool {
        self.national_roots.iter().any(|r| r == root)
    }

    /// The sealed form of the first national identifier among `ids`.
    pub fn seal_national(&self, ids: &[PatientIdentifier]) -> Option<national_id::Sealed> {
        let key = self.national_key.as_ref()?;
        let id = ids.iter().find(|i| self.is_national_root(&i.root))?;
        key.seal(&id.root, &id.extension)
    }
}

/// The handles an MPI transaction works with.
#[derive(Clone)]
pub struct Context {
    pub db: Db,
    pub domain: Arc<AffinityDomain>,
    pub settings: Arc<Settings>,
    /// ITI-47 only, with `consent_pdq_filter = true`: persons whose consent denies the requester
    /// are left out of the answer (issue 6).
    pub consent: Option<crate::consent::Gate>,
}

/// What an MPI transaction hands back to the web layer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub body_xml: String,
    pub outcome: Outcome,
    pub description: Option<String>,
    pub participant_objects: Vec<ParticipantObject>,
}

impl Context {
    /// Whether `root` is an assigning authority whose ids may be fed (declared by the domain,
    /// or any ISO OID in `connectathon`); the enterprise authority is hiehub's own.
    pub fn accepts_feed_authority(&self, root: &str) -> bool {
        if root == self.settings.enterprise_root || self.settings.is_national_root(root) {
            return false;
        }
        match crate::xds::Oid::parse(root) {
            Ok(oid) => self.domain.accepts_authority(&oid),
            Err(_) => false,
        }
    }

    /// Whether the affinity domain names `root` as one of its authorities (a domain that
    /// accepts any ISO OID knows an authority only once ids of it were fed).
    pub fn names_authority(&self, root: &str) -> bool {
        self.domain
            .authorities()
            .iter()
            .any(|a| a.oid.as_str() == root)
    }
}
