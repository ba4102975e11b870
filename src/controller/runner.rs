//! Wires one kube-runtime Controller per kind (and per watched namespace).
//!
//! Every controller watches its kind through `DeserializeGuard`, so one malformed
//! object (stored before a schema change, or written around admission) is reported on
//! itself and never stops the watch of the others.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use kube::core::{DeserializeGuard, PartialObjectMeta, error_boundary::InvalidObject};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use super::account_inputs::provider_key;
use super::context::{Ctx, key_of};
use super::error::{Error, Retry, conflict_delay, jitter};
use super::kind::{KindVisitor, ManagedKind, ManagedStatus};
use super::status::set_condition;
use super::{provider_account, shell, tenancy};
use crate::crd::condition::{READY, SYNCED};
use crate::crd::{ClusterSipProvider, ProviderKind, ProviderRef, SipProvider};

/// What to watch.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// Namespaces to watch; empty means all.
    pub namespaces: Vec<String>,
    /// Label selector for managed objects.
    pub selector: Option<String>,
    /// Reconciles in flight per provider account (and per kind), taken round robin
    /// between namespaces.
    pub concurrency: u16,
}

fn api<K>(client: &Client, ns: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    match ns {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// How long a failing provider account (and an object whose provider refused the
/// account's key) waits at most before its next check.
const ACCOUNT_RECHECK: Duration = Duration::from_secs(30);

/// The error policy of the managed kinds.
fn error_policy<K: Resource<DynamicType = ()>>(
    obj: Arc<DeserializeGuard<K>>,
    err: &Error,
    ctx: Arc<Ctx>,
) -> Action {
    failure_policy(obj, err, ctx, None)
}

/// The error policy of the provider accounts. Checking an account is one cheap request,
/// and what repairs a failing one (its key Secret, which no watch follows: the
/// operator caches only the Secrets it writes) wakes nothing. So a failing account is
/// checked again at least every [`ACCOUNT_RECHECK`] (or resync, if shorter): a
/// corrected key is noticed within that, not after a back-off of up to 5 minutes.
fn account_error_policy<K: Resource<DynamicType = ()>>(
    obj: Arc<DeserializeGuard<K>>,
    err: &Error,
    ctx: Arc<Ctx>,
) -> Action {
    let cap = ACCOUNT_RECHECK.min(ctx.settings.resync);
    failure_policy(obj, err, ctx, Some(cap))
}

fn failure_policy<K: Resource<DynamicType = ()>>(
    obj: Arc<DeserializeGuard<K>>,
    err: &Error,
    ctx: Arc<Ctx>,
    cap: Option<Duration>,
) -> Action {
    let key = key_of(obj.as_ref());
    let reason = err.reason();
    match err.retry() {
        Retry::Soon => {
            let delay = conflict_delay();
            tracing::debug!(object = %key, reason, error = %err, requeue_ms = delay.as_millis() as u64, "lost a write race; retrying against fresh state");
            Action::requeue(delay)
        }
        Retry::OnChange => {
            // The watch of what is awaited wakes the object; the resync is a safety net.
            tracing::info!(object = %key, reason, error = %err, "waiting");
            Action::requeue(jitter(ctx.settings.resync))
        }
        Retry::After(delay) => {
            tracing::info!(object = %key, reason, error = %err, requeue_ms = delay.as_millis() as u64, "waiting");
            Action::requeue(delay)
        }
        Retry::Never => {
            tracing::warn!(object = %key, reason, error = %err, "reconcile failed; waiting for a change of the object");
            Action::await_change()
        }
        Retry::AccountCheck => {
            // The key in use was refused: the next reconcile reads it afresh.
            ctx.account_inputs.forget_keys();
            let delay = jitter(ACCOUNT_RECHECK.min(ctx.settings.resync));
            tracing::warn!(object = %key, reason, error = %err, requeue_s = delay.as_secs(), "the provider refused the account's key; retrying at the account's re-check");
            Action::requeue(delay)
        }
        Retry::Backoff { transient } => {
            let delay = ctx.failed(&key, transient);
            let delay = cap.map_or(delay, |c| delay.min(jitter(c)));
            if transient {
                tracing::info!(object = %key, reason, error = %err, requeue_s = delay.as_secs(), "reconcile failed; retrying");
            } else {
                tracing::warn!(object = %key, reason, error = %err, requeue_s = delay.as_secs(), "reconcile failed");
            }
            Action::requeue(delay)
        }
    }
}

/// Hash of what a user (not this operator) changes: the generation (spec), deletion,
/// labels and annotations other than the engine's create-pending markers. Status
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
        for (k, v) in a.iter().filter(|(k, _)| {
            k.as_str() != crate::managed::CREATE_PENDING
                && k.as_str() != crate::managed::SUCCESSOR_PENDING
        }) {
            (k, v).hash(&mut h);
        }
    }
    Some(h.finish())
}

/// The annotation `kubectl apply` (client-side) keeps a copy of the whole applied
/// object in.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Drops what no reconcile reads from an object the watch cache keeps for the life of
/// the process: managedFields (often the larger part of the metadata) and the copy of
/// the spec that client-side `kubectl apply` leaves in an annotation (as large as the
/// spec again). A spec change still shows in the generation, so the user-intent
/// filter misses nothing.
fn trim_for_cache<K: Resource>(o: &mut K) {
    let m = o.meta_mut();
    m.managed_fields = None;
    if let Some(a) = m.annotations.as_mut() {
        a.remove(LAST_APPLIED);
    }
}

/// A guarded controller of kind `K` whose own watch passes only changes of user intent.
fn controller_for<K>(
    api: Api<DeserializeGuard<K>>,
    wc: watcher::Config,
) -> Controller<DeserializeGuard<K>>
where
    K: Resource<DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store();
    let stream = watcher(api, wc)
        .default_backoff()
        .modify(trim_for_cache)
        .reflect(writer)
        .applied_objects()
        .predicate_filter(user_intent::<DeserializeGuard<K>>, Default::default());
    Controller::for_stream(stream, reader).trigger_backoff(EachWatchBacksOff)
}

/// The controller's backoff over all its trigger watches together: none, because every
/// watch given to a controller here backs off on its own errors (`default_backoff`).
/// kube-runtime's default puts one shared client-go backoff over the merged watches,
/// reset only by a trigger that passes the filters: under watch cuts and 410s its
/// errors add up to sleeps of 30-60 s during which no watch is read, so the cache
/// (and every reconcile) stays at stale specs and each status write is a conflict.
struct EachWatchBacksOff;

impl Iterator for EachWatchBacksOff {
    type Item = std::time::Duration;

    fn next(&mut self) -> Option<std::time::Duration> {
        Some(std::time::Duration::ZERO)
    }
}

impl kube::runtime::utils::Backoff for EachWatchBacksOff {
    fn reset(&mut self) {}
}

/// Hash of the generation and the Ready condition (status and message, which names
/// the provider ID): what dependants care about. Status refreshes that change nothing
/// else (a provider's lastCheckedAt) trigger nothing.
fn readiness<K: Resource>(obj: &K, conditions: &[Condition]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    obj.meta().generation.hash(&mut h);
    conditions
        .iter()
        .find(|c| c.type_ == READY)
        .map(|c| (&c.status, &c.message))
        .hash(&mut h);
    h.finish()
}

/// A watch of `K` that passes only changes of generation or readiness.
fn readiness_stream<K>(
    api: Api<K>,
    conditions: fn(&K) -> &[Condition],
) -> impl futures::Stream<Item = Result<K, watcher::Error>> + Send + 'static
where
    K: Resource<DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    watcher(api, watcher::Config::default())
        .default_backoff()
        .applied_objects()
        .predicate_filter(
            move |k: &K| Some(readiness(k, conditions(k))),
            Default::default(),
        )
}

fn conditions_of<K: ManagedKind>(k: &K) -> &[Condition] {
    k.status().map(|s| s.conditions()).unwrap_or_default()
}

fn sip_provider_conditions(p: &SipProvider) -> &[Condition] {
    p.status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default()
}

fn cluster_provider_conditions(p: &ClusterSipProvider) -> &[Condition] {
    p.status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default()
}

/// Wakes objects of `K` when an object `D` they wait for changes readiness
/// (`waits_for` says which): a kind's [`ManagedKind::watch_dependencies`] hook.
pub fn wake_on_ready<K, D>(
    ctrl: Controller<DeserializeGuard<K>>,
    client: &Client,
    ns: Option<&str>,
    waits_for: fn(&K, &D) -> bool,
) -> Controller<DeserializeGuard<K>>
where
    K: ManagedKind,
    D: ManagedKind,
{
    let store = ctrl.store();
    ctrl.watches_stream(
        readiness_stream(api::<D>(client, ns), conditions_of::<D>),
        move |d: D| {
            store
                .state()
                .into_iter()
                .filter(|k| k.0.as_ref().is_ok_and(|k| waits_for(k, &d)))
                .map(|k| ObjectRef::from_obj(k.as_ref()))
                .collect::<Vec<_>>()
        },
    )
}

/// Keeps `sipcred_managed_resources{kind,ready}` current from a controller's cache
/// (no API calls), until the process ends.
fn spawn_gauge<K: ManagedKind>(store: Store<DeserializeGuard<K>>, ctx: Arc<Ctx>) {
    tokio::spawn(async move {
        let kind = K::kind(&()).into_owned();
        loop {
            let mut counts =
                std::collections::BTreeMap::from([("True", 0i64), ("False", 0), ("Unknown", 0)]);
            let mut next_expiry: Option<i64> = None;
            let mut registrations: std::collections::BTreeMap<&str, i64> = [
                "Registered",
                "NotRegistered",
                "Failed",
                "Expired",
                "Unregistered",
                "NotApplicable",
                "Unknown",
            ]
            .into_iter()
            .map(|s| (s, 0))
            .collect();
            let mut checked = 0usize;
            let state = store.state();
            for k in state.iter().filter_map(|o| o.0.as_ref().ok()) {
                if k.registration_interval().is_some() {
                    checked += 1;
                    let s = k.registration_status().unwrap_or("Unknown");
                    let s = registrations
                        .keys()
                        .copied()
                        .find(|k| *k == s)
                        .unwrap_or("Unknown");
                    *registrations.entry(s).or_default() += 1;
                }
            }
            super::registration::set_checked(&kind, checked);
            for (status, n) in registrations {
                ctx.metrics.set_registrations(&kind, status, n);
            }
            for o in state {
                let key = match o.0.as_ref().ok().and_then(|k| {
                    if let Some(t) = k
                        .expires_at()
                        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
                    {
                        let t = t.as_second();
                        next_expiry = Some(next_expiry.map_or(t, |n| n.min(t)));
                    }
                    k.ready()
                }) {
                    Some("True") => "True",
                    Some("False") => "False",
                    _ => "Unknown",
                };
                *counts.entry(key).or_default() += 1;
            }
            for (ready, n) in counts {
                ctx.metrics.set_managed(&kind, ready, n);
            }
            ctx.metrics.set_next_expiry(&kind, next_expiry);
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        }
    });
}

/// Reports an object that does not deserialize: Ready=False on its status (written as
/// plain JSON, since the typed object cannot be read) and a Warning Event. The message
/// carries serde's error (a field path and type, never a value of a Secret: managed
/// objects hold no secrets).
async fn report_invalid<K>(invalid: &InvalidObject, ctx: &Ctx) -> Result<Action, Error>
where
    K: Resource<DynamicType = ()>,
{
    let name = invalid.metadata.name.clone().unwrap_or_default();
    let ns = invalid.metadata.namespace.clone();
    let ar = ApiResource::erase::<K>(&());
    let api: Api<DynamicObject> = match &ns {
        Some(ns) => Api::namespaced_with(ctx.client.clone(), ns, &ar),
        None => Api::all_with(ctx.client.clone(), &ar),
    };
    let message = format!(
        "the object does not match the schema this operator understands: {}",
        invalid.error
    );
    let mut conds = Vec::new();
    set_condition(
        &mut conds,
        READY,
        false,
        "InvalidObject",
        &message,
        invalid.metadata.generation,
    );
    set_condition(
        &mut conds,
        SYNCED,
        false,
        "InvalidObject",
        &message,
        invalid.metadata.generation,
    );
    // The Event reaches the user even where the status cannot: a real API server
    // validates the whole object on a status write and refuses one whose stored spec
    // breaks the schema.
    let reference = k8s_openapi::api::core::v1::ObjectReference {
        api_version: Some(K::api_version(&()).into_owned()),
        kind: Some(K::kind(&()).into_owned()),
        name: Some(name.clone()),
        namespace: ns.clone(),
        uid: invalid.metadata.uid.clone(),
        ..Default::default()
    };
    let event = kube::runtime::events::Event {
        type_: kube::runtime::events::EventType::Warning,
        reason: "InvalidObject".into(),
        note: Some(message.chars().take(1024).collect()),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&event, &reference).await {
        tracing::warn!(error = %e, "publishing an event failed");
    }
    let body = serde_json::json!({"status": {"conditions": conds, "observedGeneration": invalid.metadata.generation}});
    match api
        .patch_status(&name, &PatchParams::default(), &Patch::Merge(&body))
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 422 => {
            tracing::warn!(kind = %K::kind(&()), namespace = ?ns, name = %name, error = %e.message, "the API server refuses status on the malformed object; reported by an Event");
        }
        Err(e) => return Err(e.into()),
    }
    tracing::warn!(kind = %K::kind(&()), namespace = ?ns, name = %name, error = %invalid.error, "malformed object skipped");
    Ok(Action::await_change())
}

/// Runs the typed reconciler for a well-formed object, reports a malformed one. The
/// typed copy of the object is made when the future first runs, not when it is built.
fn guarded<K, F, Fut>(
    reconcile: F,
) -> impl Fn(Arc<DeserializeGuard<K>>, Arc<Ctx>) -> BoxFuture<'static, Result<Action, Error>>
+ Send
+ Sync
+ Clone
+ 'static
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
    F: Fn(Arc<K>, Arc<Ctx>) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = Result<Action, Error>> + Send + 'static,
{
    move |g, ctx| {
        let reconcile = reconcile.clone();
        Box::pin(async move {
            match &g.0 {
                Ok(k) => reconcile(Arc::new(k.clone()), ctx).await,
                Err(invalid) => report_invalid::<K>(invalid, &ctx).await,
            }
        })
    }
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

/// Dependants of a provider object in a controller's cache.
fn dependants<K: ManagedKind>(
    store: &Store<DeserializeGuard<K>>,
    kind: ProviderKind,
    p_ns: Option<&str>,
    p_name: &str,
) -> Vec<ObjectRef<DeserializeGuard<K>>> {
    store
        .state()
        .into_iter()
        .filter(|o| {
            o.0.as_ref().is_ok_and(|k| {
                refers_to(
                    k.provider_ref(),
                    &k.namespace().unwrap_or_default(),
                    kind,
                    p_ns,
                    p_name,
                )
            })
        })
        .map(|o| ObjectRef::from_obj(o.as_ref()))
        .collect()
}

/// The watch of owned Secrets: only the Secrets this operator writes (see
/// [`crate::secrets::MANAGED_BY`]), so the operator never caches other Secrets of the
/// cluster; it reads a referenced one with a direct GET.
fn owned_secrets() -> watcher::Config {
    watcher::Config::default().labels(&format!(
        "app.kubernetes.io/managed-by={}",
        crate::secrets::MANAGED_BY
    ))
}

/// A controller of a managed kind: owns its Secrets, follows its provider's readiness
/// and whatever else the kind waits for.
fn managed_controller<K: ManagedKind>(
    client: &Client,
    ns: Option<&str>,
    scope: &Scope,
    ctx: &Arc<Ctx>,
) -> Controller<DeserializeGuard<K>> {
    let mut wc = watcher::Config::default();
    if let Some(s) = &scope.selector {
        wc = wc.labels(s);
    }
    let ctrl = controller_for(api::<DeserializeGuard<K>>(client, ns), wc).owns_stream(
        ctx.own_secret_writes.foreign_changes(
            watcher(
                api::<PartialObjectMeta<Secret>>(client, ns),
                owned_secrets(),
            )
            .default_backoff(),
        ),
    );
    let (s1, s2, s3) = (ctrl.store(), ctrl.store(), ctrl.store());
    // A provider's change of generation or readiness is forgotten from what the
    // dependants' reconciles keep before they are woken, so they read the new one.
    let (c1, c2) = (ctx.clone(), ctx.clone());
    // A Namespace's labels decide which ClusterSipProviders it may use: a change
    // re-checks its objects (metadata only: labels are all that matter).
    let namespaces = watcher(
        Api::<PartialObjectMeta<Namespace>>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .applied_objects()
    .predicate_filter(tenancy::namespace_labels, Default::default());
    let ctrl = ctrl
        .watches_stream(namespaces, move |n| {
            tenancy::in_namespace(&s3, &n.name_any())
        })
        .watches_stream(
            readiness_stream(api::<SipProvider>(client, ns), sip_provider_conditions),
            move |p: SipProvider| {
                c1.account_inputs.forget_provider(&provider_key(
                    ProviderKind::SipProvider,
                    p.namespace().as_deref(),
                    &p.name_any(),
                ));
                dependants(
                    &s1,
                    ProviderKind::SipProvider,
                    p.namespace().as_deref(),
                    &p.name_any(),
                )
            },
        )
        .watches_stream(
            readiness_stream(
                Api::<ClusterSipProvider>::all(client.clone()),
                cluster_provider_conditions,
            ),
            move |p: ClusterSipProvider| {
                c2.account_inputs.forget_provider(&provider_key(
                    ProviderKind::ClusterSipProvider,
                    None,
                    &p.name_any(),
                ));
                dependants(&s2, ProviderKind::ClusterSipProvider, None, &p.name_any())
            },
        );
    // Unbounded here: the reconciles of one account are bounded (and taken round
    // robin by namespace) by tenancy::fairly, so a busy account and namespace never
    // hold the slots another needs.
    K::watch_dependencies(ctrl, client, ns)
        .with_config(kube::runtime::controller::Config::default().concurrency(0))
}

/// Drives a controller to completion; `reconcile` takes the guarded object (see
/// [`guarded`]).
fn run_controller<K, F>(
    ctrl: Controller<DeserializeGuard<K>>,
    reconcile: F,
    ctx: &Arc<Ctx>,
    policy: fn(Arc<DeserializeGuard<K>>, &Error, Arc<Ctx>) -> Action,
) -> BoxFuture<'static, ()>
where
    K: Resource<DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
    F: FnMut(Arc<DeserializeGuard<K>>, Arc<Ctx>) -> BoxFuture<'static, Result<Action, Error>>
        + Send
        + 'static,
{
    Box::pin(
        ctrl.shutdown_on_signal()
            .run(reconcile, policy, ctx.clone())
            .for_each(|r| async move {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "controller event");
                }
            }),
    )
}

/// Starts the controller of every registered kind in one namespace (or all).
struct StartKinds<'a> {
    client: &'a Client,
    ns: Option<&'a str>,
    scope: &'a Scope,
    ctx: &'a Arc<Ctx>,
    gates: &'a Arc<tenancy::FairGates>,
    tasks: &'a mut Vec<BoxFuture<'static, ()>>,
}

impl KindVisitor for StartKinds<'_> {
    fn visit<K: ManagedKind>(&mut self) {
        let ctrl = managed_controller::<K>(self.client, self.ns, self.scope, self.ctx);
        spawn_gauge(ctrl.store(), self.ctx.clone());
        let cache = ctrl.store();
        self.tasks.push(run_controller(
            ctrl,
            tenancy::fairly(self.gates.clone(), cache, guarded(shell::reconcile::<K>)),
            self.ctx,
            error_policy,
        ));
    }
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
    let gates = tenancy::FairGates::new(usize::from(scope.concurrency));
    for ns in &namespaces {
        let n = ns.as_deref();
        super::for_each_kind(&mut StartKinds {
            client: &client,
            ns: n,
            scope: &scope,
            ctx: &ctx,
            gates: &gates,
            tasks: &mut tasks,
        });
        tasks.push(run_controller(
            controller_for(
                api::<DeserializeGuard<SipProvider>>(&client, n),
                watcher::Config::default(),
            ),
            guarded(provider_account::reconcile_namespaced),
            &ctx,
            account_error_policy,
        ));
    }
    tasks.push(run_controller(
        controller_for(
            Api::<DeserializeGuard<ClusterSipProvider>>::all(client.clone()),
            watcher::Config::default(),
        ),
        guarded(provider_account::reconcile_cluster),
        &ctx,
        account_error_policy,
    ));
    futures::future::join_all(tasks).await;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_cache_keeps_no_managed_fields_and_no_applied_copy_but_every_other_annotation() {
        let mut obj: crate::crd::SipConnection = serde_json::from_value(serde_json::json!({
            "apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection",
            "metadata": {"name": "desk", "generation": 3,
                "annotations": {LAST_APPLIED: "{\"spec\":{}}", "sipcred.io/paused": "true"},
                "managedFields": [{"manager": "kubectl", "operation": "Apply"}]},
            "spec": {"providerRef": {"name": "telnyx"}, "userName": "desk0001"}
        }))
        .unwrap();
        assert!(obj.metadata.managed_fields.is_some());
        trim_for_cache(&mut obj);
        assert_eq!(obj.metadata.managed_fields, None);
        let annotations = obj.metadata.annotations.clone().unwrap();
        assert!(!annotations.contains_key(LAST_APPLIED));
        // The user's own annotations (pause, policies, rotation requests) stay.
        assert_eq!(
            annotations.get("sipcred.io/paused").map(String::as_str),
            Some("true")
        );
        assert_eq!(obj.metadata.generation, Some(3));
    }

    #[test]
    fn the_secret_watch_selects_exactly_the_secrets_this_operator_writes() {
        let selector = owned_secrets().label_selector.unwrap();
        let (key, value) = selector.split_once('=').unwrap();
        let owner = crate::secrets::Owner {
            api_version: "sipcred.io/v1alpha1".into(),
            kind: "SipConnection".into(),
            name: "desk".into(),
            namespace: "default".into(),
            uid: "u1".into(),
        };
        let details = crate::secrets::ConnectionDetails {
            username: "u".into(),
            password: secrecy::SecretString::from("p4ssword"),
            domain: "d".into(),
            id: None,
            synced_digest: None,
            marks: Default::default(),
            extra: Default::default(),
        };
        let written = crate::secrets::desired(&owner, None, &details);
        let labels = written.metadata.labels.unwrap();
        assert_eq!(
            labels.get(key).map(String::as_str),
            Some(value),
            "{selector}"
        );
        // A user's Secret carries no such label: it is never in the cache.
        assert!(
            !selector.contains(','),
            "one label, nothing broader: {selector}"
        );
    }
}
