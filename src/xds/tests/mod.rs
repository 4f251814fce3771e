//! Tests of the XDS metadata layer: every XDS fixture with its expected outcome (fixtures
//! README), one test per rule, and round trips ebXML → XDS → ebXML. This file holds the helpers.

use std::collections::BTreeSet;

use bytes::Bytes;

use super::*;
use crate::ebxml::test_fixtures::{self, XDS_FIXTURES};
use crate::ebxml::{self, EncodeOptions, WireMessage};
use crate::xml::{self as xml_reader, Limits};

mod association_rules;
mod attribute_rules;
mod fixtures;
mod hooks_and_responses;
mod round_trip;
mod submission_rules;

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
