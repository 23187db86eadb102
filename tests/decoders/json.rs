//! The JSON decoder through `otlp::decode`: the official examples, the
//! quirks senders have, errors, hostile and mutated input.

use crate::testdata::{Style, fixture, random_request, to_json};
use otelcat::otlp::{
    AnyValue, Attr, DecodeError, Encoding, ErrorKind, Event, Limits, MetricKind, Position, Signal,
    SpanKind, Summary, Temporality, decode, resource_attrs, service_name,
};
use std::borrow::Cow;

use crate::testutil::json_events as events;

fn error(text: &[u8]) -> DecodeError {
    let mut out = Vec::new();
    let err = decode(text, Encoding::Json, &Limits::default(), &mut out).unwrap_err();
    assert!(out.is_empty());
    assert_eq!(err.kind(), ErrorKind::Json);
    err
}

fn attr<'a>(key: &'a str, value: AnyValue<'a>) -> Attr<'a> {
    Attr {
        key: key.into(),
        value,
    }
}

fn s(v: &str) -> AnyValue<'_> {
    AnyValue::Str(v.into())
}

#[test]
fn logs_example() {
    let bytes = fixture("logs.json");
    let out = events(std::str::from_utf8(&bytes).unwrap());
    let Event::Log {
        severity_number,
        severity_text,
        event_name,
        time_unix_nano,
        body,
        ..
    } = &out[4]
    else {
        panic!("{:?}", out[4])
    };
    assert_eq!(
        (*severity_number, &**severity_text, &**event_name),
        (10, "Information", "")
    );
    assert_eq!(*time_unix_nano, 1544712660300000000);
    assert_eq!(body, &Some(s("Example log record")));
    let attrs: Vec<(String, &str, String)> = out[5..]
        .iter()
        .map(|e| match e {
            Event::LogAttr(a) => (a.key.to_string(), a.value.type_name(), a.value.to_text()),
            e => panic!("{e:?}"),
        })
        .collect();
    let want = [
        ("string.attribute", "string", "some string"),
        ("boolean.attribute", "bool", "true"),
        ("int.attribute", "int", "10"),
        ("double.attribute", "double", "637.704"),
        ("array.attribute", "array", r#"["many","values"]"#),
        (
            "map.attribute",
            "kvlist",
            r#"{"some.map.key":"some value"}"#,
        ),
    ];
    assert_eq!(attrs.len(), want.len());
    for ((k, t, v), (wk, wt, wv)) in attrs.iter().zip(want) {
        assert_eq!((k.as_str(), *t, v.as_str()), (wk, wt, wv));
    }
    assert_eq!(service_name(resource_attrs(&out[1..])), "my.service");
}

#[test]
fn events_example() {
    let bytes = fixture("events.json");
    let out = events(std::str::from_utf8(&bytes).unwrap());
    let Event::Log {
        event_name, body, ..
    } = &out[4]
    else {
        panic!("{:?}", out[4])
    };
    assert_eq!(event_name, "browser.page_view");
    assert_eq!(
        body.as_ref().unwrap().to_text(),
        r#"{"type":0,"url":"https://www.guidgenerator.com/online-guid-generator.aspx","referrer":"https://wwww.google.com","title":"Free Online GUID Generator"}"#
    );
}

#[test]
fn metrics_example() {
    let bytes = fixture("metrics.json");
    let text = std::str::from_utf8(&bytes).unwrap();
    let mut out = Vec::new();
    let summary = decode(
        text.as_bytes(),
        Encoding::Json,
        &Limits::default(),
        &mut out,
    )
    .unwrap();
    let metrics: Vec<_> = out
        .iter()
        .filter_map(|e| match e {
            Event::Metric {
                name,
                kind,
                unit,
                temporality,
                monotonic,
                ..
            } => Some((&**name, *kind, &**unit, *temporality, *monotonic)),
            _ => None,
        })
        .collect();
    use MetricKind::{ExponentialHistogram, Gauge, Histogram, Sum};
    use Temporality::{Delta, Unspecified};
    assert_eq!(
        metrics,
        [
            ("my.counter", Sum, "1", Delta, true),
            ("my.gauge", Gauge, "1", Unspecified, false),
            ("my.histogram", Histogram, "1", Delta, false),
            (
                "my.exponential.histogram",
                ExponentialHistogram,
                "1",
                Delta,
                false
            ),
        ]
    );
    // The points' shapes: none for the counter and the gauge, one explicit
    // bound, two positive buckets at scale 0.
    let points: Vec<_> = out
        .iter()
        .filter_map(|e| match e {
            Event::DataPoint {
                time_unix_nano,
                buckets,
                scale,
            } => Some((*time_unix_nano, *buckets, *scale)),
            _ => None,
        })
        .collect();
    let t = 1544712660300000000;
    assert_eq!(points, [(t, 0, 0), (t, 0, 0), (t, 1, 0), (t, 2, 0)]);
    assert_eq!(
        summary,
        Summary {
            requests: 1,
            resources: 1,
            scopes: 1,
            metrics: 4,
            data_points: 4,
            resource_attrs: 1,
            events: out.len(),
            ..Summary::default()
        }
    );
}

/// Everything senders do that the spec does not say, in one request.
#[test]
fn sender_quirks() {
    let text = "\u{feff}{\"resource_spans\": [{
        \"resource\": null,
        \"scope_spans\": [{
          \"futureField\": {\"a\": [1, 2.5e-3, true, null, {\"b\": \"\\\"\"}]},
          \"spans\": [{
            \"trace_id\": \"5B8EFFF798038103D269B633813FC60C\",
            \"span_id\": \"not even hex\",
            \"na\\u006de\": \"GET /caf\\u00e9 \\ud83e\\udd80\\n\",
            \"kind\": \"SPAN_KIND_CLIENT\",
            \"start_time_unix_nano\": 1544712660000000000,
            \"status\": {},
            \"attributes\": [
              {\"key\": \"i\", \"value\": {\"int_value\": 7}},
              {\"key\": \"i2\", \"value\": {\"intValue\": \"-9223372036854775808\"}},
              {\"key\": \"f\", \"value\": {\"double_value\": \"NaN\"}},
              {\"key\": \"f2\", \"value\": {\"doubleValue\": \"-Infinity\"}},
              {\"key\": \"f3\", \"value\": {\"doubleValue\": 3}},
              {\"key\": \"b\", \"value\": {\"bool_value\": false}},
              {\"key\": \"e\", \"value\": {}},
              {\"key\": \"n\", \"value\": null},
              {\"key\": \"nothing\"},
              {\"key\": \"bytes\", \"value\": {\"bytes_value\": \"AP9oaQ==\"}},
              {\"key\": \"url-safe\", \"value\": {\"bytesValue\": \"_-8\"}},
              {\"key\": \"s\", \"value\": {\"stringValue\": null, \"unknown\": 1}},
              {\"key\": \"a\", \"value\": {\"array_value\": {\"values\": [{\"stringValue\": \"x\"}, {}]}}},
              {\"key\": \"m\", \"value\": {\"kvlist_value\": {\"values\": null}}}
            ],
            \"events\": [{\"name\": \"e1\", \"time_unix_nano\": \"5\", \"attributes\": null}],
            \"links\": [{\"traceId\": \"\", \"attributes\": [{\"key\": \"l\", \"value\": {\"stringValue\": \"v\"}}]}],
            \"kind\": 3
          }]
        }]
      }]}";
    let out = events(text);
    let want = vec![
        Event::Resource,
        Event::Scope {
            name: "".into(),
            version: "".into(),
        },
        Event::Span {
            name: "GET /café 🦀\n".into(),
            kind: SpanKind::Client,
            start_time_unix_nano: 1544712660000000000,
            status_code: 0,
            // Sizes are checked against prost in
            // random_requests_agree_with_prost_and_json; here the rest.
            bytes: match &out[2] {
                Event::Span { bytes, .. } => *bytes,
                _ => 0,
            },
            dropped_attributes: 0,
            dropped_events: 0,
            dropped_links: 0,
        },
        Event::SpanAttr(attr("i", AnyValue::Int(7))),
        Event::SpanAttr(attr("i2", AnyValue::Int(i64::MIN))),
        Event::SpanAttr(attr("f", AnyValue::Double(f64::NAN))),
        Event::SpanAttr(attr("f2", AnyValue::Double(f64::NEG_INFINITY))),
        Event::SpanAttr(attr("f3", AnyValue::Double(3.0))),
        Event::SpanAttr(attr("b", AnyValue::Bool(false))),
        Event::SpanAttr(attr("e", AnyValue::Empty)),
        Event::SpanAttr(attr("n", AnyValue::Empty)),
        Event::SpanAttr(attr("nothing", AnyValue::Empty)),
        Event::SpanAttr(attr("bytes", AnyValue::Bytes(Cow::Borrowed(b"\x00\xffhi")))),
        Event::SpanAttr(attr(
            "url-safe",
            AnyValue::Bytes(Cow::Borrowed(b"\xff\xef")),
        )),
        Event::SpanAttr(attr("s", AnyValue::Empty)),
        Event::SpanAttr(attr("a", AnyValue::Array(vec![s("x"), AnyValue::Empty]))),
        Event::SpanAttr(attr("m", AnyValue::KvList(vec![]))),
        Event::SpanEvent {
            name: "e1".into(),
            time_unix_nano: 5,
        },
        Event::SpanLink,
        Event::SpanLinkAttr(attr("l", s("v"))),
    ];
    assert_eq!(out, want);
    // The last `kind` wins; escaped strings are owned, others borrowed.
    assert!(matches!(
        &out[2],
        Event::Span {
            name: Cow::Owned(_),
            ..
        }
    ));
    assert!(
        matches!(&out[out.len() - 1], Event::SpanLinkAttr(a) if matches!(a.key, Cow::Borrowed(_)))
    );
    assert_eq!(service_name(resource_attrs(&out[1..])), "unknown_service");
}

#[test]
fn enum_names_and_numbers() {
    let log = |severity: &str| {
        let text = format!(
            r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{{"severityNumber":{severity},"observedTimeUnixNano":"42"}}]}}]}}]}}"#
        );
        let out = events(&text).into_iter().nth(2).map(|e| match e {
            Event::Log {
                severity_number,
                time_unix_nano,
                ..
            } => (severity_number, time_unix_nano),
            e => panic!("{e:?}"),
        });
        out.unwrap()
    };
    assert_eq!(log("9"), (9, 42));
    assert_eq!(log("\"9\""), (9, 42));
    assert_eq!(log("\"SEVERITY_NUMBER_INFO\""), (9, 42));
    assert_eq!(log("\"SEVERITY_NUMBER_WARN3\""), (15, 42));
    assert_eq!(log("\"FATAL4\""), (24, 42));
    assert_eq!(log("\"SEVERITY_NUMBER_UNSPECIFIED\""), (0, 42));
    assert_eq!(log("\"NOT_A_LEVEL\""), (0, 42));
    assert_eq!(log("null"), (0, 42));
    let sum = |t: &str| {
        let text = format!(
            r#"{{"resourceMetrics":[{{"scopeMetrics":[{{"metrics":[{{"sum":{{"aggregationTemporality":{t},"isMonotonic":"true"}}}}]}}]}}]}}"#
        );
        match &events(&text)[2] {
            Event::Metric {
                temporality,
                monotonic,
                ..
            } => (*temporality, *monotonic),
            e => panic!("{e:?}"),
        }
    };
    assert_eq!(sum("1"), (Temporality::Delta, true));
    assert_eq!(
        sum("\"AGGREGATION_TEMPORALITY_CUMULATIVE\""),
        (Temporality::Cumulative, true)
    );
}

#[test]
fn json_lines_of_mixed_signals() {
    let traces = String::from_utf8(fixture("trace.json")).unwrap();
    let logs = String::from_utf8(fixture("logs.json")).unwrap();
    let metrics = String::from_utf8(fixture("metrics.json")).unwrap();
    let line = |t: &str| {
        serde_json::to_string(&serde_json::from_str::<serde_json::Value>(t).unwrap()).unwrap()
    };
    let text = format!(
        "{}\n\n{}\r\n{}\n   \n",
        line(&traces),
        line(&logs),
        line(&metrics)
    );
    let mut out = Vec::new();
    let summary = decode(
        text.as_bytes(),
        Encoding::Json,
        &Limits::default(),
        &mut out,
    )
    .unwrap();
    assert_eq!(summary.requests, 3);
    assert_eq!((summary.spans, summary.logs, summary.metrics), (1, 1, 4));
    let mut want = events(&traces);
    want.extend(events(&logs));
    want.extend(events(&metrics));
    assert_eq!(out, want);
    // Pretty-printed requests back to back, too.
    let pretty = format!("{traces}{logs}\n{metrics}");
    assert_eq!(events(&pretty), want);

    // An error on the third line says so.
    let bad = format!(
        "{}\n{}\n{{\"resourceLogs\": [{{\"scopeLogs\": 7}}]}}\n",
        line(&traces),
        line(&logs)
    );
    let err = error(bad.as_bytes());
    assert_eq!(
        err.position(),
        Position::Text {
            line: 3,
            column: 33,
            document: 3
        }
    );
    assert_eq!(
        err.to_string(),
        "invalid OTLP/JSON at line 3 column 33 (resourceLogs[0].scopeLogs): expected a list, found '7'"
    );
}

#[test]
fn invalid_json() {
    let cases: &[(&[u8], &str)] = &[
        (b"", "invalid OTLP/JSON: empty payload"),
        (b" \n\t ", "invalid OTLP/JSON: empty payload"),
        (b"hello", "invalid OTLP/JSON at line 1 column 1: expected an OTLP/JSON export request object, found 'h'"),
        (b"[]", "invalid OTLP/JSON at line 1 column 1: expected an OTLP/JSON export request object, found '['"),
        (b"null", "invalid OTLP/JSON at line 1 column 1: expected an OTLP/JSON export request object, found 'n'"),
        (b"{}", "invalid OTLP/JSON at line 1 column 1: not an OTLP export request: no resourceSpans, resourceMetrics or resourceLogs"),
        (b"{\"foo\": {\"resourceSpans\": []}}", "invalid OTLP/JSON at line 1 column 1: not an OTLP export request: no resourceSpans, resourceMetrics or resourceLogs"),
        (b"{\"resourceSpans\":[{\"resource\":", "invalid OTLP/JSON at line 1 column 31 (resourceSpans[0].resource): expected an object, found the end of the input"),
        (b"{\"resourceSpans\":[]", "invalid OTLP/JSON at line 1 column 20: expected `,` or `}`, found the end of the input"),
        (b"{\"resourceSpans\":[],}", "invalid OTLP/JSON at line 1 column 21: expected a field name, found '}'"),
        (b"{\"resourceSpans\":[{},]}", "invalid OTLP/JSON at line 1 column 22 (resourceSpans[1]): expected a resource block object, found ']'"),
        (b"{\"resourceSpans\" []}", "invalid OTLP/JSON at line 1 column 18: expected `:`, found '['"),
        (b"{\"resourceSpans\":[]} x", "invalid OTLP/JSON at line 1 column 22: expected an OTLP/JSON export request object, found 'x'"),
        (b"{\"resourceSpans\":[]}{\"x\":tru}", "invalid OTLP/JSON at line 1 column 26: expected a JSON value, found 't'"),
        (b"{\"resourceSpans\":[], \"x\": 01}", "invalid OTLP/JSON at line 1 column 28: expected `,` or `}`, found '1'"),
        (b"{\"resourceSpans\":[], \"x\": 1.}", "invalid OTLP/JSON at line 1 column 29: invalid number"),
        (b"{\"resourceSpans\":[], \"x\": \"a\nb\"}", "invalid OTLP/JSON at line 1 column 29: control character in a string"),
        (b"{\"resourceSpans\":[], \"x\": \"\\ud800\"}", "invalid OTLP/JSON at line 1 column 28: lone surrogate in a \\u escape"),
        (b"{\"resourceSpans\":[], \"x\": \"\\q\"}", "invalid OTLP/JSON at line 1 column 28: invalid escape in a string"),
        (b"{\"resourceSpans\":[], \"x\": \"abc", "invalid OTLP/JSON at line 1 column 31: unterminated string"),
        (b"{\"resourceSpans\":[], \"x\": \"\xff\"}", "invalid OTLP/JSON at line 1 column 28: invalid UTF-8"),
        (b"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":-5}]}]}]}", "invalid OTLP/JSON at line 1 column 63 (resourceLogs[0].scopeLogs[0].logRecords[0].timeUnixNano): expected an unsigned 64-bit integer, found -5"),
        (b"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"kind\":true}]}]}]}", "invalid OTLP/JSON at line 1 column 52 (resourceSpans[0].scopeSpans[0].spans[0].kind): expected an enum number or name, found 't'"),
        (b"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"attributes\":[{\"key\":\"k\",\"value\":{\"intValue\":\"9223372036854775808\"}}]}]}]}]}", "invalid OTLP/JSON at line 1 column 90 (resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.intValue): expected a 64-bit integer, found \"9223372036854775808\""),
        (b"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"attributes\":[{\"key\":\"k\",\"value\":{\"bytesValue\":\"!!\"}}]}]}]}]}", "invalid OTLP/JSON at line 1 column 92 (resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.bytesValue): invalid base64 in bytesValue"),
        (b"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":5}]}]}]}", "invalid OTLP/JSON at line 1 column 52 (resourceSpans[0].scopeSpans[0].spans[0].name): expected a string, found '5'"),
    ];
    for (input, want) in cases {
        let err = error(input);
        assert_eq!(&err.to_string(), want, "{}", String::from_utf8_lossy(input));
    }
    // Gzip is named as such.
    assert!(error(b"\x1f\x8b\x08\x00").message().contains("gzip"));
}

/// An object may repeat "attributes" (and "events", "links"): the
/// lists join in order of their sections, and the attribute limit
/// counts them together.
#[test]
fn repeated_attribute_lists() {
    let list = |prefix: &str, n: usize| {
        let items: Vec<String> = (0..n)
            .map(|i| format!(r#"{{"key":"{prefix}{i}","value":{{"intValue":{i}}}}}"#))
            .collect();
        format!(r#""attributes":[{}]"#, items.join(","))
    };
    let spans =
        |span: &str| format!(r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{span}]}}]}}]}}"#);
    // Interleaved with events: the same events as in order.
    let shuffled = spans(&format!(
        r#"{{"name":"s",{},"events":[{{"name":"e1"}}],{},"links":[{{}}],"events":[{{"name":"e2"}}],{}}}"#,
        list("a", 2),
        list("b", 1),
        list("c", 2)
    ));
    let ordered = spans(&format!(
        r#"{{"name":"s","attributes":[{}],"events":[{{"name":"e1"}},{{"name":"e2"}}],"links":[{{}}]}}"#,
        [list("a", 2), list("b", 1), list("c", 2)]
            .iter()
            .map(|l| &l[l.find('[').unwrap() + 1..l.len() - 1])
            .collect::<Vec<_>>()
            .join(",")
    ));
    assert_eq!(events(&shuffled), events(&ordered));
    // The limit counts every list of a record.
    let record = |kind: &str, a: usize, b: usize| -> String {
        let two = format!("{},{}", list("a", a), list("b", b));
        match kind {
            "span" => spans(&format!("{{{two}}}")),
            "event" => spans(&format!(r#"{{"events":[{{{two}}}]}}"#)),
            "link" => spans(&format!(r#"{{"links":[{{{two}}}]}}"#)),
            "resource" => format!(r#"{{"resourceSpans":[{{"resource":{{{two}}}}}]}}"#),
            "resource twice" => format!(
                r#"{{"resourceSpans":[{{"resource":{{{}}},"resource":{{{}}}}}]}}"#,
                list("a", a),
                list("b", b)
            ),
            "scope" => {
                format!(r#"{{"resourceSpans":[{{"scopeSpans":[{{"scope":{{{two}}}}}]}}]}}"#)
            }
            "point" => format!(
                r#"{{"resourceMetrics":[{{"scopeMetrics":[{{"metrics":[{{"name":"m","gauge":{{"dataPoints":[{{{two}}}]}}}}]}}]}}]}}"#
            ),
            "log" => {
                format!(r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{{{two}}}]}}]}}]}}"#)
            }
            _ => unreachable!(),
        }
    };
    for kind in [
        "span",
        "event",
        "link",
        "resource",
        "resource twice",
        "scope",
        "point",
        "log",
    ] {
        assert!(!events(&record(kind, 2048, 2048)).is_empty(), "{kind}");
        let err = error(record(kind, 3000, 1097).as_bytes());
        assert!(
            err.message().contains("max_attributes_per_record"),
            "{kind}: {err}"
        );
    }
}

#[test]
fn hostile_json() {
    let limits = Limits::default();
    let nested = |depth: usize| {
        let mut v = String::from("{}");
        for _ in 1..depth {
            v = format!("{{\"arrayValue\":{{\"values\":[{v}]}}}}");
        }
        format!("{{\"resourceLogs\":[{{\"scopeLogs\":[{{\"logRecords\":[{{\"body\":{v}}}]}}]}}]}}")
    };
    assert!(
        decode(
            nested(32).as_bytes(),
            Encoding::Json,
            &limits,
            &mut Vec::new()
        )
        .is_ok()
    );
    let err = error(nested(33).as_bytes());
    assert!(err.message().contains("max_depth"), "{err}");
    assert!(
        err.path()
            .starts_with("resourceLogs[0].scopeLogs[0].logRecords[0].body.arrayValue.values[0]")
    );

    // Deep nesting in an unknown field: an error, not a stack overflow.
    let deep = format!(
        "{{\"resourceSpans\":[],\"x\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert!(error(deep.as_bytes()).message().contains("deeper than 128"));

    // A million attributes on one record.
    let one = r#"{"key":"k","value":{"intValue":1}},"#;
    let many = |n: usize| {
        let mut attrs = one.repeat(n);
        attrs.pop();
        format!(
            r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{{"attributes":[{attrs}]}}]}}]}}]}}"#
        )
    };
    let err = error(many(1_000_000).as_bytes());
    assert_eq!(
        err.message(),
        "more than 4096 attributes in one record (max_attributes_per_record)"
    );
    assert_eq!(
        err.path(),
        "resourceLogs[0].scopeLogs[0].logRecords[0].attributes[4096]"
    );
    assert_eq!(events(&many(4096)).len(), 3 + 4096);

    // max_events counts nested values too.
    let array = format!(
        r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{{"body":{{"arrayValue":{{"values":[{}{{}}]}}}}}}]}}]}}]}}"#,
        "{},".repeat(99)
    );
    let small = Limits {
        max_events: 100,
        ..limits
    };
    let err = decode(array.as_bytes(), Encoding::Json, &small, &mut Vec::new()).unwrap_err();
    assert!(err.message().contains("max_events"), "{err}");
    let enough = Limits {
        max_events: 103,
        ..limits
    };
    assert!(decode(array.as_bytes(), Encoding::Json, &enough, &mut Vec::new()).is_ok());
}

trait FilterOutOfRange {
    fn filter_out_range(self) -> Result<(), serde_json::Error>;
}

impl<T> FilterOutOfRange for Result<T, serde_json::Error> {
    fn filter_out_range(self) -> Result<(), serde_json::Error> {
        match self {
            Err(e) if !e.to_string().starts_with("number out of range") => Err(e),
            _ => Ok(()),
        }
    }
}

/// Random bytes and mutations of valid requests: never a panic, and
/// nothing accepted that is not JSON.
#[test]
fn fuzz_json() {
    let mut rng = fastrand::Rng::with_seed(7);
    let mut seeds: Vec<Vec<u8>> = ["trace", "metrics", "logs", "events"]
        .iter()
        .map(|n| fixture(&format!("{n}.json")))
        .collect();
    for seed in 0..8 {
        for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
            let req = random_request(signal, seed);
            seeds.push(to_json(&req, &mut Style::quirky(seed)).into_bytes());
        }
    }
    const ALPHABET: &[u8] = b"{}[]\":,\\ 0123456789-+.eEtruefalsn\n\x01\xc3\xa9";
    let mut accepted = 0;
    for i in 0..6_000 {
        let mut bytes = seeds[i % seeds.len()].clone();
        if rng.u8(..10) == 0 {
            let n = rng.usize(..64);
            bytes = std::iter::repeat_with(|| *rng.choice(ALPHABET).unwrap())
                .take(n)
                .collect();
        } else {
            for _ in 0..rng.usize(1..4) {
                if bytes.is_empty() {
                    break;
                }
                let at = rng.usize(..bytes.len());
                match rng.u8(..4) {
                    0 => bytes[at] = *rng.choice(ALPHABET).unwrap(),
                    1 => bytes.truncate(at),
                    2 => bytes.insert(at, *rng.choice(ALPHABET).unwrap()),
                    _ => {
                        bytes.remove(at);
                    }
                }
            }
        }
        let mut out = Vec::new();
        if decode(&bytes, Encoding::Json, &Limits::default(), &mut out).is_ok() {
            accepted += 1;
            let values = serde_json::Deserializer::from_slice(&bytes)
                .into_iter::<serde_json::Value>()
                .collect::<Result<Vec<_>, _>>();
            // serde_json refuses numbers beyond f64 (JSON does not).
            if let Err(e) = values.filter_out_range() {
                let text = String::from_utf8_lossy(&bytes);
                let line = text.lines().nth(e.line() - 1).unwrap_or("");
                panic!("accepted invalid JSON: {e}: {line:?}");
            }
        }
    }
    assert!(accepted > 300, "{accepted}");
}

/// A `KeyValue` with an empty value message (`"value": {}`) decodes as one
/// without a value: its record's bytes count it without (2 bytes less
/// than the protobuf message that carries the empty value; docs/catalog.md
/// "Bytes").
#[test]
fn empty_values_count_as_absent() {
    let log = |attr: &str| {
        let text = format!(
            "{{\"resourceLogs\": [{{\"scopeLogs\": [{{\"logRecords\": [{{\"attributes\": [{attr}]}}]}}]}}]}}"
        );
        match &events(&text)[2] {
            Event::Log { bytes, .. } => *bytes,
            e => panic!("{e:?}"),
        }
    };
    // LogRecord {attributes: [KeyValue {key: "k"}]}: 2 + (2 + 3).
    assert_eq!(log("{\"key\": \"k\"}"), 7);
    assert_eq!(log("{\"key\": \"k\", \"value\": {}}"), 7);
    assert_eq!(log("{\"key\": \"k\", \"value\": {\"intValue\": 0}}"), 11);
}
