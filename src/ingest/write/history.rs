//! What the flush writes of the history (docs/catalog.md "History"): each
//! entity's and service's records per bucket, each entity key's per bucket,
//! then the roll-up of old buckets into days and the retention.

use std::borrow::Cow;

use ahash::AHashMap as Map;

use super::time::TimeText;
use super::{CHUNK, KeyRow, Writer, located, multi_row, sorted};
use crate::ffi::{Error, Param, Result, Stmt};
use crate::ingest::batch::{Batch, PerService, ServicePart};
use crate::ingest::history::{Buckets, Settings, Vol, Volume, add_buckets};

impl Writer {
    /// The entity and service rows of every entity of the batch.
    pub(super) fn entity_history(&mut self, b: &Batch) -> Result<()> {
        for (name, m) in sorted(&b.metrics) {
            self.volumes("metrics", name, &m.svc, |p| &p.volume)?;
        }
        for (name, s) in sorted(&b.spans) {
            self.volumes("spans", name, &s.svc, |p| &p.volume)?;
        }
        for (sev, l) in sorted(&b.logs) {
            self.volumes("logs", sev, &l.svc, |p| &p.volume)?;
        }
        Ok(())
    }

    fn volumes<T: ServicePart>(
        &mut self,
        signal: &str,
        entity: &str,
        svcs: &PerService<T>,
        volume: impl Fn(&T) -> &Volume,
    ) -> Result<()> {
        let mut all: Map<i64, Vol> = Map::new();
        let mut parts: Vec<_> = svcs.iter().collect();
        parts.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (svc, p) in parts {
            let v = volume(p);
            add_buckets(&mut all, v);
            for (bucket, vol) in v.by_bucket() {
                let start = TimeText::of(bucket);
                let row = [
                    ("signal", Param::Text(signal)),
                    ("entity", Param::Text(entity)),
                    ("service_name", Param::Text(svc)),
                    ("bucket_start", Param::Text(start.as_str())),
                    ("records", Param::Int(vol.count as i64)),
                    ("bytes", Param::Int(vol.bytes as i64)),
                ];
                self.run("service_history", &row, &[signal, entity, svc])?;
            }
        }
        let mut all: Vec<_> = all.into_iter().collect();
        all.sort_unstable_by_key(|x| x.0);
        for (bucket, vol) in all {
            let start = TimeText::of(bucket);
            let row = [
                ("signal", Param::Text(signal)),
                ("entity", Param::Text(entity)),
                ("bucket_start", Param::Text(start.as_str())),
                ("records", Param::Int(vol.count as i64)),
                ("bytes", Param::Int(vol.bytes as i64)),
            ];
            self.run("entity_history", &row, &[signal, entity])?;
        }
        Ok(())
    }

    /// The history rows of an entity's key rows (`rows` of `metric_key`,
    /// `span_key` or `log_key`): a key whose batch fell in one bucket
    /// writes its row's own count, bytes and sketch there. Each key is
    /// named in `key_history_keys` first (`key_history_key`), then its rows
    /// find its `key_id` there (`key_history`). Both are written as the key
    /// rows are: [`CHUNK`] rows a statement, the rest one by one.
    pub(super) fn key_history(&mut self, signal: &str, rows: &[KeyRow]) -> Result<()> {
        let mut keys: Vec<[&str; 5]> = Vec::new();
        let mut hist: Vec<KeyHistoryRow> = Vec::new();
        for row in rows {
            let Some(a) = row.agg else { continue };
            let event = if row.n > 3 { row.texts[3] } else { "" };
            let texts = [signal, row.texts[0], row.texts[1], row.texts[2], event];
            match a.buckets() {
                Buckets::Empty => continue,
                Buckets::One(bucket) => hist.push(KeyHistoryRow {
                    texts,
                    start: bucket,
                    count: a.count as i64,
                    bytes: a.bytes as i64,
                    sketch: Cow::Borrowed(&row.sketch),
                }),
                Buckets::Many(m) => {
                    let mut buckets: Vec<_> = m.iter().collect();
                    buckets.sort_unstable_by_key(|x| *x.0);
                    for (&bucket, kb) in buckets {
                        hist.push(KeyHistoryRow {
                            texts,
                            start: bucket,
                            count: kb.count as i64,
                            bytes: kb.bytes as i64,
                            sketch: Cow::Owned(kb.sketch.image()),
                        });
                    }
                }
            }
            keys.push(texts);
        }
        if hist.is_empty() {
            return Ok(());
        }
        if self.key_history.is_none() {
            let keys = self.chunked("key_history_key", &KEY_PARAMS)?;
            let rows = self.chunked("key_history", &KEY_HISTORY_PARAMS)?;
            self.key_history = Some(KeyHistoryStatement { keys, rows });
        }
        let k = self.key_history.as_mut().expect("prepared");
        let failed = k.keys.run(&keys, |t| t.map(Param::Text));
        for t in failed {
            let row: Vec<(&str, Param)> =
                KEY_PARAMS.iter().copied().zip(t.map(Param::Text)).collect();
            self.run("key_history_key", &row, &t[..4])?;
        }
        let k = self.key_history.as_mut().expect("prepared");
        let failed = k.rows.run(&hist, |h| h.values());
        for h in failed {
            self.key_history_row(&h)?;
        }
        Ok(())
    }

    /// One row of `key_history`; an error names the row by its key in
    /// `key_history_buckets` (key_id, resolution, bucket_start), then the
    /// key's texts and time.
    fn key_history_row(&mut self, h: &KeyHistoryRow) -> Result<()> {
        let values = h.values();
        let row: Vec<(&str, Param)> = KEY_HISTORY_PARAMS.iter().copied().zip(values).collect();
        let st = self
            .stmts
            .get_mut("key_history")
            .expect("key_history in sql/flush.sql");
        let Err(e) = st.run("key_history", &row) else {
            return Ok(());
        };
        let [signal, entity, scope, key, event] = h.texts;
        let id = self
            .key_id(&h.texts)
            .map(|i| i.to_string())
            .unwrap_or_default();
        let start = TimeText::of(h.start);
        let event = if event.is_empty() {
            String::new()
        } else {
            format!(" of the event '{event}'")
        };
        let e = Error::with_code(
            e.code,
            format!(
                "{} (the {signal} entity '{entity}', {scope} key '{key}'{event}, bucket {})",
                e.msg,
                start.as_str()
            ),
        );
        Err(located(
            e,
            "key_history_buckets",
            &[&id, "0", &h.start.to_string()],
        ))
    }

    /// The `key_id` of a key of `key_history_keys` (for an error).
    fn key_id(&self, texts: &[&str; 5]) -> Result<i64> {
        let mut st = Stmt::prepare(
            self.db,
            "SELECT key_id FROM main.key_history_keys WHERE signal = ?1 AND entity = ?2 \
             AND key_scope = ?3 AND key_name = ?4 AND event_name = ?5",
        )?;
        for (i, t) in (1..).zip(texts) {
            st.bind_text(i, t)?;
        }
        if st.step()? {
            Ok(st.column_i64(0))
        } else {
            Err(Error::new("no such key"))
        }
    }

    /// Rolls 'bucket' rows `settings.hours` hours or more older than the
    /// newest bucket up into days, and drops days `settings.days` days or
    /// more older than the newest bucket's day.
    pub(super) fn roll_up(&mut self, settings: &Settings) -> Result<()> {
        let st = match &mut self.cutoffs {
            Some(st) => st,
            None => self.cutoffs.insert(Stmt::prepare(
                self.db,
                "SELECT datetime(max(bucket_start), ?1), date(max(bucket_start), ?2) || ' 00:00:00' \
                 FROM main.entity_history WHERE resolution = 'bucket'",
            )?),
        };
        st.bind_text(1, &format!("-{} hours", settings.hours))?;
        st.bind_text(2, &format!("-{} days", settings.days))?;
        let found = st.step()? && st.column_kind(0) != crate::ffi::Kind::Null;
        let (fine, days) = if found {
            (st.column_text(0), st.column_text(1))
        } else {
            Default::default()
        };
        st.reset();
        if !found {
            return Ok(());
        }
        for table in ["entity", "service", "key", "template"] {
            let rollup = [("fine_until", Param::Text(&fine))];
            let prune = [
                ("fine_until", Param::Text(&fine)),
                ("days_until", Param::Text(&days)),
            ];
            let (r, p) = match table {
                "entity" => ("entity_history_rollup", "entity_history_prune"),
                "service" => ("service_history_rollup", "service_history_prune"),
                "key" => ("key_history_rollup", "key_history_prune"),
                _ => ("template_history_rollup", "template_history_prune"),
            };
            self.run(r, &rollup, &[])?;
            if table == "key" {
                // After the roll-up, before the prune: the keys that lose
                // their last row.
                self.run("key_history_keys_prune", &prune, &[])?;
            }
            self.run(p, &prune, &[])?;
        }
        Ok(())
    }
}

/// The parameters of `key_history_key` (sql/flush.sql).
const KEY_PARAMS: [&str; 5] = ["signal", "entity", "key_scope", "key_name", "event_name"];

/// The parameters of `key_history` (sql/flush.sql), in
/// [`KeyHistoryRow::values`] order.
const KEY_HISTORY_PARAMS: [&str; 9] = [
    "signal",
    "entity",
    "key_scope",
    "key_name",
    "event_name",
    "bucket_start",
    "key_count",
    "bytes",
    "hll_sketch",
];

/// One key's row of one bucket.
#[derive(Clone)]
struct KeyHistoryRow<'a> {
    /// Signal, entity, scope, key, event.
    texts: [&'a str; 5],
    /// The bucket's start, unix seconds.
    start: i64,
    count: i64,
    bytes: i64,
    sketch: Cow<'a, [u8]>,
}

impl KeyHistoryRow<'_> {
    fn values(&self) -> [Param<'_>; 9] {
        let t = self.texts;
        [
            Param::Text(t[0]),
            Param::Text(t[1]),
            Param::Text(t[2]),
            Param::Text(t[3]),
            Param::Text(t[4]),
            Param::Int(self.start),
            Param::Int(self.count),
            Param::Int(self.bytes),
            Param::Blob(&self.sketch),
        ]
    }
}

/// A statement of sql/flush.sql for [`CHUNK`] rows (prepared when first
/// used; `None` on a host whose variable limit is lower), and where each
/// of its parameters goes among a row's.
pub(super) struct Chunked {
    st: Option<Stmt>,
    at: Vec<usize>,
}

impl Writer {
    /// Statement `name` of sql/flush.sql for [`CHUNK`] rows whose
    /// parameters are `params`, in a row's order.
    pub(super) fn chunked(&self, name: &'static str, params: &[&str]) -> Result<Chunked> {
        let sql = super::statements()
            .into_iter()
            .find(|s| s.0 == name)
            .expect("a statement of sql/flush.sql")
            .1;
        let one = &self.stmts[name];
        let at = one.positions(name, params)?;
        // (A host that lowered SQLITE_LIMIT_VARIABLE_NUMBER: one by one.)
        let st = Stmt::prepare(self.db, &multi_row(sql, &one.names, CHUNK)).ok();
        Ok(Chunked { st, at })
    }
}

impl Chunked {
    /// Writes `items` [`CHUNK`] to a statement; returns the items left for
    /// one-by-one writes (the rest, and those of a chunk that failed, which
    /// changed nothing: one by one names the row that fails).
    pub(super) fn run<T: Clone, const N: usize>(
        &mut self,
        items: &[T],
        values: impl for<'b> Fn(&'b T) -> [Param<'b>; N],
    ) -> Vec<T> {
        let Some(st) = self.st.as_mut() else {
            return items.to_vec();
        };
        let (head, rest) = items.split_at(items.len() / CHUNK * CHUNK);
        let mut params = vec![Param::Null; CHUNK * N];
        let mut left = Vec::new();
        for chunk in head.chunks_exact(CHUNK) {
            for (r, item) in chunk.iter().enumerate() {
                for (v, &i) in values(item).iter().zip(&self.at) {
                    params[r * N + i] = *v;
                }
            }
            if st.run_with(&params).is_err() {
                left.extend_from_slice(chunk);
            }
        }
        left.extend_from_slice(rest);
        left
    }
}

/// The chunked key history statements (`history.rs`).
pub(super) struct KeyHistoryStatement {
    keys: Chunked,
    rows: Chunked,
}
