//! The DICOM instance store: what hiehub keeps of every instance it receives (STOW-RS, C-STORE,
//! RAD-68), the index QIDO-RS and the viewer answer from, and the one access decision every
//! imaging exit goes through.
//!
//! - [`parse`]: Part-10 bytes → [`Instance`] (the indexed attributes, validated UIDs).
//! - [`index`]: the `imaging_instances` table (diesel), insert and queries.
//! - [`ingest`]: one batch of instances = blobs written (fsynced) + one database transaction.
//! - [`access`]: `authorize(requester, patient, study)`: the consent enforcer's patient-level decision.
//! - [`audit_window`]: audit coalescing of image reads (one durable event per requester, study
//!   and window; the rest counted into a summary).
//! - [`phantom`]: the synthetic CT series of `hiehub bench phantom` (tests, benchmarks).
//!
//! Invariant: an instance row exists only for bytes on disk that parsed as DICOM; a batch that
//! fails to commit leaves no row and no new blob.
//! Invariant: `imaging` knows no HTTP and no DIMSE; `dicomweb`, `dimse` and `viewer` call into it.

pub mod access;
pub mod audit_window;
pub mod index;
pub mod ingest;
pub mod parse;
pub mod phantom;

pub use parse::{Instance, ParseError, RenderInfo};

/// A DICOM UID (PS3.5 §9.1): digits and dots, at most 64 characters, no empty component, no
/// leading zero in a component.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DicomUid(String);

impl DicomUid {
    pub fn parse(s: &str) -> Result<DicomUid, String> {
        let s = s.trim_end_matches(['\0', ' ']);
        if s.is_empty() {
            return Err("empty UID".into());
        }
        if s.len() > 64 {
            return Err(format!(
                "UID of {} characters (at most 64): {s:.70}",
                s.len()
            ));
        }
        for part in s.split('.') {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("'{s}' is not a UID (digits and dots)"));
            }
            if part.len() > 1 && part.starts_with('0') {
                return Err(format!(
                    "'{s}' is not a UID (component '{part}' has a leading zero)"
                ));
            }
        }
        Ok(DicomUid(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for DicomUid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A new UID under the UUID-derived root 2.25 (PS3.5 §B.2).
pub fn new_uid() -> String {
    format!("2.25.{}", uuid::Uuid::new_v4().as_u128())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids() {
        assert!(DicomUid::parse("1.2.840.10008.1.2").is_ok());
        assert_eq!(
            DicomUid::parse("1.2.3\0").map(|u| u.0),
            Ok("1.2.3".to_owned())
        );
        assert!(DicomUid::parse("1.02.3").is_err());
        assert!(DicomUid::parse("1..3").is_err());
        assert!(DicomUid::parse("1.a").is_err());
        assert!(DicomUid::parse(&"1.".repeat(40)).is_err());
        assert!(DicomUid::parse(&new_uid()).is_ok());
    }
}
