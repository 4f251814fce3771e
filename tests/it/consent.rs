//! BPPC patient consent end to end (issue 6): consent documents through ITI-41, the opt-in and
//! opt-out test domains of `tests/data/consent/domains/`, requesters over HTTPS with their own
//! client certificates (issued by the server's development CA), ITI-18 and ITI-43 filtered,
//! revocation, time windows, break-the-glass and its alert, the privacy officer's API, and a
//! property test over the real server.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Nullable, Text};
use proptest::prelude::*;

use hiehub::ebxml::{self, WireMessage};
use hiehub::xds::{
    self, Association, AssociationType, Code, DtmTime, PatientId, RegistryObjectId,
    SubmissionSetStatus, UniqueId, vocabulary as v,
};

use crate::harness::*;

const ITI18: &str = "urn:ihe:iti:2007:RegistryStoredQuery";
const ITI41: &str = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b";
const ITI43: &str = "urn:ihe:iti:2007:RetrieveDocumentSet";
const SUCCESS: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success";
const FAILURE: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure";
const APPROVED: &str = "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')";
const FIND_DOCUMENTS: &str = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d";
const GET_ASSOCIATIONS: &str = "urn:uuid:a7ae438b-4bc2-4642-93e9-be891f7bb155";
const GET_SUBMISSION_SET_AND_CONTENTS: &str = "urn:uuid:e8e3cb2c-e39c-46b9-99e4-c12f57260b83";
const GET_SUBMISSION_SETS: &str = "urn:uuid:51224314-5390-4169-9b91-b1980040715a";
const GET_RELATED_DOCUMENTS: &str = "urn:uuid:d90e5407-b356-4d91-a89f-873917b4b0e6";
const REPO: &str = xds::repository::DEFAULT_REPOSITORY_UNIQUE_ID;

const OPT_IN: &str = "1.3.6.1.4.1.21367.2006.7.108";
const OPT_OUT: &str = "1.3.6.1.4.1.21367.2006.7.106";
const HOSPITAL_A_ONLY: &str = "2.25.1001";
const LAB_ONLY: &str = "2.25.1002";
const NOTHING_RESTRICTED: &str = "2.25.1003";
const THIRTY_DAYS: &str = "2.25.1004";
const POLICY_SCHEME: &str = "1.3.6.1.4.1.21367.2017.3";
const BPPC: &str = "urn:ihe:iti:bppc:2007";
const BPPC_SD: &str = "urn:ihe:iti:bppc-sd:2007";

// ---------------------------------------------------------------------------------------------
// The server, requesters, patients
// ---------------------------------------------------------------------------------------------

fn domain_dir(name: &str) -> String {
    format!(
        "{}/tests/data/consent/domains/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A server with HTTPS and the test domain `name` (`consent-opt-in` / `consent-opt-out`).
fn start(name: &str) -> Server {
    Server::start_with(ServerOptions {
        https: true,
        extra_args: vec!["--affinity-domain".into(), domain_dir(name)],
        ..ServerOptions::default()
    })
}

/// A requesting node of organisation `org`: an HTTPS client with its own client certificate.
struct Node {
    client: reqwest::blocking::Client,
    base: String,
    org: String,
}

fn node(server: &Server, org: &str) -> Node {
    let pki = hiehub::tls::DevPki::new(&server.data_dir.path().join("certs"));
    let (cert, key) = pki
        .issue_client(&format!("xds-consumer.{}", org.replace(' ', "-")), org)
        .unwrap();
    let ca = std::fs::read(pki.ca_cert()).unwrap();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .identity(reqwest::Identity::from_pkcs8_pem(&cert, &key).unwrap())
        .build()
        .unwrap();
    Node {
        client,
        base: server.https.clone().unwrap(),
        org: org.to_owned(),
    }
}

/// How a request asks for break-the-glass.
#[derive(Clone, Copy, PartialEq)]
enum Glass {
    No,
    Header,
    XuaEmergency,
}

fn header_blocks(glass: Glass) -> &'static str {
    match glass {
        Glass::No => "",
        Glass::Header => {
            "<hh:BreakTheGlass xmlns:hh=\"urn:hiehub:consent:2026\">patient unconscious in the emergency department</hh:BreakTheGlass>"
        }
        Glass::XuaEmergency => concat!(
            "<wsse:Security xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\">",
            "<saml2:Assertion xmlns:saml2=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_a1\" IssueInstant=\"2026-11-23T00:00:00Z\" Version=\"2.0\">",
            "<saml2:Issuer>urn:example:idp</saml2:Issuer><saml2:AttributeStatement>",
            "<saml2:Attribute Name=\"urn:oasis:names:tc:xspa:1.0:subject:subject-id\"><saml2:AttributeValue>Dr. Emergency</saml2:AttributeValue></saml2:Attribute>",
            "<saml2:Attribute Name=\"urn:oasis:names:tc:xspa:1.0:subject:purposeofuse\"><saml2:AttributeValue>",
            "<PurposeOfUse xmlns=\"urn:hl7-org:v3\" code=\"EMERGENCY\" codeSystem=\"2.16.840.1.113883.3.18.7.1\" displayName=\"Emergency Treatment\"/>",
            "</saml2:AttributeValue></saml2:Attribute></saml2:AttributeStatement></saml2:Assertion></wsse:Security>"
        ),
    }
}

fn soap(action: &str, headers: &str, body: &str) -> String {
    let id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:a=\"http://www.w3.org/2005/08/addressing\">\
<s:Header><a:Action s:mustUnderstand=\"1\">{action}</a:Action><a:MessageID>{id}</a:MessageID>\
<a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo>{headers}</s:Header>\
<s:Body>{body}</s:Body></s:Envelope>"
    )
}

impl Node {
    fn post(
        &self,
        path: &str,
        action: &str,
        glass: Glass,
        body: &str,
    ) -> reqwest::blocking::Response {
        let resp = self.post_headers(path, action, header_blocks(glass), body);
        assert_eq!(resp.status().as_u16(), 200, "{}", self.org);
        resp
    }

    /// A SOAP request with these header blocks, whatever the answer's status.
    fn post_headers(
        &self,
        path: &str,
        action: &str,
        headers: &str,
        body: &str,
    ) -> reqwest::blocking::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header("content-type", SOAP_CT)
            .body(soap(action, headers, body))
            .send()
            .unwrap()
    }

    /// ITI-41; returns (status, response text).
    fn provide(&self, s: &xds::Submission) -> (String, String) {
        let body = xds::to_ebxml::provide_and_register_request(s)
            .to_xml(ebxml::EncodeOptions::INLINE)
            .xml;
        let text = self
            .post("/xds/repository", ITI41, Glass::No, &body)
            .text()
            .unwrap();
        let status = if text.contains(&format!("status=\"{SUCCESS}\"")) {
            SUCCESS
        } else {
            FAILURE
        };
        (status.to_owned(), text)
    }

    fn provide_ok(&self, s: &xds::Submission) {
        let (status, text) = self.provide(s);
        assert!(
            status == SUCCESS && !text.contains("ErrorSeverityType:Error"),
            "{text}"
        );
    }

    fn query(
        &self,
        id: &str,
        return_type: &str,
        params: &[(&str, &[&str])],
        glass: Glass,
    ) -> Answer {
        let body = query_body(id, return_type, params);
        decode_answer(
            self.post("/xds/registry", ITI18, glass, &body)
                .text()
                .unwrap(),
        )
    }

    /// FindDocuments (Approved) for `patient`, LeafClass: the uniqueIds returned.
    fn find(&self, patient: &str, glass: Glass) -> BTreeSet<String> {
        let a = self.query(
            FIND_DOCUMENTS,
            "LeafClass",
            &[
                ("$XDSDocumentEntryPatientId", &[&quoted(patient)]),
                ("$XDSDocumentEntryStatus", &[APPROVED]),
            ],
            glass,
        );
        assert_eq!(a.status, SUCCESS, "{}", a.text);
        a.documents()
    }

    /// ITI-43 for `unique_ids`: the uniqueIds returned and the error codes.
    fn retrieve(&self, unique_ids: &[&str], glass: Glass) -> (BTreeSet<String>, Vec<String>) {
        let body = ebxml::RetrieveDocumentSetRequest {
            requests: unique_ids
                .iter()
                .map(|d| ebxml::DocumentRequest {
                    home_community_id: None,
                    repository_unique_id: REPO.to_owned(),
                    document_unique_id: d.to_string(),
                })
                .collect(),
        }
        .to_xml(ebxml::EncodeOptions::INLINE)
        .xml;
        let resp = self.post("/xds/repository", ITI43, glass, &body);
        let ct = resp
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let raw = resp.bytes().unwrap();
        let parts =
            hiehub::soap::mtom::decode(&ct, &raw, hiehub::soap::mtom::Limits::default()).unwrap();
        let mut root =
            hiehub::xml::parse(&parts.root.body, &hiehub::xml::Limits::default()).unwrap();
        hiehub::soap::envelope::resolve_xop(&mut root, &parts).unwrap();
        let body = root
            .child(hiehub::soap::SOAP12_NS, "Body")
            .and_then(|b| b.elements().next())
            .unwrap();
        let r = ebxml::RetrieveDocumentSetResponse::decode(body).unwrap();
        let codes = r
            .response
            .errors
            .iter()
            .flat_map(|l| &l.errors)
            .map(|e| e.error_code.clone())
            .collect();
        (
            r.documents
                .into_iter()
                .map(|d| d.document_unique_id)
                .collect(),
            codes,
        )
    }
}

struct Answer {
    status: String,
    codes: Vec<String>,
    objects: Vec<ebxml::Identifiable>,
    text: String,
}

impl Answer {
    fn documents(&self) -> BTreeSet<String> {
        let list = ebxml::RegistryObjectList {
            objects: self.objects.clone(),
        };
        list.extrinsic_objects()
            .flat_map(|e| &e.object.external_identifiers)
            .filter(|x| x.identification_scheme == v::DOCUMENT_ENTRY_UNIQUE_ID)
            .map(|x| x.value.clone())
            .collect()
    }

    fn ids(&self) -> BTreeSet<String> {
        self.objects.iter().map(|o| o.id().to_owned()).collect()
    }

    /// Every id the answer mentions: objects and association ends.
    fn mentioned(&self) -> BTreeSet<String> {
        let mut out = self.ids();
        for o in &self.objects {
            if let ebxml::Identifiable::Association(a) = o {
                out.insert(a.source_object.clone());
                out.insert(a.target_object.clone());
            }
        }
        out
    }
}

/// An ITI-18 AdhocQueryRequest.
fn query_body(id: &str, return_type: &str, params: &[(&str, &[&str])]) -> String {
    let request = ebxml::AdhocQueryRequest {
        response_option: ebxml::ResponseOption {
            return_type: ebxml::ReturnType::parse(return_type),
            return_composed_objects: Some(true),
        },
        adhoc_query: ebxml::AdhocQuery {
            object: ebxml::RegistryObject {
                slots: params
                    .iter()
                    .map(|(n, vals)| ebxml::Slot::new(*n, vals.iter().copied()))
                    .collect(),
                ..ebxml::RegistryObject::new(id)
            },
            query_expression: None,
        },
        ..ebxml::AdhocQueryRequest::default()
    };
    request.to_xml(ebxml::EncodeOptions::INLINE).xml
}

fn decode_answer(text: String) -> Answer {
    let root = hiehub::xml::parse(text.as_bytes(), &hiehub::xml::Limits::default()).unwrap();
    let body = root
        .child(hiehub::soap::SOAP12_NS, "Body")
        .and_then(|b| b.elements().next())
        .unwrap();
    let r = ebxml::AdhocQueryResponse::decode(body).unwrap_or_else(|e| panic!("{e}: {text}"));
    Answer {
        status: r.response.status.as_str().to_owned(),
        codes: r
            .response
            .errors
            .iter()
            .flat_map(|l| &l.errors)
            .map(|e| e.error_code.clone())
            .collect(),
        objects: r.objects.objects,
        text,
    }
}

fn quoted(s: &str) -> String {
    format!("'{s}'")
}

fn fresh_oid() -> String {
    format!(
        "1.2.826.0.1.3680043.2.1125.{}",
        uuid::Uuid::new_v4().as_u128() % 1_000_000_000_000
    )
}

/// A fresh patient known to the registry.
fn patient(server: &Server) -> String {
    let id = format!("C{}", uuid::Uuid::new_v4().simple());
    let cx = format!("{}^^^&1.2.826.0.1.3680043.2.1125.1&ISO", &id[..16]);
    let p = PatientId::parse(&cx).unwrap();
    let mut conn = connect(server.db_url.as_deref().unwrap());
    diesel::sql_query("INSERT INTO patients (assigning_authority, patient_id) VALUES ($1, $2)")
        .bind::<Text, _>(p.authority.as_str())
        .bind::<Text, _>(&p.id)
        .execute(&mut conn)
        .unwrap();
    cx
}

// ---------------------------------------------------------------------------------------------
// Submissions
// ---------------------------------------------------------------------------------------------

const INLINE_DIR: &str = "nist/xds/valid-iti41-multipart-inline-base64";

fn template_submission() -> xds::Submission {
    let testplan = std::fs::read_to_string(fixture(&format!("{INLINE_DIR}/testplan.xml"))).unwrap();
    let ct = testplan
        .lines()
        .find_map(|l| l.trim().strip_prefix("Content-Type:").map(str::trim))
        .unwrap()
        .to_owned();
    let body = std::fs::read(fixture(&format!("{INLINE_DIR}/body.txt"))).unwrap();
    let parts =
        hiehub::soap::mtom::decode(&ct, &body, hiehub::soap::mtom::Limits::default()).unwrap();
    let root = hiehub::xml::parse(&parts.root.body, &hiehub::xml::Limits::default()).unwrap();
    let body = root
        .child(hiehub::soap::SOAP12_NS, "Body")
        .and_then(|b| b.elements().next())
        .unwrap();
    let req = ebxml::ProvideAndRegisterDocumentSetRequest::decode(body).unwrap();
    let (sub, problems) = xds::submission_from_provide_and_register(&req);
    assert!(!xds::has_errors(&problems), "{problems:?}");
    sub.unwrap()
}

/// One document to submit.
#[derive(Clone, Debug)]
struct Doc {
    unique_id: String,
    class: String,
    confidentiality: String,
}

fn doc(class: &str, confidentiality: &str) -> Doc {
    Doc {
        unique_id: fresh_oid(),
        class: class.to_owned(),
        confidentiality: confidentiality.to_owned(),
    }
}

/// A submission for `patient` with `docs`.
fn submission(patient: &str, docs: &[Doc]) -> xds::Submission {
    let mut s = template_submission();
    let pid = PatientId::parse(patient).unwrap();
    let base_doc = s.documents[0].clone();
    let base_assoc = s
        .associations
        .iter()
        .find(|a| a.association_type == AssociationType::HasMember)
        .unwrap()
        .clone();
    s.documents.clear();
    s.contents.clear();
    s.associations.clear();
    s.submission_set.patient_id = pid.clone();
    s.submission_set.unique_id = xds::Oid::parse(&fresh_oid()).unwrap();
    for (i, d) in docs.iter().enumerate() {
        let id = RegistryObjectId::parse(&format!("Document{:02}", i + 1)).unwrap();
        let mut e = base_doc.clone();
        e.entry_uuid = id.clone();
        e.unique_id = UniqueId::parse(&d.unique_id).unwrap();
        e.patient_id = pid.clone();
        e.class_code = Code::new(d.class.as_str(), "1.2.3.99", d.class.as_str());
        e.confidentiality_codes = vec![Code::new(
            d.confidentiality.as_str(),
            "2.16.840.1.113883.5.25",
            d.confidentiality.as_str(),
        )];
        e.hash = None;
        e.size = None;
        s.documents.push(e);
        s.contents.push(xds::DocumentContent {
            entry_uuid: id.clone(),
            bytes: Bytes::from(format!("content of {}", d.unique_id)),
        });
        let mut a = base_assoc.clone();
        a.entry_uuid = RegistryObjectId::parse(&format!("HasMember{:02}", i + 1)).unwrap();
        a.target = id;
        a.submission_set_status = Some(SubmissionSetStatus::Original);
        s.associations.push(a);
    }
    s
}

fn dtm(t: NaiveDateTime) -> String {
    t.format("%Y%m%d%H%M%S").to_string()
}

/// A consent to submit.
struct ConsentDoc<'a> {
    file: &'a str,
    format: &'a str,
    policies: &'a [&'a str],
    start: NaiveDateTime,
    stop: Option<NaiveDateTime>,
    /// entryUUID of a registered document this one replaces (RPLC).
    replaces: Option<String>,
}

fn consent<'a>(policies: &'a [&'a str]) -> ConsentDoc<'a> {
    ConsentDoc {
        file: "opt-in.xml",
        format: BPPC,
        policies,
        start: Utc::now().naive_utc() - chrono::Duration::days(1),
        stop: None,
        replaces: None,
    }
}

/// The consent's CDA from `tests/data/consent/<file>` with policy and window filled in.
fn consent_cda(c: &ConsentDoc) -> String {
    let text = std::fs::read_to_string(format!(
        "{}/tests/data/consent/{}",
        env!("CARGO_MANIFEST_DIR"),
        c.file
    ))
    .unwrap();
    let high = c
        .stop
        .map(|s| format!("<high value=\"{}+0000\"/>", dtm(s)))
        .unwrap_or_default();
    text.replace("{{POLICY}}", c.policies.first().copied().unwrap_or("none"))
        .replace("{{LOW}}", &format!("{}+0000", dtm(c.start)))
        .replace("{{HIGH}}", &high)
}

/// A submission of one consent for `patient`; returns it and the consent's uniqueId.
fn consent_submission(patient: &str, c: &ConsentDoc) -> (xds::Submission, String) {
    let d = doc("CONSENT", "N");
    let mut s = submission(patient, std::slice::from_ref(&d));
    let e = &mut s.documents[0];
    e.format_code = Code::new(c.format, "1.3.6.1.4.1.19376.1.2.3", "BPPC");
    e.mime_type = "text/xml".into();
    e.event_codes = c
        .policies
        .iter()
        .map(|p| Code::new(*p, POLICY_SCHEME, "consent policy"))
        .collect();
    e.service_start_time = Some(DtmTime::parse(&dtm(c.start)).unwrap());
    e.service_stop_time = c.stop.map(|t| DtmTime::parse(&dtm(t)).unwrap());
    // The CDA names every policy of the eventCodeList in its own serviceEvent.
    let mut cda = consent_cda(c);
    for extra in c.policies.iter().skip(1) {
        let start = cda.find("  <documentationOf>").unwrap();
        let end = cda.find("</documentationOf>").unwrap() + "</documentationOf>".len();
        let block = cda[start..end].replacen(c.policies[0], extra, 1);
        cda.insert_str(end, &format!("\n{block}"));
    }
    s.contents[0].bytes = Bytes::from(cda);
    if let Some(target) = &c.replaces {
        s.associations.push(Association {
            entry_uuid: RegistryObjectId::parse("rplc-consent").unwrap(),
            association_type: AssociationType::Rplc,
            source: RegistryObjectId::parse("Document01").unwrap(),
            target: RegistryObjectId::parse(target).unwrap(),
            availability_status: None,
            submission_set_status: None,
            extra_slots: Vec::new(),
        });
    }
    (s, d.unique_id)
}

/// Registers a consent (asserting success); returns its uniqueId.
fn give_consent(n: &Node, patient: &str, c: &ConsentDoc) -> String {
    let (s, uid) = consent_submission(patient, c);
    n.provide_ok(&s);
    uid
}

fn entry_uuid(server: &Server, unique_id: &str) -> String {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        entry_uuid: String,
    }
    let mut conn = connect(server.db_url.as_deref().unwrap());
    diesel::sql_query("SELECT entry_uuid FROM xds_document_entries WHERE unique_id = $1")
        .bind::<Text, _>(unique_id)
        .get_result::<Row>(&mut conn)
        .unwrap()
        .entry_uuid
}

#[derive(QueryableByName, Debug)]
struct AuditEntry {
    #[diesel(sql_type = Nullable<Text>)]
    event_id: Option<String>,
    #[diesel(sql_type = Array<Text>)]
    event_types: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    patient_ids: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    object_ids: Vec<String>,
    #[diesel(sql_type = Nullable<Text>)]
    sender: Option<String>,
    #[diesel(sql_type = diesel::sql_types::SmallInt)]
    kind: i16,
}

/// Every audit index row, with its ledger entry kind, in ledger order.
fn audit_all(server: &Server) -> Vec<AuditEntry> {
    let mut conn = connect(server.db_url.as_deref().unwrap());
    diesel::sql_query(
        "SELECT a.event_id, a.event_types, a.patient_ids, a.object_ids, a.sender, e.kind \
         FROM audit_events a JOIN ledger_entries e ON e.seq = a.seq ORDER BY a.seq",
    )
    .load::<AuditEntry>(&mut conn)
    .unwrap()
}

/// The audit index rows whose first event type is `code`, with their ledger entry kind.
fn audit_of(server: &Server, code: &str) -> Vec<AuditEntry> {
    audit_all(server)
        .into_iter()
        .filter(|e| e.event_types.iter().any(|t| t == code))
        .collect()
}

/// `audit_of`, once the audit index holds `n` such rows (it is written just after the ledger
/// commit that the answer waited for); fails after 5 s with what it found.
fn audit_of_n(server: &Server, code: &str, n: usize) -> Vec<AuditEntry> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let found = audit_of(server, code);
        if found.len() >= n || std::time::Instant::now() > deadline {
            assert_eq!(
                found.len(),
                n,
                "{code}: {found:?}; all: {:?}",
                audit_all(server)
                    .into_iter()
                    .map(|e| e.event_types)
                    .collect::<Vec<_>>()
            );
            return found;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn set<const N: usize>(items: [&String; N]) -> BTreeSet<String> {
    items.into_iter().cloned().collect()
}

// ---------------------------------------------------------------------------------------------
// Consent documents
// ---------------------------------------------------------------------------------------------

#[test]
fn bppc_samples_are_accepted_or_rejected_as_they_say() {
    let server = start("consent-opt-out");
    let n = node(&server, "Hospital A");
    // (file, formatCode, expected: None = accepted, Some(words in the reason))
    let cases: &[(&str, &str, Option<&str>)] = &[
        ("opt-in.xml", BPPC, None),
        ("scanned.xml", BPPC_SD, None),
        (
            "wrong-template.xml",
            BPPC,
            Some("the BPPC templateId 1.3.6.1.4.1.19376.1.5.3.1.1.7 is missing"),
        ),
        ("no-service-event.xml", BPPC, Some("serviceEvent")),
        ("not-cda.xml", BPPC, Some("not a CDA ClinicalDocument")),
        (
            "no-start.xml",
            BPPC,
            Some("low: the start of the consent is required"),
        ),
        ("opt-in.xml", BPPC_SD, Some("1.3.6.1.4.1.19376.1.2.20")),
    ];
    for (file, format, expected) in cases {
        let p = patient(&server);
        let (s, uid) = consent_submission(
            &p,
            &ConsentDoc {
                file,
                format,
                ..consent(&[OPT_IN])
            },
        );
        let (status, text) = n.provide(&s);
        match expected {
            None => {
                assert_eq!(status, SUCCESS, "{file} as {format}: {text}");
                assert!(!text.contains("ErrorSeverityType:Error"), "{text}");
            }
            Some(words) => {
                assert_eq!(
                    status, FAILURE,
                    "{file} as {format} must be rejected: {text}"
                );
                assert!(text.contains("XDSRegistryMetadataError"), "{text}");
                assert!(text.contains(words), "{file}: '{words}' expected in {text}");
                // Nothing of the rejected submission is stored.
                let mut conn = connect(server.db_url.as_deref().unwrap());
                #[derive(QueryableByName)]
                struct N {
                    #[diesel(sql_type = diesel::sql_types::BigInt)]
                    n: i64,
                }
                let n: N = diesel::sql_query(
                    "SELECT count(*) AS n FROM xds_document_entries WHERE unique_id = $1",
                )
                .bind::<Text, _>(&uid)
                .get_result(&mut conn)
                .unwrap();
                assert_eq!(n.n, 0);
            }
        }
    }

    // Metadata that disagrees with the document: the window, and a policy the CDA does not
    // acknowledge; and an eventCodeList naming no policy of the domain.
    let p = patient(&server);
    let (mut s, _) = consent_submission(&p, &consent(&[OPT_IN]));
    s.documents[0].service_start_time = Some(DtmTime::parse("20200101").unwrap());
    let (status, text) = n.provide(&s);
    assert_eq!(status, FAILURE, "{text}");
    assert!(text.contains("serviceStartTime"), "{text}");

    let (mut s, _) = consent_submission(&p, &consent(&[OPT_IN]));
    s.documents[0]
        .event_codes
        .push(Code::new(OPT_OUT, POLICY_SCHEME, "OPT-OUT"));
    let (status, text) = n.provide(&s);
    assert_eq!(status, FAILURE, "{text}");
    assert!(text.contains(&format!("names policy {OPT_OUT}")), "{text}");

    let (s, _) = consent_submission(&p, &consent(&["1.2.3.4.5.6"]));
    let (status, text) = n.provide(&s);
    assert_eq!(status, FAILURE, "{text}");
    assert!(text.contains("names no consent policy"), "{text}");

    // The NIST sample with classCode "Consent" but formatCode ScanPDF is an ordinary document:
    // it is not checked as a consent and decides nothing.
    let p = patient(&server);
    let mut s = submission(&p, &[doc("Consent", "N")]);
    s.documents[0].format_code =
        Code::new("ScanPDF/IHE 1.x", "Connect-a-thon formatCodes", "ScanPDF");
    n.provide_ok(&s);

    // Each accepted consent is a ConsentRecorded event (ledger kind ConsentEvent).
    std::thread::sleep(Duration::from_millis(200));
    let recorded = audit_of(&server, "ConsentRecorded");
    assert_eq!(recorded.len(), 2, "{recorded:?}");
    assert!(
        recorded
            .iter()
            .all(|e| e.kind == 8 && e.event_id.as_deref() == Some("110110"))
    );
    assert!(
        recorded
            .iter()
            .all(|e| e.sender.as_deref() == Some("CN=xds-consumer.Hospital-A,O=Hospital A"))
    );
}

// ---------------------------------------------------------------------------------------------
// Opt-in and opt-out domains, revocation
// ---------------------------------------------------------------------------------------------

#[test]
fn opt_in_domain_shares_only_with_consent_and_revocation_takes_effect_next_request() {
    let server = start("consent-opt-in");
    let a = node(&server, "Hospital A");
    let b = node(&server, "Hospital B");
    let p = patient(&server);
    let (d1, d2) = (doc("LAB", "N"), doc("RAD", "N"));
    a.provide_ok(&submission(&p, &[d1.clone(), d2.clone()]));
    let both = set([&d1.unique_id, &d2.unique_id]);

    // No consent on file: nothing, to anyone; a retrieve looks like an unknown document.
    assert!(a.find(&p, Glass::No).is_empty());
    let (docs, codes) = a.retrieve(&[&d1.unique_id], Glass::No);
    assert!(docs.is_empty());
    assert_eq!(codes, ["XDSDocumentUniqueIdError"]);

    // Consent limited to Hospital A.
    let c1 = give_consent(&a, &p, &consent(&[HOSPITAL_A_ONLY]));
    let mut expected = both.clone();
    expected.insert(c1.clone());
    assert_eq!(a.find(&p, Glass::No), expected);
    assert!(b.find(&p, Glass::No).is_empty());
    assert_eq!(
        a.retrieve(&[&d1.unique_id, &d2.unique_id], Glass::No).0,
        both
    );
    let (docs, codes) = b.retrieve(&[&d1.unique_id, &d2.unique_id], Glass::No);
    assert!(docs.is_empty());
    assert_eq!(
        codes,
        ["XDSDocumentUniqueIdError", "XDSDocumentUniqueIdError"]
    );

    // Revocation by a newer consent (OPT-OUT): the very next query sees nothing.
    give_consent(&a, &p, &consent(&[OPT_OUT]));
    assert!(a.find(&p, Glass::No).is_empty());
    assert!(a.retrieve(&[&d1.unique_id], Glass::No).0.is_empty());

    // A consent replacing the OPT-OUT (RPLC deprecates it): OPT-IN for everyone.
    let out_uid = {
        let mut conn = connect(server.db_url.as_deref().unwrap());
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            unique_id: String,
        }
        diesel::sql_query(
            "SELECT unique_id FROM xds_document_entries WHERE patient_id = $1 AND $2 = ANY(event_codes)",
        )
        .bind::<Text, _>(&p)
        .bind::<Text, _>(format!("{OPT_OUT}^^^{POLICY_SCHEME}"))
        .get_result::<Row>(&mut conn)
        .unwrap()
        .unique_id
    };
    let c3 = give_consent(
        &a,
        &p,
        &ConsentDoc {
            replaces: Some(entry_uuid(&server, &out_uid)),
            ..consent(&[OPT_IN])
        },
    );
    let seen = b.find(&p, Glass::No);
    assert!(seen.is_superset(&both) && seen.contains(&c3), "{seen:?}");
    assert!(
        !seen.contains(&out_uid),
        "the deprecated consent is not Approved"
    );

    // Deprecating the consent in force (as RPLC or ITI-57 would) revokes it for the next
    // request; the older consent (Hospital A only) is in force again.
    let mut conn = connect(server.db_url.as_deref().unwrap());
    diesel::sql_query(
        "UPDATE xds_document_entries SET status = 'urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated' WHERE unique_id = $1",
    )
    .bind::<Text, _>(&c3)
    .execute(&mut conn)
    .unwrap();
    assert!(b.find(&p, Glass::No).is_empty());
    assert!(a.find(&p, Glass::No).is_superset(&both));

    // The history, the consent events and the denials are on file.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(audit_of(&server, "ConsentRecorded").len(), 1);
    assert_eq!(audit_of(&server, "ConsentRevoked").len(), 1);
    assert_eq!(
        audit_of(&server, "ConsentChanged").len(),
        1,
        "the OPT-IN replacing the OPT-OUT"
    );
    assert!(!audit_of(&server, "ConsentDenied").is_empty());
}

#[test]
fn opt_out_domain_shares_until_refused_and_hides_what_policies_exclude() {
    let server = start("consent-opt-out");
    let a = node(&server, "Hospital A");
    let b = node(&server, "Hospital B");
    let p = patient(&server);
    let (lab, rad, restricted) = (doc("LAB", "N"), doc("RAD", "N"), doc("LAB", "R"));
    a.provide_ok(&submission(
        &p,
        &[lab.clone(), rad.clone(), restricted.clone()],
    ));
    let all = set([&lab.unique_id, &rad.unique_id, &restricted.unique_id]);

    // No consent: shared.
    assert_eq!(b.find(&p, Glass::No), all);

    // Laboratory reports only, and never restricted ones.
    let c = give_consent(&a, &p, &consent(&[LAB_ONLY, NOTHING_RESTRICTED]));
    assert_eq!(b.find(&p, Glass::No), set([&lab.unique_id]));
    let (docs, codes) = b.retrieve(
        &[&lab.unique_id, &rad.unique_id, &restricted.unique_id],
        Glass::No,
    );
    assert_eq!(docs, set([&lab.unique_id]));
    assert_eq!(
        codes,
        ["XDSDocumentUniqueIdError", "XDSDocumentUniqueIdError"]
    );

    // The hidden documents leave no trace: ObjectRef lists, associations and the SubmissionSet
    // contents mention only what may be seen.
    let refs = b.query(
        FIND_DOCUMENTS,
        "ObjectRef",
        &[
            ("$XDSDocumentEntryPatientId", &[&quoted(&p)]),
            ("$XDSDocumentEntryStatus", &[APPROVED]),
        ],
        Glass::No,
    );
    assert_eq!(refs.ids(), set([&entry_uuid(&server, &lab.unique_id)]));
    let hidden: BTreeSet<String> = [&rad.unique_id, &restricted.unique_id, &c]
        .iter()
        .map(|u| entry_uuid(&server, u))
        .collect();
    let set_uuid = {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            submission_set: String,
        }
        let mut conn = connect(server.db_url.as_deref().unwrap());
        diesel::sql_query("SELECT submission_set FROM xds_document_entries WHERE unique_id = $1")
            .bind::<Text, _>(&lab.unique_id)
            .get_result::<Row>(&mut conn)
            .unwrap()
            .submission_set
    };
    let contents = b.query(
        GET_SUBMISSION_SET_AND_CONTENTS,
        "LeafClass",
        &[("$XDSSubmissionSetEntryUUID", &[&quoted(&set_uuid)])],
        Glass::No,
    );
    assert_eq!(contents.status, SUCCESS, "{}", contents.text);
    assert_eq!(contents.documents(), set([&lab.unique_id]));
    assert!(
        contents.mentioned().is_disjoint(&hidden),
        "{}",
        contents.text
    );
    let hidden_list: Vec<String> = hidden.iter().map(|h| quoted(h)).collect();
    let joined = format!("({})", hidden_list.join(","));
    let assocs = b.query(
        GET_ASSOCIATIONS,
        "LeafClass",
        &[("$uuid", &[&joined])],
        Glass::No,
    );
    assert_eq!(assocs.status, SUCCESS, "{}", assocs.text);
    assert!(assocs.objects.is_empty(), "{}", assocs.text);

    // Queries about a hidden document answer as if it did not exist: its SubmissionSet, and the
    // documents related to it.
    let rad_uuid = entry_uuid(&server, &rad.unique_id);
    let lab_uuid = entry_uuid(&server, &lab.unique_id);
    let sets = b.query(
        GET_SUBMISSION_SETS,
        "LeafClass",
        &[("$uuid", &[&format!("('{rad_uuid}')")])],
        Glass::No,
    );
    assert_eq!(sets.status, SUCCESS, "{}", sets.text);
    assert!(sets.objects.is_empty(), "{}", sets.text);
    let sets = b.query(
        GET_SUBMISSION_SETS,
        "ObjectRef",
        &[("$uuid", &[&format!("('{lab_uuid}')")])],
        Glass::No,
    );
    assert!(sets.ids().contains(&set_uuid), "{}", sets.text);
    // An addendum (LAB, visible) to the hidden radiology report.
    let addendum = doc("LAB", "N");
    let mut s = submission(&p, std::slice::from_ref(&addendum));
    s.associations.push(Association {
        entry_uuid: RegistryObjectId::parse("apnd").unwrap(),
        association_type: AssociationType::Apnd,
        source: RegistryObjectId::parse("Document01").unwrap(),
        target: RegistryObjectId::parse(&rad_uuid).unwrap(),
        availability_status: None,
        submission_set_status: None,
        extra_slots: Vec::new(),
    });
    a.provide_ok(&s);
    let related = |n: &Node, uuid: &str| {
        n.query(
            GET_RELATED_DOCUMENTS,
            "LeafClass",
            &[
                ("$XDSDocumentEntryEntryUUID", &[&quoted(uuid)]),
                (
                    "$AssociationTypes",
                    &["('urn:ihe:iti:2007:AssociationType:APND')"],
                ),
            ],
            Glass::No,
        )
    };
    let addendum_uuid = entry_uuid(&server, &addendum.unique_id);
    for uuid in [&rad_uuid, &addendum_uuid] {
        let r = related(&b, uuid);
        assert_eq!(r.status, SUCCESS, "{}", r.text);
        assert!(r.objects.is_empty(), "related to {uuid}: {}", r.text);
    }
    // The consent limits every organisation alike.
    assert!(related(&a, &rad_uuid).objects.is_empty());

    // OPT-OUT: nothing at all; the patient's SubmissionSets disappear too.
    give_consent(&a, &p, &consent(&[OPT_OUT]));
    assert!(b.find(&p, Glass::No).is_empty());
    let contents = b.query(
        GET_SUBMISSION_SET_AND_CONTENTS,
        "ObjectRef",
        &[("$XDSSubmissionSetEntryUUID", &[&quoted(&set_uuid)])],
        Glass::No,
    );
    assert!(contents.objects.is_empty(), "{}", contents.text);
    assert!(contents.codes.is_empty(), "{}", contents.text);

    // Every denial is audited, naming the patient.
    std::thread::sleep(Duration::from_millis(200));
    let denied = audit_of(&server, "ConsentDenied");
    assert!(denied.len() >= 4, "{denied:?}");
    assert!(denied.iter().all(|e| e.patient_ids.contains(&p)));
    assert!(denied.iter().any(|e| e.object_ids.contains(&rad.unique_id)));
}

#[test]
fn the_result_limit_counts_visible_documents_only() {
    let server = Server::start_with(ServerOptions {
        https: true,
        extra_args: vec!["--affinity-domain".into(), domain_dir("consent-opt-out")],
        env: vec![("HIEHUB_MAX_QUERY_RESULTS".into(), "3".into())],
        ..ServerOptions::default()
    });
    let a = node(&server, "Hospital A");
    let p = patient(&server);
    let visible: Vec<Doc> = (0..2).map(|_| doc("LAB", "N")).collect();
    let hidden: Vec<Doc> = (0..5).map(|_| doc("RAD", "N")).collect();
    let mut docs = hidden.clone();
    docs.extend(visible.iter().cloned());
    a.provide_ok(&submission(&p, &docs));
    // 7 documents, 3 allowed: XDSTooManyResults would tell that hidden ones exist.
    give_consent(&a, &p, &consent(&[LAB_ONLY]));
    let found = a.find(&p, Glass::No);
    let want: BTreeSet<String> = visible.iter().map(|d| d.unique_id.clone()).collect();
    assert_eq!(found, want);
    // Without the consent the limit applies as before.
    give_consent(&a, &p, &consent(&[OPT_IN]));
    let a2 = a.query(
        FIND_DOCUMENTS,
        "ObjectRef",
        &[
            ("$XDSDocumentEntryPatientId", &[&quoted(&p)]),
            ("$XDSDocumentEntryStatus", &[APPROVED]),
        ],
        Glass::No,
    );
    assert_eq!(a2.codes, ["XDSTooManyResults"], "{}", a2.text);
}

// ---------------------------------------------------------------------------------------------
// Time windows
// ---------------------------------------------------------------------------------------------

#[test]
fn time_window_start_and_end() {
    let server = start("consent-opt-in");
    let a = node(&server, "Hospital A");
    let now = Utc::now().naive_utc();
    let day = chrono::Duration::days(1);

    // (start, stop, policy, visible now)
    let cases = [
        (now + day, None, OPT_IN, false),                // not started yet
        (now - day * 3, Some(now - day), OPT_IN, false), // ended
        (now - day, Some(now + day), OPT_IN, true),      // in force
        (now - day * 40, None, THIRTY_DAYS, false),      // the policy lapsed after 30 days
        (now - day * 10, None, THIRTY_DAYS, true),       // within its 30 days
    ];
    for (i, (start, stop, policy, visible)) in cases.into_iter().enumerate() {
        let p = patient(&server);
        let d = doc("LAB", "N");
        a.provide_ok(&submission(&p, std::slice::from_ref(&d)));
        let policies = [policy];
        give_consent(
            &a,
            &p,
            &ConsentDoc {
                start,
                stop,
                ..consent(&policies)
            },
        );
        assert_eq!(
            a.find(&p, Glass::No).contains(&d.unique_id),
            visible,
            "case {i}: window {start} .. {stop:?} under {policy}"
        );
        assert_eq!(
            !a.retrieve(&[&d.unique_id], Glass::No).0.is_empty(),
            visible,
            "case {i}"
        );
    }

    // The ends exactly, through the privacy officer's what-if: start inclusive, stop exclusive.
    let p = patient(&server);
    let start = (now - day).and_utc();
    let stop = (now + day).and_utc();
    let start_s = start.naive_utc().with_nanosecond_zero();
    let stop_s = stop.naive_utc().with_nanosecond_zero();
    give_consent(
        &a,
        &p,
        &ConsentDoc {
            start: start_s,
            stop: Some(stop_s),
            ..consent(&[OPT_IN])
        },
    );
    let ask = |at: NaiveDateTime| -> bool {
        let url = server.url(&format!(
            "/api/consents/decision?patient={}&organisation=Hospital%20A&at={}",
            urlencode(&p),
            urlencode(&at.and_utc().to_rfc3339())
        ));
        let v: serde_json::Value = client().get(url).send().unwrap().json().unwrap();
        v["decision"]["permit"].as_bool().unwrap()
    };
    let second = chrono::Duration::seconds(1);
    assert!(!ask(start_s - second));
    assert!(ask(start_s));
    assert!(ask(stop_s - second));
    assert!(!ask(stop_s));
}

trait NoNanos {
    fn with_nanosecond_zero(self) -> NaiveDateTime;
}

impl NoNanos for NaiveDateTime {
    fn with_nanosecond_zero(self) -> NaiveDateTime {
        use chrono::Timelike;
        self.with_nanosecond(0).unwrap()
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Break-the-glass
// ---------------------------------------------------------------------------------------------

#[test]
fn break_the_glass_returns_the_documents_and_writes_the_alert() {
    let server = start("consent-opt-in");
    let a = node(&server, "Hospital A");
    let er = node(&server, "Emergency Clinic");
    let p = patient(&server);
    let d = doc("RAD", "R");
    a.provide_ok(&submission(&p, std::slice::from_ref(&d)));
    give_consent(&a, &p, &consent(&[OPT_OUT]));

    assert!(er.find(&p, Glass::No).is_empty());
    for glass in [Glass::Header, Glass::XuaEmergency] {
        assert!(er.find(&p, glass).contains(&d.unique_id));
        assert_eq!(er.retrieve(&[&d.unique_id], glass).0, set([&d.unique_id]));
    }
    // Asking is not enough to see more than the emergency policy gives on a later request
    // without it.
    assert!(er.find(&p, Glass::No).is_empty());

    std::thread::sleep(Duration::from_millis(200));
    let alerts = audit_of(&server, "110127");
    assert_eq!(alerts.len(), 4, "two queries and two retrieves: {alerts:?}");
    for e in &alerts {
        assert_eq!(e.event_id.as_deref(), Some("110113"), "a Security Alert");
        assert!(e.patient_ids.contains(&p));
        assert_eq!(
            e.sender.as_deref(),
            Some("CN=xds-consumer.Emergency-Clinic,O=Emergency Clinic")
        );
    }
    assert!(alerts.iter().any(|e| e.object_ids.contains(&d.unique_id)));
    // The alerts are in the audit search the security officer uses.
    let found: serde_json::Value = client()
        .get(server.url("/api/audit?event_type=110127"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let text = found.to_string();
    assert!(text.contains("110127"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// The privacy officer's view
// ---------------------------------------------------------------------------------------------

#[test]
fn privacy_officer_sees_consents_history_and_decisions() {
    let server = start("consent-opt-in");
    let a = node(&server, "Hospital A");
    let p = patient(&server);
    let c1 = give_consent(&a, &p, &consent(&[HOSPITAL_A_ONLY]));
    let c1_uuid = entry_uuid(&server, &c1);
    let c2 = give_consent(
        &a,
        &p,
        &ConsentDoc {
            replaces: Some(c1_uuid),
            ..consent(&[LAB_ONLY])
        },
    );

    let v: serde_json::Value = client()
        .get(server.url(&format!("/api/consents?patient={}", urlencode(&p))))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(v["default"], "opt-in");
    let consents = v["consents"].as_array().unwrap();
    assert_eq!(consents.len(), 2, "{v}");
    assert_eq!(consents[0]["unique_id"], c2.as_str());
    assert_eq!(consents[0]["in_force"], true);
    assert_eq!(
        consents[0]["policies"][0]["name"],
        "Laboratory reports only"
    );
    assert_eq!(consents[1]["unique_id"], c1.as_str());
    assert_eq!(consents[1]["status"], "Deprecated");
    let history: Vec<(String, String)> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["unique_id"].as_str().unwrap().to_owned(),
                h["change"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            (c1.clone(), "registered".to_owned()),
            (c2.clone(), "registered".to_owned()),
            (c1.clone(), "status".to_owned()),
        ]
    );
    audit_of_n(&server, "ConsentChanged", 1);

    // "May Hospital B see laboratory reports now?" — yes, by policy 2.25.1002; radiology: no.
    let ask = |query: &str| -> serde_json::Value {
        client()
            .get(server.url(&format!(
                "/api/consents/decision?patient={}&{query}",
                urlencode(&p)
            )))
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    let lab = ask("organisation=Hospital%20B&class=LAB");
    assert_eq!(lab["decision"]["permit"], true, "{lab}");
    assert_eq!(lab["decision"]["policy"], LAB_ONLY);
    assert_eq!(lab["decision"]["consent"], c2.as_str());
    let rad = ask("organisation=Hospital%20B&class=RAD");
    assert_eq!(rad["decision"]["permit"], false, "{rad}");
    let glass = ask("organisation=Hospital%20B&class=RAD&emergency=true");
    assert_eq!(glass["decision"]["break_the_glass"], true, "{glass}");

    // Bad input: a clear 400.
    let r = client()
        .get(server.url("/api/consents?patient=not-a-cx"))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().unwrap().contains("patient"));
    let r = client()
        .get(server.url(&format!(
            "/api/consents/decision?patient={}&at=yesterday",
            urlencode(&p)
        )))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);

    // The page and its script, same-origin only.
    let page = client().get(server.url("/consents/")).send().unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert_eq!(
        page.headers().get("content-security-policy").unwrap(),
        "default-src 'self'"
    );
    assert!(page.text().unwrap().contains("/consents/consents.js"));
    assert_eq!(server.get_status("/consents/consents.js"), 200);
}

// ---------------------------------------------------------------------------------------------
// The property over the real server
// ---------------------------------------------------------------------------------------------

const POLICIES: [&str; 6] = [
    OPT_IN,
    OPT_OUT,
    HOSPITAL_A_ONLY,
    LAB_ONLY,
    NOTHING_RESTRICTED,
    THIRTY_DAYS,
];

/// A document: (laboratory report?, restricted?).
type GenDoc = (bool, bool);
/// A consent: (indexes into POLICIES, days since its start).
type GenConsent = (Vec<usize>, i64);

#[derive(Debug, Clone)]
struct Case {
    /// Per patient: documents and consents.
    patients: Vec<(Vec<GenDoc>, Vec<GenConsent>)>,
}

fn case() -> impl Strategy<Value = Case> {
    let docs = prop::collection::vec((any::<bool>(), any::<bool>()), 1..4);
    let consent = (prop::collection::vec(0..POLICIES.len(), 1..3), 0i64..60);
    let consents = prop::collection::vec(consent, 0..3);
    prop::collection::vec((docs, consents), 1..3).prop_map(|patients| Case { patients })
}

/// Generated patients, documents, consents (policies, start dates) and two requesters, in an
/// opt-in and an opt-out domain: every ITI-18 result, ITI-43 document and viewer image that
/// leaves is one the engine permits to that requester, and every one it permits leaves.
#[test]
fn property_no_document_leaves_for_a_denied_requester() {
    for domain in ["consent-opt-in", "consent-opt-out"] {
        let server = start(domain);
        let a = node(&server, "Hospital A");
        let b = node(&server, "Hospital B");
        let loaded =
            hiehub::profiles::AffinityDomain::load_dir(std::path::Path::new(&domain_dir(domain)))
                .unwrap();
        let policies = hiehub::consent::Policies::from_domain(&loaded).unwrap();
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases: 4,
            failure_persistence: None,
            ..ProptestConfig::default()
        });
        runner
            .run(&case(), |c| {
                for (docs, consents) in &c.patients {
                    let p = patient(&server);
                    let docs: Vec<Doc> = docs
                        .iter()
                        .map(|(lab, restricted)| {
                            doc(
                                if *lab { "LAB" } else { "RAD" },
                                if *restricted { "R" } else { "N" },
                            )
                        })
                        .collect();
                    a.provide_ok(&submission(&p, &docs));
                    // The patient's images (STOW-RS is an entry: no consent decision).
                    let study = stow_phantom(&server, &a, &p);
                    let mut consent_ids = Vec::new();
                    for (idx, days_ago) in consents {
                        let mut chosen: Vec<&str> = idx.iter().map(|i| POLICIES[*i]).collect();
                        chosen.dedup();
                        let start = Utc::now().naive_utc()
                            - chrono::Duration::days(*days_ago)
                            - chrono::Duration::minutes(5);
                        consent_ids.push(give_consent(
                            &a,
                            &p,
                            &ConsentDoc {
                                start: start.with_nanosecond_zero(),
                                ..consent(&chosen)
                            },
                        ));
                    }
                    // What the engine says, per requester and document, against what leaves.
                    let records = consent_records(&server, &p);
                    for n in [&a, &b] {
                        let requester = hiehub::consent::Requester {
                            organisation: Some(n.org.clone()),
                            ..Default::default()
                        };
                        let at = Utc::now().naive_utc();
                        let mut allowed = BTreeSet::new();
                        let mut all = Vec::new();
                        for (d, uid) in docs
                            .iter()
                            .map(|d| (d, d.unique_id.clone()))
                            .chain(consent_ids.iter().map(|u| (&docs[0], u.clone())))
                        {
                            let facts = if consent_ids.contains(&uid) {
                                hiehub::consent::DocumentFacts {
                                    class_code: "CONSENT^^^1.2.3.99".into(),
                                    confidentiality_codes: vec![
                                        "N^^^2.16.840.1.113883.5.25".into(),
                                    ],
                                    healthcare_facility_type_code: String::new(),
                                }
                            } else {
                                hiehub::consent::DocumentFacts {
                                    class_code: format!("{}^^^1.2.3.99", d.class),
                                    confidentiality_codes: vec![format!(
                                        "{}^^^2.16.840.1.113883.5.25",
                                        d.confidentiality
                                    )],
                                    healthcare_facility_type_code: String::new(),
                                }
                            };
                            let dec = hiehub::consent::engine::decide(
                                &policies,
                                &requester,
                                &records,
                                Some(&facts),
                                at,
                            );
                            if dec.permit {
                                allowed.insert(uid.clone());
                            }
                            all.push(uid);
                        }
                        let found = n.find(&p, Glass::No);
                        prop_assert_eq!(&found, &allowed, "{} FindDocuments", n.org);
                        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
                        let (got, _) = n.retrieve(&refs, Glass::No);
                        prop_assert_eq!(&got, &allowed, "{} ITI-43", n.org);
                        // A viewer image (the study's thumbnail, a rendered frame) leaves
                        // exactly when the patient-level decision permits.
                        let patient_level = hiehub::consent::engine::decide(
                            &policies, &requester, &records, None, at,
                        );
                        let image = get_status(n, &format!("/dicomweb/studies/{study}/thumbnail"));
                        prop_assert_eq!(
                            image,
                            if patient_level.permit { 200 } else { 403 },
                            "{} viewer image, decision {:?}",
                            n.org,
                            patient_level
                        );
                    }
                }
                Ok(())
            })
            .unwrap();
    }
}

/// The patient's consents as the engine sees them (read back from the registry).
fn consent_records(server: &Server, patient: &str) -> Vec<hiehub::consent::ConsentRecord> {
    let mut conn = connect(server.db_url.as_deref().unwrap());
    hiehub::consent::store::consents_of(&mut conn, &[patient.to_owned()])
        .unwrap()
        .remove(patient)
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// The page, in a browser
// ---------------------------------------------------------------------------------------------

#[test]
fn privacy_officer_page_in_a_browser() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core/package.json")
            .exists(),
        "the npm package 'playwright-core' is not installed in tests/browser: run deploy/setup.sh --test"
    );
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "/usr/bin/chromium is missing: install the Debian package 'chromium' (deploy/setup.sh --test does)"
    );
    let server = start("consent-opt-in");
    let a = node(&server, "Hospital A");
    let p = patient(&server);
    let c = give_consent(&a, &p, &consent(&[LAB_ONLY]));
    let out = std::process::Command::new("node")
        .arg(dir.join("consents.mjs"))
        .arg(server.url(""))
        .arg(&p)
        .arg(&c)
        .output()
        .expect("node");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("every step passed"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// The contract for other exits (RAD-69, WADO, DICOMweb, viewer, PDQ)
// ---------------------------------------------------------------------------------------------

#[test]
fn the_enforcer_contract_decides_and_audits() {
    use hiehub::consent::{DocumentFacts, Enforcer, Requester};
    let mut server = start("consent-opt-in");
    let a = node(&server, "Hospital A");
    let p = patient(&server);
    let c = give_consent(&a, &p, &consent(&[LAB_ONLY]));
    let url = server.db_url.clone().unwrap();
    // The server stops; the enforcer is built as the server builds it, on the same database
    // and ledger (one ledger writer at a time).
    let data = std::mem::replace(&mut server.data_dir, tempfile::tempdir().unwrap());
    drop(server);
    let config = hiehub::config::Config {
        data_dir: data.path().to_owned(),
        ..hiehub::config::Config::default()
    };
    let domain = hiehub::profiles::AffinityDomain::load_dir(std::path::Path::new(&domain_dir(
        "consent-opt-in",
    )))
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let sink = hiehub::audit::AuditSink::start(url.clone(), config.sink_config()).unwrap();
        let db = hiehub::store::Db::new(&url, 2).unwrap();
        let enforcer = Enforcer::new(&domain, db, sink, true, 1000).unwrap();
        let b = Requester {
            node: Some("CN=pacs.b,O=Hospital B".into()),
            organisation: Some("Hospital B".into()),
            ..Requester::default()
        };
        let fact = |class: &str| DocumentFacts {
            class_code: format!("{class}^^^1.2.3.99"),
            confidentiality_codes: vec!["N^^^2.16.840.1.113883.5.25".into()],
            healthcare_facility_type_code: String::new(),
        };
        let now = Utc::now();
        let lab = enforcer.decide(&b, &p, &fact("LAB"), now).await;
        assert!(lab.permit && !lab.break_the_glass, "{lab:?}");
        assert_eq!(lab.policy.as_deref(), Some(LAB_ONLY));
        assert_eq!(lab.consent.as_deref(), Some(c.as_str()));
        let rad = enforcer.decide(&b, &p, &fact("RAD"), now).await;
        assert!(!rad.permit, "{rad:?}");
        assert!(enforcer.decide_patient(&b, &p, now).await.permit);
        let stranger = patient_in(&url);
        assert!(
            !enforcer.decide_patient(&b, &stranger, now).await.permit,
            "opt-in domain"
        );
        let glass = Requester {
            emergency: Some("stroke unit".into()),
            ..b.clone()
        };
        let d = enforcer.decide(&glass, &p, &fact("RAD"), now).await;
        assert!(d.permit && d.break_the_glass, "{d:?}");
    });
    drop(rt);
    let conn_server = Server::start_with(ServerOptions {
        db_url: Some(url.clone()),
        ..ServerOptions::default()
    });
    let denied = audit_of(&conn_server, "ConsentDenied");
    assert_eq!(
        denied.len(),
        2,
        "the RAD document and the stranger: {denied:?}"
    );
    assert!(
        denied
            .iter()
            .all(|e| e.sender.as_deref() == Some("CN=pacs.b,O=Hospital B"))
    );
    let alerts = audit_of(&conn_server, "110127");
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0].patient_ids.contains(&p));
}

/// A patient id that was never fed (no consent either).
fn patient_in(_url: &str) -> String {
    format!(
        "N{}^^^&1.2.826.0.1.3680043.2.1125.1&ISO",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

#[test]
fn consents_registered_by_iti42_are_checked_on_their_metadata_and_enforced() {
    const ITI42: &str = "urn:ihe:iti:2007:RegisterDocumentSet-b";
    let server = start("consent-opt-out");
    let a = node(&server, "Hospital A");
    let b = node(&server, "Hospital B");
    let p = patient(&server);
    let d = doc("LAB", "N");
    a.provide_ok(&submission(&p, std::slice::from_ref(&d)));
    assert!(b.find(&p, Glass::No).contains(&d.unique_id));

    // The consent document lives in another repository: ITI-42 registers its metadata only.
    let register = |policies: &[&str]| -> String {
        let (mut s, _) = consent_submission(&p, &consent(policies));
        let bytes = s.contents[0].bytes.clone();
        let e = &mut s.documents[0];
        e.hash = Some(xds::Sha1Hex::digest(&bytes));
        e.size = Some(bytes.len() as u64);
        e.repository_unique_id = Some(xds::Oid::parse("1.2.826.0.1.3680043.2.1125.77").unwrap());
        s.contents.clear();
        let body = xds::to_ebxml::submit_objects_request(&s)
            .to_xml(ebxml::EncodeOptions::INLINE)
            .xml;
        a.post("/xds/registry", ITI42, Glass::No, &body)
            .text()
            .unwrap()
    };
    let text = register(&["1.2.3.4.5.6"]);
    assert!(text.contains(&format!("status=\"{FAILURE}\"")), "{text}");
    assert!(text.contains("names no consent policy"), "{text}");
    assert!(b.find(&p, Glass::No).contains(&d.unique_id));

    let text = register(&[OPT_OUT]);
    assert!(text.contains(&format!("status=\"{SUCCESS}\"")), "{text}");
    assert!(
        b.find(&p, Glass::No).is_empty(),
        "the refusal decides the next query"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(audit_of(&server, "ConsentRevoked").len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Imaging exits (issue 7 through the consent enforcer)
// ---------------------------------------------------------------------------------------------

/// A phantom CT series of `patient` (CX) stored by STOW-RS through node `n`; its study UID.
fn stow_phantom(server: &Server, n: &Node, patient: &str) -> String {
    let p = PatientId::parse(patient).unwrap();
    let out = tempfile::tempdir().unwrap();
    let made = std::process::Command::new(env!("CARGO_BIN_EXE_hiehub"))
        .args([
            "bench",
            "phantom",
            "--slices",
            "3",
            "--rows",
            "32",
            "--columns",
            "32",
        ])
        .arg("--out")
        .arg(out.path())
        .args(["--patient-id", &p.id, "--issuer", p.authority.as_str()])
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let study = String::from_utf8(made.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_owned();
    let boundary = "hiehub-consent-test-boundary";
    let mut body = Vec::new();
    for f in std::fs::read_dir(out.path()).unwrap() {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Type: application/dicom\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(&std::fs::read(f.unwrap().path()).unwrap());
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let r = n
        .client
        .post(format!("{}/dicomweb/studies", n.base))
        .header(
            "content-type",
            format!("multipart/related; type=\"application/dicom\"; boundary={boundary}"),
        )
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().unwrap_or_default());
    let _ = server;
    study
}

fn get_status(n: &Node, path: &str) -> u16 {
    n.client
        .get(format!("{}{path}", n.base))
        .send()
        .unwrap()
        .status()
        .as_u16()
}

/// The images follow the consent like the documents: shared by the opt-out default, refused on
/// every imaging exit (viewer API, QIDO-RS, WADO-RS, WADO-URI) once the patient refuses, for
/// every requester the policy names, and the refusal is in the audit trail.
#[test]
fn imaging_exits_follow_the_consent() {
    let server = start("consent-opt-out");
    let a = node(&server, "Hospital A");
    let b = node(&server, "Hospital B");
    let p = patient(&server);
    let study = stow_phantom(&server, &a, &p);
    let paths = [
        format!("/viewer/api/studies/{study}"),
        format!("/dicomweb/studies?StudyInstanceUID={study}"),
        format!("/dicomweb/studies/{study}/metadata"),
    ];
    for path in &paths {
        assert_eq!(get_status(&b, path), 200, "{path} before any consent");
    }
    let denied_before = audit_of(&server, "ConsentDenied").len();

    // Only Hospital A may see the patient's records: B is refused everywhere, A is not.
    give_consent(&a, &p, &consent(&[HOSPITAL_A_ONLY]));
    for path in &paths {
        assert_eq!(get_status(&b, path), 403, "{path} for Hospital B");
        assert_eq!(get_status(&a, path), 200, "{path} for Hospital A");
    }
    assert!(
        audit_of(&server, "ConsentDenied").len() > denied_before,
        "the denials are audited"
    );

    // The patient refuses sharing altogether: nobody sees the images.
    give_consent(&a, &p, &consent(&[OPT_OUT]));
    for path in &paths {
        assert_eq!(get_status(&b, path), 403, "{path} after OPT-OUT");
    }
}

/// ITI-57 deprecating the consent in force, approving it again, and ITI-62 removing it: each
/// takes effect for the very next request (the consent cache is dropped when the change
/// commits) and is a ConsentRevoked / ConsentChanged event in the ledger.
#[test]
fn iti57_and_iti62_consent_changes_take_effect_and_are_audited() {
    const ITI57: &str = "urn:ihe:iti:2010:UpdateDocumentSet";
    const ITI62: &str = "urn:ihe:iti:2010:DeleteDocumentSet";
    const DEPRECATED: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated";
    const APPROVED_STATUS: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved";
    let server = start("consent-opt-in");
    let a = node(&server, "Hospital A");
    let b = node(&server, "Hospital B");
    let p = patient(&server);
    let d1 = doc("LAB", "N");
    a.provide_ok(&submission(&p, std::slice::from_ref(&d1)));
    let c1 = give_consent(&a, &p, &consent(&[OPT_IN]));
    let c1_uuid = entry_uuid(&server, &c1);
    // Asked twice: the second answer comes from the cache.
    assert!(b.find(&p, Glass::No).contains(&d1.unique_id));
    assert!(b.find(&p, Glass::No).contains(&d1.unique_id));

    let status_change = |from: &str, to: &str| -> String {
        let mut s = submission(&p, &[]);
        s.associations.push(xds::Association {
            entry_uuid: RegistryObjectId::parse("Status01").unwrap(),
            association_type: AssociationType::UpdateAvailabilityStatus,
            source: s.submission_set.entry_uuid.clone(),
            target: RegistryObjectId::parse(&c1_uuid).unwrap(),
            availability_status: None,
            submission_set_status: None,
            extra_slots: vec![
                xds::Slot::new("OriginalStatus", [from]),
                xds::Slot::new("NewStatus", [to]),
            ],
        });
        let body = xds::to_ebxml::submit_objects_request(&s)
            .to_xml(ebxml::EncodeOptions::INLINE)
            .xml;
        a.post("/xds/registry", ITI57, Glass::No, &body)
            .text()
            .unwrap()
    };

    // ITI-57 deprecates the only consent: the opt-in domain's default (deny) for the next query.
    let text = status_change(APPROVED_STATUS, DEPRECATED);
    assert!(text.contains(SUCCESS), "{text}");
    assert!(b.find(&p, Glass::No).is_empty());
    let revoked = audit_of_n(&server, "ConsentRevoked", 1);
    assert!(revoked[0].patient_ids.contains(&p), "{revoked:?}");
    assert!(revoked[0].object_ids.contains(&c1), "{revoked:?}");

    // Approved again: shared again, a ConsentChanged event.
    let text = status_change(DEPRECATED, APPROVED_STATUS);
    assert!(text.contains(SUCCESS), "{text}");
    assert!(b.find(&p, Glass::No).contains(&d1.unique_id));
    assert_eq!(audit_of(&server, "ConsentChanged").len(), 1);

    // ITI-62 removes the consent with every Association that points at it and their
    // SubmissionSets (the original one and the two ITI-57 ones), as §3.62 requires.
    let mut conn = connect(server.db_url.as_deref().unwrap());
    #[derive(QueryableByName)]
    struct Ids {
        #[diesel(sql_type = Text)]
        set_uuid: String,
        #[diesel(sql_type = Text)]
        assoc_uuid: String,
    }
    let ids: Vec<Ids> = diesel::sql_query(
        "SELECT source_uuid AS set_uuid, entry_uuid AS assoc_uuid FROM xds_associations \
         WHERE target_uuid = $1",
    )
    .bind::<Text, _>(&c1_uuid)
    .load(&mut conn)
    .unwrap();
    assert_eq!(ids.len(), 3);
    let mut refs: Vec<&str> = ids
        .iter()
        .flat_map(|i| [i.set_uuid.as_str(), i.assoc_uuid.as_str()])
        .collect();
    refs.push(&c1_uuid);
    let body = ebxml::RemoveObjectsRequest {
        object_refs: refs.into_iter().map(ebxml::ObjectRef::new).collect(),
        ..Default::default()
    }
    .to_xml(ebxml::EncodeOptions::INLINE)
    .xml;
    let text = a
        .post("/xds/registry", ITI62, Glass::No, &body)
        .text()
        .unwrap();
    assert!(text.contains(SUCCESS), "{text}");
    assert!(b.find(&p, Glass::No).is_empty());
    let revoked = audit_of_n(&server, "ConsentRevoked", 2);
    assert!(revoked[1].object_ids.contains(&c1), "{revoked:?}");

    // A change made outside this server (another process on the same database) reaches the
    // cache by notification: a consent inserted by SQL is in force for the next query.
    let c2 = give_consent(&a, &p, &consent(&[OPT_IN]));
    assert!(b.find(&p, Glass::No).contains(&d1.unique_id));
    diesel::sql_query("UPDATE xds_document_entries SET status = $2 WHERE unique_id = $1")
        .bind::<Text, _>(&c2)
        .bind::<Text, _>(DEPRECATED)
        .execute(&mut conn)
        .unwrap();
    assert!(b.find(&p, Glass::No).is_empty());
}

/// `consent_pdq_filter = true`: ITI-47 leaves out, before counting, the persons whose consent
/// denies the requester (opt-in domain: no consent, or an OPT-OUT), each denial audited; the
/// person with an OPT-IN consent is answered.
#[test]
fn pdq_leaves_out_persons_whose_consent_denies_when_configured() {
    use crate::mpi::{Q, add, patient as person, pdq};
    const ROOT: &str = "1.2.826.0.1.3680043.2.1125.77";
    let server = Server::start_with(ServerOptions {
        https: true,
        extra_args: vec!["--affinity-domain".into(), domain_dir("consent-opt-in")],
        env: vec![("HIEHUB_CONSENT_PDQ_FILTER".into(), "true".into())],
        ..ServerOptions::default()
    });
    let a = node(&server, "Hospital A");
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let exts: Vec<String> = (1..=3).map(|i| format!("P{}{i}", &tag[..10])).collect();
    for (i, e) in exts.iter().enumerate() {
        let birth = format!("1970010{}", i + 1);
        add(
            &server,
            &person(
                ROOT,
                e,
                ("곽", "동훈"),
                Some(("Kwak", "Donghun")),
                &birth,
                "M",
            ),
        );
    }
    let cx = |e: &str| format!("{e}^^^&{ROOT}&ISO");
    give_consent(&a, &cx(&exts[0]), &consent(&[OPT_IN]));
    give_consent(&a, &cx(&exts[2]), &consent(&[OPT_OUT]));

    let answer = pdq(
        &server,
        &Q {
            family: Some("곽"),
            given: Some("동훈"),
            domains: vec![ROOT],
            query_ext: format!("q-{tag}"),
            ..Q::default()
        },
    );
    assert_eq!(answer.ack, "AA", "{}", answer.text);
    let found: Vec<&String> = answer
        .patients
        .iter()
        .flat_map(|p| p.0.iter().filter(|(r, _)| r == ROOT).map(|(_, e)| e))
        .collect();
    assert_eq!(found, [&exts[0]], "{}", answer.text);
    assert!(
        answer.text.contains(r#"<resultTotalQuantity value="1"/>"#),
        "hidden persons are not counted: {}",
        answer.text
    );
    let denied = audit_of_n(&server, "ConsentDenied", 2);
    let patients: BTreeSet<&String> = denied.iter().flat_map(|d| &d.patient_ids).collect();
    assert!(
        patients.contains(&cx(&exts[1])) && patients.contains(&cx(&exts[2])),
        "{denied:?}"
    );
}

/// XUA with `xua_trusted_certs`: a SAML assertion signed by the trusted identity provider
/// (Python signxml, nobody's code here) in a mustUnderstand `wsse:Security` header is accepted
/// and its purpose of use EMERGENCY opens the glass; the same assertion changed after signing,
/// one signed by an unknown key and an expired one are refused with WS-Security faults that are
/// security alerts, and show nothing.
#[test]
fn xua_assertions_are_verified_against_the_trusted_identity_provider() {
    let keys = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let script = format!("{}/tests/xua/sign_assertion.py", env!("CARGO_MANIFEST_DIR"));
    let py = |args: &[&str]| -> String {
        let out = std::process::Command::new("python3")
            .arg(&script)
            .args(args)
            .output()
            .expect("python3");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let dir = keys.path().to_str().unwrap();
    let other_dir = other.path().to_str().unwrap();
    py(&["keygen", dir]);
    py(&["keygen", other_dir]);
    let server = Server::start_with(ServerOptions {
        https: true,
        extra_args: vec!["--affinity-domain".into(), domain_dir("consent-opt-in")],
        env: vec![("HIEHUB_XUA_TRUSTED_CERTS".into(), format!("{dir}/idp.pem"))],
        ..ServerOptions::default()
    });
    let a = node(&server, "Hospital A");
    let er = node(&server, "Emergency Clinic");
    let p = patient(&server);
    let d = doc("RAD", "R");
    a.provide_ok(&submission(&p, std::slice::from_ref(&d)));
    give_consent(&a, &p, &consent(&[OPT_OUT]));

    let security = |assertion: &str| {
        format!(
            "<wsse:Security xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\" s:mustUnderstand=\"true\">{assertion}</wsse:Security>"
        )
    };
    let find = quoted(&p);
    let body = query_body(
        FIND_DOCUMENTS,
        "LeafClass",
        &[
            ("$XDSDocumentEntryPatientId", &[&find]),
            ("$XDSDocumentEntryStatus", &[APPROVED]),
        ],
    );
    let ask = |assertion: &str| -> (u16, String) {
        let r = er.post_headers("/xds/registry", ITI18, &security(assertion), &body);
        (r.status().as_u16(), r.text().unwrap())
    };
    let later = "2031-01-01T00:00:00Z";

    // Signed by the trusted IdP: understood, verified, the emergency policy applies.
    let good = py(&["sign", dir, "dr.er", "EMERGENCY", later]);
    let (status, text) = ask(&good);
    assert_eq!(status, 200, "{text}");
    assert!(text.contains(&d.unique_id), "{text}");
    let alerts = audit_of_n(&server, "110127", 1);
    assert!(alerts[0].patient_ids.contains(&p), "{alerts:?}");

    // Signature wrapping: a verified assertion asking for nothing special, and an unsigned one
    // claiming EMERGENCY hidden inside another element of the header: the attributes are the
    // verified assertion's, so no glass is broken and nothing is shown.
    let plain = py(&["sign", dir, "dr.er", "TREATMENT", later]);
    let unsigned = header_blocks(Glass::XuaEmergency)
        .trim_start_matches(|c| c != '>')
        .trim_start_matches('>')
        .trim_end_matches("</wsse:Security>");
    let wrapped = format!("<w:Wrapper xmlns:w=\"urn:example:wrap\">{unsigned}</w:Wrapper>{plain}");
    let (status, text) = ask(&wrapped);
    assert_eq!(status, 200, "{text}");
    assert!(!text.contains(&d.unique_id), "{text}");
    assert_eq!(
        audit_of(&server, "110127").len(),
        1,
        "no second emergency access"
    );
    // A look-alike Security block in another namespace is not read at all.
    let fake = format!("<x:Security xmlns:x=\"urn:example:not-wss\">{unsigned}</x:Security>");
    let r = er.post_headers("/xds/registry", ITI18, &fake, &body);
    let text = r.text().unwrap();
    assert!(!text.contains(&d.unique_id), "{text}");
    assert_eq!(audit_of(&server, "110127").len(), 1, "no emergency access");

    // The same assertion with its purpose of use changed after signing.
    let tampered = good.replace("code=\"EMERGENCY\"", "code=\"ETREAT\"");
    assert_ne!(tampered, good);
    let refused = |assertion: &str, why: &str, subcode: &str| {
        let (status, text) = ask(assertion);
        assert!(status >= 400, "{status}: {text}");
        assert!(text.contains(subcode), "{text}");
        assert!(text.contains(why), "{text}");
        assert!(!text.contains(&d.unique_id), "{text}");
    };
    refused(&tampered, "digest does not match", "FailedCheck");
    // Signed by a key the server does not trust.
    let stranger = py(&["sign", other_dir, "dr.er", "EMERGENCY", later]);
    refused(&stranger, "not a trusted identity provider", "FailedCheck");
    // Expired.
    let expired = py(&["sign", dir, "dr.er", "EMERGENCY", "2020-01-01T00:00:00Z"]);
    refused(&expired, "expired", "FailedCheck");
    // Not signed at all (the unit tests' unsigned assertion).
    refused(unsigned, "not signed", "FailedCheck");
    // Each refusal is a security alert in the ledger; only the first request opened the glass.
    let rejected = audit_of_n(&server, "RejectedMessage", 4);
    assert!(
        rejected
            .iter()
            .all(|e| e.event_id.as_deref() == Some("110113")),
        "{rejected:?}"
    );
    assert_eq!(audit_of(&server, "110127").len(), 1);
}
