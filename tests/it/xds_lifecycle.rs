//! The XDS lifecycle end to end against the real server: ITI-62 Delete Document Set (the NIST
//! 30002 Folder template and each exception), ITI-57 Update Document Set (new DocumentEntry
//! version, version mismatch, availabilityStatus changes, atomicity), Folder lastUpdateTime, and
//! the audit events (110110 Patient Record, U / D).
//!
//! Patients are inserted with SQL (ITI-44 will feed the `patients` table later).

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamp};

use hiehub::ebxml::{self, WireMessage};
use hiehub::xds::{
    self, Association, AssociationType, Oid, PatientId, RegistryObjectId, Slot, Submission,
    SubmissionSetStatus,
};

use crate::harness::*;

const ITI42: &str = "urn:ihe:iti:2007:RegisterDocumentSet-b";
const ITI57: &str = "urn:ihe:iti:2010:UpdateDocumentSet";
const ITI62: &str = "urn:ihe:iti:2010:DeleteDocumentSet";
const SUCCESS: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success";
const FAILURE: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure";
const APPROVED: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved";
const DEPRECATED: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated";

/// dcm4chee's ITI-42 fixtures: one DocumentEntry (patient 1), one Folder (patient 2).
const ONE_DOCUMENT: &str = "dcm4chee/xds/valid-iti42-register-one-document.xml";
const FOLDER: &str = "dcm4chee/xds/valid-iti42-create-folder.xml";
const PATIENT_1: &str = "test1234_1^^^&1.2.3.45.4.3.2.1&ISO";
const PATIENT_2: &str = "test1234_2^^^&1.2.3.45.4.3.2.1&ISO";
const DOC: &str = "urn:uuid:aabbccdd-bdda-424e-8c96-df4873be8501";
const DOC_SET: &str = "urn:uuid:aabbccdd-bdda-424e-8c96-df4873be8502";
const DOC_HM: &str = "urn:uuid:aabbccdd-bdda-424e-8c96-df4873be8504";
const FOLDER_ID: &str = "urn:uuid:aabbccdd-bdda-424e-8c96-df4873bf9101";
const FOLDER_SET: &str = "urn:uuid:aabbccdd-bdda-424e-8c96-df4873bf9102";
const FOLDER_HM: &str = "urn:uuid:aabbccdd-bdda-424e-8c96-df4873bf9104";

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

/// The `rs:RegistryResponse` of a reply: status and error codes.
#[derive(Debug)]
struct Outcome {
    status: String,
    codes: Vec<String>,
    text: String,
}

impl Outcome {
    fn assert_success(&self) {
        assert_eq!(self.status, SUCCESS, "{}", self.text);
    }

    fn assert_failure_with(&self, code: &str) {
        assert_eq!(self.status, FAILURE, "{}", self.text);
        assert!(
            self.codes.iter().any(|c| c == code),
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

fn post_soap(server: &Server, action: &str, body: &str) -> Outcome {
    let id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    let resp = client()
        .post(server.url("/xds/registry"))
        .header("content-type", SOAP_CT)
        .body(envelope(action, &id, body))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let text = resp.text().unwrap();
    let start = text.find("RegistryResponse").unwrap_or(0);
    Outcome {
        status: attr_values(&text[start..], "status")
            .first()
            .map(|s| s.to_string())
            .unwrap_or_default(),
        codes: attr_values(&text, "errorCode")
            .into_iter()
            .map(str::to_owned)
            .collect(),
        text,
    }
}

/// A fixture's text without its XML declaration.
fn fixture_body(rel: &str) -> String {
    let text = std::fs::read_to_string(fixture(rel)).unwrap();
    match text.find("?>") {
        Some(i) if text.trim_start().starts_with("<?") => text[i + 2..].trim_start().to_owned(),
        _ => text,
    }
}

/// An ITI-62 request removing `ids`.
fn remove_body(ids: &[&str]) -> String {
    ebxml::RemoveObjectsRequest {
        object_refs: ids.iter().map(|id| ebxml::ObjectRef::new(*id)).collect(),
        ..Default::default()
    }
    .to_xml(ebxml::EncodeOptions::INLINE)
    .xml
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Rows in the SubmissionSet, DocumentEntry, Folder and Association tables.
fn row_counts(server: &Server) -> Vec<i64> {
    let mut conn = connect(server.db_url.as_deref().unwrap());
    [
        "xds_submission_sets",
        "xds_document_entries",
        "xds_folders",
        "xds_associations",
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

#[derive(QueryableByName, Debug, PartialEq, Eq)]
struct Version {
    #[diesel(sql_type = Text)]
    entry_uuid: String,
    #[diesel(sql_type = Integer)]
    version: i32,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Text)]
    unique_id: String,
}

/// The versions of the DocumentEntry with logicalID `lid`, oldest first.
fn versions(server: &Server, lid: &str) -> Vec<Version> {
    let mut conn = connect(server.db_url.as_deref().unwrap());
    diesel::sql_query(
        "SELECT entry_uuid, version, status, unique_id FROM xds_document_entries
          WHERE logical_id = $1 ORDER BY version",
    )
    .bind::<Text, _>(lid)
    .load(&mut conn)
    .unwrap()
}

#[derive(QueryableByName, Debug)]
struct AuditEntry {
    #[diesel(sql_type = Nullable<Text>)]
    event_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    action: Option<String>,
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
        "SELECT event_id, event_action AS action, outcome, event_types, patient_ids, object_ids
           FROM audit_events ORDER BY seq",
    )
    .load::<AuditEntry>(&mut conn)
    .unwrap()
    .into_iter()
    .filter(|e| e.event_types.iter().any(|t| t == code))
    .collect()
}

/// Registers the dcm4chee one-document fixture (DocumentEntry `DOC`, version 1, `PATIENT_1`).
fn register_document(server: &Server) {
    add_patient(server, PATIENT_1);
    post_soap(server, ITI42, &fixture_body(ONE_DOCUMENT)).assert_success();
}

/// The one-document fixture as a domain value.
fn document_submission() -> Submission {
    let body = fixture_body(ONE_DOCUMENT);
    let root = hiehub::xml::parse(body.as_bytes(), &hiehub::xml::Limits::default()).unwrap();
    let req = ebxml::SubmitObjectsRequest::decode(&root).unwrap();
    let (s, problems) = xds::submission_from_register(&req);
    assert!(!xds::has_errors(&problems), "{problems:?}");
    s.unwrap()
}

fn id(s: &str) -> RegistryObjectId {
    RegistryObjectId::parse(s).unwrap()
}

/// An ITI-57 SubmissionSet for `PATIENT_1` with nothing in it yet (fresh ids).
fn update_set() -> Submission {
    let mut s = document_submission();
    s.documents.clear();
    s.associations.clear();
    s.submission_set.entry_uuid = id("SubmissionSet01");
    s.submission_set.unique_id = Oid::parse(&format!(
        "1.2.826.0.1.3680043.2.1125.{}",
        uuid::Uuid::new_v4().as_u128() % 1_000_000_000_000
    ))
    .unwrap();
    s
}

/// Adds a new version of `DOC` (title changed) with PreviousVersion `previous`.
fn add_new_version(s: &mut Submission, previous: &str) {
    let mut d = document_submission().documents.remove(0);
    d.entry_uuid = id("Document01");
    d.logical_id = Some(id(DOC));
    d.comments = None;
    s.documents.push(d);
    s.associations.push(Association {
        entry_uuid: id("HasMember01"),
        association_type: AssociationType::HasMember,
        source: id("SubmissionSet01"),
        target: id("Document01"),
        availability_status: None,
        submission_set_status: Some(SubmissionSetStatus::Original),
        extra_slots: vec![Slot::new("PreviousVersion", [previous])],
    });
}

/// Adds an UpdateAvailabilityStatus association for `target`.
fn add_status_change(s: &mut Submission, target: &str, original: &str, new: &str) {
    s.associations.push(Association {
        entry_uuid: id(&format!("Status{:02}", s.associations.len() + 1)),
        association_type: AssociationType::UpdateAvailabilityStatus,
        source: id("SubmissionSet01"),
        target: id(target),
        availability_status: None,
        submission_set_status: None,
        extra_slots: vec![
            Slot::new("OriginalStatus", [original]),
            Slot::new("NewStatus", [new]),
        ],
    });
}

fn update(server: &Server, s: &Submission) -> Outcome {
    let body = xds::to_ebxml::submit_objects_request(s)
        .to_xml(ebxml::EncodeOptions::INLINE)
        .xml;
    post_soap(server, ITI57, &body)
}

fn status_of(server: &Server, entry_uuid: &str) -> String {
    versions(server, DOC)
        .into_iter()
        .find(|v| v.entry_uuid == entry_uuid)
        .map(|v| v.status)
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// ITI-62 Delete Document Set
// ---------------------------------------------------------------------------------------------

/// NIST 30002 (remove, Folder case): the README's three steps against the ids a first
/// submission (SubmissionSet + Folder + HasMember) was registered with.
#[test]
fn nist_iti62_remove_folder_three_steps() {
    let server = Server::start();
    add_patient(&server, PATIENT_2);
    post_soap(&server, ITI42, &fixture_body(FOLDER)).assert_success();
    assert_eq!(row_counts(&server), vec![1, 0, 1, 1]);
    let template = |file: &str| {
        fixture_body(&format!("nist/xds/template-iti62-remove-folder/{file}"))
            .replace("$SubmissionSet01$", FOLDER_SET)
            .replace("$Folder01$", FOLDER_ID)
            .replace("$AssociationHM01$", FOLDER_HM)
    };

    post_soap(&server, ITI62, &template("remove.xml"))
        .assert_failure_with("ReferencesExistException");
    assert_eq!(row_counts(&server), vec![1, 0, 1, 1], "nothing removed");

    post_soap(&server, ITI62, &template("remove_fd.xml"))
        .assert_failure_with("UnreferencedObjectException");
    assert_eq!(row_counts(&server), vec![1, 0, 1, 1], "nothing removed");

    post_soap(&server, ITI62, &template("remove_all.xml")).assert_success();
    assert_eq!(row_counts(&server), vec![0, 0, 0, 0], "everything removed");

    let events = audit_of(&server, "ITI-62");
    assert_eq!(events.len(), 3, "{events:?}");
    for e in &events {
        assert_eq!(e.event_id.as_deref(), Some("110110"), "{e:?}");
        assert_eq!(e.action.as_deref(), Some("D"), "{e:?}");
        assert!(
            e.patient_ids.iter().any(|p| p.starts_with("test1234_2^^^")),
            "{e:?}"
        );
    }
    let outcomes: Vec<Option<i16>> = events.iter().map(|e| e.outcome).collect();
    assert_eq!(outcomes, vec![Some(8), Some(8), Some(0)]);
    assert!(
        events[2]
            .object_ids
            .iter()
            .any(|o| o == "1.42.20120601170229.53"),
        "the SubmissionSet removed is named: {events:?}"
    );
}

#[test]
fn iti62_unresolved_references_are_refused() {
    let server = Server::start();
    register_document(&server);
    let unknown = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    let o = post_soap(
        &server,
        ITI62,
        &remove_body(&[DOC, DOC_HM, DOC_SET, &unknown]),
    );
    o.assert_failure_with("UnresolvedReferenceException");
    assert!(o.text.contains(&unknown), "the id is named: {}", o.text);
    post_soap(&server, ITI62, &remove_body(&["Document01"]))
        .assert_failure_with("UnresolvedReferenceException");
    assert_eq!(row_counts(&server), vec![1, 1, 0, 1], "nothing removed");
}

#[test]
fn iti62_a_document_goes_only_with_its_references() {
    let server = Server::start();
    register_document(&server);
    // The DocumentEntry alone: its SubmissionSet's HasMember still references it.
    let o = post_soap(&server, ITI62, &remove_body(&[DOC]));
    o.assert_failure_with("ReferencesExistException");
    assert!(
        o.text.contains(DOC_HM),
        "the association is named: {}",
        o.text
    );
    // The HasMember alone: DocumentEntry and SubmissionSet would be referenced by nothing.
    let o = post_soap(&server, ITI62, &remove_body(&[DOC_HM]));
    o.assert_failure_with("UnreferencedObjectException");
    assert!(o.text.contains(DOC), "{}", o.text);
    // DocumentEntry and HasMember: the SubmissionSet would be left without members.
    post_soap(&server, ITI62, &remove_body(&[DOC, DOC_HM]))
        .assert_failure_with("UnreferencedObjectException");
    assert_eq!(row_counts(&server), vec![1, 1, 0, 1], "nothing removed");
    // Everything: removed, and its uniqueIds free again.
    post_soap(&server, ITI62, &remove_body(&[DOC_SET, DOC, DOC_HM])).assert_success();
    assert_eq!(row_counts(&server), vec![0, 0, 0, 0]);
    post_soap(&server, ITI42, &fixture_body(ONE_DOCUMENT)).assert_success();
}

// ---------------------------------------------------------------------------------------------
// ITI-57 Update Document Set
// ---------------------------------------------------------------------------------------------

#[test]
fn iti57_new_version_deprecates_the_previous_one() {
    let server = Server::start();
    register_document(&server);
    let mut s = update_set();
    add_new_version(&mut s, "1");
    update(&server, &s).assert_success();

    let v = versions(&server, DOC);
    assert_eq!(v.len(), 2, "{v:?}");
    assert_eq!((v[0].entry_uuid.as_str(), v[0].version), (DOC, 1));
    assert_eq!(v[0].status, DEPRECATED);
    assert_eq!(v[1].version, 2);
    assert_eq!(v[1].status, APPROVED);
    assert!(v[1].entry_uuid.starts_with("urn:uuid:") && v[1].entry_uuid != DOC);
    assert_eq!(
        v[0].unique_id, v[1].unique_id,
        "versions share the uniqueId"
    );

    let mut conn = connect(server.db_url.as_deref().unwrap());
    let n: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM xds_submission_sets WHERE transaction = 'ITI-57'",
    )
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(n.n, 1, "the update's SubmissionSet is kept");

    // The same update again names a version that is no longer the latest.
    let mut again = update_set();
    add_new_version(&mut again, "1");
    update(&server, &again).assert_failure_with("XDSMetadataVersionError");
    // Version 2 can be updated.
    let mut third = update_set();
    add_new_version(&mut third, "2");
    update(&server, &third).assert_success();
    let v = versions(&server, DOC);
    let statuses: Vec<(i32, &str)> = v.iter().map(|v| (v.version, v.status.as_str())).collect();
    assert_eq!(
        statuses,
        vec![(1, DEPRECATED), (2, DEPRECATED), (3, APPROVED)]
    );

    let events = audit_of(&server, "ITI-57");
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[0].event_id.as_deref(), Some("110110"));
    assert_eq!(events[0].action.as_deref(), Some("U"));
    let outcomes: Vec<Option<i16>> = events.iter().map(|e| e.outcome).collect();
    assert_eq!(outcomes, vec![Some(0), Some(8), Some(0)]);
    assert!(
        events[0]
            .patient_ids
            .iter()
            .any(|p| p.starts_with("test1234_1^^^")),
        "{events:?}"
    );
    assert!(
        events[0].object_ids.contains(&v[0].unique_id),
        "the document is named: {events:?}"
    );
}

#[test]
fn iti57_version_mismatch_is_refused_and_changes_nothing() {
    let server = Server::start();
    register_document(&server);
    let before = row_counts(&server);
    let mut s = update_set();
    add_new_version(&mut s, "7");
    let o = update(&server, &s);
    o.assert_failure_with("XDSMetadataVersionError");
    assert!(o.text.contains("PreviousVersion is 7"), "{}", o.text);
    assert_eq!(row_counts(&server), before);
    assert_eq!(status_of(&server, DOC), APPROVED);

    // No PreviousVersion at all.
    let mut s = update_set();
    add_new_version(&mut s, "1");
    s.associations[0].extra_slots.clear();
    let o = update(&server, &s);
    o.assert_failure_with("XDSMetadataUpdateError");
    assert!(o.text.contains("PreviousVersion slot"), "{}", o.text);
    assert_eq!(row_counts(&server), before);

    // The document itself may not change: another hash is refused.
    let mut s = update_set();
    add_new_version(&mut s, "1");
    s.documents[0].hash = Some(xds::Sha1Hex::digest(b"another document"));
    let o = update(&server, &s);
    o.assert_failure_with("XDSMetadataUpdateError");
    assert!(o.text.contains("hash may not change"), "{}", o.text);
    assert_eq!(row_counts(&server), before);
}

#[test]
fn iti57_availability_status_changes() {
    let server = Server::start();
    register_document(&server);
    let mut s = update_set();
    add_status_change(&mut s, DOC, APPROVED, DEPRECATED);
    update(&server, &s).assert_success();
    assert_eq!(status_of(&server, DOC), DEPRECATED);

    // OriginalStatus must be the current status.
    let mut s = update_set();
    add_status_change(&mut s, DOC, APPROVED, DEPRECATED);
    let o = update(&server, &s);
    o.assert_failure_with("XDSMetadataUpdateError");
    assert!(o.text.contains("OriginalStatus is"), "{}", o.text);
    assert_eq!(status_of(&server, DOC), DEPRECATED);

    // And back.
    let mut s = update_set();
    add_status_change(&mut s, DOC, DEPRECATED, APPROVED);
    update(&server, &s).assert_success();
    assert_eq!(status_of(&server, DOC), APPROVED);

    // An unknown target.
    let mut s = update_set();
    let unknown = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    add_status_change(&mut s, &unknown, APPROVED, DEPRECATED);
    let o = update(&server, &s);
    o.assert_failure_with("XDSMetadataUpdateError");
    assert!(o.text.contains(&unknown), "{}", o.text);
    assert_eq!(audit_of(&server, "ITI-57").len(), 4);
}

/// A request whose last operation fails registers none of the others.
#[test]
fn iti57_a_failing_update_changes_nothing() {
    let server = Server::start();
    register_document(&server);
    let before = row_counts(&server);
    let mut s = update_set();
    add_new_version(&mut s, "2");
    add_status_change(&mut s, FOLDER_ID, APPROVED, DEPRECATED);
    let o = update(&server, &s);
    o.assert_failure_with("XDSMetadataVersionError");
    o.assert_failure_with("XDSMetadataUpdateError");
    assert!(
        o.text.contains("no registered object has entryUUID"),
        "{}",
        o.text
    );
    assert_eq!(row_counts(&server), before);
    assert_eq!(versions(&server, DOC).len(), 1);
    assert_eq!(status_of(&server, DOC), APPROVED);
}

#[test]
fn iti57_operations_hiehub_does_not_perform_are_refused() {
    let server = Server::start();
    register_document(&server);
    // A new DocumentEntry (no lid): ITI-57 registers versions only.
    let mut s = update_set();
    add_new_version(&mut s, "1");
    s.documents[0].logical_id = None;
    let o = update(&server, &s);
    o.assert_failure_with("XDSMetadataUpdateOperationError");
    assert!(o.text.contains("new versions only"), "{}", o.text);
    // A status change of an Association.
    let mut s = update_set();
    add_status_change(&mut s, DOC_HM, APPROVED, DEPRECATED);
    let o = update(&server, &s);
    o.assert_failure_with("XDSMetadataUpdateOperationError");
    assert!(
        o.text
            .contains("the membership of a SubmissionSet is what was submitted"),
        "{}",
        o.text
    );
    assert_eq!(row_counts(&server), vec![1, 1, 0, 1]);
}

fn get_folder_and_contents(server: &Server, extra_slots: &str) -> Outcome {
    let body = format!(
        r#"<query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><query:ResponseOption returnComposedObjects="true" returnType="ObjectRef"/><rim:AdhocQuery id="urn:uuid:b909a503-523d-4517-8acf-8e5834dfc4c7"><rim:Slot name="$XDSFolderEntryUUID"><rim:ValueList><rim:Value>'{FOLDER_ID}'</rim:Value></rim:ValueList></rim:Slot>{extra_slots}</rim:AdhocQuery></query:AdhocQueryRequest>"#
    );
    post_soap(server, "urn:ihe:iti:2007:RegistryStoredQuery", &body)
}

/// ITI-57 Update Association Status: deprecating a Folder's HasMember association takes the
/// document out of the Folder for stored queries (unless `$XDSAssociationStatus` asks for
/// Deprecated associations) and moves the Folder's lastUpdateTime.
#[test]
fn iti57_association_status_takes_a_document_out_of_a_folder() {
    let server = Server::start();
    add_patient(&server, PATIENT_2);
    post_soap(&server, ITI42, &fixture_body(FOLDER)).assert_success();
    let membership = format!(
        r#"<rim:Association associationType="urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember" id="FolderMember01" objectType="urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Association" sourceObject="{FOLDER_ID}" targetObject="{DOC}"/>
    </rim:RegistryObjectList>"#
    );
    let body = fixture_body(ONE_DOCUMENT)
        .replace("test1234_1", "test1234_2")
        .replace("</rim:RegistryObjectList>", &membership);
    post_soap(&server, ITI42, &body).assert_success();
    let before = get_folder_and_contents(&server, "");
    before.assert_success();
    assert!(before.text.contains(DOC), "{}", before.text);

    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = Text)]
        entry_uuid: String,
    }
    let mut conn = connect(server.db_url.as_deref().unwrap());
    let member: Id = diesel::sql_query(
        "SELECT entry_uuid FROM xds_associations WHERE source_uuid = $1 AND target_uuid = $2",
    )
    .bind::<Text, _>(FOLDER_ID)
    .bind::<Text, _>(DOC)
    .get_result(&mut conn)
    .unwrap();
    set_last_update_time_to_2000(&server);
    let old = last_update_time(&server);

    let p2 = PatientId::parse(PATIENT_2).unwrap();
    // The wrong patient is refused.
    add_patient(&server, PATIENT_1);
    let mut s = update_set();
    add_status_change(&mut s, &member.entry_uuid, APPROVED, DEPRECATED);
    update(&server, &s).assert_failure_with("XDSPatientIDReconciliationError");
    // The Folder's patient: done.
    let mut s = update_set();
    s.submission_set.patient_id = p2;
    add_status_change(&mut s, &member.entry_uuid, APPROVED, DEPRECATED);
    update(&server, &s).assert_success();
    assert!(last_update_time(&server) > old);

    let after = get_folder_and_contents(&server, "");
    after.assert_success();
    assert!(!after.text.contains(DOC), "{}", after.text);
    assert!(after.text.contains(FOLDER_ID), "{}", after.text);
    let both = get_folder_and_contents(
        &server,
        &format!(
            r#"<rim:Slot name="$XDSAssociationStatus"><rim:ValueList><rim:Value>('{APPROVED}','{DEPRECATED}')</rim:Value></rim:ValueList></rim:Slot>"#
        ),
    );
    both.assert_success();
    assert!(both.text.contains(DOC), "{}", both.text);
    assert!(both.text.contains(&member.entry_uuid), "{}", both.text);

    // $MetadataLevel is 1 or 2.
    let bad = get_folder_and_contents(
        &server,
        r#"<rim:Slot name="$MetadataLevel"><rim:ValueList><rim:Value>3</rim:Value></rim:ValueList></rim:Slot>"#,
    );
    bad.assert_failure_with("XDSRegistryError");
    assert!(bad.text.contains("$MetadataLevel"), "{}", bad.text);
    get_folder_and_contents(
        &server,
        r#"<rim:Slot name="$MetadataLevel"><rim:ValueList><rim:Value>2</rim:Value></rim:ValueList></rim:Slot>"#,
    )
    .assert_success();
}

// ---------------------------------------------------------------------------------------------
// Folder lastUpdateTime
// ---------------------------------------------------------------------------------------------

#[derive(QueryableByName)]
struct LastUpdate {
    #[diesel(sql_type = Timestamp)]
    last_update_time: chrono::NaiveDateTime,
}

fn last_update_time(server: &Server) -> chrono::NaiveDateTime {
    let mut conn = connect(server.db_url.as_deref().unwrap());
    diesel::sql_query("SELECT last_update_time FROM xds_folders WHERE entry_uuid = $1")
        .bind::<Text, _>(FOLDER_ID)
        .get_result::<LastUpdate>(&mut conn)
        .unwrap()
        .last_update_time
}

fn set_last_update_time_to_2000(server: &Server) {
    let mut conn = connect(server.db_url.as_deref().unwrap());
    diesel::sql_query("UPDATE xds_folders SET last_update_time = '2000-01-01 00:00:00'")
        .execute(&mut conn)
        .unwrap();
}

/// A document added to a registered Folder (ITI-42 HasMember Folder → DocumentEntry) moves the
/// Folder's lastUpdateTime; a new version (ITI-57) becomes a member too and moves it again.
#[test]
fn folder_last_update_time_moves_when_documents_are_added() {
    let server = Server::start();
    add_patient(&server, PATIENT_2);
    post_soap(&server, ITI42, &fixture_body(FOLDER)).assert_success();
    set_last_update_time_to_2000(&server);
    let old = last_update_time(&server);

    let membership = format!(
        r#"<rim:Association associationType="urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember" id="FolderMember01" objectType="urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Association" sourceObject="{FOLDER_ID}" targetObject="{DOC}"/>
    </rim:RegistryObjectList>"#
    );
    let body = fixture_body(ONE_DOCUMENT)
        .replace("test1234_1", "test1234_2")
        .replace("</rim:RegistryObjectList>", &membership);
    post_soap(&server, ITI42, &body).assert_success();
    let added = last_update_time(&server);
    assert!(added > old, "{added} after {old}");

    set_last_update_time_to_2000(&server);
    let mut s = update_set();
    add_new_version(&mut s, "1");
    let p2 = PatientId::parse(PATIENT_2).unwrap();
    s.submission_set.patient_id = p2.clone();
    s.documents[0].patient_id = p2;
    update(&server, &s).assert_success();
    assert!(last_update_time(&server) > old);
    let new_version = versions(&server, DOC).remove(1).entry_uuid;
    let mut conn = connect(server.db_url.as_deref().unwrap());
    let n: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM xds_associations WHERE source_uuid = $1 AND target_uuid = $2",
    )
    .bind::<Text, _>(FOLDER_ID)
    .bind::<Text, _>(&new_version)
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(n.n, 1, "the new version is a member of the Folder");
}
