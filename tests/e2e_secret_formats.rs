//! `spec.secret.formats` end to end: the renderings land in the Secret next to the
//! login, follow the spec, and an unchanged login causes no Secret write.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams};
use serde_json::json;
use sipcred_operator::crd::TrunkCredential;
use support::{NS, VOBIZ_ID, World};

#[tokio::test]
async fn formats_are_rendered_into_the_secret_and_unchanged_logins_are_not_rewritten() {
    let mut w = World::start().await;
    w.start_operator();
    w.apply(json!({
        "apiVersion": "sipcred.io/v1alpha1", "kind": "TrunkCredential",
        "metadata": {"name": "pbx", "namespace": NS},
        "spec": {"providerRef": {"name": "vobiz"}, "username": "officepbx01",
                 "secret": {"formats": ["sipURI", "env"]}}
    }))
    .await;
    let _: TrunkCredential = w.wait_ready("pbx").await;
    let s = w.secret("pbx").await.unwrap();
    let domain = format!("{VOBIZ_ID}.sip.vobiz.ai");
    assert_eq!(s["sip-uri"], format!("sip:officepbx01@{domain}"));
    assert!(
        s["sip.env"].contains(&format!("SIP_PASSWORD='{}'\n", s["password"])),
        "the env rendering carries the Secret's password"
    );
    assert!(!s.contains_key("pjsip.conf"));

    // Another reconcile of the same login writes nothing.
    let secrets = w.api::<Secret>();
    let rv = |s: Secret| s.metadata.resource_version.unwrap();
    let before = rv(secrets.get("pbx").await.unwrap());
    w.api::<TrunkCredential>()
        .patch(
            "pbx",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"description": "lobby"}})),
        )
        .await
        .unwrap();
    w.until("the description at Vobiz", 30, || async {
        let c = World::provider_objects(&w.vobiz, "credentials");
        (c[0]["description"] == "lobby").then_some(())
    })
    .await;
    assert_eq!(rv(secrets.get("pbx").await.unwrap()), before);

    // A new format is added to the same Secret.
    w.api::<TrunkCredential>()
        .patch(
            "pbx",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"secret": {"formats": ["sipURI", "env", "pjsip"]}}})),
        )
        .await
        .unwrap();
    let conf = w
        .until("pjsip.conf in the Secret", 30, || async {
            w.secret("pbx")
                .await
                .and_then(|s| s.get("pjsip.conf").cloned())
        })
        .await;
    assert!(conf.contains(&format!("password={}\n", s["password"].replace(';', "\\;"))));
    assert!(conf.contains(&format!("server_uri=sip:{domain}\n")));
}
