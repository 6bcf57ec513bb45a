//! Dates in query strings and bodies: `YYYY-MM-DD` days and ISO-8601 datetimes, as Unix
//! milliseconds, and the range rules reports share.

use crate::util::{civil_from_days, days_from_civil};

pub const DAY_MS: u64 = 86_400_000;
/// The longest range a usage report covers.
pub const MAX_RANGE_DAYS: u64 = 90;

/// `YYYY-MM-DD` → days since 1970-01-01.
pub fn parse_day(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i64 = s[0..4].parse().ok()?;
    let m: u32 = s[5..7].parse().ok()?;
    let d: u32 = s[8..10].parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, m, d);
    // Refuse 2026-02-31 and the like: the day must read back the same.
    (civil_from_days(days) == (y, m, d)).then_some(days)
}

/// An ISO-8601 date or datetime (`2026-01-02`, `2026-01-02T03:04:05Z`, with optional fraction and
/// `Z` or `±hh:mm`) → Unix ms.
pub fn parse_instant(s: &str) -> Option<u64> {
    let day = parse_day(s.get(..10)?)?;
    let rest = &s[10..];
    let mut ms = day * DAY_MS as i64;
    if !rest.is_empty() {
        let t = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' '))?;
        let (hms, zone) = match t.find(['Z', 'z', '+', '-']) {
            Some(i) => (&t[..i], &t[i..]),
            None => (t, ""),
        };
        let (hms, frac) = hms.split_once('.').unwrap_or((hms, ""));
        let mut parts = hms.split(':');
        let h: i64 = parts.next()?.parse().ok()?;
        let mi: i64 = parts.next()?.parse().ok()?;
        let se: i64 = parts.next().unwrap_or("0").parse().ok()?;
        if h > 23 || mi > 59 || se > 60 {
            return None;
        }
        let frac_ms: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<3}")[..3].parse().ok()? };
        ms += ((h * 60 + mi) * 60 + se) * 1000 + frac_ms;
        if let Some(off) = zone.strip_prefix(['+', '-']) {
            let (oh, om) = off.split_once(':').unwrap_or((off.get(..2)?, off.get(2..).unwrap_or("0")));
            let off_ms = (oh.parse::<i64>().ok()? * 60 + om.parse::<i64>().unwrap_or(0)) * 60_000;
            ms += if zone.starts_with('+') { -off_ms } else { off_ms };
        }
    }
    u64::try_from(ms).ok()
}

/// Days since 1970-01-01 → `YYYY-MM-DD`.
pub fn day_text(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

pub fn day_of(unix_ms: u64) -> i64 {
    (unix_ms / DAY_MS) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_instants() {
        assert_eq!(parse_day("1970-01-02"), Some(1));
        assert_eq!(parse_day("2026-02-31"), None);
        assert_eq!(parse_instant("1970-01-02T00:00:01.5Z"), Some(DAY_MS + 1500));
        assert_eq!(parse_instant("1970-01-02T01:00:00+01:00"), Some(DAY_MS));
        assert_eq!(day_text(1), "1970-01-02");
    }
}
