//! Issue 7: the DICOM instance store over HTTP — STOW-RS, QIDO-RS, WADO-RS, WADO-URI, the
//! viewer API and static files — against the real server, with clients we did not write
//! (pydicom, dicomweb-client, pynetdicom, dcmtk) where the issue asks for them.

use std::path::{Path, PathBuf};
use std::process::Command;

use diesel::prelude::*;
use serde_json::Value;

use crate::harness::{Server, audit_rows, client, fixture};

/// A phantom series (Part-10 bytes) and its study UID.
pub fn phantom(slices: u32, size: u16) -> hiehub::imaging::phantom::PhantomSeries {
    hiehub::imaging::phantom::Phantom {
        slices,
        rows: size,
        columns: size,
        study_uid: None,
        patient_id: None,
        issuer: None,
    }
    .generate()
}

/// STOW-RS of `files` to `path` (default `/dicomweb/studies`): (status, DICOM JSON answer).
pub fn stow(server: &Server, path: &str, files: &[Vec<u8>]) -> (u16, Value) {
    let boundary = "hiehub-test-boundary-7";
    let mut body = Vec::new();
    for f in files {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Type: application/dicom\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(f);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let resp = client()
        .post(server.url(path))
        .header(
            "Content-Type",
            format!("multipart/related; type=\"application/dicom\"; boundary={boundary}"),
        )
        .body(body)
        .send()
        .expect("STOW-RS");
    let status = resp.status().as_u16();
    let text = resp.text().expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn get_json(server: &Server, path: &str) -> (u16, Value) {
    let resp = client().get(server.url(path)).send().expect("GET");
    let status = resp.status().as_u16();
    let text = resp.text().expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn instance_count(db: &str) -> i64 {
    let mut conn = crate::harness::connect(db);
    diesel::sql_query("SELECT count(*) AS n FROM imaging_instances")
        .get_result::<Count>(&mut conn)
        .expect("count")
        .n
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn blob_files(server: &Server) -> usize {
    fn walk(p: &Path) -> usize {
        std::fs::read_dir(p)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| {
                        let p = e.path();
                        if p.is_dir() { walk(&p) } else { 1 }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    walk(&server.data_dir.path().join("blobs"))
}

fn sq_len(answer: &Value, tag: &str) -> usize {
    answer[tag]["Value"].as_array().map_or(0, Vec::len)
}

#[test]
fn stow_phantom_then_query_retrieve_render_and_audit() {
    let server = Server::start();
    let db = server.db_url.clone().expect("db");
    let series = phantom(4, 64);
    let (status, answer) = stow(&server, "/dicomweb/studies", &series.files);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(sq_len(&answer, "00081199"), 4, "{answer}");
    assert_eq!(instance_count(&db), 4);

    // QIDO-RS at the three levels, with matching keys
    let (s, studies) = get_json(&server, "/dicomweb/studies?PatientID=PHANTOM-1");
    assert_eq!(s, 200);
    let studies = studies.as_array().expect("array").clone();
    assert_eq!(studies.len(), 1);
    assert_eq!(studies[0]["0020000D"]["Value"][0], series.study_uid);
    assert_eq!(studies[0]["00201208"]["Value"][0], 4);
    assert_eq!(studies[0]["00080061"]["Value"][0], "CT");
    let (_, none) = get_json(&server, "/dicomweb/studies?PatientID=NOBODY");
    assert_eq!(none.as_array().map(Vec::len), Some(0));
    let (_, by_date) = get_json(
        &server,
        "/dicomweb/studies?StudyDate=20260101-20261231&PatientName=phantom*",
    );
    assert_eq!(by_date.as_array().map(Vec::len), Some(1), "{by_date}");
    let (_, out_of_range) = get_json(&server, "/dicomweb/studies?StudyDate=-20251231");
    assert_eq!(out_of_range.as_array().map(Vec::len), Some(0));
    let (s, bad) = get_json(&server, "/dicomweb/studies?NoSuchKey=1");
    assert_eq!(s, 400, "{bad}");
    assert!(bad["error"].as_str().unwrap_or("").contains("NoSuchKey"));
    let (_, ser) = get_json(
        &server,
        &format!("/dicomweb/studies/{}/series", series.study_uid),
    );
    assert_eq!(ser[0]["0020000E"]["Value"][0], series.series_uid);
    assert_eq!(ser[0]["00201209"]["Value"][0], 4);
    let (_, inst) = get_json(
        &server,
        &format!(
            "/dicomweb/studies/{}/series/{}/instances?includefield=00280030&limit=2&offset=1",
            series.study_uid, series.series_uid
        ),
    );
    let inst = inst.as_array().expect("array");
    assert_eq!(inst.len(), 2);
    assert_eq!(inst[0]["00200013"]["Value"][0], 2);
    assert!(
        inst[0]["00280030"]["Value"].is_array(),
        "includefield PixelSpacing"
    );

    // WADO-RS metadata and the instance as stored
    let base = format!(
        "/dicomweb/studies/{}/series/{}/instances/{}",
        series.study_uid, series.series_uid, series.sop_instance_uids[0]
    );
    let (s, meta) = get_json(&server, &format!("{base}/metadata"));
    assert_eq!(s, 200);
    assert_eq!(meta[0]["00280010"]["Value"][0], 64);
    assert!(
        meta[0]["7FE00010"]["BulkDataURI"].is_string(),
        "{}",
        meta[0]["7FE00010"]
    );
    let resp = client().get(server.url(&base)).send().expect("WADO-RS");
    assert_eq!(resp.status().as_u16(), 200);
    let ct = resp.headers()["content-type"]
        .to_str()
        .expect("ct")
        .to_owned();
    assert!(ct.starts_with("multipart/related"), "{ct}");
    let body = resp.bytes().expect("body");
    assert!(
        body.windows(series.files[0].len())
            .any(|w| w == &series.files[0][..]),
        "the stored bytes come back unchanged"
    );

    // rendered frames: JPEG by default, PNG when asked; bad parameters are 400
    let r = client()
        .get(server.url(&format!("{base}/frames/1/rendered")))
        .send()
        .expect("rendered");
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert!(r.bytes().expect("jpeg").starts_with(&[0xFF, 0xD8]));
    let r = client()
        .get(server.url(&format!("{base}/rendered?window=-600,1500&viewport=32,32")))
        .header("Accept", "image/png")
        .send()
        .expect("rendered png");
    assert_eq!(r.headers()["content-type"], "image/png");
    let (s, _) = get_json(&server, &format!("{base}/frames/2/rendered"));
    assert_eq!(s, 404, "frame 2 of a single-frame instance");
    let (s, _) = get_json(&server, &format!("{base}/rendered?window=40"));
    assert_eq!(s, 400);
    let r = client()
        .get(server.url(&format!(
            "/dicomweb/studies/{}/series/{}/thumbnail",
            series.study_uid, series.series_uid
        )))
        .send()
        .expect("thumbnail");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");

    // frames: the stored values, little endian
    let r = client()
        .get(server.url(&format!("{base}/frames/1")))
        .send()
        .expect("frames");
    assert_eq!(r.status().as_u16(), 200);
    let frames = r.bytes().expect("frames");
    assert!(frames.len() > 64 * 64 * 2);

    // the viewer API: study layout and decoded pixels
    let (s, study) = get_json(
        &server,
        &format!("/viewer/api/studies/{}", series.study_uid),
    );
    assert_eq!(s, 200, "{study}");
    let instances = study["series"][0]["instances"]
        .as_array()
        .expect("instances");
    let order: Vec<i64> = instances
        .iter()
        .map(|i| i["instanceNumber"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(order, vec![1, 2, 3, 4], "display order along the normal");
    assert_eq!(instances[0]["windowCenter"], 40.0);
    assert_eq!(instances[0]["rescaleIntercept"], -1024.0);
    let r = client()
        .get(server.url(&format!(
            "/viewer/api/pixels/{}/{}/{}/1",
            series.study_uid, series.series_uid, series.sop_instance_uids[1]
        )))
        .send()
        .expect("pixels");
    assert_eq!(r.headers()["x-pixel-format"], "int16");
    assert_eq!(r.headers()["x-rows"], "64");
    let px = r.bytes().expect("pixels");
    assert_eq!(px.len(), 64 * 64 * 2);
    for (row, col) in [(1, 1), (32, 32), (2, 10), (46, 32)] {
        let i = (row * 64 + col) * 2;
        let v = i16::from_le_bytes([px[i], px[i + 1]]);
        let hu = hiehub::imaging::phantom::hounsfield(row, col, 64, 64, 1, 4);
        assert_eq!(i32::from(v), hu + 1024, "pixel ({row},{col})");
    }
    let (s, patient) = get_json(&server, "/viewer/api/patients/PHANTOM-1/studies");
    assert_eq!(s, 200);
    assert_eq!(patient["studies"][0]["numberOfInstances"], 4);
    assert_eq!(patient["patient"]["name"], "Phantom^Pat");
    let (s, e) = get_json(&server, "/viewer/api/studies/1.2.3.4");
    assert_eq!((s, e["code"].as_str()), (404, Some("NotFound")));

    // WADO-URI: the object as stored, and an image with window, size and region
    let q = format!(
        "/wado?requestType=WADO&studyUID={}&seriesUID={}&objectUID={}",
        series.study_uid, series.series_uid, series.sop_instance_uids[2]
    );
    let r = client()
        .get(server.url(&format!("{q}&contentType=application/dicom")))
        .send()
        .expect("wado");
    assert_eq!(r.headers()["content-type"], "application/dicom");
    assert_eq!(&r.bytes().expect("dicom")[..], &series.files[2][..]);
    let r = client()
        .get(server.url(&format!(
            "{q}&contentType=image/png&windowCenter=40&windowWidth=400&rows=16&region=0,0,0.5,0.5"
        )))
        .send()
        .expect("wado png");
    assert_eq!(r.headers()["content-type"], "image/png");
    let (s, _) = get_json(&server, &format!("{q}&contentType=image/gif"));
    assert_eq!(s, 406);
    let (s, e) = get_json(&server, "/wado?requestType=WADO&studyUID=1.2");
    assert_eq!(s, 400);
    assert!(
        e["error"].as_str().unwrap_or("").contains("seriesUID"),
        "{e}"
    );

    // every exchange above is in the audit trail
    let rows = audit_rows(&db);
    let has = |event: &str, ty: &str| {
        rows.iter()
            .any(|r| r.0 == event && r.4.as_deref() == Some(ty) && r.1 == 0)
    };
    assert!(has("110104", "RAD-108"), "STOW-RS audited: {rows:?}");
    assert!(has("110112", "RAD-129"), "QIDO-RS audited");
    assert!(has("110104", "RAD-107"), "WADO-RS audited");
    assert!(has("110104", "RAD-55"), "WADO-URI audited");
    assert!(has("110103", "viewer-pixels"), "viewer access audited");
    assert!(
        rows.iter().any(|r| r.0 == "110112" && r.1 == 8),
        "the refused query is audited as a failure"
    );
}

#[test]
fn a_bad_file_is_refused_and_nothing_is_stored() {
    let server = Server::start();
    let db = server.db_url.clone().expect("db");
    let series = phantom(2, 32);
    let mut truncated = series.files[0].clone();
    truncated.truncate(truncated.len() - 100);
    let (status, answer) = stow(
        &server,
        "/dicomweb/studies",
        &[b"not DICOM at all".to_vec(), truncated],
    );
    assert_eq!(status, 409, "{answer}");
    assert_eq!(sq_len(&answer, "00081198"), 2, "{answer}");
    assert_eq!(
        answer["00081198"]["Value"][0]["00081197"]["Value"][0],
        0xC000
    );
    assert_eq!(instance_count(&db), 0);
    assert_eq!(blob_files(&server), 0, "no blob left behind");

    // a good and a bad one: 202, the good one stored
    let (status, answer) = stow(
        &server,
        "/dicomweb/studies",
        &[series.files[1].clone(), b"garbage".to_vec()],
    );
    assert_eq!(status, 202, "{answer}");
    assert_eq!(sq_len(&answer, "00081199"), 1);
    assert_eq!(sq_len(&answer, "00081198"), 1);
    assert_eq!(instance_count(&db), 1);

    // an instance of another study posted to a study URL is refused
    let other = phantom(1, 16);
    let (status, answer) = stow(
        &server,
        &format!("/dicomweb/studies/{}", series.study_uid),
        &other.files,
    );
    assert_eq!(status, 409, "{answer}");
    assert_eq!(
        answer["00081198"]["Value"][0]["00081197"]["Value"][0],
        0xA900
    );

    // not multipart: 415 with a clear message
    let r = client()
        .post(server.url("/dicomweb/studies"))
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .expect("post");
    assert_eq!(r.status().as_u16(), 415);
    let rows = audit_rows(&db);
    assert!(
        rows.iter()
            .filter(|r| r.0 == "110104" && r.4.as_deref() == Some("RAD-108"))
            .any(|r| r.1 == 8),
        "refused STOW-RS audited as a failure: {rows:?}"
    );
}

#[test]
fn the_viewer_files_are_served_from_the_binary() {
    let server = Server::start();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dicom-viewer");
    let names: Vec<&str> = hiehub::viewer::file_names().collect();
    for name in &names {
        let r = client()
            .get(server.url(&format!("/viewer/{name}")))
            .send()
            .expect("viewer file");
        assert_eq!(r.status().as_u16(), 200, "{name}");
        assert_eq!(
            r.headers()["content-type"],
            hiehub::viewer::content_type(name)
        );
        let on_disk = std::fs::read(dir.join(name)).expect("source file");
        assert_eq!(&r.bytes().expect("bytes")[..], &on_disk[..], "{name}");
    }
    if dir.join("index.html").exists() {
        let r = client().get(server.url("/viewer/")).send().expect("index");
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(r.headers()["cache-control"], "no-cache");
        assert!(names.contains(&"index.html"));
    }
    assert_eq!(server.get_status("/viewer/no-such-file.js"), 404);
    let (s, e) = get_json(&server, "/viewer/api/no-such-endpoint");
    assert_eq!((s, e["code"].as_str()), (404, Some("NotFound")));
}

/// Runs a Python interop script; panics with its output when it fails.
pub fn python(script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/interop")
                .join(script),
        )
        .args(args)
        .output()
        .expect("python3 (deploy/setup.sh --test installs pydicom, dicomweb-client, pynetdicom)");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn dicomweb_client_and_pydicom_read_back_what_they_stored() {
    let server = Server::start();
    let dir = tempfile::tempdir().expect("dir");
    let series = phantom(3, 64);
    series.write(dir.path()).expect("write phantom");
    let base = server.url("");
    let out = python(
        "dicomweb_roundtrip.py",
        &[
            &base,
            fixture("pydicom/dicom/CT_small.dcm")
                .to_str()
                .expect("path"),
            fixture("pydicom/dicom/SC_rgb_jpeg_dcmtk.dcm")
                .to_str()
                .expect("path"),
            dir.path().join("slice-0001.dcm").to_str().expect("path"),
        ],
    );
    assert!(out.contains("OK"), "{out}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

#[test]
fn c_store_and_c_echo_from_pynetdicom_and_dcmtk() {
    let port = free_port();
    let server = Server::start_with(crate::harness::ServerOptions {
        env: vec![
            ("HIEHUB_DICOM_ADDR".into(), format!("127.0.0.1:{port}")),
            ("HIEHUB_DICOM_AE_TITLE".into(), "HIEHUB-TEST".into()),
        ],
        ..Default::default()
    });
    let db = server.db_url.clone().expect("db");
    let dir = tempfile::tempdir().expect("dir");
    let series = phantom(2, 32);
    series.write(dir.path()).expect("phantom");
    let p = port.to_string();
    let out = python(
        "pynetdicom_store.py",
        &[
            "127.0.0.1",
            &p,
            "HIEHUB-TEST",
            fixture("pydicom/dicom/CT_small.dcm")
                .to_str()
                .expect("path"),
            fixture("pydicom/dicom/SC_rgb_jpeg_dcmtk.dcm")
                .to_str()
                .expect("path"),
            dir.path().join("slice-0001.dcm").to_str().expect("path"),
        ],
    );
    assert!(out.contains("OK"), "{out}");
    assert_eq!(instance_count(&db), 3, "the refused data set is not stored");

    // dcmtk's storescu (Debian package dcmtk); -xy proposes JPEG baseline as well
    let st = Command::new("/usr/bin/storescu")
        .args(["-xy", "-aec", "HIEHUB-TEST", "127.0.0.1", &p])
        .arg(dir.path().join("slice-0002.dcm"))
        .output()
        .expect("storescu (deploy/setup.sh --test installs dcmtk)");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let echo = Command::new("/usr/bin/echoscu")
        .args(["-aec", "HIEHUB-TEST", "127.0.0.1", &p])
        .output()
        .expect("echoscu");
    assert!(echo.status.success());
    assert_eq!(instance_count(&db), 4);
    let (_, inst) = get_json(
        &server,
        &format!("/dicomweb/studies/{}/instances", series.study_uid),
    );
    assert_eq!(inst.as_array().map(Vec::len), Some(2));
    // stored bytes: the data set as received behind a new file meta; pixels unchanged
    let r = client()
        .get(server.url(&format!(
            "/viewer/api/pixels/{}/{}/{}/1",
            series.study_uid, series.series_uid, series.sop_instance_uids[1]
        )))
        .send()
        .expect("pixels");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.bytes().expect("px").len(), 32 * 32 * 2);
    let rows = audit_rows(&db);
    assert_eq!(
        rows.iter()
            .filter(|r| r.0 == "110104" && r.4.as_deref() == Some("RAD-8") && r.1 == 0)
            .count(),
        4,
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .any(|r| r.0 == "110104" && r.4.as_deref() == Some("RAD-8") && r.1 == 8),
        "the refused C-STORE is audited"
    );
}

#[test]
fn every_listed_transfer_syntax_renders_like_dcmtk_and_pydicom_decode_it() {
    let server = Server::start();
    let work = tempfile::tempdir().expect("dir");
    let series = phantom(1, 64);
    series.write(work.path()).expect("phantom");
    let out = python(
        "codec_matrix.py",
        &[
            &server.url(""),
            work.path().join("matrix").to_str().expect("path"),
            work.path().join("slice-0001.dcm").to_str().expect("path"),
            fixture("pydicom/dicom/SC_rgb_jpeg_dcmtk.dcm")
                .to_str()
                .expect("path"),
        ],
    );
    println!("{out}");
    for must in [
        "| RLE lossless | 1.2.840.10008.1.2.5 | ok",
        "| deflated explicit VR LE | 1.2.840.10008.1.2.1.99 | ok",
        "| JPEG lossless SV1 | 1.2.840.10008.1.2.4.70 | ok",
        "| JPEG baseline 8-bit (lossy) | 1.2.840.10008.1.2.4.50 | ok",
        "| JPEG-LS lossless | 1.2.840.10008.1.2.4.80 | ok",
        "| JPEG 2000 lossless (pylibjpeg-openjpeg) | 1.2.840.10008.1.2.4.90 | ok",
        "| JPEG extended 12-bit | 1.2.840.10008.1.2.4.51 | refused (406)",
        "| 8-bit MONOCHROME1 | 1.2.840.10008.1.2.1 | ok",
        "| multi-frame RLE (frame 2) | 1.2.840.10008.1.2.5 | ok",
        "| RGB uncompressed, planar configuration 1 | 1.2.840.10008.1.2.1 | ok",
        "| YBR_FULL uncompressed | 1.2.840.10008.1.2.1 | ok",
    ] {
        assert!(out.contains(must), "missing '{must}' in:\n{out}");
    }
}

#[test]
fn every_imaging_route_is_in_the_openapi_document_and_served() {
    let server = Server::start();
    let doc: Value = client()
        .get(server.url("/api/openapi.json"))
        .send()
        .expect("openapi")
        .json()
        .expect("json");
    let paths = doc["paths"].as_object().expect("paths");
    let imaging: Vec<&String> = paths
        .keys()
        .filter(|p| {
            p.starts_with("/dicomweb") || p.starts_with("/wado") || p.starts_with("/viewer/api")
        })
        .collect();
    // the routes of src/dicomweb/mod.rs and src/viewer/mod.rs (the catch-all excepted)
    assert_eq!(imaging.len(), 23, "{imaging:?}");
    for p in imaging {
        let url = p
            .replace("{study}", "1.2.3")
            .replace("{series}", "1.2.4")
            .replace("{instance}", "1.2.5")
            .replace("{frames}", "1")
            .replace("{frame}", "1")
            .replace("{patient}", "NOBODY")
            .replace("{document}", "1.2.6");
        for method in paths[p].as_object().expect("ops").keys() {
            let req = match method.as_str() {
                "get" => client().get(server.url(&url)),
                "post" => client()
                    .post(server.url(&url))
                    .header("Content-Type", "text/plain"),
                m => panic!("{p}: unexpected method {m}"),
            };
            let r = req.send().expect("request");
            let status = r.status().as_u16();
            let body = r.text().expect("body");
            // a route that exists answers with hiehub's own JSON error (or data), never the
            // router's empty 404/405
            assert!(
                body.contains("\"code\"") || status == 200,
                "{method} {p} ({url}) looks unrouted: {status} {body:?}"
            );
        }
    }
}

/// The first part of a multipart/related answer: (its Content-Type, its body).
fn first_part(content_type: &str, body: &[u8]) -> (String, Vec<u8>) {
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()
        .expect("boundary")
        .trim_matches('"')
        .to_owned();
    let delim = format!("--{boundary}");
    let start = body
        .windows(delim.len())
        .position(|w| w == delim.as_bytes())
        .expect("first delimiter")
        + delim.len()
        + 2;
    let head_end = body[start..]
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("part headers")
        + start;
    let head = String::from_utf8_lossy(&body[start..head_end]).to_string();
    let ct = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                .map(|(_, v)| v.trim().to_owned())
        })
        .expect("part content type");
    let data_start = head_end + 4;
    let end_delim = format!("\r\n--{boundary}");
    let end = body[data_start..]
        .windows(end_delim.len())
        .position(|w| w == end_delim.as_bytes())
        .expect("closing delimiter")
        + data_start;
    (ct, body[data_start..end].to_vec())
}

#[test]
fn wado_rs_honours_the_transfer_syntax_accept_parameter() {
    let server = Server::start();
    let jpeg = std::fs::read(fixture("pydicom/dicom/SC_rgb_jpeg_dcmtk.dcm")).expect("fixture");
    let (s, answer) = stow(&server, "/dicomweb/studies", std::slice::from_ref(&jpeg));
    assert_eq!(s, 200, "{answer}");
    let obj = hiehub::imaging::parse::read_object(&jpeg).expect("parses");
    let i = hiehub::imaging::parse::instance(&obj).expect("instance");
    let stored_ts = obj
        .meta()
        .transfer_syntax()
        .trim_end_matches('\0')
        .to_owned();
    let url = server.url(&format!(
        "/dicomweb/studies/{}/series/{}/instances/{}",
        i.study_instance_uid, i.series_instance_uid, i.sop_instance_uid
    ));
    let fetch = |accept: &str| {
        let r = client()
            .get(&url)
            .header("Accept", accept)
            .send()
            .expect("WADO-RS");
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        (status, ct, r.bytes().expect("body").to_vec())
    };

    // Explicit VR Little Endian asked for: transcoded, same pixels
    let (status, ct, body) =
        fetch("multipart/related; type=\"application/dicom\"; transfer-syntax=1.2.840.10008.1.2.1");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let (part_ct, part) = first_part(&ct, &body);
    assert!(
        part_ct.contains("transfer-syntax=1.2.840.10008.1.2.1"),
        "{part_ct}"
    );
    let out = hiehub::imaging::parse::read_object(&part).expect("transcoded parses");
    assert_eq!(
        out.meta().transfer_syntax().trim_end_matches('\0'),
        "1.2.840.10008.1.2.1"
    );
    let a = hiehub::render::decode(&jpeg, 0).expect("decode original");
    let b = hiehub::render::decode(&part, 0).expect("decode transcoded");
    assert_eq!(a.rgb, b.rgb, "transcoding keeps the decoded pixels");

    // the stored syntax, or `*`: the stored bytes
    for accept in [
        format!("multipart/related; type=\"application/dicom\"; transfer-syntax={stored_ts}"),
        "multipart/related; type=\"application/dicom\"; transfer-syntax=*".to_owned(),
    ] {
        let (status, ct, body) = fetch(&accept);
        assert_eq!(status, 200);
        let (part_ct, part) = first_part(&ct, &body);
        assert!(part_ct.contains(&stored_ts), "{part_ct}");
        assert_eq!(part, jpeg, "{accept}: the stored bytes unchanged");
    }

    // a syntax the server cannot produce: 406 that says why
    let (status, _, body) = fetch(
        "multipart/related; type=\"application/dicom\"; transfer-syntax=1.2.840.10008.1.2.4.90",
    );
    assert_eq!(status, 406);
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("1.2.840.10008.1.2.4.90"), "{text}");
    assert!(text.contains("Little Endian"), "{text}");
}
