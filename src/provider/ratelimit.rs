//! Client-side rate limiting per provider account.
//!
//! A token bucket (requests per second plus a burst) and a semaphore bounding
//! the requests in flight. Both are shared by every clone of a client. When the
//! provider says "stop" (`x-ratelimit-remaining: 0` with `x-ratelimit-reset`,
//! or `Retry-After` on a 429/503), every caller pauses until the given time.
//!
//! Waiting callers take turns by fairness key (see [`super::fair`]): one tenant with
//! thousands of queued requests does not hold back another tenant's few.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::fair::{FairSemaphore, current_fairness_key};

/// Rate limit settings for one provider account.
#[derive(Clone, Debug, PartialEq)]
pub struct RateLimitConfig {
    /// Sustained requests per second (> 0).
    pub requests_per_second: f64,
    /// Requests that may be sent at once after an idle period (>= 1).
    pub burst: u32,
    /// Maximum requests in flight at the same time (>= 1).
    pub max_in_flight: usize,
    /// Upper bound on a server-requested pause, protecting against a bogus
    /// reset header stopping the operator for hours.
    pub max_server_pause: Duration,
}

impl Default for RateLimitConfig {
    /// 10 requests/s, burst 20, 8 in flight, server pauses capped at 60 s.
    /// Telnyx does not publish its limits; Vobiz documents none.
    fn default() -> Self {
        Self {
            requests_per_second: 10.0,
            burst: 20,
            max_in_flight: 8,
            max_server_pause: Duration::from_secs(60),
        }
    }
}

impl RateLimitConfig {
    /// The limits of an account allowed `requests_per_second` with `burst`: the
    /// requests in flight follow the rate (see [`in_flight_for`]).
    pub fn for_rate(requests_per_second: u32, burst: u32) -> Self {
        Self {
            requests_per_second: f64::from(requests_per_second.max(1)),
            burst: burst.max(1),
            max_in_flight: in_flight_for(requests_per_second),
            ..Self::default()
        }
    }
}

/// Requests in flight an account allowed `requests_per_second` needs so that the
/// rate, not the in-flight bound, is the limit: by Little's law the calls in flight
/// are the rate times the latency, and this allows latencies up to 500 ms at the full
/// rate (at least 8, at most 512).
pub fn in_flight_for(requests_per_second: u32) -> usize {
    (requests_per_second as usize).div_ceil(2).clamp(8, 512)
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
    paused_until: Option<Instant>,
}

#[derive(Debug)]
struct Inner {
    rate: f64,
    burst: f64,
    max_server_pause: Duration,
    bucket: Mutex<Bucket>,
    in_flight: Arc<Semaphore>,
    /// One caller at a time waits for a slot and a token; the others queue here by
    /// fairness key, so tokens go round robin between keys.
    turn: FairSemaphore,
}

/// The shared limiter. Cloning shares the state.
#[derive(Clone, Debug)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

/// Held while a request is in flight; releases the concurrency slot on drop.
#[derive(Debug)]
pub struct Permit {
    _permit: Option<OwnedSemaphorePermit>,
    /// How long the caller waited for this permit.
    pub waited: Duration,
}

impl RateLimiter {
    /// Sustained requests per second of this limiter.
    pub fn rate(&self) -> f64 {
        self.inner.rate
    }

    /// Builds a limiter; out-of-range values are clamped to sane minimums.
    pub fn new(cfg: &RateLimitConfig) -> Self {
        let rate = if cfg.requests_per_second.is_finite() && cfg.requests_per_second > 0.0 {
            cfg.requests_per_second
        } else {
            1.0
        };
        let burst = f64::from(cfg.burst.max(1));
        Self {
            inner: Arc::new(Inner {
                rate,
                burst,
                max_server_pause: cfg.max_server_pause,
                bucket: Mutex::new(Bucket {
                    tokens: burst,
                    last: Instant::now(),
                    paused_until: None,
                }),
                in_flight: Arc::new(Semaphore::new(cfg.max_in_flight.max(1))),
                turn: FairSemaphore::new(1),
            }),
        }
    }

    /// Waits for a concurrency slot and a token (and for any server-requested
    /// pause to end), taking turns with other fairness keys (the key of the running
    /// future, see [`super::fair::with_fairness_key`]).
    pub async fn acquire(&self) -> Permit {
        self.acquire_as(&current_fairness_key()).await
    }

    /// [`RateLimiter::acquire`] on behalf of fairness key `key`.
    pub async fn acquire_as(&self, key: &str) -> Permit {
        let start = Instant::now();
        let mut waited = false;
        let turn = match self.inner.turn.try_acquire() {
            Some(t) => t,
            None => {
                waited = true;
                self.inner.turn.acquire(key).await
            }
        };
        let sem = self.inner.in_flight.clone();
        // The semaphore is never closed, so acquiring only fails in theory.
        let permit = match sem.clone().try_acquire_owned() {
            Ok(p) => Some(p),
            Err(_) => {
                waited = true;
                sem.acquire_owned().await.ok()
            }
        };
        while let Some(d) = self.try_take(Instant::now()) {
            waited = true;
            tokio::time::sleep(d).await;
        }
        drop(turn);
        Permit {
            _permit: permit,
            waited: if waited {
                start.elapsed()
            } else {
                Duration::ZERO
            },
        }
    }

    /// Takes a token if possible; otherwise returns how long to wait.
    fn try_take(&self, now: Instant) -> Option<Duration> {
        let mut b = match self.inner.bucket.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(until) = b.paused_until {
            if until > now {
                return Some(until - now);
            }
            b.paused_until = None;
        }
        // `last` may lie in the future after a pause: no refill until then.
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.inner.rate).min(self.inner.burst);
        if now > b.last {
            b.last = now;
        }
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            None
        } else {
            let secs = (1.0 - b.tokens) / self.inner.rate;
            Some(Duration::from_secs_f64(secs.max(0.000_1)))
        }
    }

    /// Pauses every caller for `d` (capped at `max_server_pause`). A shorter
    /// pause never shortens a longer one already in force.
    pub fn pause_for(&self, d: Duration) {
        let d = d.min(self.inner.max_server_pause);
        let until = Instant::now() + d;
        let mut b = match self.inner.bucket.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        if b.paused_until.is_some_and(|existing| existing >= until) {
            return;
        }
        b.paused_until = Some(until);
        // Resume at the steady rate when the pause ends: one request may go
        // at once (a probe), the rest refill from then on, so the callers that
        // piled up do not burst into the fresh window together.
        b.tokens = 1.0;
        b.last = until;
    }

    /// Looks at a response's headers and pauses if the server asks for it.
    /// Returns the pause applied, if any.
    pub fn observe(&self, status: u16, headers: &HeaderMap) -> Option<Duration> {
        let pause = server_pause(status, headers)?;
        self.pause_for(pause);
        Some(pause.min(self.inner.max_server_pause))
    }

    /// The current server-requested pause end, for tests and diagnostics.
    pub fn paused_for(&self) -> Option<Duration> {
        let b = match self.inner.bucket.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        b.paused_until
            .map(|u| u.saturating_duration_since(Instant::now()))
            .filter(|d| !d.is_zero())
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Parses `Retry-After` (delta seconds or HTTP-date) and `retry-after-ms`.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) = header_str(headers, "retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let v = header_str(headers, "retry-after")?;
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs));
        }
        return None;
    }
    let ts = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(v)
        .ok()?;
    let now = jiff::Timestamp::now();
    let d = ts.duration_since(now);
    Some(Duration::try_from(d).unwrap_or(Duration::ZERO))
}

/// Parses Telnyx `x-ratelimit-reset` (seconds until the window resets). A
/// value that looks like a Unix timestamp is converted to a delay.
pub fn ratelimit_reset(headers: &HeaderMap) -> Option<Duration> {
    let v = header_str(headers, "x-ratelimit-reset")?
        .parse::<f64>()
        .ok()?;
    if !v.is_finite() || v < 0.0 {
        return None;
    }
    if v > 1_000_000_000.0 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        return Some(Duration::from_secs_f64((v - now).max(0.0)));
    }
    Some(Duration::from_secs_f64(v))
}

/// The pause the server asks for, if any:
/// * `x-ratelimit-remaining: 0` with `x-ratelimit-reset` (any status);
/// * on 429 or 503: `Retry-After` / `retry-after-ms`, else `x-ratelimit-reset`,
///   else 1 s for a 429.
pub fn server_pause(status: u16, headers: &HeaderMap) -> Option<Duration> {
    let exhausted = header_str(headers, "x-ratelimit-remaining")
        .and_then(|v| v.parse::<f64>().ok())
        .is_some_and(|r| r <= 0.0);
    if status == 429 || status == 503 {
        if let Some(d) = retry_after(headers).or_else(|| ratelimit_reset(headers)) {
            return Some(d);
        }
        if status == 429 {
            return Some(Duration::from_secs(1));
        }
        return None;
    }
    if exhausted {
        return ratelimit_reset(headers);
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn calls_in_flight_follow_the_rate() {
        // (requests per second, calls in flight allowed)
        let cases = [
            (1, 8),
            (10, 8),
            (16, 8),
            (17, 9),
            (100, 50),
            (1_000, 500),
            (10_000, 512),
        ];
        for (rps, want) in cases {
            assert_eq!(in_flight_for(rps), want, "{rps} req/s");
        }
        // At 100 req/s and 50 ms per call 5 calls are in flight: never the bound.
        assert!(RateLimitConfig::for_rate(100, 100).max_in_flight >= 5);
    }

    fn cfg(rps: f64, burst: u32, in_flight: usize) -> RateLimitConfig {
        RateLimitConfig {
            requests_per_second: rps,
            burst,
            max_in_flight: in_flight,
            max_server_pause: Duration::from_secs(60),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn burst_then_steady_rate() {
        let l = RateLimiter::new(&cfg(2.0, 3, 100));
        let start = Instant::now();
        for _ in 0..3 {
            let p = l.acquire().await;
            assert!(p.waited.is_zero());
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        let p = l.acquire().await; // 4th needs a fresh token: 0.5 s at 2/s
        assert!(p.waited >= Duration::from_millis(499), "{:?}", p.waited);
        let _ = l.acquire().await;
        let total = start.elapsed();
        assert!(
            total >= Duration::from_millis(999) && total < Duration::from_millis(1100),
            "{total:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn clones_share_the_bucket() {
        let a = RateLimiter::new(&cfg(1.0, 1, 10));
        let b = a.clone();
        let start = Instant::now();
        let _ = a.acquire().await;
        let _ = b.acquire().await;
        assert!(start.elapsed() >= Duration::from_millis(999));
    }

    #[tokio::test(start_paused = true)]
    async fn server_pause_blocks_everyone() {
        let l = RateLimiter::new(&cfg(100.0, 100, 10));
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        h.insert("x-ratelimit-reset", HeaderValue::from_static("5"));
        assert_eq!(l.observe(200, &h), Some(Duration::from_secs(5)));
        let start = Instant::now();
        let l2 = l.clone();
        let (p1, p2) = tokio::join!(l.acquire(), l2.acquire());
        assert!(p1.waited >= Duration::from_secs(5));
        assert!(p2.waited >= Duration::from_secs(5));
        assert!(start.elapsed() < Duration::from_secs(6));
    }

    #[tokio::test(start_paused = true)]
    async fn no_burst_after_a_pause() {
        let l = RateLimiter::new(&cfg(10.0, 10, 10));
        l.pause_for(Duration::from_secs(2));
        let start = Instant::now();
        for _ in 0..3 {
            let _ = l.acquire().await;
        }
        // 1 at 2.0 s, then 10/s: 2.1 s and 2.2 s.
        let t = start.elapsed();
        assert!(
            t >= Duration::from_millis(2190) && t < Duration::from_millis(2300),
            "{t:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn server_pause_is_capped() {
        let l = RateLimiter::new(&RateLimitConfig {
            max_server_pause: Duration::from_secs(10),
            ..cfg(100.0, 100, 10)
        });
        l.pause_for(Duration::from_secs(3600));
        let p = l.acquire().await;
        assert!(p.waited >= Duration::from_secs(10) && p.waited < Duration::from_secs(11));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_is_bounded() {
        let l = RateLimiter::new(&cfg(1000.0, 1000, 2));
        let p1 = l.acquire().await;
        let _p2 = l.acquire().await;
        let l2 = l.clone();
        let waiter = tokio::spawn(async move { l2.acquire().await.waited });
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(!waiter.is_finished());
        drop(p1);
        let waited = waiter.await.unwrap();
        assert!(waited >= Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_go_round_robin_between_fairness_keys() {
        // 1 request/s, no burst: 30 requests of namespace "a" queue up, then 3 of
        // "b". B's requests are interleaved with A's instead of waiting ~30 s.
        let l = RateLimiter::new(&cfg(1.0, 1, 100));
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (key, n) in [("a", 30), ("b", 3)] {
            for i in 0..n {
                let (l, order) = (l.clone(), order.clone());
                tasks.push(tokio::spawn(super::super::fair::with_fairness_key(
                    key,
                    async move {
                        let _p = l.acquire().await;
                        order.lock().unwrap().push(format!("{key}{i}"));
                    },
                )));
                tokio::task::yield_now().await;
            }
        }
        for t in tasks {
            t.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        let b: Vec<usize> = order
            .iter()
            .enumerate()
            .filter(|(_, n)| n.starts_with('b'))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(order.len(), 33);
        assert_eq!(b.len(), 3);
        assert!(b[2] <= 7, "B's requests were queued behind A's: {order:?}");
    }

    #[test]
    fn header_parsing() {
        let mut h = HeaderMap::new();
        assert_eq!(server_pause(200, &h), None);
        assert_eq!(server_pause(429, &h), Some(Duration::from_secs(1)));
        assert_eq!(server_pause(503, &h), None);
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(server_pause(429, &h), Some(Duration::from_secs(7)));
        assert_eq!(server_pause(503, &h), Some(Duration::from_secs(7)));
        assert_eq!(server_pause(200, &h), None);
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-remaining", HeaderValue::from_static("3"));
        h.insert("x-ratelimit-reset", HeaderValue::from_static("9"));
        assert_eq!(server_pause(200, &h), None);
        assert_eq!(server_pause(429, &h), Some(Duration::from_secs(9)));
        let mut h = HeaderMap::new();
        h.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(250)));
        let mut h = HeaderMap::new();
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }
}
