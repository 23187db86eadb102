//! Glob matching of template tokens (a parameter byte matches any run of
//! bytes) against normalized line tokens.

use super::tokenize::{PARAM_BYTE, is_param_byte};

/// Glob match of a template token against a line token, both normalized:
/// [`PARAM_BYTE`] in `pat` matches any run of bytes (possibly empty), every
/// other byte (mask bytes included) matches itself. Linear in the lengths:
/// the literal pieces between parameters are found leftmost, which is
/// optimal for this kind of pattern.
pub(crate) fn glob_match(pat: &[u8], s: &[u8]) -> bool {
    let mut pieces = pat.split(|&c| c == PARAM_BYTE);
    let first = pieces.next().unwrap_or(&[]);
    if !s.starts_with(first) {
        return false;
    }
    let Some(last_at) = pat.iter().rposition(|&c| c == PARAM_BYTE) else {
        return pat == s;
    };
    let last = &pat[last_at + 1..];
    if s.len() < first.len() + last.len() || !s.ends_with(last) {
        return false;
    }
    let mut at = first.len();
    let end = s.len() - last.len();
    // middle pieces: all but the first and the last
    let middle = &pat[first.len()..last_at];
    for piece in middle.split(|&c| c == PARAM_BYTE) {
        if piece.is_empty() {
            continue;
        }
        match memchr::memmem::find(&s[at..end], piece) {
            Some(k) => at += k + piece.len(),
            None => return false,
        }
    }
    true
}

/// Where the parameters of a glob pattern (see [`glob_match`]) fall in a
/// string it matches: the span in `s` of every [`PARAM_BYTE`] and every
/// mask byte of `pat`, in order. `None` if `pat` does not match `s`.
pub(crate) fn glob_spans(pat: &[u8], s: &[u8]) -> Option<Vec<(usize, usize)>> {
    if !glob_match(pat, s) {
        return None;
    }
    let pieces: Vec<&[u8]> = pat.split(|&c| c == PARAM_BYTE).collect();
    let last = pieces.len() - 1;
    // start of each literal piece in s (leftmost, as glob_match places them)
    let mut starts = Vec::with_capacity(pieces.len());
    let mut at = 0;
    for (i, piece) in pieces.iter().enumerate() {
        let st = if i == 0 {
            0
        } else if i == last {
            s.len() - piece.len()
        } else if piece.is_empty() {
            at
        } else {
            at + memchr::memmem::find(&s[at..], piece)?
        };
        starts.push(st);
        at = st + piece.len();
    }
    let mut out = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        for (j, &c) in piece.iter().enumerate() {
            if is_param_byte(c) {
                out.push((starts[i] + j, starts[i] + j + 1));
            }
        }
        if i < last {
            out.push((starts[i] + piece.len(), starts[i + 1]));
        }
    }
    Some(out)
}
