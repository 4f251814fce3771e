//! Attributes (ITI TF-3 Table 4.3.1-3 and the formats of §4.2.3.1): one test per rule.

use super::*;

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
