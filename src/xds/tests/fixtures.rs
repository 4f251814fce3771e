//! Every XDS fixture of `../shared/fixtures/` with the outcome its README gives.

use super::*;

// ---------------------------------------------------------------------------------------------
// Fixtures (../shared/fixtures/README.md)
// ---------------------------------------------------------------------------------------------

/// The outcome the README gives each XDS fixture, as far as this layer decides it.
#[derive(Debug)]
pub(super) enum Expect {
    /// A submission with no error-level problems (Success once its patient is known).
    Valid(SubmissionKind),
    /// Refused before the metadata model: schema-invalid (the code of `decode_failure`).
    SchemaInvalid(ErrorCode),
    /// Not a submission: decided by the transaction with registry data (stored query, retrieve, delete).
    NotASubmission,
}

pub(super) fn expected_outcome(rel: &str) -> Expect {
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
pub(super) fn provide_request(
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

pub(super) fn read_fixture(rel: &str, kind: SubmissionKind) -> (Option<Submission>, Vec<Problem>) {
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
