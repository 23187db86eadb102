//! Models as stored rows: building a model back from its records, and
//! the stored form of tokens.

use super::*;

impl Drain {
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
}

/// Tokens as stored: the text, `null` for a wildcard, `0` for an optional
/// run.
pub(super) fn encode_tokens<'a>(texts: impl Iterator<Item = (&'a str, u64)>) -> String {
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
pub(super) enum StoredTok {
    Text(String),
    Wild(()),
    Gap(u8),
}

/// Reads a `tokens` or `path` record: a JSON array of token texts (or
/// `null`), each one the tokenizer could produce (non-empty, no separator).
/// `None` stands for a wildcard. A path has no optional run.
pub(super) fn decode_tokens(s: &str, tokenizer: &Tokenizer) -> Result<Vec<Option<String>>, String> {
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
pub(super) fn decode_tokens_seed(
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

pub(super) fn to_record(c: &Cluster) -> ClusterRecord {
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
/// through what `store/` does with them: integers as SQLite's signed 64
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
