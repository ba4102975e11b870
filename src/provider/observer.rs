//! Hooks the operator uses to turn provider traffic into metrics.

use std::time::Duration;

/// Receives one call per HTTP attempt and one per rate-limit wait.
///
/// Implementations must be cheap and must not block: they run on the request
/// path.
pub trait RequestObserver: Send + Sync {
    /// One HTTP attempt finished. `status` is `None` when no response arrived
    /// (connect error, timeout, connection reset).
    fn request(
        &self,
        provider: &'static str,
        operation: &'static str,
        status: Option<u16>,
        elapsed: Duration,
    );

    /// A caller waited `waited` for the client-side rate limiter (token bucket,
    /// concurrency limit or a server-requested pause) before sending.
    fn rate_limit_wait(&self, provider: &'static str, waited: Duration);
}

/// Observer that does nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoopObserver;

impl RequestObserver for NoopObserver {
    fn request(&self, _: &'static str, _: &'static str, _: Option<u16>, _: Duration) {}
    fn rate_limit_wait(&self, _: &'static str, _: Duration) {}
}
