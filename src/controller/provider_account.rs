//! SipProvider and ClusterSipProvider: Ready when the account's key authenticates.

use std::sync::Arc;

use kube::api::Api;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};

use super::context::{Account, Ctx, key_of};
use super::error::Error;
use super::status::{mark_failed, mark_ready, now_rfc3339, patch_status};
use crate::crd::sip_provider::ProviderType;
use crate::crd::{ClusterSipProvider, ProviderKind, ProviderRef, SipProvider, SipProviderStatus};

/// Probes the account with the cheapest authenticated read.
async fn probe(acc: &Account) -> Result<ProviderType, Error> {
    let to_ext = |e: crate::provider::ProviderError| {
        Error::External(super::provider_calls::from_provider(&e))
    };
    match acc {
        Account::Telnyx(c) => {
            let f = crate::provider::telnyx::ConnectionFilter {
                page_size: Some(1),
                ..Default::default()
            };
            c.list_credential_connections(&f).await.map_err(to_ext)?;
            Ok(ProviderType::Telnyx)
        }
        Account::Vobiz(c) => {
            c.list_credentials_page(1, 0).await.map_err(to_ext)?;
            Ok(ProviderType::Vobiz)
        }
    }
}

async fn check(
    ctx: &Ctx,
    namespace: &str,
    r: &ProviderRef,
    generation: Option<i64>,
    old: Option<SipProviderStatus>,
) -> (SipProviderStatus, Result<(), Error>) {
    let mut status = old.unwrap_or_default();
    status.observed_generation = generation;
    status.last_checked_at = Some(now_rfc3339());
    let result = match ctx.account(namespace, r, false).await {
        Ok(acc) => probe(&acc).await.map(|t| status.provider = Some(t)),
        Err(e) => Err(e),
    };
    if result.is_err() {
        // A key the account's own check could not use is not handed to dependants.
        ctx.account_inputs.forget_keys();
    }
    match &result {
        Ok(()) => mark_ready(
            &mut status.conditions,
            "the account credentials authenticate",
            generation,
        ),
        Err(e) => {
            let reason = match e {
                Error::External(x) => x.reason.clone(),
                other => other.reason().to_string(),
            };
            mark_failed(
                &mut status.conditions,
                &reason,
                &e.to_string(),
                generation,
                false,
            )
        }
    }
    (status, result)
}

/// Whether the status must be written: a real change, or a lastCheckedAt older than an
/// hour. A periodic check that changes nothing writes nothing, so steady state stays
/// free of API writes.
fn needs_write(old: Option<&SipProviderStatus>, new: &SipProviderStatus) -> bool {
    let Some(old) = old else { return true };
    let strip = |s: &SipProviderStatus| SipProviderStatus {
        last_checked_at: None,
        ..s.clone()
    };
    if strip(old) != strip(new) {
        return true;
    }
    let stale = |t: &Option<String>| {
        t.as_deref()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .is_none_or(|t| {
                jiff::Timestamp::now().duration_since(t) > jiff::SignedDuration::from_hours(1)
            })
    };
    stale(&old.last_checked_at)
}

fn finish<K: Resource<DynamicType = ()>>(
    ctx: &Ctx,
    obj: &K,
    r: Result<(), Error>,
    started: std::time::Instant,
) -> Result<Action, Error> {
    let kind = K::kind(&());
    ctx.observe_reconcile(
        &kind,
        r.as_ref().map(|_| ()).map_err(|e| e.reason()),
        started.elapsed(),
    );
    match r {
        Ok(()) => {
            ctx.succeeded(&key_of(obj));
            Ok(Action::requeue(super::error::jitter(ctx.settings.resync)))
        }
        Err(e) => Err(e),
    }
}

/// Reconciles a namespaced SipProvider.
pub async fn reconcile_namespaced(obj: Arc<SipProvider>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let started = std::time::Instant::now();
    let r = ProviderRef {
        kind: Some(ProviderKind::SipProvider),
        name: obj.name_any(),
    };
    let (status, result) = check(&ctx, &ns, &r, obj.metadata.generation, obj.status.clone()).await;
    if needs_write(obj.status.as_ref(), &status) {
        patch_status(
            &Api::<SipProvider>::namespaced(ctx.client.clone(), &ns),
            &obj.name_any(),
            &status,
        )
        .await?;
    }
    finish(&ctx, obj.as_ref(), result, started)
}

/// Reconciles a ClusterSipProvider.
pub async fn reconcile_cluster(
    obj: Arc<ClusterSipProvider>,
    ctx: Arc<Ctx>,
) -> Result<Action, Error> {
    let started = std::time::Instant::now();
    let r = ProviderRef {
        kind: Some(ProviderKind::ClusterSipProvider),
        name: obj.name_any(),
    };
    let (status, result) = check(&ctx, "", &r, obj.metadata.generation, obj.status.clone()).await;
    if needs_write(obj.status.as_ref(), &status) {
        patch_status(
            &Api::<ClusterSipProvider>::all(ctx.client.clone()),
            &obj.name_any(),
            &status,
        )
        .await?;
    }
    finish(&ctx, obj.as_ref(), result, started)
}
