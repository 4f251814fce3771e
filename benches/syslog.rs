//! ITI-20 syslog codec throughput: RFC 5425 octet-counting decode + RFC 5424 parse
//! (`hiehub::audit::syslog`), 1 KiB and 4 KiB audit messages, fed in 64 KiB reads as the TLS
//! listener does. Throughput is in messages; bytes/s = messages/s × size (+ MSG-LEN SP).
//!
//! Run: `cargo bench --bench syslog -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hiehub::audit::syslog::{FrameDecoder, FrameLimits, parse};

/// One RFC 5424 message with MSGID IHE+RFC-3881 and structured data, padded to `size` bytes.
fn message(size: usize, i: usize) -> Vec<u8> {
    let mut m = format!(
        "<85>1 2026-01-02T03:04:05.678Z pacs.example.kr dcm4chee 4242 IHE+RFC-3881 [origin@32473 ip=\"10.0.0.{}\" software=\"hiehub-bench\"] <AuditMessage><EventIdentification EventActionCode=\"R\" EventDateTime=\"2026-01-02T03:04:05Z\" EventOutcomeIndicator=\"0\"/><ParticipantObjectIdentification ParticipantObjectID=\"P{i}\"><ParticipantObjectName>홍길동</ParticipantObjectName>",
        i % 250
    )
    .into_bytes();
    let tail = b"</ParticipantObjectIdentification></AuditMessage>";
    while m.len() + tail.len() < size {
        m.extend_from_slice(b"<Padding/>");
    }
    m.truncate(size - tail.len());
    m.extend_from_slice(tail);
    m
}

fn stream(size: usize, count: usize) -> Vec<u8> {
    let mut s = Vec::new();
    for i in 0..count {
        let m = message(size, i);
        s.extend_from_slice(format!("{} ", m.len()).as_bytes());
        s.extend_from_slice(&m);
    }
    s
}

fn decode_and_parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("syslog_decode_parse");
    for size in [1024, 4096] {
        let count = 1024;
        let data = stream(size, count);
        group.throughput(Throughput::Elements(count as u64));
        group.bench_function(format!("{}KiB", size / 1024), |b| {
            b.iter(|| {
                let mut decoder = FrameDecoder::new(FrameLimits::default());
                let mut n = 0;
                for chunk in data.chunks(64 * 1024) {
                    decoder.feed(chunk);
                    while let Some(frame) = decoder.next_frame() {
                        let frame = frame.expect("frame");
                        let m = parse(&frame.raw).expect("syslog");
                        black_box(&m);
                        n += 1;
                    }
                }
                assert_eq!(n, count);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, decode_and_parse);
criterion_main!(benches);
