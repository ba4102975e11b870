//! Rotation decisions (pure): whether the login an object publishes is due to be
//! replaced, and the mark that records which login the Secret holds.
//!
//! The mark lives on the Secret, next to the login it describes, and is written in the
//! same write as that login. So a crash can never separate "a new login was issued"
//! from "the Secret holds it": after a restart the mark says which request was already
//! honoured and when the current login was issued, and a rotation is never repeated or
//! lost. The mark's `sipcred.io/issued-at` changes on every rotation, which is what
//! Reloader-style tools and rollout triggers follow.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;

/// Annotation on a managed object asking for one rotation; each distinct value (an
/// RFC 3339 time, by convention) is honoured once.
pub const ROTATE_REQUESTED_AT: &str = "sipcred.io/rotate-requested-at";
/// Secret annotation: when the login it holds was issued.
pub const ISSUED_AT: &str = "sipcred.io/issued-at";
/// Secret annotation: how many rotations led to the login it holds (0: the first).
pub const ROTATIONS: &str = "sipcred.io/rotations";
/// Secret annotation: the last `sipcred.io/rotate-requested-at` value honoured.
pub const ROTATION_REQUEST: &str = "sipcred.io/rotation-request";
/// Secret annotation: when the login it holds expires at the provider, for logins that
/// expire.
pub const LOGIN_EXPIRES_AT: &str = "sipcred.io/login-expires-at";
/// Secret annotation: the provider object a rotation replaced, still working until
/// [`PREVIOUS_DELETE_AT`].
pub const PREVIOUS_EXTERNAL_NAME: &str = "sipcred.io/previous-external-name";
/// Secret annotation: when the replaced provider object is deleted.
pub const PREVIOUS_DELETE_AT: &str = "sipcred.io/previous-delete-at";

/// The provider object a rotation replaced, kept for a grace period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Previous {
    /// Its provider ID.
    pub external_name: String,
    /// When it is deleted.
    pub delete_at: Timestamp,
}

/// Which login a Secret holds: when it was issued, after how many rotations, the last
/// request honoured, and when it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// When the login was issued.
    pub at: Timestamp,
    /// Rotations so far (0: the first login).
    pub count: u32,
    /// The last `sipcred.io/rotate-requested-at` value honoured.
    pub request: Option<String>,
    /// When the login expires at the provider.
    pub expires_at: Option<Timestamp>,
    /// The provider object the last rotation replaced, until it is deleted.
    pub previous: Option<Previous>,
}

impl Issue {
    /// The first login of an object. A request present at creation counts as honoured:
    /// the login is new anyway.
    pub fn first(now: Timestamp, request: Option<&str>) -> Self {
        Self {
            at: now,
            count: 0,
            request: request.map(String::from),
            expires_at: None,
            previous: None,
        }
    }

    /// The login that replaces this one.
    pub fn next(&self, now: Timestamp, request: Option<&str>) -> Self {
        Self {
            at: now,
            count: self.count + 1,
            request: request.map(String::from).or_else(|| self.request.clone()),
            expires_at: None,
            previous: None,
        }
    }

    /// The same login, with `request` recorded as honoured (a request that could not
    /// rotate anything, e.g. for a password the user supplies).
    pub fn acknowledge(&self, request: Option<&str>) -> Self {
        Self {
            request: request.map(String::from).or_else(|| self.request.clone()),
            ..self.clone()
        }
    }

    /// Reads the mark from a Secret's annotations; `None` when it has none.
    pub fn from_annotations(a: Option<&BTreeMap<String, String>>) -> Option<Self> {
        let a = a?;
        let at = a.get(ISSUED_AT)?.parse().ok()?;
        Some(Self {
            at,
            count: a.get(ROTATIONS).and_then(|c| c.parse().ok()).unwrap_or(0),
            request: a.get(ROTATION_REQUEST).filter(|r| !r.is_empty()).cloned(),
            expires_at: a.get(LOGIN_EXPIRES_AT).and_then(|e| e.parse().ok()),
            previous: a
                .get(PREVIOUS_EXTERNAL_NAME)
                .filter(|p| !p.is_empty())
                .map(|p| Previous {
                    external_name: p.clone(),
                    delete_at: a
                        .get(PREVIOUS_DELETE_AT)
                        .and_then(|d| d.parse().ok())
                        .unwrap_or(Timestamp::UNIX_EPOCH),
                }),
        })
    }

    /// The annotations that record the mark.
    pub fn annotations(&self) -> Vec<(&'static str, String)> {
        // Milliseconds, so that two rotations within a second still change the value.
        let mut a = vec![
            (
                ISSUED_AT,
                self.at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            ),
            (ROTATIONS, self.count.to_string()),
        ];
        if let Some(r) = &self.request {
            a.push((ROTATION_REQUEST, r.clone()));
        }
        if let Some(e) = self.expires_at {
            a.push((LOGIN_EXPIRES_AT, rfc3339(e)));
        }
        if let Some(p) = &self.previous {
            a.push((PREVIOUS_EXTERNAL_NAME, p.external_name.clone()));
            a.push((PREVIOUS_DELETE_AT, rfc3339(p.delete_at)));
        }
        a
    }
}

/// An RFC 3339 time to the second, as Kubernetes writes times.
pub fn rfc3339(t: Timestamp) -> String {
    t.round(jiff::Unit::Second)
        .unwrap_or(t)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// When an object's login is replaced without being asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Schedule {
    /// Replace the login this long after it was issued.
    pub interval: Option<Duration>,
    /// Replace a login that expires this long before it does.
    pub renew_before: Option<Duration>,
}

/// Why a rotation is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// A new `sipcred.io/rotate-requested-at` value.
    Requested,
    /// The interval has passed since the login was issued.
    Scheduled,
    /// The login expires within `renewBefore`.
    Renewal,
}

/// The rotation decision for one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Due now, and why.
    pub due: Option<Why>,
    /// When the next scheduled rotation or renewal falls due.
    pub next_at: Option<Timestamp>,
}

/// Decides whether the login described by `issued` is due for rotation. Nothing is due
/// before a first login was issued.
pub fn decide(
    schedule: &Schedule,
    requested: Option<&str>,
    issued: Option<&Issue>,
    now: Timestamp,
) -> Verdict {
    let Some(issued) = issued else {
        return Verdict {
            due: None,
            next_at: None,
        };
    };
    let plus = |t: Timestamp, d: Duration| t.checked_add(d).ok();
    let minus = |t: Timestamp, d: Duration| t.checked_sub(d).ok();
    let scheduled = schedule.interval.and_then(|i| plus(issued.at, i));
    let renewal = schedule
        .renew_before
        .zip(issued.expires_at)
        .and_then(|(rb, e)| minus(e, rb));
    let next_at = match (scheduled, renewal) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let due = if requested.is_some_and(|r| issued.request.as_deref() != Some(r)) {
        Some(Why::Requested)
    } else if renewal.is_some_and(|r| r <= now) {
        Some(Why::Renewal)
    } else if scheduled.is_some_and(|s| s <= now) {
        Some(Why::Scheduled)
    } else {
        None
    };
    Verdict { due, next_at }
}

/// The expiry of a login that replaces one expiring at `issued.expires_at`: it lives as
/// long as its predecessor did, and at least twice `renew_before` (a shorter life
/// would be renewed again at once).
pub fn renewed_expiry(issued: &Issue, renew_before: Duration, now: Timestamp) -> Option<Timestamp> {
    let expires = issued.expires_at?;
    let lived = issued.at.duration_until(expires);
    let floor = jiff::SignedDuration::try_from(renew_before.saturating_mul(2)).ok()?;
    now.checked_add(lived.max(floor)).ok()
}

/// Parses a Kubernetes-style duration (`720h`, `1h30m`, `90s`); `None` when invalid or
/// zero.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let d: jiff::SignedDuration = s.parse().ok()?;
    Duration::try_from(d).ok().filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn issue(at: &str, count: u32, request: Option<&str>) -> Issue {
        Issue {
            at: t(at),
            count,
            request: request.map(String::from),
            expires_at: None,
            previous: None,
        }
    }

    /// (name, schedule, requested, issued, now, due, next).
    type Case = (
        &'static str,
        Schedule,
        Option<&'static str>,
        Option<Issue>,
        &'static str,
        Option<Why>,
        Option<&'static str>,
    );

    const H: Duration = Duration::from_secs(3600);

    #[test]
    fn decisions() {
        let every_day = Schedule {
            interval: Some(24 * H),
            renew_before: None,
        };
        let renew_2h = Schedule {
            interval: None,
            renew_before: Some(2 * H),
        };
        let expiring = Issue {
            expires_at: Some(t("2027-01-02T00:00:00Z")),
            ..issue("2027-01-01T00:00:00Z", 0, None)
        };
        let cases: &[Case] = &[
            (
                "nothing issued yet: nothing to rotate, even when asked",
                every_day,
                Some("r1"),
                None,
                "2027-01-05T00:00:00Z",
                None,
                None,
            ),
            (
                "no schedule, no request: never",
                Schedule::default(),
                None,
                Some(issue("2027-01-01T00:00:00Z", 0, None)),
                "2030-01-01T00:00:00Z",
                None,
                None,
            ),
            (
                "a new request is honoured",
                Schedule::default(),
                Some("r1"),
                Some(issue("2027-01-01T00:00:00Z", 0, None)),
                "2027-01-01T00:00:01Z",
                Some(Why::Requested),
                None,
            ),
            (
                "a request already honoured is not honoured again",
                Schedule::default(),
                Some("r1"),
                Some(issue("2027-01-01T00:00:00Z", 1, Some("r1"))),
                "2027-01-03T00:00:00Z",
                None,
                None,
            ),
            (
                "a different value is a new request",
                Schedule::default(),
                Some("r2"),
                Some(issue("2027-01-01T00:00:00Z", 1, Some("r1"))),
                "2027-01-01T00:00:01Z",
                Some(Why::Requested),
                None,
            ),
            (
                "the annotation removed asks for nothing",
                Schedule::default(),
                None,
                Some(issue("2027-01-01T00:00:00Z", 1, Some("r1"))),
                "2027-01-03T00:00:00Z",
                None,
                None,
            ),
            (
                "before the interval: not due, next known",
                every_day,
                None,
                Some(issue("2027-01-01T00:00:00Z", 0, None)),
                "2027-01-01T23:59:59Z",
                None,
                Some("2027-01-02T00:00:00Z"),
            ),
            (
                "at the interval: due",
                every_day,
                None,
                Some(issue("2027-01-01T00:00:00Z", 0, None)),
                "2027-01-02T00:00:00Z",
                Some(Why::Scheduled),
                Some("2027-01-02T00:00:00Z"),
            ),
            (
                "renewBefore the expiry: due as a renewal",
                renew_2h,
                None,
                Some(expiring.clone()),
                "2027-01-01T22:00:00Z",
                Some(Why::Renewal),
                Some("2027-01-01T22:00:00Z"),
            ),
            (
                "earlier than renewBefore: not due",
                renew_2h,
                None,
                Some(expiring.clone()),
                "2027-01-01T21:59:59Z",
                None,
                Some("2027-01-01T22:00:00Z"),
            ),
            (
                "renewBefore without an expiry: nothing scheduled",
                renew_2h,
                None,
                Some(issue("2027-01-01T00:00:00Z", 0, None)),
                "2030-01-01T00:00:00Z",
                None,
                None,
            ),
            (
                "interval and renewal: the earlier one is next",
                Schedule {
                    interval: Some(24 * H),
                    renew_before: Some(2 * H),
                },
                None,
                Some(expiring),
                "2027-01-01T00:00:00Z",
                None,
                Some("2027-01-01T22:00:00Z"),
            ),
        ];
        for (name, schedule, requested, issued, now, due, next) in cases {
            let v = decide(schedule, *requested, issued.as_ref(), t(now));
            assert_eq!(v.due, *due, "{name}");
            assert_eq!(v.next_at, next.map(t), "{name}");
        }
    }

    #[test]
    fn marks_round_trip_through_annotations() {
        let i = Issue {
            expires_at: Some(t("2027-02-01T00:00:00Z")),
            previous: Some(Previous {
                external_name: "old-id".into(),
                delete_at: t("2027-01-01T00:10:00Z"),
            }),
            ..issue("2027-01-01T00:00:00Z", 3, Some("2027-01-01T00:00:00Z"))
        };
        let a: BTreeMap<String, String> = i
            .annotations()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert_eq!(a[ISSUED_AT], "2027-01-01T00:00:00.000Z");
        assert_eq!(Issue::from_annotations(Some(&a)), Some(i));
        assert_eq!(Issue::from_annotations(Some(&BTreeMap::new())), None);
    }

    #[test]
    fn a_rotation_counts_and_keeps_the_last_request() {
        let first = Issue::first(t("2027-01-01T00:00:00Z"), Some("r0"));
        assert_eq!((first.count, first.request.as_deref()), (0, Some("r0")));
        let second = first.next(t("2027-01-02T00:00:00Z"), None);
        assert_eq!((second.count, second.request.as_deref()), (1, Some("r0")));
        let third = second.next(t("2027-01-03T00:00:00Z"), Some("r1"));
        assert_eq!((third.count, third.request.as_deref()), (2, Some("r1")));
        let acked = third.acknowledge(Some("r2"));
        assert_eq!((acked.count, acked.at), (2, third.at));
    }

    #[test]
    fn a_renewed_login_lives_as_long_as_its_predecessor() {
        let i = Issue {
            expires_at: Some(t("2027-01-11T00:00:00Z")),
            ..issue("2027-01-01T00:00:00Z", 0, None)
        };
        let now = t("2027-01-10T00:00:00Z");
        assert_eq!(
            renewed_expiry(&i, 24 * H, now),
            Some(t("2027-01-20T00:00:00Z"))
        );
        // A life shorter than twice renewBefore would be renewed again at once.
        assert_eq!(
            renewed_expiry(&i, 10 * 24 * H, now),
            Some(t("2027-01-30T00:00:00Z"))
        );
    }
}
