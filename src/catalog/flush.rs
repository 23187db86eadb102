//! Writes an aggregated batch into the catalog with the UPSERTs of
//! sql/flush.sql.

use ahash::AHashMap as Map;

use super::aggregate::{Batch, Counted, KeyAgg, Keys, PatternGroup, Seen};
use crate::ffi::{Db, Error, Param, Result, Stmt};
use crate::hll;

pub const SCHEMA: &str = include_str!("../../sql/schema.sql");
pub const VIEWS: &str = include_str!("../../sql/views.sql");
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

/// A log template's text and example: `(severity, service, cluster)`.
pub type TemplateInfo<'a> = dyn Fn(&str, &str, u64) -> Option<(String, String)> + 'a;
/// A span-name pattern's text and example: `(service, cluster)`.
pub type PatternInfo<'a> = dyn Fn(&str, u64) -> Option<(String, String)> + 'a;

/// Prepared flush statements of one connection.
pub struct Writer {
    db: Db,
    stmts: Map<&'static str, Stmt>,
    /// The key UPSERTs for [`CHUNK`] rows at a time.
    multi: Map<&'static str, Stmt>,
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
        "metric_service" => "metric_services",
        "metric_key" | "metric_refresh" => "metric_keys",
        "span" => "spans",
        "span_service" => "span_services",
        "span_event" => "span_events",
        "span_key" | "span_refresh" => "span_keys",
        "log" => "logs",
        "log_service" => "log_services",
        "log_key" | "log_refresh" => "log_keys",
        "log_template"
        | "log_template_fold"
        | "log_template_fold_delete"
        | "log_template_refresh" => "log_body_templates",
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
    let damaged = e.msg.starts_with("hll_") || e.msg.starts_with("json_samples");
    let hint = if damaged {
        "; its stored value is damaged (a file edited by hand or from elsewhere?): repair or delete that row"
    } else {
        ""
    };
    Error::with_code(e.code, format!("{table} row ({key}): {}{hint}", e.msg))
}

/// A single-row `INSERT … VALUES (?1, …, ?n) …` statement for `rows` rows:
/// the VALUES tuple repeated, row r's parameters renumbered ?(r·n + i).
/// The tuple must hold no parentheses (those of sql/flush.sql do not).
fn multi_row(sql: &str, rows: usize) -> String {
    let start = sql.find("VALUES (").expect("an INSERT … VALUES statement") + "VALUES ".len();
    let end = start + sql[start..].find(')').expect("a closed VALUES tuple") + 1;
    let tuple = &sql[start..end];
    // (text before, parameter number) pieces of the tuple.
    let mut pieces = Vec::new();
    let mut rest = tuple;
    while let Some(q) = rest.find('?') {
        let digits = rest[q + 1..].bytes().take_while(u8::is_ascii_digit).count();
        let n: usize = rest[q + 1..q + 1 + digits]
            .parse()
            .expect("numbered parameters");
        pieces.push((&rest[..q], n));
        rest = &rest[q + 1 + digits..];
    }
    let per = pieces.iter().map(|p| p.1).max().unwrap_or(0);
    let mut out = String::from(&sql[..start]);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        for (text, n) in &pieces {
            out.push_str(text);
            out.push_str(&format!("?{}", r * per + n));
        }
        out.push_str(rest);
    }
    out.push_str(&sql[end..]);
    out
}

/// One key row to write, owned for the statement's run: its leading text
/// parameters (entity, scope, key and, for spans, event), then count,
/// samples, sketch, first and last seen.
struct KeyRow<'a> {
    texts: [&'a str; 4],
    n: usize,
    count: i64,
    samples: String,
    sketch: Vec<u8>,
    seen: Option<[TimeText; 2]>,
}

impl<'a> KeyRow<'a> {
    fn new(texts: &[&'a str], a: &KeyAgg) -> KeyRow<'a> {
        let mut t = [""; 4];
        t[..texts.len()].copy_from_slice(texts);
        KeyRow {
            texts: t,
            n: texts.len(),
            count: a.count as i64,
            samples: a.samples_json(),
            sketch: sketch_bytes(&a.sketch),
            seen: seen_text(&a.seen),
        }
    }
    fn params<'p>(&'p self, out: &mut Vec<Param<'p>>) {
        out.extend(self.texts[..self.n].iter().map(|t| Param::Text(t)));
        let (first, last) = match &self.seen {
            Some([f, l]) => (Param::Text(f.as_str()), Param::Text(l.as_str())),
            None => (Param::Null, Param::Null),
        };
        out.extend([
            Param::Int(self.count),
            Param::Text(&self.samples),
            Param::Blob(&self.sketch),
            first,
            last,
        ]);
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

fn sketch_bytes(b: &hll::Builder) -> Vec<u8> {
    b.image()
}

impl Writer {
    pub fn new(db: Db) -> Result<Writer> {
        let mut stmts = Map::new();
        for (name, sql) in statements() {
            let st = Stmt::prepare(db, sql).map_err(|e| {
                Error::with_code(
                    e.code,
                    format!("otlp_ingest: cannot prepare {name}: {}", e.msg),
                )
            })?;
            stmts.insert(name, st);
        }
        // A host that lowered SQLITE_LIMIT_VARIABLE_NUMBER below a chunk's
        // parameters cannot prepare these: its key rows go one by one.
        let mut multi = Map::new();
        for (name, sql) in statements() {
            if KEY_STATEMENTS.contains(&name)
                && let Ok(st) = Stmt::prepare(db, &multi_row(sql, CHUNK))
            {
                multi.insert(name, st);
            }
        }
        Ok(Writer { db, stmts, multi })
    }

    fn st(&mut self, name: &str) -> &mut Stmt {
        self.stmts
            .get_mut(name)
            .expect("statement of sql/flush.sql")
    }

    /// Runs the bound statement `name`, which writes the row `key`.
    fn run(&mut self, name: &'static str, key: &[&str]) -> Result<()> {
        self.st(name)
            .run()
            .map_err(|e| located(e, table_of(name), key))
    }

    fn services(
        &mut self,
        stmt: &'static str,
        entity: &str,
        services: &Map<String, Counted>,
    ) -> Result<()> {
        for (svc, c) in sorted(services) {
            let st = self.st(stmt);
            st.bind_text(1, entity)?;
            st.bind_text(2, svc)?;
            st.bind_i64(3, c.count as i64)?;
            bind_seen(st, 4, &c.seen)?;
            self.run(stmt, &[entity, svc])?;
        }
        Ok(())
    }

    /// Writes key rows with `stmt` (metric_key, span_key, log_key): in
    /// chunks of [`CHUNK`] rows a statement, the rest one by one.
    fn key_rows(&mut self, stmt: &'static str, rows: &[KeyRow]) -> Result<()> {
        let chunked = if self.multi.contains_key(stmt) {
            rows.len() / CHUNK * CHUNK
        } else {
            0
        };
        let (head, rest) = rows.split_at(chunked);
        let mut params = Vec::new();
        for chunk in head.chunks_exact(CHUNK) {
            params.clear();
            for r in chunk {
                r.params(&mut params);
            }
            let st = self.multi.get_mut(stmt).expect("prepared");
            if let Err(e) = st.run_with(&params) {
                // Which row? The failed statement changed nothing: run its
                // rows one by one to find out (the transaction fails anyway).
                return Err(self.locate_key_row(stmt, chunk).unwrap_or(e));
            }
        }
        for r in rest {
            params.clear();
            r.params(&mut params);
            self.st(stmt)
                .run_with(&params)
                .map_err(|e| located(e, table_of(stmt), &r.texts[..r.n]))?;
        }
        Ok(())
    }

    /// The located error of the first of `rows` that fails alone.
    fn locate_key_row(&mut self, stmt: &'static str, rows: &[KeyRow]) -> Option<Error> {
        let mut params = Vec::new();
        for r in rows {
            params.clear();
            r.params(&mut params);
            if let Err(e) = self.st(stmt).run_with(&params) {
                return Some(located(e, table_of(stmt), &r.texts[..r.n]));
            }
        }
        None
    }

    fn refresh(&mut self, stmt: &'static str, entity: &str) -> Result<()> {
        let st = self.st(stmt);
        st.bind_text(1, entity)?;
        st.run().map_err(|e| self.locate_sketch(stmt, entity, e))
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

    /// Writes the batch. `template_info(severity, service, cluster)` gives a
    /// cluster's current template and example.
    pub fn write(&mut self, b: &Batch, template_info: &TemplateInfo) -> Result<()> {
        // Each entity's row, services and events first, then all key rows of
        // the batch (in chunks), then each entity's refresh.
        let mut rows = Vec::new();
        for (name, m) in sorted(&b.metrics) {
            let st = self.st("metric");
            st.bind_text(1, name)?;
            st.bind_text(2, m.kind.as_str())?;
            st.bind_text(3, &m.unit)?;
            st.bind_text(4, &m.description)?;
            st.bind_i64(5, m.total.count as i64)?;
            st.bind_blob(6, &sketch_bytes(&m.series))?;
            bind_seen(st, 7, &m.total.seen)?;
            self.run("metric", &[name])?;
            self.services("metric_service", name, &m.services)?;
            push_keys(&mut rows, name, "label", None, &m.labels);
            push_keys(&mut rows, name, "resource", None, &m.resource);
        }
        self.key_rows("metric_key", &rows)?;
        for (name, _) in sorted(&b.metrics) {
            self.refresh("metric_refresh", name)?;
            self.refresh("metric_series_refresh", name)?;
        }
        rows.clear();
        for (name, s) in sorted(&b.spans) {
            let st = self.st("span");
            st.bind_text(1, name)?;
            st.bind_text(2, s.kind.as_str())?;
            st.bind_i64(3, s.total.count as i64)?;
            st.bind_i64(4, s.events_total as i64)?;
            st.bind_i64(5, s.links_total as i64)?;
            bind_seen(st, 6, &s.total.seen)?;
            self.run("span", &[name])?;
            self.services("span_service", name, &s.services)?;
            for (ev, e) in sorted(&s.events) {
                let st = self.st("span_event");
                st.bind_text(1, name)?;
                st.bind_text(2, ev)?;
                st.bind_i64(3, e.total.count as i64)?;
                bind_seen(st, 4, &e.total.seen)?;
                self.run("span_event", &[name, ev])?;
                push_keys(&mut rows, name, "event", Some(ev), &e.keys);
            }
            push_keys(&mut rows, name, "attribute", Some(""), &s.attrs);
            push_keys(&mut rows, name, "resource", Some(""), &s.resource);
            push_keys(&mut rows, name, "link", Some(""), &s.links);
        }
        self.key_rows("span_key", &rows)?;
        for (name, _) in sorted(&b.spans) {
            self.refresh("span_refresh", name)?;
        }
        rows.clear();
        for (sev, l) in sorted(&b.logs) {
            let st = self.st("log");
            st.bind_text(1, sev)?;
            st.bind_i64(2, l.total.count as i64)?;
            bind_seen(st, 3, &l.total.seen)?;
            self.run("log", &[sev])?;
            self.services("log_service", sev, &l.services)?;
            push_keys(&mut rows, sev, "attribute", None, &l.attrs);
            push_keys(&mut rows, sev, "resource", None, &l.resource);
        }
        self.key_rows("log_key", &rows)?;
        for (sev, _) in sorted(&b.logs) {
            self.refresh("log_refresh", sev)?;
        }
        let mut groups: Vec<_> = b.templates.iter().collect();
        groups.sort_by(|a, b| a.0.cmp(b.0));
        for ((sev, svc), g) in groups {
            let mut ids: Vec<_> = g.clusters.keys().copied().collect();
            ids.sort_unstable();
            for id in ids {
                let t = &g.clusters[&id];
                let (template, example) = template_info(sev, svc, id).unwrap_or_default();
                let st = self.st("log_template");
                st.bind_text(1, sev)?;
                st.bind_text(2, svc)?;
                st.bind_i64(3, id as i64)?;
                st.bind_text(4, &template)?;
                st.bind_text(5, &example)?;
                st.bind_i64(6, t.lines.count as i64)?;
                bind_seen(st, 7, &t.lines.seen)?;
                self.run("log_template", &[sev, svc, &id.to_string()])?;
                let id_text = id.to_string();
                let mut keys: Vec<_> = t.keys.iter().collect();
                keys.sort_unstable_by(|a, b| a.0.cmp(b.0));
                for (key, c) in keys {
                    let st = self.st("log_template_key");
                    st.bind_text(1, sev)?;
                    st.bind_text(2, svc)?;
                    st.bind_i64(3, id as i64)?;
                    st.bind_text(4, key)?;
                    st.bind_i64(5, c.count as i64)?;
                    bind_seen(st, 6, &c.seen)?;
                    self.run("log_template_key", &[sev, svc, &id_text, key])?;
                }
            }
            // A cluster merged away hands its rows to where its lines went
            // (following later merges of that cluster too).
            for (k, &(from, into)) in g.folds.iter().enumerate() {
                let to = final_target(&g.folds[k + 1..], into);
                for name in [
                    "log_template_fold",
                    "log_template_fold_delete",
                    "log_template_key_fold",
                    "log_template_key_fold_delete",
                ] {
                    let st = self.st(name);
                    st.bind_text(1, sev)?;
                    st.bind_text(2, svc)?;
                    st.bind_i64(3, from as i64)?;
                    if name.ends_with("_fold") {
                        st.bind_i64(4, to as i64)?;
                    }
                    self.run(name, &[sev, svc, &to.to_string()])?;
                }
            }
            let st = self.st("log_template_refresh");
            st.bind_text(1, sev)?;
            st.bind_text(2, svc)?;
            self.run("log_template_refresh", &[sev, svc])?;
        }
        Ok(())
    }
}

/// Binds first and last seen; NULL when nothing was seen (a metric that
/// came without data points).
impl Writer {
    /// Writes span-name patterns. `info(service, cluster)` gives a pattern's
    /// current text and example.
    pub fn write_patterns(
        &mut self,
        groups: &Map<String, PatternGroup>,
        info: &PatternInfo,
    ) -> Result<()> {
        for (svc, g) in sorted(groups) {
            let mut ids: Vec<_> = g.clusters.keys().copied().collect();
            ids.sort_unstable();
            for id in ids {
                let p = &g.clusters[&id];
                let (pattern, example) = info(svc, id).unwrap_or_default();
                let st = self.st("span_pattern");
                st.bind_text(1, svc)?;
                st.bind_i64(2, id as i64)?;
                st.bind_text(3, &pattern)?;
                st.bind_text(4, &example)?;
                st.bind_i64(5, p.spans.count as i64)?;
                st.bind_blob(6, &sketch_bytes(&p.names))?;
                bind_seen(st, 7, &p.spans.seen)?;
                self.run("span_pattern", &[svc, &id.to_string()])?;
            }
            for (k, &(from, into)) in g.folds.iter().enumerate() {
                let to = final_target(&g.folds[k + 1..], into);
                let st = self.st("span_pattern_fold");
                st.bind_text(1, svc)?;
                st.bind_i64(2, from as i64)?;
                st.bind_i64(3, to as i64)?;
                self.run("span_pattern_fold", &[svc, &to.to_string()])?;
                let st = self.st("span_pattern_fold_delete");
                st.bind_text(1, svc)?;
                st.bind_i64(2, from as i64)?;
                self.run("span_pattern_fold_delete", &[svc, &from.to_string()])?;
            }
            self.refresh("span_pattern_refresh", svc)?;
        }
        Ok(())
    }
}

/// Where the lines of a merged cluster end up, following later merges.
fn final_target(later: &[(u64, u64)], mut to: u64) -> u64 {
    for &(f, i) in later {
        if f == to {
            to = i;
        }
    }
    to
}

fn bind_seen(st: &mut Stmt, at: i32, s: &Seen) -> Result<()> {
    match seen_text(s) {
        None => {
            st.bind_null(at)?;
            st.bind_null(at + 1)
        }
        Some([first, last]) => {
            st.bind_text(at, first.as_str())?;
            st.bind_text(at + 1, last.as_str())
        }
    }
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
        let sql = "INSERT INTO t(a, b, c) VALUES (?1, 100.0 * ?2, ?3)\nON CONFLICT(a) DO UPDATE SET b = b + excluded.b;";
        assert_eq!(
            multi_row(sql, 3),
            "INSERT INTO t(a, b, c) VALUES (?1, 100.0 * ?2, ?3), (?4, 100.0 * ?5, ?6), (?7, 100.0 * ?8, ?9)\nON CONFLICT(a) DO UPDATE SET b = b + excluded.b;"
        );
        // The key statements: one tuple of numbered parameters, nothing else numbered.
        for (name, sql) in statements() {
            if KEY_STATEMENTS.contains(&name) {
                let two = multi_row(sql, 2);
                let per = sql.matches('?').count();
                assert_eq!(two.matches('?').count(), 2 * per, "{name}");
                assert!(two.contains(&format!("?{}", 2 * per)), "{name}");
            }
        }
    }

    #[test]
    fn every_statement_is_named() {
        let names: Vec<_> = statements().into_iter().map(|(n, _)| n).collect();
        assert!(
            names.contains(&"metric") && names.contains(&"log_template_refresh"),
            "{names:?}"
        );
        assert_eq!(names.len(), 25);
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
