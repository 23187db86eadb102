//! The `otlp_ingest` table: `INSERT INTO otlp_ingest(payload [, signal])`
//! decodes OTLP, aggregates in process, and writes the catalog
//! (sql/schema.sql) with the UPSERTs of sql/flush.sql when the transaction
//! commits (xSync), so a reader sees all of a committed transaction or none.
//!
//! Transactions: what a transaction ingested is held in layers, one per
//! open savepoint (SQLite opens one per multi-row statement inside a
//! transaction). ROLLBACK TO drops the layers above the savepoint and
//! restores the log-template models to their state then; RELEASE merges
//! layers down; ROLLBACK drops everything and the models are reloaded from
//! the file. A payload that fails to decode adds nothing.

pub mod aggregate;
pub mod flush;
pub mod schema;

use std::ffi::c_int;
use std::time::{SystemTime, UNIX_EPOCH};

use ahash::{AHashMap as Map, AHashSet as Set};

use crate::drain::store::{self, INGEST_PREFIX, Shared, Snapshot};
use crate::ffi::{self, Arg, Db, Error, Kind, Result, WriteTable, bail};
use crate::otlp::{self, Encoding, Limits, Signal};
use aggregate::{Batch, PatternGroup, Templater};

/// Batches holding more key entries than this are written before the next
/// payload when no savepoint is open (bounds memory in huge transactions).
const FLUSH_KEY_ENTRIES: usize = 200_000;

/// The drain partition of a (severity, service).
pub fn partition(severity: &str, service: &str) -> String {
    format!("{INGEST_PREFIX}logs/{severity}/{service}")
}

/// The drain partition of a service's span names.
pub fn span_partition(service: &str) -> String {
    format!("{INGEST_PREFIX}spans/{service}")
}

struct Layer {
    /// SQLite savepoint level; -1 for the transaction itself.
    level: c_int,
    batch: Batch,
    /// Template models as they were when this layer first trained them.
    snapshots: Map<String, Option<Snapshot>>,
}

impl Layer {
    fn new(level: c_int) -> Layer {
        Layer {
            level,
            batch: Batch::default(),
            snapshots: Map::new(),
        }
    }
}

pub struct IngestTable {
    db: Db,
    /// The database named in the INSERT (`main` unless qualified).
    schema: String,
    models: Shared,
    layers: Vec<Layer>,
    /// Template partitions trained in this transaction.
    touched: Set<String>,
    schema_ready: bool,
    writer: Option<flush::Writer>,
    /// A write failed mid-transaction: only a rollback can clear it.
    poisoned: Option<String>,
    limits: Limits,
    /// The allocation of the last payload's events, for the next one.
    events: Vec<otlp::Event<'static>>,
}

/// Trains log bodies into the registry's models (loaded, and snapshotted
/// inside a savepoint, by `prepare_models` before the payload is counted).
struct LayerTemplater<'a> {
    db: Db,
    models: &'a Shared,
    touched: &'a mut Set<String>,
    names: PartitionNames,
}

/// The drain partition names of recent (severity, service) pairs: a payload
/// has few of these pairs, so most log records need no new name.
#[derive(Default)]
pub struct PartitionNames(Vec<(String, String, String)>);

impl PartitionNames {
    /// Pairs remembered.
    const RECENT: usize = 16;

    /// The partition of (severity, service), and whether it was not among
    /// the recent pairs.
    pub fn get(&mut self, severity: &str, service: &str) -> (&str, bool) {
        let known = self
            .0
            .iter()
            .position(|(s, v, _)| s == severity && v == service);
        let at = match known {
            Some(i) => i,
            None => {
                if self.0.len() == Self::RECENT {
                    self.0.remove(0);
                }
                let name = partition(severity, service);
                self.0
                    .push((severity.to_string(), service.to_string(), name));
                self.0.len() - 1
            }
        };
        (&self.0[at].2, known.is_none())
    }
}

impl Templater for LayerTemplater<'_> {
    fn train(
        &mut self,
        severity: &str,
        service: &str,
        body: &str,
    ) -> std::result::Result<(u64, Vec<u64>), String> {
        let (name, new) = self.names.get(severity, service);
        let mut reg = self
            .models
            .lock()
            .ok_or_else(|| "template models are busy".to_string())?;
        let part = reg.part(self.db, name).map_err(|e| e.msg)?;
        let t = part.drain.train(body);
        part.note(&t);
        if new && !self.touched.contains(name) {
            self.touched.insert(name.to_string());
        }
        Ok((t.cluster_id, t.merged))
    }
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl IngestTable {
    /// Refuses an INSERT that names another database than main
    /// (`INSERT INTO aux.otlp_ingest`): SQLite would run it on this table,
    /// which writes the main catalog (see `sqltext`).
    fn check_schema(&self) -> Result<()> {
        let mut named: Vec<String> = self
            .db
            .running_statements()
            .iter()
            .flat_map(|sql| crate::sqltext::qualifiers(sql, "otlp_ingest"))
            .collect();
        named.push(self.schema.clone());
        if let Some(s) = named.iter().find(|s| !s.eq_ignore_ascii_case("main")) {
            bail!(
                "otlp_ingest: writes the catalog of the main database only, not of '{s}' \
                 (INSERT INTO {s}.otlp_ingest); open that file as the main database to ingest into it"
            );
        }
        Ok(())
    }

    fn ensure_schema(&mut self) -> Result<()> {
        if self.schema_ready {
            return Ok(());
        }
        let version = schema::stored_version(self.db)?;
        if let Some(v) = version
            && v > schema::VERSION
        {
            bail!(
                "otlp_ingest: this catalog has schema version {v}, written by a newer otelcat; \
                 this extension ({}) writes schema version {} and does not write into newer \
                 catalogs (reading them works): load a newer otelcat to ingest into it",
                env!("CARGO_PKG_VERSION"),
                schema::VERSION
            );
        }
        if version != Some(schema::VERSION) || !schema::complete(self.db)? {
            // Created, or upgraded in the writing transaction (so an ingest
            // that fails leaves the catalog as it was).
            schema::create_or_upgrade(self.db, version).map_err(|e| {
                Error::new(format!("otlp_ingest: cannot create the catalog: {}", e.msg))
            })?;
            self.writer = None;
        }
        store::ensure_schema(self.db)?;
        self.schema_ready = true;
        Ok(())
    }

    /// Writes everything pending (all layers) into the catalog.
    fn write_all(&mut self) -> Result<()> {
        let mut all = Batch::default();
        for l in &mut self.layers {
            all.merge(std::mem::take(&mut l.batch));
        }
        self.write_batch(all)
    }

    fn write_batch(&mut self, batch: Batch) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        if self.writer.is_none() {
            self.writer = Some(flush::Writer::new(self.db)?);
        }
        let patterns = self.train_span_patterns(&batch)?;
        let models = self.models.clone();
        let reg = models
            .lock()
            .ok_or_else(|| Error::new("otlp_ingest: template models are busy"))?;
        let info = |sev: &str, svc: &str, id: u64| {
            reg.loaded(&partition(sev, svc))
                .and_then(|p| p.drain.cluster(id))
                .map(|c| (c.template().to_string(), c.example().to_string()))
        };
        let pinfo = |svc: &str, id: u64| {
            reg.loaded(&span_partition(svc))
                .and_then(|p| p.drain.cluster(id))
                .map(|c| (c.template().to_string(), c.example().to_string()))
        };
        let w = self.writer.as_mut().expect("set above");
        let r = w
            .write(&batch, &info)
            .and_then(|_| w.write_patterns(&patterns, &pinfo));
        drop(reg);
        if let Err(e) = r {
            self.writer = None; // re-prepared next time (the schema may have changed)
            return Err(Error::with_code(
                e.code,
                format!("otlp_ingest: writing the catalog failed: {}", e.msg),
            ));
        }
        let mut reg = models
            .lock()
            .ok_or_else(|| Error::new("otlp_ingest: template models are busy"))?;
        // A failed write fails the transaction, and its rollback drops the
        // models it touched: what was written needs no tracking here.
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
        })?;
        Ok(())
    }

    /// Templates the batch's span names per service, once per distinct
    /// (service, name), in name order.
    fn train_span_patterns(&mut self, batch: &Batch) -> Result<Map<String, PatternGroup>> {
        let mut groups: Map<String, PatternGroup> = Map::new();
        let mut reg = self
            .models
            .lock()
            .ok_or_else(|| Error::new("otlp_ingest: template models are busy"))?;
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
                if !self.touched.contains(&part_name) {
                    self.touched.insert(part_name);
                }
            }
        }
        Ok(groups)
    }

    /// Loads the template model of every (severity, service) the payload's
    /// logs need, snapshotting them when a savepoint is open.
    fn prepare_models(&mut self, events: &[otlp::Event<'_>]) -> Result<()> {
        // The distinct (severity, service) pairs: few, so a list.
        let mut pairs: Vec<(std::borrow::Cow<'_, str>, &str)> = Vec::new();
        let mut service = "unknown_service";
        for (i, e) in events.iter().enumerate() {
            match e {
                otlp::Event::Resource => {
                    service = otlp::service_name(otlp::resource_attrs(&events[i + 1..]))
                }
                otlp::Event::Log {
                    severity_number,
                    severity_text,
                    ..
                } => {
                    let sev = otlp::severity_label(*severity_number, severity_text);
                    if !pairs.iter().any(|(s, v)| *s == sev && *v == service) {
                        pairs.push((sev, service));
                    }
                }
                _ => {}
            }
        }
        if pairs.is_empty() {
            return Ok(());
        }
        let names: Set<String> = pairs.iter().map(|(s, v)| partition(s, v)).collect();
        let mut reg = self
            .models
            .lock()
            .ok_or_else(|| Error::new("otlp_ingest: template models are busy"))?;
        let top = self.layers.last_mut().expect("base layer");
        for name in names {
            if top.level >= 0 && !top.snapshots.contains_key(&name) {
                let snap = reg.snapshot(&name);
                top.snapshots.insert(name.clone(), snap);
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
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.layers.clear();
        self.layers.push(Layer::new(-1));
        self.touched.clear();
        self.poisoned = None;
        self.schema_ready = false;
    }

    /// Restores the template models a layer snapshotted.
    /// (Now, or when the registry is let go: a rollback may arrive from
    /// inside a write that holds it.) A snapshot that cannot be restored
    /// drops the model, which is reloaded from the file.
    fn restore(&mut self, snapshots: Map<String, Option<Snapshot>>) -> Result<()> {
        self.models.after(move |reg| {
            for (name, snap) in snapshots {
                let restored = match snap {
                    Some(s) => reg.restore(&name, s).is_ok(),
                    None => false,
                };
                if !restored {
                    reg.forget([&name]);
                }
            }
        });
        Ok(())
    }
}

fn payload_encoding(payload: Arg, signal: Option<Signal>, bytes: &[u8]) -> Result<Encoding> {
    if payload.kind() == Kind::Text || otlp::looks_like_json(bytes) {
        return Ok(Encoding::Json);
    }
    match signal {
        Some(s) => Ok(Encoding::Protobuf(s)),
        None => bail!(
            "otlp_ingest: a protobuf payload needs its signal: INSERT INTO otlp_ingest(payload, signal) \
             VALUES (?, 'traces' | 'metrics' | 'logs')"
        ),
    }
}

impl WriteTable for IngestTable {
    type Aux = Shared;
    const NAME: &'static str = "otlp_ingest";
    const SCHEMA: &'static str = "CREATE TABLE x(payload, signal TEXT)";

    fn connect(db: Db, schema: &str, aux: &Shared) -> Result<Self> {
        let mut t = IngestTable {
            db,
            schema: schema.to_string(),
            models: aux.clone(),
            layers: Vec::new(),
            touched: Set::new(),
            schema_ready: false,
            writer: None,
            poisoned: None,
            limits: Limits::default(),
            events: Vec::new(),
        };
        t.reset();
        Ok(t)
    }

    fn insert(&mut self, values: &[Arg]) -> Result<()> {
        self.check_schema()?;
        if let Some(why) = &self.poisoned {
            bail!("otlp_ingest: an earlier write in this transaction failed ({why}); roll it back");
        }
        let payload = values[0];
        let signal = match values.get(1).copied() {
            None => None,
            Some(a) if a.is_null() => None,
            Some(a) if a.kind() == Kind::Text => {
                let s = a.str("otlp_ingest", 2)?;
                Some(s.parse::<Signal>().map_err(|_| {
                    Error::new(format!(
                        "otlp_ingest: signal must be 'traces', 'metrics' or 'logs', got '{s}'"
                    ))
                })?)
            }
            Some(a) => bail!(
                "otlp_ingest: signal must be TEXT ('traces', 'metrics' or 'logs'), got {}",
                a.kind().name()
            ),
        };
        let raw = match payload.kind() {
            Kind::Text => payload.text_bytes(),
            Kind::Blob => payload.blob(),
            Kind::Null => bail!(
                "otlp_ingest: payload is NULL (say, readfile() of a file that could not be read): nothing to ingest"
            ),
            k => bail!(
                "otlp_ingest: payload must be TEXT (OTLP/JSON) or BLOB (OTLP/protobuf, maybe gzip), got {k}",
                k = k.name()
            ),
        };
        self.ensure_schema()?;
        // A huge transaction without savepoints: write what is pending first.
        if self.layers.len() == 1 && self.layers[0].batch.key_entries > FLUSH_KEY_ENTRIES {
            let b = std::mem::take(&mut self.layers[0].batch);
            if let Err(e) = self.write_batch(b) {
                self.poisoned = Some(e.msg.clone());
                return Err(e);
            }
        }
        let bytes = otlp::maybe_gunzip(raw, &self.limits)
            .map_err(|e| Error::new(format!("otlp_ingest: {e}")))?;
        let encoding = payload_encoding(payload, signal, &bytes)?;
        let mut events = otlp::recycle(std::mem::take(&mut self.events), false);
        let summary = match otlp::decode(&bytes, encoding, &self.limits, &mut events) {
            Ok(s) => s,
            // `{}` (or an object of unknown fields only) is a valid, empty
            // OTLP/JSON request of the signal the caller names. Without a
            // signal it is more likely not OTLP at all: an error.
            Err(e)
                if signal.is_some()
                    && e.message().starts_with("not an OTLP export request")
                    && serde_json::from_slice::<serde_json::Value>(&bytes)
                        .is_ok_and(|v| v.is_object()) =>
            {
                return Ok(());
            }
            Err(e) => return Err(Error::new(format!("otlp_ingest: {e}"))),
        };
        if let (Encoding::Json, Some(s)) = (encoding, signal) {
            let other = match s {
                Signal::Traces => summary.metrics + summary.logs,
                Signal::Metrics => summary.spans + summary.logs,
                Signal::Logs => summary.spans + summary.metrics,
            };
            if other > 0 {
                bail!(
                    "otlp_ingest: the JSON payload holds another signal than '{}' given in the signal column",
                    s.as_str()
                );
            }
        }
        // Load (and snapshot, inside a savepoint) every template model the
        // payload needs before counting anything of it, so that nothing can
        // fail half-way through the payload.
        if summary.logs > 0 {
            self.prepare_models(&events)?;
        }
        let top = self.layers.last_mut().expect("base layer");
        let mut templater = LayerTemplater {
            db: self.db,
            models: &self.models,
            touched: &mut self.touched,
            names: PartitionNames::default(),
        };
        let applied = aggregate::apply(&mut top.batch, &events, now_secs(), &mut templater);
        self.events = otlp::recycle(events, summary.owns_heap);
        if let Err(e) = applied {
            // Cannot happen once the models are loaded; if it does, the
            // layer holds part of the payload: the transaction must go.
            let msg = format!("otlp_ingest: {e}");
            self.poisoned = Some(msg.clone());
            return Err(Error::new(msg));
        }
        Ok(())
    }

    fn begin(&mut self) -> Result<()> {
        self.reset();
        let db = self.db;
        self.models.after(move |reg| reg.check_data_version(db));
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        if let Some(why) = &self.poisoned {
            bail!("otlp_ingest: an earlier write in this transaction failed ({why})");
        }
        self.write_all()
    }

    fn commit(&mut self) -> Result<()> {
        if !self.touched.is_empty() {
            let db = self.db;
            self.models.after(move |reg| reg.note_own_commit(db));
        }
        self.reset();
        Ok(())
    }

    fn rollback(&mut self) -> Result<()> {
        let touched: Vec<String> = self.touched.drain().collect();
        self.models.after(move |reg| reg.forget(&touched));
        self.reset();
        Ok(())
    }

    fn savepoint(&mut self, level: c_int) -> Result<()> {
        self.release(level)?;
        self.layers.push(Layer::new(level));
        Ok(())
    }

    fn release(&mut self, level: c_int) -> Result<()> {
        while self.layers.len() > 1 && self.layers.last().expect("non-empty").level >= level {
            let top = self.layers.pop().expect("non-empty");
            let below = self.layers.last_mut().expect("base layer");
            below.batch.merge(top.batch);
            if below.level >= 0 {
                for (name, s) in top.snapshots {
                    below.snapshots.entry(name).or_insert(s);
                }
            }
        }
        Ok(())
    }

    fn rollback_to(&mut self, level: c_int) -> Result<()> {
        while self.layers.len() > 1 && self.layers.last().expect("non-empty").level > level {
            let top = self.layers.pop().expect("non-empty");
            self.restore(top.snapshots)?;
        }
        let top = self.layers.last_mut().expect("base layer");
        if top.level == level {
            let snaps = std::mem::take(&mut top.snapshots);
            top.batch = Batch::default();
            self.restore(snaps)?;
        } else {
            // The savepoint is older than this table's part in the
            // transaction: everything it ingested goes.
            self.rollback()?;
        }
        Ok(())
    }
}

pub fn register(db: Db, models: &Shared) -> Result<()> {
    ffi::define_write_table::<IngestTable>(db, models.clone())
}
