//! The provider request timeout of an account, `spec.timeout` of SipProvider and
//! ClusterSipProvider. Admission (CEL) already rejects what [`parse`] rejects; this
//! check covers objects stored before the rule existed, with the same words.

use std::time::Duration;

/// The shortest timeout accepted: below it, ordinary provider latency would fail.
pub const MIN: Duration = Duration::from_secs(1);
/// The longest accepted: a hung request must not stall a reconcile worker for longer.
pub const MAX: Duration = Duration::from_secs(300);

/// Parses `spec.timeout` (`30s`, `1m30s`, `1500ms`: integer amounts of h, m, s or ms,
/// as the CRD's rule admits) and checks it lies within [`MIN`]..=[`MAX`].
pub fn parse(text: &str) -> Result<Duration, String> {
    let malformed =
        || "spec.timeout must be a duration such as 30s, 1m30s or 1500ms (units h, m, s, ms)";
    let mut total = Duration::ZERO;
    let mut rest = text;
    if rest.is_empty() {
        return Err(malformed().into());
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(malformed().into());
        }
        // More digits than fit are certainly beyond MAX.
        let amount: u64 = rest[..digits].parse().unwrap_or(u64::MAX);
        rest = &rest[digits..];
        let (unit, len) = if rest.starts_with("ms") {
            (Duration::from_millis(1), 2)
        } else if rest.starts_with('h') {
            (Duration::from_secs(3600), 1)
        } else if rest.starts_with('m') {
            (Duration::from_secs(60), 1)
        } else if rest.starts_with('s') {
            (Duration::from_secs(1), 1)
        } else {
            return Err(malformed().into());
        };
        rest = &rest[len..];
        let part = u32::try_from(amount)
            .ok()
            .and_then(|n| unit.checked_mul(n))
            .unwrap_or(Duration::MAX);
        total = total.saturating_add(part);
    }
    if !(MIN..=MAX).contains(&total) {
        return Err("spec.timeout must be from 1s to 5m".into());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_admitted() {
        let s = Duration::from_secs;
        for (text, want, why) in [
            ("30s", Ok(s(30)), "the documented default, spelled out"),
            ("1m30s", Ok(s(90)), "units combine"),
            ("1500ms", Ok(Duration::from_millis(1500)), "milliseconds"),
            ("5m", Ok(s(300)), "the upper bound is included"),
            ("1s", Ok(s(1)), "the lower bound is included"),
            (
                "30s30s",
                Ok(s(60)),
                "repeated units add up, as in Go and CEL",
            ),
            ("999ms", Err("from 1s to 5m"), "below the lower bound"),
            ("5m1s", Err("from 1s to 5m"), "above the upper bound"),
            ("1h", Err("from 1s to 5m"), "hours parse but are too long"),
            (
                "99999999999999999999s",
                Err("from 1s to 5m"),
                "does not overflow",
            ),
            ("", Err("such as 30s"), "empty"),
            ("30", Err("such as 30s"), "a bare number has no unit"),
            ("30 s", Err("such as 30s"), "no spaces"),
            ("1.5s", Err("such as 30s"), "no fractions"),
            ("-30s", Err("such as 30s"), "no sign"),
            ("30sec", Err("such as 30s"), "only h, m, s, ms"),
        ] {
            match (parse(text), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{text}: {why}"),
                (Err(got), Err(want)) => assert!(got.contains(want), "{text}: {why}: {got}"),
                (got, want) => panic!("{text}: {why}: got {got:?}, want {want:?}"),
            }
        }
    }
}
