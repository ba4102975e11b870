//! The behaviours every managed kind shares, checked on TrunkCredential and
//! TelephonyCredential too (SipConnection has its own suite): Orphan keeps the
//! provider object, a foreign Secret is left untouched, a bad account key is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use sipcred_operator::crd::{SipConnection, TelephonyCredential, TrunkCredential};
use support::{NS, World};

fn obj(kind: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": "sipcred.io/v1alpha1", "kind": kind, "metadata": {"name": name, "namespace": NS}, "spec": spec})
}

async fn connection(w: &World) {
    w.apply(obj(
        "SipConnection",
        "conn",
        json!({"providerRef": {"name": "telnyx"}, "userName": "conn0001"}),
    ))
    .await;
    w.wait_ready::<SipConnection>("conn").await;
}

#[tokio::test]
async fn orphan_keeps_the_provider_object_for_every_kind() {
    let mut w = World::start().await;
    w.start_operator();
    connection(&w).await;
    w.apply(obj("TrunkCredential", "t", json!({"providerRef": {"name": "vobiz"}, "username": "orphan01", "deletionPolicy": "Orphan"}))).await;
    w.apply(obj("TelephonyCredential", "c", json!({"providerRef": {"name": "telnyx"}, "sipConnectionRef": {"name": "conn"}, "deletionPolicy": "Orphan"}))).await;
    w.wait_ready::<TrunkCredential>("t").await;
    w.wait_ready::<TelephonyCredential>("c").await;
    w.delete::<TrunkCredential>("t").await;
    w.delete::<TelephonyCredential>("c").await;
    w.until("both gone", 20, || async {
        let t = w.api::<TrunkCredential>().get_opt("t").await.unwrap();
        let c = w.api::<TelephonyCredential>().get_opt("c").await.unwrap();
        (t.is_none() && c.is_none()).then_some(())
    })
    .await;
    assert_eq!(World::provider_objects(&w.vobiz, "credentials").len(), 1);
    assert_eq!(
        World::provider_objects(&w.telnyx, "telephony_credentials").len(),
        1
    );
}

#[tokio::test]
async fn a_foreign_secret_blocks_every_kind_without_being_touched() {
    let mut w = World::start().await;
    for name in ["t", "c"] {
        w.apply(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NS}, "stringData": {"mine": "yes"}})).await;
    }
    w.start_operator();
    connection(&w).await;
    w.apply(obj(
        "TrunkCredential",
        "t",
        json!({"providerRef": {"name": "vobiz"}, "username": "foreign01"}),
    ))
    .await;
    w.apply(obj(
        "TelephonyCredential",
        "c",
        json!({"providerRef": {"name": "telnyx"}, "sipConnectionRef": {"name": "conn"}}),
    ))
    .await;
    w.until("TrunkCredential blocked", 20, || async {
        w.ready::<TrunkCredential>("t")
            .await
            .filter(|r| r.1 == "SecretOwnedByAnother")
    })
    .await;
    w.until("TelephonyCredential blocked", 20, || async {
        w.ready::<TelephonyCredential>("c")
            .await
            .filter(|r| r.1 == "SecretOwnedByAnother")
    })
    .await;
    for name in ["t", "c"] {
        assert_eq!(
            w.secret(name).await.unwrap(),
            [("mine".to_string(), "yes".to_string())].into()
        );
    }
    assert!(
        World::provider_objects(&w.vobiz, "credentials").is_empty(),
        "nothing created while blocked"
    );
}

#[tokio::test]
async fn a_bad_vobiz_token_is_reported_on_the_provider_and_its_objects() {
    let mut w = World::start().await;
    w.apply(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "bad-vobiz", "namespace": NS},
        "stringData": {"authID": support::VOBIZ_ID, "authToken": "wrong-token"}})).await;
    w.apply(json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipProvider", "metadata": {"name": "badv", "namespace": NS},
        "spec": {"vobiz": {"credentialsSecretRef": {"name": "bad-vobiz"}, "baseURL": w.vobiz.base_url()}}})).await;
    w.start_operator();
    w.apply(obj(
        "TrunkCredential",
        "t",
        json!({"providerRef": {"name": "badv"}, "username": "badtoken01"}),
    ))
    .await;
    let (_, reason, message) = w
        .until("provider not Ready", 20, || async {
            w.ready::<sipcred_operator::crd::SipProvider>("badv")
                .await
                .filter(|r| r.0 == "False")
        })
        .await;
    assert_eq!(reason, "AuthenticationFailed", "{message}");
    assert!(!message.contains("wrong-token"));
    let (_, reason, _) = w
        .until("object not Ready", 20, || async {
            w.ready::<TrunkCredential>("t")
                .await
                .filter(|r| r.0 == "False")
        })
        .await;
    assert_eq!(reason, "ProviderNotReady");
    assert!(World::provider_objects(&w.vobiz, "credentials").is_empty());
}
