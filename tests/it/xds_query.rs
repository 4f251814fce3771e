//! ITI-18 Registry Stored Query end to end against the real server: the NIST FindDocuments
//! fixtures, every stored query with its parameter combinations (ObjectRef and LeafClass, code
//! OR/AND, time ranges, status after RPLC), the result limit, and the error codes.
//!
//! Documents are submitted with ITI-41 (domain values encoded with `xds::to_ebxml`); patients are
//! inserted with SQL as in `xds.rs`.

use std::collections::BTreeSet;

use bytes::Bytes;
use diesel::prelude::*;
use diesel::sql_types::{Array, Nullable, Text};

use hiehub::ebxml::{self, WireMessage};
use hiehub::xds::{
    self, Association, AssociationType, Code, DtmTime, Folder, InternationalText, PatientId,
    RegistryObjectId, Submission, SubmissionSetStatus, UniqueId, Xcn, vocabulary as v,
};

use crate::harness::*;

const ITI18: &str = "urn:ihe:iti:2007:RegistryStoredQuery";
const ITI41: &str = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b";
const SUCCESS: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success";
const FAILURE: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure";
const APPROVED: &str = "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')";
const DEPRECATED: &str = "('urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated')";
const STATUS_DEPRECATED: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated";
const RPLC: &str = "('urn:ihe:iti:2007:AssociationType:RPLC')";

const FIND_DOCUMENTS: &str = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d";
const FIND_DOCUMENTS_BY_REFERENCE_ID: &str = "urn:uuid:12941a89-e02e-4be5-967c-ce4bfc8fe492";
const FIND_SUBMISSION_SETS: &str = "urn:uuid:f26abbcb-ac74-4422-8a30-edb644bbc1a9";
const FIND_FOLDERS: &str = "urn:uuid:958f3006-baad-4929-a4de-ff1114824431";
const GET_ALL: &str = "urn:uuid:10b545ea-725c-446d-9b95-8aeb444eddf3";
const GET_DOCUMENTS: &str = "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4";
const GET_FOLDERS: &str = "urn:uuid:5737b14c-8a1a-4539-b659-e03a34a5e1e4";
const GET_ASSOCIATIONS: &str = "urn:uuid:a7ae438b-4bc2-4642-93e9-be891f7bb155";
const GET_DOCUMENTS_AND_ASSOCIATIONS: &str = "urn:uuid:bab9529a-4a10-40b3-a01f-f68a615d247a";
const GET_SUBMISSION_SETS: &str = "urn:uuid:51224314-5390-4169-9b91-b1980040715a";
const GET_SUBMISSION_SET_AND_CONTENTS: &str = "urn:uuid:e8e3cb2c-e39c-46b9-99e4-c12f57260b83";
const GET_FOLDER_AND_CONTENTS: &str = "urn:uuid:b909a503-523d-4517-8acf-8e5834dfc4c7";
const GET_FOLDERS_FOR_DOCUMENT: &str = "urn:uuid:10cae35a-c7f9-4cf5-b61e-fc3278ffb578";
const GET_RELATED_DOCUMENTS: &str = "urn:uuid:d90e5407-b356-4d91-a89f-873917b4b0e6";

const PATIENT: &str = "SR7^^^&1.2.260&ISO";
const OTHER: &str = "OTHER1^^^&1.2.260&ISO";
const NIST_PATIENT: &str = "c4d77e21d0dd487^^^&1.3.6.1.4.1.21367.2005.3.7&ISO";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn add_patient(server: &Server, cx: &str) {
    let p = PatientId::parse(cx).unwrap();
    let mut conn = connect(server.db_url.as_deref().unwrap());
    diesel::sql_query("INSERT INTO patients (assigning_authority, patient_id) VALUES ($1, $2)")
        .bind::<Text, _>(p.authority.as_str())
        .bind::<Text, _>(&p.id)
        .execute(&mut conn)
        .unwrap();
}

fn post(server: &Server, action: &str, body: &str) -> String {
    let id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    let resp = client()
        .post(server.url("/xds/registry"))
        .header("content-type", SOAP_CT)
        .body(envelope(action, &id, body))
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().unwrap();
    assert_eq!(status, 200, "{text}");
    text
}

/// A decoded `query:AdhocQueryResponse`.
#[derive(Debug)]
struct Answer {
    status: String,
    codes: Vec<String>,
    objects: Vec<ebxml::Identifiable>,
    text: String,
}

impl Answer {
    fn ok(self) -> Answer {
        assert_eq!(self.status, SUCCESS, "{}", self.text);
        self
    }

    fn fails_with(&self, code: &str) {
        assert_eq!(self.status, FAILURE, "{}", self.text);
        assert!(
            self.codes.iter().any(|c| c == code),
            "{code}: {}",
            self.text
        );
        assert!(self.objects.is_empty(), "{}", self.text);
        assert!(!self.text.contains("XDSRegistryMetadataError"));
    }

    /// The uniqueIds of the DocumentEntries (LeafClass).
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

    /// (ExtrinsicObjects, RegistryPackages, Associations, ObjectRefs).
    fn shape(&self) -> (usize, usize, usize, usize) {
        let mut n = (0, 0, 0, 0);
        for o in &self.objects {
            match o {
                ebxml::Identifiable::ExtrinsicObject(_) => n.0 += 1,
                ebxml::Identifiable::RegistryPackage(_) => n.1 += 1,
                ebxml::Identifiable::Association(_) => n.2 += 1,
                ebxml::Identifiable::ObjectRef(_) => n.3 += 1,
                _ => panic!("unexpected object {o:?}"),
            }
        }
        n
    }

    fn ids(&self) -> BTreeSet<String> {
        self.objects.iter().map(|o| o.id().to_owned()).collect()
    }
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

/// Runs stored query `id`; each `(name, values)` is one slot.
fn query(server: &Server, id: &str, return_type: &str, params: &[(&str, &[&str])]) -> Answer {
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
    let body = request.to_xml(ebxml::EncodeOptions::INLINE).xml;
    decode_answer(post(server, ITI18, &body))
}

fn quoted(s: &str) -> String {
    format!("'{s}'")
}

fn list(items: &[&str]) -> String {
    let inner: Vec<String> = items.iter().map(|s| quoted(s)).collect();
    format!("({})", inner.join(","))
}

fn fixture_body(rel: &str) -> String {
    let text = std::fs::read_to_string(fixture(rel)).unwrap();
    let start = text.find("<query:AdhocQueryRequest").unwrap();
    text[start..].to_owned()
}

const INLINE_DIR: &str = "nist/xds/valid-iti41-multipart-inline-base64";

fn template_submission() -> Submission {
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

fn fresh_oid() -> String {
    format!(
        "1.2.826.0.1.3680043.2.1125.{}",
        uuid::Uuid::new_v4().as_u128() % 1_000_000_000_000
    )
}

/// A submission for `patient` with one document per uniqueId.
fn submission(patient: &str, unique_ids: &[&str]) -> Submission {
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
    for (i, uid) in unique_ids.iter().enumerate() {
        let id = RegistryObjectId::parse(&format!("Document{:02}", i + 1)).unwrap();
        let mut d = base_doc.clone();
        d.entry_uuid = id.clone();
        d.unique_id = UniqueId::parse(uid).unwrap();
        d.patient_id = pid.clone();
        d.hash = None;
        d.size = None;
        s.documents.push(d);
        s.contents.push(xds::DocumentContent {
            entry_uuid: id.clone(),
            bytes: Bytes::from(format!("content of {uid}")),
        });
        let mut a = base_assoc.clone();
        a.entry_uuid = RegistryObjectId::parse(&format!("HasMember{:02}", i + 1)).unwrap();
        a.target = id;
        a.submission_set_status = Some(SubmissionSetStatus::Original);
        s.associations.push(a);
    }
    s
}

fn provide(server: &Server, s: &Submission) {
    let body = xds::to_ebxml::provide_and_register_request(s)
        .to_xml(ebxml::EncodeOptions::INLINE)
        .xml;
    let text = post_repository(server, &body);
    assert!(
        text.contains(&format!("status=\"{SUCCESS}\""))
            && !text.contains("ErrorSeverityType:Error"),
        "{text}"
    );
}

fn post_repository(server: &Server, body: &str) -> String {
    let id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    client()
        .post(server.url("/xds/repository"))
        .header("content-type", SOAP_CT)
        .body(envelope(ITI41, &id, body))
        .send()
        .unwrap()
        .text()
        .unwrap()
}

fn code(c: &str) -> Code {
    Code {
        code: c.to_owned(),
        scheme: "1.2.3.99".to_owned(),
        display: Some(c.to_owned()),
    }
}

fn key(c: &str) -> String {
    format!("{c}^^^1.2.3.99")
}

#[derive(QueryableByName)]
struct Uuid {
    #[diesel(sql_type = Text)]
    entry_uuid: String,
}

/// The entryUUID the registry gave the DocumentEntry / SubmissionSet / Folder `unique_id`.
fn uuid_of(server: &Server, table: &str, unique_id: &str) -> String {
    let mut conn = connect(server.db_url.as_deref().unwrap());
    diesel::sql_query(format!(
        "SELECT entry_uuid FROM {table} WHERE unique_id = $1"
    ))
    .bind::<Text, _>(unique_id)
    .get_result::<Uuid>(&mut conn)
    .unwrap()
    .entry_uuid
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

fn iti18_audit(server: &Server) -> Vec<AuditEntry> {
    let mut conn = connect(server.db_url.as_deref().unwrap());
    diesel::sql_query(
        "SELECT event_id, outcome, event_types, patient_ids, object_ids FROM audit_events ORDER BY seq",
    )
    .load::<AuditEntry>(&mut conn)
    .unwrap()
    .into_iter()
    .filter(|e| e.event_types.iter().any(|t| t == "ITI-18"))
    .collect()
}

// ---------------------------------------------------------------------------------------------
// NIST fixtures
// ---------------------------------------------------------------------------------------------

#[test]
fn nist_find_documents_after_matching_submission() {
    let server = Server::start();
    add_patient(&server, NIST_PATIENT);
    // The fixture asks for classCode 'value^^scheme' (two carets): read as value^^^scheme.
    let mut s = submission(NIST_PATIENT, &["1.42.18.1.1", "1.42.18.1.2"]);
    s.documents[0].class_code = Code {
        code: "value".into(),
        scheme: "scheme".into(),
        display: Some("value".into()),
    };
    provide(&server, &s);

    let a = decode_answer(post(
        &server,
        ITI18,
        &fixture_body("nist/xds/valid-iti18-finddocuments.xml"),
    ))
    .ok();
    assert_eq!(a.documents(), BTreeSet::from(["1.42.18.1.1".to_owned()]));
    assert_eq!(a.shape(), (1, 0, 0, 0));
    // LeafClass: the metadata as registered plus what the registry added.
    let list = ebxml::RegistryObjectList {
        objects: a.objects.clone(),
    };
    let e = list.extrinsic_objects().next().unwrap();
    assert_eq!(
        e.object.status.as_deref(),
        Some("urn:oasis:names:tc:ebxml-regrep:StatusType:Approved")
    );
    for slot in [
        "creationTime",
        "hash",
        "size",
        "repositoryUniqueId",
        "languageCode",
    ] {
        assert!(e.object.slot_values(slot).is_some(), "{slot}: {}", a.text);
    }
    assert!(e.object.id.starts_with("urn:uuid:"));
    assert!(!e.object.classifications.is_empty());

    let bad = decode_answer(post(
        &server,
        ITI18,
        &fixture_body("nist/xds/invalid-iti18-status-not-in-parentheses.xml"),
    ));
    bad.fails_with("XDSRegistryError");
    assert!(bad.text.contains("$XDSDocumentEntryStatus"), "{}", bad.text);

    let events = iti18_audit(&server);
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].event_id.as_deref(), Some("110112"));
    assert_eq!(events[0].outcome, Some(0));
    assert!(
        events[0]
            .patient_ids
            .iter()
            .any(|p| p.starts_with("c4d77e21d0dd487^^^")),
        "{events:?}"
    );
    assert_eq!(events[1].outcome, Some(8));
    assert!(
        events
            .iter()
            .all(|e| e.object_ids.iter().any(|o| o == FIND_DOCUMENTS)),
        "the query is a participant object (its AdhocQueryRequest as ParticipantObjectQuery): {events:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// FindDocuments: every parameter, OR/AND, times, status after RPLC
// ---------------------------------------------------------------------------------------------

#[test]
fn find_documents_parameter_combinations() {
    let server = Server::start();
    add_patient(&server, PATIENT);
    let mut s = submission(PATIENT, &["1.42.18.2.1", "1.42.18.2.2", "1.42.18.2.3"]);
    let docs = &mut s.documents;
    docs[0].class_code = code("A");
    docs[0].event_codes = vec![code("E1"), code("E2")];
    docs[0].confidentiality_codes = vec![code("N")];
    docs[0].creation_time = Some(DtmTime::parse("20200101").unwrap());
    docs[0].service_start_time = Some(DtmTime::parse("2019").unwrap());
    docs[0].authors[0].person = Xcn::parse("^Smith^John^^^");
    docs[0].type_code = code("T1");
    docs[1].class_code = code("B");
    docs[1].event_codes = vec![code("E1")];
    docs[1].confidentiality_codes = vec![code("R")];
    docs[1].creation_time = Some(DtmTime::parse("20210615").unwrap());
    docs[1].service_start_time = Some(DtmTime::parse("2021").unwrap());
    docs[1].authors[0].person = Xcn::parse("^Jones^Ann^^^");
    docs[1].type_code = code("T2");
    docs[2].class_code = code("A");
    docs[2].event_codes = vec![code("E2")];
    docs[2].confidentiality_codes = vec![code("N"), code("R")];
    docs[2].creation_time = Some(DtmTime::parse("20220101120000").unwrap());
    docs[2].service_start_time = Some(DtmTime::parse("2022").unwrap());
    docs[2].authors[0].person = Xcn::parse("^Smithers^Bob^^^");
    docs[2].type_code = code("T1");
    provide(&server, &s);

    let patient = quoted(PATIENT);
    let pat: [&str; 1] = [patient.as_str()];
    let find = |extra: &[(&str, &[&str])]| -> BTreeSet<String> {
        let mut params: Vec<(&str, &[&str])> = vec![
            ("$XDSDocumentEntryPatientId", &pat),
            ("$XDSDocumentEntryStatus", &[APPROVED]),
        ];
        params.extend_from_slice(extra);
        query(&server, FIND_DOCUMENTS, "LeafClass", &params)
            .ok()
            .documents()
    };
    let set = |ids: &[&str]| -> BTreeSet<String> {
        ids.iter().map(|i| format!("1.42.18.2.{i}")).collect()
    };

    // ObjectRef vs LeafClass.
    let refs = query(
        &server,
        FIND_DOCUMENTS,
        "ObjectRef",
        &[
            ("$XDSDocumentEntryPatientId", &[&patient]),
            ("$XDSDocumentEntryStatus", &[APPROVED]),
        ],
    )
    .ok();
    assert_eq!(refs.shape(), (0, 0, 0, 3), "{}", refs.text);
    assert_eq!(find(&[]), set(&["1", "2", "3"]));

    // Single-valued codes: OR within a slot; two slots AND.
    let (a, b) = (list(&[&key("A")]), list(&[&key("B")]));
    let ab = list(&[&key("A"), &key("B")]);
    assert_eq!(
        find(&[("$XDSDocumentEntryClassCode", &[&a])]),
        set(&["1", "3"])
    );
    assert_eq!(
        find(&[("$XDSDocumentEntryClassCode", &[&ab])]),
        set(&["1", "2", "3"])
    );
    // Several Values in one slot are one OR list too.
    assert_eq!(
        find(&[("$XDSDocumentEntryClassCode", &[&a, &b])]),
        set(&["1", "2", "3"])
    );
    assert_eq!(
        find(&[
            ("$XDSDocumentEntryClassCode", &[&a]),
            ("$XDSDocumentEntryClassCode", &[&b])
        ]),
        set(&[])
    );
    assert_eq!(
        find(&[
            ("$XDSDocumentEntryClassCode", &[&a]),
            ("$XDSDocumentEntryTypeCode", &[&list(&[&key("T1")])])
        ]),
        set(&["1", "3"])
    );

    // Event codes: ('E1','E2') ORed; slot ('E1') AND slot ('E2').
    let e1 = list(&[&key("E1")]);
    let e2 = list(&[&key("E2")]);
    let e12 = list(&[&key("E1"), &key("E2")]);
    assert_eq!(
        find(&[("$XDSDocumentEntryEventCodeList", &[&e12])]),
        set(&["1", "2", "3"])
    );
    assert_eq!(
        find(&[
            ("$XDSDocumentEntryEventCodeList", &[&e1]),
            ("$XDSDocumentEntryEventCodeList", &[&e2])
        ]),
        set(&["1"])
    );
    // Confidentiality codes, same semantics.
    assert_eq!(
        find(&[
            (
                "$XDSDocumentEntryConfidentialityCode",
                &[&list(&[&key("N")])]
            ),
            (
                "$XDSDocumentEntryConfidentialityCode",
                &[&list(&[&key("R")])]
            )
        ]),
        set(&["3"])
    );

    // Times: From inclusive, To exclusive; bare numbers and quoted values.
    assert_eq!(
        find(&[("$XDSDocumentEntryCreationTimeFrom", &["2021"])]),
        set(&["2", "3"])
    );
    assert_eq!(
        find(&[
            ("$XDSDocumentEntryCreationTimeFrom", &["20200101"]),
            ("$XDSDocumentEntryCreationTimeTo", &["'20210615'"])
        ]),
        set(&["1"])
    );
    assert_eq!(
        find(&[("$XDSDocumentEntryCreationTimeTo", &["20210615000001"])]),
        set(&["1", "2"])
    );
    assert_eq!(
        find(&[
            ("$XDSDocumentEntryServiceStartTimeFrom", &["2020"]),
            ("$XDSDocumentEntryServiceStartTimeTo", &["2022"])
        ]),
        set(&["2"])
    );

    // Author person with LIKE wildcards, ORed within the slot.
    assert_eq!(
        find(&[("$XDSDocumentEntryAuthorPerson", &["('%Smith%')"])]),
        set(&["1", "3"])
    );
    assert_eq!(
        find(&[("$XDSDocumentEntryAuthorPerson", &["('%Smith^%')"])]),
        set(&["1"])
    );
    assert_eq!(
        find(&[("$XDSDocumentEntryAuthorPerson", &["('^J_nes%','%Bob%')"])]),
        set(&["2", "3"])
    );

    // DocumentEntry type: on-demand finds none of these stable entries.
    let on_demand = list(&[v::DOCUMENT_ENTRY_ON_DEMAND]);
    let both = list(&[v::DOCUMENT_ENTRY_ON_DEMAND, v::DOCUMENT_ENTRY_STABLE]);
    assert_eq!(find(&[("$XDSDocumentEntryType", &[&on_demand])]), set(&[]));
    assert_eq!(
        find(&[("$XDSDocumentEntryType", &[&both])]),
        set(&["1", "2", "3"])
    );
    // Format, practice setting and facility codes of the template are the same for all three.
    let t = template_submission();
    let format = list(&[&hiehub::xds::registry::code_key(
        &t.documents[0].format_code,
    )]);
    assert_eq!(
        find(&[("$XDSDocumentEntryFormatCode", &[&format])]),
        set(&["1", "2", "3"])
    );
    assert_eq!(
        find(&[("$XDSDocumentEntryFormatCode", &[&list(&["nope^^^1.2"])])]),
        set(&[])
    );

    // RPLC: the replaced entry leaves the Approved answer and appears with Deprecated.
    let original = uuid_of(&server, "xds_document_entries", "1.42.18.2.1");
    let mut r = submission(PATIENT, &["1.42.18.2.4"]);
    r.associations.push(Association {
        entry_uuid: RegistryObjectId::parse("rplc").unwrap(),
        association_type: AssociationType::Rplc,
        source: RegistryObjectId::parse("Document01").unwrap(),
        target: RegistryObjectId::parse(&original).unwrap(),
        availability_status: None,
        submission_set_status: None,
        extra_slots: Vec::new(),
    });
    provide(&server, &r);
    assert_eq!(find(&[]), set(&["2", "3", "4"]));
    let deprecated = query(
        &server,
        FIND_DOCUMENTS,
        "LeafClass",
        &[
            ("$XDSDocumentEntryPatientId", &[&patient]),
            ("$XDSDocumentEntryStatus", &[DEPRECATED]),
        ],
    )
    .ok();
    assert_eq!(deprecated.documents(), set(&["1"]));
    let list_ = ebxml::RegistryObjectList {
        objects: deprecated.objects.clone(),
    };
    assert_eq!(
        list_
            .extrinsic_objects()
            .next()
            .unwrap()
            .object
            .status
            .as_deref(),
        Some(STATUS_DEPRECATED),
        "the status comes from the registry, not from the XML as submitted"
    );
    let both_status = "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved','urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated')";
    assert_eq!(
        query(
            &server,
            FIND_DOCUMENTS,
            "LeafClass",
            &[
                ("$XDSDocumentEntryPatientId", &[&patient]),
                ("$XDSDocumentEntryStatus", &[both_status]),
            ],
        )
        .ok()
        .documents(),
        set(&["1", "2", "3", "4"])
    );

    // GetRelatedDocuments: the new entry, the replaced one and the RPLC association.
    let new = uuid_of(&server, "xds_document_entries", "1.42.18.2.4");
    let related = query(
        &server,
        GET_RELATED_DOCUMENTS,
        "LeafClass",
        &[
            ("$XDSDocumentEntryEntryUUID", &[&quoted(&new)]),
            ("$AssociationTypes", &[RPLC]),
        ],
    )
    .ok();
    assert_eq!(related.documents(), set(&["1", "4"]));
    assert_eq!(related.shape(), (2, 0, 1, 0));
    let none = query(
        &server,
        GET_RELATED_DOCUMENTS,
        "ObjectRef",
        &[
            ("$XDSDocumentEntryUniqueId", &["'1.42.18.2.2'"]),
            ("$AssociationTypes", &[RPLC]),
        ],
    )
    .ok();
    assert_eq!(none.shape(), (0, 0, 0, 0), "no relation: empty answer");

    // GetDocuments by uniqueId and by entryUUID; the Deprecated one is returned with its status.
    let got = query(
        &server,
        GET_DOCUMENTS,
        "LeafClass",
        &[(
            "$XDSDocumentEntryUniqueId",
            &["('1.42.18.2.1','1.42.18.2.2')"],
        )],
    )
    .ok();
    assert_eq!(got.documents(), set(&["1", "2"]));
    assert!(got.text.contains(STATUS_DEPRECATED));
    let got = query(
        &server,
        GET_DOCUMENTS,
        "ObjectRef",
        &[("$XDSDocumentEntryEntryUUID", &[&list(&[&original])])],
    )
    .ok();
    assert_eq!(got.ids(), BTreeSet::from([original.clone()]));

    // GetDocumentsAndAssociations: the entry with the RPLC association and its HasMember.
    let da = query(
        &server,
        GET_DOCUMENTS_AND_ASSOCIATIONS,
        "LeafClass",
        &[("$XDSDocumentEntryEntryUUID", &[&list(&[&original])])],
    )
    .ok();
    assert_eq!(da.shape(), (1, 0, 2, 0), "{}", da.text);
}

// ---------------------------------------------------------------------------------------------
// Folders, SubmissionSets, GetAll, reference ids
// ---------------------------------------------------------------------------------------------

fn has_member(id: &str, source: &str, target: &str) -> Association {
    Association {
        entry_uuid: RegistryObjectId::parse(id).unwrap(),
        association_type: AssociationType::HasMember,
        source: RegistryObjectId::parse(source).unwrap(),
        target: RegistryObjectId::parse(target).unwrap(),
        availability_status: None,
        submission_set_status: None,
        extra_slots: Vec::new(),
    }
}

#[test]
fn folder_and_submission_set_queries() {
    let server = Server::start();
    add_patient(&server, PATIENT);
    let mut s = submission(PATIENT, &["1.42.18.3.1", "1.42.18.3.2"]);
    let folder_uid = fresh_oid();
    let set_uid = s.submission_set.unique_id.to_string();
    s.documents[1].reference_id_list =
        vec!["ref-77^^^&1.2.3.4&ISO^urn:ihe:iti:xds:2013:order".into()];
    s.folders.push(Folder {
        entry_uuid: RegistryObjectId::parse("Folder01").unwrap(),
        logical_id: None,
        version: None,
        availability_status: None,
        home_community_id: None,
        patient_id: PatientId::parse(PATIENT).unwrap(),
        unique_id: xds::Oid::parse(&folder_uid).unwrap(),
        code_list: vec![code("FC")],
        last_update_time: None,
        title: Some(InternationalText::plain("a folder")),
        comments: None,
        limited_metadata: false,
        extra_slots: Vec::new(),
    });
    let set_id = s.submission_set.entry_uuid.to_string();
    s.associations
        .push(has_member("HasMemberF", &set_id, "Folder01"));
    s.associations
        .push(has_member("FolderDoc", "Folder01", "Document01"));
    let mut ss_fd = has_member("HasMemberFD", &set_id, "FolderDoc");
    ss_fd.submission_set_status = None;
    s.associations.push(ss_fd);
    provide(&server, &s);
    let folder = uuid_of(&server, "xds_folders", &folder_uid);
    let set = uuid_of(&server, "xds_submission_sets", &set_uid);
    let d1 = uuid_of(&server, "xds_document_entries", "1.42.18.3.1");
    let d2 = uuid_of(&server, "xds_document_entries", "1.42.18.3.2");
    let patient = quoted(PATIENT);

    // FindFolders: status required, code list, lastUpdateTime range.
    let f = query(
        &server,
        FIND_FOLDERS,
        "LeafClass",
        &[
            ("$XDSFolderPatientId", &[&patient]),
            ("$XDSFolderStatus", &[APPROVED]),
            ("$XDSFolderCodeList", &[&list(&[&key("FC")])]),
            ("$XDSFolderLastUpdateTimeFrom", &["2000"]),
        ],
    )
    .ok();
    assert_eq!(f.ids(), BTreeSet::from([folder.clone()]));
    let list_ = ebxml::RegistryObjectList {
        objects: f.objects.clone(),
    };
    let p = list_.registry_packages().next().unwrap();
    assert!(
        p.object.slot_values("lastUpdateTime").is_some(),
        "{}",
        f.text
    );
    let none = query(
        &server,
        FIND_FOLDERS,
        "ObjectRef",
        &[
            ("$XDSFolderPatientId", &[&patient]),
            ("$XDSFolderStatus", &[APPROVED]),
            ("$XDSFolderCodeList", &[&list(&[&key("other")])]),
        ],
    )
    .ok();
    assert!(none.objects.is_empty());

    // GetFolders by uniqueId and entryUUID.
    let g = query(
        &server,
        GET_FOLDERS,
        "ObjectRef",
        &[("$XDSFolderUniqueId", &[&list(&[&folder_uid])])],
    )
    .ok();
    assert_eq!(g.ids(), BTreeSet::from([folder.clone()]));
    let g = query(
        &server,
        GET_FOLDERS,
        "LeafClass",
        &[("$XDSFolderEntryUUID", &[&list(&[&folder])])],
    )
    .ok();
    assert_eq!(g.shape(), (0, 1, 0, 0));

    // GetFolderAndContents: the folder, Document01 and the folder's HasMember.
    let fc = query(
        &server,
        GET_FOLDER_AND_CONTENTS,
        "LeafClass",
        &[("$XDSFolderEntryUUID", &[&quoted(&folder)])],
    )
    .ok();
    assert_eq!(fc.documents(), BTreeSet::from(["1.42.18.3.1".to_owned()]));
    assert_eq!(fc.shape(), (1, 1, 1, 0), "{}", fc.text);

    // GetFoldersForDocument.
    let ff = query(
        &server,
        GET_FOLDERS_FOR_DOCUMENT,
        "ObjectRef",
        &[("$XDSDocumentEntryEntryUUID", &[&quoted(&d1)])],
    )
    .ok();
    assert_eq!(ff.ids(), BTreeSet::from([folder.clone()]));
    let ff = query(
        &server,
        GET_FOLDERS_FOR_DOCUMENT,
        "ObjectRef",
        &[("$XDSDocumentEntryUniqueId", &["'1.42.18.3.2'"])],
    )
    .ok();
    assert!(ff.objects.is_empty());

    // FindSubmissionSets with its optional parameters.
    let fs = query(
        &server,
        FIND_SUBMISSION_SETS,
        "LeafClass",
        &[
            ("$XDSSubmissionSetPatientId", &[&patient]),
            ("$XDSSubmissionSetStatus", &[APPROVED]),
            (
                "$XDSSubmissionSetSourceId",
                &[&list(&[s.submission_set.source_id.as_str()])],
            ),
            ("$XDSSubmissionSetSubmissionTimeFrom", &["1990"]),
        ],
    )
    .ok();
    assert_eq!(fs.ids(), BTreeSet::from([set.clone()]));
    assert_eq!(fs.shape(), (0, 1, 0, 0));
    let fs = query(
        &server,
        FIND_SUBMISSION_SETS,
        "ObjectRef",
        &[
            ("$XDSSubmissionSetPatientId", &[&patient]),
            ("$XDSSubmissionSetStatus", &[APPROVED]),
            ("$XDSSubmissionSetSourceId", &["('9.9.9')"]),
        ],
    )
    .ok();
    assert!(fs.objects.is_empty());

    // GetSubmissionSets: the set that has the document as member, with the association.
    let gs = query(
        &server,
        GET_SUBMISSION_SETS,
        "LeafClass",
        &[("$uuid", &[&list(&[&d2])])],
    )
    .ok();
    assert_eq!(gs.shape(), (0, 1, 1, 0), "{}", gs.text);
    assert!(gs.ids().contains(&set));

    // GetSubmissionSetAndContents: everything of the submission; filtered by format code.
    let sc = query(
        &server,
        GET_SUBMISSION_SET_AND_CONTENTS,
        "LeafClass",
        &[("$XDSSubmissionSetUniqueId", &[&quoted(&set_uid)])],
    )
    .ok();
    assert_eq!(
        sc.documents(),
        BTreeSet::from(["1.42.18.3.1".to_owned(), "1.42.18.3.2".to_owned()])
    );
    assert_eq!(sc.shape(), (2, 2, 5, 0), "{}", sc.text);
    let sc = query(
        &server,
        GET_SUBMISSION_SET_AND_CONTENTS,
        "ObjectRef",
        &[
            ("$XDSSubmissionSetEntryUUID", &[&quoted(&set)]),
            ("$XDSDocumentEntryFormatCode", &[&list(&["nope^^^1.2"])]),
        ],
    )
    .ok();
    assert!(sc.ids().contains(&set) && sc.ids().contains(&folder));
    assert_eq!(
        sc.shape(),
        (0, 0, 0, 3),
        "SS, Folder, SS→Folder: {}",
        sc.text
    );

    // GetAssociations: every association with the folder at one end.
    let ga = query(
        &server,
        GET_ASSOCIATIONS,
        "LeafClass",
        &[("$uuid", &[&list(&[&folder])])],
    )
    .ok();
    assert_eq!(ga.shape(), (0, 0, 2, 0), "{}", ga.text);

    // GetAll: every object of the patient.
    let all = query(
        &server,
        GET_ALL,
        "LeafClass",
        &[
            ("$patientId", &[&patient]),
            ("$XDSDocumentEntryStatus", &[APPROVED]),
            ("$XDSSubmissionSetStatus", &[APPROVED]),
            ("$XDSFolderStatus", &[APPROVED]),
        ],
    )
    .ok();
    assert_eq!(all.shape(), (2, 2, 5, 0), "{}", all.text);

    // FindDocumentsByReferenceId.
    let by_ref = query(
        &server,
        FIND_DOCUMENTS_BY_REFERENCE_ID,
        "LeafClass",
        &[
            ("$XDSDocumentEntryPatientId", &[&patient]),
            ("$XDSDocumentEntryStatus", &[APPROVED]),
            (
                "$XDSDocumentEntryReferenceIdList",
                &["('ref-77^^^&1.2.3.4&ISO^urn:ihe:iti:xds:2013:order')"],
            ),
        ],
    )
    .ok();
    assert_eq!(
        by_ref.documents(),
        BTreeSet::from(["1.42.18.3.2".to_owned()])
    );
    query(
        &server,
        FIND_DOCUMENTS_BY_REFERENCE_ID,
        "LeafClass",
        &[
            ("$XDSDocumentEntryPatientId", &[&patient]),
            ("$XDSDocumentEntryStatus", &[APPROVED]),
        ],
    )
    .fails_with("XDSStoredQueryMissingParam");
}

// ---------------------------------------------------------------------------------------------
// Error codes and the result limit
// ---------------------------------------------------------------------------------------------

#[test]
fn error_codes_and_the_result_limit() {
    let server = Server::start_with(ServerOptions {
        env: vec![("HIEHUB_MAX_QUERY_RESULTS".into(), "2".into())],
        ..ServerOptions::default()
    });
    add_patient(&server, PATIENT);
    add_patient(&server, OTHER);
    provide(
        &server,
        &submission(PATIENT, &["1.42.18.4.1", "1.42.18.4.2", "1.42.18.4.3"]),
    );
    provide(&server, &submission(OTHER, &["1.42.18.4.9"]));
    let patient = quoted(PATIENT);
    let other = quoted(OTHER);

    // Three matches, limit 2: XDSTooManyResults, for ObjectRef as for LeafClass.
    for rt in ["ObjectRef", "LeafClass"] {
        query(
            &server,
            FIND_DOCUMENTS,
            rt,
            &[
                ("$XDSDocumentEntryPatientId", &[&patient]),
                ("$XDSDocumentEntryStatus", &[APPROVED]),
            ],
        )
        .fails_with("XDSTooManyResults");
    }
    // Within the limit, with an unknown parameter ignored.
    let one = query(
        &server,
        FIND_DOCUMENTS,
        "LeafClass",
        &[
            ("$XDSDocumentEntryPatientId", &[&other]),
            ("$XDSDocumentEntryStatus", &[APPROVED]),
            ("$SomethingElse", &["not even ebRS syntax"]),
        ],
    )
    .ok();
    assert_eq!(one.documents(), BTreeSet::from(["1.42.18.4.9".to_owned()]));

    // Unknown query id.
    query(
        &server,
        "urn:uuid:00000000-0000-4000-8000-000000000018",
        "LeafClass",
        &[],
    )
    .fails_with("XDSUnknownStoredQuery");

    // Missing required parameters.
    let missing = query(
        &server,
        FIND_DOCUMENTS,
        "LeafClass",
        &[("$XDSDocumentEntryStatus", &[APPROVED])],
    );
    missing.fails_with("XDSStoredQueryMissingParam");
    assert!(missing.text.contains("$XDSDocumentEntryPatientId"));
    query(
        &server,
        FIND_DOCUMENTS,
        "LeafClass",
        &[("$XDSDocumentEntryPatientId", &[&patient])],
    )
    .fails_with("XDSStoredQueryMissingParam");
    query(&server, GET_DOCUMENTS, "ObjectRef", &[]).fails_with("XDSStoredQueryMissingParam");

    // Single-valued parameters given several values: two slots, two Values, a list of two.
    for params in [
        vec![
            ("$XDSDocumentEntryPatientId", vec![patient.as_str()]),
            ("$XDSDocumentEntryPatientId", vec![other.as_str()]),
        ],
        vec![(
            "$XDSDocumentEntryPatientId",
            vec![patient.as_str(), other.as_str()],
        )],
        vec![
            ("$XDSDocumentEntryPatientId", vec![patient.as_str()]),
            ("$XDSDocumentEntryCreationTimeFrom", vec!["(2020,2021)"]),
        ],
    ] {
        let mut params: Vec<(&str, Vec<&str>)> = params;
        params.push(("$XDSDocumentEntryStatus", vec![APPROVED]));
        let slots: Vec<(&str, &[&str])> = params.iter().map(|(n, v)| (*n, v.as_slice())).collect();
        let a = query(&server, FIND_DOCUMENTS, "LeafClass", &slots);
        a.fails_with("XDSStoredQueryParamNumber");
    }
    // Both entryUUID and uniqueId.
    query(
        &server,
        GET_DOCUMENTS,
        "ObjectRef",
        &[
            ("$XDSDocumentEntryEntryUUID", &["('urn:uuid:1')"]),
            ("$XDSDocumentEntryUniqueId", &["('1.42.18.4.1')"]),
        ],
    )
    .fails_with("XDSStoredQueryParamNumber");

    // A status that is not a list, and a malformed time.
    query(
        &server,
        FIND_DOCUMENTS,
        "LeafClass",
        &[
            ("$XDSDocumentEntryPatientId", &[&other]),
            (
                "$XDSDocumentEntryStatus",
                &["'urn:oasis:names:tc:ebxml-regrep:StatusType:Approved'"],
            ),
        ],
    )
    .fails_with("XDSRegistryError");
    let bad_time = query(
        &server,
        FIND_DOCUMENTS,
        "LeafClass",
        &[
            ("$XDSDocumentEntryPatientId", &[&other]),
            ("$XDSDocumentEntryStatus", &[APPROVED]),
            ("$XDSDocumentEntryCreationTimeFrom", &["2020-01-01"]),
        ],
    );
    bad_time.fails_with("XDSRegistryError");
    assert!(bad_time.text.contains("$XDSDocumentEntryCreationTimeFrom"));

    // LeafClass across two patients; ObjectRef is fine.
    let ids = list(&["1.42.18.4.1", "1.42.18.4.9"]);
    query(
        &server,
        GET_DOCUMENTS,
        "LeafClass",
        &[("$XDSDocumentEntryUniqueId", &[&ids])],
    )
    .fails_with("XDSResultNotSinglePatient");
    let refs = query(
        &server,
        GET_DOCUMENTS,
        "ObjectRef",
        &[("$XDSDocumentEntryUniqueId", &[&ids])],
    )
    .ok();
    assert_eq!(refs.shape(), (0, 0, 0, 2));

    // returnType RegistryObject is not an ITI-18 return type.
    query(
        &server,
        GET_DOCUMENTS,
        "RegistryObject",
        &[("$XDSDocumentEntryUniqueId", &[&ids])],
    )
    .fails_with("XDSRegistryError");

    // Every query is audited (Query 110112), failures as failures.
    let events = iti18_audit(&server);
    assert!(
        events
            .iter()
            .all(|e| e.event_id.as_deref() == Some("110112"))
    );
    assert!(events.iter().any(|e| e.outcome == Some(8)));
    assert!(events.iter().any(|e| e.outcome == Some(0)));
}

// ---------------------------------------------------------------------------------------------
// homeCommunityId on results
// ---------------------------------------------------------------------------------------------

/// Copies the shipped `connectathon` domain into `dir` with a home community id set.
fn domain_with_home(dir: &std::path::Path, home: &str) -> std::path::PathBuf {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/connectathon");
    let dst = dir.join("connectathon");
    std::fs::create_dir_all(dst.join("codes")).unwrap();
    for entry in std::fs::read_dir(src.join("codes")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dst.join("codes").join(entry.file_name())).unwrap();
    }
    let toml = std::fs::read_to_string(src.join("domain.toml")).unwrap();
    let commented = "# home_community_id = \"urn:oid:...\"";
    assert!(toml.contains(commented), "the shipped domain.toml changed");
    let toml = toml.replace(commented, &format!("home_community_id = \"{home}\""));
    std::fs::write(dst.join("domain.toml"), toml).unwrap();
    dst
}

#[test]
fn home_community_id_on_every_result() {
    const HOME: &str = "urn:oid:1.3.6.1.4.1.21367.13.70.200";
    let dir = tempfile::tempdir().unwrap();
    let domain = domain_with_home(dir.path(), HOME);
    let server = Server::start_with(ServerOptions {
        extra_args: vec!["--affinity-domain".into(), domain.display().to_string()],
        ..ServerOptions::default()
    });
    add_patient(&server, PATIENT);
    let s = submission(PATIENT, &["1.42.18.9.1", "1.42.18.9.2"]);
    provide(&server, &s);
    let patient = quoted(PATIENT);
    let home_of = |o: &ebxml::Identifiable| -> Option<String> {
        match o {
            ebxml::Identifiable::ObjectRef(r) => r.home.clone(),
            ebxml::Identifiable::ExtrinsicObject(e) => e.object.home.clone(),
            ebxml::Identifiable::RegistryPackage(p) => p.object.home.clone(),
            ebxml::Identifiable::Association(a) => a.object.home.clone(),
            other => panic!("unexpected {other:?}"),
        }
    };
    for rt in ["LeafClass", "ObjectRef"] {
        let a = query(
            &server,
            FIND_DOCUMENTS,
            rt,
            &[
                ("$XDSDocumentEntryPatientId", &[&patient]),
                ("$XDSDocumentEntryStatus", &[APPROVED]),
            ],
        )
        .ok();
        assert_eq!(a.objects.len(), 2, "{}", a.text);
        for o in &a.objects {
            assert_eq!(home_of(o).as_deref(), Some(HOME), "{rt}: {}", a.text);
        }
    }
    // A submission set with its documents and associations, LeafClass.
    let a = query(
        &server,
        GET_SUBMISSION_SET_AND_CONTENTS,
        "LeafClass",
        &[(
            "$XDSSubmissionSetUniqueId",
            &[&quoted(s.submission_set.unique_id.as_str())],
        )],
    )
    .ok();
    assert_eq!(a.shape(), (2, 1, 2, 0), "{}", a.text);
    for o in &a.objects {
        assert_eq!(home_of(o).as_deref(), Some(HOME), "{}", a.text);
    }

    // Without a home community in the domain, no `home` attribute at all.
    let plain = Server::start();
    add_patient(&plain, PATIENT);
    provide(&plain, &submission(PATIENT, &["1.42.18.9.3"]));
    let a = query(
        &plain,
        FIND_DOCUMENTS,
        "LeafClass",
        &[
            ("$XDSDocumentEntryPatientId", &[&patient]),
            ("$XDSDocumentEntryStatus", &[APPROVED]),
        ],
    )
    .ok();
    assert_eq!(a.objects.len(), 1);
    assert!(home_of(&a.objects[0]).is_none(), "{}", a.text);
    assert!(!a.text.contains(" home="), "{}", a.text);
}
