//! The flush: writes a batch into the catalog with the UPSERTs of
//! sql/flush.sql, each parameter bound by its name.

use ahash::AHashMap as Map;

use super::batch::{Batch, MetricAgg, PatternGroup};
use super::keys::{Counted, KeyAgg, Keys, Seen};
use super::templates::Texts;
use crate::ffi::{Db, Error, Param, Result, Stmt};
use crate::hll;

const FLUSH_SQL: &str = include_str!("../../sql/flush.sql");

/// The named statements of sql/flush.sql.
pub fn statements() -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    let mut rest = FLUSH_SQL;
    while let Some(p) = rest.find("-- name: ") {
        rest = &rest[p + 9..];
        let name_end = rest.find('\n').unwrap_or(rest.len());
        let name = rest[..name_end].trim();
        let body_start = name_end;
        let body_end = rest[body_start..]
            .find("-- name: ")
            .map(|q| body_start + q)
            .unwrap_or(rest.len());
        out.push((name, rest[body_start..body_end].trim()));
        rest = &rest[body_end..];
    }
    out
}

/// Key rows written by one execution of a key UPSERT: a statement's fixed
/// cost (cursors opened and closed, bindings, reset) is paid once for so
/// many rows, which roughly halves SQLite's part of a key row's cost.
const CHUNK: usize = 32;

/// The key UPSERTs, also run with [`CHUNK`] rows a statement.
const KEY_STATEMENTS: [&str; 3] = ["metric_key", "span_key", "log_key"];

/// The table a statement of sql/flush.sql writes.
fn table_of(stmt: &str) -> &'static str {
    match stmt {
        "metric" | "metric_series_refresh" => "metrics",
        "metric_service" | "metric_service_shape" => "metric_services",
        "metric_key" | "metric_refresh" => "metric_keys",
        "span" => "spans",
        "span_service" | "span_service_status" => "span_services",
        "span_event" => "span_events",
        "span_key" | "span_refresh" => "span_keys",
        "log" => "logs",
        "log_service" => "log_services",
        "log_key" | "log_refresh" => "log_keys",
        "log_template" | "log_template_fold" | "log_template_fold_delete" => {
            "log_body_template_rows"
        }
        "log_template_key" | "log_template_key_fold" | "log_template_key_fold_delete" => {
            "log_template_keys"
        }
        _ => "span_name_patterns",
    }
}

/// `e`, said of the row `key` of `table`: where it happened, and what to do
/// when a stored value could not be read (a file damaged or edited by hand).
fn located(e: Error, table: &str, key: &[&str]) -> Error {
    let key = key
        .iter()
        .map(|k| format!("'{}'", k.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(", ");
    // (otelcat_add says itself what to do.)
    let damaged = e.msg.starts_with("hll_")
        || e.msg.starts_with("json_samples")
        || e.msg.starts_with("json_counts");
    let hint = if damaged {
        "; its stored value is damaged (a file edited by hand or from elsewhere?): repair or delete that row"
    } else {
        ""
    };
    Error::with_code(e.code, format!("{table} row ({key}): {}{hint}", e.msg))
}

/// A statement of sql/flush.sql and the names of its parameters.
struct Named {
    st: Stmt,
    /// `names[i]` is the name of parameter i + 1, without its ':'.
    names: Vec<String>,
}

/// The most parameters a single-row statement of sql/flush.sql takes.
const MAX_PARAMS: usize = 16;

impl Named {
    fn prepare(db: Db, name: &str, sql: &str) -> Result<Named> {
        let st = Stmt::prepare(db, sql).map_err(|e| {
            Error::with_code(
                e.code,
                format!("otlp_ingest: cannot prepare {name}: {}", e.msg),
            )
        })?;
        let names = st.parameter_names();
        if names.len() > MAX_PARAMS || names.iter().any(|n| !n.starts_with(':')) {
            return Err(Error::new(format!(
                "otlp_ingest: statement {name} of sql/flush.sql must take at most {MAX_PARAMS} :named parameters"
            )));
        }
        let names = names.into_iter().map(|n| n[1..].to_string()).collect();
        Ok(Named { st, names })
    }

    /// Where each of `names` goes in the statement's parameters.
    fn positions(&self, stmt: &str, names: &[&str]) -> Result<Vec<usize>> {
        if names.len() != self.names.len() {
            return Err(Error::new(format!(
                "otlp_ingest: statement {stmt} takes :{}, not :{}",
                self.names.join(", :"),
                names.join(", :")
            )));
        }
        names
            .iter()
            .map(|n| {
                self.names.iter().position(|m| m == n).ok_or_else(|| {
                    Error::new(format!(
                        "otlp_ingest: statement {stmt} has no parameter :{n}"
                    ))
                })
            })
            .collect()
    }

    /// Runs the statement with `row`, a value for each of its parameters by
    /// name.
    fn run(&mut self, stmt: &str, row: &[(&str, Param<'_>)]) -> Result<()> {
        let names: Vec<&str> = row.iter().map(|(n, _)| *n).collect();
        let at = self.positions(stmt, &names)?;
        let mut params = [Param::Null; MAX_PARAMS];
        for ((_, v), i) in row.iter().zip(at) {
            params[i] = *v;
        }
        self.st.run_with(&params[..self.names.len()])
    }
}

/// The single-row key UPSERT `sql`, whose parameters `names` all sit in its
/// VALUES tuple, for `rows` rows: the tuple repeated, row r's parameter i
/// numbered ?(r·n + i + 1). The tuple must hold no parentheses (those of
/// sql/flush.sql do not).
fn multi_row(sql: &str, names: &[String], rows: usize) -> String {
    let start = sql.find("VALUES (").expect("an INSERT … VALUES statement") + "VALUES ".len();
    let end = start + sql[start..].find(')').expect("a closed VALUES tuple") + 1;
    let tuple = &sql[start..end];
    // (text before, parameter index) pieces of the tuple.
    let mut pieces = Vec::new();
    let mut rest = tuple;
    while let Some(q) = rest.find(':') {
        let len = rest[q + 1..]
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        let name = &rest[q + 1..q + 1 + len];
        let i = names
            .iter()
            .position(|n| n == name)
            .expect("a named parameter");
        pieces.push((&rest[..q], i));
        rest = &rest[q + 1 + len..];
    }
    let per = names.len();
    let mut out = String::from(&sql[..start]);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        for (text, i) in &pieces {
            out.push_str(text);
            out.push_str(&format!("?{}", r * per + i + 1));
        }
        out.push_str(rest);
    }
    out.push_str(&sql[end..]);
    out
}

/// A key UPSERT, once for one row and, when the host allows that many
/// parameters, once for [`CHUNK`] rows.
struct KeyStatement {
    one: Named,
    chunk: Option<Stmt>,
    /// Where each of a key row's values goes among the parameters of a row.
    at: Vec<usize>,
}

/// One key row to write, owned for the statement's run: its leading text
/// parameters (entity, scope, key and, for spans, event), then count,
/// samples, sketch, first and last seen, bytes and value types.
struct KeyRow<'a> {
    texts: [&'a str; 4],
    n: usize,
    count: i64,
    samples: String,
    sketch: Vec<u8>,
    seen: Option<[TimeText; 2]>,
    bytes: i64,
    types: String,
}

/// The parameters of a key UPSERT's row, in [`KeyRow::values`] order after
/// the entity's own name (`metric_name`, `span_name` or `severity`).
const KEY_PARAMS: [&str; 10] = [
    "key_scope",
    "key_name",
    "event_name",
    "key_count",
    "value_samples",
    "hll_sketch",
    "first_seen",
    "last_seen",
    "bytes",
    "value_types",
];

impl<'a> KeyRow<'a> {
    fn new(texts: &[&'a str], a: &KeyAgg) -> KeyRow<'a> {
        let mut t = [""; 4];
        t[..texts.len()].copy_from_slice(texts);
        KeyRow {
            texts: t,
            n: texts.len(),
            count: a.count as i64,
            samples: a.samples_json(),
            sketch: a.sketch.image(),
            seen: seen_text(&a.seen),
            bytes: a.bytes as i64,
            types: a.types_json(),
        }
    }

    /// The parameter names of rows of `n` texts (with or without an event)
    /// whose entity is named `entity`.
    fn names(entity: &'static str, n: usize) -> Vec<&'static str> {
        let mut v = vec![entity];
        v.extend(KEY_PARAMS.iter().filter(|p| n == 4 || **p != "event_name"));
        v
    }

    /// The row's values, in the order of [`KeyRow::names`].
    fn values<'p>(&'p self, out: &mut [Param<'p>]) {
        let (first, last) = match &self.seen {
            Some([f, l]) => (Param::Text(f.as_str()), Param::Text(l.as_str())),
            None => (Param::Null, Param::Null),
        };
        let n = self.n;
        for (o, t) in out.iter_mut().zip(&self.texts[..n]) {
            *o = Param::Text(t);
        }
        out[n..n + 7].copy_from_slice(&[
            Param::Int(self.count),
            Param::Text(&self.samples),
            Param::Blob(&self.sketch),
            first,
            last,
            Param::Int(self.bytes),
            Param::Text(&self.types),
        ]);
    }
}

/// 'YYYY-MM-DD HH:MM:SS' of unix seconds (UTC), as SQLite's datetime(),
/// for years 0 to 9999, without allocating (two per key row of a flush).
fn datetime_bytes(secs: i64) -> Option<[u8; 19]> {
    let (y, m, d, rem) = civil(secs);
    if !(0..=9999).contains(&y) {
        return None;
    }
    let mut out = *b"0000-00-00 00:00:00";
    let mut put = |at: usize, v: i64, digits: usize| {
        let mut v = v;
        for i in (0..digits).rev() {
            out[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, y, 4);
    put(5, m, 2);
    put(8, d, 2);
    put(11, rem / 3600, 2);
    put(14, rem % 3600 / 60, 2);
    put(17, rem % 60, 2);
    Some(out)
}

/// The same text for years outside 0 to 9999 (as SQLite prints them).
fn datetime_wide(secs: i64) -> String {
    let (y, m, d, rem) = civil(secs);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        y,
        m,
        d,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Year, month, day and seconds of the day of unix seconds (UTC).
fn civil(secs: i64) -> (i64, i64, i64, i64) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (y, m, d, rem)
}

/// First and last seen as parameters (NULL when nothing was seen).
fn seen_params(s: &Option<[TimeText; 2]>) -> [Param<'_>; 2] {
    match s {
        Some([f, l]) => [Param::Text(f.as_str()), Param::Text(l.as_str())],
        None => [Param::Null, Param::Null],
    }
}

/// Prepared flush statements of one connection.
pub struct Writer {
    db: Db,
    stmts: Map<&'static str, Named>,
    keys: Map<&'static str, KeyStatement>,
}

impl Writer {
    pub fn new(db: Db) -> Result<Writer> {
        let mut stmts = Map::new();
        let mut keys = Map::new();
        for (name, sql) in statements() {
            let one = Named::prepare(db, name, sql)?;
            if !KEY_STATEMENTS.contains(&name) {
                stmts.insert(name, one);
                continue;
            }
            let (entity, texts) = match name {
                "span_key" => ("span_name", 4),
                "log_key" => ("severity", 3),
                _ => ("metric_name", 3),
            };
            let at = one.positions(name, &KeyRow::names(entity, texts))?;
            // A host that lowered SQLITE_LIMIT_VARIABLE_NUMBER below a
            // chunk's parameters cannot prepare it: its key rows go one by one.
            let chunk = Stmt::prepare(db, &multi_row(sql, &one.names, CHUNK)).ok();
            keys.insert(name, KeyStatement { one, chunk, at });
        }
        Ok(Writer { db, stmts, keys })
    }

    /// Runs statement `stmt` with `row`'s values by name; it writes the row
    /// `key` (for the error).
    fn run(&mut self, stmt: &'static str, row: &[(&str, Param<'_>)], key: &[&str]) -> Result<()> {
        self.stmts
            .get_mut(stmt)
            .expect("statement of sql/flush.sql")
            .run(stmt, row)
            .map_err(|e| located(e, table_of(stmt), key))
    }

    /// The service rows of one entity (`entity_param` names its column).
    fn services(
        &mut self,
        stmt: &'static str,
        entity_param: &str,
        entity: &str,
        services: &Map<String, Counted>,
    ) -> Result<()> {
        for (svc, c) in sorted(services) {
            let seen = seen_text(&c.seen);
            let [first, last] = seen_params(&seen);
            let row = [
                (entity_param, Param::Text(entity)),
                ("service_name", Param::Text(svc)),
                ("sample_count", Param::Int(c.count as i64)),
                ("first_seen", first),
                ("last_seen", last),
            ];
            self.run(stmt, &row, &[entity, svc])?;
        }
        Ok(())
    }

    /// Writes key rows with `stmt` (metric_key, span_key, log_key): in
    /// chunks of [`CHUNK`] rows a statement, the rest one by one.
    fn key_rows(&mut self, stmt: &'static str, rows: &[KeyRow]) -> Result<()> {
        let k = self.keys.get_mut(stmt).expect("a key statement");
        let per = k.one.names.len();
        let chunked = if k.chunk.is_some() {
            rows.len() / CHUNK * CHUNK
        } else {
            0
        };
        let (head, rest) = rows.split_at(chunked);
        let mut values = [Param::Null; MAX_PARAMS];
        let mut params = vec![Param::Null; CHUNK * per];
        for chunk in head.chunks_exact(CHUNK) {
            for (r, row) in chunk.iter().enumerate() {
                row.values(&mut values);
                for (v, &i) in values.iter().zip(&k.at) {
                    params[r * per + i] = *v;
                }
            }
            let st = k.chunk.as_mut().expect("prepared");
            if let Err(e) = st.run_with(&params) {
                // Which row? The failed statement changed nothing: run its
                // rows one by one to find out (the transaction fails anyway).
                return Err(Self::locate_key_row(k, stmt, chunk).unwrap_or(e));
            }
        }
        for row in rest {
            Self::run_key_row(k, row)
                .map_err(|e| located(e, table_of(stmt), &row.texts[..row.n]))?;
        }
        Ok(())
    }

    fn run_key_row(k: &mut KeyStatement, row: &KeyRow) -> Result<()> {
        let mut values = [Param::Null; MAX_PARAMS];
        let mut params = [Param::Null; MAX_PARAMS];
        row.values(&mut values);
        for (v, &i) in values.iter().zip(&k.at) {
            params[i] = *v;
        }
        k.one.st.run_with(&params[..k.one.names.len()])
    }

    /// The located error of the first of `rows` that fails alone.
    fn locate_key_row(k: &mut KeyStatement, stmt: &'static str, rows: &[KeyRow]) -> Option<Error> {
        rows.iter().find_map(|row| {
            Self::run_key_row(k, row)
                .err()
                .map(|e| located(e, table_of(stmt), &row.texts[..row.n]))
        })
    }

    /// Runs a *_refresh statement for one entity (`param` names it).
    fn refresh(&mut self, stmt: &'static str, param: &str, entity: &str) -> Result<()> {
        let r = self
            .stmts
            .get_mut(stmt)
            .expect("statement of sql/flush.sql")
            .run(stmt, &[(param, Param::Text(entity))]);
        r.map_err(|e| self.locate_sketch(stmt, entity, e))
    }

    /// A refresh failed: names the entity, and the key whose stored sketch
    /// cannot be read when that is the cause.
    fn locate_sketch(&mut self, stmt: &'static str, entity: &str, e: Error) -> Error {
        let table = table_of(stmt);
        let (sql, cols) = match table {
            "metric_keys" => (
                "SELECT key_scope, key_name, hll_sketch FROM metric_keys WHERE metric_name = ?1",
                2,
            ),
            "span_keys" => (
                "SELECT key_scope, key_name, event_name, hll_sketch FROM span_keys WHERE span_name = ?1",
                3,
            ),
            "log_keys" => (
                "SELECT key_scope, key_name, hll_sketch FROM log_keys WHERE severity = ?1",
                2,
            ),
            "metrics" => ("SELECT series_sketch FROM metrics WHERE name = ?1", 0),
            _ => (
                "SELECT cluster_id, names_sketch FROM span_name_patterns WHERE service_name = ?1",
                1,
            ),
        };
        let found = Stmt::prepare(self.db, sql).ok().and_then(|mut st| {
            st.bind_text(1, entity).ok()?;
            while let Ok(true) = st.step() {
                let kind = st.column_kind(cols);
                let bad = kind != crate::ffi::Kind::Null
                    && (kind != crate::ffi::Kind::Blob
                        || hll::decode(st.column_blob(cols)).is_err());
                if bad {
                    let mut key = vec![entity.to_string()];
                    key.extend((0..cols).map(|i| st.column_text(i)));
                    return Some(key);
                }
            }
            None
        });
        match found {
            Some(key) => {
                let key: Vec<&str> = key.iter().map(String::as_str).collect();
                located(e, table, &key)
            }
            None => located(e, table, &[entity]),
        }
    }

    /// Writes the batch, then the span-name patterns its names were
    /// templated into; `texts` gives the clusters' current texts.
    pub fn write(
        &mut self,
        b: &Batch,
        patterns: &Map<String, PatternGroup>,
        texts: &Texts,
    ) -> Result<()> {
        self.metrics(b)?;
        self.spans(b)?;
        self.logs(b)?;
        self.log_templates(b, texts)?;
        self.span_patterns(patterns, texts)
    }

    /// Each entity's row and services first, then all its key rows (in
    /// chunks), then each entity's refresh.
    fn metrics(&mut self, b: &Batch) -> Result<()> {
        let mut rows = Vec::new();
        for (name, m) in sorted(&b.metrics) {
            let seen = seen_text(&m.total.seen);
            let [first, last] = seen_params(&seen);
            let sketch = m.series.image();
            let row = [
                ("name", Param::Text(name)),
                ("type", Param::Text(m.kind.as_str())),
                ("unit", Param::Text(&m.unit)),
                ("description", Param::Text(&m.description)),
                ("total_sample_count", Param::Int(m.total.count as i64)),
                ("series_sketch", Param::Blob(&sketch)),
                ("first_seen", first),
                ("last_seen", last),
            ];
            let shape = shape_params(m);
            let row: Vec<_> = row.into_iter().chain(shape).collect();
            self.run("metric", &row, &[name])?;
            self.services("metric_service", "metric_name", name, &m.services)?;
            for (svc, (kind, temporality, monotonic)) in sorted(&m.service_shapes) {
                let row = [
                    ("metric_name", Param::Text(name)),
                    ("service_name", Param::Text(svc)),
                    ("type", Param::Text(kind.as_str())),
                    ("temporality", Param::Text(temporality.as_str())),
                    ("is_monotonic", Param::Int(i64::from(*monotonic))),
                ];
                self.run("metric_service_shape", &row, &[name, svc])?;
            }
            push_keys(&mut rows, name, "label", None, &m.labels);
            push_keys(&mut rows, name, "resource", None, &m.resource);
        }
        self.key_rows("metric_key", &rows)?;
        for (name, _) in sorted(&b.metrics) {
            self.refresh("metric_refresh", "metric_name", name)?;
            self.refresh("metric_series_refresh", "name", name)?;
        }
        Ok(())
    }

    fn spans(&mut self, b: &Batch) -> Result<()> {
        let mut rows = Vec::new();
        for (name, s) in sorted(&b.spans) {
            let seen = seen_text(&s.total.seen);
            let [first, last] = seen_params(&seen);
            let row = [
                ("name", Param::Text(name)),
                ("kind", Param::Text(s.kind.as_str())),
                ("total_sample_count", Param::Int(s.total.count as i64)),
                ("event_count", Param::Int(s.events_total as i64)),
                ("link_count", Param::Int(s.links_total as i64)),
                ("first_seen", first),
                ("last_seen", last),
                ("status_unset_count", Param::Int(s.status[0] as i64)),
                ("status_ok_count", Param::Int(s.status[1] as i64)),
                ("status_error_count", Param::Int(s.status[2] as i64)),
            ];
            self.run("span", &row, &[name])?;
            self.services("span_service", "span_name", name, &s.services)?;
            for (svc, st) in sorted(&s.service_status) {
                let row = [
                    ("span_name", Param::Text(name)),
                    ("service_name", Param::Text(svc)),
                    ("status_unset_count", Param::Int(st[0] as i64)),
                    ("status_ok_count", Param::Int(st[1] as i64)),
                    ("status_error_count", Param::Int(st[2] as i64)),
                ];
                self.run("span_service_status", &row, &[name, svc])?;
            }
            for (ev, e) in sorted(&s.events) {
                let seen = seen_text(&e.total.seen);
                let [first, last] = seen_params(&seen);
                let row = [
                    ("span_name", Param::Text(name)),
                    ("event_name", Param::Text(ev)),
                    ("event_count", Param::Int(e.total.count as i64)),
                    ("first_seen", first),
                    ("last_seen", last),
                ];
                self.run("span_event", &row, &[name, ev])?;
                push_keys(&mut rows, name, "event", Some(ev), &e.keys);
            }
            push_keys(&mut rows, name, "attribute", Some(""), &s.attrs);
            push_keys(&mut rows, name, "resource", Some(""), &s.resource);
            push_keys(&mut rows, name, "link", Some(""), &s.links);
        }
        self.key_rows("span_key", &rows)?;
        for (name, _) in sorted(&b.spans) {
            self.refresh("span_refresh", "span_name", name)?;
        }
        Ok(())
    }

    fn logs(&mut self, b: &Batch) -> Result<()> {
        let mut rows = Vec::new();
        for (sev, l) in sorted(&b.logs) {
            let seen = seen_text(&l.total.seen);
            let [first, last] = seen_params(&seen);
            let row = [
                ("severity", Param::Text(sev)),
                ("total_sample_count", Param::Int(l.total.count as i64)),
                ("first_seen", first),
                ("last_seen", last),
            ];
            self.run("log", &row, &[sev])?;
            self.services("log_service", "severity", sev, &l.services)?;
            push_keys(&mut rows, sev, "attribute", None, &l.attrs);
            push_keys(&mut rows, sev, "resource", None, &l.resource);
        }
        self.key_rows("log_key", &rows)?;
        for (sev, _) in sorted(&b.logs) {
            self.refresh("log_refresh", "severity", sev)?;
        }
        Ok(())
    }

    /// Each (severity, service)'s template rows, then its clusters merged
    /// away (folds). Percentages are derived when read (the view
    /// log_body_templates): the other rows of the service are not touched.
    fn log_templates(&mut self, b: &Batch, texts: &Texts) -> Result<()> {
        let mut groups: Vec<_> = b.templates.iter().collect();
        groups.sort_by(|a, b| a.0.cmp(b.0));
        for ((sev, svc), g) in groups {
            let (sev, svc) = (sev.as_str(), svc.as_str());
            let mut ids: Vec<_> = g.clusters.keys().copied().collect();
            ids.sort_unstable();
            for id in ids {
                let t = &g.clusters[&id];
                let (template, example) = texts.log(sev, svc, id)?;
                let seen = seen_text(&t.lines.seen);
                let [first, last] = seen_params(&seen);
                let row = [
                    ("severity", Param::Text(sev)),
                    ("service_name", Param::Text(svc)),
                    ("cluster_id", Param::Int(id as i64)),
                    ("template", Param::Text(&template)),
                    ("example", Param::Text(&example)),
                    ("count", Param::Int(t.lines.count as i64)),
                    ("first_seen", first),
                    ("last_seen", last),
                ];
                let id_text = id.to_string();
                self.run("log_template", &row, &[sev, svc, &id_text])?;
                let mut keys: Vec<_> = t.keys.iter().collect();
                keys.sort_unstable_by(|a, b| a.0.cmp(b.0));
                for (key, k) in keys {
                    let c = &k.records;
                    let seen = seen_text(&c.seen);
                    let [first, last] = seen_params(&seen);
                    let row = [
                        ("severity", Param::Text(sev)),
                        ("service_name", Param::Text(svc)),
                        ("cluster_id", Param::Int(id as i64)),
                        ("key_name", Param::Text(key)),
                        ("key_count", Param::Int(c.count as i64)),
                        ("first_seen", first),
                        ("last_seen", last),
                    ];
                    self.run("log_template_key", &row, &[sev, svc, &id_text, key])?;
                }
            }
            // A cluster merged away hands its rows to where its lines went
            // (following later merges of that cluster too).
            for (&(from, _), &to) in g.folds.iter().zip(&final_targets(&g.folds)) {
                let key = [sev, svc, &to.to_string()];
                let group = [
                    ("severity", Param::Text(sev)),
                    ("service_name", Param::Text(svc)),
                    ("from_cluster", Param::Int(from as i64)),
                ];
                let mut fold = group.to_vec();
                fold.push(("to_cluster", Param::Int(to as i64)));
                self.run("log_template_fold", &fold, &key)?;
                self.run("log_template_fold_delete", &group, &key)?;
                self.run("log_template_key_fold", &fold, &key)?;
                self.run("log_template_key_fold_delete", &group, &key)?;
            }
        }
        Ok(())
    }

    /// Span-name patterns, per service: rows, folds, estimated names.
    fn span_patterns(&mut self, groups: &Map<String, PatternGroup>, texts: &Texts) -> Result<()> {
        for (svc, g) in sorted(groups) {
            let mut ids: Vec<_> = g.clusters.keys().copied().collect();
            ids.sort_unstable();
            for id in ids {
                let p = &g.clusters[&id];
                let (pattern, example) = texts.pattern(svc, id)?;
                let sketch = p.names.image();
                let seen = seen_text(&p.spans.seen);
                let [first, last] = seen_params(&seen);
                let row = [
                    ("service_name", Param::Text(svc)),
                    ("cluster_id", Param::Int(id as i64)),
                    ("pattern", Param::Text(&pattern)),
                    ("example", Param::Text(&example)),
                    ("span_count", Param::Int(p.spans.count as i64)),
                    ("names_sketch", Param::Blob(&sketch)),
                    ("first_seen", first),
                    ("last_seen", last),
                ];
                self.run("span_pattern", &row, &[svc, &id.to_string()])?;
            }
            let targets = final_targets(&g.folds);
            for (&(from, _), &to) in g.folds.iter().zip(&targets) {
                let row = [
                    ("service_name", Param::Text(svc)),
                    ("from_cluster", Param::Int(from as i64)),
                    ("to_cluster", Param::Int(to as i64)),
                ];
                self.run("span_pattern_fold", &row, &[svc, &to.to_string()])?;
                self.run(
                    "span_pattern_fold_delete",
                    &row[..2],
                    &[svc, &from.to_string()],
                )?;
            }
            // Estimated names of the patterns written, and of those folded
            // into: the service's other patterns did not change.
            let mut changed: Vec<u64> = g.clusters.keys().copied().collect();
            changed.extend(targets);
            changed.sort_unstable();
            changed.dedup();
            for id in changed {
                let id_text = id.to_string();
                let row = [
                    ("service_name", Param::Text(svc)),
                    ("cluster_id", Param::Int(id as i64)),
                ];
                self.run("span_pattern_refresh", &row, &[svc, &id_text])?;
            }
        }
        Ok(())
    }
}

/// Adds the rows of one scope's keys, in key order: (entity, scope, key)
/// then, for spans, `event` ("" outside the event scope).
fn push_keys<'a>(
    rows: &mut Vec<KeyRow<'a>>,
    entity: &'a str,
    scope: &'a str,
    event: Option<&'a str>,
    keys: &'a Keys,
) {
    for (k, a) in sorted_keys(keys) {
        rows.push(match event {
            Some(ev) => KeyRow::new(&[entity, scope, k, ev], a),
            None => KeyRow::new(&[entity, scope, k], a),
        });
    }
}

/// For each fold `(from, into)` of a batch, in order, where the lines of
/// `from` end up: `into`, or where later folds moved it. One backward pass
/// (a chain of F folds is not followed F times).
fn final_targets(folds: &[(u64, u64)]) -> Vec<u64> {
    // Cluster -> where it ends up, by the folds after the one at hand (a
    // cluster folded away is gone, but if an id came back, the first of
    // its later folds is the one that moves lines sent to it).
    let mut ends: Map<u64, u64> = Map::new();
    let mut out = vec![0; folds.len()];
    for (k, &(from, into)) in folds.iter().enumerate().rev() {
        let to = ends.get(&into).copied().unwrap_or(into);
        out[k] = to;
        ends.insert(from, to);
    }
    out
}

/// A time as the catalog stores it, on the stack for years 0 to 9999.
enum TimeText {
    Short([u8; 19]),
    Wide(String),
}

impl TimeText {
    fn of(secs: i64) -> TimeText {
        match datetime_bytes(secs) {
            Some(b) => TimeText::Short(b),
            None => TimeText::Wide(datetime_wide(secs)),
        }
    }
    fn as_str(&self) -> &str {
        match self {
            TimeText::Short(b) => std::str::from_utf8(b).expect("ASCII digits"),
            TimeText::Wide(s) => s,
        }
    }
}

/// The metric row's shape parameters (schema version 3).
fn shape_params(m: &MetricAgg) -> [(&'static str, Param<'static>); 7] {
    let int = |v: Option<i64>| v.map_or(Param::Null, Param::Int);
    let sh = &m.shape;
    [
        ("temporality", Param::Text(m.temporality.as_str())),
        ("is_monotonic", Param::Int(i64::from(m.monotonic))),
        (
            "histogram_buckets",
            int(sh.histogram_buckets.map(i64::from)),
        ),
        ("exp_histogram_buckets", int(sh.exp_buckets.map(i64::from))),
        (
            "exp_histogram_min_scale",
            int(sh.exp_scale.map(|s| i64::from(s.0))),
        ),
        (
            "exp_histogram_max_scale",
            int(sh.exp_scale.map(|s| i64::from(s.1))),
        ),
        (
            "summary_quantiles",
            int(sh.summary_quantiles.map(i64::from)),
        ),
    ]
}

/// First and last seen as text; `None` when nothing was seen (a metric
/// that came without data points).
fn seen_text(s: &Seen) -> Option<[TimeText; 2]> {
    (!s.is_none()).then(|| [TimeText::of(s.first), TimeText::of(s.last)])
}

/// Keys in name order (deterministic writes).
fn sorted_keys(keys: &Keys) -> Vec<(&String, &KeyAgg)> {
    let mut v: Vec<_> = keys.iter().collect();
    v.sort_by(|a, b| a.0.cmp(b.0));
    v
}

/// Map entries in key order (deterministic writes).
fn sorted<V>(m: &Map<String, V>) -> Vec<(&String, &V)> {
    let mut v: Vec<_> = m.iter().collect();
    v.sort_by(|a, b| a.0.cmp(b.0));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn datetime(secs: i64) -> String {
        TimeText::of(secs).as_str().to_owned()
    }

    /// The backward pass gives what following each fold's later folds
    /// one by one gives (chains, merges into a cluster merged later, ids
    /// folded twice), on random fold lists.
    #[test]
    fn final_targets_follow_later_folds() {
        fn naive(later: &[(u64, u64)], mut to: u64) -> u64 {
            for &(f, i) in later {
                if f == to {
                    to = i;
                }
            }
            to
        }
        let mut r = crate::testutil::XorShift::new(0x5EED_F01D);
        for _ in 0..2_000 {
            let n = r.below(30) as usize;
            let ids = 1 + r.below(12);
            let folds: Vec<(u64, u64)> = (0..n).map(|_| (r.below(ids), r.below(ids))).collect();
            let want: Vec<u64> = (0..n).map(|k| naive(&folds[k + 1..], folds[k].1)).collect();
            assert_eq!(final_targets(&folds), want, "{folds:?}");
        }
        // A chain: 1 -> 2, 2 -> 3, ..., all end in the last.
        let chain: Vec<(u64, u64)> = (1..50_000).map(|i| (i, i + 1)).collect();
        assert!(final_targets(&chain).iter().all(|&t| t == 50_000));
    }

    #[test]
    fn datetime_matches_sqlite() {
        assert_eq!(datetime(0), "1970-01-01 00:00:00");
        assert_eq!(datetime(1_544_712_660), "2018-12-13 14:51:00");
        assert_eq!(datetime(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(datetime(-1), "1969-12-31 23:59:59");
        assert_eq!(datetime(253_402_300_799), "9999-12-31 23:59:59");
        assert_eq!(datetime(253_402_300_800), "10000-01-01 00:00:00");
        assert_eq!(datetime(-62_135_596_800), "0001-01-01 00:00:00");
    }

    #[test]
    fn multi_row_statements_renumber_each_row() {
        let sql = "INSERT INTO t(a, b, c) VALUES (:a, 100.0 * :b, :c)\nON CONFLICT(a) DO UPDATE SET b = b + excluded.b;";
        let names: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        assert_eq!(
            multi_row(sql, &names, 3),
            "INSERT INTO t(a, b, c) VALUES (?1, 100.0 * ?2, ?3), (?4, 100.0 * ?5, ?6), (?7, 100.0 * ?8, ?9)\nON CONFLICT(a) DO UPDATE SET b = b + excluded.b;"
        );
        // Numbered by the statement's order of parameters, not the tuple's.
        let names: Vec<String> = ["c", "a", "b"].map(String::from).to_vec();
        assert_eq!(
            multi_row("INSERT INTO t(a, b, c) VALUES (:a, :b, :c);", &names, 2),
            "INSERT INTO t(a, b, c) VALUES (?2, ?3, ?1), (?5, ?6, ?4);"
        );
        // The key statements: one tuple of named parameters, nothing else
        // named; every one of them a column of the tuple.
        for (name, sql) in statements() {
            if KEY_STATEMENTS.contains(&name) {
                let start = sql.find("VALUES (").unwrap();
                let tuple = &sql[start..start + sql[start..].find(')').unwrap()];
                let per = sql.matches(':').count();
                assert_eq!(tuple.matches(':').count(), per, "{name}");
                let names: Vec<String> = tuple
                    .split(':')
                    .skip(1)
                    .map(|p| p.split([',', ' ']).next().unwrap().to_string())
                    .collect();
                let two = multi_row(sql, &names, 2);
                assert_eq!(two.matches('?').count(), 2 * per, "{name}");
                assert!(two.contains(&format!("?{}", 2 * per)), "{name}");
                assert!(!two.contains(':'), "{name}");
            }
        }
    }

    /// Every key row binds every parameter of its statement, by name.
    #[test]
    fn key_rows_name_every_parameter() {
        for (name, sql, entity, texts) in [
            ("metric_key", "metric_keys", "metric_name", 3),
            ("span_key", "span_keys", "span_name", 4),
            ("log_key", "log_keys", "severity", 3),
        ] {
            let stmt = statements().into_iter().find(|s| s.0 == name).unwrap().1;
            let mut want: Vec<&str> = stmt
                .split(':')
                .skip(1)
                .map(|p| p.split([',', ' ', ')']).next().unwrap())
                .collect();
            let mut got = KeyRow::names(entity, texts);
            want.sort_unstable();
            got.sort_unstable();
            assert_eq!(got, want, "{name} ({sql})");
        }
    }

    #[test]
    fn every_statement_is_named() {
        let names: Vec<_> = statements().into_iter().map(|(n, _)| n).collect();
        assert!(
            names.contains(&"metric") && names.contains(&"span_pattern_refresh"),
            "{names:?}"
        );
        assert_eq!(names.len(), 26);
        for (n, sql) in statements() {
            assert!(!sql.is_empty() && !sql.contains("-- name:"), "{n}");
            // Errors name the table the statement writes.
            let table = table_of(n);
            assert!(
                sql.contains(&format!("INSERT INTO {table}("))
                    || sql.contains(&format!("UPDATE {table} SET"))
                    || sql.contains(&format!("DELETE FROM {table} ")),
                "{n} does not write {table}"
            );
        }
    }
}
