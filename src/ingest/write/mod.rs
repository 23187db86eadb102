//! The flush: writes a batch into the catalog with the UPSERTs of
//! sql/flush.sql, each parameter bound by its name.

use ahash::AHashMap as Map;

mod fold;
mod history;
mod service_totals;
mod signals;
mod time;
mod totals;

pub use totals::{refresh_totals, register as register_totals};

use time::{TimeText, seen_params, seen_text};

use super::batch::{Batch, PatternGroup};
use super::history::Settings;
use super::keys::{Counted, KeyAgg, Keys};
use super::templates::Texts;
use crate::ffi::{Db, Error, Param, Result, Stmt};
use crate::hll;
use crate::topk;

const FLUSH_SQL: &str = include_str!("../../../sql/flush.sql");

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

/// How many top values an entity key row keeps (`topk_counts(top_sketch, 10)`).
const TOP_VALUES: usize = 10;

/// The key UPSERTs, also run with [`CHUNK`] rows a statement.
const KEY_STATEMENTS: [&str; 7] = [
    "metric_key",
    "span_key",
    "log_key",
    "metric_service_key",
    "span_service_key",
    "log_service_key",
    "log_event_key",
];

/// What the rows of a key UPSERT hold besides the key's statistics.
#[derive(Clone, Copy)]
struct KeyShape {
    /// The entity's parameter.
    entity: &'static str,
    /// A service (per-service keys).
    service: bool,
    /// A scope (all but log event names' keys).
    scope: bool,
    /// An event (span keys).
    event: bool,
    /// Top values (the entity key tables store them; the per-service and
    /// event name views derive them when read).
    top_values: bool,
}

fn key_statement_shape(stmt: &str) -> KeyShape {
    let (entity, service, scope, event, top_values) = match stmt {
        "span_key" => ("span_name", false, true, true, true),
        "log_key" => ("severity", false, true, false, true),
        "metric_service_key" => ("metric_name", true, true, false, false),
        "span_service_key" => ("span_name", true, true, true, false),
        "log_service_key" => ("severity", true, true, false, false),
        "log_event_key" => ("event_name", false, false, false, false),
        _ => ("metric_name", false, true, false, true),
    };
    KeyShape {
        entity,
        service,
        scope,
        event,
        top_values,
    }
}

/// The table a statement of sql/flush.sql writes.
fn table_of(stmt: &str) -> &'static str {
    match stmt {
        "metric" | "metric_series_refresh" => "metrics",
        "metric_service" | "metric_service_shape" => "metric_services",
        "metric_key" => "metric_key_rows",
        "span" => "spans",
        "span_service" | "span_service_status" => "span_services",
        "span_event" => "span_events",
        "span_key" => "span_key_rows",
        "metric_service_key" => "metric_service_key_rows",
        "span_service_key" => "span_service_key_rows",
        "log_service_key" => "log_service_key_rows",
        "span_service_event" => "span_service_events",
        "log" => "logs",
        "log_service" | "log_service_trace_context" => "log_services",
        "log_key" => "log_key_rows",
        "metric_scope" => "metric_scopes",
        "span_scope" => "span_scopes",
        "log_scope" => "log_scopes",
        "log_template" | "log_template_fold" | "log_template_fold_delete" => {
            "log_body_template_rows"
        }
        "log_template_key" | "log_template_key_fold" | "log_template_key_fold_delete" => {
            "log_template_keys"
        }
        "log_event" => "log_events",
        "log_event_service" => "log_event_services",
        "log_event_key" => "log_event_key_rows",
        "key_name_pattern" => "key_name_patterns",
        "entity_history" | "entity_history_rollup" | "entity_history_prune" => "entity_history",
        "service_history" | "service_history_rollup" | "service_history_prune" => "service_history",
        "key_history" | "key_history_rollup" | "key_history_prune" => "key_history_buckets",
        "key_history_key" | "key_history_keys_prune" => "key_history_keys",
        "key_total" => "key_totals",
        "key_name_total" => "key_name_totals",
        "service_total" => "service_totals",
        "template_history"
        | "template_history_fold"
        | "template_history_fold_delete"
        | "template_history_rollup"
        | "template_history_prune" => "template_history_rows",
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
        || e.msg.starts_with("json_counts")
        || e.msg.starts_with("topk_");
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
/// parameters (entity, for per-service keys the service, scope (none for log
/// event names), key and, for spans, event), then count, samples, sketch,
/// first and last seen, bytes, value types and top sketch, and the
/// estimated cardinality of the batch's own values (a new row's).
struct KeyRow<'a> {
    texts: [&'a str; 5],
    n: usize,
    count: i64,
    samples: String,
    sketch: Vec<u8>,
    seen: Option<[TimeText; 2]>,
    bytes: i64,
    types: String,
    top: Option<Vec<u8>>,
    /// The estimated cardinality of the batch's values (`hll_count` of
    /// the sketch, clamped to the count): a new row's.
    estimate: i64,
    /// Entity key rows: `topk_counts(top, 10)` (a new row's top values).
    top_values: Option<String>,
    /// An entity's key row: its key, whose history is written too.
    agg: Option<&'a KeyAgg>,
}

/// The parameters of a key UPSERT's row, in [`KeyRow::values`] order after
/// the entity's own name (`metric_name`, `span_name`, `severity` or
/// `event_name`); a log event name's rows have no `key_scope`.
const KEY_PARAMS: [&str; 11] = [
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
    "top_sketch",
];

/// The estimated cardinality of a batch sketch's image (`hll_count`),
/// clamped to the `count` of records it was made from: what a new row
/// stores.
fn estimate_of(sketch: &[u8], count: i64) -> Result<i64> {
    hll::decode(sketch)
        .map(|s| hll::count(&s).min(count))
        .map_err(|e| Error::new(format!("otlp_ingest: a batch sketch: {e}")))
}

impl<'a> KeyRow<'a> {
    fn new(texts: &[&'a str], a: &KeyAgg) -> Result<KeyRow<'a>> {
        let mut t = [""; 5];
        t[..texts.len()].copy_from_slice(texts);
        let sketch = a.sketch.image();
        let count = a.count as i64;
        let estimate = estimate_of(&sketch, count)?;
        Ok(KeyRow {
            texts: t,
            n: texts.len(),
            count,
            samples: a.samples_json(),
            sketch,
            seen: seen_text(&a.seen),
            bytes: a.bytes as i64,
            types: a.types_json(),
            top: a.top.image(),
            estimate,
            top_values: None,
            agg: None,
        })
    }

    /// The row with its top values (an entity key row's): what
    /// `topk_counts(top_sketch, 10)` gives.
    fn with_top_values(mut self) -> Result<KeyRow<'a>> {
        self.top_values = match &self.top {
            Some(b) => Some(
                topk::parse(b)
                    .map_err(|e| Error::new(format!("otlp_ingest: a batch top sketch: {e}")))?
                    .counts_json(TOP_VALUES),
            ),
            None => None,
        };
        Ok(self)
    }

    /// The same values under other leading texts (an entity's row of a key
    /// that one service sent: the service's row).
    fn copy_as(&self, texts: &[&'a str]) -> KeyRow<'a> {
        let mut t = [""; 5];
        t[..texts.len()].copy_from_slice(texts);
        KeyRow {
            texts: t,
            n: texts.len(),
            count: self.count,
            samples: self.samples.clone(),
            sketch: self.sketch.clone(),
            seen: self.seen.clone(),
            bytes: self.bytes,
            types: self.types.clone(),
            top: self.top.clone(),
            estimate: self.estimate,
            top_values: None,
            agg: None,
        }
    }

    /// The parameter names of rows of the shape `s`.
    fn names(s: KeyShape) -> Vec<&'static str> {
        let mut v = vec![s.entity];
        if s.service {
            v.push("service_name");
        }
        v.extend(KEY_PARAMS.iter().filter(|p| match **p {
            "key_scope" => s.scope,
            "event_name" => s.event,
            _ => true,
        }));
        v.push("estimated_cardinality");
        if s.top_values {
            v.push("top_values");
        }
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
        out[n..n + 8].copy_from_slice(&[
            Param::Int(self.count),
            Param::Text(&self.samples),
            Param::Blob(&self.sketch),
            first,
            last,
            Param::Int(self.bytes),
            Param::Text(&self.types),
            match &self.top {
                Some(b) => Param::Blob(b),
                None => Param::Null,
            },
        ]);
        out[n + 8] = Param::Int(self.estimate);
        // (Past the parameters of rows without top values: not bound.)
        out[n + 9] = match &self.top_values {
            Some(t) => Param::Text(t),
            None => Param::Null,
        };
    }
}

/// Prepared flush statements of one connection.
pub struct Writer {
    db: Db,
    stmts: Map<&'static str, Named>,
    keys: Map<&'static str, KeyStatement>,
    /// The queries of the bound of key names (`fold.rs`), prepared when first used.
    fold: fold::FoldQueries,
    /// The history's roll-up and retention cutoffs (`history.rs`).
    cutoffs: Option<Stmt>,
    /// The chunked key history UPSERT (`history.rs`), prepared when first used.
    key_history: Option<history::KeyHistoryStatement>,
    /// The chunked template, template history and template key UPSERTs
    /// (`signals.rs`), prepared when first used.
    templates: Option<[history::Chunked; 3]>,
    /// The lookups of the key totals (`totals.rs`), prepared when first used.
    totals: totals::TotalsQueries,
    service_probes: service_totals::Probes,
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
            let at = one.positions(name, &KeyRow::names(key_statement_shape(name)))?;
            // A host that lowered SQLITE_LIMIT_VARIABLE_NUMBER below a
            // chunk's parameters cannot prepare it: its key rows go one by one.
            let chunk = Stmt::prepare(db, &multi_row(sql, &one.names, CHUNK)).ok();
            keys.insert(name, KeyStatement { one, chunk, at });
        }
        Ok(Writer {
            db,
            stmts,
            keys,
            fold: fold::FoldQueries::default(),
            cutoffs: None,
            key_history: None,
            templates: None,
            totals: totals::TotalsQueries::default(),
            service_probes: service_totals::Probes::default(),
        })
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
                ("bytes", Param::Int(c.bytes as i64)),
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
        settings: &Settings,
    ) -> Result<()> {
        self.service_totals(b)?;
        self.metrics(b)?;
        self.spans(b)?;
        self.logs(b)?;
        self.log_events(b)?;
        self.log_templates(b, texts)?;
        self.span_patterns(patterns, texts)?;
        self.entity_history(b)?;
        self.roll_up(settings)
    }
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
        // The key statements and the others written in chunks: one tuple
        // of named parameters, nothing else named; every one of them a
        // column of the tuple.
        let chunked = [
            "key_history_key",
            "key_history",
            "log_template",
            "template_history",
            "log_template_key",
        ];
        for (name, sql) in statements() {
            if KEY_STATEMENTS.contains(&name) || chunked.contains(&name) {
                // (Without the comments, which may hold colons.)
                let sql = &sql
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("--"))
                    .collect::<Vec<_>>()
                    .join("\n");
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
        for name in KEY_STATEMENTS {
            let sql = table_of(name);
            let stmt = statements().into_iter().find(|s| s.0 == name).unwrap().1;
            let mut want: Vec<&str> = stmt
                .split(':')
                .skip(1)
                .map(|p| p.split([',', ' ', ')']).next().unwrap())
                .collect();
            let mut got = KeyRow::names(key_statement_shape(name));
            want.sort_unstable();
            got.sort_unstable();
            assert_eq!(got, want, "{name} ({sql})");
        }
    }

    #[test]
    fn every_statement_is_named() {
        let names: Vec<_> = statements().into_iter().map(|(n, _)| n).collect();
        assert!(
            names.contains(&"metric")
                && names.contains(&"span_pattern_refresh")
                && names.contains(&"log_scope"),
            "{names:?}"
        );
        assert_eq!(names.len(), 54);
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
