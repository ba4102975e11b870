//! Speed figures: `cargo run --release -p sipcred-kube-sim --example bench`
//!
//! 10,000 custom objects + 10,000 Secrets in memory, LIST latency of 10,000
//! objects, and ten watchers fed during 10,000 updates.
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DynamicObject, ListParams, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};
use kube::core::GroupVersionKind;
use serde_json::json;

const N: usize = 10_000;
const WATCHERS: usize = 10;

fn crd() -> serde_json::Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "sipconnections.sipcred.io"},
        "spec": {"group": "sipcred.io", "scope": "Namespaced",
            "names": {"plural": "sipconnections", "singular": "sipconnection", "kind": "SipConnection"},
            "versions": [{"name": "v1alpha1", "served": true, "storage": true, "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "required": ["provider", "userName"],
                        "x-kubernetes-validations": [{"rule": "self.userName == oldSelf.userName", "message": "userName is immutable"}],
                        "properties": {
                            "provider": {"type": "string", "enum": ["telnyx", "vobiz"]},
                            "userName": {"type": "string", "minLength": 4, "pattern": "^[a-z0-9]+$"},
                            "channels": {"type": "integer", "minimum": 1, "maximum": 30}}},
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]}
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = sipcred_kube_sim::start(Default::default()).await?;
    let client = sim.client();
    let crd: CustomResourceDefinition = serde_json::from_value(crd())?;
    Api::<CustomResourceDefinition>::all(client.clone())
        .create(&PostParams::default(), &crd)
        .await?;
    let gvk = GroupVersionKind::gvk("sipcred.io", "v1alpha1", "SipConnection");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "sipconnections");
    let crs: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &ar);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "default");

    let t = Instant::now();
    futures::stream::iter(0..N)
        .map(|i| {
            let crs = crs.clone();
            async move {
                let o: DynamicObject = serde_json::from_value(json!({
                    "apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection",
                    "metadata": {"name": format!("conn-{i:05}"), "labels": {"shard": (i % 10).to_string()}},
                    "spec": {"provider": "telnyx", "userName": format!("user{i}"), "channels": 5}
                }))?;
                crs.create(&PostParams::default(), &o).await.map(|_| ()).map_err(Box::<dyn std::error::Error>::from)
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await?;
    let cr_secs = t.elapsed().as_secs_f64();
    let uids: std::collections::HashMap<String, String> = crs
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .map(|o| {
            (
                o.metadata.name.clone().unwrap_or_default(),
                o.metadata.uid.clone().unwrap_or_default(),
            )
        })
        .collect();
    let uids = Arc::new(uids);
    let t = Instant::now();
    futures::stream::iter(0..N)
        .map(|i| {
            let secrets = secrets.clone();
            let uids = uids.clone();
            async move {
                let owner = format!("conn-{i:05}");
                let s: Secret = serde_json::from_value(json!({
                    "metadata": {"name": format!("conn-{i:05}-creds"), "ownerReferences": [{
                        "apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection", "name": owner,
                        "uid": uids[&owner], "controller": true, "blockOwnerDeletion": true}]},
                    "data": {"password": "c2VjcmV0LXBhc3N3b3Jk", "username": "dXNlcg=="}
                }))?;
                secrets
                    .create(&PostParams::default(), &s)
                    .await
                    .map(|_| ())
                    .map_err(Box::<dyn std::error::Error>::from)
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await?;
    let secret_secs = t.elapsed().as_secs_f64();
    println!(
        "created {N} custom objects in {cr_secs:.2}s ({:.0}/s, validated incl. CEL)",
        N as f64 / cr_secs
    );
    println!(
        "created {N} Secrets in {secret_secs:.2}s ({:.0}/s)",
        N as f64 / secret_secs
    );

    // LIST latency (server side + transfer, raw) and typed (incl. client decode)
    let url = format!(
        "{}/apis/sipcred.io/v1alpha1/namespaces/default/sipconnections",
        sim.url()
    );
    let mut raw = Vec::new();
    let mut bytes = 0;
    for _ in 0..5 {
        let req = axum::http::Request::get(&url).body(Vec::new())?;
        let t = Instant::now();
        let text = client.request_text(req).await?;
        raw.push(t.elapsed());
        bytes = text.len();
    }
    raw.sort();
    let mut typed = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let l = crs.list(&ListParams::default()).await?;
        assert_eq!(l.items.len(), N);
        typed.push(t.elapsed());
    }
    typed.sort();
    let t = Instant::now();
    let l = secrets.list_metadata(&ListParams::default()).await?;
    let meta = t.elapsed();
    println!(
        "LIST {N} custom objects: median {:.1} ms raw ({:.1} MB), {:.1} ms through kube-rs incl. decoding; metadata-only LIST of {} Secrets {:.1} ms",
        raw[2].as_secs_f64() * 1e3,
        bytes as f64 / 1e6,
        typed[1].as_secs_f64() * 1e3,
        l.items.len(),
        meta.as_secs_f64() * 1e3
    );

    // updates without watchers
    let t = Instant::now();
    for i in 0..1000 {
        crs.patch(
            &format!("conn-{i:05}"),
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"channels": 7}})),
        )
        .await?;
    }
    println!(
        "1000 sequential updates without watchers: {:.2}s",
        t.elapsed().as_secs_f64()
    );

    // ten watchers fed during N updates
    let rv = crs
        .list(&ListParams::default().limit(1))
        .await?
        .metadata
        .resource_version
        .unwrap_or_default();
    let counts: Vec<Arc<AtomicUsize>> = (0..WATCHERS)
        .map(|_| Arc::new(AtomicUsize::new(0)))
        .collect();
    let mut tasks = Vec::new();
    for c in &counts {
        let c = c.clone();
        let crs = crs.clone();
        let rv = rv.clone();
        tasks.push(tokio::spawn(async move {
            let mut s = crs
                .watch(&WatchParams::default().timeout(290), &rv)
                .await
                .expect("watch")
                .boxed();
            while let Some(ev) = s.next().await {
                if let Ok(WatchEvent::Modified(_)) = ev
                    && c.fetch_add(1, Ordering::Relaxed) + 1 == N
                {
                    return Instant::now();
                }
            }
            Instant::now()
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t = Instant::now();
    futures::stream::iter(0..N)
        .map(|i| {
            let crs = crs.clone();
            async move {
                crs.patch(
                    &format!("conn-{i:05}"),
                    &PatchParams::default(),
                    &Patch::Merge(json!({"spec": {"channels": 6}})),
                )
                .await
                .map(|_| ())
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await?;
    let writes_done = Instant::now();
    let write_secs = t.elapsed().as_secs_f64();
    let mut lag_max = Duration::ZERO;
    for task in tasks {
        let done = tokio::time::timeout(Duration::from_secs(60), task).await??;
        lag_max = lag_max.max(done.saturating_duration_since(writes_done));
    }
    let delivered: usize = counts.iter().map(|c| c.load(Ordering::Relaxed)).sum();
    println!(
        "{N} updates in {write_secs:.2}s ({:.0}/s) with {WATCHERS} watchers: {delivered} events delivered, last watcher finished {:.1} ms after the last write",
        N as f64 / write_secs,
        lag_max.as_secs_f64() * 1e3
    );
    // garbage collection: delete every owner, wait for the owned Secrets to go
    let t = Instant::now();
    crs.delete_collection(&Default::default(), &ListParams::default())
        .await?;
    loop {
        let left = secrets
            .list_metadata(&ListParams::default().limit(1))
            .await?;
        if left.items.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "deleted {N} custom objects; their {N} owned Secrets were collected {:.2}s later",
        t.elapsed().as_secs_f64()
    );
    let req = axum::http::Request::get(format!("{}/_sim/stats", sim.url())).body(Vec::new())?;
    println!("server stats: {}", client.request_text(req).await?);
    sim.shutdown().await;
    Ok(())
}
