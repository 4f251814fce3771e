//! XDS-I.b: RAD-68 (the NIST KOS manifest through ITI-41 on /xds/repository) then RAD-69 on
//! /xds/imaging — partial success per document, transfer syntaxes honoured or refused per
//! document, transcoding, a bad manifest refused as a whole, the audit trail.

use base64::Engine;
use bytes::Bytes;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::harness::*;
use crate::imaging::{phantom, stow};

const ITI41: &str = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b";
const RAD69: &str = "urn:ihe:rad:2009:RetrieveImagingDocumentSet";
const PATIENT_ID: &str = "IDS-AD001-a";
const AUTHORITY: &str = "1.3.6.1.4.1.21367.2005.13.20.1000";
// What the NIST manifest references.
const STUDY: &str = "1.3.6.1.4.1.21367.201599.1.201604020954048";
const SERIES: &str = "1.3.6.1.4.1.21367.201599.2.201604020954048";
const SOP: &str = "1.3.6.1.4.1.21367.201599.3.201604020954048.1";
const KOS_SOP: &str = "2.25.193880843752755703630633023020422049279.999";
const REPO: &str = hiehub::xds::repository::DEFAULT_REPOSITORY_UNIQUE_ID;
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";

fn add_patient(server: &Server) {
    let mut conn = connect(server.db_url.as_deref().expect("db"));
    diesel::sql_query("INSERT INTO patients (assigning_authority, patient_id) VALUES ($1, $2)")
        .bind::<Text, _>(AUTHORITY)
        .bind::<Text, _>(PATIENT_ID)
        .execute(&mut conn)
        .expect("patient");
}

fn count(server: &Server, sql: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = connect(server.db_url.as_deref().expect("db"));
    diesel::sql_query(sql)
        .get_result::<N>(&mut conn)
        .expect("count")
        .n
}

/// ITI-41 (RAD-68) with the NIST metadata and `kos` as Document01, inline base64.
fn provide(server: &Server, kos: &[u8]) -> String {
    provide_with(
        server,
        kos,
        &fixture("nist/xds-i/rad68-kos-single-image/metadata.xml"),
    )
}

fn provide_with(server: &Server, kos: &[u8], metadata: &std::path::Path) -> String {
    let metadata = std::fs::read_to_string(metadata).expect("metadata");
    let metadata = metadata
        .trim_start()
        .trim_start_matches(|c| c != '<')
        .to_owned();
    let metadata = match metadata.strip_prefix("<?xml") {
        Some(rest) => rest[rest.find("?>").map_or(0, |i| i + 2)..].to_owned(),
        None => metadata,
    };
    let body = format!(
        "<xdsb:ProvideAndRegisterDocumentSetRequest xmlns:xdsb=\"urn:ihe:iti:xds-b:2007\">{metadata}\
<xdsb:Document id=\"Document01\">{}</xdsb:Document></xdsb:ProvideAndRegisterDocumentSetRequest>",
        base64::engine::general_purpose::STANDARD.encode(kos)
    );
    let id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    let resp = client()
        .post(server.url("/xds/repository"))
        .header("content-type", SOAP_CT)
        .body(envelope(ITI41, &id, &body))
        .send()
        .expect("ITI-41");
    assert_eq!(resp.status().as_u16(), 200);
    resp.text().expect("text")
}

fn rad69_body(docs: &[(&str, &str, &str)], syntaxes: &[&str]) -> String {
    let mut s = String::from(
        "<iherad:RetrieveImagingDocumentSetRequest xmlns:iherad=\"urn:ihe:rad:xdsi-b:2009\" xmlns:xdsb=\"urn:ihe:iti:xds-b:2007\">",
    );
    for (study, series, sop) in docs {
        s.push_str(&format!(
            "<iherad:StudyRequest studyInstanceUID=\"{study}\"><iherad:SeriesRequest seriesInstanceUID=\"{series}\">\
<xdsb:DocumentRequest><xdsb:RepositoryUniqueId>{REPO}</xdsb:RepositoryUniqueId><xdsb:DocumentUniqueId>{sop}</xdsb:DocumentUniqueId></xdsb:DocumentRequest>\
</iherad:SeriesRequest></iherad:StudyRequest>"
        ));
    }
    s.push_str("<iherad:TransferSyntaxUIDList>");
    for t in syntaxes {
        s.push_str(&format!(
            "<iherad:TransferSyntaxUID>{t}</iherad:TransferSyntaxUID>"
        ));
    }
    s.push_str("</iherad:TransferSyntaxUIDList></iherad:RetrieveImagingDocumentSetRequest>");
    s
}

/// RAD-69: (status, error codes, documents (uid, bytes)).
fn rad69(server: &Server, body: &str) -> (String, Vec<String>, Vec<(String, Bytes)>) {
    let id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    let resp = client()
        .post(server.url("/xds/imaging"))
        .header("content-type", SOAP_CT)
        .body(envelope(RAD69, &id, body))
        .send()
        .expect("RAD-69");
    assert_eq!(resp.status().as_u16(), 200);
    let ct = resp.headers()["content-type"]
        .to_str()
        .expect("ct")
        .to_owned();
    assert!(
        ct.starts_with("multipart/related"),
        "RAD-69 answers MTOM: {ct}"
    );
    let raw = resp.bytes().expect("body");
    let parts =
        hiehub::soap::mtom::decode(&ct, &raw, hiehub::soap::mtom::Limits::default()).expect("mtom");
    let mut root =
        hiehub::xml::parse(&parts.root.body, &hiehub::xml::Limits::default()).expect("xml");
    hiehub::soap::envelope::resolve_xop(&mut root, &parts).expect("xop");
    let body = root
        .child(hiehub::soap::SOAP12_NS, "Body")
        .and_then(|b| b.elements().next())
        .expect("body");
    use hiehub::ebxml::WireMessage;
    let r = hiehub::ebxml::RetrieveDocumentSetResponse::decode(body).expect("response");
    let status = match &r.response.status {
        hiehub::ebxml::ResponseStatus::Success => "Success".to_owned(),
        hiehub::ebxml::ResponseStatus::Failure => "Failure".to_owned(),
        hiehub::ebxml::ResponseStatus::IhePartialSuccess
        | hiehub::ebxml::ResponseStatus::PartialSuccess => "PartialSuccess".to_owned(),
        hiehub::ebxml::ResponseStatus::Other(o) => o.clone(),
    };
    let codes = r
        .response
        .errors
        .map(|l| l.errors.into_iter().map(|e| e.error_code).collect())
        .unwrap_or_default();
    let docs = r
        .documents
        .into_iter()
        .map(|d| {
            assert_eq!(d.mime_type, "application/dicom");
            (d.document_unique_id, d.bytes)
        })
        .collect();
    (status, codes, docs)
}

/// A phantom slice re-labelled with the study, series and SOP instance the manifest names.
fn referenced_instance() -> Vec<u8> {
    let series = phantom(1, 32);
    let mut obj = hiehub::imaging::parse::read_object(&series.files[0]).expect("phantom");
    let s = |v: &str| PrimitiveValue::from(v);
    obj.put(DataElement::new(tags::STUDY_INSTANCE_UID, VR::UI, s(STUDY)));
    obj.put(DataElement::new(
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        s(SERIES),
    ));
    obj.put(DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, s(SOP)));
    obj.put(DataElement::new(
        tags::SOP_CLASS_UID,
        VR::UI,
        s("1.2.840.10008.5.1.4.1.1.1"),
    ));
    obj.put(DataElement::new(tags::PATIENT_ID, VR::LO, s(PATIENT_ID)));
    obj.put(DataElement::new(
        tags::ISSUER_OF_PATIENT_ID,
        VR::LO,
        s(AUTHORITY),
    ));
    obj.update_meta(|m| {
        m.media_storage_sop_instance_uid = SOP.into();
        m.media_storage_sop_class_uid = "1.2.840.10008.5.1.4.1.1.1".into();
    });
    let mut out = Vec::new();
    obj.write_all(&mut out).expect("write");
    out
}

#[test]
fn rad68_then_rad69_round_trip() {
    let server = Server::start();
    add_patient(&server);
    let kos = std::fs::read(fixture(
        "nist/xds-i/rad68-kos-single-image/kos_modified.dcm",
    ))
    .expect("kos");

    // RAD-68: the manifest is registered, its references and itself indexed
    let text = provide(&server, &kos);
    assert!(text.contains("ResponseStatusType:Success"), "{text}");
    assert_eq!(
        count(
            &server,
            "SELECT count(*) AS n FROM imaging_manifest_references WHERE study_instance_uid = '1.3.6.1.4.1.21367.201599.1.201604020954048'"
        ),
        1
    );
    assert_eq!(
        count(
            &server,
            &format!(
                "SELECT count(*) AS n FROM imaging_instances WHERE sop_instance_uid = '{KOS_SOP}'"
            )
        ),
        1,
        "the KOS is itself a stored instance"
    );

    // the instance the manifest names is not held yet: a per-document error, not a fault
    let (status, codes, docs) = rad69(
        &server,
        &rad69_body(&[(STUDY, SERIES, SOP)], &[EXPLICIT_LE]),
    );
    assert_eq!(status, "Failure");
    assert_eq!(codes, vec!["XDSDocumentUniqueIdError"]);
    assert!(docs.is_empty());

    // the hospital sends the image (STOW-RS); RAD-69 now returns it, and reports the other one
    let image = referenced_instance();
    let (s, answer) = stow(&server, "/dicomweb/studies", std::slice::from_ref(&image));
    assert_eq!(s, 200, "{answer}");
    let (status, codes, docs) = rad69(
        &server,
        &rad69_body(
            &[(STUDY, SERIES, SOP), (STUDY, SERIES, "1.2.3.4.5.6.7")],
            &["1.2.840.10008.1.2.4.50", EXPLICIT_LE],
        ),
    );
    assert_eq!(status, "PartialSuccess");
    assert_eq!(codes, vec!["XDSDocumentUniqueIdError"]);
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].0, SOP);
    assert_eq!(&docs[0].1[..], &image[..], "returned byte for byte");

    // a transfer syntax the source cannot give: the proper per-document error
    let (status, codes, _) = rad69(
        &server,
        &rad69_body(&[(STUDY, SERIES, SOP)], &["1.2.840.10008.1.2.4.90"]),
    );
    assert_eq!(status, "Failure");
    assert_eq!(codes, vec!["urn:dicom:wado:0007"]);

    // a JPEG baseline instance asked for in Explicit VR Little Endian is transcoded
    let jpeg = std::fs::read(fixture("pydicom/dicom/SC_rgb_jpeg_dcmtk.dcm")).expect("jpeg");
    let (s, _) = stow(&server, "/dicomweb/studies", std::slice::from_ref(&jpeg));
    assert_eq!(s, 200);
    let obj = hiehub::imaging::parse::read_object(&jpeg).expect("jpeg parses");
    let i = hiehub::imaging::parse::instance(&obj).expect("instance");
    let (status, _, docs) = rad69(
        &server,
        &rad69_body(
            &[(
                i.study_instance_uid.as_str(),
                i.series_instance_uid.as_str(),
                i.sop_instance_uid.as_str(),
            )],
            &[EXPLICIT_LE],
        ),
    );
    assert_eq!(status, "Success");
    let out = hiehub::imaging::parse::read_object(&docs[0].1).expect("transcoded parses");
    assert_eq!(
        out.meta().transfer_syntax().trim_end_matches('\0'),
        EXPLICIT_LE
    );
    let a = hiehub::render::decode(&jpeg, 0).expect("decode original");
    let b = hiehub::render::decode(&docs[0].1, 0).expect("decode transcoded");
    assert_eq!(a.rgb, b.rgb, "transcoding keeps the decoded pixels");

    // audit: RAD-69 exports, success and failure
    let rows = audit_rows(server.db_url.as_deref().expect("db"));
    let exports: Vec<_> = rows
        .iter()
        .filter(|r| r.0 == "110106" && r.4.as_deref() == Some("RAD-69"))
        .collect();
    assert_eq!(exports.len(), 4, "{rows:?}");
    assert!(exports.iter().any(|r| r.1 == 0) && exports.iter().any(|r| r.1 == 4));

    // lifecycle: the source replaces the manifest (RPLC) with one that no longer names the
    // instance (e.g. it was rejected); RAD-69 follows the new manifest
    let old_entry: String = {
        #[derive(QueryableByName)]
        struct E {
            #[diesel(sql_type = Text)]
            entry_uuid: String,
        }
        let mut conn = connect(server.db_url.as_deref().expect("db"));
        diesel::sql_query(
            "SELECT entry_uuid FROM xds_document_entries WHERE unique_id = '1.42.20161103091815.2'",
        )
        .get_result::<E>(&mut conn)
        .expect("registered manifest")
        .entry_uuid
    };
    let replacement_kos = replace_bytes(
        &replace_bytes(&kos, SOP.as_bytes(), OTHER_SOP.as_bytes()),
        KOS_SOP.as_bytes(),
        NEW_KOS_SOP.as_bytes(),
    );
    let text = provide_replacement(&server, &replacement_kos, &old_entry);
    assert!(text.contains("ResponseStatusType:Success"), "{text}");
    let (status, codes, docs) = rad69(
        &server,
        &rad69_body(&[(STUDY, SERIES, SOP)], &[EXPLICIT_LE]),
    );
    assert_eq!(
        status, "Failure",
        "the withdrawn instance is no longer given out"
    );
    assert_eq!(codes, vec!["XDSDocumentUniqueIdError"]);
    assert!(docs.is_empty());
}

const OTHER_SOP: &str = "1.3.6.1.4.1.21367.201599.3.201604020954048.2";
const NEW_KOS_SOP: &str = "2.25.193880843752755703630633023020422049279.998";

/// `bytes` with every occurrence of `from` replaced by `to` (same length: DICOM lengths hold).
fn replace_bytes(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = bytes.to_vec();
    let mut i = 0;
    while i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to);
            i += from.len();
        } else {
            i += 1;
        }
    }
    out
}

/// RAD-68 of a replacement manifest: the NIST metadata with new uniqueIds and object UUIDs,
/// and an RPLC association to `old_entry`.
fn provide_replacement(server: &Server, kos: &[u8], old_entry: &str) -> String {
    let metadata = std::fs::read_to_string(fixture(
        "nist/xds-i/rad68-kos-single-image/metadata.xml",
    ))
    .expect("metadata")
    .replace("1.42.20161103091815.2", "1.42.20161103091815.20")
    .replace("1.42.20161103091815.3", "1.42.20161103091815.30")
    .replace(
        "urn:uuid:5ecf6ec9-6dbc-4267-a8dc-ea073c407f78",
        &format!("urn:uuid:{}", uuid::Uuid::new_v4()),
    )
    .replace(
        "urn:uuid:b5d91d3f-f7dd-4c06-9441-9e6d743509c1",
        &format!("urn:uuid:{}", uuid::Uuid::new_v4()),
    )
    .replace(
        "urn:uuid:e7a282eb-816c-4456-b8cc-c7117f7747e6",
        &format!("urn:uuid:{}", uuid::Uuid::new_v4()),
    )
    .replace(
        "</rim:RegistryObjectList>",
        &format!(
            "<rim:Association associationType=\"urn:ihe:iti:2007:AssociationType:RPLC\" sourceObject=\"Document01\" targetObject=\"{old_entry}\" id=\"rplc01\" objectType=\"urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Association\"/></rim:RegistryObjectList>"
        ),
    );
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("metadata.xml");
    std::fs::write(&path, metadata).expect("write");
    provide_with(server, kos, &path)
}

#[test]
fn a_manifest_that_is_not_a_kos_fails_the_whole_submission() {
    let server = Server::start();
    add_patient(&server);
    let not_kos = phantom(1, 16).files.remove(0);
    let text = provide(&server, &not_kos);
    assert!(text.contains("ResponseStatusType:Failure"), "{text}");
    assert!(text.contains("XDSRepositoryMetadataError"), "{text}");
    assert!(text.contains("Key Object Selection"), "{text}");
    assert_eq!(
        count(&server, "SELECT count(*) AS n FROM xds_document_entries"),
        0
    );
    assert_eq!(
        count(
            &server,
            "SELECT count(*) AS n FROM imaging_manifest_references"
        ),
        0
    );
}

/// The NIST KOS with its Evidence Sequence replaced: `study` / `series` / `sops` (CT Image
/// Storage), and SOP Instance UID `kos_sop` (same length as the NIST one).
fn kos_referencing(kos: &[u8], kos_sop: &str, study: &str, series: &str, sops: &[&str]) -> Vec<u8> {
    use dicom_core::value::DataSetSequence;
    use dicom_object::InMemDicomObject;
    let s = |v: &str| PrimitiveValue::from(v);
    let mut obj = hiehub::imaging::parse::read_object(kos).expect("KOS");
    let refs: Vec<InMemDicomObject> = sops
        .iter()
        .map(|sop| {
            InMemDicomObject::from_element_iter([
                DataElement::new(
                    tags::REFERENCED_SOP_CLASS_UID,
                    VR::UI,
                    s("1.2.840.10008.5.1.4.1.1.2"),
                ),
                DataElement::new(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, s(sop)),
            ])
        })
        .collect();
    let series_item = InMemDicomObject::from_element_iter([
        DataElement::new(tags::SERIES_INSTANCE_UID, VR::UI, s(series)),
        DataElement::new(tags::RETRIEVE_AE_TITLE, VR::AE, s("HIEHUB")),
        DataElement::new(
            tags::REFERENCED_SOP_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(refs),
        ),
    ]);
    let study_item = InMemDicomObject::from_element_iter([
        DataElement::new(tags::STUDY_INSTANCE_UID, VR::UI, s(study)),
        DataElement::new(
            tags::REFERENCED_SERIES_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![series_item]),
        ),
    ]);
    obj.put(DataElement::new(
        tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![study_item]),
    ));
    obj.put(DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, s(kos_sop)));
    obj.update_meta(|m| m.media_storage_sop_instance_uid = kos_sop.into());
    let mut out = Vec::new();
    obj.write_all(&mut out).expect("write KOS");
    out
}

#[test]
fn instances_a_replacement_manifest_drops_are_withdrawn_everywhere() {
    let server = Server::start();
    add_patient(&server);
    let db = server.db_url.clone().expect("db");
    // three slices of the patient, sent by STOW-RS
    let series = hiehub::imaging::phantom::Phantom {
        slices: 3,
        rows: 32,
        columns: 32,
        study_uid: None,
        patient_id: Some(PATIENT_ID.into()),
        issuer: Some(AUTHORITY.into()),
    }
    .generate();
    let (s, answer) = stow(&server, "/dicomweb/studies", &series.files);
    assert_eq!(s, 200, "{answer}");
    let (st, se) = (series.study_uid.as_str(), series.series_uid.as_str());
    let sops: Vec<&str> = series
        .sop_instance_uids
        .iter()
        .map(String::as_str)
        .collect();
    let listed = |server: &Server| -> Vec<String> {
        let r = client()
            .get(server.url(&format!("/dicomweb/studies/{st}/instances")))
            .send()
            .expect("QIDO-RS");
        assert_eq!(r.status().as_u16(), 200);
        let v: serde_json::Value = r.json().expect("json");
        let mut uids: Vec<String> = v
            .as_array()
            .expect("array")
            .iter()
            .filter_map(|i| i["00080018"]["Value"][0].as_str().map(str::to_owned))
            .collect();
        uids.sort();
        uids
    };
    let viewer_listed = |server: &Server| -> usize {
        let r = client()
            .get(server.url(&format!("/viewer/api/studies/{st}")))
            .send()
            .expect("viewer API");
        assert_eq!(r.status().as_u16(), 200);
        let v: serde_json::Value = r.json().expect("json");
        v["series"]
            .as_array()
            .expect("series")
            .iter()
            .map(|s| s["instances"].as_array().map_or(0, Vec::len))
            .sum()
    };
    let get = |path: &str| -> u16 {
        client()
            .get(server.url(path))
            .send()
            .expect("GET")
            .status()
            .as_u16()
    };
    let withdrawn_path = format!("/dicomweb/studies/{st}/series/{se}/instances/{}", sops[2]);

    // RAD-68: the manifest names the three
    let nist = std::fs::read(fixture(
        "nist/xds-i/rad68-kos-single-image/kos_modified.dcm",
    ))
    .expect("kos");
    let first = kos_referencing(&nist, KOS_SOP, st, se, &sops);
    let text = provide(&server, &first);
    assert!(text.contains("ResponseStatusType:Success"), "{text}");
    assert_eq!(listed(&server).len(), 3);
    assert_eq!(viewer_listed(&server), 3);
    assert_eq!(get(&withdrawn_path), 200);

    // RPLC: the replacement names only the first two (the third was rejected at the source)
    let old_entry: String = {
        #[derive(QueryableByName)]
        struct E {
            #[diesel(sql_type = Text)]
            entry_uuid: String,
        }
        let mut conn = connect(&db);
        diesel::sql_query(
            "SELECT entry_uuid FROM xds_document_entries WHERE unique_id = '1.42.20161103091815.2'",
        )
        .get_result::<E>(&mut conn)
        .expect("registered manifest")
        .entry_uuid
    };
    let second = kos_referencing(&nist, NEW_KOS_SOP, st, se, &sops[..2]);
    let text = provide_replacement(&server, &second, &old_entry);
    assert!(text.contains("ResponseStatusType:Success"), "{text}");

    // QIDO-RS lists two; the study counts two
    let mut two: Vec<String> = sops[..2].iter().map(|s| (*s).to_owned()).collect();
    two.sort();
    assert_eq!(listed(&server), two);
    let r = client()
        .get(server.url(&format!("/dicomweb/studies?StudyInstanceUID={st}")))
        .send()
        .expect("QIDO-RS studies");
    let v: serde_json::Value = r.json().expect("json");
    assert_eq!(v[0]["00201208"]["Value"][0], 2, "{v}");
    // WADO-RS, rendered, metadata and WADO-URI of the withdrawn one: 404, audited
    let failed_before = audit_rows(&db)
        .iter()
        .filter(|r| r.4.as_deref() == Some("RAD-107") && r.1 > 0)
        .count();
    assert_eq!(get(&withdrawn_path), 404);
    assert_eq!(get(&format!("{withdrawn_path}/frames/1/rendered")), 404);
    assert_eq!(get(&format!("{withdrawn_path}/metadata")), 404);
    assert_eq!(
        get(&format!(
            "/wado?requestType=WADO&studyUID={st}&seriesUID={se}&objectUID={}&contentType=image/jpeg",
            sops[2]
        )),
        404
    );
    let failed_after = audit_rows(&db)
        .iter()
        .filter(|r| r.4.as_deref() == Some("RAD-107") && r.1 > 0)
        .count();
    assert_eq!(
        failed_after - failed_before,
        3,
        "each refused WADO-RS read is audited as a failure"
    );
    // the others still answer; the viewer lists two; the series thumbnail comes from them
    assert_eq!(
        get(&format!(
            "/dicomweb/studies/{st}/series/{se}/instances/{}",
            sops[0]
        )),
        200
    );
    assert_eq!(viewer_listed(&server), 2);
    assert_eq!(
        get(&format!("/dicomweb/studies/{st}/series/{se}/thumbnail")),
        200
    );
    // RAD-69 follows the current manifest too
    let (status, codes, docs) = rad69(&server, &rad69_body(&[(st, se, sops[2])], &[EXPLICIT_LE]));
    assert_eq!(status, "Failure");
    assert_eq!(codes, vec!["XDSDocumentUniqueIdError"]);
    assert!(docs.is_empty());
    let (status, _, docs) = rad69(&server, &rad69_body(&[(st, se, sops[0])], &[EXPLICIT_LE]));
    assert_eq!(status, "Success");
    assert_eq!(docs.len(), 1);
}
