//! The protobuf decoder through `otlp::decode`: against prost on the
//! official examples, random requests and mutated bytes; errors and limits.

use crate::testdata::{
    self, Request, Style, example_request, field_len, fixture, fixture_path, random_request,
    reference_events, to_json,
};
use otelcat::otlp::{
    AnyValue, Encoding, ErrorKind, Event, Limits, Position, Signal, Summary, decode,
};
use prost::Message;
use std::borrow::Cow;

const EXAMPLES: [(&str, Signal); 4] = [
    ("trace", Signal::Traces),
    ("metrics", Signal::Metrics),
    ("logs", Signal::Logs),
    ("events", Signal::Logs),
];

fn pb(payload: &[u8], signal: Signal) -> Result<Vec<Event<'_>>, otelcat::otlp::DecodeError> {
    let mut out = Vec::new();
    decode(
        payload,
        Encoding::Protobuf(signal),
        &Limits::default(),
        &mut out,
    )?;
    Ok(out)
}

fn json(payload: &[u8]) -> Vec<Event<'_>> {
    let mut out = Vec::new();
    decode(payload, Encoding::Json, &Limits::default(), &mut out)
        .unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(payload)));
    out
}

/// Regenerates the protobuf fixtures from the JSON examples.
#[test]
#[ignore = "writes tests/fixtures/otlp/*.pb"]
fn write_protobuf_fixtures() {
    for (name, _) in EXAMPLES {
        let req = example_request(&fixture(&format!("{name}.json")));
        std::fs::write(fixture_path(&format!("{name}.pb")), req.encode()).unwrap();
    }
}

#[test]
fn examples_agree_in_both_encodings() {
    for (name, signal) in EXAMPLES {
        let json_bytes = fixture(&format!("{name}.json"));
        let pb_bytes = fixture(&format!("{name}.pb"));
        let req = example_request(&json_bytes);
        assert_eq!(req.signal(), signal);
        // The checked-in fixture is what the generator writes.
        assert!(pb_bytes == req.encode(), "{name}.pb is stale");
        let mut want = Vec::new();
        reference_events(&req, &mut want);
        assert_eq!(json(&json_bytes), want, "{name}.json");
        assert_eq!(pb(&pb_bytes, signal).unwrap(), want, "{name}.pb");
    }
}

#[test]
fn trace_example_events() {
    let bytes = fixture("trace.pb");
    let attr = |k: &'static str, v: &'static str| otelcat::otlp::Attr {
        key: k.into(),
        value: AnyValue::Str(v.into()),
    };
    // The span's bytes: its field in ScopeSpans, as prost writes it.
    let Request::Traces(req) = Request::decode(Signal::Traces, &bytes).unwrap() else {
        unreachable!()
    };
    let span_bytes = field_len(&req.resource_spans[0].scope_spans[0].spans[0]);
    let mut out = Vec::new();
    let summary = decode(
        &bytes,
        Encoding::Protobuf(Signal::Traces),
        &Limits::default(),
        &mut out,
    )
    .unwrap();
    assert_eq!(
        out,
        [
            Event::Resource,
            Event::ResourceAttr(attr("service.name", "my.service")),
            Event::Scope {
                name: "my.library".into(),
                version: "1.0.0".into()
            },
            Event::ScopeAttr(attr("my.scope.attribute", "some scope attribute")),
            Event::Span {
                name: "I'm a server span".into(),
                kind: otelcat::otlp::SpanKind::Server,
                start_time_unix_nano: 1544712660000000000,
                status_code: 0,
                bytes: span_bytes,
                dropped_attributes: 0,
                dropped_events: 0,
                dropped_links: 0,
            },
            Event::SpanAttr(attr("my.span.attr", "some value")),
        ]
    );
    assert_eq!(
        summary,
        Summary {
            requests: 1,
            resources: 1,
            scopes: 1,
            spans: 1,
            resource_attrs: 1,
            events: 6,
            ..Summary::default()
        }
    );
    // Zero-copy: strings borrow from the payload.
    assert!(matches!(
        &out[4],
        Event::Span {
            name: Cow::Borrowed(_),
            ..
        }
    ));
}

#[test]
fn random_requests_agree_with_prost_and_json() {
    for seed in 0..150 {
        for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
            let req = random_request(signal, seed);
            let bytes = req.encode();
            // prost's decoding is the oracle.
            let decoded = Request::decode(signal, &bytes).unwrap();
            let mut want = Vec::new();
            reference_events(&decoded, &mut want);
            let got = pb(&bytes, signal).unwrap();
            assert_eq!(got, want, "protobuf, {signal} seed {seed}");
            let canonical = to_json(&req, &mut Style::canonical());
            let got = json(canonical.as_bytes());
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert_eq!(g, w, "canonical JSON, seed {seed}, event {i}\n{canonical}");
            }
            assert_eq!(
                json(canonical.as_bytes()),
                want,
                "canonical JSON, seed {seed}"
            );
            let quirky = to_json(&req, &mut Style::quirky(seed));
            assert_eq!(json(quirky.as_bytes()), want, "quirky JSON, seed {seed}");
        }
    }
}

#[test]
fn out_of_order_fields_are_put_in_order() {
    // prost writes fields in number order; write a span whose links,
    // events and attributes come in reverse, a scope block whose spans
    // come before its scope, and a resource after its scope blocks.
    let mut g = testdata::Gen::new(7);
    let mut span = g.span();
    span.attributes = vec![testdata_kv("a", "1"), testdata_kv("b", "2")];
    span.events.truncate(1);
    span.links.truncate(1);
    if span.events.is_empty() || span.links.is_empty() {
        span = testdata::Gen::new(1).span();
    }
    let mut span_bytes = Vec::new();
    for l in span.links.iter().rev() {
        prost::encoding::message::encode(13, l, &mut span_bytes);
    }
    for e in span.events.iter().rev() {
        prost::encoding::message::encode(11, e, &mut span_bytes);
    }
    for a in span.attributes.iter().rev() {
        prost::encoding::message::encode(9, a, &mut span_bytes);
    }
    prost::encoding::string::encode(5, &span.name, &mut span_bytes);
    let scope = opentelemetry_proto::tonic::common::v1::InstrumentationScope {
        name: "lib".into(),
        attributes: vec![testdata_kv("s", "x")],
        ..Default::default()
    };
    let mut scope_block = Vec::new();
    prost::encoding::bytes::encode(2, &span_bytes, &mut scope_block);
    prost::encoding::message::encode(1, &scope, &mut scope_block);
    let resource = opentelemetry_proto::tonic::resource::v1::Resource {
        attributes: vec![testdata_kv("service.name", "svc")],
        ..Default::default()
    };
    let mut resource_block = Vec::new();
    prost::encoding::bytes::encode(2, &scope_block, &mut resource_block);
    prost::encoding::message::encode(1, &resource, &mut resource_block);
    let mut request = Vec::new();
    prost::encoding::bytes::encode(1, &resource_block, &mut request);

    let decoded = Request::decode(Signal::Traces, &request).unwrap();
    let mut want = Vec::new();
    reference_events(&decoded, &mut want);
    assert_eq!(pb(&request, Signal::Traces).unwrap(), want);
    // And the same in JSON, whose writer keeps the prost order.
    let text = to_json(&decoded, &mut Style::canonical());
    assert_eq!(json(text.as_bytes()), want);
}

fn testdata_kv(k: &str, v: &str) -> opentelemetry_proto::tonic::common::v1::KeyValue {
    use opentelemetry_proto::tonic::common::v1::{AnyValue as P, KeyValue, any_value};
    KeyValue {
        key: k.into(),
        value: Some(P {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        key_strindex: 0,
    }
}

#[test]
fn truncated_protobuf_fails() {
    for (name, signal) in EXAMPLES {
        let bytes = fixture(&format!("{name}.pb"));
        for len in 1..bytes.len() {
            let err = pb(&bytes[..len], signal).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Protobuf(signal));
            let Position::Offset(o) = err.position() else {
                panic!("{err}")
            };
            assert!(o <= len, "{err}");
        }
    }
    // Truncation shows at the outermost length that runs past the end.
    let err = pb(&fixture("trace.pb")[..100], Signal::Traces).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid OTLP/protobuf traces request at byte 1: \
         truncated: 211 bytes announced, 97 left in the message"
    );
    // An empty payload is an empty request.
    assert_eq!(pb(b"", Signal::Traces).unwrap(), []);
}

fn offset(e: &otelcat::otlp::DecodeError) -> usize {
    match e.position() {
        Position::Offset(o) => o,
        _ => panic!("{e}"),
    }
}

#[test]
fn wrong_signal() {
    // Bytes of another signal fail on the first record: wire types differ
    // (a log record starts with a fixed64 time where a span has bytes,
    // a metric's gauge is a message where a span has a fixed64 start).
    for (name, actual) in EXAMPLES {
        let bytes = fixture(&format!("{name}.pb"));
        for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
            if signal == actual {
                continue;
            }
            let err = pb(&bytes, signal).unwrap_err();
            assert!(
                err.message().contains("wire type") || err.message().contains("UTF-8"),
                "{name} as {signal}: {err}"
            );
        }
    }
}

#[test]
fn hostile_protobuf() {
    use prost::encoding::{encode_key, encode_varint};
    let kv = |key: &[u8]| {
        let mut b = Vec::new();
        prost::encoding::bytes::encode(1, &key.to_vec(), &mut b);
        b
    };
    // Wrap `inner` as field `f` of each enclosing message, innermost first.
    let wrap = |inner: Vec<u8>, fields: &[u32]| {
        fields.iter().fold(inner, |acc, &f| {
            let mut b = Vec::new();
            prost::encoding::bytes::encode(f, &acc, &mut b);
            b
        })
    };
    // attributes → span → scope spans → resource spans → request
    let span_attr = |attr: Vec<u8>| wrap(attr, &[9, 2, 2, 1]);

    // Invalid UTF-8 in a key.
    let bytes = span_attr(kv(b"\xff\xfe"));
    let err = pb(&bytes, Signal::Traces).unwrap_err();
    assert_eq!(
        err.path(),
        "resourceSpans[0].scopeSpans[0].spans[0].attributes[0]"
    );
    assert_eq!(err.message(), "field 1: invalid UTF-8");
    assert_eq!(offset(&err), bytes.len() - 4, "at the key's tag");

    // A varint where a string belongs.
    let mut bad = Vec::new();
    encode_key(1, prost::encoding::WireType::Varint, &mut bad);
    encode_varint(5, &mut bad);
    let err = pb(&span_attr(bad), Signal::Traces).unwrap_err();
    assert_eq!(
        err.message(),
        "field 1 has wire type varint, expected length-delimited"
    );

    // Overlong varint, group wire type, field number 0.
    for (bytes, msg) in [
        (
            &b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f"[..],
            "invalid varint",
        ),
        (b"\x0a\xff\xff", "truncated varint"),
        (b"\x0b", "field 1 has unsupported wire type 3"),
        (b"\x00", "invalid field number 0"),
    ] {
        assert_eq!(pb(bytes, Signal::Logs).unwrap_err().message(), msg);
    }

    // A million attributes on one span.
    let mut attrs = Vec::new();
    let one = {
        let mut b = Vec::new();
        prost::encoding::bytes::encode(9, &kv(b"k"), &mut b);
        b
    };
    for _ in 0..1_000_000 {
        attrs.extend_from_slice(&one);
    }
    let bytes = wrap(attrs.clone(), &[2, 2, 1]);
    let err = pb(&bytes, Signal::Traces).unwrap_err();
    assert!(err.message().contains("max_attributes_per_record"), "{err}");
    // 4096 is fine.
    let n = 4096 * one.len();
    let bytes = wrap(attrs[..n].to_vec(), &[2, 2, 1]);
    assert_eq!(pb(&bytes, Signal::Traces).unwrap().len(), 3 + 4096);

    // Values nested 33 deep (arrays of arrays).
    let nest = |depth: usize| {
        let mut v = Vec::new(); // empty AnyValue
        for _ in 1..depth {
            v = wrap(wrap(v, &[1]), &[5]); // ArrayValue.values → AnyValue.array_value
        }
        let mut attr = kv(b"deep");
        prost::encoding::bytes::encode(2, &v, &mut attr);
        span_attr(attr)
    };
    assert!(pb(&nest(32), Signal::Traces).is_ok());
    let err = pb(&nest(33), Signal::Traces).unwrap_err();
    assert!(err.message().contains("max_depth"), "{err}");
    let path = err.path();
    assert!(path.starts_with("resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value."));
    assert_eq!(path.matches(".arrayValue.values[0]").count(), 32, "{path}");

    // max_depth has a ceiling: the decoders recurse once per level.
    let deep = Limits {
        max_depth: 10_000,
        ..Limits::default()
    };
    let bytes = nest(129);
    let mut out = Vec::new();
    let err = decode(&bytes, Encoding::Protobuf(Signal::Traces), &deep, &mut out).unwrap_err();
    assert!(err.message().contains("deeper than 128"), "{err}");

    // JSON sent as protobuf gets a hint.
    let err = pb(&fixture("trace.json"), Signal::Traces).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid OTLP/protobuf traces request at byte 0: \
         field 15 has unsupported wire type 3 (the payload looks like OTLP/JSON)"
    );

    // max_events bounds the output of tiny records.
    let spans: Vec<u8> = std::iter::repeat_n([0x12u8, 0x00], 100).flatten().collect();
    let bytes = wrap(spans, &[2, 1]);
    let limits = Limits {
        max_events: 50,
        ..Limits::default()
    };
    let mut out = vec![Event::Resource];
    let err = decode(
        &bytes,
        Encoding::Protobuf(Signal::Traces),
        &limits,
        &mut out,
    )
    .unwrap_err();
    assert!(err.message().contains("max_events"), "{err}");
    // The output is left as it was.
    assert_eq!(out, [Event::Resource]);
}

/// Length-delimited field `f` holding `inner`.
fn ld(f: u32, inner: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    prost::encoding::bytes::encode(f, &inner.to_vec(), &mut b);
    b
}

/// A `KeyValue` with a string value.
fn kv_bytes(key: &str, value: &str) -> Vec<u8> {
    let mut b = ld(1, key.as_bytes());
    b.extend(ld(2, &ld(1, value.as_bytes())));
    b
}

/// Shuffles the fields of `kinds` (lists of encoded fields) into one
/// message: each list keeps its order, the lists interleave at random.
fn interleave(rnd: &mut crate::testutil::XorShift, kinds: &[Vec<Vec<u8>>]) -> Vec<u8> {
    let mut next = vec![0; kinds.len()];
    let mut out = Vec::new();
    while let Some(k) = {
        let open: Vec<usize> = (0..kinds.len())
            .filter(|&k| next[k] < kinds[k].len())
            .collect();
        (!open.is_empty()).then(|| open[rnd.below(open.len() as u64) as usize])
    } {
        out.extend_from_slice(&kinds[k][next[k]]);
        next[k] += 1;
    }
    out
}

/// Fields in any order decode as in order: a span's attributes, events
/// and links interleaved; a scope block's scope (in several parts,
/// which protobuf merges) among its spans; a resource block's resource
/// (in parts) among its scope blocks.
#[test]
fn interleaved_fields_are_put_in_order() {
    let mut rnd = crate::testutil::XorShift::new(99);
    for case in 0..200 {
        let mut n = || rnd.below(6) as usize;
        let (na, ne, nl, nsp, nsc, nsa, nrp, nsb) =
            (n(), n(), n(), n(), n(), n(), n(), 1 + n() % 3);
        let attrs: Vec<Vec<u8>> = (0..na)
            .map(|i| ld(9, &kv_bytes(&format!("a{i}"), "v")))
            .collect();
        let events: Vec<Vec<u8>> = (0..ne)
            .map(|i| {
                ld(
                    11,
                    &[
                        ld(2, format!("e{i}").as_bytes()),
                        ld(3, &kv_bytes("ek", "x")),
                    ]
                    .concat(),
                )
            })
            .collect();
        let links: Vec<Vec<u8>> = (0..nl)
            .map(|i| ld(13, &ld(4, &kv_bytes(&format!("l{i}"), "y"))))
            .collect();
        let name = ld(5, b"span");
        let kinds = [
            vec![name.clone()],
            attrs.clone(),
            events.clone(),
            links.clone(),
        ];
        let span_in_order = kinds.concat().concat();
        let span_shuffled = interleave(&mut rnd, &kinds);
        // Scope blocks: scope parts (name, then an attribute each) and spans.
        let scope_parts: Vec<Vec<u8>> = (0..nsc)
            .map(|i| {
                ld(
                    1,
                    &[ld(1, b"lib"), ld(3, &kv_bytes(&format!("s{i}"), "z"))].concat(),
                )
            })
            .collect();
        let spans =
            |span: &[u8]| -> Vec<Vec<u8>> { (0..nsp.max(1)).map(|_| ld(2, span)).collect() };
        let block_in_order = [scope_parts.clone(), spans(&span_in_order)]
            .concat()
            .concat();
        let scope_kinds = [scope_parts.clone(), spans(&span_shuffled)];
        let blocks_in_order: Vec<Vec<u8>> = (0..nsb).map(|_| ld(2, &block_in_order)).collect();
        let blocks_shuffled: Vec<Vec<u8>> = (0..nsb)
            .map(|_| ld(2, &interleave(&mut rnd, &scope_kinds)))
            .collect();
        // Resource parts, each with some attributes.
        let res_parts: Vec<Vec<u8>> = (0..nrp)
            .map(|p| {
                ld(
                    1,
                    &(0..nsa)
                        .map(|i| ld(1, &kv_bytes(&format!("r{p}.{i}"), "w")))
                        .collect::<Vec<_>>()
                        .concat(),
                )
            })
            .collect();
        let in_order = ld(1, &[res_parts.clone(), blocks_in_order].concat().concat());
        let shuffled = ld(1, &interleave(&mut rnd, &[res_parts, blocks_shuffled]));
        let want = pb(&in_order, Signal::Traces).unwrap();
        assert_eq!(pb(&shuffled, Signal::Traces).unwrap(), want, "case {case}");
    }
}

/// The attribute limit counts a resource's (or scope's) attributes
/// over all the parts protobuf merges into it.
#[test]
fn attribute_limit_counts_merged_parts() {
    let part = |f: u32, n: usize| {
        let attrs: Vec<u8> = (0..n)
            .flat_map(|i| ld(f, &kv_bytes(&format!("k{i}"), "v")))
            .collect();
        ld(1, &attrs)
    };
    let scope_block = |scope: Vec<u8>| ld(2, &[scope, ld(2, &ld(5, b"s"))].concat());
    for (a, b, ok) in [(2048, 2048, true), (3000, 1097, false), (4096, 1, false)] {
        // Two `resource` fields.
        let req = ld(
            1,
            &[part(1, a), part(1, b), scope_block(Vec::new())].concat(),
        );
        let r = pb(&req, Signal::Traces);
        assert_eq!(r.is_ok(), ok, "resource {a} + {b}");
        if let Err(e) = r {
            assert!(e.message().contains("max_attributes_per_record"), "{e}");
        }
        // Two `scope` fields of one scope block.
        let req = ld(1, &scope_block([part(3, a), part(3, b)].concat()));
        let r = pb(&req, Signal::Traces);
        assert_eq!(r.is_ok(), ok, "scope {a} + {b}");
        if let Err(e) = r {
            assert!(e.message().contains("max_attributes_per_record"), "{e}");
        }
    }
}

/// Sets the bytes of a record's event.
fn set_bytes(e: &mut Event<'_>, n: u32) {
    match e {
        Event::Span { bytes, .. } | Event::Metric { bytes, .. } | Event::Log { bytes, .. } => {
            *bytes = n
        }
        _ => {}
    }
}

/// Random bytes and mutations of valid payloads: never a panic, and
/// whenever both prost and the walker accept a payload, they agree.
#[test]
fn fuzz_protobuf() {
    let mut rng = fastrand::Rng::with_seed(42);
    let mut seeds: Vec<(Vec<u8>, Signal)> = EXAMPLES
        .iter()
        .map(|(n, s)| (fixture(&format!("{n}.pb")), *s))
        .collect();
    for seed in 0..30 {
        for s in [Signal::Traces, Signal::Metrics, Signal::Logs] {
            seeds.push((random_request(s, seed).encode(), s));
        }
    }
    let mut agreed = 0;
    for i in 0..10_000 {
        let (base, signal) = &seeds[i % seeds.len()];
        let mut bytes = base.clone();
        match rng.u8(..4) {
            0 => {
                let n = rng.usize(..64);
                bytes = std::iter::repeat_with(|| rng.u8(..)).take(n).collect();
            }
            _ if bytes.is_empty() => {}
            _ => {
                for _ in 0..rng.usize(1..4) {
                    let at = rng.usize(..bytes.len());
                    match rng.u8(..4) {
                        0 => bytes[at] = rng.u8(..),
                        1 => bytes[at] ^= 1 << rng.u8(..8),
                        2 => bytes.truncate(at),
                        _ => bytes.insert(at, rng.u8(..)),
                    }
                    if bytes.is_empty() {
                        break;
                    }
                }
            }
        }
        let ours = pb(&bytes, *signal);
        if let (Ok(mut ours), Ok(theirs)) = (ours, Request::decode(*signal, &bytes)) {
            let mut want = Vec::new();
            reference_events(&theirs, &mut want);
            // Records' bytes are what was sent: what prost writes only when
            // the payload is as prost writes it (mutations add unknown
            // fields, repeat fields, lengthen varints).
            if theirs.encode() != bytes {
                for e in ours.iter_mut().chain(want.iter_mut()) {
                    set_bytes(e, 0);
                }
            }
            assert_eq!(ours, want, "{bytes:?}");
            agreed += 1;
        }
    }
    assert!(agreed > 500, "{agreed}");
}

/// Decoder throughput on realistic spans. Run with
/// `cargo test --release -- --ignored --nocapture bench_decoders`.
#[test]
#[ignore = "benchmark"]
fn bench_decoders() {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use std::hint::black_box;
    use std::time::{Duration, Instant};

    const SPANS: usize = 1024;
    let req = Request::Traces(testdata::realistic_traces(SPANS, 1));
    let bytes = req.encode();
    let text = to_json(&req, &mut Style::canonical());
    let limits = Limits::default();
    println!(
        "{SPANS} spans per request: protobuf {} bytes, JSON {} bytes",
        bytes.len(),
        text.len()
    );
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let run = |name: &str, size: usize, f: &mut dyn FnMut() -> usize| {
        if !name.contains(only.as_str()) {
            return;
        }
        for _ in 0..20 {
            black_box(f());
        }
        let mut best = Duration::MAX;
        for _ in 0..5 {
            let start = Instant::now();
            let mut n = 0;
            while start.elapsed() < Duration::from_millis(300) {
                black_box(f());
                n += 1;
            }
            best = best.min(start.elapsed() / n);
        }
        let secs = best.as_secs_f64();
        println!(
            "{name:<34} {:>6.2} M spans/s {:>7.0} MB/s",
            SPANS as f64 / secs / 1e6,
            size as f64 / secs / 1e6
        );
    };
    let mut out = Vec::new();
    run("B: protobuf walker -> events", bytes.len(), &mut || {
        out.clear();
        decode(
            &bytes,
            Encoding::Protobuf(Signal::Traces),
            &limits,
            &mut out,
        )
        .unwrap();
        out.len()
    });
    run("A: prost decode only", bytes.len(), &mut || {
        let r = ExportTraceServiceRequest::decode(&bytes[..]).unwrap();
        r.resource_spans.len()
    });
    run("A: prost decode -> events", bytes.len(), &mut || {
        let r = Request::Traces(ExportTraceServiceRequest::decode(&bytes[..]).unwrap());
        let mut events = Vec::with_capacity(16 * SPANS);
        reference_events(&r, &mut events);
        events.len()
    });
    let mut out = Vec::new();
    run("JSON -> events", text.len(), &mut || {
        out.clear();
        decode(text.as_bytes(), Encoding::Json, &limits, &mut out).unwrap();
        out.len()
    });
    let quirky = to_json(&req, &mut Style::quirky(3));
    let mut out = Vec::new();
    run("JSON with quirks -> events", quirky.len(), &mut || {
        out.clear();
        decode(quirky.as_bytes(), Encoding::Json, &limits, &mut out).unwrap();
        out.len()
    });
}

/// Shapes of points whose repeated numbers come unpacked, packed, or both
/// (prost writes them packed; a decoder must accept either), and a packed
/// run of doubles that is not a whole number of them.
#[test]
fn point_shapes_packed_or_not() {
    let request = |metric: Vec<u8>| ld(1, &ld(2, &ld(2, &metric)));
    let points = |payload: &[u8]| -> Vec<(u32, i32)> {
        pb(payload, Signal::Metrics)
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                Event::DataPoint { buckets, scale, .. } => Some((*buckets, *scale)),
                _ => None,
            })
            .collect()
    };
    // Histogram (metric field 9): bounds (point field 7) as three unpacked
    // doubles, then a packed run of two.
    let mut dp = Vec::new();
    for v in [1.0f64, 2.0, 5.0] {
        dp.push(7 << 3 | 1);
        dp.extend(v.to_le_bytes());
    }
    dp.extend(ld(
        7,
        &[10.0f64.to_le_bytes(), 20.0f64.to_le_bytes()].concat(),
    ));
    let mut m = ld(1, b"h");
    m.extend(ld(9, &ld(1, &dp)));
    assert_eq!(points(&request(m)), [(5, 0)]);
    // ExponentialHistogram (metric field 10): scale -3 (sint32), positive
    // buckets as two unpacked varints then a packed run of two, negative
    // as a packed run of one.
    let mut positive = vec![2 << 3, 0x96, 0x01, 2 << 3, 3];
    positive.extend(ld(2, &[0x01, 0x80, 0x01]));
    let mut dp = vec![6 << 3, 5];
    dp.extend(ld(8, &positive));
    dp.extend(ld(9, &ld(2, &[7])));
    let mut m = ld(1, b"e");
    m.extend(ld(10, &ld(1, &dp)));
    assert_eq!(points(&request(m)), [(5, -3)]);
    // 7 bytes of packed doubles, and a packed varint cut short.
    let mut m = ld(1, b"h");
    m.extend(ld(9, &ld(1, &ld(7, &[0; 7]))));
    let err = pb(&request(m), Signal::Metrics).unwrap_err().to_string();
    assert!(err.contains("7 bytes of packed 8-byte values"), "{err}");
    let mut m = ld(1, b"e");
    m.extend(ld(10, &ld(1, &ld(8, &ld(2, &[0x80])))));
    let err = pb(&request(m), Signal::Metrics).unwrap_err().to_string();
    assert!(err.contains("varint"), "{err}");
}
