//! Retry policy: jittered exponential backoff for retryable failures, and the
//! rule that a create is never repeated after an ambiguous failure.

use std::time::Duration;

use rand::Rng;

use super::error::{ErrorCategory, FailureKind, OpKind, ProviderError};

/// Retry settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryConfig {
    /// Total attempts including the first (>= 1). 1 disables retries.
    pub max_attempts: u32,
    /// Backoff before the first retry.
    pub base: Duration,
    /// Largest backoff.
    pub cap: Duration,
    /// If the server asks to wait longer than this, give up and hand the hint
    /// to the caller (who requeues) instead of blocking.
    pub max_retry_after: Duration,
}

impl Default for RetryConfig {
    /// 4 attempts, 250 ms doubling up to 8 s, server waits up to 30 s.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base: Duration::from_millis(250),
            cap: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

/// Why the client stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The failure is not retryable (4xx, not found, conflict, in use...).
    NotRetryable,
    /// A create failed after the request may have reached the provider; the
    /// object may exist. Marked `outcome_unknown`.
    AmbiguousCreate,
    /// All attempts used.
    AttemptsExhausted,
    /// The server asked to wait longer than `max_retry_after`.
    RetryAfterTooLong,
}

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryDecision {
    /// Try again.
    Retry,
    /// Return the error.
    Stop(StopReason),
}

/// The facts a decision depends on (separate from [`ProviderError`] so the
/// decision table can be tested directly).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Transport-level kind.
    pub kind: FailureKind,
    /// HTTP status if any.
    pub status: Option<u16>,
    /// Category.
    pub category: ErrorCategory,
    /// Server wait hint.
    pub retry_after: Option<Duration>,
}

impl From<&ProviderError> for Failure {
    fn from(e: &ProviderError) -> Self {
        Self {
            kind: e.kind(),
            status: e.status(),
            category: e.category(),
            retry_after: e.retry_after(),
        }
    }
}

/// Decides whether to retry after attempt number `attempt` (1-based) failed.
pub fn decide(op: OpKind, f: &Failure, attempt: u32, cfg: &RetryConfig) -> RetryDecision {
    let transient = matches!(
        f.category,
        ErrorCategory::ProviderUnavailable | ErrorCategory::RateLimited
    );
    if !transient {
        return RetryDecision::Stop(StopReason::NotRetryable);
    }
    if !op.is_idempotent() {
        // A create may only be repeated when the provider provably did not
        // act on it: the connection was never made, or it said 429 / 503.
        let provably_not_done =
            f.kind == FailureKind::Connect || matches!(f.status, Some(429) | Some(503));
        if !provably_not_done {
            return RetryDecision::Stop(StopReason::AmbiguousCreate);
        }
    }
    if attempt >= cfg.max_attempts {
        return RetryDecision::Stop(StopReason::AttemptsExhausted);
    }
    if f.retry_after.is_some_and(|d| d > cfg.max_retry_after) {
        return RetryDecision::Stop(StopReason::RetryAfterTooLong);
    }
    RetryDecision::Retry
}

/// The exponential ceiling for the backoff after attempt `attempt` (1-based):
/// `min(cap, base * 2^(attempt-1))`.
pub fn backoff_ceiling(attempt: u32, cfg: &RetryConfig) -> Duration {
    let exp = attempt.saturating_sub(1).min(30);
    cfg.base
        .checked_mul(1u32 << exp)
        .unwrap_or(cfg.cap)
        .min(cfg.cap)
}

/// "Equal jitter" backoff: uniformly in `[ceiling/2, ceiling]`, so retries
/// from many objects spread out but never hammer at zero delay.
pub fn backoff(attempt: u32, cfg: &RetryConfig, rng: &mut impl Rng) -> Duration {
    let ceiling = backoff_ceiling(attempt, cfg);
    let half = ceiling / 2;
    let span = ceiling.saturating_sub(half).as_nanos() as u64;
    let jitter = if span == 0 {
        0
    } else {
        rng.random_range(0..=span)
    };
    half + Duration::from_nanos(jitter)
}

/// The delay before the next attempt: the backoff, but at least the server's
/// hint (the shared rate limiter also holds every caller until then).
pub fn delay(attempt: u32, f: &Failure, cfg: &RetryConfig, rng: &mut impl Rng) -> Duration {
    let b = backoff(attempt, cfg, rng);
    match f.retry_after {
        Some(hint) => hint.max(b.min(cfg.base)),
        None => b,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn failure(kind: FailureKind, status: Option<u16>, category: ErrorCategory) -> Failure {
        Failure {
            kind,
            status,
            category,
            retry_after: None,
        }
    }

    #[test]
    fn decision_table() {
        use ErrorCategory as C;
        use FailureKind as K;
        use RetryDecision::*;
        use StopReason::*;
        let cfg = RetryConfig::default();
        let status = |s: u16, c: C| failure(K::Status, Some(s), c);
        #[rustfmt::skip]
        let cases: Vec<(&str, OpKind, Failure, u32, RetryDecision, &str)> = vec![
            ("get 503 retried", OpKind::Read, status(503, C::ProviderUnavailable), 1, Retry, "transient, idempotent"),
            ("get 500 retried", OpKind::Read, status(500, C::ProviderUnavailable), 1, Retry, "transient, idempotent"),
            ("get timeout retried", OpKind::Read, failure(K::Timeout, None, C::ProviderUnavailable), 1, Retry, "idempotent"),
            ("get reset retried", OpKind::Read, failure(K::Transport, None, C::ProviderUnavailable), 2, Retry, "idempotent"),
            ("get 429 retried", OpKind::Read, status(429, C::RateLimited), 1, Retry, "rate limited"),
            ("patch timeout retried", OpKind::Update, failure(K::Timeout, None, C::ProviderUnavailable), 1, Retry, "PATCH sets fields: idempotent"),
            ("delete 502 retried", OpKind::Delete, status(502, C::ProviderUnavailable), 1, Retry, "DELETE idempotent; a later 404 means gone"),
            ("token 500 retried", OpKind::Action, status(500, C::ProviderUnavailable), 1, Retry, "tokens are unlimited, a duplicate is harmless"),
            ("get 404 not retried", OpKind::Read, status(404, C::NotFound), 1, Stop(NotRetryable), "not found is an answer"),
            ("create 422 not retried", OpKind::Create, status(422, C::ProviderRejected), 1, Stop(NotRetryable), "validation error"),
            ("patch 422 not retried", OpKind::Update, status(422, C::ProviderRejected), 1, Stop(NotRetryable), "validation error"),
            ("get 401 not retried", OpKind::Read, status(401, C::AuthenticationFailed), 1, Stop(NotRetryable), "bad key"),
            ("create 409 not retried", OpKind::Create, status(409, C::Conflict), 1, Stop(NotRetryable), "duplicate"),
            ("delete in use not retried", OpKind::Delete, status(409, C::ResourceInUse), 1, Stop(NotRetryable), "caller requeues with its own backoff"),
            ("create connect error retried", OpKind::Create, failure(K::Connect, None, C::ProviderUnavailable), 1, Retry, "request never left"),
            ("create 429 retried", OpKind::Create, status(429, C::RateLimited), 1, Retry, "rejected before processing"),
            ("create 503 retried", OpKind::Create, status(503, C::ProviderUnavailable), 1, Retry, "service unavailable: not processed"),
            ("create timeout ambiguous", OpKind::Create, failure(K::Timeout, None, C::ProviderUnavailable), 1, Stop(AmbiguousCreate), "may have been created"),
            ("create reset ambiguous", OpKind::Create, failure(K::Transport, None, C::ProviderUnavailable), 1, Stop(AmbiguousCreate), "connection dropped after sending"),
            ("create 500 ambiguous", OpKind::Create, status(500, C::ProviderUnavailable), 1, Stop(AmbiguousCreate), "server may have committed"),
            ("create 502 ambiguous", OpKind::Create, status(502, C::ProviderUnavailable), 1, Stop(AmbiguousCreate), "gateway may have forwarded"),
            ("create 504 ambiguous", OpKind::Create, status(504, C::ProviderUnavailable), 1, Stop(AmbiguousCreate), "gateway timeout"),
            ("get 503 exhausted", OpKind::Read, status(503, C::ProviderUnavailable), 4, Stop(AttemptsExhausted), "max_attempts = 4"),
            ("create 503 exhausted", OpKind::Create, status(503, C::ProviderUnavailable), 4, Stop(AttemptsExhausted), "exhausted, not ambiguous"),
            ("decode error not retried", OpKind::Read, failure(K::Decode, Some(200), C::InvalidResponse), 1, Stop(NotRetryable), "same body again"),
        ];
        for (name, op, f, attempt, expected, reason) in cases {
            assert_eq!(decide(op, &f, attempt, &cfg), expected, "{name}: {reason}");
        }
    }

    #[test]
    fn long_retry_after_handed_to_caller() {
        let cfg = RetryConfig::default();
        let f = Failure {
            retry_after: Some(Duration::from_secs(300)),
            ..failure(FailureKind::Status, Some(429), ErrorCategory::RateLimited)
        };
        assert_eq!(
            decide(OpKind::Read, &f, 1, &cfg),
            RetryDecision::Stop(StopReason::RetryAfterTooLong)
        );
    }

    #[test]
    fn backoff_bounds() {
        let cfg = RetryConfig {
            max_attempts: 10,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(30),
        };
        let mut rng = rand::rng();
        for attempt in 1..=12 {
            let ceiling = backoff_ceiling(attempt, &cfg);
            let expected = Duration::from_millis(100 * 2u64.pow(attempt - 1)).min(cfg.cap);
            assert_eq!(ceiling, expected, "attempt {attempt}");
            for _ in 0..200 {
                let d = backoff(attempt, &cfg, &mut rng);
                assert!(d >= ceiling / 2 && d <= ceiling, "attempt {attempt}: {d:?}");
            }
        }
        // Huge attempt numbers do not overflow.
        assert_eq!(backoff_ceiling(u32::MAX, &cfg), cfg.cap);
    }

    #[test]
    fn delay_honours_server_hint() {
        let cfg = RetryConfig::default();
        let mut rng = rand::rng();
        let f = Failure {
            retry_after: Some(Duration::from_secs(3)),
            ..failure(FailureKind::Status, Some(429), ErrorCategory::RateLimited)
        };
        for _ in 0..50 {
            let d = delay(1, &f, &cfg, &mut rng);
            assert!(d >= Duration::from_secs(3) && d <= Duration::from_secs(3) + cfg.base);
        }
    }
}
