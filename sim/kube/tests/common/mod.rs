//! Shared test fixtures: the API server under test ([`Server`]: the in-memory one, or
//! the real control plane when `SIPCRED_TEST_APISERVER=real`), a realistic CRD and a
//! typed custom resource.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use kube::{Client, CustomResource};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sipcred_kube_sim::testenv::{ApiServerKind, ControlPlane};
use sipcred_kube_sim::{KubeSim, KubeSimConfig};

#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, JsonSchema, Default)]
#[kube(
    group = "sipcred.io",
    version = "v1alpha1",
    kind = "SipConnection",
    namespaced,
    status = "SipConnectionStatus",
    shortname = "sipc"
)]
#[serde(rename_all = "camelCase")]
pub struct SipConnectionSpec {
    pub provider: String,
    pub user_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec: Option<String>,
}

#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct SipConnectionStatus {
    #[serde(default)]
    pub conditions: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// The test CRD: status subresource, printer columns, shortNames,
/// categories, enums, ranges, patterns, CEL rules incl. a transition rule.
pub fn crd_json() -> Value {
    crd_json_in("sipcred.io")
}

/// [`crd_json`] in another API group: for a test that deletes its CRD, so that it never
/// pulls the shared one from under the other tests of a shared real server.
pub fn crd_json_in(group: &str) -> Value {
    let mut crd = crd_json_template();
    crd["metadata"]["name"] = json!(format!("sipconnections.{group}"));
    crd["spec"]["group"] = json!(group);
    crd
}

fn crd_json_template() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "sipconnections.sipcred.io"},
        "spec": {
            "group": "sipcred.io",
            "scope": "Namespaced",
            "names": {"plural": "sipconnections", "singular": "sipconnection", "kind": "SipConnection", "listKind": "SipConnectionList", "shortNames": ["sipc"], "categories": ["sipcred", "all"]},
            "versions": [{
                "name": "v1alpha1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Provider", "type": "string", "jsonPath": ".spec.provider"},
                    {"name": "User", "type": "string", "jsonPath": ".spec.userName", "priority": 1},
                    {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
                ],
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {
                            "type": "object",
                            "required": ["provider", "userName"],
                            "x-kubernetes-validations": [
                                {"rule": "self.userName == oldSelf.userName", "message": "userName is immutable"},
                                {"rule": "!has(self.codec) || self.provider == 'telnyx'", "message": "codec is only supported by telnyx", "fieldPath": ".codec"}
                            ],
                            "properties": {
                                "provider": {"type": "string", "enum": ["telnyx", "vobiz"]},
                                "userName": {"type": "string", "minLength": 4, "maxLength": 32, "pattern": "^[a-z0-9]+$"},
                                "channels": {"type": "integer", "minimum": 1, "maximum": 30},
                                "codec": {"type": "string"}
                            }
                        },
                        "status": {
                            "type": "object",
                            "properties": {
                                "observedGeneration": {"type": "integer"},
                                "conditions": {"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}
                            }
                        }
                    }
                }}
            }]
        }
    })
}

pub async fn sim() -> KubeSim {
    sim_with(KubeSimConfig::default()).await
}

pub async fn sim_with(cfg: KubeSimConfig) -> KubeSim {
    sipcred_kube_sim::start(cfg).await.expect("start sim")
}

/// Installs the test CRD and waits until its resources are served. On a shared real
/// server an earlier test may have installed it already (409 is fine there).
pub async fn install_crd(client: &Client) {
    install_crd_json(client, crd_json()).await;
}

pub async fn install_crd_json(client: &Client, crd: Value) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let name = crd["metadata"]["name"].as_str().expect("name").to_string();
    let group = crd["spec"]["group"].as_str().expect("group").to_string();
    let crd: CustomResourceDefinition = serde_json::from_value(crd).expect("crd");
    match crds.create(&PostParams::default(), &crd).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 409 && is_real() => {}
        Err(e) => panic!("create crd: {e}"),
    }
    // Established precedes serving by a moment on a real server.
    let gv = format!("{group}/v1alpha1");
    until(&format!("CRD {name} served"), || async {
        let established = crds
            .get(&name)
            .await
            .ok()
            .and_then(|c| c.status)
            .is_some_and(|s| {
                s.conditions
                    .unwrap_or_default()
                    .iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
            });
        established
            && client
                .list_api_group_resources(&gv)
                .await
                .is_ok_and(|l| l.resources.iter().any(|r| r.name == "sipconnections"))
    })
    .await;
}

/// Whether this run targets the real control plane (`SIPCRED_TEST_APISERVER=real`).
pub fn is_real() -> bool {
    ApiServerKind::from_env() == ApiServerKind::Real
}

/// Polls `f` until it holds: generous, since the real server's controllers (GC,
/// namespace deletion) are asynchronous and the CPU is shared.
pub async fn until<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while std::time::Instant::now() < deadline {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

/// The API server a test runs against: the in-memory server (its own per test), or the
/// real control plane of this test binary, shared, with a namespace of the test's own.
pub struct Server {
    inner: Inner,
    client: Client,
    ns: String,
}

enum Inner {
    Sim(KubeSim),
    Real(&'static ControlPlane),
}

impl Server {
    pub async fn start() -> Server {
        Self::start_with(KubeSimConfig::default()).await
    }

    /// `cfg` configures the in-memory server; the real one always has RBAC and TLS.
    pub async fn start_with(cfg: KubeSimConfig) -> Server {
        match ApiServerKind::from_env() {
            ApiServerKind::Sim => {
                let sim = sim_with(cfg).await;
                let client = sim.client();
                Server {
                    inner: Inner::Sim(sim),
                    client,
                    ns: "default".into(),
                }
            }
            ApiServerKind::Real => {
                let cp = ControlPlane::shared();
                let client = cp.client().await;
                let ns = unique_name("t");
                Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone())
                    .create(
                        &PostParams::default(),
                        &serde_json::from_value(json!({"metadata": {"name": ns}})).expect("ns"),
                    )
                    .await
                    .expect("create the test's namespace");
                Server {
                    inner: Inner::Real(cp),
                    client,
                    ns,
                }
            }
        }
    }

    /// The in-memory server for a test about something only it has; on the real server
    /// `None`, after one line saying why the test is skipped.
    pub async fn sim_only(cfg: KubeSimConfig, why: &str) -> Option<KubeSim> {
        if is_real() {
            eprintln!("skipped on the real API server: {why}");
            return None;
        }
        Some(sim_with(cfg).await)
    }

    pub fn is_real(&self) -> bool {
        matches!(self.inner, Inner::Real(_))
    }

    /// The in-memory server, or `None` on the real one.
    pub fn sim(&self) -> Option<&KubeSim> {
        match &self.inner {
            Inner::Sim(s) => Some(s),
            Inner::Real(_) => None,
        }
    }

    /// An admin client.
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// The admin's client configuration.
    pub async fn config(&self) -> kube::Config {
        match &self.inner {
            Inner::Sim(s) => s.config(),
            Inner::Real(cp) => cp.config(None).await.expect("admin config"),
        }
    }

    /// The namespace of this test: `default` on the in-memory server, a fresh one on
    /// the shared real server.
    pub fn ns(&self) -> &str {
        &self.ns
    }

    /// A name for a cluster-scoped object: `base` on the in-memory server, unique on
    /// the shared real server.
    pub fn unique(&self, base: &str) -> String {
        if self.is_real() {
            unique_name(base)
        } else {
            base.to_string()
        }
    }

    /// Writes an admin kubeconfig (its context's namespace is not [`Server::ns`] on
    /// the real server: pass `--namespace`).
    pub fn write_kubeconfig(&self, path: &Path) {
        match &self.inner {
            Inner::Sim(s) => s.write_kubeconfig(path).expect("kubeconfig"),
            Inner::Real(cp) => {
                std::fs::copy(cp.kubeconfig(), path).expect("kubeconfig");
            }
        }
    }

    /// Writes a kubeconfig authenticating with `token` (it need not be valid).
    pub fn write_kubeconfig_for_token(&self, path: &Path, token: &str) {
        match &self.inner {
            Inner::Sim(s) => {
                sipcred_kube_sim::write_kubeconfig_file(path, &s.url(), token).expect("kc")
            }
            Inner::Real(cp) => cp.write_kubeconfig_for_token(path, token).expect("kc"),
        }
    }

    /// Writes a kubeconfig for service account `ns/sa` (created on the real server).
    pub async fn write_kubeconfig_for_service_account(&self, path: &Path, ns: &str, sa: &str) {
        match &self.inner {
            Inner::Sim(s) => s
                .write_kubeconfig_for_service_account(path, ns, sa)
                .expect("kc"),
            Inner::Real(cp) => {
                let token = cp
                    .service_account_token(&self.client, ns, sa)
                    .await
                    .expect("service account token");
                cp.write_kubeconfig_for_token(path, &token).expect("kc");
            }
        }
    }

    /// A client authenticating as service account `ns/sa` (created on the real server).
    pub async fn client_for_service_account(&self, ns: &str, sa: &str) -> Client {
        match &self.inner {
            Inner::Sim(s) => s.client_for_service_account(ns, sa),
            Inner::Real(_) => {
                let dir = tempfile::tempdir().expect("tmp");
                let kc = dir.path().join("kc");
                self.write_kubeconfig_for_service_account(&kc, ns, sa).await;
                client_from_kubeconfig(&kc, None).await
            }
        }
    }

    /// A kubeconfig context of an unprivileged user that no binding grants anything
    /// (real server only: `alice`).
    pub fn unprivileged_context(&self) -> Option<&'static str> {
        self.is_real().then_some("alice")
    }

    pub async fn shutdown(self) {
        match self.inner {
            Inner::Sim(s) => s.shutdown().await,
            Inner::Real(_) => {
                // Namespace deletion is asynchronous; nothing waits for it.
                let _ = Api::<k8s_openapi::api::core::v1::Namespace>::all(self.client)
                    .delete(&self.ns, &Default::default())
                    .await;
            }
        }
    }
}

pub async fn client_from_kubeconfig(path: &Path, context: Option<&str>) -> Client {
    let cfg = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(path).expect("read kubeconfig"),
        &kube::config::KubeConfigOptions {
            context: context.map(String::from),
            ..Default::default()
        },
    )
    .await
    .expect("kubeconfig");
    Client::try_from(cfg).expect("client")
}

/// `base-` and a random suffix.
pub fn unique_name(base: &str) -> String {
    format!(
        "{base}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

pub fn sipc(name: &str, user: &str) -> SipConnection {
    SipConnection::new(
        name,
        SipConnectionSpec {
            provider: "telnyx".into(),
            user_name: user.into(),
            channels: Some(5),
            codec: None,
        },
    )
}

/// Status code of a kube error.
pub fn code(e: &kube::Error) -> u16 {
    match e {
        kube::Error::Api(s) => s.code,
        other => panic!("not an API error: {other:?}"),
    }
}

pub fn status(e: kube::Error) -> kube::core::Status {
    match e {
        kube::Error::Api(s) => *s,
        other => panic!("not an API error: {other:?}"),
    }
}
