//! The test world of the end-to-end suites: the in-memory Kubernetes API server, the
//! Telnyx and Vobiz simulators, the CRDs, and provider accounts `telnyx` and `vobiz`
//! in namespace `default`. The operator runs in-process (the library's runner) or as
//! the real binary (`sipcred-operator run` with a kubeconfig).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, PostParams};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sipcred_operator::controller::{Ctx, Settings, runner};
use sipcred_operator::crd;
use sipcred_provider_sim::{RunningSim, TelnyxConfig, VobizConfig};

pub const TELNYX_KEY: &str = "KEYTEST0123456789";
pub const VOBIZ_ID: &str = "MA_TEST";
pub const VOBIZ_TOKEN: &str = "test-auth-token";
pub const NS: &str = "default";
/// The simulators' host, passed explicitly as the one allowed provider host.
pub const LOOPBACK: &str = "127.0.0.1";

pub struct World {
    pub kube: sipcred_kube_sim::KubeSim,
    pub telnyx: RunningSim,
    pub vobiz: RunningSim,
    pub client: Client,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
    operator: Option<tokio::task::JoinHandle<()>>,
}

impl World {
    /// Starts everything and installs CRDs and the two provider accounts.
    pub async fn start() -> World {
        Self::start_with(Default::default()).await
    }

    /// [`World::start`] with an API server configuration (e.g. `rbac: true`); the
    /// world's own client and kubeconfig are the admin's.
    pub async fn start_with(cfg: sipcred_kube_sim::KubeSimConfig) -> World {
        let kube = sipcred_kube_sim::start(cfg).await.unwrap();
        let telnyx = sipcred_provider_sim::start_telnyx(TelnyxConfig::new(TELNYX_KEY))
            .await
            .unwrap();
        let vobiz = sipcred_provider_sim::start_vobiz(VobizConfig::new(VOBIZ_ID, VOBIZ_TOKEN))
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        kube.write_kubeconfig(&kubeconfig).unwrap();
        let client = kube.client();
        let w = World {
            kube,
            telnyx,
            vobiz,
            client,
            dir,
            kubeconfig,
            operator: None,
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

    async fn install_crds(&self) {
        let api: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        for c in crd::all() {
            api.create(&PostParams::default(), &c).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    /// Runs the controllers in this process.
    pub fn start_operator(&mut self) {
        let settings = Settings {
            resync: Duration::from_secs(2),
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
            concurrency: 4,
            ..Default::default()
        };
        self.operator = Some(tokio::spawn(runner::run(ctx, scope)));
    }

    pub fn stop_operator(&mut self) {
        if let Some(h) = self.operator.take() {
            h.abort();
        }
    }

    /// Starts the real binary against this world's API server.
    pub fn spawn_binary(&self) -> Child {
        self.spawn_binary_with(&self.kubeconfig, &[], &[])
    }

    /// Starts the real binary with another kubeconfig, extra flags and environment.
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
        Command::new(env!("CARGO_BIN_EXE_sipcred-operator"))
            .args([
                "run",
                "--metrics-addr",
                "127.0.0.1:0",
                "--health-addr",
                "127.0.0.1:0",
                "--resync-secs",
                "2",
                "--log-level",
                "warn",
                "--allowed-provider-hosts",
                LOOPBACK,
            ])
            .args(extra_args)
            .envs(env.iter().copied())
            .env("KUBECONFIG", kubeconfig)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap()
    }

    /// Creates an object from JSON (any kind this world knows).
    pub async fn apply(&self, obj: Value) {
        let ns = obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or(NS)
            .to_string();
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
            "SipConnection" => drop(
                self.api::<crd::SipConnection>()
                    .create(&pp, &serde_json::from_value(obj).unwrap())
                    .await
                    .unwrap(),
            ),
            "TelephonyCredential" => drop(
                self.api::<crd::TelephonyCredential>()
                    .create(&pp, &serde_json::from_value(obj).unwrap())
                    .await
                    .unwrap(),
            ),
            "TrunkCredential" => drop(
                self.api::<crd::TrunkCredential>()
                    .create(&pp, &serde_json::from_value(obj).unwrap())
                    .await
                    .unwrap(),
            ),
            k => panic!("unsupported kind {k}"),
        }
    }

    pub fn api<K>(&self) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        Api::namespaced(self.client.clone(), NS)
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
        let v = serde_json::to_value(obj).ok()?;
        let c = v["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == "Ready")?
            .clone();
        Some((
            c["status"].as_str()?.into(),
            c["reason"].as_str()?.into(),
            c["message"].as_str()?.into(),
        ))
    }

    /// Waits for Ready=True and returns the object.
    pub async fn wait_ready<K>(&self, name: &str) -> K
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug
            + serde::Serialize,
    {
        self.until(&format!("{name} Ready"), 30, || async {
            match self.ready::<K>(name).await {
                Some((s, _, _)) if s == "True" => Some(()),
                _ => None,
            }
        })
        .await;
        self.api::<K>().get(name).await.unwrap()
    }

    /// A Secret's keys as strings.
    pub async fn secret(&self, name: &str) -> Option<std::collections::BTreeMap<String, String>> {
        let s = Api::<Secret>::namespaced(self.client.clone(), NS)
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
        matches!(self.0.try_wait(), Ok(Some(_)))
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
    }
}
