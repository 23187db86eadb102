//! Log generation. A request holds the log records of one service pod,
//! grouped into one `ScopeLogs` per logger. Each record draws a severity
//! (mostly INFO, rare FATAL), then a message template of that severity from
//! the service's family (web, commerce, catalog) or the common set, and
//! fills its `{variables}`. A few bodies are maps (kvlist) or integers.

use crate::engine::Gen;
use crate::model::{self, Family, Service, Tmpl};
use crate::rec::{Batch, LogRec, Val, push_hex_bytes, push_u64};
use crate::rng::mix64;
use crate::truth::{ATTRIBUTE, EntityInfo};

/// A template variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Var {
    User,
    Order,
    Amount,
    Currency,
    Last4,
    Host,
    Port,
    N,
    Ms,
    Path,
    Method,
    Status,
    Sku,
    Qty,
    Ip,
    Uuid,
    Email,
    Tracking,
    Count,
    Bytes,
    Pct,
    Table,
    Topic,
    Partition,
    Offset,
    Line,
    Version,
    Zip,
    Code,
    Session,
    Func,
    Flag,
    Bool,
    Heap,
    Category,
    Image,
    Agent,
    Product,
    Thread,
    Loyalty,
}

fn parse_var(name: &str) -> Var {
    match name {
        "user" => Var::User,
        "order" => Var::Order,
        "amount" => Var::Amount,
        "currency" => Var::Currency,
        "last4" => Var::Last4,
        "host" => Var::Host,
        "port" => Var::Port,
        "n" => Var::N,
        "ms" => Var::Ms,
        "path" => Var::Path,
        "method" => Var::Method,
        "status" => Var::Status,
        "sku" => Var::Sku,
        "qty" => Var::Qty,
        "ip" => Var::Ip,
        "uuid" => Var::Uuid,
        "email" => Var::Email,
        "tracking" => Var::Tracking,
        "count" => Var::Count,
        "bytes" => Var::Bytes,
        "pct" => Var::Pct,
        "table" => Var::Table,
        "topic" => Var::Topic,
        "partition" => Var::Partition,
        "offset" => Var::Offset,
        "line" => Var::Line,
        "version" => Var::Version,
        "zip" => Var::Zip,
        "code" => Var::Code,
        "session" => Var::Session,
        "func" => Var::Func,
        "flag" => Var::Flag,
        "bool" => Var::Bool,
        "heap" => Var::Heap,
        "category" => Var::Category,
        "image" => Var::Image,
        "agent" => Var::Agent,
        "product" => Var::Product,
        "thread" => Var::Thread,
        "loyalty" => Var::Loyalty,
        other => panic!("unknown template variable {{{other}}}"),
    }
}

enum Part {
    Lit(&'static str),
    Var(Var),
}

/// A parsed template.
pub struct Parsed {
    sev: (i32, &'static str),
    family: Option<Family>,
    parts: Vec<Part>,
    /// The template as a log-template miner would write it: every
    /// whitespace-separated token holding a variable becomes `<*>`.
    pattern: String,
    /// Position in the template list, used for stable code locations.
    salt: u64,
}

pub struct LogModel {
    templates: Vec<Parsed>,
}

impl LogModel {
    pub fn new() -> Self {
        let mut templates = Vec::new();
        let sets: [(&[Tmpl], Option<Family>); 4] = [
            (model::COMMON_TEMPLATES, None),
            (model::WEB_TEMPLATES, Some(Family::Web)),
            (model::COMMERCE_TEMPLATES, Some(Family::Commerce)),
            (model::CATALOG_TEMPLATES, Some(Family::Catalog)),
        ];
        for (set, family) in sets {
            for t in set {
                let salt = templates.len() as u64;
                templates.push(parse(t, family, salt));
            }
        }
        LogModel { templates }
    }

    /// Template indices usable by a service, by severity (index into
    /// [`model::SEVERITIES`]).
    pub fn service_templates(&self, svc: &Service) -> Vec<Vec<usize>> {
        model::SEVERITIES
            .iter()
            .map(|sev| {
                (0..self.templates.len())
                    .filter(|&i| {
                        let t = &self.templates[i];
                        t.sev == *sev && (t.family.is_none() || t.family == Some(svc.family))
                    })
                    .collect()
            })
            .collect()
    }
}

fn parse(t: &'static Tmpl, family: Option<Family>, salt: u64) -> Parsed {
    let mut parts = Vec::new();
    let text = t.text;
    let mut lit_start = 0;
    let mut pos = 0;
    while let Some(off) = text[pos..].find('{') {
        let open = pos + off;
        match var_at(text, open) {
            Some((var, end)) => {
                if open > lit_start {
                    parts.push(Part::Lit(&text[lit_start..open]));
                }
                parts.push(Part::Var(var));
                lit_start = end;
                pos = end;
            }
            // A literal brace (`Status{code=...}`).
            None => pos = open + 1,
        }
    }
    if lit_start < text.len() {
        parts.push(Part::Lit(&text[lit_start..]));
    }
    let pattern = text
        .split_whitespace()
        .map(|tok| {
            let has_var = tok
                .match_indices('{')
                .any(|(i, _)| var_at(tok, i).is_some());
            if has_var { "<*>" } else { tok }
        })
        .collect::<Vec<_>>()
        .join(" ");
    Parsed {
        sev: t.sev,
        family,
        parts,
        pattern,
        salt,
    }
}

/// The variable `{name}` starting at byte `open` of `text` and the byte
/// after it, if `name` is a lower-case identifier.
fn var_at(text: &str, open: usize) -> Option<(Var, usize)> {
    let rest = &text[open + 1..];
    let close = rest.find('}')?;
    let name = &rest[..close];
    let ident = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    ident.then(|| (parse_var(name), open + 1 + close + 1))
}

impl Gen {
    pub fn logs_request(&mut self, b: &mut Batch, svc: usize, n: usize) {
        b.scope_schema = "";
        for _ in 0..n {
            self.log_record(b, svc);
        }
    }

    /// Builds one log record of service `svc` into `b` and records it in
    /// the ground truth.
    fn log_record(&mut self, b: &mut Batch, svc: usize) {
        let def = self.svcs[svc].def;
        // The demo profile's event records (LogRecord.event_name); the bench
        // profile has none (its workloads stay as they were).
        if self.demo() && !def.file_logs && self.rng.chance(1, 25) {
            self.event_record(b, svc);
            return;
        }
        let mut sev_i = self.rng.weighted(model::SEVERITY_WEIGHTS);
        if self.svcs[svc].templates[sev_i].is_empty() {
            sev_i = 2; // INFO always has templates
        }
        let list = &self.svcs[svc].templates[sev_i];
        let ti = list[self.rng.index(list.len())];
        let (sev_num, sev_text) = model::SEVERITIES[sev_i];

        self.clock += (self.rng.exp(1e6) as u64 + 1) * self.cfg.time_scale;
        let time = self.clock;
        let observed = time + self.rng.range(100_000, 50_000_000) as u64;

        // Body: mostly the filled template; a few structured or numeric.
        let mut user = None;
        let kind = self.rng.below(100);
        let body = if kind < 3 {
            let m = b.mark();
            let event = *self
                .rng
                .pick(&["order_placed", "cart_updated", "payment_captured"]);
            b.lit("event", event);
            b.with("order_id", |t| self.w_uuid(t));
            let amount = self.amount();
            b.dbl("amount", amount);
            b.int("items", self.rng.range(1, 9));
            Val::Kvlist(b.since(m))
        } else if kind < 4 {
            Val::Int(self.rng.range(0, 599))
        } else {
            self.fill(b, ti, &mut user)
        };
        let string_body = matches!(body, Val::Str(..));

        // Attributes.
        let m = b.mark();
        let salt = self.logs.templates[ti].salt;
        let logger = def.loggers[(salt % def.loggers.len() as u64) as usize];
        if def.lang.name != "cpp" && !def.file_logs {
            let h = mix64(salt ^ 0xC0DE);
            b.lit(
                "code.function.name",
                model::FUNCS[(h % model::FUNCS.len() as u64) as usize],
            );
            b.with("code.file.path", |t| {
                t.push_str("src/");
                for c in logger.chars() {
                    t.push(if c == '.' || c == ':' { '/' } else { c });
                }
                t.push('.');
                t.push_str(def.lang.ext);
            });
            b.int("code.line.number", 20 + (h >> 16) as i64 % 600);
        }
        if def.file_logs {
            let file = match def.name {
                "image-provider" if sev_num >= model::WARN.0 => "error.log",
                "image-provider" => "access.log",
                "email" => "email.log",
                _ => "quote.log",
            };
            b.lit("log.file.name", file);
            let stream = if sev_num >= model::WARN.0 {
                "stderr"
            } else {
                "stdout"
            };
            b.lit("log.iostream", stream);
        }
        if def.lang.threads {
            crate::traces::thread_attrs(self, b, def);
        }
        if let Some(u) = user {
            b.push("user.id", u);
        }
        if sev_num >= model::ERROR.0 && self.rng.chance(1, 2) {
            let (ty, msg) = if def.lang.name == "java" {
                *self.rng.pick(model::EXCEPTIONS_JAVA)
            } else {
                *self.rng.pick(model::EXCEPTIONS_OTHER)
            };
            b.lit("exception.type", ty);
            b.lit("exception.message", msg);
        }
        // Trace correlation for records logged inside a request.
        let trace = if self.rng.chance(7, 10) {
            Some((self.id16(), self.id8()))
        } else {
            None
        };
        if def.lang.otel_log_attrs {
            match &trace {
                Some((t, s)) => {
                    b.with("otelTraceID", |x| push_hex_bytes(x, t));
                    b.with("otelSpanID", |x| push_hex_bytes(x, s));
                }
                None => {
                    b.lit("otelTraceID", "0");
                    b.lit("otelSpanID", "0");
                }
            }
            b.lit("otelServiceName", def.name);
            b.lit(
                "otelTraceSampled",
                if trace.is_some() { "True" } else { "False" },
            );
        }
        if self.demo() && def.family != Family::Catalog && self.rng.chance(1, 2) {
            b.with("request.id", |t| self.w_uuid(t));
        }
        if self.bench() {
            self.card_attrs(b);
        }
        let attrs = b.since(m);

        let with_text = !self.rng.chance(1, 10);
        let scope = b.scope((logger, ""));
        b.logs.push(LogRec {
            time: if self.rng.chance(19, 20) { time } else { 0 },
            observed,
            severity: sev_num,
            severity_text: if with_text { sev_text } else { "" },
            body: Some(body),
            attrs,
            flags: if trace.is_some() { 1 } else { 0 },
            trace,
            scope,
            event_name: "",
        });

        // Ground truth.
        let t = &mut self.truth;
        let e = t.entity(
            sev_text,
            EntityInfo::Log {
                severity_number: sev_num,
            },
        );
        t.record(e, svc, if with_text { "text" } else { "no_text" });
        t.attrs(e, ATTRIBUTE, b.attrs_of(attrs), b);
        t.body(Some(&body));
        if string_body {
            let tpl = &self.logs.templates[ti];
            t.template(ti, &tpl.pattern, tpl.sev.1, svc);
        }
    }

    /// Builds one event record (semantic-convention event names with their
    /// attributes, no body) of service `svc` into `b`: the web front end's
    /// browser page views and sessions, the back ends' feature-flag
    /// evaluations (the demo's flagd).
    fn event_record(&mut self, b: &mut Batch, svc: usize) {
        let def = self.svcs[svc].def;
        self.clock += (self.rng.exp(1e6) as u64 + 1) * self.cfg.time_scale;
        let time = self.clock;
        let observed = time + self.rng.range(100_000, 50_000_000) as u64;
        let m = b.mark();
        let name = if def.name == "frontend" {
            let name = *self.rng.pick(&[
                "browser.page_view",
                "browser.page_view",
                "session.start",
                "session.end",
            ]);
            if name == "browser.page_view" {
                const PAGES: &[&str] = &["/", "/cart", "/checkout", "/product"];
                let page = *self.rng.pick(PAGES);
                b.with("url.path", |t| {
                    t.push_str(page);
                    if page == "/product" {
                        t.push('/');
                        self.w_product(t);
                    }
                });
                if self.rng.chance(2, 3) {
                    b.lit("browser.referrer", *self.rng.pick(PAGES));
                }
                b.lit("user_agent.original", *self.rng.pick(model::USER_AGENTS));
            }
            b.with("session.id", |t| self.w_session(t));
            if name == "session.start" && self.rng.chance(1, 3) {
                b.with("session.previous_id", |t| self.w_session(t));
            }
            name
        } else {
            b.lit("feature_flag.key", *self.rng.pick(model::FLAGS));
            b.lit("feature_flag.provider.name", "flagd");
            let on = self.rng.chance(1, 10);
            b.lit("feature_flag.result.variant", if on { "on" } else { "off" });
            b.boolean("feature_flag.result.value", on);
            "feature_flag.evaluation"
        };
        let attrs = b.since(m);
        let scope = b.scope(("otel.events", ""));
        let (sev_num, sev_text) = model::INFO;
        b.logs.push(LogRec {
            time,
            observed,
            severity: sev_num,
            severity_text: sev_text,
            body: None,
            attrs,
            flags: 0,
            trace: None,
            scope,
            event_name: name,
        });
        let t = &mut self.truth;
        let e = t.entity(
            sev_text,
            EntityInfo::Log {
                severity_number: sev_num,
            },
        );
        t.record(e, svc, "text");
        t.attrs(e, ATTRIBUTE, b.attrs_of(attrs), b);
        t.body(None);
    }

    /// Writes template `ti` into the arena and returns it as a string
    /// value; sets `user` to the user id when the template names a user.
    fn fill(&mut self, b: &mut Batch, ti: usize, user: &mut Option<Val>) -> Val {
        let start = b.text.len() as u32;
        let nparts = self.logs.templates[ti].parts.len();
        for p in 0..nparts {
            match self.logs.templates[ti].parts[p] {
                Part::Lit(s) => b.text.push_str(s),
                Part::Var(Var::User) => match *user {
                    // The same user throughout one message.
                    Some(Val::Str(a, z)) => {
                        b.text.extend_from_within(a as usize..z as usize);
                    }
                    _ => {
                        let a = b.text.len() as u32;
                        self.w_user(&mut b.text, false);
                        *user = Some(Val::Str(a, b.text.len() as u32));
                    }
                },
                Part::Var(v) => self.push_var(v, &mut b.text),
            }
        }
        Val::Str(start, b.text.len() as u32)
    }

    /// Writes a value of variable `var` (not `User`, see [`Gen::fill`]).
    fn push_var(&mut self, var: Var, t: &mut String) {
        const PATHS: &[&str] = &[
            "/",
            "/api/products",
            "/api/cart",
            "/api/checkout",
            "/api/recommendations",
            "/api/currency",
            "/api/data",
            "/api/shipping",
        ];
        let r = &mut self.rng;
        let num = |t: &mut String, n: i64| push_u64(t, n as u64);
        match var {
            Var::User => self.w_user(t, false),
            Var::Order | Var::Uuid | Var::Tracking => self.w_uuid(t),
            Var::Amount => {
                // Two decimals, from integer cents.
                let cents = r.range(199, 250_000) as u64;
                push_u64(t, cents / 100);
                t.push('.');
                t.push((b'0' + (cents / 10 % 10) as u8) as char);
                t.push((b'0' + (cents % 10) as u8) as char);
            }
            Var::Currency => t.push_str(*r.pick(model::CURRENCIES)),
            Var::Last4 => {
                let n = r.below(10_000);
                for d in [1000, 100, 10, 1] {
                    t.push((b'0' + (n / d % 10) as u8) as char);
                }
            }
            Var::Host => t.push_str(*r.pick(model::HOSTS)),
            Var::Port => num(t, *r.pick(model::PORTS)),
            Var::N => num(t, r.range(1, 10)),
            Var::Ms => push_u64(t, r.latency_ns(20.0) / 1_000_000),
            Var::Path => {
                let p = *r.pick(PATHS);
                t.push_str(p);
                if p == "/api/products" && r.chance(2, 3) {
                    t.push('/');
                    self.w_product(t);
                }
            }
            Var::Method => t.push_str(if r.chance(3, 4) { "GET" } else { "POST" }),
            Var::Status => num(t, *r.pick(&[200, 200, 200, 200, 201, 304, 404, 500, 503])),
            Var::Sku => self.w_product(t),
            Var::Qty => num(t, r.range(1, 10)),
            Var::Ip => self.w_client_ip(t),
            Var::Email => self.w_email(t),
            Var::Count => num(t, r.range(0, 500)),
            Var::Bytes => num(t, r.range(120, 2_000_000)),
            Var::Pct => num(t, r.range(0, 100)),
            Var::Table => t.push_str(*r.pick(model::TABLES)),
            Var::Topic => t.push_str("orders"),
            Var::Partition => push_u64(t, r.below(6)),
            Var::Offset => {
                self.kafka_offset += 1;
                push_u64(t, self.kafka_offset);
            }
            Var::Line => num(t, r.range(20, 900)),
            Var::Version => t.push_str(*r.pick(model::VERSIONS)),
            Var::Zip => self.w_zip(t),
            Var::Code => t.push_str(*r.pick(model::ERROR_CODES)),
            Var::Session => self.w_session(t),
            Var::Func => t.push_str(*r.pick(model::FUNCS)),
            Var::Flag => t.push_str(*r.pick(model::FLAGS)),
            Var::Bool => t.push_str(if r.chance(1, 10) { "true" } else { "false" }),
            Var::Heap => num(t, r.range(64, 2_048)),
            Var::Category => t.push_str(*r.pick(model::AD_CATEGORIES)),
            Var::Image => {
                self.w_product(t);
                t.push_str(".jpg");
            }
            Var::Agent => t.push_str(*r.pick(model::USER_AGENTS)),
            Var::Product => t.push_str(*r.pick(model::PRODUCT_NAMES)),
            Var::Thread => t.push_str(*r.pick(model::THREADS_JAVA)),
            Var::Loyalty => t.push_str(*r.pick(model::LOYALTY)),
        }
    }
}
