//! SipConnection end to end: the in-process operator against the in-memory API server
//! and the Telnyx simulator.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use kube::api::{Patch, PatchParams};
use serde_json::json;
use sipcred_operator::crd::SipConnection;
use sipcred_provider_sim::{FaultConfig, FaultKind, FaultRule};
use support::{NS, World};

const CONNS: &str = "/v2/credential_connections";

fn conn(name: &str, user: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut spec = json!({"providerRef": {"name": "telnyx"}, "userName": user});
    spec.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection", "metadata": {"name": name, "namespace": NS}, "spec": spec})
}

fn connections(w: &World) -> Vec<serde_json::Value> {
    World::provider_objects(&w.telnyx, "credential_connections")
}

#[tokio::test]
async fn create_publishes_a_working_secret_then_update_and_delete_follow_the_spec() {
    let mut w = World::start().await;
    w.start_operator();
    w.apply(conn(
        "alice",
        "alice01",
        json!({"connectionName": "alice-conn", "webhookTimeoutSecs": 10}),
    ))
    .await;
    let obj: SipConnection = w.wait_ready("alice").await;

    let st = obj.status.clone().unwrap();
    let id = st.connection_id.clone().unwrap();
    assert_eq!(st.secret_name.as_deref(), Some("alice"));
    assert_eq!(st.observed_generation, obj.metadata.generation);
    assert!(
        obj.metadata
            .finalizers
            .unwrap()
            .contains(&"sipcred.io/finalizer".to_string())
    );
    let s = w.secret("alice").await.unwrap();
    assert_eq!(s["username"], "alice01");
    assert_eq!(s["domain"], "sip.telnyx.com");
    assert_eq!(s["id"], id);
    assert_eq!(s["password"].len(), 32);
    assert!(
        w.telnyx.check_credentials("alice01", &s["password"]),
        "the Secret's password is the one Telnyx holds"
    );
    let at_provider = connections(&w);
    assert_eq!(at_provider.len(), 1);
    assert_eq!(at_provider[0]["id"], id);
    assert_eq!(at_provider[0]["connection_name"], "alice-conn");
    assert_eq!(at_provider[0]["webhook_timeout_secs"], 10);

    // A spec change updates the provider object in place.
    w.api::<SipConnection>()
        .patch("alice", &PatchParams::default(), &Patch::Merge(json!({"spec": {"webhookTimeoutSecs": 25, "active": false, "inbound": {"timeout1xxSecs": 7}}})))
        .await
        .unwrap();
    w.until("the update at Telnyx", 20, || async {
        let c = connections(&w);
        (c[0]["webhook_timeout_secs"] == 25
            && c[0]["active"] == false
            && c[0]["inbound"]["timeout_1xx_secs"] == 7)
            .then_some(())
    })
    .await;
    assert_eq!(connections(&w).len(), 1);
    assert_eq!(
        w.telnyx.request_count("POST", CONNS, None),
        1,
        "exactly one create"
    );
    assert_eq!(
        w.secret("alice").await.unwrap()["password"],
        s["password"],
        "the password is generated once"
    );

    // Delete (default policy) removes the provider object, then the Kubernetes object.
    w.delete::<SipConnection>("alice").await;
    w.until("the Kubernetes object to go", 20, || async {
        w.api::<SipConnection>()
            .get_opt("alice")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    assert!(connections(&w).is_empty());
}

#[tokio::test]
async fn orphan_policy_keeps_the_provider_object() {
    let mut w = World::start().await;
    w.start_operator();
    w.apply(conn("bob", "bob00001", json!({"deletionPolicy": "Orphan"})))
        .await;
    w.wait_ready::<SipConnection>("bob").await;
    w.delete::<SipConnection>("bob").await;
    w.until("the Kubernetes object to go", 20, || async {
        w.api::<SipConnection>()
            .get_opt("bob")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    let c = connections(&w);
    assert_eq!(c.len(), 1);
    assert_eq!(
        c[0]["connection_name"],
        format!("{}-bob", w.ns),
        "default identity is <namespace>-<name>"
    );
}

#[tokio::test]
async fn lost_create_response_is_recovered_by_lookup_not_a_second_create() {
    let mut w = World::start().await;
    w.telnyx.set_faults(FaultConfig {
        seed: None,
        latency: None,
        rules: vec![
            FaultRule::new(FaultKind::CommitThenDrop)
                .method("POST")
                .route(CONNS)
                .times(1),
        ],
    });
    w.start_operator();
    w.apply(conn("carol", "carol001", json!({}))).await;
    w.wait_ready::<SipConnection>("carol").await;
    assert_eq!(
        connections(&w).len(),
        1,
        "no duplicate after a dropped create response"
    );
    assert_eq!(w.telnyx.request_count("POST", CONNS, None), 1);
    let s = w.secret("carol").await.unwrap();
    assert!(w.telnyx.check_credentials("carol001", &s["password"]));
}

#[tokio::test]
async fn a_changed_referenced_password_is_pushed_to_telnyx() {
    let mut w = World::start().await;
    w.apply(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "dave-pw", "namespace": NS}, "stringData": {"pw": "first-Passw0rd"}})).await;
    w.start_operator();
    w.apply(conn(
        "dave",
        "dave0001",
        json!({"passwordSecretRef": {"name": "dave-pw", "key": "pw"}}),
    ))
    .await;
    w.wait_ready::<SipConnection>("dave").await;
    assert!(w.telnyx.check_credentials("dave0001", "first-Passw0rd"));
    let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(w.client.clone(), &w.ns);
    secrets
        .patch(
            "dave-pw",
            &PatchParams::default(),
            &Patch::Merge(json!({"stringData": {"pw": "second-Passw0rd"}})),
        )
        .await
        .unwrap();
    w.until("the new password at Telnyx", 20, || async {
        w.telnyx
            .check_credentials("dave0001", "second-Passw0rd")
            .then_some(())
    })
    .await;
    w.until("the new password in the Secret", 10, || async {
        (w.secret("dave").await.unwrap()["password"] == "second-Passw0rd").then_some(())
    })
    .await;
}

/// kstatus, `kubectl wait` and Argo CD read Ready=True at the current generation as
/// "this spec is in effect". A changed `passwordSecretRef` whose push Telnyx refuses
/// for a while reaches the Secret first (so no password is ever lost), but the object
/// must not look converged until Telnyx holds it. Found by the chaos soak: an object
/// orphaned in that window left Telnyx with a login no Secret held any more.
#[tokio::test]
async fn a_change_not_yet_at_telnyx_is_not_reported_as_in_effect() {
    let mut w = World::start().await;
    for (name, pw) in [
        ("erin-pw-1", "first-Passw0rd"),
        ("erin-pw-2", "second-Passw0rd"),
    ] {
        w.apply(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NS}, "stringData": {"pw": pw}})).await;
    }
    w.start_operator();
    w.apply(conn(
        "erin",
        "erin0001",
        json!({"passwordSecretRef": {"name": "erin-pw-1", "key": "pw"}}),
    ))
    .await;
    w.wait_ready::<SipConnection>("erin").await;
    w.telnyx.set_faults(FaultConfig {
        seed: None,
        latency: None,
        rules: vec![FaultRule::new(FaultKind::Error { status: 503 }).method("PATCH")],
    });
    let changed = w
        .api::<SipConnection>()
        .patch(
            "erin",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"spec": {"passwordSecretRef": {"name": "erin-pw-2", "key": "pw"}}}),
            ),
        )
        .await
        .unwrap();
    let generation = changed.metadata.generation;
    // The push failed at least once: Synced=False for the new generation.
    let status = w
        .until("the refused push recorded", 30, || async {
            let o = w.api::<SipConnection>().get("erin").await.ok()?;
            let s = o.status?;
            s.conditions
                .iter()
                .any(|c| {
                    c.type_ == "Synced"
                        && c.status == "False"
                        && c.observed_generation == generation
                })
                .then_some(s)
        })
        .await;
    assert!(w.telnyx.check_credentials("erin0001", "first-Passw0rd"));
    let ready = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(ready.status, "True", "the first password still works");
    assert!(
        status.observed_generation < generation && ready.observed_generation < generation,
        "generation {generation:?} is not in effect, yet status says observedGeneration {:?}, Ready at {:?}",
        status.observed_generation,
        ready.observed_generation
    );
    w.telnyx.set_faults(FaultConfig::default());
    w.wait_ready::<SipConnection>("erin").await;
    assert!(w.telnyx.check_credentials("erin0001", "second-Passw0rd"));
    assert_eq!(
        w.secret("erin").await.unwrap()["password"],
        "second-Passw0rd"
    );
}

#[tokio::test]
async fn drift_at_the_provider_is_repaired_and_an_out_of_band_delete_recreates() {
    let mut w = World::start().await;
    w.start_operator();
    w.apply(conn("erin", "erin0001", json!({"active": true})))
        .await;
    let obj: SipConnection = w.wait_ready("erin").await;
    let id = obj.status.unwrap().connection_id.unwrap();
    w.telnyx
        .oob_patch("credential_connections", &id, json!({"active": false}))
        .unwrap();
    w.until("the drift to be repaired", 20, || async {
        (connections(&w)[0]["active"] == true).then_some(())
    })
    .await;
    assert!(w.telnyx.oob_delete("credential_connections", &id));
    w.until("a new connection", 20, || async {
        let c = connections(&w);
        (c.len() == 1 && c[0]["id"] != id.as_str()).then_some(())
    })
    .await;
    let new_id = connections(&w)[0]["id"].as_str().unwrap().to_string();
    w.until("the Secret to carry the new ID", 20, || async {
        (w.secret("erin").await.unwrap()["id"] == new_id).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_foreign_secret_with_the_target_name_is_left_untouched() {
    let mut w = World::start().await;
    w.apply(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "frank", "namespace": NS}, "stringData": {"keep": "me"}})).await;
    w.start_operator();
    w.apply(conn("frank", "frank001", json!({}))).await;
    let (status, reason, message) = w
        .until("Ready=False", 20, || async {
            w.ready::<SipConnection>("frank")
                .await
                .filter(|r| r.0 == "False" && r.1 == "SecretOwnedByAnother")
        })
        .await;
    assert_eq!(status, "False");
    assert!(
        message.contains("Secret \"frank\" already exists and is not owned by this object"),
        "{reason}: {message}"
    );
    assert_eq!(
        w.secret("frank").await.unwrap(),
        [("keep".to_string(), "me".to_string())].into()
    );
    assert_eq!(
        w.telnyx.request_count("POST", CONNS, None),
        0,
        "nothing is created while the Secret is blocked"
    );
}

#[tokio::test]
async fn a_spec_telnyx_rejects_is_reported_with_the_field_and_not_retried_hot() {
    let mut w = World::start().await;
    w.start_operator();
    w.apply(conn("gina", "gina0001", json!({}))).await;
    w.wait_ready::<SipConnection>("gina").await;
    // Same SIP username: Telnyx refuses it (unique across the account).
    w.apply(conn("gina2", "gina0001", json!({}))).await;
    let (reason, message) = w.failed::<SipConnection>("gina2").await;
    assert_eq!(
        reason, "Conflict",
        "a duplicate user_name is a conflict: {message}"
    );
    assert!(
        message.contains("user_name"),
        "the message names the field: {message}"
    );
    let before = w.telnyx.request_count("POST", CONNS, None);
    tokio::time::sleep(Duration::from_secs(4)).await;
    let after = w.telnyx.request_count("POST", CONNS, None);
    assert!(
        after - before <= 1,
        "terminal errors back off (5s, 10s, ...): {} retries in 4s",
        after - before
    );
}

#[tokio::test]
async fn a_bad_api_key_makes_the_provider_and_its_objects_not_ready_without_hot_looping() {
    let mut w = World::start().await;
    w.apply(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "wrong-key", "namespace": NS}, "stringData": {"apiKey": "KEYWRONG"}})).await;
    w.apply(json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipProvider", "metadata": {"name": "bad", "namespace": NS},
        "spec": {"telnyx": {"apiKeySecretRef": {"name": "wrong-key"}, "baseURL": w.telnyx.base_url()}}})).await;
    w.start_operator();
    w.apply(json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection", "metadata": {"name": "hank", "namespace": NS},
        "spec": {"providerRef": {"name": "bad"}, "userName": "hank0001"}})).await;
    let (_, reason, message) = w
        .until("provider Ready=False", 20, || async {
            w.ready::<sipcred_operator::crd::SipProvider>("bad")
                .await
                .filter(|r| r.0 == "False")
        })
        .await;
    assert_eq!(reason, "AuthenticationFailed", "{message}");
    assert!(!message.contains("KEYWRONG"), "no key in messages");
    // "not checked yet" may come first: the provider is waited for, then reported.
    let (_, reason, message) = w
        .until("object Ready=False", 20, || async {
            w.ready::<SipConnection>("hank")
                .await
                .filter(|r| r.0 == "False" && r.2.contains("is not Ready"))
        })
        .await;
    assert_eq!(reason, "ProviderNotReady");
    assert!(
        message.contains(&format!("SipProvider {}/bad is not Ready", w.ns)),
        "{message}"
    );
    let before = w.telnyx.request_count("GET", CONNS, Some(401));
    tokio::time::sleep(Duration::from_secs(4)).await;
    let after = w.telnyx.request_count("GET", CONNS, Some(401));
    assert!(after - before <= 3, "{} auth probes in 4s", after - before);
    assert_eq!(w.telnyx.request_count("POST", CONNS, None), 0);
}
