//! ISO object identifiers as XDS uses them (ITI TF-3 §4.2.3.1: "OID" data type).
//!
//! Lenient in one respect, on purpose: arcs with leading zeros (`1.2.097130838507401`) are
//! accepted. ISO/IEC 9834-1 forbids them, but deployed senders produce them — the NIST toolkit's
//! own ITI-41 sample does (`nist/xds/valid-iti41-http-capture-mtom.txt`) and expects Success.
//! [`Oid::is_canonical`] tells the two apart for whoever wants to warn.

use std::fmt;
use std::str::FromStr;

/// Longest OID XDS accepts in a uniqueId (ITI TF-3 §4.2.3.2 uniqueId: 64 characters).
pub const MAX_OID_LEN: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Oid(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidError {
    #[error("'{0}' is not an OID: empty")]
    Empty(String),
    #[error("'{value}' is not an OID: character '{found}' at position {at} (only digits and dots)")]
    Character {
        value: String,
        found: char,
        at: usize,
    },
    #[error("'{0}' is not an OID: an arc is empty (leading, trailing or double dot)")]
    EmptyArc(String),
    #[error("'{0}' is not an OID: it needs at least two arcs")]
    OneArc(String),
    #[error("'{0}' is not an OID: the first arc must be 0, 1 or 2")]
    FirstArc(String),
}

impl Oid {
    pub fn parse(s: &str) -> Result<Oid, OidError> {
        if s.is_empty() {
            return Err(OidError::Empty(s.to_string()));
        }
        if let Some((at, found)) = s
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
        {
            return Err(OidError::Character {
                value: s.to_string(),
                found,
                at,
            });
        }
        let arcs: Vec<&str> = s.split('.').collect();
        if arcs.iter().any(|a| a.is_empty()) {
            return Err(OidError::EmptyArc(s.to_string()));
        }
        if arcs.len() < 2 {
            return Err(OidError::OneArc(s.to_string()));
        }
        if !matches!(arcs[0], "0" | "1" | "2") {
            return Err(OidError::FirstArc(s.to_string()));
        }
        Ok(Oid(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// No arc has a leading zero (ISO/IEC 9834-1).
    pub fn is_canonical(&self) -> bool {
        self.0.split('.').all(|a| a == "0" || !a.starts_with('0'))
    }

    /// `urn:oid:` form, as used for homeCommunityId.
    pub fn to_urn(&self) -> String {
        format!("urn:oid:{}", self.0)
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Oid {
    type Err = OidError;
    fn from_str(s: &str) -> Result<Oid, OidError> {
        Oid::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_oids() {
        for s in [
            "1.2",
            "1.3.6.1.4.1.21367.2005.3.7",
            "2.16.840.1.113883.6.1",
            "0.0",
        ] {
            assert_eq!(Oid::parse(s).map(|o| o.to_string()), Ok(s.to_string()));
        }
        let nist = Oid::parse("1.3.6.1.4.1.21367.2009.1.2.182.097130838507401").expect("lenient");
        assert!(!nist.is_canonical());
        assert!(Oid::parse("1.2.0.3").expect("ok").is_canonical());
        assert_eq!(Oid::parse("1.2.3").expect("ok").to_urn(), "urn:oid:1.2.3");
    }

    #[test]
    fn invalid_oids() {
        assert!(matches!(Oid::parse(""), Err(OidError::Empty(_))));
        assert!(matches!(
            Oid::parse("1.2.a"),
            Err(OidError::Character {
                found: 'a',
                at: 4,
                ..
            })
        ));
        assert!(matches!(Oid::parse("1..2"), Err(OidError::EmptyArc(_))));
        assert!(matches!(Oid::parse("1.2."), Err(OidError::EmptyArc(_))));
        assert!(matches!(Oid::parse("12"), Err(OidError::OneArc(_))));
        assert!(matches!(Oid::parse("3.2"), Err(OidError::FirstArc(_))));
        assert!(matches!(
            Oid::parse("urn:oid:1.2"),
            Err(OidError::Character { .. })
        ));
    }
}
