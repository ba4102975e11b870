//! The test world of the end-to-end suites: a Kubernetes API server, the Telnyx and
//! Vobiz simulators, the CRDs, and provider accounts `telnyx` and `vobiz` in the world's
//! namespace. The operator runs in-process (the library's runner) or as the real binary
//! (`sipcred-operator run` with a kubeconfig).
//!
//! The API server is chosen per run by `SIPCRED_TEST_APISERVER=sim|real` (default
//! `sim`): the in-memory server of `sim/kube`, one per world, or the real control plane
//! of `testenv/`, one per test binary, shared by its worlds, each in a namespace of its
//! own. Objects are written with `"namespace": NS` and land in the world's namespace;
//! `w.ns` names it where a test needs the actual value.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod hygiene;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sipcred_kube_sim::rbac::AuditEntry;
use sipcred_kube_sim::testenv::{ApiServerKind, ControlPlane};
use sipcred_operator::controller::{Ctx, Settings, runner};
use sipcred_operator::crd;
use sipcred_provider_sim::{RunningSim, TelnyxConfig, VobizConfig};

pub const TELNYX_KEY: &str = "KEYTEST0123456789";
pub const VOBIZ_ID: &str = "MA_TEST";
pub const VOBIZ_TOKEN: &str = "test-auth-token";
/// The namespace tests write in their manifests; [`World::apply`] and [`World::api`]
/// put it in the world's own namespace ([`World::ns`]).
pub const NS: &str = "default";
/// The simulators' host, passed explicitly as the one allowed provider host.
pub const LOOPBACK: &str = "127.0.0.1";

/// The API server of a world.
pub enum ApiServer {
    /// The in-memory API server, this world's alone.
    Sim(sipcred_kube_sim::KubeSim),
    /// The real control plane of this test binary.
    Real(&'static ControlPlane),
}

impl ApiServer {
    /// The in-memory server, for what only it offers (fault injection).
    ///
    /// # Panics
    /// Against the real control plane.
    pub fn sim(&self) -> &sipcred_kube_sim::KubeSim {
        match self {
            ApiServer::Sim(s) => s,
            ApiServer::Real(_) => panic!("this step needs the in-memory API server"),
        }
    }

    /// Whether this is the real control plane.
    pub fn is_real(&self) -> bool {
        matches!(self, ApiServer::Real(_))
    }
}

/// Worlds on the shared real control plane hold this lock for reading; a world whose
/// operator watches every namespace holds it for writing, so it runs alone.
static CLUSTER: LazyLock<Arc<tokio::sync::RwLock<()>>> =
    LazyLock::new(|| Arc::new(tokio::sync::RwLock::new(())));

enum ClusterGuard {
    Shared(tokio::sync::OwnedRwLockReadGuard<()>),
    Exclusive(tokio::sync::OwnedRwLockWriteGuard<()>),
}

pub struct World {
    pub kube: ApiServer,
    /// The namespace of this world's objects.
    pub ns: String,
    pub telnyx: RunningSim,
    pub vobiz: RunningSim,
    pub client: Client,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
    operator: Option<tokio::task::JoinHandle<()>>,
    /// Audit records of the real server before this world started.
    audit_offset: usize,
    _guard: Option<ClusterGuard>,
}

impl World {
    /// Starts everything and installs CRDs and the two provider accounts.
    pub async fn start() -> World {
        Self::start_with(Default::default()).await
    }

    /// [`World::start`] with an API server configuration (e.g. `rbac: true`; the real
    /// server always enforces RBAC); the world's own client and kubeconfig are the
    /// admin's.
    pub async fn start_with(cfg: sipcred_kube_sim::KubeSimConfig) -> World {
        Self::start_in(cfg, false).await
    }

    /// A world whose operator watches every namespace: on the real control plane it
    /// runs alone among this binary's worlds.
    pub async fn start_exclusive(cfg: sipcred_kube_sim::KubeSimConfig) -> World {
        Self::start_in(cfg, true).await
    }

    async fn start_in(cfg: sipcred_kube_sim::KubeSimConfig, exclusive: bool) -> World {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        let (kube, client, ns, guard, audit_offset) = match ApiServerKind::from_env() {
            ApiServerKind::Sim => {
                let kube = sipcred_kube_sim::start(cfg).await.unwrap();
                kube.write_kubeconfig(&kubeconfig).unwrap();
                let client = kube.client();
                (ApiServer::Sim(kube), client, NS.to_string(), None, 0)
            }
            ApiServerKind::Real => {
                let guard = if exclusive {
                    ClusterGuard::Exclusive(CLUSTER.clone().write_owned().await)
                } else {
                    ClusterGuard::Shared(CLUSTER.clone().read_owned().await)
                };
                let cp = ControlPlane::shared();
                std::fs::copy(cp.kubeconfig(), &kubeconfig).unwrap();
                let client = cp.client().await;
                let ns = format!("e2e-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
                Api::<Namespace>::all(client.clone())
                    .create(
                        &PostParams::default(),
                        &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap(),
                    )
                    .await
                    .unwrap();
                let offset = cp.audit().len();
                (ApiServer::Real(cp), client, ns, Some(guard), offset)
            }
        };
        // Telnyx's documented activation delay: the operator waits for it.
        let telnyx = sipcred_provider_sim::start_telnyx(TelnyxConfig::new(TELNYX_KEY))
            .await
            .unwrap();
        let vobiz = sipcred_provider_sim::start_vobiz(VobizConfig::new(VOBIZ_ID, VOBIZ_TOKEN))
            .await
            .unwrap();
        let w = World {
            kube,
            ns,
            telnyx,
            vobiz,
            client,
            dir,
            kubeconfig,
            operator: None,
            audit_offset,
            _guard: guard,
        };
        w.install_crds().await;
        w.apply(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "telnyx-key", "namespace": NS}, "stringData": {"apiKey": TELNYX_KEY}})).await;
        w.apply(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "vobiz-creds", "namespace": NS}, "stringData": {"authID": VOBIZ_ID, "authToken": VOBIZ_TOKEN}})).await;
        w.apply(json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipProvider", "metadata": {"name": "telnyx", "namespace": NS},
            "spec": {"telnyx": {"apiKeySecretRef": {"name": "telnyx-key"}, "baseURL": w.telnyx.base_url()}, "rateLimit": {"requestsPerSecond": 200, "burst": 200}}})).await;
        w.apply(json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipProvider", "metadata": {"name": "vobiz", "namespace": NS},
            "spec": {"vobiz": {"credentialsSecretRef": {"name": "vobiz-creds"}, "baseURL": w.vobiz.base_url()}, "rateLimit": {"requestsPerSecond": 200, "burst": 200}}})).await;
        w
    }

    /// The in-memory API server's fault injection; on the real control plane, which
    /// cannot be made to fail on demand, `None` after one printed line saying the test
    /// is skipped there.
    pub fn api_faults(&self) -> Option<sipcred_kube_sim::FaultHandle> {
        match &self.kube {
            ApiServer::Sim(s) => Some(s.faults()),
            ApiServer::Real(_) => {
                println!(
                    "SKIPPED on the real API server: this test injects API-server faults, which only the in-memory server offers"
                );
                None
            }
        }
    }

    /// Whether this world runs on the real control plane.
    pub fn is_real(&self) -> bool {
        self.kube.is_real()
    }

    /// Writes a kubeconfig authenticating as service account `ns/sa` (created on the
    /// real server if missing).
    pub async fn write_kubeconfig_for_service_account(
        &self,
        path: &std::path::Path,
        ns: &str,
        sa: &str,
    ) {
        match &self.kube {
            ApiServer::Sim(s) => s
                .write_kubeconfig_for_service_account(path, ns, sa)
                .unwrap(),
            ApiServer::Real(cp) => {
                let token = cp
                    .service_account_token(&self.client, ns, sa)
                    .await
                    .unwrap();
                cp.write_kubeconfig_for_token(path, &token).unwrap();
            }
        }
    }

    /// Every authorization decision since this world started: the in-memory server's
    /// RBAC log, or the real server's audit log.
    pub fn audit(&self) -> Vec<AuditEntry> {
        match &self.kube {
            ApiServer::Sim(s) => s.audit(),
            ApiServer::Real(cp) => cp
                .audit()
                .into_iter()
                .skip(self.audit_offset)
                .flat_map(|r| {
                    let entry = AuditEntry {
                        allowed: r.code != 403,
                        user: r.user,
                        verb: r.verb,
                        group: r.group,
                        resource: r.resource,
                        namespace: r.namespace,
                        name: r.name,
                    };
                    // A server-side apply that creates its object is authorized as a
                    // create too, which the audit log records only as the patch's 201.
                    let created = (entry.verb == "patch" && r.code == 201).then(|| AuditEntry {
                        verb: "create".into(),
                        ..entry.clone()
                    });
                    std::iter::once(entry).chain(created)
                })
                .collect(),
        }
    }

    /// The requests RBAC denied (403), as `USER VERB GROUP/RESOURCE NAMESPACE/NAME`.
    /// The real control plane's own components are left out: their 403s (a
    /// ConfigMap published into a namespace being deleted) are not RBAC's verdicts.
    pub fn denials(&self) -> Vec<String> {
        self.audit()
            .into_iter()
            .filter(|e| !e.allowed && !e.user.starts_with("system:kube-"))
            .map(|e| {
                format!(
                    "{} {} {}/{} {}/{}",
                    e.user, e.verb, e.group, e.resource, e.namespace, e.name
                )
            })
            .collect()
    }

    async fn install_crds(&self) {
        let api: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        for c in crd::all() {
            match api.create(&PostParams::default(), &c).await {
                Ok(_) => {}
                // The real control plane is shared by this binary's worlds: the first
                // one installs the CRDs.
                Err(kube::Error::Api(e)) if e.code == 409 && self.is_real() => {}
                Err(e) => panic!("installing CRD {:?}: {e}", c.metadata.name),
            }
        }
        for c in crd::all() {
            let name = c.metadata.name.clone().unwrap();
            self.until(&format!("CRD {name} Established"), 60, || async {
                let c = api.get(&name).await.ok()?;
                c.status?
                    .conditions?
                    .iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
                    .then_some(())
            })
            .await;
        }
        // Established precedes serving by a moment on a real server.
        self.until("custom resources served", 60, || async {
            self.api::<crd::TrunkCredential>()
                .list(&ListParams::default().limit(1))
                .await
                .ok()
                .map(|_| ())
        })
        .await;
    }

    /// The scope of an operator of this world: on the shared real control plane, its
    /// own namespace.
    fn scope(&self) -> Vec<String> {
        if self.is_real() && !self.exclusive() {
            vec![self.ns.clone()]
        } else {
            vec![]
        }
    }

    fn exclusive(&self) -> bool {
        matches!(self._guard, Some(ClusterGuard::Exclusive(_)))
    }

    /// Runs the controllers in this process.
    pub fn start_operator(&mut self) {
        self.start_operator_with(Duration::from_secs(2), 4);
    }

    /// Runs the controllers in this process with a resync interval and concurrency.
    pub fn start_operator_with(&mut self, resync: Duration, concurrency: u16) {
        let settings = Settings {
            resync,
            provider_timeout: Duration::from_secs(5),
            allowed_provider_hosts: vec![LOOPBACK.into()],
        };
        let ctx = Ctx::new(
            self.client.clone(),
            settings,
            Default::default(),
            Default::default(),
        );
        let scope = runner::Scope {
            concurrency,
            namespaces: self.scope(),
            ..Default::default()
        };
        self.operator = Some(tokio::spawn(runner::run(ctx, scope)));
    }

    pub fn stop_operator(&mut self) {
        if let Some(h) = self.operator.take() {
            h.abort();
        }
    }

    /// Starts the real binary against this world's API server (on the shared real
    /// control plane, watching only this world's namespace).
    pub fn spawn_binary(&self) -> Child {
        let scope = self.scope_args();
        let args: Vec<&str> = scope.iter().map(String::as_str).collect();
        self.spawn_binary_with(&self.kubeconfig, &args, &[])
    }

    /// Starts the real binary with another kubeconfig, extra flags and environment
    /// (`POD_NAMESPACE` defaults to the world's namespace, where a Lease would live).
    /// Its stderr is shown when `E2E_BINARY_LOGS` is set (e.g. `E2E_BINARY_LOGS=1`).
    pub fn spawn_binary_with(
        &self,
        kubeconfig: &std::path::Path,
        extra_args: &[&str],
        env: &[(&str, &str)],
    ) -> Child {
        let stderr = if std::env::var_os("E2E_BINARY_LOGS").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        };
        self.spawn_binary_logged(kubeconfig, extra_args, env, "127.0.0.1:0", "warn", stderr)
    }

    /// Starts the real binary watching this world's scope, with its metrics on
    /// `metrics_addr`, logging at `log_level` to `stderr`.
    pub fn spawn_binary_logged(
        &self,
        kubeconfig: &std::path::Path,
        extra_args: &[&str],
        env: &[(&str, &str)],
        metrics_addr: &str,
        log_level: &str,
        stderr: Stdio,
    ) -> Child {
        Command::new(env!("CARGO_BIN_EXE_sipcred-operator"))
            .args([
                "run",
                "--metrics-addr",
                metrics_addr,
                "--health-addr",
                "127.0.0.1:0",
                "--resync-secs",
                "2",
                "--log-level",
                log_level,
                "--allowed-provider-hosts",
                LOOPBACK,
            ])
            .args(extra_args)
            .env("POD_NAMESPACE", &self.ns)
            .envs(env.iter().copied())
            .env("KUBECONFIG", kubeconfig)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap()
    }

    /// `--namespace` flags of an operator of this world (see [`World::spawn_binary`]).
    pub fn scope_args(&self) -> Vec<String> {
        self.scope()
            .into_iter()
            .flat_map(|ns| ["--namespace".to_string(), ns])
            .collect()
    }

    /// Creates an object from JSON (any kind this world knows).
    pub async fn apply(&self, mut obj: Value) {
        let ns = match obj["metadata"]["namespace"].as_str() {
            None | Some(NS) => self.ns.clone(),
            Some(other) => other.to_string(),
        };
        obj["metadata"]["namespace"] = json!(ns);
        let pp = PostParams::default();
        match obj["kind"].as_str().unwrap() {
            "Secret" => drop(
                Api::<Secret>::namespaced(self.client.clone(), &ns)
                    .create(&pp, &serde_json::from_value(obj).unwrap())
                    .await
                    .unwrap(),
            ),
            "SipProvider" => drop(
                self.api::<crd::SipProvider>()
                    .create(&pp, &serde_json::from_value(obj).unwrap())
                    .await
                    .unwrap(),
            ),
            kind => {
                let ar = sipcred_operator::controller::kind::api_resource(kind)
                    .unwrap_or_else(|| panic!("unsupported kind {kind}"));
                drop(
                    Api::<kube::api::DynamicObject>::namespaced_with(self.client.clone(), &ns, &ar)
                        .create(&pp, &serde_json::from_value(obj).unwrap())
                        .await
                        .unwrap(),
                )
            }
        }
    }

    pub fn api<K>(&self) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    pub async fn delete<K>(&self, name: &str)
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        self.api::<K>()
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
    }

    /// Waits up to 30 s until the object `name` no longer exists.
    pub async fn gone<K>(&self, name: &str)
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        self.until(&format!("{name} to be deleted"), 30, || async {
            self.api::<K>()
                .get_opt(name)
                .await
                .unwrap()
                .is_none()
                .then_some(())
        })
        .await;
    }

    /// Waits until `f` returns Some, or panics with `what` after `secs`.
    pub async fn until<T, F, Fut>(&self, what: &str, secs: u64, mut f: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(v) = f().await {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The Ready condition (status, reason, message) of an object.
    pub async fn ready<K>(&self, name: &str) -> Option<(String, String, String)>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug
            + serde::Serialize,
    {
        let obj = self.api::<K>().get_opt(name).await.ok()??;
        ready_of(&serde_json::to_value(obj).ok()?)
    }

    /// Waits for the object to fail for a reason of its own: Ready=False with a reason
    /// other than waiting (for its account to be checked, or for a dependency), which
    /// every object passes through on a fresh start against any API server.
    pub async fn failed<K>(&self, name: &str) -> (String, String)
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug
            + serde::Serialize,
    {
        self.until(&format!("{name}: Ready=False, not waiting"), 30, || async {
            self.ready::<K>(name)
                .await
                .and_then(|(status, reason, message)| {
                    let waiting = reason == "ProviderNotReady" || reason.starts_with("WaitingFor");
                    (status == "False" && !waiting).then_some((reason, message))
                })
        })
        .await
    }

    /// Every Event in the world's namespace as (reason, note, count), each note checked
    /// with [`assert_readable`].
    pub async fn events(&self) -> Vec<(String, String, i32)> {
        use k8s_openapi::api::events::v1::Event;
        let list = Api::<Event>::namespaced(self.client.clone(), &self.ns)
            .list(&Default::default())
            .await
            .unwrap();
        list.items
            .into_iter()
            .map(|e| {
                let note = e.note.unwrap_or_default();
                assert_readable(&note);
                let count = e
                    .series
                    .map(|s| s.count)
                    .or(e.deprecated_count)
                    .unwrap_or(1);
                (e.reason.unwrap_or_default(), note, count)
            })
            .collect()
    }

    /// Events recorded so far, repeats included.
    pub async fn event_total(&self) -> i64 {
        self.events().await.iter().map(|e| i64::from(e.2)).sum()
    }

    /// Provider requests that write (anything but GET) a simulator has served.
    pub fn provider_writes(sim: &RunningSim) -> u64 {
        sim.requests()["requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["method"] != "GET")
            .map(|r| r["count"].as_u64().unwrap())
            .sum()
    }

    /// Waits for Ready=True at the object's generation (`status.observedGeneration`
    /// equal to `metadata.generation`, what kstatus and `kubectl wait` read as done)
    /// and returns the object.
    pub async fn wait_ready<K>(&self, name: &str) -> K
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug
            + serde::Serialize,
    {
        self.until(&format!("{name} Ready at its generation"), 30, || async {
            // Judged from the one object returned: a second read could see a newer
            // status than the object handed back.
            let o = self.api::<K>().get_opt(name).await.ok()??;
            let v = serde_json::to_value(&o).ok()?;
            let current = v["status"]["observedGeneration"] == v["metadata"]["generation"];
            match ready_of(&v) {
                Some((s, _, _)) if s == "True" && current => Some(o),
                _ => None,
            }
        })
        .await
    }

    /// A Secret's keys as strings.
    pub async fn secret(&self, name: &str) -> Option<std::collections::BTreeMap<String, String>> {
        let s = Api::<Secret>::namespaced(self.client.clone(), &self.ns)
            .get_opt(name)
            .await
            .unwrap()?;
        Some(
            s.data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, String::from_utf8(v.0).unwrap()))
                .collect(),
        )
    }

    /// Objects of a provider collection in the simulator's state dump.
    pub fn provider_objects(sim: &RunningSim, collection: &str) -> Vec<Value> {
        let state = sim.state();
        let c = &state[collection];
        match c {
            Value::Array(a) => a.clone(),
            Value::Object(m) => m.values().cloned().collect(),
            _ => vec![],
        }
    }
}

/// A child process SIGKILLed (and reaped) when dropped, so a failing test never
/// leaves an operator running.
pub struct Killed(pub Child);

impl Killed {
    /// SIGKILL now and reap.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    /// Whether the process has exited (reaps it if so).
    pub fn exited(&mut self) -> bool {
        self.exit_code().is_some()
    }

    /// The exit status if the process has exited (reaps it if so); `Some(None)` when
    /// a signal ended it.
    pub fn exit_code(&mut self) -> Option<Option<i32>> {
        match self.0.try_wait() {
            Ok(Some(status)) => Some(status.code()),
            _ => None,
        }
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.stop_operator();
        if let ApiServer::Real(cp) = &self.kube {
            // No operator is left to release this world's finalizers: drop them and the
            // namespace, so later worlds on the shared control plane never meet them.
            let (kubeconfig, ns) = (cp.kubeconfig().to_path_buf(), self.ns.clone());
            // A world that watched every namespace is followed by another such world:
            // it must not meet this one's objects while their namespace terminates.
            let wait_gone = self.exclusive();
            let cleanup = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    let _ = tokio::time::timeout(
                        Duration::from_secs(60),
                        release_namespace(&kubeconfig, &ns, wait_gone),
                    )
                    .await;
                });
            });
            let _ = cleanup.join();
        }
    }
}

/// Removes the finalizers of every sipcred object in `ns`, then deletes `ns`.
async fn release_namespace(kubeconfig: &std::path::Path, ns: &str, wait_gone: bool) {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    let client = Client::try_from(config).unwrap();
    let unfinalize = json!({"metadata": {"finalizers": null}});
    let pp = PatchParams::default();
    macro_rules! release {
        ($kind:ty) => {
            let api: Api<$kind> = Api::namespaced(client.clone(), ns);
            if let Ok(list) = api.list(&ListParams::default()).await {
                for o in list {
                    let name = o.metadata.name.clone().unwrap_or_default();
                    let _ = api.patch(&name, &pp, &Patch::Merge(&unfinalize)).await;
                }
            }
        };
    }
    release!(crd::SipConnection);
    release!(crd::TelephonyCredential);
    release!(crd::TrunkCredential);
    release!(crd::SipProvider);
    let namespaces = Api::<Namespace>::all(client);
    let _ = namespaces.delete(ns, &DeleteParams::background()).await;
    while wait_gone && matches!(namespaces.get_opt(ns).await, Ok(Some(_))) {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Messages are sentences for people: no Rust `Debug` dumps, no terminal escapes.
pub fn assert_readable(text: &str) {
    hygiene::assert_readable("message", text);
}

/// The Ready condition of an object as JSON: status, reason and message (asserted
/// readable).
pub fn ready_of(v: &Value) -> Option<(String, String, String)> {
    let c = v["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")?
        .clone();
    let message: String = c["message"].as_str()?.into();
    assert_readable(&message);
    Some((
        c["status"].as_str()?.into(),
        c["reason"].as_str()?.into(),
        message,
    ))
}
