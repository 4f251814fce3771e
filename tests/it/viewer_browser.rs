//! The DICOM viewer (`/viewer/`) in headless Chromium: a real server holding a generated phantom CT
//! series (`hiehub bench phantom`, 20 slices) ingested by STOW-RS, driven by
//! `tests/browser/viewer.mjs` (npm `playwright-core` with Debian's `chromium`). The page must show
//! the first image and the overlay, change slice and canvas pixels on wheel, keys and slider, change
//! pixel values on a window/level drag, and show a length in mm that agrees with the pixel spacing.
//! The study's radiology report (a CDA submitted by ITI-41 with the study in its referenceIdList)
//! must open in the report pane. Screenshots are kept under `target/test-artifacts/viewer/`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use diesel::prelude::*;
use diesel::sql_types::Text;
use hiehub::ebxml::{self, WireMessage};
use hiehub::xds::{
    self, AssociationType, PatientId, RegistryObjectId, Submission, SubmissionSetStatus, UniqueId,
};

use crate::harness::*;

const CHROMIUM: &str = "/usr/bin/chromium";
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(240);
const SLICES: usize = 20;
const SIZE: usize = 256;
/// The phantom's patient: PatientID and IssuerOfPatientID, an affinity-domain CX together.
const PATIENT_ID: &str = "VIEWER-7";
const ISSUER: &str = "1.2.826.0.1.3680043.2.1125.47";
const ITI41: &str = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b";
const SUCCESS: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success";

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// `target/test-artifacts/viewer`: kept after the run (CI uploads `target/test-artifacts`).
fn artifact_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent()
        .unwrap_or(tmp)
        .join("test-artifacts")
        .join("viewer")
}

/// Fails naming the package when something the browser test drives is missing.
fn require_browser_tools() {
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.as_ref().is_ok_and(|o| o.status.success()),
        "node is not installed (Debian package 'nodejs', >= 20): run deploy/setup.sh --test ({node:?})"
    );
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install the Debian package 'chromium' (deploy/setup.sh --test does)"
    );
    assert!(
        browser_dir()
            .join("node_modules/playwright-core/package.json")
            .exists(),
        "the npm package 'playwright-core' is not installed in tests/browser: run deploy/setup.sh --test \
         (npm ci --no-audit --no-fund in tests/browser)"
    );
}

/// Writes the phantom series into `dir` with the hub's own generator; returns its study UID and
/// the Part-10 files in name order.
fn phantom(dir: &Path) -> (String, Vec<PathBuf>) {
    let out = Command::new(bin())
        .args(["bench", "phantom", "--slices"])
        .arg(SLICES.to_string())
        .arg("--rows")
        .arg(SIZE.to_string())
        .arg("--columns")
        .arg(SIZE.to_string())
        .arg("--out")
        .arg(dir)
        .args(["--patient-id", PATIENT_ID, "--issuer", ISSUER])
        .output()
        .expect("run hiehub bench phantom");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "hiehub bench phantom failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let study = stdout
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .expect("hiehub bench phantom printed nothing")
        .to_owned();
    assert!(
        !study.is_empty() && study.chars().all(|c| c.is_ascii_digit() || c == '.'),
        "hiehub bench phantom's last line is not a UID: {stdout:?}"
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert_eq!(files.len(), SLICES, "phantom files in {}", dir.display());
    (study, files)
}

/// STOW-RS: all files in one multipart/related request.
fn stow(server: &Server, files: &[PathBuf]) {
    let boundary = "hiehub-viewer-test-boundary";
    let mut body = Vec::new();
    for f in files {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Type: application/dicom\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(&std::fs::read(f).unwrap());
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let resp = client()
        .post(server.url("/dicomweb/studies"))
        .header(
            "content-type",
            format!("multipart/related; type=\"application/dicom\"; boundary={boundary}"),
        )
        .header("accept", "application/dicom+json")
        .body(body)
        .send()
        .unwrap();
    let status = resp.status();
    let text = resp.text().unwrap_or_default();
    assert!(status.is_success(), "STOW-RS answered {status}: {text}");
}

/// A CDA R2 radiology report about the phantom, written for this test; its narrative carries
/// markup-looking text that must reach the page as text.
fn cda_report(cx_id: &str, study: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3">
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <id root="{study}.9"/>
  <code code="18748-4" codeSystem="2.16.840.1.113883.6.1" displayName="Diagnostic imaging study"/>
  <title>CT thorax phantom report</title>
  <effectiveTime value="20261123013000+0000"/>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
  <recordTarget><patientRole><id extension="{cx_id}" root="{ISSUER}"/></patientRole></recordTarget>
  <author><time value="20261123013000+0000"/><assignedAuthor><id root="{ISSUER}.1"/>
    <assignedPerson><name><given>Ada</given><family>Radiologist</family></name></assignedPerson>
  </assignedAuthor></author>
  <custodian><assignedCustodian><representedCustodianOrganization><id root="{ISSUER}"/></representedCustodianOrganization></assignedCustodian></custodian>
  <component><structuredBody>
    <component><section><title>Findings</title>
      <text><paragraph>Elliptical body contour, two lungs and a moving dense disc, as generated.</paragraph>
      <paragraph>Text that looks like markup stays text: &lt;script&gt;alert(1)&lt;/script&gt;</paragraph></text>
    </section></component>
    <component><section><title>Impression</title>
      <text><list><item>No abnormality in the phantom.</item></list></text>
    </section></component>
  </structuredBody></component>
</ClinicalDocument>
"#
    )
}

/// The NIST inline-base64 ITI-41 submission as a domain value, to derive the report's from.
fn template_submission() -> Submission {
    let dir = "nist/xds/valid-iti41-multipart-inline-base64";
    let ct = std::fs::read_to_string(fixture(&format!("{dir}/testplan.xml")))
        .unwrap()
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Content-Type:")
                .map(|v| v.trim().to_owned())
        })
        .unwrap();
    let body = std::fs::read(fixture(&format!("{dir}/body.txt"))).unwrap();
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

/// Registers the phantom's patient and submits a CDA report naming `study` in its referenceIdList
/// (ITI-41); returns the report's uniqueId.
fn submit_report(server: &Server, study: &str) -> String {
    let cx = format!("{PATIENT_ID}^^^&{ISSUER}&ISO");
    let patient = PatientId::parse(&cx).unwrap();
    let mut conn = connect(server.db_url.as_deref().unwrap());
    diesel::sql_query("INSERT INTO patients (assigning_authority, patient_id) VALUES ($1, $2)")
        .bind::<Text, _>(patient.authority.as_str())
        .bind::<Text, _>(&patient.id)
        .execute(&mut conn)
        .unwrap();

    let n = uuid::Uuid::new_v4().as_u128() % 1_000_000_000_000;
    let unique_id = format!("{ISSUER}.2.{n}");
    let mut s = template_submission();
    let mut doc = s.documents[0].clone();
    let mut member = s
        .associations
        .iter()
        .find(|a| a.association_type == AssociationType::HasMember)
        .unwrap()
        .clone();
    s.documents.clear();
    s.contents.clear();
    s.associations.clear();
    s.submission_set.unique_id = xds::Oid::parse(&format!("{ISSUER}.3.{n}")).unwrap();
    s.submission_set.patient_id = patient.clone();
    let id = RegistryObjectId::parse("Report01").unwrap();
    doc.entry_uuid = id.clone();
    doc.unique_id = UniqueId::parse(&unique_id).unwrap();
    doc.patient_id = patient;
    doc.source_patient_id = Some(cx.clone());
    doc.mime_type = "text/xml".into();
    doc.title = Some(xds::InternationalText::plain("CT thorax phantom report"));
    doc.creation_time = Some(xds::DtmTime::parse("20261123013000").unwrap());
    doc.reference_id_list = vec![format!(
        "{study}^^^&{ISSUER}&ISO^urn:ihe:iti:xds:2016:studyInstanceUID"
    )];
    doc.hash = None;
    doc.size = None;
    s.documents.push(doc);
    s.contents.push(xds::DocumentContent {
        entry_uuid: id.clone(),
        bytes: Bytes::from(cda_report(PATIENT_ID, study)),
    });
    member.entry_uuid = RegistryObjectId::parse("HasMember01").unwrap();
    member.target = id;
    member.submission_set_status = Some(SubmissionSetStatus::Original);
    s.associations.push(member);

    let body = xds::to_ebxml::provide_and_register_request(&s)
        .to_xml(ebxml::EncodeOptions::INLINE)
        .xml;
    let resp = client()
        .post(server.url("/xds/repository"))
        .header("content-type", SOAP_CT)
        .body(envelope(
            ITI41,
            &format!("urn:uuid:{}", uuid::Uuid::new_v4()),
            &body,
        ))
        .send()
        .unwrap();
    let status = resp.status();
    let text = resp.text().unwrap();
    assert!(
        status.is_success() && text.contains(SUCCESS),
        "ITI-41 of the report: {status}\n{text}"
    );
    unique_id
}

/// Runs the Playwright script; returns whether it succeeded and everything it printed.
fn run_script(args: &[&str]) -> (bool, String) {
    let started = Instant::now();
    let mut child = Command::new("node")
        .arg(browser_dir().join("viewer.mjs"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn node");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for node") {
            break Some(status);
        }
        if started.elapsed() > SCRIPT_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let text = format!(
        "{}{}",
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default()
    );
    eprintln!(
        "[viewer.mjs] {:.1} s\n{text}",
        started.elapsed().as_secs_f64()
    );
    match status {
        Some(s) => (s.success(), text),
        None => (
            false,
            format!("{text}\nviewer.mjs did not finish within {SCRIPT_TIMEOUT:?}"),
        ),
    }
}

fn is_png(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.len() > 1000 && b.starts_with(b"\x89PNG\r\n\x1a\n"))
}

#[test]
fn the_viewer_shows_a_phantom_series_scrolls_windows_and_measures() {
    require_browser_tools();
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let (study, files) = phantom(work.path());
    stow(&server, &files);
    let report = submit_report(&server, &study);

    // the study as the viewer will see it
    let resp = client()
        .get(server.url(&format!("/viewer/api/studies/{study}")))
        .send()
        .unwrap();
    assert!(
        resp.status().is_success(),
        "GET /viewer/api/studies/{study}: {}",
        resp.status()
    );
    let json: serde_json::Value = resp.json().unwrap();
    let instances = json["series"][0]["instances"]
        .as_array()
        .unwrap_or_else(|| panic!("no instances in the study JSON: {json}"));
    assert_eq!(instances.len(), SLICES, "{json}");
    assert_eq!(
        json["study"]["patientId"].as_str(),
        Some(format!("{PATIENT_ID}^^^&{ISSUER}&ISO").as_str()),
        "{}",
        json["study"]
    );
    assert_eq!(
        json["reports"][0]["documentUniqueId"].as_str(),
        Some(report.as_str()),
        "the study does not list the submitted report: {}",
        json["reports"]
    );
    assert_eq!(
        json["reports"][0]["title"].as_str(),
        Some("CT thorax phantom report"),
        "{}",
        json["reports"]
    );
    let col_spacing = instances[0]["pixelSpacing"][1]
        .as_f64()
        .unwrap_or_else(|| panic!("the phantom has no pixel spacing: {}", instances[0]));

    let dir = artifact_dir();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let base = server.url("");
    let (ok, out) = run_script(&[
        &base,
        &study,
        dir.to_str().unwrap(),
        "CT thorax phantom report",
        "Findings",
        "No abnormality in the phantom.",
        "<script>alert(1)</script>",
    ]);
    assert!(ok, "the browser test failed:\n{out}");

    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("viewer.mjs printed no RESULT line:\n{out}"));
    let result: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(result["expectedSlices"].as_u64(), Some(SLICES as u64));
    // the length the page showed, against the spacing the hub holds and the zoom the page used
    let shown = result["length"]["value"].as_f64().unwrap();
    let zoom = result["length"]["zoom"].as_f64().unwrap();
    let expected = 200.0 / zoom * col_spacing;
    assert!(
        (shown - expected).abs() <= (expected * 0.02).max(0.5),
        "length {shown} mm shown, {expected} mm expected for 200 CSS px at zoom {zoom} and spacing {col_spacing}"
    );
    assert_eq!(result["length"]["unit"].as_str(), Some("mm"));
    assert!(
        result["wlChangedSamples"].as_u64().unwrap() > 50,
        "{result}"
    );
    assert_eq!(
        result["report"]["documentUniqueId"].as_str(),
        Some(report.as_str()),
        "the report pane did not show the submitted report: {result}"
    );
    for name in ["viewer.png", "viewer-portrait.png"] {
        assert!(
            is_png(&dir.join(name)),
            "no screenshot {} kept",
            dir.join(name).display()
        );
    }
}

/// The viewer's pure modules (window/level tables, measurements) checked in node against the
/// formulas written out independently in `tests/browser/viewer_units.mjs`.
#[test]
fn the_viewer_window_level_tables_and_measurements_follow_the_formulas() {
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.as_ref().is_ok_and(|o| o.status.success()),
        "node is not installed (Debian package 'nodejs', >= 20): run deploy/setup.sh --test ({node:?})"
    );
    let out = Command::new("node")
        .arg(browser_dir().join("viewer_units.mjs"))
        .output()
        .expect("run node");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "viewer_units.mjs failed:\n{text}");
    assert!(text.contains("checks passed"), "{text}");
}

/// The pydicom samples (a 16-bit CT and a JPEG-baseline YBR secondary capture) ingested by STOW-RS
/// and opened in the viewer: the first frame on screen must equal the hub's decoded frame, windowed
/// in the test (grey) or as served (RGB), ±1 level; the CT must re-window on a drag.
#[test]
fn the_viewer_shows_the_pydicom_ct_and_rgb_samples_pixel_exactly() {
    require_browser_tools();
    let server = Server::start();
    let files: Vec<PathBuf> = ["CT_small.dcm", "SC_rgb_jpeg_dcmtk.dcm"]
        .iter()
        .map(|f| fixture(&format!("pydicom/dicom/{f}")))
        .collect();
    stow(&server, &files);
    let dir = artifact_dir().join("samples");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let base = server.url("");
    for (file, name, format) in [
        (&files[0], "ct_small", "int16"),
        (&files[1], "sc_rgb_jpeg", "rgb8"),
    ] {
        let obj = dicom_object::open_file(file).unwrap();
        let study = obj
            .element(dicom_dictionary_std::tags::STUDY_INSTANCE_UID)
            .unwrap()
            .to_str()
            .unwrap()
            .trim_end_matches(['\0', ' '])
            .to_owned();
        let (ok, out) = run_script(&[&base, &study, dir.to_str().unwrap(), "--smoke", name]);
        assert!(ok, "the browser test of {name} failed:\n{out}");
        let line = out
            .lines()
            .find_map(|l| l.strip_prefix("RESULT "))
            .unwrap_or_else(|| panic!("viewer.mjs printed no RESULT line:\n{out}"));
        let result: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(result["format"].as_str(), Some(format), "{result}");
        assert!(result["pixelsCompared"].as_u64().unwrap() >= 20, "{result}");
        assert!(
            is_png(&dir.join(format!("{name}.png"))),
            "no screenshot of {name}"
        );
    }
}
