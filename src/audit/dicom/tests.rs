//! Unit tests: third-party fixtures (IPF), our own RFC 3881 and DICOM samples, round trips
//! (fixed and generated), schema validation of everything encoded, errors, scale.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use proptest::prelude::*;

use super::*;
use crate::audit::{AuditEvent, Code, Transport};

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn ipf(name: &str) -> Vec<u8> {
    let path = manifest().join("../shared/fixtures/ipf/atna").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ours(name: &str) -> Vec<u8> {
    let path = manifest().join("tests/data/audit").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ok(input: &[u8]) -> AuditMessage {
    decode(input).unwrap_or_else(|e| panic!("{e}"))
}

fn cv(code: &str, system: &str, original_text: &str) -> CodedValue {
    CodedValue::new(code, system, original_text)
}

/// Validates every `(name, xml)` against the official DICOM audit schema with one xmllint run,
/// and fails naming each document xmllint refused.
fn assert_schema_valid(docs: &[(String, String)]) {
    let xsd = manifest().join("../shared/schemas-official/dicom-audit/dicom2017c.xsd");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut files = Vec::new();
    for (i, (name, xml)) in docs.iter().enumerate() {
        let safe: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let path = dir.path().join(format!("{i:04}-{safe}.xml"));
        std::fs::write(&path, xml).expect("write");
        files.push(path);
    }
    let out = match Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .args(&files)
        .output()
    {
        Ok(out) => out,
        Err(e) => panic!(
            "cannot run xmllint ({e}): install the Debian package libxml2-utils to validate \
             audit messages against the DICOM schema"
        ),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    let failed: Vec<&Path> = files
        .iter()
        .filter(|f| !stderr.contains(&format!("{} validates", f.display())))
        .map(PathBuf::as_path)
        .collect();
    if !failed.is_empty() || !out.status.success() {
        let mut report = String::new();
        for f in &failed {
            let i: usize = f
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.get(..4))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            report.push_str(&format!("\n--- {} ---\n{}\n", docs[i].0, docs[i].1));
        }
        panic!(
            "xmllint refused {} document(s):\n{stderr}{report}",
            failed.len()
        );
    }
}

fn when() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 8, 30, 15)
        .single()
        .expect("valid time")
        + chrono::Duration::milliseconds(123)
}

// ---------------------------------------------------------------------------------------------
// Third-party fixtures (IPF)

#[test]
fn ipf_application_start_decodes() {
    let m = ok(&ipf("audit-application-start.xml"));
    assert_eq!(m.format, Format::Dicom);
    let e = &m.event;
    assert_eq!(e.event_id, cv("110100", "DCM", "Application Activity"));
    assert_eq!(e.action, Some(EventAction::Execute));
    assert_eq!(e.date_time, "2020-03-09T10:17:39.575Z");
    assert_eq!(
        e.time,
        Some(
            Utc.with_ymd_and_hms(2020, 3, 9, 10, 17, 39).unwrap()
                + chrono::Duration::milliseconds(575)
        )
    );
    assert_eq!(e.outcome, Outcome::Success);
    assert_eq!(
        e.event_type_codes,
        vec![cv("110120", "DCM", "Application Start")]
    );
    assert_eq!(e.outcome_description, None);
    assert!(e.purpose_of_use.is_empty());

    assert_eq!(m.active_participants.len(), 2);
    let app = &m.active_participants[0];
    assert_eq!(app.user_id, "");
    assert!(!app.user_is_requestor);
    assert_eq!(app.network_access_point_id.as_deref(), Some("10.0.75.1"));
    assert_eq!(app.network_access_point_type_code, Some(2));
    assert_eq!(app.role_id_codes, vec![cv("110150", "DCM", "Application")]);
    let launcher = &m.active_participants[1];
    assert_eq!(launcher.user_id, "WDF-LAP-1237$");
    assert!(launcher.user_is_requestor);
    assert_eq!(launcher.network_access_point_id, None);
    assert_eq!(
        launcher.role_id_codes,
        vec![cv("110151", "DCM", "Application Launcher")]
    );

    assert_eq!(m.audit_source.audit_source_id, "app-connect");
    assert_eq!(m.audit_source.enterprise_site_id, None);
    assert_eq!(m.audit_source.type_codes, vec![cv("9", "DCM", "Other")]);
    assert!(m.additional_audit_sources.is_empty());
    assert!(m.participant_objects.is_empty());

    let i = index(&m);
    assert_eq!(i.event_id, "110100");
    assert_eq!(i.event_types, vec!["110120"]);
    assert_eq!(i.user_ids, vec!["WDF-LAP-1237$"]);
    assert_eq!(i.source_nodes, vec!["10.0.75.1"]);
    assert_eq!(i.audit_source_id, "app-connect");
    assert!(i.patient_ids.is_empty() && i.object_ids.is_empty());
}

#[test]
fn ipf_iti44_pix_source_feed_decodes() {
    let m = ok(&ipf("audit-iti44-pix-source-feed.xml"));
    assert_eq!(m.format, Format::Dicom);
    assert_eq!(m.event.event_id, cv("110110", "DCM", "Patient Record"));
    assert_eq!(m.event.action, Some(EventAction::Create));
    assert_eq!(m.event.date_time, "2020-04-08T15:44:24.580Z");
    assert_eq!(
        m.event.event_type_codes,
        vec![cv("ITI-44", "IHE Transactions", "Patient Identity Feed")]
    );
    let [source, destination] = &m.active_participants[..] else {
        panic!("two participants expected: {:?}", m.active_participants);
    };
    assert_eq!(source.user_id, "");
    assert_eq!(source.alternative_user_id.as_deref(), Some("10232"));
    assert!(source.user_is_requestor);
    assert_eq!(source.role_id_codes, vec![cv("110153", "DCM", "Source")]);
    assert_eq!(
        destination.user_id,
        "http://127.0.0.1:8080/mpi/ws/iti44Service"
    );
    assert!(!destination.user_is_requestor);
    assert_eq!(
        destination.role_id_codes,
        vec![cv("110152", "DCM", "Destination")]
    );
    assert_eq!(
        m.audit_source.enterprise_site_id.as_deref(),
        Some("EHR_2017")
    );
    assert_eq!(m.audit_source.audit_source_id, "EHR_2017");

    let [patient] = &m.participant_objects[..] else {
        panic!("one participant object expected");
    };
    assert_eq!(patient.id, "PIX^^^&1.3.6.1.4.1.21367.2011.2.5.5488&ISO");
    assert_eq!(patient.type_code, Some(1));
    assert_eq!(patient.type_code_role, Some(1));
    assert_eq!(patient.id_type_code, cv("2", "RFC-3881", "Patient Number"));
    assert_eq!(
        patient.details,
        vec![ObjectDetail::new(
            "II",
            "a75cd9c7-519a-49c6-94c3-17126e618520@1.2.410.100110.10"
        )]
    );

    let i = index(&m);
    assert_eq!(i.event_id, "110110");
    assert_eq!(i.event_types, vec!["ITI-44"]);
    assert_eq!(i.action, Some(EventAction::Create));
    assert_eq!(i.outcome, Outcome::Success);
    // The requestor's UserID is empty, so only the destination's remains.
    assert_eq!(
        i.user_ids,
        vec!["http://127.0.0.1:8080/mpi/ws/iti44Service"]
    );
    assert_eq!(i.source_nodes, vec!["127.0.0.1"]);
    assert_eq!(
        i.patient_ids,
        vec!["PIX^^^&1.3.6.1.4.1.21367.2011.2.5.5488&ISO"]
    );
    assert_eq!(i.object_ids, i.patient_ids);
}

// ---------------------------------------------------------------------------------------------
// Our own samples

const ADHOC_QUERY: &str = "<query:AdhocQueryRequest xmlns:query=\"urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0\" xmlns:rim=\"urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0\"><query:ResponseOption returnType=\"LeafClass\" returnComposedObjects=\"true\"/><rim:AdhocQuery id=\"urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d\"><rim:Slot name=\"$XDSDocumentEntryPatientId\"><rim:ValueList><rim:Value>'KR8701^^^&amp;1.2.410.100110.10.41&amp;ISO'</rim:Value></rim:ValueList></rim:Slot><rim:Slot name=\"$XDSDocumentEntryStatus\"><rim:ValueList><rim:Value>('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')</rim:Value></rim:ValueList></rim:Slot></rim:AdhocQuery></query:AdhocQueryRequest>";

#[test]
fn dicom_iti18_query_with_hangul_name_decodes() {
    let m = ok(&ours("dicom-iti18-registry-stored-query.xml"));
    assert_eq!(m.format, Format::Dicom);
    assert_eq!(m.event.event_id, cv("110112", "DCM", "Query"));
    assert_eq!(m.event.date_time, "2024-05-14T09:21:07.250+09:00");
    assert_eq!(
        m.event.time,
        Some(
            Utc.with_ymd_and_hms(2024, 5, 14, 0, 21, 7).unwrap()
                + chrono::Duration::milliseconds(250)
        )
    );
    assert_eq!(
        m.event.purpose_of_use,
        vec![CodedValue {
            code: "TREAT".into(),
            code_system_name: Some("2.16.840.1.113883.5.8".into()),
            display_name: Some("treatment".into()),
            original_text: Some("Treatment".into()),
        }]
    );
    assert_eq!(m.active_participants.len(), 3);
    assert_eq!(
        m.active_participants[1].user_name.as_deref(),
        Some("김지우")
    );
    assert_eq!(
        m.audit_source.enterprise_site_id.as_deref(),
        Some("Seoul Regional HIE")
    );
    assert_eq!(
        m.audit_source.type_codes,
        vec![CodedValue {
            code: "4".into(),
            code_system_name: None,
            display_name: None,
            original_text: None
        }]
    );
    let [patient, query] = &m.participant_objects[..] else {
        panic!("two participant objects expected");
    };
    assert_eq!(patient.name.as_deref(), Some("홍길동"));
    assert_eq!(patient.query, None);
    assert_eq!(query.id, "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d");
    assert_eq!(query.type_code_role, Some(24));
    assert_eq!(query.query.as_deref(), Some(ADHOC_QUERY.as_bytes()));
    assert_eq!(
        query.details,
        vec![
            ObjectDetail::new("QueryEncoding", "UTF-8"),
            ObjectDetail::new(
                "urn:ihe:iti:xca:2010:homeCommunityId",
                "urn:oid:1.2.410.100110.10"
            ),
        ]
    );

    let i = index(&m);
    assert_eq!(
        i.user_ids,
        vec![
            "https://emr.seoul-hospital.example/xds/consumer",
            "kim.jiwoo@seoul-hospital.example",
            "https://hiehub.example/xds/registry",
        ]
    );
    assert_eq!(i.source_nodes, vec!["10.20.30.40", "hiehub.example"]);
    assert_eq!(i.patient_ids, vec!["KR8701^^^&1.2.410.100110.10.41&ISO"]);
    assert_eq!(
        i.object_ids,
        vec![
            "KR8701^^^&1.2.410.100110.10.41&ISO",
            "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
        ]
    );
}

#[test]
fn rfc3881_message_decodes() {
    let m = ok(&ours("rfc3881-iti9-pix-query.xml"));
    assert_eq!(m.format, Format::Rfc3881);
    assert_eq!(
        m.event.event_id,
        CodedValue {
            code: "110112".into(),
            code_system_name: Some("DCM".into()),
            display_name: Some("Query".into()),
            original_text: None,
        }
    );
    assert_eq!(m.event.outcome, Outcome::MinorFailure);
    assert_eq!(
        m.event.time,
        Some(Utc.with_ymd_and_hms(2009, 11, 2, 14, 3, 21).unwrap())
    );
    assert_eq!(m.event.event_type_codes[0].code, "ITI-9");
    let source = &m.active_participants[0];
    assert_eq!(source.user_id, "EMR|SEOUL");
    assert!(
        source.user_is_requestor,
        "RFC 3881 default for UserIsRequestor is true"
    );
    // codeSystem (an OID) stands in for a missing codeSystemName.
    assert_eq!(
        m.active_participants[1].role_id_codes[0]
            .code_system_name
            .as_deref(),
        Some("1.2.840.10008.2.16.4")
    );
    assert_eq!(m.audit_source.audit_source_id, "pix-manager-1");
    assert_eq!(m.audit_source.type_codes[0].code, "4");
    assert_eq!(m.additional_audit_sources.len(), 1);
    assert_eq!(
        m.additional_audit_sources[0].audit_source_id,
        "pix-manager-1-standby"
    );
    let query = &m.participant_objects[1];
    assert_eq!(query.data_life_cycle, Some(6));
    assert_eq!(query.sensitivity.as_deref(), Some("N"));
    let text = String::from_utf8(query.query.clone().unwrap_or_default()).expect("utf-8");
    assert!(
        text.starts_with("MSH|^~\\&|PAT_IDENTITY_X_REF_MGR|HIEHUB|"),
        "{text}"
    );
    assert_eq!(query.details, vec![ObjectDetail::new("MSH-10", "MSG-0001")]);

    let i = index(&m);
    assert_eq!(
        i.user_ids,
        vec!["EMR|SEOUL", "PAT_IDENTITY_X_REF_MGR|HIEHUB"]
    );
    assert_eq!(i.patient_ids, vec!["KR8701^^^&1.2.410.100110.10.41&ISO"]);
    assert_eq!(i.object_ids.len(), 2);

    // Written back in DICOM form it validates once the extra audit source is gone (DICOM
    // allows one), and reads back as the same message in DICOM form with completed codes.
    let mut single = m.clone();
    single.additional_audit_sources.clear();
    let xml = encode(&single);
    assert_schema_valid(&[("rfc3881-as-dicom".into(), xml.clone())]);
    let back = ok(xml.as_bytes());
    assert_eq!(back.format, Format::Dicom);
    assert_eq!(back.event.event_id.original_text.as_deref(), Some("Query"));
    assert_eq!(back.event.event_id.display_name.as_deref(), Some("Query"));
    assert_eq!(
        back.participant_objects,
        single
            .participant_objects
            .iter()
            .map(|o| {
                let mut o = o.clone();
                o.id_type_code.original_text = o.id_type_code.display_name.clone();
                o
            })
            .collect::<Vec<_>>()
    );
}

#[test]
fn bom_default_namespace_and_prefixes_are_accepted() {
    let fixture = ipf("audit-application-start.xml");
    let expected = ok(&fixture);
    let mut with_bom = b"\xEF\xBB\xBF".to_vec();
    with_bom.extend_from_slice(&fixture);
    assert_eq!(ok(&with_bom), expected);

    let text = String::from_utf8(fixture).expect("utf-8");
    let namespaced = text.replacen(
        "<AuditMessage>",
        "<AuditMessage xmlns=\"urn:example:audit\">",
        1,
    );
    assert_eq!(ok(namespaced.as_bytes()), expected);
    let prefixed = text
        .replace(
            "<AuditMessage>",
            "<a:AuditMessage xmlns:a=\"urn:example:audit\">",
        )
        .replace("</AuditMessage>", "</a:AuditMessage>")
        .replace("<EventID ", "<a:EventID ");
    assert_eq!(ok(prefixed.as_bytes()), expected);
}

#[test]
fn legacy_fields_as_child_elements_and_lenient_values() {
    let m = ok(br#"<AuditMessage>
  <EventIdentification>
    <EventActionCode>r</EventActionCode>
    <EventDateTime>2011-06-01T12:00:00</EventDateTime>
    <EventOutcomeIndicator> 8 </EventOutcomeIndicator>
    <EventID code="110103"/>
  </EventIdentification>
  <ActiveParticipant UserID="u" UserIsRequestor="TRUE" NetworkAccessPointTypeCode=""/>
  <AuditSourceIdentification><AuditSourceID>src</AuditSourceID></AuditSourceIdentification>
</AuditMessage>"#);
    assert_eq!(m.format, Format::Rfc3881);
    assert_eq!(m.event.action, Some(EventAction::Read));
    // No zone: UTC (RFC 3881).
    assert_eq!(
        m.event.time,
        Some(Utc.with_ymd_and_hms(2011, 6, 1, 12, 0, 0).unwrap())
    );
    assert_eq!(m.event.outcome, Outcome::SeriousFailure);
    assert!(m.active_participants[0].user_is_requestor);
    assert_eq!(
        m.active_participants[0].network_access_point_type_code,
        None
    );
    assert_eq!(m.audit_source.audit_source_id, "src");
}

#[test]
fn legacy_description_parts_directly_in_the_object_are_collected() {
    let m = ok(br#"<AuditMessage><EventIdentification EventActionCode="R" EventDateTime="2008-01-01T00:00:00Z" EventOutcomeIndicator="0"><EventID code="110103" codeSystemName="DCM" displayName="DICOM Instances Accessed"/></EventIdentification><ActiveParticipant UserID="ws1"/><AuditSourceIdentification AuditSourceID="pacs"/>
<ParticipantObjectIdentification ParticipantObjectID="1.2.3" ParticipantObjectTypeCode="2" ParticipantObjectTypeCodeRole="3">
  <ParticipantObjectIDTypeCode code="110180" codeSystemName="DCM" displayName="Study Instance UID"/>
  <Accession Number="A1"/>
  <SOPClass UID="1.2.840.10008.5.1.4.1.1.7" NumberOfInstances="3"/>
</ParticipantObjectIdentification></AuditMessage>"#);
    assert_eq!(
        m.participant_objects[0].descriptions,
        vec![ObjectDescription {
            accession_numbers: vec!["A1".into()],
            sop_classes: vec![SopClass {
                uid: Some("1.2.840.10008.5.1.4.1.1.7".into()),
                number_of_instances: 3,
                instances: Vec::new(),
            }],
            ..ObjectDescription::default()
        }]
    );
    let e = err(&String::from_utf8_lossy(&encode(&m).into_bytes())
        .replace("NumberOfInstances=\"3\"", "NumberOfInstances=\"many\""));
    assert!(
        matches!(&e, DecodeError::Invalid { path, what: "NumberOfInstances", .. } if path == "AuditMessage/ParticipantObjectIdentification[1]/ParticipantObjectDescription[1]/SOPClass[1]"),
        "{e}"
    );
}

#[test]
fn unparseable_time_is_kept_as_sent() {
    let m = ok(br#"<AuditMessage><EventIdentification EventDateTime="yesterday" EventOutcomeIndicator="0"><EventID csd-code="110100" codeSystemName="DCM" originalText="x"/></EventIdentification><AuditSourceIdentification AuditSourceID="s"/></AuditMessage>"#);
    assert_eq!(m.event.date_time, "yesterday");
    assert_eq!(m.event.time, None);
    assert_eq!(index(&m).event_time, None);
    // No participant is tolerated on input although the schema wants one.
    assert!(m.active_participants.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Errors

fn err(input: &str) -> DecodeError {
    match decode(input.as_bytes()) {
        Ok(m) => panic!("decoded although it should not: {m:?}"),
        Err(e) => e,
    }
}

#[test]
fn missing_parts_are_named_with_path_and_position() {
    let e = err(
        "<AuditMessage>\n  <EventIdentification EventDateTime=\"2020-01-01T00:00:00Z\" EventOutcomeIndicator=\"0\"/>\n</AuditMessage>",
    );
    assert_eq!(
        e,
        DecodeError::Missing {
            path: "AuditMessage/EventIdentification".into(),
            what: "EventID",
            at: crate::xml::Position {
                offset: 17,
                line: 2,
                column: 3
            },
        }
    );
    assert_eq!(
        e.to_string(),
        "AuditMessage/EventIdentification: missing EventID (element at line 2, column 3)"
    );

    let head = "<AuditMessage><EventIdentification EventDateTime=\"2020-01-01T00:00:00Z\" EventOutcomeIndicator=\"0\"><EventID csd-code=\"1\" codeSystemName=\"DCM\" originalText=\"x\"/></EventIdentification>";
    let e = err(&format!(
        "{head}<ActiveParticipant UserID=\"a\" UserIsRequestor=\"true\"/></AuditMessage>"
    ));
    assert_eq!(
        e.to_string(),
        "AuditMessage: missing AuditSourceIdentification (element at line 1, column 1)"
    );

    let e = err(&format!(
        "{head}<ActiveParticipant UserIsRequestor=\"true\"/><ActiveParticipant/><AuditSourceIdentification AuditSourceID=\"s\"/></AuditMessage>"
    ));
    assert!(
        matches!(&e, DecodeError::Missing { path, what: "UserID", .. } if path == "AuditMessage/ActiveParticipant[1]"),
        "{e}"
    );

    let e = err(&format!(
        "{head}<AuditSourceIdentification AuditSourceID=\"s\"/>\n<ParticipantObjectIdentification ParticipantObjectID=\"x\"/></AuditMessage>"
    ));
    assert_eq!(
        e.to_string(),
        "AuditMessage/ParticipantObjectIdentification[1]: missing ParticipantObjectIDTypeCode (element at line 2, column 1)"
    );

    let e = err(&format!(
        "{head}<AuditSourceIdentification AuditSourceID=\"s\"><AuditSourceTypeCode codeSystemName=\"DCM\"/></AuditSourceIdentification></AuditMessage>"
    ));
    assert_eq!(
        e.to_string(),
        format!(
            "AuditMessage/AuditSourceIdentification[1]/AuditSourceTypeCode[1]: missing csd-code (RFC 3881: code) (element at line 1, column {})",
            head.len() + 46
        )
    );

    let e = err(
        "<AuditMessage><EventIdentification EventOutcomeIndicator=\"0\"><EventID csd-code=\"1\"/></EventIdentification></AuditMessage>",
    );
    assert!(
        matches!(
            e,
            DecodeError::Missing {
                what: "EventDateTime",
                ..
            }
        ),
        "{e}"
    );
    let e = err("<AuditMessage><ActiveParticipant UserID=\"u\"/></AuditMessage>");
    assert!(
        matches!(
            e,
            DecodeError::Missing {
                what: "EventIdentification",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn invalid_values_are_named_with_path_and_position() {
    let base = std::str::from_utf8(&ours("dicom-iti18-registry-stored-query.xml"))
        .expect("utf-8")
        .to_owned();

    let e = err(&base.replace("EventOutcomeIndicator=\"0\"", "EventOutcomeIndicator=\"3\""));
    assert_eq!(
        e.to_string(),
        "AuditMessage/EventIdentification: EventOutcomeIndicator \"3\" is not one of 0, 4, 8, 12 (element at line 6, column 3)"
    );
    let e = err(&base.replace("EventActionCode=\"E\"", "EventActionCode=\"X\""));
    assert!(
        matches!(
            e,
            DecodeError::Invalid {
                what: "EventActionCode",
                ..
            }
        ),
        "{e}"
    );
    let e = err(&base.replace("UserIsRequestor=\"false\"", "UserIsRequestor=\"nope\""));
    assert!(
        matches!(&e, DecodeError::Invalid { path, what: "UserIsRequestor", .. } if path == "AuditMessage/ActiveParticipant[3]"),
        "{e}"
    );
    let e = err(&base.replace(
        "ParticipantObjectTypeCodeRole=\"24\"",
        "ParticipantObjectTypeCodeRole=\"27\"",
    ));
    assert!(
        matches!(&e, DecodeError::Invalid { path, value, .. } if path == "AuditMessage/ParticipantObjectIdentification[2]" && value == "27"),
        "{e}"
    );
    let e = err(&base.replace("value=\"VVRGLTg=\"", "value=\"UTF-8\""));
    match &e {
        DecodeError::Invalid {
            path,
            what,
            value,
            at,
            ..
        } => {
            assert_eq!(
                path,
                "AuditMessage/ParticipantObjectIdentification[2]/ParticipantObjectDetail[1]"
            );
            assert_eq!((*what, value.as_str()), ("value", "UTF-8"));
            assert_eq!(at.line, 43);
        }
        other => panic!("{other}"),
    }
    let e = err(&base.replace(
        "ParticipantObjectQuery>\n        PHF1",
        "ParticipantObjectQuery>\n        P!!!",
    ));
    assert!(
        matches!(&e, DecodeError::Invalid { path, .. } if path == "AuditMessage/ParticipantObjectIdentification[2]/ParticipantObjectQuery"),
        "{e}"
    );
    // Long invalid values are cut in the message.
    let long = "9".repeat(500);
    let e = err(&base.replace(
        "NetworkAccessPointTypeCode=\"2\"",
        &format!("NetworkAccessPointTypeCode=\"{long}\""),
    ));
    assert!(e.to_string().len() < 300, "{e}");
}

#[test]
fn malformed_xml_and_wrong_documents_report_where() {
    let e = err("<AuditMessage>\n  <EventIdentification>\n</AuditMessage>");
    assert!(
        matches!(e, DecodeError::Xml(crate::xml::XmlError::Syntax { .. })),
        "{e}"
    );
    assert_eq!(e.position().map(|p| p.line), Some(3), "{e}");

    let e = err(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE AuditMessage [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><AuditMessage>&x;</AuditMessage>",
    );
    assert!(
        matches!(e, DecodeError::Xml(crate::xml::XmlError::Doctype { .. })),
        "{e}"
    );
    assert_eq!(e.position().map(|p| p.line), Some(2));

    let e = err("\n\n<Envelope/>");
    assert_eq!(
        e.to_string(),
        "the root element is <Envelope> (at line 3, column 1), expected <AuditMessage>"
    );

    let e = err("");
    assert!(
        matches!(e, DecodeError::Xml(crate::xml::XmlError::NoRoot)),
        "{e}"
    );
    assert_eq!(e.position(), None);

    let event = "<EventIdentification EventDateTime=\"2020-01-01T00:00:00Z\" EventOutcomeIndicator=\"0\"><EventID csd-code=\"1\"/></EventIdentification>";
    let e = err(&format!("<AuditMessage>{event}\n{event}</AuditMessage>"));
    assert!(
        matches!(&e, DecodeError::Duplicate { what: "EventIdentification", at, .. } if at.line == 2),
        "{e}"
    );

    assert!(matches!(
        decode(b"<AuditMessage>\xff</AuditMessage>"),
        Err(DecodeError::Xml(crate::xml::XmlError::NotUtf8 {
            offset: 14
        }))
    ));
}

// ---------------------------------------------------------------------------------------------
// Builders, encoding, round trips, schema

fn peer() -> ActiveParticipant {
    ActiveParticipant::new("CN=emr.seoul-hospital.example,O=Seoul Hospital")
        .with_network_access_point("10.20.30.40")
}

fn hub() -> AuditSourceIdentification {
    AuditSourceIdentification {
        enterprise_site_id: Some("Seoul Regional HIE".into()),
        ..AuditSourceIdentification::application_server("hiehub@test")
    }
}

fn built_messages() -> Vec<(String, AuditMessage)> {
    let hiehub = ActiveParticipant::new("hiehub@test")
        .with_alternative_user_id("4711")
        .with_network_access_point("hiehub.example");
    let mut all = vec![
        (
            "application-start".into(),
            application_activity(
                ApplicationActivity::Start,
                when(),
                Outcome::Success,
                hiehub.clone(),
                vec![ActiveParticipant::new("systemd").with_user_name("init")],
                hub(),
            ),
        ),
        (
            "application-stop-no-launcher".into(),
            application_activity(
                ApplicationActivity::Stop,
                when(),
                Outcome::MajorFailure,
                this_process(),
                Vec::new(),
                this_audit_source(),
            ),
        ),
        (
            "security-alert-tls".into(),
            security_alert(SecurityAlert {
                alert_type: SecurityAlertType::NodeAuthentication,
                time: when(),
                outcome: Outcome::SeriousFailure,
                description: Some(
                    "client certificate 'CN=evil' refused: unknown CA <self-signed> & expired"
                        .into(),
                ),
                reporter: hiehub.clone(),
                performers: vec![peer()],
                subjects: vec![alert_subject(
                    "10.20.30.40",
                    false,
                    Some("TLS handshake failed"),
                )],
                audit_source: hub(),
            }),
        ),
        (
            "security-alert-ledger".into(),
            security_alert(SecurityAlert {
                alert_type: SecurityAlertType::Other(CodedValue::new(
                    "LEDGER-VERIFY",
                    "99HIEHUB",
                    "Ledger Verification Failure",
                )),
                time: when(),
                outcome: Outcome::MajorFailure,
                description: Some(
                    "entry 1234: leaf hash differs\nexpected 00ff, computed 0100".into(),
                ),
                reporter: hiehub.clone(),
                performers: Vec::new(),
                subjects: vec![alert_subject("hiehub:ledger/1234", true, None)],
                audit_source: hub(),
            }),
        ),
        (
            "iti18-query".into(),
            transaction_event(TransactionEvent {
                event_id: CodedValue::dcm("110112", "Query"),
                action: EventAction::Execute,
                outcome: Outcome::Success,
                outcome_description: None,
                time: when(),
                transaction: CodedValue::ihe_transaction("ITI-18", "Registry Stored Query"),
                source: peer(),
                human_requestors: vec![
                    ActiveParticipant::new("kim.jiwoo").with_user_name("김지우"),
                ],
                destination: ActiveParticipant::new("https://hiehub.example/xds/registry")
                    .with_network_access_point("hiehub.example"),
                audit_source: hub(),
                participant_objects: vec![
                    ParticipantObject {
                        name: Some("홍길동".into()),
                        ..ParticipantObject::patient("KR8701^^^&1.2.410.100110.10.41&ISO")
                    },
                    ParticipantObject::query(
                        CodedValue::ihe_transaction("ITI-18", "Registry Stored Query"),
                        "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d",
                        ADHOC_QUERY,
                    ),
                ],
            }),
        ),
        (
            "iti41-provide".into(),
            transaction_event(TransactionEvent {
                event_id: CodedValue::dcm("110107", "Import"),
                action: EventAction::Create,
                outcome: Outcome::MinorFailure,
                outcome_description: Some("XDSRepositoryMetadataError".into()),
                time: when(),
                transaction: CodedValue::ihe_transaction(
                    "ITI-41",
                    "Provide and Register Document Set-b",
                ),
                source: peer().with_alternative_user_id("urn:uuid:0b5e3f57"),
                human_requestors: Vec::new(),
                destination: ActiveParticipant::new("https://hiehub.example/xds/repository"),
                audit_source: hub(),
                participant_objects: vec![
                    ParticipantObject::patient("KR8701^^^&1.2.410.100110.10.41&ISO"),
                    ParticipantObject::submission_set("1.2.410.100110.10.99.1"),
                    ParticipantObject::document(
                        "1.2.410.100110.10.99.2",
                        Some("1.2.410.100110.10.1"),
                        Some("urn:oid:1.2.410.100110.10"),
                    ),
                ],
            }),
        ),
    ];
    // From the sink's event, as the server and SOAP endpoint fill it.
    let mut start = AuditEvent::new(
        crate::audit::event_id::application_activity(),
        crate::audit::Action::Execute,
        Outcome::Success,
        Transport::Internal,
    );
    start.time = when();
    start.event_type = Some(Code::dcm("110120", "Application Start"));
    start.source_id = "hiehub@test".into();
    all.push(("from-event-app-start".into(), AuditMessage::from(&start)));
    let mut tls = AuditEvent::new(
        crate::audit::event_id::security_alert(),
        crate::audit::Action::Execute,
        Outcome::SeriousFailure,
        Transport::Https,
    );
    tls.time = when();
    tls.event_type = Some(Code::dcm("110126", "Node Authentication"));
    tls.outcome_description = Some("client certificate 'CN=x' refused: expired".into());
    tls.source_id = "hiehub@test".into();
    all.push(("from-event-tls".into(), AuditMessage::from(&tls)));
    let mut soap = AuditEvent::new(
        crate::audit::event_id::query(),
        crate::audit::Action::Execute,
        Outcome::Success,
        Transport::Https,
    );
    soap.time = when();
    soap.event_type = Some(Code::ihe_transaction("ITI-18", "Registry Stored Query"));
    soap.requestor = Some("CN=emr,O=Hospital".into());
    soap.remote_addr = Some("[::1]:53211".into());
    soap.message_id = Some("urn:uuid:0b5e3f57-8d2b-4c2e-9a4e-6f3a4b8f9c10".into());
    soap.destination = Some("/xds/registry".into());
    soap.source_id = "hiehub@test".into();
    all.push(("from-event-soap".into(), AuditMessage::from(&soap)));
    let mut anonymous = soap.clone();
    anonymous.requestor = None;
    anonymous.remote_addr = None;
    anonymous.destination = None;
    all.push(("from-event-no-peer".into(), AuditMessage::from(&anonymous)));
    all
}

#[test]
fn builders_follow_ps3_15() {
    let all = built_messages();
    let get = |name: &str| &all.iter().find(|(n, _)| n == name).expect(name).1;

    let start = get("application-start");
    assert_eq!(start.event.event_id.code, "110100");
    assert_eq!(start.event.action, Some(EventAction::Execute));
    assert_eq!(start.event.event_type_codes[0].code, "110120");
    assert_eq!(start.event.date_time, "2026-03-01T08:30:15.123Z");
    let roles: Vec<(&str, bool)> = start
        .active_participants
        .iter()
        .map(|p| (p.role_id_codes[0].code.as_str(), p.user_is_requestor))
        .collect();
    assert_eq!(roles, vec![("110150", false), ("110151", true)]);
    assert_eq!(
        get("application-stop-no-launcher").event.event_type_codes[0].code,
        "110121"
    );

    let tls = get("security-alert-tls");
    assert_eq!(
        tls.event.event_id,
        CodedValue::dcm("110113", "Security Alert")
    );
    assert_eq!(
        tls.event.event_type_codes,
        vec![CodedValue::dcm("110126", "Node Authentication")]
    );
    assert_eq!(
        index(tls).user_ids[0],
        peer().user_id,
        "the performer is the requestor"
    );
    assert_eq!(tls.participant_objects[0].id_type_code.code, "110182");

    let q = get("iti18-query");
    let roles: Vec<(Option<&str>, bool)> = q
        .active_participants
        .iter()
        .map(|p| {
            (
                p.role_id_codes.first().map(|r| r.code.as_str()),
                p.user_is_requestor,
            )
        })
        .collect();
    assert_eq!(
        roles,
        vec![
            (Some("110153"), true),
            (None, true),
            (Some("110152"), false)
        ]
    );
    assert_eq!(
        q.event.event_type_codes[0],
        CodedValue::ihe_transaction("ITI-18", "Registry Stored Query")
    );
    let i = index(q);
    assert_eq!(i.patient_ids, vec!["KR8701^^^&1.2.410.100110.10.41&ISO"]);
    assert_eq!(i.source_nodes, vec!["10.20.30.40", "hiehub.example"]);

    let soap = get("from-event-soap");
    assert_eq!(soap.event.event_id, CodedValue::dcm("110112", "Query"));
    assert_eq!(soap.active_participants[0].user_id, "CN=emr,O=Hospital");
    assert_eq!(
        soap.active_participants[0]
            .network_access_point_id
            .as_deref(),
        Some("::1")
    );
    assert_eq!(
        soap.active_participants[0].network_access_point_type_code,
        Some(2)
    );
    assert_eq!(soap.active_participants[1].user_id, "/xds/registry");
    assert_eq!(soap.active_participants[1].role_id_codes[0].code, "110152");
    assert_eq!(soap.audit_source.audit_source_id, "hiehub@test");
    let app = get("from-event-app-start");
    assert_eq!(app.active_participants.len(), 1);
    assert_eq!(app.active_participants[0].role_id_codes[0].code, "110150");
    assert_eq!(get("from-event-no-peer").active_participants.len(), 1);
}

/// Every message this module can produce: builders, conversions and re-encoded samples.
fn encoded_corpus() -> Vec<(String, String, AuditMessage)> {
    let mut out: Vec<(String, String, AuditMessage)> = built_messages()
        .into_iter()
        .map(|(n, m)| (n, encode(&m), m))
        .collect();
    for (name, bytes) in [
        ("ipf-application-start", ipf("audit-application-start.xml")),
        ("ipf-iti44", ipf("audit-iti44-pix-source-feed.xml")),
        (
            "iti18-sample",
            ours("dicom-iti18-registry-stored-query.xml"),
        ),
    ] {
        let m = ok(&bytes);
        out.push((name.into(), encode(&m), m));
    }
    out.push((
        "dicom-description".into(),
        encode(&with_description()),
        with_description(),
    ));
    out
}

fn with_description() -> AuditMessage {
    let mut m = built_messages().swap_remove(4).1;
    m.active_participants[1].media_type = Some(CodedValue::dcm("110033", "DVD"));
    m.participant_objects.push(ParticipantObject {
        type_code: Some(2),
        type_code_role: Some(3),
        data_life_cycle: Some(10),
        sensitivity: Some("R".into()),
        descriptions: vec![
            ObjectDescription {
                mpps_uids: vec!["1.2.3.4".into()],
                accession_numbers: vec!["ACC-1".into(), "ACC-2".into()],
                sop_classes: vec![
                    SopClass {
                        uid: Some("1.2.840.10008.5.1.4.1.1.2".into()),
                        number_of_instances: 2,
                        instances: vec!["1.2.3.4.5.1".into(), "1.2.3.4.5.2".into()],
                    },
                    SopClass {
                        uid: None,
                        number_of_instances: 0,
                        instances: Vec::new(),
                    },
                ],
                contains_studies: Some(vec!["1.2.3.4.6".into()]),
                encrypted: Some(false),
                anonymized: Some(true),
            },
            ObjectDescription {
                contains_studies: Some(Vec::new()),
                ..ObjectDescription::default()
            },
        ],
        ..ParticipantObject::new(CodedValue::dcm("110180", "Study Instance UID"), "1.2.3.4.6")
    });
    m
}

#[test]
fn encode_decode_round_trips() {
    for (name, xml, m) in encoded_corpus() {
        let back = decode(xml.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}\n{xml}"));
        assert_eq!(back, m, "{name}\n{xml}");
        assert_eq!(encode(&back), xml, "{name}: encoding is deterministic");
    }
}

#[test]
fn everything_encoded_validates_against_the_official_schema() {
    let docs: Vec<(String, String)> = encoded_corpus()
        .into_iter()
        .map(|(n, x, _)| (n, x))
        .collect();
    assert_schema_valid(&docs);
}

#[test]
fn encoding_escapes_and_is_exact() {
    let mut m = ok(&ipf("audit-application-start.xml"));
    m.active_participants[1].user_id = "a\"b<c>&d\te\nf\rg\u{1}h".into();
    m.event.outcome_description = Some("x < y & z\r\n\tend ]]>".into());
    let xml = encode(&m);
    assert!(
        xml.contains(r#"UserID="a&#34;b&#60;c&#62;&amp;d&#9;e&#10;f&#13;g�h""#),
        "{xml}"
    );
    assert!(
        xml.contains(
            "<EventOutcomeDescription>x &lt; y &amp; z&#13;\n\tend ]]&gt;</EventOutcomeDescription>"
        ),
        "{xml}"
    );
    let back = ok(xml.as_bytes());
    assert_eq!(
        back.active_participants[1].user_id,
        "a\"b<c>&d\te\nf\rg\u{fffd}h"
    );
    assert_eq!(back.event.outcome_description, m.event.outcome_description);

    let expected = concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?><AuditMessage>"#,
        r#"<EventIdentification EventActionCode="E" EventDateTime="2020-03-09T10:17:39.575Z" EventOutcomeIndicator="0">"#,
        r#"<EventID csd-code="110100" codeSystemName="DCM" originalText="Application Activity"/>"#,
        r#"<EventTypeCode csd-code="110120" codeSystemName="DCM" originalText="Application Start"/>"#,
        r#"</EventIdentification>"#,
        r#"<ActiveParticipant UserID="" UserIsRequestor="false" NetworkAccessPointID="10.0.75.1" NetworkAccessPointTypeCode="2">"#,
        r#"<RoleIDCode csd-code="110150" codeSystemName="DCM" originalText="Application"/></ActiveParticipant>"#,
        r#"<ActiveParticipant UserID="WDF-LAP-1237$" UserIsRequestor="true">"#,
        r#"<RoleIDCode csd-code="110151" codeSystemName="DCM" originalText="Application Launcher"/></ActiveParticipant>"#,
        r#"<AuditSourceIdentification AuditSourceID="app-connect">"#,
        r#"<AuditSourceTypeCode csd-code="9" codeSystemName="DCM" originalText="Other"/>"#,
        r#"</AuditSourceIdentification></AuditMessage>"#,
    );
    assert_eq!(encode(&ok(&ipf("audit-application-start.xml"))), expected);
}

/// FIXME(crate::xml): predefined entities other than `&amp;` in attribute values are refused,
/// because `xml::parse` normalizes attribute values with an entity resolver that knows none
/// (quick-xml special-cases only `&amp;`). A sender writing `UserID="&lt;a&quot;b&gt;"` gets
/// an undeclared-entity error today; the right result is the UserID `<a"b>`. In text content
/// they work. `encode` writes character references in attributes, so our own output is not hit.
#[test]
fn predefined_entities_in_attribute_values() {
    let text = String::from_utf8(ipf("audit-application-start.xml")).expect("utf-8");
    let input = text.replace("UserID=\"WDF-LAP-1237$\"", "UserID=\"&lt;a&quot;b&gt;\"");
    assert_eq!(
        ok(input.as_bytes()).active_participants[1].user_id,
        "<a\"b>"
    );
    let refs = text.replace(
        "UserID=\"WDF-LAP-1237$\"",
        "UserID=\"&#60;a&#34;b&#62;&amp;\"",
    );
    assert_eq!(
        ok(refs.as_bytes()).active_participants[1].user_id,
        "<a\"b>&"
    );
}

#[test]
fn date_time_is_written_as_sent_or_canonical() {
    let mut m = ok(&ipf("audit-application-start.xml"));
    m.event.date_time = "2020-03-09 10:17:39.575Z".into(); // RFC 3339 allows the space, XSD not
    m.event.time = super::decode::parse_date_time(&m.event.date_time);
    assert!(m.event.time.is_some());
    let xml = encode(&m);
    assert!(
        xml.contains("EventDateTime=\"2020-03-09T10:17:39.575Z\""),
        "{xml}"
    );
    for good in [
        "2020-03-09T10:17:39Z",
        "2020-03-09T10:17:39.5+09:00",
        "12020-03-09T10:17:39",
        "-0044-03-15T12:00:00-00:00",
    ] {
        assert!(super::encode::is_xs_date_time(good), "{good}");
    }
    for bad in [
        "2020-03-09",
        "2020-03-09T10:17",
        "2020-03-09T10:17:39.Z",
        "2020-03-09T10:17:39+0900",
        "20-03-09T10:17:39Z",
    ] {
        assert!(!super::encode::is_xs_date_time(bad), "{bad}");
    }
}

// ---------------------------------------------------------------------------------------------
// Generated messages

fn text() -> impl Strategy<Value = String> {
    // Printable text with the characters that need escaping, multi-byte scripts, and the three
    // whitespace controls XML keeps.
    "[a-zA-Z0-9 .:/@^&<>\"'=\t\n\r\u{00e9}\u{d64d}\u{ae38}\u{b3d9}\u{1f600}-]{0,12}"
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9.:-]{1,10}"
}

fn coded_value() -> impl Strategy<Value = CodedValue> {
    (token(), token(), proptest::option::of(text()), text()).prop_map(
        |(code, system, display, meaning)| CodedValue {
            code,
            code_system_name: Some(system),
            display_name: display,
            original_text: Some(meaning),
        },
    )
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..40)
}

fn participant() -> impl Strategy<Value = ActiveParticipant> {
    (
        text(),
        proptest::option::of(text()),
        proptest::option::of(text()),
        any::<bool>(),
        proptest::collection::vec(coded_value(), 0..3),
        proptest::option::of((token(), 1u8..=5)),
        proptest::option::of(coded_value()),
    )
        .prop_map(
            |(user_id, alt, name, req, roles, nap, media)| ActiveParticipant {
                user_id,
                alternative_user_id: alt,
                user_name: name,
                user_is_requestor: req,
                role_id_codes: roles,
                network_access_point_type_code: nap.as_ref().map(|n| n.1),
                network_access_point_id: nap.map(|n| n.0),
                media_type: media,
            },
        )
}

fn description() -> impl Strategy<Value = ObjectDescription> {
    (
        proptest::collection::vec(token(), 0..2),
        proptest::collection::vec(token(), 0..2),
        proptest::collection::vec(
            (
                proptest::option::of(token()),
                0u64..1000,
                proptest::collection::vec(token(), 0..3),
            )
                .prop_map(|(uid, n, instances)| SopClass {
                    uid,
                    number_of_instances: n,
                    instances,
                }),
            0..2,
        ),
        proptest::option::of(proptest::collection::vec(token(), 0..2)),
        proptest::option::of(any::<bool>()),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(|(mpps, acc, sops, studies, enc, anon)| ObjectDescription {
            mpps_uids: mpps,
            accession_numbers: acc,
            sop_classes: sops,
            contains_studies: studies,
            encrypted: enc,
            anonymized: anon,
        })
}

fn participant_object() -> impl Strategy<Value = ParticipantObject> {
    (
        coded_value(),
        (
            proptest::option::of(1u8..=4),
            proptest::option::of(1u8..=26),
            proptest::option::of(1u8..=15),
        ),
        text(),
        proptest::option::of(text()),
        prop_oneof![
            Just((None, None)),
            text().prop_map(|n| (Some(n), None)),
            bytes().prop_map(|q| (None, Some(q))),
        ],
        proptest::collection::vec((text(), bytes()), 0..3),
        proptest::collection::vec(description(), 0..2),
    )
        .prop_map(
            |(id_type, (tc, role, life), id, sens, (name, query), details, descriptions)| {
                ParticipantObject {
                    id_type_code: id_type,
                    type_code: tc,
                    type_code_role: role,
                    data_life_cycle: life,
                    id,
                    sensitivity: sens,
                    name,
                    query,
                    details: details
                        .into_iter()
                        .map(|(k, v)| ObjectDetail { kind: k, value: v })
                        .collect(),
                    descriptions,
                }
            },
        )
}

fn audit_source_strategy() -> impl Strategy<Value = AuditSourceIdentification> {
    (
        proptest::option::of(text()),
        text(),
        proptest::collection::vec(
            (
                token(),
                proptest::option::of(token()),
                proptest::option::of(text()),
                proptest::option::of(text()),
            )
                .prop_map(|(code, system, display, meaning)| CodedValue {
                    code,
                    code_system_name: system,
                    display_name: display,
                    original_text: meaning,
                }),
            0..3,
        ),
    )
        .prop_map(|(site, id, types)| AuditSourceIdentification {
            enterprise_site_id: site,
            audit_source_id: id,
            type_codes: types,
        })
}

fn message_strategy() -> impl Strategy<Value = AuditMessage> {
    let action = proptest::option::of(prop_oneof![
        Just(EventAction::Create),
        Just(EventAction::Read),
        Just(EventAction::Update),
        Just(EventAction::Delete),
        Just(EventAction::Execute),
    ]);
    let outcome = prop_oneof![
        Just(Outcome::Success),
        Just(Outcome::MinorFailure),
        Just(Outcome::SeriousFailure),
        Just(Outcome::MajorFailure),
    ];
    let event = (
        coded_value(),
        action,
        // 1970 .. 2100, millisecond precision.
        0i64..4_102_444_800_000,
        outcome,
        proptest::option::of(text()),
        proptest::collection::vec(coded_value(), 0..3),
        proptest::collection::vec(coded_value(), 0..2),
    )
        .prop_map(|(id, action, ms, outcome, desc, types, purposes)| {
            let time = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
            EventIdentification {
                outcome_description: desc,
                event_type_codes: types,
                purpose_of_use: purposes,
                ..EventIdentification::new(id, action, time, outcome)
            }
        });
    (
        event,
        proptest::collection::vec(participant(), 1..4),
        audit_source_strategy(),
        proptest::collection::vec(participant_object(), 0..4),
    )
        .prop_map(|(event, participants, source, objects)| AuditMessage {
            format: Format::Dicom,
            event,
            active_participants: participants,
            audit_source: source,
            additional_audit_sources: Vec::new(),
            participant_objects: objects,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generated_messages_round_trip(m in message_strategy()) {
        let xml = encode(&m);
        let back = decode(xml.as_bytes()).map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
        prop_assert_eq!(&back, &m, "{}", xml);
        prop_assert_eq!(encode(&back), xml);
    }

    #[test]
    fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode(&input);
    }

    #[test]
    fn damaged_messages_never_panic(
        cut in 0usize..4000,
        flips in proptest::collection::vec((0usize..4000, any::<u8>()), 0..6),
    ) {
        let mut input = ours("dicom-iti18-registry-stored-query.xml");
        for (at, byte) in flips {
            let at = at % input.len();
            input[at] = byte;
        }
        input.truncate(cut.min(input.len()));
        if let Err(e) = decode(&input) {
            // Every error renders, and those past the XML layer carry a position.
            let _ = e.to_string();
            if !matches!(e, DecodeError::Xml(_)) {
                prop_assert!(e.position().is_some());
            }
        }
    }
}

#[test]
fn generated_messages_validate_against_the_official_schema() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = message_strategy();
    let docs: Vec<(String, String)> = (0..64)
        .map(|i| {
            let m = strategy.new_tree(&mut runner).expect("value").current();
            (format!("generated-{i}"), encode(&m))
        })
        .collect();
    assert_schema_valid(&docs);
}

// ---------------------------------------------------------------------------------------------
// Scale

fn many_objects(n: usize) -> String {
    let mut xml = String::from(
        "<AuditMessage><EventIdentification EventActionCode=\"R\" EventDateTime=\"2024-01-01T00:00:00Z\" EventOutcomeIndicator=\"0\"><EventID csd-code=\"110103\" codeSystemName=\"DCM\" originalText=\"DICOM Instances Accessed\"/></EventIdentification>\n<ActiveParticipant UserID=\"viewer\" UserIsRequestor=\"true\"/>\n<AuditSourceIdentification AuditSourceID=\"pacs\"/>\n",
    );
    for i in 0..n {
        xml.push_str(&format!(
            "<ParticipantObjectIdentification ParticipantObjectID=\"1.2.840.99.{i}\" ParticipantObjectTypeCode=\"2\" ParticipantObjectTypeCodeRole=\"3\">\n  <ParticipantObjectIDTypeCode csd-code=\"110180\" codeSystemName=\"DCM\" originalText=\"Study Instance UID\"/>\n  <ParticipantObjectDetail type=\"n\" value=\"MTIz\"/>\n</ParticipantObjectIdentification>\n"
        ));
    }
    xml.push_str("</AuditMessage>");
    xml
}

fn time_decode(xml: &str) -> Duration {
    let start = Instant::now();
    let m = ok(xml.as_bytes());
    let i = index(&m);
    let took = start.elapsed();
    assert_eq!(i.object_ids.len(), m.participant_objects.len());
    took
}

#[test]
fn ten_thousand_participant_objects_decode_in_linear_time() {
    let small = many_objects(2_500);
    let large = many_objects(10_000);
    let m = ok(large.as_bytes());
    assert_eq!(m.participant_objects.len(), 10_000);
    assert_eq!(m.participant_objects[9_999].id, "1.2.840.99.9999");
    assert_eq!(index(&m).object_ids.len(), 10_000);
    // Best of three against noise from other builds on the shared cores.
    let best = |xml: &str| (0..3).map(|_| time_decode(xml)).min().unwrap_or_default();
    let (t_small, t_large) = (best(&small), best(&large));
    // 4x the input: about 4x the time when linear, 16x when quadratic.
    assert!(
        t_large < t_small * 9,
        "2,500 objects took {t_small:?}, 10,000 took {t_large:?}: worse than linear"
    );
}
