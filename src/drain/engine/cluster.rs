//! What training returns and what a cluster holds.

use super::*;

/// What training one line changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// The line's template already covered it.
    None,
    /// The line started a new cluster.
    Created,
    /// The line joined a cluster and generalised its template.
    TemplateChanged,
}

/// Result of [`Drain::train`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trained {
    /// The cluster the line belongs to now.
    pub cluster_id: u64,
    pub change: Change,
    /// A cluster evicted (least recently used) to make room, if any.
    pub evicted: Option<u64>,
    /// Clusters merged into `cluster_id` (with `TemplateChanged`): they no
    /// longer exist and their lines now belong to `cluster_id`. Usually
    /// empty (no allocation).
    pub merged: Vec<u64>,
}

/// A cluster of lines sharing one template.
#[derive(Clone, Debug)]
pub struct Cluster {
    pub(super) id: u64,
    /// Per position: hash of the normalized token, or `WILD`.
    pub(super) toks: Vec<u64>,
    /// Per position: normalized token text, empty for a wildcard.
    pub(super) texts: Vec<Box<str>>,
    pub(super) template: String,
    /// Tree path below the token-count node: token hash or `WILD` per layer.
    pub(super) path: Vec<u64>,
    /// Normalized text of each path key (empty for `WILD`), for records.
    pub(super) path_texts: Vec<Box<str>>,
    pub(super) leaf: u32,
    pub(super) n_wild: u32,
    /// Per position: the template token holds a parameter inside literal
    /// text (`uid=<*>`): it covers line tokens by pattern.
    pub(super) pat: Vec<bool>,
    /// Per position: hash of the token's shape (digit runs as parameters).
    pub(super) shapes: Vec<u64>,
    /// Specificity: 2 per literal position, 1 per pattern, 0 per wildcard
    /// or optional run.
    pub(super) spec: u32,
    /// Optional runs (`GAP` positions): a template with some stands for
    /// lines of `min_len..=max_len` tokens and is kept out of the tree.
    pub(super) gaps: u32,
    pub(super) min_len: u32,
    pub(super) max_len: u32,
    /// A template seeded by the user ([`Drain::seed`]): lines it covers
    /// join it first; it never changes, merges nor is evicted.
    pub(super) seed: bool,
    pub(super) size: u64,
    pub(super) last_used: u64,
    pub(super) example: String,
    pub(super) prev: u32,
    pub(super) next: u32,
}

impl Cluster {
    /// Recomputes what derives from the template tokens.
    pub(super) fn refresh(&mut self) {
        self.pat.clear();
        self.shapes.clear();
        self.n_wild = 0;
        self.spec = 0;
        self.gaps = self.toks.iter().filter(|&&h| h == GAP).count() as u32;
        let fixed = self.toks.len() as u32 - self.gaps;
        self.min_len = fixed;
        self.max_len = fixed + self.gaps * MAX_GAP_TOKENS as u32;
        let mut buf = Vec::new();
        for (t, h) in self.texts.iter().zip(&self.toks) {
            let b = t.as_bytes();
            let pat = *h != WILD && *h != GAP && b.contains(&PARAM_BYTE);
            self.pat.push(pat);
            self.n_wild += (*h == WILD) as u32;
            self.spec += if *h == WILD || *h == GAP {
                0
            } else if pat {
                1
            } else {
                2
            };
            self.shapes.push(
                if *h != WILD && *h != GAP && b.iter().any(u8::is_ascii_digit) {
                    crate::drain::tokenize::shape_of(b, &mut buf);
                    hash_bytes(&buf)
                } else {
                    *h
                },
            );
        }
    }

    /// True if template position `p` covers token `p` of `line`.
    #[inline]
    pub(super) fn covers_pos(&self, p: usize, line: &Tokenized) -> bool {
        self.covers_at(p, line, p)
    }

    /// True if template position `p` (not an optional run) covers token `i`
    /// of `line`.
    #[inline]
    pub(super) fn covers_at(&self, p: usize, line: &Tokenized, i: usize) -> bool {
        let a = self.toks[p];
        a == WILD
            || a == line.toks[i].hash
            || (self.pat[p] && glob_match(self.texts[p].as_bytes(), line.bytes(i)))
    }

    /// True if the template covers `line`: position by position, or, with
    /// optional runs, in order with each run standing for zero to
    /// `MAX_GAP_TOKENS` tokens that [`run_ok`] accepts.
    #[inline]
    pub(super) fn covers(&self, line: &Tokenized) -> bool {
        if self.gaps == 0 {
            return self.toks.len() == line.toks.len()
                && (0..self.toks.len()).all(|p| self.covers_pos(p, line));
        }
        self.assign(line, None)
    }

    /// Matches a template with optional runs against `line`. With `out`,
    /// fills it with the line's token range of every template position
    /// (the first match: each run as short as it can be, left to right).
    pub(super) fn assign(&self, line: &Tokenized, mut out: Option<&mut Vec<(u32, u32)>>) -> bool {
        let n = line.toks.len() as u32;
        if n < self.min_len || n > self.max_len {
            return false;
        }
        if let Some(o) = out.as_deref_mut() {
            o.clear();
            o.resize(self.toks.len(), (0, 0));
        }
        self.assign_from(line, 0, 0, &mut out)
    }

    pub(super) fn assign_from(
        &self,
        line: &Tokenized,
        p: usize,
        i: usize,
        out: &mut Option<&mut Vec<(u32, u32)>>,
    ) -> bool {
        let n = line.toks.len();
        if p == self.toks.len() {
            return i == n;
        }
        if self.toks[p] != GAP {
            if i < n && self.covers_at(p, line, i) && self.assign_from(line, p + 1, i + 1, out) {
                if let Some(o) = out.as_deref_mut() {
                    o[p] = (i as u32, i as u32 + 1);
                }
                return true;
            }
            return false;
        }
        for k in 0..=MAX_GAP_TOKENS {
            if i + k > n {
                break;
            }
            if run_ok((i..i + k).map(|t| line.bytes(t)))
                && self.assign_from(line, p + 1, i + k, out)
            {
                if let Some(o) = out.as_deref_mut() {
                    o[p] = (i as u32, (i + k) as u32);
                }
                return true;
            }
        }
        false
    }

    /// Stable id: the 1-based ordinal of the training line that created it.
    pub fn id(&self) -> u64 {
        self.id
    }
    /// Rendered template, parameters as `param_str`, with the separators
    /// of the example between tokens (see [`Drain`]).
    pub fn template(&self) -> &str {
        &self.template
    }
    /// Number of lines trained into the cluster.
    pub fn size(&self) -> u64 {
        self.size
    }
    /// First line of the cluster, cut to `max_example_bytes`.
    pub fn example(&self) -> &str {
        &self.example
    }
    /// Ordinal of the training line that last used the cluster (LRU clock).
    pub fn last_used(&self) -> u64 {
        self.last_used
    }
}

/// Plain-data persistent form of one cluster: enough, with the other
/// clusters' records and the same configuration, to rebuild an identical
/// model with [`Drain::from_records`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterRecord {
    /// Cluster id (ordinal of the training line that created it).
    pub id: u64,
    /// Rendered template, for people; not read back.
    pub template: String,
    /// Exact template: JSON array with one entry per token, the normalized
    /// token text (U+0001 marks a parameter segment), or `null` for a
    /// position generalised to a wildcard.
    pub tokens: String,
    /// Position of the cluster in the prefix tree: JSON array, same encoding
    /// as `tokens`, one entry per tree layer below the token count.
    pub path: String,
    /// Number of lines trained into the cluster.
    pub size: u64,
    /// Ordinal of the training line that last used the cluster.
    pub last_used: u64,
    /// First line of the cluster, cut to `max_example_bytes`.
    pub example: String,
}
