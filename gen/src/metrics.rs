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

use crate::engine::{Gen, Profile, SCHEMA_URL, str_hash};
use crate::model::{self, Dim, MetricDef, Scope, Service, Shape, Val};
use crate::rec::{Batch, Exemplar, MKind, MetricRec, PVal, PointRec, Rg};
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
        Dim::ExplodingUser => {
            // Up to 16 points per collection, each with a random user.
            opts = vec![Vec::new(); 16];
            exploding = true;
        }
    }
    DimOpts { opts, exploding }
}

impl Gen {
    pub fn metrics_request(&mut self, b: &mut Batch, svc: usize, pod: u32, n: usize) {
        b.scope_schema = SCHEMA_URL;
        // A request holds one or more consecutive collections of the pod
        // (one every INTERVAL_NS); all points of a collection share its time.
        self.clock += self.rng.range(1, 2_000) as u64 * 1_000_000 * self.cfg.time_scale;
        let pod_clock = &mut self.pod_clocks[svc][pod as usize];
        let mut now = (*pod_clock + INTERVAL_NS).max(self.clock);
        let pod_start = self.pod_start(svc, pod);
        // Taken out while in use so that `self` stays borrowable.
        let metrics = std::mem::take(&mut self.svcs[svc].metrics);
        let mut collection_start = self.svcs[svc].metric_cursor;
        let mut produced = 0;
        while produced < n {
            let cursor = self.svcs[svc].metric_cursor;
            self.svcs[svc].metric_cursor = cursor + 1;
            if cursor - collection_start == metrics.len() {
                // Every metric reported once: next collection.
                collection_start = cursor;
                now += INTERVAL_NS;
            }
            let sm = &metrics[cursor % metrics.len()];
            let k = (n - produced).min(sm.series).min(MAX_SERIES_PER_METRIC);
            let first = self.rng.index(sm.series);
            self.metric(b, sm, first, k, now, pod_start, svc);
            produced += k;
        }
        self.svcs[svc].metrics = metrics;
        self.pod_clocks[svc][pod as usize] = now;
    }

    /// One metric with `k` data points, for series `first..first+k` (mod
    /// the metric's series count).
    #[allow(clippy::too_many_arguments)]
    fn metric(
        &mut self,
        b: &mut Batch,
        sm: &SvcMetric,
        first: usize,
        k: usize,
        now: u64,
        pod_start: u64,
        svc: usize,
    ) {
        let d = sm.def;
        let unit = match d.demo_unit {
            Some(u) if self.demo() => u,
            _ => d.unit,
        };
        let temporality = if d.delta { DELTA } else { CUMULATIVE };
        let monotonic_or = |m: bool| match d.demo_monotonic {
            Some(v) if self.demo() => v,
            _ => m,
        };
        let start = if d.delta {
            now - INTERVAL_NS
        } else {
            pod_start
        };
        let elapsed_s = (now - pod_start) as f64 / 1e9;
        let (kind, temp_name, monotonic) = match d.val {
            Val::Gauge { .. } => (MKind::Gauge, "", None),
            Val::Counter { .. } => (
                MKind::Sum {
                    temporality,
                    monotonic: monotonic_or(true),
                },
                temp_str(temporality),
                Some(monotonic_or(true)),
            ),
            Val::UpDown { .. } => (
                MKind::Sum {
                    temporality,
                    monotonic: monotonic_or(false),
                },
                temp_str(temporality),
                Some(monotonic_or(false)),
            ),
            Val::Hist { .. } => (
                MKind::Histogram { temporality },
                temp_str(temporality),
                None,
            ),
            Val::ExpHist { .. } => (MKind::Exp { temporality }, temp_str(temporality), None),
            Val::Summary { .. } => (MKind::Summary, "", None),
        };
        let e = self.truth.entity(
            d.name,
            EntityInfo::Metric {
                kind: kind_name(kind),
                unit,
                description: d.desc,
                temporality: temp_name,
                monotonic,
            },
        );
        let p0 = b.points.len() as u32;
        for j in 0..k {
            let s = (first + j) % sm.series;
            let attrs = self.labels(b, sm, s);
            self.truth.record(e, svc, "");
            self.truth.attrs(e, LABEL, b.attrs_of(attrs), b);
            // A stable per-series factor in [0.5, 1.5) so series differ.
            let factor = 0.5 + (mix64(sm.salt ^ s as u64) % 1000) as f64 / 1000.0;
            let (val, exemplar) = self.point_value(b, d, factor, elapsed_s, now);
            b.points.push(PointRec {
                attrs,
                start: if matches!(d.val, Val::Gauge { .. }) {
                    0
                } else {
                    start
                },
                time: now,
                val,
                exemplar,
            });
        }
        let scope = b.scope(sm.scope);
        b.metrics.push(MetricRec {
            name: d.name,
            description: d.desc,
            unit,
            kind,
            points: Rg(p0, b.points.len() as u32),
            scope,
        });
    }

    fn point_value(
        &mut self,
        b: &mut Batch,
        d: &MetricDef,
        factor: f64,
        elapsed_s: f64,
        now: u64,
    ) -> (PVal, Option<Exemplar>) {
        match d.val {
            Val::Gauge { lo, hi, int } | Val::UpDown { lo, hi, int } => {
                let x = lo + (hi - lo) * (0.5 * (factor - 0.5) + 0.5 * self.rng.unit());
                (number(x, int), None)
            }
            Val::Counter { rate, int } => {
                let x = if d.delta {
                    rate * 60.0 * factor * (0.8 + 0.4 * self.rng.unit())
                } else {
                    rate * elapsed_s * factor
                };
                (number(x, int), None)
            }
            Val::Hist { bounds, median } => {
                let count = self.count(d.delta, elapsed_s, factor);
                let med = median * (0.7 + 0.6 * self.rng.unit());
                let u0 = b.u64s.len() as u32;
                spread(bounds, med, count, &mut b.u64s);
                let val = PVal::Hist {
                    count,
                    sum: round6(count as f64 * med * 1.3),
                    buckets: Rg(u0, b.u64s.len() as u32),
                    bounds,
                    min: round6(med * 0.1),
                    max: round6(med * 9.0),
                };
                (val, self.exemplar(now, med))
            }
            Val::ExpHist { median } => {
                let count = self.count(d.delta, elapsed_s, factor);
                let med = median * (0.7 + 0.6 * self.rng.unit());
                let zero_count = count / 50;
                // Scale 3: bucket i covers (2^(i/8), 2^((i+1)/8)].
                let center = (med.log2() * 8.0).floor() as i32;
                let u0 = b.u64s.len() as u32;
                bell(24, 12.0, 5.0, count - zero_count, &mut b.u64s);
                let val = PVal::Exp {
                    count,
                    sum: round6(count as f64 * med * 1.2),
                    scale: 3,
                    zero_count,
                    offset: center - 12,
                    buckets: Rg(u0, b.u64s.len() as u32),
                    min: round6(med / 8.0),
                    max: round6(med * 6.0),
                };
                (val, self.exemplar(now, med))
            }
            Val::Summary { median } => {
                let count = self.count(false, elapsed_s, factor);
                let med = median * (0.7 + 0.6 * self.rng.unit());
                let mut quantiles = [(0.0, 0.2), (0.25, 0.6), (0.5, 1.0), (0.75, 1.7), (1.0, 6.0)];
                for q in &mut quantiles {
                    q.1 = round6(med * q.1);
                }
                let val = PVal::Summary {
                    count,
                    sum: round6(count as f64 * med * 1.4),
                    quantiles,
                };
                (val, None)
            }
        }
    }

    /// Writes the labels of series `s` (one option per dimension, mixed
    /// radix) and returns their range.
    fn labels(&mut self, b: &mut Batch, sm: &SvcMetric, mut s: usize) -> Rg {
        let m = b.mark();
        for dim in &sm.dims {
            let n = dim.opts.len().max(1);
            if dim.exploding {
                b.with("user.id", |t| self.w_user(t, true));
                s /= n;
                continue;
            }
            if let Some(opt) = dim.opts.get(s % n) {
                for &(k, v) in opt {
                    match v {
                        Pv::S(x) => b.lit(k, x),
                        Pv::I(x) => b.int(k, x),
                        Pv::B(x) => b.boolean(k, x),
                    }
                }
            }
            s /= n;
        }
        if self.bench() {
            self.card_attrs(b);
        }
        b.since(m)
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

    /// An exemplar on about a tenth of histogram points.
    fn exemplar(&mut self, now: u64, med: f64) -> Option<Exemplar> {
        if !self.rng.chance(1, 10) {
            return None;
        }
        Some(Exemplar {
            time: now - self.rng.below(INTERVAL_NS),
            value: round6(med * (0.5 + self.rng.unit() * 2.0)),
            span_id: self.id8(),
            trace_id: self.id16(),
        })
    }
}

fn kind_name(k: MKind) -> &'static str {
    match k {
        MKind::Gauge => "Gauge",
        MKind::Sum { .. } => "Sum",
        MKind::Histogram { .. } => "Histogram",
        MKind::Exp { .. } => "ExponentialHistogram",
        MKind::Summary => "Summary",
    }
}

fn temp_str(t: i32) -> &'static str {
    if t == DELTA { "Delta" } else { "Cumulative" }
}

fn number(x: f64, int: bool) -> PVal {
    if int {
        PVal::Int(x.max(0.0) as i64)
    } else {
        PVal::Double(round6(x))
    }
}

/// Spreads `count` observations over the buckets of `bounds` (one more
/// bucket than bounds) as a log-normal around `median`. The counts add up
/// to `count` exactly.
fn spread(bounds: &[f64], median: f64, count: u64, out: &mut Vec<u64>) {
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
    distribute(&weights, count, out)
}

/// `n` buckets with a bell shape around `center`, adding up to `count`.
fn bell(n: usize, center: f64, sigma: f64, count: u64, out: &mut Vec<u64>) {
    let weights: Vec<f64> = (0..n)
        .map(|i| {
            let z = (i as f64 - center) / sigma;
            (-z * z / 2.0).exp()
        })
        .collect();
    distribute(&weights, count, out)
}

/// Appends `count` split in proportion to `weights`; the parts add up to
/// `count` exactly (the remainder goes to the heaviest part).
fn distribute(weights: &[f64], count: u64, out: &mut Vec<u64>) {
    let total: f64 = weights.iter().sum();
    let base = out.len();
    out.extend(
        weights
            .iter()
            .map(|w| (count as f64 * w / total).floor() as u64),
    );
    let assigned: u64 = out[base..].iter().sum();
    let top = weights
        .iter()
        .enumerate()
        .fold(0, |best, (i, w)| if *w > weights[best] { i } else { best });
    out[base + top] += count - assigned;
}
