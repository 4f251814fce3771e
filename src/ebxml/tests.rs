//! Tests of the ebXML codec: golden files (STYLE lesson 11) under `tests/data/ebxml/`, every XDS
//! fixture of `../shared/fixtures/` (STYLE lesson 12), round trips, and one test per kind of
//! decoding error.
//!
//! Golden files: `ok/<name>.xml` must decode; its canonical re-encoding (indented) is compared
//! with `ok/<name>.expected.xml`. `err/<name>.xml` must be refused; the error text is compared
//! with `err/<name>.expected.txt`. `fixtures/<name>.expected.xml` pins the decoded view of each
//! third-party sample. A missing expected file is written; `HIEHUB_BLESS=1` rewrites them all
//! (review the diff).

use std::path::{Path, PathBuf};

use bytes::Bytes;
use proptest::prelude::*;

use super::test_fixtures::{self, XDS_FIXTURES, golden_name};
use super::*;
use crate::soap::envelope::resolve_xop;
use crate::soap::mtom::{Multipart, Part};
use crate::xml::{self, Limits};

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/ebxml")
}

/// What the codec makes of `input`: the indented re-encoding, or the error.
fn render(input: &[u8]) -> Result<String, String> {
    let root = xml::parse(input, &Limits::default()).map_err(|e| format!("XML error: {e}\n"))?;
    render_element(&root)
}

fn render_element(root: &crate::xml::Element) -> Result<String, String> {
    match Message::decode(root) {
        Ok(m) => Ok(m.to_xml(EncodeOptions::PRETTY).xml + "\n"),
        Err(e) => Err(format!("{e}\n")),
    }
}

/// Compares `actual` with the file `expected`; writes it when missing or when blessing.
fn check(actual: &str, expected: &Path) {
    let bless = std::env::var_os("HIEHUB_BLESS").is_some_and(|v| v == "1");
    match std::fs::read_to_string(expected) {
        Ok(want) if !bless => {
            if want != actual {
                panic!(
                    "{} differs from the output (HIEHUB_BLESS=1 to accept):\n--- expected\n{want}\n--- actual\n{actual}",
                    expected.display()
                );
            }
        }
        _ => {
            if let Some(dir) = expected.parent() {
                std::fs::create_dir_all(dir).expect("create golden directory");
            }
            std::fs::write(expected, actual).expect("write golden file");
            eprintln!("wrote {}", expected.display());
        }
    }
}

fn inputs(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data_dir().join(dir))
        .unwrap_or_else(|e| panic!("tests/data/ebxml/{dir}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(".xml") && !name.contains(".expected.")
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no inputs in tests/data/ebxml/{dir}");
    files
}

fn with_suffix(input: &Path, suffix: &str) -> PathBuf {
    let stem = input
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("input");
    input.with_file_name(format!("{stem}{suffix}"))
}

#[test]
fn golden_ok() {
    for input in inputs("ok") {
        let bytes = std::fs::read(&input).expect("read input");
        match render(&bytes) {
            Ok(out) => check(&out, &with_suffix(&input, ".expected.xml")),
            Err(e) => panic!("{} must decode, but: {e}", input.display()),
        }
    }
}

#[test]
fn golden_err() {
    for input in inputs("err") {
        let bytes = std::fs::read(&input).expect("read input");
        match render(&bytes) {
            Ok(out) => panic!(
                "{} must be refused, but decoded to:\n{out}",
                input.display()
            ),
            Err(e) => check(&e, &with_suffix(&input, ".expected.txt")),
        }
    }
}

#[test]
fn golden_ok_outputs_are_fixpoints() {
    // The canonical form decodes to the same message and encodes to itself.
    for input in inputs("ok") {
        let bytes = std::fs::read(&input).expect("read input");
        let Ok(once) = render(&bytes) else { continue };
        let twice = render(once.as_bytes()).unwrap_or_else(|e| panic!("{}: {e}", input.display()));
        assert_eq!(once, twice, "{}", input.display());
    }
}

#[test]
fn every_xds_fixture_gets_its_golden_outcome() {
    for rel in XDS_FIXTURES {
        let body = test_fixtures::body(rel);
        let (out, suffix) = match render_element(&body) {
            Ok(out) => (out, ".expected.xml"),
            Err(e) => (e, ".expected.txt"),
        };
        check(
            &out,
            &data_dir()
                .join("fixtures")
                .join(format!("{}{suffix}", golden_name(rel))),
        );
        let schema_invalid = rel.contains("element-order");
        assert_eq!(
            Message::decode(&body).is_err(),
            schema_invalid,
            "{rel}: only the schema-invalid fixtures are refused"
        );
    }
}

/// `decode(encode(x)) == x` for every encoding option.
fn assert_round_trip(m: &Message) {
    for opts in [
        EncodeOptions::INLINE,
        EncodeOptions::PRETTY,
        EncodeOptions::MTOM,
    ] {
        let encoded = m.to_xml(opts);
        let mut root = xml::parse(encoded.xml.as_bytes(), &Limits::default())
            .unwrap_or_else(|e| panic!("our own output is not XML ({e}):\n{}", encoded.xml));
        if opts.binary == BinaryEncoding::Mtom {
            resolve_xop(&mut root, &as_multipart(&encoded))
                .expect("our xop:Include elements resolve");
        } else {
            assert!(encoded.attachments.is_empty());
        }
        let back = Message::decode(&root).unwrap_or_else(|e| panic!("{e}\n{}", encoded.xml));
        assert_eq!(&back, m, "round trip with {opts:?}");
    }
}

/// The MIME parts a receiver would have after decoding what we encoded.
fn as_multipart(encoded: &Encoded) -> Multipart {
    let part = |cid: Option<String>, ct: &str, body: Bytes| Part {
        content_id: cid,
        content_type: Some(ct.to_string()),
        headers: Vec::new(),
        body,
    };
    Multipart {
        root: part(
            Some("root@hiehub".into()),
            "application/xop+xml",
            Bytes::from(encoded.xml.clone()),
        ),
        attachments: encoded
            .attachments
            .iter()
            .map(|a| {
                part(
                    Some(crate::soap::mtom::normalize_cid(&a.content_id)),
                    &a.content_type,
                    a.body.clone(),
                )
            })
            .collect(),
    }
}

#[test]
fn every_decodable_xds_fixture_round_trips() {
    let mut decoded = 0;
    for rel in XDS_FIXTURES {
        if let Ok(m) = Message::decode(&test_fixtures::body(rel)) {
            assert_round_trip(&m);
            decoded += 1;
        }
    }
    assert_eq!(decoded, XDS_FIXTURES.len() - 2);
}

#[test]
fn golden_inputs_round_trip() {
    for input in inputs("ok") {
        let root =
            xml::parse(&std::fs::read(&input).expect("read"), &Limits::default()).expect("XML");
        assert_round_trip(&Message::decode(&root).expect("decodes"));
    }
}

#[test]
fn nist_mtom_capture_shares_the_attachment_bytes() {
    let body = test_fixtures::body("nist/xds/valid-iti41-http-capture-mtom.txt");
    let pnr = ProvideAndRegisterDocumentSetRequest::decode(&body).expect("decodes");
    assert_eq!(pnr.documents.len(), 1);
    let doc = &pnr.documents[0];
    assert_eq!(doc.id, "urn:uuid:2fa9ec30-8fa8-1888-c28c-0800271b8967");
    assert!(doc.bytes.starts_with(b"<?xml"), "the text/xml attachment");
    // The ObjectRefs to the classification schemes come through as ObjectRefs.
    assert_eq!(pnr.submit.objects.object_refs().count(), 22);
}

#[test]
fn inline_base64_document_is_decoded() {
    let body = test_fixtures::body("nist/xds/valid-iti41-multipart-inline-base64/body.txt");
    let pnr = ProvideAndRegisterDocumentSetRequest::decode(&body).expect("decodes");
    assert_eq!(pnr.documents[0].id, "Document01");
    assert_eq!(
        &pnr.documents[0].bytes[..],
        b"This is my document.\r\n\r\nIt is great!\r\n"
    );
}

#[test]
fn mtom_encoding_returns_attachments_with_the_document_mime_type() {
    let body = test_fixtures::body("nist/xds/valid-iti41-multipart-inline-base64/body.txt");
    let pnr = ProvideAndRegisterDocumentSetRequest::decode(&body).expect("decodes");
    let encoded = pnr.to_xml(EncodeOptions::MTOM);
    assert_eq!(encoded.attachments.len(), 1);
    let a = &encoded.attachments[0];
    assert_eq!(a.content_id, "document1@hiehub");
    assert_eq!(a.content_type, "text/plain");
    assert_eq!(a.body, pnr.documents[0].bytes);
    assert!(encoded.xml.contains(
        "<xdsb:Document id=\"Document01\"><xop:Include xmlns:xop=\"http://www.w3.org/2004/08/xop/include\" href=\"cid:document1@hiehub\"/></xdsb:Document>"
    ));
    let inline = pnr.to_xml(EncodeOptions::INLINE);
    assert!(
        inline
            .xml
            .contains(">VGhpcyBpcyBteSBkb2N1bWVudC4NCg0KSXQgaXMgZ3JlYXQhDQo=</xdsb:Document>")
    );
}

#[test]
fn encoding_is_deterministic() {
    for rel in XDS_FIXTURES {
        if let Ok(m) = Message::decode(&test_fixtures::body(rel)) {
            assert_eq!(m.to_xml(EncodeOptions::MTOM), m.to_xml(EncodeOptions::MTOM));
        }
    }
}

fn decode_str(s: &str) -> Result<Message, DecodeError> {
    Message::decode(&xml::parse(s.as_bytes(), &Limits::default()).expect("well-formed"))
}

const SOR: &str = r#"<lcm:SubmitObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><rim:RegistryObjectList>BODY</rim:RegistryObjectList></lcm:SubmitObjectsRequest>"#;

fn sor(objects: &str) -> Result<Message, DecodeError> {
    decode_str(&SOR.replace("BODY", objects))
}

#[test]
fn element_order_fixture_is_refused_at_the_misplaced_slot() {
    let body = test_fixtures::body("nist/xds/invalid-iti41-element-order.xml");
    match ProvideAndRegisterDocumentSetRequest::decode(&body) {
        Err(DecodeError::UnexpectedElement {
            path,
            found,
            expected,
            at,
        }) => {
            assert_eq!(found, "rim:Slot");
            // Line 11 of the file, which starts with a blank line (the README's "line 10" does not count it).
            assert_eq!(at.line, 11);
            assert_eq!(
                path,
                "/xdsb:ProvideAndRegisterDocumentSetRequest/lcm:SubmitObjectsRequest/rim:RegistryObjectList/rim:ExtrinsicObject[@id='Document01']"
            );
            assert_eq!(
                expected,
                [
                    "rim:VersionInfo",
                    "rim:Classification",
                    "rim:ExternalIdentifier",
                    "rim:ContentVersionInfo"
                ]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn iti43_element_order_fixture_is_refused_at_the_document_unique_id() {
    let body = test_fixtures::body("nist/xds/invalid-iti43-element-order.xml");
    let err = RetrieveDocumentSetRequest::decode(&body).expect_err("schema-invalid");
    assert_eq!(
        err.to_string(),
        "/xdsb:RetrieveDocumentSetRequest/xdsb:DocumentRequest[1]: unexpected element <xdsb:DocumentUniqueId> at line 15, column 17; expected one of <xdsb:HomeCommunityId>, <xdsb:RepositoryUniqueId>"
    );
}

#[test]
fn unknown_attributes_are_tolerated() {
    let m = sor(r#"<rim:ObjectRef id="urn:uuid:1" ext:foo="bar" xmlns:ext="urn:x" other="1"/>"#)
        .expect("decodes");
    let Message::SubmitObjectsRequest(s) = m else {
        panic!("wrong message")
    };
    assert_eq!(
        s.objects.objects,
        [Identifiable::ObjectRef(ObjectRef::new("urn:uuid:1"))]
    );
}

#[test]
fn unknown_elements_are_refused() {
    let err =
        sor(r#"<rim:ExtrinsicObject id="a"><x:Extra xmlns:x="urn:x"/></rim:ExtrinsicObject>"#)
            .expect_err("refused");
    assert!(
        matches!(&err, DecodeError::UnexpectedElement { found, .. } if found == "{urn:x}Extra"),
        "{err:?}"
    );
}

#[test]
fn non_xds_registry_objects_are_refused_by_name() {
    let err = sor(r#"<rim:ClassificationNode id="a"/>"#).expect_err("refused");
    assert!(
        matches!(&err, DecodeError::UnsupportedObject { element, .. } if element == "rim:ClassificationNode"),
        "{err:?}"
    );
}

#[test]
fn missing_required_attributes_are_named() {
    let err =
        sor(r#"<rim:Association id="a" sourceObject="s" targetObject="t"/>"#).expect_err("refused");
    assert!(
        matches!(&err, DecodeError::MissingAttribute { attribute, path, .. }
            if attribute == "associationType" && path.ends_with("rim:Association[@id='a']")),
        "{err:?}"
    );
    let err = sor(r#"<rim:ExtrinsicObject/>"#).expect_err("refused");
    assert!(
        matches!(&err, DecodeError::MissingAttribute { attribute, path, .. }
            if attribute == "id" && path.ends_with("rim:RegistryObjectList/rim:ExtrinsicObject")),
        "{err:?}"
    );
}

#[test]
fn missing_required_elements_are_named() {
    let err = sor(r#"<rim:ExtrinsicObject id="a"><rim:Slot name="x"/></rim:ExtrinsicObject>"#)
        .expect_err("refused");
    assert!(
        matches!(&err, DecodeError::MissingElement { missing, .. } if missing == "rim:ValueList"),
        "{err:?}"
    );
    let err = decode_str(
        r#"<lcm:SubmitObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"/>"#,
    )
    .expect_err("refused");
    assert!(
        matches!(&err, DecodeError::MissingElement { missing, .. } if missing == "rim:RegistryObjectList"),
        "{err:?}"
    );
}

#[test]
fn invalid_attribute_values_are_refused() {
    let err = sor(r#"<rim:ExtrinsicObject id="a" isOpaque="yes"/>"#).expect_err("refused");
    assert!(
        matches!(&err, DecodeError::InvalidAttribute { attribute, value, .. } if attribute == "isOpaque" && value == "yes"),
        "{err:?}"
    );
}

#[test]
fn text_in_element_only_content_is_refused() {
    let err =
        sor(r#"<rim:ExtrinsicObject id="a">stray</rim:ExtrinsicObject>"#).expect_err("refused");
    assert!(matches!(err, DecodeError::UnexpectedText { .. }), "{err:?}");
    // Blank text (indentation) is fine.
    sor("<rim:ExtrinsicObject id=\"a\">\n  \t</rim:ExtrinsicObject>").expect("decodes");
}

#[test]
fn invalid_base64_is_refused_and_unresolved_xop_is_named() {
    let pnr = |doc: &str| {
        decode_str(&format!(
            r#"<xdsb:ProvideAndRegisterDocumentSetRequest xmlns:xdsb="urn:ihe:iti:xds-b:2007" xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><lcm:SubmitObjectsRequest><rim:RegistryObjectList/></lcm:SubmitObjectsRequest>{doc}</xdsb:ProvideAndRegisterDocumentSetRequest>"#
        ))
    };
    let err = pnr(r#"<xdsb:Document id="d">@@@</xdsb:Document>"#).expect_err("refused");
    assert!(matches!(err, DecodeError::InvalidBase64 { .. }), "{err:?}");
    let err = pnr(r#"<xdsb:Document id="d"><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:x"/></xdsb:Document>"#)
        .expect_err("refused");
    assert!(
        matches!(&err, DecodeError::UnexpectedElement { found, .. } if found == "xop:Include"),
        "{err:?}"
    );
}

#[test]
fn wrong_root_lists_the_messages() {
    let err = decode_str("<a/>").expect_err("refused");
    let text = err.to_string();
    assert!(text.starts_with("unexpected root element <a> at line 1, column 1; expected one of <lcm:SubmitObjectsRequest>, "), "{text}");
    assert_eq!(err.path(), "/");
}

#[test]
fn registry_response_with_errors_is_encoded_as_specified() {
    let r = RegistryResponse {
        status: ResponseStatus::Failure,
        request_id: None,
        response_slots: Vec::new(),
        errors: Some(RegistryErrorList::new(vec![RegistryError {
            error_code: "XDSPatientIdDoesNotMatch".into(),
            code_context: "DocumentEntry 'Document01': patientId <a&b> differs".into(),
            location: Some("Submission.patientId.consistent".into()),
            severity: Some(ErrorSeverity::Error),
            message: String::new(),
        }])),
    };
    assert_eq!(
        r.to_xml(EncodeOptions::INLINE).xml,
        "<rs:RegistryResponse xmlns:rs=\"urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0\" status=\"urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure\">\
<rs:RegistryErrorList highestSeverity=\"urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error\">\
<rs:RegistryError errorCode=\"XDSPatientIdDoesNotMatch\" codeContext=\"DocumentEntry 'Document01': patientId &#60;a&amp;b> differs\" location=\"Submission.patientId.consistent\" severity=\"urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error\"/>\
</rs:RegistryErrorList></rs:RegistryResponse>"
    );
    assert_round_trip(&Message::RegistryResponse(r));
}

#[test]
fn warnings_only_give_highest_severity_warning() {
    let list = RegistryErrorList::new(vec![RegistryError {
        severity: Some(ErrorSeverity::Warning),
        ..RegistryError::default()
    }]);
    assert_eq!(list.highest_severity, Some(ErrorSeverity::Warning));
    assert_eq!(
        RegistryErrorList::new(vec![RegistryError::default()]).highest_severity,
        Some(ErrorSeverity::Error)
    );
}

#[test]
fn statuses_parse_and_print() {
    for s in [
        ResponseStatus::Success,
        ResponseStatus::Failure,
        ResponseStatus::PartialSuccess,
        ResponseStatus::IhePartialSuccess,
        ResponseStatus::Other("urn:x".into()),
    ] {
        assert_eq!(ResponseStatus::parse(s.as_str()), s);
    }
    assert_eq!(
        rs::STATUS_IHE_PARTIAL_SUCCESS,
        "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess"
    );
}

/// Text XML 1.0 can carry (no control characters but TAB, LF, CR).
fn xml_text() -> impl Strategy<Value = String> {
    "[ -~\t\n\r\u{a0}-\u{2ff}\u{4e00}-\u{4e10}]{0,12}"
}

fn slot() -> impl Strategy<Value = Slot> {
    (
        xml_text(),
        prop::option::of(xml_text()),
        prop::collection::vec(xml_text(), 0..3),
    )
        .prop_map(|(name, slot_type, values)| Slot {
            name,
            slot_type,
            values,
        })
}

fn registry_object() -> impl Strategy<Value = RegistryObject> {
    (
        xml_text(),
        prop::option::of(xml_text()),
        prop::collection::vec(slot(), 0..3),
        prop::option::of(prop::collection::vec(
            (xml_text(), prop::option::of(xml_text())),
            0..2,
        )),
        prop::option::of((prop::option::of(xml_text()), prop::option::of(xml_text()))),
    )
        .prop_map(|(id, status, slots, name, version)| RegistryObject {
            id,
            status,
            slots,
            name: name.map(|n| InternationalString {
                localized: n
                    .into_iter()
                    .map(|(value, lang)| LocalizedString {
                        lang,
                        charset: None,
                        value,
                    })
                    .collect(),
            }),
            version_info: version.map(|(version_name, comment)| VersionInfo {
                version_name,
                comment,
            }),
            ..RegistryObject::default()
        })
}

fn identifiable() -> impl Strategy<Value = Identifiable> {
    prop_oneof![
        (
            registry_object(),
            prop::option::of(xml_text()),
            prop::option::of(any::<bool>())
        )
            .prop_map(|(object, mime_type, is_opaque)| {
                Identifiable::ExtrinsicObject(ExtrinsicObject {
                    object,
                    mime_type,
                    is_opaque,
                    content_version_info: None,
                })
            }),
        (registry_object(), xml_text(), xml_text(), xml_text()).prop_map(|(object, a, s, t)| {
            Identifiable::Association(Association {
                object,
                association_type: a,
                source_object: s,
                target_object: t,
            })
        }),
        (
            registry_object(),
            registry_object(),
            xml_text(),
            prop::option::of(xml_text())
        )
            .prop_map(|(mut object, c, target, node)| {
                object.classifications.push(Classification {
                    object: c,
                    classification_scheme: Some(
                        "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a".into(),
                    ),
                    classified_object: target,
                    classification_node: None,
                    node_representation: node,
                });
                Identifiable::RegistryPackage(RegistryPackage {
                    object,
                    members: None,
                })
            }),
        (xml_text(), prop::collection::vec(slot(), 0..2)).prop_map(|(id, slots)| {
            Identifiable::ObjectRef(ObjectRef {
                id,
                home: None,
                create_replica: None,
                slots,
            })
        }),
    ]
}

proptest! {
    #[test]
    fn submit_objects_requests_round_trip(objects in prop::collection::vec(identifiable(), 0..4), comment in prop::option::of(xml_text())) {
        let m = Message::SubmitObjectsRequest(SubmitObjectsRequest {
            request: RegistryRequest { id: None, comment, request_slots: Vec::new() },
            objects: RegistryObjectList { objects },
        });
        assert_round_trip(&m);
    }

    #[test]
    fn documents_round_trip(content in prop::collection::vec(any::<u8>(), 0..300), id in "[a-zA-Z0-9:._-]{1,20}") {
        let m = Message::ProvideAndRegisterDocumentSetRequest(ProvideAndRegisterDocumentSetRequest {
            submit: SubmitObjectsRequest::default(),
            documents: vec![Document { id, bytes: Bytes::from(content) }],
        });
        assert_round_trip(&m);
    }
}
