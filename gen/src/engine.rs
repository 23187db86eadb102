//! The generator core: configuration, the per-run state shared by the three
//! signals (PRNG, virtual clock, ground truth), resources and value pools.
//! `traces.rs`, `metrics.rs` and `logs.rs` add one request builder each;
//! requests are built into a reusable [`Batch`] (see `rec.rs`).
//!
//! Value pools (distinct values): user.id 50 000 (skewed: low ids are
//! frequent), session.id 100 000, app.product.id 1 000 (skewed), client
//! addresses 5 000, peer pod addresses 50 per peer, zip codes 1 000, e-mail
//! addresses 2 000; per service 50 pods (k8s.pod.name, service.instance.id,
//! process.pid) on 2-4 of 8 nodes (host.name). Ids (order, tracking, kafka
//! keys) are fresh UUIDs.

use crate::model::{SERVICES, Service};
use crate::rec::{Batch, Kind, push_hex, push_u64};
use crate::rng::{Rng, mix64};
use crate::truth::Truth;

/// 2026-11-01T00:00:00Z in Unix nanoseconds: where every run's clock starts.
pub const EPOCH_NS: u64 = 1_793_491_200 * 1_000_000_000;

/// Schema URL written on every resource and scope block.
pub const SCHEMA_URL: &str = "https://opentelemetry.io/schemas/1.26.0";

/// The synthetic cardinality keys of the bench profile, on every span, data
/// point and log record: `(key, number of distinct values)`. Values are the
/// strings `v0` .. `v{N-1}`, drawn uniformly.
pub const CARD_KEYS: &[(&str, u64)] = &[
    ("card.3", 3),
    ("card.100", 100),
    ("card.1k", 1_000),
    ("card.10k", 10_000),
    ("card.100k", 100_000),
    ("card.1m", 1_000_000),
];

/// Sizes of the value pools behind the realistic keys (see the report / the
/// `--help` text for the per-key list).
pub const USERS: u64 = 50_000;
pub const DEMO_USERS: u64 = 1_000_000;
pub const SESSIONS: u64 = 100_000;
pub const PRODUCTS: usize = 1_000;
pub const CLIENT_IPS: u64 = 5_000;
pub const ZIPS: u64 = 1_000;
pub const EMAILS: u64 = 2_000;
/// Distinct Kubernetes nodes (`host.name`); each service runs on a few.
pub const NODES: u64 = 8;

/// The signal, as otelcat names it.
pub use otelcat::otlp::Signal;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// Realistic data plus the `card.*` keys.
    Bench,
    /// Realistic data plus deliberately exploding keys and span names.
    Demo,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Bench => "bench",
            Profile::Demo => "demo",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub signal: Signal,
    pub profile: Profile,
    pub seed: u64,
    pub records: u64,
    pub batch: usize,
    /// Number of services used (the first K of [`SERVICES`]).
    pub services: usize,
    /// Virtual time runs this many times faster between records (1: as
    /// the workload's real rate; a month of the workload in fewer records
    /// for the history's size benchmark). Only times change.
    pub time_scale: u64,
}

/// Values that never change during a run (pre-rendered strings).
pub struct World {
    pub product_ids: Vec<String>,
}

impl World {
    fn new() -> Self {
        // Product ids look like the OpenTelemetry demo's (`OLJCESPC7Z`): ten
        // upper-case letters and digits, fixed for every seed.
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let product_ids = (0..PRODUCTS as u64)
            .map(|i| {
                let mut h = mix64(i ^ 0x005E_ED0F_F00D);
                (0..10)
                    .map(|_| {
                        let c = ALPHABET[(h % 36) as usize] as char;
                        h /= 36;
                        c
                    })
                    .collect()
            })
            .collect();
        World { product_ids }
    }
}

/// Per-service state prepared once per run.
pub struct Svc {
    pub def: &'static Service,
    pub index: usize,
    /// Indices into `def.ops` of entry operations (server, consumer) and of
    /// child operations, with their weights (profile-filtered).
    pub entry_ops: Vec<usize>,
    pub entry_weights: Vec<u32>,
    pub child_ops: Vec<usize>,
    pub child_weights: Vec<u32>,
    /// Metrics reported by this service, see `metrics.rs`.
    pub metrics: Vec<crate::metrics::SvcMetric>,
    pub metric_cursor: usize,
    /// Log templates by severity index, see `logs.rs`.
    pub templates: Vec<Vec<usize>>,
}

/// The generator: produces the requests of one run, one at a time, and
/// keeps the ground truth of what it produced.
pub struct Gen {
    pub cfg: Config,
    pub rng: Rng,
    /// Virtual time in Unix nanoseconds; only moves forward.
    pub clock: u64,
    pub world: World,
    pub truth: Truth,
    pub svcs: Vec<Svc>,
    svc_weights: Vec<u32>,
    pub logs: crate::logs::LogModel,
    pub remaining: u64,
    pub requests: u64,
    /// Demo: cart session tokens handed out so far.
    pub exploding: u64,
    /// Kafka offsets grow per partition, like real ones.
    pub kafka_offset: u64,
    /// Time of the last metric collection of each pod, by service.
    pub pod_clocks: Vec<Vec<u64>>,
}

impl Gen {
    /// A generator for `cfg`. With `distinct`, the ground truth also keeps
    /// the exact distinct values of every key (memory grows with them).
    pub fn new(cfg: Config, distinct: bool) -> Self {
        assert!(cfg.batch > 0, "batch must be positive");
        assert!(
            (1..=SERVICES.len()).contains(&cfg.services),
            "services must be in 1..={}",
            SERVICES.len()
        );
        let signal_salt = match cfg.signal {
            Signal::Traces => 0x7472_6163,
            Signal::Metrics => 0x6D65_7472,
            Signal::Logs => 0x6C6F_6773,
        };
        let logs = crate::logs::LogModel::new();
        let svcs: Vec<Svc> = SERVICES[..cfg.services]
            .iter()
            .enumerate()
            .map(|(index, def)| {
                let mut s = Svc {
                    def,
                    index,
                    entry_ops: Vec::new(),
                    entry_weights: Vec::new(),
                    child_ops: Vec::new(),
                    child_weights: Vec::new(),
                    metrics: crate::metrics::service_metrics(def, cfg.profile),
                    metric_cursor: 0,
                    templates: logs.service_templates(def),
                };
                for (i, op) in def.ops.iter().enumerate() {
                    if matches!(op.shape, crate::model::Shape::UserPage)
                        && cfg.profile != Profile::Demo
                    {
                        continue;
                    }
                    if op.kind == crate::model::SERVER || op.kind == crate::model::CONSUMER {
                        s.entry_ops.push(i);
                        s.entry_weights.push(op.weight);
                    } else {
                        s.child_ops.push(i);
                        s.child_weights.push(op.weight);
                    }
                }
                s
            })
            .collect();
        let svc_weights = svcs.iter().map(|s| s.def.weight).collect();
        Gen {
            truth: Truth::new(cfg.signal, distinct),
            rng: Rng::new(cfg.seed ^ signal_salt),
            clock: EPOCH_NS,
            world: World::new(),
            svcs,
            svc_weights,
            logs,
            remaining: cfg.records,
            exploding: 0,
            requests: 0,
            kafka_offset: 1_000_000,
            pod_clocks: SERVICES.iter().map(|s| vec![0; s.pods as usize]).collect(),
            cfg,
        }
    }

    /// Fills `b` with the next request (`batch` records, fewer for the
    /// last); false when all records have been produced.
    pub fn next_request(&mut self, b: &mut Batch) -> bool {
        if self.remaining == 0 {
            return false;
        }
        let n = self.remaining.min(self.cfg.batch as u64) as usize;
        self.remaining -= n as u64;
        self.requests += 1;
        let svc = self.rng.weighted(&self.svc_weights);
        let pod = self.rng.below(self.svcs[svc].def.pods as u64) as u32;
        b.clear();
        self.resource(b, svc, pod);
        match self.cfg.signal {
            Signal::Traces => self.traces_request(b, svc, n),
            Signal::Metrics => self.metrics_request(b, svc, pod, n),
            Signal::Logs => self.logs_request(b, svc, n),
        }
        debug_assert_eq!(b.records(), n);
        self.truth.flush_resource(b.attrs_of(b.resource), b);
        true
    }

    /// An empty batch for this run's signal.
    pub fn new_batch(&self) -> Batch {
        Batch::new(match self.cfg.signal {
            Signal::Traces => Kind::Traces,
            Signal::Metrics => Kind::Metrics,
            Signal::Logs => Kind::Logs,
        })
    }

    pub fn bench(&self) -> bool {
        self.cfg.profile == Profile::Bench
    }

    pub fn demo(&self) -> bool {
        self.cfg.profile == Profile::Demo
    }

    /// Writes the resource of pod `pod` of service `svc` into `b`.
    fn resource(&self, b: &mut Batch, svc: usize, pod: u32) {
        let s = self.svcs[svc].def;
        let h = mix64((svc as u64) << 32 | pod as u64);
        let node = (svc as u64 * 3 + (pod % s.hosts) as u64) % NODES;
        let zone = ["a", "b", "c"][(node % 3) as usize];
        let m = b.mark();
        b.lit("service.name", s.name);
        b.lit("service.version", s.version);
        b.lit("service.namespace", "opentelemetry-demo");
        b.with("service.instance.id", |t| {
            uuid_into(t, h, h.rotate_left(17))
        });
        b.with("host.name", |t| {
            t.push_str("ip-10-0-");
            push_u64(t, 16 + node);
            t.push('-');
            push_u64(t, 10 + node * 7);
            t.push_str(".eu-west-1.compute.internal");
        });
        b.lit("host.arch", "amd64");
        b.lit("os.type", "linux");
        b.lit("telemetry.sdk.name", "opentelemetry");
        b.lit("telemetry.sdk.language", s.lang.name);
        b.lit("telemetry.sdk.version", s.lang.sdk_version);
        b.lit("cloud.provider", "aws");
        b.lit("cloud.platform", "aws_eks");
        b.lit("cloud.region", s.region);
        b.with("cloud.availability_zone", |t| {
            t.push_str(s.region);
            t.push_str(zone);
        });
        b.lit("k8s.namespace.name", "otel-demo");
        b.lit("k8s.deployment.name", s.name);
        b.with("k8s.pod.name", |t| pod_name(t, s.name, h));
        b.int("process.pid", 1 + (h >> 20) as i64 % 32_000);
        if let Some((rt, ver)) = s.lang.runtime {
            b.lit("process.runtime.name", rt);
            b.lit("process.runtime.version", ver);
        }
        b.resource = b.since(m);
        b.resource_schema = SCHEMA_URL;
    }

    /// Process start time of a pod (start of its cumulative metrics).
    pub fn pod_start(&self, svc: usize, pod: u32) -> u64 {
        let h = mix64((svc as u64) << 32 | pod as u64 | 0xABCD << 48);
        EPOCH_NS - (600 + h % 86_400) * 1_000_000_000
    }

    /// Appends the bench profile's `card.*` attributes.
    #[inline]
    pub fn card_attrs(&mut self, b: &mut Batch) {
        for &(key, n) in CARD_KEYS {
            let v = self.rng.below(n);
            b.with(key, |t| {
                t.push('v');
                push_u64(t, v);
            });
        }
    }

    // --- value pools: each writes one value into `t` -----------------------

    /// A user id `user-N`, N skewed over `0..USERS` (or uniform over the demo
    /// profile's million users when `exploding`).
    pub fn w_user(&mut self, t: &mut String, exploding: bool) {
        let n = if exploding {
            self.rng.below(DEMO_USERS)
        } else {
            self.rng.skewed(USERS)
        };
        t.push_str("user-");
        push_u64(t, n);
    }

    pub fn w_session(&mut self, t: &mut String) {
        push_hex(t, mix64(self.rng.below(SESSIONS) ^ 0x5E55), 16);
    }

    pub fn w_product(&mut self, t: &mut String) {
        let i = self.rng.skewed(PRODUCTS as u64) as usize;
        t.push_str(&self.world.product_ids[i]);
    }

    pub fn w_client_ip(&mut self, t: &mut String) {
        let h = mix64(self.rng.below(CLIENT_IPS) ^ 0x1b);
        ip_into(t, 10, 1 + (h & 0x7f), (h >> 8) & 0xff, 1 + (h >> 16) % 254);
    }

    /// Pod IP of a peer service (50 per peer).
    pub fn w_peer_ip(&mut self, t: &mut String, peer: &str) {
        let h = str_hash(peer);
        let pod = self.rng.below(50);
        ip_into(t, 10, 0, 16 + h % 16, 2 + (pod * 5 + (h >> 8) % 5) % 250);
    }

    pub fn w_uuid(&mut self, t: &mut String) {
        let (a, b) = (self.rng.next_u64(), self.rng.next_u64());
        uuid_into(t, a, b);
    }

    pub fn w_zip(&mut self, t: &mut String) {
        let z = 10_000 + mix64(self.rng.below(ZIPS)) % 89_999;
        push_u64(t, z);
    }

    pub fn w_email(&mut self, t: &mut String) {
        const DOMAINS: &[&str] = &[
            "example.com",
            "example.org",
            "mail.example.net",
            "shop.example",
        ];
        let i = self.rng.below(EMAILS);
        let h = mix64(i ^ 0xE1);
        t.push((b'a' + (h % 26) as u8) as char);
        t.push_str("***");
        push_u64(t, i);
        t.push('@');
        t.push_str(DOMAINS[(h >> 8) as usize % DOMAINS.len()]);
    }

    /// A money amount with two decimals, as a double.
    pub fn amount(&mut self) -> f64 {
        (self.rng.range(199, 250_000) as f64) / 100.0
    }
}

/// A stable 64-bit hash of a string (not for security).
pub fn str_hash(s: &str) -> u64 {
    s.bytes()
        .fold(0x243F_6A88_85A3_08D3, |h, b| mix64(h ^ b as u64))
}

fn ip_into(t: &mut String, a: u64, b: u64, c: u64, d: u64) {
    push_u64(t, a);
    t.push('.');
    push_u64(t, b);
    t.push('.');
    push_u64(t, c);
    t.push('.');
    push_u64(t, d);
}

/// A version-4-shaped UUID from 128 random bits.
pub fn uuid_into(t: &mut String, a: u64, b: u64) {
    push_hex(t, a >> 32, 8);
    t.push('-');
    push_hex(t, (a >> 16) & 0xffff, 4);
    t.push_str("-4");
    push_hex(t, a & 0xfff, 3);
    t.push('-');
    push_hex(t, 0x8000 | (b >> 48) & 0x3fff, 4);
    t.push('-');
    push_hex(t, b & 0xffff_ffff_ffff, 12);
}

/// A Kubernetes pod name: `<deployment>-<replicaset hash>-<suffix>`.
fn pod_name(t: &mut String, service: &str, h: u64) {
    const ALNUM: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    t.push_str(service);
    t.push('-');
    // One replica set per service (its hash depends on the service only).
    let mut r = str_hash(service);
    for _ in 0..10 {
        t.push(ALNUM[(r % 27) as usize] as char);
        r /= 27;
    }
    t.push('-');
    let mut p = h;
    for _ in 0..5 {
        t.push(ALNUM[(p % 27) as usize] as char);
        p /= 27;
    }
}
