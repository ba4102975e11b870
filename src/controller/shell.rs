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

use super::context::{Ctx, bookkeeping_digest, key_of, status_digest};
use super::error::{Error, Retry, jitter};
use super::kind::{Connect, ManagedKind, ManagedStatus};
use super::kube_store::KubeStore;
use super::registration;
use super::secret_target::SecretSlot;
use super::status::{
    mark_failed, mark_paused, mark_ready, now_rfc3339, observed_generation, patch_status_from,
    worth_reporting,
};
use crate::managed::rotation::{self, Issue, Previous, ROTATE_REQUESTED_AT, Why};
use crate::managed::{
    Change, Connector, DetailsPublisher, ExternalClient, ManagedState, ObjectStore, Outcome,
    PreObserve, SUCCESSOR_PENDING, drive, pre_observe, replace,
};
use crate::provider::Lookup;
use jiff::Timestamp;

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
///
/// Where the cached object is known to be behind the API server it is decided from
/// the object as stored now (one GET):
/// - when the cache holds neither the version nor the status this process last read
///   or wrote ([`Ctx::cache_behind_own_write`]);
/// - after a lost optimistic-concurrency race (409). The race is nearly always with
///   this operator's own previous write (a status or bookkeeping write the watch
///   cache has not delivered yet). While the API server is busy the cache lags by
///   more than the runner's prompt requeue, and a retry from the cache loses again.
///   A second loss goes back to the runner's prompt requeue.
pub async fn reconcile<K: ManagedKind>(obj: Arc<K>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    let name = obj.name_any();
    let behind = ctx.cache_behind_own_write(
        &key_of(obj.as_ref()),
        obj.meta().resource_version.as_deref(),
        status_digest(obj.status()),
        bookkeeping_digest(obj.meta()),
    );
    let obj = match behind {
        false => obj,
        true => match api.get_opt(&name).await? {
            Some(fresh) => Arc::new(fresh),
            // Gone meanwhile: nothing left to reconcile.
            None => return Ok(Action::await_change()),
        },
    };
    match reconcile_once(obj, ctx.clone()).await {
        Err(e) if e.retry() == Retry::Soon => match api.get_opt(&name).await? {
            Some(fresh) => reconcile_once(Arc::new(fresh), ctx).await,
            None => Ok(Action::await_change()),
        },
        other => other,
    }
}

async fn reconcile_once<K: ManagedKind>(obj: Arc<K>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &ns);
    let generation = obj.meta().generation;
    let mut status = obj.status().cloned().unwrap_or_default();
    let started = std::time::Instant::now();
    let store = KubeStore::new(api.clone(), obj.as_ref());
    let result = lifecycle(obj.as_ref(), &ctx, &store, &mut status).await;
    let mut requeue = ctx.settings.resync;
    if let Ok(Some(step)) = &result {
        if let Some(at) = step.requeue {
            requeue = requeue.min(at);
        }
        if step.synced
            && let Some(every) =
                check_registration(obj.as_ref(), &ctx, &ns, &mut status, generation).await
        {
            requeue = requeue.min(every);
        }
    }
    let paused = matches!(&result, Ok(Some(step)) if step.paused);
    let result = result.map(|r| r.map(|step| step.message));
    let kind = K::kind(&());
    ctx.observe_reconcile(
        &kind,
        result.as_ref().map(|_| ()).map_err(|e| e.reason()),
        started.elapsed(),
    );
    match &result {
        Ok(Some(msg)) if paused => mark_paused(status.conditions_mut(), msg, generation),
        Ok(Some(msg)) => mark_ready(status.conditions_mut(), msg, generation),
        Ok(None) => {
            // Released: nothing left to report, and no failure count to keep.
            let key = key_of(obj.as_ref());
            ctx.succeeded(&key);
            ctx.forget(&key);
            return Ok(Action::await_change());
        }
        // A lost optimistic-concurrency race on our own write is not a failure of the
        // object: nothing is reported and the runner retries promptly.
        Err(e) if e.retry() == Retry::Soon => return result.map(|_| Action::await_change()),
        // A new object's short, known wait: the runner comes back when it ends.
        Err(e) if !worth_reporting(e, obj.status().map(|s| s.conditions()).unwrap_or_default()) => {
            if let Some((rv, bookkeeping)) = store.last_write() {
                let key = key_of(obj.as_ref());
                ctx.status_seen(&key, rv, status_digest(obj.status()), bookkeeping);
            }
            return result.map(|_| Action::await_change());
        }
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
    let previous = obj.status().and_then(|s| s.observed_generation());
    *status.observed_generation_mut() = observed_generation(status.conditions(), previous, paused);
    if obj.status() != Some(&status) {
        let key = key_of(obj.as_ref());
        let rv = obj.meta().resource_version.clone().unwrap_or_default();
        if tracing::enabled!(tracing::Level::DEBUG) {
            tracing::debug!(
                object = %key,
                resource_version = %rv,
                fields = ?changed_fields(obj.status(), &status),
                "writing status"
            );
        }
        let written = patch_status_from(&api, &obj.name_any(), obj.status(), &status).await?;
        let bookkeeping = store
            .last_write()
            .map_or_else(|| bookkeeping_digest(obj.meta()), |(_, b)| b);
        ctx.status_seen(&key, written, status_digest(Some(&status)), bookkeeping);
    } else if let Some((rv, bookkeeping)) = store.last_write() {
        ctx.status_seen(
            &key_of(obj.as_ref()),
            rv,
            status_digest(obj.status()),
            bookkeeping,
        );
    } else if let Some(rv) = obj.meta().resource_version.clone() {
        ctx.status_seen(
            &key_of(obj.as_ref()),
            rv,
            status_digest(obj.status()),
            bookkeeping_digest(obj.meta()),
        );
    }
    result.map(|_| {
        ctx.succeeded(&key_of(obj.as_ref()));
        Action::requeue(jitter(requeue))
    })
}

/// The top-level status fields that differ (names only: status holds no secret, and
/// the names are enough to tell a real change from a stale cache).
fn changed_fields<S: serde::Serialize>(before: Option<&S>, after: &S) -> Vec<String> {
    let obj = |v: Option<serde_json::Value>| match v {
        Some(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    let was = obj(before.and_then(|b| serde_json::to_value(b).ok()));
    let now = obj(serde_json::to_value(after).ok());
    let mut keys: Vec<String> = was
        .keys()
        .chain(now.keys())
        .filter(|k| was.get(*k) != now.get(*k))
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    keys
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
        let Some(registrant) = K::registrant(status) else {
            return Ok(None);
        };
        let account = ctx
            .account(namespace, obj.provider_ref(), true)
            .await
            .map_err(|e| e.to_string())?;
        let client = account.telnyx(&K::kind(&())).map_err(|e| e.to_string())?;
        registration::check(&client, registrant)
            .await
            .map(Some)
            .map_err(|e| e.to_string())
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
    issue: &'a Issue,
    rotate: bool,
    may_exist: bool,
}

impl<'a, K: ManagedKind> KindConnector<'a, K> {
    /// The same object, publishing another login (a rotation's successor, or the
    /// current login once its predecessor is gone).
    fn with_issue(&self, issue: &'a Issue, rotate: bool) -> Self {
        Self {
            issue,
            rotate,
            secret: self.secret,
            ..*self
        }
    }
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
            issue: self.issue,
            rotate: self.rotate,
            lookup: Lookup {
                max_age: self.ctx.settings.resync,
                ask: self.may_exist,
            },
        })
        .await
    }
}

/// What one lifecycle step reports.
struct Step {
    /// The Ready message.
    message: String,
    /// The engine synced the object.
    synced: bool,
    /// Come back this soon (a rotation falls due, a new login activates).
    requeue: Option<std::time::Duration>,
    /// Reconciliation is paused: nothing was observed or written.
    paused: bool,
}

/// How long until `at`, at least a second.
fn until(at: Timestamp, now: Timestamp) -> std::time::Duration {
    std::time::Duration::try_from(now.duration_until(at))
        .unwrap_or_default()
        .max(std::time::Duration::from_secs(1))
}

/// One lifecycle step. Returns the Ready message, whether the engine synced the object
/// and when to come back, or `None` once the object is released (nothing left to
/// report).
async fn lifecycle<K: ManagedKind>(
    obj: &K,
    ctx: &Ctx,
    store: &KubeStore<K>,
    status: &mut K::Status,
) -> Result<Option<Step>, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let mut state = state_of(obj);
    let phase = pre_observe(&state);
    let replaces = obj.replaces_on_rotation();
    // The Secret is read for a step that may publish into it, and for the deletion of
    // an object whose rotations leave a predecessor behind (the Secret records it).
    let slot = match phase {
        PreObserve::Observe { .. } => {
            obj.validate()?;
            Some(
                SecretSlot::load(
                    &ctx.client,
                    &ctx.own_secret_writes,
                    obj,
                    obj.secret_target(),
                )
                .await?,
            )
        }
        PreObserve::ObserveAndDelete if replaces.is_some() => SecretSlot::load(
            &ctx.client,
            &ctx.own_secret_writes,
            obj,
            obj.secret_target(),
        )
        .await
        .ok(),
        _ => None,
    };
    let now = Timestamp::now();
    let requested = obj
        .meta()
        .annotations
        .as_ref()
        .and_then(|a| a.get(ROTATE_REQUESTED_AT))
        .filter(|r| !r.is_empty())
        .map(String::as_str);
    let current = slot.as_ref().and_then(SecretSlot::issue);
    if let Some(held) = lagging_successor(
        state.external_name.as_deref(),
        current.as_ref(),
        slot.as_ref().and_then(SecretSlot::held_id).as_deref(),
    ) {
        store.record_external_name(Some(&held), false).await?;
        state.external_name = Some(held);
    }
    let may_write = state.management == crate::managed::ManagementPolicy::Full;
    // A login the user supplies is rotated by the user: nothing is scheduled.
    let schedule = if obj.can_rotate() {
        obj.rotation_schedule()
    } else {
        rotation::Schedule::default()
    };
    let verdict = rotation::decide(&schedule, requested, current.as_ref(), now);
    // The login this step publishes, and whether it replaces the current one.
    let (issue, rotate) = match (&current, verdict.due) {
        (None, _) => (Issue::first(now, requested), false),
        // Only a fully managed object rotates: observe-only must never leave the Secret
        // with a password the provider was not given, nor create a successor.
        (Some(c), Some(_)) if obj.can_rotate() && may_write => {
            let mut next = c.next(now, requested);
            next.expires_at =
                rotation::renewed_expiry(c, schedule.renew_before.unwrap_or_default(), now);
            (next, true)
        }
        (Some(c), Some(Why::Requested)) if !obj.can_rotate() => (c.acknowledge(requested), false),
        (Some(c), _) => (c.clone(), false),
    };
    // A replacement rotation first keeps the current object in sync; the successor
    // follows once it is.
    let (in_place, replacing) = match (rotate, replaces) {
        (true, Some(_)) => (current.clone().unwrap_or_else(|| issue.clone()), true),
        _ => (issue.clone(), false),
    };
    let before = status.clone();
    let connector = KindConnector {
        ctx,
        obj,
        namespace: &ns,
        deleting: state.deleting,
        status: &before,
        secret: if state.deleting { None } else { slot.as_ref() },
        issue: &in_place,
        rotate: rotate && !replacing,
        may_exist: state.create_pending || state.external_name.is_some(),
    };
    if matches!(phase, PreObserve::ObserveAndDelete) && replaces.is_some() {
        retire_leftovers(&connector, current.as_ref()).await?;
    }
    let out = drive(&state, &connector, store, &slot).await?;
    let mut requeue = None;
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
    let Some(mut message) = announce(obj, ctx, &out, K::WHAT, status).await else {
        return Ok(None);
    };
    if let (
        Outcome::Synced {
            external_name,
            resource,
            ..
        },
        Some(slot),
    ) = (&out, &slot)
    {
        let usable = K::usable_in(resource);
        match &usable {
            Ok(Some(wait)) if !replacing => {
                return Err(Error::Activating {
                    message: format!(
                        "{} {external_name} was just created; the provider activates it in about {} s",
                        K::WHAT.trim_start_matches("the "),
                        wait.as_secs().max(1)
                    ),
                    after: *wait,
                });
            }
            // An expired login can only be replaced: by a rotation when one is due.
            Err(why) if !replacing => {
                return Err(Error::Expired(format!(
                    "{} {external_name} {why}; request a rotation (annotation {ROTATE_REQUESTED_AT}) or set spec.rotation.renewBefore",
                    K::WHAT.trim_start_matches("the ")
                )));
            }
            _ => {}
        }
        if let (true, Some(grace)) = (replacing, replaces) {
            let successor = Issue {
                previous: Some(Previous {
                    external_name: external_name.clone(),
                    delete_at: now.checked_add(grace).unwrap_or(now),
                }),
                ..issue.clone()
            };
            if let Some(wait) = rotate_by_replacement(
                &connector,
                store,
                slot,
                &successor,
                in_place.previous.as_ref(),
                status,
            )
            .await?
            {
                message = format!(
                    "{message}; rotating: the new {} becomes usable in about {} s",
                    K::WHAT.trim_start_matches("the "),
                    wait.as_secs().max(1)
                );
                requeue = Some(wait);
            }
        } else if let Some(prev) = in_place.previous.as_ref().filter(|_| may_write) {
            if prev.delete_at <= now {
                retire_previous(&connector, slot, &in_place, prev, external_name, resource).await?;
            } else {
                requeue = Some(until(prev.delete_at, now));
            }
        }
        report_rotation::<K>(obj, ctx, slot, &schedule, requested, now, status).await;
        let refresh = obj.refresh_at(status);
        if let Some(next) = status
            .rotation()
            .next_rotation_at
            .as_deref()
            .and_then(|n| n.parse::<Timestamp>().ok())
            .into_iter()
            .chain(refresh)
            .min()
        {
            let at = until(next, now);
            requeue = Some(requeue.map_or(at, |r: std::time::Duration| r.min(at)));
        }
    }
    Ok(Some(Step {
        message,
        synced,
        requeue,
        paused: matches!(out, Outcome::Paused),
    }))
}

/// Creates (or finds) the successor of a replacement rotation and, once the provider
/// lets it be used, switches the Secret to it in one write that also records the
/// predecessor and when it goes; then records the successor's ID on the object.
/// Returns how long until the successor can be used when it cannot yet.
async fn rotate_by_replacement<K: ManagedKind>(
    connector: &KindConnector<'_, K>,
    store: &KubeStore<K>,
    slot: &SecretSlot,
    successor: &Issue,
    older: Option<&Previous>,
    status: &mut K::Status,
) -> Result<Option<std::time::Duration>, Error> {
    let next = connector.with_issue(successor, true);
    let client = next.connect().await?;
    if !connector.obj.annotations().contains_key(SUCCESSOR_PENDING) {
        store.mark_successor_pending().await?;
    }
    let (id, resource) = replace::successor(&client).await.map_err(Error::External)?;
    match K::usable_in(&resource) {
        Ok(None) => {}
        Ok(Some(wait)) => return Ok(Some(wait)),
        Err(why) => {
            return Err(Error::External(crate::managed::ExternalError::new(
                crate::managed::ExternalErrorKind::Terminal,
                "Expired",
                format!("the rotation's new login {id} {why}"),
            )));
        }
    }
    client
        .refresh(&id, &resource)
        .await
        .map_err(Error::External)?;
    // A predecessor still in its grace period when another rotation switches: its
    // grace ends now (a rotation on demand is often about a leaked login).
    if let Some(older) = older {
        replace::retire(&client, &older.external_name)
            .await
            .map_err(Error::External)?;
    }
    if let Some(details) = client.details(&id, &resource) {
        slot.publish(&details).await?;
    }
    store.record_external_name(Some(&id), false).await?;
    // Status describes the login the Secret now holds.
    K::report(&id, &resource, status);
    Ok(None)
}

/// The successor to record on the object when the write that records it after a
/// replacement rotation was lost: the Secret already holds the successor's login and
/// names the object's recorded provider object as its predecessor. The Secret is
/// right; left as it is, the step would treat the predecessor as current (retire it
/// while observing it, and name it the predecessor of the next rotation, forgetting
/// the successor at the provider for good).
fn lagging_successor(
    recorded: Option<&str>,
    mark: Option<&Issue>,
    held: Option<&str>,
) -> Option<String> {
    let previous = mark?.previous.as_ref()?;
    let held = held?;
    (recorded == Some(previous.external_name.as_str()) && held != previous.external_name)
        .then(|| held.to_string())
}

/// Deletes the predecessor whose grace period is over, then drops it from the Secret's
/// mark.
async fn retire_previous<K: ManagedKind>(
    connector: &KindConnector<'_, K>,
    slot: &SecretSlot,
    current: &Issue,
    previous: &Previous,
    external_name: &str,
    resource: &<K::Client as ExternalClient>::Resource,
) -> Result<(), Error> {
    let client = connector.connect().await?;
    replace::retire(&client, &previous.external_name)
        .await
        .map_err(Error::External)?;
    let remaining = Issue {
        previous: None,
        ..current.clone()
    };
    let after = connector.with_issue(&remaining, false).connect().await?;
    if let Some(details) = after.details(external_name, resource) {
        slot.publish(&details).await?;
    }
    connector
        .ctx
        .event(
            connector.obj,
            false,
            "PreviousDeleted",
            "Rotate",
            format!(
                "deleted the previous {} {} after its grace period",
                K::WHAT.trim_start_matches("the "),
                previous.external_name
            ),
        )
        .await;
    Ok(())
}

/// On deletion, deletes what rotations may have left: the predecessor in its grace
/// period and a successor created but not yet switched to (looked up only when a
/// successor's create was started and not recorded: [`SUCCESSOR_PENDING`]).
async fn retire_leftovers<K: ManagedKind>(
    connector: &KindConnector<'_, K>,
    current: Option<&Issue>,
) -> Result<(), Error> {
    if state_of(connector.obj).deletion_policy == crate::crd::DeletionPolicy::Orphan {
        return Ok(());
    }
    let Some(current) = current else {
        return Ok(());
    };
    let successor_pending = connector.obj.annotations().contains_key(SUCCESSOR_PENDING);
    if current.previous.is_none() && !successor_pending {
        return Ok(());
    }
    let client = connector.connect().await?;
    if let Some(p) = &current.previous {
        replace::retire(&client, &p.external_name)
            .await
            .map_err(Error::External)?;
    }
    if successor_pending {
        let successor = current.next(Timestamp::now(), None);
        let pending = connector.with_issue(&successor, true).connect().await?;
        replace::retire_successor(&pending)
            .await
            .map_err(Error::External)?;
    }
    Ok(())
}

/// Records the rotation state of the login the Secret now holds in status, with an
/// Event when a rotation completed.
async fn report_rotation<K: ManagedKind>(
    obj: &K,
    ctx: &Ctx,
    slot: &SecretSlot,
    schedule: &rotation::Schedule,
    requested: Option<&str>,
    now: Timestamp,
    status: &mut K::Status,
) {
    obj.report_secret(slot, status);
    let Some(held) = slot.issue() else { return };
    let verdict = rotation::decide(schedule, requested, Some(&held), now);
    let before = status.rotation().rotations.unwrap_or(0);
    let r = status.rotation_mut();
    r.rotations = Some(held.count);
    if held.count > 0 {
        r.last_rotated_at = Some(rotation::rfc3339(held.at));
    }
    r.last_rotation_request = held.request.clone();
    r.next_rotation_at = verdict.next_at.map(rotation::rfc3339);
    if held.count > before {
        let bare = K::WHAT.trim_start_matches("the ");
        ctx.event(
            obj,
            false,
            "Rotated",
            "Rotate",
            format!(
                "rotated the login of the {bare} (rotation {}); Secret {} holds the new one",
                held.count, slot.name
            ),
        )
        .await;
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::managed::rotation::Previous;

    fn mark(previous: Option<&str>) -> Issue {
        Issue {
            previous: previous.map(|p| Previous {
                external_name: p.into(),
                delete_at: Timestamp::UNIX_EPOCH,
            }),
            ..Issue::first(Timestamp::UNIX_EPOCH, None)
        }
    }

    /// (why, the object's recorded ID, the Secret's mark, the ID the Secret holds,
    /// the successor to record)
    type Case = (
        &'static str,
        Option<&'static str>,
        Option<Issue>,
        Option<&'static str>,
        Option<&'static str>,
    );

    #[test]
    fn the_successor_is_recorded_only_when_the_object_lags_the_secret() {
        let cases: &[Case] = &[
            (
                "switched, the object's record lost: record the successor",
                Some("s0"),
                Some(mark(Some("s0"))),
                Some("s1"),
                Some("s1"),
            ),
            (
                "switched and recorded: nothing to do",
                Some("s1"),
                Some(mark(Some("s0"))),
                Some("s1"),
                None,
            ),
            (
                "no rotation yet",
                Some("s0"),
                Some(mark(None)),
                Some("s0"),
                None,
            ),
            ("no mark", Some("s0"), None, Some("s1"), None),
            (
                "the Secret holds no ID",
                Some("s0"),
                Some(mark(Some("s0"))),
                None,
                None,
            ),
            (
                "the user points the object elsewhere: theirs to decide",
                Some("imported"),
                Some(mark(Some("s0"))),
                Some("s1"),
                None,
            ),
        ];
        for (why, recorded, m, held, want) in cases {
            assert_eq!(
                lagging_successor(*recorded, m.as_ref(), *held).as_deref(),
                *want,
                "{why}"
            );
        }
    }
}
