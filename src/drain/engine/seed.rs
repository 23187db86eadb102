//! Seeded templates: clusters given by the user before training.

use super::*;

impl Drain {
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
                    // What the tokenizer itself made a parameter: a number
                    // or a mask's match in the template's text.
                    c if c < 0x80 && is_param_byte(c as u8) => {
                        line.norm.push(c as u8);
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
                crate::drain::tokenize::shape_of(tok_text, &mut buf);
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
}
