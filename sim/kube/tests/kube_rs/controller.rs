use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{Event, finalizer};
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use serde_json::json;

use crate::common::*;

struct Ctx {
    client: Client,
    cleanups: AtomicUsize,
}

#[derive(Debug)]
#[allow(dead_code)]
enum Error {
    Kube(kube::Error),
    Finalizer(String),
}
impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}
impl std::error::Error for Error {}

async fn apply(o: Arc<SipConnection>, ctx: &Ctx) -> Result<Action, kube::Error> {
    let ns = o.namespace().unwrap_or_default();
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    let oref = o.controller_owner_ref(&()).expect("owner ref");
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": format!("{}-creds", o.name_any()), "labels": {"app.kubernetes.io/managed-by": "sipcred"}, "ownerReferences": [oref]},
        "data": {"password": "c2VjcmV0"}
    });
    secrets
        .patch(
            &format!("{}-creds", o.name_any()),
            &PatchParams::apply("sipcred").force(),
            &Patch::Apply(secret),
        )
        .await?;
    let api: Api<SipConnection> = Api::namespaced(ctx.client.clone(), &ns);
    let status = json!({
        "apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection", "metadata": {"name": o.name_any()},
        "status": {"observedGeneration": o.metadata.generation, "conditions": [{"type": "Ready", "status": "True", "reason": "Provisioned", "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
    });
    api.patch_status(
        &o.name_any(),
        &PatchParams::apply("sipcred").force(),
        &Patch::Apply(status),
    )
    .await?;
    Ok(Action::requeue(Duration::from_secs(300)))
}

async fn reconcile(o: Arc<SipConnection>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let api: Api<SipConnection> =
        Api::namespaced(ctx.client.clone(), &o.namespace().unwrap_or_default());
    finalizer(&api, "sipcred.io/cleanup", o, |ev| async {
        match ev {
            Event::Apply(o) => apply(o, &ctx).await.map_err(Error::Kube),
            Event::Cleanup(_) => {
                ctx.cleanups.fetch_add(1, Ordering::SeqCst);
                Ok(Action::await_change())
            }
        }
    })
    .await
    .map_err(|e| Error::Finalizer(e.to_string()))
}

fn error_policy(_o: Arc<SipConnection>, _e: &Error, _ctx: Arc<Ctx>) -> Action {
    Action::requeue(Duration::from_millis(100))
}

async fn wait_for<F, Fut>(what: &str, f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    until(what, f).await;
}

#[tokio::test]
async fn controller_with_owns_finalizer_ssa_and_gc() {
    let srv = Server::start().await;
    let client = srv.client();
    install_crd(&client).await;
    let api: Api<SipConnection> = Api::namespaced(client.clone(), srv.ns());
    let secrets: Api<Secret> = Api::namespaced(client.clone(), srv.ns());
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        cleanups: AtomicUsize::new(0),
    });
    let task = tokio::spawn(
        Controller::new(api.clone(), watcher::Config::default())
            .owns(secrets.clone(), watcher::Config::default())
            .run(reconcile, error_policy, ctx.clone())
            .for_each(|_| async {}),
    );
    api.create(&PostParams::default(), &sipc("demo", "alice1"))
        .await
        .expect("create");
    wait_for("secret and Ready", || async {
        let ready = api
            .get("demo")
            .await
            .ok()
            .and_then(|o| o.status)
            .is_some_and(|s| s.conditions.iter().any(|c| c["type"] == "Ready"));
        ready && secrets.get_opt("demo-creds").await.expect("get").is_some()
    })
    .await;
    let o = api.get("demo").await.expect("cr");
    assert!(o.finalizers().contains(&"sipcred.io/cleanup".to_string()));
    let s = secrets.get("demo-creds").await.expect("secret");
    assert_eq!(s.owner_references()[0].uid, o.uid().expect("uid"));

    // the owned Secret is recreated after deletion (.owns triggers a reconcile)
    secrets
        .delete("demo-creds", &DeleteParams::default())
        .await
        .expect("delete secret");
    wait_for("secret recreated", || async {
        secrets.get_opt("demo-creds").await.expect("get").is_some()
    })
    .await;

    // deleting the CR runs cleanup, drops the finalizer, and GC takes the Secret
    api.delete("demo", &DeleteParams::default())
        .await
        .expect("delete cr");
    wait_for("cr gone", || async {
        api.get_opt("demo").await.expect("get").is_none()
    })
    .await;
    assert_eq!(ctx.cleanups.load(Ordering::SeqCst), 1);
    wait_for("secret collected", || async {
        secrets.get_opt("demo-creds").await.expect("get").is_none()
    })
    .await;
    task.abort();
    srv.shutdown().await;
}
