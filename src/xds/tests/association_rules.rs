//! Associations (ITI TF-3 §4.2.2): one test per rule.

use super::*;

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
