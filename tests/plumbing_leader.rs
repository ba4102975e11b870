#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Leader election: two replicas competing for one Lease.
//!
//! Most tests run against `FakeLeaseApi` below: a minimal in-process Kubernetes API
//! that serves only `coordination.k8s.io/v1` Leases (GET, POST, strategic-merge and
//! apply PATCH, with an apply conflict on `holderIdentity`), over real HTTP. Each
//! replica talks to it through its own front door, which the test can cut off to
//! simulate a network partition of one replica.
//!
//! `failover_against_the_api_server` runs the same scenarios against the API server of
//! the run: the in-memory one, or the real control plane with
//! `SIPCRED_TEST_APISERVER=real`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use sipcred_operator::leader::{LeaderConfig, LeaderError, run_leader_elected};
use sipcred_operator::metrics::Metrics;
use tokio::task::JoinHandle;
use tokio::time::Instant;

// ---------------------------------------------------------------------------
// Timing used by the tests: D = 4 s, renew 2 s before expiry, fence 0.75 s.

const LEASE_DURATION: Duration = Duration::from_secs(4);

fn cfg(lease: &str, identity: &str) -> LeaderConfig {
    LeaderConfig::new(lease, "default")
        .with_identity(identity)
        .with_timing(LEASE_DURATION, Duration::from_secs(2))
        .with_fencing(Duration::from_millis(250), Duration::from_millis(750))
}

// ---------------------------------------------------------------------------
// The two-replica harness.

/// (replica, "start" | "stop", when)
type Event = (String, &'static str, Instant);

#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<Event>>>);

impl Events {
    fn push(&self, who: &str, what: &'static str) {
        self.0
            .lock()
            .unwrap()
            .push((who.to_owned(), what, Instant::now()));
    }

    fn at(&self, who: &str, what: &str) -> Option<Instant> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .find(|(w, e, _)| w == who && *e == what)
            .map(|(_, _, t)| *t)
    }

    async fn wait_for(&self, who: &str, what: &str, limit: Duration) -> Instant {
        let give_up = Instant::now() + limit;
        loop {
            if let Some(t) = self.at(who, what) {
                return t;
            }
            assert!(
                Instant::now() < give_up,
                "{who} did not {what} within {limit:?}: {:?}",
                self.0.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// No two replicas' work intervals overlap.
    fn assert_never_two_leaders(&self) {
        let events = self.0.lock().unwrap().clone();
        let mut running: Option<String> = None;
        let mut sorted = events.clone();
        sorted.sort_by_key(|(_, _, t)| *t);
        for (who, what, _) in &sorted {
            match *what {
                "start" => {
                    assert!(
                        running.is_none(),
                        "{who} started while {running:?} worked: {events:?}"
                    );
                    running = Some(who.clone());
                }
                "stop" => running = None,
                _ => {}
            }
        }
    }
}

/// Records "stop" when the work future ends or is dropped.
struct StopGuard(Events, String);

impl Drop for StopGuard {
    fn drop(&mut self) {
        self.0.push(&self.1, "stop");
    }
}

/// Runs a replica; its work records start/stop and runs for `work_for` (forever if None).
fn replica(
    client: kube::Client,
    cfg: LeaderConfig,
    events: Events,
    work_for: Option<Duration>,
    metrics: Option<Metrics>,
) -> JoinHandle<Result<String, LeaderError>> {
    let who = cfg.identity.clone();
    tokio::spawn(async move {
        run_leader_elected(client, cfg, metrics, move || async move {
            events.push(&who, "start");
            let _guard = StopGuard(events.clone(), who.clone());
            match work_for {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending::<()>().await,
            }
            who
        })
        .await
    })
}

// ---------------------------------------------------------------------------
// Scenarios, independent of the API server behind the clients.

/// A leads and finishes; B, waiting, takes over no later than the old lease's expiry.
async fn scenario_graceful_handover(a: kube::Client, b: kube::Client, lease: &str) {
    let events = Events::default();
    let ha = replica(
        a,
        cfg(lease, "a"),
        events.clone(),
        Some(Duration::from_secs(3)),
        None,
    );
    events.wait_for("a", "start", Duration::from_secs(10)).await;
    let hb = replica(
        b,
        cfg(lease, "b"),
        events.clone(),
        Some(Duration::ZERO),
        None,
    );

    assert_eq!(ha.await.unwrap().unwrap(), "a");
    let a_stop = events.at("a", "stop").unwrap();
    let b_start = events.wait_for("b", "start", LEASE_DURATION * 2).await;
    assert!(b_start > a_stop);
    assert!(
        b_start - a_stop <= LEASE_DURATION + Duration::from_millis(1500),
        "took {:?}",
        b_start - a_stop
    );
    assert_eq!(hb.await.unwrap().unwrap(), "b");
    events.assert_never_two_leaders();
}

/// A leads and is killed (no release); B takes over within the lease duration.
async fn scenario_leader_killed(a: kube::Client, b: kube::Client, lease: &str) {
    let events = Events::default();
    let ha = replica(a, cfg(lease, "a"), events.clone(), None, None);
    events.wait_for("a", "start", Duration::from_secs(10)).await;
    let hb = replica(b, cfg(lease, "b"), events.clone(), None, None);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(events.at("b", "start").is_none(), "standby must wait");

    // SIGKILL-like: the future is dropped; no release is sent.
    ha.abort();
    let killed = Instant::now();
    let b_start = events.wait_for("b", "start", LEASE_DURATION * 3).await;
    assert!(
        b_start - killed <= LEASE_DURATION + Duration::from_millis(1500),
        "took {:?}",
        b_start - killed
    );
    events.assert_never_two_leaders();
    hb.abort();
}

// ---------------------------------------------------------------------------
// Against the fake Lease API.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_replica_keeps_lease_across_renewals_then_releases() {
    let api = FakeLeaseApi::default();
    let front = api.front().await;
    let metrics = Metrics::new();
    let m = metrics.clone();
    let out = run_leader_elected(
        front.client(),
        cfg("single", "solo"),
        Some(metrics.clone()),
        || async move {
            assert!(m.is_leader(), "sipcred_leader is 1 while working");
            // Longer than the lease duration: renewals must keep the fence quiet.
            tokio::time::sleep(LEASE_DURATION + Duration::from_secs(2)).await;
            42
        },
    )
    .await
    .unwrap();
    assert_eq!(out, 42);
    assert!(!metrics.is_leader());
    let lease = api.lease("single").unwrap();
    assert!(
        lease["spec"].get("holderIdentity").is_none(),
        "released: {lease}"
    );
    assert!(api.renewals() >= 1, "renewed at least once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lease_is_released_when_the_lease_tasks_own_release_fails() {
    let api = FakeLeaseApi::default();
    let front = api.front().await;
    api.refuse_strategic_releases(1);
    let out = run_leader_elected(front.client(), cfg("refused", "solo"), None, || async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        7
    })
    .await
    .unwrap();
    assert_eq!(out, 7);
    let lease = api.lease("refused").unwrap();
    assert!(
        lease["spec"].get("holderIdentity").is_none(),
        "released: {lease}"
    );
    // A standby does not wait for the lease duration.
    let b = api.front().await;
    let took = Instant::now();
    let out = run_leader_elected(b.client(), cfg("refused", "other"), None, || async { 8 })
        .await
        .unwrap();
    assert_eq!(out, 8);
    assert!(took.elapsed() < LEASE_DURATION, "took {:?}", took.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standby_takes_over_after_graceful_release() {
    let api = FakeLeaseApi::default();
    let (a, b) = (api.front().await, api.front().await);
    scenario_graceful_handover(a.client(), b.client(), "graceful").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standby_takes_over_within_lease_duration_after_kill() {
    let api = FakeLeaseApi::default();
    let (a, b) = (api.front().await, api.front().await);
    scenario_leader_killed(a.client(), b.client(), "killed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitioned_leader_stops_before_standby_starts() {
    let api = FakeLeaseApi::default();
    let (fa, fb) = (api.front().await, api.front().await);
    let events = Events::default();
    let ha = replica(
        fa.client(),
        cfg("partition", "a"),
        events.clone(),
        None,
        None,
    );
    events.wait_for("a", "start", Duration::from_secs(10)).await;
    let hb = replica(
        fb.client(),
        cfg("partition", "b"),
        events.clone(),
        None,
        None,
    );
    tokio::time::sleep(Duration::from_secs(1)).await;

    // A can no longer reach the API; its lease manager still believes it leads.
    fa.set_down(true);
    let cut = Instant::now();
    let err = tokio::time::timeout(LEASE_DURATION * 2, ha)
        .await
        .expect("A gives up leadership")
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, LeaderError::Expired { .. }), "{err}");
    let a_stop = events.at("a", "stop").unwrap();
    assert!(
        a_stop - cut <= LEASE_DURATION,
        "A stopped after {:?}",
        a_stop - cut
    );

    let b_start = events.wait_for("b", "start", LEASE_DURATION * 2).await;
    assert!(a_stop < b_start, "A stopped before B started");
    assert!(
        b_start - cut <= LEASE_DURATION + Duration::from_millis(1500),
        "took {:?}",
        b_start - cut
    );
    events.assert_never_two_leaders();
    hb.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_stops_at_once_when_the_lease_names_another_holder() {
    let api = FakeLeaseApi::default();
    let front = api.front().await;
    let events = Events::default();
    let metrics = Metrics::new();
    let h = replica(
        front.client(),
        cfg("stolen", "a"),
        events.clone(),
        None,
        Some(metrics.clone()),
    );
    events.wait_for("a", "start", Duration::from_secs(10)).await;
    assert!(metrics.is_leader());

    api.set_holder("stolen", "intruder");
    let changed = Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(3), h)
        .await
        .expect("A stops")
        .unwrap()
        .unwrap_err();
    match &err {
        LeaderError::Lost { holder, .. } => assert_eq!(holder, "intruder"),
        other => panic!("want Lost, got {other}"),
    }
    assert!(events.at("a", "stop").unwrap() - changed < Duration::from_secs(2));
    assert!(!metrics.is_leader());
    // The lease task was aborted, not told to release: the intruder keeps it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        api.lease("stolen").unwrap()["spec"]["holderIdentity"],
        "intruder"
    );
}

#[tokio::test]
async fn disabled_election_runs_work_without_the_api() {
    // Nothing listens on port 9 (discard); the client must not be used.
    let client = client_for("127.0.0.1:9".parse().unwrap());
    let metrics = Metrics::new();
    let m = metrics.clone();
    let out = run_leader_elected(
        client,
        LeaderConfig::disabled(),
        Some(metrics.clone()),
        || async move { m.is_leader() },
    )
    .await
    .unwrap();
    assert!(out, "a single replica is the leader");
    assert!(!metrics.is_leader());
}

#[tokio::test]
async fn invalid_settings_fail_before_the_api() {
    let client = client_for("127.0.0.1:9".parse().unwrap());
    let bad = cfg("bad", "a").with_timing(Duration::from_secs(4), Duration::from_secs(4));
    let err = run_leader_elected(client, bad, None, || async {})
        .await
        .unwrap_err();
    assert!(matches!(err, LeaderError::InvalidConfig(_)), "{err}");
}

// ---------------------------------------------------------------------------
// Against an API server: the in-memory one or the real control plane.

/// A Kubernetes API for the two-replica tests, plus whatever must stay alive for it.
async fn test_client() -> TestApi {
    use sipcred_kube_sim::testenv::{ApiServerKind, ControlPlane};
    if ApiServerKind::from_env() == ApiServerKind::Real {
        return TestApi {
            _guard: Box::new(()),
            client: ControlPlane::shared().client().await,
        };
    }
    let sim = sipcred_kube_sim::start(Default::default())
        .await
        .expect("in-memory API server starts");
    let client = sim.client();
    TestApi {
        _guard: Box::new(sim),
        client,
    }
}

struct TestApi {
    _guard: Box<dyn std::any::Any + Send>,
    client: kube::Client,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_against_the_api_server() {
    let api = test_client().await;
    scenario_graceful_handover(api.client.clone(), api.client.clone(), "sim-graceful").await;
    scenario_leader_killed(api.client.clone(), api.client.clone(), "sim-killed").await;
}

// ---------------------------------------------------------------------------
// FakeLeaseApi: Leases only, shared state, one HTTP front per replica.

#[derive(Default)]
struct Store {
    leases: HashMap<String, Value>,
    resource_version: u64,
    renewals: u64,
    /// Strategic patches clearing the holder still to answer with 500.
    refuse_strategic_releases: u32,
}

#[derive(Clone, Default)]
struct FakeLeaseApi {
    store: Arc<Mutex<Store>>,
}

#[derive(Clone)]
struct Front {
    store: Arc<Mutex<Store>>,
    down: Arc<AtomicBool>,
}

struct FrontHandle {
    addr: SocketAddr,
    down: Arc<AtomicBool>,
}

impl FrontHandle {
    fn client(&self) -> kube::Client {
        client_for(self.addr)
    }

    fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
}

fn client_for(addr: SocketAddr) -> kube::Client {
    let url = format!("http://{addr}").parse().unwrap();
    let mut config = kube::Config::new(url);
    config.connect_timeout = Some(Duration::from_secs(1));
    config.read_timeout = Some(Duration::from_secs(2));
    kube::Client::try_from(config).unwrap()
}

impl FakeLeaseApi {
    async fn front(&self) -> FrontHandle {
        let down = Arc::new(AtomicBool::new(false));
        let state = Front {
            store: self.store.clone(),
            down: down.clone(),
        };
        let base = "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases";
        let router = Router::new()
            .route(base, post(create))
            .route(&format!("{base}/{{name}}"), get(read).patch(patch))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        FrontHandle { addr, down }
    }

    fn lease(&self, name: &str) -> Option<Value> {
        self.store.lock().unwrap().leases.get(name).cloned()
    }

    fn renewals(&self) -> u64 {
        self.store.lock().unwrap().renewals
    }

    /// The lease task's own release (a strategic patch) fails with 500 `times` times.
    fn refuse_strategic_releases(&self, times: u32) {
        self.store.lock().unwrap().refuse_strategic_releases = times;
    }

    /// Someone else takes the lease (e.g. an operator by hand, or clock trouble).
    fn set_holder(&self, name: &str, holder: &str) {
        let mut store = self.store.lock().unwrap();
        let lease = store.leases.get_mut(name).unwrap();
        lease["spec"]["holderIdentity"] = json!(holder);
        lease["spec"]["renewTime"] = now_micro();
        lease["spec"]["leaseDurationSeconds"] = json!(60);
    }
}

fn now_micro() -> Value {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
    serde_json::to_value(MicroTime(k8s_openapi::jiff::Timestamp::now())).unwrap()
}

fn status(code: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code.as_u16(),
    });
    (code, axum::Json(body)).into_response()
}

fn unavailable() -> Response {
    status(
        StatusCode::SERVICE_UNAVAILABLE,
        "ServiceUnavailable",
        "partitioned",
    )
}

async fn read(State(f): State<Front>, Path((_ns, name)): Path<(String, String)>) -> Response {
    if f.down.load(Ordering::SeqCst) {
        return unavailable();
    }
    match f.store.lock().unwrap().leases.get(&name) {
        Some(l) => axum::Json(l.clone()).into_response(),
        None => status(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("leases \"{name}\" not found"),
        ),
    }
}

async fn create(State(f): State<Front>, Path(ns): Path<String>, body: Bytes) -> Response {
    if f.down.load(Ordering::SeqCst) {
        return unavailable();
    }
    let mut obj: Value = serde_json::from_slice(&body).unwrap();
    let name = obj["metadata"]["name"].as_str().unwrap().to_owned();
    let mut store = f.store.lock().unwrap();
    if store.leases.contains_key(&name) {
        return status(
            StatusCode::CONFLICT,
            "AlreadyExists",
            &format!("leases \"{name}\" already exists"),
        );
    }
    store.resource_version += 1;
    obj["apiVersion"] = json!("coordination.k8s.io/v1");
    obj["kind"] = json!("Lease");
    obj["metadata"]["namespace"] = json!(ns);
    obj["metadata"]["resourceVersion"] = json!(store.resource_version.to_string());
    if obj.get("spec").is_none_or(Value::is_null) {
        obj["spec"] = json!({});
    }
    store.leases.insert(name, obj.clone());
    (StatusCode::CREATED, axum::Json(obj)).into_response()
}

async fn patch(
    State(f): State<Front>,
    Path((_ns, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if f.down.load(Ordering::SeqCst) {
        return unavailable();
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let patch: Value = serde_json::from_slice(&body).unwrap();
    let mut store = f.store.lock().unwrap();
    let clears_holder = patch["spec"]
        .get("holderIdentity")
        .is_some_and(Value::is_null);
    if clears_holder
        && content_type.starts_with("application/strategic-merge-patch")
        && store.refuse_strategic_releases > 0
    {
        store.refuse_strategic_releases -= 1;
        return status(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "etcdserver: request timed out",
        );
    }
    let Some(lease) = store.leases.get_mut(&name) else {
        return status(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("leases \"{name}\" not found"),
        );
    };
    let empty = serde_json::Map::new();
    let changes = patch["spec"].as_object().unwrap_or(&empty);
    if content_type.starts_with("application/apply-patch") {
        // Server-side apply without force: another manager's holderIdentity conflicts.
        let current = lease["spec"]["holderIdentity"].as_str();
        let wanted = changes.get("holderIdentity").and_then(Value::as_str);
        if let (Some(current), Some(wanted)) = (current, wanted)
            && current != wanted
        {
            return status(
                StatusCode::CONFLICT,
                "Conflict",
                "Apply failed with 1 conflict: conflict with another manager: .spec.holderIdentity",
            );
        }
    } else if content_type.starts_with("application/merge-patch") {
        // A JSON merge patch may carry a resourceVersion precondition, as the real
        // server honours it.
        let wanted = patch["metadata"]["resourceVersion"].as_str();
        let current = lease["metadata"]["resourceVersion"].as_str();
        if wanted.is_some() && wanted != current {
            return status(
                StatusCode::CONFLICT,
                "Conflict",
                &format!(
                    "Operation cannot be fulfilled on leases.coordination.k8s.io \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
                ),
            );
        }
    } else if !content_type.starts_with("application/strategic-merge-patch") {
        return status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            &content_type,
        );
    }
    let is_renewal = changes.contains_key("renewTime") && !changes.contains_key("holderIdentity");
    let spec = lease["spec"].as_object_mut().unwrap();
    for (k, v) in changes {
        if v.is_null() {
            spec.remove(k);
        } else {
            spec.insert(k.clone(), v.clone());
        }
    }
    store.resource_version += 1;
    if is_renewal {
        store.renewals += 1;
    }
    let rv = store.resource_version.to_string();
    let lease = store.leases.get_mut(&name).unwrap();
    lease["metadata"]["resourceVersion"] = json!(rv);
    axum::Json(lease.clone()).into_response()
}
