//! `otlp::size` against prost: the bytes a canonical encoder writes for a
//! `KeyValue`, for random values of every kind and depth.

use crate::testdata::Gen;
use opentelemetry_proto::tonic::common::v1::{AnyValue as PValue, KeyValue, any_value};
use otelcat::otlp::{AnyValue, Attr};
use prost::Message;
use std::borrow::Cow;

/// The value as the decoders give it, and the prost value that encodes the
/// same way: an absent value stands for `Empty` (string-table references,
/// which decode to `Empty`, are replaced by absent values).
fn ours(v: &mut Option<PValue>) -> AnyValue<'static> {
    use any_value::Value as V;
    let Some(p) = v else {
        return AnyValue::Empty;
    };
    match &mut p.value {
        None | Some(V::StringValueStrindex(_)) => {
            *v = None;
            AnyValue::Empty
        }
        Some(V::StringValue(s)) => AnyValue::Str(Cow::Owned(s.clone())),
        Some(V::BoolValue(b)) => AnyValue::Bool(*b),
        Some(V::IntValue(i)) => AnyValue::Int(*i),
        Some(V::DoubleValue(d)) => AnyValue::Double(*d),
        Some(V::BytesValue(b)) => AnyValue::Bytes(Cow::Owned(b.clone())),
        Some(V::ArrayValue(a)) => AnyValue::Array(
            a.values
                .iter_mut()
                .map(|e| {
                    let mut o = Some(std::mem::take(e));
                    let x = ours(&mut o);
                    // An element cannot be absent: it is an empty message.
                    *e = o.unwrap_or_default();
                    x
                })
                .collect(),
        ),
        Some(V::KvlistValue(l)) => {
            AnyValue::KvList(l.values.iter_mut().map(|kv| ours_kv(kv)).collect())
        }
    }
}

fn ours_kv(kv: &mut KeyValue) -> Attr<'static> {
    kv.key_strindex = 0;
    Attr {
        key: Cow::Owned(kv.key.clone()),
        value: ours(&mut kv.value),
    }
}

#[test]
fn key_value_sizes_equal_prost() {
    for seed in 0..2_000 {
        let mut g = Gen::new(seed);
        let mut kv = KeyValue {
            key: if seed % 7 == 0 {
                String::new()
            } else {
                g.string()
            },
            value: (seed % 11 != 0).then(|| g.value(seed as usize % 4)),
            key_strindex: 0,
        };
        let attr = ours_kv(&mut kv);
        assert_eq!(attr.encoded_len(), kv.encoded_len(), "seed {seed}: {kv:?}");
        assert_eq!(
            attr.field_len(),
            prost::length_delimiter_len(kv.encoded_len()) + 1 + kv.encoded_len()
        );
    }
}
