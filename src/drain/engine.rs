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

use super::tokenize::{hash_bytes, Tok, TokKind, Tokenized, Tokenizer, PARAM_BYTE, WILD};

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
    /// character boundary, 0..=1_048_576 (default 512).
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
    /// empty). Whitespace and control characters always separate tokens.
    pub extra_delimiters: String,
    /// Text that stands for a parameter in rendered templates, non-empty
    /// (default `<*>`).
    pub param_str: String,
}

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
        }
    }
}

impl DrainConfig {
    /// Parses a JSON object whose keys override the defaults. Unknown keys,
    /// wrong types and out-of-range values are errors naming the key.
    pub fn from_json(json: &str) -> Result<Self, String> {
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
                    c.extra_delimiters = s.to_string();
                }
                "param_str" => {
                    let s = val
                        .as_str()
                        .ok_or_else(|| format!("drain config: \"{key}\" must be a string"))?;
                    if s.is_empty() {
                        return Err(format!("drain config: \"{key}\" must not be empty"));
                    }
                    c.param_str = s.to_string();
                }
                _ => return Err(format!("drain config: unknown key \"{key}\"")),
            }
        }
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
        })
        .to_string()
    }
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
    size: u64,
    last_used: u64,
    example: String,
    prev: u32,
    next: u32,
}

impl Cluster {
    /// Stable id: the 1-based ordinal of the training line that created it.
    pub fn id(&self) -> u64 {
        self.id
    }
    /// Rendered template, parameters as `param_str`.
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
    group: Vec<u32>,
}

/// An online log-template model.
///
/// Differences from Drain3:
/// * tokens are normalized by a built-in classifier (see the `tokenize`
///   module) instead of regex masks: any punctuation-delimited segment with a
///   digit is a parameter, and the punctuation around it stays in the
///   template (`uid=<*>`);
/// * a line that an existing template covers always joins it (the most
///   specific one), wherever its cluster sits among the tree branches the
///   line can reach (its own tokens or `<*>` at each layer), so
///   [`Drain::match_line`] finds every trained line;
/// * evicted clusters are removed from the tree, and empty nodes pruned.
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
    /// Buffers of `train`.
    train_scratch: Option<Box<Scratch>>,
    /// Buffers of `match_line`.
    scratch: RefCell<Scratch>,
}

const ROOT: u32 = 0;

impl Drain {
    /// An empty model.
    pub fn new(cfg: DrainConfig) -> Self {
        let tokenizer = Tokenizer::new(&cfg.extra_delimiters, cfg.max_line_bytes, cfg.max_tokens);
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

    /// Number of prefix-tree nodes (root included), for memory checks.
    pub fn tree_nodes(&self) -> usize {
        self.nodes.len() - self.free_nodes.len()
    }

    /// Trains the model with one line. Returns the cluster the line belongs
    /// to now (its template as it is after this line) and what changed.
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
        let (fit, sim) = self.search(s, true);
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
        if let Some(slot) = sim {
            if let Some(r) = self.generalize(slot, s) {
                return r;
            }
        }
        let id = self.tick;
        let slot = self.create(raw, &s.line, id);
        let leaf = self.slot(slot).leaf;
        let evicted = if let Some(e) = self.evict_from_full_leaf(leaf, slot) {
            Some(e)
        } else if self.live > self.cfg.max_clusters {
            let victim = self.lru_tail;
            debug_assert!(victim != slot);
            Some(self.remove(victim))
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
        {
            let c = self.slot(slot);
            s.diff.clear();
            for (p, t) in line.toks.iter().enumerate() {
                if c.toks[p] != WILD && c.toks[p] != t.hash {
                    s.diff.push(p);
                }
            }
        }
        // Evidence: distinct values at each differing position.
        for &p in &s.diff {
            if param_differs(line.text(p).as_bytes(), self.slot(slot).texts[p].as_bytes()) {
                continue;
            }
            s.vals.clear();
            s.vals.push(line.toks[p].hash);
            let mut proven = false;
            'leaves: for &leaf in &s.frontier {
                for &o in &self.nodes[leaf as usize].clusters {
                    let oc = self.slot(o);
                    // agrees with the line outside the differing positions?
                    let agrees = oc.toks.iter().zip(&line.toks).enumerate().all(|(q, (a, t))| {
                        *a == WILD || *a == t.hash || s.diff.contains(&q)
                    });
                    if !agrees {
                        continue;
                    }
                    let v = oc.toks[p];
                    if v == WILD {
                        proven = true;
                        break 'leaves;
                    }
                    if !s.vals.contains(&v) {
                        s.vals.push(v);
                        if s.vals.len() >= k {
                            proven = true;
                            break 'leaves;
                        }
                    }
                }
            }
            if !proven {
                return None;
            }
        }
        // New template: the cluster's, with the differing positions wild.
        let mut toks = self.slot(slot).toks.clone();
        let mut texts = self.slot(slot).texts.clone();
        for &p in &s.diff {
            toks[p] = WILD;
            texts[p] = Box::from("");
        }
        s.group.clear();
        for &leaf in &s.frontier {
            for &o in &self.nodes[leaf as usize].clusters {
                let oc = self.slot(o);
                if oc.toks.iter().zip(&toks).all(|(a, t)| *t == WILD || a == t) {
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
        let param = self.cfg.param_str.clone();
        let c = self.slot_mut(survivor);
        c.n_wild = toks.iter().filter(|&&h| h == WILD).count() as u32;
        c.template = render(&texts, &toks, &param);
        c.toks = toks;
        c.texts = texts;
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

    /// Moves a cluster to the `<*>` branch of every tree layer where its
    /// template became a wildcard. Returns a cluster evicted from a full
    /// destination leaf.
    fn rehome(&mut self, slot: u32) -> Option<u64> {
        let c = self.slot(slot);
        let moved = c
            .path
            .iter()
            .zip(&c.toks)
            .any(|(k, t)| *k != WILD && *t == WILD);
        if !moved {
            return None;
        }
        let n = c.toks.len();
        let old_leaf = c.leaf;
        let mut path = c.path.clone();
        for (k, t) in path.iter_mut().zip(&c.toks) {
            if *t == WILD {
                *k = WILD;
            }
        }
        self.nodes[old_leaf as usize].clusters.retain(|&x| x != slot);
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
            .filter(|&o| o != keep)
            .min_by_key(|&o| self.slot(o).last_used)?;
        Some(self.remove(victim))
    }

    /// Read-only: the cluster whose template covers `line` (the most
    /// specific one), or `None`. Does not learn nor update the LRU clock.
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
        let (fit, _) = self.search(s, false);
        fit.map(|slot| self.slot(slot).id)
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
        let mut line = Tokenized::default();
        for r in &records {
            if d.by_id.contains_key(&r.id) {
                return Err(format!("drain records: duplicate cluster id {}", r.id));
            }
            if r.id == 0 || r.last_used < r.id {
                return Err(format!("drain records: cluster {}: bad id or last_used", r.id));
            }
            let toks = decode_tokens(&r.tokens)
                .map_err(|e| format!("drain records: cluster {}: tokens: {e}", r.id))?;
            let path = decode_tokens(&r.path)
                .map_err(|e| format!("drain records: cluster {}: path: {e}", r.id))?;
            let levels = d.levels(toks.len());
            if path.len() != levels || toks.len() > d.cfg.max_tokens {
                return Err(format!(
                    "drain records: cluster {}: shape does not fit the configuration",
                    r.id
                ));
            }
            // Build the cluster from a pseudo line with the template tokens.
            line.norm.clear();
            line.toks.clear();
            let mut c = d.new_cluster(r.id, &r.example, &line);
            for t in &toks {
                match t {
                    Some(text) => {
                        c.toks.push(hash_bytes(text.as_bytes()));
                        c.texts.push(Box::from(text.as_str()));
                    }
                    None => {
                        c.toks.push(WILD);
                        c.texts.push(Box::from(""));
                        c.n_wild += 1;
                    }
                }
            }
            c.template = render(&c.texts, &c.toks, &d.cfg.param_str);
            c.size = r.size;
            c.last_used = r.last_used;
            c.example = cut(&r.example, d.cfg.max_example_bytes).to_string();
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
                return Err(format!("drain records: two clusters with last_used {}", w[0].0));
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
        for s in [Some(&*s), self.train_scratch.as_deref()].into_iter().flatten() {
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

    // --- search -----------------------------------------------------------

    /// Finds, among the leaves the line can reach, the most specific cluster
    /// whose template covers the line (`fit`) and, if `want_sim` and no
    /// template covers it, the most similar cluster above `sim_th`.
    fn search(&self, s: &mut Scratch, want_sim: bool) -> (Option<u32>, Option<u32>) {
        let line = &s.line;
        let n = line.toks.len();
        let Some(&len_node) = self.nodes[ROOT as usize].children.get(&(n as u64)) else {
            return (None, None);
        };
        s.frontier.clear();
        s.frontier.push(len_node);
        let levels = self.levels(n);
        for t in &line.toks[..levels] {
            s.next.clear();
            for &nd in &s.frontier {
                let node = &self.nodes[nd as usize];
                if t.kind != TokKind::Param {
                    if let Some(&c) = node.children.get(&t.hash) {
                        s.next.push(c);
                    }
                }
                if node.wild != NIL {
                    s.next.push(node.wild);
                }
            }
            std::mem::swap(&mut s.frontier, &mut s.next);
            if s.frontier.is_empty() {
                return (None, None);
            }
        }
        // fit: (constant positions, -id); sim: (equal positions, wildcards, -id)
        let mut fit: Option<(u32, u32, u64)> = None;
        let mut sim: Option<(u32, u32, u32, u64)> = None;
        for &leaf in &s.frontier {
            for &slot in &self.nodes[leaf as usize].clusters {
                let c = self.slot(slot);
                let mut eq = 0u32;
                for (a, t) in c.toks.iter().zip(&line.toks) {
                    eq += (*a == t.hash) as u32;
                }
                let consts = n as u32 - c.n_wild;
                if eq == consts {
                    if fit.is_none_or(|f| consts > f.1 || (consts == f.1 && c.id < f.2)) {
                        fit = Some((slot, consts, c.id));
                    }
                } else if want_sim && fit.is_none() {
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
        }
        if let Some(f) = fit {
            return (Some(f.0), None);
        }
        let sim = sim.and_then(|(slot, eq, _, _)| {
            (n > 0 && eq as f64 >= self.cfg.sim_th * n as f64).then_some(slot)
        });
        (None, sim)
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
        c
    }

    /// Creates a cluster for `line`, places it in the tree (Drain3 rules)
    /// and makes it the most recently used. Returns its slot.
    fn create(&mut self, raw: &str, line: &Tokenized, id: u64) -> u32 {
        let mut c = self.new_cluster(id, raw, line);
        c.template = render(&c.texts, &c.toks, &self.cfg.param_str);
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
        self.nodes[c.leaf as usize].clusters.retain(|&s| s != slot);
        self.prune(c.leaf);
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

/// True when two different normalized tokens differ where one of them has a
/// parameter: after removing their common prefix and suffix, a rest holds
/// [`PARAM_BYTE`] (`rhost=<*>` / `rhost=host.example`, `(<*>)` / `()`),
/// which proves the position variable without waiting for more values.
fn param_differs(a: &[u8], b: &[u8]) -> bool {
    let pre = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[pre..], &b[pre..]);
    let suf = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    a[..a.len() - suf].contains(&PARAM_BYTE) || b[..b.len() - suf].contains(&PARAM_BYTE)
}

/// Cuts `s` to at most `max` bytes at a character boundary.
fn cut(s: &str, max: usize) -> &str {
    let mut n = s.len().min(max);
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    &s[..n]
}

/// Renders a template: tokens joined by one space, parameters as `param`.
fn render(texts: &[Box<str>], toks: &[u64], param: &str) -> String {
    let mut out = String::new();
    for (i, (t, h)) in texts.iter().zip(toks).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if *h == WILD {
            out.push_str(param);
        } else {
            for ch in t.chars() {
                if ch == PARAM_BYTE as char {
                    out.push_str(param);
                } else {
                    out.push(ch);
                }
            }
        }
    }
    out
}

fn encode_tokens<'a>(texts: impl Iterator<Item = (&'a str, bool)>) -> String {
    let v: Vec<serde_json::Value> = texts
        .map(|(t, wild)| {
            if wild {
                serde_json::Value::Null
            } else {
                serde_json::Value::String(t.to_string())
            }
        })
        .collect();
    serde_json::Value::Array(v).to_string()
}

fn decode_tokens(s: &str) -> Result<Vec<Option<String>>, String> {
    let v: Vec<Option<String>> = serde_json::from_str(s).map_err(|e| e.to_string())?;
    for t in v.iter().flatten() {
        if t.is_empty() || t.bytes().any(|b| b <= 0x20 && b != PARAM_BYTE || b == 0x7f) {
            return Err(format!("invalid token {t:?}"));
        }
    }
    Ok(v)
}

fn to_record(c: &Cluster) -> ClusterRecord {
    ClusterRecord {
        id: c.id,
        template: c.template.clone(),
        tokens: encode_tokens(c.texts.iter().zip(&c.toks).map(|(t, h)| (&**t, *h == WILD))),
        path: encode_tokens(
            c.path_texts
                .iter()
                .zip(&c.path)
                .map(|(t, h)| (&**t, *h == WILD)),
        ),
        size: c.size,
        last_used: c.last_used,
        example: c.example.clone(),
    }
}
