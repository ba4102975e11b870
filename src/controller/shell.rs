//! The shell every managed kind shares: the whole lifecycle around the engine. It
//! reads the object's Secret, hands the engine a connector (the kind's `connect` hook
//! behind the account lookup), the object store and the Secret publisher, maps the
//! outcome into status through the kind's `report` hook, stamps conditions and
//! observedGeneration, writes status only when it changed, records metrics and
//! Events, and chooses the requeue.

use std::sync::Arc;

use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;

use super::context::{Ctx, key_of};
use super::error::{Error, Retry, jitter};
use super::kind::{Connect, ManagedKind, ManagedStatus};
use super::kube_store::KubeStore;
use super::registration;
use super::secret_target::SecretSlot;
use super::status::{mark_failed, mark_ready, now_rfc3339, patch_status};
use crate::managed::{Change, Connector, ManagedState, Outcome, PreObserve, drive, pre_observe};

/// The lifecycle state of an object for the managed engine.
pub fn state_of<K: ManagedKind>(obj: &K) -> ManagedState {
    let m = obj.meta();
    ManagedState::from_meta(
        m.annotations.as_ref(),
        m.finalizers.as_deref(),
        m.deletion_timestamp.is_some(),
        obj.deletion_policy(),
    )
}

/// Reconciles one object of a managed kind.
pub async fn reconcile<K: ManagedKind>(obj: Arc<K>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &ns);
    let generation = obj.meta().generation;
    let mut status = obj.status().cloned().unwrap_or_default();
    let started = std::time::Instant::now();
    let result = lifecycle(obj.as_ref(), &ctx, &api, &mut status).await;
    let mut requeue = ctx.settings.resync;
    if let Ok(Some((_, true))) = &result
        && let Some(every) =
            check_registration(obj.as_ref(), &ctx, &ns, &mut status, generation).await
    {
        requeue = requeue.min(every);
    }
    let result = result.map(|r| r.map(|(msg, _)| msg));
    let kind = K::kind(&());
    ctx.observe_reconcile(
        &kind,
        result.as_ref().map(|_| ()).map_err(|e| e.reason()),
        started.elapsed(),
    );
    *status.observed_generation_mut() = generation;
    match &result {
        Ok(Some(msg)) => mark_ready(status.conditions_mut(), msg, generation),
        Ok(None) => {
            // Released: nothing left to report, and no failure count to keep.
            ctx.succeeded(&key_of(obj.as_ref()));
            return Ok(Action::await_change());
        }
        // A lost optimistic-concurrency race on our own write is not a failure of the
        // object: nothing is reported and the runner retries promptly.
        Err(e) if e.retry() == Retry::Soon => return result.map(|_| Action::await_change()),
        Err(e) => {
            mark_failed(
                status.conditions_mut(),
                e.reason(),
                &e.to_string(),
                generation,
                e.is_transient(),
            );
            // Waiting (for a dependency or the provider account) is progress, not a
            // failure worth a Warning.
            if e.is_warning() {
                ctx.event(obj.as_ref(), true, e.reason(), "Reconcile", e.to_string())
                    .await;
            }
        }
    }
    if obj.status() != Some(&status) {
        patch_status(&api, &obj.name_any(), &status).await?;
    }
    result.map(|_| {
        ctx.succeeded(&key_of(obj.as_ref()));
        Action::requeue(jitter(requeue))
    })
}

/// Checks the live SIP registration of a synced object with
/// `spec.registrationCheck`, records it in `status.registration` and the `Registered`
/// condition, and returns when to check again. A failed check is logged and keeps
/// the last answer: registration health never makes the object not Ready.
async fn check_registration<K: ManagedKind>(
    obj: &K,
    ctx: &Ctx,
    namespace: &str,
    status: &mut K::Status,
    generation: Option<i64>,
) -> Option<std::time::Duration> {
    let interval = registration::parse_interval(obj.registration_interval()?)?;
    let checked = async {
        let account = ctx
            .account(namespace, obj.provider_ref(), true)
            .await
            .map_err(|e| e.to_string())?;
        obj.check_registration(account, status).await
    }
    .await;
    match checked {
        Ok(Some((info, rps))) => {
            registration::mark(status.conditions_mut(), &info, generation);
            if let Some(slot) = K::registration_mut(status) {
                *slot = Some(info);
            }
            Some(registration::effective_interval(
                interval,
                registration::checked_total(),
                rps,
            ))
        }
        Ok(None) => Some(interval),
        Err(error) => {
            tracing::warn!(
                kind = %K::kind(&()),
                namespace,
                name = %obj.name_any(),
                %error,
                "SIP registration check failed; keeping the last answer"
            );
            Some(interval)
        }
    }
}

/// The engine's connector for one object: resolves the provider account, then the
/// kind's `connect` hook.
struct KindConnector<'a, K: ManagedKind> {
    ctx: &'a Ctx,
    obj: &'a K,
    namespace: &'a str,
    deleting: bool,
    status: &'a K::Status,
    secret: Option<&'a SecretSlot>,
}

impl<K: ManagedKind> Connector for KindConnector<'_, K> {
    type Client = K::Client;
    type Error = Error;

    async fn connect(&self) -> Result<K::Client, Error> {
        let account = self
            .ctx
            .account(self.namespace, self.obj.provider_ref(), !self.deleting)
            .await?;
        K::connect(Connect {
            ctx: self.ctx,
            obj: self.obj,
            namespace: self.namespace,
            account,
            status: self.status,
            secret: self.secret,
        })
        .await
    }
}

/// One lifecycle step. Returns the Ready message and whether the engine synced the
/// object, or `None` once the object is released (nothing left to report).
async fn lifecycle<K: ManagedKind>(
    obj: &K,
    ctx: &Ctx,
    api: &Api<K>,
    status: &mut K::Status,
) -> Result<Option<(String, bool)>, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let state = state_of(obj);
    let store = KubeStore::new(api.clone(), obj);
    // The Secret is read only for a step that may publish into it.
    let slot = match pre_observe(&state) {
        PreObserve::Observe { .. } => {
            obj.validate()?;
            Some(SecretSlot::load(&ctx.client, obj, obj.secret_target()).await?)
        }
        _ => None,
    };
    let before = status.clone();
    let connector = KindConnector {
        ctx,
        obj,
        namespace: &ns,
        deleting: state.deleting,
        status: &before,
        secret: slot.as_ref(),
    };
    let out = drive(&state, &connector, &store, &slot).await?;
    if let (Outcome::Synced { change, .. }, Some(slot)) = (&out, &slot) {
        *status.secret_name_mut() = Some(slot.name.clone());
        let pushed = match change {
            Change::Created { .. } => true,
            Change::Updated(fields) => fields.iter().any(|f| f == "password"),
            _ => false,
        };
        if let (true, Some(at)) = (pushed, status.password_updated_at_mut()) {
            *at = Some(now_rfc3339());
        }
    }
    if let Outcome::Synced {
        external_name,
        resource,
        ..
    }
    | Outcome::Drifted {
        external_name,
        resource,
        ..
    } = &out
    {
        K::report(external_name, resource, status);
    }
    let synced = matches!(out, Outcome::Synced { .. });
    Ok(announce(obj, ctx, &out, K::WHAT, status)
        .await
        .map(|msg| (msg, synced)))
}

/// Reports what a drive step did (Events, lastSyncedAt) and returns the Ready message.
/// `what` names the provider object, e.g. "the credential connection at Telnyx".
async fn announce<K, R>(
    obj: &K,
    ctx: &Ctx,
    out: &Outcome<R>,
    what: &str,
    status: &mut K::Status,
) -> Option<String>
where
    K: ManagedKind,
{
    match out {
        Outcome::Paused => Some("reconciliation is paused (annotation sipcred.io/paused)".into()),
        Outcome::Released { orphaned, deleted } => {
            if *deleted {
                ctx.event(obj, false, "Deleted", "Delete", format!("deleted {what}"))
                    .await;
            } else if *orphaned {
                ctx.event(
                    obj,
                    false,
                    "Orphaned",
                    "Delete",
                    format!("left {what} in place (deletionPolicy Orphan)"),
                )
                .await;
            }
            None
        }
        Outcome::Synced {
            external_name,
            change,
            ..
        } => {
            let bare = what.trim_start_matches("the ");
            let note = match change {
                Change::None => None,
                Change::Created { recreate: false } => Some((
                    "Created",
                    "Create",
                    format!("created {what} (id {external_name})"),
                )),
                Change::Created { recreate: true } => Some((
                    "Created",
                    "Create",
                    format!(
                        "recreated {what} (id {external_name}); it had been deleted outside Kubernetes"
                    ),
                )),
                Change::Adopted => Some((
                    "Adopted",
                    "Observe",
                    format!(
                        "found the existing {bare} {external_name} by its identity and adopted it"
                    ),
                )),
                Change::Updated(fields) => Some((
                    "Updated",
                    "Update",
                    format!("updated {what}: {}", fields.join(", ")),
                )),
            };
            if let Some((reason, action, note)) = note {
                ctx.event(obj, false, reason, action, note).await;
            }
            let synced = status.last_synced_at_mut();
            if *change != Change::None || synced.is_none() {
                *synced = Some(now_rfc3339());
            }
            Some(format!("{bare} {external_name} matches the spec"))
        }
        Outcome::Drifted {
            external_name,
            drift,
            ..
        } => Some(format!(
            "observe-only: {} {external_name} differs in {}",
            what.trim_start_matches("the "),
            drift.join(", ")
        )),
    }
}
