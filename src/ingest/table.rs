//! The `otlp_ingest` virtual table: arguments, decoding, and the
//! transaction. `INSERT INTO otlp_ingest(payload [, signal])` decodes a
//! payload and applies it to the batch of the innermost open savepoint;
//! COMMIT (xSync) writes every batch; ROLLBACK drops them.
//!
//! What a transaction ingested is held in layers, one per open savepoint
//! (SQLite opens one per multi-row statement inside a transaction).
//! ROLLBACK TO drops the layers above the savepoint and restores the
//! template models to their state then; RELEASE merges layers down;
//! ROLLBACK drops everything and the models are reloaded from the file. A
//! payload that fails to decode adds nothing.

use std::ffi::c_int;
use std::time::{SystemTime, UNIX_EPOCH};

use super::batch::{self, Batch};
use super::history::Settings;
use super::schema;
use super::templates::{Snapshots, Templates};
use super::write::Writer;
use crate::drain::store::Shared;
use crate::ffi::{Arg, Db, Error, Kind, Result, WriteTable, bail};
use crate::otlp::{self, Encoding, Limits, Signal};

/// Batches holding more key entries than this are written before the next
/// payload when no savepoint is open (bounds memory in huge transactions).
const FLUSH_KEY_ENTRIES: usize = 200_000;

/// The most one payload may add to the batch, in key entries (a new
/// metric, span name, severity or log event name counts
/// `batch::ENTITY_COST`): what bounds the memory and the commit of one
/// INSERT whatever the payload (docs/catalog.md "Limits and errors").
/// About 1 GB of aggregates at most; a request of 8 192 spans of distinct
/// names with 10 keys each makes about 115 000.
pub const MAX_PAYLOAD_COST: usize = 250_000;

/// The savepoint level of the layer a payload is applied to when it could
/// exceed `MAX_PAYLOAD_COST` (above any real savepoint's).
const PAYLOAD_LEVEL: c_int = c_int::MAX;

struct Layer {
    /// SQLite savepoint level; -1 for the transaction itself.
    level: c_int,
    batch: Batch,
    /// Template models as they were when this layer first trained them.
    snapshots: Snapshots,
}

impl Layer {
    fn new(level: c_int) -> Layer {
        Layer {
            level,
            batch: Batch::default(),
            snapshots: Snapshots::default(),
        }
    }
}

pub struct IngestTable {
    db: Db,
    /// The database named in the INSERT (`main` unless qualified).
    schema: String,
    templates: Templates,
    layers: Vec<Layer>,
    schema_ready: bool,
    /// The catalog's `key_name_bound`, read once per transaction.
    key_name_bound: usize,
    writer: Option<Writer>,
    /// A write failed mid-transaction: only a rollback can clear it.
    poisoned: Option<String>,
    limits: Limits,
    /// The allocation of the last payload's events, for the next one.
    events: Vec<otlp::Event<'static>>,
    /// The catalog's history settings, read by each transaction.
    history: Settings,
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The `signal` column: NULL or absent, else 'traces', 'metrics' or 'logs'.
fn signal_arg(value: Option<Arg>) -> Result<Option<Signal>> {
    match value {
        None => Ok(None),
        Some(a) if a.is_null() => Ok(None),
        Some(a) if a.kind() == Kind::Text => {
            let s = a.str("otlp_ingest", 2)?;
            Ok(Some(s.parse::<Signal>().map_err(|_| {
                Error::new(format!(
                    "otlp_ingest: signal must be 'traces', 'metrics' or 'logs', got '{s}'"
                ))
            })?))
        }
        Some(a) => bail!(
            "otlp_ingest: signal must be TEXT ('traces', 'metrics' or 'logs'), got {}",
            a.kind().name()
        ),
    }
}

/// The `payload` column's bytes.
fn payload_arg(payload: Arg<'_>) -> Result<&[u8]> {
    match payload.kind() {
        Kind::Text => Ok(payload.text_bytes()),
        Kind::Blob => Ok(payload.blob()),
        Kind::Null => bail!(
            "otlp_ingest: payload is NULL (say, readfile() of a file that could not be read): nothing to ingest"
        ),
        k => bail!(
            "otlp_ingest: payload must be TEXT (OTLP/JSON) or BLOB (OTLP/protobuf, maybe gzip), got {k}",
            k = k.name()
        ),
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
                Error::new(format!(
                    "otlp_ingest: cannot create or upgrade the catalog: {}",
                    e.msg
                ))
            })?;
            self.writer = None;
        }
        self.templates.ensure_schema()?;
        self.key_name_bound = schema::key_name_bound(self.db)?;
        self.history = Settings::read(self.db)?;
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

    /// Writes a batch: its span names templated, its rows, then the models.
    fn write_batch(&mut self, mut batch: Batch) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let writer = match &mut self.writer {
            Some(w) => w,
            None => self.writer.insert(Writer::new(self.db)?),
        };
        if let Err(e) = writer.fold_stored(&mut batch, self.key_name_bound) {
            self.writer = None;
            return Err(Error::with_code(
                e.code,
                format!("otlp_ingest: writing the catalog failed: {}", e.msg),
            ));
        }
        let patterns = self.templates.train_span_names(&batch)?;
        let history = self.history;
        let r = self
            .templates
            .with_texts(|texts| writer.write(&batch, &patterns, texts, &history));
        if let Err(e) = r {
            self.writer = None; // re-prepared next time (the schema may have changed)
            return Err(Error::with_code(
                e.code,
                format!("otlp_ingest: writing the catalog failed: {}", e.msg),
            ));
        }
        self.templates.written()
    }

    fn reset(&mut self) {
        self.layers.clear();
        self.layers.push(Layer::new(-1));
        self.poisoned = None;
        self.schema_ready = false;
    }

    /// Drops the layer of a payload applied apart (`ingest`): nothing of it
    /// stays, nor what it taught the template models.
    fn drop_payload_layer(&mut self) {
        let layer = self.layers.pop().expect("the payload's layer");
        self.templates.restore(layer.snapshots);
    }

    /// Decodes a payload and applies it to the innermost layer's batch.
    fn ingest(&mut self, payload: Arg, signal: Option<Signal>, raw: &[u8]) -> Result<()> {
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
        // A payload that could add more than MAX_PAYLOAD_COST entries to the
        // batch (its resource attributes times its records, plus its
        // events, bound what it can add) is applied to a layer of its own,
        // with that cost as its limit: past it, the layer and its template
        // models are dropped and the payload refused, the transaction
        // intact. Others (a request of a few thousand records) go straight
        // into the batch.
        let records = summary.spans
            + summary.span_events
            + summary.span_links
            + summary.data_points
            + summary.logs;
        let could_cost = summary
            .resource_attrs
            .saturating_mul(records)
            .saturating_add(events.len().saturating_mul(1 + batch::ENTITY_COST));
        let own_layer = could_cost > MAX_PAYLOAD_COST;
        if own_layer {
            // As a savepoint's layer (released or dropped below).
            self.savepoint(PAYLOAD_LEVEL)?;
        }
        let top = self.layers.last_mut().expect("base layer");
        // Load (and snapshot, inside a savepoint) every template model the
        // payload needs before counting anything of it, so that nothing can
        // fail half-way through the payload.
        if summary.logs > 0 {
            let snapshots = (top.level >= 0).then_some(&mut top.snapshots);
            if let Err(e) = self.templates.prepare(&events, snapshots) {
                if own_layer {
                    self.drop_payload_layer();
                }
                return Err(e);
            }
        }
        top.batch.bucket_width = self.history.bucket;
        let applied = top.batch.apply(
            &events,
            now_secs(),
            &mut self.templates,
            self.key_name_bound,
            if own_layer {
                MAX_PAYLOAD_COST
            } else {
                usize::MAX
            },
        );
        self.events = otlp::recycle(events, summary.owns_heap);
        if own_layer {
            if let Err(e) = applied {
                self.drop_payload_layer();
                return Err(Error::new(format!("otlp_ingest: {e}")));
            }
            self.release(PAYLOAD_LEVEL)?;
        } else if let Err(e) = applied {
            // Cannot happen once the models are loaded; if it does, the
            // layer holds part of the payload: the transaction must go.
            let msg = format!("otlp_ingest: {e}");
            self.poisoned = Some(msg.clone());
            return Err(Error::new(msg));
        }
        if summary.logs > 0
            && let Err(e) = self.templates.bound_memory()
        {
            self.poisoned = Some(e.msg.clone());
            return Err(e);
        }
        Ok(())
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
            templates: Templates::new(db, aux.clone()),
            layers: Vec::new(),
            schema_ready: false,
            key_name_bound: schema::KEY_NAME_BOUND,
            writer: None,
            poisoned: None,
            limits: Limits::default(),
            events: Vec::new(),
            history: Settings::default(),
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
        let signal = signal_arg(values.get(1).copied())?;
        let raw = payload_arg(payload)?;
        self.ensure_schema()?;
        // A huge transaction without savepoints: write what is pending first.
        if self.layers.len() == 1 && self.layers[0].batch.key_entries > FLUSH_KEY_ENTRIES {
            let b = std::mem::take(&mut self.layers[0].batch);
            if let Err(e) = self.write_batch(b) {
                self.poisoned = Some(e.msg.clone());
                return Err(e);
            }
        }
        self.ingest(payload, signal, raw)
    }

    fn begin(&mut self) -> Result<()> {
        self.reset();
        self.templates.begin();
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        if let Some(why) = &self.poisoned {
            bail!("otlp_ingest: an earlier write in this transaction failed ({why})");
        }
        self.write_all()
    }

    fn commit(&mut self) -> Result<()> {
        self.templates.committed();
        self.reset();
        Ok(())
    }

    fn rollback(&mut self) -> Result<()> {
        self.templates.rolled_back();
        self.reset();
        Ok(())
    }

    fn savepoint(&mut self, level: c_int) -> Result<()> {
        self.release(level)?;
        // Record numbers go on from the layer below (sample lists merge by them).
        let records = self.layers.last().map_or(0, |l| l.batch.records);
        let mut layer = Layer::new(level);
        layer.batch.records = records;
        self.layers.push(layer);
        Ok(())
    }

    fn release(&mut self, level: c_int) -> Result<()> {
        while self.layers.len() > 1 && self.layers.last().expect("non-empty").level >= level {
            let top = self.layers.pop().expect("non-empty");
            let below = self.layers.last_mut().expect("base layer");
            below.batch.merge(top.batch);
            if below.level >= 0 {
                below.snapshots.absorb(top.snapshots);
            }
        }
        Ok(())
    }

    fn rollback_to(&mut self, level: c_int) -> Result<()> {
        while self.layers.len() > 1 && self.layers.last().expect("non-empty").level > level {
            let top = self.layers.pop().expect("non-empty");
            self.templates.restore(top.snapshots);
        }
        let top = self.layers.last_mut().expect("base layer");
        if top.level == level {
            let snaps = std::mem::take(&mut top.snapshots);
            let records = top.batch.records;
            top.batch = Batch::default();
            top.batch.records = records;
            self.templates.restore(snaps);
        } else {
            // The savepoint is older than this table's part in the
            // transaction: everything it ingested goes.
            self.rollback()?;
        }
        Ok(())
    }
}
