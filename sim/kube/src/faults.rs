//! Fault injection: cut watch streams, fail a share of requests, add latency.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::broadcast;

use crate::errors::ApiError;

/// One error rule.
#[derive(Clone, Debug)]
pub struct ErrorRule {
    /// 500 or 429 (any code works).
    pub code: u16,
    /// Share of matching requests that fail, 0.0..=1.0.
    pub share: f64,
    /// Only this resource (plural), if set.
    pub resource: Option<String>,
    /// Only this verb (get, list, watch, create, update, patch, delete), if set.
    pub verb: Option<String>,
}

#[derive(Debug)]
struct Rule {
    rule: ErrorRule,
    seen: AtomicU64,
}

/// Shared fault state.
#[derive(Debug)]
pub struct FaultState {
    cut: broadcast::Sender<()>,
    rules: Mutex<Vec<Arc<Rule>>>,
    latency_ms: AtomicU64,
}

/// Handle to control faults.
#[derive(Clone, Debug)]
pub struct FaultHandle(pub(crate) Arc<FaultState>);

impl Default for FaultHandle {
    fn default() -> Self {
        let (cut, _) = broadcast::channel(16);
        Self(Arc::new(FaultState {
            cut,
            rules: Mutex::new(Vec::new()),
            latency_ms: AtomicU64::new(0),
        }))
    }
}

impl FaultHandle {
    /// End every open watch stream now.
    pub fn cut_watches(&self) {
        let _ = self.0.cut.send(());
    }

    /// Subscribe to watch cuts.
    pub fn on_cut(&self) -> broadcast::Receiver<()> {
        self.0.cut.subscribe()
    }

    /// Fail `share` of the matching requests with `code` (500, 429, ...).
    pub fn fail(&self, rule: ErrorRule) {
        self.0
            .rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::new(Rule {
                rule,
                seen: AtomicU64::new(0),
            }));
    }

    /// Shorthand: fail `share` of all requests with `code`.
    pub fn fail_share(&self, code: u16, share: f64) {
        self.fail(ErrorRule {
            code,
            share,
            resource: None,
            verb: None,
        });
    }

    /// Add latency to every API request.
    pub fn set_latency(&self, d: Duration) {
        self.0
            .latency_ms
            .store(d.as_millis() as u64, Ordering::Relaxed);
    }

    /// Remove all error rules and latency.
    pub fn clear(&self) {
        self.0
            .rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.0.latency_ms.store(0, Ordering::Relaxed);
    }

    /// Current latency.
    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.0.latency_ms.load(Ordering::Relaxed))
    }

    /// Should this request fail? Deterministic: exactly `share` of matches.
    pub fn check(&self, resource: &str, verb: &str) -> Option<ApiError> {
        let rules = self
            .0
            .rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for r in rules {
            if r.rule.resource.as_deref().is_some_and(|x| x != resource)
                || r.rule.verb.as_deref().is_some_and(|x| x != verb)
            {
                continue;
            }
            let n = r.seen.fetch_add(1, Ordering::Relaxed) as f64;
            let share = r.rule.share.clamp(0.0, 1.0);
            if ((n + 1.0) * share).floor() > (n * share).floor() {
                return Some(error_for(r.rule.code));
            }
        }
        None
    }
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
