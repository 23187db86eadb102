//! Service totals (docs/catalog.md "Service totals"): per service and
//! signal, what its `metric_services`, `span_services` or `log_services`
//! rows add up to (`service_totals`), kept at every commit from the service
//! rows of the batch, so that `service_overview` and
//! `instance_like_services` read these rows and not every service row.
//!
//! What it costs a commit: per service row of the batch (an entity and one
//! of its services), one lookup of its primary key before it is written
//! (is it new? a new row is a new entity of the service); per service and
//! signal of the batch, one UPSERT. Nothing per record.
//!
//! Every other writer of service rows rebuilds the table from the rows at
//! its end with `otelcat_refresh_totals()` (`sql/totals.sql`).

use ahash::AHashMap as Map;

use super::Writer;
use super::time::{seen_params, seen_text};
use crate::ffi::{Db, Error, Param, Result, Stmt};
use crate::ingest::keys::{Counted, Seen};

/// Whether a service row is stored (?1 entity, ?2 service), per signal;
/// prepared when first used.
#[derive(Default)]
pub(super) struct Probes([Option<Stmt>; 3]);

const SIGNALS: [(&str, &str, &str); 3] = [
    ("metrics", "metric_services", "metric_name"),
    ("spans", "span_services", "span_name"),
    ("logs", "log_services", "severity"),
];

impl Probes {
    fn get(&mut self, db: Db, i: usize) -> Result<&mut Stmt> {
        if self.0[i].is_none() {
            let (_, table, entity) = SIGNALS[i];
            let sql =
                format!("SELECT 1 FROM main.{table} WHERE {entity} = ?1 AND service_name = ?2");
            self.0[i] = Some(Stmt::prepare(db, &sql)?);
        }
        Ok(self.0[i].as_mut().expect("prepared"))
    }
}

/// One `service_totals` row's part of a batch.
struct Total {
    entities: i64,
    records: i64,
    bytes: i64,
    errors: i64,
    seen: Seen,
}

fn add(a: &mut i64, b: u64) -> Result<()> {
    *a = i64::try_from(b)
        .ok()
        .and_then(|b| a.checked_add(b))
        .ok_or_else(|| {
            Error::new(
                "otlp_ingest: service totals: a count of the batch overflows 64 bits; nothing was written",
            )
        })?;
    Ok(())
}

impl Writer {
    /// Adds the batch's service rows to the service totals, before they are
    /// written (a row not stored yet is a new entity of its service).
    pub(super) fn service_totals(&mut self, b: &crate::ingest::batch::Batch) -> Result<()> {
        // Per signal: (entity, its services, its spans in error per service).
        type Rows<'a> = Vec<(
            &'a str,
            &'a Map<String, Counted>,
            Option<&'a Map<String, [u64; 3]>>,
        )>;
        let metrics: Rows = b
            .metrics
            .iter()
            .map(|(n, m)| (n.as_str(), &m.services, None))
            .collect();
        let spans: Rows = b
            .spans
            .iter()
            .map(|(n, s)| (n.as_str(), &s.services, Some(&s.service_status)))
            .collect();
        let logs: Rows = b
            .logs
            .iter()
            .map(|(n, l)| (n.as_str(), &l.services, None))
            .collect();
        for (i, rows) in [metrics, spans, logs].into_iter().enumerate() {
            if rows.is_empty() {
                continue;
            }
            let mut totals: Map<&str, Total> = Map::new();
            let probe = self.service_probes.get(self.db, i)?;
            for (entity, services, status) in rows {
                for (svc, c) in services {
                    probe.reset();
                    probe.bind_text(1, entity)?;
                    probe.bind_text(2, svc)?;
                    let found = probe.step();
                    probe.reset();
                    let t = totals.entry(svc.as_str()).or_insert(Total {
                        entities: 0,
                        records: 0,
                        bytes: 0,
                        errors: 0,
                        seen: Seen::none(),
                    });
                    if !found? {
                        t.entities += 1;
                    }
                    add(&mut t.records, c.count)?;
                    add(&mut t.bytes, c.bytes)?;
                    if let Some(st) = status.and_then(|s| s.get(svc)) {
                        add(&mut t.errors, st[2])?;
                    }
                    t.seen.merge(&c.seen);
                }
            }
            let mut totals: Vec<_> = totals.into_iter().collect();
            totals.sort_unstable_by(|a, b| a.0.cmp(b.0));
            let signal = SIGNALS[i].0;
            for (svc, t) in totals {
                let seen = seen_text(&t.seen);
                let [first, last] = seen_params(&seen);
                let row = [
                    ("service_name", Param::Text(svc)),
                    ("signal", Param::Text(signal)),
                    ("entities", Param::Int(t.entities)),
                    ("records", Param::Int(t.records)),
                    ("bytes", Param::Int(t.bytes)),
                    ("span_errors", Param::Int(t.errors)),
                    ("first_seen", first),
                    ("last_seen", last),
                ];
                self.run("service_total", &row, &[svc, signal])?;
            }
        }
        Ok(())
    }
}

/// The first service row at which its service's counts (records, bytes,
/// span errors) add up past 64 bits, so that the service totals cannot be
/// built from the rows: its table and key. Read on failure only.
pub(super) fn overflowing_row(db: Db) -> Option<(&'static str, Vec<String>)> {
    for (_, table, entity) in SIGNALS {
        let errors = if table == "span_services" {
            "status_error_count"
        } else {
            "0"
        };
        let sql = format!(
            "SELECT {entity}, service_name, sample_count, bytes, {errors} FROM main.{table} ORDER BY service_name"
        );
        let mut st = Stmt::prepare(db, &sql).ok()?;
        let mut service = String::new();
        let mut sums = [0i64; 3];
        while let Ok(true) = st.step() {
            let svc = st.column_text(1);
            if svc != service {
                service = svc;
                sums = [0; 3];
            }
            for (i, s) in sums.iter_mut().enumerate() {
                let col = i as i32 + 2;
                if st.column_kind(col) != crate::ffi::Kind::Integer {
                    continue;
                }
                match s.checked_add(st.column_i64(col)) {
                    Some(v) => *s = v,
                    None => return Some((table, vec![st.column_text(0), service])),
                }
            }
        }
    }
    None
}
