//! The XDS affinity-domain patient id: an HL7 v2 CX value `id^^^&OID&ISO` (ITI TF-3 §4.2.3.1.7,
//! Table 4.2.3.1.7-2 "CX data type"): component 1 the id, component 4 the assigning authority
//! with universal id (an OID) and universal id type `ISO`; components 2 and 3 empty and nothing
//! after component 4. The namespace id (CX.4.1) is kept when sent.
//!
//! Two PatientIds are the same patient when id and authority OID are equal; [`fmt::Display`]
//! writes the CX form back.

use std::fmt;

use super::oid::Oid;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PatientId {
    pub id: String,
    pub authority: Oid,
    /// CX.4.1, the assigning authority's namespace id, when present.
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatientIdError {
    #[error("'{0}' is not a CX patient id: the id (component 1) is empty")]
    EmptyId(String),
    #[error("'{0}' is not a CX patient id: components 2 and 3 must be empty")]
    ExtraComponents(String),
    #[error(
        "'{0}' is not a CX patient id: nothing may follow the assigning authority (component 4)"
    )]
    TrailingComponents(String),
    #[error("'{0}' is not a CX patient id: the assigning authority (component 4) must be &OID&ISO")]
    Authority(String),
    #[error("'{value}' is not a CX patient id: the assigning authority is not an OID ({reason})")]
    AuthorityOid { value: String, reason: String },
}

impl PatientId {
    pub fn new(id: impl Into<String>, authority: Oid) -> PatientId {
        PatientId {
            id: id.into(),
            authority,
            namespace: None,
        }
    }

    pub fn parse(s: &str) -> Result<PatientId, PatientIdError> {
        let value = s.trim();
        let comps: Vec<&str> = value.split('^').collect();
        let id = comps[0];
        if id.is_empty() {
            return Err(PatientIdError::EmptyId(value.to_string()));
        }
        if comps.len() < 4 {
            return Err(PatientIdError::Authority(value.to_string()));
        }
        if !comps[1].is_empty() || !comps[2].is_empty() {
            return Err(PatientIdError::ExtraComponents(value.to_string()));
        }
        if comps[4..].iter().any(|c| !c.is_empty()) {
            return Err(PatientIdError::TrailingComponents(value.to_string()));
        }
        let hd: Vec<&str> = comps[3].split('&').collect();
        let [namespace, universal_id, kind] = hd[..] else {
            return Err(PatientIdError::Authority(value.to_string()));
        };
        if kind != "ISO" {
            return Err(PatientIdError::Authority(value.to_string()));
        }
        let authority = Oid::parse(universal_id).map_err(|e| PatientIdError::AuthorityOid {
            value: value.to_string(),
            reason: e.to_string(),
        })?;
        Ok(PatientId {
            id: id.to_string(),
            authority,
            namespace: (!namespace.is_empty()).then(|| namespace.to_string()),
        })
    }

    /// The same patient: id and assigning authority OID equal (the namespace id is a label).
    pub fn same_patient(&self, other: &PatientId) -> bool {
        self.id == other.id && self.authority == other.authority
    }
}

impl fmt::Display for PatientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}^^^{}&{}&ISO",
            self.id,
            self.namespace.as_deref().unwrap_or(""),
            self.authority
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_cx() {
        for s in [
            "test1234_1^^^&1.2.3.45.4.3.2.1&ISO",
            "509b043eb50145b^^^&1.3.6.1.4.1.21367.2005.3.7&ISO",
            "SR7^^^&1.2.260&ISO",
            "IHENA-1^^^IHENA&1.3.6.1.4.1.21367.2010.1.2.300&ISO",
        ] {
            let p = PatientId::parse(s).expect(s);
            assert_eq!(p.to_string(), s);
        }
        let p = PatientId::parse("SR7^^^&1.2.260&ISO").expect("ok");
        assert_eq!(p.id, "SR7");
        assert_eq!(p.authority.as_str(), "1.2.260");
        // Empty trailing components are tolerated and dropped.
        assert_eq!(
            PatientId::parse("a^^^&1.2&ISO^").expect("ok").to_string(),
            "a^^^&1.2&ISO"
        );
    }

    #[test]
    fn same_patient_ignores_the_namespace() {
        let a = PatientId::parse("x^^^NS&1.2.3&ISO").expect("ok");
        let b = PatientId::parse("x^^^&1.2.3&ISO").expect("ok");
        assert!(a.same_patient(&b));
        assert!(!a.same_patient(&PatientId::parse("x^^^&1.2.4&ISO").expect("ok")));
    }

    #[test]
    fn refuses_what_is_not_an_affinity_domain_id() {
        assert!(matches!(
            PatientId::parse("^^^&1.2&ISO"),
            Err(PatientIdError::EmptyId(_))
        ));
        assert!(matches!(
            PatientId::parse("abc"),
            Err(PatientIdError::Authority(_))
        ));
        assert!(matches!(
            PatientId::parse("a^1^^&1.2&ISO"),
            Err(PatientIdError::ExtraComponents(_))
        ));
        assert!(matches!(
            PatientId::parse("a^^^&1.2&ISO^PI"),
            Err(PatientIdError::TrailingComponents(_))
        ));
        assert!(matches!(
            PatientId::parse("a^^^&1.2&DNS"),
            Err(PatientIdError::Authority(_))
        ));
        assert!(matches!(
            PatientId::parse("a^^^1.2"),
            Err(PatientIdError::Authority(_))
        ));
        assert!(matches!(
            PatientId::parse("a^^^&x.y&ISO"),
            Err(PatientIdError::AuthorityOid { .. })
        ));
    }
}
