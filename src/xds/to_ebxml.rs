//! XDS → ebXML: the metadata objects as ebRIM (ITI TF-3 §4.2), for LeafClass query responses
//! (ITI TF-2a §3.18.4.1.3), forwarding, and round-trip tests; and problems as
//! `rs:RegistryResponse` errors (ITI TF-3 §4.2.4).
//!
//! The output is canonical: attributes in the order of ITI TF-3 §4.2.3, Classifications and
//! ExternalIdentifiers nested in their object, extra slots after the defined ones in the order
//! they were submitted. Classifications and ExternalIdentifiers get ids derived from their
//! object's id and role ([`derived_uuid`]), so one object is always written the same way.

use crate::ebxml;

use super::association::Association;
use super::author::Author;
use super::code::{Code, CodeScheme};
use super::document_entry::DocumentEntry;
use super::folder::Folder;
use super::object_id::{RegistryObjectId, derived_uuid};
use super::problem::{Problem, Severity, has_errors};
use super::slot::Slot;
use super::submission::Submission;
use super::submission_set::SubmissionSet;
use super::text::InternationalText;
use super::vocabulary as v;

fn slot(name: &str, values: impl IntoIterator<Item = impl Into<String>>) -> ebxml::Slot {
    ebxml::Slot::new(name, values)
}

fn extra(slots: &[Slot]) -> impl Iterator<Item = ebxml::Slot> + '_ {
    slots
        .iter()
        .map(|s| slot(&s.name, s.values.iter().cloned()))
}

fn international(t: &InternationalText) -> ebxml::InternationalString {
    ebxml::InternationalString {
        localized: t
            .0
            .iter()
            .map(|l| ebxml::LocalizedString {
                lang: l.lang.clone(),
                charset: l.charset.clone(),
                value: l.value.clone(),
            })
            .collect(),
    }
}

fn child_id(owner: &str, role: &str, index: usize) -> String {
    format!(
        "urn:uuid:{}",
        derived_uuid(&[owner, role, &index.to_string()]).hyphenated()
    )
}

fn code_classification(
    owner: &str,
    scheme: &str,
    index: usize,
    code: &Code,
) -> ebxml::Classification {
    let mut object = ebxml::RegistryObject::new(child_id(owner, scheme, index));
    object.object_type = Some(v::OBJECT_TYPE_CLASSIFICATION.to_string());
    object
        .slots
        .push(slot(v::SLOT_CODING_SCHEME, [code.scheme.clone()]));
    object.name = code
        .display
        .as_ref()
        .map(ebxml::InternationalString::single);
    ebxml::Classification {
        object,
        classification_scheme: Some(scheme.to_string()),
        classified_object: owner.to_string(),
        classification_node: None,
        node_representation: Some(code.code.clone()),
    }
}

fn codes<'a>(
    owner: &'a str,
    scheme: CodeScheme,
    codes: &'a [Code],
) -> impl Iterator<Item = ebxml::Classification> + 'a {
    codes
        .iter()
        .enumerate()
        .map(move |(i, c)| code_classification(owner, scheme.classification_scheme(), i, c))
}

fn author_classification(
    owner: &str,
    scheme: &str,
    index: usize,
    a: &Author,
) -> ebxml::Classification {
    let mut object = ebxml::RegistryObject::new(child_id(owner, scheme, index));
    object.object_type = Some(v::OBJECT_TYPE_CLASSIFICATION.to_string());
    if let Some(p) = &a.person {
        object
            .slots
            .push(slot(v::SLOT_AUTHOR_PERSON, [p.to_string()]));
    }
    if !a.institutions.is_empty() {
        object.slots.push(slot(
            v::SLOT_AUTHOR_INSTITUTION,
            a.institutions.iter().map(ToString::to_string),
        ));
    }
    for (name, values) in [
        (v::SLOT_AUTHOR_ROLE, &a.roles),
        (v::SLOT_AUTHOR_SPECIALTY, &a.specialties),
        (v::SLOT_AUTHOR_TELECOMMUNICATION, &a.telecom),
    ] {
        if !values.is_empty() {
            object.slots.push(slot(name, values.iter().cloned()));
        }
    }
    object.slots.extend(extra(&a.extra_slots));
    ebxml::Classification {
        object,
        classification_scheme: Some(scheme.to_string()),
        classified_object: owner.to_string(),
        classification_node: None,
        node_representation: Some(String::new()),
    }
}

fn node_classification(owner: &str, node: &str) -> ebxml::Classification {
    let mut object = ebxml::RegistryObject::new(child_id(owner, node, 0));
    object.object_type = Some(v::OBJECT_TYPE_CLASSIFICATION.to_string());
    ebxml::Classification {
        object,
        classification_scheme: None,
        classified_object: owner.to_string(),
        classification_node: Some(node.to_string()),
        node_representation: None,
    }
}

fn external_identifier(
    owner: &str,
    scheme: &str,
    name: &str,
    value: String,
) -> ebxml::ExternalIdentifier {
    let mut object = ebxml::RegistryObject::new(child_id(owner, scheme, 0));
    object.object_type = Some(v::OBJECT_TYPE_EXTERNAL_IDENTIFIER.to_string());
    object.name = Some(ebxml::InternationalString::single(name));
    ebxml::ExternalIdentifier {
        object,
        registry_object: owner.to_string(),
        identification_scheme: scheme.to_string(),
        value,
    }
}

fn opt_slot(slots: &mut Vec<ebxml::Slot>, name: &str, value: Option<String>) {
    if let Some(v) = value {
        slots.push(slot(name, [v]));
    }
}

fn version_info(version: &Option<String>) -> Option<ebxml::VersionInfo> {
    version.as_ref().map(|v| ebxml::VersionInfo {
        version_name: Some(v.clone()),
        comment: None,
    })
}

/// A DocumentEntry as `rim:ExtrinsicObject`.
pub fn document_entry_to_ebxml(d: &DocumentEntry) -> ebxml::ExtrinsicObject {
    let id = d.entry_uuid.to_string();
    let mut slots = Vec::new();
    opt_slot(
        &mut slots,
        v::SLOT_CREATION_TIME,
        d.creation_time.map(|t| t.to_string()),
    );
    opt_slot(&mut slots, v::SLOT_HASH, d.hash.map(|h| h.to_string()));
    slots.push(slot(v::SLOT_LANGUAGE_CODE, [d.language_code.clone()]));
    opt_slot(
        &mut slots,
        v::SLOT_LEGAL_AUTHENTICATOR,
        d.legal_authenticator.as_ref().map(ToString::to_string),
    );
    opt_slot(
        &mut slots,
        v::SLOT_REPOSITORY_UNIQUE_ID,
        d.repository_unique_id.as_ref().map(ToString::to_string),
    );
    opt_slot(
        &mut slots,
        v::SLOT_SERVICE_START_TIME,
        d.service_start_time.map(|t| t.to_string()),
    );
    opt_slot(
        &mut slots,
        v::SLOT_SERVICE_STOP_TIME,
        d.service_stop_time.map(|t| t.to_string()),
    );
    opt_slot(&mut slots, v::SLOT_SIZE, d.size.map(|s| s.to_string()));
    opt_slot(
        &mut slots,
        v::SLOT_SOURCE_PATIENT_ID,
        d.source_patient_id.clone(),
    );
    if !d.source_patient_info.is_empty() {
        slots.push(slot(
            v::SLOT_SOURCE_PATIENT_INFO,
            d.source_patient_info.iter().cloned(),
        ));
    }
    opt_slot(&mut slots, v::SLOT_URI, d.uri.clone());
    opt_slot(
        &mut slots,
        v::SLOT_DOCUMENT_AVAILABILITY,
        d.document_availability.clone(),
    );
    if !d.reference_id_list.is_empty() {
        slots.push(slot(
            v::SLOT_REFERENCE_ID_LIST,
            d.reference_id_list.iter().cloned(),
        ));
    }
    slots.extend(extra(&d.extra_slots));

    let mut classifications: Vec<ebxml::Classification> = d
        .authors
        .iter()
        .enumerate()
        .map(|(i, a)| author_classification(&id, v::DOCUMENT_ENTRY_AUTHOR, i, a))
        .collect();
    classifications.extend(codes(
        &id,
        CodeScheme::ClassCode,
        std::slice::from_ref(&d.class_code),
    ));
    classifications.extend(codes(
        &id,
        CodeScheme::ConfidentialityCode,
        &d.confidentiality_codes,
    ));
    classifications.extend(codes(&id, CodeScheme::EventCode, &d.event_codes));
    classifications.extend(codes(
        &id,
        CodeScheme::FormatCode,
        std::slice::from_ref(&d.format_code),
    ));
    classifications.extend(codes(
        &id,
        CodeScheme::HealthcareFacilityTypeCode,
        std::slice::from_ref(&d.healthcare_facility_type_code),
    ));
    classifications.extend(codes(
        &id,
        CodeScheme::PracticeSettingCode,
        std::slice::from_ref(&d.practice_setting_code),
    ));
    classifications.extend(codes(
        &id,
        CodeScheme::TypeCode,
        std::slice::from_ref(&d.type_code),
    ));
    if d.limited_metadata {
        classifications.push(node_classification(&id, v::DOCUMENT_ENTRY_LIMITED_METADATA));
    }
    let external_identifiers = vec![
        external_identifier(
            &id,
            v::DOCUMENT_ENTRY_PATIENT_ID,
            v::NAME_DOCUMENT_ENTRY_PATIENT_ID,
            d.patient_id.to_string(),
        ),
        external_identifier(
            &id,
            v::DOCUMENT_ENTRY_UNIQUE_ID,
            v::NAME_DOCUMENT_ENTRY_UNIQUE_ID,
            d.unique_id.to_string(),
        ),
    ];
    ebxml::ExtrinsicObject {
        object: ebxml::RegistryObject {
            id: id.clone(),
            home: d.home_community_id.clone(),
            lid: d.logical_id.as_ref().map(ToString::to_string),
            object_type: Some(d.object_type.as_uuid().to_string()),
            status: d.availability_status.map(|s| s.as_urn().to_string()),
            slots,
            name: d.title.as_ref().map(international),
            description: d.comments.as_ref().map(international),
            version_info: version_info(&d.version),
            classifications,
            external_identifiers,
        },
        mime_type: Some(d.mime_type.clone()),
        is_opaque: None,
        content_version_info: None,
    }
}

/// A SubmissionSet as `rim:RegistryPackage`, classified by a nested Classification.
pub fn submission_set_to_ebxml(s: &SubmissionSet) -> ebxml::RegistryPackage {
    let id = s.entry_uuid.to_string();
    let mut slots = vec![slot(
        v::SLOT_SUBMISSION_TIME,
        [s.submission_time.to_string()],
    )];
    if !s.intended_recipients.is_empty() {
        slots.push(slot(
            v::SLOT_INTENDED_RECIPIENT,
            s.intended_recipients.iter().cloned(),
        ));
    }
    slots.extend(extra(&s.extra_slots));
    let mut classifications: Vec<ebxml::Classification> = s
        .authors
        .iter()
        .enumerate()
        .map(|(i, a)| author_classification(&id, v::SUBMISSION_SET_AUTHOR, i, a))
        .collect();
    classifications.extend(codes(
        &id,
        CodeScheme::ContentTypeCode,
        std::slice::from_ref(&s.content_type_code),
    ));
    classifications.push(node_classification(&id, v::SUBMISSION_SET));
    if s.limited_metadata {
        classifications.push(node_classification(&id, v::SUBMISSION_SET_LIMITED_METADATA));
    }
    let external_identifiers = vec![
        external_identifier(
            &id,
            v::SUBMISSION_SET_PATIENT_ID,
            v::NAME_SUBMISSION_SET_PATIENT_ID,
            s.patient_id.to_string(),
        ),
        external_identifier(
            &id,
            v::SUBMISSION_SET_SOURCE_ID,
            v::NAME_SUBMISSION_SET_SOURCE_ID,
            s.source_id.to_string(),
        ),
        external_identifier(
            &id,
            v::SUBMISSION_SET_UNIQUE_ID,
            v::NAME_SUBMISSION_SET_UNIQUE_ID,
            s.unique_id.to_string(),
        ),
    ];
    ebxml::RegistryPackage {
        object: ebxml::RegistryObject {
            id: id.clone(),
            home: s.home_community_id.clone(),
            lid: None,
            object_type: Some(v::OBJECT_TYPE_REGISTRY_PACKAGE.to_string()),
            status: s.availability_status.map(|st| st.as_urn().to_string()),
            slots,
            name: s.title.as_ref().map(international),
            description: s.comments.as_ref().map(international),
            version_info: None,
            classifications,
            external_identifiers,
        },
        members: None,
    }
}

/// A Folder as `rim:RegistryPackage`, classified by a nested Classification.
pub fn folder_to_ebxml(fo: &Folder) -> ebxml::RegistryPackage {
    let id = fo.entry_uuid.to_string();
    let mut slots = Vec::new();
    opt_slot(
        &mut slots,
        v::SLOT_LAST_UPDATE_TIME,
        fo.last_update_time.map(|t| t.to_string()),
    );
    slots.extend(extra(&fo.extra_slots));
    let mut classifications: Vec<ebxml::Classification> =
        codes(&id, CodeScheme::FolderCode, &fo.code_list).collect();
    classifications.push(node_classification(&id, v::FOLDER));
    if fo.limited_metadata {
        classifications.push(node_classification(&id, v::FOLDER_LIMITED_METADATA));
    }
    let external_identifiers = vec![
        external_identifier(
            &id,
            v::FOLDER_PATIENT_ID,
            v::NAME_FOLDER_PATIENT_ID,
            fo.patient_id.to_string(),
        ),
        external_identifier(
            &id,
            v::FOLDER_UNIQUE_ID,
            v::NAME_FOLDER_UNIQUE_ID,
            fo.unique_id.to_string(),
        ),
    ];
    ebxml::RegistryPackage {
        object: ebxml::RegistryObject {
            id: id.clone(),
            home: fo.home_community_id.clone(),
            lid: fo.logical_id.as_ref().map(ToString::to_string),
            object_type: Some(v::OBJECT_TYPE_REGISTRY_PACKAGE.to_string()),
            status: fo.availability_status.map(|st| st.as_urn().to_string()),
            slots,
            name: fo.title.as_ref().map(international),
            description: fo.comments.as_ref().map(international),
            version_info: version_info(&fo.version),
            classifications,
            external_identifiers,
        },
        members: None,
    }
}

pub fn association_to_ebxml(a: &Association) -> ebxml::Association {
    let mut slots = Vec::new();
    if let Some(s) = a.submission_set_status {
        slots.push(slot(v::SLOT_SUBMISSION_SET_STATUS, [s.as_str()]));
    }
    slots.extend(extra(&a.extra_slots));
    ebxml::Association {
        object: ebxml::RegistryObject {
            id: a.entry_uuid.to_string(),
            object_type: Some(v::OBJECT_TYPE_ASSOCIATION.to_string()),
            status: a.availability_status.map(|st| st.as_urn().to_string()),
            slots,
            ..ebxml::RegistryObject::default()
        },
        association_type: a.association_type.as_urn().to_string(),
        source_object: a.source.to_string(),
        target_object: a.target.to_string(),
    }
}

/// All objects of a submission as a `rim:RegistryObjectList`: ObjectRefs, the SubmissionSet,
/// Folders, DocumentEntries, then Associations.
pub fn registry_object_list(s: &Submission) -> ebxml::RegistryObjectList {
    let mut objects: Vec<ebxml::Identifiable> = s
        .object_refs
        .iter()
        .map(|r| ebxml::Identifiable::ObjectRef(ebxml::ObjectRef::new(r.to_string())))
        .collect();
    objects.push(ebxml::Identifiable::RegistryPackage(
        submission_set_to_ebxml(&s.submission_set),
    ));
    objects.extend(
        s.folders
            .iter()
            .map(|f| ebxml::Identifiable::RegistryPackage(folder_to_ebxml(f))),
    );
    objects.extend(
        s.documents
            .iter()
            .map(|d| ebxml::Identifiable::ExtrinsicObject(document_entry_to_ebxml(d))),
    );
    objects.extend(
        s.associations
            .iter()
            .map(|a| ebxml::Identifiable::Association(association_to_ebxml(a))),
    );
    ebxml::RegistryObjectList { objects }
}

/// The submission as the body of ITI-42.
pub fn submit_objects_request(s: &Submission) -> ebxml::SubmitObjectsRequest {
    ebxml::SubmitObjectsRequest {
        request: ebxml::RegistryRequest::default(),
        objects: registry_object_list(s),
    }
}

/// The submission with its documents as the body of ITI-41.
pub fn provide_and_register_request(s: &Submission) -> ebxml::ProvideAndRegisterDocumentSetRequest {
    ebxml::ProvideAndRegisterDocumentSetRequest {
        submit: submit_objects_request(s),
        documents: s
            .contents
            .iter()
            .map(|c| ebxml::Document {
                id: c.entry_uuid.to_string(),
                bytes: c.bytes.clone(),
            })
            .collect(),
    }
}

/// A problem as `rs:RegistryError`: the IHE code, codeContext naming the object, the rule name
/// as location.
pub fn registry_error(p: &Problem) -> ebxml::RegistryError {
    ebxml::RegistryError {
        error_code: p.code.as_str().to_string(),
        code_context: p.code_context(),
        location: Some(p.rule.to_string()),
        severity: Some(match p.severity {
            Severity::Error => ebxml::ErrorSeverity::Error,
            Severity::Warning => ebxml::ErrorSeverity::Warning,
        }),
        message: String::new(),
    }
}

/// The `rs:RegistryResponse` for a request that found `problems`: Failure when any is an
/// error, Success otherwise (warnings listed).
pub fn registry_response(problems: &[Problem]) -> ebxml::RegistryResponse {
    ebxml::RegistryResponse {
        status: if has_errors(problems) {
            ebxml::ResponseStatus::Failure
        } else {
            ebxml::ResponseStatus::Success
        },
        request_id: None,
        response_slots: Vec::new(),
        errors: (!problems.is_empty())
            .then(|| ebxml::RegistryErrorList::new(problems.iter().map(registry_error).collect())),
    }
}

/// `rim:ObjectRef`s for `ids` (the answer to a query with returnType ObjectRef).
pub fn object_refs(ids: &[RegistryObjectId]) -> ebxml::RegistryObjectList {
    ebxml::RegistryObjectList {
        objects: ids
            .iter()
            .map(|id| ebxml::Identifiable::ObjectRef(ebxml::ObjectRef::new(id.to_string())))
            .collect(),
    }
}
