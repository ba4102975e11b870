//! Small helpers: timestamps, random strings, JSON merge.

use jiff::Timestamp;
use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::{Map, Value};

/// `2018-02-02T22:25:27.521Z` (Telnyx style: millisecond precision, `Z`).
pub fn ts_millis(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// `2026-05-12T05:11:51.635106Z` (Vobiz style: microsecond precision, `Z`).
pub fn ts_micros(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Parses an ISO-8601 / RFC 3339 instant. A value without offset is taken as UTC;
/// a bare date is midnight UTC.
pub fn parse_instant(s: &str) -> Option<Timestamp> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Some(t);
    }
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>() {
        return dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp());
    }
    if let Ok(d) = s.parse::<jiff::civil::Date>() {
        return d
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp());
    }
    None
}

pub fn random_alnum(n: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

pub fn random_hex(n: usize) -> String {
    const HEX: &[u8] = b"0123456789abcdef";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| HEX[rng.random_range(0..16)] as char)
        .collect()
}

/// A 19-digit positive int64, as a string (Telnyx connection ids).
pub fn random_int64_id() -> String {
    rand::rng()
        .random_range(1_000_000_000_000_000_000u64..=9_000_000_000_000_000_000u64)
        .to_string()
}

/// Recursively merges `patch` into `target`: objects merge key by key, anything else
/// (including arrays and null) replaces.
pub fn deep_merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => merge_maps(t, p),
        (t, p) => *t = p.clone(),
    }
}

pub fn merge_maps(t: &mut Map<String, Value>, p: &Map<String, Value>) {
    for (k, v) in p {
        match t.get_mut(k) {
            Some(existing) if existing.is_object() && v.is_object() => deep_merge(existing, v),
            _ => {
                t.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Parses `?a=1&b=2` style pagination numbers.
pub fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let t: Timestamp = "2018-02-02T22:25:27.5Z".parse().unwrap_or_default();
        assert_eq!(ts_millis(t), "2018-02-02T22:25:27.500Z");
        assert_eq!(ts_micros(t), "2018-02-02T22:25:27.500000Z");
        assert!(parse_instant("2042-06-18T21:32:38").is_some());
        assert!(parse_instant("2042-06-18T21:32:38+02:00").is_some());
        assert!(parse_instant("2042-06-18").is_some());
        assert!(parse_instant("tomorrow").is_none());
        assert_eq!(random_int64_id().len(), 19);
    }
}
