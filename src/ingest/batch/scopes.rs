//! Instrumentation scopes (schema version 3, `*_scopes` tables): per entity
//! and service, the records of each scope (name, version) that sent them.
//!
//! A batch numbers the distinct scopes it met ([`ScopeTable`]); a payload's
//! scope is looked up once per scope block. An entity's records are counted
//! per scope block (`BlockCount`, as for resource blocks) and added to the
//! scope's count of the block's service ([`ScopeCounts`], kept in the
//! entity's per-service part) when the scope block ends: a record costs no
//! lookup. Batches number scopes apart: a merge renumbers the later one's.

use ahash::AHashMap as Map;

use crate::ingest::keys::Counted;

/// The scopes a batch met: (name, version), numbered from 0 in first-seen
/// order.
#[derive(Default)]
pub struct ScopeTable {
    list: Vec<(String, String)>,
    /// By [`key`](Self::key).
    index: Map<String, u32>,
    /// A buffer for the lookup key.
    buf: String,
}

impl ScopeTable {
    /// The number of (`name`, `version`), given a new one if unseen.
    pub fn intern(&mut self, name: &str, version: &str) -> u32 {
        self.buf.clear();
        key(&mut self.buf, name, version);
        if let Some(&i) = self.index.get(self.buf.as_str()) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push((name.to_string(), version.to_string()));
        self.index.insert(self.buf.clone(), i);
        i
    }

    /// (name, version) of scope `i`.
    pub fn get(&self, i: u32) -> (&str, &str) {
        let (n, v) = &self.list[i as usize];
        (n, v)
    }

    /// Adds `o`'s scopes; returns where each of its numbers went.
    pub fn absorb(&mut self, o: &ScopeTable) -> Vec<u32> {
        o.list.iter().map(|(n, v)| self.intern(n, v)).collect()
    }
}

/// A key no two (name, version) pairs share: the name's length first.
fn key(out: &mut String, name: &str, version: &str) {
    use std::fmt::Write;
    let _ = write!(out, "{}:", name.len());
    out.push_str(name);
    out.push_str(version);
}

/// Records of one entity from one service, per scope number.
#[derive(Default)]
pub struct ScopeCounts(pub Map<u32, Counted>);

impl ScopeCounts {
    /// Adds a scope block's records of scope `scope`.
    pub fn add(&mut self, scope: u32, c: &Counted) {
        match self.0.get_mut(&scope) {
            Some(x) => x.merge(c),
            None => {
                self.0.insert(scope, c.clone());
            }
        }
    }

    /// Renumbers the scopes (`to[i]`: the new number of `i`).
    pub fn renumber(&mut self, to: &[u32]) {
        if self.0.iter().all(|(&i, _)| to[i as usize] == i) {
            return;
        }
        self.0 = std::mem::take(&mut self.0)
            .into_iter()
            .map(|(i, c)| (to[i as usize], c))
            .collect();
    }

    /// Adds a later batch's counts (numbered as these).
    pub fn merge(&mut self, o: ScopeCounts) {
        for (i, c) in o.0 {
            self.add(i, &c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_numbered_by_name_and_version() {
        let mut t = ScopeTable::default();
        let a = t.intern("io.x", "1.0");
        assert_eq!(t.intern("io.x", "1.0"), a);
        let b = t.intern("io.x1", ".0");
        let c = t.intern("", "");
        let d = t.intern("io.x", "");
        assert_eq!(vec![a, b, c, d], vec![0, 1, 2, 3]);
        assert_eq!(t.get(b), ("io.x1", ".0"));
        let mut o = ScopeTable::default();
        o.intern("", "");
        o.intern("new", "2");
        o.intern("io.x", "1.0");
        assert_eq!(t.absorb(&o), vec![2, 4, 0]);
        assert_eq!(t.get(4), ("new", "2"));
    }
}
