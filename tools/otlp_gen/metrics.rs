//! Metric generation. A request is one collection of one service pod: it
//! walks the service's metrics in a fixed rotation (so consecutive exports
//! cover all of them), each metric carrying up to 32 of its time series
//! (data points), until the batch is full. Metrics are grouped into one
//! `ScopeMetrics` per instrumentation library.
//!
//! Label values come from bounded lists (see `model.rs`); a series index
//! picks one combination, so each metric's label cardinality is exactly the
//! product of its dimension sizes. The demo profile's `app.frontend.requests`
//! has an unbounded `user.id` label instead.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, exponential_histogram_data_point::Buckets, metric::Data, number_data_point,
    summary_data_point::ValueAtQuantile,
};

use crate::engine::{Gen, Profile, SCHEMA_URL, kv, kv_b, kv_i, kv_s, scope, str_hash};
use crate::model::{self, Dim, MetricDef, Scope, Service, Shape, Val};
use crate::rng::{mix64, round6};
use crate::truth::{EntityInfo, LABEL};

/// Most series of one metric in one request.
const MAX_SERIES_PER_METRIC: usize = 32;
/// Export interval of delta metrics.
const INTERVAL_NS: u64 = 60_000_000_000;

const DELTA: i32 = 1;
const CUMULATIVE: i32 = 2;

#[derive(Clone, Copy, Debug)]
enum Pv {
    S(&'static str),
    I(i64),
    B(bool),
}

/// One dimension expanded: its options, each a list of attributes.
struct DimOpts {
    opts: Vec<Vec<(&'static str, Pv)>>,
    /// `user.id` drawn per point instead of from `opts`.
    exploding: bool,
}

/// A metric as reported by one service.
pub struct SvcMetric {
    def: &'static MetricDef,
    scope: Scope,
    dims: Vec<DimOpts>,
    series: usize,
    salt: u64,
}

/// The metrics service `def` reports in `profile`: generic process ones,
/// its runtime's, those derived from its operations, and its own.
pub fn service_metrics(def: &'static Service, profile: Profile) -> Vec<SvcMetric> {
    let l = def.lang;
    let has = |f: fn(&Shape) -> bool| def.ops.iter().any(|o| f(&o.shape));
    let mut groups: Vec<(&'static [MetricDef], Scope)> = vec![
        (model::PROCESS_METRICS, l.runtime_metrics),
        (l.metrics, l.runtime_metrics),
    ];
    if has(|s| matches!(s, Shape::HttpServer { .. })) {
        groups.push((model::HTTP_SERVER_METRICS, l.http_server));
    }
    if has(|s| matches!(s, Shape::HttpClient { .. })) {
        groups.push((model::HTTP_CLIENT_METRICS, l.http_client));
    }
    if has(|s| matches!(s, Shape::RpcServer { .. })) {
        groups.push((model::RPC_SERVER_METRICS, l.rpc));
    }
    if has(|s| matches!(s, Shape::RpcClient { .. })) {
        groups.push((model::RPC_CLIENT_METRICS, l.rpc));
    }
    if has(|s| matches!(s, Shape::Db { .. })) {
        // Connection pools only for SQL clients.
        let sql = has(|s| {
            matches!(
                s,
                Shape::Db {
                    system: "postgresql",
                    ..
                }
            )
        });
        groups.push((&model::DB_METRICS[..if sql { 2 } else { 1 }], l.db));
    }
    if has(|s| matches!(s, Shape::Produce { .. })) {
        groups.push((model::PRODUCER_METRICS, l.messaging));
    }
    if has(|s| matches!(s, Shape::Consume { .. })) {
        groups.push((model::CONSUMER_METRICS, l.messaging));
    }
    groups.push((def.metrics, (def.name, def.version)));

    let mut out = Vec::new();
    for (defs, sc) in groups {
        for m in defs {
            if m.demo_only && profile != Profile::Demo {
                continue;
            }
            let dims: Vec<DimOpts> = m.dims.iter().map(|d| expand(def, d)).collect();
            let series = dims.iter().map(|d| d.opts.len().max(1)).product();
            out.push(SvcMetric {
                def: m,
                scope: sc,
                dims,
                series,
                salt: str_hash(m.name) ^ str_hash(def.name),
            });
        }
    }
    out
}

fn expand(svc: &Service, d: &Dim) -> DimOpts {
    let old_db = matches!(svc.lang.name, "java" | "dotnet");
    let mut opts: Vec<Vec<(&'static str, Pv)>> = Vec::new();
    let mut add = |o: Vec<(&'static str, Pv)>| {
        if !opts.iter().any(|x| format!("{x:?}") == format!("{o:?}")) {
            opts.push(o);
        }
    };
    let mut exploding = false;
    match *d {
        Dim::Str(k, vs) => vs.iter().for_each(|v| add(vec![(k, Pv::S(v))])),
        Dim::Int(k, vs) => vs.iter().for_each(|v| add(vec![(k, Pv::I(*v))])),
        Dim::Bool(k) => {
            add(vec![(k, Pv::B(false))]);
            add(vec![(k, Pv::B(true))]);
        }
        Dim::HttpRoutes => {
            for op in svc.ops {
                if let Shape::HttpServer { method, route } = op.shape {
                    add(vec![
                        ("http.request.method", Pv::S(method)),
                        ("http.route", Pv::S(route)),
                    ]);
                }
            }
        }
        Dim::RpcServerOps | Dim::RpcClientOps => {
            for op in svc.ops {
                match op.shape {
                    Shape::RpcServer { service, method } if matches!(d, Dim::RpcServerOps) => {
                        add(vec![
                            ("rpc.system", Pv::S("grpc")),
                            ("rpc.service", Pv::S(service)),
                            ("rpc.method", Pv::S(method)),
                        ])
                    }
                    Shape::RpcClient {
                        service, method, ..
                    } if matches!(d, Dim::RpcClientOps) => add(vec![
                        ("rpc.system", Pv::S("grpc")),
                        ("rpc.service", Pv::S(service)),
                        ("rpc.method", Pv::S(method)),
                    ]),
                    _ => {}
                }
            }
        }
        Dim::HttpPeers => {
            for op in svc.ops {
                if let Shape::HttpClient { peer, .. } = op.shape {
                    add(vec![("server.address", Pv::S(peer))]);
                }
            }
        }
        Dim::DbOps => {
            for op in svc.ops {
                if let Shape::Db { system, op: o, .. } = op.shape {
                    add(if old_db {
                        vec![("db.system", Pv::S(system)), ("db.operation", Pv::S(o))]
                    } else {
                        vec![
                            ("db.system.name", Pv::S(system)),
                            ("db.operation.name", Pv::S(o)),
                        ]
                    });
                }
            }
        }
        Dim::ExplodingUser => exploding = true,
    }
    DimOpts { opts, exploding }
}

/// Per-request accumulator: metrics grouped by scope, in first-seen order.
struct Scopes {
    names: Vec<&'static str>,
    blocks: Vec<ScopeMetrics>,
}

impl Gen {
    pub fn metrics_request(
        &mut self,
        svc: usize,
        pod: u32,
        n: usize,
    ) -> ExportMetricsServiceRequest {
        let resource = self.resource(svc, pod);
        // One collection: every point of the request has the same time.
        self.clock += self.rng.range(1, 2_000) as u64 * 1_000_000;
        let now = self.clock;
        let pod_start = self.pod_start(svc, pod);
        let mut scopes = Scopes {
            names: Vec::new(),
            blocks: Vec::new(),
        };
        // Taken out while in use so that `self` stays borrowable.
        let metrics = std::mem::take(&mut self.svcs[svc].metrics);
        let mut produced = 0;
        while produced < n {
            let cursor = self.svcs[svc].metric_cursor;
            self.svcs[svc].metric_cursor = cursor + 1;
            let sm = &metrics[cursor % metrics.len()];
            let k = (n - produced).min(sm.series).min(MAX_SERIES_PER_METRIC);
            let first = self.rng.below(sm.series as u64) as usize;
            let series: Vec<usize> = (0..k).map(|j| (first + j) % sm.series).collect();
            let metric = self.metric(sm, &series, now, pod_start, svc);
            produced += k;

            let i = match scopes.names.iter().position(|s| *s == sm.scope.0) {
                Some(i) => i,
                None => {
                    scopes.names.push(sm.scope.0);
                    scopes.blocks.push(ScopeMetrics {
                        scope: Some(scope(sm.scope)),
                        metrics: Vec::new(),
                        schema_url: SCHEMA_URL.to_owned(),
                    });
                    scopes.blocks.len() - 1
                }
            };
            scopes.blocks[i].metrics.push(metric);
        }
        self.svcs[svc].metrics = metrics;
        self.truth.flush_resource(&resource.attributes);
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(resource),
                scope_metrics: scopes.blocks,
                schema_url: SCHEMA_URL.to_owned(),
            }],
        }
    }

    /// One metric with one data point per series index.
    fn metric(
        &mut self,
        sm: &SvcMetric,
        series: &[usize],
        now: u64,
        pod_start: u64,
        svc: usize,
    ) -> Metric {
        let d = sm.def;
        let temporality = if d.delta { DELTA } else { CUMULATIVE };
        let start = if d.delta {
            now - INTERVAL_NS
        } else {
            pod_start
        };
        let elapsed_s = (now - pod_start) as f64 / 1e9;
        let (kind, temp_name, monotonic) = match d.val {
            Val::Gauge { .. } => ("Gauge", "", None),
            Val::Counter { .. } => ("Sum", temp_str(temporality), Some(true)),
            Val::UpDown { .. } => ("Sum", temp_str(temporality), Some(false)),
            Val::Hist { .. } => ("Histogram", temp_str(temporality), None),
            Val::ExpHist { .. } => ("ExponentialHistogram", temp_str(temporality), None),
            Val::Summary { .. } => ("Summary", "", None),
        };
        let e = self.truth.entity(
            d.name,
            EntityInfo::Metric {
                kind,
                unit: d.unit,
                description: d.desc,
                temporality: temp_name,
                monotonic,
            },
        );
        let mut attr_sets = Vec::with_capacity(series.len());
        for &s in series {
            let attrs = self.labels(sm, s);
            self.truth.record(e, svc, "");
            self.truth.attrs(e, LABEL, &attrs);
            attr_sets.push(attrs);
        }
        // A stable per-series factor in [0.5, 1.5) so series differ.
        let factor = |s: usize| 0.5 + (mix64(sm.salt ^ s as u64) % 1000) as f64 / 1000.0;

        let data = match d.val {
            Val::Gauge { lo, hi, int } | Val::UpDown { lo, hi, int } => {
                let points = attr_sets
                    .into_iter()
                    .zip(series)
                    .map(|(attributes, &s)| {
                        let x = lo + (hi - lo) * (0.5 * (factor(s) - 0.5) + 0.5 * self.rng.unit());
                        NumberDataPoint {
                            attributes,
                            start_time_unix_nano: if matches!(d.val, Val::Gauge { .. }) {
                                0
                            } else {
                                start
                            },
                            time_unix_nano: now,
                            exemplars: Vec::new(),
                            flags: 0,
                            value: Some(number(x, int)),
                        }
                    })
                    .collect();
                if matches!(d.val, Val::Gauge { .. }) {
                    Data::Gauge(Gauge {
                        data_points: points,
                    })
                } else {
                    Data::Sum(Sum {
                        data_points: points,
                        aggregation_temporality: temporality,
                        is_monotonic: false,
                    })
                }
            }
            Val::Counter { rate, int } => {
                let points = attr_sets
                    .into_iter()
                    .zip(series)
                    .map(|(attributes, &s)| {
                        let x = if d.delta {
                            rate * 60.0 * factor(s) * (0.8 + 0.4 * self.rng.unit())
                        } else {
                            rate * elapsed_s * factor(s)
                        };
                        NumberDataPoint {
                            attributes,
                            start_time_unix_nano: start,
                            time_unix_nano: now,
                            exemplars: Vec::new(),
                            flags: 0,
                            value: Some(number(x, int)),
                        }
                    })
                    .collect();
                Data::Sum(Sum {
                    data_points: points,
                    aggregation_temporality: temporality,
                    is_monotonic: true,
                })
            }
            Val::Hist { bounds, median } => {
                let points = attr_sets
                    .into_iter()
                    .zip(series)
                    .map(|(attributes, &s)| {
                        let count = self.count(d.delta, elapsed_s, factor(s));
                        let med = median * (0.7 + 0.6 * self.rng.unit());
                        let bucket_counts = spread(bounds, med, count);
                        let exemplars = self.exemplars(now, med);
                        HistogramDataPoint {
                            attributes,
                            start_time_unix_nano: start,
                            time_unix_nano: now,
                            count,
                            sum: Some(round6(count as f64 * med * 1.3)),
                            bucket_counts,
                            explicit_bounds: bounds.to_vec(),
                            exemplars,
                            flags: 0,
                            min: Some(round6(med * 0.1)),
                            max: Some(round6(med * 9.0)),
                        }
                    })
                    .collect();
                Data::Histogram(Histogram {
                    data_points: points,
                    aggregation_temporality: temporality,
                })
            }
            Val::ExpHist { median } => {
                let points = attr_sets
                    .into_iter()
                    .zip(series)
                    .map(|(attributes, &s)| {
                        let count = self.count(d.delta, elapsed_s, factor(s));
                        let med = median * (0.7 + 0.6 * self.rng.unit());
                        let zero_count = count / 50;
                        // Scale 3: bucket i covers (2^(i/8), 2^((i+1)/8)].
                        let center = (med.log2() * 8.0).floor() as i32;
                        let buckets = bell(24, 12.0, 5.0, count - zero_count);
                        let exemplars = self.exemplars(now, med);
                        ExponentialHistogramDataPoint {
                            attributes,
                            start_time_unix_nano: start,
                            time_unix_nano: now,
                            count,
                            sum: Some(round6(count as f64 * med * 1.2)),
                            scale: 3,
                            zero_count,
                            positive: Some(Buckets {
                                offset: center - 12,
                                bucket_counts: buckets,
                            }),
                            negative: None,
                            flags: 0,
                            exemplars,
                            min: Some(round6(med / 8.0)),
                            max: Some(round6(med * 6.0)),
                            zero_threshold: 0.0,
                        }
                    })
                    .collect();
                Data::ExponentialHistogram(ExponentialHistogram {
                    data_points: points,
                    aggregation_temporality: temporality,
                })
            }
            Val::Summary { median } => {
                let points = attr_sets
                    .into_iter()
                    .zip(series)
                    .map(|(attributes, &s)| {
                        let count = self.count(false, elapsed_s, factor(s));
                        let med = median * (0.7 + 0.6 * self.rng.unit());
                        let q = [(0.0, 0.2), (0.25, 0.6), (0.5, 1.0), (0.75, 1.7), (1.0, 6.0)];
                        SummaryDataPoint {
                            attributes,
                            start_time_unix_nano: start,
                            time_unix_nano: now,
                            count,
                            sum: round6(count as f64 * med * 1.4),
                            quantile_values: q
                                .iter()
                                .map(|&(quantile, f)| ValueAtQuantile {
                                    quantile,
                                    value: round6(med * f),
                                })
                                .collect(),
                            flags: 0,
                        }
                    })
                    .collect();
                Data::Summary(Summary {
                    data_points: points,
                })
            }
        };
        Metric {
            name: d.name.to_owned(),
            description: d.desc.to_owned(),
            unit: d.unit.to_owned(),
            metadata: Vec::new(),
            data: Some(data),
        }
    }

    /// The labels of series `s`: one option per dimension (mixed radix).
    fn labels(&mut self, sm: &SvcMetric, mut s: usize) -> Vec<KeyValue> {
        let mut a = Vec::with_capacity(12);
        for dim in &sm.dims {
            if dim.exploding {
                let u = self.user_id(true);
                a.push(kv("user.id", u));
                continue;
            }
            let n = dim.opts.len().max(1);
            if let Some(opt) = dim.opts.get(s % n) {
                for &(k, v) in opt {
                    a.push(match v {
                        Pv::S(x) => kv_s(k, x),
                        Pv::I(x) => kv_i(k, x),
                        Pv::B(x) => kv_b(k, x),
                    });
                }
            }
            s /= n;
        }
        if self.bench() {
            self.card_attrs(&mut a);
        }
        a
    }

    /// Observation count of a histogram or summary point: growing with
    /// uptime when cumulative.
    fn count(&mut self, delta: bool, elapsed_s: f64, factor: f64) -> u64 {
        if delta {
            1 + self.rng.below(400)
        } else {
            1 + (elapsed_s * 0.2 * factor) as u64 + self.rng.below(10)
        }
    }

    /// One exemplar on about a tenth of histogram points.
    fn exemplars(&mut self, now: u64, med: f64) -> Vec<Exemplar> {
        if !self.rng.chance(1, 10) {
            return Vec::new();
        }
        vec![Exemplar {
            filtered_attributes: Vec::new(),
            time_unix_nano: now - self.rng.below(INTERVAL_NS),
            span_id: self.rng.id8(),
            trace_id: self.rng.id16(),
            value: Some(
                opentelemetry_proto::tonic::metrics::v1::exemplar::Value::AsDouble(round6(
                    med * (0.5 + self.rng.unit() * 2.0),
                )),
            ),
        }]
    }
}

fn temp_str(t: i32) -> &'static str {
    if t == DELTA { "Delta" } else { "Cumulative" }
}

fn number(x: f64, int: bool) -> number_data_point::Value {
    if int {
        number_data_point::Value::AsInt(x.max(0.0) as i64)
    } else {
        number_data_point::Value::AsDouble(round6(x))
    }
}

/// Spreads `count` observations over the buckets of `bounds` (one more
/// bucket than bounds) as a log-normal around `median`. The counts add up
/// to `count` exactly.
fn spread(bounds: &[f64], median: f64, count: u64) -> Vec<u64> {
    let m = bounds.len();
    let weights: Vec<f64> = (0..=m)
        .map(|i| {
            let rep = if i == 0 {
                bounds[0] / 2.0
            } else if i == m {
                bounds[m - 1] * 1.5
            } else {
                (bounds[i - 1] + bounds[i]) / 2.0
            };
            if rep <= 0.0 {
                0.0
            } else {
                let z = (rep / median).ln();
                (-z * z / 2.0).exp()
            }
        })
        .collect();
    distribute(&weights, count)
}

/// `n` buckets with a bell shape around `center`, adding up to `count`.
fn bell(n: usize, center: f64, sigma: f64, count: u64) -> Vec<u64> {
    let weights: Vec<f64> = (0..n)
        .map(|i| {
            let z = (i as f64 - center) / sigma;
            (-z * z / 2.0).exp()
        })
        .collect();
    distribute(&weights, count)
}

fn distribute(weights: &[f64], count: u64) -> Vec<u64> {
    let total: f64 = weights.iter().sum();
    let mut out: Vec<u64> = weights
        .iter()
        .map(|w| (count as f64 * w / total).floor() as u64)
        .collect();
    let assigned: u64 = out.iter().sum();
    let top = weights
        .iter()
        .enumerate()
        .fold(0, |best, (i, w)| if *w > weights[best] { i } else { best });
    out[top] += count - assigned;
    out
}
