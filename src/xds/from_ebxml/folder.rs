//! Folder from `rim:RegistryPackage` (ITI TF-3 §4.2.3.4; required attributes per Table
//! 4.3.1-3).

use crate::ebxml;

use super::super::findings::{Findings, ObjectFacts, ObjectKind, id_key};
use super::super::folder::Folder;
use super::super::object_id::RegistryObjectId;
use super::super::vocabulary as v;
use super::Attached;
use super::common::{
    Slots, check_nested_targets, context_of, dtm, entry_id, has_node, identifier, parse_oid,
    parse_patient_id, read_codes, report_unknown_classifications, report_unknown_identifiers,
    required_missing, single, status, text,
};

pub(super) fn read_folder(
    f: &mut Findings,
    p: &ebxml::RegistryPackage,
    at: &Attached<'_>,
) -> (Option<Folder>, ObjectFacts) {
    let o = &p.object;
    let unique_raw = at
        .external_identifiers
        .iter()
        .find(|e| e.identification_scheme.trim() == v::FOLDER_UNIQUE_ID)
        .map(|e| e.value.trim());
    let context = context_of("Folder", &o.id, unique_raw);
    let ctx = context.as_str();
    check_nested_targets(f, o, ctx);
    let entry_uuid = entry_id(f, &o.id, "Folder.entryUUID.format", ctx);
    let availability_status = status(
        f,
        o.status.as_deref(),
        "Folder.availabilityStatus.format",
        ctx,
    );

    let mut slots = Slots::new(&o.slots);
    let update_raw = single(
        f,
        slots.values(v::SLOT_LAST_UPDATE_TIME).as_deref(),
        "Folder.lastUpdateTime.singleValued",
        ctx,
        "lastUpdateTime",
    );
    let last_update_time = dtm(
        f,
        update_raw,
        "Folder.lastUpdateTime.format",
        ctx,
        "lastUpdateTime",
    );
    let extra_slots = slots.extra();

    let cs = &at.classifications;
    let code_list = read_codes(
        f,
        cs,
        v::FOLDER_CODE_LIST,
        ctx,
        "codeList",
        Some("Folder.codeList.required"),
        None,
    );
    let limited_metadata = has_node(cs, v::FOLDER_LIMITED_METADATA);
    report_unknown_classifications(
        f,
        cs,
        &[v::FOLDER_CODE_LIST],
        &[v::FOLDER, v::FOLDER_LIMITED_METADATA],
        ctx,
    );

    let ids = &at.external_identifiers;
    let patient_raw = identifier(
        f,
        ids,
        v::FOLDER_PATIENT_ID,
        "Folder.patientId.singleValued",
        ctx,
        "patientId",
    );
    if patient_raw.is_none() {
        required_missing(f, "Folder.patientId.required", ctx, "patientId");
    }
    let patient_id = parse_patient_id(f, patient_raw, "Folder.patientId.format", ctx);
    let unique_raw = identifier(
        f,
        ids,
        v::FOLDER_UNIQUE_ID,
        "Folder.uniqueId.singleValued",
        ctx,
        "uniqueId",
    );
    if unique_raw.is_none() {
        required_missing(f, "Folder.uniqueId.required", ctx, "uniqueId");
    }
    let unique_id = parse_oid(f, unique_raw, "Folder.uniqueId.format", ctx, "uniqueId");
    report_unknown_identifiers(f, ids, &[v::FOLDER_PATIENT_ID, v::FOLDER_UNIQUE_ID], ctx);

    let facts = ObjectFacts {
        key: id_key(&o.id),
        kind: ObjectKind::Folder,
        context: context.clone(),
        patient_id: patient_id.clone(),
        unique_id: unique_raw.map(str::to_string),
        hash: None,
        size: None,
        on_demand: false,
    };
    let folder = 'build: {
        let (Some(entry_uuid), Some(patient_id), Some(unique_id)) =
            (entry_uuid, patient_id, unique_id)
        else {
            break 'build None;
        };
        Some(Folder {
            entry_uuid,
            logical_id: o
                .lid
                .as_deref()
                .and_then(|l| RegistryObjectId::parse(l).ok()),
            version: o.version_info.as_ref().and_then(|v| v.version_name.clone()),
            availability_status,
            home_community_id: o.home.clone(),
            patient_id,
            unique_id,
            code_list,
            last_update_time,
            title: o.name.as_ref().map(text),
            comments: o.description.as_ref().map(text),
            limited_metadata,
            extra_slots,
        })
    };
    (folder, facts)
}
