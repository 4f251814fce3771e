//! DocumentEntry.uniqueId (ITI TF-3 §4.2.3.2 uniqueId): an OID of at most 64 characters,
//! optionally followed by `^` and an extension of at most 16 characters (the CDA
//! `ClinicalDocument/id` root and extension).

use std::fmt;

use super::oid::{MAX_OID_LEN, Oid, OidError};

/// Longest extension (ITI TF-3 §4.2.3.2 uniqueId).
pub const MAX_EXTENSION_LEN: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UniqueId {
    pub oid: Oid,
    pub extension: Option<String>,
}

/// The uniqueId of a document (ITI-43 `DocumentUniqueId` is this too).
pub type DocumentUniqueId = UniqueId;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UniqueIdError {
    #[error(transparent)]
    Oid(#[from] OidError),
    #[error("the OID part of '{value}' has {len} characters, more than {MAX_OID_LEN}")]
    OidTooLong { value: String, len: usize },
    #[error("the extension of '{value}' has {len} characters, more than {MAX_EXTENSION_LEN}")]
    ExtensionTooLong { value: String, len: usize },
    #[error("the extension of '{0}' is empty")]
    EmptyExtension(String),
}

impl UniqueId {
    pub fn parse(s: &str) -> Result<UniqueId, UniqueIdError> {
        let value = s.trim();
        let (oid, extension) = match value.split_once('^') {
            Some((o, e)) => (o, Some(e)),
            None => (value, None),
        };
        if oid.len() > MAX_OID_LEN {
            return Err(UniqueIdError::OidTooLong {
                value: value.to_string(),
                len: oid.len(),
            });
        }
        let oid = Oid::parse(oid)?;
        if let Some(e) = extension {
            if e.is_empty() {
                return Err(UniqueIdError::EmptyExtension(value.to_string()));
            }
            let len = e.chars().count();
            if len > MAX_EXTENSION_LEN {
                return Err(UniqueIdError::ExtensionTooLong {
                    value: value.to_string(),
                    len,
                });
            }
        }
        Ok(UniqueId {
            oid,
            extension: extension.map(str::to_string),
        })
    }

    /// A uniqueId that must be a plain OID (SubmissionSet, Folder), at most 64 characters.
    pub fn parse_oid_only(s: &str) -> Result<Oid, UniqueIdError> {
        let value = s.trim();
        if value.len() > MAX_OID_LEN {
            return Err(UniqueIdError::OidTooLong {
                value: value.to_string(),
                len: value.len(),
            });
        }
        Ok(Oid::parse(value)?)
    }
}

impl fmt::Display for UniqueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.extension {
            Some(e) => write!(f, "{}^{e}", self.oid),
            None => write!(f, "{}", self.oid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oid_and_extension() {
        let u = UniqueId::parse("1.3.6.1.4.1.21367.2009.1.2.182.097130838507401^2009022441432")
            .expect("nist");
        assert_eq!(u.extension.as_deref(), Some("2009022441432"));
        assert_eq!(
            u.to_string(),
            "1.3.6.1.4.1.21367.2009.1.2.182.097130838507401^2009022441432"
        );
        assert_eq!(
            UniqueId::parse("1.42.20120430135820.36")
                .expect("ok")
                .extension,
            None
        );
    }

    #[test]
    fn limits() {
        let long = format!("1.{}", "2".repeat(63));
        assert!(matches!(
            UniqueId::parse(&long),
            Err(UniqueIdError::OidTooLong { len: 65, .. })
        ));
        assert!(matches!(
            UniqueId::parse("1.2^12345678901234567"),
            Err(UniqueIdError::ExtensionTooLong { len: 17, .. })
        ));
        assert!(matches!(
            UniqueId::parse("1.2^"),
            Err(UniqueIdError::EmptyExtension(_))
        ));
        assert!(matches!(UniqueId::parse("abc"), Err(UniqueIdError::Oid(_))));
        assert!(UniqueId::parse_oid_only("1.2^3").is_err());
        assert_eq!(
            UniqueId::parse_oid_only("1.2.3").expect("ok").as_str(),
            "1.2.3"
        );
    }
}
