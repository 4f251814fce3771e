//! Decoding an MTOM/XOP message with a 1 MiB binary attachment (`hiehub::soap::mtom`).
//!
//! Run: `cargo bench --bench mtom -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hiehub::soap::mtom::{self, Decoder, Limits, OutgoingPart};

/// Deterministic pseudo-random bytes (xorshift64), so every run decodes the same message.
fn random_bytes(len: usize) -> Vec<u8> {
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn message() -> (String, Vec<u8>) {
    let attachment = OutgoingPart {
        content_id: "doc1@hiehub".into(),
        content_type: "application/dicom".into(),
        body: Bytes::from(random_bytes(1024 * 1024)),
    };
    let root = Bytes::from(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\"><env:Body><xdsb:Document id=\"Document01\"><xop:Include xmlns:xop=\"http://www.w3.org/2004/08/xop/include\" href=\"{}\"/></xdsb:Document></env:Body></env:Envelope>",
        mtom::cid_href(&attachment.content_id)
    ));
    let (content_type, chunks) = mtom::encode(
        root,
        Some("urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"),
        &[attachment],
    );
    (content_type, chunks.concat())
}

fn decode(c: &mut Criterion) {
    let (content_type, wire) = message();
    let parsed = mtom::parse_content_type(&content_type).expect("content type");
    let mut group = c.benchmark_group("mtom_decode");
    group.throughput(Throughput::Bytes(wire.len() as u64));
    group.bench_function("1MiB_attachment_one_push", |b| {
        b.iter(|| {
            let mm = mtom::decode(
                black_box(&content_type),
                black_box(&wire),
                Limits::default(),
            )
            .expect("decodes");
            black_box(mm.attachments.len())
        })
    });
    group.bench_function("1MiB_attachment_16KiB_chunks", |b| {
        b.iter(|| {
            let mut decoder = Decoder::new(&parsed, Limits::default());
            for chunk in black_box(&wire).chunks(16 * 1024) {
                decoder.push(chunk).expect("push");
            }
            black_box(decoder.finish().expect("decodes").attachments.len())
        })
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
