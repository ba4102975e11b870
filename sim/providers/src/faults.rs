//! Fault injection: configuration and per-request decision.

use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// A latency distribution, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case")]
pub enum Latency {
    /// Always `ms` milliseconds.
    Fixed { ms: u64 },
    /// Uniform in `[min_ms, max_ms]`.
    Uniform { min_ms: u64, max_ms: u64 },
    /// Normal with the given mean and standard deviation, clamped at 0.
    Normal { mean_ms: f64, stddev_ms: f64 },
}

impl Latency {
    /// Draws one delay.
    pub fn sample(&self) -> Duration {
        let mut rng = rand::rng();
        let ms = match *self {
            Latency::Fixed { ms } => ms as f64,
            Latency::Uniform { min_ms, max_ms } => {
                if max_ms <= min_ms {
                    min_ms as f64
                } else {
                    rng.random_range(min_ms..=max_ms) as f64
                }
            }
            Latency::Normal { mean_ms, stddev_ms } => {
                // Box-Muller.
                let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
                let u2: f64 = rng.random::<f64>();
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                mean_ms + z * stddev_ms
            }
        };
        if ms.is_finite() && ms > 0.0 {
            Duration::from_micros((ms * 1000.0) as u64)
        } else {
            Duration::ZERO
        }
    }
}

/// What a fault rule does to a matching request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Adds a delay before the request is handled (not terminal: later rules still apply).
    Latency { latency: Latency },
    /// Answers with this status (500, 502 or 503) without touching state.
    /// 500 carries the provider's error body; 502/503 a plain-text gateway page.
    Error { status: u16 },
    /// Holds the request without touching state. With `hold_ms` the simulator answers
    /// 504 after that long; without it, it never answers (until the client gives up
    /// or the simulator shuts down).
    Timeout {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hold_ms: Option<u64>,
    },
    /// Answers 429 in the provider's format, as if the rate limit had been hit.
    RateLimit,
    /// Runs the request (the write is applied), then closes the TCP connection
    /// without sending any response.
    CommitThenDrop,
}

/// One fault rule, optionally scoped to a method and a route template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    #[serde(flatten)]
    pub kind: FaultKind,
    /// HTTP method (case-insensitive); `None` matches all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Route template, e.g. `/v2/credential_connections/{id}`; `None` matches all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// Share of matching requests affected, 0..=1 (default 1).
    #[serde(default = "one")]
    pub probability: f64,
    /// Fire only for the next N affected requests; `None` = unlimited.
    /// Decremented each time the rule fires; a rule at 0 is inert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u64>,
}

fn one() -> f64 {
    1.0
}

impl FaultRule {
    /// A rule matching every request with probability 1 and no count limit.
    pub fn new(kind: FaultKind) -> Self {
        FaultRule {
            kind,
            method: None,
            route: None,
            probability: 1.0,
            remaining: None,
        }
    }
    pub fn method(mut self, m: &str) -> Self {
        self.method = Some(m.to_string());
        self
    }
    pub fn route(mut self, r: &str) -> Self {
        self.route = Some(r.to_string());
        self
    }
    pub fn probability(mut self, p: f64) -> Self {
        self.probability = p;
        self
    }
    pub fn times(mut self, n: u64) -> Self {
        self.remaining = Some(n);
        self
    }

    fn matches(&self, method: &str, route: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self.route.as_deref().is_none_or(|r| r == route)
            && self.remaining != Some(0)
    }
}

/// The whole fault configuration. `Default` = no faults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultConfig {
    /// Latency added to every provider request (admin routes are never delayed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Latency>,
    /// Rules, evaluated in order. Latency rules add up; the first terminal rule that
    /// fires decides the request's fate.
    #[serde(default)]
    pub rules: Vec<FaultRule>,
}

impl FaultConfig {
    pub fn none() -> Self {
        Self::default()
    }
    pub fn with_rule(mut self, r: FaultRule) -> Self {
        self.rules.push(r);
        self
    }
    pub fn with_latency(mut self, l: Latency) -> Self {
        self.latency = Some(l);
        self
    }

    /// Rejects nonsense (probabilities outside 0..=1, statuses that are not 500/502/503).
    pub fn validate(&self) -> Result<(), String> {
        for (i, r) in self.rules.iter().enumerate() {
            if !(0.0..=1.0).contains(&r.probability) {
                return Err(format!("rules[{i}].probability must be within 0..=1"));
            }
            if let FaultKind::Error { status } = r.kind
                && !matches!(status, 500 | 502 | 503)
            {
                return Err(format!("rules[{i}].status must be 500, 502 or 503"));
            }
        }
        Ok(())
    }

    /// Decides what happens to one request; decrements `remaining` of the rules that fire.
    pub(crate) fn decide(&mut self, method: &str, route: &str) -> Decision {
        let mut d = Decision {
            delay: self
                .latency
                .as_ref()
                .map(Latency::sample)
                .unwrap_or_default(),
            action: Action::Proceed,
        };
        if self.rules.is_empty() {
            return d;
        }
        let mut rng = rand::rng();
        for r in self.rules.iter_mut() {
            if !r.matches(method, route) {
                continue;
            }
            if r.probability < 1.0 && rng.random::<f64>() >= r.probability {
                continue;
            }
            if let Some(n) = r.remaining.as_mut() {
                *n -= 1;
            }
            match &r.kind {
                FaultKind::Latency { latency } => d.delay += latency.sample(),
                FaultKind::Error { status } => {
                    d.action = Action::Error(*status);
                    break;
                }
                FaultKind::Timeout { hold_ms } => {
                    d.action = Action::Timeout(hold_ms.map(Duration::from_millis));
                    break;
                }
                FaultKind::RateLimit => {
                    d.action = Action::RateLimit;
                    break;
                }
                FaultKind::CommitThenDrop => {
                    d.action = Action::CommitThenDrop;
                    break;
                }
            }
        }
        d
    }
}

#[derive(Debug)]
pub(crate) struct Decision {
    pub delay: Duration,
    pub action: Action,
}

#[derive(Debug, PartialEq)]
pub(crate) enum Action {
    Proceed,
    Error(u16),
    Timeout(Option<Duration>),
    RateLimit,
    CommitThenDrop,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_shape() {
        let f = FaultConfig::none()
            .with_latency(Latency::Fixed { ms: 5 })
            .with_rule(
                FaultRule::new(FaultKind::Error { status: 503 })
                    .probability(0.5)
                    .method("POST")
                    .times(3),
            );
        let v = serde_json::to_value(&f).unwrap_or_default();
        assert_eq!(v["latency"]["dist"], "fixed");
        assert_eq!(v["rules"][0]["kind"], "error");
        assert_eq!(v["rules"][0]["status"], 503);
        let back: FaultConfig = serde_json::from_value(v).unwrap_or_default();
        assert_eq!(back, f);
    }

    #[test]
    fn remaining_counts_down() {
        let mut f = FaultConfig::none()
            .with_rule(FaultRule::new(FaultKind::RateLimit).route("/a").times(2));
        assert_eq!(f.decide("GET", "/b").action, Action::Proceed);
        assert_eq!(f.decide("GET", "/a").action, Action::RateLimit);
        assert_eq!(f.decide("GET", "/a").action, Action::RateLimit);
        assert_eq!(f.decide("GET", "/a").action, Action::Proceed);
    }

    #[test]
    fn normal_latency_is_nonnegative() {
        let l = Latency::Normal {
            mean_ms: 1.0,
            stddev_ms: 10.0,
        };
        for _ in 0..100 {
            assert!(l.sample() <= Duration::from_secs(1));
        }
    }
}
