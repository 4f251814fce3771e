//! SubmissionSet from `rim:RegistryPackage` (ITI TF-3 §4.2.3.3; required attributes per
//! Table 4.3.1-3).

use crate::ebxml;

use super::super::findings::{Findings, ObjectFacts, ObjectKind, id_key};
use super::super::submission_set::SubmissionSet;
use super::super::vocabulary as v;
use super::Attached;
use super::common::{
    Slots, check_nested_targets, context_of, dtm, entry_id, has_node, identifier, parse_oid,
    parse_patient_id, read_author, read_codes, report_unknown_classifications,
    report_unknown_identifiers, required_missing, single, status, text,
};

const SUBMISSION_SET_SCHEMES: &[&str] = &[
    v::SUBMISSION_SET_AUTHOR,
    v::SUBMISSION_SET_CONTENT_TYPE_CODE,
];

pub(super) fn read_submission_set(
    f: &mut Findings,
    p: &ebxml::RegistryPackage,
    at: &Attached<'_>,
) -> (Option<SubmissionSet>, ObjectFacts) {
    let o = &p.object;
    let unique_raw = at
        .external_identifiers
        .iter()
        .find(|e| e.identification_scheme.trim() == v::SUBMISSION_SET_UNIQUE_ID)
        .map(|e| e.value.trim());
    let context = context_of("SubmissionSet", &o.id, unique_raw);
    let ctx = context.as_str();
    check_nested_targets(f, o, ctx);
    let entry_uuid = entry_id(f, &o.id, "SubmissionSet.entryUUID.format", ctx);
    let availability_status = status(
        f,
        o.status.as_deref(),
        "SubmissionSet.availabilityStatus.format",
        ctx,
    );

    let mut slots = Slots::new(&o.slots);
    let time_raw = single(
        f,
        slots.values(v::SLOT_SUBMISSION_TIME).as_deref(),
        "SubmissionSet.submissionTime.singleValued",
        ctx,
        "submissionTime",
    );
    if time_raw.is_none() {
        required_missing(
            f,
            "SubmissionSet.submissionTime.required",
            ctx,
            "submissionTime",
        );
    }
    let submission_time = dtm(
        f,
        time_raw,
        "SubmissionSet.submissionTime.format",
        ctx,
        "submissionTime",
    );
    let intended_recipients = slots
        .values(v::SLOT_INTENDED_RECIPIENT)
        .unwrap_or_default()
        .into_iter()
        .map(str::to_string)
        .collect();
    let extra_slots = slots.extra();

    let cs = &at.classifications;
    let content_type_code = read_codes(
        f,
        cs,
        v::SUBMISSION_SET_CONTENT_TYPE_CODE,
        ctx,
        "contentTypeCode",
        Some("SubmissionSet.contentTypeCode.required"),
        Some("SubmissionSet.contentTypeCode.singleValued"),
    )
    .into_iter()
    .next();
    let authors = cs
        .iter()
        .filter(|c| {
            c.classification_scheme.as_deref().map(str::trim) == Some(v::SUBMISSION_SET_AUTHOR)
        })
        .map(|c| read_author(f, c, ctx))
        .collect();
    let limited_metadata = has_node(cs, v::SUBMISSION_SET_LIMITED_METADATA);
    report_unknown_classifications(
        f,
        cs,
        SUBMISSION_SET_SCHEMES,
        &[v::SUBMISSION_SET, v::SUBMISSION_SET_LIMITED_METADATA],
        ctx,
    );

    let ids = &at.external_identifiers;
    let patient_raw = identifier(
        f,
        ids,
        v::SUBMISSION_SET_PATIENT_ID,
        "SubmissionSet.patientId.singleValued",
        ctx,
        "patientId",
    );
    if patient_raw.is_none() {
        required_missing(f, "SubmissionSet.patientId.required", ctx, "patientId");
    }
    let patient_id = parse_patient_id(f, patient_raw, "SubmissionSet.patientId.format", ctx);
    let unique_raw = identifier(
        f,
        ids,
        v::SUBMISSION_SET_UNIQUE_ID,
        "SubmissionSet.uniqueId.singleValued",
        ctx,
        "uniqueId",
    );
    if unique_raw.is_none() {
        required_missing(f, "SubmissionSet.uniqueId.required", ctx, "uniqueId");
    }
    let unique_id = parse_oid(
        f,
        unique_raw,
        "SubmissionSet.uniqueId.format",
        ctx,
        "uniqueId",
    );
    let source_raw = identifier(
        f,
        ids,
        v::SUBMISSION_SET_SOURCE_ID,
        "SubmissionSet.sourceId.singleValued",
        ctx,
        "sourceId",
    );
    if source_raw.is_none() {
        required_missing(f, "SubmissionSet.sourceId.required", ctx, "sourceId");
    }
    let source_id = parse_oid(
        f,
        source_raw,
        "SubmissionSet.sourceId.format",
        ctx,
        "sourceId",
    );
    report_unknown_identifiers(
        f,
        ids,
        &[
            v::SUBMISSION_SET_PATIENT_ID,
            v::SUBMISSION_SET_UNIQUE_ID,
            v::SUBMISSION_SET_SOURCE_ID,
        ],
        ctx,
    );

    let facts = ObjectFacts {
        key: id_key(&o.id),
        kind: ObjectKind::SubmissionSet,
        context: context.clone(),
        patient_id: patient_id.clone(),
        unique_id: unique_raw.map(str::to_string),
        hash: None,
        size: None,
        on_demand: false,
    };
    let set = 'build: {
        let (
            Some(entry_uuid),
            Some(patient_id),
            Some(unique_id),
            Some(source_id),
            Some(submission_time),
            Some(content_type_code),
        ) = (
            entry_uuid,
            patient_id,
            unique_id,
            source_id,
            submission_time,
            content_type_code,
        )
        else {
            break 'build None;
        };
        Some(SubmissionSet {
            entry_uuid,
            availability_status,
            home_community_id: o.home.clone(),
            patient_id,
            unique_id,
            source_id,
            submission_time,
            content_type_code,
            authors,
            title: o.name.as_ref().map(text),
            comments: o.description.as_ref().map(text),
            intended_recipients,
            limited_metadata,
            extra_slots,
        })
    };
    (set, facts)
}
