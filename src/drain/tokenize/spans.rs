//! Where each token, and each parameter inside it, lies in the raw line:
//! for rendering templates with an example's separators and for reading
//! parameter values, never on the training path.

use super::{C_PUNCT, PARAM_BYTE, Tokenizer, segment};

impl Tokenizer {
    /// Byte spans `(start, end)` in `line` of the tokens that
    /// [`Tokenizer::tokenize`] finds (same cut, masks, separators and
    /// `max_tokens` rule), into `out` (cleared first). The span of an
    /// overflow token (the rest of a line with too many tokens) ends after
    /// the last non-separator byte of the cut line. Used to render templates
    /// with the separators of a cluster's example and to read parameters;
    /// never on the training path. Returns the length of the cut line.
    pub fn spans(&self, line: &str, out: &mut Vec<(usize, usize)>) -> usize {
        out.clear();
        let b = self.cut(line);
        let mut ranges = Vec::new();
        if let Some(m) = &self.masker {
            m.ranges(b, &self.class, &mut ranges);
        }
        self.for_each_token(b, &ranges, |s, e, _| out.push((s, e)));
        b.len()
    }

    /// Like [`Tokenizer::spans`], and for each token the raw spans of its
    /// parameters in normalized order (for reading parameter values).
    /// `pieces[i]` holds, for token `i`, the (normalized offset, raw start,
    /// raw end) of every byte of its normalized text that is a parameter,
    /// and the raw span of every literal byte is implied.
    pub fn raw_map(
        &self,
        line: &str,
        spans: &mut Vec<(usize, usize)>,
        map: &mut Vec<Vec<RawPiece>>,
    ) {
        spans.clear();
        map.clear();
        let b = self.cut(line);
        let mut ranges = Vec::new();
        if let Some(m) = &self.masker {
            m.ranges(b, &self.class, &mut ranges);
        }
        let mut ri = 0;
        let mut norm = Vec::new();
        self.for_each_token(b, &ranges, |s, e, overflow| {
            spans.push((s, e));
            let mut pieces = Vec::new();
            if overflow {
                pieces.push(RawPiece {
                    norm: 0,
                    raw: (s, e),
                });
                map.push(pieces);
                return;
            }
            while ri < ranges.len() && ranges[ri].0 < s {
                ri += 1;
            }
            // Normalize segment by segment, recording where each normalized
            // byte came from.
            let class = &self.class;
            let mut i = s;
            let mut seg = s;
            norm.clear();
            let flush =
                |seg_s: usize, seg_e: usize, norm: &mut Vec<u8>, pieces: &mut Vec<RawPiece>| {
                    let before = norm.len();
                    segment(&b[seg_s..seg_e], class, norm);
                    map_segment(&b[seg_s..seg_e], seg_s, &norm[before..], before, pieces);
                };
            while i < e {
                if ri < ranges.len() && ranges[ri].0 == i {
                    flush(seg, i, &mut norm, &mut pieces);
                    pieces.push(RawPiece {
                        norm: norm.len(),
                        raw: (ranges[ri].0, ranges[ri].1),
                    });
                    norm.push(ranges[ri].2);
                    i = ranges[ri].1;
                    ri += 1;
                    seg = i;
                    continue;
                }
                if class[b[i] as usize] & C_PUNCT != 0 {
                    flush(seg, i, &mut norm, &mut pieces);
                    pieces.push(RawPiece {
                        norm: norm.len(),
                        raw: (i, i + 1),
                    });
                    norm.push(b[i]);
                    i += 1;
                    seg = i;
                    continue;
                }
                i += 1;
            }
            flush(seg, e.max(seg), &mut norm, &mut pieces);
            map.push(pieces);
        });
    }
}

/// Where one byte (or parameter) of a token's normalized text came from in
/// the raw line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RawPiece {
    /// Offset in the token's normalized text.
    pub norm: usize,
    /// Raw byte span.
    pub raw: (usize, usize),
}

/// Records, for a segment `raw` (at offset `raw_at` of the line) normalized
/// to `norm` (at offset `norm_at` of the token's text), the raw span of
/// every normalized byte. Literal bytes map one to one; a parameter byte
/// maps to the raw run it replaced.
fn map_segment(raw: &[u8], raw_at: usize, norm: &[u8], norm_at: usize, out: &mut Vec<RawPiece>) {
    // The normalized segment is: a literal prefix, at most one parameter,
    // a literal suffix (see `segment`).
    let p = norm.iter().position(|&c| c == PARAM_BYTE);
    match p {
        None => {
            for k in 0..norm.len() {
                out.push(RawPiece {
                    norm: norm_at + k,
                    raw: (raw_at + k, raw_at + k + 1),
                });
            }
        }
        Some(p) => {
            let suffix = norm.len() - p - 1;
            for k in 0..p {
                out.push(RawPiece {
                    norm: norm_at + k,
                    raw: (raw_at + k, raw_at + k + 1),
                });
            }
            out.push(RawPiece {
                norm: norm_at + p,
                raw: (raw_at + p, raw_at + raw.len() - suffix),
            });
            for k in 0..suffix {
                let r = raw.len() - suffix + k;
                out.push(RawPiece {
                    norm: norm_at + p + 1 + k,
                    raw: (raw_at + r, raw_at + r + 1),
                });
            }
        }
    }
}
