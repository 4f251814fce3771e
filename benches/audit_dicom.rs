//! Decoding and indexing DICOM audit messages (`hiehub::audit::dicom`), the per-event parsing
//! work of ITI-20 ingest, on the 1–4 KiB messages the ingest benchmark sends.
//!
//! Run: `cargo bench --bench audit_dicom -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hiehub::audit::dicom;
use hiehub::xml;

fn read(path: &str) -> Vec<u8> {
    let full = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

fn decode_and_index(c: &mut Criterion) {
    let messages = [
        // IPF, ITI-44 Patient Identity Feed: 1.5 KiB, one patient object.
        (
            "ipf_iti44_1.5k",
            read("../shared/fixtures/ipf/atna/audit-iti44-pix-source-feed.xml"),
        ),
        // ITI-18 Registry Stored Query: 3.7 KiB, three participants, base64 query, Hangul name.
        (
            "iti18_query_3.7k",
            read("tests/data/audit/dicom-iti18-registry-stored-query.xml"),
        ),
    ];
    let mut group = c.benchmark_group("audit_dicom");
    for (name, bytes) in &messages {
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(format!("decode_index/{name}"), |b| {
            b.iter(|| {
                let m = dicom::decode(black_box(bytes)).expect("decodes");
                dicom::index(&m)
            })
        });
    }
    // The share of the XML reader alone, for comparison.
    let limits = xml::Limits::default();
    for (name, bytes) in &messages {
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(format!("xml_parse_only/{name}"), |b| {
            b.iter(|| xml::parse(black_box(bytes), &limits).expect("parses"))
        });
    }
    let (_, iti18) = &messages[1];
    let message = dicom::decode(iti18).expect("decodes");
    group.bench_function("encode/iti18_query", |b| {
        b.iter(|| dicom::encode(black_box(&message)))
    });
    group.finish();
}

criterion_group!(benches, decode_and_index);
criterion_main!(benches);
