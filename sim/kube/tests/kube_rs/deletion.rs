use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{
    Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams, Preconditions, PropagationPolicy,
};
use serde_json::json;

use crate::common::*;

async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

fn cm(name: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn owned_secret(name: &str, owner: &ConfigMap, block: bool, finalizer: bool) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            owner_references: Some(vec![OwnerReference {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                name: owner.metadata.name.clone().expect("name"),
                uid: owner.metadata.uid.clone().expect("uid"),
                controller: Some(true),
                block_owner_deletion: Some(block),
            }]),
            finalizers: finalizer.then(|| vec!["test/hold".to_string()]),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[tokio::test]
async fn finalizers_hold_deletion_and_cannot_be_added_while_deleting() {
    let sim = sim().await;
    install_crd(&sim.client()).await;
    let api: Api<SipConnection> = Api::namespaced(sim.client(), "default");
    let mut o = sipc("f", "alice1");
    o.metadata.finalizers = Some(vec!["sipcred.io/cleanup".into()]);
    api.create(&PostParams::default(), &o)
        .await
        .expect("create");
    let r = api
        .delete("f", &DeleteParams::default())
        .await
        .expect("delete");
    let held = r.left().expect("object still present");
    assert!(held.metadata.deletion_timestamp.is_some());
    let got = api.get("f").await.expect("still there");
    assert!(got.metadata.deletion_timestamp.is_some());
    let e = status(
        api.patch(
            "f",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": ["sipcred.io/cleanup", "other/x"]}})),
        )
        .await
        .expect_err("new finalizer refused"),
    );
    assert_eq!(e.code, 422);
    assert!(
        e.message
            .contains("no new finalizers can be added if the object is being deleted"),
        "{}",
        e.message
    );
    api.patch(
        "f",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("remove finalizer");
    assert_eq!(code(&api.get("f").await.expect_err("gone")), 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn delete_preconditions_are_checked() {
    let sim = sim().await;
    let api: Api<ConfigMap> = Api::namespaced(sim.client(), "default");
    api.create(&PostParams::default(), &cm("c"))
        .await
        .expect("create");
    let dp = DeleteParams {
        preconditions: Some(Preconditions {
            uid: Some("wrong".into()),
            resource_version: None,
        }),
        ..Default::default()
    };
    let e = status(api.delete("c", &dp).await.expect_err("precondition"));
    assert_eq!(e.code, 409);
    assert!(
        e.message
            .contains("the UID in the precondition (wrong) does not match the UID in record"),
        "{}",
        e.message
    );
    api.delete("c", &DeleteParams::default())
        .await
        .expect("delete");
    assert_eq!(code(&api.get("c").await.expect_err("gone")), 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn background_gc_collects_dependents() {
    let sim = sim().await;
    let cms: Api<ConfigMap> = Api::namespaced(sim.client(), "default");
    let secrets: Api<Secret> = Api::namespaced(sim.client(), "default");
    let owner = cms
        .create(&PostParams::default(), &cm("owner"))
        .await
        .expect("owner");
    secrets
        .create(
            &PostParams::default(),
            &owned_secret("dep", &owner, false, false),
        )
        .await
        .expect("dep");
    cms.delete("owner", &DeleteParams::background())
        .await
        .expect("delete");
    eventually("dependent collected", || async {
        secrets.get_opt("dep").await.expect("get").is_none()
    })
    .await;
    sim.shutdown().await;
}

#[tokio::test]
async fn foreground_waits_for_blocking_dependents() {
    let sim = sim().await;
    let cms: Api<ConfigMap> = Api::namespaced(sim.client(), "default");
    let secrets: Api<Secret> = Api::namespaced(sim.client(), "default");
    let owner = cms
        .create(&PostParams::default(), &cm("owner"))
        .await
        .expect("owner");
    secrets
        .create(
            &PostParams::default(),
            &owned_secret("dep", &owner, true, true),
        )
        .await
        .expect("dep");
    cms.delete("owner", &DeleteParams::foreground())
        .await
        .expect("delete");
    eventually("dependent marked for deletion", || async {
        secrets
            .get("dep")
            .await
            .expect("dep")
            .metadata
            .deletion_timestamp
            .is_some()
    })
    .await;
    let o = cms.get("owner").await.expect("owner held");
    assert!(o.metadata.deletion_timestamp.is_some());
    assert!(
        o.metadata
            .finalizers
            .expect("finalizers")
            .contains(&"foregroundDeletion".to_string())
    );
    secrets
        .patch(
            "dep",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await
        .expect("release");
    eventually("owner deleted", || async {
        cms.get_opt("owner").await.expect("get").is_none()
    })
    .await;
    sim.shutdown().await;
}

#[tokio::test]
async fn orphan_keeps_dependents_without_owner_reference() {
    let sim = sim().await;
    let cms: Api<ConfigMap> = Api::namespaced(sim.client(), "default");
    let secrets: Api<Secret> = Api::namespaced(sim.client(), "default");
    let owner = cms
        .create(&PostParams::default(), &cm("owner"))
        .await
        .expect("owner");
    secrets
        .create(
            &PostParams::default(),
            &owned_secret("dep", &owner, true, false),
        )
        .await
        .expect("dep");
    cms.delete("owner", &DeleteParams::orphan())
        .await
        .expect("delete");
    eventually("owner deleted", || async {
        cms.get_opt("owner").await.expect("get").is_none()
    })
    .await;
    let dep = secrets.get("dep").await.expect("dependent kept");
    assert!(dep.metadata.owner_references.is_none_or(|r| r.is_empty()));
    let _ = PropagationPolicy::Orphan;
    sim.shutdown().await;
}

#[tokio::test]
async fn namespace_deletion_terminates_contents() {
    let sim = sim().await;
    let nss: Api<Namespace> = Api::all(sim.client());
    nss.create(
        &PostParams::default(),
        &Namespace {
            metadata: ObjectMeta {
                name: Some("tmp".into()),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await
    .expect("ns");
    let secrets: Api<Secret> = Api::namespaced(sim.client(), "tmp");
    let mut held = Secret {
        metadata: ObjectMeta {
            name: Some("held".into()),
            finalizers: Some(vec!["test/hold".into()]),
            ..Default::default()
        },
        ..Default::default()
    };
    secrets
        .create(&PostParams::default(), &held)
        .await
        .expect("held");
    held.metadata.name = Some("plain".into());
    held.metadata.finalizers = None;
    secrets
        .create(&PostParams::default(), &held)
        .await
        .expect("plain");
    nss.delete("tmp", &DeleteParams::default())
        .await
        .expect("delete ns");
    let ns = nss.get("tmp").await.expect("terminating");
    assert_eq!(
        ns.status.and_then(|s| s.phase).as_deref(),
        Some("Terminating")
    );
    eventually("plain secret deleted", || async {
        secrets.get_opt("plain").await.expect("get").is_none()
    })
    .await;
    held.metadata.name = Some("new".into());
    let e = status(
        secrets
            .create(&PostParams::default(), &held)
            .await
            .expect_err("terminating"),
    );
    assert_eq!(e.code, 403);
    assert_eq!(
        e.message,
        "unable to create new content in namespace tmp because it is being terminated"
    );
    secrets
        .patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await
        .expect("release");
    eventually("namespace gone", || async {
        nss.get_opt("tmp").await.expect("get").is_none()
    })
    .await;
    sim.shutdown().await;
}

#[tokio::test]
async fn crd_deletion_deletes_instances_through_their_finalizers() {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let sim = sim().await;
    install_crd(&sim.client()).await;
    let crds: Api<CustomResourceDefinition> = Api::all(sim.client());
    let api: Api<SipConnection> = Api::namespaced(sim.client(), "default");
    let mut o = sipc("held", "alice1");
    o.metadata.finalizers = Some(vec!["sipcred.io/cleanup".into()]);
    api.create(&PostParams::default(), &o).await.expect("cr");
    crds.delete("sipconnections.sipcred.io", &DeleteParams::default())
        .await
        .expect("delete crd");
    eventually("instance marked for deletion", || async {
        api.get("held")
            .await
            .expect("cr")
            .metadata
            .deletion_timestamp
            .is_some()
    })
    .await;
    let crd = crds
        .get("sipconnections.sipcred.io")
        .await
        .expect("crd waits");
    assert!(
        crd.metadata
            .finalizers
            .expect("fins")
            .contains(&"customresourcecleanup.apiextensions.k8s.io".to_string())
    );
    let e = status(
        api.create(&PostParams::default(), &sipc("new", "alice1"))
            .await
            .expect_err("terminating"),
    );
    assert_eq!(e.code, 405);
    api.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("release");
    eventually("crd gone", || async {
        crds.get_opt("sipconnections.sipcred.io")
            .await
            .expect("get")
            .is_none()
    })
    .await;
    assert_eq!(
        code(
            &api.list(&Default::default())
                .await
                .expect_err("no longer served")
        ),
        404
    );
    sim.shutdown().await;
}
