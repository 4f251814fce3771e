//! Minimal readings of the HL7 v2 person and organisation types XDS metadata carries
//! (ITI TF-3 §4.2.3.1.7, Table 4.2.3.1.7-2): XCN for authorPerson and legalAuthenticator, XON for
//! authorInstitution. Only the parts hiehub indexes or shows are read; the value as sent is kept
//! and written back unchanged, so nothing is lost on the way through.

use std::fmt;

/// The assigning authority OID of an HL7 HD `namespace&oid&ISO`, when that is its form.
fn hd_oid(hd: &str) -> Option<String> {
    let parts: Vec<&str> = hd.split('&').collect();
    match parts[..] {
        [_, oid, "ISO"] if !oid.is_empty() => Some(oid.to_string()),
        _ => None,
    }
}

fn component(comps: &[&str], n: usize) -> Option<String> {
    comps
        .get(n - 1)
        .filter(|c| !c.is_empty())
        .map(|c| c.to_string())
}

/// An XCN person: `id^family^given^middle^suffix^prefix^^^&authorityOid&ISO`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Xcn {
    raw: String,
    pub id: Option<String>,
    pub family_name: Option<String>,
    pub given_name: Option<String>,
    /// XCN.9 universal id, when XCN.9 is `&OID&ISO`.
    pub assigning_authority: Option<String>,
}

impl Xcn {
    /// `None` for an empty value.
    pub fn parse(s: &str) -> Option<Xcn> {
        let raw = s.trim();
        if raw.is_empty() {
            return None;
        }
        let comps: Vec<&str> = raw.split('^').collect();
        Some(Xcn {
            raw: raw.to_string(),
            id: component(&comps, 1),
            family_name: component(&comps, 2),
            given_name: component(&comps, 3),
            assigning_authority: comps.get(8).and_then(|hd| hd_oid(hd)),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// ITI TF-3: an XCN identifies a person by id or by name.
    pub fn has_id_or_name(&self) -> bool {
        self.id.is_some() || self.family_name.is_some() || self.given_name.is_some()
    }
}

impl fmt::Display for Xcn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// An XON organisation: `name^^^^^&authorityOid&ISO^^^^id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Xon {
    raw: String,
    pub name: Option<String>,
    /// XON.10, the organisation identifier.
    pub id: Option<String>,
    /// XON.6 universal id, when XON.6 is `&OID&ISO`.
    pub assigning_authority: Option<String>,
}

impl Xon {
    /// `None` for an empty value.
    pub fn parse(s: &str) -> Option<Xon> {
        let raw = s.trim();
        if raw.is_empty() {
            return None;
        }
        let comps: Vec<&str> = raw.split('^').collect();
        Some(Xon {
            raw: raw.to_string(),
            name: component(&comps, 1),
            id: component(&comps, 10),
            assigning_authority: comps.get(5).and_then(|hd| hd_oid(hd)),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

impl fmt::Display for Xon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xcn_parts() {
        let x =
            Xcn::parse("11111111^Wiseman^Bernard^^Sr.^Dr.^^^&1.3.5.35.1.4436.7&ISO").expect("xcn");
        assert_eq!(x.id.as_deref(), Some("11111111"));
        assert_eq!(x.family_name.as_deref(), Some("Wiseman"));
        assert_eq!(x.given_name.as_deref(), Some("Bernard"));
        assert_eq!(x.assigning_authority.as_deref(), Some("1.3.5.35.1.4436.7"));
        assert_eq!(
            x.to_string(),
            "11111111^Wiseman^Bernard^^Sr.^Dr.^^^&1.3.5.35.1.4436.7&ISO"
        );
        let name_only = Xcn::parse("^Smitty^Gerald^^^").expect("xcn");
        assert_eq!(name_only.id, None);
        assert!(name_only.has_id_or_name());
        assert!(!Xcn::parse("^^^").expect("xcn").has_id_or_name());
        assert_eq!(Xcn::parse("  "), None);
    }

    #[test]
    fn xon_parts() {
        let x = Xon::parse("Cleveland Clinic^^^^^&1.2.3&ISO^^^^CleveClin").expect("xon");
        assert_eq!(x.name.as_deref(), Some("Cleveland Clinic"));
        assert_eq!(x.assigning_authority.as_deref(), Some("1.2.3"));
        assert_eq!(x.id.as_deref(), Some("CleveClin"));
        let plain = Xon::parse("Parma Community").expect("xon");
        assert_eq!(plain.name.as_deref(), Some("Parma Community"));
        assert_eq!(plain.id, None);
    }
}
