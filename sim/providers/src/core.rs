//! Shared plumbing: the connection loop, the request pipeline (counting, faults, auth,
//! rate limit, commit-then-drop) and the generic admin API.

// Responses are returned by value on cold paths only.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::faults::{Action, Draws, FaultConfig};
use crate::ratelimit::{Bucket, RateLimit, Snapshot};

/// Locks a mutex, ignoring poisoning (a panicked handler must not wedge the simulator).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `f` with its seed filled in, and the random sequence of that seed.
fn seeded(mut f: FaultConfig) -> (FaultConfig, Draws) {
    let draws = Draws::new(f.seed);
    f.seed = Some(draws.seed());
    (f, draws)
}

/// Route label for requests no route matched.
pub const UNMATCHED: &str = "<unmatched>";

/// State every simulator has: faults, counters, the account's token bucket.
pub(crate) struct Common {
    faults: Mutex<(FaultConfig, Draws)>,
    counts: Mutex<HashMap<(String, String, u16), u64>>,
    /// Commit-then-drop requests by the status the client never saw: what a dropped
    /// request did (a 201 committed a create) is otherwise lost in status 0.
    dropped: Mutex<HashMap<(String, String, u16), u64>>,
    /// Every create (API or out-of-band) by collection and the identity a client looks
    /// the object up by, so a duplicate shows even after one copy was deleted.
    creates: Mutex<std::collections::BTreeMap<(String, String), u64>>,
    bucket: Mutex<Bucket>,
}

impl Common {
    pub fn new(faults: FaultConfig, rl: RateLimit) -> Self {
        Common {
            faults: Mutex::new(seeded(faults)),
            counts: Mutex::new(HashMap::new()),
            dropped: Mutex::new(HashMap::new()),
            creates: Mutex::new(Default::default()),
            bucket: Mutex::new(Bucket::new(rl)),
        }
    }

    pub fn record(&self, method: &str, route: &str, status: u16) {
        let mut c = lock(&self.counts);
        // Avoid allocating on the hot path when the key exists.
        if let Some(n) = c
            .iter_mut()
            .find(|((m, r, s), _)| *s == status && m == method && r == route)
            .map(|(_, n)| n)
        {
            *n += 1;
            return;
        }
        c.insert((method.to_string(), route.to_string(), status), 1);
    }

    pub fn request_count(&self, method: &str, route: &str, status: Option<u16>) -> u64 {
        lock(&self.counts)
            .iter()
            .filter(|((m, r, s), _)| {
                m.eq_ignore_ascii_case(method) && r == route && status.is_none_or(|st| st == *s)
            })
            .map(|(_, n)| *n)
            .sum()
    }

    /// Records the status a commit-then-drop request had before its connection closed.
    pub fn record_dropped(&self, method: &str, route: &str, status: u16) {
        *lock(&self.dropped)
            .entry((method.to_string(), route.to_string(), status))
            .or_default() += 1;
    }

    pub fn dropped_count(&self, method: &str, route: &str, status: Option<u16>) -> u64 {
        lock(&self.dropped)
            .iter()
            .filter(|((m, r, s), _)| {
                m.eq_ignore_ascii_case(method) && r == route && status.is_none_or(|st| st == *s)
            })
            .map(|(_, n)| *n)
            .sum()
    }

    /// Records a create in `collection` of an object with this identity.
    pub fn record_create(&self, collection: &str, identity: &str) {
        *lock(&self.creates)
            .entry((collection.to_string(), identity.to_string()))
            .or_default() += 1;
    }

    /// Creates so far in `collection`, by identity.
    pub fn creates(&self, collection: &str) -> std::collections::BTreeMap<String, u64> {
        lock(&self.creates)
            .iter()
            .filter(|((c, _), _)| c == collection)
            .map(|((_, i), n)| (i.clone(), *n))
            .collect()
    }

    pub fn reset_counts(&self) {
        lock(&self.counts).clear();
        lock(&self.dropped).clear();
    }

    pub fn counts_json(&self) -> Value {
        self.counts_json_filtered(&HashMap::new())
    }

    /// Counts, optionally filtered by `method`, `route` and `status` (query parameters
    /// of `GET /_sim/requests`).
    pub fn counts_json_filtered(&self, q: &HashMap<String, String>) -> Value {
        let c = lock(&self.counts);
        let mut rows: Vec<_> = c
            .iter()
            .filter(|((m, r, st), _)| {
                q.get("method").is_none_or(|x| x.eq_ignore_ascii_case(m))
                    && q.get("route").is_none_or(|x| x == r)
                    && q.get("status").is_none_or(|x| *x == st.to_string())
            })
            .collect();
        rows.sort_by(|a, b| a.0.cmp(b.0));
        let total: u64 = rows.iter().map(|(_, n)| **n).sum();
        json!({
            "total": total,
            "requests": rows.iter().map(|((m, r, s), n)| json!({
                "method": m, "route": r, "status": s, "count": n
            })).collect::<Vec<_>>(),
        })
    }

    /// Replaces the faults and restarts the random sequence from their seed (a fresh
    /// one when they have none); returns them with the seed in use.
    pub fn set_faults(&self, f: FaultConfig) -> FaultConfig {
        let (f, draws) = seeded(f);
        *lock(&self.faults) = (f.clone(), draws);
        f
    }

    pub fn faults(&self) -> FaultConfig {
        lock(&self.faults).0.clone()
    }

    pub fn set_rate_limit(&self, r: RateLimit) {
        lock(&self.bucket).set_config(r);
    }

    pub fn rate_limit(&self) -> RateLimit {
        lock(&self.bucket).config()
    }

    pub fn take_token(&self) -> Result<Snapshot, Snapshot> {
        lock(&self.bucket).take()
    }

    pub fn peek_bucket(&self) -> Snapshot {
        lock(&self.bucket).peek()
    }
}

/// What the generic admin API and `RunningSim` need from a simulator.
pub(crate) trait Sim: Send + Sync + 'static {
    fn common(&self) -> &Common;
    fn provider_name(&self) -> &'static str;
    fn state_json(&self) -> Value;
    fn check(&self, username: &str, password: &str) -> bool;
    fn oob_create(&self, collection: &str, body: Value) -> Result<Value, Value>;
    fn oob_patch(&self, collection: &str, id: &str, patch: Value) -> Option<Value>;
    fn oob_delete(&self, collection: &str, id: &str) -> bool;
    /// Why `check` refuses this login, when the reason is not simply wrong
    /// credentials (Telnyx: `credential_not_active`).
    fn check_refusal(&self, _username: &str, _password: &str) -> Option<&'static str> {
        None
    }
    /// Verifies an access token as a WebRTC login would.
    fn verify_token(&self, _token: &str) -> crate::TokenCheck {
        crate::TokenCheck {
            valid: false,
            credential_id: None,
            expires_at: None,
            reason: Some("unsupported".into()),
        }
    }
    fn set_activation_delay(&self, _delay: std::time::Duration) {}
    fn activation_delay(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}

/// Provider-specific parts of the request pipeline.
pub(crate) trait Flavor: Sim {
    /// `Err(response)` if the request is not authenticated.
    fn authenticate(&self, req: &Request) -> Result<(), Response>;
    /// An injected 500/502/503.
    fn server_error(&self, status: u16) -> Response;
    /// An injected timeout that is answered after the hold.
    fn gateway_timeout(&self) -> Response;
    /// 429 (real or injected).
    fn rate_limited(&self, snap: Snapshot) -> Response;
    /// Adds headers every response carries (Telnyx: `x-ratelimit-*`).
    fn decorate(&self, resp: &mut Response, snap: Snapshot);
    /// Body for an unknown route.
    fn not_found(&self) -> Response;
}

/// Per-connection control, inserted into every request's extensions.
#[derive(Clone)]
pub(crate) struct ConnCtl {
    abort: Arc<Notify>,
}

/// Accepts connections until cancelled. Each connection is served by hyper directly so
/// that a handler can make the server close the socket without answering
/// (commit-then-drop): the connection task selects on a per-connection `Notify` and
/// drops the hyper connection (and with it the TCP stream) when it fires.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    cancel: CancellationToken,
    open: Arc<AtomicUsize>,
) {
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => break,
            r = listener.accept() => r,
        };
        let stream = match accepted {
            Ok((s, _)) => s,
            Err(e) => {
                tracing::debug!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let cancel = cancel.clone();
        let guard = OpenGuard::new(open.clone());
        tokio::spawn(async move {
            let _guard = guard;
            let abort = Arc::new(Notify::new());
            let ctl = ConnCtl {
                abort: abort.clone(),
            };
            let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ctl.clone());
                let router = router.clone();
                async move {
                    let resp: Result<Response, Infallible> =
                        router.oneshot(req.map(Body::new)).await;
                    resp
                }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), svc);
            tokio::select! {
                _ = conn => {}
                _ = abort.notified() => {}
                _ = cancel.cancelled() => {}
            }
        });
    }
}

/// Counts open client connections (decremented when the connection task ends).
struct OpenGuard(Arc<AtomicUsize>);

impl OpenGuard {
    fn new(n: Arc<AtomicUsize>) -> Self {
        n.fetch_add(1, Ordering::Relaxed);
        OpenGuard(n)
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn route_of(req: &Request) -> String {
    req.extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| UNMATCHED.to_string())
}

/// The provider request pipeline, installed as a route layer on the provider routes.
pub(crate) async fn pipeline<A: Flavor>(
    State(app): State<Arc<A>>,
    req: Request,
    next: Next,
) -> Response {
    let method = req.method().as_str().to_string();
    let route = route_of(&req);
    let ctl = req.extensions().get::<ConnCtl>().cloned();
    let common = app.common();
    let decision = {
        let mut guard = lock(&common.faults);
        let (f, draws) = &mut *guard;
        f.decide(draws, &method, &route)
    };
    if !decision.delay.is_zero() {
        tokio::time::sleep(decision.delay).await;
    }
    let mut drop_after = false;
    let (mut resp, snap) = match decision.action {
        Action::Error(status) => (app.server_error(status), None),
        Action::Timeout(Some(hold)) => {
            tokio::time::sleep(hold).await;
            (app.gateway_timeout(), None)
        }
        Action::Timeout(None) => {
            common.record(&method, &route, 0);
            tracing::debug!(%method, %route, "fault: never answering");
            return std::future::pending().await;
        }
        Action::RateLimit => {
            let mut s = common.peek_bucket();
            s.remaining = 0;
            s.reset_secs = s.reset_secs.max(1);
            (app.rate_limited(s), Some(s))
        }
        Action::Proceed | Action::CommitThenDrop => {
            drop_after = decision.action == Action::CommitThenDrop;
            match app.authenticate(&req) {
                Err(r) => (r, None),
                Ok(()) => match common.take_token() {
                    Err(s) => (app.rate_limited(s), Some(s)),
                    Ok(s) => (next.run(req).await, Some(s)),
                },
            }
        }
    };
    let snap = snap.unwrap_or_else(|| common.peek_bucket());
    app.decorate(&mut resp, snap);
    if drop_after && let Some(ctl) = ctl {
        common.record(&method, &route, 0);
        common.record_dropped(&method, &route, resp.status().as_u16());
        tracing::debug!(%method, %route, "fault: commit-then-drop");
        ctl.abort.notify_one();
        return std::future::pending().await;
    }
    let status = resp.status().as_u16();
    common.record(&method, &route, status);
    tracing::debug!(%method, %route, status, "request");
    resp
}

/// Fallback for unknown routes (counted under [`UNMATCHED`]).
pub(crate) async fn fallback<A: Flavor>(State(app): State<Arc<A>>, req: Request) -> Response {
    let method = req.method().as_str().to_string();
    if req.uri().path().starts_with("/_sim") {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": "unknown admin route"})),
        )
            .into_response();
    }
    let mut resp = app.not_found();
    app.decorate(&mut resp, app.common().peek_bucket());
    app.common()
        .record(&method, UNMATCHED, resp.status().as_u16());
    resp
}

// ---------- admin API ----------

fn admin_err(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, axum::Json(json!({"error": msg.into()}))).into_response()
}

fn parse_json(body: &Bytes) -> Result<Value, Response> {
    serde_json::from_slice(body)
        .map_err(|e| admin_err(StatusCode::BAD_REQUEST, format!("invalid JSON: {e}")))
}

/// The generic `/_sim` routes, plus `/_sim/{provider}/{collection}[/{id}]`.
pub(crate) fn admin_router<S: Sim>(sim: Arc<S>) -> Router {
    Router::new()
        .route("/_sim/faults", get(get_faults::<S>).put(put_faults::<S>))
        .route(
            "/_sim/ratelimit",
            get(get_ratelimit::<S>).put(put_ratelimit::<S>),
        )
        .route("/_sim/state", get(get_state::<S>))
        .route("/_sim/requests", get(get_requests::<S>))
        .route("/_sim/requests/reset", post(reset_requests::<S>))
        .route("/_sim/check", post(check::<S>))
        .route("/_sim/{provider}/{collection}", post(oob_create::<S>))
        .route(
            "/_sim/{provider}/{collection}/{id}",
            patch(oob_patch::<S>).delete(oob_delete::<S>),
        )
        .with_state(sim)
}

async fn get_faults<S: Sim>(State(s): State<Arc<S>>) -> Response {
    axum::Json(s.common().faults()).into_response()
}

async fn put_faults<S: Sim>(State(s): State<Arc<S>>, body: Bytes) -> Response {
    let v = match parse_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let f: FaultConfig = match serde_json::from_value(v) {
        Ok(f) => f,
        Err(e) => return admin_err(StatusCode::BAD_REQUEST, format!("invalid faults: {e}")),
    };
    if let Err(e) = f.validate() {
        return admin_err(StatusCode::BAD_REQUEST, e);
    }
    axum::Json(s.common().set_faults(f)).into_response()
}

async fn get_ratelimit<S: Sim>(State(s): State<Arc<S>>) -> Response {
    axum::Json(s.common().rate_limit()).into_response()
}

async fn put_ratelimit<S: Sim>(State(s): State<Arc<S>>, body: Bytes) -> Response {
    let v = match parse_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    match serde_json::from_value::<RateLimit>(v) {
        Ok(r) => {
            s.common().set_rate_limit(r);
            axum::Json(r).into_response()
        }
        Err(e) => admin_err(StatusCode::BAD_REQUEST, format!("invalid rate limit: {e}")),
    }
}

async fn get_state<S: Sim>(State(s): State<Arc<S>>) -> Response {
    axum::Json(s.state_json()).into_response()
}

async fn get_requests<S: Sim>(
    State(s): State<Arc<S>>,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    axum::Json(s.common().counts_json_filtered(&q)).into_response()
}

async fn reset_requests<S: Sim>(State(s): State<Arc<S>>) -> Response {
    s.common().reset_counts();
    StatusCode::NO_CONTENT.into_response()
}

async fn check<S: Sim>(State(s): State<Arc<S>>, body: Bytes) -> Response {
    let v = match parse_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (Some(u), Some(p)) = (v["username"].as_str(), v["password"].as_str()) else {
        return admin_err(
            StatusCode::BAD_REQUEST,
            "username and password are required",
        );
    };
    let valid = s.check(u, p);
    match s.check_refusal(u, p).filter(|_| !valid) {
        Some(reason) => axum::Json(json!({"valid": valid, "reason": reason})).into_response(),
        None => axum::Json(json!({"valid": valid})).into_response(),
    }
}

fn check_provider<S: Sim>(s: &S, provider: &str) -> Result<(), Response> {
    if provider == s.provider_name() {
        Ok(())
    } else {
        Err(admin_err(
            StatusCode::NOT_FOUND,
            format!("this simulator is {}", s.provider_name()),
        ))
    }
}

async fn oob_create<S: Sim>(
    State(s): State<Arc<S>>,
    Path((provider, collection)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if let Err(r) = check_provider(&*s, &provider) {
        return r;
    }
    let v = match parse_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    match s.oob_create(&collection, v) {
        Ok(v) => (StatusCode::CREATED, axum::Json(v)).into_response(),
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(e)).into_response(),
    }
}

async fn oob_patch<S: Sim>(
    State(s): State<Arc<S>>,
    Path((provider, collection, id)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    if let Err(r) = check_provider(&*s, &provider) {
        return r;
    }
    let v = match parse_json(&body) {
        Ok(v) if v.is_object() => v,
        Ok(_) => return admin_err(StatusCode::BAD_REQUEST, "body must be a JSON object"),
        Err(r) => return r,
    };
    match s.oob_patch(&collection, &id, v) {
        Some(v) => axum::Json(v).into_response(),
        None => admin_err(StatusCode::NOT_FOUND, "no such object"),
    }
}

async fn oob_delete<S: Sim>(
    State(s): State<Arc<S>>,
    Path((provider, collection, id)): Path<(String, String, String)>,
) -> Response {
    if let Err(r) = check_provider(&*s, &provider) {
        return r;
    }
    if s.oob_delete(&collection, &id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        admin_err(StatusCode::NOT_FOUND, "no such object")
    }
}

/// True for methods that carry a JSON body we parse.
#[allow(dead_code)]
pub(crate) fn has_body(m: &Method) -> bool {
    matches!(*m, Method::POST | Method::PUT | Method::PATCH)
}
