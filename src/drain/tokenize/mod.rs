//! Line tokenizer, masks and built-in parameter classifier of the Drain
//! engine.
//!
//! A line is first *masked*: the configured regular expressions (see
//! [`Masker`]) mark the text they match as a named parameter (`<IP>`,
//! `<UUID>`, ...). It is then cut into *tokens* at ASCII whitespace, ASCII
//! control characters (NUL included) and the configured extra delimiters; a
//! masked match is always inside one token, even when it holds spaces. Each
//! token is then *normalized*: it is split into *segments* at punctuation
//! (`= : , ; ( ) [ ] { } < > " ' | / \ @ # ! ? & % + *`) and at masked
//! matches, and in each segment:
//!
//! * a *number* is a parameter, written as the one byte [`PARAM_BYTE`]: it
//!   starts at the first digit that is not glued to a letter before it (a
//!   `-` or `+` sign just before it belongs to it) and runs to the end of
//!   the segment, so `uid=500` is `uid=\x01`, `blk_-42` is `blk_\x01`,
//!   `attempt_14_0020_m_1` is `attempt_\x01`, `core.6161` is `core.\x01`;
//!   a trailing `.`, `-` or `_` stays literal (`8030.` is `\x01.`), and so
//!   do the letters of a number followed by a unit only (`10000ms` is
//!   `\x01ms`);
//! * except a *small number*, a segment of one digit with an optional
//!   sign (`0`, `7`, `-1`): it stays literal (it is often a code,
//!   a flag or an id that matters, `uid=0`, `exit 1`) until the engine sees
//!   another value in its place;
//! * digits glued to letters (`jk2_init`, `IPV4`, `tty2`) stay literal: they
//!   are part of a name until the engine sees enough distinct values there;
//! * English month and weekday abbreviations (`Jan`, `Mon`) and size units
//!   (`KB`, `MB`, ...) are parameters, for the timestamps and sizes logs
//!   embed.
//!
//! The punctuation is kept. A masked match is written as one *mask byte*
//! `MASK_BASE + k` (k: the mask's index). Control characters can never be
//! inside a token (they separate tokens), so parameter and mask bytes are
//! unambiguous in normalized text.
//!
//! [`Tokenizer::spans`] finds the same tokens as byte spans of the raw line,
//! so that templates can be rendered with the line's own separators and
//! parameters can be read back from a line.

mod spans;

pub(crate) use super::glob::{glob_match, glob_spans};
pub(crate) use super::mask::Masker;

/// Stands for one parameter inside normalized token text.
pub(crate) const PARAM_BYTE: u8 = 0x01;

/// Mask `k` is written as the byte `MASK_BASE + k` in normalized text.
pub(crate) const MASK_BASE: u8 = 0x02;

/// Most masks in a configuration (their bytes stay below 0x12, all
/// control characters).
pub const MAX_MASKS: usize = 16;

/// Hash reserved for a template position generalised to a wildcard; never
/// produced by [`hash_bytes`].
pub(crate) const WILD: u64 = 0;

/// Hash reserved for an *optional run* of a template (see the engine): a
/// position that stands for zero to [`MAX_GAP_TOKENS`] tokens of a line;
/// never produced by [`hash_bytes`].
pub(crate) const GAP: u64 = 1;

/// Most tokens an optional run stands for.
pub(crate) const MAX_GAP_TOKENS: usize = 3;

/// True for a byte that stands for a parameter in normalized text: the
/// parameter byte or a mask byte.
#[inline]
pub(crate) fn is_param_byte(b: u8) -> bool {
    (PARAM_BYTE..MASK_BASE + MAX_MASKS as u8).contains(&b)
}

/// What a normalized token is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokKind {
    /// No parameter and no digit: a plain word (tree keys are made of these).
    Const,
    /// Anything else that is not exactly one parameter: `uid=<*>`, `uid=0`,
    /// `jk2_init()`.
    Mixed,
    /// Exactly one parameter, e.g. a number, an IP, a UUID.
    Param,
}

/// One token of a tokenized line: a span of [`Tokenized::norm`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tok {
    /// [`hash_bytes`] of the normalized text.
    pub hash: u64,
    /// Hash of the token's *shape*: the normalized text with every run of
    /// digits as one parameter (equal to `hash` for a token without
    /// literal digits). Tokens of one shape differ in numbers only.
    pub shape: u64,
    pub start: u32,
    pub end: u32,
    pub kind: TokKind,
}

/// A tokenized line; reused between lines to avoid allocations.
#[derive(Default, Debug)]
pub(crate) struct Tokenized {
    /// Normalized text of all tokens, back to back (valid UTF-8).
    pub norm: Vec<u8>,
    pub toks: Vec<Tok>,
    /// Masked matches of the line: (start, end, mask byte), in order.
    ranges: Vec<(usize, usize, u8)>,
    /// Scratch for shapes.
    shape_buf: Vec<u8>,
}

impl Tokenized {
    /// Bytes of its buffers.
    pub fn approx_bytes(&self) -> usize {
        self.norm.capacity()
            + self.toks.capacity() * std::mem::size_of::<Tok>()
            + self.ranges.capacity() * std::mem::size_of::<(usize, usize, u8)>()
            + self.shape_buf.capacity()
    }

    /// Normalized text of token `i`.
    pub fn text(&self, i: usize) -> &str {
        let t = &self.toks[i];
        // Tokens are cut at ASCII bytes only, so every span is valid UTF-8.
        std::str::from_utf8(&self.norm[t.start as usize..t.end as usize]).unwrap_or("")
    }
    /// Appends a token whose normalized text is `norm[start..]`.
    #[inline]
    pub fn push_tok(&mut self, hash: u64, shape: u64, start: usize, kind: TokKind) {
        self.toks.push(Tok {
            hash,
            shape,
            start: start as u32,
            end: self.norm.len() as u32,
            kind,
        });
    }
    /// Appends the token whose normalized text is `norm[start..]`, with
    /// the parameters and literal digits it holds.
    #[inline]
    fn finish_tok(&mut self, start: usize, params: u32, digits: bool) {
        let text = &self.norm[start..];
        let hash = hash_bytes(text);
        let kind = if params == 0 && !digits {
            TokKind::Const
        } else if text.len() == 1 && params == 1 {
            TokKind::Param
        } else {
            TokKind::Mixed
        };
        let shape = if digits {
            shape_of(text, &mut self.shape_buf);
            hash_bytes(&self.shape_buf)
        } else {
            hash
        };
        self.push_tok(hash, shape, start, kind);
    }
    /// Normalized bytes of token `i`.
    pub fn bytes(&self, i: usize) -> &[u8] {
        let t = &self.toks[i];
        &self.norm[t.start as usize..t.end as usize]
    }
}

// Byte classes (bit flags; 0 is any other byte: `.`, `_`, `-`, ...).
pub(super) const C_SEP: u8 = 1;
const C_PUNCT: u8 = 2;
const C_DIGIT: u8 = 4;
const C_ALPHA: u8 = 8;

/// Punctuation that splits a token into segments (see the module docs).
pub(crate) const SEGMENT_PUNCT: &[u8] = b"=:,;()[]{}<>\"'|/\\@#!?&%+*";

/// Turns lines into normalized tokens. Built once from the configuration.
#[derive(Clone, Debug)]
pub(crate) struct Tokenizer {
    class: [u8; 256],
    max_line_bytes: usize,
    max_tokens: usize,
    masker: Option<Masker>,
    n_masks: usize,
}

impl Tokenizer {
    /// `extra_delimiters`: ASCII characters that separate tokens like
    /// whitespace. Non-ASCII characters are ignored (the configuration
    /// rejects them). `masker`: the compiled masks, if any, `n_masks` of them.
    pub fn new(
        extra_delimiters: &str,
        max_line_bytes: usize,
        max_tokens: usize,
        masker: Option<Masker>,
        n_masks: usize,
    ) -> Self {
        let mut class = [0u8; 256];
        for b in b'0'..=b'9' {
            class[b as usize] = C_DIGIT;
        }
        for b in (b'a'..=b'z').chain(b'A'..=b'Z').chain(0x80..=0xff) {
            class[b as usize] = C_ALPHA;
        }
        for &b in SEGMENT_PUNCT {
            class[b as usize] = C_PUNCT;
        }
        for b in 0..=0x20u8 {
            class[b as usize] = C_SEP;
        }
        class[0x7f] = C_SEP;
        for b in extra_delimiters.bytes() {
            if b.is_ascii() {
                class[b as usize] = C_SEP;
            }
        }
        Tokenizer {
            class,
            max_line_bytes,
            max_tokens: max_tokens.max(1),
            masker,
            n_masks: n_masks.min(MAX_MASKS),
        }
    }

    /// The line cut to `max_line_bytes` at a character boundary.
    fn cut<'a>(&self, line: &'a str) -> &'a [u8] {
        let mut cut = line.len().min(self.max_line_bytes);
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        &line.as_bytes()[..cut]
    }

    /// Next token of `b` at or after `i`: its raw span. `ri` is the index
    /// of the first mask range not yet passed. A masked match is inside
    /// one token whatever it holds.
    #[inline]
    fn next_token(
        &self,
        b: &[u8],
        mut i: usize,
        ranges: &[(usize, usize, u8)],
        ri: &mut usize,
    ) -> Option<(usize, usize)> {
        let class = &self.class;
        let n = b.len();
        loop {
            if *ri < ranges.len() && ranges[*ri].0 == i {
                break;
            }
            if i < n && class[b[i] as usize] & C_SEP != 0 {
                i += 1;
                continue;
            }
            break;
        }
        if i >= n {
            return None;
        }
        let start = i;
        while i < n {
            if *ri < ranges.len() && ranges[*ri].0 == i {
                i = ranges[*ri].1;
                *ri += 1;
                continue;
            }
            if class[b[i] as usize] & C_SEP != 0 {
                break;
            }
            i += 1;
        }
        Some((start, i))
    }

    /// Raw spans of the tokens of the cut line `b` (its mask ranges in
    /// `ranges`), with the `max_tokens` rule: a line with more tokens keeps
    /// its first `max_tokens - 1` and one token for the rest (up to its
    /// last non-separator byte). Calls `f(start, end, overflow)`.
    #[inline]
    fn for_each_token(
        &self,
        b: &[u8],
        ranges: &[(usize, usize, u8)],
        mut f: impl FnMut(usize, usize, bool),
    ) {
        let mut ri = 0;
        let mut i = 0;
        let mut count = 0;
        while let Some((s, e)) = self.next_token(b, i, ranges, &mut ri) {
            count += 1;
            if count == self.max_tokens {
                let mut probe = ri;
                if self.next_token(b, e, ranges, &mut probe).is_some() {
                    let mut end = b.len();
                    while end > s && self.class[b[end - 1] as usize] & C_SEP != 0 {
                        end -= 1;
                    }
                    f(s, end, true);
                    return;
                }
            }
            f(s, e, false);
            i = e;
        }
    }

    /// Tokenizes `line` into `out` (cleared first).
    ///
    /// The line is first cut to `max_line_bytes` at a character boundary. A
    /// line with more than `max_tokens` tokens keeps its first
    /// `max_tokens - 1` tokens, followed by one pure parameter token that
    /// stands for the rest of the line.
    pub fn tokenize(&self, line: &str, out: &mut Tokenized) {
        out.toks.clear();
        out.norm.clear();
        let b = self.cut(line);
        let mut ranges = std::mem::take(&mut out.ranges);
        ranges.clear();
        if let Some(m) = &self.masker {
            m.ranges(b, &self.class, &mut ranges);
        }
        if ranges.is_empty() {
            // The common case (masks off, or none matched): one pass.
            out.ranges = ranges;
            self.tokenize_plain(b, out);
            return;
        }
        self.tokenize_masked(b, &ranges, out);
        out.ranges = ranges;
    }

    /// [`Tokenizer::tokenize`] of a cut line with mask matches.
    fn tokenize_masked(&self, b: &[u8], ranges: &[(usize, usize, u8)], out: &mut Tokenized) {
        let mut ri = 0;
        self.for_each_token(b, ranges, |s, e, overflow| {
            let start = out.norm.len();
            if overflow {
                push_param(out, start);
                return;
            }
            while ri < ranges.len() && ranges[ri].0 < s {
                ri += 1;
            }
            let (params, digits) = self.normalize(b, s, e, ranges, &mut ri, &mut out.norm);
            out.finish_tok(start, params, digits);
        });
    }

    /// [`Tokenizer::tokenize`] of a cut line without mask matches, in one
    /// pass (same result as [`Tokenizer::tokenize_masked`] with no range):
    /// runs of bytes are copied as they are, and a segment is normalized
    /// only when it holds a digit or may be a date word. (A first scan for
    /// digits and capitals before copying costs more, see
    /// docs/BENCHMARKS.md.)
    fn tokenize_plain(&self, b: &[u8], out: &mut Tokenized) {
        let class = &self.class;
        let n = b.len();
        out.norm.reserve(n);
        let mut i = 0;
        let mut count = 0;
        loop {
            while i < n && class[b[i] as usize] & C_SEP != 0 {
                i += 1;
            }
            if i >= n {
                return;
            }
            count += 1;
            let start = out.norm.len();
            if count == self.max_tokens {
                // the last token allowed: the rest of the line if more follow
                let mut j = i;
                while j < n && class[b[j] as usize] & C_SEP == 0 {
                    j += 1;
                }
                while j < n && class[b[j] as usize] & C_SEP != 0 {
                    j += 1;
                }
                if j < n {
                    push_param(out, start);
                    return;
                }
            }
            let (mut params, mut digits) = (0u32, false);
            // raw bytes from `pending` on are copied as they are when the
            // token ends or a segment is normalized; the current segment:
            // raw start, and whether it has a digit
            let mut pending = i;
            let mut seg = i;
            let mut seg_digit = false;
            loop {
                let c = if i < n { b[i] } else { b' ' };
                let cl = class[c as usize];
                if cl & (C_SEP | C_PUNCT) != 0 {
                    // end of a segment: normalize it if it may change
                    let len = i - seg;
                    if seg_digit || (len <= 3 && len > 0 && b[seg].is_ascii_uppercase()) {
                        out.norm.extend_from_slice(&b[pending..seg]);
                        let (p, d) = segment(&b[seg..i], class, &mut out.norm);
                        params += p;
                        digits |= d;
                        pending = i;
                    }
                    if cl & C_SEP != 0 {
                        break;
                    }
                    seg = i + 1;
                    seg_digit = false;
                } else {
                    seg_digit |= cl & C_DIGIT != 0;
                }
                i += 1;
            }
            out.norm.extend_from_slice(&b[pending..i]);
            out.finish_tok(start, params, digits);
        }
    }

    /// Writes the normalized text of the raw token `b[s..e]` to `out`.
    /// Returns (parameters written, whether literal digits remain).
    fn normalize(
        &self,
        b: &[u8],
        s: usize,
        e: usize,
        ranges: &[(usize, usize, u8)],
        ri: &mut usize,
        out: &mut Vec<u8>,
    ) -> (u32, bool) {
        let class = &self.class;
        let mut params = 0;
        let mut digits = false;
        let mut i = s;
        let mut seg = s;
        while i < e {
            if *ri < ranges.len() && ranges[*ri].0 == i {
                let (p, d) = segment(&b[seg..i], class, out);
                params += p;
                digits |= d;
                out.push(ranges[*ri].2);
                params += 1;
                i = ranges[*ri].1;
                *ri += 1;
                seg = i;
                continue;
            }
            if class[b[i] as usize] & C_PUNCT != 0 {
                let (p, d) = segment(&b[seg..i], class, out);
                params += p;
                digits |= d;
                out.push(b[i]);
                i += 1;
                seg = i;
                continue;
            }
            i += 1;
        }
        let (p, d) = segment(&b[seg..e.max(seg)], class, out);
        (params + p, digits | d)
    }

    /// Number of masks (their bytes are `MASK_BASE..MASK_BASE + n`).
    pub fn n_masks(&self) -> usize {
        self.n_masks
    }

    /// True if `b` can be a byte of normalized token text: not a separator,
    /// or a parameter byte of this configuration.
    pub fn in_token(&self, b: u8) -> bool {
        if b == PARAM_BYTE || (MASK_BASE..MASK_BASE + self.n_masks as u8).contains(&b) {
            return true;
        }
        self.class[b as usize] & C_SEP == 0
    }
}

/// Normalizes one segment (the bytes between punctuation) into `out`: a
/// literal prefix, at most one [`PARAM_BYTE`], a literal suffix. Returns
/// (parameters written, literal digits kept).
#[inline]
fn segment(seg: &[u8], class: &[u8; 256], out: &mut Vec<u8>) -> (u32, bool) {
    if seg.is_empty() {
        return (0, false);
    }
    let mut any_digit = false;
    let mut ns = None;
    for (j, &c) in seg.iter().enumerate() {
        if class[c as usize] & C_DIGIT != 0 {
            any_digit = true;
            if j == 0 || class[seg[j - 1] as usize] & (C_ALPHA | C_DIGIT) == 0 {
                ns = Some(j);
                break;
            }
        }
    }
    let Some(mut s) = ns else {
        if !any_digit && is_date_word(seg) {
            out.push(PARAM_BYTE);
            return (1, false);
        }
        out.extend_from_slice(seg);
        return (0, any_digit);
    };
    if s > 0
        && matches!(seg[s - 1], b'-' | b'+')
        && (s == 1 || class[seg[s - 2] as usize] & (C_ALPHA | C_DIGIT) == 0)
    {
        s -= 1;
    }
    if s == 0 && is_small_number(seg) {
        out.extend_from_slice(seg);
        return (0, true);
    }
    out.extend_from_slice(&seg[..s]);
    let tail = &seg[s..];
    let mut te = tail.len();
    while te > 0 && matches!(tail[te - 1], b'.' | b'-' | b'_') {
        te -= 1;
    }
    let unit = unit_start(&tail[..te], class);
    out.push(PARAM_BYTE);
    let kept = &tail[unit..];
    out.extend_from_slice(kept);
    (1, kept.iter().any(|&c| class[c as usize] & C_DIGIT != 0))
}

/// `[-+]?[0-9]`: a small number (one digit, as docs/functions.md says).
#[inline]
fn is_small_number(seg: &[u8]) -> bool {
    let d = match seg.first() {
        Some(b'-' | b'+') => &seg[1..],
        _ => seg,
    };
    (1..=1).contains(&d.len()) && d.iter().all(u8::is_ascii_digit)
}

/// Where the unit of a number followed by a unit starts
/// (`[-+]?[0-9]+(\.[0-9]+)?[A-Za-z]+`, e.g. `10000ms`, `1.5s`, `41C`), or
/// the length of `t` when it is not of that form.
#[inline]
fn unit_start(t: &[u8], class: &[u8; 256]) -> usize {
    let mut i = 0;
    if matches!(t.first(), Some(b'-' | b'+')) {
        i = 1;
    }
    let d0 = i;
    while i < t.len() && t[i].is_ascii_digit() {
        i += 1;
    }
    if i == d0 {
        return t.len();
    }
    if i + 1 < t.len() && t[i] == b'.' && t[i + 1].is_ascii_digit() {
        i += 1;
        while i < t.len() && t[i].is_ascii_digit() {
            i += 1;
        }
    }
    let u = i;
    if u == t.len() {
        return t.len();
    }
    if t[u..]
        .iter()
        .all(|&c| c.is_ascii_alphabetic() && class[c as usize] & C_ALPHA != 0)
    {
        u
    } else {
        t.len()
    }
}

/// The shape of normalized text: every run of digits as one parameter.
pub(crate) fn shape_of(text: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut in_digits = false;
    for &c in text {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push(PARAM_BYTE);
                in_digits = true;
            }
        } else {
            out.push(c);
            in_digits = false;
        }
    }
}

/// English month and weekday abbreviations (`Jan`, `JAN`, `Mon`, ...), as
/// in syslog and C `asctime` timestamps, and size units (`KB`, `MB`, ...):
/// parameters like the digits around them.
#[inline(always)]
fn is_date_word(seg: &[u8]) -> bool {
    if seg.is_empty() || seg.len() > 3 || !seg[0].is_ascii_uppercase() {
        return false;
    }
    if matches!(seg, b"B" | b"KB" | b"MB" | b"GB" | b"TB" | b"PB") {
        return true;
    }
    if seg.len() != 3 {
        return false;
    }
    let w = [
        seg[0],
        seg[1].to_ascii_lowercase(),
        seg[2].to_ascii_lowercase(),
    ];
    if seg[1].is_ascii_uppercase() != seg[2].is_ascii_uppercase() {
        return false;
    }
    matches!(
        &w,
        b"Jan"
            | b"Feb"
            | b"Mar"
            | b"Apr"
            | b"May"
            | b"Jun"
            | b"Jul"
            | b"Aug"
            | b"Sep"
            | b"Oct"
            | b"Nov"
            | b"Dec"
            | b"Mon"
            | b"Tue"
            | b"Wed"
            | b"Thu"
            | b"Fri"
            | b"Sat"
            | b"Sun"
    )
}

/// Fast 64-bit hash of a short byte string; never returns [`WILD`] nor
/// [`GAP`].
#[inline]
pub(crate) fn hash_bytes(b: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h: u64 = (b.len() as u64).wrapping_mul(K) ^ 0x2545_F491_4F6C_DD1D;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let v = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h ^ v).wrapping_mul(K).rotate_left(29);
    }
    // Tail of 1..=7 bytes read as in wyhash (overlapping reads; the length
    // is in the seed), avoiding a byte copy through the stack.
    let r = chunks.remainder();
    let n = r.len();
    if n > 0 {
        let v = if n >= 4 {
            let a = u32::from_le_bytes([r[0], r[1], r[2], r[3]]) as u64;
            let b = u32::from_le_bytes([r[n - 4], r[n - 3], r[n - 2], r[n - 1]]) as u64;
            a | (b << 32)
        } else {
            r[0] as u64 | (r[n / 2] as u64) << 8 | (r[n - 1] as u64) << 16
        };
        h = (h ^ v).wrapping_mul(K).rotate_left(29);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    if h == WILD || h == GAP { 2 } else { h }
}

/// Appends a parameter token (`<*>`) at `start` of the normalised line: the
/// last token of a line cut at its token limit.
fn push_param(out: &mut Tokenized, start: usize) {
    out.norm.push(PARAM_BYTE);
    out.toks.push(Tok {
        hash: hash_bytes(&[PARAM_BYTE]),
        shape: hash_bytes(&[PARAM_BYTE]),
        start: start as u32,
        end: start as u32 + 1,
        kind: TokKind::Param,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(delims: &str, max_bytes: usize, max_toks: usize) -> Tokenizer {
        Tokenizer::new(delims, max_bytes, max_toks, None, 0)
    }

    fn norm(line: &str) -> Vec<String> {
        let t = tok("", 3000, 128);
        let mut out = Tokenized::default();
        t.tokenize(line, &mut out);
        (0..out.toks.len())
            .map(|i| out.text(i).replace(PARAM_BYTE as char, "<*>"))
            .collect()
    }

    #[test]
    fn classifier() {
        assert_eq!(
            norm("uid=0 euid=500 tty=NODEVssh rhost=218.188.2.4"),
            ["uid=0", "euid=<*>", "tty=NODEVssh", "rhost=<*>"]
        );
        assert_eq!(
            norm("10.251.73.220:50010 blk_-695 node-12 core.6161 8030."),
            ["<*>:<*>", "blk_<*>", "node-<*>", "core.<*>", "<*>."]
        );
        assert_eq!(
            norm("0x7fed806eb5d 2017-05-16 00:00:00.008 e3871ffd"),
            ["<*>", "<*>", "<*>:<*>:<*>", "e3871ffd"]
        );
        assert_eq!(
            norm("/udev/hda1 (uid=0) [1] jk2_init() IPV4 10000ms -1"),
            [
                "/udev/hda1",
                "(uid=0)",
                "[1]",
                "jk2_init()",
                "IPV4",
                "<*>ms",
                "-1"
            ]
        );
        assert_eq!(
            norm("attempt_1445144423722_0020_m_000001_0 rdd_42_32"),
            ["attempt_<*>", "rdd_<*>"]
        );
        assert_eq!(norm("  \t\0 "), Vec::<String>::new());
        assert_eq!(norm("héllo wörld2"), ["héllo", "wörld2"]);
        // timestamps and sizes
        assert_eq!(
            norm("at Sat Jul  9 22:53:19 2005 May"),
            ["at", "<*>", "<*>", "9", "<*>:<*>:<*>", "<*>", "<*>"]
        );
        assert_eq!(
            norm("(5.2 KB, free 3 MB) Mayday"),
            ["(<*>", "<*>,", "free", "3", "<*>)", "Mayday"]
        );
    }

    #[test]
    fn kinds_and_shapes() {
        let t = tok("", 3000, 128);
        let mut out = Tokenized::default();
        t.tokenize("word uid=0 uid=7 IPV4 IPV6 123 uid=<x>", &mut out);
        let k: Vec<TokKind> = out.toks.iter().map(|t| t.kind).collect();
        use TokKind::*;
        assert_eq!(k, [Const, Mixed, Mixed, Mixed, Mixed, Param, Const]);
        assert_eq!(out.toks[1].shape, out.toks[2].shape);
        assert_ne!(out.toks[1].hash, out.toks[2].hash);
        assert_eq!(out.toks[3].shape, out.toks[4].shape);
        assert_eq!(out.toks[0].shape, out.toks[0].hash);
    }

    #[test]
    fn masks() {
        let m = Masker::new(&[r"\b(?:\d{1,3}\.){3}\d{1,3}\b", r"[0-9a-f]{8}-[0-9a-f]{4}"]).unwrap();
        let t = Tokenizer::new("", 3000, 128, m, 2);
        let mut out = Tokenized::default();
        t.tokenize("from 10.0.0.1:22 id deadbeef-0123x", &mut out);
        let texts: Vec<&[u8]> = (0..out.toks.len()).map(|i| out.bytes(i)).collect();
        assert_eq!(texts, [&b"from"[..], b"\x02:\x01", b"id", b"\x03x"]);
        assert_eq!(out.toks[1].kind, TokKind::Mixed);
        // a match holding spaces is one token
        let m = Masker::new(&[r"\d+ KB"]).unwrap();
        let t = Tokenizer::new("/", 3000, 128, m, 1);
        t.tokenize("size 12 KB free", &mut out);
        assert_eq!(out.toks.len(), 3);
        assert_eq!(out.bytes(1), b"\x02");
        let mut spans = Vec::new();
        t.spans("size 12 KB free", &mut spans);
        assert_eq!(spans, [(0, 4), (5, 10), (11, 15)]);
        // extra delimiters win over masks
        let m = Masker::new(&[r"/\w+/\w+"]).unwrap();
        let t = Tokenizer::new("/", 3000, 128, m, 1);
        t.tokenize("GET /api/users", &mut out);
        assert_eq!(out.toks.len(), 3);
        // a bad pattern is named
        assert!(
            Masker::new(&["ok", "("])
                .unwrap_err()
                .starts_with("mask 1:")
        );
        assert!(Masker::new(&[]).unwrap().is_none());
    }

    #[test]
    fn globs() {
        assert!(glob_match(b"uid=\x01", b"uid=0"));
        assert!(glob_match(b"uid=\x01", b"uid="));
        assert!(glob_match(b"(\x01)", b"()"));
        assert!(!glob_match(b"(\x01)", b"(a"));
        assert!(glob_match(b"\x01:\x01:\x01", b"10:59:53"));
        assert!(!glob_match(b"\x01:\x01:\x01", b"10:59"));
        assert!(glob_match(b"a\x01b\x01c", b"aXbYbc"));
        assert!(!glob_match(b"ab\x01ba", b"aba"));
        assert!(glob_match(b"ab\x01ba", b"abba"));
        assert!(glob_match(b"x", b"x") && !glob_match(b"x", b"xy"));
        assert!(glob_match(b"\x01", b""));
        assert!(!glob_match(b"\x02", b"\x03"));
        assert_eq!(
            glob_spans(b"a=\x01,b=\x02", b"a=xy,b=\x02"),
            Some(vec![(2, 4), (7, 8)])
        );
        assert_eq!(glob_spans(b"(\x01)", b"()"), Some(vec![(1, 1)]));
        assert_eq!(
            glob_spans(b"\x01:\x01", b"10:20:30"),
            Some(vec![(0, 2), (3, 8)])
        );
        assert_eq!(glob_spans(b"x", b"y"), None);
    }

    #[test]
    fn one_pass_agrees_with_the_masked_path() {
        // tokenize_plain (lines without mask matches) must give exactly
        // what the general path gives with no range
        let mut r = crate::testutil::XorShift::new(0x2545_F491_4F6C_DD1D);
        let mut next = || r.next();
        let words: [&str; 24] = [
            "a", "Jan", "KB", "Mon", "MB", "B", "uid", "IPV4", "blk", "x1", "10", "7", "-3", "+42",
            "250ms", "1.5s", "0x1f", "é", "Ab", "jk2", "core.", "8030.", "ABC", "Déc",
        ];
        let seps: [&str; 14] = [
            " ", "  ", "\t", "=", ":", ",", "(", ")", "/", "-", "_", ".", "[", "\0",
        ];
        let (mut a, mut b) = (Tokenized::default(), Tokenized::default());
        for (delims, max_toks) in [("", 128), ("/_", 4), ("", 1), ("", 2)] {
            let t = tok(delims, 3000, max_toks);
            for _ in 0..20_000 {
                let mut line = String::new();
                for _ in 0..next() % 12 {
                    line.push_str(words[(next() % words.len() as u64) as usize]);
                    line.push_str(seps[(next() % seps.len() as u64) as usize]);
                }
                let bytes = t.cut(&line);
                a.toks.clear();
                a.norm.clear();
                t.tokenize_plain(bytes, &mut a);
                b.toks.clear();
                b.norm.clear();
                t.tokenize_masked(bytes, &[], &mut b);
                assert_eq!(a.norm, b.norm, "{line:?}");
                assert_eq!(a.toks.len(), b.toks.len(), "{line:?}");
                for (x, y) in a.toks.iter().zip(&b.toks) {
                    assert_eq!(
                        (x.hash, x.shape, x.start, x.end, x.kind),
                        (y.hash, y.shape, y.start, y.end, y.kind),
                        "{line:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn spans_agree_with_tokenize() {
        let mut r = crate::testutil::XorShift::new(0x9E37_79B9_7F4A_7C15);
        let mut next = || r.next();
        let alphabet = b"ab1 \t\0/;=:(\x7f.-";
        let mut out = Tokenized::default();
        let mut spans = Vec::new();
        let mut spans2 = Vec::new();
        let mut map = Vec::new();
        for (delims, max_bytes, max_toks, masks) in [
            ("", 3000, 128, vec![]),
            ("/;", 40, 5, vec![r"a1", r"b b"]),
            ("/", 7, 2, vec![]),
            ("", 3000, 128, vec![r"1\s+1", r"a;b"]),
        ] {
            let n = masks.len();
            let t = Tokenizer::new(delims, max_bytes, max_toks, Masker::new(&masks).unwrap(), n);
            for _ in 0..5000 {
                let len = (next() % 60) as usize;
                let mut line: String = (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize] as char)
                    .collect();
                if next() % 4 == 0 {
                    line.push('é');
                }
                t.tokenize(&line, &mut out);
                let cut = t.spans(&line, &mut spans);
                assert!(cut <= line.len() && line.is_char_boundary(cut));
                assert_eq!(spans.len(), out.toks.len(), "{line:?}");
                t.raw_map(&line, &mut spans2, &mut map);
                assert_eq!(spans, spans2);
                for (i, &(a, b)) in spans.iter().enumerate() {
                    assert!(a < b && b <= cut);
                    let overflow = i + 1 == max_toks
                        && out.toks[i].kind == TokKind::Param
                        && out.bytes(i) == [PARAM_BYTE];
                    if !overflow {
                        // every normalized byte has a raw origin, in order
                        assert_eq!(map[i].len(), out.bytes(i).len(), "{line:?}");
                        for (k, p) in map[i].iter().enumerate() {
                            assert_eq!(p.norm, k);
                            assert!(a <= p.raw.0 && p.raw.0 < p.raw.1 && p.raw.1 <= b);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn caps() {
        let t = tok("", 10, 3);
        let mut out = Tokenized::default();
        t.tokenize("a b c d e f", &mut out);
        assert_eq!(out.toks.len(), 3);
        assert_eq!(out.toks[2].kind, TokKind::Param);
        t.tokenize("a b c    ", &mut out);
        assert_eq!(out.toks.len(), 3);
        assert_eq!(out.text(2), "c");
        // cut at a char boundary: "ééééé" is 10 bytes, "éééééé" 12
        t.tokenize("éééééé", &mut out);
        assert_eq!(out.text(0), "ééééé");
    }
}
