//! Time-bucketed history (docs/catalog.md "History"): what a batch keeps to
//! write each entity's, service's and key's counts per time bucket.
//!
//! A bucket is the start (unix seconds) of the interval of
//! `history_bucket_seconds` (default one hour) that a record's own time
//! falls in: the time `first_seen` takes (the ingest time when a record has
//! none). A sender controls its times: they are clamped to [1970, the ingest
//! clock + one day], so that a record from the far future cannot push every
//! other bucket out of the retention window, and an aggregate keeps at most
//! [`MAX_BUCKETS`] buckets in one batch (more go to its first bucket).
//!
//! Cost: an aggregate (a key, an entity's service part) remembers the one
//! bucket all its contributions fell into so far (`home`): a contribution
//! costs one compare, and at the flush the aggregate's own statistics are
//! that bucket's. Only when a contribution falls in another bucket does the
//! aggregate switch to a map of buckets: what it had counted goes to its
//! home bucket, and from then on every contribution is added there too.

use ahash::AHashMap as Map;

use crate::ffi::{Db, Result, Stmt, bail};

/// The default bucket width, seconds.
pub const DEFAULT_BUCKET: i64 = 3600;

/// How far past the ingest clock a record's time may lie (seconds).
pub const FUTURE_SLACK: i64 = 86_400;

/// The most buckets one aggregate keeps in one batch.
pub const MAX_BUCKETS: usize = 1024;

const NONE: i64 = i64::MIN;
const MULTI: i64 = i64::MIN + 1;

/// The bucket of a time: `width`-second intervals from the epoch.
#[derive(Clone, Debug)]
pub struct Bucketer {
    width: i64,
    max: i64,
    /// The last bucket computed and the times it covers, `[lo, hi)`.
    lo: i64,
    hi: i64,
    b: i64,
}

impl Bucketer {
    /// Buckets of `width` seconds (`0`: the default) for records ingested
    /// at `now` (unix seconds).
    pub fn new(width: i64, now: i64) -> Bucketer {
        let width = if width <= 0 { DEFAULT_BUCKET } else { width };
        Bucketer {
            width,
            max: now.saturating_add(FUTURE_SLACK),
            lo: 0,
            hi: 0,
            b: 0,
        }
    }

    /// The start of the bucket of `t` (unix seconds).
    #[inline(always)]
    pub fn of(&mut self, t: i64) -> i64 {
        if t >= self.lo && t < self.hi {
            return self.b;
        }
        self.compute(t)
    }

    #[inline(never)]
    fn compute(&mut self, t: i64) -> i64 {
        let c = t.clamp(0, self.max.max(0));
        let b = c - c.rem_euclid(self.width);
        if c == t {
            (self.lo, self.hi) = (b, b + self.width);
        }
        self.b = b;
        b
    }
}

/// The catalog's history settings (`otelcat_meta`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `history_bucket_seconds`: the bucket width.
    pub bucket: i64,
    /// `history_bucket_hours`: buckets this many hours older than the
    /// newest roll up into days.
    pub hours: i64,
    /// `history_days`: days this many days older than the newest bucket's
    /// day are dropped.
    pub days: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bucket: DEFAULT_BUCKET,
            hours: 48,
            days: 30,
        }
    }
}

impl Settings {
    /// The settings stored in the catalog (defaults for those absent); a
    /// value out of its range is an error that names it.
    pub fn read(db: Db) -> Result<Settings> {
        let mut s = Settings::default();
        let mut st = Stmt::prepare(
            db,
            "SELECT key, value FROM main.otelcat_meta WHERE key IN \
             ('history_bucket_seconds', 'history_bucket_hours', 'history_days')",
        )?;
        while st.step()? {
            let (key, text) = (st.column_text(0), st.column_text(1));
            let (slot, lo, hi) = match key.as_str() {
                "history_bucket_seconds" => (&mut s.bucket, 60, 86_400),
                "history_bucket_hours" => (&mut s.hours, 0, 1_000_000),
                _ => (&mut s.days, 1, 1_000_000),
            };
            match text.trim().parse::<i64>() {
                Ok(v)
                    if (lo..=hi).contains(&v)
                        && (key != "history_bucket_seconds" || 86_400 % v == 0) =>
                {
                    *slot = v
                }
                _ => bail!(
                    "otlp_ingest: the setting {key} in otelcat_meta is '{}', not a whole number \
                     from {lo} to {hi}{} (docs/catalog.md \"History\")",
                    text.chars().take(40).collect::<String>(),
                    if key == "history_bucket_seconds" {
                        " that divides 86400"
                    } else {
                        ""
                    }
                ),
            }
        }
        Ok(s)
    }
}

/// Statistics kept per bucket.
pub trait BucketStats: Default {
    fn merge(&mut self, o: &Self);
}

/// The buckets of one aggregate: one (`home`) while all its contributions
/// fell in it, else a map of each bucket's statistics.
#[derive(Debug)]
pub struct Hist<S> {
    home: i64,
    /// The first bucket (where contributions beyond [`MAX_BUCKETS`] go).
    first: i64,
    multi: Option<Box<Map<i64, S>>>,
}

impl<S> Default for Hist<S> {
    fn default() -> Self {
        Hist {
            home: NONE,
            first: NONE,
            multi: None,
        }
    }
}

impl<S: Clone> Clone for Hist<S> {
    fn clone(&self) -> Self {
        Hist {
            home: self.home,
            first: self.first,
            multi: self.multi.clone(),
        }
    }
}

/// Where an aggregate's contributions fell.
pub enum Buckets<'a, S> {
    /// Nothing counted.
    Empty,
    /// All in one bucket: the aggregate's own statistics are the bucket's.
    One(i64),
    /// Each bucket's statistics.
    Many(&'a Map<i64, S>),
}

impl<S: BucketStats> Hist<S> {
    /// Whether a contribution in bucket `b` needs nothing more than the
    /// aggregate's own statistics (the one compare of the hot path).
    #[inline(always)]
    pub fn is_home(&self, b: i64) -> bool {
        self.home == b
    }

    /// A contribution in bucket `b` that is not home (call before adding
    /// it to the aggregate's own statistics, which `own` snapshots): the
    /// bucket's statistics to add it to, or `None` when `b` became home.
    #[inline(never)]
    pub fn other(&mut self, b: i64, own: impl FnOnce() -> S) -> Option<&mut S> {
        if self.home == NONE {
            (self.home, self.first) = (b, b);
            return None;
        }
        if self.home != MULTI {
            let mut m = Map::new();
            m.insert(self.home, own());
            self.multi = Some(Box::new(m));
            self.home = MULTI;
        }
        let m = self.multi.as_mut().expect("multi");
        let b = if m.len() >= MAX_BUCKETS && !m.contains_key(&b) {
            self.first
        } else {
            b
        };
        Some(m.entry(b).or_default())
    }

    /// Adds a later aggregate's buckets (call before merging the
    /// aggregates' own statistics: `own` and `theirs` snapshot them).
    pub fn merge(&mut self, o: &Hist<S>, own: impl FnOnce() -> S, theirs: impl FnOnce() -> S) {
        match o.buckets() {
            Buckets::Empty => {}
            Buckets::One(b) if self.home == b || self.home == NONE => {
                (self.home, self.first) = (b, b);
            }
            Buckets::One(b) => {
                let t = theirs();
                if let Some(e) = self.other(b, own) {
                    e.merge(&t);
                }
            }
            Buckets::Many(m) => {
                let mut own = Some(own);
                let mut keys: Vec<_> = m.keys().copied().collect();
                keys.sort_unstable();
                for b in keys {
                    if self.home == NONE {
                        // Keep a map even for one bucket: our own
                        // statistics will hold all of theirs.
                        (self.home, self.first) = (b, b);
                        self.home = MULTI;
                        self.multi = Some(Box::default());
                    }
                    let snap = || own.take().map(|f| f()).unwrap_or_default();
                    if let Some(e) = self.other(b, snap) {
                        e.merge(&m[&b]);
                    }
                }
            }
        }
    }

    pub fn buckets(&self) -> Buckets<'_, S> {
        match (self.home, &self.multi) {
            (NONE, _) => Buckets::Empty,
            (MULTI, Some(m)) => Buckets::Many(m),
            (b, _) => Buckets::One(b),
        }
    }
}

/// Records and their bytes: an entity's (per service) and a log template's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Vol {
    pub count: u64,
    pub bytes: u64,
}

impl BucketStats for Vol {
    fn merge(&mut self, o: &Self) {
        self.count += o.count;
        self.bytes += o.bytes;
    }
}

/// The records of an aggregate with their buckets.
#[derive(Debug, Default, Clone)]
pub struct Volume {
    pub total: Vol,
    pub hist: Hist<Vol>,
}

impl Volume {
    /// Counts `n` records taking `bytes` in bucket `b`.
    #[inline(always)]
    pub fn add(&mut self, b: i64, n: u64, bytes: u64) {
        if !self.hist.is_home(b) {
            let total = self.total;
            if let Some(e) = self.hist.other(b, || total) {
                e.count += n;
                e.bytes += bytes;
            }
        }
        self.total.count += n;
        self.total.bytes += bytes;
    }

    pub fn merge(&mut self, o: &Volume) {
        let (own, theirs) = (self.total, o.total);
        self.hist.merge(&o.hist, || own, || theirs);
        self.total.merge(&o.total);
    }

    /// Each bucket's records and bytes, by bucket.
    pub fn by_bucket(&self) -> Vec<(i64, Vol)> {
        let mut v: Vec<_> = match self.hist.buckets() {
            Buckets::Empty => Vec::new(),
            Buckets::One(b) => vec![(b, self.total)],
            Buckets::Many(m) => m.iter().map(|(b, v)| (*b, *v)).collect(),
        };
        v.sort_unstable_by_key(|x| x.0);
        v
    }
}

/// Adds `from`'s buckets to a bucket map (an entity's from its services').
pub fn add_buckets(into: &mut Map<i64, Vol>, from: &Volume) {
    for (b, v) in from.by_bucket() {
        into.entry(b).or_default().merge(&v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::XorShift;

    #[test]
    fn buckets_start_at_multiples_of_the_width() {
        let mut b = Bucketer::new(3600, 10_000_000);
        assert_eq!(b.of(0), 0);
        assert_eq!(b.of(3599), 0);
        assert_eq!(b.of(3600), 3600);
        assert_eq!(b.of(7199), 3600);
        assert_eq!(b.of(7200), 7200);
        // Before 1970: the first bucket; far future: a day past the clock.
        assert_eq!(b.of(-5), 0);
        assert_eq!(b.of(i64::MIN), 0);
        assert_eq!(
            b.of(i64::MAX),
            10_000_000 + 86_400 - (10_000_000 + 86_400) % 3600
        );
        assert_eq!(b.of(3600), 3600);
        let mut d = Bucketer::new(0, 0);
        assert_eq!(d.of(5000), 3600);
        assert_eq!(d.of(86_399), 82_800);
        assert_eq!(d.of(200_000), 86_400, "clamped to the clock + a day");
        let mut q = Bucketer::new(900, 1_000_000);
        assert_eq!(q.of(1_000), 900);
    }

    /// Whatever the order of contributions and the split into batches, the
    /// buckets hold what adding each record to its own bucket gives.
    #[test]
    fn volume_buckets_are_exact_through_merges() {
        let mut rnd = XorShift::new(5);
        for case in 0..500 {
            let recs: Vec<(i64, u64)> = (0..rnd.below(30))
                .map(|_| (rnd.below(4) as i64 * 3600, rnd.below(100)))
                .collect();
            let mut want: Map<i64, Vol> = Map::new();
            for &(b, bytes) in &recs {
                want.entry(b).or_default().merge(&Vol { count: 1, bytes });
            }
            let mut want: Vec<_> = want.into_iter().collect();
            want.sort_unstable_by_key(|x| x.0);
            let split = rnd.below(recs.len() as u64 + 1) as usize;
            let (mut a, mut b) = (Volume::default(), Volume::default());
            for &(bk, bytes) in &recs[..split] {
                a.add(bk, 1, bytes);
            }
            for &(bk, bytes) in &recs[split..] {
                b.add(bk, 1, bytes);
            }
            a.merge(&b);
            assert_eq!(a.by_bucket(), want, "case {case}");
            let total: u64 = want.iter().map(|x| x.1.count).sum();
            assert_eq!(a.total.count, total);
        }
    }

    #[test]
    fn an_aggregate_keeps_a_bounded_number_of_buckets() {
        let mut v = Volume::default();
        for i in 0..(MAX_BUCKETS as i64 * 3) {
            v.add(i * 3600, 1, 1);
        }
        let b = v.by_bucket();
        assert_eq!(b.len(), MAX_BUCKETS);
        assert_eq!(
            b.iter().map(|x| x.1.count).sum::<u64>(),
            MAX_BUCKETS as u64 * 3
        );
        assert_eq!(b[0].1.count, 1 + 2 * MAX_BUCKETS as u64);
    }
}
