//! Times as the catalog stores them ('YYYY-MM-DD HH:MM:SS', UTC, as
//! SQLite's datetime()), written without allocating.

use crate::ffi::Param;
use crate::ingest::keys::Seen;

/// 'YYYY-MM-DD HH:MM:SS' of unix seconds (UTC), as SQLite's datetime(),
/// for years 0 to 9999, without allocating (two per key row of a flush).
pub(super) fn datetime_bytes(secs: i64) -> Option<[u8; 19]> {
    let (y, m, d, rem) = civil(secs);
    if !(0..=9999).contains(&y) {
        return None;
    }
    let mut out = *b"0000-00-00 00:00:00";
    let mut put = |at: usize, v: i64, digits: usize| {
        let mut v = v;
        for i in (0..digits).rev() {
            out[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, y, 4);
    put(5, m, 2);
    put(8, d, 2);
    put(11, rem / 3600, 2);
    put(14, rem % 3600 / 60, 2);
    put(17, rem % 60, 2);
    Some(out)
}

/// The same text for years outside 0 to 9999 (as SQLite prints them).
pub(super) fn datetime_wide(secs: i64) -> String {
    let (y, m, d, rem) = civil(secs);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        y,
        m,
        d,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Year, month, day and seconds of the day of unix seconds (UTC).
pub(super) fn civil(secs: i64) -> (i64, i64, i64, i64) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (y, m, d, rem)
}

/// First and last seen as parameters (NULL when nothing was seen).
pub(super) fn seen_params(s: &Option<[TimeText; 2]>) -> [Param<'_>; 2] {
    match s {
        Some([f, l]) => [Param::Text(f.as_str()), Param::Text(l.as_str())],
        None => [Param::Null, Param::Null],
    }
}

/// A time as the catalog stores it, on the stack for years 0 to 9999.
#[derive(Clone)]
pub(super) enum TimeText {
    Short([u8; 19]),
    Wide(String),
}

impl TimeText {
    pub(super) fn of(secs: i64) -> TimeText {
        match datetime_bytes(secs) {
            Some(b) => TimeText::Short(b),
            None => TimeText::Wide(datetime_wide(secs)),
        }
    }
    pub(super) fn as_str(&self) -> &str {
        match self {
            TimeText::Short(b) => std::str::from_utf8(b).expect("ASCII digits"),
            TimeText::Wide(s) => s,
        }
    }
}

/// First and last seen as text; `None` when nothing was seen (a metric
/// that came without data points).
pub(super) fn seen_text(s: &Seen) -> Option<[TimeText; 2]> {
    (!s.is_none()).then(|| [TimeText::of(s.first), TimeText::of(s.last)])
}
#[cfg(test)]
mod tests {
    use super::*;

    fn datetime(secs: i64) -> String {
        TimeText::of(secs).as_str().to_owned()
    }

    #[test]
    fn datetime_matches_sqlite() {
        assert_eq!(datetime(0), "1970-01-01 00:00:00");
        assert_eq!(datetime(1_544_712_660), "2018-12-13 14:51:00");
        assert_eq!(datetime(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(datetime(-1), "1969-12-31 23:59:59");
        assert_eq!(datetime(253_402_300_799), "9999-12-31 23:59:59");
        assert_eq!(datetime(253_402_300_800), "10000-01-01 00:00:00");
        assert_eq!(datetime(-62_135_596_800), "0001-01-01 00:00:00");
    }
}
