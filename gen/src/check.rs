//! `otlp_gen --self-check`: internal checks of the generator, run in memory
//! on small workloads of every signal and profile:
//!
//! - determinism: the same configuration twice gives identical bytes, another
//!   seed different ones;
//! - protobuf: frames decode with prost, hold `batch` records each (the last
//!   one the rest), and re-encode to the same bytes;
//! - JSON: every frame is valid JSON with lowerCamelCase keys, 64-bit
//!   integers as decimal strings, hex ids, numeric enums, and decodes (through
//!   opentelemetry-proto's serde support) to exactly the message of the
//!   protobuf frame at the same position; JSON Lines hold the same documents;
//! - ground truth: recomputed naively from the decoded protobuf requests, it
//!   equals what the generator counted; profile-specific keys are present.

use std::collections::{BTreeMap, BTreeSet};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value::Value};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use serde_json::{Map, Value as J, json};

use crate::engine::{CARD_KEYS, Config, EPOCH_NS, Profile, Signal};
use crate::truth::TYPE_NAMES;
use crate::{Format, run, truth_header};

/// Collects check results.
struct Checks {
    passed: usize,
    failed: usize,
}

impl Checks {
    fn check(&mut self, name: &str, ok: bool, detail: impl FnOnce() -> String) {
        if ok {
            self.passed += 1;
            println!("ok    {name}");
        } else {
            self.failed += 1;
            println!("FAIL  {name}: {}", detail());
        }
    }
}

/// Runs every check; prints one line per check and a closing
/// `N passed, M failed` line. True when all passed.
pub fn self_check() -> bool {
    let mut c = Checks {
        passed: 0,
        failed: 0,
    };
    for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
        for profile in [Profile::Bench, Profile::Demo] {
            let cfg = Config {
                signal,
                profile,
                seed: 42,
                records: 6_037,
                batch: 200,
                services: if profile == Profile::Demo { 14 } else { 12 },
                time_scale: 1,
            };
            check_config(&mut c, &cfg);
        }
    }
    // A batch of one and a single service.
    let tiny = Config {
        signal: Signal::Logs,
        profile: Profile::Bench,
        seed: 7,
        records: 13,
        batch: 1,
        services: 1,
        time_scale: 1,
    };
    check_config(&mut c, &tiny);
    println!("self-check: {} passed, {} failed", c.passed, c.failed);
    c.failed == 0
}

fn generate(cfg: &Config, format: Format) -> (Vec<u8>, J, crate::Stats) {
    let mut out = Vec::new();
    let (g, st) = run(cfg, format, true, &mut out).expect("in-memory write");
    let truth = g.truth.to_json(truth_header(cfg, format, &st));
    (out, truth, st)
}

fn frames(mut b: &[u8]) -> Option<Vec<&[u8]>> {
    let mut v = Vec::new();
    while !b.is_empty() {
        if b.len() < 4 {
            return None;
        }
        let n = u32::from_le_bytes(b[..4].try_into().unwrap()) as usize;
        if b.len() < 4 + n {
            return None;
        }
        v.push(&b[4..4 + n]);
        b = &b[4 + n..];
    }
    Some(v)
}

/// A decoded request of any signal.
#[derive(PartialEq, Debug)]
enum Decoded {
    T(ExportTraceServiceRequest),
    M(ExportMetricsServiceRequest),
    L(ExportLogsServiceRequest),
}

impl Decoded {
    fn proto(signal: Signal, b: &[u8]) -> Result<Self, String> {
        let e = |e: prost::DecodeError| e.to_string();
        Ok(match signal {
            Signal::Traces => Decoded::T(ExportTraceServiceRequest::decode(b).map_err(e)?),
            Signal::Metrics => Decoded::M(ExportMetricsServiceRequest::decode(b).map_err(e)?),
            Signal::Logs => Decoded::L(ExportLogsServiceRequest::decode(b).map_err(e)?),
        })
    }

    fn json(signal: Signal, b: &[u8]) -> Result<Self, String> {
        let e = |e: serde_json::Error| e.to_string();
        Ok(match signal {
            Signal::Traces => Decoded::T(serde_json::from_slice(b).map_err(e)?),
            Signal::Metrics => Decoded::M(serde_json::from_slice(b).map_err(e)?),
            Signal::Logs => Decoded::L(serde_json::from_slice(b).map_err(e)?),
        })
    }

    fn encode(&self) -> Vec<u8> {
        match self {
            Decoded::T(r) => r.encode_to_vec(),
            Decoded::M(r) => r.encode_to_vec(),
            Decoded::L(r) => r.encode_to_vec(),
        }
    }

    fn records(&self) -> usize {
        match self {
            Decoded::T(r) => r
                .resource_spans
                .iter()
                .flat_map(|x| &x.scope_spans)
                .map(|s| s.spans.len())
                .sum(),
            Decoded::M(r) => r
                .resource_metrics
                .iter()
                .flat_map(|x| &x.scope_metrics)
                .flat_map(|s| &s.metrics)
                .map(|m| match &m.data {
                    Some(Data::Gauge(d)) => d.data_points.len(),
                    Some(Data::Sum(d)) => d.data_points.len(),
                    Some(Data::Histogram(d)) => d.data_points.len(),
                    Some(Data::ExponentialHistogram(d)) => d.data_points.len(),
                    Some(Data::Summary(d)) => d.data_points.len(),
                    None => 0,
                })
                .sum(),
            Decoded::L(r) => r
                .resource_logs
                .iter()
                .flat_map(|x| &x.scope_logs)
                .map(|s| s.log_records.len())
                .sum(),
        }
    }
}

fn check_config(c: &mut Checks, cfg: &Config) {
    let tag = format!(
        "{}/{}/records={}/batch={}",
        cfg.signal.as_str(),
        cfg.profile.as_str(),
        cfg.records,
        cfg.batch
    );
    let (proto, truth, st) = generate(cfg, Format::Proto);
    let (proto2, truth2, _) = generate(cfg, Format::Proto);
    c.check(
        &format!("{tag}: deterministic proto bytes"),
        proto == proto2,
        || "two runs differ".into(),
    );
    c.check(
        &format!("{tag}: deterministic truth"),
        truth == truth2,
        || "two truths differ".into(),
    );
    let other = Config {
        seed: cfg.seed + 1,
        ..cfg.clone()
    };
    let (proto3, _, _) = generate(&other, Format::Proto);
    c.check(
        &format!("{tag}: another seed differs"),
        proto != proto3,
        || "same bytes".into(),
    );

    // Protobuf frames.
    let Some(pf) = frames(&proto) else {
        c.check(&format!("{tag}: proto framing"), false, || {
            "truncated frame".into()
        });
        return;
    };
    let expected_requests = cfg.records.div_ceil(cfg.batch as u64) as usize;
    c.check(
        &format!("{tag}: proto frame count"),
        pf.len() == expected_requests && st.requests as usize == expected_requests,
        || {
            format!(
                "{} frames, {} requests, expected {expected_requests}",
                pf.len(),
                st.requests
            )
        },
    );
    let mut decoded = Vec::new();
    let mut errors = Vec::new();
    for (i, f) in pf.iter().enumerate() {
        match Decoded::proto(cfg.signal, f) {
            Ok(d) => {
                let want = if i + 1 < pf.len() {
                    cfg.batch
                } else {
                    cfg.records as usize - cfg.batch * (pf.len() - 1)
                };
                if d.records() != want {
                    errors.push(format!(
                        "frame {i}: {} records, expected {want}",
                        d.records()
                    ));
                }
                if d.encode() != *f {
                    errors.push(format!("frame {i}: re-encoding differs"));
                }
                decoded.push(d);
            }
            Err(e) => errors.push(format!("frame {i}: {e}")),
        }
    }
    c.check(
        &format!("{tag}: proto decode, batch sizes, re-encode"),
        errors.is_empty(),
        || errors[..errors.len().min(3)].join("; "),
    );
    if decoded.len() != pf.len() {
        return;
    }

    // JSON frames.
    let (js, jtruth, _) = generate(cfg, Format::Json);
    let jf = frames(&js).unwrap_or_default();
    c.check(
        &format!("{tag}: json frame count"),
        jf.len() == pf.len(),
        || format!("{} json frames vs {} proto", jf.len(), pf.len()),
    );
    let mut errors = Vec::new();
    for (i, f) in jf.iter().enumerate() {
        match serde_json::from_slice::<J>(f) {
            Ok(v) => {
                let mut path = Vec::new();
                json_shape(&v, &mut path, &mut errors);
                if v.get(cfg_top_key(cfg.signal)).is_none() {
                    errors.push(format!("frame {i}: no {}", cfg_top_key(cfg.signal)));
                }
            }
            Err(e) => errors.push(format!("frame {i}: invalid JSON: {e}")),
        }
        match Decoded::json(cfg.signal, f) {
            Ok(d) if Some(&d) == decoded.get(i) => {}
            Ok(_) => errors.push(format!(
                "frame {i}: JSON decodes to another message than proto"
            )),
            Err(e) => errors.push(format!("frame {i}: serde decode: {e}")),
        }
        if errors.len() > 5 {
            break;
        }
    }
    c.check(
        &format!("{tag}: json valid, camelCase, strings, equal to proto"),
        errors.is_empty(),
        || errors[..errors.len().min(3)].join("; "),
    );
    c.check(
        &format!("{tag}: json truth equals proto truth"),
        jtruth["entities"] == truth["entities"],
        || "entities differ".into(),
    );

    // JSON Lines.
    let (jl, _, _) = generate(cfg, Format::Jsonl);
    let lines: Vec<&[u8]> = jl
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    c.check(
        &format!("{tag}: jsonl lines equal json frames"),
        jl.ends_with(b"\n") && lines == jf,
        || format!("{} lines vs {} frames", lines.len(), jf.len()),
    );

    // Ground truth recomputed from the decoded protobuf.
    let naive = naive_truth(cfg.signal, &decoded);
    for field in ["services", "entities", "body_types"] {
        let (a, b) = (&truth[field], &naive[field]);
        c.check(&format!("{tag}: truth {field} recomputed"), a == b, || {
            first_difference(a, b)
        });
    }

    // Timestamps.
    let mut bad_time = 0;
    for d in &decoded {
        if let Decoded::T(r) = d {
            for s in r
                .resource_spans
                .iter()
                .flat_map(|x| &x.scope_spans)
                .flat_map(|s| &s.spans)
            {
                if s.start_time_unix_nano < EPOCH_NS
                    || s.end_time_unix_nano < s.start_time_unix_nano
                {
                    bad_time += 1;
                }
            }
        }
    }
    c.check(
        &format!("{tag}: span times after epoch, end >= start"),
        bad_time == 0,
        || format!("{bad_time} spans"),
    );

    profile_checks(c, cfg, &tag, &truth);
}

fn cfg_top_key(s: Signal) -> &'static str {
    match s {
        Signal::Traces => "resourceSpans",
        Signal::Metrics => "resourceMetrics",
        Signal::Logs => "resourceLogs",
    }
}

/// Structural OTLP/JSON checks on a parsed document.
fn json_shape(v: &J, path: &mut Vec<String>, errors: &mut Vec<String>) {
    let is_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let is_hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    match v {
        J::Object(m) => {
            for (k, x) in m {
                let camel = k.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
                    && k.bytes().all(|b| b.is_ascii_alphanumeric());
                if !camel {
                    errors.push(format!(
                        "{}: key '{k}' is not lowerCamelCase",
                        path.join(".")
                    ));
                }
                let ok = match k.as_str() {
                    k if k.ends_with("UnixNano") => x.as_str().is_some_and(is_digits),
                    "intValue" | "asInt" => x.as_str().is_some_and(|s| s.parse::<i64>().is_ok()),
                    "count" | "zeroCount" => x.as_str().is_some_and(is_digits),
                    "bucketCounts" => x
                        .as_array()
                        .is_some_and(|a| a.iter().all(|e| e.as_str().is_some_and(is_digits))),
                    "traceId" => x.as_str().is_some_and(|s| is_hex(s, 32)),
                    "spanId" | "parentSpanId" => x.as_str().is_some_and(|s| is_hex(s, 16)),
                    "kind"
                    | "severityNumber"
                    | "aggregationTemporality"
                    | "code"
                    | "flags"
                    | "droppedAttributesCount"
                    | "scale"
                    | "offset" => x.is_i64(),
                    "doubleValue" | "asDouble" | "min" | "max" => x.is_number(),
                    // A histogram point's sum, or a metric's Sum data.
                    "sum" => x.is_number() || x.is_object(),
                    _ => true,
                };
                if !ok {
                    let mut v = x.to_string();
                    v.truncate(120);
                    errors.push(format!("{}.{k}: unexpected value {v}", path.join(".")));
                }
                path.push(k.clone());
                json_shape(x, path, errors);
                path.pop();
            }
        }
        J::Array(a) => {
            for x in a {
                json_shape(x, path, errors);
            }
        }
        _ => {}
    }
}

/// A key's count, value types and distinct values.
type KeyTruth = (u64, BTreeSet<&'static str>, BTreeSet<String>);

/// Per-entity accumulator of the naive recomputation.
#[derive(Default)]
struct NEnt {
    extra: Map<String, J>,
    records: u64,
    services: BTreeMap<String, u64>,
    details: BTreeMap<String, u64>,
    /// scope -> key -> (count, types, distinct values as Debug text)
    keys: [BTreeMap<String, KeyTruth>; 4],
}

impl NEnt {
    fn add(&mut self, scope: usize, kvs: &[KeyValue]) {
        for kv in kvs {
            let e = self.keys[scope].entry(kv.key.clone()).or_default();
            e.0 += 1;
            e.1.insert(type_name(kv.value.as_ref()));
            e.2.insert(format!("{:?}", kv.value));
        }
    }
}

fn service_of(r: &Option<Resource>) -> String {
    r.as_ref()
        .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| match &v.value {
            Some(Value::StringValue(s)) => Some(s.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

/// The ground truth recomputed from decoded requests with plain maps and
/// sets, in the same JSON shape as `Truth::to_json` (without templates).
fn naive_truth(signal: Signal, reqs: &[Decoded]) -> J {
    let mut ents: BTreeMap<String, NEnt> = BTreeMap::new();
    let mut services: BTreeMap<String, u64> = BTreeMap::new();
    let mut body_types: BTreeMap<String, u64> = BTreeMap::new();
    let resource_attrs =
        |r: &Option<Resource>| r.as_ref().map(|r| r.attributes.clone()).unwrap_or_default();
    for d in reqs {
        match d {
            Decoded::T(r) => {
                for rs in &r.resource_spans {
                    let svc = service_of(&rs.resource);
                    let ra = resource_attrs(&rs.resource);
                    for s in rs.scope_spans.iter().flat_map(|s| &s.spans) {
                        let e = ents.entry(s.name.clone()).or_default();
                        e.records += 1;
                        *e.services.entry(svc.clone()).or_default() += 1;
                        *e.details
                            .entry(crate::traces::kind_name(s.kind).into())
                            .or_default() += 1;
                        *services.entry(svc.clone()).or_default() += 1;
                        e.add(0, &s.attributes);
                        e.add(1, &ra);
                        for ev in &s.events {
                            e.add(2, &ev.attributes);
                        }
                        for l in &s.links {
                            e.add(3, &l.attributes);
                        }
                    }
                }
            }
            Decoded::M(r) => {
                for rm in &r.resource_metrics {
                    let svc = service_of(&rm.resource);
                    let ra = resource_attrs(&rm.resource);
                    for m in rm.scope_metrics.iter().flat_map(|s| &s.metrics) {
                        let (kind, temp, mono, attrs): (
                            &str,
                            i32,
                            Option<bool>,
                            Vec<&Vec<KeyValue>>,
                        ) = match &m.data {
                            Some(Data::Gauge(g)) => (
                                "Gauge",
                                0,
                                None,
                                g.data_points.iter().map(|p| &p.attributes).collect(),
                            ),
                            Some(Data::Sum(g)) => (
                                "Sum",
                                g.aggregation_temporality,
                                Some(g.is_monotonic),
                                g.data_points.iter().map(|p| &p.attributes).collect(),
                            ),
                            Some(Data::Histogram(g)) => (
                                "Histogram",
                                g.aggregation_temporality,
                                None,
                                g.data_points.iter().map(|p| &p.attributes).collect(),
                            ),
                            Some(Data::ExponentialHistogram(g)) => (
                                "ExponentialHistogram",
                                g.aggregation_temporality,
                                None,
                                g.data_points.iter().map(|p| &p.attributes).collect(),
                            ),
                            Some(Data::Summary(g)) => (
                                "Summary",
                                0,
                                None,
                                g.data_points.iter().map(|p| &p.attributes).collect(),
                            ),
                            None => ("Unknown", 0, None, Vec::new()),
                        };
                        let e = ents.entry(m.name.clone()).or_default();
                        e.extra.insert("type".into(), kind.into());
                        e.extra.insert("unit".into(), m.unit.clone().into());
                        e.extra
                            .insert("description".into(), m.description.clone().into());
                        e.extra.insert(
                            "temporality".into(),
                            match temp {
                                1 => "Delta",
                                2 => "Cumulative",
                                _ => "",
                            }
                            .into(),
                        );
                        e.extra.insert("monotonic".into(), json!(mono));
                        for a in attrs {
                            e.records += 1;
                            *e.services.entry(svc.clone()).or_default() += 1;
                            *services.entry(svc.clone()).or_default() += 1;
                            e.add(0, a);
                            e.add(1, &ra);
                        }
                    }
                }
            }
            Decoded::L(r) => {
                for rl in &r.resource_logs {
                    let svc = service_of(&rl.resource);
                    let ra = resource_attrs(&rl.resource);
                    for l in rl.scope_logs.iter().flat_map(|s| &s.log_records) {
                        let name = match l.severity_number {
                            1 => "TRACE",
                            5 => "DEBUG",
                            9 => "INFO",
                            13 => "WARN",
                            17 => "ERROR",
                            21 => "FATAL",
                            _ => "OTHER",
                        };
                        let e = ents.entry(name.into()).or_default();
                        e.extra
                            .insert("severity_number".into(), l.severity_number.into());
                        e.records += 1;
                        *e.services.entry(svc.clone()).or_default() += 1;
                        let text = if l.severity_text.is_empty() {
                            "no_text"
                        } else {
                            "text"
                        };
                        *e.details.entry(text.into()).or_default() += 1;
                        *services.entry(svc.clone()).or_default() += 1;
                        *body_types
                            .entry(type_name(l.body.as_ref()).into())
                            .or_default() += 1;
                        e.add(0, &l.attributes);
                        e.add(1, &ra);
                    }
                }
            }
        }
    }
    let scope_names: &[&str] = match signal {
        Signal::Traces => &["attribute", "resource", "event", "link"],
        Signal::Metrics => &["label", "resource"],
        Signal::Logs => &["attribute", "resource"],
    };
    let entities: Vec<J> = ents
        .into_iter()
        .map(|(name, e)| {
            let mut o = Map::new();
            o.insert("name".into(), name.into());
            for (k, v) in e.extra {
                o.insert(k, v);
            }
            o.insert("records".into(), e.records.into());
            o.insert("services".into(), json!(e.services));
            if !e.details.is_empty() {
                let label = if signal == Signal::Logs { "severity_text" } else { "kinds" };
                o.insert(label.into(), json!(e.details));
            }
            let mut keys = Map::new();
            for (s, sn) in scope_names.iter().enumerate() {
                let m: Map<String, J> = e.keys[s]
                    .iter()
                    .map(|(k, (count, types, values))| {
                        (
                            k.clone(),
                            json!({"count": count, "types": types_sorted(types), "distinct": values.len()}),
                        )
                    })
                    .collect();
                keys.insert((*sn).into(), J::Object(m));
            }
            o.insert("keys".into(), J::Object(keys));
            J::Object(o)
        })
        .collect();
    let mut root = Map::new();
    root.insert("services".into(), json!(services));
    root.insert("entities".into(), J::Array(entities));
    if signal == Signal::Logs {
        root.insert("body_types".into(), json!(body_types));
    } else {
        root.insert("body_types".into(), J::Null);
    }
    J::Object(root)
}

/// Type name of an `AnyValue`, as `Truth` names them.
fn type_name(v: Option<&opentelemetry_proto::tonic::common::v1::AnyValue>) -> &'static str {
    TYPE_NAMES[match v.and_then(|v| v.value.as_ref()) {
        None | Some(Value::StringValueStrindex(_)) => 0,
        Some(Value::StringValue(_)) => 1,
        Some(Value::BoolValue(_)) => 2,
        Some(Value::IntValue(_)) => 3,
        Some(Value::DoubleValue(_)) => 4,
        Some(Value::ArrayValue(_)) => 5,
        Some(Value::KvlistValue(_)) => 6,
        Some(Value::BytesValue(_)) => 7,
    }]
}

/// Types in the order `Truth` writes them.
fn types_sorted(t: &BTreeSet<&'static str>) -> Vec<&'static str> {
    const ORDER: [&str; 8] = [
        "empty", "string", "bool", "int", "double", "array", "kvlist", "bytes",
    ];
    ORDER.iter().copied().filter(|x| t.contains(x)).collect()
}

fn first_difference(a: &J, b: &J) -> String {
    match (a, b) {
        (J::Object(x), J::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    None => return format!("{k}: missing in recomputation"),
                    Some(w) if w != v => return format!("{k}.{}", first_difference(v, w)),
                    _ => {}
                }
            }
            for k in y.keys() {
                if !x.contains_key(k) {
                    return format!("{k}: only in recomputation");
                }
            }
            "?".into()
        }
        (J::Array(x), J::Array(y)) => {
            if x.len() != y.len() {
                return format!("array lengths {} vs {}", x.len(), y.len());
            }
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                if v != w {
                    let name = v.get("name").cloned().unwrap_or(J::from(i));
                    return format!("[{name}].{}", first_difference(v, w));
                }
            }
            "?".into()
        }
        _ => format!("generator {a} vs recomputed {b}"),
    }
}

/// Checks of what each profile promises.
fn profile_checks(c: &mut Checks, cfg: &Config, tag: &str, truth: &J) {
    let ents = truth["entities"].as_array().cloned().unwrap_or_default();
    let first_scope = if cfg.signal == Signal::Metrics {
        "label"
    } else {
        "attribute"
    };
    match cfg.profile {
        Profile::Bench => {
            let mut missing = 0;
            let mut over = 0;
            for e in &ents {
                for (key, n) in CARD_KEYS {
                    match e["keys"][first_scope].get(*key) {
                        Some(k) => {
                            if k["count"] != e["records"] {
                                missing += 1;
                            }
                            if k["distinct"].as_u64().unwrap_or(0) > *n {
                                over += 1;
                            }
                        }
                        None => missing += 1,
                    }
                }
            }
            c.check(
                &format!("{tag}: card.* keys on every record, within cardinality"),
                missing == 0 && over == 0,
                || format!("{missing} missing, {over} over their cardinality"),
            );
        }
        Profile::Demo => {
            let ok = match cfg.signal {
                Signal::Traces => {
                    ents.iter()
                        .filter(|e| e["name"].as_str().unwrap_or("").starts_with("GET /users/"))
                        .count()
                        > 10
                }
                Signal::Metrics => ents.iter().any(|e| {
                    e["name"] == "app.frontend.requests"
                        && e["keys"]["label"]["user.id"]["distinct"]
                            .as_u64()
                            .unwrap_or(0)
                            > 10
                }),
                Signal::Logs => ents.iter().any(|e| {
                    e["keys"]["attribute"]["request.id"]["distinct"]
                        .as_u64()
                        .unwrap_or(0)
                        > 10
                }),
            };
            c.check(&format!("{tag}: exploding keys present"), ok, || {
                "not found".into()
            });
        }
    }
    if cfg.signal == Signal::Logs {
        let count = |name: &str| {
            ents.iter()
                .find(|e| e["name"] == name)
                .and_then(|e| e["records"].as_u64())
                .unwrap_or(0)
        };
        let info = count("INFO");
        let fatal = count("FATAL");
        c.check(
            &format!("{tag}: severities mostly INFO, FATAL rare"),
            info * 2 > cfg.records && fatal * 50 < cfg.records,
            || format!("INFO {info}, FATAL {fatal} of {}", cfg.records),
        );
    }
}
