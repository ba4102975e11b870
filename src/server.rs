//! The operator's HTTP endpoints: `GET /metrics`, `GET /healthz`, `GET /readyz`.
//!
//! [`metrics_router`] and [`health_router`] are independent routers; [`serve_all`]
//! serves them on one address (merged) or on two, and [`serve_router`] serves any
//! router on an already bound listener until a shutdown future completes.
//!
//! # Liveness and readiness
//!
//! [`Health`] holds two signals:
//!
//! - readiness: a flag the process sets with [`Health::set_ready`] once it can do its
//!   job (for example, once the CRDs are found and the controllers started, or once a
//!   standby is waiting for the Lease). `/readyz` answers 503 until then.
//! - liveness: controllers call [`Health::heartbeat`] as they make progress. `/healthz`
//!   answers 200 while the last heartbeat is younger than the liveness window, and
//!   always 200 while no heartbeat was ever recorded (no controller running yet, e.g.
//!   a standby replica waiting for the Lease, or start-up). [`Health::reset_heartbeat`]
//!   returns to that state.
//!
//! The window must be longer than the longest quiet period of a healthy controller:
//! if controllers only beat after a reconcile, an idle cluster with no objects gives
//! no beats. Beat from something that happens regularly while the controller works,
//! such as every item of the controller stream plus a requeue/resync no longer than
//! the window, or the watch streams' events and bookmarks.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use futures::FutureExt;

use crate::metrics::{Metrics, OPENMETRICS_CONTENT_TYPE};

/// Default liveness window: `/healthz` fails when controllers have not beaten for this long.
pub const DEFAULT_LIVENESS_WINDOW: Duration = Duration::from_secs(300);

struct HealthInner {
    ready: AtomicBool,
    /// Milliseconds since `epoch` of the last heartbeat, plus one; 0 = never.
    last_beat: AtomicU64,
    epoch: Instant,
    window: Duration,
}

/// Readiness flag and controller heartbeat. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct Health {
    inner: Arc<HealthInner>,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health")
            .field("ready", &self.is_ready())
            .field("live", &self.is_live())
            .field("window", &self.inner.window)
            .finish()
    }
}

impl Default for Health {
    fn default() -> Self {
        Self::new(DEFAULT_LIVENESS_WINDOW)
    }
}

impl Health {
    /// Not ready, live, with the given liveness window.
    pub fn new(liveness_window: Duration) -> Self {
        Self {
            inner: Arc::new(HealthInner {
                ready: AtomicBool::new(false),
                last_beat: AtomicU64::new(0),
                epoch: Instant::now(),
                window: liveness_window,
            }),
        }
    }

    /// Sets readiness (`/readyz`).
    pub fn set_ready(&self, ready: bool) {
        self.inner.ready.store(ready, Ordering::Release);
    }

    /// Whether `/readyz` answers 200.
    pub fn is_ready(&self) -> bool {
        self.inner.ready.load(Ordering::Acquire)
    }

    /// Records controller progress now. From the first beat on, liveness requires a
    /// beat at least once per window.
    pub fn heartbeat(&self) {
        let since = self.inner.epoch.elapsed().as_millis();
        let stamp = u64::try_from(since)
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1);
        self.inner.last_beat.store(stamp, Ordering::Release);
    }

    /// Forgets heartbeats: live again until the next [`Health::heartbeat`]
    /// (use when controllers are stopped on purpose).
    pub fn reset_heartbeat(&self) {
        self.inner.last_beat.store(0, Ordering::Release);
    }

    /// Time since the last heartbeat, `None` if none was recorded.
    pub fn since_heartbeat(&self) -> Option<Duration> {
        match self.inner.last_beat.load(Ordering::Acquire) {
            0 => None,
            stamp => {
                let at = Duration::from_millis(stamp - 1);
                Some(self.inner.epoch.elapsed().saturating_sub(at))
            }
        }
    }

    /// Whether `/healthz` answers 200: no heartbeat yet, or the last one is younger
    /// than the window.
    pub fn is_live(&self) -> bool {
        self.since_heartbeat()
            .is_none_or(|since| since < self.inner.window)
    }

    /// The liveness window.
    pub fn liveness_window(&self) -> Duration {
        self.inner.window
    }
}

/// `GET /metrics` serving `metrics` in OpenMetrics text format.
pub fn metrics_router(metrics: Metrics) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .with_state(metrics)
}

async fn metrics_handler(State(metrics): State<Metrics>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)],
        metrics.encode(),
    )
}

/// `GET /healthz` (200 `ok` while live, 500 otherwise) and `GET /readyz`
/// (200 `ok` once ready, 503 before).
pub fn health_router(health: Health) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(health)
}

async fn healthz(State(health): State<Health>) -> (StatusCode, String) {
    if health.is_live() {
        (StatusCode::OK, "ok".to_owned())
    } else {
        let since = health.since_heartbeat().unwrap_or_default();
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("no controller progress for {}s", since.as_secs()),
        )
    }
}

async fn readyz(State(health): State<Health>) -> (StatusCode, &'static str) {
    if health.is_ready() {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then finishes in-flight
/// requests (graceful shutdown) and returns.
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "serving HTTP");
    }
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Binds `addr` and serves `router` until `shutdown` completes.
pub async fn serve(
    addr: SocketAddr,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    serve_router(listener, router, shutdown).await
}

/// Serves `/metrics` on `metrics_addr` and `/healthz`, `/readyz` on `health_addr`;
/// one listener with merged routes when both addresses are equal. Returns when
/// `shutdown` completes (after graceful shutdown) or when a listener fails.
pub async fn serve_all(
    metrics_addr: SocketAddr,
    health_addr: SocketAddr,
    metrics: Metrics,
    health: Health,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if metrics_addr == health_addr {
        let router = metrics_router(metrics).merge(health_router(health));
        return serve(metrics_addr, router, shutdown).await;
    }
    // Bind both first so that a port clash fails fast, before anything is served.
    let metrics_listener = tokio::net::TcpListener::bind(metrics_addr).await?;
    let health_listener = tokio::net::TcpListener::bind(health_addr).await?;
    let shutdown = shutdown.shared();
    tokio::try_join!(
        serve_router(metrics_listener, metrics_router(metrics), shutdown.clone()),
        serve_router(health_listener, health_router(health), shutdown),
    )
    .map(|((), ())| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_before_any_heartbeat_then_tied_to_heartbeats() {
        let h = Health::new(Duration::from_millis(50));
        assert!(h.is_live(), "no controller yet: live");
        assert_eq!(h.since_heartbeat(), None);
        h.heartbeat();
        assert!(h.is_live());
        std::thread::sleep(Duration::from_millis(80));
        assert!(!h.is_live(), "heartbeats stopped: not live");
        h.heartbeat();
        assert!(h.is_live(), "beating again: live");
        std::thread::sleep(Duration::from_millis(80));
        h.reset_heartbeat();
        assert!(h.is_live(), "reset: back to no controller");
    }

    #[test]
    fn readiness_flag_is_shared_by_clones() {
        let h = Health::default();
        assert!(!h.is_ready());
        h.clone().set_ready(true);
        assert!(h.is_ready());
    }
}
