use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{
    Api, ListParams, ObjectMeta, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use serde_json::json;
use sipcred_kube_sim::{FaultRule, KubeSimConfig};

use crate::common::*;

fn secret(name: &str, tier: &str) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(BTreeMap::from([("tier".to_string(), tier.to_string())])),
            ..Default::default()
        },
        ..Default::default()
    }
}

async fn next<K: Clone + std::fmt::Debug>(
    s: &mut (impl futures::Stream<Item = kube::Result<WatchEvent<K>>> + Unpin),
) -> WatchEvent<K> {
    tokio::time::timeout(Duration::from_secs(30), s.next())
        .await
        .expect("event in time")
        .expect("stream open")
        .expect("event ok")
}

#[tokio::test]
async fn watch_resumes_from_resource_version_in_order() {
    let srv = Server::start().await;
    let api: Api<Secret> = Api::namespaced(srv.client(), srv.ns());
    api.create(&PostParams::default(), &secret("a", "web"))
        .await
        .expect("a");
    let rv = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("rv");
    api.create(&PostParams::default(), &secret("b", "web"))
        .await
        .expect("b");
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"annotations": {"x": "1"}}})),
    )
    .await
    .expect("mod");
    api.delete("b", &Default::default()).await.expect("del");
    let mut s = api
        .watch(&WatchParams::default(), &rv)
        .await
        .expect("watch")
        .boxed();
    let mut seen = Vec::new();
    let mut last = 0u64;
    for _ in 0..3 {
        let (t, o) = match next(&mut s).await {
            WatchEvent::Added(o) => ("ADDED", o),
            WatchEvent::Modified(o) => ("MODIFIED", o),
            WatchEvent::Deleted(o) => ("DELETED", o),
            other => panic!("unexpected {other:?}"),
        };
        let orv: u64 = o
            .metadata
            .resource_version
            .clone()
            .expect("rv")
            .parse()
            .expect("rv");
        assert!(orv > last, "resourceVersion order");
        last = orv;
        seen.push((t, o.metadata.name.expect("name")));
    }
    assert_eq!(
        seen,
        vec![
            ("ADDED", "b".to_string()),
            ("MODIFIED", "a".to_string()),
            ("DELETED", "b".to_string())
        ]
    );
    // live events follow
    api.create(&PostParams::default(), &secret("c", "db"))
        .await
        .expect("c");
    assert!(
        matches!(next(&mut s).await, WatchEvent::Added(o) if o.metadata.name.as_deref() == Some("c"))
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn too_old_resource_version_is_410() {
    let Some(sim) = Server::sim_only(
        KubeSimConfig {
            watch_history: 3,
            ..Default::default()
        },
        "too_old_resource_version_is_410 needs a short watch history (watch_history); the real server's etcd keeps every revision until its 5-minute compaction",
    )
    .await
    else {
        return;
    };
    let api: Api<Secret> = Api::namespaced(sim.client(), "default");
    api.create(&PostParams::default(), &secret("a", "web"))
        .await
        .expect("a");
    let rv = api
        .get("a")
        .await
        .expect("a")
        .metadata
        .resource_version
        .expect("rv");
    for i in 0..10 {
        api.create(&PostParams::default(), &secret(&format!("n{i}"), "web"))
            .await
            .expect("n");
    }
    let mut s = api
        .watch(&WatchParams::default(), &rv)
        .await
        .expect("watch")
        .boxed();
    match next(&mut s).await {
        WatchEvent::Error(e) => {
            assert_eq!(e.code, 410);
            assert_eq!(e.reason, "Expired");
            assert!(
                e.message
                    .starts_with(&format!("too old resource version: {rv} (")),
                "{}",
                e.message
            );
        }
        other => panic!("expected 410, got {other:?}"),
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn bookmarks_and_timeout() {
    let srv = Server::start_with(KubeSimConfig {
        bookmark_interval: Duration::from_millis(100),
        ..Default::default()
    })
    .await;
    let api: Api<Secret> = Api::namespaced(srv.client(), srv.ns());
    let rv = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("rv");
    // The real server sends a bookmark shortly before a watch's timeout (and every
    // minute): a longer timeout leaves room for one.
    let timeout = if srv.is_real() { 8 } else { 2 };
    let mut s = api
        .watch(&WatchParams::default().timeout(timeout), &rv)
        .await
        .expect("watch")
        .boxed();
    assert!(matches!(next(&mut s).await, WatchEvent::Bookmark(_)));
    let ended = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(ev) = s.next().await {
            ev.expect("ok");
        }
    })
    .await;
    assert!(ended.is_ok(), "timeoutSeconds ends the stream");
    srv.shutdown().await;
}

#[tokio::test]
async fn selector_transitions_become_added_and_deleted() {
    let srv = Server::start().await;
    let api: Api<Secret> = Api::namespaced(srv.client(), srv.ns());
    api.create(&PostParams::default(), &secret("a", "db"))
        .await
        .expect("a");
    let rv = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("rv");
    let mut s = api
        .watch(&WatchParams::default().labels("tier=web"), &rv)
        .await
        .expect("watch")
        .boxed();
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"tier": "web"}}})),
    )
    .await
    .expect("p");
    assert!(matches!(next(&mut s).await, WatchEvent::Added(_)));
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"tier": "db"}}})),
    )
    .await
    .expect("p");
    assert!(matches!(next(&mut s).await, WatchEvent::Deleted(_)));
    srv.shutdown().await;
}

#[tokio::test]
async fn metadata_watch_and_initial_events() {
    let srv = Server::start().await;
    let api: Api<Secret> = Api::namespaced(srv.client(), srv.ns());
    api.create(&PostParams::default(), &secret("a", "db"))
        .await
        .expect("a");
    let mut s = api
        .watch_metadata(&WatchParams::default(), "0")
        .await
        .expect("watch")
        .boxed();
    match next(&mut s).await {
        WatchEvent::Added(m) => {
            assert_eq!(m.metadata.name.as_deref(), Some("a"));
            assert_eq!(m.types.expect("types").kind, "PartialObjectMetadata");
        }
        other => panic!("{other:?}"),
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn runtime_watcher_and_reflector_track_the_store() {
    let srv = Server::start().await;
    let api: Api<Secret> = Api::namespaced(srv.client(), srv.ns());
    let (reader, writer) = reflector::store::<Secret>();
    let stream =
        reflector(writer, watcher(api.clone(), watcher::Config::default())).applied_objects();
    let task = tokio::spawn(async move {
        let _ = stream.try_for_each(|_| async { Ok(()) }).await;
    });
    reader.wait_until_ready().await.expect("ready");
    for i in 0..20 {
        api.create(&PostParams::default(), &secret(&format!("r{i}"), "web"))
            .await
            .expect("create");
    }
    for _ in 0..1000 {
        if reader.state().len() == 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(reader.state().len(), 20);
    // cut watches: the watcher reconnects from its last resourceVersion
    match srv.sim() {
        Some(sim) => sim.faults().cut_watches(),
        None => eprintln!(
            "watch cut skipped on the real API server: it needs the in-memory server's fault injection"
        ),
    }
    api.delete("r0", &Default::default()).await.expect("delete");
    for _ in 0..1000 {
        if reader.state().len() == 19 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(reader.state().len(), 19);
    task.abort();
    srv.shutdown().await;
}

#[tokio::test]
async fn streaming_list_watcher_gets_initial_events_end_bookmark() {
    let srv = Server::start().await;
    let api: Api<Secret> = Api::namespaced(srv.client(), srv.ns());
    for i in 0..3 {
        api.create(&PostParams::default(), &secret(&format!("s{i}"), "web"))
            .await
            .expect("create");
    }
    let mut stream = watcher(api.clone(), watcher::Config::default().streaming_lists()).boxed();
    let mut init = 0;
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("in time")
            .expect("open")
            .expect("ok");
        match ev {
            watcher::Event::InitApply(_) => init += 1,
            watcher::Event::InitDone => break,
            _ => {}
        }
    }
    assert_eq!(init, 3);
    srv.shutdown().await;
}

/// The chaos run's API faults (latency, 5xx, 429, conflicts, a 20-event history and
/// watch cuts every 0.5-3 s) while 40 objects churn; once the faults stop, a
/// kube-runtime reflector must hold every object at the server's resourceVersion
/// within a few seconds: a watch that misses an event leaves a controller acting on
/// a stale spec until its next re-list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflector_catches_up_after_cuts_gone_and_errors() {
    use sipcred_kube_sim::{FaultConfig, Latency};
    let Some(sim) = Server::sim_only(
        KubeSimConfig::default(),
        "reflector_catches_up_after_cuts_gone_and_errors needs the in-memory server's faults",
    )
    .await
    else {
        return;
    };
    let api: Api<Secret> = Api::namespaced(sim.client(), "default");
    let (reader, writer) = reflector::store::<Secret>();
    let wc = watcher::Config::default().labels("tier=web");
    let stream = watcher(api.clone(), wc)
        .default_backoff()
        .reflect(writer)
        .applied_objects();
    let task = tokio::spawn(async move {
        futures::pin_mut!(stream);
        while stream.next().await.is_some() {}
    });
    for i in 0..40 {
        api.create(&PostParams::default(), &secret(&format!("c{i}"), "web"))
            .await
            .expect("create");
    }
    reader.wait_until_ready().await.expect("ready");
    sim.faults()
        .set(
            FaultConfig::none()
                .with_seed(7)
                .with_latency(Latency::Uniform {
                    min_ms: 0,
                    max_ms: 15,
                })
                .with_rule(FaultRule::conflict().probability(0.10))
                .with_rule(FaultRule::error(500).probability(0.03))
                .with_rule(FaultRule::error(503).probability(0.02))
                .with_rule(FaultRule::error(429).probability(0.02)),
        )
        .expect("faults");
    sim.set_watch_history(20);
    let started = Instant::now();
    let mut n = 0u64;
    let mut next_cut = Instant::now();
    while started.elapsed() < Duration::from_secs(8) {
        n += 1;
        let name = format!("c{}", n % 40);
        let _ = api
            .patch(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"annotations": {"n": n.to_string()}}})),
            )
            .await;
        if Instant::now() >= next_cut {
            sim.faults().cut_watches();
            next_cut = Instant::now() + Duration::from_millis(500 + (n * 37 % 2500));
        }
    }
    sim.faults().clear();
    sim.set_watch_history(100_000);
    let stopped = Instant::now();
    let want = |r: &reflector::Store<Secret>, server: &BTreeMap<String, String>| {
        let have: BTreeMap<String, String> = r
            .state()
            .iter()
            .map(|s| {
                (
                    s.metadata.name.clone().unwrap_or_default(),
                    s.metadata.resource_version.clone().unwrap_or_default(),
                )
            })
            .collect();
        have == *server
    };
    let server: BTreeMap<String, String> = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .items
        .into_iter()
        .map(|s| {
            (
                s.metadata.name.unwrap_or_default(),
                s.metadata.resource_version.unwrap_or_default(),
            )
        })
        .collect();
    while !want(&reader, &server) && stopped.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "{n} writes under faults; reflector caught up {:.1} s after they stopped",
        stopped.elapsed().as_secs_f64()
    );
    assert!(
        want(&reader, &server),
        "the reflector is stale 60 s after the faults stopped"
    );
    task.abort();
    sim.shutdown().await;
}
