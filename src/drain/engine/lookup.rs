//! Reading lines against a model without learning: the cluster that covers
//! a line, and the line's text at each parameter of its template.

use super::*;

impl Drain {
    /// Read-only: the cluster whose template covers `line` (the most
    /// specific one, then the oldest), or `None`. Does not learn nor update
    /// the LRU clock. A trained line is always covered by the cluster it was
    /// trained into (or the one that cluster was merged into), so this is
    /// `None` for a trained line only if that cluster was evicted; it is
    /// another cluster only if a more specific template covering the line
    /// appeared later (none on the Loghub-2k data sets).
    pub fn match_line(&self, line: &str) -> Option<u64> {
        let mut fresh;
        let mut guard = self.scratch.try_borrow_mut();
        let s: &mut Scratch = match guard {
            Ok(ref mut g) => g,
            Err(_) => {
                fresh = Scratch::default();
                &mut fresh
            }
        };
        self.tokenizer.tokenize(line, &mut s.line);
        let fit = match self.cached(seq_hash(&s.line.toks), &s.line) {
            Some(slot) => Some(slot),
            None => self.search(s, false).0,
        };
        fit.map(|slot| self.slot(slot).id)
    }

    /// The parameters of `line` under the template of the cluster it
    /// matches (as [`Drain::match_line`]): the cluster id and the line's
    /// text at each parameter of the rendered template, in order (runs of
    /// parameters that the template shows as one are one value). `None`
    /// when no template covers the line.
    pub fn params(&self, line: &str) -> Option<(u64, Vec<String>)> {
        let id = self.match_line(line)?;
        let c = self.cluster(id)?;
        let mut t = Tokenized::default();
        self.tokenizer.tokenize(line, &mut t);
        let mut spans = Vec::new();
        let mut map = Vec::new();
        self.tokenizer.raw_map(line, &mut spans, &mut map);
        // The line's tokens at each template position.
        let mut assign = Vec::new();
        if spans.len() != t.toks.len()
            || !(if c.gaps > 0 {
                c.assign(&t, Some(&mut assign))
            } else {
                assign.extend((0..t.toks.len() as u32).map(|i| (i, i + 1)));
                t.toks.len() == c.toks.len()
            })
        {
            return None;
        }
        // (position, raw start, raw end, starts its token, ends its token)
        let mut found: Vec<(usize, usize, usize, bool, bool)> = Vec::new();
        for (p, &(a, b)) in assign.iter().enumerate() {
            let (a, b) = (a as usize, b as usize);
            if c.toks[p] == GAP {
                // the run's text, or an empty value where it is absent
                let (s0, e0) = if a < b {
                    (spans[a].0, spans[b - 1].1)
                } else if a > 0 {
                    (spans[a - 1].1, spans[a - 1].1)
                } else {
                    (spans[0].0, spans[0].0)
                };
                found.push((p, s0, e0, true, true));
                continue;
            }
            let (s0, e0) = spans[a];
            if c.toks[p] == WILD {
                found.push((p, s0, e0, true, true));
                continue;
            }
            let pat = c.texts[p].as_bytes();
            if !pat.iter().any(|&b| is_param_byte(b)) {
                continue;
            }
            let norm = t.bytes(a);
            let pieces = &map[a];
            let spans_in = crate::drain::tokenize::glob_spans(pat, norm)?;
            for (a, b) in spans_in {
                let raw_s = if a < pieces.len() {
                    pieces[a].raw.0
                } else {
                    e0
                };
                let raw_e = if b > a { pieces[b - 1].raw.1 } else { raw_s };
                found.push((p, raw_s, raw_e, a == 0, b == norm.len()));
            }
        }
        let bytes = line.as_bytes();
        let mut out: Vec<(usize, usize)> = Vec::new();
        let mut prev: Option<(usize, bool)> = None;
        for (p, s0, e0, starts, ends) in found {
            if let (Some((pp, pends)), Some(last)) = (prev, out.last_mut()) {
                let between = &bytes[last.1.min(s0)..s0];
                let merge = (pp == p && last.1 == s0)
                    || (pp + 1 == p
                        && pends
                        && starts
                        && between.iter().all(|&b| b == b' ' || b == b'\t'));
                if merge {
                    // (an absent optional run adds nothing to its neighbour)
                    if last.0 == last.1 {
                        last.0 = s0;
                    }
                    last.1 = e0.max(last.1);
                    prev = Some((p, ends));
                    continue;
                }
            }
            out.push((s0, e0));
            prev = Some((p, ends));
        }
        Some((
            id,
            out.into_iter()
                .map(|(a, b)| String::from_utf8_lossy(&bytes[a..b]).into_owned())
                .collect(),
        ))
    }
}
