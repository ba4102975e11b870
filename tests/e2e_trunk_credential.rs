//! TrunkCredential end to end against the Vobiz simulator.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use kube::api::{Patch, PatchParams};
use serde_json::json;
use sipcred_operator::crd::TrunkCredential;
use sipcred_provider_sim::{FaultConfig, FaultKind, FaultRule};
use support::{NS, VOBIZ_ID, World};

const CREATE: &str = "/api/v1/Account/{auth_id}/credentials";

fn trunk(name: &str, user: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut spec = json!({"providerRef": {"name": "vobiz"}, "username": user});
    spec.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "TrunkCredential", "metadata": {"name": name, "namespace": NS}, "spec": spec})
}

fn creds(w: &World) -> Vec<serde_json::Value> {
    World::provider_objects(&w.vobiz, "credentials")
}

#[tokio::test]
async fn create_update_password_push_and_delete() {
    let mut w = World::start().await;
    w.start_operator();
    w.apply(trunk(
        "pbx",
        "officepbx01",
        json!({"passwordPolicy": {"length": 20}}),
    ))
    .await;
    let obj: TrunkCredential = w.wait_ready("pbx").await;
    let st = obj.status.unwrap();
    let s = w.secret("pbx").await.unwrap();
    assert_eq!(s["username"], "officepbx01");
    assert_eq!(s["password"].len(), 20);
    assert_eq!(s["domain"], format!("{VOBIZ_ID}.sip.vobiz.ai"));
    assert_eq!(st.realm.as_deref(), Some(s["domain"].as_str()));
    assert_eq!(Some(s["id"].clone()), st.credential_id);
    assert!(w.vobiz.check_credentials("officepbx01", &s["password"]));
    let c = creds(&w);
    assert_eq!(c.len(), 1);
    assert_eq!(
        c[0]["password"], "<redacted>",
        "Vobiz never returns the password"
    );

    // enabled and description follow the spec.
    w.api::<TrunkCredential>()
        .patch(
            "pbx",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"enabled": false, "description": "lobby phone"}})),
        )
        .await
        .unwrap();
    w.until("the update at Vobiz", 20, || async {
        let c = creds(&w);
        (c[0]["enabled"] == false && c[0]["description"] == "lobby phone").then_some(())
    })
    .await;
    assert!(
        !w.vobiz.check_credentials("officepbx01", &s["password"]),
        "a disabled credential does not register"
    );

    w.delete::<TrunkCredential>("pbx").await;
    w.until("deletion", 20, || async {
        w.api::<TrunkCredential>()
            .get_opt("pbx")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    assert!(creds(&w).is_empty());
}

#[tokio::test]
async fn a_referenced_password_change_reaches_vobiz_although_it_is_write_only() {
    let mut w = World::start().await;
    w.apply(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "soft-pw", "namespace": NS}, "stringData": {"password": "initial-Passw0rd"}})).await;
    w.start_operator();
    w.apply(trunk(
        "soft",
        "softphone01",
        json!({"passwordSecretRef": {"name": "soft-pw"}}),
    ))
    .await;
    w.wait_ready::<TrunkCredential>("soft").await;
    assert!(w.vobiz.check_credentials("softphone01", "initial-Passw0rd"));
    let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(w.client.clone(), &w.ns);
    secrets
        .patch(
            "soft-pw",
            &PatchParams::default(),
            &Patch::Merge(json!({"stringData": {"password": "rotated-Passw0rd"}})),
        )
        .await
        .unwrap();
    w.until("the rotated password at Vobiz", 20, || async {
        w.vobiz
            .check_credentials("softphone01", "rotated-Passw0rd")
            .then_some(())
    })
    .await;
    assert_eq!(creds(&w).len(), 1);
    // Steady state: no more password writes once synced.
    let puts = w
        .vobiz
        .request_count("PUT", "/api/v1/Account/{auth_id}/credentials/{id}", None);
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(
        w.vobiz
            .request_count("PUT", "/api/v1/Account/{auth_id}/credentials/{id}", None),
        puts,
        "no writes in steady state"
    );
}

#[tokio::test]
async fn a_lost_create_response_is_recovered_by_username_lookup() {
    let mut w = World::start().await;
    w.vobiz.set_faults(FaultConfig {
        seed: None,
        latency: None,
        rules: vec![
            FaultRule::new(FaultKind::CommitThenDrop)
                .method("POST")
                .route(CREATE)
                .times(1),
        ],
    });
    w.start_operator();
    w.apply(trunk("lost", "lostresp01", json!({}))).await;
    w.wait_ready::<TrunkCredential>("lost").await;
    assert_eq!(creds(&w).len(), 1);
    assert_eq!(w.vobiz.request_count("POST", CREATE, None), 1);
    let s = w.secret("lost").await.unwrap();
    // The password reached Vobiz before the response was lost: the Secret holds it.
    assert!(w.vobiz.check_credentials("lostresp01", &s["password"]));
}

#[tokio::test]
async fn a_telnyx_provider_is_refused_with_a_clear_reason() {
    let mut w = World::start().await;
    w.start_operator();
    w.apply(json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "TrunkCredential", "metadata": {"name": "wrong", "namespace": NS},
        "spec": {"providerRef": {"name": "telnyx"}, "username": "wrongprov1"}})).await;
    let (reason, message) = w.failed::<TrunkCredential>("wrong").await;
    // A spec mistake, not an account to wait for: terminal until the object changes.
    assert_eq!(reason, "InvalidProviderRef");
    assert!(message.contains("needs a Vobiz provider"), "{message}");
}

#[tokio::test]
async fn an_existing_vobiz_credential_is_adopted_and_given_the_declared_password() {
    let mut w = World::start().await;
    // Made in the Vobiz console before this cluster existed.
    w.vobiz
        .oob_create(
            "credentials",
            json!({"username": "legacy01", "password": "console-Passw0rd"}),
        )
        .unwrap();
    w.apply(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "legacy-pw", "namespace": NS}, "stringData": {"password": "declared-Passw0rd"}})).await;
    w.start_operator();
    w.apply(trunk(
        "legacy",
        "legacy01",
        json!({"passwordSecretRef": {"name": "legacy-pw"}}),
    ))
    .await;
    w.wait_ready::<TrunkCredential>("legacy").await;
    assert_eq!(
        w.vobiz.request_count("POST", CREATE, None),
        0,
        "adopted, not created"
    );
    assert_eq!(creds(&w).len(), 1);
    assert!(
        w.vobiz.check_credentials("legacy01", "declared-Passw0rd"),
        "the declared password was pushed"
    );
    let obj = w.api::<TrunkCredential>().get("legacy").await.unwrap();
    assert_eq!(
        obj.metadata.annotations.unwrap()["sipcred.io/external-name"],
        creds(&w)[0]["id"].as_str().unwrap()
    );
}
