//! Registry object ids (ITI TF-3 §4.2.3.2 entryUUID, and the symbolic ids of submissions):
//! either a UUID in `urn:uuid:` form, or a symbolic id (`Document01`) that is only meaningful
//! inside one submission and that the registry replaces by a UUID when it stores the object.

use std::fmt;

pub use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RegistryObjectId {
    /// `urn:uuid:…`, stored in canonical lower-case form.
    Uuid(Uuid),
    /// Any other id; valid only within the submission that uses it.
    Symbolic(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectIdError {
    #[error("'{0}' starts with urn:uuid: but is not a UUID")]
    BadUuid(String),
    #[error("the id is empty")]
    Empty,
}

impl RegistryObjectId {
    pub fn parse(s: &str) -> Result<RegistryObjectId, ObjectIdError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(ObjectIdError::Empty);
        }
        match strip_prefix_ignore_case(t, "urn:uuid:") {
            Some(rest) => match Uuid::try_parse(rest) {
                // Only the hyphenated form is a UUID URN (RFC 4122 §3).
                Ok(u) if rest.len() == 36 => Ok(RegistryObjectId::Uuid(u)),
                _ => Err(ObjectIdError::BadUuid(t.to_string())),
            },
            None => Ok(RegistryObjectId::Symbolic(t.to_string())),
        }
    }

    pub fn is_uuid(&self) -> bool {
        matches!(self, RegistryObjectId::Uuid(_))
    }

    pub fn uuid(&self) -> Option<Uuid> {
        match self {
            RegistryObjectId::Uuid(u) => Some(*u),
            RegistryObjectId::Symbolic(_) => None,
        }
    }

    pub fn new_random() -> RegistryObjectId {
        RegistryObjectId::Uuid(Uuid::new_v4())
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

impl fmt::Display for RegistryObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryObjectId::Uuid(u) => write!(f, "urn:uuid:{}", u.hyphenated()),
            RegistryObjectId::Symbolic(s) => f.write_str(s),
        }
    }
}

impl From<Uuid> for RegistryObjectId {
    fn from(u: Uuid) -> Self {
        RegistryObjectId::Uuid(u)
    }
}

/// A UUID derived from `parts` (name-based, SHA-1, RFC 4122 §4.3 layout), for the ids of
/// Classifications and ExternalIdentifiers the registry writes in query responses: the same
/// object always gets the same ids.
pub fn derived_uuid(parts: &[&str]) -> Uuid {
    use sha1::Digest;
    let mut h = sha1::Sha1::new();
    h.update(b"hiehub:xds:");
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_sha1_bytes(bytes).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_and_symbolic_ids() {
        let u =
            RegistryObjectId::parse("urn:uuid:AABBCCDD-bdda-424e-8c96-df4873be8501").expect("uuid");
        assert!(u.is_uuid());
        assert_eq!(
            u.to_string(),
            "urn:uuid:aabbccdd-bdda-424e-8c96-df4873be8501"
        );
        assert_eq!(
            RegistryObjectId::parse("Document01"),
            Ok(RegistryObjectId::Symbolic("Document01".into()))
        );
        assert_eq!(
            RegistryObjectId::parse("urn:uuid:not-a-uuid"),
            Err(ObjectIdError::BadUuid("urn:uuid:not-a-uuid".into()))
        );
        assert_eq!(
            RegistryObjectId::parse("urn:uuid:aabbccddbdda424e8c96df4873be8501"),
            Err(ObjectIdError::BadUuid(
                "urn:uuid:aabbccddbdda424e8c96df4873be8501".into()
            ))
        );
        assert_eq!(RegistryObjectId::parse(" "), Err(ObjectIdError::Empty));
    }

    #[test]
    fn derived_uuids_are_stable_version_5() {
        let a = derived_uuid(&["urn:uuid:1", "classCode", "0"]);
        assert_eq!(a, derived_uuid(&["urn:uuid:1", "classCode", "0"]));
        assert_ne!(a, derived_uuid(&["urn:uuid:1", "classCode", "1"]));
        assert_eq!(a.get_version_num(), 5);
    }
}
