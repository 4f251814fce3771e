//! `hiehub bench seed`: the rows it writes are answered by ITI-18 like submitted ones (the
//! LeafClass metadata reads back as a valid XDS submission), and a non-empty registry is refused
//! without `--append`.

use std::process::Command;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use hiehub::ebxml::{self, WireMessage};
use hiehub::xds;

use crate::harness::*;

const ITI18: &str = "urn:ihe:iti:2007:RegistryStoredQuery";
const FIND_DOCUMENTS: &str = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d";
const GET_SUBMISSION_SET_AND_CONTENTS: &str = "urn:uuid:e8e3cb2c-e39c-46b9-99e4-c12f57260b83";
const SUCCESS: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success";

fn seed(db: &str, extra: &[&str]) -> std::process::Output {
    Command::new(bin())
        .args(["bench", "seed", "--database-url", db])
        .args(extra)
        .env("HIEHUB_LOG_LEVEL", "warn")
        .output()
        .unwrap()
}

fn query(
    server: &Server,
    id: &str,
    return_type: &str,
    params: &[(&str, &str)],
) -> ebxml::AdhocQueryResponse {
    let request = ebxml::AdhocQueryRequest {
        response_option: ebxml::ResponseOption {
            return_type: ebxml::ReturnType::parse(return_type),
            return_composed_objects: Some(true),
        },
        adhoc_query: ebxml::AdhocQuery {
            object: ebxml::RegistryObject {
                slots: params
                    .iter()
                    .map(|(n, v)| ebxml::Slot::new(*n, [*v]))
                    .collect(),
                ..ebxml::RegistryObject::new(id)
            },
            query_expression: None,
        },
        ..ebxml::AdhocQueryRequest::default()
    };
    let body = request.to_xml(ebxml::EncodeOptions::INLINE).xml;
    let text = client()
        .post(server.url("/xds/registry"))
        .header("content-type", SOAP_CT)
        .body(envelope(
            ITI18,
            &format!("urn:uuid:{}", uuid::Uuid::new_v4()),
            &body,
        ))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let root = hiehub::xml::parse(text.as_bytes(), &hiehub::xml::Limits::default()).unwrap();
    let body = root
        .child(hiehub::soap::SOAP12_NS, "Body")
        .and_then(|b| b.elements().next())
        .unwrap();
    let r = ebxml::AdhocQueryResponse::decode(body).unwrap();
    assert_eq!(r.response.status.as_str(), SUCCESS, "{text}");
    r
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Key {
    #[diesel(sql_type = Text)]
    k: String,
}

fn count(db: &str, table: &str) -> i64 {
    diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
        .get_result::<Count>(&mut connect(db))
        .unwrap()
        .n
}

#[test]
fn seeded_entries_are_answered_like_submitted_ones() {
    let db = fresh_database();
    let out = seed(&db, &["--documents", "25"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("seeded 25 DocumentEntries, 5 SubmissionSets, 25 associations, 3 patients"),
        "{stdout}"
    );
    assert_eq!(count(&db, "xds_document_entries"), 25);
    assert_eq!(count(&db, "patients"), 3);

    // A non-empty registry is refused unless --append.
    let again = seed(&db, &["--documents", "5"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--append"));
    let more = seed(&db, &["--documents", "4", "--per-patient", "2", "--append"]);
    assert!(
        more.status.success(),
        "{}",
        String::from_utf8_lossy(&more.stderr)
    );
    assert_eq!(count(&db, "xds_document_entries"), 29);
    assert_eq!(count(&db, "patients"), 5);

    let patient = diesel::sql_query(
        "SELECT patient_id || '^^^&' || assigning_authority || '&ISO' AS k FROM patients ORDER BY id LIMIT 1",
    )
    .get_result::<Key>(&mut connect(&db))
    .unwrap()
    .k;
    let server = Server::start_with(ServerOptions {
        db_url: Some(db.clone()),
        ..ServerOptions::default()
    });
    let approved = "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')";
    let found = query(
        &server,
        FIND_DOCUMENTS,
        "LeafClass",
        &[
            ("$XDSDocumentEntryPatientId", &format!("'{patient}'")),
            ("$XDSDocumentEntryStatus", approved),
        ],
    );
    assert_eq!(found.objects.extrinsic_objects().count(), 10);
    let refs = query(
        &server,
        FIND_DOCUMENTS,
        "ObjectRef",
        &[
            ("$XDSDocumentEntryPatientId", &format!("'{patient}'")),
            ("$XDSDocumentEntryStatus", approved),
        ],
    );
    assert_eq!(refs.objects.objects.len(), 10);

    // One SubmissionSet with its contents reads back as a valid XDS submission.
    // A set of the first seed (5 documents each; the --append seed made sets of 2).
    let set = diesel::sql_query(
        "SELECT unique_id AS k FROM xds_submission_sets WHERE patient_id = $1 ORDER BY entry_uuid LIMIT 1",
    )
    .bind::<diesel::sql_types::Text, _>(&patient)
    .get_result::<Key>(&mut connect(&db))
    .unwrap()
    .k;
    let contents = query(
        &server,
        GET_SUBMISSION_SET_AND_CONTENTS,
        "LeafClass",
        &[("$XDSSubmissionSetUniqueId", &format!("'{set}'"))],
    );
    let request = ebxml::SubmitObjectsRequest {
        request: ebxml::RegistryRequest::default(),
        objects: contents.objects,
    };
    let (submission, problems) = xds::submission_from_register(&request);
    assert!(!xds::has_errors(&problems), "{problems:?}");
    let submission = submission.unwrap();
    assert_eq!(submission.documents.len(), 5);
    assert_eq!(submission.associations.len(), 5);
    for d in &submission.documents {
        assert_eq!(d.patient_id.to_string(), patient);
        assert!(d.creation_time.is_some() && d.hash.is_some() && d.size.is_some());
    }
}
