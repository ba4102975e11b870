use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::api::{Api, ListParams, ObjectMeta, PostParams, WatchParams};
use serde_json::json;
use sipcred_kube_sim::{ErrorRule, FaultRule, KubeSim, KubeSimConfig};

use crate::common::*;

#[tokio::test]
async fn injected_errors_latency_and_cut_watches() {
    let Some(sim) = Server::sim_only(
        KubeSimConfig::default(),
        "injected_errors_latency_and_cut_watches tests the in-memory server's fault injection",
    )
    .await
    else {
        return;
    };
    let api: Api<Secret> = Api::namespaced(sim.client(), "default");
    let cms: Api<ConfigMap> = Api::namespaced(sim.client(), "default");
    sim.faults().fail(
        FaultRule::error(500)
            .resource("secrets")
            .verb("list")
            .times(5),
    );
    let mut failures = 0;
    for _ in 0..10 {
        if let Err(e) = api.list(&ListParams::default()).await {
            assert_eq!(code(&e), 500);
            failures += 1;
        }
    }
    assert_eq!(failures, 5, "exactly the next 5 fail");
    assert_eq!(sim.faults().get().rules[0].remaining, Some(0));
    cms.list(&ListParams::default())
        .await
        .expect("other resources unaffected");
    sim.faults().clear();
    // kube-rs retries 429 by default: one 429 still succeeds.
    sim.faults()
        .fail(FaultRule::error(429).resource("configmaps").times(1));
    cms.list(&ListParams::default())
        .await
        .expect("retried through 429");
    let mut cfg = sim.config();
    cfg.default_retry = false;
    let no_retry: Api<ConfigMap> =
        Api::namespaced(kube::Client::try_from(cfg).expect("client"), "default");
    sim.faults().fail(ErrorRule {
        code: 429,
        share: 1.0,
        resource: Some("configmaps".into()),
        verb: None,
    });
    let e = status(
        no_retry
            .list(&ListParams::default())
            .await
            .expect_err("429"),
    );
    assert_eq!((e.code, e.reason.as_str()), (429, "TooManyRequests"));
    sim.faults().clear();

    sim.faults().set_latency(Duration::from_millis(150));
    let t = Instant::now();
    cms.list(&ListParams::default()).await.expect("slow list");
    assert!(t.elapsed() >= Duration::from_millis(150));
    sim.faults().clear();

    let mut w = api
        .watch(&WatchParams::default(), "0")
        .await
        .expect("watch")
        .boxed();
    sim.faults().cut_watches();
    let ended = tokio::time::timeout(Duration::from_secs(3), async {
        while w.next().await.is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "watch stream cut");
    sim.shutdown().await;
}

/// `GET|PUT /_sim/faults`, the shape every simulator shares.
async fn put_faults(sim: &KubeSim, body: serde_json::Value) -> serde_json::Value {
    let req = axum::http::Request::put(format!("{}/_sim/faults", sim.url()))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&body).expect("json"))
        .expect("req");
    let text = sim.client().request_text(req).await.expect("admin");
    serde_json::from_str(&text).expect("the config in use")
}

/// The outcome (HTTP code, 0 for success) of `n` ConfigMap lists, in order.
async fn list_codes(cms: &Api<ConfigMap>, n: usize) -> Vec<u16> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(match cms.list(&ListParams::default()).await {
            Ok(_) => 0,
            Err(e) => code(&e),
        });
    }
    out
}

#[tokio::test]
async fn admin_fault_api_replays_a_seeded_run() {
    let Some(sim) = Server::sim_only(
        KubeSimConfig::default(),
        "admin_fault_api_replays_a_seeded_run tests the in-memory server's admin API",
    )
    .await
    else {
        return;
    };
    let cms: Api<ConfigMap> = Api::namespaced(sim.client(), "default");
    let faults = json!({"seed": 2026, "rules": [
        {"kind": "error", "status": 500, "probability": 0.4, "resource": "configmaps", "verb": "list"}
    ]});
    let set = put_faults(&sim, faults.clone()).await;
    assert_eq!(set["seed"], 2026);
    assert_eq!(set["rules"][0]["probability"], 0.4);
    let first = list_codes(&cms, 40).await;
    assert!(first.contains(&500) && first.contains(&0), "{first:?}");
    // PUT again: the sequence restarts from the seed.
    put_faults(&sim, faults.clone()).await;
    assert_eq!(
        list_codes(&cms, 40).await,
        first,
        "same seed, same requests"
    );
    let mut other = faults.clone();
    other["seed"] = json!(2027);
    put_faults(&sim, other).await;
    assert_ne!(
        list_codes(&cms, 40).await,
        first,
        "another seed, other faults"
    );

    // Without a seed the simulator picks one and reports it on GET.
    let set = put_faults(&sim, json!({"rules": faults["rules"]})).await;
    let seed = set["seed"].as_u64().expect("the seed in use is reported");
    let req = axum::http::Request::get(format!("{}/_sim/faults", sim.url()))
        .body(Vec::new())
        .expect("req");
    let got: serde_json::Value =
        serde_json::from_str(&sim.client().request_text(req).await.expect("get")).expect("json");
    assert_eq!(got["seed"], json!(seed));
    let unseeded = list_codes(&cms, 40).await;
    put_faults(&sim, json!({"seed": seed, "rules": faults["rules"]})).await;
    assert_eq!(
        list_codes(&cms, 40).await,
        unseeded,
        "replayed from the reported seed"
    );

    // Invalid settings are refused with the field named; `{}` clears everything.
    let req = axum::http::Request::put(format!("{}/_sim/faults", sim.url()))
        .header("content-type", "application/json")
        .body(
            serde_json::to_vec(
                &json!({"rules": [{"kind": "error", "status": 500, "probability": 2}]}),
            )
            .expect("json"),
        )
        .expect("req");
    let err = sim.client().request_text(req).await.expect_err("400");
    assert!(err.to_string().contains("probability"), "{err}");
    put_faults(&sim, json!({})).await;
    assert_eq!(list_codes(&cms, 5).await, vec![0; 5]);
    sim.shutdown().await;
}

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn rbac_denies_and_allows_by_roles() {
    let srv = Server::start_with(KubeSimConfig {
        rbac: true,
        ..Default::default()
    })
    .await;
    let ns = srv.ns().to_string();
    let admin = srv.client();
    install_crd(&admin).await;
    let sa = srv.client_for_service_account(&ns, "op").await;
    let secrets: Api<Secret> = Api::namespaced(sa.clone(), &ns);
    let e = status(
        secrets
            .list(&ListParams::default())
            .await
            .expect_err("denied"),
    );
    assert_eq!((e.code, e.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        e.message,
        format!(
            "secrets is forbidden: User \"system:serviceaccount:{ns}:op\" cannot list resource \"secrets\" in API group \"\" in the namespace \"{ns}\""
        )
    );
    let all: Api<Secret> = Api::all(sa.clone());
    let e = status(all.list(&ListParams::default()).await.expect_err("denied"));
    assert!(
        e.message
            .ends_with("in API group \"\" at the cluster scope"),
        "{}",
        e.message
    );

    let role: Role = serde_json::from_value(json!({
        "metadata": {"name": "op", "namespace": ns},
        "rules": [
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"], "resourceNames": ["allowed"]},
            {"apiGroups": ["sipcred.io"], "resources": ["sipconnections"], "verbs": ["get", "list"]}
        ]
    }))
    .expect("role");
    Api::<Role>::namespaced(admin.clone(), &ns)
        .create(&PostParams::default(), &role)
        .await
        .expect("role");
    let rb: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": "op", "namespace": ns},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "op"},
        "subjects": [{"kind": "ServiceAccount", "name": "op", "namespace": ns}]
    }))
    .expect("rb");
    Api::<RoleBinding>::namespaced(admin.clone(), &ns)
        .create(&PostParams::default(), &rb)
        .await
        .expect("rb");
    // RBAC caches on a real server refresh from watches: allow a moment.
    until("allowed now", || async {
        secrets.list(&ListParams::default()).await.is_ok()
    })
    .await;
    let e = status(
        secrets
            .create(
                &PostParams::default(),
                &Secret {
                    metadata: meta("x"),
                    ..Default::default()
                },
            )
            .await
            .expect_err("no create"),
    );
    assert_eq!(e.code, 403);

    let cms: Api<ConfigMap> = Api::namespaced(sa.clone(), &ns);
    let admin_cms: Api<ConfigMap> = Api::namespaced(admin.clone(), &ns);
    for n in ["allowed", "other"] {
        admin_cms
            .create(
                &PostParams::default(),
                &ConfigMap {
                    metadata: meta(n),
                    ..Default::default()
                },
            )
            .await
            .expect("cm");
    }
    cms.get("allowed").await.expect("resourceNames allow");
    let e = status(cms.get("other").await.expect_err("resourceNames deny"));
    assert_eq!(
        e.message,
        format!(
            "configmaps \"other\" is forbidden: User \"system:serviceaccount:{ns}:op\" cannot get resource \"configmaps\" in API group \"\" in the namespace \"{ns}\""
        )
    );

    // subresources need their own rule
    let crs: Api<SipConnection> = Api::namespaced(sa.clone(), &ns);
    Api::<SipConnection>::namespaced(admin.clone(), &ns)
        .create(&PostParams::default(), &sipc("r", "alice1"))
        .await
        .expect("cr");
    crs.get("r").await.expect("get cr");
    let e = status(crs.get_status("r").await.expect_err("status denied"));
    assert!(
        e.message
            .contains("cannot get resource \"sipconnections/status\" in API group \"sipcred.io\""),
        "{}",
        e.message
    );
    let status_role = srv.unique("status");
    let cr: ClusterRole = serde_json::from_value(json!({"metadata": {"name": status_role}, "rules": [{"apiGroups": ["sipcred.io"], "resources": ["sipconnections/status"], "verbs": ["get"]}]})).expect("cr");
    Api::<ClusterRole>::all(admin.clone())
        .create(&PostParams::default(), &cr)
        .await
        .expect("clusterrole");
    let crb: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": {"name": status_role},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": status_role},
        "subjects": [{"kind": "ServiceAccount", "name": "op", "namespace": ns}]
    }))
    .expect("crb");
    Api::<ClusterRoleBinding>::all(admin.clone())
        .create(&PostParams::default(), &crb)
        .await
        .expect("crb");
    // RBAC caches on a real server refresh from watches: allow a moment.
    until("status allowed", || async {
        crs.get_status("r").await.is_ok()
    })
    .await;

    // unknown token: 401
    let path = tempfile::tempdir().expect("tmp");
    let kc = path.path().join("kc");
    srv.write_kubeconfig_for_token(&kc, "bogus");
    let bad = client_from_kubeconfig(&kc, None).await;
    let e = status(
        Api::<Secret>::namespaced(bad, &ns)
            .list(&ListParams::default())
            .await
            .expect_err("401"),
    );
    assert_eq!((e.code, e.message.as_str()), (401, "Unauthorized"));
    srv.shutdown().await;
}

#[tokio::test]
async fn access_reviews_and_impersonation() {
    use k8s_openapi::api::authorization::v1::{SelfSubjectAccessReview, SubjectAccessReview};
    let srv = Server::start_with(KubeSimConfig {
        rbac: true,
        ..Default::default()
    })
    .await;
    let ns = srv.ns().to_string();
    let admin = srv.client();
    let sar: SubjectAccessReview = serde_json::from_value(json!({
        "spec": {"user": format!("system:serviceaccount:{ns}:op"), "resourceAttributes": {"namespace": ns, "verb": "list", "resource": "secrets"}}
    }))
    .expect("sar");
    let r = Api::<SubjectAccessReview>::all(admin.clone())
        .create(&PostParams::default(), &sar)
        .await
        .expect("sar");
    assert!(!r.status.expect("status").allowed);
    let ssar: SelfSubjectAccessReview = serde_json::from_value(json!({
        "spec": {"resourceAttributes": {"namespace": ns, "verb": "delete", "resource": "secrets"}}
    }))
    .expect("ssar");
    let r = Api::<SelfSubjectAccessReview>::all(admin.clone())
        .create(&PostParams::default(), &ssar)
        .await
        .expect("ssar");
    assert!(r.status.expect("status").allowed, "admin may do anything");
    // impersonation through kube-rs
    let mut cfg = srv.config().await;
    cfg.auth_info.impersonate = Some(format!("system:serviceaccount:{ns}:op"));
    let imp = kube::Client::try_from(cfg).expect("client");
    let e = status(
        Api::<Secret>::namespaced(imp, &ns)
            .list(&ListParams::default())
            .await
            .expect_err("403"),
    );
    assert!(
        e.message.contains(&format!(
            "User \"system:serviceaccount:{ns}:op\" cannot list"
        )),
        "{}",
        e.message
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn injected_conflicts_hit_only_writes_naming_a_resource_version() {
    let Some(sim) = Server::sim_only(
        KubeSimConfig::default(),
        "injected_conflicts_hit_only_writes_naming_a_resource_version tests the in-memory server's fault injection",
    )
    .await
    else {
        return;
    };
    let cms: Api<ConfigMap> = Api::namespaced(sim.client(), "default");
    let cm = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "c"}, "data": {"a": "1"}}))
                .expect("configmap"),
        )
        .await
        .expect("created");
    sim.faults().fail(FaultRule::conflict());
    let pp = kube::api::PatchParams::default();
    // Without a precondition a write cannot lose a race.
    let now = cms
        .patch(
            "c",
            &pp,
            &kube::api::Patch::Merge(json!({"data": {"a": "2"}})),
        )
        .await
        .expect("an unconditional patch passes");
    assert_ne!(now.metadata.resource_version, cm.metadata.resource_version);
    // The current resourceVersion: only the injected fault can refuse it.
    let rv = now.metadata.resource_version.clone().unwrap_or_default();
    let e = cms
        .patch(
            "c",
            &pp,
            &kube::api::Patch::Merge(
                json!({"metadata": {"resourceVersion": rv}, "data": {"a": "3"}}),
            ),
        )
        .await
        .expect_err("a preconditioned patch loses the race");
    let s = status(e);
    assert_eq!((s.code, s.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        s.message,
        "Operation cannot be fulfilled on configmaps \"c\": the object has been modified; please apply your changes to the latest version and try again"
    );
    assert_eq!(
        cms.get("c").await.expect("read").data.unwrap_or_default()["a"],
        "2",
        "the conflicting write changed nothing"
    );
    sim.faults().clear();
    cms.patch(
        "c",
        &pp,
        &kube::api::Patch::Merge(json!({"metadata": {"resourceVersion": rv}, "data": {"a": "3"}})),
    )
    .await
    .expect("the same write passes without the fault");
}
