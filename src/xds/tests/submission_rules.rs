//! The message, the submission's structure and the documents of ITI-41: one test per rule.

use super::*;

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
