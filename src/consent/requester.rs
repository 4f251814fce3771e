//! Who asks: the authenticated node (client certificate on the HTTPS listener), and what the
//! request adds in its SOAP header — an XUA SAML assertion's attributes (ITI-40) and a request
//! for break-the-glass.
//!
//! - **Organisation**: the client certificate's subject `O` (its `CN` when it has no `O`). The
//!   certificate is authoritative: the XUA `subject:organization-id` is used only when the
//!   request carries no certificate (plain HTTP, dev mode).
//! - **XUA**: `saml2:Assertion` inside `wsse:Security`; the attributes
//!   `urn:oasis:names:tc:xspa:1.0:subject:subject-id`, `...:subject:organization`,
//!   `...:subject:organization-id`, `...:subject:purposeofuse` and
//!   `urn:ihe:iti:xca:2010:homeCommunityId` are read. The assertion's signature is NOT
//!   validated (not implemented): its attributes are recorded in decisions and audit events, and
//!   only its purpose of use can widen access (break-the-glass, always audited as an override).
//! - **Break-the-glass**: XUA purpose of use `EMERGENCY` (or `ETREAT`, `BTG`), or the header
//!   block `<hh:BreakTheGlass xmlns:hh="urn:hiehub:consent:2026">reason</hh:BreakTheGlass>`.

use crate::tls::NodeIdentity;
use crate::xml::Element;

/// The namespace of hiehub's own consent header blocks.
pub const HIEHUB_CONSENT_NS: &str = "urn:hiehub:consent:2026";
const SAML_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const XSPA: &str = "urn:oasis:names:tc:xspa:1.0:subject:";
const HOME_ATTR: &str = "urn:ihe:iti:xca:2010:homeCommunityId";

/// The XUA attributes of the request, as sent (unverified).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Xua {
    pub subject_id: Option<String>,
    pub organisation: Option<String>,
    pub organisation_id: Option<String>,
    pub purpose_of_use: Option<String>,
    pub home_community_id: Option<String>,
    /// The identity provider whose signature was verified (`xua_trusted_certs`); `None`: the
    /// attributes are unverified claims of the requesting node.
    pub verified_by: Option<String>,
}

/// The requester a decision is made for.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Requester {
    /// Client-certificate subject (`CN=...,O=...`), when authenticated.
    pub node: Option<String>,
    /// SHA-256 of the client certificate, hex.
    pub fingerprint: Option<String>,
    /// The organisation policies are matched against.
    pub organisation: Option<String>,
    pub xua: Option<Xua>,
    /// Set when break-the-glass is asked for: the reason given.
    pub emergency: Option<String>,
}

/// The value of attribute `key` (e.g. `O`) in an RFC 2253-like subject.
fn subject_part(subject: &str, key: &str) -> Option<String> {
    subject.split(',').find_map(|part| {
        let (k, v) = part.split_once('=')?;
        (k.trim() == key).then(|| v.trim().to_owned())
    })
}

impl Requester {
    /// The requester a node identity (client certificate) stands for.
    pub fn from_node(identity: Option<&NodeIdentity>) -> Requester {
        let Some(id) = identity else {
            return Requester::default();
        };
        Requester {
            node: Some(id.subject.clone()),
            fingerprint: Some(id.fingerprint.clone()).filter(|f| !f.is_empty()),
            organisation: subject_part(&id.subject, "O")
                .or_else(|| subject_part(&id.subject, "CN")),
            xua: None,
            emergency: None,
        }
    }

    /// Adds what the SOAP header blocks say (XUA, break-the-glass).
    pub fn with_headers(mut self, headers: &[Element]) -> Requester {
        let mut xua = None;
        let mut emergency = None;
        for h in headers {
            if h.ns.as_deref() == Some(HIEHUB_CONSENT_NS) && h.local == "BreakTheGlass" {
                let reason = h.text().trim().to_owned();
                emergency = Some(if reason.is_empty() {
                    "break-the-glass header".to_owned()
                } else {
                    reason
                });
            }
            // The assertion that `xua::verify` checks: a direct child of a WS-Security 1.0
            // `wsse:Security` block (never one nested elsewhere or in a look-alike element, which
            // a signature-wrapping attack would slip in).
            if h.is(crate::xua::WSSE_NS, "Security")
                && let Some(a) = h.child(SAML_NS, "Assertion")
            {
                xua = Some(read_assertion(a));
            }
        }
        if let Some(x) = &xua {
            if emergency.is_none()
                && let Some(p) = &x.purpose_of_use
                && ["EMERGENCY", "ETREAT", "BTG"].contains(&p.to_ascii_uppercase().as_str())
            {
                emergency = Some(format!("XUA purpose of use {p}"));
            }
            if self.node.is_none() && self.organisation.is_none() {
                self.organisation = x.organisation_id.clone().or_else(|| x.organisation.clone());
            }
        }
        self.xua = xua;
        self.emergency = emergency;
        self
    }

    /// Marks the XUA attributes as verified (signed by `signer`), when they were.
    pub fn with_xua_signer(mut self, signer: Option<String>) -> Requester {
        if let Some(x) = &mut self.xua {
            x.verified_by = signer;
        }
        self
    }

    /// One line for logs and audit descriptions.
    pub fn describe(&self) -> String {
        let mut s = match (&self.node, &self.organisation) {
            (Some(n), _) => n.clone(),
            (None, Some(o)) => format!("organisation {o} (not authenticated)"),
            (None, None) => "an unauthenticated requester".to_owned(),
        };
        if let Some(x) = &self.xua
            && let Some(u) = &x.subject_id
        {
            match &x.verified_by {
                Some(idp) => s.push_str(&format!(", XUA subject {u} (signed by {idp})")),
                None => s.push_str(&format!(", XUA subject {u} (unverified)")),
            }
        }
        s
    }
}

fn read_assertion(a: &Element) -> Xua {
    let mut x = Xua::default();
    let mut stack: Vec<&Element> = vec![a];
    while let Some(e) = stack.pop() {
        if e.is(SAML_NS, "Attribute") {
            let name = e.attr("Name").unwrap_or_default();
            let value = e
                .elements()
                .find(|v| v.is(SAML_NS, "AttributeValue"))
                .map(|v| {
                    // A coded value (PurposeOfUse, Role) carries its code in an attribute.
                    v.elements()
                        .next()
                        .and_then(|c| c.attr("code").map(str::to_owned))
                        .unwrap_or_else(|| v.text().trim().to_owned())
                });
            match name.strip_prefix(XSPA) {
                Some("subject-id") => x.subject_id = value,
                Some("organization") => x.organisation = value,
                Some("organization-id") => x.organisation_id = value,
                Some("purposeofuse") => x.purpose_of_use = value,
                _ if name == HOME_ATTR => x.home_community_id = value,
                _ => {}
            }
        } else {
            stack.extend(e.elements());
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organisation_comes_from_the_certificate() {
        let id = NodeIdentity {
            subject: "CN=ris.hospital-a,O=Hospital A".into(),
            fingerprint: "ab".into(),
        };
        let r = Requester::from_node(Some(&id));
        assert_eq!(r.organisation.as_deref(), Some("Hospital A"));
        let id = NodeIdentity {
            subject: "CN=lonely".into(),
            fingerprint: String::new(),
        };
        assert_eq!(
            Requester::from_node(Some(&id)).organisation.as_deref(),
            Some("lonely")
        );
    }

    #[test]
    fn xua_purpose_of_use_asks_for_break_the_glass() {
        let xml = r#"<s:Header xmlns:s="http://www.w3.org/2003/05/soap-envelope">
<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">
<saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion"><saml2:AttributeStatement>
<saml2:Attribute Name="urn:oasis:names:tc:xspa:1.0:subject:subject-id"><saml2:AttributeValue>Dr. Kim</saml2:AttributeValue></saml2:Attribute>
<saml2:Attribute Name="urn:oasis:names:tc:xspa:1.0:subject:organization-id"><saml2:AttributeValue>urn:oid:1.2.3</saml2:AttributeValue></saml2:Attribute>
<saml2:Attribute Name="urn:oasis:names:tc:xspa:1.0:subject:purposeofuse"><saml2:AttributeValue><PurposeOfUse xmlns="urn:hl7-org:v3" code="EMERGENCY" codeSystem="2.16.840.1.113883.3.18.7.1"/></saml2:AttributeValue></saml2:Attribute>
</saml2:AttributeStatement></saml2:Assertion></wsse:Security></s:Header>"#;
        let root = crate::xml::parse(xml.as_bytes(), &crate::xml::Limits::default()).unwrap();
        let headers: Vec<Element> = root.elements().cloned().collect();
        let r = Requester::default().with_headers(&headers);
        let x = r.xua.clone().unwrap();
        assert_eq!(x.subject_id.as_deref(), Some("Dr. Kim"));
        assert_eq!(x.purpose_of_use.as_deref(), Some("EMERGENCY"));
        assert!(r.emergency.is_some());
        assert_eq!(r.organisation.as_deref(), Some("urn:oid:1.2.3"));
        assert!(r.describe().contains("Dr. Kim"));
    }

    #[test]
    fn hiehub_header_asks_for_break_the_glass() {
        let xml = r#"<hh:BreakTheGlass xmlns:hh="urn:hiehub:consent:2026">unconscious patient</hh:BreakTheGlass>"#;
        let e = crate::xml::parse(xml.as_bytes(), &crate::xml::Limits::default()).unwrap();
        let r = Requester::default().with_headers(&[e]);
        assert_eq!(r.emergency.as_deref(), Some("unconscious patient"));
    }
}
