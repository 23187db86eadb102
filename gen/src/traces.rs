//! Span generation. A request holds the spans of one service pod (one
//! `ResourceSpans`), grouped into one `ScopeSpans` per instrumentation
//! library. Spans come as small local traces: an entry span (server or
//! consumer) followed by 0-4 child spans (client, database, messaging,
//! internal) sharing its trace id and pointing at it as their parent.

use crate::engine::{DEMO_USERS, Gen, SCHEMA_URL};
use crate::model::{self, App, Op, Scope, Service, Shape};
use crate::rec::{Batch, EventRec, LinkRec, Rg, SpanRec, Val, push_u64};
use crate::truth::{ATTRIBUTE, EVENT, EntityInfo, LINK};

/// W3C "sampled" flag plus the OTLP "parent is_remote known" bits.
const FLAGS_LOCAL: u32 = 0x101;
const FLAGS_REMOTE: u32 = 0x301;

/// Span status code ERROR.
const STATUS_ERROR: i32 = 2;

/// Identity and timing of a span, decided by the caller of [`Gen::span`].
struct SpanIds {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    parent: Option<[u8; 8]>,
    remote_parent: bool,
    start: u64,
    duration: u64,
}

impl Gen {
    pub fn traces_request(&mut self, b: &mut Batch, svc: usize, n: usize) {
        b.scope_schema = SCHEMA_URL;
        let mut produced = 0;
        while produced < n {
            let s = &self.svcs[svc];
            let def = s.def;
            let entry = s.entry_ops[self.rng.weighted(&s.entry_weights)];
            let op = &def.ops[entry];
            let trace_id = self.id16();
            let entry_id = self.id8();
            // The frontend's server spans are trace roots; every other entry
            // span continues a trace started in another service.
            let is_root = def.name == "frontend" && op.kind == model::SERVER;
            let parent = if is_root { None } else { Some(self.id8()) };
            let start = self.clock;
            let duration = self.rng.latency_ns(median_ms(&op.shape));
            let ids = SpanIds {
                trace_id,
                span_id: entry_id,
                parent,
                remote_parent: !is_root,
                start,
                duration,
            };
            self.span(b, svc, entry, ids);
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
                    trace_id,
                    span_id: self.id8(),
                    parent: Some(entry_id),
                    remote_parent: false,
                    start: start + offset,
                    duration: d.max(1_000),
                };
                self.span(b, svc, child, ids);
                produced += 1;
            }
            // About 500 local traces per second.
            self.clock += (self.rng.exp(2e6) as u64 + 1) * self.cfg.time_scale;
        }
    }

    /// A random trace id (never all zero).
    pub fn id16(&mut self) -> [u8; 16] {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&(self.rng.next_u64() | 1).to_be_bytes());
        id[8..].copy_from_slice(&self.rng.next_u64().to_be_bytes());
        id
    }

    /// A random span id (never all zero).
    pub fn id8(&mut self) -> [u8; 8] {
        (self.rng.next_u64() | 1).to_be_bytes()
    }

    /// Builds one span of operation `op_index` of service `svc` into `b` and
    /// records it in the ground truth.
    fn span(&mut self, b: &mut Batch, svc: usize, op_index: usize, ids: SpanIds) {
        let def = self.svcs[svc].def;
        let op = &def.ops[op_index];
        let err_pct = if op.kind == model::SERVER { 3 } else { 2 };
        let err = self.rng.chance(err_pct, 100);
        let m = b.mark();
        let (name, status_message) = self.shape_attrs(b, def, op, err);
        for &a in op.app {
            self.app_attr(b, a);
        }
        if self.demo() && def.name == "cart" && ids.span_id[7] & 2 == 0 {
            // Demo: a key-name explosion (issue 16): half of the cart
            // service's spans carry `cart.item.<n>.quantity`, n one of
            // 20 000 taken from the span id (no random draw: the rest of the
            // demo is unchanged).
            let n = u64::from_be_bytes(ids.span_id) >> 8;
            b.int(cart_item_key(n % CART_ITEMS), (n % 7 + 1) as i64);
        }
        if self.demo() && def.name == "checkout" {
            // Demo: checkout's own code adds the user id again, as user_id
            // beside the SDK's user.id (no random draw: the same value).
            if let Some(v) = b.attrs_of(b.since(m)).iter().find(|a| a.key == "user.id") {
                let v = v.val;
                b.push("user_id", v);
            }
        }
        if self.demo() && def.name == "checkout" && self.remaining < self.cfg.records / 2 {
            // Demo: halfway through the run a release of checkout starts
            // sending each cart's session token (a fresh value per span, no
            // random draw): a key that starts exploding halfway through the
            // day (docs/catalog.md "History").
            self.exploding += 1;
            let n = self.exploding;
            let v = b.str_val(|s| {
                s.push_str("cst-");
                push_u64(s, n);
            });
            b.push("cart.session_token", v);
        }
        if def.lang.threads {
            thread_attrs(self, b, def);
        }
        if self.bench() {
            self.card_attrs(b);
        }
        let attrs = b.since(m);

        // Events: every error has an exception event; overall about one
        // span in five has an event.
        let ev_start = b.events.len() as u32;
        if err || self.rng.chance(17, 100) {
            let t = ids.start + self.rng.below(ids.duration);
            let rpc = matches!(op.shape, Shape::RpcServer { .. } | Shape::RpcClient { .. });
            let m = b.mark();
            let name = if err {
                self.exception_event(b, def, true)
            } else if rpc && self.rng.chance(1, 3) {
                self.message_event(b)
            } else if self.rng.chance(1, 2) {
                self.retry_event(b)
            } else {
                self.exception_event(b, def, false)
            };
            let attrs = b.since(m);
            b.events.push(EventRec {
                time: t,
                name,
                attrs,
            });
        }
        let events = Rg(ev_start, b.events.len() as u32);

        // One span in twenty links to another trace.
        let link_start = b.links.len() as u32;
        if self.rng.chance(1, 20) {
            let m = b.mark();
            b.lit("opentracing.ref_type", "follows_from");
            if matches!(op.shape, Shape::Consume { .. }) {
                b.lit("messaging.destination.name", "orders");
            } else {
                let peer = self.rng.pick(model::SERVICES).name;
                b.lit("app.link.origin", peer);
            }
            let attrs = b.since(m);
            let trace_id = self.id16();
            let span_id = self.id8();
            b.links.push(LinkRec {
                trace_id,
                span_id,
                attrs,
                flags: FLAGS_REMOTE,
            });
        }
        let links = Rg(link_start, b.links.len() as u32);

        // Ground truth.
        let t = &mut self.truth;
        let e = t.entity(b.str_of(&name), EntityInfo::Span);
        t.record(e, svc, kind_name(op.kind));
        t.attrs(e, ATTRIBUTE, b.attrs_of(attrs), b);
        for ev in &b.events[events.range()] {
            t.attrs(e, EVENT, b.attrs_of(ev.attrs), b);
        }
        for l in &b.links[links.range()] {
            t.attrs(e, LINK, b.attrs_of(l.attrs), b);
        }

        let scope = b.scope(op_scope(def, op));
        b.spans.push(SpanRec {
            trace_id: ids.trace_id,
            span_id: ids.span_id,
            parent: ids.parent,
            flags: if ids.remote_parent {
                FLAGS_REMOTE
            } else {
                FLAGS_LOCAL
            },
            name,
            kind: op.kind,
            start: ids.start,
            end: ids.start + ids.duration,
            attrs,
            events,
            links,
            status: err.then_some((STATUS_ERROR, status_message)),
            scope,
        });
    }

    /// Semantic-convention attributes of the operation's shape. Returns the
    /// span name and the status message used if the span failed.
    fn shape_attrs(
        &mut self,
        b: &mut Batch,
        def: &'static Service,
        op: &'static Op,
        err: bool,
    ) -> (Val, &'static str) {
        let legacy = def.legacy;
        let edge = def.name == "frontend" || def.name == "image-provider";
        match op.shape {
            Shape::HttpServer { method, route } => {
                let status = self.http_status(method, err);
                if legacy {
                    b.lit("http.method", method);
                    b.lit("http.route", route);
                    b.with("http.target", |t| self.fill_route(t, route));
                    b.lit("http.scheme", "http");
                    b.lit("net.host.name", def.name);
                    b.int("net.host.port", def.port);
                    if self.demo() && def.name == "quote" {
                        // Demo: the PHP service puts the status line where
                        // the code belongs, a string for an int attribute.
                        b.lit("http.status_code", status_line(status));
                    } else {
                        b.int("http.status_code", status);
                    }
                    b.lit("http.flavor", "1.1");
                    b.with("net.sock.peer.addr", |t| self.w_peer_ip(t, "shipping"));
                    if method == "POST" {
                        b.int("http.request_content_length", self.rng.range(80, 4_000));
                    }
                } else {
                    b.lit("http.request.method", method);
                    b.lit("http.route", route);
                    b.with("url.path", |t| self.fill_route(t, route));
                    b.lit("url.scheme", "http");
                    b.lit("server.address", def.name);
                    b.int("server.port", def.port);
                    if self.demo() && def.name == "shipping" {
                        // Demo: a hand-written middleware misspells the key.
                        b.int("http.reponse.status_code", status);
                    } else {
                        b.int("http.response.status_code", status);
                    }
                    let proto = if self.rng.chance(1, 4) { "2" } else { "1.1" };
                    b.lit("network.protocol.version", proto);
                    if edge {
                        b.with("client.address", |t| self.w_client_ip(t));
                    } else {
                        b.with("client.address", |t| self.w_peer_ip(t, "frontend"));
                    }
                    if method == "POST" {
                        b.int("http.request.body.size", self.rng.range(80, 4_000));
                    }
                }
                if edge {
                    b.lit("user_agent.original", *self.rng.pick(model::USER_AGENTS));
                }
                if def.name == "frontend" {
                    b.with("session.id", |t| self.w_session(t));
                    if self.rng.chance(1, 10) {
                        b.lit_array(
                            "http.request.header.accept",
                            &["application/json", "text/plain", "*/*"],
                        );
                    }
                }
                (Val::Lit(op.name), "")
            }
            Shape::UserPage => {
                // Demo profile: the raw URL in the span name (no route).
                let user = self.rng.below(DEMO_USERS);
                let status = self.http_status("GET", err);
                let name = b.str_val(|t| {
                    t.push_str("GET /users/");
                    push_u64(t, user);
                });
                b.lit("http.request.method", "GET");
                b.with("url.path", |t| {
                    t.push_str("/users/");
                    push_u64(t, user);
                });
                b.lit("url.scheme", "http");
                b.lit("server.address", def.name);
                b.int("server.port", def.port);
                b.int("http.response.status_code", status);
                b.with("client.address", |t| self.w_client_ip(t));
                b.lit("user_agent.original", *self.rng.pick(model::USER_AGENTS));
                b.with("session.id", |t| self.w_session(t));
                (name, "")
            }
            Shape::HttpClient {
                method,
                peer,
                port,
                path,
            } => {
                let status: i64 = if err { 503 } else { 200 };
                let url = |t: &mut String| {
                    t.push_str("http://");
                    t.push_str(peer);
                    t.push(':');
                    push_u64(t, port as u64);
                    t.push_str(path);
                };
                if legacy {
                    b.lit("http.method", method);
                    b.with("http.url", url);
                    b.lit("net.peer.name", peer);
                    b.int("net.peer.port", port);
                    b.int("http.status_code", status);
                } else {
                    b.lit("http.request.method", method);
                    b.with("url.full", url);
                    b.lit("server.address", peer);
                    b.int("server.port", port);
                    b.int("http.response.status_code", status);
                    b.with("network.peer.address", |t| self.w_peer_ip(t, peer));
                    if err && self.rng.chance(1, 2) {
                        b.int("http.request.resend_count", self.rng.range(1, 3));
                    }
                }
                if err {
                    b.lit("error.type", "503");
                }
                (Val::Lit(op.name), "Service Unavailable")
            }
            Shape::RpcServer { service, method }
            | Shape::RpcClient {
                service, method, ..
            } => {
                let code: i64 = if err { *self.rng.pick(&[2, 13, 14]) } else { 0 };
                b.lit("rpc.system", "grpc");
                b.lit("rpc.service", service);
                b.lit("rpc.method", method);
                b.int("rpc.grpc.status_code", code);
                if let Shape::RpcClient { peer, port, .. } = op.shape {
                    b.lit("server.address", peer);
                    b.int("server.port", port);
                    b.with("network.peer.address", |t| self.w_peer_ip(t, peer));
                } else {
                    b.lit("server.address", def.name);
                    b.int("server.port", def.port);
                    b.with("network.peer.address", |t| self.w_peer_ip(t, "frontend"));
                    b.int("network.peer.port", self.rng.range(32_768, 60_999));
                }
                let msg = match code {
                    2 => "UNKNOWN: unexpected error",
                    13 => "INTERNAL: failed to process request",
                    14 => "UNAVAILABLE: connection refused",
                    _ => "",
                };
                (Val::Lit(op.name), msg)
            }
            Shape::Db {
                system,
                op: dbop,
                table,
                query,
                peer,
                port,
            } => {
                let namespace = if system == "redis" { "0" } else { "otel" };
                // The Java agent and .NET keep the pre-1.26 database names.
                if matches!(def.lang.name, "java" | "dotnet") {
                    b.lit("db.system", system);
                    b.lit("db.name", namespace);
                    b.lit("db.operation", dbop);
                    if !table.is_empty() {
                        b.lit("db.sql.table", table);
                    }
                    b.lit("db.statement", query);
                    b.lit("net.peer.name", peer);
                    b.int("net.peer.port", port);
                } else {
                    b.lit("db.system.name", system);
                    b.lit("db.namespace", namespace);
                    b.lit("db.operation.name", dbop);
                    if !table.is_empty() {
                        b.lit("db.collection.name", table);
                    }
                    b.lit("db.query.text", query);
                    b.lit("server.address", peer);
                    b.int("server.port", port);
                    if dbop == "SELECT" {
                        b.int("db.response.returned_rows", self.rng.range(0, 25));
                    }
                }
                b.with("network.peer.address", |t| self.w_peer_ip(t, peer));
                if err {
                    let ty = if system == "redis" {
                        "RedisTimeoutException"
                    } else {
                        "57014"
                    };
                    b.lit("error.type", ty);
                }
                (
                    Val::Lit(op.name),
                    "canceling statement due to statement timeout",
                )
            }
            Shape::Produce { dest } | Shape::Consume { dest, .. } => {
                let consume = matches!(op.shape, Shape::Consume { .. });
                let operation = if consume { "process" } else { "send" };
                b.lit("messaging.system", "kafka");
                b.lit("messaging.destination.name", dest);
                b.lit("messaging.operation.type", operation);
                b.lit("messaging.operation.name", operation);
                let partition = ["0", "1", "2", "3", "4", "5"][self.rng.index(6)];
                b.lit("messaging.destination.partition.id", partition);
                b.with("messaging.kafka.message.key", |t| self.w_uuid(t));
                b.int("messaging.message.body.size", self.rng.range(180, 2_400));
                b.lit("server.address", "kafka");
                b.int("server.port", 9092);
                if let Shape::Consume { group, .. } = op.shape {
                    b.lit("messaging.consumer.group.name", group);
                    self.kafka_offset += 1 + self.rng.below(3);
                    b.int("messaging.kafka.offset", self.kafka_offset as i64);
                } else {
                    let k = self.rng.below(4);
                    b.with("messaging.client.id", |t| {
                        t.push_str(def.name);
                        t.push_str("-producer-");
                        push_u64(t, k);
                    });
                }
                (
                    Val::Lit(op.name),
                    "kafka: client has run out of available brokers",
                )
            }
            Shape::Internal => (Val::Lit(op.name), "operation failed"),
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

    /// Writes an HTTP route with its `{...}` segments filled in.
    fn fill_route(&mut self, t: &mut String, route: &str) {
        let mut rest = route;
        while let Some(open) = rest.find('{') {
            t.push_str(&rest[..open]);
            let close = open + rest[open..].find('}').expect("balanced route");
            match &rest[open + 1..close] {
                "productId" => self.w_product(t),
                "image" => {
                    self.w_product(t);
                    t.push_str(".jpg");
                }
                _ => push_u64(t, self.rng.below(100_000)),
            }
            rest = &rest[close + 1..];
        }
        t.push_str(rest);
    }

    fn app_attr(&mut self, b: &mut Batch, a: App) {
        let r = &mut self.rng;
        match a {
            App::ProductId => b.with("app.product.id", |t| self.w_product(t)),
            App::UserId => b.with("user.id", |t| self.w_user(t, false)),
            App::Currency => b.lit("app.user.currency", *r.pick(model::CURRENCIES_SHORT)),
            App::CartItems => b.int("app.cart.items.count", r.range(0, 12)),
            App::OrderId => b.with("app.order.id", |t| self.w_uuid(t)),
            App::OrderAmount => {
                let x = self.amount();
                b.dbl("app.order.amount", x);
            }
            App::OrderItems => b.int("app.order.items.count", r.range(1, 10)),
            App::CardType => b.lit("app.payment.card_type", *r.pick(model::CARD_TYPES)),
            App::CardValid => b.boolean("app.payment.card_valid", !r.chance(1, 50)),
            App::Loyalty => b.lit("app.loyalty.level", *r.pick(model::LOYALTY)),
            App::ShippingZip => b.with("app.shipping.zip_code", |t| self.w_zip(t)),
            App::ShippingCost => b.dbl(
                "app.shipping.cost.total",
                r.range(399, 4_999) as f64 / 100.0,
            ),
            App::TrackingId => b.with("app.shipping.tracking.id", |t| self.w_uuid(t)),
            App::RecProducts => {
                b.str_array("app.recommendation.product_ids", 5, |t| self.w_product(t));
                b.int("app.products_recommended.count", 5);
            }
            App::RecCache => b.boolean("app.recommendation.cache_enabled", r.chance(1, 3)),
            App::AdCategory => b.lit("app.ads.category", *r.pick(model::AD_CATEGORIES)),
            App::AdType => {
                let t = if r.chance(1, 2) { "targeted" } else { "random" };
                b.lit("app.ads.ad_response_type", t);
            }
            App::QuoteItems => b.int("app.quote.items.count", r.range(1, 10)),
            App::QuoteCost => b.dbl("app.quote.cost.total", r.range(399, 4_999) as f64 / 100.0),
            App::FraudScore => b.dbl("app.fraud.score", r.unit().powi(4)),
            App::FraudFlag => b.boolean("app.fraud.flagged", r.chance(1, 40)),
            App::EmailTo => b.with("app.email.recipient", |t| self.w_email(t)),
            App::FeatureFlag => {
                b.lit("feature_flag.key", *r.pick(model::FLAGS));
                let v = if r.chance(1, 10) { "on" } else { "off" };
                b.lit("feature_flag.variant", v);
            }
            App::ImageSize => b.int("app.image.size", r.range(20_000, 900_000)),
            App::ConvFrom => b.lit("app.currency.conversion.from", *r.pick(model::CURRENCIES)),
            App::ConvTo => b.lit("app.currency.conversion.to", *r.pick(model::CURRENCIES)),
            App::ProductsCount => b.int("app.products.count", r.range(1, 1_000)),
        }
    }

    /// Attributes of an `exception` event; returns the event name.
    fn exception_event(&mut self, b: &mut Batch, def: &Service, escaped: bool) -> &'static str {
        let java = def.lang.name == "java";
        let (ty, msg) = if java {
            *self.rng.pick(model::EXCEPTIONS_JAVA)
        } else {
            *self.rng.pick(model::EXCEPTIONS_OTHER)
        };
        let line = 40 + self.rng.below(400);
        b.lit("exception.type", ty);
        b.lit("exception.message", msg);
        b.with("exception.stacktrace", |t| {
            t.push_str(ty);
            t.push_str(": ");
            t.push_str(msg);
            if java {
                t.push_str("\n\tat oteldemo.");
                t.push_str(def.name);
                t.push_str(".Handler.handle(Handler.java:");
                push_u64(t, line);
                t.push_str(")\n\tat io.grpc.stub.ServerCalls$UnaryServerCallHandler$UnaryServerCallListener.onHalfClose(ServerCalls.java:182)\n\tat java.base/java.lang.Thread.run(Thread.java:1583)");
            } else {
                t.push_str("\n    at handler (");
                t.push_str(def.name);
                t.push_str("/src/server.");
                t.push_str(def.lang.ext);
                t.push(':');
                push_u64(t, line);
                t.push_str(":17)\n    at process (node:internal/process/task_queues:105:5)");
            }
        });
        if escaped {
            b.boolean("exception.escaped", true);
        }
        "exception"
    }

    fn retry_event(&mut self, b: &mut Batch) -> &'static str {
        let attempt = self.rng.range(1, 4);
        b.int("retry.attempt", attempt);
        b.dbl("retry.delay", 0.1 * (1 << attempt) as f64);
        let ty = *self
            .rng
            .pick(&["timeout", "connection_reset", "unavailable"]);
        b.lit("error.type", ty);
        "retry"
    }

    fn message_event(&mut self, b: &mut Batch) -> &'static str {
        let ty = if self.rng.chance(1, 2) {
            "SENT"
        } else {
            "RECEIVED"
        };
        b.lit("message.type", ty);
        b.int("message.id", 1);
        b.int("message.uncompressed_size", self.rng.range(16, 4_096));
        "message"
    }
}

/// `thread.name` / `thread.id` of runtimes that report them.
pub fn thread_attrs(g: &mut Gen, b: &mut Batch, def: &Service) {
    let t = if def.lang.name == "java" {
        *g.rng.pick(model::THREADS_JAVA)
    } else {
        *g.rng.pick(model::THREADS_DOTNET)
    };
    b.lit("thread.name", t);
    b.int("thread.id", 20 + g.rng.below(40) as i64);
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
fn op_scope(def: &'static Service, op: &Op) -> Scope {
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

/// An HTTP status line's text after the version (`200 OK`).
fn status_line(status: i64) -> &'static str {
    match status {
        200 => "200 OK",
        201 => "201 Created",
        304 => "304 Not Modified",
        404 => "404 Not Found",
        500 => "500 Internal Server Error",
        502 => "502 Bad Gateway",
        503 => "503 Service Unavailable",
        _ => "599 Unknown",
    }
}

/// How many distinct `cart.item.<n>.quantity` key names the demo profile
/// draws from.
const CART_ITEMS: u64 = 20_000;

/// The key name `cart.item.<n>.quantity` (made once per n, kept for the
/// generator's run: attribute keys are `&'static str`).
fn cart_item_key(n: u64) -> &'static str {
    use std::sync::OnceLock;
    static KEYS: OnceLock<Vec<&'static str>> = OnceLock::new();
    KEYS.get_or_init(|| {
        (0..CART_ITEMS)
            .map(|i| &*Box::leak(format!("cart.item.{i}.quantity").into_boxed_str()))
            .collect()
    })[n as usize]
}
