//! XUA (ITI-40): the SAML 2.0 assertion in a request's `wsse:Security` header, verified —
//! XML-DSig enveloped signature over the assertion, by a certificate the operator trusts, inside
//! its validity window — before any of its attributes count.
//!
//! With `xua_trusted_certs` set (a PEM file of identity-provider signing certificates or their
//! CAs), hiehub processes `wsse:Security` (a `mustUnderstand` one is accepted) and a request whose
//! assertion does not verify is refused with a `wsse:InvalidSecurity` / `wsse:FailedCheck` fault
//! and a security alert. Without it, `wsse:Security` is not understood: `mustUnderstand` gets the
//! SOAP MustUnderstand fault, otherwise the attributes are read as unverified claims (see
//! `consent::requester`).
//!
//! Accepted algorithms: canonicalisation Exclusive C14N 1.0 (with or without an
//! `InclusiveNamespaces` prefix list); transforms enveloped-signature and Exclusive C14N;
//! digests SHA-1, SHA-256, SHA-512; signatures RSA-SHA1, RSA-SHA256, RSA-SHA512, ECDSA-SHA256.
//!
//! Invariant: the signature must be a direct child of the very assertion whose attributes are
//! read, with exactly one Reference whose URI is `#` + that assertion's `ID` (no signature
//! wrapping: a signed element elsewhere in the message proves nothing about this one).

pub mod c14n;

use std::sync::Arc;

use base64::Engine;
use chrono::{DateTime, Utc};
use openssl::hash::MessageDigest;
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::{X509, X509StoreContext};

use crate::xml::Element;

pub const WSSE_NS: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
pub const SAML_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/// Clock skew allowed on NotBefore / NotOnOrAfter.
const SKEW_SECONDS: i64 = 300;

/// The identity-provider certificates (or CAs) whose signatures hiehub accepts.
#[derive(Clone)]
pub struct Trust {
    store: Arc<X509Store>,
    pub subjects: Vec<String>,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trust")
            .field("subjects", &self.subjects)
            .finish()
    }
}

impl Trust {
    /// Reads a PEM file of one or more certificates.
    pub fn from_pem_file(path: &std::path::Path) -> Result<Trust, String> {
        let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let certs = X509::stack_from_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!("{}: no PEM certificate in it", path.display()));
        }
        let mut b = X509StoreBuilder::new().map_err(|e| e.to_string())?;
        let mut subjects = Vec::new();
        for c in certs {
            subjects.push(crate::tls::NodeIdentity::from_cert(&c).subject);
            b.add_cert(c).map_err(|e| e.to_string())?;
        }
        Ok(Trust {
            store: Arc::new(b.build()),
            subjects,
        })
    }
}

/// Why an assertion was refused (the fault's reason; no internal detail).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XuaError {
    /// wsse:InvalidSecurity: the header is not something hiehub can check.
    #[error("{0}")]
    Invalid(String),
    /// wsse:FailedCheck: the signature, digest, signer or validity window does not hold.
    #[error("{0}")]
    FailedCheck(String),
}

/// A verified assertion: who signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub issuer: Option<String>,
    pub signer: String,
}

/// The `saml2:Assertion` of a `wsse:Security` header block, if any.
pub fn assertion_of(security: &Element) -> Option<&Element> {
    security.child(SAML_NS, "Assertion")
}

/// Verifies `assertion` (an element of the document `text`, as `xml::parse` read it) at `now`.
pub fn verify(
    text: &str,
    assertion: &Element,
    trust: &Trust,
    now: DateTime<Utc>,
) -> Result<Verified, XuaError> {
    let invalid = |m: &str| XuaError::Invalid(m.to_owned());
    let failed = |m: String| XuaError::FailedCheck(m);
    let id = assertion
        .attr("ID")
        .ok_or_else(|| invalid("the SAML assertion has no ID"))?;
    let sig = assertion
        .child(DS, "Signature")
        .ok_or_else(|| failed("the SAML assertion is not signed (no ds:Signature in it)".into()))?;
    let signed_info = sig
        .child(DS, "SignedInfo")
        .ok_or_else(|| invalid("ds:Signature without ds:SignedInfo"))?;
    let c14n_method = signed_info
        .child(DS, "CanonicalizationMethod")
        .ok_or_else(|| invalid("ds:SignedInfo without ds:CanonicalizationMethod"))?;
    if c14n_method.attr("Algorithm") != Some(EXC_C14N) {
        return Err(invalid(&format!(
            "canonicalisation {} is not supported (only {EXC_C14N})",
            c14n_method.attr("Algorithm").unwrap_or("(none)")
        )));
    }
    let sig_alg = signed_info
        .child(DS, "SignatureMethod")
        .and_then(|m| m.attr("Algorithm"))
        .ok_or_else(|| invalid("ds:SignedInfo without ds:SignatureMethod"))?;
    let sig_digest = signature_digest(sig_alg)
        .ok_or_else(|| invalid(&format!("signature method {sig_alg} is not supported")))?;

    let refs: Vec<&Element> = signed_info.children_named(DS, "Reference").collect();
    let [reference] = refs.as_slice() else {
        return Err(invalid("ds:SignedInfo must hold exactly one ds:Reference"));
    };
    if reference.attr("URI") != Some(&format!("#{id}")) {
        return Err(failed(format!(
            "the signature's reference is {}, not this assertion (#{id})",
            reference.attr("URI").unwrap_or("(none)")
        )));
    }
    let mut inclusive = Vec::new();
    if let Some(ts) = reference.child(DS, "Transforms") {
        for t in ts.children_named(DS, "Transform") {
            match t.attr("Algorithm") {
                Some(ENVELOPED) => {}
                Some(EXC_C14N) => inclusive = prefix_list(t),
                other => {
                    return Err(invalid(&format!(
                        "transform {} is not supported",
                        other.unwrap_or("(none)")
                    )));
                }
            }
        }
    }
    let digest_alg = reference
        .child(DS, "DigestMethod")
        .and_then(|m| m.attr("Algorithm"))
        .ok_or_else(|| invalid("ds:Reference without ds:DigestMethod"))?;
    let digest = digest_of(digest_alg)
        .ok_or_else(|| invalid(&format!("digest method {digest_alg} is not supported")))?;
    let b64 = |e: Option<&Element>, what: &str| -> Result<Vec<u8>, XuaError> {
        let t: String = e
            .map(|e| e.text())
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(t)
            .map_err(|_| invalid(&format!("{what} is not base64")))
    };
    let expected = b64(reference.child(DS, "DigestValue"), "ds:DigestValue")?;
    let signature = b64(sig.child(DS, "SignatureValue"), "ds:SignatureValue")?;
    let cert_der = b64(
        sig.child(DS, "KeyInfo")
            .and_then(|k| k.child(DS, "X509Data"))
            .and_then(|d| d.child(DS, "X509Certificate")),
        "ds:KeyInfo/ds:X509Data/ds:X509Certificate",
    )?;
    let cert = X509::from_der(&cert_der)
        .map_err(|_| invalid("the signing certificate in ds:KeyInfo does not parse"))?;

    // 1. The assertion (without its signature) digests to the signed value.
    let scope = |e: &Element| -> Vec<(String, String)> {
        e.scope
            .iter()
            .map(|(p, u)| (p.clone(), u.to_string()))
            .collect()
    };
    let canonical = c14n::exclusive(
        text,
        assertion.position.offset,
        &scope(assertion),
        Some(sig.position.offset),
        &inclusive,
    )
    .map_err(|e| invalid(&format!("the assertion cannot be canonicalised: {e}")))?;
    let actual = openssl::hash::hash(digest, &canonical)
        .map_err(|_| invalid("digest computation failed"))?;
    if actual.as_ref() != expected.as_slice() {
        return Err(failed(
            "the assertion's digest does not match its signature: it was changed after signing"
                .into(),
        ));
    }
    // 2. SignedInfo is signed by the certificate's key.
    let si_inclusive = prefix_list(c14n_method);
    let si = c14n::exclusive(
        text,
        signed_info.position.offset,
        &scope(signed_info),
        None,
        &si_inclusive,
    )
    .map_err(|e| invalid(&format!("ds:SignedInfo cannot be canonicalised: {e}")))?;
    let key = cert
        .public_key()
        .map_err(|_| invalid("the signing certificate has no usable key"))?;
    let ok = verify_signature(&key, sig_digest, sig_alg, &si, &signature)
        .map_err(|e| invalid(&format!("signature check failed: {e}")))?;
    if !ok {
        return Err(failed("the assertion's signature does not verify".into()));
    }
    // 3. The certificate is trusted (itself, or issued by a trusted CA).
    let signer = crate::tls::NodeIdentity::from_cert(&cert).subject;
    let trusted = (|| -> Result<bool, openssl::error::ErrorStack> {
        let chain = openssl::stack::Stack::new()?;
        let mut ctx = X509StoreContext::new()?;
        ctx.init(&trust.store, &cert, &chain, |c| c.verify_cert())
    })()
    .unwrap_or(false);
    if !trusted {
        return Err(failed(format!(
            "the assertion is signed by {signer}, which is not a trusted identity provider"
        )));
    }
    // 4. Inside its validity window.
    if let Some(c) = assertion.child(SAML_NS, "Conditions") {
        let skew = chrono::Duration::seconds(SKEW_SECONDS);
        let at = |name: &str| -> Result<Option<DateTime<Utc>>, XuaError> {
            c.attr(name)
                .map(|v| {
                    DateTime::parse_from_rfc3339(v)
                        .map(|t| t.with_timezone(&Utc))
                        .map_err(|_| invalid(&format!("Conditions/@{name} '{v}' is not a time")))
                })
                .transpose()
        };
        if let Some(nb) = at("NotBefore")?
            && now + skew < nb
        {
            return Err(failed(format!("the assertion is not valid before {nb}")));
        }
        if let Some(na) = at("NotOnOrAfter")?
            && now - skew >= na
        {
            return Err(failed(format!("the assertion expired at {na}")));
        }
    }
    Ok(Verified {
        issuer: assertion
            .child(SAML_NS, "Issuer")
            .map(|i| i.text().trim().to_owned()),
        signer,
    })
}

fn prefix_list(transform: &Element) -> Vec<String> {
    transform
        .child(EXC_C14N, "InclusiveNamespaces")
        .and_then(|i| i.attr("PrefixList"))
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

fn digest_of(alg: &str) -> Option<MessageDigest> {
    match alg {
        "http://www.w3.org/2000/09/xmldsig#sha1" => Some(MessageDigest::sha1()),
        "http://www.w3.org/2001/04/xmlenc#sha256" => Some(MessageDigest::sha256()),
        "http://www.w3.org/2001/04/xmlenc#sha512" => Some(MessageDigest::sha512()),
        _ => None,
    }
}

fn signature_digest(alg: &str) -> Option<MessageDigest> {
    match alg {
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1" => Some(MessageDigest::sha1()),
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
        | "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256" => Some(MessageDigest::sha256()),
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => Some(MessageDigest::sha512()),
        _ => None,
    }
}

fn verify_signature(
    key: &openssl::pkey::PKey<openssl::pkey::Public>,
    digest: MessageDigest,
    alg: &str,
    data: &[u8],
    signature: &[u8],
) -> Result<bool, openssl::error::ErrorStack> {
    let der;
    let signature = if alg.contains("ecdsa") {
        // XML-DSig carries r || s; OpenSSL verifies DER.
        let half = signature.len() / 2;
        let r = openssl::bn::BigNum::from_slice(&signature[..half])?;
        let s = openssl::bn::BigNum::from_slice(&signature[half..])?;
        der = openssl::ecdsa::EcdsaSig::from_private_components(r, s)?.to_der()?;
        der.as_slice()
    } else {
        signature
    };
    let mut v = openssl::sign::Verifier::new(digest, key)?;
    v.update(data)?;
    v.verify(signature)
}
