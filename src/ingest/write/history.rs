//! What the flush writes of the history (docs/catalog.md "History"): each
//! entity's and service's records per bucket, each entity key's per bucket,
//! then the roll-up of old buckets into days and the retention.

use std::borrow::Cow;

use ahash::AHashMap as Map;

use super::time::TimeText;
use super::{CHUNK, KeyRow, Writer, located, multi_row, sorted};
use crate::ffi::{Param, Result, Stmt};
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
    /// writes its row's own count, bytes and sketch there. A key is named
    /// once, in `key_history_keys`, and its rows carry its `key_id` (looked
    /// up once a key, added when new). Written as the key rows are:
    /// [`CHUNK`] rows a statement, the rest one by one.
    pub(super) fn key_history(&mut self, signal: &str, rows: &[KeyRow]) -> Result<()> {
        let mut hist: Vec<KeyHistoryRow> = Vec::new();
        for row in rows {
            let Some(a) = row.agg else { continue };
            let event = if row.n > 3 { row.texts[3] } else { "" };
            let texts = [signal, row.texts[0], row.texts[1], row.texts[2], event];
            match a.buckets() {
                Buckets::Empty => {}
                Buckets::One(bucket) => hist.push(KeyHistoryRow {
                    texts,
                    id: 0,
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
                            id: 0,
                            start: bucket,
                            count: kb.count as i64,
                            bytes: kb.bytes as i64,
                            sketch: Cow::Owned(kb.sketch.image()),
                        });
                    }
                }
            }
        }
        if hist.is_empty() {
            return Ok(());
        }
        if self.key_history.is_none() {
            let sql = super::statements()
                .into_iter()
                .find(|s| s.0 == "key_history")
                .expect("key_history in sql/flush.sql")
                .1;
            let one = &self.stmts["key_history"];
            let at = one.positions("key_history", &KEY_HISTORY_PARAMS)?;
            // (A host that lowered SQLITE_LIMIT_VARIABLE_NUMBER: one by one.)
            let chunk = Stmt::prepare(self.db, &multi_row(sql, &one.names, CHUNK)).ok();
            let find = Stmt::prepare(
                self.db,
                "SELECT key_id FROM main.key_history_keys WHERE signal = ?1 AND entity = ?2 \
                 AND key_scope = ?3 AND key_name = ?4 AND event_name = ?5",
            )?;
            let add = Stmt::prepare(
                self.db,
                "INSERT INTO main.key_history_keys(signal, entity, key_scope, key_name, event_name) \
                 VALUES (?1, ?2, ?3, ?4, ?5) RETURNING key_id",
            )?;
            self.key_history = Some(KeyHistoryStatement {
                chunk,
                at,
                find,
                add,
            });
        }
        let k = self.key_history.as_mut().expect("prepared");
        // A key's rows are consecutive: one look-up a key.
        let mut last: Option<[&str; 5]> = None;
        let mut id = 0;
        for h in hist.iter_mut() {
            if last != Some(h.texts) {
                id = k
                    .id_of(&h.texts)
                    .map_err(|e| located(e, "key_history_rows", &h.texts[..4]))?;
                last = Some(h.texts);
            }
            h.id = id;
        }
        let per = KEY_HISTORY_PARAMS.len();
        let chunked = if k.chunk.is_some() {
            hist.len() / CHUNK * CHUNK
        } else {
            0
        };
        let (head, rest) = hist.split_at(chunked);
        let mut params = vec![Param::Null; CHUNK * per];
        let mut failed = Vec::new();
        for chunk in head.chunks_exact(CHUNK) {
            for (r, h) in chunk.iter().enumerate() {
                for (v, &i) in h.values().iter().zip(&k.at) {
                    params[r * per + i] = *v;
                }
            }
            let st = k.chunk.as_mut().expect("prepared");
            if st.run_with(&params).is_err() {
                failed.push(chunk);
            }
        }
        // A chunk that failed changed nothing: its rows one by one name the
        // row that fails (the transaction fails anyway).
        for h in failed.into_iter().flatten().chain(rest) {
            self.key_history_row(h)?;
        }
        Ok(())
    }

    fn key_history_row(&mut self, h: &KeyHistoryRow) -> Result<()> {
        let values = h.values();
        let row: Vec<(&str, Param)> = KEY_HISTORY_PARAMS.iter().copied().zip(values).collect();
        let [signal, entity, scope, key, _] = h.texts;
        let start = TimeText::of(h.start);
        self.run(
            "key_history",
            &row,
            &[signal, entity, scope, key, start.as_str()],
        )
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

/// The parameters of `key_history` (sql/flush.sql), in
/// [`KeyHistoryRow::values`] order.
const KEY_HISTORY_PARAMS: [&str; 5] = ["key_id", "bucket_start", "key_count", "bytes", "hll_sketch"];

/// One key's row of one bucket.
struct KeyHistoryRow<'a> {
    /// Signal, entity, scope, key, event.
    texts: [&'a str; 5],
    /// The key's `key_id` in `key_history_keys`.
    id: i64,
    /// The bucket's start, unix seconds.
    start: i64,
    count: i64,
    bytes: i64,
    sketch: Cow<'a, [u8]>,
}

impl KeyHistoryRow<'_> {
    fn values(&self) -> [Param<'_>; 5] {
        [
            Param::Int(self.id),
            Param::Int(self.start),
            Param::Int(self.count),
            Param::Int(self.bytes),
            Param::Blob(&self.sketch),
        ]
    }
}

/// `key_history` for [`CHUNK`] rows, prepared when first used, where each
/// of [`KEY_HISTORY_PARAMS`] goes among a row's parameters, and the
/// statements that find or add a key's `key_id`.
pub(super) struct KeyHistoryStatement {
    chunk: Option<Stmt>,
    at: Vec<usize>,
    find: Stmt,
    add: Stmt,
}

impl KeyHistoryStatement {
    /// The `key_id` of the key named by `texts` (signal, entity, scope,
    /// key, event), added when new.
    fn id_of(&mut self, texts: &[&str; 5]) -> Result<i64> {
        for st in [&mut self.find, &mut self.add] {
            for (i, t) in (1..).zip(texts) {
                st.bind_text(i, t)?;
            }
            let found = st.step();
            let id = match found {
                Ok(true) => Some(st.column_i64(0)),
                Ok(false) => None,
                Err(e) => return Err(e),
            };
            st.reset();
            if let Some(id) = id {
                return Ok(id);
            }
        }
        Err(crate::ffi::Error::new(
            "key_history_keys: a new key returned no key_id",
        ))
    }
}
