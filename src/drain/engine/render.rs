//! Which tokens vary: word kinds, and rendering templates as text.

use super::*;

/// Distinct values a position of capitalised words needs, as a multiple of
/// `min_distinct`.
pub(super) const CAPITAL_FACTOR: usize = 3;

/// A value seen on at most this many lines counts as new (see `generalize`).
pub(super) const RARE_LINES: u64 = 1;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum WordKind {
    /// A field name: letters, then `:` or `=` at the end (`disk:`, `user=`).
    Key,
    /// A word of letters (and `_`) starting with a capital (`Paused`,
    /// `GET`), with punctuation around it (`"GET`, `SPP.`).
    Capital,
    Other,
}

pub(super) fn word_kind(t: &[u8]) -> WordKind {
    let core_start = t
        .iter()
        .position(|c| c.is_ascii_alphanumeric() || *c >= 0x80);
    let Some(a) = core_start else {
        return WordKind::Other;
    };
    let b = t
        .iter()
        .rposition(|c| c.is_ascii_alphanumeric() || *c >= 0x80)
        .unwrap_or(a)
        + 1;
    let core = &t[a..b];
    if b < t.len()
        && matches!(t[b..], [b':'] | [b'='])
        && core
            .iter()
            .all(|c| c.is_ascii_alphabetic() || *c == b'_' || *c == b'.' || *c == b'-')
    {
        return WordKind::Key;
    }
    if core[0].is_ascii_uppercase()
        && core.iter().all(|c| c.is_ascii_alphabetic() || *c == b'_')
        && t[..a].iter().chain(&t[b..]).all(|c| !is_param_byte(*c))
    {
        return WordKind::Capital;
    }
    WordKind::Other
}

/// True if a normalized token holds a letter outside its parameters.
#[inline]
pub(super) fn has_word(t: &[u8]) -> bool {
    t.iter().any(|c| c.is_ascii_alphabetic() || *c >= 0x80)
}

/// True if a normalized token holds a number: a digit or a parameter.
#[inline]
pub(super) fn has_number(t: &[u8]) -> bool {
    t.iter().any(|&c| c.is_ascii_digit() || is_param_byte(c))
}

/// Whether a run of tokens (normalized texts) may be an optional part of a
/// line: it holds no word, or it holds numbers as tokens of their own and
/// no more words than them (a value with its unit or label: `(10.2 KB)`,
/// `<1 sec`, `(retry 2)`), so that words (`invalid user`, `[preauth]`) and
/// names with digits (`field...0`, `NodeCard(R10-M1)`) never are.
pub(super) fn run_ok<'a>(run: impl Iterator<Item = &'a [u8]>) -> bool {
    let (mut words, mut numbers) = (0, 0);
    for t in run {
        if has_word(t) {
            words += 1;
        } else if has_number(t) {
            numbers += 1;
        }
    }
    words == 0 || (numbers > 0 && words <= numbers)
}

/// Cuts `s` to at most `max` bytes at a character boundary.
pub(super) fn cut(s: &str, max: usize) -> &str {
    let mut n = s.len().min(max);
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    &s[..n]
}

/// Renders a template: its tokens (parameters as `param`) with the
/// separators of the cluster's `example` between them, so that whitespace
/// runs, tabs, control characters and extra delimiters stay where the first
/// line had them (`GET /users/<*>` with `/` as a delimiter).
///
/// Leading and trailing whitespace and control characters of the example
/// are dropped; leading and trailing extra delimiters are kept (`/health`).
/// When the example does not tokenize to as many tokens as the template
/// (it was cut to `max_example_bytes` before its last token, or comes from a
/// foreign record), the tokens are joined by single spaces. An example cut
/// inside or after its last token still gives every separator between
/// tokens, so it is used (only a trailing delimiter past the cut is lost).
/// The result depends only on persisted state (tokens and example).
pub(super) fn render(
    texts: &[Box<str>],
    toks: &[u64],
    example: &str,
    tokenizer: &Tokenizer,
    cfg: &DrainConfig,
) -> String {
    let mut spans = Vec::new();
    let len = tokenizer.spans(example, &mut spans);
    // (a template with optional runs does not line up with its example)
    let seps = spans.len() == toks.len() && !spans.is_empty() && !toks.contains(&GAP);
    // Pieces: literal text, or a parameter (its byte).
    let mut pieces: Vec<(Option<u8>, &str)> = Vec::with_capacity(2 * toks.len() + 2);
    if seps {
        pieces.push((None, example[..spans[0].0].trim_start_matches(is_blank)));
    }
    for (i, (t, h)) in texts.iter().zip(toks).enumerate() {
        if i > 0 {
            pieces.push((
                None,
                if seps {
                    &example[spans[i - 1].1..spans[i].0]
                } else {
                    " "
                },
            ));
        }
        if *h == WILD || *h == GAP {
            pieces.push((Some(PARAM_BYTE), ""));
            continue;
        }
        let mut lit = 0;
        for (k, c) in t.bytes().enumerate() {
            if is_param_byte(c) {
                pieces.push((None, &t[lit..k]));
                pieces.push((Some(c), ""));
                lit = k + 1;
            }
        }
        pieces.push((None, &t[lit..]));
    }
    if seps {
        pieces.push((
            None,
            example[spans[spans.len() - 1].1..len].trim_end_matches(is_blank),
        ));
    }
    // Parameters separated by whitespace only are one value: one parameter.
    let mut merged: Vec<(Option<u8>, &str)> = Vec::with_capacity(pieces.len());
    for p in pieces {
        if p.0.is_none() && p.1.is_empty() {
            continue;
        }
        if let Some(b) = p.0 {
            let n = merged.len();
            if n >= 2
                && let (Some(a), (None, ws)) = (merged[n - 2].0, merged[n - 1])
                && ws.bytes().all(|c| c == b' ' || c == b'\t')
            {
                merged.truncate(n - 2);
                merged.push((Some(if a == b { a } else { PARAM_BYTE }), ""));
                continue;
            }
            if n >= 1 && merged[n - 1].0.is_some() {
                // adjacent parameters: one
                let a = merged[n - 1].0.unwrap();
                merged[n - 1].0 = Some(if a == b { a } else { PARAM_BYTE });
                continue;
            }
        }
        merged.push(p);
    }
    let mut out = String::with_capacity(len + 8);
    for (b, text) in merged {
        match b {
            None => out.push_str(text),
            Some(PARAM_BYTE) => out.push_str(&cfg.param_str),
            Some(m) => {
                let name = cfg
                    .masks
                    .get((m - MASK_BASE) as usize)
                    .map_or("MASK", |m| m.name.as_str());
                out.push('<');
                out.push_str(name);
                out.push('>');
            }
        }
    }
    out
}

/// Whitespace or a control character: the separators that are trimmed from
/// the ends of a rendered template.
pub(super) fn is_blank(c: char) -> bool {
    c <= ' ' || c == '\x7f'
}
