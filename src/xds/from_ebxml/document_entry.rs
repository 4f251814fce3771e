//! DocumentEntry from `rim:ExtrinsicObject` (ITI TF-3 §4.2.3.2; required attributes per
//! Table 4.3.1-3).

use crate::ebxml;

use super::super::document_entry::{DocumentEntry, DocumentEntryType};
use super::super::findings::{Findings, ObjectFacts, ObjectKind, id_key};
use super::super::hl7::Xcn;
use super::super::object_id::RegistryObjectId;
use super::super::sha1_hex::Sha1Hex;
use super::super::submission::SubmissionKind;
use super::super::unique_id::UniqueId;
use super::super::vocabulary as v;
use super::Attached;
use super::common::{
    Slots, check_nested_targets, context_of, dtm, entry_id, has_node, identifier, parse_oid,
    parse_patient_id, read_author, read_codes, report_unknown_classifications,
    report_unknown_identifiers, required_missing, single, status, text,
};

const DOCUMENT_ENTRY_SCHEMES: &[&str] = &[
    v::DOCUMENT_ENTRY_AUTHOR,
    v::DOCUMENT_ENTRY_CLASS_CODE,
    v::DOCUMENT_ENTRY_CONFIDENTIALITY_CODE,
    v::DOCUMENT_ENTRY_EVENT_CODE,
    v::DOCUMENT_ENTRY_FORMAT_CODE,
    v::DOCUMENT_ENTRY_HEALTHCARE_FACILITY_TYPE_CODE,
    v::DOCUMENT_ENTRY_PRACTICE_SETTING_CODE,
    v::DOCUMENT_ENTRY_TYPE_CODE,
];

pub(super) fn read_document_entry(
    f: &mut Findings,
    eo: &ebxml::ExtrinsicObject,
    at: &Attached<'_>,
) -> (Option<DocumentEntry>, ObjectFacts) {
    let o = &eo.object;
    let unique_raw = at
        .external_identifiers
        .iter()
        .find(|e| e.identification_scheme.trim() == v::DOCUMENT_ENTRY_UNIQUE_ID)
        .map(|e| e.value.trim());
    let context = context_of("DocumentEntry", &o.id, unique_raw);
    let ctx = context.as_str();
    check_nested_targets(f, o, ctx);

    let entry_uuid = entry_id(f, &o.id, "DocumentEntry.entryUUID.format", ctx);
    let logical_id = o
        .lid
        .as_deref()
        .and_then(|l| RegistryObjectId::parse(l).ok());
    let object_type = match o.object_type.as_deref() {
        None => {
            required_missing(f, "DocumentEntry.objectType.required", ctx, "objectType");
            None
        }
        Some(t) => {
            let parsed = DocumentEntryType::parse(t);
            if parsed.is_none() {
                f.metadata(
                    "DocumentEntry.objectType.valid",
                    ctx,
                    format!(
                        "objectType '{t}' is neither the Stable ({}) nor the On-Demand ({}) DocumentEntry type",
                        v::DOCUMENT_ENTRY_STABLE,
                        v::DOCUMENT_ENTRY_ON_DEMAND
                    ),
                );
            }
            parsed
        }
    };
    let availability_status = status(
        f,
        o.status.as_deref(),
        "DocumentEntry.availabilityStatus.format",
        ctx,
    );
    let mime_type = eo
        .mime_type
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty());
    if mime_type.is_none() {
        required_missing(f, "DocumentEntry.mimeType.required", ctx, "mimeType");
    }

    // Slots.
    let mut slots = Slots::new(&o.slots);
    let creation_raw = single(
        f,
        slots.values(v::SLOT_CREATION_TIME).as_deref(),
        "DocumentEntry.creationTime.singleValued",
        ctx,
        "creationTime",
    );
    if creation_raw.is_none() && object_type != Some(DocumentEntryType::OnDemand) {
        required_missing(
            f,
            "DocumentEntry.creationTime.required",
            ctx,
            "creationTime",
        );
    }
    let creation_time = dtm(
        f,
        creation_raw,
        "DocumentEntry.creationTime.format",
        ctx,
        "creationTime",
    );
    let start_raw = single(
        f,
        slots.values(v::SLOT_SERVICE_START_TIME).as_deref(),
        "DocumentEntry.serviceStartTime.singleValued",
        ctx,
        "serviceStartTime",
    );
    let service_start_time = dtm(
        f,
        start_raw,
        "DocumentEntry.serviceStartTime.format",
        ctx,
        "serviceStartTime",
    );
    let stop_raw = single(
        f,
        slots.values(v::SLOT_SERVICE_STOP_TIME).as_deref(),
        "DocumentEntry.serviceStopTime.singleValued",
        ctx,
        "serviceStopTime",
    );
    let service_stop_time = dtm(
        f,
        stop_raw,
        "DocumentEntry.serviceStopTime.format",
        ctx,
        "serviceStopTime",
    );
    let language_code = single(
        f,
        slots.values(v::SLOT_LANGUAGE_CODE).as_deref(),
        "DocumentEntry.languageCode.singleValued",
        ctx,
        "languageCode",
    )
    .filter(|s| !s.is_empty());
    if language_code.is_none() {
        required_missing(
            f,
            "DocumentEntry.languageCode.required",
            ctx,
            "languageCode",
        );
    }
    let source_patient_id = single(
        f,
        slots.values(v::SLOT_SOURCE_PATIENT_ID).as_deref(),
        "DocumentEntry.sourcePatientId.singleValued",
        ctx,
        "sourcePatientId",
    )
    .filter(|s| !s.is_empty());
    if source_patient_id.is_none() {
        required_missing(
            f,
            "DocumentEntry.sourcePatientId.required",
            ctx,
            "sourcePatientId",
        );
    }
    let source_patient_info = slots
        .values(v::SLOT_SOURCE_PATIENT_INFO)
        .unwrap_or_default()
        .into_iter()
        .map(str::to_string)
        .collect();
    let legal_authenticator = single(
        f,
        slots.values(v::SLOT_LEGAL_AUTHENTICATOR).as_deref(),
        "DocumentEntry.legalAuthenticator.singleValued",
        ctx,
        "legalAuthenticator",
    )
    .and_then(Xcn::parse);
    let register = f.kind == SubmissionKind::Register;
    let hash_raw = single(
        f,
        slots.values(v::SLOT_HASH).as_deref(),
        "DocumentEntry.hash.singleValued",
        ctx,
        "hash",
    );
    if hash_raw.is_none() && register {
        required_missing(f, "DocumentEntry.hash.required", ctx, "hash");
    }
    let hash = hash_raw.and_then(|h| match Sha1Hex::parse(h) {
        Ok(h) => Some(h),
        Err(e) => {
            f.metadata("DocumentEntry.hash.format", ctx, format!("hash: {e}"));
            None
        }
    });
    let size_raw = single(
        f,
        slots.values(v::SLOT_SIZE).as_deref(),
        "DocumentEntry.size.singleValued",
        ctx,
        "size",
    );
    if size_raw.is_none() && register {
        required_missing(f, "DocumentEntry.size.required", ctx, "size");
    }
    let size = size_raw.and_then(|s| match s.parse::<u64>() {
        Ok(n) => Some(n),
        Err(_) => {
            f.metadata(
                "DocumentEntry.size.format",
                ctx,
                format!("size '{s}' is not a non-negative integer"),
            );
            None
        }
    });
    let repository_raw = single(
        f,
        slots.values(v::SLOT_REPOSITORY_UNIQUE_ID).as_deref(),
        "DocumentEntry.repositoryUniqueId.singleValued",
        ctx,
        "repositoryUniqueId",
    );
    if repository_raw.is_none() && register {
        required_missing(
            f,
            "DocumentEntry.repositoryUniqueId.required",
            ctx,
            "repositoryUniqueId",
        );
    }
    let repository_unique_id = parse_oid(
        f,
        repository_raw,
        "DocumentEntry.repositoryUniqueId.format",
        ctx,
        "repositoryUniqueId",
    );
    let uri = single(
        f,
        slots.values(v::SLOT_URI).as_deref(),
        "DocumentEntry.URI.singleValued",
        ctx,
        "URI",
    )
    .map(str::to_string);
    let document_availability = single(
        f,
        slots.values(v::SLOT_DOCUMENT_AVAILABILITY).as_deref(),
        "DocumentEntry.documentAvailability.singleValued",
        ctx,
        "documentAvailability",
    )
    .map(str::to_string);
    let reference_id_list = slots
        .values(v::SLOT_REFERENCE_ID_LIST)
        .unwrap_or_default()
        .into_iter()
        .map(str::to_string)
        .collect();
    let extra_slots = slots.extra();

    // Classifications.
    let cs = &at.classifications;
    let one_code = |f: &mut Findings,
                    scheme: &str,
                    attribute: &str,
                    required: &'static str,
                    single_rule: &'static str| {
        read_codes(
            f,
            cs,
            scheme,
            ctx,
            attribute,
            Some(required),
            Some(single_rule),
        )
        .into_iter()
        .next()
    };
    let class_code = one_code(
        f,
        v::DOCUMENT_ENTRY_CLASS_CODE,
        "classCode",
        "DocumentEntry.classCode.required",
        "DocumentEntry.classCode.singleValued",
    );
    let type_code = one_code(
        f,
        v::DOCUMENT_ENTRY_TYPE_CODE,
        "typeCode",
        "DocumentEntry.typeCode.required",
        "DocumentEntry.typeCode.singleValued",
    );
    let format_code = one_code(
        f,
        v::DOCUMENT_ENTRY_FORMAT_CODE,
        "formatCode",
        "DocumentEntry.formatCode.required",
        "DocumentEntry.formatCode.singleValued",
    );
    let healthcare_facility_type_code = one_code(
        f,
        v::DOCUMENT_ENTRY_HEALTHCARE_FACILITY_TYPE_CODE,
        "healthcareFacilityTypeCode",
        "DocumentEntry.healthcareFacilityTypeCode.required",
        "DocumentEntry.healthcareFacilityTypeCode.singleValued",
    );
    let practice_setting_code = one_code(
        f,
        v::DOCUMENT_ENTRY_PRACTICE_SETTING_CODE,
        "practiceSettingCode",
        "DocumentEntry.practiceSettingCode.required",
        "DocumentEntry.practiceSettingCode.singleValued",
    );
    let confidentiality_codes = read_codes(
        f,
        cs,
        v::DOCUMENT_ENTRY_CONFIDENTIALITY_CODE,
        ctx,
        "confidentialityCode",
        Some("DocumentEntry.confidentialityCode.required"),
        None,
    );
    let event_codes = read_codes(
        f,
        cs,
        v::DOCUMENT_ENTRY_EVENT_CODE,
        ctx,
        "eventCodeList",
        None,
        None,
    );
    let authors = cs
        .iter()
        .filter(|c| {
            c.classification_scheme.as_deref().map(str::trim) == Some(v::DOCUMENT_ENTRY_AUTHOR)
        })
        .map(|c| read_author(f, c, ctx))
        .collect();
    let limited_metadata = has_node(cs, v::DOCUMENT_ENTRY_LIMITED_METADATA);
    report_unknown_classifications(
        f,
        cs,
        DOCUMENT_ENTRY_SCHEMES,
        &[v::DOCUMENT_ENTRY_LIMITED_METADATA],
        ctx,
    );

    // External identifiers.
    let ids = &at.external_identifiers;
    let patient_raw = identifier(
        f,
        ids,
        v::DOCUMENT_ENTRY_PATIENT_ID,
        "DocumentEntry.patientId.singleValued",
        ctx,
        "patientId",
    );
    if patient_raw.is_none() {
        required_missing(f, "DocumentEntry.patientId.required", ctx, "patientId");
    }
    let patient_id = parse_patient_id(f, patient_raw, "DocumentEntry.patientId.format", ctx);
    let unique_raw = identifier(
        f,
        ids,
        v::DOCUMENT_ENTRY_UNIQUE_ID,
        "DocumentEntry.uniqueId.singleValued",
        ctx,
        "uniqueId",
    );
    if unique_raw.is_none() {
        required_missing(f, "DocumentEntry.uniqueId.required", ctx, "uniqueId");
    }
    let unique_id = unique_raw.and_then(|u| match UniqueId::parse(u) {
        Ok(u) => Some(u),
        Err(e) => {
            f.metadata(
                "DocumentEntry.uniqueId.format",
                ctx,
                format!("uniqueId: {e}"),
            );
            None
        }
    });
    report_unknown_identifiers(
        f,
        ids,
        &[v::DOCUMENT_ENTRY_PATIENT_ID, v::DOCUMENT_ENTRY_UNIQUE_ID],
        ctx,
    );

    let facts = ObjectFacts {
        key: id_key(&o.id),
        kind: ObjectKind::DocumentEntry,
        context: context.clone(),
        patient_id: patient_id.clone(),
        unique_id: unique_raw.map(str::to_string),
        hash,
        size,
        on_demand: object_type == Some(DocumentEntryType::OnDemand),
    };
    let entry = 'build: {
        let (
            Some(entry_uuid),
            Some(object_type),
            Some(patient_id),
            Some(unique_id),
            Some(class_code),
            Some(type_code),
            Some(format_code),
            Some(healthcare_facility_type_code),
            Some(practice_setting_code),
            Some(mime_type),
            Some(language_code),
        ) = (
            entry_uuid,
            object_type,
            patient_id,
            unique_id,
            class_code,
            type_code,
            format_code,
            healthcare_facility_type_code,
            practice_setting_code,
            mime_type,
            language_code,
        )
        else {
            break 'build None;
        };
        Some(DocumentEntry {
            entry_uuid,
            logical_id,
            version: o.version_info.as_ref().and_then(|v| v.version_name.clone()),
            object_type,
            availability_status,
            home_community_id: o.home.clone(),
            patient_id,
            unique_id,
            mime_type: mime_type.to_string(),
            class_code,
            type_code,
            format_code,
            healthcare_facility_type_code,
            practice_setting_code,
            confidentiality_codes,
            event_codes,
            authors,
            title: o.name.as_ref().map(text),
            comments: o.description.as_ref().map(text),
            language_code: language_code.to_string(),
            creation_time,
            service_start_time,
            service_stop_time,
            hash,
            size,
            repository_unique_id,
            source_patient_id: source_patient_id.map(str::to_string),
            source_patient_info,
            legal_authenticator,
            uri,
            reference_id_list,
            document_availability,
            limited_metadata,
            extra_slots,
        })
    };
    (entry, facts)
}
