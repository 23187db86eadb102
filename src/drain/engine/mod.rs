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

mod align;
mod cluster;
mod config;
mod lookup;
mod persist;
mod render;
mod seed;
mod tree;

pub use cluster::*;
pub use config::*;
pub use persist::{check_persist_roundtrip, check_persist_roundtrip_with};
use {persist::*, render::*};

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

    /// An estimate of the heap and inline bytes the model holds, from the
    /// capacities of its buffers (the registry's memory bound counts it;
    /// a compiled mask set is shared between models and not counted).
    /// O(clusters + tree nodes).
    pub fn approx_bytes(&self) -> usize {
        use std::mem::size_of;
        // A hash map entry: key, value and a control byte, at 7/8 load.
        fn map<K, V>(cap: usize) -> usize {
            cap * (size_of::<K>() + size_of::<V>() + 1) * 8 / 7
        }
        fn boxes(v: &[Box<str>]) -> usize {
            std::mem::size_of_val(v) + v.iter().map(|t| t.len()).sum::<usize>()
        }
        let mut n = size_of::<Drain>()
            + self.len_gen.capacity() * 8
            + self.slots.capacity() * size_of::<Option<Cluster>>()
            + self.free_slots.capacity() * 4
            + map::<u64, u32>(self.by_id.capacity())
            + self.nodes.capacity() * size_of::<Node>()
            + self.free_nodes.capacity() * 4
            + map::<u64, (u32, u64)>(self.hits.capacity())
            + self.gapped.capacity() * 4
            + self.cfg.approx_bytes();
        for c in self.slots.iter().flatten() {
            n += c.toks.capacity() * 8
                + boxes(&c.texts)
                + c.template.capacity()
                + c.path.capacity() * 8
                + boxes(&c.path_texts)
                + c.pat.capacity()
                + c.shapes.capacity() * 8
                + c.example.capacity();
        }
        for node in &self.nodes {
            n += map::<u64, u32>(node.children.capacity()) + node.clusters.capacity() * 4;
        }
        let scratch = |s: &Scratch| {
            size_of::<Scratch>()
                + s.line.approx_bytes()
                + (s.frontier.capacity() + s.next.capacity() + s.group.capacity()) * 4
                + (s.diff.capacity() + s.vals.capacity() + s.counts.capacity()) * 8
                + s.gens.iter().map(|g| g.capacity() + 24).sum::<usize>()
        };
        if let Some(s) = &self.train_scratch {
            n += scratch(s);
        }
        if let Ok(s) = self.scratch.try_borrow() {
            n += scratch(&s);
        }
        n
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
                mid = (d.approx_bytes(), d.tree_nodes());
            }
        }
        let end = (d.approx_bytes(), d.tree_nodes());
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
