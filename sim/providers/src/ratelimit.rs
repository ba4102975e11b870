//! Per-account token bucket.

use std::time::Instant;

use serde::{Deserialize, Serialize};

/// Rate-limit configuration for one account.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum RateLimit {
    /// No limit. Telnyx headers are still sent (limit/remaining = [`UNLIMITED`], reset 0).
    #[default]
    Disabled,
    /// Refill `rps` tokens per second up to `burst`; each request takes one.
    TokenBucket { rps: f64, burst: u32 },
}

/// What the headers say when rate limiting is disabled.
pub const UNLIMITED: u64 = 1_000_000;

impl RateLimit {
    pub fn per_second(rps: f64, burst: u32) -> Self {
        RateLimit::TokenBucket { rps, burst }
    }
}

/// A snapshot for the `x-ratelimit-*` headers.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    pub limit: u64,
    pub remaining: u64,
    /// Seconds until the bucket is full again (after a 429: until one token is back).
    pub reset_secs: u64,
}

#[derive(Debug)]
pub(crate) struct Bucket {
    cfg: RateLimit,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    pub fn new(cfg: RateLimit) -> Self {
        let tokens = match cfg {
            RateLimit::Disabled => 0.0,
            RateLimit::TokenBucket { burst, .. } => burst as f64,
        };
        Bucket {
            cfg,
            tokens,
            last: Instant::now(),
        }
    }

    pub fn config(&self) -> RateLimit {
        self.cfg
    }

    pub fn set_config(&mut self, cfg: RateLimit) {
        *self = Bucket::new(cfg);
    }

    fn refill(&mut self) {
        if let RateLimit::TokenBucket { rps, burst } = self.cfg {
            let now = Instant::now();
            let dt = now.duration_since(self.last).as_secs_f64();
            self.last = now;
            self.tokens = (self.tokens + dt * rps).min(burst as f64);
        }
    }

    /// Takes a token. `Ok` = allowed, `Err` = limited; both carry the header snapshot.
    pub fn take(&mut self) -> Result<Snapshot, Snapshot> {
        self.refill();
        match self.cfg {
            RateLimit::Disabled => Ok(self.snapshot_inner(false)),
            RateLimit::TokenBucket { .. } => {
                if self.tokens >= 1.0 {
                    self.tokens -= 1.0;
                    Ok(self.snapshot_inner(false))
                } else {
                    Err(self.snapshot_inner(true))
                }
            }
        }
    }

    /// The state without taking a token.
    pub fn peek(&mut self) -> Snapshot {
        self.refill();
        self.snapshot_inner(false)
    }

    fn snapshot_inner(&self, limited: bool) -> Snapshot {
        match self.cfg {
            RateLimit::Disabled => Snapshot {
                limit: UNLIMITED,
                remaining: UNLIMITED,
                reset_secs: 0,
            },
            RateLimit::TokenBucket { rps, burst } => {
                let missing = if limited {
                    1.0 - self.tokens
                } else {
                    burst as f64 - self.tokens
                };
                let reset = if missing <= 0.0 || rps <= 0.0 {
                    if rps <= 0.0 && missing > 0.0 {
                        u64::from(u32::MAX)
                    } else {
                        0
                    }
                } else {
                    (missing / rps).ceil() as u64
                };
                Snapshot {
                    limit: u64::from(burst),
                    remaining: self.tokens.floor().max(0.0) as u64,
                    reset_secs: if limited { reset.max(1) } else { reset },
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_empties() {
        let mut b = Bucket::new(RateLimit::per_second(1.0, 3));
        assert!(b.take().is_ok());
        assert!(b.take().is_ok());
        let s = b.take().map_err(|_| ()).unwrap_or(Snapshot {
            limit: 0,
            remaining: 9,
            reset_secs: 0,
        });
        assert_eq!(s.remaining, 0);
        let e = b.take();
        assert!(e.is_err());
        if let Err(s) = e {
            assert_eq!(s.limit, 3);
            assert!(s.reset_secs >= 1);
        }
    }

    #[test]
    fn disabled_never_limits() {
        let mut b = Bucket::new(RateLimit::Disabled);
        for _ in 0..1000 {
            assert!(b.take().is_ok());
        }
    }
}
