//! Log generation. A request holds the log records of one service pod,
//! grouped into one `ScopeLogs` per logger. Each record draws a severity
//! (mostly INFO, rare FATAL), then a message template of that severity from
//! the service's family (web, commerce, catalog) or the common set, and
//! fills its `{variables}`. A few bodies are maps (kvlist) or integers.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValueList, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};

use crate::engine::{Gen, SCHEMA_URL, any, kv, kv_f, kv_i, kv_s, scope};
use crate::model::{self, Family, Service, Tmpl};
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

    /// Number of distinct templates (patterns may repeat).
    #[allow(dead_code)]
    pub fn len(&self) -> usize {
        self.templates.len()
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

/// Per-request accumulator: records grouped by logger, first-seen order.
struct Scopes {
    names: Vec<&'static str>,
    blocks: Vec<ScopeLogs>,
}

impl Gen {
    pub fn logs_request(&mut self, svc: usize, pod: u32, n: usize) -> ExportLogsServiceRequest {
        let resource = self.resource(svc, pod);
        let mut scopes = Scopes {
            names: Vec::new(),
            blocks: Vec::new(),
        };
        for _ in 0..n {
            let (record, logger) = self.log_record(svc);
            let i = match scopes.names.iter().position(|s| *s == logger) {
                Some(i) => i,
                None => {
                    scopes.names.push(logger);
                    scopes.blocks.push(ScopeLogs {
                        scope: Some(scope((logger, ""))),
                        log_records: Vec::new(),
                        schema_url: String::new(),
                    });
                    scopes.blocks.len() - 1
                }
            };
            scopes.blocks[i].log_records.push(record);
        }
        self.truth.flush_resource(&resource.attributes);
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(resource),
                scope_logs: scopes.blocks,
                schema_url: SCHEMA_URL.to_owned(),
            }],
        }
    }

    /// One log record of service `svc` and the logger (scope) it belongs to.
    fn log_record(&mut self, svc: usize) -> (LogRecord, &'static str) {
        let def = self.svcs[svc].def;
        let mut sev_i = self.rng.weighted(model::SEVERITY_WEIGHTS);
        if self.svcs[svc].templates[sev_i].is_empty() {
            sev_i = 2; // INFO always has templates
        }
        let list = &self.svcs[svc].templates[sev_i];
        let ti = list[self.rng.index(list.len())];
        let (sev_num, sev_text) = model::SEVERITIES[sev_i];

        self.clock += self.rng.exp(1e6) as u64 + 1;
        let time = self.clock;
        let observed = time + self.rng.range(100_000, 50_000_000) as u64;

        // Body: mostly the filled template; a few structured or numeric.
        let mut attrs = Vec::with_capacity(20);
        let mut user = None;
        let kind = self.rng.below(100);
        let body = if kind < 3 {
            let amount = self.amount();
            let order = self.uuid();
            let event = *self
                .rng
                .pick(&["order_placed", "cart_updated", "payment_captured"]);
            any(Value::KvlistValue(KeyValueList {
                values: vec![
                    kv_s("event", event),
                    kv("order_id", order),
                    kv_f("amount", amount),
                    kv_i("items", self.rng.range(1, 9)),
                ],
            }))
        } else if kind < 4 {
            any(Value::IntValue(self.rng.range(0, 599)))
        } else {
            let text = self.fill(ti, &mut user);
            any(Value::StringValue(text))
        };

        // Attributes.
        let t = &self.logs.templates[ti];
        let salt = t.salt;
        let pattern_string = matches!(
            body.as_ref().and_then(|b| b.value.as_ref()),
            Some(Value::StringValue(_))
        );
        let logger = def.loggers[(salt % def.loggers.len() as u64) as usize];
        if def.lang.name != "cpp" && !def.file_logs {
            let h = mix64(salt ^ 0xC0DE);
            let func = model::FUNCS[(h % model::FUNCS.len() as u64) as usize];
            attrs.push(kv_s("code.function.name", func));
            attrs.push(kv(
                "code.file.path",
                format!("src/{}.{}", logger.replace(['.', ':'], "/"), def.lang.ext),
            ));
            attrs.push(kv_i("code.line.number", 20 + (h >> 16) as i64 % 600));
        }
        if def.file_logs {
            let file = if def.name == "image-provider" {
                if sev_num >= model::WARN.0 {
                    "error.log"
                } else {
                    "access.log"
                }
            } else if def.name == "email" {
                "email.log"
            } else {
                "quote.log"
            };
            attrs.push(kv_s("log.file.name", file));
            attrs.push(kv_s(
                "log.iostream",
                if sev_num >= model::WARN.0 {
                    "stderr"
                } else {
                    "stdout"
                },
            ));
        }
        if def.lang.threads {
            let th = if def.lang.name == "java" {
                *self.rng.pick(model::THREADS_JAVA)
            } else {
                *self.rng.pick(model::THREADS_DOTNET)
            };
            attrs.push(kv_s("thread.name", th));
            attrs.push(kv_i("thread.id", 20 + self.rng.below(40) as i64));
        }
        if let Some(u) = user {
            attrs.push(kv("user.id", u));
        }
        if sev_num >= model::ERROR.0 && self.rng.chance(1, 2) {
            let (ty, msg) = if def.lang.name == "java" {
                *self.rng.pick(model::EXCEPTIONS_JAVA)
            } else {
                *self.rng.pick(model::EXCEPTIONS_OTHER)
            };
            attrs.push(kv_s("exception.type", ty));
            attrs.push(kv_s("exception.message", msg));
        }
        // Trace correlation for records logged inside a request.
        let (trace_id, span_id) = if self.rng.chance(7, 10) {
            (self.rng.id16(), self.rng.id8())
        } else {
            (Vec::new(), Vec::new())
        };
        if def.lang.otel_log_attrs {
            let (tid, sid) = if trace_id.is_empty() {
                ("0".to_owned(), "0".to_owned())
            } else {
                (hex(&trace_id), hex(&span_id))
            };
            attrs.push(kv("otelTraceID", tid));
            attrs.push(kv("otelSpanID", sid));
            attrs.push(kv_s("otelServiceName", def.name));
            attrs.push(kv_s(
                "otelTraceSampled",
                if trace_id.is_empty() { "False" } else { "True" },
            ));
        }
        if self.demo() && def.family != Family::Catalog && self.rng.chance(1, 2) {
            let id = self.uuid();
            attrs.push(kv("request.id", id));
        }
        if self.bench() {
            self.card_attrs(&mut attrs);
        }

        let with_text = !self.rng.chance(1, 10);
        let record = LogRecord {
            time_unix_nano: if self.rng.chance(19, 20) { time } else { 0 },
            observed_time_unix_nano: observed,
            severity_number: sev_num,
            severity_text: if with_text {
                sev_text.to_owned()
            } else {
                String::new()
            },
            body,
            attributes: attrs,
            dropped_attributes_count: 0,
            flags: if trace_id.is_empty() { 0 } else { 1 },
            trace_id,
            span_id,
            event_name: String::new(),
        };

        // Ground truth.
        let e = self.truth.entity(
            sev_text,
            EntityInfo::Log {
                severity_number: sev_num,
            },
        );
        self.truth
            .record(e, svc, if with_text { "text" } else { "no_text" });
        self.truth.attrs(e, ATTRIBUTE, &record.attributes);
        self.truth.body(record.body.as_ref());
        if pattern_string {
            let t = &self.logs.templates[ti];
            let (pattern, sev) = (t.pattern.clone(), t.sev.1);
            self.truth.template(ti, &pattern, sev, svc);
        }
        (record, logger)
    }

    /// Renders template `ti`; sets `user` when the template names a user.
    fn fill(&mut self, ti: usize, user: &mut Option<String>) -> String {
        let mut out = String::with_capacity(96);
        let nparts = self.logs.templates[ti].parts.len();
        for p in 0..nparts {
            let var = match &self.logs.templates[ti].parts[p] {
                Part::Lit(s) => {
                    out.push_str(s);
                    continue;
                }
                Part::Var(v) => *v,
            };
            self.push_var(var, &mut out, user);
        }
        out
    }

    fn push_var(&mut self, var: Var, out: &mut String, user: &mut Option<String>) {
        use std::fmt::Write;
        let r = &mut self.rng;
        let _ = match var {
            Var::User => {
                let u =
                    user.get_or_insert_with(|| format!("user-{}", r.skewed(crate::engine::USERS)));
                out.push_str(u);
                Ok(())
            }
            Var::Order | Var::Uuid | Var::Tracking => {
                let u = self.uuid();
                out.push_str(&u);
                Ok(())
            }
            Var::Amount => {
                let a = self.amount();
                write!(out, "{a:.2}")
            }
            Var::Currency => {
                out.push_str(*r.pick(model::CURRENCIES));
                Ok(())
            }
            Var::Last4 => write!(out, "{:04}", r.below(10_000)),
            Var::Host => {
                out.push_str(*r.pick(model::HOSTS));
                Ok(())
            }
            Var::Port => write!(out, "{}", *r.pick(model::PORTS)),
            Var::N => write!(out, "{}", r.range(1, 10)),
            Var::Ms => write!(out, "{}", r.latency_ns(20.0) / 1_000_000),
            Var::Path => {
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
                let p = *r.pick(PATHS);
                if p == "/api/products" && r.chance(2, 3) {
                    let id = self.product_id();
                    write!(out, "/api/products/{id}")
                } else {
                    out.push_str(p);
                    Ok(())
                }
            }
            Var::Method => {
                out.push_str(if r.chance(3, 4) { "GET" } else { "POST" });
                Ok(())
            }
            Var::Status => write!(
                out,
                "{}",
                r.pick(&[200, 200, 200, 200, 201, 304, 404, 500, 503])
            ),
            Var::Sku => {
                let id = self.product_id();
                out.push_str(&id);
                Ok(())
            }
            Var::Qty => write!(out, "{}", r.range(1, 10)),
            Var::Ip => {
                let ip = self.client_ip();
                out.push_str(&ip);
                Ok(())
            }
            Var::Email => {
                let e = self.email();
                out.push_str(&e);
                Ok(())
            }
            Var::Count => write!(out, "{}", r.range(0, 500)),
            Var::Bytes => write!(out, "{}", r.range(120, 2_000_000)),
            Var::Pct => write!(out, "{}", r.range(0, 100)),
            Var::Table => {
                out.push_str(*r.pick(model::TABLES));
                Ok(())
            }
            Var::Topic => {
                out.push_str("orders");
                Ok(())
            }
            Var::Partition => write!(out, "{}", r.below(6)),
            Var::Offset => {
                self.kafka_offset += 1;
                write!(out, "{}", self.kafka_offset)
            }
            Var::Line => write!(out, "{}", r.range(20, 900)),
            Var::Version => {
                out.push_str(*r.pick(model::VERSIONS));
                Ok(())
            }
            Var::Zip => {
                let z = self.zip();
                out.push_str(&z);
                Ok(())
            }
            Var::Code => {
                out.push_str(*r.pick(model::ERROR_CODES));
                Ok(())
            }
            Var::Session => {
                let s = self.session_id();
                out.push_str(&s);
                Ok(())
            }
            Var::Func => {
                out.push_str(*r.pick(model::FUNCS));
                Ok(())
            }
            Var::Flag => {
                out.push_str(*r.pick(model::FLAGS));
                Ok(())
            }
            Var::Bool => {
                out.push_str(if r.chance(1, 10) { "true" } else { "false" });
                Ok(())
            }
            Var::Heap => write!(out, "{}", r.range(64, 2_048)),
            Var::Category => {
                out.push_str(*r.pick(model::AD_CATEGORIES));
                Ok(())
            }
            Var::Image => {
                let id = self.product_id();
                write!(out, "{id}.jpg")
            }
            Var::Agent => {
                out.push_str(*r.pick(model::USER_AGENTS));
                Ok(())
            }
            Var::Product => {
                out.push_str(*r.pick(model::PRODUCT_NAMES));
                Ok(())
            }
            Var::Thread => {
                out.push_str(*r.pick(model::THREADS_JAVA));
                Ok(())
            }
            Var::Loyalty => {
                out.push_str(*r.pick(model::LOYALTY));
                Ok(())
            }
        };
    }
}

/// Lower-case hex of bytes.
fn hex(b: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}
