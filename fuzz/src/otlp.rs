//! Targets `otlp_proto` and `otlp_json`: the OTLP decoders of src/otlp.
//!
//! The oracle is the decoder tests' own (tests/decoders/testdata.rs, included here
//! as it is): prost's decoding of a request turned into the event stream
//! the decoders must produce (`reference_events`), and an OTLP/JSON writer
//! (`to_json`, canonical or with the quirks senders have).

use otelcat::otlp::{Encoding, Event, Limits, Signal, decode};

use crate::oracle::testdata::{Request, Style, reference_events, to_json};

const SIGNALS: [Signal; 3] = [Signal::Traces, Signal::Metrics, Signal::Logs];

fn events<'a>(payload: &'a [u8], encoding: Encoding) -> Option<Vec<Event<'a>>> {
    let mut out = Vec::new();
    decode(payload, encoding, &Limits::default(), &mut out).ok()?;
    Some(out)
}

/// Input: one byte (signal = byte % 3, JSON quirk seed = byte / 3), then an
/// OTLP/protobuf export request.
///
/// Never a panic; when prost and the walker both accept the bytes, the
/// walker's events are prost's (a record's `bytes` only when the request is
/// what prost writes: otherwise ours is what was sent); and then the same
/// request written as OTLP/JSON (canonical, and with quirks) decodes to
/// those events too (a record's `bytes` but where a pair's value is an
/// empty `AnyValue`), as the unit tests check on random requests.
pub fn otlp_proto(data: &[u8]) {
    let Some((&sel, bytes)) = data.split_first() else {
        return;
    };
    let signal = SIGNALS[sel as usize % 3];
    let ours = events(bytes, Encoding::Protobuf(signal));
    let Ok(theirs) = Request::decode(signal, bytes) else {
        return;
    };
    let Some(ours) = ours else {
        return;
    };
    let mut want = Vec::new();
    reference_events(&theirs, &mut want);
    if theirs.encode() == bytes {
        assert_eq!(ours, want, "protobuf walker against prost");
    } else {
        // Not what a canonical encoder writes (unknown fields, a field sent
        // twice, longer varints, unpacked numbers): a record's `bytes` is
        // what was sent (docs/catalog.md, "Record bytes"), prost's is what
        // it would write; everything else must agree.
        assert_eq!(
            without_bytes(ours),
            without_bytes(want.clone()),
            "protobuf walker against prost"
        );
    }
    // A key-value pair whose value is an empty `AnyValue` (written
    // `"value":{}`) counts as one without a value in JSON, 2 bytes less than
    // prost's empty message (docs/catalog.md, "Record bytes"); and the JSON
    // writer leaves out what OTLP/JSON of traces, metrics and logs does not
    // carry (the profiles' dictionary references `key_strindex` and
    // `string_value_strindex`): then the records' bytes are not compared.
    let empty_value = to_json(&theirs, &mut Style::canonical()).contains("\"value\":{}")
        || unwritten_fields(&theirs);
    for (what, mut style) in [
        ("canonical", Style::canonical()),
        ("quirky", Style::quirky(sel as u64 / 3)),
    ] {
        let json = to_json(&theirs, &mut style);
        let got = events(json.as_bytes(), Encoding::Json)
            .unwrap_or_else(|| panic!("{what} JSON of an accepted request refused: {json}"));
        if empty_value {
            assert_eq!(
                without_bytes(got),
                without_bytes(want.clone()),
                "{what} JSON against protobuf: {json}"
            );
        } else {
            assert_eq!(got, want, "{what} JSON against protobuf: {json}");
        }
    }
}

/// Whether `req` sets a field the oracle's JSON writer leaves out: a
/// `KeyValue.key_strindex` or an `AnyValue.string_value_strindex` (read
/// from prost's debug form, which names every field).
fn unwritten_fields(req: &Request) -> bool {
    let d = format!("{req:?}");
    d.contains("StringValueStrindex(")
        || d.split("key_strindex: ")
            .skip(1)
            .any(|rest| !rest.starts_with("0 ") && !rest.starts_with("0,"))
}

/// The events with every record's `bytes` set to 0.
fn without_bytes(mut events: Vec<Event<'_>>) -> Vec<Event<'_>> {
    for e in &mut events {
        match e {
            Event::Metric { bytes, .. } | Event::Span { bytes, .. } | Event::Log { bytes, .. } => {
                *bytes = 0
            }
            _ => {}
        }
    }
    events
}

/// Input: an OTLP/JSON payload.
///
/// Never a panic; nothing accepted that is not JSON (serde_json reads
/// every document of an accepted payload, numbers beyond f64 aside, which
/// JSON allows and serde_json refuses; a leading byte order mark too);
/// decoding is deterministic.
pub fn otlp_json(data: &[u8]) {
    let Some(first) = events(data, Encoding::Json) else {
        return;
    };
    // (A leading UTF-8 byte order mark is accepted, as senders write one.)
    let json = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
    let values = serde_json::Deserializer::from_slice(json)
        .into_iter::<serde_json::Value>()
        .collect::<Result<Vec<_>, _>>();
    if let Err(e) = values
        && !e.to_string().starts_with("number out of range")
    {
        panic!(
            "accepted invalid JSON: {e}: {:?}",
            String::from_utf8_lossy(data)
        );
    }
    assert_eq!(
        events(data, Encoding::Json).as_ref(),
        Some(&first),
        "decoded twice, different events"
    );
}
