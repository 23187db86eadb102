//! Alignment: a line whose token count differs from every template of its
//! leaf joins a cluster whose template covers it with optional runs.

use super::*;

impl Drain {
    /// No template covers the line and none of its length may take it: looks
    /// for a cluster of up to `MAX_GAP_TOKENS` tokens more or fewer (or
    /// with optional runs) whose tokens line up with the line's in order
    /// (equal, covered, or different with evidence, see `generalize_token`)
    /// apart from runs of at most `MAX_GAP_TOKENS` tokens on either side
    /// that [`run_ok`] accepts and whose lengths differ. The best one (most
    /// tokens lined up, then the oldest) becomes a template with each such
    /// run as an optional run; the clusters of the candidates that it
    /// covers are merged into the oldest of them.
    pub(super) fn align(&mut self, s: &mut Scratch) -> Option<Trained> {
        let n = s.line.toks.len();
        if n < 2 {
            return None;
        }
        // Candidates: the templates with optional runs of a length near
        // the line's (at most max_leaf_clusters), then up to
        // ALIGN_CANDIDATES clusters of the tree leaves the line reaches
        // among the other token counts.
        let mut cands: Vec<u32> = Vec::new();
        for &g in &self.gapped {
            let c = self.slot(g);
            if n + MAX_GAP_TOKENS >= c.min_len as usize && n <= c.max_len as usize + MAX_GAP_TOKENS
            {
                cands.push(g);
            }
        }
        let cap = cands.len() + ALIGN_CANDIDATES;
        let lo = n.saturating_sub(MAX_GAP_TOKENS).max(2);
        let hi = (n + MAX_GAP_TOKENS).min(self.cfg.max_tokens);
        'lengths: for m in lo..=hi {
            if m == n {
                continue;
            }
            self.leaves(&s.line, m, &mut s.frontier, &mut s.next);
            for &leaf in &s.frontier {
                for &o in &self.nodes[leaf as usize].clusters {
                    if cands.len() >= cap {
                        break 'lengths;
                    }
                    if !self.slot(o).seed {
                        cands.push(o);
                    }
                }
            }
        }
        // A template with optional runs first (it grows rather than a
        // second one forms), then the most tokens lined up, then the oldest:
        // ((has runs, lined-up tokens), id, slot, template).
        // The work is bounded whatever the lines: a quick bound on every
        // candidate, the full lining up on the ALIGN_TRIES best by it, and
        // at most ALIGN_EVIDENCE comparisons of differing tokens in all.
        let mut hashes: Vec<u64> = s.line.toks.iter().map(|t| t.hash).collect();
        hashes.sort_unstable();
        let mut tries: Vec<((bool, usize), std::cmp::Reverse<u64>, u32)> = cands
            .iter()
            .filter_map(|&o| {
                let c = self.slot(o);
                align_bound(c, &hashes).map(|b| ((c.gaps > 0, b), std::cmp::Reverse(c.id), o))
            })
            .collect();
        tries.sort_unstable_by(|a, b| b.cmp(a));
        tries.truncate(ALIGN_TRIES);
        let budget = std::cell::Cell::new(ALIGN_EVIDENCE);
        type Best = ((bool, usize), u64, u32, Vec<u64>, Vec<Box<str>>);
        let mut best: Option<Best> = None;
        for &(_, _, o) in &tries {
            let c = self.slot(o);
            let Some((matched, toks, texts)) = align_one(c, &s.line, &budget) else {
                continue;
            };
            let score = (c.gaps > 0, matched);
            if best
                .as_ref()
                .is_none_or(|b| score > b.0 || (score == b.0 && c.id < b.1))
            {
                best = Some((score, c.id, o, toks, texts));
            }
        }
        let (_, _, base, toks, texts) = best?;
        // The new template, and the candidates of fixed length it covers.
        let mut t = self.new_cluster(0, "", &Tokenized::default());
        t.toks = toks;
        t.texts = texts;
        t.refresh();
        let mut group = vec![base];
        let mut pseudo = Tokenized::default();
        for &o in &cands {
            let oc = self.slot(o);
            if o == base {
                continue;
            }
            if oc.gaps > 0 {
                if covers_template(&t, oc, 0, 0) {
                    group.push(o);
                }
                continue;
            }
            pseudo.norm.clear();
            pseudo.toks.clear();
            for (h, text) in oc.toks.iter().zip(&oc.texts) {
                let start = pseudo.norm.len();
                if *h == WILD {
                    pseudo.norm.push(PARAM_BYTE);
                } else {
                    pseudo.norm.extend_from_slice(text.as_bytes());
                }
                let hash = if *h == WILD {
                    hash_bytes(&[PARAM_BYTE])
                } else {
                    *h
                };
                pseudo.push_tok(hash, hash, start, TokKind::Mixed);
            }
            if t.covers(&pseudo) {
                group.push(o);
            }
        }
        let survivor = *group
            .iter()
            .min_by_key(|&&o| self.slot(o).id)
            .expect("the base is in the group");
        if self.slot(survivor).gaps == 0 && self.gapped.len() >= self.cfg.max_leaf_clusters {
            return None;
        }
        let mut merged = Vec::new();
        let mut size = 1;
        for &o in &group {
            size += self.slot(o).size;
            if o != survivor {
                merged.push(self.remove(o));
            }
        }
        merged.sort_unstable();
        // Out of the tree, into the list of templates with optional runs.
        let (was_gapped, old_leaf, old_len, old_range) = {
            let c = self.slot(survivor);
            (c.gaps > 0, c.leaf, c.toks.len(), (c.min_len, c.max_len))
        };
        if was_gapped {
            self.bump_range(old_range.0, old_range.1);
        } else {
            self.bump(old_len);
            self.nodes[old_leaf as usize]
                .clusters
                .retain(|&x| x != survivor);
            self.prune(old_leaf);
            let id = self.slot(survivor).id;
            let at = self.gapped.partition_point(|&g| self.slot(g).id < id);
            self.gapped.insert(at, survivor);
        }
        let template = render(
            &t.texts,
            &t.toks,
            &self.slot(survivor).example,
            &self.tokenizer,
            &self.cfg,
        );
        let (lo, hi) = (t.min_len, t.max_len);
        let c = self.slot_mut(survivor);
        c.toks = t.toks;
        c.texts = t.texts;
        c.refresh();
        c.template = template;
        c.size = size;
        c.path.clear();
        c.path_texts.clear();
        c.leaf = NIL;
        let id = c.id;
        self.bump_range(lo, hi);
        self.touch(survivor);
        Some(Trained {
            cluster_id: id,
            change: Change::TemplateChanged,
            evicted: None,
            merged,
        })
    }
}

/// True if template `t` (with optional runs) covers every line that
/// template `o` covers, from positions `p` of `t` and `q` of `o` on: each
/// fixed position of `o` is covered by one of `t` or is in a run of `t`
/// that [`run_ok`] accepts, and each optional run of `o` is a whole run of
/// `t`.
pub(super) fn covers_template(t: &Cluster, o: &Cluster, p: usize, q: usize) -> bool {
    if p == t.toks.len() {
        return q == o.toks.len();
    }
    let a = t.toks[p];
    if a != GAP {
        if q == o.toks.len() || o.toks[q] == GAP {
            return false;
        }
        let b = o.toks[q];
        let pt = t.texts[p].as_bytes();
        let ok = a == WILD
            || a == b
            || (t.pat[p]
                && if b == WILD {
                    pt == [PARAM_BYTE]
                } else {
                    glob_match(pt, o.texts[q].as_bytes())
                });
        return ok && covers_template(t, o, p + 1, q + 1);
    }
    let param: &[u8] = &[PARAM_BYTE];
    let text = |k: usize| {
        if o.toks[k] == WILD {
            param
        } else {
            o.texts[k].as_bytes()
        }
    };
    // a run of `o` taken whole
    if q < o.toks.len() && o.toks[q] == GAP && covers_template(t, o, p + 1, q + 1) {
        return true;
    }
    for k in 0..=MAX_GAP_TOKENS {
        if q + k > o.toks.len() || (q..q + k).any(|x| o.toks[x] == GAP) {
            break;
        }
        if run_ok((q..q + k).map(text)) && covers_template(t, o, p + 1, q + k) {
            return true;
        }
    }
    false
}

/// Lines up the tokens of `line` with the template of `c` (see
/// [`Drain::align`]): a longest common subsequence of positions that agree,
/// within a band of `2 × MAX_GAP_TOKENS` around the diagonal. Returns the
/// number of tokens lined up and the new template (agreeing positions
/// generalised as [`generalize_token`] does, each run between them an
/// optional run), or `None` when the two are not one event with optional
/// parts: a run longer than `MAX_GAP_TOKENS`, one that [`run_ok`] refuses,
/// runs of equal length on both sides (a different value, not an optional
/// part), more than `MAX_GAPS` runs, fewer than two tokens or half of
/// either side lined up, or no word among them.
/// A quick bound for [`align_one`]: `None` when the template of `c` cannot
/// line up with a line whose token hashes are `hashes` (sorted), else the
/// number of its words that the line may have as they are (its anchors at
/// most).
pub(super) fn align_bound(c: &Cluster, hashes: &[u64]) -> Option<usize> {
    let (mut words, mut maybe) = (0, 0);
    for (j, &h) in c.toks.iter().enumerate() {
        if h != WILD && h != GAP && has_word(c.texts[j].as_bytes()) {
            words += 1;
            if c.pat[j] || hashes.binary_search(&h).is_ok() {
                maybe += 1;
            }
        }
    }
    (maybe > 0 && 2 * maybe >= words).then_some(maybe)
}

pub(super) fn align_one(
    c: &Cluster,
    line: &Tokenized,
    budget: &std::cell::Cell<usize>,
) -> Option<(usize, Vec<u64>, Vec<Box<str>>)> {
    const B: usize = 2 * MAX_GAP_TOKENS;
    const W: usize = 2 * B + 1;
    const NEG: i32 = i32::MIN / 2;
    let (n, m) = (line.toks.len(), c.toks.len());
    if n.abs_diff(m) > B {
        return None;
    }
    let worded =
        |j: usize| c.toks[j] != WILD && c.toks[j] != GAP && has_word(c.texts[j].as_bytes());
    // Equal (3), covered (2), or different with evidence where the words
    // and the punctuation stay (1: `uid=0` / `uid=7`; not `<*>:<*>` /
    // `sec`, nor `<*>:<*>` / `<1`); 0 where they do not line up. Lining up
    // prefers what is equal.
    fn punct(t: &[u8]) -> impl Iterator<Item = u8> + '_ {
        t.iter().copied().filter(|c| c.is_ascii_punctuation())
    }
    let agree = |j: usize, i: usize| -> i32 {
        if c.toks[j] == GAP {
            0
        } else if c.toks[j] == line.toks[i].hash {
            3
        } else if c.covers_at(j, line, i) {
            2
        } else if c.toks[j] != WILD && {
            // (evidence needs a number on one side: cheap checks first)
            let (t, l) = (c.texts[j].as_bytes(), line.bytes(i));
            (has_number(t) || has_number(l)) && punct(t).eq(punct(l)) && budget.get() > 0 && {
                budget.set(budget.get() - 1);
                let (g, ev) = generalize_token(t, l);
                ev && (has_word(&g) || !has_word(l))
            }
        } {
            1
        } else {
            0
        }
    };
    // dp[i][j] (i line tokens, j template positions), banded; `score`
    // holds agree(j - 1, i - 1) of each cell.
    let at = |i: usize, j: usize| -> Option<usize> {
        let d = j + B;
        (d >= i && d - i < W).then(|| i * W + (d - i))
    };
    let mut dp = vec![NEG; (n + 1) * W];
    let mut score = vec![0i32; (n + 1) * W];
    let get = |dp: &Vec<i32>, i: usize, j: usize| at(i, j).map_or(NEG, |k| dp[k]);
    for i in 0..=n {
        for j in i.saturating_sub(B)..=(i + B).min(m) {
            let k = at(i, j).expect("in band");
            dp[k] = if i == 0 || j == 0 {
                0
            } else {
                let mut v = get(&dp, i - 1, j).max(get(&dp, i, j - 1));
                score[k] = agree(j - 1, i - 1);
                if score[k] > 0 {
                    v = v.max(get(&dp, i - 1, j - 1) + score[k]);
                }
                v
            };
        }
    }
    if get(&dp, n, m) < 4 {
        return None;
    }
    // Back to the pairs lined up.
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    let (mut i, mut j) = (n, m);
    while i > 0 && j > 0 {
        let v = get(&dp, i, j);
        let sc = at(i, j).map_or(0, |k| score[k]);
        if sc > 0 && get(&dp, i - 1, j - 1) + sc == v {
            pairs.push((i - 1, j - 1));
            i -= 1;
            j -= 1;
        } else if get(&dp, i - 1, j) == v {
            i -= 1;
        } else {
            j -= 1;
        }
    }
    pairs.reverse();
    let matched = pairs.len();
    let fixed = m - c.gaps as usize;
    if matched < 2 || 2 * matched < n.max(fixed) {
        return None;
    }
    // Anchors: words of the template that the line has as they are; at
    // least one, and half of the template's words.
    let anchors = pairs
        .iter()
        .filter(|&&(i, j)| worded(j) && c.covers_at(j, line, i))
        .count();
    if anchors == 0 || 2 * anchors < (0..m).filter(|&j| worded(j)).count() {
        return None;
    }
    let mut toks = Vec::with_capacity(m + MAX_GAPS);
    let mut texts: Vec<Box<str>> = Vec::with_capacity(m + MAX_GAPS);
    let mut runs = 0;
    let (mut pi, mut pj) = (0, 0);
    let param: &[u8] = &[PARAM_BYTE];
    for k in 0..=pairs.len() {
        let (i, j) = pairs.get(k).copied().unwrap_or((n, m));
        // the run between the previous pair and this one
        let (x, y) = (pi..i, pj..j);
        if !x.is_empty() || !y.is_empty() {
            let y_gap = y.clone().any(|q| c.toks[q] == GAP);
            let y_fixed = y.clone().filter(|&q| c.toks[q] != GAP).count();
            let y_texts = y.clone().filter(|&q| c.toks[q] != GAP).map(|q| {
                if c.toks[q] == WILD {
                    param
                } else {
                    c.texts[q].as_bytes()
                }
            });
            if x.len() > MAX_GAP_TOKENS
                || y_fixed > MAX_GAP_TOKENS
                || (!y_gap && x.len() == y_fixed)
                || !run_ok(x.clone().map(|t| line.bytes(t)))
                || !run_ok(y_texts)
            {
                return None;
            }
            runs += 1;
            toks.push(GAP);
            texts.push(Box::from(""));
        }
        if k == pairs.len() {
            break;
        }
        if c.covers_at(j, line, i) {
            toks.push(c.toks[j]);
            texts.push(c.texts[j].clone());
        } else {
            let g = generalize_token(c.texts[j].as_bytes(), line.bytes(i)).0;
            if g.as_slice() == param {
                toks.push(WILD);
                texts.push(Box::from(""));
            } else {
                // (generalised from two valid UTF-8 texts at char boundaries)
                let t = String::from_utf8_lossy(&g).into_owned();
                toks.push(hash_bytes(t.as_bytes()));
                texts.push(t.into_boxed_str());
            }
        }
        (pi, pj) = (i + 1, j + 1);
    }
    if runs == 0 || runs > MAX_GAPS {
        return None;
    }
    Some((matched, toks, texts))
}
