//! Fault injection: configuration and per-request decision.

use std::time::Duration;

use serde::{Deserialize, Serialize};
pub use sipcred_sim_faults::{Draws, Latency};

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
    /// Seed of the random source behind every probability and random latency: the same
    /// seed and the same request sequence give the same faults. Setting a config
    /// restarts the sequence; without a seed the simulator picks one and reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
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
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
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

    /// Decides what happens to one request, drawing from `draws`; decrements
    /// `remaining` of the rules that fire.
    pub(crate) fn decide(&mut self, draws: &mut Draws, method: &str, route: &str) -> Decision {
        let mut d = Decision {
            delay: self
                .latency
                .as_ref()
                .map(|l| draws.delay(l))
                .unwrap_or_default(),
            action: Action::Proceed,
        };
        for r in self.rules.iter_mut() {
            if !r.matches(method, route) || !draws.chance(r.probability) {
                continue;
            }
            if let Some(n) = r.remaining.as_mut() {
                *n -= 1;
            }
            match &r.kind {
                FaultKind::Latency { latency } => d.delay += draws.delay(latency),
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

#[derive(Debug, PartialEq)]
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
        let d = &mut Draws::new(Some(1));
        assert_eq!(f.decide(d, "GET", "/b").action, Action::Proceed);
        assert_eq!(f.decide(d, "GET", "/a").action, Action::RateLimit);
        assert_eq!(f.decide(d, "GET", "/a").action, Action::RateLimit);
        assert_eq!(f.decide(d, "GET", "/a").action, Action::Proceed);
    }

    /// A fault run of mixed rules over a fixed request sequence, as (delay, action).
    fn fault_run(seed: u64) -> Vec<(Duration, Action)> {
        let mut f = FaultConfig::none()
            .with_latency(Latency::Uniform {
                min_ms: 0,
                max_ms: 50,
            })
            .with_rule(FaultRule::new(FaultKind::Error { status: 503 }).probability(0.2))
            .with_rule(
                FaultRule::new(FaultKind::CommitThenDrop)
                    .method("POST")
                    .probability(0.3),
            )
            .with_rule(
                FaultRule::new(FaultKind::RateLimit)
                    .probability(0.1)
                    .times(5),
            );
        let mut draws = Draws::new(Some(seed));
        (0..300)
            .map(|i| {
                let method = if i % 3 == 0 { "POST" } else { "GET" };
                let d = f.decide(&mut draws, method, "/v2/credential_connections");
                (d.delay, d.action)
            })
            .collect()
    }

    #[test]
    fn the_same_seed_replays_the_same_faults() {
        let run = fault_run(42);
        assert_eq!(run, fault_run(42));
        assert_ne!(run, fault_run(43), "another seed, other faults");
        let errors = run.iter().filter(|(_, a)| *a == Action::Error(503)).count();
        assert!((30..=100).contains(&errors), "about 20% of 300: {errors}");
    }
}
