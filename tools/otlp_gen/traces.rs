//! Span generation. A request holds the spans of one service pod (one
//! `ResourceSpans`), grouped into one `ScopeSpans` per instrumentation
//! library. Spans come as small local traces: an entry span (server or
//! consumer) followed by 0-4 child spans (client, database, messaging,
//! internal) sharing its trace id and pointing at it as their parent.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};

use crate::engine::{Gen, SCHEMA_URL, kv, kv_arr, kv_b, kv_f, kv_i, kv_s, scope};
use crate::model::{self, App, Op, Scope, Shape};
use crate::truth::{ATTRIBUTE, EVENT, EntityInfo, LINK};

/// W3C "sampled" flag plus the OTLP "parent is_remote known" bits.
const FLAGS_LOCAL: u32 = 0x101;
const FLAGS_REMOTE: u32 = 0x301;

/// Span status codes.
const STATUS_ERROR: i32 = 2;

/// Per-request accumulator: spans grouped by scope, in first-seen order.
struct Scopes {
    names: Vec<&'static str>,
    blocks: Vec<ScopeSpans>,
}

impl Scopes {
    fn push(&mut self, sc: Scope, span: Span) {
        let i = match self.names.iter().position(|n| *n == sc.0) {
            Some(i) => i,
            None => {
                self.names.push(sc.0);
                self.blocks.push(ScopeSpans {
                    scope: Some(scope(sc)),
                    spans: Vec::new(),
                    schema_url: SCHEMA_URL.to_owned(),
                });
                self.blocks.len() - 1
            }
        };
        self.blocks[i].spans.push(span);
    }
}

/// What the caller of [`Gen::span`] decides: identity and timing.
struct SpanIds {
    trace_id: Vec<u8>,
    span_id: Vec<u8>,
    parent: Vec<u8>,
    remote_parent: bool,
    start: u64,
    duration: u64,
}

impl Gen {
    pub fn traces_request(&mut self, svc: usize, pod: u32, n: usize) -> ExportTraceServiceRequest {
        let resource = self.resource(svc, pod);
        let mut scopes = Scopes {
            names: Vec::new(),
            blocks: Vec::new(),
        };
        let mut produced = 0;
        while produced < n {
            let s = &self.svcs[svc];
            let entry = s.entry_ops[self.rng.weighted(&s.entry_weights)];
            let op = &s.def.ops[entry];
            let trace_id = self.rng.id16();
            let entry_id = self.rng.id8();
            // The frontend's server spans are trace roots; every other entry
            // span continues a trace started in another service.
            let is_root = s.def.name == "frontend" && op.kind == model::SERVER;
            let parent = if is_root { Vec::new() } else { self.rng.id8() };
            let start = self.clock;
            let duration = self.rng.latency_ns(median_ms(&op.shape));
            let ids = SpanIds {
                trace_id: trace_id.clone(),
                span_id: entry_id.clone(),
                parent,
                remote_parent: !is_root,
                start,
                duration,
            };
            self.span(svc, entry, ids, &mut scopes);
            produced += 1;

            let s = &self.svcs[svc];
            let children = if s.child_ops.is_empty() {
                0
            } else {
                (self.rng.below(5) as usize).min(n - produced)
            };
            for _ in 0..children {
                let s = &self.svcs[svc];
                let child = s.child_ops[self.rng.weighted(&s.child_weights)];
                let offset = self.rng.below(duration / 2 + 1);
                let d = self
                    .rng
                    .latency_ns(median_ms(&s.def.ops[child].shape))
                    .min(duration - offset);
                let ids = SpanIds {
                    trace_id: trace_id.clone(),
                    span_id: self.rng.id8(),
                    parent: entry_id.clone(),
                    remote_parent: false,
                    start: start + offset,
                    duration: d.max(1_000),
                };
                self.span(svc, child, ids, &mut scopes);
                produced += 1;
            }
            // About 500 local traces per second and pod set.
            self.clock += self.rng.exp(2e6) as u64 + 1;
        }
        self.truth.flush_resource(&resource.attributes);
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(resource),
                scope_spans: scopes.blocks,
                schema_url: SCHEMA_URL.to_owned(),
            }],
        }
    }

    /// Builds one span of operation `op_index` of service `svc`, records it
    /// in the ground truth and adds it to its scope block.
    fn span(&mut self, svc: usize, op_index: usize, ids: SpanIds, scopes: &mut Scopes) {
        let def = self.svcs[svc].def;
        let op = &def.ops[op_index];
        let err_pct = if op.kind == model::SERVER { 3 } else { 2 };
        let err = self.rng.chance(err_pct, 100);
        let mut attrs = Vec::with_capacity(24);
        let (name, status_message) = self.shape_attrs(svc, op, err, &mut attrs);
        for &a in op.app {
            self.app_attr(a, &mut attrs);
        }
        if def.lang.threads {
            let t = if def.lang.name == "java" {
                *self.rng.pick(model::THREADS_JAVA)
            } else {
                *self.rng.pick(model::THREADS_DOTNET)
            };
            attrs.push(kv_s("thread.name", t));
            attrs.push(kv_i("thread.id", 20 + self.rng.below(40) as i64));
        }
        if self.bench() {
            self.card_attrs(&mut attrs);
        }

        // Events: every error has an exception event; overall about one
        // span in five has an event.
        let mut events = Vec::new();
        if err || self.rng.chance(17, 100) {
            let t = ids.start + self.rng.below(ids.duration);
            let rpc = matches!(op.shape, Shape::RpcServer { .. } | Shape::RpcClient { .. });
            events.push(if err {
                self.exception_event(def, t, true)
            } else if rpc && self.rng.chance(1, 3) {
                self.message_event(t)
            } else if self.rng.chance(1, 2) {
                self.retry_event(t)
            } else {
                self.exception_event(def, t, false)
            });
        }
        // One span in twenty links to another trace.
        let mut links = Vec::new();
        if self.rng.chance(1, 20) {
            let mut la = vec![kv_s("opentracing.ref_type", "follows_from")];
            if matches!(op.shape, Shape::Consume { .. }) {
                la.push(kv_s("messaging.destination.name", "orders"));
            } else {
                let peer = self.rng.pick(model::SERVICES).name;
                la.push(kv_s("app.link.origin", peer));
            }
            links.push(span::Link {
                trace_id: self.rng.id16(),
                span_id: self.rng.id8(),
                trace_state: String::new(),
                attributes: la,
                dropped_attributes_count: 0,
                flags: FLAGS_REMOTE,
            });
        }

        let span = Span {
            trace_id: ids.trace_id,
            span_id: ids.span_id,
            trace_state: String::new(),
            parent_span_id: ids.parent,
            flags: if ids.remote_parent {
                FLAGS_REMOTE
            } else {
                FLAGS_LOCAL
            },
            name,
            kind: op.kind,
            start_time_unix_nano: ids.start,
            end_time_unix_nano: ids.start + ids.duration,
            attributes: attrs,
            dropped_attributes_count: 0,
            events,
            dropped_events_count: 0,
            links,
            dropped_links_count: 0,
            status: err.then(|| Status {
                message: status_message,
                code: STATUS_ERROR,
            }),
        };

        // Ground truth.
        let t = &mut self.truth;
        let e = t.entity(&span.name, EntityInfo::Span);
        t.record(e, svc, kind_name(span.kind));
        t.attrs(e, ATTRIBUTE, &span.attributes);
        for ev in &span.events {
            t.attrs(e, EVENT, &ev.attributes);
        }
        for l in &span.links {
            t.attrs(e, LINK, &l.attributes);
        }

        let sc = op_scope(def, op);
        scopes.push(sc, span);
    }

    /// Semantic-convention attributes of the operation's shape. Returns the
    /// span name and the status message used if the span failed.
    fn shape_attrs(
        &mut self,
        svc: usize,
        op: &Op,
        err: bool,
        a: &mut Vec<KeyValue>,
    ) -> (String, String) {
        let def = self.svcs[svc].def;
        let legacy = def.legacy;
        let edge = def.name == "frontend" || def.name == "image-provider";
        match op.shape {
            Shape::HttpServer { method, route } => {
                let status = self.http_status(method, err);
                let path = self.fill_route(route);
                if legacy {
                    a.push(kv_s("http.method", method));
                    a.push(kv_s("http.route", route));
                    a.push(kv("http.target", path));
                    a.push(kv_s("http.scheme", "http"));
                    a.push(kv_s("net.host.name", def.name));
                    a.push(kv_i("net.host.port", def.port));
                    a.push(kv_i("http.status_code", status));
                    a.push(kv_s("http.flavor", "1.1"));
                    let ip = self.peer_ip("shipping");
                    a.push(kv("net.sock.peer.addr", ip));
                    if method == "POST" {
                        a.push(kv_i(
                            "http.request_content_length",
                            self.rng.range(80, 4_000),
                        ));
                    }
                } else {
                    a.push(kv_s("http.request.method", method));
                    a.push(kv_s("http.route", route));
                    a.push(kv("url.path", path));
                    a.push(kv_s("url.scheme", "http"));
                    a.push(kv_s("server.address", def.name));
                    a.push(kv_i("server.port", def.port));
                    a.push(kv_i("http.response.status_code", status));
                    a.push(kv_s(
                        "network.protocol.version",
                        if self.rng.chance(1, 4) { "2" } else { "1.1" },
                    ));
                    let ip = if edge {
                        self.client_ip()
                    } else {
                        self.peer_ip("frontend")
                    };
                    a.push(kv("client.address", ip));
                    if method == "POST" {
                        a.push(kv_i("http.request.body.size", self.rng.range(80, 4_000)));
                    }
                }
                if edge {
                    let ua = *self.rng.pick(model::USER_AGENTS);
                    a.push(kv_s("user_agent.original", ua));
                }
                if def.name == "frontend" {
                    let sid = self.session_id();
                    a.push(kv("session.id", sid));
                    if self.rng.chance(1, 10) {
                        a.push(kv_arr(
                            "http.request.header.accept",
                            vec!["application/json".into(), "text/plain".into(), "*/*".into()],
                        ));
                    }
                }
                (op.name.to_owned(), String::new())
            }
            Shape::UserPage => {
                // Demo profile: the raw URL in the span name (no route).
                let user = self.rng.below(crate::engine::DEMO_USERS);
                let status = self.http_status("GET", err);
                let path = format!("/users/{user}");
                a.push(kv_s("http.request.method", "GET"));
                a.push(kv("url.path", path.clone()));
                a.push(kv_s("url.scheme", "http"));
                a.push(kv_s("server.address", def.name));
                a.push(kv_i("server.port", def.port));
                a.push(kv_i("http.response.status_code", status));
                let ip = self.client_ip();
                a.push(kv("client.address", ip));
                let ua = *self.rng.pick(model::USER_AGENTS);
                a.push(kv_s("user_agent.original", ua));
                let sid = self.session_id();
                a.push(kv("session.id", sid));
                (format!("GET {path}"), String::new())
            }
            Shape::HttpClient {
                method,
                peer,
                port,
                path,
            } => {
                let status: i64 = if err { 503 } else { 200 };
                let url = format!("http://{peer}:{port}{path}");
                if legacy {
                    a.push(kv_s("http.method", method));
                    a.push(kv("http.url", url));
                    a.push(kv_s("net.peer.name", peer));
                    a.push(kv_i("net.peer.port", port));
                    a.push(kv_i("http.status_code", status));
                } else {
                    a.push(kv_s("http.request.method", method));
                    a.push(kv("url.full", url));
                    a.push(kv_s("server.address", peer));
                    a.push(kv_i("server.port", port));
                    a.push(kv_i("http.response.status_code", status));
                    let ip = self.peer_ip(peer);
                    a.push(kv("network.peer.address", ip));
                    if err && self.rng.chance(1, 2) {
                        a.push(kv_i("http.request.resend_count", self.rng.range(1, 3)));
                    }
                }
                if err {
                    a.push(kv_s("error.type", "503"));
                }
                (
                    op.name.to_owned(),
                    if err {
                        "Service Unavailable".to_owned()
                    } else {
                        String::new()
                    },
                )
            }
            Shape::RpcServer { service, method }
            | Shape::RpcClient {
                service, method, ..
            } => {
                let code: i64 = if err { *self.rng.pick(&[2, 13, 14]) } else { 0 };
                a.push(kv_s("rpc.system", "grpc"));
                a.push(kv_s("rpc.service", service));
                a.push(kv_s("rpc.method", method));
                a.push(kv_i("rpc.grpc.status_code", code));
                if let Shape::RpcClient { peer, port, .. } = op.shape {
                    a.push(kv_s("server.address", peer));
                    a.push(kv_i("server.port", port));
                    let ip = self.peer_ip(peer);
                    a.push(kv("network.peer.address", ip));
                } else {
                    a.push(kv_s("server.address", def.name));
                    a.push(kv_i("server.port", def.port));
                    let ip = self.peer_ip("frontend");
                    a.push(kv("network.peer.address", ip));
                    a.push(kv_i("network.peer.port", self.rng.range(32_768, 60_999)));
                }
                let msg = match code {
                    2 => "UNKNOWN: unexpected error",
                    13 => "INTERNAL: failed to process request",
                    14 => "UNAVAILABLE: connection refused",
                    _ => "",
                };
                (op.name.to_owned(), msg.to_owned())
            }
            Shape::Db {
                system,
                op: dbop,
                table,
                query,
                peer,
                port,
            } => {
                // The Java agent and .NET keep the pre-1.26 database names.
                let old = matches!(def.lang.name, "java" | "dotnet");
                if old {
                    a.push(kv_s("db.system", system));
                    a.push(kv_s(
                        "db.name",
                        if system == "redis" { "0" } else { "otel" },
                    ));
                    a.push(kv_s("db.operation", dbop));
                    if !table.is_empty() {
                        a.push(kv_s("db.sql.table", table));
                    }
                    a.push(kv_s("db.statement", query));
                    a.push(kv_s("net.peer.name", peer));
                    a.push(kv_i("net.peer.port", port));
                } else {
                    a.push(kv_s("db.system.name", system));
                    a.push(kv_s(
                        "db.namespace",
                        if system == "redis" { "0" } else { "otel" },
                    ));
                    a.push(kv_s("db.operation.name", dbop));
                    if !table.is_empty() {
                        a.push(kv_s("db.collection.name", table));
                    }
                    a.push(kv_s("db.query.text", query));
                    a.push(kv_s("server.address", peer));
                    a.push(kv_i("server.port", port));
                    if dbop == "SELECT" {
                        a.push(kv_i("db.response.returned_rows", self.rng.range(0, 25)));
                    }
                }
                let ip = self.peer_ip(peer);
                a.push(kv("network.peer.address", ip));
                if err {
                    a.push(kv_s(
                        "error.type",
                        if system == "redis" {
                            "RedisTimeoutException"
                        } else {
                            "57014"
                        },
                    ));
                }
                (
                    op.name.to_owned(),
                    if err {
                        "canceling statement due to statement timeout".to_owned()
                    } else {
                        String::new()
                    },
                )
            }
            Shape::Produce { dest } | Shape::Consume { dest, .. } => {
                let consume = matches!(op.shape, Shape::Consume { .. });
                a.push(kv_s("messaging.system", "kafka"));
                a.push(kv_s("messaging.destination.name", dest));
                a.push(kv_s(
                    "messaging.operation.type",
                    if consume { "process" } else { "send" },
                ));
                a.push(kv_s(
                    "messaging.operation.name",
                    if consume { "process" } else { "send" },
                ));
                let partition = self.rng.below(6);
                a.push(kv_s(
                    "messaging.destination.partition.id",
                    ["0", "1", "2", "3", "4", "5"][partition as usize],
                ));
                let key = self.uuid();
                a.push(kv("messaging.kafka.message.key", key));
                a.push(kv_i(
                    "messaging.message.body.size",
                    self.rng.range(180, 2_400),
                ));
                a.push(kv_s("server.address", "kafka"));
                a.push(kv_i("server.port", 9092));
                if let Shape::Consume { group, .. } = op.shape {
                    a.push(kv_s("messaging.consumer.group.name", group));
                    self.kafka_offset += 1 + self.rng.below(3);
                    a.push(kv_i("messaging.kafka.offset", self.kafka_offset as i64));
                } else {
                    let client = format!("{}-producer-{}", def.name, self.rng.below(4));
                    a.push(kv("messaging.client.id", client));
                }
                (
                    op.name.to_owned(),
                    if err {
                        "kafka: client has run out of available brokers".to_owned()
                    } else {
                        String::new()
                    },
                )
            }
            Shape::Internal => (
                op.name.to_owned(),
                if err {
                    "operation failed".to_owned()
                } else {
                    String::new()
                },
            ),
        }
    }

    fn http_status(&mut self, method: &str, err: bool) -> i64 {
        if err {
            *self.rng.pick(&[500, 502, 503])
        } else if self.rng.chance(4, 100) {
            404
        } else if method == "POST" {
            if self.rng.chance(1, 5) { 201 } else { 200 }
        } else if self.rng.chance(3, 100) {
            304
        } else {
            200
        }
    }

    /// Fills the `{...}` segments of an HTTP route with generated values.
    fn fill_route(&mut self, route: &str) -> String {
        let mut out = String::with_capacity(route.len() + 16);
        let mut rest = route;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let close = open + rest[open..].find('}').expect("balanced route");
            match &rest[open + 1..close] {
                "productId" => out.push_str(&self.product_id()),
                "image" => {
                    out.push_str(&self.product_id());
                    out.push_str(".jpg");
                }
                _ => out.push_str(&self.rng.below(100_000).to_string()),
            }
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
        out
    }

    fn app_attr(&mut self, a: App, out: &mut Vec<KeyValue>) {
        match a {
            App::ProductId => {
                let p = self.product_id();
                out.push(kv("app.product.id", p));
            }
            App::UserId => {
                let u = self.user_id(false);
                out.push(kv("user.id", u));
            }
            App::Currency => {
                let c = *self.rng.pick(model::CURRENCIES_SHORT);
                out.push(kv_s("app.user.currency", c));
            }
            App::CartItems => out.push(kv_i("app.cart.items.count", self.rng.range(0, 12))),
            App::OrderId => {
                let id = self.uuid();
                out.push(kv("app.order.id", id));
            }
            App::OrderAmount => {
                let x = self.amount();
                out.push(kv_f("app.order.amount", x));
            }
            App::OrderItems => out.push(kv_i("app.order.items.count", self.rng.range(1, 10))),
            App::CardType => {
                let c = *self.rng.pick(model::CARD_TYPES);
                out.push(kv_s("app.payment.card_type", c));
            }
            App::CardValid => out.push(kv_b("app.payment.card_valid", !self.rng.chance(1, 50))),
            App::Loyalty => {
                let l = *self.rng.pick(model::LOYALTY);
                out.push(kv_s("app.loyalty.level", l));
            }
            App::ShippingZip => {
                let z = self.zip();
                out.push(kv("app.shipping.zip_code", z));
            }
            App::ShippingCost => {
                let x = self.rng.range(399, 4_999) as f64 / 100.0;
                out.push(kv_f("app.shipping.cost.total", x));
            }
            App::TrackingId => {
                let id = self.uuid();
                out.push(kv("app.shipping.tracking.id", id));
            }
            App::RecProducts => {
                let ids = (0..5).map(|_| self.product_id()).collect();
                out.push(kv_arr("app.recommendation.product_ids", ids));
                out.push(kv_i("app.products_recommended.count", 5));
            }
            App::RecCache => out.push(kv_b(
                "app.recommendation.cache_enabled",
                self.rng.chance(1, 3),
            )),
            App::AdCategory => {
                let c = *self.rng.pick(model::AD_CATEGORIES);
                out.push(kv_s("app.ads.category", c));
            }
            App::AdType => {
                let t = if self.rng.chance(1, 2) {
                    "targeted"
                } else {
                    "random"
                };
                out.push(kv_s("app.ads.ad_response_type", t));
            }
            App::QuoteItems => out.push(kv_i("app.quote.items.count", self.rng.range(1, 10))),
            App::QuoteCost => {
                let x = self.rng.range(399, 4_999) as f64 / 100.0;
                out.push(kv_f("app.quote.cost.total", x));
            }
            App::FraudScore => {
                let x = self.rng.unit().powi(4);
                out.push(kv_f("app.fraud.score", x));
            }
            App::FraudFlag => out.push(kv_b("app.fraud.flagged", self.rng.chance(1, 40))),
            App::EmailTo => {
                let e = self.email();
                out.push(kv("app.email.recipient", e));
            }
            App::FeatureFlag => {
                let f = *self.rng.pick(model::FLAGS);
                out.push(kv_s("feature_flag.key", f));
                let v = if self.rng.chance(1, 10) { "on" } else { "off" };
                out.push(kv_s("feature_flag.variant", v));
            }
            App::ImageSize => out.push(kv_i("app.image.size", self.rng.range(20_000, 900_000))),
            App::ConvFrom => {
                let c = *self.rng.pick(model::CURRENCIES);
                out.push(kv_s("app.currency.conversion.from", c));
            }
            App::ConvTo => {
                let c = *self.rng.pick(model::CURRENCIES);
                out.push(kv_s("app.currency.conversion.to", c));
            }
            App::ProductsCount => out.push(kv_i("app.products.count", self.rng.range(1, 1_000))),
        }
    }

    fn exception_event(&mut self, def: &model::Service, t: u64, escaped: bool) -> span::Event {
        let java = def.lang.name == "java";
        let (ty, msg) = if java {
            *self.rng.pick(model::EXCEPTIONS_JAVA)
        } else {
            *self.rng.pick(model::EXCEPTIONS_OTHER)
        };
        let line = 40 + self.rng.below(400);
        let stack = if java {
            format!(
                "{ty}: {msg}\n\tat oteldemo.{svc}.Handler.handle(Handler.java:{line})\n\tat io.grpc.stub.ServerCalls$UnaryServerCallHandler$UnaryServerCallListener.onHalfClose(ServerCalls.java:182)\n\tat java.base/java.lang.Thread.run(Thread.java:1583)",
                svc = def.name.replace('-', "")
            )
        } else {
            format!(
                "{ty}: {msg}\n    at handler ({svc}/src/server.{ext}:{line}:17)\n    at process (node:internal/process/task_queues:105:5)",
                svc = def.name,
                ext = def.lang.ext
            )
        };
        let mut attributes = vec![
            kv_s("exception.type", ty),
            kv_s("exception.message", msg),
            kv("exception.stacktrace", stack),
        ];
        if escaped {
            attributes.push(kv_b("exception.escaped", true));
        }
        span::Event {
            time_unix_nano: t,
            name: "exception".to_owned(),
            attributes,
            dropped_attributes_count: 0,
        }
    }

    fn retry_event(&mut self, t: u64) -> span::Event {
        let attempt = self.rng.range(1, 4);
        span::Event {
            time_unix_nano: t,
            name: "retry".to_owned(),
            attributes: vec![
                kv_i("retry.attempt", attempt),
                kv_f("retry.delay", 0.1 * (1 << attempt) as f64),
                kv_s(
                    "error.type",
                    *self
                        .rng
                        .pick(&["timeout", "connection_reset", "unavailable"]),
                ),
            ],
            dropped_attributes_count: 0,
        }
    }

    fn message_event(&mut self, t: u64) -> span::Event {
        span::Event {
            time_unix_nano: t,
            name: "message".to_owned(),
            attributes: vec![
                kv_s(
                    "message.type",
                    if self.rng.chance(1, 2) {
                        "SENT"
                    } else {
                        "RECEIVED"
                    },
                ),
                kv_i("message.id", 1),
                kv_i("message.uncompressed_size", self.rng.range(16, 4_096)),
            ],
            dropped_attributes_count: 0,
        }
    }
}

/// Median duration of an operation, in milliseconds.
fn median_ms(shape: &Shape) -> f64 {
    match shape {
        Shape::HttpServer { .. } | Shape::UserPage => 40.0,
        Shape::RpcServer { .. } => 15.0,
        Shape::HttpClient { .. } | Shape::RpcClient { .. } => 8.0,
        Shape::Db {
            system: "redis", ..
        } => 0.5,
        Shape::Db { .. } => 2.0,
        Shape::Produce { .. } => 1.0,
        Shape::Consume { .. } => 5.0,
        Shape::Internal => 3.0,
    }
}

/// The instrumentation scope that reports an operation.
fn op_scope(def: &'static model::Service, op: &Op) -> Scope {
    let l = def.lang;
    match op.shape {
        Shape::HttpServer { .. } | Shape::UserPage => l.http_server,
        Shape::HttpClient { .. } => l.http_client,
        Shape::RpcServer { .. } | Shape::RpcClient { .. } => l.rpc,
        Shape::Db { .. } => l.db,
        Shape::Produce { .. } | Shape::Consume { .. } => l.messaging,
        Shape::Internal => (def.name, def.version),
    }
}

/// OTLP span kind names (as otelcat reports them).
pub fn kind_name(kind: i32) -> &'static str {
    match kind {
        1 => "Internal",
        2 => "Server",
        3 => "Client",
        4 => "Producer",
        5 => "Consumer",
        _ => "Unspecified",
    }
}
