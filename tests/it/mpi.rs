//! The master patient index end to end against the real server: the IPF HL7v3 fixtures with
//! their expected acknowledgements, ITI-44 add/revise/merge and their effect on ITI-45 and on the
//! XDS registry (a document of a merged-away id is found under the survivor), fuzzy PDQ ranking
//! on a generated Korean population, continuation across three pages (and a restart) and
//! cancel, ITI-46 delivery to a consumer that is down for a while, and zeep from our WSDLs.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use hiehub::ebxml::{self, WireMessage};
use hiehub::xml::{self, Element};

use crate::harness::*;

const ADD: &str = "urn:hl7-org:v3:PRPA_IN201301UV02";
const REVISE: &str = "urn:hl7-org:v3:PRPA_IN201302UV02";
const MERGE: &str = "urn:hl7-org:v3:PRPA_IN201304UV02";
const PIX_QUERY: &str = "urn:hl7-org:v3:PRPA_IN201309UV02";
const PDQ_QUERY: &str = "urn:hl7-org:v3:PRPA_IN201305UV02";
const PDQ_CONTINUE: &str = "urn:hl7-org:v3:QUQI_IN000003UV01_Continue";
const PDQ_CANCEL: &str = "urn:hl7-org:v3:QUQI_IN000003UV01_Cancel";
const ITI18: &str = "urn:ihe:iti:2007:RegistryStoredQuery";
const HL7: &str = "urn:hl7-org:v3";
const ENTERPRISE: &str = "2.25.178311688111297260283467408422902523674";

/// Hospital A's and B's assigning authorities.
const H1: &str = "1.2.410.200.1.1";
const H2: &str = "1.2.410.200.2.1";

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

const WRAPPER_HEAD: &str = r#"<creationTime value="20261123010000"/>"#;

fn head(interaction: &str) -> String {
    format!(
        r#"<{interaction} xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ITSVersion="XML_1.0">
<id root="{}"/>{WRAPPER_HEAD}<interactionId root="2.16.840.1.113883.1.6" extension="{interaction}"/>
<processingCode code="P"/><processingModeCode code="T"/><acceptAckCode code="AL"/>
<receiver typeCode="RCV"><device classCode="DEV" determinerCode="INSTANCE"><id root="1.2.3.4.5.999"/></device></receiver>
<sender typeCode="SND"><device classCode="DEV" determinerCode="INSTANCE"><id root="1.2.410.200.9"/></device></sender>"#,
        uuid::Uuid::new_v4()
    )
}

/// A patient's demographics for a feed.
#[derive(Clone, Default)]
pub(crate) struct P {
    root: &'static str,
    ext: String,
    hangul: Option<(String, String)>,
    latin: Option<(String, String)>,
    birth: String,
    gender: &'static str,
    phone: Option<String>,
    city: Option<String>,
    /// asOtherIDs (root, extension).
    other_ids: Vec<(String, String)>,
}

fn person_xml(p: &P) -> String {
    let mut s = String::from(r#"<patientPerson classCode="PSN" determinerCode="INSTANCE">"#);
    if let Some((f, g)) = &p.latin {
        s += &format!(r#"<name use="L"><given>{g}</given><family>{f}</family></name>"#);
    }
    if let Some((f, g)) = &p.hangul {
        s += &format!(r#"<name use="SYL"><given>{g}</given><family>{f}</family></name>"#);
    }
    if let Some(t) = &p.phone {
        s += &format!(r#"<telecom value="tel:{t}"/>"#);
    }
    s += &format!(
        r#"<administrativeGenderCode code="{}"/><birthTime value="{}"/>"#,
        p.gender, p.birth
    );
    if let Some(c) = &p.city {
        s += &format!("<addr><city>{c}</city></addr>");
    }
    for (root, ext) in &p.other_ids {
        s += &format!(
            r#"<asOtherIDs classCode="CIT"><id root="{root}" extension="{ext}"/><scopingOrganization classCode="ORG" determinerCode="INSTANCE"><id root="{root}"/></scopingOrganization></asOtherIDs>"#
        );
    }
    s + "</patientPerson>"
}

fn feed_xml(interaction: &str, p: &P, obsolete: Option<(&str, &str)>) -> String {
    let replacement = obsolete
        .map(|(root, ext)| {
            format!(
                r#"<replacementOf typeCode="RPLC"><priorRegistration classCode="REG" moodCode="EVN"><statusCode code="obsolete"/><subject1 typeCode="SBJ"><priorRegisteredRole classCode="PAT"><id root="{root}" extension="{ext}"/></priorRegisteredRole></subject1></priorRegistration></replacementOf>"#
            )
        })
        .unwrap_or_default();
    format!(
        r#"{}<controlActProcess classCode="CACT" moodCode="EVN"><code code="PRPA_TE201301UV02" codeSystem="2.16.840.1.113883.1.6"/>
<subject typeCode="SUBJ"><registrationEvent classCode="REG" moodCode="EVN"><id nullFlavor="NA"/><statusCode code="active"/>
<subject1 typeCode="SBJ"><patient classCode="PAT"><id root="{}" extension="{}"/><statusCode code="active"/>{}</patient></subject1>
<custodian typeCode="CST"><assignedEntity classCode="ASSIGNED"><id root="1.2.410.200.9"/></assignedEntity></custodian>{replacement}
</registrationEvent></subject></controlActProcess></{interaction}>"#,
        head(interaction),
        p.root,
        p.ext,
        person_xml(p)
    )
}

fn pix_query_xml(root: &str, ext: &str, data_sources: &[&str]) -> String {
    let ds: String = data_sources
        .iter()
        .map(|d| format!(r#"<dataSource><value root="{d}"/><semanticsText>DataSource.id</semanticsText></dataSource>"#))
        .collect();
    format!(
        r#"{}<controlActProcess classCode="CACT" moodCode="EVN"><code code="PRPA_TE201309UV02" codeSystem="2.16.840.1.113883.1.6"/>
<queryByParameter><queryId root="1.2.410.200.9.7" extension="{}"/><statusCode code="new"/><responsePriorityCode code="I"/>
<parameterList>{ds}<patientIdentifier><value root="{root}" extension="{ext}"/><semanticsText>Patient.Id</semanticsText></patientIdentifier></parameterList>
</queryByParameter></controlActProcess></PRPA_IN201309UV02>"#,
        head("PRPA_IN201309UV02"),
        uuid::Uuid::new_v4()
    )
}

/// PDQ parameters.
#[derive(Default)]
pub(crate) struct Q {
    pub(crate) family: Option<&'static str>,
    pub(crate) given: Option<&'static str>,
    pub(crate) birth: Option<&'static str>,
    pub(crate) gender: Option<&'static str>,
    pub(crate) initial: Option<u32>,
    pub(crate) domains: Vec<&'static str>,
    pub(crate) query_ext: String,
}

fn pdq_xml(q: &Q) -> String {
    let mut params = String::new();
    if let Some(g) = q.gender {
        params += &format!(
            r#"<livingSubjectAdministrativeGender><value code="{g}"/><semanticsText>LivingSubject.administrativeGender</semanticsText></livingSubjectAdministrativeGender>"#
        );
    }
    if let Some(b) = q.birth {
        params += &format!(
            r#"<livingSubjectBirthTime><value value="{b}"/><semanticsText>LivingSubject.birthTime</semanticsText></livingSubjectBirthTime>"#
        );
    }
    if q.family.is_some() || q.given.is_some() {
        params += "<livingSubjectName><value>";
        if let Some(g) = q.given {
            params += &format!("<given>{g}</given>");
        }
        if let Some(f) = q.family {
            params += &format!("<family>{f}</family>");
        }
        params += "</value><semanticsText>LivingSubject.name</semanticsText></livingSubjectName>";
    }
    for d in &q.domains {
        params += &format!(
            r#"<otherIDsScopingOrganization><value root="{d}"/><semanticsText>OtherIDs.scopingOrganization.id</semanticsText></otherIDsScopingOrganization>"#
        );
    }
    let initial = q
        .initial
        .map(|n| format!(r#"<initialQuantity value="{n}"/>"#))
        .unwrap_or_default();
    format!(
        r#"{}<controlActProcess classCode="CACT" moodCode="EVN"><code code="PRPA_TE201305UV02" codeSystem="2.16.840.1.113883.1.6"/>
<queryByParameter><queryId root="1.2.410.200.9.8" extension="{}"/><statusCode code="new"/><responseModalityCode code="R"/><responsePriorityCode code="I"/>{initial}
<parameterList>{params}</parameterList></queryByParameter></controlActProcess></PRPA_IN201305UV02>"#,
        head("PRPA_IN201305UV02"),
        q.query_ext
    )
}

fn continuation_xml(query_ext: &str, quantity: u32, status: &str) -> String {
    let h = head("QUQI_IN000003UV01");
    format!(
        r#"{h}<controlActProcess classCode="CACT" moodCode="EVN"><code code="PRPA_TE000003UV01" codeSystem="2.16.840.1.113883.1.6"/>
<queryContinuation><queryId root="1.2.410.200.9.8" extension="{query_ext}"/><statusCode code="{status}"/><continuationQuantity value="{quantity}"/></queryContinuation>
</controlActProcess></QUQI_IN000003UV01>"#
    )
}

// ---------------------------------------------------------------------------------------------
// Transport and answers
// ---------------------------------------------------------------------------------------------

fn post(server: &Server, path: &str, action: &str, body: &str) -> String {
    let id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    let resp = client()
        .post(server.url(path))
        .header("content-type", SOAP_CT)
        .body(envelope(action, &id, body))
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().unwrap();
    assert_eq!(status, 200, "{text}");
    text
}

/// The HL7v3 message in a SOAP response.
fn message(text: &str) -> Element {
    let root = xml::parse(text.as_bytes(), &xml::Limits::default()).unwrap();
    root.child(hiehub::soap::SOAP12_NS, "Body")
        .and_then(|b| b.elements().next())
        .cloned()
        .unwrap_or_else(|| panic!("no body element: {text}"))
}

fn path<'a>(e: &'a Element, names: &[&str]) -> Option<&'a Element> {
    let mut cur = e;
    for n in names {
        cur = cur.child(HL7, n)?;
    }
    Some(cur)
}

/// One returned patient: its ids (root, extension), score and first family name.
pub(crate) type Returned = (Vec<(String, String)>, Option<u32>, Option<String>);

#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) ack: String,
    details: Vec<(Option<String>, String, Option<String>)>,
    pub(crate) query_response: Option<String>,
    remaining: Option<u32>,
    /// Per returned patient: its ids (root, extension) and score.
    pub(crate) patients: Vec<Returned>,
    pub(crate) text: String,
}

impl Answer {
    fn ids_of(&self, i: usize) -> Vec<(String, String)> {
        self.patients[i].0.clone()
    }
    fn has_id(&self, i: usize, root: &str, ext: &str) -> bool {
        self.patients[i]
            .0
            .iter()
            .any(|(r, e)| r == root && e == ext)
    }
}

fn answer(text: String) -> Answer {
    let m = message(&text);
    let ack_el = m.child(HL7, "acknowledgement").expect("acknowledgement");
    let ack = path(ack_el, &["typeCode"])
        .and_then(|t| t.attr("code"))
        .unwrap_or("")
        .to_owned();
    let details = ack_el
        .children_named(HL7, "acknowledgementDetail")
        .map(|d| {
            (
                path(d, &["code"])
                    .and_then(|c| c.attr("code"))
                    .map(str::to_owned),
                path(d, &["text"]).map(|t| t.text()).unwrap_or_default(),
                path(d, &["location"]).map(|t| t.text()),
            )
        })
        .collect();
    let cap = m.child(HL7, "controlActProcess");
    let qa = cap.and_then(|c| c.child(HL7, "queryAck"));
    let patients = cap
        .map(|c| {
            c.children_named(HL7, "subject")
                .filter_map(|s| path(s, &["registrationEvent", "subject1", "patient"]))
                .map(|p| {
                    let ids = p
                        .children_named(HL7, "id")
                        .map(|i| {
                            (
                                i.attr("root").unwrap_or("").to_owned(),
                                i.attr("extension").unwrap_or("").to_owned(),
                            )
                        })
                        .collect();
                    let score = path(p, &["subjectOf1", "queryMatchObservation", "value"])
                        .and_then(|v| v.attr("value"))
                        .and_then(|v| v.parse().ok());
                    let family = path(p, &["patientPerson", "name", "family"]).map(|f| f.text());
                    (ids, score, family)
                })
                .collect()
        })
        .unwrap_or_default();
    Answer {
        ack,
        details,
        query_response: qa
            .and_then(|q| path(q, &["queryResponseCode"]))
            .and_then(|c| c.attr("code"))
            .map(str::to_owned),
        remaining: qa
            .and_then(|q| path(q, &["resultRemainingQuantity"]))
            .and_then(|c| c.attr("value"))
            .and_then(|v| v.parse().ok()),
        patients,
        text,
    }
}

fn feed(
    server: &Server,
    action: &str,
    interaction: &str,
    p: &P,
    obsolete: Option<(&str, &str)>,
) -> Answer {
    answer(post(
        server,
        "/pix",
        action,
        &feed_xml(interaction, p, obsolete),
    ))
}

pub(crate) fn add(server: &Server, p: &P) -> Answer {
    let a = feed(server, ADD, "PRPA_IN201301UV02", p, None);
    assert_eq!(a.ack, "AA", "{}", a.text);
    a
}

fn pix(server: &Server, root: &str, ext: &str, sources: &[&str]) -> Answer {
    answer(post(
        server,
        "/pix",
        PIX_QUERY,
        &pix_query_xml(root, ext, sources),
    ))
}

pub(crate) fn pdq(server: &Server, q: &Q) -> Answer {
    answer(post(server, "/pdq", PDQ_QUERY, &pdq_xml(q)))
}

pub(crate) fn patient(
    root: &'static str,
    ext: &str,
    hangul: (&str, &str),
    latin: Option<(&str, &str)>,
    birth: &str,
    gender: &'static str,
) -> P {
    P {
        root,
        ext: ext.into(),
        hangul: Some((hangul.0.into(), hangul.1.into())),
        latin: latin.map(|(f, g)| (f.into(), g.into())),
        birth: birth.into(),
        gender,
        ..P::default()
    }
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(server: &Server, sql: &str) -> i64 {
    let mut conn = connect(server.db_url.as_deref().unwrap());
    diesel::sql_query(sql).get_result::<N>(&mut conn).unwrap().n
}

#[derive(QueryableByName, Debug)]
struct AuditEntry {
    #[diesel(sql_type = Nullable<Text>)]
    event_id: Option<String>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Int2>)]
    outcome: Option<i16>,
    #[diesel(sql_type = diesel::sql_types::Array<Text>)]
    event_types: Vec<String>,
    #[diesel(sql_type = diesel::sql_types::Array<Text>)]
    patient_ids: Vec<String>,
}

fn audit_of(server: &Server, code: &str) -> Vec<AuditEntry> {
    let mut conn = connect(server.db_url.as_deref().unwrap());
    diesel::sql_query(
        "SELECT event_id, outcome, event_types, patient_ids FROM audit_events ORDER BY seq",
    )
    .load::<AuditEntry>(&mut conn)
    .unwrap()
    .into_iter()
    .filter(|e| e.event_types.iter().any(|t| t == code))
    .collect()
}

/// A fixture's text from its root element on (no declaration, no leading comments).
fn fixture_message(rel: &str) -> String {
    let text = std::fs::read_to_string(fixture(rel)).unwrap();
    let start = text.find("<PRPA_").unwrap();
    text[start..].trim_end().to_owned()
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

#[test]
fn ipf_hl7v3_fixtures_get_their_expected_answers() {
    let server = Server::start();
    // Invalid: <idA> where <id> belongs → AE naming the element; nothing stored.
    let a = answer(post(
        &server,
        "/pix",
        ADD,
        &fixture_message("ipf/hl7v3/invalid-PRPA_IN201301UV02-schema.xml"),
    ));
    assert_eq!(a.ack, "AE", "{}", a.text);
    assert!(
        a.details
            .iter()
            .any(|(_, t, l)| t.contains("idA") && l.as_deref() == Some("/PRPA_IN201301UV02/idA")),
        "{:?}",
        a.details
    );
    assert_eq!(count(&server, "SELECT count(*) AS n FROM mpi_records"), 0);

    // Valid add → AA, and the id is known to the XDS registry.
    let a = answer(post(
        &server,
        "/pix",
        ADD,
        &fixture_message("ipf/hl7v3/valid-iti44-add-PRPA_IN201301UV02.xml"),
    ));
    assert_eq!(a.ack, "AA", "{}", a.text);
    assert_eq!(
        count(
            &server,
            "SELECT count(*) AS n FROM patients WHERE assigning_authority = '2.16.840.1.113883.3.37.4.1.1.2.511.1' AND patient_id = '1003'"
        ),
        1
    );
    // The acknowledgement names the request it answers.
    assert!(
        a.text.contains("c47bb4cd-649d-433d-a18b-3dac3ae6dcec"),
        "{}",
        a.text
    );

    // PDQ by three ids nobody fed → AA / NF.
    let a = answer(post(
        &server,
        "/pdq",
        PDQ_QUERY,
        &fixture_message("ipf/hl7v3/valid-iti47-query-by-ids.xml"),
    ));
    assert_eq!(a.ack, "AA", "{}", a.text);
    assert_eq!(a.query_response.as_deref(), Some("NF"), "{}", a.text);
    assert!(
        a.text.contains("18204"),
        "the queryByParameter is echoed: {}",
        a.text
    );

    let feeds = audit_of(&server, "ITI-44");
    assert_eq!(feeds.len(), 2);
    assert_eq!(
        feeds[0].outcome,
        Some(8),
        "the refused feed is audited as a failure"
    );
    assert_eq!(feeds[1].outcome, Some(0));
    assert_eq!(feeds[1].event_id.as_deref(), Some("110110"));
    assert!(
        feeds[1]
            .patient_ids
            .iter()
            .any(|p| p.starts_with("1003^^^")),
        "{:?}",
        feeds[1].patient_ids
    );
    let queries = audit_of(&server, "ITI-47");
    assert_eq!(queries.len(), 1);
    assert_eq!(queries[0].event_id.as_deref(), Some("110112"));
}

// ---------------------------------------------------------------------------------------------
// ITI-44 + ITI-45
// ---------------------------------------------------------------------------------------------

#[test]
fn feeds_cross_reference_and_pix_query_answers_with_the_profile_codes() {
    let server = Server::start();
    let kim_a = P {
        phone: Some("+82-10-1234-5678".into()),
        ..patient(
            H1,
            "A100",
            ("김", "민준"),
            Some(("Kim", "Minjun")),
            "19800101",
            "M",
        )
    };
    add(&server, &kim_a);
    // Hospital B: same person, Hangul only → linked on demographics.
    let kim_b = P {
        phone: Some("+82 10 1234 5678".into()),
        ..patient(H2, "B200", ("김", "민준"), None, "19800101", "M")
    };
    add(&server, &kim_b);
    // Someone else.
    add(
        &server,
        &patient(H2, "B201", ("박", "서연"), None, "19850505", "F"),
    );

    let a = pix(&server, H1, "A100", &[]);
    assert_eq!(
        (a.ack.as_str(), a.query_response.as_deref()),
        ("AA", Some("OK")),
        "{}",
        a.text
    );
    assert_eq!(a.patients.len(), 1);
    assert!(a.has_id(0, H2, "B200"), "{:?}", a.ids_of(0));
    assert!(
        a.ids_of(0).iter().any(|(r, _)| r == ENTERPRISE),
        "{:?}",
        a.ids_of(0)
    );
    assert!(!a.has_id(0, H1, "A100"), "the queried id is not repeated");
    assert!(!a.has_id(0, H2, "B201"));

    // dataSource filter.
    let a = pix(&server, H1, "A100", &[H2]);
    assert_eq!(a.ids_of(0), vec![(H2.to_owned(), "B200".to_owned())]);
    // Known domain, unknown id → NF.
    let a = pix(&server, H1, "NOPE", &[]);
    assert_eq!(
        (a.ack.as_str(), a.query_response.as_deref()),
        ("AA", Some("NF")),
        "{}",
        a.text
    );
    assert!(a.patients.is_empty());
    // Unknown patient-id domain → AE, AE, 204 at the patientIdentifier.
    let a = pix(&server, "1.2.999.1", "X", &[]);
    assert_eq!(
        (a.ack.as_str(), a.query_response.as_deref()),
        ("AE", Some("AE")),
        "{}",
        a.text
    );
    assert_eq!(a.details[0].0.as_deref(), Some("204"));
    assert!(
        a.details[0]
            .2
            .as_deref()
            .unwrap()
            .ends_with("patientIdentifier/value/@root")
    );
    // Unknown data source → AE with the dataSource location.
    let a = pix(&server, H1, "A100", &["1.2.999.2"]);
    assert_eq!(a.ack, "AE");
    assert!(
        a.details[0].2.as_deref().unwrap().contains("dataSource[1]"),
        "{:?}",
        a.details
    );

    // Revise: new name, found by PDQ under it.
    let revised = P {
        latin: Some(("Kim".into(), "Minjoon".into())),
        ..kim_a.clone()
    };
    let r = feed(&server, REVISE, "PRPA_IN201302UV02", &revised, None);
    assert_eq!(r.ack, "AA", "{}", r.text);
    let a = pdq(
        &server,
        &Q {
            family: Some("Kim"),
            given: Some("Minjoon"),
            query_ext: "rev".into(),
            ..Q::default()
        },
    );
    assert_eq!(a.query_response.as_deref(), Some("OK"), "{}", a.text);
    assert!(a.has_id(0, H1, "A100"), "{:?}", a.patients);
    // Revise of an unknown id → AE 204 naming it.
    let r = feed(
        &server,
        REVISE,
        "PRPA_IN201302UV02",
        &P {
            ext: "A999".into(),
            ..kim_a.clone()
        },
        None,
    );
    assert_eq!(r.ack, "AE");
    assert!(r.details[0].1.contains("A999"), "{:?}", r.details);
    // An enterprise id cannot be fed.
    let r = feed(
        &server,
        ADD,
        "PRPA_IN201301UV02",
        &P {
            root: ENTERPRISE,
            ..kim_a.clone()
        },
        None,
    );
    assert_eq!(r.ack, "AE");
    assert!(r.details[0].1.contains("enterprise"), "{:?}", r.details);

    let q = audit_of(&server, "ITI-45");
    assert_eq!(q.len(), 5);
    assert!(q.iter().all(|e| e.event_id.as_deref() == Some("110112")));
    assert!(
        q[0].patient_ids.iter().any(|p| p.starts_with("A100^^^")),
        "{:?}",
        q[0].patient_ids
    );
}

#[test]
fn a_domain_that_declares_no_such_authority_refuses_the_feed() {
    let server = Server::start_with(ServerOptions {
        env: vec![("HIEHUB_AFFINITY_DOMAIN".into(), "kr-hie".into())],
        ..ServerOptions::default()
    });
    let a = feed(
        &server,
        ADD,
        "PRPA_IN201301UV02",
        &patient(H1, "A1", ("김", "민준"), None, "19800101", "M"),
        None,
    );
    assert_eq!(a.ack, "AE", "{}", a.text);
    let (code, text, location) = &a.details[0];
    assert_eq!(code.as_deref(), Some("204"));
    assert!(text.contains(H1) && text.contains("kr-hie"), "{text}");
    assert!(
        location
            .as_deref()
            .unwrap()
            .ends_with("patient/id[1]/@root"),
        "{location:?}"
    );
    assert_eq!(count(&server, "SELECT count(*) AS n FROM mpi_records"), 0);
    assert_eq!(count(&server, "SELECT count(*) AS n FROM patients"), 0);
}

// ---------------------------------------------------------------------------------------------
// Merge and the XDS registry
// ---------------------------------------------------------------------------------------------

fn find_documents(server: &Server, cx: &str) -> Vec<String> {
    let request = ebxml::AdhocQueryRequest {
        response_option: ebxml::ResponseOption {
            return_type: ebxml::ReturnType::parse("LeafClass"),
            return_composed_objects: Some(true),
        },
        adhoc_query: ebxml::AdhocQuery {
            object: ebxml::RegistryObject {
                slots: vec![
                    ebxml::Slot::new("$XDSDocumentEntryPatientId", [format!("'{cx}'").as_str()]),
                    ebxml::Slot::new(
                        "$XDSDocumentEntryStatus",
                        ["('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"],
                    ),
                ],
                ..ebxml::RegistryObject::new("urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d")
            },
            query_expression: None,
        },
        ..ebxml::AdhocQueryRequest::default()
    };
    let body = request.to_xml(ebxml::EncodeOptions::INLINE).xml;
    let text = post(server, "/xds/registry", ITI18, &body);
    assert!(text.contains("ResponseStatusType:Success"), "{text}");
    // The uniqueIds of the ExtrinsicObjects returned, with the patientId they carry.
    let root = xml::parse(text.as_bytes(), &xml::Limits::default()).unwrap();
    let mut out = Vec::new();
    fn walk(e: &Element, out: &mut Vec<String>) {
        if e.local == "ExternalIdentifier"
            && let Some(v) = e.attr("value")
        {
            out.push(v.to_owned());
        }
        for c in e.elements() {
            walk(c, out);
        }
    }
    walk(&root, &mut out);
    out
}

#[test]
fn merge_moves_registry_documents_to_the_survivor_and_pix_follows() {
    let server = Server::start();
    // The XDS fixtures' patient (SR7 in 1.2.260) and its duplicate SR8.
    add(
        &server,
        &patient(
            "1.2.260",
            "SR7",
            ("이", "서준"),
            Some(("Lee", "Seojun")),
            "19700303",
            "M",
        ),
    );
    add(
        &server,
        &patient(
            "1.2.260",
            "SR8",
            ("이", "서준"),
            Some(("Lee", "Seojun")),
            "19700304",
            "M",
        ),
    );
    add(
        &server,
        &patient(H2, "B7", ("이", "서준"), None, "19700303", "M"),
    );
    let s = crate::xds::submission(&[(
        "1.42.20261123.1",
        b"<ClinicalDocument>merged</ClinicalDocument>",
    )]);
    crate::xds::provide(&server, &s).assert_success();
    let before = find_documents(&server, "SR7^^^&1.2.260&ISO");
    assert!(
        before.contains(&"SR7^^^&1.2.260&ISO".to_owned()),
        "{before:?}"
    );
    assert!(find_documents(&server, "SR8^^^&1.2.260&ISO").is_empty());

    let m = feed(
        &server,
        MERGE,
        "PRPA_IN201304UV02",
        &patient(
            "1.2.260",
            "SR8",
            ("이", "서준"),
            Some(("Lee", "Seojun")),
            "19700303",
            "M",
        ),
        Some(("1.2.260", "SR7")),
    );
    assert_eq!(m.ack, "AA", "{}", m.text);

    // The document is found under the survivor and carries the survivor's id.
    let after = find_documents(&server, "SR8^^^&1.2.260&ISO");
    assert!(
        after.contains(&"SR8^^^&1.2.260&ISO".to_owned()),
        "{after:?}"
    );
    assert!(
        !after.contains(&"SR7^^^&1.2.260&ISO".to_owned()),
        "{after:?}"
    );
    assert!(find_documents(&server, "SR7^^^&1.2.260&ISO").is_empty());
    assert_eq!(
        count(
            &server,
            "SELECT count(*) AS n FROM mpi_merges WHERE obsolete_ext = 'SR7' AND survivor_ext = 'SR8' AND documents = 1"
        ),
        1
    );
    // The registry no longer accepts the merged-away id.
    let s2 = crate::xds::submission(&[(
        "1.42.20261123.2",
        b"<ClinicalDocument>late</ClinicalDocument>",
    )]);
    crate::xds::provide(&server, &s2).assert_failure_with("XDSUnknownPatientId");

    // PIX: the survivor carries B7 (SR7's cross-reference) and SR7 is answered for SR8.
    let a = pix(&server, "1.2.260", "SR8", &[]);
    assert_eq!(a.query_response.as_deref(), Some("OK"), "{}", a.text);
    assert!(a.has_id(0, H2, "B7"), "{:?}", a.ids_of(0));
    assert!(!a.has_id(0, "1.2.260", "SR7"));
    let a = pix(&server, "1.2.260", "SR7", &[H2]);
    assert!(a.has_id(0, H2, "B7"), "{}", a.text);

    // Merging an unknown obsolete id is refused with nothing changed.
    let m = feed(
        &server,
        MERGE,
        "PRPA_IN201304UV02",
        &patient("1.2.260", "SR8", ("이", "서준"), None, "19700303", "M"),
        Some(("1.2.260", "GHOST")),
    );
    assert_eq!(m.ack, "AE", "{}", m.text);
    assert!(
        m.details[0]
            .2
            .as_deref()
            .unwrap()
            .contains("priorRegisteredRole/id[1]"),
        "{:?}",
        m.details
    );
    let merges = audit_of(&server, "ITI-44");
    assert!(
        merges
            .iter()
            .any(|e| e.patient_ids.iter().any(|p| p.starts_with("SR7^^^"))
                && e.patient_ids.iter().any(|p| p.starts_with("SR8^^^")))
    );
}

// ---------------------------------------------------------------------------------------------
// PDQ ranking on a generated Korean population
// ---------------------------------------------------------------------------------------------

const FAMILIES: [&str; 10] = ["김", "이", "박", "최", "정", "강", "조", "윤", "장", "임"];
const GIVEN: [&str; 12] = [
    "서준", "하준", "도윤", "지호", "서연", "지우", "하은", "민서", "수아", "예준", "지안", "유나",
];

/// A deterministic population: (family, given, birth, gender) for `n` people.
fn population(n: usize) -> Vec<(String, String, String, &'static str)> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|_| {
            let f = FAMILIES[(next() % 10) as usize];
            let g = GIVEN[(next() % 12) as usize];
            let y = 1950 + next() % 50;
            let m = 1 + next() % 12;
            let d = 1 + next() % 28;
            (
                f.to_owned(),
                g.to_owned(),
                format!("{y}{m:02}{d:02}"),
                if next() % 2 == 0 { "M" } else { "F" },
            )
        })
        .collect()
}

#[test]
fn pdq_ranks_exact_first_finds_a_typo_and_not_a_different_person() {
    let server = Server::start();
    for (i, (f, g, b, s)) in population(60).iter().enumerate() {
        // Nobody in the generated population is 김민준.
        add(&server, &patient(H1, &format!("G{i}"), (f, g), None, b, s));
    }
    add(
        &server,
        &patient(
            H1,
            "TARGET",
            ("김", "민준"),
            Some(("Kim", "Minjun")),
            "19800101",
            "M",
        ),
    );
    add(
        &server,
        &patient(H2, "TWIN", ("김", "민준"), None, "19930707", "M"),
    );
    add(
        &server,
        &patient(H2, "OTHER", ("박", "서연"), None, "19800101", "F"),
    );

    // Exact, in Hangul: the target first with 100, the namesake born elsewhen after it.
    let a = pdq(
        &server,
        &Q {
            family: Some("김"),
            given: Some("민준"),
            query_ext: "q1".into(),
            ..Q::default()
        },
    );
    assert_eq!(a.ack, "AA", "{}", a.text);
    assert!(a.patients.len() >= 2, "{}", a.text);
    assert_eq!(a.patients[0].1, Some(100));
    let found: Vec<bool> = (0..a.patients.len())
        .map(|i| a.has_id(i, H1, "TARGET") || a.has_id(i, H2, "TWIN"))
        .collect();
    assert!(found[0] && found[1], "{:?}", a.patients);
    assert!(!(0..a.patients.len()).any(|i| a.has_id(i, H2, "OTHER")));

    // The Revised Romanization and the common romanised spelling find the Hangul record.
    for (f, g) in [("Gim", "Minjun"), ("Kim", "Min-jun")] {
        let a = pdq(
            &server,
            &Q {
                family: Some(f),
                given: Some(g),
                birth: Some("19800101"),
                query_ext: format!("q-{f}"),
                ..Q::default()
            },
        );
        assert_eq!(a.patients.len(), 1, "{f} {g}: {}", a.text);
        assert!(a.has_id(0, H1, "TARGET"), "{f} {g}");
        assert_eq!(a.patients[0].1, Some(100), "{f} {g}");
    }

    // One character off (민존 for 민준): still found, first, with a lower score.
    let a = pdq(
        &server,
        &Q {
            family: Some("김"),
            given: Some("민존"),
            birth: Some("19800101"),
            query_ext: "typo".into(),
            ..Q::default()
        },
    );
    assert_eq!(a.query_response.as_deref(), Some("OK"), "{}", a.text);
    assert!(a.has_id(0, H1, "TARGET"));
    let score = a.patients[0].1.unwrap();
    assert!((80..100).contains(&score), "{score}");
    // The same birth date but a different person is not returned.
    assert!(
        !(0..a.patients.len()).any(|i| a.has_id(i, H2, "OTHER")),
        "{:?}",
        a.patients
    );

    // Family name + birth date (the benchmark's query).
    let a = pdq(
        &server,
        &Q {
            family: Some("김"),
            birth: Some("19800101"),
            query_ext: "fb".into(),
            ..Q::default()
        },
    );
    assert_eq!(a.patients.len(), 1, "{}", a.text);
    assert!(a.has_id(0, H1, "TARGET"));

    // Birth date + gender, no name: the one woman born that day.
    let a = pdq(
        &server,
        &Q {
            birth: Some("19800101"),
            gender: Some("F"),
            query_ext: "bg".into(),
            ..Q::default()
        },
    );
    assert_eq!(a.patients.len(), 1, "{}", a.text);
    assert!(a.has_id(0, H2, "OTHER"));

    // Prefix.
    let a = pdq(
        &server,
        &Q {
            family: Some("Gi*"),
            given: Some("Minj*"),
            query_ext: "px".into(),
            ..Q::default()
        },
    );
    assert!(
        (0..a.patients.len()).any(|i| a.has_id(i, H1, "TARGET")),
        "{}",
        a.text
    );

    // Domain filter: only ids of H2, only persons that have one.
    let a = pdq(
        &server,
        &Q {
            family: Some("김"),
            given: Some("민준"),
            domains: vec![H2],
            query_ext: "dom".into(),
            ..Q::default()
        },
    );
    assert!(
        a.patients
            .iter()
            .all(|(ids, _, _)| ids.iter().all(|(r, _)| r == H2)),
        "{:?}",
        a.patients
    );
    assert!((0..a.patients.len()).any(|i| a.has_id(i, H2, "TWIN")));
    // An unknown domain → AE 204.
    let a = pdq(
        &server,
        &Q {
            family: Some("김"),
            domains: vec!["1.2.999.3"],
            query_ext: "bad".into(),
            ..Q::default()
        },
    );
    assert_eq!(a.ack, "AE", "{}", a.text);
    assert_eq!(a.details[0].0.as_deref(), Some("204"));

    // The search runs on indexes: the plan of the name + birth date query uses no Seq Scan.
    let mut conn = connect(server.db_url.as_deref().unwrap());
    diesel::sql_query("SET enable_seqscan = off")
        .execute(&mut conn)
        .unwrap();
    #[derive(QueryableByName)]
    struct Plan {
        #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let plan: Vec<Plan> = diesel::sql_query(
        "EXPLAIN SELECT id FROM mpi_records r WHERE r.status = 'active' AND (r.full_norm = 'gimminjon' OR r.full_alt = 'gimminjon' OR r.full_norm % 'gimminjon' OR r.full_alt % 'gimminjon')",
    )
    .load(&mut conn)
    .unwrap();
    let text: Vec<String> = plan.into_iter().map(|p| p.line).collect();
    assert!(
        text.iter().any(|l| l.contains("mpi_records_full_trgm")),
        "{text:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Continuation
// ---------------------------------------------------------------------------------------------

#[test]
fn pdq_continuation_across_three_pages_and_a_restart_then_cancel() {
    let mut server = Server::start();
    for (i, given) in GIVEN.iter().enumerate().take(7) {
        add(
            &server,
            &patient(
                H1,
                &format!("L{i}"),
                ("이", given),
                None,
                &format!("1990010{}", i + 1),
                "F",
            ),
        );
    }
    let a = pdq(
        &server,
        &Q {
            family: Some("이"),
            initial: Some(3),
            query_ext: "cont".into(),
            ..Q::default()
        },
    );
    assert_eq!((a.patients.len(), a.remaining), (3, Some(4)), "{}", a.text);
    let mut seen: Vec<String> = a.patients.iter().map(|p| p.0[0].1.clone()).collect();

    // The continuation state is in the database: it survives a restart.
    server.signal(libc::SIGTERM);
    server.wait(Duration::from_secs(20)).expect("server stops");
    let server = server.restart();

    let b = answer(post(
        &server,
        "/pdq",
        PDQ_CONTINUE,
        &continuation_xml("cont", 3, "waitContinuedQueryResponse"),
    ));
    assert_eq!(b.ack, "AA", "{}", b.text);
    assert_eq!((b.patients.len(), b.remaining), (3, Some(1)), "{}", b.text);
    seen.extend(b.patients.iter().map(|p| p.0[0].1.clone()));
    let c = answer(post(
        &server,
        "/pdq",
        PDQ_CONTINUE,
        &continuation_xml("cont", 3, "waitContinuedQueryResponse"),
    ));
    assert_eq!((c.patients.len(), c.remaining), (1, Some(0)), "{}", c.text);
    seen.extend(c.patients.iter().map(|p| p.0[0].1.clone()));
    // Seven different patients over three pages.
    let mut all = seen.clone();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 7, "{seen:?}");
    // After the last page the query is closed.
    let d = answer(post(
        &server,
        "/pdq",
        PDQ_CONTINUE,
        &continuation_xml("cont", 3, "waitContinuedQueryResponse"),
    ));
    assert_eq!(d.ack, "AE", "{}", d.text);

    // Cancel: AA, and the query is gone.
    let a = pdq(
        &server,
        &Q {
            family: Some("이"),
            initial: Some(2),
            query_ext: "cancel-me".into(),
            ..Q::default()
        },
    );
    assert_eq!(a.remaining, Some(5));
    let x = answer(post(
        &server,
        "/pdq",
        PDQ_CANCEL,
        &continuation_xml("cancel-me", 0, "aborted"),
    ));
    assert_eq!(x.ack, "AA", "{}", x.text);
    assert!(x.text.contains("MCCI_IN000002UV01"));
    assert_eq!(
        count(&server, "SELECT count(*) AS n FROM mpi_pdq_queries"),
        0
    );
    let y = answer(post(
        &server,
        "/pdq",
        PDQ_CONTINUE,
        &continuation_xml("cancel-me", 2, "waitContinuedQueryResponse"),
    ));
    assert_eq!(y.ack, "AE", "{}", y.text);
}

// ---------------------------------------------------------------------------------------------
// ITI-46
// ---------------------------------------------------------------------------------------------

/// A PIX Consumer: answers every POST with an AA acknowledgement; returns the bodies received.
fn consumer(listener: TcpListener, want: usize, deadline: Instant) -> Vec<String> {
    listener.set_nonblocking(false).unwrap();
    let mut got = Vec::new();
    listener.set_nonblocking(true).unwrap();
    while got.len() < want && Instant::now() < deadline {
        let (mut s, _) = match listener.accept() {
            Ok(c) => c,
            Err(_) => {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
        };
        s.set_nonblocking(false).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            let n = s.read(&mut chunk).unwrap_or(0);
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf);
            if let Some(h) = text.find("\r\n\r\n") {
                let len: usize = text[..h]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                if buf.len() >= h + 4 + len {
                    break;
                }
            }
        }
        let body = "<MCCI_IN000002UV01 xmlns=\"urn:hl7-org:v3\"/>";
        let _ = write!(
            s,
            "HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        got.push(String::from_utf8_lossy(&buf).into_owned());
    }
    got
}

#[test]
fn iti46_notifications_survive_a_consumer_that_is_down_and_a_restart_in_order() {
    // Reserve a port, then close it: the consumer is down.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = vec![
        (
            "HIEHUB_PIX_CONSUMERS".to_owned(),
            format!("http://127.0.0.1:{port}/pix-consumer"),
        ),
        ("HIEHUB_MPI_PROBABILISTIC".to_owned(), "false".to_owned()),
    ];
    let mut server = Server::start_with(ServerOptions {
        env: env.clone(),
        ..ServerOptions::default()
    });
    add(
        &server,
        &patient(H1, "N1", ("정", "하준"), None, "20000101", "M"),
    );
    add(
        &server,
        &patient(H1, "N2", ("정", "하준"), None, "20000101", "M"),
    );
    add(
        &server,
        &patient(H2, "N3", ("윤", "지우"), None, "20010101", "F"),
    );
    // Merge N2 into N1: a fourth notification, for N1's person.
    let m = feed(
        &server,
        MERGE,
        "PRPA_IN201304UV02",
        &patient(H1, "N1", ("정", "하준"), None, "20000101", "M"),
        Some((H1, "N2")),
    );
    assert_eq!(m.ack, "AA", "{}", m.text);
    assert_eq!(count(&server, "SELECT count(*) AS n FROM mpi_outbox"), 4);

    // Let the worker fail a few times.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        count(
            &server,
            "SELECT count(*) AS n FROM mpi_outbox WHERE delivered_at IS NOT NULL"
        ),
        0
    );
    assert!(
        count(
            &server,
            "SELECT coalesce(max(attempts), 0)::int8 AS n FROM mpi_outbox"
        ) >= 1
    );

    // hiehub restarts while the consumer is still down: the outbox is in the database.
    server.signal(libc::SIGTERM);
    server.wait(Duration::from_secs(20)).expect("server stops");
    let data_dir = std::mem::replace(&mut server.data_dir, tempfile::tempdir().unwrap());
    let server = Server::start_with(ServerOptions {
        env,
        db_url: server.db_url.clone(),
        data_dir: Some(data_dir),
        ..ServerOptions::default()
    });
    std::thread::sleep(Duration::from_millis(500));

    // The consumer comes back.
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let got = consumer(listener, 4, Instant::now() + Duration::from_secs(40));
    assert_eq!(got.len(), 4, "all four notifications arrive");
    for g in &got {
        assert!(
            g.contains("PRPA_IN201302UV02") && g.contains("urn:hl7-org:v3:PRPA_IN201302UV02"),
            "{g}"
        );
    }
    // In feed order: N1's person, N2's person, N3's person, then N1's person with N2 merged.
    assert!(
        got[0].contains("extension=\"N1\"") && !got[0].contains("extension=\"N2\""),
        "{}",
        got[0]
    );
    assert!(got[1].contains("extension=\"N2\""), "{}", got[1]);
    assert!(got[2].contains("extension=\"N3\""), "{}", got[2]);
    assert!(
        got[3].contains("extension=\"N1\"") && !got[3].contains("extension=\"N2\""),
        "{}",
        got[3]
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while count(
        &server,
        "SELECT count(*) AS n FROM mpi_outbox WHERE delivered_at IS NULL",
    ) > 0
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        count(
            &server,
            "SELECT count(*) AS n FROM mpi_outbox WHERE delivered_at IS NULL"
        ),
        0
    );
    // Every attempt is audited: failures first, then four successes.
    std::thread::sleep(Duration::from_millis(300));
    let sends = audit_of(&server, "ITI-46");
    assert!(
        sends.iter().filter(|e| e.outcome == Some(0)).count() >= 4,
        "{sends:?}"
    );
    assert!(
        sends.iter().any(|e| e.outcome == Some(8)),
        "the failed attempts are audited"
    );
}

// ---------------------------------------------------------------------------------------------
// zeep
// ---------------------------------------------------------------------------------------------

#[test]
fn zeep_feeds_and_queries_through_the_served_wsdls() {
    let server = Server::start();
    let out = std::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/interop/zeep_mpi.py"
        ))
        .arg(server.url("/pix?wsdl"))
        .arg(server.url("/pdq?wsdl"))
        .output()
        .expect("python3 (Debian python3) must be installed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "zeep failed: {stderr}\n{stdout}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["feed_ack"], "AA", "{stdout}");
    assert_eq!(v["query_ack"], "AA", "{stdout}");
    assert_eq!(v["query_response"], "OK", "{stdout}");
    assert_eq!(v["found"], serde_json::json!(["ZEEP-1"]), "{stdout}");
    assert_eq!(audit_of(&server, "ITI-44").len(), 1);
    assert_eq!(audit_of(&server, "ITI-47").len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Admin API
// ---------------------------------------------------------------------------------------------

fn api(
    server: &Server,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let c = client();
    let req = match method {
        "GET" => c.get(server.url(path)),
        _ => c.post(server.url(path)).json(&body.unwrap_or_default()),
    };
    let resp = req.send().unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(serde_json::Value::Null))
}

#[test]
fn admin_api_reviews_links_unlinks_and_merges_with_audit() {
    let server = Server::start();
    // Same name, birth dates one digit apart: scored between the thresholds → review queue.
    add(
        &server,
        &patient(H1, "R1", ("한", "복남"), None, "19600101", "M"),
    );
    add(
        &server,
        &patient(H2, "R2", ("한", "복남"), None, "19600107", "M"),
    );
    assert_eq!(
        pix(&server, H1, "R1", &[H2]).query_response.as_deref(),
        Some("NF")
    );

    let (status, queue) = api(&server, "GET", "/api/patients/review", None);
    assert_eq!(status, 200, "{queue}");
    let items = queue.as_array().unwrap();
    assert_eq!(items.len(), 1, "{queue}");
    assert_eq!(items[0]["record_extension"], "R2");
    let score = items[0]["score"].as_f64().unwrap();
    assert!((0.75..0.92).contains(&score), "{score}");
    let id = items[0]["id"].as_i64().unwrap();

    let (status, decided) = api(
        &server,
        "POST",
        &format!("/api/patients/review/{id}"),
        Some(serde_json::json!({"decision": "link"})),
    );
    assert_eq!(status, 200, "{decided}");
    assert_eq!(decided["status"], "linked");
    assert!(pix(&server, H1, "R1", &[H2]).has_id(0, H2, "R2"));
    let (status, again) = api(
        &server,
        "POST",
        &format!("/api/patients/review/{id}"),
        Some(serde_json::json!({"decision": "dismiss"})),
    );
    assert_eq!(status, 422, "{again}");
    assert!(again["error"].as_str().unwrap().contains("already decided"));

    // Unlink: R2 gets its own person.
    let (status, person) = api(
        &server,
        "POST",
        "/api/patients/unlink",
        Some(serde_json::json!({"record": {"root": H2, "extension": "R2"}})),
    );
    assert_eq!(status, 200, "{person}");
    let r2_person = person["enterprise_id"]["extension"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        pix(&server, H1, "R1", &[H2]).query_response.as_deref(),
        Some("NF")
    );

    // Link it back by R1's enterprise id.
    let r1 = pix(&server, H1, "R1", &[ENTERPRISE]);
    let r1_person = r1.ids_of(0)[0].1.clone();
    assert_ne!(r1_person, r2_person);
    let (status, person) = api(
        &server,
        "POST",
        "/api/patients/link",
        Some(
            serde_json::json!({"record": {"root": H2, "extension": "R2"}, "enterprise_id": r1_person}),
        ),
    );
    assert_eq!(status, 200, "{person}");
    assert_eq!(person["records"].as_array().unwrap().len(), 2, "{person}");
    let (status, got) = api(&server, "GET", &format!("/api/patients/{r1_person}"), None);
    assert_eq!(status, 200);
    assert_eq!(got["records"].as_array().unwrap().len(), 2);

    // Merge within H1.
    add(
        &server,
        &patient(H1, "R1-DUP", ("한", "복남"), None, "19600101", "M"),
    );
    let (status, merged) = api(
        &server,
        "POST",
        "/api/patients/merge",
        Some(
            serde_json::json!({"survivor": {"root": H1, "extension": "R1"}, "obsolete": {"root": H1, "extension": "R1-DUP"}}),
        ),
    );
    assert_eq!(status, 200, "{merged}");
    assert_eq!(merged["documents_moved"], 0);
    assert_eq!(
        count(
            &server,
            "SELECT count(*) AS n FROM patients WHERE patient_id = 'R1-DUP'"
        ),
        0
    );
    // Errors name the problem.
    let (status, e) = api(
        &server,
        "POST",
        "/api/patients/merge",
        Some(
            serde_json::json!({"survivor": {"root": H1, "extension": "R1"}, "obsolete": {"root": H2, "extension": "R2"}}),
        ),
    );
    assert_eq!(status, 422, "{e}");
    assert!(e["error"].as_str().unwrap().contains("different domains"));
    let (status, e) = api(
        &server,
        "POST",
        "/api/patients/link",
        Some(
            serde_json::json!({"record": {"root": H1, "extension": "NOBODY"}, "enterprise_id": r1_person}),
        ),
    );
    assert_eq!(status, 404, "{e}");
    let (status, list) = api(
        &server,
        "GET",
        "/api/patients?family=Han&birth_date=19600101",
        None,
    );
    assert_eq!(status, 200, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");

    let mut conn = connect(server.db_url.as_deref().unwrap());
    #[derive(QueryableByName)]
    struct Ev {
        #[diesel(sql_type = diesel::sql_types::Array<Text>)]
        event_types: Vec<String>,
    }
    let types: Vec<String> = diesel::sql_query("SELECT event_types FROM audit_events ORDER BY seq")
        .load::<Ev>(&mut conn)
        .unwrap()
        .into_iter()
        .flat_map(|e| e.event_types)
        .collect();
    for t in [
        "MPI-REVIEW",
        "MPI-REVIEW-DECIDE",
        "MPI-UNLINK",
        "MPI-LINK",
        "MPI-READ",
        "MPI-MERGE",
        "MPI-LIST",
    ] {
        assert!(types.iter().any(|x| x == t), "{t} audited: {types:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// National identifiers (RRN)
// ---------------------------------------------------------------------------------------------

const RRN: &str = "1.2.410.100.100.10.1";

#[test]
fn national_ids_are_sealed_masked_and_link_deterministically() {
    let server = Server::start_with(ServerOptions {
        env: vec![("HIEHUB_MPI_PROBABILISTIC".into(), "false".into())],
        ..ServerOptions::default()
    });
    let rrn = vec![(RRN.to_owned(), "900101-1234567".to_owned())];
    add(
        &server,
        &P {
            other_ids: rrn.clone(),
            ..patient(H1, "K1", ("김", "민준"), None, "19900101", "M")
        },
    );
    // Another hospital, another spelling, the same RRN (without the hyphen): the same person.
    add(
        &server,
        &P {
            other_ids: vec![(RRN.to_owned(), "9001011234567".to_owned())],
            ..patient(H2, "K2", ("김", "민존"), None, "19900101", "M")
        },
    );
    let a = pix(&server, H1, "K1", &[H2]);
    assert!(a.has_id(0, H2, "K2"), "{}", a.text);

    // Never in clear: not in the record columns, not in the audit trail.
    assert_eq!(
        count(
            &server,
            "SELECT count(*) AS n FROM mpi_records WHERE national_id_hmac IS NOT NULL AND national_id_mask = '900101-1******' AND position('1234567' in encode(national_id_enc, 'escape')) = 0"
        ),
        2
    );
    assert_eq!(
        count(
            &server,
            "SELECT count(*) AS n FROM mpi_records r WHERE r::text LIKE '%1234567%'"
        ),
        0
    );
    assert_eq!(
        count(
            &server,
            "SELECT count(*) AS n FROM ledger_payloads p WHERE position('1234567' in encode(p.payload, 'escape')) > 0"
        ),
        0,
        "the audit trail holds no national id"
    );
    // Masked in the API.
    let (status, list) = api(&server, "GET", "/api/patients?family=Gim", None);
    assert_eq!(status, 200);
    let text = list.to_string();
    assert!(text.contains("900101-1******"), "{text}");
    assert!(!text.contains("1234567"), "{text}");

    // PDQ by the national id finds the person.
    let q = format!(
        r#"{}<controlActProcess classCode="CACT" moodCode="EVN"><code code="PRPA_TE201305UV02" codeSystem="2.16.840.1.113883.1.6"/><queryByParameter><queryId root="1.2.410.200.9.8" extension="rrn"/><statusCode code="new"/><responseModalityCode code="R"/><responsePriorityCode code="I"/><parameterList><livingSubjectId><value root="{RRN}" extension="900101-1234567"/><semanticsText>LivingSubject.id</semanticsText></livingSubjectId></parameterList></queryByParameter></controlActProcess></PRPA_IN201305UV02>"#,
        head("PRPA_IN201305UV02")
    );
    let a = answer(post(&server, "/pdq", PDQ_QUERY, &q));
    assert_eq!(a.query_response.as_deref(), Some("OK"), "{}", a.text);
    assert!(
        a.has_id(0, H1, "K1") && a.has_id(0, H2, "K2"),
        "{:?}",
        a.patients
    );
    assert!(
        !a.text.contains("1234567"),
        "the echoed query carries the masked id: {}",
        a.text
    );
    assert_eq!(
        count(
            &server,
            "SELECT count(*) AS n FROM ledger_payloads p WHERE position('1234567' in encode(p.payload, 'escape')) > 0"
        ),
        0,
        "the PDQ audit event holds no national id"
    );

    // A national id is never a patient id.
    let r = feed(
        &server,
        ADD,
        "PRPA_IN201301UV02",
        &patient(RRN, "8001011234567", ("이", "서연"), None, "19800101", "F"),
        None,
    );
    assert_eq!(r.ack, "AE", "{}", r.text);
    assert!(
        r.details[0].1.contains("national identifier"),
        "{:?}",
        r.details
    );
}

// ---------------------------------------------------------------------------------------------
// HL7 v2 over MLLP (ITI-8, ITI-9), driven by python-hl7's MLLP client
// ---------------------------------------------------------------------------------------------

/// One answer as python-hl7 parsed it.
#[derive(Debug, serde::Deserialize)]
struct V2Answer {
    msa: String,
    control: String,
    qak: String,
    err: String,
    err_text: String,
    ids: Vec<(String, String)>,
}

fn mllp_send(addr: &str, messages: &[String]) -> Vec<V2Answer> {
    let (host, port) = addr.rsplit_once(':').unwrap();
    let mut child = std::process::Command::new("python3")
        .arg(format!("{}/tests/mllp/send.py", env!("CARGO_MANIFEST_DIR")))
        .args([host, port])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(messages.join("\n\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn msh(kind: &str, control: &str) -> String {
    format!("MSH|^~\\&|HIS|HOSP_A|HIEHUB|REGION|20261123101500||{kind}|{control}|P|2.5")
}

fn adt(event: &str, control: &str, pid3: &str, extra: &str) -> String {
    format!(
        "{}\nEVN|{event}|20261123101500\nPID|||{pid3}||KWAK^JIHO~곽^지호||19750203|F|||7 Jongno^^Seoul^^03154^KOR||^PRN^PH^^^^^^^^^+82-2-555-0199{extra}",
        msh(&format!("ADT^{event}^ADT_A01"), control)
    )
}

fn qbp(control: &str, tag: &str, qpd3: &str, qpd4: &str) -> String {
    format!(
        "{}\nQPD|IHE PIX Query|{tag}|{qpd3}|{qpd4}\nRCP|I",
        msh("QBP^Q23^QBP_Q21", control)
    )
}

fn qbp22(control: &str, tag: &str, params: &str, domains: &str) -> String {
    format!(
        "{}\nQPD|IHE PDQ Query|{tag}|{params}|||||{domains}\nRCP|I",
        msh("QBP^Q22^QBP_Q21", control)
    )
}

/// ITI-8 feeds (A01 with two domains' ids, A08, A40 merge), ITI-9 and ITI-21 queries over MLLP
/// from python-hl7: cross-references as the v3 side sees them, the merge followed, demographics
/// found, AE 204 for an unknown domain or patient, AR for a message that does not parse; every
/// message audited.
#[test]
fn hl7v2_mllp_feeds_and_pix_queries_from_python_hl7() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let server = Server::start_with(ServerOptions {
        env: vec![("HIEHUB_MLLP_ADDR".into(), addr.clone())],
        ..ServerOptions::default()
    });
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let (x, y, z) = (
        format!("X{}", &tag[..8]),
        format!("Y{}", &tag[..8]),
        format!("Z{}", &tag[..8]),
    );
    let cx = |id: &str, root: &str| format!("{id}^^^&{root}&ISO");
    let answers = mllp_send(
        &addr,
        &[
            adt("A01", "M1", &format!("{}~{}", cx(&x, H1), cx(&y, H2)), ""),
            qbp("M2", "Q1", &cx(&x, H1), &format!("^^^&{H2}&ISO")),
            adt("A08", "M3", &cx(&x, H1), ""),
            adt("A04", "M4", &cx(&z, H1), ""),
            adt("A40", "M5", &cx(&x, H1), &format!("\nMRG|{}", cx(&z, H1))),
            qbp("M6", "Q2", &cx(&z, H1), &format!("^^^&{H2}&ISO")),
            qbp("M7", "Q3", &cx("NOBODY", H1), ""),
            qbp("M8", "Q4", &cx(&x, H1), "^^^&1.2.999.404&ISO"),
            adt("A01", "M9", &cx(&x, "not-an-oid"), ""),
            "HELLO|world".into(),
            qbp22(
                "M11",
                "P1",
                "@PID.5.1.1^KWAK~@PID.5.2^JIHO~@PID.7.1^19750203",
                "",
            ),
            qbp22("M12", "P2", "@PID.99^x", ""),
        ],
    );
    assert_eq!(answers.len(), 12, "{answers:?}");
    let a = &answers;
    for (i, want) in ["AA", "AA", "AA", "AA", "AA", "AA", "AE", "AE", "AE", "AR"]
        .iter()
        .enumerate()
    {
        assert_eq!(a[i].msa, *want, "answer {}: {:?}", i + 1, a[i]);
    }
    assert_eq!(a[0].control, "M1");
    // The PIX query finds the other domain's id.
    assert_eq!(a[1].qak, "OK");
    assert_eq!(a[1].ids, [(y.clone(), H2.to_owned())]);
    // After the merge, the merged-away id belongs to the survivor's person.
    assert_eq!(a[5].qak, "OK", "{:?}", a[5]);
    assert_eq!(a[5].ids, [(y.clone(), H2.to_owned())]);
    // Unknown patient, unknown domain, a domain that is no OID, garbage.
    assert_eq!((a[6].qak.as_str(), a[6].err.as_str()), ("AE", "204"));
    assert_eq!((a[7].qak.as_str(), a[7].err.as_str()), ("AE", "204"));
    assert!(a[7].err_text.contains("1.2.999.404"), "{:?}", a[7]);
    assert_eq!(a[8].err, "204");
    assert!(a[8].err_text.contains("not-an-oid"), "{:?}", a[8]);
    assert!(a[9].err_text.contains("MSH"), "{:?}", a[9]);
    // PDQ over v2: the person, with its ids in both domains; an unknown parameter refused.
    assert_eq!(
        (a[10].msa.as_str(), a[10].qak.as_str()),
        ("AA", "OK"),
        "{:?}",
        a[10]
    );
    assert!(
        a[10].ids.contains(&(x.clone(), H1.to_owned())),
        "{:?}",
        a[10]
    );
    assert!(
        a[10].ids.contains(&(y.clone(), H2.to_owned())),
        "{:?}",
        a[10]
    );
    assert_eq!(
        (a[11].msa.as_str(), a[11].err.as_str()),
        ("AE", "102"),
        "{:?}",
        a[11]
    );

    // The v3 side sees the same cross-references.
    let v3 = pix(&server, H1, &x, &[H2]);
    assert!(v3.has_id(0, H2, &y), "{}", v3.text);

    // Every message is in the audit trail: feeds as ITI-8, queries as ITI-9.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let feeds = audit_of(&server, "ITI-8");
        let queries = audit_of(&server, "ITI-9");
        let pdq = audit_of(&server, "ITI-21");
        if (feeds.len() == 6 && queries.len() == 4 && pdq.len() == 2) || Instant::now() > deadline {
            assert_eq!(
                (feeds.len(), queries.len(), pdq.len()),
                (6, 4, 2),
                "{feeds:?} {queries:?}"
            );
            assert!(
                feeds
                    .iter()
                    .any(|e| e.patient_ids.contains(&format!("{z}^^^&{H1}&ISO"))),
                "{feeds:?}"
            );
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
