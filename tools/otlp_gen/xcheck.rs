//! TEMPORARY cross-check against otelcat's decoder (not committed).
use otelcat::otlp::{Encoding, Limits, Signal as S, decode};
pub fn xcheck() {
    for (sig, s) in [
        (crate::engine::Signal::Traces, S::Traces),
        (crate::engine::Signal::Metrics, S::Metrics),
        (crate::engine::Signal::Logs, S::Logs),
    ] {
        for profile in [crate::engine::Profile::Bench, crate::engine::Profile::Demo] {
            let cfg = crate::engine::Config {
                signal: sig,
                profile,
                seed: 5,
                records: 20_000,
                batch: 500,
                services: 14,
            };
            for fmt in [
                crate::Format::Proto,
                crate::Format::Json,
                crate::Format::Jsonl,
            ] {
                let mut out = Vec::new();
                crate::run(&cfg, fmt, false, &mut out).unwrap();
                let payloads: Vec<&[u8]> = if fmt == crate::Format::Jsonl {
                    vec![&out[..]]
                } else {
                    let mut v = Vec::new();
                    let mut b = &out[..];
                    while !b.is_empty() {
                        let n = u32::from_le_bytes(b[..4].try_into().unwrap()) as usize;
                        v.push(&b[4..4 + n]);
                        b = &b[4 + n..];
                    }
                    v
                };
                let (mut recs, mut reqs, mut ev) = (0, 0, 0);
                for p in payloads {
                    let mut evs = Vec::new();
                    let enc = if fmt == crate::Format::Proto {
                        Encoding::Protobuf(s)
                    } else {
                        Encoding::Json
                    };
                    let mut lim = Limits::default();
                    lim.max_payload_bytes = 1 << 30;
                    match decode(p, enc, &lim, &mut evs) {
                        Ok(sum) => {
                            recs += sum.spans + sum.data_points + sum.logs;
                            reqs += sum.requests;
                            ev += sum.span_events;
                        }
                        Err(e) => {
                            println!("ERR {:?} {:?} {e}", sig, fmt);
                            break;
                        }
                    }
                }
                println!(
                    "{:?} {:?} {:?}: records {recs} requests {reqs} span_events {ev}",
                    sig, profile, fmt
                );
            }
        }
    }
}
