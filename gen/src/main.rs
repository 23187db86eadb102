//! otlp_gen: a deterministic OpenTelemetry workload generator for otelcat's
//! benchmarks and demo.
//!
//! It writes OTLP export requests (traces, metrics or logs) modelled on a
//! microservice shop (the OpenTelemetry demo's services), either framed
//! (each request preceded by its byte length as a little-endian u32) as
//! OTLP/protobuf or OTLP/JSON, or as JSON Lines like the Collector's file
//! exporter. The same arguments and seed always give the same bytes. While
//! generating, it counts the ground truth a correct catalog must hold
//! (entities, services, keys by scope with counts, types and distinct
//! values), printed as a one-line summary and optionally as a JSON file.
//!
//! Run `cargo run --release --example otlp_gen -- --help` for usage.

// `*rng.pick(LIST)`: without the `*`, `pick`'s element type is not inferred.
#![allow(clippy::explicit_auto_deref)]

mod check;
mod engine;
mod json;
mod logs;
mod metrics;
mod model;
mod proto;
mod rec;
mod rng;
mod traces;
mod truth;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::time::Instant;

use engine::{CARD_KEYS, Config, Gen, Profile, Signal};

const USAGE: &str = "\
otlp_gen: deterministic OpenTelemetry (OTLP) workload generator

USAGE:
  otlp_gen --signal traces|metrics|logs --out FILE [options]
  otlp_gen --self-check

OPTIONS:
  --signal S         traces, metrics or logs (required)
  --format F         proto (default): frames of OTLP/protobuf export requests
                     json: frames of OTLP/JSON export requests
                     jsonl: one OTLP/JSON request per line (Collector file
                     exporter format), no frames
  --records N        records to write (spans, metric data points or log
                     records; default 10000)
  --batch B          records per export request (default 500; the last
                     request holds the rest)
  --seed S           PRNG seed (default 1)
  --profile P        bench (default): realistic data plus the card.* keys
                     demo: realistic data plus exploding keys (span names
                     GET /users/<id>, metric label user.id, log attribute
                     request.id)
  --services K       use the first K services (1..=14, default 12)
  --time-scale T     virtual time runs T times faster between records
                     (default 1): the same records over T times the time,
                     say a month of the bench workload's shape in a few
                     million records (only timestamps change)
  --out FILE         output file ('-' for standard output)
  --truth FILE       also write the ground truth as JSON (with exact
                     distinct value counts per key; costs memory on large runs)
  --stdout-summary   print the summary line on standard output instead of
                     standard error
  --quiet            no timing line on standard error
  --self-check       run the internal checks and exit

FRAMES: each frame is a little-endian u32 byte length followed by that many
bytes: one ExportTraceServiceRequest / ExportMetricsServiceRequest /
ExportLogsServiceRequest.

BENCH KEYS: every span, data point and log record of the bench profile has
card.3, card.100, card.1k, card.10k, card.100k and card.1m, string values
v0..v{N-1} drawn uniformly from N = 3, 100, 1000, 10^4, 10^5, 10^6.

DEMO KEYS: frontend server spans named GET /users/<n> (n uniform in 0..10^6,
about 1 in 9 frontend entry spans); data point label user.id (user-<n>, n
uniform in 0..10^6) on the Sum app.frontend.requests; log attribute
request.id (a fresh UUID) on half the records of web and commerce services.
DEMO EVENTS: 1 in 25 log records of services that do not log to files are
event records (LogRecord.event_name, no body, INFO): the frontend's
browser.page_view, session.start and session.end, the others'
feature_flag.evaluation, with their semantic-convention attributes.

SUMMARY: one line, key=value (deterministic): signal format profile seed
records requests bytes batch services_seen entities, and the number of
(entity, key) pairs per key scope: attribute_keys resource_keys event_keys
link_keys (traces), label_keys resource_keys (metrics), attribute_keys
resource_keys (logs). A second line on standard error gives the timing.

GROUND TRUTH (--truth): entities are span names, metric names (with type,
unit, description, temporality, monotonic) and log severities (by
severityNumber; name TRACE/DEBUG/INFO/WARN/ERROR/FATAL); for each: records,
records per service, span kinds or severityText presence, and per key scope
each key's count (records carrying it; events/links carrying it for
event/link), value types and exact distinct values. Logs add body types and
body templates (tokens holding a variable as <*>) with counts.
";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Proto,
    Json,
    Jsonl,
}

impl Format {
    fn as_str(self) -> &'static str {
        match self {
            Format::Proto => "proto",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
        }
    }
}

/// Counts of one run.
pub struct Stats {
    pub records: u64,
    pub requests: u64,
    /// Bytes written (frame headers included).
    pub bytes: u64,
}

/// Generates the whole run into `out`; returns the generator (holding the
/// ground truth) and the counts.
pub fn run(
    cfg: &Config,
    format: Format,
    distinct: bool,
    out: &mut impl Write,
) -> io::Result<(Gen, Stats)> {
    let mut g = Gen::new(cfg.clone(), distinct);
    let mut batch = g.new_batch();
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut bytes = 0u64;
    while g.next_request(&mut batch) {
        buf.clear();
        match format {
            Format::Proto | Format::Json => {
                buf.extend_from_slice(&[0; 4]);
                if format == Format::Proto {
                    proto::encode(&batch, &mut buf);
                } else {
                    json::encode(&batch, &mut buf);
                }
                let len = u32::try_from(buf.len() - 4).map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "request over 4 GiB: lower --batch",
                    )
                })?;
                buf[..4].copy_from_slice(&len.to_le_bytes());
            }
            Format::Jsonl => {
                json::encode(&batch, &mut buf);
                buf.push(b'\n');
            }
        }
        out.write_all(&buf)?;
        bytes += buf.len() as u64;
    }
    out.flush()?;
    let stats = Stats {
        records: cfg.records,
        requests: g.requests,
        bytes,
    };
    Ok((g, stats))
}

/// The one-line summary (deterministic: no timings).
pub fn summary(cfg: &Config, format: Format, g: &Gen, st: &Stats) -> String {
    let t = &g.truth;
    let keys = t.key_counts();
    let mut s = format!(
        "otlp_gen signal={} format={} profile={} seed={} records={} requests={} bytes={} batch={} services_seen={} entities={}",
        cfg.signal.as_str(),
        format.as_str(),
        cfg.profile.as_str(),
        cfg.seed,
        st.records,
        st.requests,
        st.bytes,
        cfg.batch,
        t.services(),
        t.entities(),
    );
    for (i, name) in t.scope_names().iter().enumerate() {
        s.push_str(&format!(" {name}_keys={}", keys[i]));
    }
    s
}

/// Header fields of the truth JSON.
pub fn truth_header(
    cfg: &Config,
    format: Format,
    st: &Stats,
) -> serde_json::Map<String, serde_json::Value> {
    let mut h = serde_json::Map::new();
    h.insert("signal".into(), cfg.signal.as_str().into());
    h.insert("format".into(), format.as_str().into());
    h.insert("profile".into(), cfg.profile.as_str().into());
    h.insert("seed".into(), cfg.seed.into());
    h.insert("records".into(), st.records.into());
    h.insert("batch".into(), (cfg.batch as u64).into());
    h.insert("requests".into(), st.requests.into());
    h.insert("bytes".into(), st.bytes.into());
    h.insert(
        "card_keys".into(),
        serde_json::Value::Object(
            CARD_KEYS
                .iter()
                .map(|(k, n)| ((*k).to_owned(), (*n).into()))
                .collect(),
        ),
    );
    h
}

struct Args {
    cfg: Config,
    format: Format,
    out: Option<String>,
    truth: Option<String>,
    stdout_summary: bool,
    quiet: bool,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut signal = None;
    let mut format = Format::Proto;
    let mut records = 10_000u64;
    let mut batch = 500usize;
    let mut seed = 1u64;
    let mut profile = Profile::Bench;
    let mut services = model::DEFAULT_SERVICES;
    let mut time_scale = 1u64;
    let mut out = None;
    let mut truth = None;
    let mut stdout_summary = false;
    let mut quiet = false;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut val = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            "--self-check" => {
                return Err("__self_check".into());
            }
            "--signal" => {
                signal = Some(match val("--signal")?.as_str() {
                    "traces" => Signal::Traces,
                    "metrics" => Signal::Metrics,
                    "logs" => Signal::Logs,
                    s => return Err(format!("unknown signal '{s}'")),
                })
            }
            "--format" => {
                format = match val("--format")?.as_str() {
                    "proto" => Format::Proto,
                    "json" => Format::Json,
                    "jsonl" => Format::Jsonl,
                    s => return Err(format!("unknown format '{s}'")),
                }
            }
            "--records" => records = num(&val("--records")?)?,
            "--batch" => batch = num(&val("--batch")?)? as usize,
            "--seed" => seed = num(&val("--seed")?)?,
            "--profile" => {
                profile = match val("--profile")?.as_str() {
                    "bench" => Profile::Bench,
                    "demo" => Profile::Demo,
                    s => return Err(format!("unknown profile '{s}'")),
                }
            }
            "--services" => services = num(&val("--services")?)? as usize,
            "--time-scale" => time_scale = num(&val("--time-scale")?)?,
            "--out" => out = Some(val("--out")?),
            "--truth" => truth = Some(val("--truth")?),
            "--stdout-summary" => stdout_summary = true,
            "--quiet" => quiet = true,
            s => return Err(format!("unknown argument '{s}' (see --help)")),
        }
    }
    let signal = signal.ok_or("--signal is required (see --help)")?;
    if out.is_none() {
        return Err("--out is required (see --help)".into());
    }
    if batch == 0 {
        return Err("--batch must be at least 1".into());
    }
    if time_scale == 0 {
        return Err("--time-scale must be at least 1".into());
    }
    if !(1..=model::SERVICES.len()).contains(&services) {
        return Err(format!(
            "--services must be in 1..={}",
            model::SERVICES.len()
        ));
    }
    Ok(Some(Args {
        cfg: Config {
            signal,
            profile,
            seed,
            records,
            batch,
            services,
            time_scale,
        },
        format,
        out,
        truth,
        stdout_summary,
        quiet,
    }))
}

/// A decimal number, `_` separators allowed (`10_000_000`).
fn num(s: &str) -> Result<u64, String> {
    s.replace('_', "")
        .parse()
        .map_err(|_| format!("not a number: '{s}'"))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(a)) => a,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) if e == "__self_check" => {
            return if check::self_check() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
        Err(e) => {
            eprintln!("otlp_gen: {e}");
            return ExitCode::from(2);
        }
    };
    match generate(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("otlp_gen: {e}");
            ExitCode::FAILURE
        }
    }
}

fn generate(args: &Args) -> io::Result<()> {
    let path = args.out.as_deref().expect("checked");
    let started = Instant::now();
    let distinct = args.truth.is_some();
    let (g, st) = if path == "-" {
        let stdout = io::stdout();
        let mut w = BufWriter::with_capacity(1 << 20, stdout.lock());
        run(&args.cfg, args.format, distinct, &mut w)?
    } else {
        let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
        run(&args.cfg, args.format, distinct, &mut w)?
    };
    let secs = started.elapsed().as_secs_f64();
    if let Some(tp) = &args.truth {
        let j = g.truth.to_json(truth_header(&args.cfg, args.format, &st));
        let mut w = BufWriter::new(File::create(tp)?);
        serde_json::to_writer_pretty(&mut w, &j)?;
        w.write_all(b"\n")?;
        w.flush()?;
    }
    let line = summary(&args.cfg, args.format, &g, &st);
    if args.stdout_summary {
        println!("{line}");
    } else {
        eprintln!("{line}");
    }
    if !args.quiet {
        eprintln!(
            "otlp_gen: {:.3} s, {:.0} records/s, {:.1} MB/s, {:.1} bytes/record",
            secs,
            st.records as f64 / secs,
            st.bytes as f64 / secs / 1e6,
            st.bytes as f64 / st.records.max(1) as f64
        );
    }
    Ok(())
}
