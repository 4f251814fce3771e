//! Association from `rim:Association` (ITI TF-3 §4.2.2).

use crate::ebxml;

use super::super::association::{Association, AssociationType, SubmissionSetStatus};
use super::super::findings::{AssociationFacts, Findings, id_key};
use super::super::object_id::RegistryObjectId;
use super::super::vocabulary as v;
use super::Attached;
use super::common::{
    Slots, check_nested_targets, entry_id, report_unknown_classifications,
    report_unknown_identifiers, status,
};

pub(super) fn read_association(
    f: &mut Findings,
    a: &ebxml::Association,
    at: &Attached<'_>,
) -> (Option<Association>, AssociationFacts) {
    let o = &a.object;
    let association_type = AssociationType::parse(&a.association_type);
    let type_name: &str = match association_type {
        Some(t) => t.name(),
        None => a.association_type.trim(),
    };
    let context = format!(
        "Association '{}' ({type_name} {} -> {})",
        o.id, a.source_object, a.target_object
    );
    let ctx = context.as_str();
    check_nested_targets(f, o, ctx);
    let entry_uuid = entry_id(f, &o.id, "Association.entryUUID.format", ctx);
    if association_type.is_none() {
        f.metadata(
            "Association.associationType.known",
            ctx,
            format!(
                "associationType '{}' is not one of ITI TF-3 4.2.2",
                a.association_type
            ),
        );
    }
    let end = |f: &mut Findings, raw: &str, rule: &'static str, which: &str| {
        match RegistryObjectId::parse(raw) {
            Ok(id) => Some(id),
            Err(e) => {
                f.metadata(rule, ctx, format!("{which}: {e}"));
                None
            }
        }
    };
    let source = end(
        f,
        &a.source_object,
        "Association.sourceObject.format",
        "sourceObject",
    );
    let target = end(
        f,
        &a.target_object,
        "Association.targetObject.format",
        "targetObject",
    );
    let availability_status = status(
        f,
        o.status.as_deref(),
        "Association.availabilityStatus.format",
        ctx,
    );

    let mut slots = Slots::new(&o.slots);
    let status_values: Option<Vec<String>> = slots
        .values(v::SLOT_SUBMISSION_SET_STATUS)
        .map(|vs| vs.into_iter().map(|s| s.trim().to_string()).collect());
    let submission_set_status = status_values
        .as_ref()
        .and_then(|vs| vs.first())
        .and_then(|s| SubmissionSetStatus::parse(s));
    let extra_slots = slots.extra();
    report_unknown_classifications(f, &at.classifications, &[], &[], ctx);
    report_unknown_identifiers(f, &at.external_identifiers, &[], ctx);

    let facts = AssociationFacts {
        key: id_key(&o.id),
        context: context.clone(),
        association_type,
        source_key: id_key(&a.source_object),
        target_key: id_key(&a.target_object),
        source_is_uuid: source.as_ref().is_some_and(RegistryObjectId::is_uuid),
        target_is_uuid: target.as_ref().is_some_and(RegistryObjectId::is_uuid),
        submission_set_status: status_values,
    };
    let association = 'build: {
        let (Some(entry_uuid), Some(association_type), Some(source), Some(target)) =
            (entry_uuid, association_type, source, target)
        else {
            break 'build None;
        };
        Some(Association {
            entry_uuid,
            association_type,
            source,
            target,
            availability_status,
            submission_set_status,
            extra_slots,
        })
    };
    (association, facts)
}
