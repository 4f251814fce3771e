//! Stream decoder tests: every way a stream can be cut into reads, both framings, the limits.

use super::frame::LengthProblem;
use super::*;

type Item = Result<Frame, FrameError>;

/// Feeds `chunks` one after the other, then ends the stream.
fn decode(chunks: &[&[u8]], limits: FrameLimits) -> Vec<Item> {
    let mut d = FrameDecoder::new(limits);
    let mut out = Vec::new();
    for chunk in chunks {
        d.feed(chunk);
        while let Some(item) = d.next_frame() {
            out.push(item);
        }
    }
    while let Some(item) = d.finish() {
        out.push(item);
    }
    assert_eq!(d.buffered(), 0, "the decoder holds nothing after finish()");
    out
}

fn decode_one(stream: &[u8]) -> Vec<Item> {
    decode(&[stream], FrameLimits::default())
}

fn octet(msg: &[u8]) -> Vec<u8> {
    let mut v = format!("{} ", msg.len()).into_bytes();
    v.extend_from_slice(msg);
    v
}

fn frame(raw: &[u8], framing: Framing, offset: u64) -> Item {
    Ok(Frame {
        raw: Bytes::copy_from_slice(raw),
        framing,
        offset,
    })
}

const HANGUL: &str = "<86>1 2026-01-02T03:04:05.678Z ris.example.kr pacs 4242 IHE+RFC-3881 - <AuditMessage><ParticipantObjectIdentification ParticipantObjectID=\"P-1\"><ParticipantObjectName>홍길동</ParticipantObjectName></ParticipantObjectIdentification></AuditMessage>";

fn three_frames() -> (Vec<u8>, Vec<Item>) {
    let a = HANGUL.as_bytes();
    let b = b"<13>1 - - - - - - second";
    let c = b"<14>Jan  5 10:00:00 legacy app[7]: third";
    let mut stream = octet(a);
    let b_at = stream.len() as u64;
    stream.extend_from_slice(&octet(b));
    let c_at = stream.len() as u64;
    stream.extend_from_slice(c);
    stream.extend_from_slice(b"\r\n");
    let expected = vec![
        frame(a, Framing::OctetCounting, 0),
        frame(b, Framing::OctetCounting, b_at),
        frame(c, Framing::NonTransparent, c_at),
    ];
    (stream, expected)
}

#[test]
fn three_frames_split_at_every_byte_offset() {
    let (stream, expected) = three_frames();
    for i in 0..=stream.len() {
        let got = decode(&[&stream[..i], &stream[i..]], FrameLimits::default());
        assert_eq!(got, expected, "split at {i}");
    }
}

#[test]
fn three_frames_split_at_every_pair_of_offsets() {
    let (stream, expected) = three_frames();
    for i in 0..=stream.len() {
        for j in i..=stream.len() {
            let got = decode(
                &[&stream[..i], &stream[i..j], &stream[j..]],
                FrameLimits::default(),
            );
            assert_eq!(got, expected, "split at {i} and {j}");
        }
    }
}

#[test]
fn three_frames_one_byte_per_read() {
    let (stream, expected) = three_frames();
    let chunks: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(decode(&chunks, FrameLimits::default()), expected);
}

#[test]
fn several_frames_in_one_read() {
    let mut stream = Vec::new();
    let msgs: Vec<String> = (0..50)
        .map(|i| format!("<13>1 - h app - - - message {i}"))
        .collect();
    for m in &msgs {
        stream.extend_from_slice(&octet(m.as_bytes()));
    }
    let got = decode_one(&stream);
    assert_eq!(got.len(), 50);
    for (item, m) in got.iter().zip(&msgs) {
        assert_eq!(item.as_ref().map(|f| &f.raw[..]), Ok(m.as_bytes()));
    }
}

#[test]
fn msg_len_counts_bytes_not_characters() {
    // 홍길동 is 3 characters and 9 bytes.
    assert_eq!("홍길동".chars().count(), 3);
    assert_eq!("홍길동".len(), 9);
    let next = b"<13>1 - - - - - - next";
    let mut stream = octet(HANGUL.as_bytes());
    stream.extend_from_slice(&octet(next));
    let got = decode_one(&stream);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].as_ref().map(|f| &f.raw[..]), Ok(HANGUL.as_bytes()));
    assert_eq!(got[1].as_ref().map(|f| &f.raw[..]), Ok(&next[..]));
    let msg = parse(&got[0].clone().map(|f| f.raw).unwrap_or_default()).map(|m| m.msg);
    assert!(msg.is_ok_and(|m| {
        m.ends_with(
            "홍길동</ParticipantObjectName></ParticipantObjectIdentification></AuditMessage>"
                .as_bytes(),
        )
    }));

    // A sender that counted characters instead: its frame is cut 6 bytes short, and the rest of
    // it becomes a (bad) frame of its own. The decoder follows the bytes, as it must.
    let chars = HANGUL.chars().count();
    let mut wrong = format!("{chars} ").into_bytes();
    wrong.extend_from_slice(HANGUL.as_bytes());
    let got = decode_one(&wrong);
    assert_eq!(got[0].as_ref().map(|f| f.raw.len()), Ok(HANGUL.len() - 6));
}

#[test]
fn newline_framing_from_legacy_senders() {
    let stream = b"<13>1 - - - - - - lf\n<13>1 - - - - - - crlf\r\n<13>1 - - - - - - nul\0<13>Oct 11 22:14:15 mymachine su: 'su root' failed\n";
    let got = decode_one(stream);
    assert_eq!(
        got,
        vec![
            frame(b"<13>1 - - - - - - lf", Framing::NonTransparent, 0),
            frame(b"<13>1 - - - - - - crlf", Framing::NonTransparent, 21),
            frame(b"<13>1 - - - - - - nul", Framing::NonTransparent, 45),
            frame(
                b"<13>Oct 11 22:14:15 mymachine su: 'su root' failed",
                Framing::NonTransparent,
                67
            ),
        ]
    );
}

#[test]
fn last_line_without_trailer_is_delivered_at_the_end_of_the_stream() {
    let got = decode_one(b"<13>1 - - - - - - a\n<13>1 - - - - - - b");
    assert_eq!(
        got,
        vec![
            frame(b"<13>1 - - - - - - a", Framing::NonTransparent, 0),
            frame(b"<13>1 - - - - - - b", Framing::NonTransparent, 20),
        ]
    );
    // Not before the end of the stream, though: more of the line may come.
    let mut d = FrameDecoder::new(FrameLimits::default());
    d.feed(b"<13>1 - - - - - - b");
    assert_eq!(d.next_frame(), None);
}

#[test]
fn mixed_framing_detected_per_frame() {
    let mut stream = octet(b"<13>1 - - - - - - one");
    stream.extend_from_slice(b"<13>1 - - - - - - two\n");
    stream.extend_from_slice(&octet(b"<13>1 - - - - - - three\nwith a line break"));
    stream.extend_from_slice(b"\n\n\r\n"); // empty lines between frames: separators, not frames
    stream.extend_from_slice(&octet(b"<13>1 - - - - - - four"));
    let got: Vec<_> = decode_one(&stream)
        .into_iter()
        .map(|i| i.map(|f| (f.framing, String::from_utf8_lossy(&f.raw).into_owned())))
        .collect();
    assert_eq!(
        got,
        vec![
            Ok((Framing::OctetCounting, "<13>1 - - - - - - one".into())),
            Ok((Framing::NonTransparent, "<13>1 - - - - - - two".into())),
            Ok((
                Framing::OctetCounting,
                "<13>1 - - - - - - three\nwith a line break".into()
            )),
            Ok((Framing::OctetCounting, "<13>1 - - - - - - four".into())),
        ]
    );
}

fn small() -> FrameLimits {
    FrameLimits {
        max_frame_size: 16,
        max_len_digits: 4,
    }
}

#[test]
fn oversize_octet_counted_frame_is_consumed_and_framing_kept() {
    let big = [b'x'; 40];
    let mut stream = octet(&big);
    stream.extend_from_slice(&octet(b"<13>1 - - - - -"));
    let expected = vec![
        Err(FrameError::Oversize {
            offset: 0,
            limit: 16,
            len: 40,
            framing: Framing::OctetCounting,
            head: Bytes::copy_from_slice(&big[..16]),
        }),
        frame(b"<13>1 - - - - -", Framing::OctetCounting, 43),
    ];
    for i in 0..=stream.len() {
        assert_eq!(
            decode(&[&stream[..i], &stream[i..]], small()),
            expected,
            "split at {i}"
        );
    }
    // At most the limit (plus the read in progress) is ever held.
    let mut d = FrameDecoder::new(small());
    for b in &stream {
        d.feed(std::slice::from_ref(b));
        while d.next_frame().is_some() {}
        assert!(d.buffered() <= 16 + 3, "{}", d.buffered());
    }
}

#[test]
fn oversize_line_is_consumed_up_to_its_trailer() {
    let mut stream = vec![b'<'; 30];
    stream.extend_from_slice(b"\n<13>1 - - - - -\n");
    let got = decode(&[&stream[..10], &stream[10..25], &stream[25..]], small());
    assert_eq!(
        got,
        vec![
            Err(FrameError::Oversize {
                offset: 0,
                limit: 16,
                len: 30,
                framing: Framing::NonTransparent,
                head: Bytes::copy_from_slice(&[b'<'; 16]),
            }),
            frame(b"<13>1 - - - - -", Framing::NonTransparent, 31),
        ]
    );
}

#[test]
fn oversize_error_names_the_limit_and_the_length() {
    let got = decode(&[&octet(&[b'x'; 40])], small());
    let text = got[0].as_ref().err().map(ToString::to_string);
    assert_eq!(
        text.as_deref(),
        Some(
            "frame at byte 0: 40 bytes exceed the limit of 16 (OctetCounting framing); skipped, the first 16 bytes kept"
        )
    );
}

#[test]
fn bad_msg_len_reads_to_the_next_lf_and_carries_on() {
    let cases: [(&[u8], u64, LengthProblem); 3] = [
        (b"12x4 foo", 2, LengthProblem::NotADigit { found: b'x' }),
        (b"012 foo", 0, LengthProblem::LeadingZero),
        (b"123456 foo", 4, LengthProblem::TooManyDigits { max: 4 }),
    ];
    for (bad, at, problem) in cases {
        let mut stream = b"3 abc".to_vec();
        stream.extend_from_slice(bad);
        stream.extend_from_slice(b"\r\n4 next");
        let got = decode(&[&stream], small());
        assert_eq!(
            got,
            vec![
                frame(b"abc", Framing::OctetCounting, 0),
                Err(FrameError::BadLength {
                    offset: 5,
                    at: 5 + at,
                    problem,
                    raw: Bytes::copy_from_slice(bad),
                }),
                frame(b"next", Framing::OctetCounting, 7 + bad.len() as u64),
            ],
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn stream_ending_inside_a_frame_yields_a_truncated_item() {
    assert_eq!(
        decode_one(b"20 <13>1 - - -"),
        vec![Err(FrameError::Truncated {
            offset: 0,
            declared: Some(20),
            received: 11,
            raw: Bytes::from_static(b"<13>1 - - -"),
        })]
    );
    assert_eq!(
        decode_one(b"5 abcde12"),
        vec![
            frame(b"abcde", Framing::OctetCounting, 0),
            Err(FrameError::Truncated {
                offset: 7,
                declared: None,
                received: 0,
                raw: Bytes::from_static(b"12"),
            })
        ]
    );
    // Inside an oversize frame: what was kept.
    assert_eq!(
        decode(&[b"99 0123456789012345678901234567"], small()),
        vec![Err(FrameError::Truncated {
            offset: 0,
            declared: Some(99),
            received: 28,
            raw: Bytes::from_static(b"0123456789012345"),
        })]
    );
}

#[test]
fn wanted_tells_how_much_of_the_frame_is_missing() {
    let mut d = FrameDecoder::new(FrameLimits::default());
    d.feed(b"100 abc");
    assert_eq!(d.next_frame(), None);
    assert_eq!(d.wanted(), Some(97));
    d.feed(b"d");
    assert_eq!(d.wanted(), Some(96));
    let mut d = FrameDecoder::new(FrameLimits::default());
    d.feed(b"10");
    assert_eq!(d.wanted(), None);
}

#[test]
fn garbage_never_stops_the_decoder() {
    // Arbitrary bytes (a pseudo-random stream, fixed seed): however they are cut into reads, the
    // items are the same, and their offsets increase.
    let mut x: u32 = 0x1234_5678;
    let stream: Vec<u8> = (0..20_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            [b'1', b' ', b'\n', b'<', b'9', 0, b'a', b'\r'][(x % 8) as usize]
        })
        .collect();
    let whole = decode(&[&stream], small());
    for size in [1, 2, 3, 5, 7, 16, 17, 18, 64, 1000] {
        let chunks: Vec<&[u8]> = stream.chunks(size).collect();
        assert_eq!(decode(&chunks, small()), whole, "reads of {size} bytes");
    }
    assert!(whole.len() > 100);
    let mut last = None;
    for item in &whole {
        let offset = match item {
            Ok(f) => f.offset,
            Err(e) => e.offset(),
        };
        assert!(last < Some(offset), "offsets increase");
        last = Some(offset);
    }
}
