//! Target `samples`: `json_samples_merge` (src/samples.rs).
//!
//! Input: one byte (bits 0–4: max_n 0..=31; bit 5: no first list (NULL);
//! bit 6: no second list), then the two lists' texts separated by the first
//! 0xFF byte (invalid UTF-8 is read lossily, as SQL text is UTF-8).
//!
//! Never a panic; the result is a JSON array of at most max_n elements
//! with different texts, each equal (as JSON) to an element of the inputs,
//! in first-seen order; an accepted list is a JSON array serde_json reads
//! (as raw values: numbers beyond f64 are JSON), and one serde_json reads
//! strictly (as values) is never refused, below the nesting limit.

use otelcat::samples::merge;
use serde_json::Value;
use serde_json::value::RawValue;

/// An element, comparable as JSON: its value, or its text when serde_json
/// cannot hold it as a value (a number beyond f64, which JSON allows).
#[derive(PartialEq, Debug)]
enum Elem {
    Value(Value),
    Text(String),
}

fn elem(raw: &RawValue) -> Elem {
    match serde_json::from_str::<Value>(raw.get()) {
        Ok(v) => Elem::Value(v),
        Err(_) => Elem::Text(raw.get().trim().to_string()),
    }
}

pub fn samples(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let max_n = (sel & 31) as usize;
    let (a, b) = match rest.iter().position(|&c| c == 0xff) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    let a = (sel & 32 == 0).then_some(a.as_ref());
    let b = (sel & 64 == 0).then_some(b.as_ref());
    let parsed: Vec<Option<Vec<Elem>>> = [a, b]
        .iter()
        .map(|t| match t {
            None => Some(Vec::new()),
            Some(t) => serde_json::from_str::<Vec<&RawValue>>(t)
                .ok()
                .map(|v| v.into_iter().map(elem).collect()),
        })
        .collect();
    match merge(a, b, max_n) {
        Err((pos, why)) => {
            assert!(pos == 1 || pos == 2, "argument {pos}");
            assert!(!why.is_empty());
            let text = [a, b][pos - 1].unwrap_or_else(|| panic!("NULL argument {pos} refused"));
            // serde_json's strict reading (escapes checked: its raw
            // values let a lone surrogate through, which otelcat refuses).
            let strict = serde_json::from_str::<Vec<Value>>(text).is_ok();
            let deep = text.bytes().filter(|&c| c == b'[' || c == b'{').count() > 100;
            assert!(
                !strict || deep,
                "argument {pos} refused ({why}) but serde_json reads it: {text:?}"
            );
        }
        Ok(out) => {
            let inputs: Vec<&Elem> = parsed
                .iter()
                .flat_map(|p| p.as_ref().expect("accepted lists are JSON arrays"))
                .collect();
            let got: Vec<&RawValue> = serde_json::from_str(&out)
                .unwrap_or_else(|e| panic!("not a JSON array: {e}: {out:?}"));
            assert!(got.len() <= max_n, "{} elements, max_n {max_n}", got.len());
            let mut last = None;
            for (i, e) in got.iter().enumerate() {
                assert!(
                    got[..i].iter().all(|x| x.get() != e.get()),
                    "element {} twice: {out:?}",
                    e.get()
                );
                let v = elem(e);
                // The first input element equal to it after the previous
                // one's (two texts of one value, 1e2 and 100.0, are two
                // elements).
                let from = last.map_or(0, |l| l + 1);
                let first = inputs[from..]
                    .iter()
                    .position(|x| **x == v)
                    .unwrap_or_else(|| {
                        panic!("{} is in no input, or out of order: {out:?}", e.get())
                    });
                last = Some(from + first);
            }
            // Every input element is kept until max_n elements are.
            if got.len() < max_n {
                for x in &inputs {
                    assert!(
                        got.iter().any(|e| elem(e) == **x),
                        "{x:?} dropped below max_n: {out:?}"
                    );
                }
            }
        }
    }
}
