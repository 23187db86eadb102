//! Line tokenizer and built-in parameter classifier of the Drain engine.
//!
//! A line is cut into *tokens* at ASCII whitespace, ASCII control characters
//! (NUL included) and the configured extra delimiters. Each token is then
//! *normalized*: it is split into *segments* at punctuation (`= : , ; ( ) [ ]
//! { } < > " ' | / \ @ # ! ? & % + *`), and every segment that contains an
//! ASCII digit is a parameter, replaced by the one byte `PARAM_BYTE`. The
//! punctuation is kept, so `uid=0` becomes `uid=\x01`, rendered `uid=<*>`,
//! `10.1.2.3:50010` becomes `\x01:\x01` and `blk_-42` becomes `\x01`.
//!
//! This covers numbers, hex ids, IPs, ports, UUIDs, dates, times, versions
//! and file names with digits in one pass over the bytes, without regular
//! expressions. English month and weekday abbreviations (`Jan`, `Mon`) are
//! parameters too, for the timestamps that logs embed. A token whose normalized text is exactly one parameter is a
//! *pure parameter*.
//!
//! Control characters can never be inside a token (they separate tokens), so
//! `PARAM_BYTE` is unambiguous in normalized text.
//!
//! [`Tokenizer::spans`] finds the same tokens as byte spans of the raw line,
//! so that templates can be rendered with the line's own separators.

/// Stands for one parameter segment inside normalized token text.
pub(crate) const PARAM_BYTE: u8 = 0x01;

/// Hash reserved for a template position generalised to a wildcard; never
/// produced by [`hash_bytes`].
pub(crate) const WILD: u64 = 0;

/// What a normalized token is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokKind {
    /// No parameter segment.
    Const,
    /// Constant text with at least one parameter segment, e.g. `uid=<*>`.
    Mixed,
    /// Exactly one parameter, e.g. a number, an IP, a UUID.
    Param,
}

/// One token of a tokenized line: a span of [`Tokenized::norm`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tok {
    /// [`hash_bytes`] of the normalized text.
    pub hash: u64,
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
}

impl Tokenized {
    /// Normalized text of token `i`.
    pub fn text(&self, i: usize) -> &str {
        let t = &self.toks[i];
        // Tokens are cut at ASCII bytes only, so every span is valid UTF-8.
        std::str::from_utf8(&self.norm[t.start as usize..t.end as usize]).unwrap_or("")
    }
}

// Byte classes (bit flags; 0 is any other byte).
const C_WORD: u8 = 0;
const C_SEP: u8 = 1;
const C_PUNCT: u8 = 2;
const C_DIGIT: u8 = 4;

/// Turns lines into normalized tokens. Built once from the configuration.
#[derive(Clone, Debug)]
pub(crate) struct Tokenizer {
    class: [u8; 256],
    max_line_bytes: usize,
    max_tokens: usize,
}

/// Punctuation that splits a token into segments (see the module docs).
pub(crate) const SEGMENT_PUNCT: &[u8] = b"=:,;()[]{}<>\"'|/\\@#!?&%+*";

impl Tokenizer {
    /// `extra_delimiters`: ASCII characters that separate tokens like
    /// whitespace. Non-ASCII characters are ignored (the configuration
    /// rejects them).
    pub fn new(extra_delimiters: &str, max_line_bytes: usize, max_tokens: usize) -> Self {
        let mut class = [C_WORD; 256];
        for b in b'0'..=b'9' {
            class[b as usize] = C_DIGIT;
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
        let mut cut = line.len().min(self.max_line_bytes);
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        let b = &line.as_bytes()[..cut];
        let n = b.len();
        // Normalized text is never longer than the input: write it in place
        // of a zeroed buffer, and truncate at the end.
        out.norm.clear();
        out.norm.resize(n, 0);
        let buf = &mut out.norm[..];
        let class = &self.class;
        let mut w = 0;
        let mut i = 0;
        loop {
            while i < n && class[b[i] as usize] & C_SEP != 0 {
                i += 1;
            }
            if i == n {
                break;
            }
            if out.toks.len() + 1 == self.max_tokens && more_than_one_token(&b[i..], class) {
                // Overflow: one parameter for the rest of the line.
                buf[w] = PARAM_BYTE;
                out.toks.push(Tok {
                    hash: hash_bytes(&[PARAM_BYTE]),
                    start: w as u32,
                    end: w as u32 + 1,
                    kind: TokKind::Param,
                });
                w += 1;
                break;
            }
            // One token: copy bytes, and rewind each segment with a digit
            // (or a date/unit word) to a single PARAM_BYTE.
            let start = w;
            let mut seg = w;
            let mut digit = 0u8; // C_DIGIT bit set if the segment has a digit
            let mut params = 0u32;
            while i < n {
                let c = b[i];
                let cl = class[c as usize];
                if cl & (C_SEP | C_PUNCT) != 0 {
                    if cl & C_SEP != 0 {
                        break;
                    }
                    if w > seg && (digit != 0 || is_date_word(&buf[seg..w])) {
                        w = seg;
                        buf[w] = PARAM_BYTE;
                        w += 1;
                        params += 1;
                    }
                    digit = 0;
                    buf[w] = c;
                    w += 1;
                    seg = w;
                } else {
                    buf[w] = c;
                    w += 1;
                    digit |= cl;
                }
                i += 1;
            }
            if w > seg && (digit != 0 || is_date_word(&buf[seg..w])) {
                w = seg;
                buf[w] = PARAM_BYTE;
                w += 1;
                params += 1;
            }
            let text = &buf[start..w];
            let kind = if params == 0 {
                TokKind::Const
            } else if text.len() == 1 {
                TokKind::Param
            } else {
                TokKind::Mixed
            };
            out.toks.push(Tok {
                hash: hash_bytes(text),
                start: start as u32,
                end: w as u32,
                kind,
            });
        }
        out.norm.truncate(w);
    }
}

impl Tokenizer {
    /// True if `b` can be a byte of normalized token text: not a separator,
    /// or the parameter byte.
    pub fn in_token(&self, b: u8) -> bool {
        self.class[b as usize] & C_SEP == 0 || b == PARAM_BYTE
    }

    /// Byte spans `(start, end)` in `line` of the tokens that
    /// [`Tokenizer::tokenize`] finds (same cut, same separators, same
    /// `max_tokens` rule), into `out` (cleared first). The span of an
    /// overflow token (the rest of a line with too many tokens) ends after
    /// the last non-separator byte of the cut line. Used to render templates
    /// with the separators of a cluster's example; never on the hot path.
    /// Returns the length of the cut line.
    pub fn spans(&self, line: &str, out: &mut Vec<(usize, usize)>) -> usize {
        out.clear();
        let mut cut = line.len().min(self.max_line_bytes);
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        let b = &line.as_bytes()[..cut];
        let n = b.len();
        let class = &self.class;
        let mut i = 0;
        loop {
            while i < n && class[b[i] as usize] & C_SEP != 0 {
                i += 1;
            }
            if i == n {
                break;
            }
            if out.len() + 1 == self.max_tokens && more_than_one_token(&b[i..], class) {
                let mut end = n;
                while class[b[end - 1] as usize] & C_SEP != 0 {
                    end -= 1;
                }
                out.push((i, end));
                break;
            }
            let start = i;
            while i < n && class[b[i] as usize] & C_SEP == 0 {
                i += 1;
            }
            out.push((start, i));
        }
        n
    }
}

/// True if `b` (starting at a token) holds more than one token.
fn more_than_one_token(b: &[u8], class: &[u8; 256]) -> bool {
    let mut i = 0;
    while i < b.len() && class[b[i] as usize] & C_SEP == 0 {
        i += 1;
    }
    while i < b.len() && class[b[i] as usize] & C_SEP != 0 {
        i += 1;
    }
    i < b.len()
}

/// English month and weekday abbreviations (`Jan`, `JAN`, `Mon`, ...), as
/// in syslog and C `asctime` timestamps: parameters like the digits
/// around them.
#[inline(always)]
fn is_date_word(seg: &[u8]) -> bool {
    if seg.is_empty() || seg.len() > 3 || !seg[0].is_ascii_uppercase() {
        return false;
    }
    if seg.len() <= 3 && matches!(seg, b"B" | b"KB" | b"MB" | b"GB" | b"TB" | b"PB") {
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

/// Fast 64-bit hash of a short byte string; never returns [`WILD`].
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
    if h == WILD { 1 } else { h }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(line: &str) -> Vec<String> {
        let t = Tokenizer::new("", 3000, 128);
        let mut out = Tokenized::default();
        t.tokenize(line, &mut out);
        (0..out.toks.len())
            .map(|i| out.text(i).replace(PARAM_BYTE as char, "<*>"))
            .collect()
    }

    #[test]
    fn classifier() {
        assert_eq!(
            norm("uid=0 euid=0 tty=NODEVssh rhost=218.188.2.4"),
            ["uid=<*>", "euid=<*>", "tty=NODEVssh", "rhost=<*>"]
        );
        assert_eq!(norm("10.251.73.220:50010 blk_-695"), ["<*>:<*>", "<*>"]);
        assert_eq!(
            norm("0x7fed806eb5d 2017-05-16 00:00:00.008 e3871ffd-2f8c-4c5a"),
            ["<*>", "<*>", "<*>:<*>:<*>", "<*>"]
        );
        assert_eq!(
            norm("/udev/hda1 (uid=0) [1]"),
            ["/udev/<*>", "(uid=<*>)", "[<*>]"]
        );
        assert_eq!(norm("  \t\0 "), Vec::<String>::new());
        assert_eq!(norm("héllo wörld2"), ["héllo", "<*>"]);
        // timestamps and sizes
        assert_eq!(
            norm("at Sat Jul  9 22:53:19 2005 May"),
            ["at", "<*>", "<*>", "<*>", "<*>:<*>:<*>", "<*>", "<*>"]
        );
        assert_eq!(
            norm("(5.2 KB, free 3 MB) Mayday"),
            ["(<*>", "<*>,", "free", "<*>", "<*>)", "Mayday"]
        );
    }

    #[test]
    fn spans_agree_with_tokenize() {
        let mut r = crate::testutil::XorShift::new(0x9E37_79B9_7F4A_7C15);
        let mut next = || r.next();
        let alphabet = b"ab1 \t\0/;=:(\x7f";
        let mut out = Tokenized::default();
        let mut spans = Vec::new();
        for (delims, max_bytes, max_toks) in [("", 3000, 128), ("/;", 40, 5), ("/", 7, 2)] {
            let t = Tokenizer::new(delims, max_bytes, max_toks);
            for _ in 0..5000 {
                let len = (next() % 60) as usize;
                let mut line: String = (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize] as char)
                    .collect();
                if next() % 4 == 0 {
                    line.push('é');
                }
                t.tokenize(&line, &mut out);
                let n = t.spans(&line, &mut spans);
                assert!(n <= line.len() && line.is_char_boundary(n));
                assert_eq!(spans.len(), out.toks.len(), "{line:?}");
                for (i, &(a, b)) in spans.iter().enumerate() {
                    assert!(a < b && b <= n);
                    let last_overflow = i + 1 == max_toks
                        && out.toks[i].kind == TokKind::Param
                        && out.text(i).len() == 1;
                    if !last_overflow {
                        // the span normalizes to the token
                        let mut one = Tokenized::default();
                        t.tokenize(&line[a..b], &mut one);
                        assert_eq!(one.toks.len(), 1);
                        assert_eq!(one.text(0), out.text(i), "{line:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn caps() {
        let t = Tokenizer::new("", 10, 3);
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
