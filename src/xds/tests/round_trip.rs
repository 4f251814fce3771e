//! Round trips ebXML → XDS → ebXML, and what the model keeps.

use super::fixtures::{Expect, expected_outcome, provide_request, read_fixture};
use super::*;

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------

/// The facts a RegistryObjectList states, independent of element placement and of the ids of
/// Classifications and ExternalIdentifiers (which the registry assigns).
fn facts(list: &ebxml::RegistryObjectList) -> BTreeSet<String> {
    use crate::xds::findings::id_key;
    let mut out = BTreeSet::new();
    let object = |o: &ebxml::RegistryObject, out: &mut BTreeSet<String>| {
        let id = id_key(&o.id);
        for s in &o.slots {
            out.insert(format!("{id} slot {} = {:?}", s.name, s.values));
        }
        let text = |t: &Option<ebxml::InternationalString>| {
            t.as_ref().map(|t| {
                t.localized
                    .iter()
                    .map(|l| (l.value.clone(), l.lang.clone()))
                    .collect::<Vec<_>>()
            })
        };
        out.insert(format!("{id} name {:?}", text(&o.name)));
        out.insert(format!("{id} description {:?}", text(&o.description)));
        out.insert(format!(
            "{id} status {:?} home {:?} lid {:?}",
            o.status, o.home, o.lid
        ));
    };
    let classification = |c: &ebxml::Classification, out: &mut BTreeSet<String>| {
        let mut slots: Vec<String> = c
            .object
            .slots
            .iter()
            .map(|s| format!("{}={:?}", s.name, s.values))
            .collect();
        slots.sort();
        out.insert(format!(
            "{} classification {:?}/{:?} {:?} {:?} {:?}",
            id_key(&c.classified_object),
            c.classification_scheme,
            c.classification_node,
            c.node_representation.as_deref().unwrap_or(""),
            slots,
            c.object.name.as_ref().and_then(|n| n.first_value()),
        ));
    };
    let identifier = |e: &ebxml::ExternalIdentifier, out: &mut BTreeSet<String>| {
        out.insert(format!(
            "{} identifier {} = {}",
            id_key(&e.registry_object),
            e.identification_scheme,
            e.value
        ));
    };
    for o in &list.objects {
        match o {
            ebxml::Identifiable::ObjectRef(r) => {
                out.insert(format!("objectref {}", id_key(&r.id)));
            }
            ebxml::Identifiable::ExtrinsicObject(e) => {
                object(&e.object, &mut out);
                out.insert(format!(
                    "{} extrinsic {:?} {:?}",
                    id_key(&e.object.id),
                    e.object.object_type,
                    e.mime_type
                ));
                e.object
                    .classifications
                    .iter()
                    .for_each(|c| classification(c, &mut out));
                e.object
                    .external_identifiers
                    .iter()
                    .for_each(|x| identifier(x, &mut out));
            }
            ebxml::Identifiable::RegistryPackage(p) => {
                object(&p.object, &mut out);
                p.object
                    .classifications
                    .iter()
                    .for_each(|c| classification(c, &mut out));
                p.object
                    .external_identifiers
                    .iter()
                    .for_each(|x| identifier(x, &mut out));
            }
            ebxml::Identifiable::Association(a) => {
                object(&a.object, &mut out);
                out.insert(format!(
                    "{} association {} {} {}",
                    id_key(&a.object.id),
                    a.association_type,
                    id_key(&a.source_object),
                    id_key(&a.target_object)
                ));
            }
            ebxml::Identifiable::Classification(c) => classification(c, &mut out),
            ebxml::Identifiable::ExternalIdentifier(x) => identifier(x, &mut out),
        }
    }
    out
}

/// Facts the model does not keep on purpose: lang/charset of code display names, the names of
/// ExternalIdentifiers, and objectType attributes of Classifications and RegistryPackages.
fn comparable(list: &ebxml::RegistryObjectList) -> BTreeSet<String> {
    let mut list = list.clone();
    for o in &mut list.objects {
        match o {
            ebxml::Identifiable::RegistryPackage(p) => p.object.object_type = None,
            ebxml::Identifiable::Association(a) => a.object.object_type = None,
            _ => {}
        }
    }
    facts(&list)
}

fn assert_round_trip(rel: &str, kind: SubmissionKind) {
    let (first, problems) = read_fixture(rel, kind);
    expect_clean(&problems);
    let first = first.expect("submission");
    // Model → ebXML → XML text → ebXML → model.
    let (again, problems) = match kind {
        SubmissionKind::ProvideAndRegister => {
            let wire = to_ebxml::provide_and_register_request(&first);
            let xml = wire.to_xml(EncodeOptions::INLINE).xml;
            let back = ebxml::ProvideAndRegisterDocumentSetRequest::decode(
                &xml_reader::parse(xml.as_bytes(), &Limits::default()).expect("XML"),
            )
            .expect("decodes");
            assert_eq!(back, wire);
            submission_from_provide_and_register(&back)
        }
        SubmissionKind::Register => {
            let wire = to_ebxml::submit_objects_request(&first);
            let xml = wire.to_xml(EncodeOptions::INLINE).xml;
            let back = ebxml::SubmitObjectsRequest::decode(
                &xml_reader::parse(xml.as_bytes(), &Limits::default()).expect("XML"),
            )
            .expect("decodes");
            submission_from_register(&back)
        }
    };
    assert!(
        problems.is_empty(),
        "{rel} after a round trip:\n{}",
        show(&problems)
    );
    assert_eq!(again.as_ref(), Some(&first), "{rel}: model → ebXML → model");
    // And the regenerated ebXML states what the sender's did.
    let original = match kind {
        SubmissionKind::ProvideAndRegister => provide_request(rel).expect("decodes").submit.objects,
        SubmissionKind::Register => register_fixture(rel).objects,
    };
    let regenerated = to_ebxml::registry_object_list(&first);
    let (want, got) = (comparable(&original), comparable(&regenerated));
    let lost: Vec<&String> = want.difference(&got).collect();
    let added: Vec<&String> = got.difference(&want).collect();
    assert!(
        lost.is_empty() && added.is_empty(),
        "{rel}\nlost: {lost:#?}\nadded: {added:#?}"
    );
}

#[test]
fn valid_fixtures_round_trip_ebxml_xds_ebxml() {
    for rel in XDS_FIXTURES {
        if let Expect::Valid(kind) = expected_outcome(rel) {
            assert_round_trip(rel, kind);
        }
    }
}

#[test]
fn extra_slots_are_kept_and_returned() {
    let mut req = one_document();
    set_slot(
        &mut entry(&mut req).object,
        "urn:example:hospital:ward",
        &["4B", "east"],
    );
    set_slot(
        &mut package(&mut req, 0).object,
        "urn:example:batch",
        &["7"],
    );
    let (s, problems) = register(&req);
    assert!(problems.is_empty(), "{}", show(&problems));
    let s = s.expect("submission");
    assert_eq!(
        s.documents[0].extra_slots,
        [Slot::new("urn:example:hospital:ward", ["4B", "east"])]
    );
    assert_eq!(
        s.submission_set.extra_slots,
        [Slot::new("urn:example:batch", ["7"])]
    );
    let back = to_ebxml::document_entry_to_ebxml(&s.documents[0]);
    assert_eq!(
        back.object.slot_values("urn:example:hospital:ward"),
        Some(&["4B".to_string(), "east".to_string()][..])
    );
}

#[test]
fn leaf_class_output_is_deterministic_with_uuid_child_ids() {
    let (s, _) = register(&one_document());
    let s = s.expect("submission");
    let a = to_ebxml::document_entry_to_ebxml(&s.documents[0]);
    let b = to_ebxml::document_entry_to_ebxml(&s.documents[0]);
    assert_eq!(a, b);
    for c in &a.object.classifications {
        assert!(RegistryObjectId::parse(&c.object.id).expect("id").is_uuid());
        assert_eq!(c.classified_object, DE);
    }
    let ids: BTreeSet<&str> = a
        .object
        .classifications
        .iter()
        .map(|c| c.object.id.as_str())
        .collect();
    assert_eq!(
        ids.len(),
        a.object.classifications.len(),
        "child ids are distinct"
    );
}
