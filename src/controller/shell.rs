//! The shell every managed kind shares around its pipeline: stamp conditions and
//! observedGeneration, write status only when it changed, record metrics and Events,
//! and choose the requeue. Kinds supply only their pipeline and their status fields.

use std::sync::Arc;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::context::{Ctx, key_of};
use super::error::Error;
use super::status::{mark_failed, mark_ready, now_rfc3339, patch_status};
use crate::crd::{
    SipConnection, SipConnectionStatus, TelephonyCredential, TelephonyCredentialStatus,
    TrunkCredential, TrunkCredentialStatus,
};
use crate::managed::Outcome;
use crate::managed::driver::Change;

/// The status fields the shell manages.
pub trait ManagedStatus: Clone + PartialEq + Default + Serialize + Send + Sync {
    /// The conditions.
    fn conditions_mut(&mut self) -> &mut Vec<Condition>;
    /// `observedGeneration`.
    fn observed_generation_mut(&mut self) -> &mut Option<i64>;
    /// `lastSyncedAt`.
    fn last_synced_at_mut(&mut self) -> &mut Option<String>;
}

/// A managed kind and its status.
pub trait ManagedKind:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + DeserializeOwned
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
{
    /// The status type.
    type Status: ManagedStatus;
    /// The current status.
    fn status(&self) -> Option<&Self::Status>;
}

macro_rules! managed_kind {
    ($kind:ty, $status:ty) => {
        impl ManagedStatus for $status {
            fn conditions_mut(&mut self) -> &mut Vec<Condition> {
                &mut self.conditions
            }
            fn observed_generation_mut(&mut self) -> &mut Option<i64> {
                &mut self.observed_generation
            }
            fn last_synced_at_mut(&mut self) -> &mut Option<String> {
                &mut self.last_synced_at
            }
        }
        impl ManagedKind for $kind {
            type Status = $status;
            fn status(&self) -> Option<&$status> {
                self.status.as_ref()
            }
        }
    };
}
managed_kind!(SipConnection, SipConnectionStatus);
managed_kind!(TelephonyCredential, TelephonyCredentialStatus);
managed_kind!(TrunkCredential, TrunkCredentialStatus);

/// The lifecycle state of an object for the managed engine.
pub fn state_of<K: Resource>(
    obj: &K,
    deletion_policy: Option<crate::crd::DeletionPolicy>,
) -> crate::managed::ManagedState {
    let m = obj.meta();
    crate::managed::ManagedState::from_meta(
        m.annotations.as_ref(),
        m.finalizers.as_deref(),
        m.deletion_timestamp.is_some(),
        deletion_policy,
    )
}

/// Runs a kind's pipeline inside the shared shell. The pipeline returns the Ready
/// message, or `None` once the object is released (nothing left to report).
pub async fn reconcile<K, F>(obj: Arc<K>, ctx: Arc<Ctx>, pipeline: F) -> Result<Action, Error>
where
    K: ManagedKind,
    F: AsyncFnOnce(&K, &Ctx, &Api<K>, &mut K::Status) -> Result<Option<String>, Error>,
{
    let ns = obj.namespace().unwrap_or_default();
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &ns);
    let generation = obj.meta().generation;
    let mut status = obj.status().cloned().unwrap_or_default();
    let started = std::time::Instant::now();
    let result = pipeline(&obj, &ctx, &api, &mut status).await;
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
        Err(e) => {
            mark_failed(
                status.conditions_mut(),
                e.reason(),
                &e.to_string(),
                generation,
                e.is_transient(),
            );
            // Waiting on a dependency is progress, not a failure worth a Warning.
            if !matches!(e, Error::Waiting(_)) {
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
        Action::requeue(ctx.settings.resync)
    })
}

/// Reports what a drive step did (Events, lastSyncedAt) and returns the Ready message.
/// `what` names the provider object, e.g. "the credential connection at Telnyx".
pub async fn announce<K, R>(
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
            match change {
                Change::None => {}
                Change::Created { recreate: false } => {
                    ctx.event(
                        obj,
                        false,
                        "Created",
                        "Create",
                        format!("created {what} (id {external_name})"),
                    )
                    .await;
                }
                Change::Created { recreate: true } => {
                    let note = format!(
                        "recreated {what} (id {external_name}); it had been deleted outside Kubernetes"
                    );
                    ctx.event(obj, false, "Created", "Create", note).await;
                }
                Change::Adopted => {
                    let note = format!(
                        "found the existing {} {external_name} by its identity and adopted it",
                        what.trim_start_matches("the ")
                    );
                    ctx.event(obj, false, "Adopted", "Observe", note).await;
                }
                Change::Updated(fields) => {
                    ctx.event(
                        obj,
                        false,
                        "Updated",
                        "Update",
                        format!("updated {what}: {}", fields.join(", ")),
                    )
                    .await;
                }
            }
            let synced = status.last_synced_at_mut();
            if *change != Change::None || synced.is_none() {
                *synced = Some(now_rfc3339());
            }
            Some(format!(
                "{} {external_name} matches the spec",
                what.trim_start_matches("the ")
            ))
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
