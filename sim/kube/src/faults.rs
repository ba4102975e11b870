//! Fault injection: cut watch streams, fail a share of requests, lose a share of
//! optimistic-concurrency races, add latency. (A watch resumed from a compacted
//! resourceVersion gets 410 Gone: bound the history with `KubeSim::set_watch_history`
//! and cut the watches.)
//!
//! The settings have the shape every simulator shares (`GET|PUT /_sim/faults`,
//! docs/simulators.md): `seed`, `latency` and `rules` with a `probability` and an
//! optional `remaining` count. Rules here are scoped by `resource` and `verb`, the
//! API server's words for what the provider simulators call route and method.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};
pub use sipcred_sim_faults::{Draws, Latency};
use tokio::sync::broadcast;

use crate::errors::ApiError;

/// What a rule does to a matching request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Answers with this status and the API server's Status body for it (429 with
    /// `Retry-After`, 503 ServiceUnavailable, any other InternalError), without
    /// touching state.
    Error { status: u16 },
    /// Answers 409 Conflict with the Status a real server gives a write whose
    /// resourceVersion precondition is stale, as if another writer had won the race,
    /// without touching state. Only a write that can conflict is affected (an update or
    /// a patch naming `metadata.resourceVersion`); any other request passes this rule
    /// without a draw.
    Conflict,
}

/// One fault rule, optionally scoped to a resource and a verb.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Resource (plural, e.g. `secrets`); `None` matches all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Verb (get, list, watch, create, update, patch, delete); `None` matches all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verb: Option<String>,
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
    /// Answer `status` to every request, with probability 1 and no count limit.
    pub fn error(status: u16) -> Self {
        FaultRule {
            kind: FaultKind::Error { status },
            resource: None,
            verb: None,
            probability: 1.0,
            remaining: None,
        }
    }
    /// Lose the optimistic-concurrency race of every write that can conflict.
    pub fn conflict() -> Self {
        FaultRule {
            kind: FaultKind::Conflict,
            ..Self::error(409)
        }
    }
    pub fn resource(mut self, r: &str) -> Self {
        self.resource = Some(r.to_string());
        self
    }
    pub fn verb(mut self, v: &str) -> Self {
        self.verb = Some(v.to_string());
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

    fn matches(&self, resource: &str, verb: &str, preconditioned: bool) -> bool {
        (preconditioned || self.kind != FaultKind::Conflict)
            && self.resource.as_deref().is_none_or(|r| r == resource)
            && self.verb.as_deref().is_none_or(|v| v == verb)
            && self.remaining != Some(0)
    }
}

/// The whole fault configuration (`GET|PUT /_sim/faults`). `Default` = no faults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultConfig {
    /// Seed of the random source behind every probability and random latency: the same
    /// seed and the same request sequence give the same faults. Setting a config
    /// restarts the sequence; without a seed the simulator picks one and reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Latency added to every API request (admin routes are never delayed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Latency>,
    /// Rules, evaluated in order; the first that fires decides the request's fate.
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

    /// Rejects nonsense (probabilities outside 0..=1, statuses that are not errors).
    pub fn validate(&self) -> Result<(), String> {
        for (i, r) in self.rules.iter().enumerate() {
            if !(0.0..=1.0).contains(&r.probability) {
                return Err(format!("rules[{i}].probability must be within 0..=1"));
            }
            if let FaultKind::Error { status } = r.kind
                && !(400..=599).contains(&status)
            {
                return Err(format!("rules[{i}].status must be within 400..=599"));
            }
        }
        Ok(())
    }

    /// The fault for one request, if a rule fires; draws from `draws` and decrements
    /// `remaining` of the rule that fires.
    fn decide(
        &mut self,
        draws: &mut Draws,
        resource: &str,
        verb: &str,
        preconditioned: bool,
    ) -> Option<FaultKind> {
        for r in self.rules.iter_mut() {
            if !r.matches(resource, verb, preconditioned) || !draws.chance(r.probability) {
                continue;
            }
            if let Some(n) = r.remaining.as_mut() {
                *n -= 1;
            }
            return Some(r.kind.clone());
        }
        None
    }
}

/// One error rule (shorthand for [`FaultRule::error`] with a scope and a share).
#[derive(Clone, Debug)]
pub struct ErrorRule {
    /// 500 or 429 (any error status works).
    pub code: u16,
    /// Probability that a matching request fails, 0.0..=1.0.
    pub share: f64,
    /// Only this resource (plural), if set.
    pub resource: Option<String>,
    /// Only this verb (get, list, watch, create, update, patch, delete), if set.
    pub verb: Option<String>,
}

impl From<ErrorRule> for FaultRule {
    fn from(e: ErrorRule) -> Self {
        FaultRule {
            kind: FaultKind::Error { status: e.code },
            resource: e.resource,
            verb: e.verb,
            probability: e.share,
            remaining: None,
        }
    }
}

/// Shared fault state.
#[derive(Debug)]
pub struct FaultState {
    cut: broadcast::Sender<()>,
    config: Mutex<(FaultConfig, Draws)>,
}

/// Handle to control faults.
#[derive(Clone, Debug)]
pub struct FaultHandle(pub(crate) Arc<FaultState>);

impl Default for FaultHandle {
    fn default() -> Self {
        let (cut, _) = broadcast::channel(16);
        Self(Arc::new(FaultState {
            cut,
            config: Mutex::new(seeded(FaultConfig::default())),
        }))
    }
}

/// `f` with its seed filled in, and the random sequence of that seed.
fn seeded(mut f: FaultConfig) -> (FaultConfig, Draws) {
    let draws = Draws::new(f.seed);
    f.seed = Some(draws.seed());
    (f, draws)
}

impl FaultHandle {
    fn lock(&self) -> MutexGuard<'_, (FaultConfig, Draws)> {
        self.0.config.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// End every open watch stream now.
    pub fn cut_watches(&self) {
        let _ = self.0.cut.send(());
    }

    /// Subscribe to watch cuts.
    pub fn on_cut(&self) -> broadcast::Receiver<()> {
        self.0.cut.subscribe()
    }

    /// Replaces the configuration and restarts the random sequence from its seed (a
    /// fresh one when it has none); returns it with the seed in use.
    pub fn set(&self, f: FaultConfig) -> Result<FaultConfig, String> {
        f.validate()?;
        let (f, draws) = seeded(f);
        *self.lock() = (f.clone(), draws);
        Ok(f)
    }

    /// The configuration in use (rule counters as they are now, the seed filled in).
    pub fn get(&self) -> FaultConfig {
        self.lock().0.clone()
    }

    /// Adds an error rule; the random sequence carries on.
    pub fn fail(&self, rule: impl Into<FaultRule>) {
        self.lock().0.rules.push(rule.into());
    }

    /// Shorthand: fail `share` of all requests with `code`.
    pub fn fail_share(&self, code: u16, share: f64) {
        self.fail(FaultRule::error(code).probability(share));
    }

    /// Add a fixed latency to every API request.
    pub fn set_latency(&self, d: Duration) {
        self.lock().0.latency = Some(Latency::Fixed {
            ms: d.as_millis() as u64,
        });
    }

    /// Remove all error rules and latency (the seed and its sequence carry on).
    pub fn clear(&self) {
        let mut g = self.lock();
        g.0.rules.clear();
        g.0.latency = None;
    }

    /// The delay of the next API request.
    pub fn delay(&self) -> Duration {
        let mut g = self.lock();
        let (f, draws) = &mut *g;
        f.latency
            .as_ref()
            .map(|l| draws.delay(l))
            .unwrap_or_default()
    }

    /// Should this request fail? (A request that cannot conflict.)
    pub fn check(&self, resource: &str, verb: &str) -> Option<ApiError> {
        self.check_request(&Target {
            resource,
            group: "",
            name: "",
            verb,
            preconditioned: false,
        })
    }

    /// Should this request fail?
    pub fn check_request(&self, t: &Target<'_>) -> Option<ApiError> {
        let mut g = self.lock();
        let (f, draws) = &mut *g;
        match f.decide(draws, t.resource, t.verb, t.preconditioned)? {
            FaultKind::Error { status } => Some(error_for(status)),
            FaultKind::Conflict => Some(ApiError::conflict(t.resource, t.group, t.name)),
        }
    }
}

/// What a fault rule is matched against.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// Resource (plural).
    pub resource: &'a str,
    /// API group ("" for the core group).
    pub group: &'a str,
    /// Object name ("" for a collection).
    pub name: &'a str,
    /// The request's verb.
    pub verb: &'a str,
    /// Whether the request is a write with a resourceVersion precondition, the only
    /// kind of request that can conflict.
    pub preconditioned: bool,
}

fn error_for(code: u16) -> ApiError {
    match code {
        429 => ApiError::new(
            429,
            "TooManyRequests",
            "Too many requests, please try again later.",
        )
        .with_details(serde_json::json!({"retryAfterSeconds": 1})),
        503 => ApiError::new(
            503,
            "ServiceUnavailable",
            "the server is currently unable to handle the request",
        ),
        c => ApiError::new(
            c,
            "InternalError",
            "Internal error occurred: injected fault",
        )
        .with_details(serde_json::json!({"causes": [{"message": "injected fault"}]})),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fault run over a fixed request sequence: (delay, failing status) per request.
    fn fault_run(seed: u64) -> Vec<(Duration, Option<u16>)> {
        let h = FaultHandle::default();
        let set = h.set(
            FaultConfig::none()
                .with_seed(seed)
                .with_latency(Latency::Uniform {
                    min_ms: 0,
                    max_ms: 20,
                })
                .with_rule(FaultRule::error(500).verb("list").probability(0.3))
                .with_rule(FaultRule::error(429).resource("secrets").probability(0.2)),
        );
        assert!(set.is_ok());
        (0..300)
            .map(|i| {
                let resource = if i % 2 == 0 { "secrets" } else { "configmaps" };
                let verb = if i % 3 == 0 { "list" } else { "get" };
                (h.delay(), h.check(resource, verb).map(|e| e.code))
            })
            .collect()
    }

    #[test]
    fn the_same_seed_replays_the_same_faults() {
        let run = fault_run(99);
        assert_eq!(run, fault_run(99));
        assert_ne!(run, fault_run(100), "another seed, other faults");
        let errors = run.iter().filter(|(_, e)| e.is_some()).count();
        assert!((40..=130).contains(&errors), "{errors}");
    }

    #[test]
    fn remaining_counts_down_and_scope_holds() {
        let h = FaultHandle::default();
        let _ = h
            .set(FaultConfig::none().with_rule(FaultRule::error(500).resource("secrets").times(2)));
        assert!(h.check("configmaps", "list").is_none());
        assert_eq!(h.check("secrets", "get").map(|e| e.code), Some(500));
        assert_eq!(h.check("secrets", "list").map(|e| e.code), Some(500));
        assert!(h.check("secrets", "list").is_none());
        assert_eq!(h.get().rules[0].remaining, Some(0));
    }

    #[test]
    fn conflicts_hit_only_writes_with_a_precondition() {
        let h = FaultHandle::default();
        let _ = h.set(FaultConfig::none().with_rule(FaultRule::conflict()));
        let t = |verb, preconditioned| Target {
            resource: "sipconnections",
            group: "sipcred.io",
            name: "c1",
            verb,
            preconditioned,
        };
        assert!(h.check_request(&t("patch", false)).is_none());
        assert!(h.check_request(&t("get", false)).is_none());
        let e = h.check_request(&t("patch", true)).map(|e| e.status());
        let e = e.unwrap_or_default();
        assert_eq!(e["code"], 409);
        assert_eq!(e["reason"], "Conflict");
        assert_eq!(
            e["message"],
            "Operation cannot be fulfilled on sipconnections.sipcred.io \"c1\": the object has been modified; please apply your changes to the latest version and try again"
        );
        let f: FaultConfig = serde_json::from_value(
            serde_json::json!({"rules": [{"kind": "conflict", "probability": 0.5}]}),
        )
        .unwrap_or_default();
        assert_eq!(f.rules, vec![FaultRule::conflict().probability(0.5)]);
    }

    #[test]
    fn the_json_shape_matches_the_provider_simulators() {
        let f: FaultConfig = serde_json::from_value(serde_json::json!({
            "seed": 7,
            "latency": {"dist": "fixed", "ms": 100},
            "rules": [{"kind": "error", "status": 503, "probability": 0.5, "verb": "list", "remaining": 3}]
        }))
        .unwrap_or_default();
        assert_eq!(f.seed, Some(7));
        assert_eq!(f.latency, Some(Latency::Fixed { ms: 100 }));
        assert_eq!(
            f.rules,
            vec![FaultRule::error(503).verb("list").probability(0.5).times(3)]
        );
        assert!(
            FaultConfig::none()
                .with_rule(FaultRule::error(200))
                .validate()
                .is_err()
        );
        assert!(
            FaultConfig::none()
                .with_rule(FaultRule::error(500).probability(1.5))
                .validate()
                .is_err()
        );
    }
}
