//! How a template token and a line token that it does not cover become one
//! pattern, and whether that needs more evidence.
//!
//! Both texts are normalized (see the `tokenize` module): [`PARAM_BYTE`] is
//! a parameter, mask bytes are named parameters. The result keeps what the
//! two have in common and puts one parameter where they differ:
//!
//! * when both have the same punctuation (the same separators between
//!   their alphanumeric runs, e.g. `10:59:53` and `11:02:07`), each
//!   differing run is generalised on its own: `<*>:<*>:<*>`;
//! * otherwise the common beginning and end are kept (`rhost=<*>`,
//!   `(<*>)`);
//!
//! and never inside a word or a number: a cut between two letters or two
//! digits moves out to the run's edge (`Paused` / `Resumed` give `<*>`, not
//! `<*>ed`; `bglio388` / `bglio617` give `bglio<*>`).
//!
//! The difference is *evidence* that the place is a parameter (so the
//! template may change at once) when, at every differing place, one side is
//! a parameter with only punctuation around it in the differing part
//! (`rhost=<*>` / `rhost=example.org`), or both sides are numbers not glued
//! to a letter (`uid=0` / `uid=7`, `[1]` / `[2]`). Otherwise (words, or
//! digits glued to letters such as `IPV4` / `IPV6`) the engine waits for
//! more distinct values.

use super::tokenize::{PARAM_BYTE, is_param_byte};

/// Byte class for cuts: letters (and non-ASCII bytes) 0, digits 1,
/// parameters 2, anything else 3.
#[inline]
fn cls(c: u8) -> u8 {
    if c.is_ascii_alphabetic() || c >= 0x80 {
        0
    } else if c.is_ascii_digit() {
        1
    } else if is_param_byte(c) {
        2
    } else {
        3
    }
}

/// True if `x` may be cut before byte `k`: not between two letters nor two
/// digits (nor inside a UTF-8 character: its bytes are letters here).
#[inline]
fn valid_cut(x: &[u8], k: usize) -> bool {
    if k == 0 || k >= x.len() {
        return true;
    }
    let (a, b) = (cls(x[k - 1]), cls(x[k]));
    // never between a sign and its number (`-27`)
    if matches!(x[k - 1], b'-' | b'+') && b == 1 && (k == 1 || cls(x[k - 2]) == 3) {
        return false;
    }
    a != b || a >= 2
}

#[inline]
fn is_sep(c: u8) -> bool {
    cls(c) == 3
}

/// One differing run: (generalised text, evidence).
fn gen_run(a: &[u8], b: &[u8], out: &mut Vec<u8>) -> bool {
    let mut k = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    while !(valid_cut(a, k) && valid_cut(b, k)) {
        k -= 1;
    }
    let room = a.len().min(b.len()) - k;
    let mut m = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(room)
        .take_while(|(x, y)| x == y)
        .count();
    while !(valid_cut(a, a.len() - m) && valid_cut(b, b.len() - m)) {
        m -= 1;
    }
    let (am, bm) = (&a[k..a.len() - m], &b[k..b.len() - m]);
    let has_param = |x: &[u8]| x.iter().any(|&c| is_param_byte(c));
    let has_letter = |x: &[u8]| x.iter().any(|&c| cls(c) == 0);
    let digits = |x: &[u8]| {
        let x = match x.first() {
            Some(b'-' | b'+') => &x[1..],
            _ => x,
        };
        x.iter().all(u8::is_ascii_digit)
    };
    let glued = (k > 0 && cls(a[k - 1]) == 0) || (m > 0 && cls(a[a.len() - m]) == 0);
    let evidence = ((has_param(am) && !has_letter(am)) || (has_param(bm) && !has_letter(bm)))
        || (!glued && digits(am) && digits(bm) && !(am.is_empty() && bm.is_empty()));
    out.extend_from_slice(&a[..k]);
    out.push(PARAM_BYTE);
    out.extend_from_slice(&a[a.len() - m..]);
    evidence
}

/// The separators of `x` (bytes of class "other") in order, and its runs.
fn split(x: &[u8]) -> (Vec<u8>, Vec<&[u8]>) {
    let mut seps = Vec::new();
    let mut runs = Vec::new();
    let mut start = 0;
    for (i, &c) in x.iter().enumerate() {
        // a sign before a number belongs to it (`-27`)
        let sign = matches!(c, b'-' | b'+')
            && x.get(i + 1).is_some_and(u8::is_ascii_digit)
            && (i == 0 || is_sep(x[i - 1]));
        if is_sep(c) && !sign {
            runs.push(&x[start..i]);
            seps.push(c);
            start = i + 1;
        }
    }
    runs.push(&x[start..]);
    (seps, runs)
}

/// Generalises template token `t` with line token `l` (which `t` does not
/// cover). Returns the new template token (consecutive parameters folded
/// into one) and whether the difference is evidence enough to change the
/// template at once.
pub(crate) fn generalize_token(t: &[u8], l: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::with_capacity(t.len().max(l.len()) + 1);
    let (ts, tr) = split(t);
    let (ls, lr) = split(l);
    // Runs where both sides hold different words: two or more make the
    // token one value (an e-mail address, a host name), not a pattern.
    let worded = |a: &[u8], b: &[u8]| {
        a != b && a.iter().chain(b).any(|&c| cls(c) == 0) && !(a.len() == 1 && a[0] == PARAM_BYTE)
    };
    let evidence = if ts == ls && tr.iter().zip(&lr).filter(|(a, b)| worded(a, b)).count() < 2 {
        let mut ev = true;
        for (i, (a, b)) in tr.iter().zip(&lr).enumerate() {
            if i > 0 {
                out.push(ts[i - 1]);
            }
            if a == b || (a.len() == 1 && a[0] == PARAM_BYTE) {
                out.extend_from_slice(a);
            } else {
                ev &= gen_run(a, b, &mut out);
            }
        }
        ev
    } else {
        gen_run(t, l, &mut out)
    };
    out.dedup_by(|a, b| *a == PARAM_BYTE && *b == PARAM_BYTE);
    (out, evidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(t: &str, l: &str) -> (String, bool) {
        let (v, e) = generalize_token(t.as_bytes(), l.as_bytes());
        (String::from_utf8(v).unwrap().replace('\x01', "<*>"), e)
    }

    #[test]
    fn cases() {
        assert_eq!(g("uid=0", "uid=7"), ("uid=<*>".into(), true));
        assert_eq!(g("[1]", "[]"), ("[<*>]".into(), true));
        assert_eq!(g("10:59:53", "11:02:07"), ("<*>:<*>:<*>".into(), true));
        assert_eq!(g("10:59:\x01", "11:02:07"), ("<*>:<*>:<*>".into(), true));
        assert_eq!(
            g("rhost=\x02", "rhost=example.org"),
            ("rhost=<*>".into(), true)
        );
        assert_eq!(g("/users/\x01", "/health"), ("/<*>".into(), false));
        assert_eq!(g("Paused", "Resumed"), ("<*>".into(), false));
        assert_eq!(g("bglio388", "bglio617"), ("bglio<*>".into(), false));
        assert_eq!(g("IPV4", "IPV6"), ("IPV<*>".into(), false));
        assert_eq!(
            g("jk2_init()", "jk3_init()"),
            ("jk<*>_init()".into(), false)
        );
        assert_eq!(g("()", "(host.example)"), ("(<*>)".into(), false));
        assert_eq!(
            g("\x01:\x01", "\x01"),
            ("\x01".replace('\x01', "<*>"), true)
        );
        assert_eq!(g("héllo", "hélla"), ("<*>".into(), false));
        assert_eq!(g("-1", "5"), ("<*>".into(), true));
        assert_eq!(g("vCores:-27", "vCores:-3"), ("vCores:<*>".into(), true));
        assert_eq!(
            g("a***b@gmail.com", "c***d@yahoo.org"),
            ("<*>".into(), false)
        );
        assert_eq!(g("cart:7070", "payment:50051"), ("<*>:<*>".into(), false));
    }
}
