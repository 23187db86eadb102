//! The configuration of a Drain model: its knobs, masks and bounds.

use super::*;

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

    /// Bytes the configuration holds (its masks' texts; the compiled mask
    /// set is shared and not counted).
    pub fn approx_bytes(&self) -> usize {
        self.extra_delimiters.capacity()
            + self.param_str.capacity()
            + self
                .masks
                .iter()
                .map(|m| std::mem::size_of::<Mask>() + m.name.capacity() + m.regex.capacity())
                .sum::<usize>()
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
