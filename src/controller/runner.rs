//! Wires one kube-runtime Controller per kind (and per watched namespace).

use std::sync::Arc;

use futures::StreamExt;
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};

use super::context::{Ctx, key_of};
use super::error::Error;
use super::{provider_account, sip_connection, telephony_credential, trunk_credential};
use crate::crd::{
    ClusterSipProvider, ProviderKind, ProviderRef, SipConnection, SipProvider, TelephonyCredential,
    TrunkCredential,
};

/// What to watch.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// Namespaces to watch; empty means all.
    pub namespaces: Vec<String>,
    /// Label selector for managed objects.
    pub selector: Option<String>,
    /// Reconciles in flight per controller.
    pub concurrency: u16,
}

fn api<K>(client: &Client, ns: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    match ns {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

fn error_policy<K: Resource<DynamicType = ()>>(obj: Arc<K>, err: &Error, ctx: Arc<Ctx>) -> Action {
    let delay = ctx.failed(&key_of(obj.as_ref()), err.is_transient());
    if err.is_transient() {
        tracing::info!(object = %key_of(obj.as_ref()), reason = err.reason(), error = %err, requeue_s = delay.as_secs(), "reconcile waiting");
    } else {
        tracing::warn!(object = %key_of(obj.as_ref()), reason = err.reason(), error = %err, requeue_s = delay.as_secs(), "reconcile failed");
    }
    Action::requeue(delay)
}

/// Hash of what a user (not this operator) changes: the generation (spec), deletion,
/// labels and annotations other than the engine's create-pending marker. Status
/// writes and the engine's own bookkeeping therefore never re-trigger a reconcile, so
/// a failing object waits for its backoff instead of looping on its own writes.
fn user_intent<K: Resource>(obj: &K) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let m = obj.meta();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    m.generation.hash(&mut h);
    m.deletion_timestamp.is_some().hash(&mut h);
    m.labels.hash(&mut h);
    if let Some(a) = &m.annotations {
        for (k, v) in a
            .iter()
            .filter(|(k, _)| k.as_str() != crate::managed::CREATE_PENDING)
        {
            (k, v).hash(&mut h);
        }
    }
    Some(h.finish())
}

/// A controller of kind `K` whose own watch passes only changes of user intent.
fn controller_for<K>(api: Api<K>, wc: watcher::Config) -> Controller<K>
where
    K: Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store();
    let stream = watcher(api, wc)
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .predicate_filter(user_intent::<K>, Default::default());
    Controller::for_stream(stream, reader)
}

/// Hash of the generation and the Ready status: what dependants care about. Status
/// refreshes that change nothing else (a provider's lastCheckedAt) trigger nothing.
fn readiness<K: Resource + serde::Serialize>(obj: &K) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    obj.meta().generation.hash(&mut h);
    let v = serde_json::to_value(obj).unwrap_or_default();
    let ready = v["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
        .map(|c| c["status"].to_string());
    ready.hash(&mut h);
    v["status"]["connectionID"].to_string().hash(&mut h);
    Some(h.finish())
}

/// A watch of `K` that passes only changes of generation or readiness.
fn readiness_stream<K>(
    api: Api<K>,
) -> impl futures::Stream<Item = Result<K, watcher::Error>> + Send + 'static
where
    K: Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    watcher(api, watcher::Config::default())
        .default_backoff()
        .applied_objects()
        .predicate_filter(readiness::<K>, Default::default())
}

/// Keeps `sipcred_managed_resources{kind,ready}` current from a controller's cache
/// (no API calls), until the process ends.
fn spawn_gauge<K>(store: reflector::Store<K>, ctx: Arc<Ctx>)
where
    K: Resource<DynamicType = ()> + serde::Serialize + Clone + Send + Sync + 'static,
{
    tokio::spawn(async move {
        let kind = K::kind(&()).into_owned();
        loop {
            let mut counts =
                std::collections::BTreeMap::from([("True", 0i64), ("False", 0), ("Unknown", 0)]);
            for o in store.state() {
                let v = serde_json::to_value(o.as_ref()).unwrap_or_default();
                let ready = v["status"]["conditions"]
                    .as_array()
                    .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
                    .and_then(|c| c["status"].as_str().map(String::from));
                let key = match ready.as_deref() {
                    Some("True") => "True",
                    Some("False") => "False",
                    _ => "Unknown",
                };
                *counts.entry(key).or_default() += 1;
            }
            for (ready, n) in counts {
                ctx.metrics.set_managed(&kind, ready, n);
            }
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        }
    });
}

/// Whether a provider object is the one `r` (from namespace `ns`) points at.
fn refers_to(
    r: &ProviderRef,
    ns: &str,
    kind: ProviderKind,
    p_ns: Option<&str>,
    p_name: &str,
) -> bool {
    r.kind() == kind
        && r.name == p_name
        && (kind == ProviderKind::ClusterSipProvider || Some(ns) == p_ns)
}

macro_rules! managed_controller {
    ($kind:ty, $reconcile:path, $client:expr, $ns:expr, $scope:expr, $ctx:expr) => {{
        let client: Client = $client;
        let ns: Option<&str> = $ns;
        let mut wc = watcher::Config::default();
        if let Some(s) = &$scope.selector {
            wc = wc.labels(s);
        }
        let ctrl = controller_for(api::<$kind>(&client, ns), wc)
            .owns(api::<Secret>(&client, ns), watcher::Config::default());
        let store = ctrl.store();
        let store2 = ctrl.store();
        spawn_gauge(ctrl.store(), $ctx.clone());
        let ctrl = ctrl
            .watches_stream(readiness_stream(api::<SipProvider>(&client, ns)), move |p: SipProvider| {
                let (pns, pname) = (p.namespace(), p.name_any());
                store
                    .state()
                    .into_iter()
                    .filter(|o| refers_to(&o.spec.provider_ref, &o.namespace().unwrap_or_default(), ProviderKind::SipProvider, pns.as_deref(), &pname))
                    .map(|o| ObjectRef::from_obj(o.as_ref()))
                    .collect::<Vec<_>>()
            })
            .watches_stream(readiness_stream(Api::<ClusterSipProvider>::all(client.clone())), move |p: ClusterSipProvider| {
                let pname = p.name_any();
                store2
                    .state()
                    .into_iter()
                    .filter(|o| refers_to(&o.spec.provider_ref, "", ProviderKind::ClusterSipProvider, None, &pname))
                    .map(|o| ObjectRef::from_obj(o.as_ref()))
                    .collect::<Vec<_>>()
            });
        ctrl
            .with_config(kube::runtime::controller::Config::default().concurrency($scope.concurrency))
            .shutdown_on_signal()
            .run($reconcile, error_policy, $ctx.clone())
            .for_each(|r| async move {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "controller event");
                }
            })
    }};
}

/// Runs every controller until SIGTERM/SIGINT.
pub async fn run(ctx: Arc<Ctx>, scope: Scope) {
    let client = ctx.client.clone();
    let namespaces: Vec<Option<String>> = if scope.namespaces.is_empty() {
        vec![None]
    } else {
        scope.namespaces.iter().cloned().map(Some).collect()
    };
    let mut tasks: Vec<BoxFuture<'static, ()>> = Vec::new();
    for ns in namespaces {
        let n = ns.as_deref();
        tasks.push(Box::pin(managed_controller!(
            SipConnection,
            sip_connection::reconcile,
            client.clone(),
            n,
            scope,
            ctx
        )));
        tasks.push(Box::pin(managed_controller!(
            TrunkCredential,
            trunk_credential::reconcile,
            client.clone(),
            n,
            scope,
            ctx
        )));
        let tc = {
            let mut wc = watcher::Config::default();
            if let Some(s) = &scope.selector {
                wc = wc.labels(s);
            }
            let ctrl = controller_for(api::<TelephonyCredential>(&client, n), wc)
                .owns(api::<Secret>(&client, n), watcher::Config::default());
            let store = ctrl.store();
            let store2 = ctrl.store();
            let store3 = ctrl.store();
            spawn_gauge(ctrl.store(), ctx.clone());
            ctrl.watches_stream(
                readiness_stream(api::<SipConnection>(&client, n)),
                move |c: SipConnection| {
                    let (cns, cname) = (c.namespace(), c.name_any());
                    store
                        .state()
                        .into_iter()
                        .filter(|t| {
                            t.namespace() == cns
                                && t.spec
                                    .sip_connection_ref
                                    .as_ref()
                                    .is_some_and(|r| r.name == cname)
                        })
                        .map(|t| ObjectRef::from_obj(t.as_ref()))
                        .collect::<Vec<_>>()
                },
            )
            .watches_stream(
                readiness_stream(api::<SipProvider>(&client, n)),
                move |p: SipProvider| {
                    let (pns, pname) = (p.namespace(), p.name_any());
                    store2
                        .state()
                        .into_iter()
                        .filter(|o| {
                            refers_to(
                                &o.spec.provider_ref,
                                &o.namespace().unwrap_or_default(),
                                ProviderKind::SipProvider,
                                pns.as_deref(),
                                &pname,
                            )
                        })
                        .map(|o| ObjectRef::from_obj(o.as_ref()))
                        .collect::<Vec<_>>()
                },
            )
            .watches_stream(
                readiness_stream(Api::<ClusterSipProvider>::all(client.clone())),
                move |p: ClusterSipProvider| {
                    let pname = p.name_any();
                    store3
                        .state()
                        .into_iter()
                        .filter(|o| {
                            refers_to(
                                &o.spec.provider_ref,
                                "",
                                ProviderKind::ClusterSipProvider,
                                None,
                                &pname,
                            )
                        })
                        .map(|o| ObjectRef::from_obj(o.as_ref()))
                        .collect::<Vec<_>>()
                },
            )
            .with_config(
                kube::runtime::controller::Config::default().concurrency(scope.concurrency),
            )
            .shutdown_on_signal()
            .run(telephony_credential::reconcile, error_policy, ctx.clone())
            .for_each(|_| async {})
        };
        tasks.push(Box::pin(tc));
        let sp = controller_for(api::<SipProvider>(&client, n), watcher::Config::default())
            .shutdown_on_signal()
            .run(
                provider_account::reconcile_namespaced,
                error_policy,
                ctx.clone(),
            )
            .for_each(|_| async {});
        tasks.push(Box::pin(sp));
    }
    let csp = Controller::new(
        Api::<ClusterSipProvider>::all(client.clone()),
        watcher::Config::default(),
    )
    .shutdown_on_signal()
    .run(
        provider_account::reconcile_cluster,
        error_policy,
        ctx.clone(),
    )
    .for_each(|_| async {});
    tasks.push(Box::pin(csp));
    futures::future::join_all(tasks).await;
}
