//! TelephonyCredential end to end: waits for its SipConnection, stores what Telnyx
//! generates, survives a lost create response.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use kube::api::{Patch, PatchParams};
use serde_json::json;
use sipcred_operator::crd::{SipConnection, TelephonyCredential};
use sipcred_provider_sim::{FaultConfig, FaultKind, FaultRule};
use support::{NS, World};

const CREDS: &str = "/v2/telephony_credentials";

fn tc(name: &str, spec: serde_json::Value) -> serde_json::Value {
    let mut s = json!({"providerRef": {"name": "telnyx"}});
    s.as_object_mut()
        .unwrap()
        .extend(spec.as_object().unwrap().clone());
    json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "TelephonyCredential", "metadata": {"name": name, "namespace": NS}, "spec": s})
}

fn creds(w: &World) -> Vec<serde_json::Value> {
    World::provider_objects(&w.telnyx, "telephony_credentials")
}

#[tokio::test]
async fn waits_for_its_connection_then_publishes_the_generated_credentials() {
    let mut w = World::start().await;
    w.start_operator();
    // The credential first: it must wait, with a reason, and create nothing.
    w.apply(tc("alice", json!({"sipConnectionRef": {"name": "conn"}, "tag": "agents", "expiresAt": "2030-01-01T00:00:00Z"}))).await;
    // The provider account may be reported as not checked yet first.
    let (_, reason, _) = w
        .until("waiting", 20, || async {
            w.ready::<TelephonyCredential>("alice")
                .await
                .filter(|r| r.0 == "False" && r.1 != "ProviderNotReady")
        })
        .await;
    assert_eq!(reason, "WaitingForSipConnection");
    assert_eq!(w.telnyx.request_count("POST", CREDS, None), 0);

    w.apply(json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection", "metadata": {"name": "conn", "namespace": NS},
        "spec": {"providerRef": {"name": "telnyx"}, "userName": "conn0001"}})).await;
    let conn: SipConnection = w.wait_ready("conn").await;
    let obj: TelephonyCredential = w.wait_ready("alice").await;
    let st = obj.status.unwrap();
    let s = w.secret("alice").await.unwrap();
    assert!(s["username"].starts_with("gencred"), "{}", s["username"]);
    assert_eq!(st.sip_username.as_deref(), Some(s["username"].as_str()));
    assert_eq!(st.connection_id, conn.status.unwrap().connection_id);
    assert!(w.telnyx.check_credentials(&s["username"], &s["password"]));
    let c = creds(&w);
    assert_eq!(c.len(), 1);
    assert_eq!(
        c[0]["name"],
        format!("{}/alice", w.ns),
        "deterministic name <namespace>/<name>"
    );
    assert_eq!(c[0]["tag"], "agents");

    // Update in place.
    w.api::<TelephonyCredential>()
        .patch(
            "alice",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"tag": "supervisors"}})),
        )
        .await
        .unwrap();
    w.until("the tag at Telnyx", 20, || async {
        (creds(&w)[0]["tag"] == "supervisors").then_some(())
    })
    .await;
    assert_eq!(w.telnyx.request_count("POST", CREDS, None), 1);

    w.delete::<TelephonyCredential>("alice").await;
    w.until("deletion", 20, || async {
        w.api::<TelephonyCredential>()
            .get_opt("alice")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    assert!(creds(&w).is_empty());
}

#[tokio::test]
async fn a_lost_create_response_is_recovered_with_the_password() {
    let mut w = World::start().await;
    w.start_operator();
    w.apply(tc("bob", json!({"connectionID": "placeholder"})))
        .await;
    // A raw connection ID that does not exist: Telnyx refuses it and names the field.
    let (reason, message) = w.failed::<TelephonyCredential>("bob").await;
    assert!(message.contains("connection_id"), "{reason}: {message}");
    // Its retries would count as creates below.
    w.delete::<TelephonyCredential>("bob").await;
    w.until("bob gone", 30, || async {
        w.api::<TelephonyCredential>()
            .get_opt("bob")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;

    w.apply(json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection", "metadata": {"name": "c2", "namespace": NS},
        "spec": {"providerRef": {"name": "telnyx"}, "userName": "conn0002"}})).await;
    w.wait_ready::<SipConnection>("c2").await;
    w.telnyx.set_faults(FaultConfig {
        seed: None,
        latency: None,
        rules: vec![
            FaultRule::new(FaultKind::CommitThenDrop)
                .method("POST")
                .route(CREDS)
                .times(1),
        ],
    });
    let posts = w.telnyx.request_count("POST", CREDS, None);
    w.apply(tc("carol", json!({"sipConnectionRef": {"name": "c2"}})))
        .await;
    w.wait_ready::<TelephonyCredential>("carol").await;
    let c = creds(&w);
    assert_eq!(c.len(), 1, "one credential despite the lost response");
    assert_eq!(
        w.telnyx.request_count("POST", CREDS, None) - posts,
        1,
        "created once"
    );
    let s = w.secret("carol").await.unwrap();
    assert!(
        w.telnyx.check_credentials(&s["username"], &s["password"]),
        "the password was recovered by lookup"
    );
}
