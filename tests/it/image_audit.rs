//! Audit coalescing of image reads (`imaging::audit_window`, key `imaging_audit_window_secs`):
//! the first read of a study by a requester writes its event before the answer, reads inside
//! the window write none and are summarised when it ends, window 0 audits every read, and a
//! denied read is always audited.

use diesel::prelude::*;

use crate::harness::{Server, ServerOptions, audit_rows, client, connect};
use crate::imaging::{phantom, stow};

/// Successful (outcome 0) audit rows whose first event type is `ty`.
fn successes(server: &Server, ty: &str) -> usize {
    audit_rows(server.db_url.as_deref().expect("db"))
        .iter()
        .filter(|r| r.4.as_deref() == Some(ty) && r.1 == 0)
        .count()
}

/// Failed (outcome > 0) audit rows whose first event type is `ty`.
fn failures(server: &Server, ty: &str) -> usize {
    audit_rows(server.db_url.as_deref().expect("db"))
        .iter()
        .filter(|r| r.4.as_deref() == Some(ty) && r.1 > 0)
        .count()
}

/// Ledger payloads (the stored audit messages) containing `needle`.
fn payloads_containing(server: &Server, needle: &str) -> usize {
    use hiehub::store::schema::ledger_payloads::dsl::*;
    let mut conn = connect(server.db_url.as_deref().expect("db"));
    let all: Vec<Option<Vec<u8>>> = ledger_payloads
        .select(payload)
        .load(&mut conn)
        .expect("payloads");
    all.into_iter()
        .flatten()
        .filter(|p| String::from_utf8_lossy(p).contains(needle))
        .count()
}

fn server_with_window(secs: u32, extra_args: Vec<String>) -> Server {
    Server::start_with(ServerOptions {
        env: vec![("HIEHUB_IMAGING_AUDIT_WINDOW_SECS".into(), secs.to_string())],
        extra_args,
        ..ServerOptions::default()
    })
}

/// STOW-RS of a 2-slice phantom: (rendered URL of slice 1, its thumbnail URL, viewer pixels URL).
fn setup(server: &Server) -> (String, String, String) {
    let series = phantom(2, 32);
    let (s, answer) = stow(server, "/dicomweb/studies", &series.files);
    assert_eq!(s, 200, "{answer}");
    let base = format!(
        "/dicomweb/studies/{}/series/{}/instances/{}",
        series.study_uid, series.series_uid, series.sop_instance_uids[0]
    );
    (
        server.url(&format!("{base}/frames/1/rendered")),
        server.url(&format!(
            "/dicomweb/studies/{}/series/{}/thumbnail",
            series.study_uid, series.series_uid
        )),
        server.url(&format!(
            "/viewer/api/pixels/{}/{}/{}/1",
            series.study_uid, series.series_uid, series.sop_instance_uids[1]
        )),
    )
}

fn get(url: &str) -> u16 {
    let r = client()
        .get(url)
        .header("Accept", "image/jpeg")
        .send()
        .expect("GET");
    let status = r.status().as_u16();
    let _ = r.bytes();
    status
}

#[test]
fn reads_inside_the_window_write_no_new_event_and_are_summarised_after_it() {
    // a window of 3 s: long enough for the reads below (even on a loaded CI machine), short
    // enough to see it end
    let server = server_with_window(3, Vec::new());
    let (rendered, thumbnail, pixels) = setup(&server);
    assert_eq!(successes(&server, "RAD-107"), 0);

    assert_eq!(get(&rendered), 200);
    assert_eq!(
        successes(&server, "RAD-107"),
        1,
        "the first read is audited before its answer"
    );
    assert_eq!(get(&rendered), 200);
    assert_eq!(get(&thumbnail), 200);
    assert_eq!(
        successes(&server, "RAD-107"),
        1,
        "reads of the same study by the same requester inside the window add no event"
    );
    // another transaction (the viewer's pixels) has its own window
    assert_eq!(get(&pixels), 200);
    assert_eq!(get(&pixels), 200);
    assert_eq!(successes(&server, "viewer-pixels"), 1);
    // a retrieval of the instance itself is never coalesced
    let instance = rendered.trim_end_matches("/frames/1/rendered").to_owned();
    for _ in 0..2 {
        let r = client()
            .get(&instance)
            .header("Accept", "multipart/related; type=\"application/dicom\"")
            .send()
            .expect("WADO-RS");
        assert_eq!(r.status().as_u16(), 200);
    }
    // (the instance retrieval is RAD-107 too: two more events)
    assert_eq!(successes(&server, "RAD-107"), 3);

    // the window ends: the sweeper writes a summary of the 2 covered reads; the next read
    // writes a new event
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    // (two windows: the image reads' and the viewer pixels', which opened a little later)
    while payloads_containing(&server, "2 further read(s)") == 0
        || payloads_containing(&server, "1 further read(s)") == 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no summary event for the covered reads"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(
        payloads_containing(&server, "1 further read(s)"),
        1,
        "viewer pixels summary"
    );
    assert_eq!(successes(&server, "RAD-107"), 4, "events + summary");
    assert_eq!(get(&rendered), 200);
    assert_eq!(
        successes(&server, "RAD-107"),
        5,
        "after the window a read writes a new event"
    );
}

#[test]
fn with_window_zero_every_read_writes_its_event() {
    let server = server_with_window(0, Vec::new());
    let (rendered, thumbnail, pixels) = setup(&server);
    for _ in 0..3 {
        assert_eq!(get(&rendered), 200);
    }
    assert_eq!(get(&thumbnail), 200);
    assert_eq!(successes(&server, "RAD-107"), 4);
    assert_eq!(get(&pixels), 200);
    assert_eq!(get(&pixels), 200);
    assert_eq!(successes(&server, "viewer-pixels"), 2);
    assert_eq!(payloads_containing(&server, "further read(s)"), 0);
}

#[test]
fn a_denied_read_is_always_audited() {
    // an opt-in affinity domain and no consent: every image read of the patient is refused
    let domain = format!(
        "{}/tests/data/consent/domains/consent-opt-in",
        env!("CARGO_MANIFEST_DIR")
    );
    let server = server_with_window(60, vec!["--affinity-domain".into(), domain]);
    let (rendered, _, pixels) = setup(&server);
    for n in 1..=3 {
        assert_eq!(get(&rendered), 403);
        assert_eq!(
            failures(&server, "RAD-107"),
            n,
            "each refusal has its event"
        );
    }
    assert_eq!(get(&pixels), 403);
    assert_eq!(get(&pixels), 403);
    assert_eq!(failures(&server, "viewer-pixels"), 2);
    assert_eq!(successes(&server, "RAD-107"), 0);
}
