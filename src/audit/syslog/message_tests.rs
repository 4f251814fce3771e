//! Parser tests: golden files under `tests/data/syslog/{ok,err}` plus properties that hold for
//! every PRI, zero copy and the ATNA MSGIDs.

use std::fmt::Write as _;
use std::path::Path;

use super::*;

/// A stable, readable rendering of a parse, for the golden files.
fn render(result: &Result<SyslogMessage, ParseError>) -> String {
    let m = match result {
        Ok(m) => m,
        Err(e) => return format!("error: {e}\noffset: {:?}\n{e:?}\n", e.offset()),
    };
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let mut s = String::new();
    let _ = writeln!(s, "format: {:?}", m.format);
    let _ = writeln!(s, "pri: {} ({:?}.{:?})", m.pri, m.facility, m.severity);
    let _ = writeln!(s, "version: {:?}", m.version);
    let _ = writeln!(s, "timestamp: {}", opt(&m.timestamp));
    let _ = writeln!(s, "parsed timestamp: {:?}", m.parsed_timestamp());
    let _ = writeln!(s, "hostname: {}", opt(&m.hostname));
    let _ = writeln!(s, "app-name: {}", opt(&m.app_name));
    let _ = writeln!(s, "procid: {}", opt(&m.proc_id));
    let _ = writeln!(s, "msgid: {}", opt(&m.msg_id));
    let _ = writeln!(s, "audit message: {}", m.is_audit_message());
    let _ = writeln!(s, "structured data: {}", m.structured_data.len());
    for e in &m.structured_data {
        let _ = writeln!(s, "  [{}]", e.id);
        for p in &e.params {
            let _ = writeln!(s, "    {} = {:?}", p.name, p.value);
        }
    }
    let _ = writeln!(s, "bom: {}", m.bom);
    match std::str::from_utf8(&m.msg) {
        Ok(text) => {
            let _ = writeln!(s, "msg ({} bytes, UTF-8): {text:?}", m.msg.len());
        }
        Err(_) => {
            let _ = writeln!(
                s,
                "msg ({} bytes, not UTF-8): {}",
                m.msg.len(),
                m.msg.escape_ascii()
            );
        }
    }
    s
}

/// Parses every `*.syslog` in `dir` and compares with `*.expected` beside it. A missing
/// expected file is written (and the test fails, to be reviewed); `HIEHUB_UPDATE_EXPECT=1`
/// rewrites all of them.
fn check_dir(dir: &str, want_ok: bool) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let update = std::env::var_os("HIEHUB_UPDATE_EXPECT").is_some();
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "syslog"))
        .collect();
    inputs.sort();
    assert!(
        inputs.len() >= 10,
        "golden inputs missing in {}",
        dir.display()
    );
    let mut failures = Vec::new();
    for input in inputs {
        let raw = Bytes::from(std::fs::read(&input).expect("input"));
        let result = parse(&raw);
        if result.is_ok() != want_ok {
            failures.push(format!(
                "{}: expected {}, got {}",
                input.display(),
                if want_ok { "Ok" } else { "Err" },
                render(&result)
            ));
        }
        if let Ok(m) = &result {
            assert_zero_copy(&raw, &m.msg);
        }
        let got = render(&result);
        let expected_path = input.with_extension("expected");
        match std::fs::read_to_string(&expected_path) {
            Ok(expected) if !update => {
                if expected != got {
                    failures.push(format!(
                        "{}:\n--- expected\n{expected}--- got\n{got}",
                        input.display()
                    ));
                }
            }
            Ok(_) => std::fs::write(&expected_path, &got).expect("write expected"),
            Err(_) => {
                std::fs::write(&expected_path, &got).expect("write expected");
                if !update {
                    failures.push(format!("{}: written, review it", expected_path.display()));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn assert_zero_copy(raw: &Bytes, msg: &Bytes) {
    if msg.is_empty() {
        return;
    }
    let range = raw.as_ptr_range();
    assert!(
        range.contains(&msg.as_ptr()) && msg.as_ptr_range().end == range.end,
        "msg is a slice at the end of the frame"
    );
}

#[test]
fn golden_ok() {
    check_dir("tests/data/syslog/ok", true);
}

#[test]
fn golden_err() {
    check_dir("tests/data/syslog/err", false);
}

#[test]
fn every_pri_from_0_to_191() {
    for pri in 0..=191u8 {
        for frame in [
            format!("<{pri}>1 - - - - - - x"),
            format!("<{pri}>Oct  1 00:00:00 host tag: x"),
        ] {
            let m = parse(&Bytes::from(frame.clone()));
            let m = m.unwrap_or_else(|e| panic!("{frame}: {e}"));
            assert_eq!(m.pri, pri);
            assert_eq!(m.facility as u8, pri / 8, "{frame}");
            assert_eq!(m.severity as u8, pri % 8, "{frame}");
            assert_eq!(&m.msg[..], b"x");
        }
    }
    for pri in [192, 255, 256, 999] {
        assert!(matches!(
            parse(&Bytes::from(format!("<{pri}>1 - - - - - -"))),
            Err(ParseError::PriOutOfRange { value, .. }) if value == pri
        ));
    }
}

#[test]
fn atna_msgids_are_recognised() {
    for (msgid, audit) in [
        ("IHE+RFC-3881", true),
        ("DICOM+RFC3881", true),
        ("IHE+RFC-3881-X", false),
        ("-", false),
    ] {
        let m = parse(&Bytes::from(format!(
            "<85>1 - - - - {msgid} - <AuditMessage/>"
        )));
        assert_eq!(m.map(|m| m.is_audit_message()), Ok(audit), "{msgid}");
    }
}

#[test]
fn msg_is_the_rest_of_the_frame_byte_for_byte() {
    // Trailing spaces, CR, LF and NUL inside MSG are kept: only the framing removes trailers.
    let body: &[u8] = b"  <AuditMessage>\r\n\t\0</AuditMessage>\n ";
    let mut frame = b"<85>1 - - - - IHE+RFC-3881 - ".to_vec();
    frame.extend_from_slice(body);
    let raw = Bytes::from(frame);
    let m = parse(&raw).expect("parses");
    assert_eq!(&m.msg[..], body);
    assert_zero_copy(&raw, &m.msg);
}

#[test]
fn garbage_is_kept_raw_with_an_error() {
    // The decoder cuts it like any line; the parser says why it is not syslog; the bytes stay.
    let stream = b"\x16\x03\x01 hello\nGET / HTTP/1.1\r\n";
    let mut d = FrameDecoder::new(FrameLimits::default());
    d.feed(stream);
    let mut got = Vec::new();
    while let Some(item) = d.next_frame() {
        let frame = item.expect("a frame");
        got.push((frame.raw.clone(), parse(&frame.raw)));
    }
    assert_eq!(got.len(), 2);
    assert_eq!(&got[0].0[..], b"\x16\x03\x01 hello");
    assert_eq!(
        got[0].1,
        Err(ParseError::NoPri {
            offset: 0,
            found: 0x16
        })
    );
    assert_eq!(&got[1].0[..], b"GET / HTTP/1.1");
    assert!(matches!(
        got[1].1,
        Err(ParseError::NoPri { found: b'G', .. })
    ));
}

#[test]
fn errors_say_where() {
    let cases: [(&[u8], usize, &str); 4] = [
        (
            b"<13>1 - - - - - -x",
            17,
            "byte 17: expected SP after STRUCTURED-DATA, found 0x78",
        ),
        (
            b"<13>1 - - - - - [x a=b]",
            21,
            "byte 21: expected '\"' opening PARAM-VALUE in SD-ELEMENT, found 0x62",
        ),
        (
            b"<13>1 - - ap\x07p - - -",
            12,
            "byte 12: APP-NAME contains byte 0x07, which is not printable US-ASCII",
        ),
        (
            b"<13>1 - - - - 123456789012345678901234567890123 -",
            14,
            "byte 14: MSGID is 33 bytes long, more than 32",
        ),
    ];
    for (frame, offset, text) in cases {
        let e = parse(&Bytes::copy_from_slice(frame)).expect_err("an error");
        assert_eq!(e.offset(), Some(offset), "{e}");
        assert_eq!(e.to_string(), text);
    }
}

#[test]
fn no_input_makes_the_parser_panic() {
    // Every prefix of every golden input, then pseudo-random frames over the bytes that matter
    // to the grammar (fixed seed). Whatever parses has its MSG at the end of the frame.
    let mut frames: Vec<Vec<u8>> = Vec::new();
    for dir in ["tests/data/syslog/ok", "tests/data/syslog/err"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        for entry in std::fs::read_dir(&dir).expect("golden dir").flatten() {
            if entry.path().extension().is_some_and(|x| x == "syslog") {
                let bytes = std::fs::read(entry.path()).expect("input");
                frames.extend((0..=bytes.len()).map(|n| bytes[..n].to_vec()));
            }
        }
    }
    let alphabet = b"<>0123456789 -[]\"\\=:aZ\t\n\0\xef\xbb\xbf\xff";
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..20_000 {
        let mut f = b"<13>".to_vec();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = (x % 48) as usize;
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            f.push(alphabet[(x % alphabet.len() as u64) as usize]);
        }
        if x.is_multiple_of(3) {
            f.drain(..4);
        }
        frames.push(f);
    }
    let mut parsed = 0;
    for f in frames {
        let raw = Bytes::from(f);
        if let Ok(m) = parse(&raw) {
            assert_zero_copy(&raw, &m.msg);
            parsed += 1;
        }
    }
    assert!(parsed > 1000, "{parsed}");
}
