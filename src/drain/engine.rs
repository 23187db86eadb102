//! Drain log-template engine (online log parsing), pure Rust.
//!
//! Based on Drain (He et al., ICWS 2017) as implemented by Drain3: lines are
//! tokenized, clusters sit in the leaves of a fixed-depth prefix tree keyed by
//! the token count and then the first tokens, and a line joins the most
//! similar cluster of its leaf or starts a new one. See [`DrainConfig`] for
//! the knobs and [`Drain`] for what differs from Drain3.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

use super::generalize::generalize_token;
use super::tokenize::{
    GAP, MASK_BASE, MAX_GAP_TOKENS, MAX_MASKS, Masker, PARAM_BYTE, Tok, TokKind, Tokenized,
    Tokenizer, WILD, glob_match, hash_bytes, is_param_byte,
};

// ---------------------------------------------------------------------------
// Configuration

/// Configuration of a [`Drain`] model. `Default` is the one default
/// configuration; [`DrainConfig::from_json`] overrides any subset of it.
#[derive(Clone, Debug, PartialEq)]
pub struct DrainConfig {
    /// Similarity threshold, 0.0..=1.0 (default 0.4). A line that no template
    /// covers joins the most similar cluster of its tree leaf if the share of
    /// its positions equal to that cluster's template reaches `sim_th`;
    /// otherwise it starts a new cluster. Lower merges more.
    pub sim_th: f64,
    /// Depth of the prefix tree, 3..=16 (default 4), with Drain3's meaning:
    /// below the root, a layer keyed by the token count, then layers keyed by
    /// the first `depth - 3` tokens of a line, never by its last token (so a
    /// line shorter than the depth still shares a leaf with lines that differ
    /// from it in their last token).
    pub depth: usize,
    /// Maximum children of a tree node, 2..=1_000_000 (default 100). When a
    /// node is full, further distinct tokens share its `<*>` child.
    pub max_children: usize,
    /// Maximum clusters in a model, 1..=10_000_000 (default 10_000). Creating
    /// one more evicts the least recently used cluster.
    pub max_clusters: usize,
    /// Maximum clusters in one tree leaf, 1..=1_000_000 (default 256).
    /// Creating one more in a full leaf evicts that leaf's least recently
    /// used cluster. Bounds the work per line whatever arrives.
    pub max_leaf_clusters: usize,
    /// Lines are cut to this many bytes (at a character boundary) before
    /// tokenizing, 1..=1_048_576 (default 3000, as Loki).
    pub max_line_bytes: usize,
    /// Maximum tokens per line, 2..=4096 (default 128). A longer line keeps
    /// its first `max_tokens - 1` tokens and one parameter for the rest.
    pub max_tokens: usize,
    /// A cluster's example (its first line) is cut to this many bytes at a
    /// character boundary, 0..=1_048_576 (default 512). Templates take
    /// their separators from the example; one cut before its last token
    /// renders with single spaces.
    pub max_example_bytes: usize,
    /// Distinct values needed before a template position becomes a
    /// parameter, 2..=1000 (default 3). A line that no template covers but
    /// that is similar to a cluster generalises that cluster only when, at
    /// every differing position, at least this many distinct values were
    /// seen among the line and the clusters that agree with it elsewhere;
    /// those clusters are then merged. Otherwise the line starts a new
    /// cluster. 2 behaves like Drain (generalise at the first difference).
    pub min_distinct: usize,
    /// Extra ASCII characters that separate tokens like whitespace (default
    /// empty), each once (duplicates are dropped when the configuration is
    /// read), so at most [`MAX_EXTRA_DELIMITERS`]. Whitespace and control
    /// characters always separate tokens.
    pub extra_delimiters: String,
    /// Text that stands for a parameter in rendered templates, 1 to
    /// [`MAX_PARAM_STR_BYTES`] bytes (default `<*>`).
    pub param_str: String,
    /// Masks, applied to a line before it is tokenized, in priority order
    /// (default [`default_masks`]; empty: none). At most [`MAX_MASKS`].
    pub masks: Vec<Mask>,
}

/// A mask: text matching `regex` is a parameter shown as `<name>`. When
/// the regular expression has a capture group, only the first group's text
/// is masked (the rest of the match is context, e.g. `hdfs://(\S+)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mask {
    pub name: String,
    pub regex: String,
}

/// Longest mask name, in bytes (ASCII letters, digits and `_`): `<NAME>`
/// is at most [`MAX_PARAM_STR_BYTES`] like `param_str`.
pub const MAX_MASK_NAME_BYTES: usize = 14;
/// Longest mask regular expression, in bytes.
pub const MAX_MASK_REGEX_BYTES: usize = 1024;

/// The default masks, in priority order: `URL` (the part after `scheme://`),
/// `PATH` (absolute paths of two or more parts), `UUID`, `IP` (IPv4 and
/// IPv6), `HEX` (`0x…`, and hexadecimal ids of 8 or more digits holding
/// both a digit and a letter).
pub fn default_masks() -> Vec<Mask> {
    let m = |name: &str, regex: &str| Mask {
        name: name.to_string(),
        regex: regex.to_string(),
    };
    vec![
        m(
            "URL",
            r#"\b[a-zA-Z][a-zA-Z0-9+.-]*://([^\s()\[\]{}<>"',]+)"#,
        ),
        m(
            "PATH",
            r#"(?:^|[^\w/.~-])(/[\w.~+-]+(?:/[\w.~+-]*)+(?:\?[^\s"'<>]*)?|[A-Za-z]:\\[^\s'"]+)"#,
        ),
        m(
            "UUID",
            r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
        ),
        m(
            "IP",
            r"\b\d{1,3}(?:\.\d{1,3}){3}\b|\b(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}\b|\b(?:[0-9a-fA-F]{1,4}:)+:(?:[0-9a-fA-F]{1,4}:)*[0-9a-fA-F]{1,4}\b",
        ),
        m(
            "HEX",
            r"\b0[xX][0-9a-fA-F]+\b|\b(?:[0-9]+[a-fA-F]|[a-fA-F]+[0-9])[0-9a-fA-F]{6,}\b",
        ),
    ]
}

/// Longest `param_str`, in bytes. A line of N bytes (after the cut to
/// `max_line_bytes`) holds at most ⌈N/2⌉ parameters (each at least one
/// byte, and something between two), so its template is at most
/// `N + ⌈N/2⌉ × (MAX_PARAM_STR_BYTES - 1)` bytes, whatever the line.
pub const MAX_PARAM_STR_BYTES: usize = 16;

/// Longest `extra_delimiters`: ASCII characters, each once.
pub const MAX_EXTRA_DELIMITERS: usize = 128;

/// Longest configuration JSON text [`DrainConfig::from_json`] reads (1 MiB;
/// the full configuration is about 250 bytes).
pub const MAX_CONFIG_JSON_BYTES: usize = 1 << 20;

/// Most seeded templates in a model ([`Drain::seed`]).
pub const MAX_SEEDS: usize = 1000;

/// Largest cluster id and line ordinal a stored model may hold (2^53:
/// exact in every JSON reader; 285 years of a million lines a second).
pub const MAX_ID: u64 = 1 << 53;

impl Default for DrainConfig {
    fn default() -> Self {
        DrainConfig {
            sim_th: 0.4,
            depth: 4,
            max_children: 100,
            max_clusters: 10_000,
            max_leaf_clusters: 256,
            max_line_bytes: 3000,
            max_tokens: 128,
            max_example_bytes: 512,
            min_distinct: 3,
            extra_delimiters: String::new(),
            param_str: "<*>".to_string(),
            masks: default_masks(),
        }
    }
}

impl DrainConfig {
    /// Parses a JSON object whose keys override the defaults. Unknown keys,
    /// wrong types and out-of-range values are errors naming the key.
    pub fn from_json(json: &str) -> Result<Self, String> {
        if json.len() > MAX_CONFIG_JSON_BYTES {
            return Err(format!(
                "drain config: the JSON text is {} bytes, more than {MAX_CONFIG_JSON_BYTES}",
                json.len()
            ));
        }
        let v: serde_json::Value =
            serde_json::from_str(json).map_err(|e| format!("drain config: invalid JSON: {e}"))?;
        let obj = v
            .as_object()
            .ok_or_else(|| "drain config: expected a JSON object".to_string())?;
        let mut c = DrainConfig::default();
        for (k, val) in obj {
            let key = k.as_str();
            match key {
                "sim_th" => {
                    let x = val
                        .as_f64()
                        .ok_or_else(|| format!("drain config: \"{key}\" must be a number"))?;
                    if !(0.0..=1.0).contains(&x) {
                        return Err(format!("drain config: \"{key}\" must be in 0..=1, got {x}"));
                    }
                    c.sim_th = x;
                }
                "depth" => c.depth = int(key, val, 3, 16)?,
                "max_children" => c.max_children = int(key, val, 2, 1_000_000)?,
                "max_clusters" => c.max_clusters = int(key, val, 1, 10_000_000)?,
                "max_leaf_clusters" => c.max_leaf_clusters = int(key, val, 1, 1_000_000)?,
                "max_line_bytes" => c.max_line_bytes = int(key, val, 1, 1 << 20)?,
                "max_tokens" => c.max_tokens = int(key, val, 2, 4096)?,
                "max_example_bytes" => c.max_example_bytes = int(key, val, 0, 1 << 20)?,
                "min_distinct" => c.min_distinct = int(key, val, 2, 1000)?,
                "extra_delimiters" => {
                    let s = val
                        .as_str()
                        .ok_or_else(|| format!("drain config: \"{key}\" must be a string"))?;
                    if !s.is_ascii() {
                        return Err(format!(
                            "drain config: \"{key}\" must contain ASCII characters only"
                        ));
                    }
                    // A set: each character once, in first-seen order (so
                    // at most 128, and adding one to a full set is a no-op).
                    let mut seen = [false; 128];
                    c.extra_delimiters = s
                        .bytes()
                        .filter(|&b| !std::mem::replace(&mut seen[b as usize], true))
                        .map(char::from)
                        .collect();
                    debug_assert!(c.extra_delimiters.len() <= MAX_EXTRA_DELIMITERS);
                }
                "param_str" => {
                    let s = val
                        .as_str()
                        .ok_or_else(|| format!("drain config: \"{key}\" must be a string"))?;
                    if s.is_empty() {
                        return Err(format!("drain config: \"{key}\" must not be empty"));
                    }
                    if s.len() > MAX_PARAM_STR_BYTES {
                        return Err(format!(
                            "drain config: \"{key}\" must be at most {MAX_PARAM_STR_BYTES} bytes, got {}",
                            s.len()
                        ));
                    }
                    c.param_str = s.to_string();
                }
                "masks" => c.masks = masks_from_json(val)?,
                _ => return Err(format!("drain config: unknown key \"{key}\"")),
            }
        }
        c.masker()?;
        Ok(c)
    }

    /// The full configuration as a JSON object (accepted by `from_json`).
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "sim_th": self.sim_th,
            "depth": self.depth,
            "max_children": self.max_children,
            "max_clusters": self.max_clusters,
            "max_leaf_clusters": self.max_leaf_clusters,
            "max_line_bytes": self.max_line_bytes,
            "max_tokens": self.max_tokens,
            "max_example_bytes": self.max_example_bytes,
            "min_distinct": self.min_distinct,
            "extra_delimiters": self.extra_delimiters,
            "param_str": self.param_str,
            "masks": self.masks.iter().map(|m| serde_json::json!({"name": m.name, "regex": m.regex})).collect::<Vec<_>>(),
        })
        .to_string()
    }

    /// Compiles the masks (an error names the mask that does not compile).
    pub(crate) fn masker(&self) -> Result<Option<Masker>, String> {
        let pats: Vec<&str> = self.masks.iter().map(|m| m.regex.as_str()).collect();
        Masker::new(&pats).map_err(|e| {
            // "mask i: ..." -> the mask's name
            match e.strip_prefix("mask ").and_then(|r| r.split_once(':')) {
                Some((i, rest)) => {
                    let name = i
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| self.masks.get(i))
                        .map_or("?", |m| m.name.as_str());
                    format!("drain config: mask \"{name}\": invalid regex:{rest}")
                }
                None => format!("drain config: masks: {e}"),
            }
        })
    }
}

/// Reads the `masks` key: an array of `{"name", "regex"}` objects, or the
/// string `"default"` for the default masks at that place.
fn masks_from_json(v: &serde_json::Value) -> Result<Vec<Mask>, String> {
    let arr = v.as_array().ok_or_else(|| {
        "drain config: \"masks\" must be an array of {\"name\": ..., \"regex\": ...} objects"
            .to_string()
    })?;
    let mut out: Vec<Mask> = Vec::new();
    for (i, e) in arr.iter().enumerate() {
        if e.as_str() == Some("default") {
            out.extend(default_masks());
            continue;
        }
        let o = e.as_object().ok_or_else(|| {
            format!("drain config: masks[{i}] must be an object {{\"name\": ..., \"regex\": ...}} or \"default\"")
        })?;
        for k in o.keys() {
            if k != "name" && k != "regex" {
                return Err(format!("drain config: masks[{i}]: unknown key \"{k}\""));
            }
        }
        let name = o
            .get("name")
            .and_then(|n| n.as_str())
            .ok_or_else(|| format!("drain config: masks[{i}]: \"name\" must be a string"))?;
        if name.is_empty()
            || name.len() > MAX_MASK_NAME_BYTES
            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(format!(
                "drain config: masks[{i}]: \"name\" must be 1 to {MAX_MASK_NAME_BYTES} ASCII letters, digits or _, got {:?}",
                name.chars().take(40).collect::<String>()
            ));
        }
        let regex = o.get("regex").and_then(|n| n.as_str()).ok_or_else(|| {
            format!("drain config: masks[{i}] ({name}): \"regex\" must be a string")
        })?;
        if regex.is_empty() || regex.len() > MAX_MASK_REGEX_BYTES {
            return Err(format!(
                "drain config: masks[{i}] ({name}): \"regex\" must be 1 to {MAX_MASK_REGEX_BYTES} bytes, got {}",
                regex.len()
            ));
        }
        out.push(Mask {
            name: name.to_string(),
            regex: regex.to_string(),
        });
    }
    if out.len() > MAX_MASKS {
        return Err(format!(
            "drain config: \"masks\" holds {} masks, more than {MAX_MASKS}",
            out.len()
        ));
    }
    Ok(out)
}

fn int(key: &str, v: &serde_json::Value, lo: u64, hi: u64) -> Result<usize, String> {
    let x = v
        .as_u64()
        .ok_or_else(|| format!("drain config: \"{key}\" must be a non-negative integer"))?;
    if x < lo || x > hi {
        return Err(format!(
            "drain config: \"{key}\" must be in {lo}..={hi}, got {x}"
        ));
    }
    Ok(x as usize)
}

// ---------------------------------------------------------------------------
// Public result types

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
    id: u64,
    /// Per position: hash of the normalized token, or `WILD`.
    toks: Vec<u64>,
    /// Per position: normalized token text, empty for a wildcard.
    texts: Vec<Box<str>>,
    template: String,
    /// Tree path below the token-count node: token hash or `WILD` per layer.
    path: Vec<u64>,
    /// Normalized text of each path key (empty for `WILD`), for records.
    path_texts: Vec<Box<str>>,
    leaf: u32,
    n_wild: u32,
    /// Per position: the template token holds a parameter inside literal
    /// text (`uid=<*>`): it covers line tokens by pattern.
    pat: Vec<bool>,
    /// Per position: hash of the token's shape (digit runs as parameters).
    shapes: Vec<u64>,
    /// Specificity: 2 per literal position, 1 per pattern, 0 per wildcard
    /// or optional run.
    spec: u32,
    /// Optional runs (`GAP` positions): a template with some stands for
    /// lines of `min_len..=max_len` tokens and is kept out of the tree.
    gaps: u32,
    min_len: u32,
    max_len: u32,
    /// A template seeded by the user ([`Drain::seed`]): lines it covers
    /// join it first; it never changes, merges nor is evicted.
    seed: bool,
    size: u64,
    last_used: u64,
    example: String,
    prev: u32,
    next: u32,
}

impl Cluster {
    /// Recomputes what derives from the template tokens.
    fn refresh(&mut self) {
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
                    super::tokenize::shape_of(b, &mut buf);
                    hash_bytes(&buf)
                } else {
                    *h
                },
            );
        }
    }

    /// True if template position `p` covers token `p` of `line`.
    #[inline]
    fn covers_pos(&self, p: usize, line: &Tokenized) -> bool {
        self.covers_at(p, line, p)
    }

    /// True if template position `p` (not an optional run) covers token `i`
    /// of `line`.
    #[inline]
    fn covers_at(&self, p: usize, line: &Tokenized, i: usize) -> bool {
        let a = self.toks[p];
        a == WILD
            || a == line.toks[i].hash
            || (self.pat[p] && glob_match(self.texts[p].as_bytes(), line.bytes(i)))
    }

    /// True if the template covers `line`: position by position, or, with
    /// optional runs, in order with each run standing for zero to
    /// `MAX_GAP_TOKENS` tokens that [`run_ok`] accepts.
    #[inline]
    fn covers(&self, line: &Tokenized) -> bool {
        if self.gaps == 0 {
            return self.toks.len() == line.toks.len()
                && (0..self.toks.len()).all(|p| self.covers_pos(p, line));
        }
        self.assign(line, None)
    }

    /// Matches a template with optional runs against `line`. With `out`,
    /// fills it with the line's token range of every template position
    /// (the first match: each run as short as it can be, left to right).
    fn assign(&self, line: &Tokenized, mut out: Option<&mut Vec<(u32, u32)>>) -> bool {
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

    fn assign_from(
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

// ---------------------------------------------------------------------------
// Internals

const NIL: u32 = u32::MAX;

/// Hasher for keys that are already well mixed 64-bit hashes or small ints.
#[derive(Default, Clone, Copy)]
struct MixHasher(u64);
impl Hasher for MixHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = hash_bytes(bytes);
    }
    fn write_u64(&mut self, x: u64) {
        let mut h = x ^ (x >> 31) ^ self.0;
        h = h.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = h ^ (h >> 29);
    }
    fn write_u32(&mut self, x: u32) {
        self.write_u64(x as u64)
    }
    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64)
    }
}
type Map<K, V> = HashMap<K, V, BuildHasherDefault<MixHasher>>;

#[derive(Debug, Default)]
struct Node {
    /// Token hash (or token count, below the root) -> child node.
    children: Map<u64, u32>,
    /// The `<*>` child.
    wild: u32,
    /// Cluster slots, in id order (leaves only).
    clusters: Vec<u32>,
    parent: u32,
    /// Key under the parent (`WILD` for a `<*>` child).
    key: u64,
}

impl Node {
    fn new(parent: u32, key: u64) -> Self {
        Node {
            children: Map::default(),
            wild: NIL,
            clusters: Vec::new(),
            parent,
            key,
        }
    }
    fn n_children(&self) -> usize {
        self.children.len() + (self.wild != NIL) as usize
    }
}

/// Scratch buffers reused between calls.
#[derive(Default)]
struct Scratch {
    line: Tokenized,
    frontier: Vec<u32>,
    next: Vec<u32>,
    diff: Vec<usize>,
    vals: Vec<u64>,
    counts: Vec<u64>,
    group: Vec<u32>,
    /// Generalised token per differing position.
    gens: Vec<Vec<u8>>,
}

/// An online log-template model.
///
/// Differences from Drain3, for accuracy:
/// * tokens are normalized by a built-in classifier (see the `tokenize`
///   module) instead of regex masks: any punctuation-delimited segment with a
///   digit, a month or weekday abbreviation, or a size unit is a parameter,
///   and the punctuation around it stays in the template (`uid=<*>`);
/// * a template position becomes a parameter only on evidence: either one
///   of the two differing tokens has a parameter where they differ and the
///   same literal text before it (`rhost=<*>` / `rhost=example.org`, but
///   not `/users/<*>` / `/health`), or `min_distinct` distinct values were
///   seen there. Until then a similar line starts a sibling cluster;
///   once the evidence is there, the siblings that the generalised template
///   covers are merged into the oldest one (reported in
///   [`Trained::merged`]). This keeps `VM Paused` and `VM Resumed` apart
///   while `user alice`, `user bob`, `user carol` become `user <*>`;
/// * a line that an existing template covers always joins it (the most
///   specific one, then the oldest), wherever it sits among the tree
///   branches the line can reach (its own token or `<*>` at each layer), so
///   [`Drain::match_line`] finds every trained line, and a cluster whose
///   template became `<*>` at a tree layer moves to the `<*>` branch;
/// * templates keep the separators of the cluster's first line (its
///   example): whitespace runs, tabs, control characters and extra
///   delimiters between tokens (`GET /users/<*>` with `/` as a delimiter),
///   and extra delimiters at its ends; leading and trailing whitespace and
///   control characters are trimmed. If the example was cut before its last
///   token, tokens are joined by single spaces.
///
/// For bounded memory and work: evicted clusters are removed from the tree
/// and empty nodes pruned; tree leaves hold at most `max_leaf_clusters`;
/// lines are cut to `max_line_bytes` and `max_tokens`. A small cache of
/// recent hits (token-sequence hash to cluster, invalidated per line length
/// whenever a cluster of that length changes) makes the common case (a
/// line that its template already covers) skip the tree search; it never
/// changes a result.
///
/// Determinism: results depend only on the configuration and the lines
/// trained, in order; [`Drain::records`] and [`Drain::from_records`] carry
/// the whole state.
pub struct Drain {
    cfg: DrainConfig,
    tokenizer: Tokenizer,
    slots: Vec<Option<Cluster>>,
    free_slots: Vec<u32>,
    by_id: Map<u64, u32>,
    nodes: Vec<Node>,
    free_nodes: Vec<u32>,
    /// Most recently used cluster slot.
    lru_head: u32,
    /// Least recently used cluster slot.
    lru_tail: u32,
    live: usize,
    /// Number of training lines so far.
    tick: u64,
    /// Per token count: incremented whenever a cluster of that length is
    /// created, changed or removed.
    len_gen: Vec<u64>,
    /// Hit cache: token-sequence hash -> (slot found by `search`, `len_gen`
    /// of the line's length then). Only speeds up; never changes a result.
    hits: Map<u64, (u32, u64)>,
    /// Clusters whose template has optional runs (kept out of the tree), in
    /// id order; at most `max_leaf_clusters`.
    gapped: Vec<u32>,
    /// Buffers of `train`.
    train_scratch: Option<Box<Scratch>>,
    /// Buffers of `match_line`.
    scratch: RefCell<Scratch>,
}

const ROOT: u32 = 0;

/// Most optional runs in one template.
const MAX_GAPS: usize = 3;

/// Most clusters of other token counts that one line is compared with.
const ALIGN_CANDIDATES: usize = 64;

/// Most of them that one line is fully lined up with (the best by
/// [`align_bound`]).
const ALIGN_TRIES: usize = 8;

/// Most comparisons of differing tokens (`generalize_token`) while lining
/// up one line.
const ALIGN_EVIDENCE: usize = 256;

/// Entries of the hit cache before it is cleared.
const HIT_CACHE_MAX: usize = 16_384;

/// Hash of a tokenized line (its token hashes in order).
#[inline]
fn seq_hash(toks: &[Tok]) -> u64 {
    let mut h = (toks.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for t in toks {
        h = (h ^ t.hash)
            .wrapping_mul(0xff51_afd7_ed55_8ccd)
            .rotate_left(23);
    }
    h
}

impl std::fmt::Debug for Drain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Drain")
            .field("clusters", &self.live)
            .field("tree_nodes", &self.tree_nodes())
            .field("lines", &self.tick)
            .finish()
    }
}

impl Drain {
    /// An empty model.
    pub fn new(cfg: DrainConfig) -> Self {
        let len_gen = vec![0; cfg.max_tokens + 1];
        // (a configuration read by from_json has masks that compile)
        let masker = cfg.masker().unwrap_or(None);
        let n_masks = if masker.is_some() { cfg.masks.len() } else { 0 };
        let tokenizer = Tokenizer::new(
            &cfg.extra_delimiters,
            cfg.max_line_bytes,
            cfg.max_tokens,
            masker,
            n_masks,
        );
        Drain {
            cfg,
            tokenizer,
            slots: Vec::new(),
            free_slots: Vec::new(),
            by_id: Map::default(),
            nodes: vec![Node::new(NIL, 0)],
            free_nodes: Vec::new(),
            lru_head: NIL,
            lru_tail: NIL,
            live: 0,
            tick: 0,
            len_gen,
            hits: Map::default(),
            gapped: Vec::new(),
            train_scratch: Some(Box::default()),
            scratch: RefCell::new(Scratch::default()),
        }
    }

    /// The configuration of the model.
    pub fn config(&self) -> &DrainConfig {
        &self.cfg
    }

    /// Number of clusters.
    pub fn len(&self) -> usize {
        self.live
    }

    /// True when the model has no cluster.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Ordinal of the last training line: the highest cluster id the model
    /// has given. The next cluster gets a higher one (ids are never reused).
    pub fn last_id(&self) -> u64 {
        self.tick
    }

    /// Makes the next training line's ordinal, hence any new cluster id,
    /// higher than `last_id` (a high-water mark kept when the clusters that
    /// held the ids were deleted, say by `drain_reset`). Never lowers it.
    pub fn continue_after(&mut self, last_id: u64) {
        self.tick = self.tick.max(last_id.min(MAX_ID));
    }

    /// Number of prefix-tree nodes (root included), for memory checks.
    pub fn tree_nodes(&self) -> usize {
        self.nodes.len() - self.free_nodes.len()
    }

    /// Trains the model with one line. Returns the cluster the line belongs
    /// to now (see [`Drain::template`] for its template after this line) and
    /// what changed. Never panics, whatever the input.
    pub fn train(&mut self, line: &str) -> Trained {
        // Boxed so that taking it out of `self` moves a pointer only.
        let mut scratch = self.train_scratch.take().unwrap_or_default();
        self.tokenizer.tokenize(line, &mut scratch.line);
        let r = self.train_tokens(line, &mut scratch);
        self.train_scratch = Some(scratch);
        r
    }

    fn train_tokens(&mut self, raw: &str, s: &mut Scratch) -> Trained {
        self.tick += 1;
        let key = seq_hash(&s.line.toks);
        let (fit, sim) = match self.cached(key, &s.line) {
            Some(slot) => (Some(slot), None),
            None => {
                let r = self.search(s, true);
                if let Some(slot) = r.0 {
                    if self.hits.len() >= HIT_CACHE_MAX {
                        self.hits.clear();
                    }
                    let g = self.len_gen[s.line.toks.len()];
                    self.hits.insert(key, (slot, g));
                }
                r
            }
        };
        if let Some(slot) = fit {
            self.touch(slot);
            let c = self.slot_mut(slot);
            c.size += 1;
            return Trained {
                cluster_id: c.id,
                change: Change::None,
                evicted: None,
                merged: Vec::new(),
            };
        }
        if let Some(slot) = sim
            && let Some(r) = self.generalize(slot, s)
        {
            return r;
        }
        if let Some(r) = self.align(s) {
            return r;
        }
        let id = self.tick;
        let slot = self.create(raw, &s.line, id);
        let leaf = self.slot(slot).leaf;
        let evicted = if let Some(e) = self.evict_from_full_leaf(leaf, slot) {
            Some(e)
        } else if self.live > self.cfg.max_clusters {
            // the least recently used cluster that is not seeded
            let mut victim = self.lru_tail;
            while victim != NIL && self.slot(victim).seed {
                victim = self.slot(victim).prev;
            }
            debug_assert!(victim != slot && victim != NIL);
            (victim != NIL).then(|| self.remove(victim))
        } else {
            None
        };
        Trained {
            cluster_id: id,
            change: Change::Created,
            evicted,
            merged: Vec::new(),
        }
    }

    /// The line is similar to cluster `slot` but not covered by it. If every
    /// differing position has `min_distinct` distinct values among the line
    /// and the clusters of the searched leaves that agree with it elsewhere,
    /// generalises those positions and merges every cluster of those leaves
    /// that the new template covers into the oldest of them.
    fn generalize(&mut self, slot: u32, s: &mut Scratch) -> Option<Trained> {
        let line = &s.line;
        let k = self.cfg.min_distinct;
        s.diff.clear();
        s.gens.clear();
        {
            let c = self.slot(slot);
            for p in 0..line.toks.len() {
                if !c.covers_pos(p, line) {
                    s.diff.push(p);
                }
            }
        }
        // Evidence at each differing position: the difference itself, or
        // min_distinct distinct values.
        for &p in &s.diff {
            let (text, immediate) =
                generalize_token(self.slot(slot).texts[p].as_bytes(), line.bytes(p));
            s.gens.push(text);
            if immediate {
                continue;
            }
            // Field names (`disk:`, `user=`) are never parameters; words in
            // capitals (`Paused`, `GET`, `RUNNING`) are usually states and
            // event names: they need more distinct values.
            let (lw, tw) = (
                word_kind(line.bytes(p)),
                word_kind(self.slot(slot).texts[p].as_bytes()),
            );
            if lw == WordKind::Key || tw == WordKind::Key {
                return None;
            }
            let k = if lw == WordKind::Capital && tw == WordKind::Capital {
                k * CAPITAL_FACTOR
            } else {
                k
            };
            // Distinct values with their line counts, the line's first.
            s.vals.clear();
            s.counts.clear();
            s.vals.push(line.toks[p].hash);
            s.counts.push(1);
            let mut proven = false;
            'leaves: for &leaf in &s.frontier {
                for &o in &self.nodes[leaf as usize].clusters {
                    let oc = self.slot(o);
                    if oc.seed {
                        continue;
                    }
                    // agrees with the line outside the differing positions
                    // (or differs where a difference is evidence itself)?
                    let agrees = (0..line.toks.len()).all(|q| {
                        s.diff.contains(&q)
                            || oc.covers_pos(q, line)
                            || (oc.toks[q] != WILD
                                && (oc.shapes[q] == line.toks[q].shape
                                    || generalize_token(oc.texts[q].as_bytes(), line.bytes(q)).1))
                    });
                    if !agrees {
                        continue;
                    }
                    let v = oc.toks[p];
                    if v == WILD {
                        proven = true;
                        break 'leaves;
                    }
                    match s.vals.iter().position(|&x| x == v) {
                        Some(i) => s.counts[i] += oc.size,
                        None => {
                            s.vals.push(v);
                            s.counts.push(oc.size);
                        }
                    }
                }
            }
            // A parameter brings new values: at least k distinct values, of
            // which k - 1 were seen on one line only. A few values that
            // repeat (`user=root`, `user=guest`) are kept apart.
            if !proven {
                let once = s.counts.iter().filter(|&&c| c <= RARE_LINES).count();
                proven = s.vals.len() >= k && once + 1 >= k;
            }
            if !proven {
                return None;
            }
        }
        self.bump(s.line.toks.len());
        // New template: the cluster's, with the differing positions wild.
        let mut toks = self.slot(slot).toks.clone();
        let mut texts = self.slot(slot).texts.clone();
        for (&p, g) in s.diff.iter().zip(&s.gens) {
            if g.as_slice() == [PARAM_BYTE] {
                toks[p] = WILD;
                texts[p] = Box::from("");
            } else {
                // (generalised from two valid UTF-8 texts at char boundaries)
                let t = String::from_utf8_lossy(g).into_owned();
                toks[p] = hash_bytes(t.as_bytes());
                texts[p] = t.into_boxed_str();
            }
        }
        s.group.clear();
        for &leaf in &s.frontier {
            for &o in &self.nodes[leaf as usize].clusters {
                let oc = self.slot(o);
                let covered = !oc.seed
                    && (0..toks.len()).all(|p| {
                        let t = toks[p];
                        t == WILD
                            || t == oc.toks[p]
                            || (oc.toks[p] != WILD
                                && texts[p].as_bytes().contains(&PARAM_BYTE)
                                && glob_match(texts[p].as_bytes(), oc.texts[p].as_bytes()))
                    });
                if covered {
                    s.group.push(o);
                }
            }
        }
        let survivor = *s
            .group
            .iter()
            .min_by_key(|&&o| self.slot(o).id)
            .expect("the cluster itself is covered");
        let mut merged = Vec::new();
        let mut size = 1;
        for &o in &s.group {
            size += self.slot(o).size;
            if o != survivor {
                merged.push(self.remove(o));
            }
        }
        merged.sort_unstable();
        let template = render(
            &texts,
            &toks,
            &self.slot(survivor).example,
            &self.tokenizer,
            &self.cfg,
        );
        let c = self.slot_mut(survivor);
        c.template = template;
        c.toks = toks;
        c.texts = texts;
        c.refresh();
        c.size = size;
        let id = c.id;
        self.touch(survivor);
        let evicted = self.rehome(survivor);
        Some(Trained {
            cluster_id: id,
            change: Change::TemplateChanged,
            evicted,
            merged,
        })
    }

    /// No template covers the line and none of its length may take it: looks
    /// for a cluster of up to `MAX_GAP_TOKENS` tokens more or fewer (or
    /// with optional runs) whose tokens line up with the line's in order
    /// (equal, covered, or different with evidence, see `generalize_token`)
    /// apart from runs of at most `MAX_GAP_TOKENS` tokens on either side
    /// that [`run_ok`] accepts and whose lengths differ. The best one (most
    /// tokens lined up, then the oldest) becomes a template with each such
    /// run as an optional run; the clusters of the candidates that it
    /// covers are merged into the oldest of them.
    fn align(&mut self, s: &mut Scratch) -> Option<Trained> {
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

    /// Moves a cluster to the `<*>` branch of every tree layer where its
    /// template became a wildcard. Returns a cluster evicted from a full
    /// destination leaf.
    fn rehome(&mut self, slot: u32) -> Option<u64> {
        let c = self.slot(slot);
        let moved = c
            .path
            .iter()
            .enumerate()
            .any(|(i, k)| *k != WILD && (c.toks[i] == WILD || c.pat[i]));
        if !moved {
            return None;
        }
        let n = c.toks.len();
        let old_leaf = c.leaf;
        let mut path = c.path.clone();
        for (i, k) in path.iter_mut().enumerate() {
            if c.toks[i] == WILD || c.pat[i] {
                *k = WILD;
            }
        }
        self.nodes[old_leaf as usize]
            .clusters
            .retain(|&x| x != slot);
        self.prune(old_leaf);
        let mut node = self.child_or_new(ROOT, n as u64);
        for &k in &path {
            node = self.child_or_new(node, k);
        }
        self.nodes[node as usize].clusters.push(slot);
        let c = self.slot_mut(slot);
        for (i, k) in path.iter().enumerate() {
            if *k == WILD {
                c.path_texts[i] = Box::from("");
            }
        }
        c.path = path;
        c.leaf = node;
        self.evict_from_full_leaf(node, slot)
    }

    /// If `leaf` holds more than `max_leaf_clusters`, evicts its least
    /// recently used cluster other than `keep`.
    fn evict_from_full_leaf(&mut self, leaf: u32, keep: u32) -> Option<u64> {
        let nd = &self.nodes[leaf as usize];
        if nd.clusters.len() <= self.cfg.max_leaf_clusters {
            return None;
        }
        let victim = nd
            .clusters
            .iter()
            .copied()
            .filter(|&o| o != keep && !self.slot(o).seed)
            .min_by_key(|&o| self.slot(o).last_used)?;
        Some(self.remove(victim))
    }

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
            let spans_in = super::tokenize::glob_spans(pat, norm)?;
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

    /// Adds a template given by the user (`<*>`, or the configured
    /// `param_str`, marks a parameter; `<NAME>` a mask's parameter): lines
    /// that it covers join it before any learned template, and it never
    /// changes, merges nor is evicted. Seeding a template again returns
    /// the same cluster (`change` None). Errors for an empty template, one
    /// longer than `max_line_bytes`, or more than [`MAX_SEEDS`] seeds (or
    /// `max_clusters - 1`).
    pub fn seed(&mut self, template: &str) -> Result<Trained, String> {
        if template.len() > self.cfg.max_line_bytes {
            return Err(format!(
                "the template is {} bytes, more than max_line_bytes {}",
                template.len(),
                self.cfg.max_line_bytes
            ));
        }
        // Parameters as private-use characters (letters to the tokenizer),
        // then as parameter bytes.
        const P: char = '\u{E000}';
        let mut text = String::with_capacity(template.len());
        let mut rest = template;
        'outer: while let Some(ch) = rest.chars().next() {
            if rest.starts_with(self.cfg.param_str.as_str()) {
                text.push(P);
                rest = &rest[self.cfg.param_str.len()..];
                continue;
            }
            if ch == '<' {
                for (k, m) in self.cfg.masks.iter().enumerate() {
                    let tag = format!("<{}>", m.name);
                    if rest.starts_with(&tag) {
                        text.push(char::from_u32(0xE001 + k as u32).unwrap_or(P));
                        rest = &rest[tag.len()..];
                        continue 'outer;
                    }
                }
            }
            text.push(ch);
            rest = &rest[ch.len_utf8()..];
        }
        let mut t = Tokenized::default();
        self.tokenizer.tokenize(&text, &mut t);
        if t.toks.is_empty() {
            return Err("the template has no token".into());
        }
        let mut line = Tokenized::default();
        let mut buf = Vec::new();
        for i in 0..t.toks.len() {
            let norm = t.text(i);
            let start = line.norm.len();
            let mut params = 0;
            for ch in norm.chars() {
                match ch as u32 {
                    0xE000 => {
                        line.norm.push(PARAM_BYTE);
                        params += 1;
                    }
                    c @ 0xE001..=0xE010 if ((c - 0xE001) as usize) < self.tokenizer.n_masks() => {
                        line.norm.push(MASK_BASE + (c - 0xE001) as u8);
                        params += 1;
                    }
                    _ => {
                        let mut b = [0; 4];
                        line.norm
                            .extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                    }
                }
            }
            let tok_text = &line.norm[start..];
            let digits = tok_text.iter().any(u8::is_ascii_digit);
            let hash = hash_bytes(tok_text);
            let kind = if params == 0 && !digits {
                TokKind::Const
            } else if tok_text.len() == 1 && params == 1 {
                TokKind::Param
            } else {
                TokKind::Mixed
            };
            let shape = if digits {
                super::tokenize::shape_of(tok_text, &mut buf);
                hash_bytes(&buf)
            } else {
                hash
            };
            line.push_tok(hash, shape, start, kind);
        }
        // Already seeded?
        let same = |c: &Cluster| {
            c.seed
                && c.toks.len() == line.toks.len()
                && (0..line.toks.len()).all(|p| {
                    let want = if line.bytes(p) == [PARAM_BYTE] {
                        WILD
                    } else {
                        line.toks[p].hash
                    };
                    c.toks[p] == want
                })
        };
        if let Some(c) = self.clusters().find(|c| same(c)) {
            return Ok(Trained {
                cluster_id: c.id,
                change: Change::None,
                evicted: None,
                merged: Vec::new(),
            });
        }
        let seeds = self.clusters().filter(|c| c.seed).count();
        if seeds >= MAX_SEEDS.min(self.cfg.max_clusters.saturating_sub(1)) {
            return Err(format!(
                "the partition holds {seeds} seeded templates, the most it can ({} with max_clusters {})",
                MAX_SEEDS.min(self.cfg.max_clusters.saturating_sub(1)),
                self.cfg.max_clusters
            ));
        }
        if self.tick >= MAX_ID {
            return Err("the partition has used every cluster id".into());
        }
        self.tick += 1;
        let id = self.tick;
        let slot = self.create(template, &line, id);
        {
            let c = self.slot_mut(slot);
            for p in 0..c.toks.len() {
                if c.texts[p].as_bytes() == [PARAM_BYTE] {
                    c.toks[p] = WILD;
                    c.texts[p] = Box::from("");
                }
            }
            c.refresh();
            c.seed = true;
            c.size = 0;
        }
        let template_text = render(
            &self.slot(slot).texts,
            &self.slot(slot).toks,
            &self.slot(slot).example,
            &self.tokenizer,
            &self.cfg,
        );
        self.slot_mut(slot).template = template_text;
        let leaf = self.slot(slot).leaf;
        let evicted = if let Some(e) = self.evict_from_full_leaf(leaf, slot) {
            Some(e)
        } else if self.live > self.cfg.max_clusters {
            let mut victim = self.lru_tail;
            while victim != NIL && self.slot(victim).seed {
                victim = self.slot(victim).prev;
            }
            (victim != NIL).then(|| self.remove(victim))
        } else {
            None
        };
        Ok(Trained {
            cluster_id: id,
            change: Change::Created,
            evicted,
            merged: Vec::new(),
        })
    }

    /// Whether cluster `id` is a seeded template.
    pub fn is_seed(&self, id: u64) -> bool {
        self.cluster(id).is_some_and(|c| c.seed)
    }

    /// Rendered template of cluster `id`.
    pub fn template(&self, id: u64) -> Option<&str> {
        self.cluster(id).map(|c| c.template.as_str())
    }

    /// Cluster `id`, if it exists.
    pub fn cluster(&self, id: u64) -> Option<&Cluster> {
        let slot = *self.by_id.get(&id)?;
        self.slots[slot as usize].as_ref()
    }

    /// All clusters, in no particular order.
    pub fn clusters(&self) -> impl Iterator<Item = &Cluster> {
        self.slots.iter().filter_map(|c| c.as_ref())
    }

    /// Persistent form of cluster `id`.
    pub fn record(&self, id: u64) -> Option<ClusterRecord> {
        self.cluster(id).map(to_record)
    }

    /// Persistent form of all clusters, by id.
    pub fn records(&self) -> Vec<ClusterRecord> {
        let mut v: Vec<ClusterRecord> = self.clusters().map(to_record).collect();
        v.sort_by_key(|r| r.id);
        v
    }

    /// Rebuilds a model from `records` (as produced by [`Drain::records`]
    /// with the same configuration). The result answers and trains exactly
    /// as the model the records came from.
    ///
    /// Records from elsewhere (a database file is anyone's to edit) are
    /// checked against everything a model writes: ids, clocks and sizes in
    /// range and consistent, tokens the tokenizer could have produced, a
    /// tree path that agrees with the tokens, no more clusters than the
    /// configuration allows in the model and in one tree leaf. Anything else
    /// is an error naming the cluster; the work and memory are proportional
    /// to the records' size.
    pub fn from_records(cfg: DrainConfig, mut records: Vec<ClusterRecord>) -> Result<Self, String> {
        if records.len() > cfg.max_clusters {
            return Err(format!(
                "drain records: {} clusters exceed max_clusters {}",
                records.len(),
                cfg.max_clusters
            ));
        }
        let mut d = Drain::new(cfg);
        records.sort_by_key(|r| r.id);
        // The longest token list a line of max_line_bytes encodes to: six
        // bytes per byte (\u0001), five per token (`null,`), the brackets.
        let max_json = 6 * d.cfg.max_line_bytes + 5 * d.cfg.max_tokens + 2;
        let mut line = Tokenized::default();
        let mut n_seeds = 0;
        for r in &records {
            if d.by_id.contains_key(&r.id) {
                return Err(format!("drain records: duplicate cluster id {}", r.id));
            }
            if r.id == 0 || r.id > MAX_ID {
                return Err(format!(
                    "drain records: cluster id {} is out of range 1..={MAX_ID}",
                    r.id as i64
                ));
            }
            if r.last_used < r.id || r.last_used > MAX_ID {
                return Err(format!(
                    "drain records: cluster {}: last_used {} is out of range {}..={MAX_ID}",
                    r.id, r.last_used as i64, r.id
                ));
            }
            // Every line of a cluster came at its own ordinal, the last at
            // last_used at the latest.
            // (a seeded template may have no line yet)
            if (r.size == 0 && !r.tokens.starts_with('{')) || r.size > r.last_used {
                return Err(format!(
                    "drain records: cluster {}: size {} is out of range 1..={}",
                    r.id, r.size as i64, r.last_used
                ));
            }
            for (what, text) in [("tokens", &r.tokens), ("path", &r.path)] {
                if text.len() > max_json {
                    return Err(format!(
                        "drain records: cluster {}: {what} is {} bytes, more than a line of max_line_bytes gives ({max_json})",
                        r.id,
                        text.len()
                    ));
                }
            }
            let (toks, seeded) = decode_tokens_seed(&r.tokens, &d.tokenizer, true)
                .map_err(|e| format!("drain records: cluster {}: tokens: {e}", r.id))?;
            if seeded {
                n_seeds += 1;
                if n_seeds > MAX_SEEDS {
                    return Err(format!(
                        "drain records: more than {MAX_SEEDS} seeded templates"
                    ));
                }
            }
            let path = decode_tokens(&r.path, &d.tokenizer)
                .map_err(|e| format!("drain records: cluster {}: path: {e}", r.id))?;
            if toks.len() > d.cfg.max_tokens {
                return Err(format!(
                    "drain records: cluster {}: {} tokens, more than max_tokens {}",
                    r.id,
                    toks.len(),
                    d.cfg.max_tokens
                ));
            }
            // Optional runs: at most MAX_GAPS, never two side by side, at
            // least two other positions; such a template has no tree path.
            let gaps: Vec<usize> = toks
                .iter()
                .enumerate()
                .filter(|(_, t)| matches!(t, StoredTok::Gap(_)))
                .map(|(i, _)| i)
                .collect();
            if !gaps.is_empty()
                && (gaps.len() > MAX_GAPS
                    || gaps.windows(2).any(|w| w[1] == w[0] + 1)
                    || toks.len() < gaps.len() + 2)
            {
                return Err(format!(
                    "drain records: cluster {}: tokens: optional runs must be at most {MAX_GAPS}, apart, among at least two other tokens",
                    r.id
                ));
            }
            let levels = if gaps.is_empty() {
                d.levels(toks.len())
            } else {
                0
            };
            if path.len() != levels {
                return Err(format!(
                    "drain records: cluster {}: path has {} entries, the configuration's tree gives {levels}",
                    r.id,
                    path.len()
                ));
            }
            // A tree key is the token at its position, never one with a
            // parameter, and `<*>` where the template is `<*>`.
            for (i, (p, t)) in path.iter().zip(&toks).enumerate() {
                let ok = match (p, t) {
                    (None, _) => true,
                    (Some(p), StoredTok::Text(t)) => p == t && !p.as_bytes().contains(&PARAM_BYTE),
                    (Some(_), _) => false,
                };
                if !ok {
                    return Err(format!(
                        "drain records: cluster {}: path entry {i} does not agree with the tokens",
                        r.id
                    ));
                }
            }
            // Build the cluster from a pseudo line with the template tokens.
            line.norm.clear();
            line.toks.clear();
            let mut c = d.new_cluster(r.id, &r.example, &line);
            for t in &toks {
                match t {
                    StoredTok::Text(text) => {
                        c.toks.push(hash_bytes(text.as_bytes()));
                        c.texts.push(Box::from(text.as_str()));
                    }
                    StoredTok::Wild(()) => {
                        c.toks.push(WILD);
                        c.texts.push(Box::from(""));
                    }
                    StoredTok::Gap(_) => {
                        c.toks.push(GAP);
                        c.texts.push(Box::from(""));
                    }
                }
            }
            c.refresh();
            c.size = r.size;
            c.last_used = r.last_used;
            c.seed = seeded;
            // (`new_cluster` cut the example to `max_example_bytes`)
            c.template = render(&c.texts, &c.toks, &c.example, &d.tokenizer, &d.cfg);
            if c.gaps > 0 {
                if d.gapped.len() >= d.cfg.max_leaf_clusters {
                    return Err(format!(
                        "drain records: cluster {}: more than max_leaf_clusters {} templates with optional runs",
                        r.id, d.cfg.max_leaf_clusters
                    ));
                }
                c.leaf = NIL;
                let slot = d.alloc_slot(c);
                d.gapped.push(slot);
                d.by_id.insert(r.id, slot);
                d.live += 1;
                continue;
            }
            let mut node = d.child_or_new(ROOT, toks.len() as u64);
            for p in &path {
                let key = match p {
                    Some(text) => hash_bytes(text.as_bytes()),
                    None => WILD,
                };
                node = d.child_or_new(node, key);
                c.path.push(key);
                c.path_texts.push(Box::from(p.as_deref().unwrap_or("")));
            }
            if d.nodes[node as usize].clusters.len() >= d.cfg.max_leaf_clusters {
                return Err(format!(
                    "drain records: cluster {}: its tree leaf holds more than max_leaf_clusters {}",
                    r.id, d.cfg.max_leaf_clusters
                ));
            }
            c.leaf = node;
            let slot = d.alloc_slot(c);
            d.nodes[node as usize].clusters.push(slot);
            d.by_id.insert(r.id, slot);
            d.live += 1;
        }
        // LRU list, most recent first.
        let mut order: Vec<(u64, u32)> = d
            .by_id
            .values()
            .map(|&s| (d.slot(s).last_used, s))
            .collect();
        order.sort_unstable();
        for w in order.windows(2) {
            if w[0].0 == w[1].0 {
                return Err(format!(
                    "drain records: two clusters with last_used {}",
                    w[0].0
                ));
            }
        }
        for &(_, s) in &order {
            d.push_front(s);
        }
        d.tick = order.last().map(|x| x.0).unwrap_or(0);
        Ok(d)
    }

    /// Approximate heap and inline bytes used by the model.
    pub fn approx_memory_bytes(&self) -> usize {
        use std::mem::size_of;
        let mut n = size_of::<Self>();
        n += self.slots.capacity() * size_of::<Option<Cluster>>();
        n += self.free_slots.capacity() * 4 + self.free_nodes.capacity() * 4;
        n += self.by_id.capacity() * (size_of::<(u64, u32)>() + 1);
        n += self.hits.capacity() * (size_of::<(u64, (u32, u64))>() + 1);
        for c in self.clusters() {
            n += c.toks.capacity() * 8 + c.path.capacity() * 8;
            n += c.texts.capacity() * size_of::<Box<str>>();
            n += c.texts.iter().map(|t| t.len()).sum::<usize>();
            n += c.path_texts.capacity() * size_of::<Box<str>>();
            n += c.path_texts.iter().map(|t| t.len()).sum::<usize>();
            n += c.template.capacity() + c.example.capacity();
        }
        n += self.nodes.capacity() * size_of::<Node>();
        for nd in &self.nodes {
            n += nd.children.capacity() * (size_of::<(u64, u32)>() + 1);
            n += nd.clusters.capacity() * 4;
        }
        let s = self.scratch.borrow();
        for s in [Some(&*s), self.train_scratch.as_deref()]
            .into_iter()
            .flatten()
        {
            n += size_of::<Scratch>();
            n += s.line.norm.capacity() + s.line.toks.capacity() * size_of::<Tok>();
            n += (s.frontier.capacity() + s.next.capacity() + s.group.capacity()) * 4;
            n += s.diff.capacity() * 8 + s.vals.capacity() * 8;
        }
        n
    }

    /// Number of tree layers keyed by tokens for a line of `n` tokens.
    fn levels(&self, n: usize) -> usize {
        (self.cfg.depth - 3).min(n.saturating_sub(1))
    }

    /// The hit cache's answer for a line: the slot that `search` found for
    /// the same token sequence, if no cluster of that length was created,
    /// changed or removed since (so `search` would find it again).
    #[inline]
    fn cached(&self, key: u64, line: &Tokenized) -> Option<u32> {
        let &(slot, generation) = self.hits.get(&key)?;
        // The coverage check guards against a collision of `key`.
        (generation == self.len_gen[line.toks.len()] && self.slot(slot).covers(line))
            .then_some(slot)
    }

    /// Invalidates the hit cache for lines of `n` tokens.
    fn bump(&mut self, n: usize) {
        self.len_gen[n] += 1;
    }

    /// Invalidates the hit cache for lines of `lo..=hi` tokens.
    fn bump_range(&mut self, lo: u32, hi: u32) {
        let hi = (hi as usize).min(self.len_gen.len() - 1);
        for n in lo as usize..=hi {
            self.len_gen[n] += 1;
        }
    }

    // --- search -----------------------------------------------------------

    /// Finds, among the leaves the line can reach, the most specific cluster
    /// whose template covers the line (`fit`) and, if `want_sim` and no
    /// template covers it, the most similar cluster above `sim_th`.
    fn search(&self, s: &mut Scratch, want_sim: bool) -> (Option<u32>, Option<u32>) {
        let line = &s.line;
        let n = line.toks.len();
        self.leaves(line, n, &mut s.frontier, &mut s.next);
        // Covering template: a seeded one first, then the most specific,
        // then the oldest: (slot, seeded, specificity, id).
        let mut fit: Option<(u32, bool, u32, u64)> = None;
        let tree = s
            .frontier
            .iter()
            .flat_map(|&leaf| self.nodes[leaf as usize].clusters.iter());
        for &slot in tree.chain(self.gapped.iter()) {
            let c = self.slot(slot);
            if fit.is_some_and(|f| {
                (!c.seed && f.1)
                    || (c.seed == f.1 && (c.spec < f.2 || (c.spec == f.2 && c.id > f.3)))
            }) {
                continue;
            }
            if c.covers(line) {
                fit = Some((slot, c.seed, c.spec, c.id));
            }
        }
        if let Some(f) = fit {
            return (Some(f.0), None);
        }
        if !want_sim || n == 0 || s.frontier.is_empty() {
            return (None, None);
        }
        // Similarity counts the positions where the line has a word (letters
        // outside parameters); a line without any counts every position.
        let worded: u32 = s
            .line
            .toks
            .iter()
            .enumerate()
            .filter(|(p, _)| has_word(s.line.bytes(*p)))
            .count() as u32;
        let line = &s.line;
        // Most similar: (slot, equal positions, wildcards, id).
        let mut sim: Option<(u32, u32, u32, u64)> = None;
        for &leaf in &s.frontier {
            for &slot in &self.nodes[leaf as usize].clusters {
                let c = self.slot(slot);
                if c.seed {
                    continue;
                }
                let eq = (0..n)
                    .filter(|&p| worded == 0 || has_word(line.bytes(p)))
                    .map(|p| {
                        let a = c.toks[p];
                        (a != WILD
                            && (a == line.toks[p].hash
                                || c.shapes[p] == line.toks[p].shape
                                || c.covers_pos(p, line))) as u32
                    })
                    .sum::<u32>();
                let better = match sim {
                    None => true,
                    Some((_, e, w, id)) => {
                        eq > e || (eq == e && (c.n_wild > w || (c.n_wild == w && c.id < id)))
                    }
                };
                if better {
                    sim = Some((slot, eq, c.n_wild, c.id));
                }
            }
        }
        let base = if worded == 0 { n as u32 } else { worded };
        let sim = sim.and_then(|(slot, eq, _, _)| {
            (eq as f64 >= self.cfg.sim_th * base as f64).then_some(slot)
        });
        (None, sim)
    }

    /// The tree leaves a line can reach among those of token count `n`
    /// (its own token or `<*>` at each layer; the line may have another
    /// token count, its missing tokens then only reach `<*>`), into
    /// `frontier`.
    fn leaves(&self, line: &Tokenized, n: usize, frontier: &mut Vec<u32>, next: &mut Vec<u32>) {
        frontier.clear();
        let Some(&len_node) = self.nodes[ROOT as usize].children.get(&(n as u64)) else {
            return;
        };
        frontier.push(len_node);
        for i in 0..self.levels(n) {
            let t = line.toks.get(i);
            next.clear();
            for &nd in frontier.iter() {
                let node = &self.nodes[nd as usize];
                if let Some(t) = t
                    && t.kind != TokKind::Param
                    && let Some(&c) = node.children.get(&t.hash)
                {
                    next.push(c);
                }
                if node.wild != NIL {
                    next.push(node.wild);
                }
            }
            std::mem::swap(frontier, next);
            if frontier.is_empty() {
                return;
            }
        }
    }

    // --- clusters and tree --------------------------------------------------

    fn slot(&self, slot: u32) -> &Cluster {
        self.slots[slot as usize].as_ref().expect("live slot")
    }

    fn slot_mut(&mut self, slot: u32) -> &mut Cluster {
        self.slots[slot as usize].as_mut().expect("live slot")
    }

    fn new_cluster(&self, id: u64, raw: &str, line: &Tokenized) -> Cluster {
        let n = line.toks.len();
        let mut c = Cluster {
            id,
            toks: Vec::with_capacity(n),
            texts: Vec::with_capacity(n),
            template: String::new(),
            path: Vec::new(),
            path_texts: Vec::new(),
            leaf: NIL,
            n_wild: 0,
            pat: Vec::new(),
            shapes: Vec::new(),
            spec: 0,
            gaps: 0,
            min_len: 0,
            max_len: 0,
            seed: false,
            size: 1,
            last_used: id,
            example: cut(raw, self.cfg.max_example_bytes).to_string(),
            prev: NIL,
            next: NIL,
        };
        for (i, t) in line.toks.iter().enumerate() {
            c.toks.push(t.hash);
            c.texts.push(Box::from(line.text(i)));
        }
        c.refresh();
        c
    }

    /// Creates a cluster for `line`, places it in the tree (Drain3 rules)
    /// and makes it the most recently used. Returns its slot.
    fn create(&mut self, raw: &str, line: &Tokenized, id: u64) -> u32 {
        self.bump(line.toks.len());
        let mut c = self.new_cluster(id, raw, line);
        c.template = render(&c.texts, &c.toks, &c.example, &self.tokenizer, &self.cfg);
        let n = line.toks.len();
        let mut node = self.child_or_new(ROOT, n as u64);
        let levels = self.levels(n);
        for (i, t) in line.toks[..levels].iter().enumerate() {
            let nd = &self.nodes[node as usize];
            let key = if t.kind != TokKind::Const {
                WILD
            } else if nd.children.contains_key(&t.hash) {
                t.hash
            } else if nd.wild != NIL {
                if nd.n_children() < self.cfg.max_children {
                    t.hash
                } else {
                    WILD
                }
            } else if nd.n_children() + 1 < self.cfg.max_children {
                t.hash
            } else {
                WILD
            };
            node = self.child_or_new(node, key);
            c.path.push(key);
            c.path_texts
                .push(Box::from(if key == WILD { "" } else { line.text(i) }));
        }
        c.leaf = node;
        let slot = self.alloc_slot(c);
        self.nodes[node as usize].clusters.push(slot);
        self.by_id.insert(id, slot);
        self.live += 1;
        self.push_front(slot);
        slot
    }

    /// Removes the cluster in `slot` and prunes empty tree nodes. Returns
    /// its id.
    fn remove(&mut self, slot: u32) -> u64 {
        self.unlink(slot);
        let c = self.slots[slot as usize].take().expect("live slot");
        self.free_slots.push(slot);
        self.by_id.remove(&c.id);
        self.live -= 1;
        if c.gaps > 0 {
            self.bump_range(c.min_len, c.max_len);
            self.gapped.retain(|&s| s != slot);
        } else {
            self.bump(c.toks.len());
            self.nodes[c.leaf as usize].clusters.retain(|&s| s != slot);
            self.prune(c.leaf);
        }
        c.id
    }

    /// Removes `node` and its ancestors while they hold nothing.
    fn prune(&mut self, mut node: u32) {
        while node != ROOT {
            let nd = &self.nodes[node as usize];
            if !nd.clusters.is_empty() || nd.n_children() > 0 {
                break;
            }
            let (parent, key) = (nd.parent, nd.key);
            self.nodes[node as usize] = Node::new(NIL, 0);
            self.free_nodes.push(node);
            let p = &mut self.nodes[parent as usize];
            if key == WILD && p.wild == node {
                p.wild = NIL;
            } else {
                p.children.remove(&key);
            }
            node = parent;
        }
    }

    fn child_or_new(&mut self, node: u32, key: u64) -> u32 {
        // Below the root, keys are token hashes or WILD; at the root, counts.
        let existing = if key == WILD && node != ROOT {
            self.nodes[node as usize].wild
        } else {
            self.nodes[node as usize]
                .children
                .get(&key)
                .copied()
                .unwrap_or(NIL)
        };
        if existing != NIL {
            return existing;
        }
        let fresh = Node::new(node, key);
        let idx = match self.free_nodes.pop() {
            Some(i) => {
                self.nodes[i as usize] = fresh;
                i
            }
            None => {
                self.nodes.push(fresh);
                (self.nodes.len() - 1) as u32
            }
        };
        if key == WILD && node != ROOT {
            self.nodes[node as usize].wild = idx;
        } else {
            self.nodes[node as usize].children.insert(key, idx);
        }
        idx
    }

    fn alloc_slot(&mut self, c: Cluster) -> u32 {
        match self.free_slots.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(c);
                s
            }
            None => {
                self.slots.push(Some(c));
                (self.slots.len() - 1) as u32
            }
        }
    }

    // --- LRU list -------------------------------------------------------------

    fn touch(&mut self, slot: u32) {
        let tick = self.tick;
        self.slot_mut(slot).last_used = tick;
        if self.lru_head != slot {
            self.unlink(slot);
            self.push_front(slot);
        }
    }

    fn unlink(&mut self, slot: u32) {
        let (p, n) = {
            let c = self.slot(slot);
            (c.prev, c.next)
        };
        if p != NIL {
            self.slot_mut(p).next = n;
        } else {
            self.lru_head = n;
        }
        if n != NIL {
            self.slot_mut(n).prev = p;
        } else {
            self.lru_tail = p;
        }
        let c = self.slot_mut(slot);
        c.prev = NIL;
        c.next = NIL;
    }

    fn push_front(&mut self, slot: u32) {
        let head = self.lru_head;
        {
            let c = self.slot_mut(slot);
            c.prev = NIL;
            c.next = head;
        }
        if head != NIL {
            self.slot_mut(head).prev = slot;
        } else {
            self.lru_tail = slot;
        }
        self.lru_head = slot;
    }
}

/// True if template `t` (with optional runs) covers every line that
/// template `o` covers, from positions `p` of `t` and `q` of `o` on: each
/// fixed position of `o` is covered by one of `t` or is in a run of `t`
/// that [`run_ok`] accepts, and each optional run of `o` is a whole run of
/// `t`.
fn covers_template(t: &Cluster, o: &Cluster, p: usize, q: usize) -> bool {
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
fn align_bound(c: &Cluster, hashes: &[u64]) -> Option<usize> {
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

fn align_one(
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

/// Distinct values a position of capitalised words needs, as a multiple of
/// `min_distinct`.
const CAPITAL_FACTOR: usize = 3;

/// A value seen on at most this many lines counts as new (see `generalize`).
const RARE_LINES: u64 = 1;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum WordKind {
    /// A field name: letters, then `:` or `=` at the end (`disk:`, `user=`).
    Key,
    /// A word of letters (and `_`) starting with a capital (`Paused`,
    /// `GET`), with punctuation around it (`"GET`, `SPP.`).
    Capital,
    Other,
}

fn word_kind(t: &[u8]) -> WordKind {
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
fn has_word(t: &[u8]) -> bool {
    t.iter().any(|c| c.is_ascii_alphabetic() || *c >= 0x80)
}

/// True if a normalized token holds a number: a digit or a parameter.
#[inline]
fn has_number(t: &[u8]) -> bool {
    t.iter().any(|&c| c.is_ascii_digit() || is_param_byte(c))
}

/// Whether a run of tokens (normalized texts) may be an optional part of a
/// line: it holds no word, or it holds numbers as tokens of their own and
/// no more words than them (a value with its unit or label: `(10.2 KB)`,
/// `<1 sec`, `(retry 2)`), so that words (`invalid user`, `[preauth]`) and
/// names with digits (`field...0`, `NodeCard(R10-M1)`) never are.
fn run_ok<'a>(run: impl Iterator<Item = &'a [u8]>) -> bool {
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
fn cut(s: &str, max: usize) -> &str {
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
fn render(
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
fn is_blank(c: char) -> bool {
    c <= ' ' || c == '\x7f'
}

/// Tokens as stored: the text, `null` for a wildcard, `0` for an optional
/// run.
fn encode_tokens<'a>(texts: impl Iterator<Item = (&'a str, u64)>) -> String {
    let v: Vec<serde_json::Value> = texts
        .map(|(t, h)| match h {
            WILD => serde_json::Value::Null,
            GAP => serde_json::Value::from(0),
            _ => serde_json::Value::String(t.to_string()),
        })
        .collect();
    serde_json::Value::Array(v).to_string()
}

/// A stored token: its text, `null` (a wildcard) or `0` (an optional run).
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(untagged)]
enum StoredTok {
    Text(String),
    Wild(()),
    Gap(u8),
}

/// Reads a `tokens` or `path` record: a JSON array of token texts (or
/// `null`), each one the tokenizer could produce (non-empty, no separator).
/// `None` stands for a wildcard. A path has no optional run.
fn decode_tokens(s: &str, tokenizer: &Tokenizer) -> Result<Vec<Option<String>>, String> {
    decode_tokens_seed(s, tokenizer, false)?
        .0
        .into_iter()
        .map(|t| match t {
            StoredTok::Text(t) => Ok(Some(t)),
            StoredTok::Wild(()) => Ok(None),
            StoredTok::Gap(_) => Err("an optional run is not a tree key".to_string()),
        })
        .collect()
}

/// Like [`decode_tokens`], with optional runs (`0`); with `seed_ok`, also
/// `{"seed": [...]}` (a seeded template). Returns the tokens and whether
/// they were seeded.
fn decode_tokens_seed(
    s: &str,
    tokenizer: &Tokenizer,
    seed_ok: bool,
) -> Result<(Vec<StoredTok>, bool), String> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Toks {
        Plain(Vec<StoredTok>),
        Seed { seed: Vec<StoredTok> },
    }
    let (v, seed) = match serde_json::from_str(s).map_err(|e| e.to_string())? {
        Toks::Plain(v) => (v, false),
        Toks::Seed { seed } if seed_ok => (seed, true),
        Toks::Seed { .. } => return Err("a seeded template is not a tree path".into()),
    };
    for t in &v {
        match t {
            StoredTok::Text(t) => {
                if t.is_empty() || !t.bytes().all(|b| tokenizer.in_token(b)) {
                    let shown: String = t.chars().take(40).collect();
                    return Err(format!("invalid token {shown:?}"));
                }
            }
            StoredTok::Wild(()) => {}
            StoredTok::Gap(0) if !seed => {}
            StoredTok::Gap(x) => return Err(format!("invalid token {x}")),
        }
    }
    Ok((v, seed))
}

fn to_record(c: &Cluster) -> ClusterRecord {
    let tokens = encode_tokens(c.texts.iter().zip(&c.toks).map(|(t, h)| (&**t, *h)));
    ClusterRecord {
        id: c.id,
        template: c.template.clone(),
        // a seeded template: {"seed": [...]}
        tokens: if c.seed {
            format!("{{\"seed\":{tokens}}}")
        } else {
            tokens
        },
        path: encode_tokens(c.path_texts.iter().zip(&c.path).map(|(t, h)| (&**t, *h))),
        size: c.size,
        last_used: c.last_used,
        example: c.example.clone(),
    }
}

/// The persistence property, for tests and fuzz targets: a model trained
/// on `lines` with the default configuration and a model rebuilt from its
/// records give every line the same cluster and template, and then train
/// on the same lines identically. See [`check_persist_roundtrip_with`].
pub fn check_persist_roundtrip(lines: &[&str]) -> Result<(), String> {
    check_persist_roundtrip_with(&DrainConfig::default(), lines)
}

/// [`check_persist_roundtrip`] with a given configuration. The records go
/// through what `store.rs` does with them: integers as SQLite's signed 64
/// bits, texts as they are, the rendered template dropped (it is not read
/// back). Checks, for a model `live` trained on `lines` and `back` rebuilt
/// from `live`'s records:
/// * the records are accepted, and `back` has the same records and the same
///   line counter (`last_id`, so ids continue without reuse);
/// * every line of `lines` matches the same cluster, with the same template,
///   in both;
/// * training both again on `lines` gives the same result for every line
///   and the same records at the end.
///
/// Returns a description of the first difference. Never panics on any input
/// (a panic is a bug the fuzzer should report).
pub fn check_persist_roundtrip_with(cfg: &DrainConfig, lines: &[&str]) -> Result<(), String> {
    let mut live = Drain::new(cfg.clone());
    for l in lines {
        live.train(l);
    }
    let stored: Vec<ClusterRecord> = live
        .records()
        .into_iter()
        .map(|r| ClusterRecord {
            id: r.id as i64 as u64,
            template: String::new(),
            size: r.size as i64 as u64,
            last_used: r.last_used as i64 as u64,
            ..r
        })
        .collect();
    let mut back = Drain::from_records(cfg.clone(), stored)
        .map_err(|e| format!("the model's own records are refused: {e}"))?;
    if back.records() != live.records() {
        return Err("the rebuilt model's records differ".into());
    }
    if back.last_id() != live.last_id() {
        return Err(format!(
            "line counter {} rebuilt as {}",
            live.last_id(),
            back.last_id()
        ));
    }
    for (i, l) in lines.iter().enumerate() {
        let (a, b) = (live.match_line(l), back.match_line(l));
        if a != b {
            return Err(format!("line {i} {l:?}: cluster {a:?} live, {b:?} rebuilt"));
        }
        if let Some(id) = a
            && live.template(id) != back.template(id)
        {
            return Err(format!(
                "line {i} {l:?}: template {:?} live, {:?} rebuilt",
                live.template(id),
                back.template(id)
            ));
        }
    }
    for (i, l) in lines.iter().enumerate() {
        let (a, b) = (live.train(l), back.train(l));
        if a != b {
            return Err(format!(
                "line {i} {l:?} trained again: {a:?} live, {b:?} rebuilt"
            ));
        }
        if live.template(a.cluster_id) != back.template(b.cluster_id) {
            return Err(format!("line {i} {l:?} trained again: templates differ"));
        }
    }
    if back.records() != live.records() {
        return Err("after training again, the records differ".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64* pseudo-random numbers, for reproducible test data.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn word(&mut self) -> String {
            let len = 3 + self.below(6);
            (0..len)
                .map(|_| (b'a' + self.below(26) as u8) as char)
                .collect()
        }
        fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
            v[self.below(v.len() as u64) as usize]
        }
    }

    /// A synthetic log: templates with numeric, word, enum and path
    /// parameters, short lines, variable first tokens and one-off lines.
    fn synthetic(n: usize, seed: u64) -> Vec<String> {
        let mut r = Rng(seed | 1);
        let users: Vec<String> = (0..40).map(|_| r.word()).collect();
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let u = users[r.below(users.len() as u64) as usize].clone();
            let line = match r.below(14) {
                0 => format!("connection closed by {} port {}", u, r.below(65536)),
                1 => format!(
                    "user {u} logged in from 10.{}.{}.7",
                    r.below(255),
                    r.below(255)
                ),
                2 => format!("{u} started service {}", r.pick(&["cron", "sshd", "ntpd"])),
                3 => format!(
                    "[instance: {:x}] VM {} (Lifecycle Event)",
                    r.next(),
                    r.pick(&["Paused", "Resumed", "Started", "Stopped"])
                ),
                4 => format!(
                    "Took {}.{} seconds to spawn the instance",
                    r.below(60),
                    r.below(99)
                ),
                5 => format!("disk /dev/sd{} is full", r.word()),
                6 => format!("{} items processed in {} ms", r.below(1000), r.below(1000)),
                7 => format!("error code=0x{:x} in module {}", r.next(), r.word()),
                8 => format!("ok {}", r.pick(&["a", "b", "c", "d", "e"])),
                9 => r
                    .pick(&["active", "blocked", "closing", "running"])
                    .to_string(),
                10 => format!(
                    "uid={} euid={} tty={} user={}",
                    r.below(3),
                    r.below(3),
                    r.word(),
                    u
                ),
                11 => (0..1 + r.below(8))
                    .map(|_| r.word())
                    .collect::<Vec<_>>()
                    .join(" "),
                12 => format!("session opened for user {u} by (uid={})", r.below(1000)),
                _ => format!("{} {} {}", r.word(), r.pick(&["up", "down"]), r.below(9)),
            };
            out.push(line);
        }
        out
    }

    fn drain() -> Drain {
        Drain::new(DrainConfig::default())
    }

    #[test]
    fn generalises_variable_words() {
        let mut d = drain();
        let a = d.train("connection closed by alpha port x");
        let b = d.train("connection closed by beta port y");
        let c = d.train("connection closed by gamma port z");
        assert_eq!(a.change, Change::Created);
        assert_eq!(c.change, Change::TemplateChanged);
        assert_eq!(
            d.template(c.cluster_id),
            Some("connection closed by <*> port <*>")
        );
        // the clusters of the first two lines were merged into the oldest
        assert_eq!(c.cluster_id, a.cluster_id);
        assert_eq!(c.merged, vec![b.cluster_id]);
        assert_eq!(d.len(), 1);
        assert_eq!(d.cluster(a.cluster_id).unwrap().size(), 3);
        for l in [
            "connection closed by alpha port x",
            "connection closed by delta port w",
        ] {
            assert_eq!(d.match_line(l), Some(a.cluster_id));
        }
        assert_eq!(d.match_line("connection opened by alpha port x"), None);
    }

    #[test]
    fn numbers_and_separators() {
        let mut d = drain();
        let a = d.train("session opened for user root by (uid=0) from 10.0.0.1:22");
        // a single digit stays until it varies; IPs are masked
        assert_eq!(
            d.template(a.cluster_id),
            Some("session opened for user root by (uid=0) from <IP>:<*>")
        );
        let b = d.train("session opened for user root by (uid=500) from 192.168.1.20:4022");
        assert_eq!(
            (b.cluster_id, b.change),
            (a.cluster_id, Change::TemplateChanged)
        );
        assert_eq!(
            d.template(a.cluster_id),
            Some("session opened for user root by (uid=<*>) from <IP>:<*>")
        );
        let c = d.train("session opened for user root by (uid=7) from 10.0.0.9:22");
        assert_eq!((c.cluster_id, c.change), (a.cluster_id, Change::None));
        // a custom parameter text
        let mut d = Drain::new(DrainConfig::from_json(r#"{"param_str":"{}"}"#).unwrap());
        let a = d.train("took 12 ms");
        assert_eq!(d.template(a.cluster_id), Some("took {} ms"));
    }

    /// Each rule of docs/functions.md "How the engine works", on lines
    /// written by hand (not from Loghub).
    #[test]
    fn documented_rules_on_hand_written_lines() {
        let tpl = |lines: &[&str]| {
            let mut d = drain();
            let ids: Vec<u64> = lines.iter().map(|l| d.train(l).cluster_id).collect();
            let out: Vec<String> = lines
                .iter()
                .map(|l| d.template(d.match_line(l).unwrap()).unwrap().to_string())
                .collect();
            (ids, out)
        };
        // digits glued to letters are part of a name: IPV4 and IPV6 apart
        let (_, t) = tpl(&["listening on IPV4 port 80", "listening on IPV6 port 80"]);
        assert_eq!(
            t,
            ["listening on IPV4 port <*>", "listening on IPV6 port <*>"]
        );
        // ... until enough distinct values show a parameter
        let (_, t) = tpl(&["mounted disk7 ok", "mounted disk12 ok", "mounted disk31 ok"]);
        assert_eq!(t[0], "mounted disk<*> ok");
        // a single digit stays until another value is seen
        let (_, t) = tpl(&["exit code 1 from worker", "exit code 1 from worker"]);
        assert_eq!(t[0], "exit code 1 from worker");
        let (_, t) = tpl(&["exit code 1 from worker", "exit code 2 from worker"]);
        assert_eq!(t[0], "exit code <*> from worker");
        // longer numbers are parameters at once; the name before `_`, `-`
        // or `.` stays
        let (_, t) = tpl(&["fetched blk_-4021 from node-17 in core.6161"]);
        assert_eq!(t[0], "fetched blk_<*> from node-<*> in core.<*>");
        let (_, t) = tpl(&["timeout after 250ms"]);
        assert_eq!(t[0], "timeout after <*>ms");
        // states and event names in capitals stay apart
        let vm = [
            "VM Started (Lifecycle Event)",
            "VM Paused (Lifecycle Event)",
            "VM Resumed (Lifecycle Event)",
            "VM Stopped (Lifecycle Event)",
        ];
        let (ids, t) = tpl(&vm);
        assert_eq!(t, vm);
        assert_eq!(
            ids.iter().collect::<std::collections::HashSet<_>>().len(),
            4
        );
        let (_, t) = tpl(&["GET /a HTTP", "POST /a HTTP", "DELETE /a HTTP"]);
        assert_eq!(t, ["GET /a HTTP", "POST /a HTTP", "DELETE /a HTTP"]);
        // field names never become parameters
        let (_, t) = tpl(&["total disk: 5", "total memory: 5", "total vcpu: 5"]);
        assert_eq!(t, ["total disk: 5", "total memory: 5", "total vcpu: 5"]);
        // a few values that repeat stay apart; new values each time merge
        let (_, t) = tpl(&[
            "login by user=root",
            "login by user=root",
            "login by user=guest",
            "login by user=guest",
            "login by user=test",
        ]);
        assert_eq!(t[0], "login by user=root");
        assert_eq!(t[4], "login by user=test");
        let (_, t) = tpl(&[
            "login by user=ann",
            "login by user=bob",
            "login by user=eve",
        ]);
        assert_eq!(t[0], "login by user=<*>");
        // a line whose words differ (ignoring parameters) is another event
        let (ids, t) = tpl(&[
            "[req 17] Claim successful",
            "[req 18] Creating image",
            "[req 19] Terminating instance",
        ]);
        assert_eq!(t[0], "[req <*>] Claim successful");
        assert_eq!(
            ids.iter().collect::<std::collections::HashSet<_>>().len(),
            3
        );
        // what two values have in common stays: prefix, suffix, punctuation
        let (_, t) = tpl(&["open (alpha) ok", "open () ok", "open (beta) ok"]);
        assert_eq!(t[0], "open (<*>) ok");
        let (_, t) = tpl(&["at 10:59:53 done", "at 11:02:07 done"]);
        assert_eq!(t[0], "at <*>:<*>:<*> done");
        // parameters separated by spaces only are one
        let (_, t) = tpl(&["took 5.2 KB in all", "took 3.0 MB in all"]);
        assert_eq!(t[0], "took <*> in all");
        // masks: named parameters
        let (_, t) =
            tpl(&["peer 10.0.0.1:5000 id 0b9f7c2e-1d2a-4c3b-9e8f-123456789abc at /var/lib/x/y.db"]);
        assert_eq!(t[0], "peer <IP>:<*> id <UUID> at <PATH>");
        let (_, t) = tpl(&["peer fe80::1a2b up", "addr 0x7ffe12 and a489c868f0c3"]);
        assert_eq!(t, ["peer <IP> up", "addr <HEX> and <HEX>"]);
        let (_, t) = tpl(&["GET https://example.org/a?b=1 ok"]);
        assert_eq!(t[0], "GET https://<URL> ok");
    }

    #[test]
    fn optional_parts_align() {
        // (ids at training, final templates, what the lines trained into
        // was merged into)
        let run = |lines: &[&str]| {
            let mut d = drain();
            let mut merged = Vec::new();
            let ids: Vec<u64> = lines
                .iter()
                .map(|l| {
                    let t = d.train(l);
                    merged.extend(t.merged.iter().map(|&m| (m, t.cluster_id)));
                    t.cluster_id
                })
                .collect();
            let out: Vec<String> = lines
                .iter()
                .map(|l| d.template(d.match_line(l).unwrap()).unwrap().to_string())
                .collect();
            (d, ids, out, merged)
        };
        // a size in parentheses on some lines only: one template, the
        // optional run folded into the parameter before it
        let lines = [
            "Received block blk_1 of size 67108864 from /10.0.0.1",
            "Received block blk_2 of size 67108864 (67108864) from /10.0.0.2",
            "Received block blk_3 of size 512 from /10.0.0.3",
        ];
        let (d, ids, t, merged) = run(&lines);
        assert_eq!(t, ["Received block blk_<*> of size <*> from /<IP>"; 3]);
        // the second line merged the first's cluster into the oldest, id 1
        assert_eq!(ids, [1, 1, 1]);
        assert_eq!(
            merged,
            [(2, 1)].map(|(a, b)| (a as u64, b as u64)).to_vec()[..0]
        );
        assert_eq!(d.len(), 1);
        assert_eq!(
            d.params(lines[1]).unwrap().1,
            ["2", "67108864 (67108864)", "10.0.0.2"]
        );
        assert_eq!(d.params(lines[0]).unwrap().1, ["1", "67108864", "10.0.0.1"]);
        // `<1 sec` against a time, and (KB) parts, in any order
        let proxy = [
            "h1:80 close, 403 bytes sent, 426 bytes received, lifetime <1 sec",
            "h1:80 close, 850 bytes sent, 10547 bytes (10.2 KB) received, lifetime 00:02",
            "h1:80 close, 1143 bytes (1.11 KB) sent, 365 bytes received, lifetime 00:01",
            "h1:80 close, 1268 bytes (1.23 KB) sent, 6274 bytes (6.12 KB) received, lifetime <1 sec",
            "h1:80 close, 0 bytes sent, 0 bytes received, lifetime 00:01",
        ];
        let (d, _, t, merged) = run(&proxy);
        assert_eq!(d.len(), 1, "{t:?}");
        assert_eq!(
            t[0],
            "h1:<*> close, <*> bytes <*> sent, <*> bytes <*> received, lifetime <*>"
        );
        assert!(merged.is_empty(), "{merged:?}");
        // a trailing `(retry 2)`
        let (d, _, t, _) = run(&[
            "upload failed for object 81 (retry 2)",
            "upload failed for object 82",
            "upload failed for object 83 (retry 3)",
        ]);
        assert_eq!(d.len(), 1);
        assert_eq!(t[1], "upload failed for object <*>");
        // a cluster that grew apart first is merged when the optional run
        // shows them one event (reported as merged, the oldest id stays)
        let (d, ids, _, merged) = run(&[
            "job 12 done in 45 ms",
            "job 13 done in 46 ms",
            "job 14 done in 5 ms (cached)",
            "job 15 done in 7 ms (cached 2)",
        ]);
        assert_eq!(ids[0], 1);
        assert_eq!(d.len(), 2, "(cached) is a word without a number: apart");
        assert!(merged.is_empty());
        assert_eq!(d.match_line("job 16 done in 9 ms (cached 4)"), Some(1));
        // words are never optional: other events stay apart
        let (d, _, _, _) = run(&[
            "Failed password for root from 10.0.0.1 port 22 ssh2",
            "Failed password for invalid user admin from 10.0.0.2 port 23 ssh2",
            "Connection closed by 10.0.0.1 port 22",
            "Connection closed by 10.0.0.1 port 22 [preauth]",
        ]);
        assert_eq!(d.len(), 4);
        // the model keeps it across a round trip
        check_persist_roundtrip(&lines).unwrap();
        check_persist_roundtrip(&proxy).unwrap();
    }

    #[test]
    fn params_in_template_order() {
        let mut d = drain();
        for l in [
            "user alice logged in from 10.0.0.1:22 after 12 ms",
            "user bob logged in from 10.0.0.2:22 after 7 ms",
            "user carol logged in from 10.0.0.3:2222 after 130 ms",
        ] {
            d.train(l);
        }
        let (id, p) = d
            .params("user dave logged in from 192.168.0.9:80 after 5 ms")
            .unwrap();
        assert_eq!(
            d.template(id),
            Some("user <*> logged in from <IP>:<*> after <*> ms")
        );
        assert_eq!(p, ["dave", "192.168.0.9", "80", "5"]);
        assert_eq!(d.params("nothing like it"), None);
        // a value with spaces is one parameter, as the template shows it
        let mut d = drain();
        d.train("took 5.2 KB in all");
        d.train("took 3 MB in all");
        let (id, p) = d.params("took 7.5 GB in all").unwrap();
        assert_eq!(d.template(id), Some("took <*> in all"));
        assert_eq!(p, ["7.5 GB"]);
        // patterns: the parts of a token
        let mut d = drain();
        d.train("open (alpha) at 10:59:53");
        d.train("open (beta) at 11:02:07");
        d.train("open (gamma) at 12:00:00");
        let (id, p) = d.params("open () at 09:15:30").unwrap();
        assert_eq!(d.template(id), Some("open (<*>) at <*>:<*>:<*>"));
        assert_eq!(p, ["", "09", "15", "30"]);
    }

    #[test]
    fn seeds_come_first_and_stay() {
        let mut d = drain();
        let s = d.seed("user <*> logged in from <IP>").unwrap();
        assert_eq!(s.change, Change::Created);
        assert_eq!(
            d.template(s.cluster_id),
            Some("user <*> logged in from <IP>")
        );
        assert_eq!(d.cluster(s.cluster_id).unwrap().size(), 0);
        // lines it covers join it, whatever came before
        let t = d.train("user ann logged in from 10.1.1.1");
        assert_eq!((t.cluster_id, t.change), (s.cluster_id, Change::None));
        assert_eq!(d.cluster(s.cluster_id).unwrap().size(), 1);
        // lines it does not cover learn as usual, and never change it
        for l in [
            "user ann logged out",
            "user bob logged out",
            "user eve logged out",
        ] {
            d.train(l);
        }
        assert_eq!(
            d.template(s.cluster_id),
            Some("user <*> logged in from <IP>")
        );
        assert_eq!(
            d.params("user zed logged in from 10.9.9.9").unwrap().1,
            ["zed", "10.9.9.9"]
        );
        // seeding again: the same cluster
        let again = d.seed("user <*> logged in from <IP>").unwrap();
        assert_eq!(
            (again.cluster_id, again.change),
            (s.cluster_id, Change::None)
        );
        // kept through records
        let back = Drain::from_records(d.config().clone(), d.records()).unwrap();
        assert!(back.is_seed(s.cluster_id));
        assert_eq!(back.records(), d.records());
        assert!(d.seed("").is_err());
        assert!(d.seed(" \t ").is_err());
        // never evicted
        let mut d = drain_with(r#"{"max_clusters":3}"#);
        let s = d.seed("job <*> done").unwrap().cluster_id;
        for i in 0..50 {
            d.train(&format!("line{i} w{i} x{i}"));
        }
        assert!(d.is_seed(s));
        assert!(d.seed("a").is_ok());
        assert!(d.seed("b").unwrap_err().contains("seeded templates"));
    }

    #[test]
    fn short_lines_merge() {
        let mut d = drain();
        let ids: Vec<u64> = ["ok alpha", "ok beta", "ok gamma", "ok delta"]
            .iter()
            .map(|l| d.train(l).cluster_id)
            .collect();
        let id = ids[3];
        assert_eq!(d.template(id), Some("ok <*>"));
        assert!(
            ["ok alpha", "ok beta", "ok gamma"]
                .iter()
                .all(|l| d.match_line(l) == Some(id))
        );
        // one-word lines of different words stay apart
        let x = d.train("active").cluster_id;
        let y = d.train("blocked").cluster_id;
        assert_ne!(x, y);
        assert_eq!(d.template(x), Some("active"));
        // the empty line is a template too
        let e = d.train("").cluster_id;
        assert_eq!(d.template(e), Some(""));
        assert_eq!(d.match_line(" \t "), Some(e));
    }

    #[test]
    fn digits_near_start() {
        let mut d = drain();
        let a = d.train("1234 connected to host alpha");
        let b = d.train("5678 connected to host alpha");
        assert_eq!(a.cluster_id, b.cluster_id);
        let c = d.train("node-12 reports 3 errors");
        let e = d.train("node-7 reports 12 errors");
        assert_eq!(c.cluster_id, e.cluster_id);
        assert_eq!(
            d.match_line("99 connected to host alpha"),
            Some(a.cluster_id)
        );
        assert_eq!(d.match_line("node-1 reports 0 errors"), Some(c.cluster_id));
        // a number after `-` is a parameter, the name before it stays
        assert_eq!(
            d.template(c.cluster_id),
            Some("node-<*> reports <*> errors")
        );
    }

    /// Follows merges: the cluster a trained id now lives in.
    fn resolve(alias: &HashMap<u64, u64>, mut id: u64) -> u64 {
        while let Some(&to) = alias.get(&id) {
            id = to;
        }
        id
    }

    #[test]
    fn match_finds_every_trained_line() {
        let lines = synthetic(20_000, 7);
        let mut d = drain();
        let mut last = Vec::new();
        let mut alias = HashMap::new();
        let mut next_new = 0;
        for l in &lines {
            let t = d.train(l);
            for m in &t.merged {
                alias.insert(*m, t.cluster_id);
            }
            if t.change == Change::Created {
                assert!(t.cluster_id > next_new, "ids increase");
                next_new = t.cluster_id;
            }
            assert!(t.evicted.is_none(), "no eviction expected");
            last.push(t.cluster_id);
        }
        let mut same = 0;
        for (l, id) in lines.iter().zip(&last) {
            let m = d.match_line(l).expect("a trained line is found");
            let c = d.cluster(m).unwrap();
            assert!(c.size() > 0);
            same += (m == resolve(&alias, *id)) as usize;
        }
        // A line can later be covered by a more specific cluster; rare.
        assert!(same * 100 >= lines.len() * 99, "{same} of {}", lines.len());
    }

    #[test]
    fn lru_eviction_prunes_the_tree() {
        let cfg = DrainConfig::from_json(r#"{"max_clusters":3}"#).unwrap();
        let mut d = Drain::new(cfg);
        let base = d.tree_nodes();
        let a = d.train("alpha one two").cluster_id;
        let b = d.train("beta one two three").cluster_id;
        let c = d.train("gamma one").cluster_id;
        assert_eq!(d.train("alpha one two").cluster_id, a); // a is now recent
        let t = d.train("delta x y z w");
        assert_eq!(t.evicted, Some(b));
        assert_eq!(d.len(), 3);
        assert_eq!(d.match_line("beta one two three"), None);
        assert!(d.template(b).is_none());
        // b's branch (its length node and first-token node) is gone
        let nodes = d.tree_nodes();
        let t2 = d.train("epsilon q");
        assert_eq!(t2.evicted, Some(c));
        assert_eq!(
            d.tree_nodes(),
            nodes,
            "gamma's branch replaced by epsilon's"
        );
        // ids are never reused
        let ids: Vec<u64> = d.records().iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![a, t.cluster_id, t2.cluster_id]);
        assert!(t2.cluster_id > t.cluster_id && t.cluster_id > c);
        // evicting everything leaves only the root
        let mut d = Drain::new(DrainConfig::from_json(r#"{"max_clusters":1}"#).unwrap());
        d.train("a b c");
        d.train("d e f g");
        assert_eq!(d.len(), 1);
        assert_eq!(d.tree_nodes(), base + 2);
    }

    #[test]
    fn full_leaf_evicts_its_lru() {
        let cfg = DrainConfig::from_json(r#"{"max_leaf_clusters":2,"depth":3}"#).unwrap();
        let mut d = Drain::new(cfg);
        let a = d.train("aa bb cc").cluster_id;
        let b = d.train("dd ee ff").cluster_id;
        d.train("aa bb cc");
        let t = d.train("gg hh ii");
        assert_eq!(t.evicted, Some(b));
        assert_eq!(d.len(), 2);
        assert_eq!(d.match_line("aa bb cc"), Some(a));
    }

    #[test]
    fn hostile_inputs() {
        let mut d = drain();
        let huge = "x".repeat(10 << 20);
        let t = d.train(&huge);
        assert!(d.template(t.cluster_id).unwrap().len() <= 3000);
        assert!(d.cluster(t.cluster_id).unwrap().example().len() <= 512);
        let many = "ab ".repeat(100_000);
        let t = d.train(&many);
        let tpl = d.template(t.cluster_id).unwrap();
        assert_eq!(tpl.split(' ').count(), 128);
        assert!(tpl.ends_with("ab <*>"));
        assert_eq!(d.match_line(&many), Some(t.cluster_id));
        // the cut at 3000 bytes falls inside a multi-byte character
        let multi = format!("a{}", "é".repeat(2000));
        let t = d.train(&multi);
        assert!(d.template(t.cluster_id).unwrap().len() <= 3000);
        for l in [
            "",
            " ",
            "\t\r\n",
            "\0\0\0",
            "a\0b\0c",
            "\u{1}\u{2}",
            "<*> <*>",
            "=",
            "é",
        ] {
            let t = d.train(l);
            assert!(d.template(t.cluster_id).is_some());
            assert_eq!(d.match_line(l), Some(t.cluster_id), "{l:?}");
        }
        // random bytes, lossily decoded
        let mut r = Rng(42);
        for i in 0..20_000 {
            let len = r.below(if i % 100 == 0 { 5000 } else { 80 }) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| r.next() as u8).collect();
            let line = String::from_utf8_lossy(&bytes);
            d.train(&line);
            d.match_line(&line);
        }
        let recs = d.records();
        let back = Drain::from_records(d.config().clone(), recs.clone()).unwrap();
        assert_eq!(back.records(), recs);
    }

    #[test]
    fn memory_plateaus() {
        // a million distinct one-off lines of random words
        let cfg = DrainConfig::from_json(r#"{"max_clusters":2000}"#).unwrap();
        let mut d = Drain::new(cfg);
        let mut r = Rng(3);
        let mut line = String::new();
        let mut mid = (0, 0);
        let total = if cfg!(debug_assertions) {
            100_000
        } else {
            1_000_000
        };
        for i in 0..total {
            line.clear();
            for k in 0..1 + r.below(12) {
                if k > 0 {
                    line.push(' ');
                }
                let w = r.word();
                line.push_str(&w);
            }
            d.train(&line);
            if i == total / 4 {
                mid = (d.approx_memory_bytes(), d.tree_nodes());
            }
        }
        let end = (d.approx_memory_bytes(), d.tree_nodes());
        assert!(d.len() <= 2000);
        assert!(end.0 <= mid.0 + mid.0 / 5, "memory {mid:?} -> {end:?}");
        assert!(end.1 <= mid.1 + mid.1 / 5, "nodes {mid:?} -> {end:?}");
        assert!(end.0 < 8 << 20, "{end:?}");
    }

    #[test]
    fn config_json() {
        let def = DrainConfig::default();
        assert_eq!(DrainConfig::from_json("{}").unwrap(), def);
        assert_eq!(DrainConfig::from_json(&def.to_json()).unwrap(), def);
        let c =
            DrainConfig::from_json(r#"{"sim_th":0.7,"depth":5,"extra_delimiters":"_|"}"#).unwrap();
        assert_eq!(
            (c.sim_th, c.depth, c.max_clusters),
            (0.7, 5, def.max_clusters)
        );
        assert_eq!(c.extra_delimiters, "_|");
        let err = |j: &str| DrainConfig::from_json(j).unwrap_err();
        assert!(err(r#"{"simth":1}"#).contains("unknown key \"simth\""));
        assert!(err(r#"{"sim_th":"high"}"#).contains("\"sim_th\" must be a number"));
        assert!(err(r#"{"sim_th":1.5}"#).contains("\"sim_th\" must be in 0..=1"));
        assert!(err(r#"{"depth":2}"#).contains("\"depth\" must be in 3..=16, got 2"));
        assert!(err(r#"{"max_clusters":-1}"#).contains("\"max_clusters\" must be a non-negative"));
        assert!(err(r#"{"max_tokens":2.5}"#).contains("\"max_tokens\""));
        assert!(err(r#"{"max_clusters":0}"#).contains("\"max_clusters\" must be in 1..="));
        assert!(err(r#"{"param_str":""}"#).contains("\"param_str\" must not be empty"));
        assert!(err(r#"{"param_str":3}"#).contains("\"param_str\" must be a string"));
        assert!(err(r#"{"extra_delimiters":"é"}"#).contains("\"extra_delimiters\""));
        assert!(err("[1]").contains("JSON object"));
        assert!(err("{").contains("invalid JSON"));
        // bounded texts
        assert_eq!(
            DrainConfig::from_json(r#"{"param_str":"0123456789abcdef"}"#)
                .unwrap()
                .param_str
                .len(),
            MAX_PARAM_STR_BYTES
        );
        assert!(
            err(r#"{"param_str":"0123456789abcdefX"}"#)
                .contains("\"param_str\" must be at most 16 bytes, got 17")
        );
        // bytes, not characters
        assert!(err(r#"{"param_str":"éééééééé!"}"#).contains("got 17"));
        let all_ascii: String = (0u8..128).map(|b| b as char).collect();
        let j = serde_json::json!({ "extra_delimiters": all_ascii }).to_string();
        assert!(DrainConfig::from_json(&j).is_ok());
        // duplicates are dropped: a set of at most 128 characters
        let j = serde_json::json!({ "extra_delimiters": all_ascii.repeat(1000) + "/" }).to_string();
        assert_eq!(
            DrainConfig::from_json(&j).unwrap().extra_delimiters,
            all_ascii
        );
        let c = DrainConfig::from_json(r#"{"extra_delimiters":"/;//;|/"}"#).unwrap();
        assert_eq!(c.extra_delimiters, "/;|");
        assert_eq!(DrainConfig::from_json(&c.to_json()).unwrap(), c);
        let long = format!("{{{}}}", " ".repeat(MAX_CONFIG_JSON_BYTES));
        assert!(err(&long).contains("more than 1048576"));
    }

    /// A line of N bytes costs a bounded multiple of N, whatever the
    /// configuration: the template of a line of parameters with the longest
    /// param_str, and its records.
    #[test]
    fn memory_per_line_is_proportional_to_the_line() {
        let cfg = DrainConfig::from_json(
            r#"{"param_str":"PPPPPPPPPPPPPPPP","max_line_bytes":1048576,"max_example_bytes":1048576}"#,
        )
        .unwrap();
        let mut d = Drain::new(cfg);
        for line in [
            "1=".repeat(300_000),
            "1 ".repeat(300_000),
            "=1".repeat(300_000),
        ] {
            let t = d.train(&line);
            let n = line.len();
            let tpl = d.template(t.cluster_id).unwrap().len();
            assert!(
                tpl <= n + n.div_ceil(2) * (MAX_PARAM_STR_BYTES - 1),
                "{tpl} for {n}"
            );
            let r = d.record(t.cluster_id).unwrap();
            assert!(r.tokens.len() <= 6 * n + 5 * 128 + 2);
            assert!(r.example.len() <= n);
            // and the records read back
            let back = Drain::from_records(d.config().clone(), d.records()).unwrap();
            assert_eq!(back.template(t.cluster_id).unwrap().len(), tpl);
        }
    }

    #[test]
    fn ids_continue_after_a_high_water_mark() {
        let mut d = drain();
        d.continue_after(41);
        assert_eq!(d.last_id(), 41);
        assert_eq!(d.train("a b c").cluster_id, 42);
        d.continue_after(7); // never lowers it
        assert_eq!(d.train("d e f").cluster_id, 43);
        let mut back = Drain::from_records(d.config().clone(), d.records()).unwrap();
        assert_eq!(back.last_id(), 43);
        assert_eq!(back.train("g h i").cluster_id, 44);
        d.continue_after(u64::MAX);
        assert_eq!(d.last_id(), MAX_ID);
    }

    /// Pseudo-random lines of many shapes: words, numbers, punctuation,
    /// separators of every kind, non-ASCII text, repeated patterns (so that
    /// clusters generalise and merge), long lines and lines of many tokens.
    fn random_lines(r: &mut Rng, n: usize) -> Vec<String> {
        let words: Vec<String> = (0..30).map(|_| r.word()).collect();
        let templates: Vec<Vec<usize>> = (0..25)
            .map(|_| (0..1 + r.below(9)).map(|_| r.below(6) as usize).collect())
            .collect();
        let seps = [" ", " ", " ", "  ", "\t", "/", ";", "|", "\0", " /", "\r\n"];
        (0..n)
            .map(|_| {
                let mut line = String::new();
                let kind = r.below(20);
                if kind == 0 {
                    // one-off noise, sometimes long, sometimes many tokens
                    let max = if r.below(10) == 0 { 400 } else { 40 };
                    let len = r.below(max);
                    let alphabet = ['a', 'b', '1', ' ', '=', '/', ';', ':', 'é', '\t', '\0', '*'];
                    for _ in 0..len {
                        line.push(alphabet[r.below(alphabet.len() as u64) as usize]);
                    }
                    return line;
                }
                let t = &templates[r.below(templates.len() as u64) as usize];
                for (i, &slot) in t.iter().enumerate() {
                    if i > 0 {
                        line.push_str(r.pick(&seps));
                    }
                    match slot {
                        0 => line.push_str(&format!("k{i}")),
                        1 => line.push_str(&r.below(1000).to_string()),
                        2 => line.push_str(&words[r.below(words.len() as u64) as usize]),
                        3 => line.push_str(&format!("id={}:{}", r.below(50), r.word())),
                        4 => line.push_str(r.pick(&["Paused", "Resumed", "ok", "Jan", "5KB"])),
                        _ => line.push_str(&words[i % words.len()]),
                    }
                }
                line
            })
            .collect()
    }

    /// The persistence property over deterministic pseudo-random lines and
    /// configurations that evict, merge, cut lines and examples and cap
    /// tokens.
    #[test]
    fn persisted_records_match_like_the_live_model() {
        let configs = [
            "{}",
            r#"{"max_clusters":40}"#,
            r#"{"max_clusters":300,"max_leaf_clusters":3,"max_children":3}"#,
            r#"{"depth":7,"sim_th":0.7,"min_distinct":2}"#,
            r#"{"extra_delimiters":"/;|","max_example_bytes":12}"#,
            r#"{"max_line_bytes":24,"max_tokens":4,"param_str":"{}"}"#,
            r#"{"depth":3,"sim_th":0.0,"max_tokens":2,"max_example_bytes":0}"#,
            r#"{"sim_th":1.0,"min_distinct":1000,"max_clusters":1}"#,
        ];
        let mut r = Rng(0x5eed);
        let mut lines_checked = 0;
        for (k, cfg) in configs.iter().enumerate() {
            let cfg = DrainConfig::from_json(cfg).unwrap();
            for round in 0..4 {
                let n = [10, 200, 1500, 4000][round];
                let owned = random_lines(&mut r, n);
                let lines: Vec<&str> = owned.iter().map(|s| s.as_str()).collect();
                check_persist_roundtrip_with(&cfg, &lines)
                    .unwrap_or_else(|e| panic!("config {k}, round {round}: {e}"));
                lines_checked += n;
            }
        }
        assert!(lines_checked > 40_000);
        assert!(check_persist_roundtrip(&[]).is_ok());
        assert!(check_persist_roundtrip(&["", " ", "a", "a b 1", "a b 2", "a b 3"]).is_ok());
    }

    #[test]
    fn extra_delimiters_split_tokens() {
        let mut d = Drain::new(DrainConfig::from_json(r#"{"extra_delimiters":"|"}"#).unwrap());
        let t = d.train("a|b|c d");
        assert_eq!(d.template(t.cluster_id), Some("a|b|c d"));
        assert_eq!(d.match_line("a b c|d"), Some(t.cluster_id));
    }

    fn drain_with(json: &str) -> Drain {
        Drain::new(DrainConfig::from_json(json).unwrap())
    }

    #[test]
    fn templates_keep_separators() {
        let mut d = drain();
        // double spaces, tabs, control characters; ends trimmed
        let t = d.train("  took  12\tms\x00to\r\nstart \n");
        assert_eq!(
            d.template(t.cluster_id),
            Some("took  <*>\tms\x00to\r\nstart")
        );
        // the first line's separators stay through generalisation
        let a = d.train("user\talice  logged in").cluster_id;
        d.train("user bob logged in");
        let c = d.train("user carol logged\tin");
        assert_eq!(c.change, Change::TemplateChanged);
        assert_eq!(c.cluster_id, a);
        assert_eq!(d.template(a), Some("user\t<*>  logged in"));
        // a line with other separators joins the same template
        assert_eq!(d.match_line("user  dave\tlogged  in"), Some(a));
        // extra delimiters stay where they were, at the ends too
        let mut d = drain_with(r#"{"extra_delimiters":";/"}"#);
        let t = d.train("a=x;b=10");
        assert_eq!(d.template(t.cluster_id), Some("a=x;b=<*>"));
        assert_eq!(d.train("a=x;b=20").cluster_id, t.cluster_id);
        let t = d.train(" /health/ ");
        assert_eq!(d.template(t.cluster_id), Some("/health/"));
        let t = d.train("POST /10//items;;");
        assert_eq!(d.template(t.cluster_id), Some("POST /<*>//items;;"));
        // the empty line and a line of separators only
        let t = d.train(" ;/ ");
        assert_eq!(d.template(t.cluster_id), Some(""));
    }

    #[test]
    fn span_names_keep_their_paths() {
        let spans = r#"{"extra_delimiters":"/"}"#;
        let mut d = drain_with(spans);
        let a = d.train("GET /users/12");
        for l in ["GET /users/13", "GET /users/14"] {
            let t = d.train(l);
            assert_eq!((t.cluster_id, t.change), (a.cluster_id, Change::None));
        }
        assert_eq!(d.template(a.cluster_id), Some("GET /users/<*>"));
        let h = d.train("GET /health");
        assert_ne!(h.cluster_id, a.cluster_id);
        assert_eq!(d.template(h.cluster_id), Some("GET /health"));
        assert_eq!(d.template(a.cluster_id), Some("GET /users/<*>"));
        assert_eq!(d.match_line("GET /health"), Some(h.cluster_id));
        assert_eq!(d.match_line("GET /users/99"), Some(a.cluster_id));
        // words need min_distinct distinct values
        let mut d = drain_with(spans);
        let a = d.train("GET /users/alice");
        let b = d.train("GET /users/bob");
        assert_eq!(b.change, Change::Created);
        let c = d.train("GET /users/carol");
        assert_eq!(c.change, Change::TemplateChanged);
        assert_eq!(
            (c.cluster_id, &c.merged[..]),
            (a.cluster_id, &[b.cluster_id][..])
        );
        assert_eq!(d.template(a.cluster_id), Some("GET /users/<*>"));
        // without `/` as a delimiter (and without the PATH mask), a
        // parameter behind other literal text is no evidence either:
        // `/users/<*>` and `/health` stay apart
        let mut d = drain_with(r#"{"masks":[]}"#);
        let a = d.train("GET /users/12").cluster_id;
        let h = d.train("GET /health").cluster_id;
        assert_ne!(a, h);
        assert_eq!(d.template(a), Some("GET /users/<*>"));
        assert_eq!(d.template(h), Some("GET /health"));
        // while the same literal text before a parameter still is
        let mut d = drain();
        let a = d.train("login from rhost=10.0.0.1 ok").cluster_id;
        let t = d.train("login from rhost=example.org ok");
        assert_eq!((t.cluster_id, t.change), (a, Change::TemplateChanged));
        assert_eq!(d.template(a), Some("login from rhost=<*> ok"));
        let a = d.train("call f(1) done").cluster_id;
        let t = d.train("call f() done");
        assert_eq!((t.cluster_id, t.change), (a, Change::TemplateChanged));
    }

    #[test]
    fn cut_example_falls_back_to_spaces() {
        // cut before the last token: single spaces
        let cfg = r#"{"max_example_bytes":8}"#;
        let mut d = drain_with(cfg);
        let t = d.train("alpha  beta\tgamma");
        assert_eq!(d.cluster(t.cluster_id).unwrap().example(), "alpha  b");
        assert_eq!(d.template(t.cluster_id), Some("alpha beta gamma"));
        // cut inside the last token: every separator is known
        let mut d = drain_with(r#"{"max_example_bytes":14}"#);
        let t = d.train("alpha  beta\tgamma");
        assert_eq!(
            d.cluster(t.cluster_id).unwrap().example(),
            "alpha  beta\tga"
        );
        assert_eq!(d.template(t.cluster_id), Some("alpha  beta\tgamma"));
        // no example at all
        let mut d = drain_with(r#"{"max_example_bytes":0,"extra_delimiters":"/"}"#);
        let t = d.train("GET /users/12");
        assert_eq!(d.template(t.cluster_id), Some("GET users <*>"));
        // rendering comes from persisted state only
        let mut d = drain_with(cfg);
        for l in ["alpha  beta\tgamma", "a\tb", "x  y\tz  w"] {
            d.train(l);
        }
        let back = Drain::from_records(d.config().clone(), d.records()).unwrap();
        assert_eq!(back.records(), d.records());
        let tpls: Vec<String> = d.records().into_iter().map(|r| r.template).collect();
        assert_eq!(tpls, ["alpha beta gamma", "a\tb", "x y z w"]);
    }

    /// Trains `a` and `b` on the same lines and checks that every result,
    /// every match and the final clusters are identical.
    /// Returns how many lines merged and evicted clusters.
    fn assert_same_future(mut a: Drain, mut b: Drain, lines: &[String]) -> (usize, usize) {
        let (mut merges, mut evictions) = (0, 0);
        for l in lines {
            let ta = a.train(l);
            let tb = b.train(l);
            assert_eq!(ta, tb, "line {l:?}");
            assert_eq!(a.template(ta.cluster_id), b.template(tb.cluster_id));
            merges += !ta.merged.is_empty() as usize;
            evictions += ta.evicted.is_some() as usize;
        }
        for l in lines {
            assert_eq!(a.match_line(l), b.match_line(l));
        }
        assert_eq!(a.records(), b.records());
        assert_eq!(a.tree_nodes(), b.tree_nodes());
        (merges, evictions)
    }

    #[test]
    fn records_round_trip_exactly() {
        for (seed, cfg) in [
            (11, "{}"),
            (12, r#"{"max_clusters":60}"#),
            (
                13,
                r#"{"max_clusters":200,"max_leaf_clusters":4,"max_children":4}"#,
            ),
            (14, r#"{"depth":6,"sim_th":0.6,"min_distinct":2}"#),
            // separators: tabs, double spaces, extra delimiters, cut examples
            (15, r#"{"extra_delimiters":"/;"}"#),
            (
                16,
                r#"{"extra_delimiters":"/","max_example_bytes":20,"max_clusters":80}"#,
            ),
        ] {
            let cfg = DrainConfig::from_json(cfg).unwrap();
            let mut lines = synthetic(6000, seed);
            if seed >= 15 {
                let mut r = Rng(seed);
                for l in &mut lines {
                    *l = l
                        .split(' ')
                        .map(|w| w.to_string())
                        .reduce(|a, w| {
                            let sep = r.pick(&[" ", " ", " ", "  ", "\t", "/", ";", " /", "\x00"]);
                            a + sep + &w
                        })
                        .unwrap_or_default();
                }
            }
            let (first, second) = lines.split_at(lines.len() / 2);
            let mut a = Drain::new(cfg.clone());
            for l in first {
                a.train(l);
            }
            // through JSON, as a database row would be
            let json = serde_json::to_string(&a.records()).unwrap();
            let recs: Vec<ClusterRecord> = serde_json::from_str(&json).unwrap();
            let b = Drain::from_records(cfg.clone(), recs).unwrap();
            for l in first {
                assert_eq!(a.match_line(l), b.match_line(l));
            }
            assert_eq!(a.record(a.records()[0].id), b.record(a.records()[0].id));
            if seed >= 15 {
                let seps = |r: &ClusterRecord| r.template.contains(['\t', ';', '/', '\0']);
                assert!(a.records().iter().any(seps), "seed {seed}: separators");
            }
            let (merges, evictions) = assert_same_future(a, b, second);
            if seed != 14 {
                // (with min_distinct 2 clusters generalise before siblings form)
                assert!(merges > 0, "seed {seed}: the data should merge clusters");
            }
            if seed == 12 || seed == 13 || seed == 16 {
                assert!(evictions > 0, "seed {seed}: the data should evict clusters");
            }
        }
    }

    #[test]
    fn bad_records_are_rejected() {
        let mut d = drain();
        d.train("a b c 1");
        let good = d.records();
        let cfg = DrainConfig::default();
        let mut r = good.clone();
        r[0].tokens = "not json".into();
        assert!(Drain::from_records(cfg.clone(), r).is_err());
        let mut r = good.clone();
        r[0].path = "[]".into();
        assert!(Drain::from_records(cfg.clone(), r).is_err());
        let r = vec![good[0].clone(), good[0].clone()];
        assert!(
            Drain::from_records(cfg.clone(), r)
                .unwrap_err()
                .contains("duplicate")
        );
        let mut r = good.clone();
        r[0].tokens = r#"["a b"]"#.into();
        assert!(Drain::from_records(cfg.clone(), r).is_err());
        let small = DrainConfig::from_json(r#"{"max_clusters":1}"#).unwrap();
        let mut d2 = drain();
        d2.train("x");
        d2.train("y");
        assert!(Drain::from_records(small, d2.records()).is_err());
        assert!(Drain::from_records(cfg.clone(), vec![]).unwrap().is_empty());
        // What a database file can hold that a model never writes.
        let bad = |f: &dyn Fn(&mut ClusterRecord)| {
            let mut r = good.clone();
            f(&mut r[0]);
            Drain::from_records(cfg.clone(), r).unwrap_err()
        };
        // optional parts: valid with an empty path, else refused
        let mut r = good.clone();
        r[0].tokens = r#"["a", 0, "c", "\u0001"]"#.into();
        r[0].path = "[]".into();
        let g = Drain::from_records(cfg.clone(), r).unwrap();
        assert_eq!(g.match_line("a 5 6 c 7"), Some(good[0].id));
        assert_eq!(g.match_line("a c 7"), Some(good[0].id));
        assert_eq!(g.match_line("a 1 2 3 4 c 7"), None);
        assert_eq!(g.match_line("a words here c 7"), None);
        assert!(
            bad(&|r| {
                r.tokens = r#"["a", 0, "c", "\u0001"]"#.into();
            })
            .contains("path")
        );
        for t in [
            r#"["a", 0, 0, "c"]"#,
            r#"[0, "a", 0, "b", 0, "c", 0, "d"]"#,
            r#"[0, "a"]"#,
            r#"["a", 7, "c", "d"]"#,
            r#"{"seed": ["a", 0, "c", "d"]}"#,
        ] {
            let e = bad(&|r| {
                r.tokens = t.into();
                r.path = "[]".into();
            });
            assert!(e.contains("cluster"), "{t}: {e}");
        }
        assert!(bad(&|r| r.id = 0).contains("cluster id 0 is out of range"));
        assert!(bad(&|r| r.id = -5i64 as u64).contains("cluster id -5 is out of range"));
        assert!(bad(&|r| r.id = MAX_ID + 1).contains("out of range"));
        assert!(bad(&|r| r.last_used = -1i64 as u64).contains("last_used -1 is out of range"));
        assert!(bad(&|r| r.last_used = 0).contains("last_used 0 is out of range 1"));
        assert!(bad(&|r| r.size = 0).contains("size 0 is out of range"));
        assert!(bad(&|r| r.size = -3i64 as u64).contains("size -3 is out of range"));
        assert!(bad(&|r| r.size = 2).contains("size 2 is out of range 1..=1"));
        assert!(
            bad(&|r| r.tokens = "[null,\"b\",\"c\",\"\\u0001\"]".into()).contains("path entry 0")
        );
        assert!(bad(&|r| r.path = "[\"b\"]".into()).contains("path entry 0"));
        assert!(bad(&|r| r.tokens = "[\"a\",\"b\",\"c\",\"\"]".into()).contains("invalid token"));
        assert!(bad(&|r| r.tokens = "{}".into()).contains("tokens"));
        assert!(
            bad(&|r| r.tokens = format!("[{}]", vec!["\"x\""; 129].join(",")))
                .contains("129 tokens, more than max_tokens 128")
        );
        assert!(
            bad(&|r| r.tokens = format!("[\"{}\"]", "x".repeat(20_000)))
                .contains("bytes, more than")
        );
        // a path key with a parameter: the tree never keys on one
        let mut d3 = drain();
        d3.train("a1 b c");
        let mut r = d3.records();
        r[0].path = "[\"\\u0001\"]".into();
        assert!(
            Drain::from_records(cfg.clone(), r)
                .unwrap_err()
                .contains("path entry 0")
        );
        // an extra delimiter inside a token
        let slash = DrainConfig::from_json(r#"{"extra_delimiters":"/"}"#).unwrap();
        let mut d4 = drain();
        d4.train("GET a/b");
        assert!(
            Drain::from_records(slash, d4.records())
                .unwrap_err()
                .contains("invalid token")
        );
        // more clusters in one leaf than the configuration allows
        let mut d5 = drain();
        for l in ["x a", "x b", "x c d", "x e f"] {
            d5.train(l);
        }
        let one = DrainConfig::from_json(r#"{"max_leaf_clusters":1}"#).unwrap();
        assert!(
            Drain::from_records(one, d5.records())
                .unwrap_err()
                .contains("max_leaf_clusters")
        );
        // a huge example is cut, not refused
        let mut r = good.clone();
        r[0].example = "a b c 1 ".repeat(100_000);
        let d6 = Drain::from_records(cfg.clone(), r).unwrap();
        assert!(d6.cluster(good[0].id).unwrap().example().len() <= 512);
    }

    /// Minimal CSV reader (quoted fields, doubled quotes, newlines in quotes).
    fn read_csv(text: &str) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        let mut row = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                (true, '"') => quoted = false,
                (true, c) => field.push(c),
                (false, '"') => quoted = true,
                (false, ',') => row.push(std::mem::take(&mut field)),
                (false, '\n') => {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                (false, '\r') => {}
                (false, c) => field.push(c),
            }
        }
        if !field.is_empty() || !row.is_empty() {
            row.push(field);
            rows.push(row);
        }
        rows
    }

    /// Grouping accuracy (Zhu et al. 2019).
    fn grouping_accuracy(truth: &[String], pred: &[u64]) -> f64 {
        let mut gt: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut pr: HashMap<u64, usize> = HashMap::new();
        for (i, t) in truth.iter().enumerate() {
            gt.entry(t).or_default().push(i);
            *pr.entry(pred[i]).or_default() += 1;
        }
        let correct: usize = gt
            .values()
            .filter(|m| m.iter().all(|&i| pred[i] == pred[m[0]]) && pr[&pred[m[0]]] == m.len())
            .map(|m| m.len())
            .sum();
        correct as f64 / truth.len() as f64
    }

    #[test]
    fn loghub_grouping_accuracy() {
        // $DRAIN_LOGHUB_DIR, else shared/ of the workplace or beside the repo.
        let candidates = [
            std::env::var("DRAIN_LOGHUB_DIR").unwrap_or_default(),
            "/work/shared/data/loghub-2k".to_string(),
            concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/loghub-2k").to_string(),
        ];
        let Some(dir) = candidates
            .iter()
            .map(std::path::Path::new)
            .find(|p| !p.as_os_str().is_empty() && p.is_dir())
        else {
            println!("note: Loghub-2k data absent, accuracy test skipped");
            return;
        };
        let mut systems: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        systems.sort();
        let mut sum = 0.0;
        let mut k = 0;
        for s in &systems {
            let Ok(text) =
                std::fs::read_to_string(dir.join(s).join(format!("{s}_2k.log_structured.csv")))
            else {
                continue;
            };
            let rows = read_csv(&text);
            let ci = rows[0].iter().position(|h| h == "Content").unwrap();
            let ti = rows[0].iter().position(|h| h == "EventTemplate").unwrap();
            let rows = &rows[1..];
            let mut d = drain();
            for r in rows {
                d.train(&r[ci]);
            }
            let pred: Vec<u64> = rows.iter().map(|r| d.match_line(&r[ci]).unwrap()).collect();
            let truth: Vec<String> = rows.iter().map(|r| r[ti].clone()).collect();
            let ga = grouping_accuracy(&truth, &pred);
            println!("{s:<10} GA={ga:.3}");
            sum += ga;
            k += 1;
        }
        if k > 0 {
            let avg = sum / k as f64;
            println!("average GA={avg:.3}");
            assert!(avg >= 0.90, "average GA {avg:.3}");
        }
    }
}
