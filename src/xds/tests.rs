//! Tests of the XDS metadata layer: every XDS fixture with its expected outcome (fixtures
//! README), one test per structural rule, and round trips ebXML → XDS → ebXML.

use std::collections::BTreeSet;

use bytes::Bytes;

use super::*;
use crate::ebxml::test_fixtures::{self, XDS_FIXTURES};
use crate::ebxml::{self, EncodeOptions, WireMessage};
use crate::xml::{self as xml_reader, Limits};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn register_fixture(rel: &str) -> ebxml::SubmitObjectsRequest {
    ebxml::SubmitObjectsRequest::decode(&test_fixtures::body(rel)).expect("fixture decodes")
}

/// dcm4chee's ITI-42 sample: one DocumentEntry, all ids UUIDs.
fn one_document() -> ebxml::SubmitObjectsRequest {
    register_fixture("dcm4chee/xds/valid-iti42-register-one-document.xml")
}

/// NIST's ITI-41 sample with an inline document: symbolic ids.
fn provide() -> ebxml::ProvideAndRegisterDocumentSetRequest {
    ebxml::ProvideAndRegisterDocumentSetRequest::decode(&test_fixtures::body(
        "nist/xds/valid-iti41-multipart-inline-base64/body.txt",
    ))
    .expect("fixture decodes")
}

fn register(req: &ebxml::SubmitObjectsRequest) -> (Option<Submission>, Vec<Problem>) {
    submission_from_register(req)
}

fn errors(problems: &[Problem]) -> Vec<&Problem> {
    problems.iter().filter(|p| p.is_error()).collect()
}

fn error_rules(problems: &[Problem]) -> BTreeSet<&'static str> {
    errors(problems).iter().map(|p| p.rule).collect()
}

fn show(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("  {p}\n")).collect()
}

/// Exactly the errors `rules` (each with `code`), nothing else at error level.
#[track_caller]
fn expect_errors(problems: &[Problem], rules: &[&str], code: ErrorCode) {
    let got = error_rules(problems);
    let want: BTreeSet<&str> = rules.iter().copied().collect();
    assert_eq!(got, want, "problems:\n{}", show(problems));
    for p in errors(problems) {
        assert_eq!(p.code, code, "{p}");
    }
}

#[track_caller]
fn expect_clean(problems: &[Problem]) {
    assert!(
        errors(problems).is_empty(),
        "unexpected errors:\n{}",
        show(problems)
    );
}

fn entry(req: &mut ebxml::SubmitObjectsRequest) -> &mut ebxml::ExtrinsicObject {
    req.objects
        .objects
        .iter_mut()
        .find_map(|o| match o {
            ebxml::Identifiable::ExtrinsicObject(e) => Some(e),
            _ => None,
        })
        .expect("an ExtrinsicObject")
}

fn package(req: &mut ebxml::SubmitObjectsRequest, index: usize) -> &mut ebxml::RegistryPackage {
    req.objects
        .objects
        .iter_mut()
        .filter_map(|o| match o {
            ebxml::Identifiable::RegistryPackage(p) => Some(p),
            _ => None,
        })
        .nth(index)
        .expect("a RegistryPackage")
}

fn association(req: &mut ebxml::SubmitObjectsRequest) -> &mut ebxml::Association {
    req.objects
        .objects
        .iter_mut()
        .find_map(|o| match o {
            ebxml::Identifiable::Association(a) => Some(a),
            _ => None,
        })
        .expect("an Association")
}

fn remove_slot(o: &mut ebxml::RegistryObject, name: &str) {
    let before = o.slots.len();
    o.slots.retain(|s| s.name != name);
    assert!(o.slots.len() < before, "no slot {name}");
}

fn set_slot(o: &mut ebxml::RegistryObject, name: &str, values: &[&str]) {
    o.slots.retain(|s| s.name != name);
    o.slots.push(ebxml::Slot::new(name, values.iter().copied()));
}

fn remove_classifications(o: &mut ebxml::RegistryObject, scheme: &str) {
    let before = o.classifications.len();
    o.classifications
        .retain(|c| c.classification_scheme.as_deref() != Some(scheme));
    assert!(
        o.classifications.len() < before,
        "no classification {scheme}"
    );
}

fn classification(o: &mut ebxml::RegistryObject, scheme: &str) -> ebxml::Classification {
    o.classifications
        .iter()
        .find(|c| c.classification_scheme.as_deref() == Some(scheme))
        .cloned()
        .expect("classification")
}

fn classification_mut<'a>(
    o: &'a mut ebxml::RegistryObject,
    scheme: &str,
) -> &'a mut ebxml::Classification {
    o.classifications
        .iter_mut()
        .find(|c| c.classification_scheme.as_deref() == Some(scheme))
        .expect("classification")
}

fn remove_identifier(o: &mut ebxml::RegistryObject, scheme: &str) {
    let before = o.external_identifiers.len();
    o.external_identifiers
        .retain(|e| e.identification_scheme != scheme);
    assert!(
        o.external_identifiers.len() < before,
        "no identifier {scheme}"
    );
}

fn set_identifier(o: &mut ebxml::RegistryObject, scheme: &str, value: &str) {
    let e = o
        .external_identifiers
        .iter_mut()
        .find(|e| e.identification_scheme == scheme)
        .expect("identifier");
    e.value = value.to_string();
}

fn new_association(
    id: &str,
    kind: &str,
    source: &str,
    target: &str,
    status: Option<&str>,
) -> ebxml::Identifiable {
    let mut object = ebxml::RegistryObject::new(id);
    if let Some(s) = status {
        object.slots.push(ebxml::Slot::new(
            vocabulary::SLOT_SUBMISSION_SET_STATUS,
            [s],
        ));
    }
    ebxml::Identifiable::Association(ebxml::Association {
        object,
        association_type: kind.to_string(),
        source_object: source.to_string(),
        target_object: target.to_string(),
    })
}

const DE: &str = "urn:uuid:aabbccdd-bdda-424e-8c96-df4873be8501";
const SS: &str = "urn:uuid:aabbccdd-bdda-424e-8c96-df4873be8502";
const REGISTERED: &str = "urn:uuid:0d1b4fcb-3c2a-4a7e-9e0b-2a5ad3f1c001";

// ---------------------------------------------------------------------------------------------
// Fixtures (../shared/fixtures/README.md)
// ---------------------------------------------------------------------------------------------

/// The outcome the README gives each XDS fixture, as far as this layer decides it.
#[derive(Debug)]
enum Expect {
    /// A submission with no error-level problems (Success once its patient is known).
    Valid(SubmissionKind),
    /// Refused before the metadata model: schema-invalid (the code of `decode_failure`).
    SchemaInvalid(ErrorCode),
    /// Not a submission: decided by the transaction with registry data (stored query, retrieve, delete).
    NotASubmission,
}

fn expected_outcome(rel: &str) -> Expect {
    match rel {
        "nist/xds/valid-iti41-http-capture-mtom.txt"
        | "nist/xds/valid-iti41-multipart-inline-base64/body.txt"
        | "openxds/xds/template-iti41-transformation-XFRM.xml"
        | "nist/xds-i/rad68-kos-single-image/metadata.xml" => {
            Expect::Valid(SubmissionKind::ProvideAndRegister)
        }
        "dcm4chee/xds/valid-iti42-register-one-document.xml"
        | "dcm4chee/xds/valid-iti42-create-folder.xml" => Expect::Valid(SubmissionKind::Register),
        "nist/xds/invalid-iti41-element-order.xml" => {
            Expect::SchemaInvalid(ErrorCode::XDSRepositoryMetadataError)
        }
        "nist/xds/valid-iti18-finddocuments.xml"
        | "nist/xds/invalid-iti18-status-not-in-parentheses.xml"
        | "nist/xds/invalid-iti43-element-order.xml"
        | "nist/xds/template-iti43-retrieve-two-documents/query.xml"
        | "nist/xds/template-iti62-remove-folder/remove.xml"
        | "nist/xds/template-iti62-remove-folder/remove_fd.xml"
        | "nist/xds/template-iti62-remove-folder/remove_all.xml" => Expect::NotASubmission,
        other => panic!("no expected outcome for {other}"),
    }
}

/// The ITI-41 request of a fixture: as sent, or — for bare metadata — wrapped with its documents.
fn provide_request(
    rel: &str,
) -> Result<ebxml::ProvideAndRegisterDocumentSetRequest, ebxml::DecodeError> {
    let body = test_fixtures::body(rel);
    if body.is(ebxml::XDSB_NS, "ProvideAndRegisterDocumentSetRequest") {
        let mut req = ebxml::ProvideAndRegisterDocumentSetRequest::decode(&body)?;
        if rel.starts_with("openxds/") {
            // The template leaves attaching the document to the test ("attach a document as doc1").
            req.documents.push(ebxml::Document {
                id: "doc1".into(),
                bytes: Bytes::from_static(b"GIF89a"),
            });
        }
        return Ok(req);
    }
    let submit = ebxml::SubmitObjectsRequest::decode(&body)?;
    Ok(ebxml::ProvideAndRegisterDocumentSetRequest {
        submit,
        documents: vec![ebxml::Document {
            id: "Document01".into(),
            bytes: Bytes::from(test_fixtures::rad68_document()),
        }],
    })
}

fn read_fixture(rel: &str, kind: SubmissionKind) -> (Option<Submission>, Vec<Problem>) {
    match kind {
        SubmissionKind::ProvideAndRegister => match provide_request(rel) {
            Ok(req) => submission_from_provide_and_register(&req),
            Err(e) => (None, vec![decode_failure(&e, kind)]),
        },
        SubmissionKind::Register => submission_from_register(&register_fixture(rel)),
    }
}

#[test]
fn every_xds_fixture_gets_its_expected_outcome() {
    for rel in XDS_FIXTURES {
        match expected_outcome(rel) {
            Expect::Valid(kind) => {
                let (submission, problems) = read_fixture(rel, kind);
                assert!(errors(&problems).is_empty(), "{rel}:\n{}", show(&problems));
                assert!(
                    problems.is_empty(),
                    "{rel} has warnings:\n{}",
                    show(&problems)
                );
                let s = submission.unwrap_or_else(|| panic!("{rel}: no submission"));
                assert!(
                    !s.documents.is_empty() || !s.folders.is_empty(),
                    "{rel}: empty submission"
                );
            }
            Expect::SchemaInvalid(code) => {
                let (submission, problems) = read_fixture(rel, SubmissionKind::ProvideAndRegister);
                assert!(submission.is_none(), "{rel}");
                assert_eq!(problems.len(), 1, "{rel}");
                assert_eq!(problems[0].code, code, "{rel}");
                assert_eq!(problems[0].rule, "Message.schema.valid");
                assert!(
                    problems[0]
                        .message
                        .contains("unexpected element <rim:Slot> at line 11"),
                    "{}",
                    problems[0]
                );
            }
            Expect::NotASubmission => {
                let m = ebxml::Message::decode(&test_fixtures::body(rel));
                assert!(
                    !matches!(
                        m,
                        Ok(ebxml::Message::SubmitObjectsRequest(_)
                            | ebxml::Message::ProvideAndRegisterDocumentSetRequest(_))
                    ),
                    "{rel}"
                );
            }
        }
    }
}

#[test]
fn nist_mtom_capture_reads_into_the_model() {
    let (s, problems) = read_fixture(
        "nist/xds/valid-iti41-http-capture-mtom.txt",
        SubmissionKind::ProvideAndRegister,
    );
    expect_clean(&problems);
    let s = s.expect("submission");
    let d = &s.documents[0];
    assert_eq!(
        d.patient_id.to_string(),
        "509b043eb50145b^^^&1.3.6.1.4.1.21367.2005.3.7&ISO"
    );
    assert_eq!(
        d.unique_id.to_string(),
        "1.3.6.1.4.1.21367.2009.1.2.182.097130838507401^2009022441432"
    );
    assert_eq!(
        d.class_code,
        Code::new("Consent", "Connect-a-thon classCodes", "Consent")
    );
    assert_eq!(d.event_codes.len(), 1);
    assert_eq!(
        d.creation_time.map(|t| t.to_string()).as_deref(),
        Some("20090629235752")
    );
    assert_eq!(
        d.legal_authenticator
            .as_ref()
            .and_then(|l| l.family_name.as_deref()),
        Some("Wiseman")
    );
    assert_eq!(
        d.authors[0].person.as_ref().and_then(|p| p.id.as_deref()),
        Some("90000")
    );
    assert_eq!(s.submission_set.title, Some(InternationalText(vec![])));
    assert!(s.submission_set.authors.is_empty());
    assert_eq!(s.object_refs.len(), 22);
    assert_eq!(s.contents.len(), 1);
    assert!(s.content_of(&d.entry_uuid).is_some());
}

#[test]
fn dcm4chee_register_reads_hash_size_repository_and_institutions() {
    let (s, problems) = register(&one_document());
    expect_clean(&problems);
    let d = &s.expect("submission").documents[0];
    assert_eq!(d.size, Some(4));
    assert_eq!(
        d.hash.map(|h| h.to_string()).as_deref(),
        Some("e543712c0e10501972de13a5bfcbe826c49feb75")
    );
    assert_eq!(
        d.repository_unique_id.as_ref().map(Oid::as_str),
        Some("1.19.6.24.109.42.1")
    );
    assert_eq!(
        d.authors[0].institutions[0].assigning_authority.as_deref(),
        Some("1.2.3")
    );
    assert_eq!(d.authors.len(), 2);
    // The URI slot is kept as an attribute; nothing was extra.
    assert_eq!(d.uri.as_deref(), Some("http://"));
    assert!(d.extra_slots.is_empty());
}

#[test]
fn xfrm_template_leaves_its_target_to_the_registry() {
    let (s, problems) = read_fixture(
        "openxds/xds/template-iti41-transformation-XFRM.xml",
        SubmissionKind::ProvideAndRegister,
    );
    expect_clean(&problems);
    let s = s.expect("submission");
    let refs = s.external_references();
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].association_type, AssociationType::Xfrm);
    assert_eq!(refs[0].end, End::Target);
    assert_eq!(
        RegistryObjectId::Uuid(refs[0].uuid).to_string(),
        "urn:uuid:9b2e7f1c-3a53-4c6e-8a8e-2f0d6c1e9a11"
    );
}

#[test]
fn folder_submission_reads_code_list() {
    let (s, problems) = register(&register_fixture(
        "dcm4chee/xds/valid-iti42-create-folder.xml",
    ));
    expect_clean(&problems);
    let s = s.expect("submission");
    assert_eq!(s.folders.len(), 1);
    assert_eq!(s.folders[0].code_list[0].code, "Referrals");
    assert_eq!(
        s.folders[0]
            .last_update_time
            .map(|t| t.to_string())
            .as_deref(),
        Some("20041224")
    );
    assert!(s.documents.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------

/// The facts a RegistryObjectList states, independent of element placement and of the ids of
/// Classifications and ExternalIdentifiers (which the registry assigns).
fn facts(list: &ebxml::RegistryObjectList) -> BTreeSet<String> {
    use crate::xds::findings::id_key;
    let mut out = BTreeSet::new();
    let object = |o: &ebxml::RegistryObject, out: &mut BTreeSet<String>| {
        let id = id_key(&o.id);
        for s in &o.slots {
            out.insert(format!("{id} slot {} = {:?}", s.name, s.values));
        }
        let text = |t: &Option<ebxml::InternationalString>| {
            t.as_ref().map(|t| {
                t.localized
                    .iter()
                    .map(|l| (l.value.clone(), l.lang.clone()))
                    .collect::<Vec<_>>()
            })
        };
        out.insert(format!("{id} name {:?}", text(&o.name)));
        out.insert(format!("{id} description {:?}", text(&o.description)));
        out.insert(format!(
            "{id} status {:?} home {:?} lid {:?}",
            o.status, o.home, o.lid
        ));
    };
    let classification = |c: &ebxml::Classification, out: &mut BTreeSet<String>| {
        let mut slots: Vec<String> = c
            .object
            .slots
            .iter()
            .map(|s| format!("{}={:?}", s.name, s.values))
            .collect();
        slots.sort();
        out.insert(format!(
            "{} classification {:?}/{:?} {:?} {:?} {:?}",
            id_key(&c.classified_object),
            c.classification_scheme,
            c.classification_node,
            c.node_representation.as_deref().unwrap_or(""),
            slots,
            c.object.name.as_ref().and_then(|n| n.first_value()),
        ));
    };
    let identifier = |e: &ebxml::ExternalIdentifier, out: &mut BTreeSet<String>| {
        out.insert(format!(
            "{} identifier {} = {}",
            id_key(&e.registry_object),
            e.identification_scheme,
            e.value
        ));
    };
    for o in &list.objects {
        match o {
            ebxml::Identifiable::ObjectRef(r) => {
                out.insert(format!("objectref {}", id_key(&r.id)));
            }
            ebxml::Identifiable::ExtrinsicObject(e) => {
                object(&e.object, &mut out);
                out.insert(format!(
                    "{} extrinsic {:?} {:?}",
                    id_key(&e.object.id),
                    e.object.object_type,
                    e.mime_type
                ));
                e.object
                    .classifications
                    .iter()
                    .for_each(|c| classification(c, &mut out));
                e.object
                    .external_identifiers
                    .iter()
                    .for_each(|x| identifier(x, &mut out));
            }
            ebxml::Identifiable::RegistryPackage(p) => {
                object(&p.object, &mut out);
                p.object
                    .classifications
                    .iter()
                    .for_each(|c| classification(c, &mut out));
                p.object
                    .external_identifiers
                    .iter()
                    .for_each(|x| identifier(x, &mut out));
            }
            ebxml::Identifiable::Association(a) => {
                object(&a.object, &mut out);
                out.insert(format!(
                    "{} association {} {} {}",
                    id_key(&a.object.id),
                    a.association_type,
                    id_key(&a.source_object),
                    id_key(&a.target_object)
                ));
            }
            ebxml::Identifiable::Classification(c) => classification(c, &mut out),
            ebxml::Identifiable::ExternalIdentifier(x) => identifier(x, &mut out),
        }
    }
    out
}

/// Facts the model does not keep on purpose: lang/charset of code display names, the names of
/// ExternalIdentifiers, and objectType attributes of Classifications and RegistryPackages.
fn comparable(list: &ebxml::RegistryObjectList) -> BTreeSet<String> {
    let mut list = list.clone();
    for o in &mut list.objects {
        match o {
            ebxml::Identifiable::RegistryPackage(p) => p.object.object_type = None,
            ebxml::Identifiable::Association(a) => a.object.object_type = None,
            _ => {}
        }
    }
    facts(&list)
}

fn assert_round_trip(rel: &str, kind: SubmissionKind) {
    let (first, problems) = read_fixture(rel, kind);
    expect_clean(&problems);
    let first = first.expect("submission");
    // Model → ebXML → XML text → ebXML → model.
    let (again, problems) = match kind {
        SubmissionKind::ProvideAndRegister => {
            let wire = to_ebxml::provide_and_register_request(&first);
            let xml = wire.to_xml(EncodeOptions::INLINE).xml;
            let back = ebxml::ProvideAndRegisterDocumentSetRequest::decode(
                &xml_reader::parse(xml.as_bytes(), &Limits::default()).expect("XML"),
            )
            .expect("decodes");
            assert_eq!(back, wire);
            submission_from_provide_and_register(&back)
        }
        SubmissionKind::Register => {
            let wire = to_ebxml::submit_objects_request(&first);
            let xml = wire.to_xml(EncodeOptions::INLINE).xml;
            let back = ebxml::SubmitObjectsRequest::decode(
                &xml_reader::parse(xml.as_bytes(), &Limits::default()).expect("XML"),
            )
            .expect("decodes");
            submission_from_register(&back)
        }
    };
    assert!(
        problems.is_empty(),
        "{rel} after a round trip:\n{}",
        show(&problems)
    );
    assert_eq!(again.as_ref(), Some(&first), "{rel}: model → ebXML → model");
    // And the regenerated ebXML states what the sender's did.
    let original = match kind {
        SubmissionKind::ProvideAndRegister => provide_request(rel).expect("decodes").submit.objects,
        SubmissionKind::Register => register_fixture(rel).objects,
    };
    let regenerated = to_ebxml::registry_object_list(&first);
    let (want, got) = (comparable(&original), comparable(&regenerated));
    let lost: Vec<&String> = want.difference(&got).collect();
    let added: Vec<&String> = got.difference(&want).collect();
    assert!(
        lost.is_empty() && added.is_empty(),
        "{rel}\nlost: {lost:#?}\nadded: {added:#?}"
    );
}

#[test]
fn valid_fixtures_round_trip_ebxml_xds_ebxml() {
    for rel in XDS_FIXTURES {
        if let Expect::Valid(kind) = expected_outcome(rel) {
            assert_round_trip(rel, kind);
        }
    }
}

#[test]
fn extra_slots_are_kept_and_returned() {
    let mut req = one_document();
    set_slot(
        &mut entry(&mut req).object,
        "urn:example:hospital:ward",
        &["4B", "east"],
    );
    set_slot(
        &mut package(&mut req, 0).object,
        "urn:example:batch",
        &["7"],
    );
    let (s, problems) = register(&req);
    assert!(problems.is_empty(), "{}", show(&problems));
    let s = s.expect("submission");
    assert_eq!(
        s.documents[0].extra_slots,
        [Slot::new("urn:example:hospital:ward", ["4B", "east"])]
    );
    assert_eq!(
        s.submission_set.extra_slots,
        [Slot::new("urn:example:batch", ["7"])]
    );
    let back = to_ebxml::document_entry_to_ebxml(&s.documents[0]);
    assert_eq!(
        back.object.slot_values("urn:example:hospital:ward"),
        Some(&["4B".to_string(), "east".to_string()][..])
    );
}

#[test]
fn leaf_class_output_is_deterministic_with_uuid_child_ids() {
    let (s, _) = register(&one_document());
    let s = s.expect("submission");
    let a = to_ebxml::document_entry_to_ebxml(&s.documents[0]);
    let b = to_ebxml::document_entry_to_ebxml(&s.documents[0]);
    assert_eq!(a, b);
    for c in &a.object.classifications {
        assert!(RegistryObjectId::parse(&c.object.id).expect("id").is_uuid());
        assert_eq!(c.classified_object, DE);
    }
    let ids: BTreeSet<&str> = a
        .object
        .classifications
        .iter()
        .map(|c| c.object.id.as_str())
        .collect();
    assert_eq!(
        ids.len(),
        a.object.classifications.len(),
        "child ids are distinct"
    );
}

// ---------------------------------------------------------------------------------------------
// The message
// ---------------------------------------------------------------------------------------------

#[test]
fn schema_invalid_message_is_a_metadata_error_of_the_transaction() {
    let body = test_fixtures::body("nist/xds/invalid-iti41-element-order.xml");
    let err = ebxml::ProvideAndRegisterDocumentSetRequest::decode(&body).expect_err("invalid");
    let p = decode_failure(&err, SubmissionKind::ProvideAndRegister);
    assert_eq!(p.code, ErrorCode::XDSRepositoryMetadataError);
    assert_eq!(
        p.context,
        "/xdsb:ProvideAndRegisterDocumentSetRequest/lcm:SubmitObjectsRequest/rim:RegistryObjectList/rim:ExtrinsicObject[@id='Document01']"
    );
    assert_eq!(
        decode_failure(&err, SubmissionKind::Register).code,
        ErrorCode::XDSRegistryMetadataError
    );
}

// ---------------------------------------------------------------------------------------------
// Submission structure
// ---------------------------------------------------------------------------------------------

#[test]
fn rule_submission_set_exactly_one() {
    let mut req = one_document();
    req.objects
        .objects
        .retain(|o| !matches!(o, ebxml::Identifiable::RegistryPackage(_)));
    let (s, problems) = register(&req);
    assert!(s.is_none());
    // Without a SubmissionSet there is no membership to check either; its top-level
    // classification now classifies nothing.
    expect_errors(
        &problems,
        &[
            "Submission.submissionSet.exactlyOne",
            "Classification.classifiedObject.resolves",
        ],
        ErrorCode::XDSRegistryMetadataError,
    );

    let mut req = register_fixture("dcm4chee/xds/valid-iti42-create-folder.xml");
    let folder = package(&mut req, 0).object.id.clone();
    req.objects
        .objects
        .push(ebxml::Identifiable::Classification(ebxml::Classification {
            object: ebxml::RegistryObject::new("cl-second-set"),
            classification_scheme: None,
            classified_object: folder,
            classification_node: Some(vocabulary::SUBMISSION_SET.into()),
            node_representation: None,
        }));
    let (_, problems) = register(&req);
    assert!(
        error_rules(&problems).contains("RegistryPackage.kind.known"),
        "{}",
        show(&problems)
    );
}

#[test]
fn rule_registry_package_kind_known() {
    let mut req = register_fixture("dcm4chee/xds/valid-iti42-create-folder.xml");
    req.objects.objects.retain(|o| {
        !matches!(o, ebxml::Identifiable::Classification(c) if c.classification_node.as_deref() == Some(vocabulary::FOLDER))
    });
    let (_, problems) = register(&req);
    let rules = error_rules(&problems);
    assert!(
        rules.contains("RegistryPackage.kind.known"),
        "{}",
        show(&problems)
    );
}

#[test]
fn rule_ids_unique() {
    let mut req = one_document();
    association(&mut req).object.id = DE.to_string();
    let (_, problems) = register(&req);
    expect_errors(
        &problems,
        &["Submission.ids.unique"],
        ErrorCode::XDSRegistryMetadataError,
    );
}

#[test]
fn rule_unique_ids_unique_in_message() {
    let mut req = one_document();
    set_identifier(
        &mut entry(&mut req).object,
        vocabulary::DOCUMENT_ENTRY_UNIQUE_ID,
        "1.42.20120430135820.37",
    );
    let (_, problems) = register(&req);
    expect_errors(
        &problems,
        &["Submission.uniqueIds.unique"],
        ErrorCode::XDSRegistryDuplicateUniqueIdInMessage,
    );
    // In ITI-41 the repository reports it.
    let mut pnr = provide();
    let ss_unique = package(&mut pnr.submit, 0)
        .object
        .external_identifiers
        .iter()
        .find(|e| e.identification_scheme == vocabulary::SUBMISSION_SET_UNIQUE_ID)
        .map(|e| e.value.clone())
        .expect("uniqueId");
    set_identifier(
        &mut entry(&mut pnr.submit).object,
        vocabulary::DOCUMENT_ENTRY_UNIQUE_ID,
        &ss_unique,
    );
    let (_, problems) = submission_from_provide_and_register(&pnr);
    expect_errors(
        &problems,
        &["Submission.uniqueIds.unique"],
        ErrorCode::XDSRepositoryDuplicateUniqueIdInMessage,
    );
}

#[test]
fn rule_patient_id_consistent() {
    let mut req = one_document();
    set_identifier(
        &mut entry(&mut req).object,
        vocabulary::DOCUMENT_ENTRY_PATIENT_ID,
        "other^^^&1.2.3.45.4.3.2.1&ISO",
    );
    let (_, problems) = register(&req);
    expect_errors(
        &problems,
        &["Submission.patientId.consistent"],
        ErrorCode::XDSPatientIdDoesNotMatch,
    );
    let p = errors(&problems)[0];
    assert_eq!(
        p.context,
        format!("DocumentEntry '{DE}' (uniqueId 1.42.20120430135820.36)")
    );
    assert!(p.message.contains("other^^^&1.2.3.45.4.3.2.1&ISO"), "{p}");

    let mut req = register_fixture("dcm4chee/xds/valid-iti42-create-folder.xml");
    set_identifier(
        &mut package(&mut req, 0).object,
        vocabulary::FOLDER_PATIENT_ID,
        "other^^^&1.2.3.45.4.3.2.1&ISO",
    );
    let (_, problems) = register(&req);
    expect_errors(
        &problems,
        &["Submission.patientId.consistent"],
        ErrorCode::XDSPatientIdDoesNotMatch,
    );
}

#[test]
fn rule_on_demand_not_allowed() {
    let mut req = one_document();
    entry(&mut req).object.object_type = Some(vocabulary::DOCUMENT_ENTRY_ON_DEMAND.into());
    let (_, problems) = register(&req);
    expect_errors(
        &problems,
        &["Submission.onDemand.notAllowed"],
        ErrorCode::XDSRegistryMetadataError,
    );
}

#[test]
fn rules_top_level_classifications_and_identifiers_resolve() {
    let mut req = one_document();
    let mut c = classification(
        &mut entry(&mut req).object,
        vocabulary::DOCUMENT_ENTRY_EVENT_CODE,
    );
    c.classified_object = "urn:uuid:11111111-2222-3333-4444-555555555555".into();
    req.objects
        .objects
        .push(ebxml::Identifiable::Classification(c));
    let mut e = entry(&mut req).object.external_identifiers[0].clone();
    e.registry_object = "Nowhere".into();
    req.objects
        .objects
        .push(ebxml::Identifiable::ExternalIdentifier(e));
    let (_, problems) = register(&req);
    expect_errors(
        &problems,
        &[
            "Classification.classifiedObject.resolves",
            "ExternalIdentifier.registryObject.resolves",
        ],
        ErrorCode::XDSRegistryMetadataError,
    );
}

#[test]
fn top_level_classifications_count_like_nested_ones() {
    let mut req = one_document();
    let class_code = classification(
        &mut entry(&mut req).object,
        vocabulary::DOCUMENT_ENTRY_CLASS_CODE,
    );
    remove_classifications(
        &mut entry(&mut req).object,
        vocabulary::DOCUMENT_ENTRY_CLASS_CODE,
    );
    req.objects
        .objects
        .push(ebxml::Identifiable::Classification(class_code));
    let (s, problems) = register(&req);
    expect_clean(&problems);
    assert_eq!(
        s.expect("submission").documents[0].class_code.code,
        "History and Physical"
    );
}

#[test]
fn rules_nested_targets_match_parent() {
    let mut req = one_document();
    classification_mut(
        &mut entry(&mut req).object,
        vocabulary::DOCUMENT_ENTRY_TYPE_CODE,
    )
    .classified_object = SS.into();
    entry(&mut req).object.external_identifiers[0].registry_object = SS.into();
    let (_, problems) = register(&req);
    expect_errors(
        &problems,
        &[
            "Classification.classifiedObject.matchesParent",
            "ExternalIdentifier.registryObject.matchesParent",
        ],
        ErrorCode::XDSRegistryMetadataError,
    );
}

#[test]
fn rules_unknown_schemes_are_not_saved_warnings() {
    let mut req = one_document();
    let mut c = classification(
        &mut entry(&mut req).object,
        vocabulary::DOCUMENT_ENTRY_EVENT_CODE,
    );
    c.classification_scheme = Some("urn:uuid:00000000-1111-2222-3333-444444444444".into());
    entry(&mut req).object.classifications.push(c);
    let mut e = entry(&mut req).object.external_identifiers[0].clone();
    e.identification_scheme = "urn:uuid:00000000-1111-2222-3333-555555555555".into();
    entry(&mut req).object.external_identifiers.push(e);
    let (s, problems) = register(&req);
    expect_clean(&problems);
    assert!(s.is_some());
    let rules: BTreeSet<&str> = problems.iter().map(|p| p.rule).collect();
    assert_eq!(
        rules,
        BTreeSet::from([
            "Classification.scheme.known",
            "ExternalIdentifier.scheme.known"
        ])
    );
    assert!(
        problems
            .iter()
            .all(|p| p.code == ErrorCode::XDSExtraMetadataNotSaved
                && p.severity == Severity::Warning)
    );
}

// ---------------------------------------------------------------------------------------------
// Documents of ITI-41
// ---------------------------------------------------------------------------------------------

#[test]
fn rule_document_entry_document_present() {
    let mut req = provide();
    req.documents.clear();
    let (_, problems) = submission_from_provide_and_register(&req);
    expect_errors(
        &problems,
        &["DocumentEntry.document.present"],
        ErrorCode::XDSMissingDocument,
    );
}

#[test]
fn rule_document_metadata_present() {
    let mut req = provide();
    req.documents.push(ebxml::Document {
        id: "Document02".into(),
        bytes: Bytes::from_static(b"orphan"),
    });
    let (_, problems) = submission_from_provide_and_register(&req);
    expect_errors(
        &problems,
        &["Document.metadata.present"],
        ErrorCode::XDSMissingDocumentMetadata,
    );
    assert_eq!(errors(&problems)[0].context, "Document 'Document02'");
}

#[test]
fn rule_document_id_unique() {
    let mut req = provide();
    let again = req.documents[0].clone();
    req.documents.push(again);
    let (_, problems) = submission_from_provide_and_register(&req);
    expect_errors(
        &problems,
        &["Document.id.unique"],
        ErrorCode::XDSRepositoryMetadataError,
    );
}

#[test]
fn rules_hash_and_size_match_the_document() {
    let mut req = provide();
    let content = req.documents[0].bytes.clone();
    let good_hash = Sha1Hex::digest(&content).to_string();
    let o = &mut entry(&mut req.submit).object;
    set_slot(o, "hash", &[&good_hash.to_uppercase()]);
    set_slot(o, "size", &[&content.len().to_string()]);
    let (_, problems) = submission_from_provide_and_register(&req);
    expect_clean(&problems);

    let o = &mut entry(&mut req.submit).object;
    set_slot(o, "hash", &["da39a3ee5e6b4b0d3255bfef95601890afd80709"]);
    set_slot(o, "size", &["1"]);
    let (_, problems) = submission_from_provide_and_register(&req);
    let rules = error_rules(&problems);
    assert_eq!(
        rules,
        BTreeSet::from([
            "DocumentEntry.hash.matchesDocument",
            "DocumentEntry.size.matchesDocument"
        ])
    );
    let codes: BTreeSet<ErrorCode> = errors(&problems).iter().map(|p| p.code).collect();
    assert_eq!(
        codes,
        BTreeSet::from([
            ErrorCode::XDSNonIdenticalHash,
            ErrorCode::XDSNonIdenticalSize
        ])
    );
}

#[test]
fn iti41_does_not_require_what_the_repository_computes() {
    let (s, problems) = submission_from_provide_and_register(&provide());
    expect_clean(&problems);
    let d = &s.expect("submission").documents[0];
    assert_eq!(
        (d.hash, d.size, d.repository_unique_id.as_ref()),
        (None, None, None)
    );
}

// ---------------------------------------------------------------------------------------------
// Associations
// ---------------------------------------------------------------------------------------------

#[test]
fn rule_association_type_known_and_allowed() {
    let mut req = one_document();
    association(&mut req).association_type = "urn:example:IsFriendOf".into();
    let (_, problems) = register(&req);
    // The DocumentEntry is no longer a member either.
    expect_errors(
        &problems,
        &[
            "Association.associationType.known",
            "DocumentEntry.submissionSetMembership.required",
        ],
        ErrorCode::XDSRegistryMetadataError,
    );

    let mut req = one_document();
    req.objects.objects.push(new_association(
        "urn:uuid:6e3c4a8b-0a55-4c8e-8d7e-5b3f0f0c1a01",
        vocabulary::ASSOCIATION_UPDATE_AVAILABILITY_STATUS,
        SS,
        REGISTERED,
        None,
    ));
    let (_, problems) = register(&req);
    expect_errors(
        &problems,
        &["Association.associationType.allowed"],
        ErrorCode::XDSRegistryMetadataError,
    );
}

#[test]
fn rules_association_ids_and_ends_have_valid_form() {
    let mut req = one_document();
    let a = association(&mut req);
    a.object.id = "urn:uuid:zzz".into();
    a.target_object = "urn:uuid:1234".into();
    let (_, problems) = register(&req);
    let rules = error_rules(&problems);
    assert!(
        rules.contains("Association.entryUUID.format"),
        "{}",
        show(&problems)
    );
    assert!(
        rules.contains("Association.targetObject.format"),
        "{}",
        show(&problems)
    );

    let mut req = one_document();
    association(&mut req).source_object = "urn:uuid:".into();
    let (_, problems) = register(&req);
    assert!(
        error_rules(&problems).contains("Association.sourceObject.format"),
        "{}",
        show(&problems)
    );
}

#[test]
fn rules_symbolic_ends_resolve_in_the_submission() {
    let mut req = provide();
    association(&mut req.submit).target_object = "Document99".into();
    let (_, problems) = submission_from_provide_and_register(&req);
    expect_errors(
        &problems,
        &[
            "Association.targetObject.resolves",
            "DocumentEntry.submissionSetMembership.required",
        ],
        ErrorCode::XDSRepositoryMetadataError,
    );
    let mut req = provide();
    association(&mut req.submit).source_object = "SubmissionSet99".into();
    let (_, problems) = submission_from_provide_and_register(&req);
    let rules = error_rules(&problems);
    assert!(
        rules.contains("Association.sourceObject.resolves"),
        "{}",
        show(&problems)
    );
}

#[test]
fn symbolic_ids_resolve_and_uuid_targets_are_external() {
    let (s, problems) = submission_from_provide_and_register(&provide());
    expect_clean(&problems);
    let s = s.expect("submission");
    assert_eq!(
        s.documents[0].entry_uuid,
        RegistryObjectId::Symbolic("Document01".into())
    );
    assert_eq!(
        s.associations[0].submission_set_status,
        Some(SubmissionSetStatus::Original)
    );
    assert!(s.external_references().is_empty());
}

#[test]
fn rule_submission_set_status_required() {
    let mut req = one_document();
    remove_slot(
        &mut association(&mut req).object,
        vocabulary::SLOT_SUBMISSION_SET_STATUS,
    );
    let (_, problems) = register(&req);
    expect_errors(
        &problems,
        &["Association.HasMember.SubmissionSetStatus.required"],
        ErrorCode::XDSRegistryMetadataError,
    );
}

#[test]
fn rule_submission_set_status_valid() {
    let mut req = one_document();
    set_slot(
        &mut association(&mut req).object,
        vocabulary::SLOT_SUBMISSION_SET_STATUS,
        &["Copy"],
    );
    let (_, problems) = register(&req);
    expect_errors(
        &problems,
        &["Association.HasMember.SubmissionSetStatus.valid"],
        ErrorCode::XDSRegistryMetadataError,
    );
    let mut req = one_document();
    set_slot(
        &mut association(&mut req).object,
        vocabulary::SLOT_SUBMISSION_SET_STATUS,
        &["Original", "Reference"],
    );
    let (_, problems) = register(&req);
    expect_errors(
        &problems,
        &["Association.HasMember.SubmissionSetStatus.valid"],
        ErrorCode::XDSRegistryMetadataError,
    );
}

#[test]
fn rule_submission_set_status_consistent() {
    let mut req = one_document();
    set_slot(
        &mut association(&mut req).object,
        vocabulary::SLOT_SUBMISSION_SET_STATUS,
        &["Reference"],
    );
    let (_, problems) = register(&req);
    expect_errors(
        &problems,
        &["Association.HasMember.SubmissionSetStatus.consistent"],
        ErrorCode::XDSRegistryMetadataError,
    );
    // Original for a document that is not in the submission.
    let mut req = one_document();
    req.objects.objects.push(new_association(
        "urn:uuid:6e3c4a8b-0a55-4c8e-8d7e-5b3f0f0c1a02",
        vocabulary::ASSOCIATION_HAS_MEMBER,
        SS,
        REGISTERED,
        Some("Original"),
    ));
    let (_, problems) = register(&req);
    expect_errors(
        &problems,
        &["Association.HasMember.SubmissionSetStatus.consistent"],
        ErrorCode::XDSRegistryMetadataError,
    );
    // Reference to a registered document is fine, and left to the registry to find.
    let mut req = one_document();
    req.objects.objects.push(new_association(
        "urn:uuid:6e3c4a8b-0a55-4c8e-8d7e-5b3f0f0c1a03",
        vocabulary::ASSOCIATION_HAS_MEMBER,
        SS,
        REGISTERED,
        Some("Reference"),
    ));
    let (s, problems) = register(&req);
    expect_clean(&problems);
    assert_eq!(s.expect("submission").external_references().len(), 1);
}

#[test]
fn rule_has_member_source_valid() {
    let mut req = one_document();
    req.objects.objects.push(new_association(
        "urn:uuid:6e3c4a8b-0a55-4c8e-8d7e-5b3f0f0c1a04",
        vocabulary::ASSOCIATION_HAS_MEMBER,
        DE,
        REGISTERED,
        None,
    ));
    let (_, problems) = register(&req);
    expect_errors(
        &problems,
        &["Association.HasMember.source.valid"],
        ErrorCode::XDSRegistryMetadataError,
    );
}

#[test]
fn rule_has_member_target_valid() {
    // A Folder cannot contain the SubmissionSet.
    let mut req = register_fixture("dcm4chee/xds/valid-iti42-create-folder.xml");
    let folder = package(&mut req, 0).object.id.clone();
    let set = package(&mut req, 1).object.id.clone();
    req.objects.objects.push(new_association(
        "urn:uuid:6e3c4a8b-0a55-4c8e-8d7e-5b3f0f0c1a05",
        vocabulary::ASSOCIATION_HAS_MEMBER,
        &folder,
        &set,
        None,
    ));
    let (_, problems) = register(&req);
    expect_errors(
        &problems,
        &["Association.HasMember.target.valid"],
        ErrorCode::XDSRegistryMetadataError,
    );
    // A SubmissionSet cannot contain itself.
    let mut req = one_document();
    req.objects.objects.push(new_association(
        "urn:uuid:6e3c4a8b-0a55-4c8e-8d7e-5b3f0f0c1a06",
        vocabulary::ASSOCIATION_HAS_MEMBER,
        SS,
        SS,
        None,
    ));
    let (_, problems) = register(&req);
    expect_errors(
        &problems,
        &["Association.HasMember.target.valid"],
        ErrorCode::XDSRegistryMetadataError,
    );
}

#[test]
fn adding_a_registered_document_to_a_new_folder_is_accepted() {
    let mut req = register_fixture("dcm4chee/xds/valid-iti42-create-folder.xml");
    let folder = package(&mut req, 0).object.id.clone();
    let set = package(&mut req, 1).object.id.clone();
    let fd = "urn:uuid:6e3c4a8b-0a55-4c8e-8d7e-5b3f0f0c1a07";
    req.objects.objects.push(new_association(
        fd,
        vocabulary::ASSOCIATION_HAS_MEMBER,
        &folder,
        REGISTERED,
        None,
    ));
    req.objects.objects.push(new_association(
        "urn:uuid:6e3c4a8b-0a55-4c8e-8d7e-5b3f0f0c1a08",
        vocabulary::ASSOCIATION_HAS_MEMBER,
        &set,
        fd,
        None,
    ));
    let (s, problems) = register(&req);
    expect_clean(&problems);
    let refs = s.expect("submission").external_references();
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].end, End::Target);
}

#[test]
fn rule_relationship_source_in_submission() {
    let mut req = one_document();
    req.objects.objects.push(new_association(
        "urn:uuid:6e3c4a8b-0a55-4c8e-8d7e-5b3f0f0c1a09",
        vocabulary::ASSOCIATION_RPLC,
        REGISTERED,
        DE,
        None,
    ));
    let (_, problems) = register(&req);
    expect_errors(
        &problems,
        // The target is in the submission too, which a replacement cannot be.
        &[
            "Association.relationship.sourceInSubmission",
            "Association.relationship.targetRegistered",
        ],
        ErrorCode::XDSRegistryMetadataError,
    );
}

#[test]
fn rule_relationship_target_registered() {
    let mut req = one_document();
    req.objects.objects.push(new_association(
        "urn:uuid:6e3c4a8b-0a55-4c8e-8d7e-5b3f0f0c1a10",
        vocabulary::ASSOCIATION_APND,
        DE,
        SS,
        None,
    ));
    let (_, problems) = register(&req);
    expect_errors(
        &problems,
        &["Association.relationship.targetRegistered"],
        ErrorCode::XDSRegistryMetadataError,
    );
    // A replacement of a registered document: the registry checks the target (XDSReplaceFailed).
    let mut req = one_document();
    req.objects.objects.push(new_association(
        "urn:uuid:6e3c4a8b-0a55-4c8e-8d7e-5b3f0f0c1a11",
        vocabulary::ASSOCIATION_RPLC,
        DE,
        REGISTERED,
        None,
    ));
    let (s, problems) = register(&req);
    expect_clean(&problems);
    let refs = s.expect("submission").external_references();
    assert_eq!(refs[0].association_type, AssociationType::Rplc);
    assert!(refs[0].association_type.replaces());
}

#[test]
fn rules_submission_set_membership_required() {
    let mut req = one_document();
    req.objects
        .objects
        .retain(|o| !matches!(o, ebxml::Identifiable::Association(_)));
    let (_, problems) = register(&req);
    expect_errors(
        &problems,
        &["DocumentEntry.submissionSetMembership.required"],
        ErrorCode::XDSRegistryMetadataError,
    );
    let mut req = register_fixture("dcm4chee/xds/valid-iti42-create-folder.xml");
    req.objects
        .objects
        .retain(|o| !matches!(o, ebxml::Identifiable::Association(_)));
    let (_, problems) = register(&req);
    expect_errors(
        &problems,
        &["Folder.submissionSetMembership.required"],
        ErrorCode::XDSRegistryMetadataError,
    );
}

// ---------------------------------------------------------------------------------------------
// Attributes (ITI TF-3 Table 4.3.1-3)
// ---------------------------------------------------------------------------------------------

/// A change to the DocumentEntry of dcm4chee's ITI-42 sample and the one error it must cause.
struct Case {
    change: fn(&mut ebxml::RegistryObject),
    rule: &'static str,
}

fn document_entry_cases() -> Vec<Case> {
    use vocabulary as v;
    vec![
        Case {
            change: |o| o.object_type = None,
            rule: "DocumentEntry.objectType.required",
        },
        Case {
            change: |o| {
                o.object_type = Some("urn:uuid:00000000-0000-0000-0000-000000000000".into())
            },
            rule: "DocumentEntry.objectType.valid",
        },
        Case {
            change: |o| o.status = Some("Approved".into()),
            rule: "DocumentEntry.availabilityStatus.format",
        },
        Case {
            change: |o| remove_identifier(o, v::DOCUMENT_ENTRY_PATIENT_ID),
            rule: "DocumentEntry.patientId.required",
        },
        Case {
            change: |o| set_identifier(o, v::DOCUMENT_ENTRY_PATIENT_ID, "test1234_1"),
            rule: "DocumentEntry.patientId.format",
        },
        Case {
            change: |o| {
                let e = o.external_identifiers[0].clone();
                o.external_identifiers.push(e);
            },
            rule: "DocumentEntry.patientId.singleValued",
        },
        Case {
            change: |o| remove_identifier(o, v::DOCUMENT_ENTRY_UNIQUE_ID),
            rule: "DocumentEntry.uniqueId.required",
        },
        Case {
            change: |o| set_identifier(o, v::DOCUMENT_ENTRY_UNIQUE_ID, "1.2^toolongextension17"),
            rule: "DocumentEntry.uniqueId.format",
        },
        Case {
            change: |o| {
                let e = o.external_identifiers[1].clone();
                o.external_identifiers.push(e);
            },
            rule: "DocumentEntry.uniqueId.singleValued",
        },
        Case {
            change: |o| remove_classifications(o, v::DOCUMENT_ENTRY_CLASS_CODE),
            rule: "DocumentEntry.classCode.required",
        },
        Case {
            change: |o| {
                let c = classification(o, v::DOCUMENT_ENTRY_CLASS_CODE);
                o.classifications.push(c);
            },
            rule: "DocumentEntry.classCode.singleValued",
        },
        Case {
            change: |o| remove_classifications(o, v::DOCUMENT_ENTRY_CONFIDENTIALITY_CODE),
            rule: "DocumentEntry.confidentialityCode.required",
        },
        Case {
            change: |o| remove_classifications(o, v::DOCUMENT_ENTRY_FORMAT_CODE),
            rule: "DocumentEntry.formatCode.required",
        },
        Case {
            change: |o| {
                let c = classification(o, v::DOCUMENT_ENTRY_FORMAT_CODE);
                o.classifications.push(c);
            },
            rule: "DocumentEntry.formatCode.singleValued",
        },
        Case {
            change: |o| remove_classifications(o, v::DOCUMENT_ENTRY_HEALTHCARE_FACILITY_TYPE_CODE),
            rule: "DocumentEntry.healthcareFacilityTypeCode.required",
        },
        Case {
            change: |o| {
                let c = classification(o, v::DOCUMENT_ENTRY_HEALTHCARE_FACILITY_TYPE_CODE);
                o.classifications.push(c);
            },
            rule: "DocumentEntry.healthcareFacilityTypeCode.singleValued",
        },
        Case {
            change: |o| remove_classifications(o, v::DOCUMENT_ENTRY_PRACTICE_SETTING_CODE),
            rule: "DocumentEntry.practiceSettingCode.required",
        },
        Case {
            change: |o| {
                let c = classification(o, v::DOCUMENT_ENTRY_PRACTICE_SETTING_CODE);
                o.classifications.push(c);
            },
            rule: "DocumentEntry.practiceSettingCode.singleValued",
        },
        Case {
            change: |o| remove_classifications(o, v::DOCUMENT_ENTRY_TYPE_CODE),
            rule: "DocumentEntry.typeCode.required",
        },
        Case {
            change: |o| {
                let c = classification(o, v::DOCUMENT_ENTRY_TYPE_CODE);
                o.classifications.push(c);
            },
            rule: "DocumentEntry.typeCode.singleValued",
        },
        Case {
            change: |o| remove_slot(o, v::SLOT_CREATION_TIME),
            rule: "DocumentEntry.creationTime.required",
        },
        Case {
            change: |o| set_slot(o, v::SLOT_CREATION_TIME, &["20051224", "20051225"]),
            rule: "DocumentEntry.creationTime.singleValued",
        },
        Case {
            change: |o| set_slot(o, v::SLOT_CREATION_TIME, &["2005-12-24"]),
            rule: "DocumentEntry.creationTime.format",
        },
        Case {
            change: |o| set_slot(o, v::SLOT_SERVICE_START_TIME, &["2004", "2005"]),
            rule: "DocumentEntry.serviceStartTime.singleValued",
        },
        Case {
            change: |o| set_slot(o, v::SLOT_SERVICE_START_TIME, &["20041332"]),
            rule: "DocumentEntry.serviceStartTime.format",
        },
        Case {
            change: |o| set_slot(o, v::SLOT_SERVICE_STOP_TIME, &["2004", "2005"]),
            rule: "DocumentEntry.serviceStopTime.singleValued",
        },
        Case {
            change: |o| set_slot(o, v::SLOT_SERVICE_STOP_TIME, &["200412230801+0100"]),
            rule: "DocumentEntry.serviceStopTime.format",
        },
        Case {
            change: |o| remove_slot(o, v::SLOT_LANGUAGE_CODE),
            rule: "DocumentEntry.languageCode.required",
        },
        Case {
            change: |o| set_slot(o, v::SLOT_LANGUAGE_CODE, &["en-us", "de-de"]),
            rule: "DocumentEntry.languageCode.singleValued",
        },
        Case {
            change: |o| remove_slot(o, v::SLOT_SOURCE_PATIENT_ID),
            rule: "DocumentEntry.sourcePatientId.required",
        },
        Case {
            change: |o| set_slot(o, v::SLOT_SOURCE_PATIENT_ID, &["a", "b"]),
            rule: "DocumentEntry.sourcePatientId.singleValued",
        },
        Case {
            change: |o| set_slot(o, v::SLOT_LEGAL_AUTHENTICATOR, &["^A", "^B"]),
            rule: "DocumentEntry.legalAuthenticator.singleValued",
        },
        Case {
            change: |o| remove_slot(o, v::SLOT_HASH),
            rule: "DocumentEntry.hash.required",
        },
        Case {
            change: |o| {
                set_slot(
                    o,
                    v::SLOT_HASH,
                    &[
                        "e543712c0e10501972de13a5bfcbe826c49feb75",
                        "e543712c0e10501972de13a5bfcbe826c49feb75",
                    ],
                )
            },
            rule: "DocumentEntry.hash.singleValued",
        },
        Case {
            change: |o| set_slot(o, v::SLOT_HASH, &["e543712c"]),
            rule: "DocumentEntry.hash.format",
        },
        Case {
            change: |o| remove_slot(o, v::SLOT_SIZE),
            rule: "DocumentEntry.size.required",
        },
        Case {
            change: |o| set_slot(o, v::SLOT_SIZE, &["4", "4"]),
            rule: "DocumentEntry.size.singleValued",
        },
        Case {
            change: |o| set_slot(o, v::SLOT_SIZE, &["-4"]),
            rule: "DocumentEntry.size.format",
        },
        Case {
            change: |o| remove_slot(o, v::SLOT_REPOSITORY_UNIQUE_ID),
            rule: "DocumentEntry.repositoryUniqueId.required",
        },
        Case {
            change: |o| set_slot(o, v::SLOT_REPOSITORY_UNIQUE_ID, &["1.2", "1.3"]),
            rule: "DocumentEntry.repositoryUniqueId.singleValued",
        },
        Case {
            change: |o| set_slot(o, v::SLOT_REPOSITORY_UNIQUE_ID, &["repo-1"]),
            rule: "DocumentEntry.repositoryUniqueId.format",
        },
        Case {
            change: |o| set_slot(o, v::SLOT_URI, &["a", "b"]),
            rule: "DocumentEntry.URI.singleValued",
        },
        Case {
            change: |o| {
                set_slot(
                    o,
                    v::SLOT_DOCUMENT_AVAILABILITY,
                    &[
                        v::DOCUMENT_AVAILABILITY_ONLINE,
                        v::DOCUMENT_AVAILABILITY_OFFLINE,
                    ],
                )
            },
            rule: "DocumentEntry.documentAvailability.singleValued",
        },
        Case {
            change: |o| {
                classification_mut(o, v::DOCUMENT_ENTRY_CLASS_CODE).node_representation =
                    Some(" ".into())
            },
            rule: "Code.code.required",
        },
        Case {
            change: |o| {
                classification_mut(o, v::DOCUMENT_ENTRY_EVENT_CODE)
                    .object
                    .slots
                    .clear()
            },
            rule: "Code.codingScheme.required",
        },
        Case {
            change: |o| {
                classification_mut(o, v::DOCUMENT_ENTRY_EVENT_CODE)
                    .object
                    .name = None
            },
            rule: "Code.displayName.required",
        },
        Case {
            change: |o| {
                classification_mut(o, v::DOCUMENT_ENTRY_AUTHOR)
                    .object
                    .slots
                    .clear()
            },
            rule: "Author.content.required",
        },
        Case {
            change: |o| {
                set_slot(
                    &mut classification_mut(o, v::DOCUMENT_ENTRY_AUTHOR).object,
                    "authorPerson",
                    &["^A", "^B"],
                )
            },
            rule: "Author.authorPerson.singleValued",
        },
    ]
}

#[test]
fn rules_document_entry_attributes() {
    let cases = document_entry_cases();
    for case in &cases {
        let mut req = one_document();
        (case.change)(&mut entry(&mut req).object);
        let (_, problems) = register(&req);
        let got = error_rules(&problems);
        assert_eq!(
            got,
            BTreeSet::from([case.rule]),
            "{}:\n{}",
            case.rule,
            show(&problems)
        );
        assert!(
            errors(&problems)
                .iter()
                .all(|p| p.code == ErrorCode::XDSRegistryMetadataError),
            "{}",
            show(&problems)
        );
    }
}

#[test]
fn rules_only_iti42_requires_hash_size_and_repository() {
    let mut req = provide();
    let o = &mut entry(&mut req.submit).object;
    assert!(o.slot_values("hash").is_none() && o.slot_values("size").is_none());
    let (_, problems) = submission_from_provide_and_register(&req);
    expect_clean(&problems);
    let (_, problems) = submission_from_register(&req.submit);
    let rules = error_rules(&problems);
    for rule in [
        "DocumentEntry.hash.required",
        "DocumentEntry.size.required",
        "DocumentEntry.repositoryUniqueId.required",
    ] {
        assert!(rules.contains(rule), "{rule}:\n{}", show(&problems));
    }
}

#[test]
fn all_problems_of_a_broken_entry_are_collected() {
    let mut req = one_document();
    let o = &mut entry(&mut req).object;
    remove_identifier(o, vocabulary::DOCUMENT_ENTRY_PATIENT_ID);
    remove_classifications(o, vocabulary::DOCUMENT_ENTRY_CLASS_CODE);
    set_slot(o, vocabulary::SLOT_CREATION_TIME, &["yesterday"]);
    set_identifier(
        &mut package(&mut req, 0).object,
        vocabulary::SUBMISSION_SET_SOURCE_ID,
        "not-an-oid",
    );
    let (s, problems) = register(&req);
    assert!(s.is_none(), "the SubmissionSet is invalid");
    assert_eq!(
        error_rules(&problems),
        BTreeSet::from([
            "DocumentEntry.patientId.required",
            "DocumentEntry.classCode.required",
            "DocumentEntry.creationTime.format",
            "SubmissionSet.sourceId.format",
        ])
    );
}

fn submission_set_cases() -> Vec<Case> {
    use vocabulary as v;
    vec![
        Case {
            change: |o| o.status = Some("urn:x".into()),
            rule: "SubmissionSet.availabilityStatus.format",
        },
        Case {
            change: |o| remove_identifier(o, v::SUBMISSION_SET_PATIENT_ID),
            rule: "SubmissionSet.patientId.required",
        },
        Case {
            change: |o| set_identifier(o, v::SUBMISSION_SET_PATIENT_ID, "x^^^&1.2&DNS"),
            rule: "SubmissionSet.patientId.format",
        },
        Case {
            change: |o| {
                let e = o.external_identifiers[2].clone();
                o.external_identifiers.push(e);
            },
            rule: "SubmissionSet.patientId.singleValued",
        },
        Case {
            change: |o| remove_identifier(o, v::SUBMISSION_SET_UNIQUE_ID),
            rule: "SubmissionSet.uniqueId.required",
        },
        Case {
            change: |o| set_identifier(o, v::SUBMISSION_SET_UNIQUE_ID, "1.42.5^ext"),
            rule: "SubmissionSet.uniqueId.format",
        },
        Case {
            change: |o| {
                let e = o.external_identifiers[0].clone();
                o.external_identifiers.push(e);
            },
            rule: "SubmissionSet.uniqueId.singleValued",
        },
        Case {
            change: |o| remove_identifier(o, v::SUBMISSION_SET_SOURCE_ID),
            rule: "SubmissionSet.sourceId.required",
        },
        Case {
            change: |o| {
                let e = o.external_identifiers[1].clone();
                o.external_identifiers.push(e);
            },
            rule: "SubmissionSet.sourceId.singleValued",
        },
        Case {
            change: |o| remove_slot(o, v::SLOT_SUBMISSION_TIME),
            rule: "SubmissionSet.submissionTime.required",
        },
        Case {
            change: |o| set_slot(o, v::SLOT_SUBMISSION_TIME, &["2004", "2005"]),
            rule: "SubmissionSet.submissionTime.singleValued",
        },
        Case {
            change: |o| set_slot(o, v::SLOT_SUBMISSION_TIME, &["20041225235099"]),
            rule: "SubmissionSet.submissionTime.format",
        },
        Case {
            change: |o| remove_classifications(o, v::SUBMISSION_SET_CONTENT_TYPE_CODE),
            rule: "SubmissionSet.contentTypeCode.required",
        },
        Case {
            change: |o| {
                let c = classification(o, v::SUBMISSION_SET_CONTENT_TYPE_CODE);
                o.classifications.push(c);
            },
            rule: "SubmissionSet.contentTypeCode.singleValued",
        },
    ]
}

#[test]
fn rules_submission_set_attributes() {
    for case in submission_set_cases() {
        let mut req = one_document();
        (case.change)(&mut package(&mut req, 0).object);
        let (_, problems) = register(&req);
        let got = error_rules(&problems);
        assert_eq!(
            got,
            BTreeSet::from([case.rule]),
            "{}:\n{}",
            case.rule,
            show(&problems)
        );
    }
}

fn folder_cases() -> Vec<Case> {
    use vocabulary as v;
    vec![
        Case {
            change: |o| o.status = Some("urn:x".into()),
            rule: "Folder.availabilityStatus.format",
        },
        Case {
            change: |o| remove_identifier(o, v::FOLDER_PATIENT_ID),
            rule: "Folder.patientId.required",
        },
        Case {
            change: |o| set_identifier(o, v::FOLDER_PATIENT_ID, "^^^&1.2&ISO"),
            rule: "Folder.patientId.format",
        },
        Case {
            change: |o| {
                let e = o.external_identifiers[1].clone();
                o.external_identifiers.push(e);
            },
            rule: "Folder.patientId.singleValued",
        },
        Case {
            change: |o| remove_identifier(o, v::FOLDER_UNIQUE_ID),
            rule: "Folder.uniqueId.required",
        },
        Case {
            change: |o| set_identifier(o, v::FOLDER_UNIQUE_ID, "folder-1"),
            rule: "Folder.uniqueId.format",
        },
        Case {
            change: |o| {
                let e = o.external_identifiers[0].clone();
                o.external_identifiers.push(e);
            },
            rule: "Folder.uniqueId.singleValued",
        },
        Case {
            change: |o| remove_classifications(o, v::FOLDER_CODE_LIST),
            rule: "Folder.codeList.required",
        },
        Case {
            change: |o| set_slot(o, v::SLOT_LAST_UPDATE_TIME, &["2004", "2005"]),
            rule: "Folder.lastUpdateTime.singleValued",
        },
        Case {
            change: |o| set_slot(o, v::SLOT_LAST_UPDATE_TIME, &["yesterday"]),
            rule: "Folder.lastUpdateTime.format",
        },
    ]
}

#[test]
fn rules_folder_attributes() {
    for case in folder_cases() {
        let mut req = register_fixture("dcm4chee/xds/valid-iti42-create-folder.xml");
        (case.change)(&mut package(&mut req, 0).object);
        let (_, problems) = register(&req);
        let got = error_rules(&problems);
        assert_eq!(
            got,
            BTreeSet::from([case.rule]),
            "{}:\n{}",
            case.rule,
            show(&problems)
        );
    }
}

/// Replaces the id `old` everywhere in `req`: the object, and every reference to it.
fn rename(req: &mut ebxml::SubmitObjectsRequest, old: &str, new: &str) {
    fn fix(s: &mut String, old: &str, new: &str) {
        if s == old {
            *s = new.to_string();
        }
    }
    fn object(o: &mut ebxml::RegistryObject, old: &str, new: &str) {
        fix(&mut o.id, old, new);
        for c in &mut o.classifications {
            fix(&mut c.classified_object, old, new);
        }
        for e in &mut o.external_identifiers {
            fix(&mut e.registry_object, old, new);
        }
    }
    for o in &mut req.objects.objects {
        match o {
            ebxml::Identifiable::ExtrinsicObject(e) => object(&mut e.object, old, new),
            ebxml::Identifiable::RegistryPackage(p) => object(&mut p.object, old, new),
            ebxml::Identifiable::Association(a) => {
                object(&mut a.object, old, new);
                fix(&mut a.source_object, old, new);
                fix(&mut a.target_object, old, new);
            }
            ebxml::Identifiable::Classification(c) => fix(&mut c.classified_object, old, new),
            ebxml::Identifiable::ExternalIdentifier(e) => fix(&mut e.registry_object, old, new),
            ebxml::Identifiable::ObjectRef(_) => {}
        }
    }
}

#[test]
fn rules_entry_uuid_format() {
    let mut req = one_document();
    rename(&mut req, DE, "urn:uuid:12");
    let (_, problems) = register(&req);
    // The HasMember association ends at the malformed id too.
    expect_errors(
        &problems,
        &[
            "DocumentEntry.entryUUID.format",
            "Association.targetObject.format",
        ],
        ErrorCode::XDSRegistryMetadataError,
    );
    let mut req = one_document();
    rename(&mut req, SS, "urn:uuid:x");
    let (s, problems) = register(&req);
    assert!(s.is_none());
    // The HasMember association starts at the malformed id too.
    expect_errors(
        &problems,
        &[
            "SubmissionSet.entryUUID.format",
            "Association.sourceObject.format",
        ],
        ErrorCode::XDSRegistryMetadataError,
    );
    let mut req = register_fixture("dcm4chee/xds/valid-iti42-create-folder.xml");
    let folder = package(&mut req, 0).object.id.clone();
    rename(&mut req, &folder, "urn:uuid:folder");
    let (_, problems) = register(&req);
    expect_errors(
        &problems,
        &["Folder.entryUUID.format", "Association.targetObject.format"],
        ErrorCode::XDSRegistryMetadataError,
    );
}

#[test]
fn rule_association_availability_status_format() {
    let mut req = one_document();
    association(&mut req).object.status = Some("Approved".into());
    let (_, problems) = register(&req);
    expect_errors(
        &problems,
        &["Association.availabilityStatus.format"],
        ErrorCode::XDSRegistryMetadataError,
    );
}

// ---------------------------------------------------------------------------------------------
// Affinity domain hooks
// ---------------------------------------------------------------------------------------------

struct OnlyLoinc;

impl CodeCatalogue for OnlyLoinc {
    fn knows(&self, scheme: CodeScheme, code: &Code) -> bool {
        scheme != CodeScheme::TypeCode || code.scheme == "LOINC"
    }

    fn knows_mime_type(&self, mime_type: &str) -> bool {
        mime_type != "text/plain"
    }
}

struct Patients(Vec<PatientId>);

impl PatientRegistry for Patients {
    fn is_known(&self, patient: &PatientId) -> bool {
        self.0.iter().any(|p| p.same_patient(patient))
    }
}

#[test]
fn affinity_domain_checks_use_the_hooks() {
    let (s, _) = register(&one_document());
    let s = s.expect("submission");
    let problems =
        check_affinity_domain(&s, SubmissionKind::Register, &OnlyLoinc, &Patients(vec![]));
    let rules: BTreeSet<&str> = problems.iter().map(|p| p.rule).collect();
    assert_eq!(
        rules,
        BTreeSet::from([
            "DocumentEntry.typeCode.inAffinityDomain",
            "DocumentEntry.mimeType.inAffinityDomain",
            "Submission.patientId.known",
        ])
    );
    let unknown = problems
        .iter()
        .find(|p| p.rule == "Submission.patientId.known")
        .expect("problem");
    assert_eq!(unknown.code, ErrorCode::XDSUnknownPatientId);
    let known = Patients(vec![
        PatientId::parse("test1234_1^^^&1.2.3.45.4.3.2.1&ISO").expect("pid"),
    ]);
    let problems = check_affinity_domain(&s, SubmissionKind::Register, &OnlyLoinc, &known);
    assert!(
        !problems
            .iter()
            .any(|p| p.rule == "Submission.patientId.known")
    );
    // 5 single codes, 1 confidentialityCode, 2 eventCodeList codes, 1 contentTypeCode.
    assert_eq!(catalogue::codes_of(&s).len(), 9);
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

#[test]
fn problems_become_registry_errors_naming_rule_and_object() {
    let mut req = one_document();
    set_identifier(
        &mut entry(&mut req).object,
        vocabulary::DOCUMENT_ENTRY_PATIENT_ID,
        "other^^^&1.2.3.45.4.3.2.1&ISO",
    );
    let (_, problems) = register(&req);
    let response = to_ebxml::registry_response(&problems);
    assert_eq!(response.status, ebxml::ResponseStatus::Failure);
    let list = response.errors.expect("errors");
    assert_eq!(list.highest_severity, Some(ebxml::ErrorSeverity::Error));
    let e = &list.errors[0];
    assert_eq!(e.error_code, "XDSPatientIdDoesNotMatch");
    assert_eq!(
        e.location.as_deref(),
        Some("Submission.patientId.consistent")
    );
    assert!(e.code_context.starts_with(&format!("DocumentEntry '{DE}' (uniqueId 1.42.20120430135820.36): patientId other^^^&1.2.3.45.4.3.2.1&ISO differs")), "{}", e.code_context);
    let xml = response_xml(&to_ebxml::registry_response(&problems));
    assert!(
        xml.contains("errorCode=\"XDSPatientIdDoesNotMatch\""),
        "{xml}"
    );

    let ok = to_ebxml::registry_response(&[]);
    assert_eq!(ok.status, ebxml::ResponseStatus::Success);
    assert_eq!(ok.errors, None);
}

fn response_xml(r: &ebxml::RegistryResponse) -> String {
    r.to_xml(EncodeOptions::INLINE).xml
}

#[test]
fn warnings_alone_give_success() {
    let p = Problem {
        code: ErrorCode::XDSExtraMetadataNotSaved,
        severity: Severity::Warning,
        rule: "Classification.scheme.known",
        context: "DocumentEntry 'a'".into(),
        message: "not saved".into(),
    };
    let r = to_ebxml::registry_response(std::slice::from_ref(&p));
    assert_eq!(r.status, ebxml::ResponseStatus::Success);
    assert_eq!(
        r.errors.expect("list").highest_severity,
        Some(ebxml::ErrorSeverity::Warning)
    );
    assert_eq!(
        p.to_string(),
        "warning XDSExtraMetadataNotSaved [Classification.scheme.known] DocumentEntry 'a': not saved"
    );
}
