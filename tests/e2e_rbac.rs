//! Least privilege, proven with the real binary: the chart's RBAC (as rendered by Helm)
//! installed in an API server that enforces RBAC, the operator run as the chart's
//! ServiceAccount `sipcred-system/sipcred-operator`, every scenario driven to its end,
//! and the API server's audit log checked afterwards:
//!
//! - no request of the operator was denied (no 403), so nothing the operator needs is
//!   missing from the chart;
//! - no rule holds a wildcard;
//! - every verb the chart grants was used at least once during the scenarios, so
//!   nothing granted is unneeded. Grants the operator does not use today are listed in
//!   the `UNUSED_*` constants (reported to the lead, who decides whether the chart
//!   drops them); the test fails if one of those starts being used or another grant
//!   goes unused.
//!
//! Cases: the chart with default values (`deploy/rbac.yaml`, generated from the chart,
//! so this case needs no Python), the chart rendered with `watchNamespaces` through the
//! real Helm engine (helm-python, skipped with a printed reason when it cannot be
//! imported), and leader election (`--leader-elect`, as the chart's Deployment runs it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde::Deserialize;
use serde_json::{Value, json};
use sipcred_kube_sim::KubeSimConfig;
use sipcred_kube_sim::rbac::AuditEntry;
use sipcred_operator::crd::{
    ClusterSipProvider, SipConnection, SipProvider, TelephonyCredential, TrunkCredential,
};
use support::{Killed, NS, TELNYX_KEY, World};

const RELEASE_NS: &str = "sipcred-system";
const SA: &str = "sipcred-operator";
const SA_USER: &str = "system:serviceaccount:sipcred-system:sipcred-operator";
const CONNS: &str = "/v2/credential_connections";

/// Grants of the chart the operator never uses: none. The test fails when any grant
/// goes unused (the chart then grants more than the operator needs) or when the
/// operator is denied anything.
const UNUSED_NAMESPACED: &[&str] = &[];
/// The cluster-scoped kind.
const UNUSED_CLUSTER: &[&str] = &[];
/// With `watchNamespaces`, the release namespace's Role for ClusterSipProvider keys.
const UNUSED_PROVIDER_SECRETS: &[&str] = &[];

/// The expected unused grants, labelled like [`grant_label`]; `watched`: the namespace
/// of the per-namespace Roles (`watchNamespaces`), `None` for the ClusterRole.
fn known_unused(watched: Option<&str>) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = UNUSED_CLUSTER.iter().map(|s| s.to_string()).collect();
    match watched {
        None => out.extend(UNUSED_NAMESPACED.iter().map(|s| s.to_string())),
        Some(ns) => {
            out.extend(
                UNUSED_NAMESPACED
                    .iter()
                    .map(|s| format!("{s} (Role in {ns})")),
            );
            out.extend(
                UNUSED_PROVIDER_SECRETS
                    .iter()
                    .map(|s| format!("{s} (Role in {RELEASE_NS})")),
            );
        }
    }
    out
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The objects of a multi-document YAML file.
fn yaml_docs(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|d| serde_yaml::from_value::<Value>(serde_yaml::Value::deserialize(d).unwrap()))
        .filter_map(|v| v.ok().filter(|v| !v.is_null()))
        .collect()
}

/// The chart's RBAC rendered with default values (`deploy/rbac.yaml`).
fn default_rbac() -> Vec<Value> {
    yaml_docs(&std::fs::read_to_string(root().join("deploy/rbac.yaml")).unwrap())
}

/// The chart's RBAC rendered by the real Helm engine with `values`, or why not.
fn render_rbac(values: Value) -> Result<Vec<Value>, String> {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import helm_python, yaml"])
        .output()
        .map_err(|e| format!("python3 not runnable: {e}"))?;
    if !probe.status.success() {
        return Err(format!(
            "helm_python not importable: {}",
            String::from_utf8_lossy(&probe.stderr).trim()
        ));
    }
    const SCRIPT: &str = r#"
import json, sys, yaml, helm_python
chart = helm_python.Chart.load(sys.argv[1])
try:
    out = chart.render(json.loads(sys.argv[2]), name="sipcred-operator", namespace="sipcred-system", is_install=True)
finally:
    chart.close()
docs = []
for path, text in sorted(out.items()):
    if path.endswith("/rbac.yaml"):
        docs.extend(d for d in yaml.safe_load_all(text) if d)
print(json.dumps(docs))
"#;
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            SCRIPT,
            root().join("charts/sipcred-operator").to_str().unwrap(),
            &values.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "helm render failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout).unwrap())
}

/// Removes every binding to the operator's ServiceAccount, so only the grants a test
/// installs apply (the real control plane outlives the tests of this binary).
async fn unbind_operator(w: &World) {
    let dp = DeleteParams::default();
    let binds_sa = |subjects: &Option<Vec<k8s_openapi::api::rbac::v1::Subject>>| {
        subjects
            .iter()
            .flatten()
            .any(|s| s.kind == "ServiceAccount" && s.name == SA)
    };
    let crbs = Api::<ClusterRoleBinding>::all(w.client.clone());
    for b in crbs.list(&ListParams::default()).await.unwrap() {
        if binds_sa(&b.subjects) {
            crbs.delete(&b.metadata.name.unwrap(), &dp).await.unwrap();
        }
    }
    let rbs = Api::<RoleBinding>::all(w.client.clone());
    for b in rbs.list(&ListParams::default()).await.unwrap() {
        if binds_sa(&b.subjects) {
            Api::<RoleBinding>::namespaced(w.client.clone(), &b.metadata.namespace.unwrap())
                .delete(&b.metadata.name.unwrap(), &dp)
                .await
                .unwrap();
        }
    }
}

/// Installs the RBAC objects (and their namespaces) as admin.
async fn install_rbac(w: &World, docs: &[Value]) {
    unbind_operator(w).await;
    let pp = PatchParams::apply("e2e-rbac").force();
    let namespaces: BTreeSet<&str> = docs
        .iter()
        .filter_map(|d| d["metadata"]["namespace"].as_str())
        .chain([RELEASE_NS])
        .collect();
    let ns_api: Api<Namespace> = Api::all(w.client.clone());
    for ns in namespaces {
        if ns_api.get_opt(ns).await.unwrap().is_none() {
            ns_api
                .create(
                    &PostParams::default(),
                    &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap(),
                )
                .await
                .unwrap();
        }
    }
    for d in docs {
        let ns = d["metadata"]["namespace"].as_str().unwrap_or_default();
        let name = d["metadata"]["name"].as_str().unwrap();
        let c = w.client.clone();
        let v = Patch::Apply(d.clone());
        match d["kind"].as_str().unwrap() {
            "ClusterRole" => drop(
                Api::<ClusterRole>::all(c)
                    .patch(name, &pp, &v)
                    .await
                    .unwrap(),
            ),
            "ClusterRoleBinding" => drop(
                Api::<ClusterRoleBinding>::all(c)
                    .patch(name, &pp, &v)
                    .await
                    .unwrap(),
            ),
            "Role" => drop(
                Api::<Role>::namespaced(c, ns)
                    .patch(name, &pp, &v)
                    .await
                    .unwrap(),
            ),
            "RoleBinding" => drop(
                Api::<RoleBinding>::namespaced(c, ns)
                    .patch(name, &pp, &v)
                    .await
                    .unwrap(),
            ),
            k => panic!("unexpected kind {k} in the chart's RBAC"),
        }
    }
}

/// One grant: (namespace of a Role or "" for a ClusterRole, group, resource,
/// resourceNames, verb).
type Grant = (String, String, String, Vec<String>, String);

/// The grants of the roles bound to the operator's ServiceAccount; panics on wildcards.
fn grants(docs: &[Value]) -> Vec<Grant> {
    let bound: BTreeSet<(String, String)> = docs
        .iter()
        .filter(|d| d["kind"] == "ClusterRoleBinding" || d["kind"] == "RoleBinding")
        .filter(|d| {
            d["subjects"].as_array().unwrap().iter().any(|s| {
                s["kind"] == "ServiceAccount" && s["name"] == SA && s["namespace"] == RELEASE_NS
            })
        })
        .map(|d| {
            let ns = if d["roleRef"]["kind"] == "Role" {
                d["metadata"]["namespace"].as_str().unwrap().to_string()
            } else {
                String::new()
            };
            (ns, d["roleRef"]["name"].as_str().unwrap().to_string())
        })
        .collect();
    let strs = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    let mut out = vec![];
    for d in docs
        .iter()
        .filter(|d| d["kind"] == "ClusterRole" || d["kind"] == "Role")
    {
        let ns = d["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let name = d["metadata"]["name"].as_str().unwrap().to_string();
        assert!(
            bound.contains(&(ns.clone(), name.clone())),
            "{ns}/{name} is not bound to the operator"
        );
        for rule in d["rules"].as_array().unwrap() {
            let (groups, resources, verbs, names) = (
                strs(&rule["apiGroups"]),
                strs(&rule["resources"]),
                strs(&rule["verbs"]),
                strs(&rule["resourceNames"]),
            );
            for s in groups.iter().chain(&resources).chain(&verbs).chain(&names) {
                assert!(!s.contains('*'), "wildcard in {ns}/{name}: {rule}");
            }
            assert!(
                rule.get("nonResourceURLs").is_none(),
                "nonResourceURLs in {name}"
            );
            for g in &groups {
                for r in &resources {
                    for v in &verbs {
                        out.push((ns.clone(), g.clone(), r.clone(), names.clone(), v.clone()));
                    }
                }
            }
        }
    }
    out
}

fn used(audit: &[AuditEntry], g: &Grant) -> bool {
    let (ns, group, resource, names, verb) = g;
    audit.iter().any(|e| {
        e.user == SA_USER
            && e.allowed
            && e.group == *group
            && e.resource == *resource
            && e.verb == *verb
            && (ns.is_empty() || e.namespace == *ns)
            && (names.is_empty() || names.contains(&e.name))
    })
}

/// `secrets get`, `sipconnections.sipcred.io/status patch`,
/// `leases.coordination.k8s.io ["sipcred-operator"] get (Role in sipcred-system)`.
fn grant_label(g: &Grant) -> String {
    let (ns, group, resource, names, verb) = g;
    let (base, sub) = match resource.split_once('/') {
        Some((b, s)) => (b, format!("/{s}")),
        None => (resource.as_str(), String::new()),
    };
    let resource = if group.is_empty() {
        format!("{base}{sub}")
    } else {
        format!("{base}.{group}{sub}")
    };
    let scope = if ns.is_empty() {
        String::new()
    } else {
        format!(" (Role in {ns})")
    };
    let names = if names.is_empty() {
        String::new()
    } else {
        format!(" {names:?}")
    };
    format!("{resource}{names} {verb}{scope}")
}

/// Checks that nothing was denied and that every grant was used, but those in
/// `known` (which must indeed be unused). Some uses depend on timing (an Event
/// repeated into a series is patched), so this waits up to 30 s for them.
async fn check_least_privilege(w: &World, docs: &[Value], known: BTreeSet<String>) {
    let all = grants(docs);
    assert!(!all.is_empty());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let denied = w.denials();
        assert!(
            denied.is_empty(),
            "the operator was denied (the chart misses these):\n{}",
            denied.join("\n")
        );
        let audit = w.audit();
        let unused: BTreeSet<String> = all
            .iter()
            .filter(|g| !used(&audit, g))
            .map(grant_label)
            .collect();
        let now_used: Vec<_> = known.difference(&unused).collect();
        assert!(
            now_used.is_empty(),
            "listed as unused but used now (update the UNUSED_ lists): {now_used:?}"
        );
        let surprising: Vec<_> = unused.difference(&known).collect();
        if surprising.is_empty() {
            println!(
                "granted but unused (reported):\n  {}",
                unused.iter().cloned().collect::<Vec<_>>().join("\n  ")
            );
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "granted but never used by the operator: {surprising:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

fn sip_connection(name: &str, user: &str, extra: Value) -> Value {
    let mut spec = json!({"providerRef": {"name": "telnyx"}, "userName": user});
    spec.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection", "metadata": {"name": name, "namespace": NS}, "spec": spec})
}

/// Every scenario the operator has, driven by an admin while the operator runs as the
/// chart's ServiceAccount.
async fn drive_scenarios(w: &World) {
    // Providers become Ready: namespaced SipProviders (from World::start) and a
    // ClusterSipProvider whose key lives in the release namespace (left by an earlier
    // test on the shared real control plane: replaced), usable only from namespaces
    // labelled sipcred.io/shared=yes (the operator reads the labels of the world's
    // namespace and watches Namespaces).
    let _ = Api::<ClusterSipProvider>::all(w.client.clone())
        .delete("shared", &DeleteParams::default())
        .await;
    let _ = Api::<k8s_openapi::api::core::v1::Secret>::namespaced(w.client.clone(), RELEASE_NS)
        .delete("shared-key", &DeleteParams::default())
        .await;
    w.until("the previous shared provider gone", 30, || async {
        Api::<ClusterSipProvider>::all(w.client.clone())
            .get_opt("shared")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    w.apply(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "shared-key", "namespace": RELEASE_NS}, "stringData": {"apiKey": TELNYX_KEY}})).await;
    Api::<Namespace>::all(w.client.clone())
        .patch(
            &w.ns,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"sipcred.io/shared": "yes"}}})),
        )
        .await
        .unwrap();
    Api::<ClusterSipProvider>::all(w.client.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "ClusterSipProvider", "metadata": {"name": "shared"},
                "spec": {"telnyx": {"apiKeySecretRef": {"name": "shared-key", "namespace": RELEASE_NS, "key": "apiKey"}, "baseURL": w.telnyx.base_url()},
                    "conditions": [{"namespaceSelector": {"matchLabels": {"sipcred.io/shared": "yes"}}}]}}))
            .unwrap(),
        )
        .await
        .unwrap();
    w.wait_ready::<SipProvider>("telnyx").await;
    w.wait_ready::<SipProvider>("vobiz").await;
    w.until("ClusterSipProvider Ready", 30, || async {
        let p = Api::<ClusterSipProvider>::all(w.client.clone())
            .get("shared")
            .await
            .unwrap();
        let v = serde_json::to_value(p).unwrap();
        v["status"]["conditions"]
            .as_array()?
            .iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
            .then_some(())
    })
    .await;

    // Create -> Ready with a Secret; a TelephonyCredential created before its
    // SipConnection waits for it; a foreign Secret blocks; a TrunkCredential; a
    // SipConnection on the ClusterSipProvider; an Orphan one.
    w.apply(json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "TelephonyCredential", "metadata": {"name": "agent", "namespace": NS},
        "spec": {"providerRef": {"name": "telnyx"}, "sipConnectionRef": {"name": "alice"}, "tag": "agents"}}))
        .await;
    w.apply(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "frank", "namespace": NS}, "stringData": {"keep": "me"}})).await;
    w.apply(sip_connection("frank", "frank001", json!({})))
        .await;
    w.until("frank blocked by the foreign Secret", 30, || async {
        w.ready::<SipConnection>("frank")
            .await
            .filter(|r| r.0 == "False" && r.1 == "SecretOwnedByAnother")
    })
    .await;
    // Its own controller reports it, in its own time (no order with frank's).
    w.until(
        "the TelephonyCredential waits for its SipConnection",
        30,
        || async {
            w.ready::<TelephonyCredential>("agent")
                .await
                .filter(|r| r.0 == "False" && r.1 == "WaitingForSipConnection")
        },
    )
    .await;
    w.apply(sip_connection("alice", "alice001", json!({})))
        .await;
    w.apply(sip_connection(
        "bob",
        "bob00001",
        json!({"deletionPolicy": "Orphan"}),
    ))
    .await;
    w.apply(sip_connection(
        "carol",
        "carol001",
        json!({"providerRef": {"kind": "ClusterSipProvider", "name": "shared"}}),
    ))
    .await;
    w.apply(json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "TrunkCredential", "metadata": {"name": "pbx", "namespace": NS},
        "spec": {"providerRef": {"name": "vobiz"}, "username": "rbacpbx01"}}))
        .await;
    for n in ["alice", "bob", "carol"] {
        w.wait_ready::<SipConnection>(n).await;
        let s = w.secret(n).await.unwrap();
        assert!(w.telnyx.check_credentials(&s["username"], &s["password"]));
    }
    w.wait_ready::<TelephonyCredential>("agent").await;
    w.wait_ready::<TrunkCredential>("pbx").await;
    let s = w.secret("pbx").await.unwrap();
    assert!(w.vobiz.check_credentials("rbacpbx01", &s["password"]));

    // A status written by someone else (a restore from backup, `kubectl edit
    // --subresource=status`) is read as stored and corrected at the next reconcile.
    status_edited_elsewhere::<SipConnection>(w, "alice").await;
    status_edited_elsewhere::<TelephonyCredential>(w, "agent").await;
    status_edited_elsewhere::<TrunkCredential>(w, "pbx").await;

    // Spec update.
    w.api::<SipConnection>()
        .patch(
            "alice",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"webhookTimeoutSecs": 25}})),
        )
        .await
        .unwrap();
    w.until("the update at Telnyx", 30, || async {
        World::provider_objects(&w.telnyx, "credential_connections")
            .iter()
            .any(|c| {
                c["connection_name"] == format!("{}-alice", w.ns) && c["webhook_timeout_secs"] == 25
            })
            .then_some(())
    })
    .await;

    // Delete with policy Delete (the TelephonyCredential first, then its connection)
    // and Orphan.
    w.delete::<TelephonyCredential>("agent").await;
    w.gone::<TelephonyCredential>("agent").await;
    w.delete::<SipConnection>("alice").await;
    w.delete::<SipConnection>("bob").await;
    w.delete::<TrunkCredential>("pbx").await;
    w.gone::<SipConnection>("alice").await;
    w.gone::<SipConnection>("bob").await;
    w.gone::<TrunkCredential>("pbx").await;
    let names: BTreeSet<String> = World::provider_objects(&w.telnyx, "credential_connections")
        .iter()
        .map(|c| c["connection_name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from([format!("{}-bob", w.ns), format!("{}-carol", w.ns)]),
        "Delete removed alice at Telnyx, Orphan kept bob, nothing for the blocked frank"
    );
    assert!(World::provider_objects(&w.telnyx, "telephony_credentials").is_empty());
    assert!(World::provider_objects(&w.vobiz, "credentials").is_empty());
    assert_eq!(
        w.secret("frank").await.unwrap(),
        [("keep".to_string(), "me".to_string())].into(),
        "the foreign Secret is untouched"
    );
    assert_eq!(w.telnyx.request_count("POST", CONNS, None), 3);
}

/// Overwrites `status.secretName` of `name` as an administrator, then changes a label
/// (which wakes the operator; status writes alone do not), and waits for the operator
/// to put the Secret's name back.
async fn status_edited_elsewhere<K>(w: &World, name: &str)
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    let api = w.api::<K>();
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"secretName": "edited-elsewhere"}})),
    )
    .await
    .unwrap();
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"example.com/touched": "yes"}}})),
    )
    .await
    .unwrap();
    w.until(&format!("{name}'s status corrected"), 30, || async {
        let v = serde_json::to_value(api.get(name).await.unwrap()).unwrap();
        (v["status"]["secretName"] == name).then_some(())
    })
    .await;
}

async fn write_sa_kubeconfig(w: &World) -> PathBuf {
    let path = w.dir.path().join("kubeconfig.sa");
    w.write_kubeconfig_for_service_account(&path, RELEASE_NS, SA)
        .await;
    path
}

fn spawn_as_sa(w: &World, kubeconfig: &Path, args: &[&str]) -> Killed {
    Killed(w.spawn_binary_with(
        kubeconfig,
        args,
        &[
            ("POD_NAMESPACE", RELEASE_NS),
            ("POD_NAME", "sipcred-operator-0"),
        ],
    ))
}

async fn rbac_world() -> World {
    World::start_exclusive(KubeSimConfig {
        rbac: true,
        ..Default::default()
    })
    .await
}

/// Default values (one ClusterRole): `deploy/rbac.yaml` without the leader-election
/// Role, the binary without `--leader-elect` (the Lease grants are the subject of
/// `leader_election_as_the_chart_deploys_it`).
#[tokio::test]
async fn default_chart_rbac_is_enough_and_nothing_more() {
    let w = rbac_world().await;
    let docs: Vec<Value> = default_rbac()
        .into_iter()
        .filter(|d| {
            !d["metadata"]["name"]
                .as_str()
                .unwrap()
                .ends_with("-leader-election")
        })
        .collect();
    install_rbac(&w, &docs).await;
    let kc = write_sa_kubeconfig(&w).await;
    let _op = spawn_as_sa(&w, &kc, &[]);
    drive_scenarios(&w).await;
    check_least_privilege(&w, &docs, known_unused(None)).await;
}

/// `watchNamespaces: [default]` rendered by Helm (a Role per watched namespace, a
/// ClusterRole for ClusterSipProviders, a Role for their key Secrets in the release
/// namespace), the binary with `--namespace default`.
#[tokio::test]
async fn chart_rbac_with_watch_namespaces_is_enough_and_nothing_more() {
    let w = rbac_world().await;
    let docs =
        match render_rbac(json!({"watchNamespaces": [w.ns], "leaderElection": {"enabled": false}}))
        {
            Ok(d) => d,
            Err(why) => {
                println!("SKIPPED: cannot render the chart with Helm: {why}");
                return;
            }
        };
    install_rbac(&w, &docs).await;
    let kc = write_sa_kubeconfig(&w).await;
    let _op = spawn_as_sa(&w, &kc, &["--namespace", &w.ns]);
    drive_scenarios(&w).await;
    check_least_privilege(&w, &docs, known_unused(Some(&w.ns))).await;
}

/// The chart's Deployment runs `--leader-elect` with POD_NAMESPACE = the release
/// namespace. The Lease code (kube-lease-manager) uses get, create and patch on the
/// Lease; the chart grants get, create and update: the first renewal is a 403 and the
/// replica never leads. Ignored until the lead changes the chart (`update` -> `patch`
/// on the named Lease); with that change this test passes in about 0.5 s.
#[tokio::test]
async fn leader_election_as_the_chart_deploys_it() {
    let w = rbac_world().await;
    let docs = default_rbac();
    install_rbac(&w, &docs).await;
    let kc = write_sa_kubeconfig(&w).await;
    let _op = spawn_as_sa(&w, &kc, &["--leader-elect"]);
    w.apply(sip_connection("alice", "alice001", json!({})))
        .await;
    let leases = Api::<Lease>::namespaced(w.client.clone(), RELEASE_NS);
    let holder = w
        .until("the Lease to be held, or a denial", 30, || async {
            if !w.denials().is_empty() {
                return Some(None);
            }
            let l = leases.get_opt("sipcred-operator").await.unwrap()?;
            l.spec?.holder_identity.map(Some)
        })
        .await;
    let denied = w.denials();
    assert!(
        denied.is_empty(),
        "leader election was denied (the chart misses these):\n{}",
        denied.join("\n")
    );
    let holder = holder.unwrap();
    assert!(holder.starts_with("sipcred-operator-0-"), "{holder}");
    w.wait_ready::<SipConnection>("alice").await;
    let lease_grants: Vec<Grant> = grants(&docs)
        .into_iter()
        .filter(|g| g.2 == "leases")
        .collect();
    let audit = w.audit();
    let unused: Vec<String> = lease_grants
        .iter()
        .filter(|g| !used(&audit, g))
        .map(grant_label)
        .collect();
    assert!(unused.is_empty(), "lease grants never used: {unused:?}");
}
