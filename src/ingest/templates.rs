//! All of otlp_ingest's Drain training, and the models' part in its
//! transactions, behind one interface ([`Templates`]).
//!
//! Two things are templated, each at the one time it can be:
//!
//! * Log bodies, while a payload is aggregated ([`Templater::train`], called
//!   by `Batch::apply` for each record): a line must be counted in the
//!   cluster it joins, and lines are not kept. Before a payload is counted,
//!   [`Templates::prepare`] loads (and, inside a savepoint, snapshots) every
//!   model its logs need, so that nothing can fail half-way through it.
//! * Span names, when a batch is written ([`Templates::train_span_names`]):
//!   once per distinct (service, name) of the batch, in name order, since a
//!   pattern counts names, and the batch already counted each name's spans.
//!
//! A model lives in the connection's registry (`drain::store`), shared with
//! the drain functions; its partition is named `otlp.logs/<severity>/<service>`
//! or `otlp.spans/<service>` and only otlp_ingest trains it. Until a batch is
//! written, the log partitions it trained are marked pending in the
//! registry: `drain_reset` refuses them (the catalog rows written at COMMIT
//! need their clusters' templates). A rollback drops the models the
//! transaction trained (reloaded from the file on next use); a rollback to
//! a savepoint puts back the snapshots taken after it.

use ahash::{AHashMap as Map, AHashSet as Set};

use super::batch::{Batch, PatternGroup, Templater};
use crate::drain::store::{self, Guard, INGEST_PREFIX, PartName, Registry, Shared, Snapshot};
use crate::ffi::{Db, Error, Result, Stmt};
use crate::otlp::{self, Event};

/// The drain partition of a (severity, service)'s log bodies.
pub fn log_partition(severity: &str, service: &str) -> String {
    format!("{INGEST_PREFIX}logs/{severity}/{service}")
}

/// The drain partition of a service's span names.
pub fn span_partition(service: &str) -> String {
    format!("{INGEST_PREFIX}spans/{service}")
}

/// The partition keys of the (severity, service) pairs of the payload being
/// applied, by where the service name lies in it: the records of a resource
/// block share one service `&str`, so finding a record's model costs no
/// hashing or comparison of the service name (which may be megabytes
/// long), and each block's name is hashed once per severity. Valid for one
/// payload only (its events are borrowed from it): cleared by
/// [`Templates::prepare`].
pub struct PartitionNames<K> {
    /// (address, length) of the service name, severity -> the model's key
    /// (the registry's [`PartName`]; an index in the ingest baseline).
    keys: Map<(usize, usize), Vec<(String, K)>>,
}

impl<K> Default for PartitionNames<K> {
    fn default() -> Self {
        PartitionNames { keys: Map::new() }
    }
}

impl<K> PartitionNames<K> {
    /// The key of (severity, service), if resolved for this payload.
    pub fn get(&self, severity: &str, service: &str) -> Option<&K> {
        self.keys
            .get(&(service.as_ptr() as usize, service.len()))?
            .iter()
            .find(|(s, _)| s == severity)
            .map(|(_, k)| k)
    }

    pub fn insert(&mut self, severity: &str, service: &str, key: K) {
        self.keys
            .entry((service.as_ptr() as usize, service.len()))
            .or_default()
            .push((severity.to_string(), key));
    }

    /// Forgets every key: a new payload starts.
    pub fn clear(&mut self) {
        self.keys.clear();
    }
}

/// Models as they were before a savepoint first trained them (`None`: not
/// loaded then).
#[derive(Default)]
pub struct Snapshots(Map<String, Option<Snapshot>>);

impl Snapshots {
    /// Takes a released savepoint's snapshots: the older of two wins.
    pub fn absorb(&mut self, newer: Snapshots) {
        for (name, s) in newer.0 {
            self.0.entry(name).or_insert(s);
        }
    }
}

/// otlp_ingest's templating on one connection.
pub struct Templates {
    db: Db,
    models: Shared,
    /// Partitions trained in this transaction.
    touched: Set<String>,
    /// Names of the partitions of the payload being applied.
    names: PartitionNames<PartName>,
    /// The log partitions the payload being applied needs (kept loaded
    /// until it is counted).
    payload_parts: Set<String>,
}

/// The current text and example of clusters, for the catalog's rows.
pub struct Texts<'r> {
    reg: &'r Registry,
    db: Db,
    /// Reads a cluster of a model not loaded (dropped from memory to keep
    /// within the budget after it was written: the file holds it).
    stored: std::cell::RefCell<Option<Stmt>>,
}

impl Texts<'_> {
    fn of(&self, partition: &str, id: u64) -> Result<(String, String)> {
        if let Some(p) = self.reg.loaded(partition) {
            return Ok(p
                .drain
                .cluster(id)
                .map(|c| (c.template().to_string(), c.example().to_string()))
                .unwrap_or_default());
        }
        let mut cell = self.stored.borrow_mut();
        let st = match cell.as_mut() {
            Some(st) => st,
            None => cell.insert(Stmt::prepare(
                self.db,
                "SELECT template, example FROM main.otelcat_drain_clusters \
                 WHERE partition = ?1 AND cluster_id = ?2",
            )?),
        };
        st.bind_text(1, partition)?;
        st.bind_i64(2, id as i64)?;
        let found = if st.step()? {
            (st.column_text(0), st.column_text(1))
        } else {
            Default::default()
        };
        st.reset();
        Ok(found)
    }
    /// A log template's text and example.
    pub fn log(&self, severity: &str, service: &str, id: u64) -> Result<(String, String)> {
        self.of(&log_partition(severity, service), id)
    }
    /// A span-name pattern's text and example.
    pub fn pattern(&self, service: &str, id: u64) -> Result<(String, String)> {
        self.of(&span_partition(service), id)
    }
}

impl Templater for Templates {
    fn train(
        &mut self,
        severity: &str,
        service: &str,
        body: &str,
    ) -> std::result::Result<(u64, Vec<u64>), String> {
        let mut reg = self
            .models
            .lock()
            .ok_or_else(|| "template models are busy".to_string())?;
        let part = match self.names.get(severity, service) {
            Some(key) => reg.part_named(self.db, key, None).map_err(|e| e.msg)?.1,
            None => {
                let (key, part) = reg
                    .part_named(
                        self.db,
                        &PartName::new(&log_partition(severity, service)),
                        None,
                    )
                    .map_err(|e| e.msg)?;
                self.names.insert(severity, service, key);
                part
            }
        };
        let t = part.drain.train(body);
        part.note(&t);
        Ok((t.cluster_id, t.merged))
    }
}

/// The registry, or the error of a re-entrant call.
fn lock(models: &Shared) -> Result<Guard<'_>> {
    models
        .lock()
        .ok_or_else(|| Error::new("otlp_ingest: template models are busy"))
}

impl Templates {
    pub fn new(db: Db, models: Shared) -> Templates {
        Templates {
            db,
            models,
            touched: Set::new(),
            names: PartitionNames::default(),
            payload_parts: Set::new(),
        }
    }

    /// Creates the tables the models are stored in, if missing (DDL: from
    /// an INSERT, never from the COMMIT).
    pub fn ensure_schema(&self) -> Result<()> {
        store::ensure_schema(self.db)
    }

    /// A transaction starts: models another connection changed since are
    /// dropped (now, or when the registry is let go).
    pub fn begin(&mut self) {
        self.touched.clear();
        let db = self.db;
        self.models.after(move |reg| reg.check_data_version(db));
    }

    /// Loads the template model of every (severity, service) the payload's
    /// logs need, and marks them pending; `snapshots` (inside a savepoint)
    /// receives those not snapshotted yet.
    pub fn prepare(
        &mut self,
        events: &[Event<'_>],
        mut snapshots: Option<&mut Snapshots>,
    ) -> Result<()> {
        self.names.clear();
        // The partitions of the distinct (severity, service) pairs: the
        // severities of each resource block, named once per block (the
        // service name is compared and hashed once per block, not per
        // record: it may be long).
        let mut names: Set<String> = Set::new();
        let mut block: Set<std::borrow::Cow<'_, str>> = Set::new();
        let mut service = "unknown_service";
        for (i, e) in events.iter().enumerate() {
            match e {
                Event::Resource => {
                    service = otlp::service_name(otlp::resource_attrs(&events[i + 1..]));
                    block.clear();
                }
                Event::Log {
                    severity_number,
                    severity_text,
                    ..
                } => {
                    let sev = otlp::severity_label(*severity_number, severity_text);
                    if !block.contains(&sev) {
                        names.insert(log_partition(&sev, service));
                        block.insert(sev);
                    }
                }
                _ => {}
            }
        }
        if names.is_empty() {
            return Ok(());
        }
        self.payload_parts = names.clone();
        let mut reg = lock(&self.models)?;
        for name in names {
            if let Some(snaps) = snapshots.as_deref_mut()
                && !snaps.0.contains_key(&name)
            {
                let snap = reg.snapshot(&name);
                snaps.0.insert(name.clone(), snap);
            }
            reg.part(self.db, &name).map_err(|e| {
                Error::with_code(
                    e.code,
                    format!(
                        "otlp_ingest: cannot load the template model {name}: {}",
                        e.msg
                    ),
                )
            })?;
            if !reg.ingest_pending.contains(&name) {
                reg.ingest_pending.insert(name.clone());
            }
            if !self.touched.contains(&name) {
                self.touched.insert(name);
            }
        }
        Ok(())
    }

    /// Keeps the loaded models within the registry's budget once a payload
    /// is counted: the least recently used are dropped from memory, those
    /// this transaction trained written first. A failure leaves the
    /// transaction's models out of step with the file: the caller must
    /// fail the transaction.
    pub fn bound_memory(&mut self) -> Result<()> {
        let keep = std::mem::take(&mut self.payload_parts);
        let mut reg = lock(&self.models)?;
        reg.shrink(Some(self.db), |n| keep.contains(n))
            .map_err(|e| {
                Error::with_code(
                    e.code,
                    format!(
                        "otlp_ingest: writing template models early failed: {}",
                        e.msg
                    ),
                )
            })
    }

    /// Templates the batch's span names per service, once per distinct
    /// (service, name), in name order.
    pub fn train_span_names(&mut self, batch: &Batch) -> Result<Map<String, PatternGroup>> {
        let mut groups: Map<String, PatternGroup> = Map::new();
        let mut reg = lock(&self.models)?;
        // Span names split at '/' too (URL paths), and a literal position
        // needs 10 distinct values before it becomes <*> (routes such as
        // GET /api/cart and GET /api/checkout are few and must stay apart;
        // digits are parameters at once, so GET /users/123 still collapses).
        // The rest as configured by default.
        let mut span_cfg = store::default_config(self.db).map_err(|e| {
            Error::with_code(
                e.code,
                format!("otlp_ingest: span-name patterns: {}", e.msg),
            )
        })?;
        if !span_cfg.extra_delimiters.contains('/') {
            span_cfg.extra_delimiters.push('/');
        }
        span_cfg.min_distinct = span_cfg.min_distinct.max(10);
        let mut names: Vec<_> = batch.spans.iter().collect();
        names.sort_by(|a, b| a.0.cmp(b.0));
        for (name, s) in names {
            let mut svcs: Vec<_> = s.services.iter().collect();
            svcs.sort_by(|a, b| a.0.cmp(b.0));
            for (svc, c) in svcs {
                let part_name = span_partition(svc);
                let part = reg
                    .part_or(self.db, &part_name, Some(&span_cfg))
                    .map_err(|e| {
                        Error::with_code(
                            e.code,
                            format!(
                                "otlp_ingest: cannot load the span-name model {part_name}: {}",
                                e.msg
                            ),
                        )
                    })?;
                let t = part.drain.train(name);
                part.note(&t);
                groups
                    .entry(svc.clone())
                    .or_default()
                    .add(t.cluster_id, &t.merged, name, c);
                // Within the budget, however many services the batch has.
                reg.shrink(Some(self.db), |n| n == part_name).map_err(|e| {
                    Error::with_code(
                        e.code,
                        format!(
                            "otlp_ingest: writing template models early failed: {}",
                            e.msg
                        ),
                    )
                })?;
                if !self.touched.contains(&part_name) {
                    self.touched.insert(part_name);
                }
            }
        }
        Ok(groups)
    }

    /// Runs `f` with the clusters' current texts (the registry held).
    pub fn with_texts<T>(&self, f: impl FnOnce(&Texts) -> Result<T>) -> Result<T> {
        let reg = lock(&self.models)?;
        f(&Texts {
            reg: &reg,
            db: self.db,
            stored: Default::default(),
        })
    }

    /// A batch was written: writes the models it trained (their changed
    /// clusters) and clears the pending marks. A failed write fails the
    /// transaction, and its rollback drops the models it touched: what was
    /// written needs no tracking here.
    pub fn written(&mut self) -> Result<()> {
        let mut reg = lock(&self.models)?;
        reg.ingest_pending.clear();
        reg.flush(
            self.db,
            |n| n.starts_with(INGEST_PREFIX),
            &mut Default::default(),
        )
        .map_err(|e| {
            Error::with_code(
                e.code,
                format!("otlp_ingest: writing templates failed: {}", e.msg),
            )
        })
    }

    /// The transaction committed: the file holds what the models hold.
    pub fn committed(&mut self) {
        if !self.touched.is_empty() {
            let db = self.db;
            self.models.after(move |reg| {
                reg.ingest_pending.clear();
                reg.note_own_commit(db);
                // Now clean: dropping models needs no write.
                let _ = reg.shrink(None, |_| false);
            });
        }
        self.touched.clear();
    }

    /// The transaction rolled back: the models it trained are dropped
    /// (reloaded from the file on next use).
    pub fn rolled_back(&mut self) {
        let touched: Vec<String> = self.touched.drain().collect();
        self.models.after(move |reg| {
            reg.ingest_pending.clear();
            reg.forget(&touched)
        });
    }

    /// Rolled back to a savepoint: puts back the models it snapshotted (now,
    /// or when the registry is let go: a rollback may arrive from inside a
    /// write that holds it). A snapshot that cannot be restored drops the
    /// model, which is reloaded from the file.
    pub fn restore(&mut self, snapshots: Snapshots) {
        self.models.after(move |reg| {
            for (name, snap) in snapshots.0 {
                let restored = match snap {
                    Some(s) => reg.restore(&name, s).is_ok(),
                    None => false,
                };
                if !restored {
                    reg.forget([&name]);
                }
            }
        });
    }
}
