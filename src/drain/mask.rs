//! Masks: the configured regular expressions that mark what they match in
//! a line as a named parameter (`<IP>`, `<UUID>`, ...), compiled once per
//! set of patterns. See the tokenizer's module docs for where they apply.

use regex_automata::meta;

use super::tokenize::{C_SEP, MASK_BASE};

/// Compiled masks: one multi-pattern regular expression (leftmost-first,
/// linear time) and the names of its patterns. Clones share the expression
/// and its match caches (a clone of a `meta::Regex` would get caches of its
/// own, about 200 KiB once used: one per model, 30 000 models, 7 GB).
#[derive(Clone, Debug)]
pub(crate) struct Masker {
    re: std::sync::Arc<meta::Regex>,
    /// Per pattern: when it has a capture group (then only group 1 is
    /// masked), the pattern compiled alone, which finds the group inside a
    /// match of `re`. Alone, its automaton is the pattern's only: a one-pass
    /// pattern's groups come from a one-pass DFA in one scan, where the
    /// multi-pattern expression would run the PikeVM over the whole match
    /// (about 1 000 instructions a byte: a 3 000-byte path token cost
    /// 3 M instructions per line).
    grouped: Vec<Option<std::sync::Arc<meta::Regex>>>,
}

/// Compiled mask sets, by their patterns: configurations are read often
/// (each load of a partition, each ingest batch) and compiling is costly.
static COMPILED: std::sync::Mutex<Vec<(Vec<String>, Masker)>> = std::sync::Mutex::new(Vec::new());
const COMPILED_MAX: usize = 32;

/// Size limit of a compiled mask set (its NFA), in bytes.
pub const MAX_MASK_PROGRAM_BYTES: usize = 4 << 20;

impl Masker {
    /// Compiles `patterns` (one per mask, in priority order). The error
    /// names the pattern that does not compile.
    pub fn new(patterns: &[&str]) -> Result<Option<Masker>, String> {
        if patterns.is_empty() {
            return Ok(None);
        }
        if let Ok(c) = COMPILED.lock()
            && let Some((_, m)) = c
                .iter()
                .find(|(p, _)| p.iter().map(|s| s.as_str()).eq(patterns.iter().copied()))
        {
            return Ok(Some(m.clone()));
        }
        // `find`: the expression searches (lazy DFA); otherwise it only
        // reads groups inside a known match (no DFA to build).
        let build = |ps: &[&str], find: bool| {
            meta::Regex::builder()
                .configure(
                    meta::Config::new()
                        .nfa_size_limit(Some(MAX_MASK_PROGRAM_BYTES))
                        .onepass_size_limit(Some(MAX_MASK_PROGRAM_BYTES))
                        .hybrid_cache_capacity(2 << 20)
                        .hybrid(find)
                        .dfa(false),
                )
                .build_many(ps)
                .map_err(|e| {
                    // the syntax error's text (several lines) as one line
                    let mut msg = e.to_string();
                    if let Some(src) = std::error::Error::source(&e) {
                        msg = format!("{msg}: {src}");
                    }
                    msg.split_whitespace().collect::<Vec<_>>().join(" ")
                })
        };
        match build(patterns, true) {
            Ok(re) => {
                let mut grouped = Vec::with_capacity(patterns.len());
                for (i, p) in patterns.iter().enumerate() {
                    let id = regex_automata::PatternID::new_unchecked(i);
                    grouped.push(if re.group_info().group_len(id) > 1 {
                        // It compiled with the others, so it compiles alone.
                        Some(std::sync::Arc::new(build(&[p], false)?))
                    } else {
                        None
                    });
                }
                let m = Masker {
                    re: std::sync::Arc::new(re),
                    grouped,
                };
                if let Ok(mut c) = COMPILED.lock() {
                    if c.len() >= COMPILED_MAX {
                        c.remove(0);
                    }
                    c.push((patterns.iter().map(|s| s.to_string()).collect(), m.clone()));
                }
                Ok(Some(m))
            }
            Err(e) => {
                // Say which one: compile them one by one.
                for (i, p) in patterns.iter().enumerate() {
                    if let Err(e) = build(&[p], true) {
                        return Err(format!("mask {i}: {e}"));
                    }
                }
                Err(format!("the masks together: {e}"))
            }
        }
    }

    /// Matches of the masks in `b`, leftmost-first, as (start, end, mask
    /// byte). Empty matches and matches that hold one of `cut` (the extra
    /// delimiters, which win over masks) are skipped.
    pub(super) fn ranges(&self, b: &[u8], class: &[u8; 256], out: &mut Vec<(usize, usize, u8)>) {
        out.clear();
        // Captures of the last grouped pattern met (each pattern's own).
        let mut caps: Option<(usize, regex_automata::util::captures::Captures)> = None;
        for m in self.re.find_iter(b) {
            let pid = m.pattern();
            let (mut s, mut e) = (m.start(), m.end());
            if let Some(alone) = &self.grouped[pid.as_usize()] {
                // The pattern's match at s, as the multi-pattern search
                // anchored on pid would find it (look-arounds see the bytes
                // around the span either way).
                let i = pid.as_usize();
                if caps.as_ref().is_none_or(|c| c.0 != i) {
                    caps = Some((i, alone.create_captures()));
                }
                let caps = &mut caps.as_mut().expect("set above").1;
                let input = regex_automata::Input::new(b)
                    .span(s..e)
                    .anchored(regex_automata::Anchored::Yes);
                alone.search_captures(&input, caps);
                match caps.get_group(1) {
                    Some(g) => (s, e) = (g.start, g.end),
                    None => continue,
                }
            }
            if s == e {
                continue;
            }
            // An extra delimiter (a separator byte that is not whitespace
            // nor a control character) inside the match: not masked.
            if b[s..e]
                .iter()
                .any(|&c| class[c as usize] & C_SEP != 0 && c > b' ' && c != 0x7f)
            {
                continue;
            }
            out.push((s, e, MASK_BASE + pid.as_usize() as u8));
        }
    }
}
