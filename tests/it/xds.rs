//! XDS.b end to end against the real server: ITI-42, ITI-41 (MTOM and inline) and ITI-43, with
//! the fixtures of `../shared/fixtures/` and their expected outcomes (README), one test per error
//! code the submission path produces, replacement, atomicity, and the audit trail.
//!
//! Patients are inserted with SQL (ITI-44 will feed the `patients` table later).

use bytes::Bytes;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text};

use hiehub::ebxml::{self, WireMessage};
use hiehub::xds::{
    self, Association, AssociationType, PatientId, RegistryObjectId, Sha1Hex, Submission,
    SubmissionSetStatus, UniqueId,
};

use crate::harness::*;

const ITI41: &str = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b";
const ITI42: &str = "urn:ihe:iti:2007:RegisterDocumentSet-b";
const ITI43: &str = "urn:ihe:iti:2007:RetrieveDocumentSet";
const REPO: &str = xds::repository::DEFAULT_REPOSITORY_UNIQUE_ID;
const SUCCESS: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success";
const FAILURE: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure";
const PARTIAL: &str = "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess";
const APPROVED: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved";
const DEPRECATED: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Makes `cx` (`id^^^&OID&ISO`) known to the affinity domain.
fn add_patient(server: &Server, cx: &str) {
    let p = PatientId::parse(cx).unwrap();
    let mut conn = connect(server.db_url.as_deref().unwrap());
    diesel::sql_query("INSERT INTO patients (assigning_authority, patient_id) VALUES ($1, $2)")
        .bind::<Text, _>(p.authority.as_str())
        .bind::<Text, _>(&p.id)
        .execute(&mut conn)
        .unwrap();
}

/// The `rs:RegistryResponse` outcome in a response text: status and (errorCode, severity) pairs.
#[derive(Debug)]
pub(crate) struct Outcome {
    status: String,
    errors: Vec<(String, String)>,
    text: String,
}

impl Outcome {
    fn codes(&self) -> Vec<&str> {
        self.errors.iter().map(|(c, _)| c.as_str()).collect()
    }

    pub(crate) fn assert_success(&self) {
        assert_eq!(self.status, SUCCESS, "{}", self.text);
        assert!(
            self.errors.iter().all(|(_, s)| s.ends_with("Warning")),
            "{}",
            self.text
        );
    }

    pub(crate) fn assert_failure_with(&self, code: &str) {
        assert_eq!(self.status, FAILURE, "{}", self.text);
        assert!(
            self.codes().contains(&code),
            "{code} expected: {}",
            self.text
        );
    }
}

fn attr_values<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    let pat = format!(" {name}=\"");
    text.match_indices(&pat)
        .filter_map(|(i, _)| {
            let rest = &text[i + pat.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

fn outcome(text: String) -> Outcome {
    let start = text.find("RegistryResponse").unwrap_or(0);
    let status = attr_values(&text[start..], "status")
        .first()
        .map(|s| s.to_string())
        .unwrap_or_default();
    let codes = attr_values(&text, "errorCode");
    let severities = attr_values(&text, "severity");
    let errors = codes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (
                c.to_string(),
                severities.get(i).map(|s| s.to_string()).unwrap_or_default(),
            )
        })
        .collect();
    Outcome {
        status,
        errors,
        text,
    }
}

fn post_soap(server: &Server, path: &str, action: &str, body: &str) -> Outcome {
    let id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    let resp = client()
        .post(server.url(path))
        .header("content-type", SOAP_CT)
        .body(envelope(action, &id, body))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    outcome(resp.text().unwrap())
}

fn post_mime(server: &Server, content_type: &str, body: Vec<u8>) -> Outcome {
    let resp = client()
        .post(server.url("/xds/repository"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().unwrap();
    assert_eq!(status, 200, "{text}");
    outcome(text)
}

/// A fixture's text without its XML declaration or leading comments.
fn fixture_body(rel: &str) -> String {
    let text = std::fs::read_to_string(fixture(rel)).unwrap();
    let mut s = text.as_str();
    loop {
        s = s.trim_start();
        if s.starts_with("<?") {
            s = &s[s.find("?>").unwrap() + 2..];
        } else if s.starts_with("<!--") {
            s = &s[s.find("-->").unwrap() + 3..];
        } else {
            return s.to_owned();
        }
    }
}

/// The Content-Type of a NIST testplan.xml.
fn testplan_content_type(rel: &str) -> String {
    std::fs::read_to_string(fixture(rel))
        .unwrap()
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Content-Type:")
                .map(|v| v.trim().to_owned())
        })
        .unwrap()
}

/// (Content-Type, body) of a raw HTTP capture.
fn split_capture(raw: &[u8]) -> (String, Vec<u8>) {
    let i = raw.windows(2).position(|w| w == b"\n\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..i]);
    let ct = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Type:").map(|v| v.trim().to_owned()))
        .unwrap();
    (ct, raw[i + 2..].to_vec())
}

const INLINE_DIR: &str = "nist/xds/valid-iti41-multipart-inline-base64";

/// The NIST inline-base64 ITI-41 submission as a domain value, to derive test submissions from.
fn template_submission() -> Submission {
    let ct = testplan_content_type(&format!("{INLINE_DIR}/testplan.xml"));
    let body = std::fs::read(fixture(&format!("{INLINE_DIR}/body.txt"))).unwrap();
    let parts =
        hiehub::soap::mtom::decode(&ct, &body, hiehub::soap::mtom::Limits::default()).unwrap();
    let mut root = hiehub::xml::parse(&parts.root.body, &hiehub::xml::Limits::default()).unwrap();
    hiehub::soap::envelope::resolve_xop(&mut root, &parts).unwrap();
    let body = root
        .child(hiehub::soap::SOAP12_NS, "Body")
        .and_then(|b| b.elements().next())
        .unwrap();
    let req = ebxml::ProvideAndRegisterDocumentSetRequest::decode(body).unwrap();
    let (sub, problems) = xds::submission_from_provide_and_register(&req);
    assert!(!xds::has_errors(&problems), "{problems:?}");
    sub.unwrap()
}

const PATIENT: &str = "SR7^^^&1.2.260&ISO";

/// A submission for `PATIENT` with one document per `(uniqueId, content)`; fresh uniqueIds for the
/// SubmissionSet.
pub(crate) fn submission(docs: &[(&str, &[u8])]) -> Submission {
    let mut s = template_submission();
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
    s.submission_set.unique_id = xds::Oid::parse(&format!(
        "1.2.826.0.1.3680043.2.1125.{}",
        uuid::Uuid::new_v4().as_u128() % 1_000_000_000_000
    ))
    .unwrap();
    for (i, (uid, content)) in docs.iter().enumerate() {
        let id = RegistryObjectId::parse(&format!("Document{:02}", i + 1)).unwrap();
        let mut d = base_doc.clone();
        d.entry_uuid = id.clone();
        d.unique_id = UniqueId::parse(uid).unwrap();
        d.hash = None;
        d.size = None;
        s.documents.push(d);
        s.contents.push(xds::DocumentContent {
            entry_uuid: id.clone(),
            bytes: Bytes::copy_from_slice(content),
        });
        let mut a = base_assoc.clone();
        a.entry_uuid = RegistryObjectId::parse(&format!("HasMember{:02}", i + 1)).unwrap();
        a.target = id;
        a.submission_set_status = Some(SubmissionSetStatus::Original);
        s.associations.push(a);
    }
    s
}

fn pnr_body(s: &Submission) -> String {
    xds::to_ebxml::provide_and_register_request(s)
        .to_xml(ebxml::EncodeOptions::INLINE)
        .xml
}

pub(crate) fn provide(server: &Server, s: &Submission) -> Outcome {
    post_soap(server, "/xds/repository", ITI41, &pnr_body(s))
}

/// A relationship association from Document01 of the submission to a registered entry.
fn relationship(t: AssociationType, target: &str) -> Association {
    Association {
        entry_uuid: RegistryObjectId::parse(&format!("rel-{}", t.name())).unwrap(),
        association_type: t,
        source: RegistryObjectId::parse("Document01").unwrap(),
        target: RegistryObjectId::parse(target).unwrap(),
        availability_status: None,
        submission_set_status: None,
        extra_slots: Vec::new(),
    }
}

#[derive(QueryableByName, Debug)]
struct Entry {
    #[diesel(sql_type = Text)]
    entry_uuid: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Nullable<Text>)]
    hash: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    size: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    repository_unique_id: Option<String>,
    #[diesel(sql_type = Text)]
    metadata_xml: String,
}

fn entry(server: &Server, unique_id: &str) -> Option<Entry> {
    let mut conn = connect(server.db_url.as_deref().unwrap());
    diesel::sql_query(
        "SELECT entry_uuid, status, hash, size, repository_unique_id, metadata_xml
           FROM xds_document_entries WHERE unique_id = $1",
    )
    .bind::<Text, _>(unique_id)
    .get_result(&mut conn)
    .optional()
    .unwrap()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Rows in each registry/repository table.
fn row_counts(server: &Server) -> Vec<i64> {
    let mut conn = connect(server.db_url.as_deref().unwrap());
    [
        "xds_submission_sets",
        "xds_document_entries",
        "xds_folders",
        "xds_associations",
        "xds_repository_documents",
    ]
    .iter()
    .map(|t| {
        diesel::sql_query(format!("SELECT count(*) AS n FROM {t}"))
            .get_result::<Count>(&mut conn)
            .unwrap()
            .n
    })
    .collect()
}

fn blobs(server: &Server) -> Vec<String> {
    xds::repository::BlobStore::new(server.data_dir.path())
        .keys()
        .unwrap()
}

#[derive(QueryableByName, Debug)]
struct AuditEntry {
    #[diesel(sql_type = Nullable<Text>)]
    event_id: Option<String>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Int2>)]
    outcome: Option<i16>,
    #[diesel(sql_type = Array<Text>)]
    event_types: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    patient_ids: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    object_ids: Vec<String>,
}

/// The audit events of transaction `code` (EventTypeCode), in order.
fn audit_of(server: &Server, code: &str) -> Vec<AuditEntry> {
    let mut conn = connect(server.db_url.as_deref().unwrap());
    diesel::sql_query(
        "SELECT event_id, outcome, event_types, patient_ids, object_ids FROM audit_events ORDER BY seq",
    )
    .load::<AuditEntry>(&mut conn)
    .unwrap()
    .into_iter()
    .filter(|e| e.event_types.iter().any(|t| t == code))
    .collect()
}

/// Sends ITI-43 for `(repositoryUniqueId, documentUniqueId)` pairs; returns the outcome and the
/// documents (uniqueId, mimeType, bytes).
fn retrieve(server: &Server, body: &str) -> (Outcome, Vec<(String, String, Bytes)>) {
    let id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    let resp = client()
        .post(server.url("/xds/repository"))
        .header("content-type", SOAP_CT)
        .body(envelope(ITI43, &id, body))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let ct = resp
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        ct.starts_with("multipart/related"),
        "ITI-43 answers MTOM: {ct}"
    );
    let raw = resp.bytes().unwrap();
    let parts =
        hiehub::soap::mtom::decode(&ct, &raw, hiehub::soap::mtom::Limits::default()).unwrap();
    let text = String::from_utf8_lossy(&parts.root.body).into_owned();
    let mut root = hiehub::xml::parse(&parts.root.body, &hiehub::xml::Limits::default()).unwrap();
    hiehub::soap::envelope::resolve_xop(&mut root, &parts).unwrap();
    let body = root
        .child(hiehub::soap::SOAP12_NS, "Body")
        .and_then(|b| b.elements().next())
        .unwrap();
    let r = ebxml::RetrieveDocumentSetResponse::decode(body).unwrap();
    let docs = r
        .documents
        .into_iter()
        .map(|d| (d.document_unique_id, d.mime_type, d.bytes))
        .collect();
    (outcome(text), docs)
}

fn retrieve_body(pairs: &[(&str, &str)]) -> String {
    ebxml::RetrieveDocumentSetRequest {
        requests: pairs
            .iter()
            .map(|(r, d)| ebxml::DocumentRequest {
                home_community_id: None,
                repository_unique_id: r.to_string(),
                document_unique_id: d.to_string(),
            })
            .collect(),
    }
    .to_xml(ebxml::EncodeOptions::INLINE)
    .xml
}

// ---------------------------------------------------------------------------------------------
// Fixtures (README expected outcomes)
// ---------------------------------------------------------------------------------------------

#[test]
fn dcm4chee_iti42_register_one_document() {
    let server = Server::start();
    let body = fixture_body("dcm4chee/xds/valid-iti42-register-one-document.xml");
    // Unknown patient first: XDSUnknownPatientId, nothing stored.
    let o = post_soap(&server, "/xds/registry", ITI42, &body);
    o.assert_failure_with("XDSUnknownPatientId");
    assert_eq!(row_counts(&server), vec![0, 0, 0, 0, 0]);

    add_patient(&server, "test1234_1^^^&1.2.3.45.4.3.2.1&ISO");
    post_soap(&server, "/xds/registry", ITI42, &body).assert_success();
    let counts = row_counts(&server);
    assert_eq!(counts[0], 1, "one SubmissionSet");
    assert_eq!(counts[1], 1, "one DocumentEntry");
    assert_eq!(counts[4], 0, "ITI-42 stores no document");

    let events = audit_of(&server, "ITI-42");
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].outcome, Some(8));
    assert_eq!(events[1].event_id.as_deref(), Some("110107"));
    assert_eq!(events[1].outcome, Some(0));
    assert!(
        events[1]
            .patient_ids
            .iter()
            .any(|p| p.starts_with("test1234_1^^^")),
        "{events:?}"
    );
}

#[test]
fn dcm4chee_iti42_create_folder() {
    let server = Server::start();
    add_patient(&server, "test1234_2^^^&1.2.3.45.4.3.2.1&ISO");
    let body = fixture_body("dcm4chee/xds/valid-iti42-create-folder.xml");
    post_soap(&server, "/xds/registry", ITI42, &body).assert_success();
    assert_eq!(row_counts(&server)[2], 1, "one Folder");
    // The same submission again: its uniqueIds are taken now.
    post_soap(&server, "/xds/registry", ITI42, &body)
        .assert_failure_with("XDSDuplicateUniqueIdInRegistry");
}

#[test]
fn nist_iti41_mtom_capture() {
    let server = Server::start();
    add_patient(&server, "509b043eb50145b^^^&1.3.6.1.4.1.21367.2005.3.7&ISO");
    let raw = std::fs::read(fixture("nist/xds/valid-iti41-http-capture-mtom.txt")).unwrap();
    let (ct, body) = split_capture(&raw);
    post_mime(&server, &ct, body).assert_success();
    let counts = row_counts(&server);
    assert_eq!((counts[1], counts[4]), (1, 1), "{counts:?}");
    assert_eq!(blobs(&server).len(), 1);
    let mut conn = connect(server.db_url.as_deref().unwrap());
    #[derive(QueryableByName)]
    struct U {
        #[diesel(sql_type = Text)]
        unique_id: String,
    }
    let u: U = diesel::sql_query("SELECT unique_id FROM xds_document_entries")
        .get_result(&mut conn)
        .unwrap();
    let e = entry(&server, &u.unique_id).unwrap();
    assert_eq!(e.status, APPROVED);
    assert_eq!(e.repository_unique_id.as_deref(), Some(REPO));
    assert!(e.entry_uuid.starts_with("urn:uuid:"));
    assert_eq!(e.hash.as_deref().map(str::len), Some(40));
    assert!(e.size.unwrap() > 0);
    assert!(
        e.metadata_xml.contains(REPO),
        "the repository's attributes are in the metadata"
    );

    let events = audit_of(&server, "ITI-41");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_id.as_deref(), Some("110107"));
    assert!(events[0].patient_ids[0].starts_with("509b043eb50145b^^^"));
    assert!(
        events[0].object_ids.contains(&u.unique_id),
        "the document is named: {events:?}"
    );
}

#[test]
fn nist_iti41_multipart_inline_base64() {
    let server = Server::start();
    add_patient(&server, PATIENT);
    let ct = testplan_content_type(&format!("{INLINE_DIR}/testplan.xml"));
    let body = std::fs::read(fixture(&format!("{INLINE_DIR}/body.txt"))).unwrap();
    post_mime(&server, &ct, body).assert_success();
    assert_eq!(row_counts(&server)[4], 1);
}

#[test]
fn nist_iti41_invalid_element_order_is_refused() {
    let server = Server::start();
    add_patient(&server, PATIENT);
    let body = fixture_body("nist/xds/invalid-iti41-element-order.xml");
    post_soap(&server, "/xds/repository", ITI41, &body)
        .assert_failure_with("XDSRepositoryMetadataError");
    assert_eq!(row_counts(&server), vec![0, 0, 0, 0, 0]);
    assert!(blobs(&server).is_empty());
}

#[test]
fn openxds_xfrm_after_a_first_submission() {
    let server = Server::start();
    let patient = "c4d77e21d0dd487^^^&1.3.6.1.4.1.21367.2005.3.7&ISO";
    add_patient(&server, patient);
    let mut first = submission(&[("1.42.20090805172839.100", b"original")]);
    let pid = PatientId::parse(patient).unwrap();
    first.submission_set.patient_id = pid.clone();
    first.documents[0].patient_id = pid;
    provide(&server, &first).assert_success();
    let target = entry(&server, "1.42.20090805172839.100").unwrap();

    let text = fixture_body("openxds/xds/template-iti41-transformation-XFRM.xml")
        .replace("$XDSDocumentEntry.uniqueId", "1.42.20090805172839.1")
        .replace("$XDSSubmissionSet.uniqueId", "1.42.20090805172839.2")
        .replace("$tran_doc_uuid", &target.entry_uuid)
        .replace(
            "$patientId",
            "c4d77e21d0dd487^^^&amp;1.3.6.1.4.1.21367.2005.3.7&amp;ISO",
        );
    use base64::Engine;
    let doc = base64::engine::general_purpose::STANDARD.encode(b"GIF89a transformed");
    let close = "</axis2ns1:ProvideAndRegisterDocumentSetRequest>";
    let text = text.replace(
        close,
        &format!("<axis2ns1:Document id=\"doc1\">{doc}</axis2ns1:Document>{close}"),
    );
    post_soap(&server, "/xds/repository", ITI41, &text).assert_success();
    assert_eq!(
        entry(&server, "1.42.20090805172839.100").unwrap().status,
        APPROVED,
        "XFRM leaves the target Approved"
    );
    assert_eq!(
        entry(&server, "1.42.20090805172839.1").unwrap().status,
        APPROVED
    );
}

#[test]
fn nist_iti43_retrieves_two_documents_submitted_first() {
    let server = Server::start();
    add_patient(&server, PATIENT);
    let (a, b): (&[u8], &[u8]) = (b"first document", b"second <document> \x00\xff bytes");
    provide(
        &server,
        &submission(&[("1.42.20120430135820.36", a), ("1.42.20120430135820.38", b)]),
    )
    .assert_success();
    let query = fixture_body("nist/xds/template-iti43-retrieve-two-documents/query.xml")
        .replace("$repuid$", REPO)
        .replace("$docuid1$", "1.42.20120430135820.36")
        .replace("$docuid2$", "1.42.20120430135820.38");
    let (o, docs) = retrieve(&server, &query);
    o.assert_success();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0].0, "1.42.20120430135820.36");
    assert_eq!(docs[0].2, Bytes::from_static(a));
    assert_eq!(docs[1].2, Bytes::from_static(b));
    assert_eq!(docs[0].1, "text/plain");

    let events = audit_of(&server, "ITI-43");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_id.as_deref(), Some("110106"));
    assert!(
        events[0]
            .object_ids
            .contains(&"1.42.20120430135820.38".to_owned())
    );
}

#[test]
fn nist_iti43_invalid_element_order_returns_no_document() {
    let server = Server::start();
    let body = fixture_body("nist/xds/invalid-iti43-element-order.xml");
    let (o, docs) = retrieve(&server, &body);
    o.assert_failure_with("XDSRepositoryError");
    assert!(docs.is_empty());
}

// ---------------------------------------------------------------------------------------------
// One test per error code of the submission path
// ---------------------------------------------------------------------------------------------

#[test]
fn iti41_error_codes() {
    let server = Server::start();
    // Unknown patient.
    provide(&server, &submission(&[("1.42.1.1", b"x")])).assert_failure_with("XDSUnknownPatientId");
    add_patient(&server, PATIENT);

    // Hash and size that are not the document's.
    let mut s = submission(&[("1.42.1.2", b"content")]);
    s.documents[0].hash = Some(Sha1Hex::digest(b"other content"));
    provide(&server, &s).assert_failure_with("XDSNonIdenticalHash");
    let mut s = submission(&[("1.42.1.3", b"content")]);
    s.documents[0].size = Some(3);
    provide(&server, &s).assert_failure_with("XDSNonIdenticalSize");
    // Correct hash and size are accepted.
    let mut s = submission(&[("1.42.1.4", b"content")]);
    s.documents[0].hash = Some(Sha1Hex::digest(b"content"));
    s.documents[0].size = Some(7);
    provide(&server, &s).assert_success();

    // The same uniqueId twice in one message, and once more in the registry.
    provide(
        &server,
        &submission(&[("1.42.1.5", b"a"), ("1.42.1.5", b"b")]),
    )
    .assert_failure_with("XDSRepositoryDuplicateUniqueIdInMessage");
    provide(&server, &submission(&[("1.42.1.4", b"again")]))
        .assert_failure_with("XDSDuplicateUniqueIdInRegistry");

    // A DocumentEntry without its document, a document without its DocumentEntry.
    let mut s = submission(&[("1.42.1.6", b"a")]);
    s.contents.clear();
    provide(&server, &s).assert_failure_with("XDSMissingDocument");
    let mut s = submission(&[("1.42.1.7", b"a")]);
    s.contents.push(xds::DocumentContent {
        entry_uuid: RegistryObjectId::parse("Document99").unwrap(),
        bytes: Bytes::from_static(b"orphan"),
    });
    provide(&server, &s).assert_failure_with("XDSMissingDocumentMetadata");

    // Replacing an unknown entry.
    let mut s = submission(&[("1.42.1.8", b"a")]);
    s.associations.push(relationship(
        AssociationType::Rplc,
        "urn:uuid:00000000-0000-4000-8000-000000000001",
    ));
    provide(&server, &s).assert_failure_with("XDSReplaceFailed");

    // Only 1.42.1.4 was stored; failed submissions left nothing.
    assert_eq!(row_counts(&server)[1], 1);
    assert_eq!(blobs(&server).len(), 1);
    let failures = audit_of(&server, "ITI-41")
        .iter()
        .filter(|e| e.outcome == Some(8))
        .count();
    assert_eq!(
        failures, 8,
        "each failed submission is audited as a failure"
    );
}

#[test]
fn rplc_deprecates_the_original_and_a_deprecated_target_cannot_be_replaced() {
    let server = Server::start();
    add_patient(&server, PATIENT);
    provide(&server, &submission(&[("1.42.2.1", b"v1")])).assert_success();
    let original = entry(&server, "1.42.2.1").unwrap();

    let mut s = submission(&[("1.42.2.2", b"v2")]);
    s.associations
        .push(relationship(AssociationType::Rplc, &original.entry_uuid));
    provide(&server, &s).assert_success();
    assert_eq!(entry(&server, "1.42.2.1").unwrap().status, DEPRECATED);
    assert_eq!(entry(&server, "1.42.2.2").unwrap().status, APPROVED);

    // The deprecated original cannot be replaced again, nor appended to.
    for t in [AssociationType::Rplc, AssociationType::Apnd] {
        let mut s = submission(&[("1.42.2.3", b"v3")]);
        s.associations.push(relationship(t, &original.entry_uuid));
        provide(&server, &s).assert_failure_with("XDSReplaceFailed");
    }
    assert!(entry(&server, "1.42.2.3").is_none());
    // The association is registered with the target's UUID.
    let mut conn = connect(server.db_url.as_deref().unwrap());
    let n: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM xds_associations WHERE target_uuid = $1 AND association_type LIKE '%RPLC'",
    )
    .bind::<Text, _>(&original.entry_uuid)
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(n.n, 1);
}

#[test]
fn a_submission_failing_late_leaves_no_row_and_no_blob() {
    let server = Server::start();
    add_patient(&server, PATIENT);
    provide(&server, &submission(&[("1.42.3.1", b"kept")])).assert_success();
    let before_rows = row_counts(&server);
    let before_blobs = blobs(&server);
    // Both documents pass every check before the database transaction; inside it, the second
    // uniqueId is found registered: the blob of the first (new bytes) must go again, the blob
    // of the second (the bytes of "kept") must stay.
    let o = provide(
        &server,
        &submission(&[("1.42.3.2", b"new bytes"), ("1.42.3.1", b"kept")]),
    );
    o.assert_failure_with("XDSDuplicateUniqueIdInRegistry");
    assert_eq!(row_counts(&server), before_rows);
    assert_eq!(blobs(&server), before_blobs);
    assert!(entry(&server, "1.42.3.2").is_none());
    // What was kept is still served.
    let (o, docs) = retrieve(&server, &retrieve_body(&[(REPO, "1.42.3.1")]));
    o.assert_success();
    assert_eq!(docs[0].2, Bytes::from_static(b"kept"));
}

#[test]
fn iti43_partial_success_names_each_missing_document() {
    let server = Server::start();
    add_patient(&server, PATIENT);
    provide(&server, &submission(&[("1.42.4.1", b"here")])).assert_success();
    let (o, docs) = retrieve(
        &server,
        &retrieve_body(&[
            (REPO, "1.42.4.1"),
            (REPO, "1.42.4.404"),
            ("1.2.3.4.5.6.7", "1.42.4.1"),
        ]),
    );
    assert_eq!(o.status, PARTIAL, "{}", o.text);
    assert_eq!(
        o.codes(),
        vec!["XDSDocumentUniqueIdError", "XDSUnknownRepositoryId"],
        "{}",
        o.text
    );
    assert!(
        o.text.contains("1.42.4.404"),
        "codeContext names the document"
    );
    assert_eq!(docs.len(), 1);
    // Nothing found: Failure.
    let (o, docs) = retrieve(&server, &retrieve_body(&[(REPO, "1.42.4.405")]));
    o.assert_failure_with("XDSDocumentUniqueIdError");
    assert!(docs.is_empty());
    let events = audit_of(&server, "ITI-43");
    assert_eq!(
        events.iter().map(|e| e.outcome).collect::<Vec<_>>(),
        vec![Some(4), Some(8)]
    );
}

#[test]
fn responses_carry_no_internal_detail() {
    let server = Server::start();
    add_patient(&server, PATIENT);
    let o = post_soap(
        &server,
        "/xds/repository",
        ITI41,
        "<xdsb:ProvideAndRegisterDocumentSetRequest xmlns:xdsb=\"urn:ihe:iti:xds-b:2007\"/>",
    );
    o.assert_failure_with("XDSRepositoryMetadataError");
    for word in ["panic", "diesel", "src/", "backtrace", "postgres"] {
        assert!(!o.text.to_lowercase().contains(word), "{word}: {}", o.text);
    }
}

// ---------------------------------------------------------------------------------------------
// Interop: zeep, built from the served WSDL, does ITI-41 then ITI-43
// ---------------------------------------------------------------------------------------------

#[test]
fn zeep_provides_finds_and_retrieves_through_the_served_wsdls() {
    let server = Server::start();
    add_patient(&server, PATIENT);
    let s = submission(&[("1.42.5.1", b"<ClinicalDocument>zeep</ClinicalDocument>")]);
    let metadata = xds::to_ebxml::submit_objects_request(&s)
        .to_xml(ebxml::EncodeOptions::INLINE)
        .xml;
    let dir = tempfile::tempdir().unwrap();
    let meta_path = dir.path().join("metadata.xml");
    std::fs::write(&meta_path, metadata).unwrap();
    let out = std::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/interop/zeep_xds.py"
        ))
        .arg(server.url("/xds/repository?wsdl"))
        .arg(&meta_path)
        .arg("Document01")
        .arg("<ClinicalDocument>zeep</ClinicalDocument>")
        .arg(REPO)
        .arg("1.42.5.1")
        .arg(PATIENT)
        .output()
        .expect("python3 (Debian python3) must be installed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "zeep failed: {stderr}\n{stdout}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["provide_status"], SUCCESS, "{stdout}");
    assert_eq!(v["query_status"], SUCCESS, "{stdout}");
    let refs = v["query_refs"].as_array().unwrap();
    assert_eq!(
        refs.len(),
        1,
        "FindDocuments finds the one document: {stdout}"
    );
    assert!(
        refs[0].as_str().unwrap().starts_with("urn:uuid:"),
        "{stdout}"
    );
    assert_eq!(v["retrieve_status"], SUCCESS, "{stdout}");
    assert_eq!(
        v["document"], "<ClinicalDocument>zeep</ClinicalDocument>",
        "{stdout}"
    );
    assert_eq!(v["mime_type"], "text/plain", "{stdout}");
    assert_eq!(audit_of(&server, "ITI-41").len(), 1);
    assert_eq!(audit_of(&server, "ITI-18").len(), 1);
    assert_eq!(audit_of(&server, "ITI-43").len(), 1);
}
