//! Parsing SOAP envelopes with the safe XML reader (`hiehub::xml` + `hiehub::soap`).
//!
//! Run: `cargo bench --bench soap -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hiehub::{soap, xml};

fn envelope(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:a=\"http://www.w3.org/2005/08/addressing\"><s:Header><a:Action s:mustUnderstand=\"1\">urn:ihe:iti:2007:RegisterDocumentSet-b</a:Action><a:MessageID>urn:uuid:0b5e3f57-8d2b-4c2e-9a4e-6f3a4b8f9c10</a:MessageID><a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo></s:Header><s:Body>{body}</s:Body></s:Envelope>"
    )
}

fn parse(c: &mut Criterion) {
    let echo = envelope(
        "<d:EchoRequest xmlns:d=\"urn:hiehub:diagnostics:2026\"><d:Text>hello</d:Text></d:EchoRequest>",
    );
    // A real ITI-42 body (dcm4chee sample: SubmissionSet + one DocumentEntry), about 9 KB.
    let fixture = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/dcm4chee/xds/valid-iti42-register-one-document.xml"
    ))
    .expect("fixture");
    let body = fixture
        .trim_start()
        .strip_prefix("<?xml")
        .and_then(|r| r.split_once("?>"))
        .map_or(fixture.as_str(), |(_, rest)| rest);
    let iti42 = envelope(body);
    let limits = xml::Limits::default();
    let mut group = c.benchmark_group("envelope_parse");
    for (name, text) in [("echo", &echo), ("iti42_one_document", &iti42)] {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let root = xml::parse(black_box(text.as_bytes()), &limits).expect("xml");
                soap::parse_envelope(root, None).expect("envelope")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
