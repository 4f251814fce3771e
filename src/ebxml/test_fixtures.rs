//! Test support: the XDS samples of `../shared/fixtures/` (see its README) brought to the body
//! element a transaction handler would see — MIME decoded and XOP resolved for the captures,
//! unwrapped from the SOAP envelope, template placeholders replaced. Shared by the `ebxml` and
//! `xds` tests. The fixtures themselves are never modified (STYLE lesson 12).

use std::path::PathBuf;

use crate::soap::{SOAP12_NS, envelope, mtom};
use crate::xml::{self, Element, Limits};

/// Values for the placeholders of the template fixtures (longest first, so no placeholder is a
/// prefix of a longer one when replaced).
const PLACEHOLDERS: &[(&str, &str)] = &[
    ("$XDSDocumentEntry.uniqueId", "1.42.20090805172839.1"),
    ("$XDSSubmissionSet.uniqueId", "1.42.20090805172839.2"),
    (
        "$tran_doc_uuid",
        "urn:uuid:9b2e7f1c-3a53-4c6e-8a8e-2f0d6c1e9a11",
    ),
    // An attribute value: the ampersands are written as the XML needs them.
    (
        "$patientId",
        "c4d77e21d0dd487^^^&amp;1.3.6.1.4.1.21367.2005.3.7&amp;ISO",
    ),
    (
        "$SubmissionSet01$",
        "urn:uuid:2f6c8a3e-0d5b-4a5f-9d3e-6a1b7c8d9e01",
    ),
    (
        "$AssociationHM01$",
        "urn:uuid:2f6c8a3e-0d5b-4a5f-9d3e-6a1b7c8d9e02",
    ),
    (
        "$Folder01$",
        "urn:uuid:2f6c8a3e-0d5b-4a5f-9d3e-6a1b7c8d9e03",
    ),
    ("$repuid$", "1.19.6.24.109.42.1"),
    ("$docuid1$", "1.42.20120430135820.36"),
    ("$docuid2$", "1.42.20120430135820.38"),
];

/// The XDS fixtures whose body is an ebXML message, relative to `../shared/fixtures/`.
pub(crate) const XDS_FIXTURES: &[&str] = &[
    "nist/xds/valid-iti41-http-capture-mtom.txt",
    "nist/xds/valid-iti41-multipart-inline-base64/body.txt",
    "nist/xds/valid-iti18-finddocuments.xml",
    "nist/xds/invalid-iti18-status-not-in-parentheses.xml",
    "nist/xds/invalid-iti41-element-order.xml",
    "nist/xds/invalid-iti43-element-order.xml",
    "nist/xds/template-iti43-retrieve-two-documents/query.xml",
    "nist/xds/template-iti62-remove-folder/remove.xml",
    "nist/xds/template-iti62-remove-folder/remove_fd.xml",
    "nist/xds/template-iti62-remove-folder/remove_all.xml",
    "dcm4chee/xds/valid-iti42-register-one-document.xml",
    "dcm4chee/xds/valid-iti42-create-folder.xml",
    "openxds/xds/template-iti41-transformation-XFRM.xml",
    "nist/xds-i/rad68-kos-single-image/metadata.xml",
];

pub(crate) fn shared(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures")
        .join(rel)
}

pub(crate) fn read(rel: &str) -> Vec<u8> {
    let p = shared(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", p.display()))
}

/// A file name usable for golden files: `nist/xds/x.xml` → `nist-xds-x`.
pub(crate) fn golden_name(rel: &str) -> String {
    let stem = rel
        .strip_suffix(".xml")
        .or_else(|| rel.strip_suffix(".txt"))
        .unwrap_or(rel);
    stem.replace('/', "-")
}

fn replace_placeholders(text: &str) -> String {
    let mut s = text.to_string();
    for (k, v) in PLACEHOLDERS {
        s = s.replace(k, v);
    }
    s
}

/// The single child of `env:Body`, when `root` is a SOAP 1.2 envelope; `root` otherwise.
fn unwrap_envelope(root: Element) -> Element {
    if !root.is(SOAP12_NS, "Envelope") {
        return root;
    }
    root.child(SOAP12_NS, "Body")
        .and_then(|b| b.elements().next())
        .cloned()
        .unwrap_or_else(|| panic!("SOAP envelope without a body element"))
}

/// A raw HTTP request: the Content-Type header value and the body.
fn split_http(capture: &[u8]) -> (String, Vec<u8>) {
    let (head_len, sep_len) = match capture.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => (i, 4),
        None => match capture.windows(2).position(|w| w == b"\n\n") {
            Some(i) => (i, 2),
            None => panic!("HTTP capture without a blank line"),
        },
    };
    let head = String::from_utf8_lossy(&capture[..head_len]);
    let content_type = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-type")
                .then(|| value.trim().to_string())
        })
        .unwrap_or_else(|| panic!("HTTP capture without Content-Type"));
    (content_type, capture[head_len + sep_len..].to_vec())
}

/// The Content-Type a NIST testplan.xml gives in `<Headers>`.
fn testplan_content_type(testplan_rel: &str) -> String {
    let text = String::from_utf8_lossy(&read(testplan_rel)).into_owned();
    text.lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Content-Type:")
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| panic!("{testplan_rel} has no Content-Type header"))
}

fn mime_body(content_type: &str, body: &[u8]) -> Element {
    let parts = mtom::decode(content_type, body, mtom::Limits::default())
        .unwrap_or_else(|e| panic!("MIME decoding failed: {e}"));
    let mut root = xml::parse(&parts.root.body, &Limits::default())
        .unwrap_or_else(|e| panic!("root part: {e}"));
    envelope::resolve_xop(&mut root, &parts).unwrap_or_else(|f| panic!("XOP: {}", f.reason));
    unwrap_envelope(root)
}

/// The body element of fixture `rel`.
pub(crate) fn body(rel: &str) -> Element {
    if rel.ends_with("valid-iti41-http-capture-mtom.txt") {
        let (ct, body) = split_http(&read(rel));
        return mime_body(&ct, &body);
    }
    if rel.ends_with("body.txt") {
        let dir = rel.rsplit_once('/').map_or("", |(d, _)| d);
        let ct = testplan_content_type(&format!("{dir}/testplan.xml"));
        return mime_body(&ct, &read(rel));
    }
    let text = String::from_utf8(read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let text = replace_placeholders(&text);
    let root =
        xml::parse(text.as_bytes(), &Limits::default()).unwrap_or_else(|e| panic!("{rel}: {e}"));
    unwrap_envelope(root)
}

/// The KOS manifest that goes with the RAD-68 metadata as `Document01`.
pub(crate) fn rad68_document() -> Vec<u8> {
    read("nist/xds-i/rad68-kos-single-image/kos_modified.dcm")
}
