//! What the flush writes of the history (docs/catalog.md "History"): each
//! entity's and service's records per bucket, each entity key's per bucket,
//! then the roll-up of old buckets into days and the retention.

use ahash::AHashMap as Map;

use super::time::TimeText;
use super::{KeyRow, Writer, sorted};
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
    /// writes its row's own count, bytes and sketch there.
    pub(super) fn key_history(&mut self, signal: &str, rows: &[KeyRow]) -> Result<()> {
        for row in rows {
            let Some(a) = row.agg else { continue };
            let [entity, scope, key] = [row.texts[0], row.texts[1], row.texts[2]];
            let event = if row.n > 3 { row.texts[3] } else { "" };
            let put = |w: &mut Writer, bucket: i64, count: u64, bytes: u64, sketch: &[u8]| {
                let start = TimeText::of(bucket);
                let params = [
                    ("signal", Param::Text(signal)),
                    ("entity", Param::Text(entity)),
                    ("key_scope", Param::Text(scope)),
                    ("key_name", Param::Text(key)),
                    ("event_name", Param::Text(event)),
                    ("bucket_start", Param::Text(start.as_str())),
                    ("key_count", Param::Int(count as i64)),
                    ("bytes", Param::Int(bytes as i64)),
                    ("hll_sketch", Param::Blob(sketch)),
                ];
                w.run("key_history", &params, &[signal, entity, scope, key])
            };
            match a.buckets() {
                Buckets::Empty => {}
                Buckets::One(bucket) => {
                    put(self, bucket, a.count, a.bytes, &row.sketch)?;
                }
                Buckets::Many(m) => {
                    let mut buckets: Vec<_> = m.iter().collect();
                    buckets.sort_unstable_by_key(|x| *x.0);
                    for (&bucket, kb) in buckets {
                        put(self, bucket, kb.count, kb.bytes, &kb.sketch.image())?;
                    }
                }
            }
        }
        Ok(())
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
            self.run(p, &prune, &[])?;
        }
        Ok(())
    }
}
