//! The prefix tree: searching a line's leaves, creating and removing
//! clusters, and the LRU list of a full model.

use super::*;

impl Drain {
    // --- search -----------------------------------------------------------

    /// Finds, among the leaves the line can reach, the most specific cluster
    /// whose template covers the line (`fit`) and, if `want_sim` and no
    /// template covers it, the most similar cluster above `sim_th`.
    pub(super) fn search(&self, s: &mut Scratch, want_sim: bool) -> (Option<u32>, Option<u32>) {
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
    pub(super) fn leaves(
        &self,
        line: &Tokenized,
        n: usize,
        frontier: &mut Vec<u32>,
        next: &mut Vec<u32>,
    ) {
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

    pub(super) fn slot(&self, slot: u32) -> &Cluster {
        self.slots[slot as usize].as_ref().expect("live slot")
    }

    pub(super) fn slot_mut(&mut self, slot: u32) -> &mut Cluster {
        self.slots[slot as usize].as_mut().expect("live slot")
    }

    pub(super) fn new_cluster(&self, id: u64, raw: &str, line: &Tokenized) -> Cluster {
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
    pub(super) fn create(&mut self, raw: &str, line: &Tokenized, id: u64) -> u32 {
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
    pub(super) fn remove(&mut self, slot: u32) -> u64 {
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
    pub(super) fn prune(&mut self, mut node: u32) {
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

    pub(super) fn child_or_new(&mut self, node: u32, key: u64) -> u32 {
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

    pub(super) fn alloc_slot(&mut self, c: Cluster) -> u32 {
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

    pub(super) fn touch(&mut self, slot: u32) {
        let tick = self.tick;
        self.slot_mut(slot).last_used = tick;
        if self.lru_head != slot {
            self.unlink(slot);
            self.push_front(slot);
        }
    }

    pub(super) fn unlink(&mut self, slot: u32) {
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

    pub(super) fn push_front(&mut self, slot: u32) {
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
