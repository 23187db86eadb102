//! OpenTelemetry's semantic conventions, embedded: the registry of
//! attributes and the span, metric, event and entity definitions of one
//! release (`data.json`, written by tools/semconv_gen.py from the release's
//! model files), read once per process. The SQL face is in `sql.rs`:
//! `semconv_attributes`, `semconv_metrics`, `semconv_groups`,
//! `semconv_group_attributes`, `semconv_attribute()`, `semconv_nearest()`.

pub mod sql;

use std::ops::Range;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

/// The compact form of the release, generated and committed.
const DATA: &str = include_str!("data.json");

/// A registry attribute.
pub struct Attribute {
    pub name: String,
    /// The value type: string, int, double, boolean, string[], int[],
    /// double[], boolean[] or any (an enum's: its members' type; a
    /// template's: the type of each of its keys' values).
    pub typ: String,
    /// A template: its keys are `name.<key>` (`http.request.header.accept`).
    pub template: bool,
    /// An enum's member values, as a JSON array.
    pub enum_members: Option<String>,
    pub stability: Option<String>,
    pub deprecated_reason: Option<String>,
    pub replacement: Option<String>,
    pub deprecated_note: Option<String>,
    pub brief: Option<String>,
}

impl Attribute {
    /// What precedes the first dot (the whole name when it has none).
    pub fn namespace(&self) -> &str {
        namespace(&self.name)
    }
    pub fn deprecated(&self) -> bool {
        self.deprecated_reason.is_some()
    }
}

/// The namespace of a key: what precedes its first dot.
pub fn namespace(key: &str) -> &str {
    key.split_once('.').map_or(key, |(ns, _)| ns)
}

/// A span, metric, event or entity definition.
pub struct Group {
    pub id: String,
    /// span, metric, event or entity.
    pub typ: String,
    /// The metric's, event's or entity's name (spans have none).
    pub name: Option<String>,
    pub span_kind: Option<String>,
    pub instrument: Option<String>,
    pub unit: Option<String>,
    pub stability: Option<String>,
    pub deprecated_reason: Option<String>,
    pub replacement: Option<String>,
    pub deprecated_note: Option<String>,
    /// The definition this one refines (a Kafka span of a messaging span).
    pub refines: Option<String>,
    pub brief: Option<String>,
}

/// An attribute of a group, resolved (inherited ones included).
pub struct GroupAttribute {
    /// Index of the group in [`Registry::groups`].
    pub group: usize,
    pub attribute: String,
    /// required, conditionally_required, recommended or opt_in.
    pub level: String,
    /// When a conditionally required or recommended attribute applies.
    pub condition: Option<String>,
    /// An entity attribute's role: identifying or descriptive.
    pub role: Option<String>,
}

/// The embedded release, sorted for lookups.
pub struct Registry {
    pub version: String,
    pub schema_url: String,
    /// Sorted by name.
    pub attributes: Vec<Attribute>,
    /// Sorted by id.
    pub groups: Vec<Group>,
    /// Sorted by group, then attribute.
    pub group_attributes: Vec<GroupAttribute>,
    /// Indexes of the metric groups that are not refinements, sorted by
    /// metric name (one per name).
    pub metrics: Vec<usize>,
    /// Indexes of the attributes that name a replacement, sorted by it.
    by_replacement: Vec<usize>,
    /// The candidates of `nearest`: every attribute that is not deprecated,
    /// with its name `normalized` once (not once per key asked about).
    suggestable: Vec<(usize, Vec<char>)>,
}

type RawAttribute = (
    String,
    String,
    u8,
    Option<Vec<Value>>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);
type RawGroup = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);
type RawGroupAttribute = (String, String, String, Option<String>, Option<String>);

#[derive(Deserialize)]
struct Raw {
    semconv_version: String,
    schema_url: String,
    attributes: Vec<RawAttribute>,
    groups: Vec<RawGroup>,
    group_attributes: Vec<RawGroupAttribute>,
}

impl Registry {
    /// Reads the compact form, checking the order the lookups rely on.
    pub fn parse(text: &str) -> Result<Registry, String> {
        let raw: Raw = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let attributes: Vec<Attribute> = raw
            .attributes
            .into_iter()
            .map(|a| Attribute {
                name: a.0,
                typ: a.1,
                template: a.2 != 0,
                enum_members: a.3.map(|m| Value::Array(m).to_string()),
                stability: a.4,
                deprecated_reason: a.5,
                replacement: a.6,
                deprecated_note: a.7,
                brief: a.8,
            })
            .collect();
        if let Some(w) = attributes.windows(2).find(|w| w[0].name >= w[1].name) {
            return Err(format!("attributes out of order at {}", w[1].name));
        }
        let groups: Vec<Group> = raw
            .groups
            .into_iter()
            .map(|g| Group {
                id: g.0,
                typ: g.1,
                name: g.2,
                span_kind: g.3,
                instrument: g.4,
                unit: g.5,
                stability: g.6,
                deprecated_reason: g.7,
                replacement: g.8,
                deprecated_note: g.9,
                refines: g.10,
                brief: g.11,
            })
            .collect();
        if let Some(w) = groups.windows(2).find(|w| w[0].id >= w[1].id) {
            return Err(format!("groups out of order at {}", w[1].id));
        }
        let mut group_attributes = Vec::with_capacity(raw.group_attributes.len());
        for (gid, attribute, level, condition, role) in raw.group_attributes {
            let group = groups
                .binary_search_by(|g| g.id.as_str().cmp(&gid))
                .map_err(|_| format!("group attribute of unknown group {gid}"))?;
            group_attributes.push(GroupAttribute {
                group,
                attribute,
                level,
                condition,
                role,
            });
        }
        if let Some(w) = group_attributes
            .windows(2)
            .find(|w| (w[0].group, &w[0].attribute) >= (w[1].group, &w[1].attribute))
        {
            return Err(format!(
                "group attributes out of order at {}",
                w[1].attribute
            ));
        }
        let mut metrics: Vec<usize> = (0..groups.len())
            .filter(|&i| groups[i].typ == "metric" && groups[i].refines.is_none())
            .collect();
        metrics.sort_by(|&a, &b| groups[a].name.cmp(&groups[b].name));
        if let Some(w) = metrics
            .windows(2)
            .find(|w| groups[w[0]].name == groups[w[1]].name || groups[w[0]].name.is_none())
        {
            return Err(format!(
                "metric {} without a name or defined twice",
                groups[w[1]].id
            ));
        }
        let mut by_replacement: Vec<usize> = (0..attributes.len())
            .filter(|&i| attributes[i].replacement.is_some())
            .collect();
        by_replacement.sort_by(|&a, &b| attributes[a].replacement.cmp(&attributes[b].replacement));
        let suggestable = (0..attributes.len())
            .filter(|&i| !attributes[i].deprecated())
            .map(|i| (i, normalized(&attributes[i].name)))
            .collect();
        Ok(Registry {
            version: raw.semconv_version,
            schema_url: raw.schema_url,
            attributes,
            groups,
            group_attributes,
            metrics,
            by_replacement,
            suggestable,
        })
    }

    /// The attribute named exactly `name`.
    pub fn attribute(&self, name: &str) -> Option<usize> {
        self.attributes
            .binary_search_by(|a| a.name.as_str().cmp(name))
            .ok()
    }

    /// The attribute that defines the key `key`: the attribute of that name,
    /// else the template whose keys it is one of (the longest such).
    pub fn defining(&self, key: &str) -> Option<usize> {
        if let Some(i) = self.attribute(key) {
            return Some(i);
        }
        let mut end = key.len();
        while let Some(dot) = key[..end].rfind('.') {
            if let Some(i) = self.attribute(&key[..dot])
                && self.attributes[i].template
            {
                return Some(i);
            }
            end = dot;
        }
        None
    }

    /// The attributes whose namespace is `ns` (an index range for the ones
    /// named `ns.…`, plus the one named `ns` itself if any).
    pub fn in_namespace(&self, ns: &str) -> (Option<usize>, Range<usize>) {
        let prefix = format!("{ns}.");
        let lo = self
            .attributes
            .partition_point(|a| a.name.as_str() < prefix.as_str());
        let hi = lo + self.attributes[lo..].partition_point(|a| a.name.starts_with(&prefix));
        (self.attribute(ns), lo..hi)
    }

    /// The attributes whose replacement is `to`, in name order.
    pub fn replaced_by(&self, to: &str) -> Vec<usize> {
        let key = |i: &usize| self.attributes[*i].replacement.as_deref().unwrap_or("");
        let lo = self.by_replacement.partition_point(|i| key(i) < to);
        let hi = self.by_replacement.partition_point(|i| key(i) <= to);
        let mut out = self.by_replacement[lo..hi].to_vec();
        out.sort_unstable();
        out
    }

    /// The rows of `group_attributes` of group `g`.
    pub fn attributes_of(&self, g: usize) -> Range<usize> {
        let lo = self.group_attributes.partition_point(|a| a.group < g);
        let hi = self.group_attributes.partition_point(|a| a.group <= g);
        lo..hi
    }

    /// The group with id `id`.
    pub fn group(&self, id: &str) -> Option<usize> {
        self.groups.binary_search_by(|g| g.id.as_str().cmp(id)).ok()
    }

    /// The position in [`Registry::metrics`] of the metric named `name`.
    pub fn metric(&self, name: &str) -> Option<usize> {
        self.metrics
            .binary_search_by(|&g| self.groups[g].name.as_deref().unwrap_or("").cmp(name))
            .ok()
    }

    /// Up to `n` attribute names nearest to `key` (not deprecated, not `key`
    /// itself), nearest first, with their distance: the edit distance
    /// (insertions, deletions, substitutions, transpositions of neighbours)
    /// between the names with case and the choice of separator ignored
    /// (`userId`, `user_id`, `user-id` and `user.id` are at distance 0). Only
    /// names within max(2, a quarter of the key's length) count.
    pub fn nearest(&self, key: &str, n: usize) -> Vec<(&str, usize)> {
        let k = normalized(key);
        let limit = (k.len() / 4).max(2);
        // (name, distance, letters in common at the start)
        let mut found: Vec<(&str, usize, usize)> = Vec::new();
        let mut scratch = Scratch::default();
        for (i, c) in &self.suggestable {
            let a = &self.attributes[*i];
            if c.len().abs_diff(k.len()) > limit || a.name == key {
                continue;
            }
            if let Some(d) = osa_distance(&k, c, limit, &mut scratch) {
                let common = k.iter().zip(c).take_while(|(x, y)| x == y).count();
                found.push((&a.name, d, common));
            }
        }
        // Nearest first; among equals, the longer shared start
        // (`http.response.status` → `http.response.status_code` before
        // `http.response.size`), then by name.
        found.sort_by(|a, b| a.1.cmp(&b.1).then(b.2.cmp(&a.2)).then_with(|| a.0.cmp(b.0)));
        found.truncate(n);
        found.into_iter().map(|(s, d, _)| (s, d)).collect()
    }
}

/// A name as its letters: lower case, every separator (`.`, `_`, `-`, a
/// space, a lower-to-upper case step) one `.`.
pub fn normalized(name: &str) -> Vec<char> {
    let mut out: Vec<char> = Vec::with_capacity(name.len());
    let mut prev_lower = false;
    for c in name.chars() {
        if matches!(c, '.' | '_' | '-' | ' ') {
            if out.last() != Some(&'.') {
                out.push('.');
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && out.last() != Some(&'.') {
            out.push('.');
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        out.extend(c.to_lowercase());
    }
    out
}

#[derive(Default)]
struct Scratch {
    rows: [Vec<usize>; 3],
}

/// The optimal-string-alignment distance between `a` and `b` when it is at
/// most `limit`.
fn osa_distance(a: &[char], b: &[char], limit: usize, s: &mut Scratch) -> Option<usize> {
    let m = b.len();
    for r in s.rows.iter_mut() {
        r.clear();
        r.resize(m + 1, 0);
    }
    let [prev2, prev, cur] = &mut s.rows;
    for (j, v) in prev.iter_mut().enumerate() {
        *v = j;
    }
    for i in 1..=a.len() {
        cur[0] = i;
        let mut best = cur[0];
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            best = best.min(v);
        }
        if best > limit {
            return None;
        }
        std::mem::swap(prev2, prev);
        std::mem::swap(prev, cur);
    }
    let d = prev[m];
    (d <= limit).then_some(d)
}

static REGISTRY: OnceLock<Result<Registry, String>> = OnceLock::new();

/// The embedded release, read on first use.
pub fn registry() -> Result<&'static Registry, String> {
    REGISTRY
        .get_or_init(|| Registry::parse(DATA))
        .as_ref()
        .map_err(|e| {
            format!(
                "the embedded semantic conventions are unreadable ({e}): a defect of this build"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg() -> &'static Registry {
        registry().expect("embedded data")
    }

    #[test]
    fn embedded_release_reads_and_is_sorted() {
        let r = reg();
        assert_eq!(r.version, "1.44.0");
        assert!(r.schema_url.ends_with("/1.44.0"));
        assert!(r.attributes.len() > 900);
        assert!(r.metrics.len() > 400);
        let m = r.metric("http.server.request.duration").expect("metric");
        let g = &r.groups[r.metrics[m]];
        assert_eq!(
            (g.instrument.as_deref(), g.unit.as_deref()),
            (Some("histogram"), Some("s"))
        );
    }

    #[test]
    fn defining_finds_names_and_template_keys() {
        let r = reg();
        let name = |k: &str| r.defining(k).map(|i| r.attributes[i].name.as_str());
        assert_eq!(name("http.request.method"), Some("http.request.method"));
        assert_eq!(
            name("http.request.header.x-forwarded-for"),
            Some("http.request.header")
        );
        assert_eq!(name("http.request.header"), Some("http.request.header"));
        assert_eq!(name("http.request.methd"), None);
        assert_eq!(name("http.request.method.x"), None); // not a template
        assert_eq!(name(""), None);
        assert_eq!(name("."), None);
        let dep = &r.attributes[r.attribute("http.method").unwrap()];
        assert_eq!(dep.replacement.as_deref(), Some("http.request.method"));
        assert_eq!(dep.deprecated_reason.as_deref(), Some("renamed"));
    }

    #[test]
    fn namespaces() {
        let r = reg();
        assert_eq!(
            r.replaced_by("url.full")
                .into_iter()
                .map(|i| r.attributes[i].name.as_str())
                .collect::<Vec<_>>(),
            ["http.url"]
        );
        assert!(r.replaced_by("no.such.attribute").is_empty());
        let (exact, range) = r.in_namespace("http");
        assert_eq!(exact, None);
        assert!(range.len() > 20);
        assert!(
            r.attributes[range.clone()]
                .iter()
                .all(|a| a.namespace() == "http")
        );
        assert!(r.in_namespace("no-such-namespace").1.is_empty());
        let (exact, _) = r.in_namespace("state");
        assert!(exact.is_some());
        assert_eq!(namespace("a.b.c"), "a");
        assert_eq!(namespace("abc"), "abc");
    }

    #[test]
    fn normalized_ignores_case_and_separators() {
        let s = |x: &str| normalized(x).into_iter().collect::<String>();
        assert_eq!(s("userId"), "user.id");
        assert_eq!(s("user_id"), "user.id");
        assert_eq!(s("User-ID"), "user.id");
        assert_eq!(s("user..id"), "user.id");
        assert_eq!(s("http2Flavor"), "http2.flavor");
    }

    #[test]
    fn osa_counts_transpositions_once() {
        let d = |a: &str, b: &str| {
            let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
            osa_distance(&a, &b, 10, &mut Scratch::default())
        };
        assert_eq!(d("abc", "abc"), Some(0));
        assert_eq!(d("abc", "acb"), Some(1));
        assert_eq!(d("kitten", "sitting"), Some(3));
        assert_eq!(d("", "abc"), Some(3));
        let long: Vec<char> = "abcdefghijklmnop".chars().collect();
        assert_eq!(osa_distance(&long, &[], 3, &mut Scratch::default()), None);
    }

    #[test]
    fn nearest_suggests_the_convention_name() {
        let r = reg();
        let top = |k: &str| r.nearest(k, 1).first().map(|x| x.0.to_string());
        assert_eq!(
            top("http.request.methd").as_deref(),
            Some("http.request.method")
        );
        assert_eq!(
            top("http.reqeust.method").as_deref(),
            Some("http.request.method")
        );
        assert_eq!(top("userId").as_deref(), Some("user.id"));
        assert_eq!(
            top("http.response.statuscode").as_deref(),
            Some("http.response.status_code")
        );
        assert_eq!(
            top("http.response.status").as_deref(),
            Some("http.response.status_code")
        );
        // Deprecated names are never suggested; far names neither.
        assert!(
            r.nearest("http.metod", 5)
                .iter()
                .all(|(n, _)| *n != "http.method")
        );
        assert!(r.nearest("zzzzzzzzzzzzzzzzzzzz", 3).is_empty());
        assert!(
            r.nearest("http.request.method", 3)
                .iter()
                .all(|(n, _)| *n != "http.request.method")
        );
    }
}
