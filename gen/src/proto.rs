//! OTLP/protobuf encoding of a [`Batch`]: the batch converted into
//! opentelemetry-proto's prost messages, which prost encodes (fields in tag
//! order, proto3 defaults omitted, oneof members and `optional` fields
//! written when set).
//!
//! OTLP/JSON stays hand-written (json.rs): opentelemetry-proto's serde
//! mapping writes every default field (`"entityRefs":[]`,
//! `"droppedAttributesCount":0`, `"parentSpanId":""`), which the
//! Collector's exporters omit, and the JSON workload should look like
//! theirs.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    self as m, ResourceMetrics, ScopeMetrics, exponential_histogram_data_point::Buckets,
    metric::Data, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use prost::Message;

use crate::rec::{Batch, Kind, MKind, PVal, PointRec, Rg, Val};

fn value(b: &Batch, v: &Val) -> AnyValue {
    use any_value::Value as V;
    let v = match *v {
        Val::Str(..) | Val::Lit(_) => V::StringValue(b.str_of(v).to_owned()),
        Val::Bool(x) => V::BoolValue(x),
        Val::Int(i) => V::IntValue(i),
        Val::Double(d) => V::DoubleValue(d),
        Val::Array(r) => V::ArrayValue(ArrayValue {
            values: b.vals[r.range()].iter().map(|x| value(b, x)).collect(),
        }),
        Val::Kvlist(r) => V::KvlistValue(KeyValueList {
            values: attrs(b, r),
        }),
    };
    AnyValue { value: Some(v) }
}

fn attrs(b: &Batch, r: Rg) -> Vec<KeyValue> {
    b.attrs_of(r)
        .iter()
        .map(|a| KeyValue {
            key: a.key.to_owned(),
            value: Some(value(b, &a.val)),
            ..Default::default()
        })
        .collect()
}

fn scope(b: &Batch, i: usize) -> Option<InstrumentationScope> {
    let (name, version) = b.scopes[i];
    Some(InstrumentationScope {
        name: name.to_owned(),
        version: version.to_owned(),
        ..Default::default()
    })
}

fn span(b: &Batch, i: usize) -> Span {
    let sp = &b.spans[i];
    Span {
        trace_id: sp.trace_id.to_vec(),
        span_id: sp.span_id.to_vec(),
        parent_span_id: sp.parent.map_or_else(Vec::new, |p| p.to_vec()),
        flags: sp.flags,
        name: b.str_of(&sp.name).to_owned(),
        kind: sp.kind,
        start_time_unix_nano: sp.start,
        end_time_unix_nano: sp.end,
        attributes: attrs(b, sp.attrs),
        events: b.events[sp.events.range()]
            .iter()
            .map(|ev| span::Event {
                time_unix_nano: ev.time,
                name: ev.name.to_owned(),
                attributes: attrs(b, ev.attrs),
                ..Default::default()
            })
            .collect(),
        links: b.links[sp.links.range()]
            .iter()
            .map(|l| span::Link {
                trace_id: l.trace_id.to_vec(),
                span_id: l.span_id.to_vec(),
                attributes: attrs(b, l.attrs),
                flags: l.flags,
                ..Default::default()
            })
            .collect(),
        status: sp.status.map(|(code, msg)| Status {
            message: msg.to_owned(),
            code,
        }),
        ..Default::default()
    }
}

fn exemplars(p: &PointRec) -> Vec<m::Exemplar> {
    p.exemplar
        .iter()
        .map(|e| m::Exemplar {
            time_unix_nano: e.time,
            value: Some(m::exemplar::Value::AsDouble(e.value)),
            span_id: e.span_id.to_vec(),
            trace_id: e.trace_id.to_vec(),
            ..Default::default()
        })
        .collect()
}

fn number_point(b: &Batch, p: &PointRec) -> m::NumberDataPoint {
    m::NumberDataPoint {
        attributes: attrs(b, p.attrs),
        start_time_unix_nano: p.start,
        time_unix_nano: p.time,
        exemplars: exemplars(p),
        value: match p.val {
            PVal::Double(d) => Some(number_data_point::Value::AsDouble(d)),
            PVal::Int(i) => Some(number_data_point::Value::AsInt(i)),
            _ => None,
        },
        ..Default::default()
    }
}

fn metric(b: &Batch, i: usize) -> m::Metric {
    let mt = &b.metrics[i];
    let points = &b.points[mt.points.range()];
    let data = match mt.kind {
        MKind::Gauge => Data::Gauge(m::Gauge {
            data_points: points.iter().map(|p| number_point(b, p)).collect(),
        }),
        MKind::Sum {
            temporality,
            monotonic,
        } => Data::Sum(m::Sum {
            data_points: points.iter().map(|p| number_point(b, p)).collect(),
            aggregation_temporality: temporality,
            is_monotonic: monotonic,
        }),
        MKind::Histogram { temporality } => Data::Histogram(m::Histogram {
            data_points: points.iter().map(|p| histogram_point(b, p)).collect(),
            aggregation_temporality: temporality,
        }),
        MKind::Exp { temporality } => Data::ExponentialHistogram(m::ExponentialHistogram {
            data_points: points.iter().map(|p| exp_point(b, p)).collect(),
            aggregation_temporality: temporality,
        }),
        MKind::Summary => Data::Summary(m::Summary {
            data_points: points.iter().map(|p| summary_point(b, p)).collect(),
        }),
    };
    m::Metric {
        name: mt.name.to_owned(),
        description: mt.description.to_owned(),
        unit: mt.unit.to_owned(),
        data: Some(data),
        ..Default::default()
    }
}

fn histogram_point(b: &Batch, p: &PointRec) -> m::HistogramDataPoint {
    let PVal::Hist {
        count,
        sum,
        buckets,
        bounds,
        min,
        max,
    } = p.val
    else {
        unreachable!("a histogram's point")
    };
    m::HistogramDataPoint {
        attributes: attrs(b, p.attrs),
        start_time_unix_nano: p.start,
        time_unix_nano: p.time,
        count,
        sum: Some(sum),
        bucket_counts: b.u64s[buckets.range()].to_vec(),
        explicit_bounds: bounds.to_vec(),
        exemplars: exemplars(p),
        min: Some(min),
        max: Some(max),
        ..Default::default()
    }
}

fn exp_point(b: &Batch, p: &PointRec) -> m::ExponentialHistogramDataPoint {
    let PVal::Exp {
        count,
        sum,
        scale,
        zero_count,
        offset,
        buckets,
        min,
        max,
    } = p.val
    else {
        unreachable!("an exponential histogram's point")
    };
    m::ExponentialHistogramDataPoint {
        attributes: attrs(b, p.attrs),
        start_time_unix_nano: p.start,
        time_unix_nano: p.time,
        count,
        sum: Some(sum),
        scale,
        zero_count,
        positive: Some(Buckets {
            offset,
            bucket_counts: b.u64s[buckets.range()].to_vec(),
        }),
        exemplars: exemplars(p),
        min: Some(min),
        max: Some(max),
        ..Default::default()
    }
}

fn summary_point(b: &Batch, p: &PointRec) -> m::SummaryDataPoint {
    let PVal::Summary {
        count,
        sum,
        quantiles,
    } = p.val
    else {
        unreachable!("a summary's point")
    };
    m::SummaryDataPoint {
        attributes: attrs(b, p.attrs),
        start_time_unix_nano: p.start,
        time_unix_nano: p.time,
        count,
        sum,
        quantile_values: quantiles
            .iter()
            .map(|&(quantile, value)| m::summary_data_point::ValueAtQuantile { quantile, value })
            .collect(),
        ..Default::default()
    }
}

fn log(b: &Batch, i: usize) -> LogRecord {
    let l = &b.logs[i];
    let (trace_id, span_id) = l
        .trace
        .map_or_else(Default::default, |(t, s)| (t.to_vec(), s.to_vec()));
    LogRecord {
        time_unix_nano: l.time,
        observed_time_unix_nano: l.observed,
        severity_number: l.severity,
        severity_text: l.severity_text.to_owned(),
        body: l.body.as_ref().map(|v| value(b, v)),
        attributes: attrs(b, l.attrs),
        flags: l.flags,
        trace_id,
        span_id,
        event_name: l.event_name.to_owned(),
        ..Default::default()
    }
}

/// The records of scope `si` of the batch, converted by `f`.
fn of_scope<R, T>(
    recs: &[R],
    si: usize,
    scope_of: impl Fn(&R) -> u8,
    f: impl Fn(usize) -> T,
) -> Vec<T> {
    (0..recs.len())
        .filter(|&i| usize::from(scope_of(&recs[i])) == si)
        .map(f)
        .collect()
}

/// A batch's export request as prost messages.
pub enum Request {
    Traces(ExportTraceServiceRequest),
    Metrics(ExportMetricsServiceRequest),
    Logs(ExportLogsServiceRequest),
}

/// `b`'s export request.
pub fn request(b: &Batch) -> Request {
    let resource = Some(Resource {
        attributes: attrs(b, b.resource),
        ..Default::default()
    });
    let schema_url = b.resource_schema.to_owned();
    let scopes = 0..b.scopes.len();
    let scope_schema = || b.scope_schema.to_owned();
    match b.kind {
        Kind::Traces => Request::Traces(ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource,
                schema_url,
                scope_spans: scopes
                    .map(|si| ScopeSpans {
                        scope: scope(b, si),
                        spans: of_scope(&b.spans, si, |s| s.scope, |i| span(b, i)),
                        schema_url: scope_schema(),
                    })
                    .collect(),
            }],
        }),
        Kind::Metrics => Request::Metrics(ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource,
                schema_url,
                scope_metrics: scopes
                    .map(|si| ScopeMetrics {
                        scope: scope(b, si),
                        metrics: of_scope(&b.metrics, si, |x| x.scope, |i| metric(b, i)),
                        schema_url: scope_schema(),
                    })
                    .collect(),
            }],
        }),
        Kind::Logs => Request::Logs(ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource,
                schema_url,
                scope_logs: scopes
                    .map(|si| ScopeLogs {
                        scope: scope(b, si),
                        log_records: of_scope(&b.logs, si, |l| l.scope, |i| log(b, i)),
                        schema_url: scope_schema(),
                    })
                    .collect(),
            }],
        }),
    }
}

/// Appends the OTLP/protobuf encoding of `b`'s export request to `out`.
pub fn encode(b: &Batch, out: &mut Vec<u8>) {
    match request(b) {
        Request::Traces(r) => r.encode(out),
        Request::Metrics(r) => r.encode(out),
        Request::Logs(r) => r.encode(out),
    }
    .expect("a Vec grows as needed");
}
