//! Management policies through annotations: paused, observe-only, and import of an
//! existing provider object by ID.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use kube::api::{Patch, PatchParams};
use serde_json::json;
use sipcred_operator::crd::SipConnection;
use support::{NS, World};

const CONNS: &str = "/v2/credential_connections";

fn conn(
    name: &str,
    user: &str,
    annotations: serde_json::Value,
    extra: serde_json::Value,
) -> serde_json::Value {
    let mut spec = json!({"providerRef": {"name": "telnyx"}, "userName": user});
    spec.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection",
           "metadata": {"name": name, "namespace": NS, "annotations": annotations}, "spec": spec})
}

#[tokio::test]
async fn a_paused_object_touches_nothing_until_unpaused() {
    let mut w = World::start().await;
    w.start_operator();
    w.apply(conn(
        "p",
        "paused01",
        json!({"sipcred.io/paused": "true"}),
        json!({}),
    ))
    .await;
    let (_, reason, message) = w
        .until("a paused condition", 20, || async {
            w.ready::<SipConnection>("p").await
        })
        .await;
    assert!(message.contains("paused"), "{reason}: {message}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(w.telnyx.request_count("POST", CONNS, None), 0);
    assert!(w.secret("p").await.is_none());
    w.api::<SipConnection>()
        .patch(
            "p",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"sipcred.io/paused": null}}})),
        )
        .await
        .unwrap();
    w.until("created after unpausing", 20, || async {
        (w.telnyx.request_count("POST", CONNS, None) == 1).then_some(())
    })
    .await;
    w.until("Ready", 20, || async {
        w.ready::<SipConnection>("p")
            .await
            .filter(|r| r.0 == "True" && !r.2.contains("paused"))
    })
    .await;
}

#[tokio::test]
async fn an_existing_connection_is_imported_by_id_and_observe_only_never_writes() {
    let mut w = World::start().await;
    let existing = w
        .telnyx
        .oob_create("credential_connections", json!({"connection_name": "portal-made", "user_name": "portal01", "password": "portal-Passw0rd", "active": true}))
        .unwrap();
    let id = existing["id"].as_str().unwrap().to_string();
    w.apply(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "portal-pw", "namespace": NS}, "stringData": {"password": "portal-Passw0rd"}})).await;
    w.start_operator();
    // Observe-only with a spec that differs (active: false): reported, not written.
    w.apply(conn(
        "portal",
        "portal01",
        json!({"sipcred.io/external-name": id, "sipcred.io/management-policy": "ObserveOnly"}),
        json!({"connectionName": "portal-made", "active": false, "passwordSecretRef": {"name": "portal-pw"}}),
    ))
    .await;
    let (_, _, message) = w
        .until("observed", 20, || async {
            w.ready::<SipConnection>("portal")
                .await
                .filter(|r| r.0 == "True")
        })
        .await;
    assert!(
        message.contains("observe-only") && message.contains("active"),
        "{message}"
    );
    assert_eq!(w.telnyx.request_count("POST", CONNS, None), 0);
    assert_eq!(
        w.telnyx
            .request_count("PATCH", "/v2/credential_connections/{id}", None),
        0
    );
    let obj = w.api::<SipConnection>().get("portal").await.unwrap();
    assert_eq!(
        obj.status.unwrap().connection_id.as_deref(),
        Some(id.as_str())
    );
    assert!(
        !obj.metadata
            .finalizers
            .unwrap_or_default()
            .iter()
            .any(|f| f == "sipcred.io/finalizer"),
        "observe-only never deletes, so it holds no finalizer"
    );

    // Switching to full management writes the spec to the imported object in place.
    w.api::<SipConnection>()
        .patch(
            "portal",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"annotations": {"sipcred.io/management-policy": null}}}),
            ),
        )
        .await
        .unwrap();
    w.until("the spec written", 20, || async {
        let c = World::provider_objects(&w.telnyx, "credential_connections");
        (c.len() == 1 && c[0]["active"] == false).then_some(())
    })
    .await;
    assert_eq!(
        w.telnyx.request_count("POST", CONNS, None),
        0,
        "imported, never created"
    );
}
