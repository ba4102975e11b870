use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::common::*;

fn applied(uid: &str, data: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "ssa", "labels": {"app.kubernetes.io/managed-by": "sipcred"},
            "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": uid, "controller": true}]},
        "data": data,
    })
}

#[tokio::test]
async fn server_side_apply_ownership_conflicts_and_force() {
    let sim = sim().await;
    let api: Api<Secret> = Api::namespaced(sim.client(), "default");
    // a live owner: an ownerReference to a missing uid would be garbage-collected
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(sim.client(), "default");
    let owner = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "o"}})).expect("cm"),
        )
        .await
        .expect("owner");
    let uid = owner.metadata.uid.expect("uid");
    let a = PatchParams::apply("mgr-a");
    let s = api
        .patch(
            "ssa",
            &a,
            &Patch::Apply(applied(&uid, json!({"x": "MQ==", "y": "Mg=="}))),
        )
        .await
        .expect("create via apply");
    assert_eq!(
        s.metadata.labels.as_ref().expect("labels")["app.kubernetes.io/managed-by"],
        "sipcred"
    );
    assert_eq!(
        s.metadata.owner_references.as_ref().expect("owners")[0].uid,
        uid
    );
    let mf = s.metadata.managed_fields.clone().expect("managedFields");
    assert_eq!(mf.len(), 1);
    assert_eq!(mf[0].manager.as_deref(), Some("mgr-a"));
    assert_eq!(mf[0].operation.as_deref(), Some("Apply"));
    assert_eq!(mf[0].fields_type.as_deref(), Some("FieldsV1"));
    let f = serde_json::to_value(&mf[0].fields_v1).expect("fields");
    assert!(
        f["f:data"]["f:x"].is_object() && f["f:metadata"]["f:labels"].is_object(),
        "{f}"
    );

    // stop sending y: removed
    let s = api
        .patch(
            "ssa",
            &a,
            &Patch::Apply(applied(&uid, json!({"x": "MQ=="}))),
        )
        .await
        .expect("reapply");
    assert!(!s.data.as_ref().expect("data").contains_key("y"));

    // another manager changing x conflicts
    let b = PatchParams::apply("mgr-b");
    let e = status(api.patch("ssa", &b, &Patch::Apply(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "ssa"}, "data": {"x": "Mw=="}}))).await.expect_err("conflict"));
    assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        e.message,
        "Apply failed with 1 conflict: conflict with \"mgr-a\": .data.x"
    );
    let cause = &e.details.expect("details").causes[0];
    assert_eq!(
        (cause.reason.as_str(), cause.field.as_str()),
        ("FieldManagerConflict", ".data.x")
    );
    assert_eq!(cause.message, "conflict with \"mgr-a\"");

    // force transfers ownership
    let s = api
        .patch("ssa", &b.clone().force(), &Patch::Apply(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "ssa"}, "data": {"x": "Mw=="}})))
        .await
        .expect("force");
    assert_eq!(s.data.as_ref().expect("data")["x"].0, b"3".to_vec());
    let owners: Vec<String> = s
        .metadata
        .managed_fields
        .expect("mf")
        .iter()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert!(owners.contains(&"mgr-b".to_string()));

    // an Update takes ownership of what it changes, never conflicts
    api.patch(
        "ssa",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"x": "NA=="}})),
    )
    .await
    .expect("update");
    let e = api.patch("ssa", &b, &Patch::Apply(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "ssa"}, "data": {"x": "NQ=="}}))).await;
    assert_eq!(code(&e.expect_err("update manager now owns x")), 409);

    // fieldManager is required
    let raw = axum::http::Request::patch(format!(
        "{}/api/v1/namespaces/default/secrets/ssa",
        sim.url()
    ))
    .header("content-type", "application/apply-patch+yaml")
    .body(b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: ssa\n".to_vec())
    .expect("req");
    let e = status(
        sim.client()
            .request::<Secret>(raw)
            .await
            .expect_err("no manager"),
    );
    assert_eq!(e.code, 422);

    // YAML bodies work
    let raw = axum::http::Request::patch(format!(
        "{}/api/v1/namespaces/default/secrets/yaml?fieldManager=yaml",
        sim.url()
    ))
    .header("content-type", "application/apply-patch+yaml")
    .body(b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: yaml\nstringData:\n  a: b\n".to_vec())
    .expect("req");
    let s: Secret = sim.client().request(raw).await.expect("yaml apply");
    assert_eq!(s.data.expect("data")["a"].0, b"b".to_vec());
    sim.shutdown().await;
}

#[tokio::test]
async fn status_apply_through_subresource() {
    let sim = sim().await;
    install_crd(&sim.client()).await;
    let api: Api<SipConnection> = Api::namespaced(sim.client(), "default");
    api.create(&PostParams::default(), &sipc("st", "alice1"))
        .await
        .expect("create");
    let pp = PatchParams::apply("sipcred-operator").force();
    let body = json!({
        "apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection", "metadata": {"name": "st"},
        "status": {"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True", "reason": "Provisioned"}]}
    });
    let o = api
        .patch_status("st", &pp, &Patch::Apply(&body))
        .await
        .expect("status apply");
    assert_eq!(
        o.status.as_ref().expect("status").observed_generation,
        Some(1)
    );
    assert_eq!(o.metadata.generation, Some(1));
    let mf = o.metadata.managed_fields.expect("mf");
    let entry = mf
        .iter()
        .find(|m| m.manager.as_deref() == Some("sipcred-operator"))
        .expect("entry");
    assert_eq!(entry.subresource.as_deref(), Some("status"));
    // apply of the main resource ignores status
    let main = json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection", "metadata": {"name": "st"},
        "spec": {"provider": "telnyx", "userName": "alice1", "channels": 6}, "status": {"observedGeneration": 99}});
    let o = api
        .patch(
            "st",
            &PatchParams::apply("owner").force(),
            &Patch::Apply(&main),
        )
        .await
        .expect("main apply");
    assert_eq!(o.status.expect("status").observed_generation, Some(1));
    assert_eq!(o.metadata.generation, Some(2));
    sim.shutdown().await;
}
