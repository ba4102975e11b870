//! Leader election through a `coordination.k8s.io/v1` Lease (with `kube-lease-manager`).
//!
//! [`run_leader_elected`] waits until this replica holds the Lease, runs the work
//! (the controllers), and stops the work as soon as the lease is lost or can no
//! longer be proven held. It then returns an error and the process is expected to
//! exit and be restarted (the linkerd pattern: the process dies with its lease
//! task), which starts it again as a clean standby.
//!
//! # Timing
//!
//! With lease duration `D` and renew-before `G` (defaults 15 s and 5 s):
//!
//! - the leader renews the Lease every `D - G` (10 s), at `G` before it expires;
//! - a standby re-reads the Lease when the holder's lease would expire, and when it
//!   has not been renewed it clears it and takes it after a random 0.1 to 1 s;
//! - so when the leader dies without releasing (SIGKILL, node loss) a standby takes
//!   over within `D` + 1 s of the last renewal, i.e. between `G` and `D` + 1 s after
//!   the death (at most ~16 s with the defaults);
//! - on a graceful stop (the work returns) the lease is released: a standby that is
//!   waiting notices when the old lease would have expired (again at most `D` after
//!   the last renewal, but without the forced take-over), and a replica that starts
//!   afterwards (the rolling update's new pod) acquires it at once.
//!
//! # Fencing
//!
//! `kube-lease-manager` keeps reporting "leader" while it cannot reach the API
//! server, so on its own a partitioned leader would keep working after a standby
//! took over. While leading, this module therefore reads the Lease itself every
//! `check_interval` and computes the lease's expiry from its `renewTime` (written
//! with this process's own clock). The work is stopped when:
//!
//! - the Lease names another holder, or none ([`LeaderError::Lost`]);
//! - the lease manager reports the loss ([`LeaderError::Lost`]);
//! - the lease cannot be proven held at `expiry - fence_margin`
//!   ([`LeaderError::Expired`]), e.g. during an API partition.
//!
//! A standby takes over no earlier than `expiry` by its own clock, so the two never
//! work at once as long as the clocks of the nodes differ by less than
//! `fence_margin` (default 2 s). Requires `fence_margin + check_interval < renew_before`
//! so a normal renewal is observed before the fence.
//!
//! # Wiring
//!
//! ```ignore
//! let cfg = LeaderConfig::default(); // or LeaderConfig::disabled() for one replica
//! let work = || async move { run_controllers(ctx, shutdown_signal).await };
//! match run_leader_elected(client, cfg, Some(metrics), work).await {
//!     Ok(()) => ExitCode::SUCCESS,            // controllers stopped on SIGTERM; Lease released
//!     Err(e) => { tracing::error!(error = %e); ExitCode::FAILURE } // restart as standby
//! }
//! ```
//!
//! Needs RBAC `get`, `create`, `patch` on `leases.coordination.k8s.io` in the Lease's
//! namespace, and ideally `POD_NAME` / `POD_NAMESPACE` from the downward API.

use std::future::Future;
use std::time::{Duration, SystemTime};

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use kube_lease_manager::{LeaseManagerBuilder, LeaseParams};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::metrics::Metrics;

/// Default name of the leader Lease: the one the binary uses and the RBAC (chart and
/// deploy/) grants by `resourceNames`.
pub const DEFAULT_LEASE_NAME: &str = "sipcred-operator";
/// Default lease duration.
pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(15);
/// Default time before expiry at which the leader renews.
pub const DEFAULT_RENEW_BEFORE: Duration = Duration::from_secs(5);
/// Default interval of the leader's own Lease checks.
pub const DEFAULT_CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// Default safety margin: the leader stops this long before the lease could expire.
pub const DEFAULT_FENCE_MARGIN: Duration = Duration::from_secs(2);
/// Default time allowed to release the Lease after the work finished.
pub const DEFAULT_RELEASE_TIMEOUT: Duration = Duration::from_secs(5);

const SA_NAMESPACE_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/// Leader election settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderConfig {
    /// `false`: no election, the work runs at once (single replica).
    pub enabled: bool,
    /// Name of the Lease object (created if missing).
    pub lease_name: String,
    /// Namespace of the Lease object.
    pub namespace: String,
    /// Holder identity; unique per process (see [`default_identity`]).
    pub identity: String,
    /// How long a renewal keeps the lease (`leaseDurationSeconds`); whole seconds, at least 2 s.
    pub lease_duration: Duration,
    /// The leader renews this long before expiry; whole seconds, at least 1 s, less than
    /// `lease_duration`.
    pub renew_before: Duration,
    /// How often the leader reads the Lease to prove it still holds it.
    pub check_interval: Duration,
    /// The leader stops working this long before its lease could expire; must exceed the
    /// clock skew between nodes.
    pub fence_margin: Duration,
    /// How long to wait for the Lease release after the work finished.
    pub release_timeout: Duration,
}

impl Default for LeaderConfig {
    /// Enabled, [`DEFAULT_LEASE_NAME`] in [`default_namespace`], [`default_identity`].
    fn default() -> Self {
        Self::new(DEFAULT_LEASE_NAME, default_namespace())
    }
}

impl LeaderConfig {
    /// Enabled election on Lease `namespace/lease_name`, default identity and timing.
    pub fn new(lease_name: impl Into<String>, namespace: impl Into<String>) -> Self {
        Self {
            enabled: true,
            lease_name: lease_name.into(),
            namespace: namespace.into(),
            identity: default_identity(),
            lease_duration: DEFAULT_LEASE_DURATION,
            renew_before: DEFAULT_RENEW_BEFORE,
            check_interval: DEFAULT_CHECK_INTERVAL,
            fence_margin: DEFAULT_FENCE_MARGIN,
            release_timeout: DEFAULT_RELEASE_TIMEOUT,
        }
    }

    /// No election: [`run_leader_elected`] runs the work at once.
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::new(DEFAULT_LEASE_NAME, "default")
        }
    }

    /// Sets the holder identity.
    pub fn with_identity(mut self, identity: impl Into<String>) -> Self {
        self.identity = identity.into();
        self
    }

    /// Sets lease duration and renew-before (see the module docs for the timing).
    pub fn with_timing(mut self, lease_duration: Duration, renew_before: Duration) -> Self {
        self.lease_duration = lease_duration;
        self.renew_before = renew_before;
        self
    }

    /// Sets the leader's check interval and fence margin.
    pub fn with_fencing(mut self, check_interval: Duration, fence_margin: Duration) -> Self {
        self.check_interval = check_interval;
        self.fence_margin = fence_margin;
        self
    }

    /// Checks the settings; [`run_leader_elected`] calls it before touching the API.
    pub fn validate(&self) -> Result<(), LeaderError> {
        let invalid = |msg: String| Err(LeaderError::InvalidConfig(msg));
        if self.lease_name.is_empty() || self.namespace.is_empty() || self.identity.is_empty() {
            return invalid("lease name, namespace and identity must not be empty".into());
        }
        let whole = |d: Duration| d.subsec_nanos() == 0;
        if !whole(self.lease_duration) || !whole(self.renew_before) {
            return invalid(format!(
                "lease duration ({:?}) and renew-before ({:?}) must be whole seconds",
                self.lease_duration, self.renew_before
            ));
        }
        if self.lease_duration < Duration::from_secs(2)
            || self.renew_before < Duration::from_secs(1)
        {
            return invalid(
                "lease duration must be at least 2s and renew-before at least 1s".into(),
            );
        }
        if self.renew_before >= self.lease_duration {
            return invalid(format!(
                "renew-before ({:?}) must be less than the lease duration ({:?})",
                self.renew_before, self.lease_duration
            ));
        }
        if self.check_interval.is_zero() || self.fence_margin.is_zero() {
            return invalid("check interval and fence margin must be positive".into());
        }
        if self.fence_margin + self.check_interval >= self.renew_before {
            return invalid(format!(
                "fence margin ({:?}) plus check interval ({:?}) must be less than renew-before ({:?}), \
                 or a normal renewal would not be seen before the fence",
                self.fence_margin, self.check_interval, self.renew_before
            ));
        }
        Ok(())
    }
}

/// `POD_NAME`, else `HOSTNAME`, else `/etc/hostname`, else `sipcred-operator`; plus a
/// random suffix so that a restarted process never resumes its predecessor's lease.
pub fn default_identity() -> String {
    let base = std::env::var("POD_NAME")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "sipcred-operator".to_owned());
    format!("{base}-{:08x}", rand::random::<u32>())
}

/// `POD_NAMESPACE`, else the service account's namespace file, else `default`.
pub fn default_namespace() -> String {
    std::env::var("POD_NAMESPACE")
        .ok()
        .or_else(|| std::fs::read_to_string(SA_NAMESPACE_FILE).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "default".to_owned())
}

/// Why leadership ended or could not start.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    /// Settings rejected by [`LeaderConfig::validate`].
    #[error("invalid leader election settings: {0}")]
    InvalidConfig(String),
    /// The Lease could not be read or created at start, for a reason retrying cannot
    /// fix (e.g. RBAC forbids it).
    #[error("leader Lease {namespace}/{name}: {}", lease_message(source))]
    Lease {
        /// Namespace of the Lease.
        namespace: String,
        /// Name of the Lease.
        name: String,
        /// The lease manager's error.
        #[source]
        source: kube_lease_manager::LeaseManagerError,
    },
    /// Another replica holds the Lease now, or it was released; the work was stopped.
    #[error("lost leader Lease {lease} (holder now: {holder}); work stopped")]
    Lost {
        /// `namespace/name` of the Lease.
        lease: String,
        /// The holder seen, or `none`/`unknown`.
        holder: String,
    },
    /// The lease could not be renewed (or the renewal not confirmed) before it could
    /// expire; the work was stopped so a standby can take over safely.
    #[error("could not prove leader Lease {lease} held before it could expire; work stopped")]
    Expired {
        /// `namespace/name` of the Lease.
        lease: String,
    },
    /// The lease manager's background task ended unexpectedly.
    #[error("leader Lease {lease}: lease task ended: {reason}")]
    TaskEnded {
        /// `namespace/name` of the Lease.
        lease: String,
        /// What ended it.
        reason: String,
    },
}

impl LeaderError {
    /// Whether leadership ended while working (another holder, or a renewal that
    /// could not be proven): the replica stopped on purpose, not because it failed.
    pub fn lost(&self) -> bool {
        matches!(self, LeaderError::Lost { .. } | LeaderError::Expired { .. })
    }
}

/// What one read of the Lease says about this holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseView {
    /// `identity` holds the lease, which expires in `remaining` (zero if already expired).
    Held {
        /// Time until `renewTime + leaseDurationSeconds`.
        remaining: Duration,
    },
    /// Someone else, or no one, holds it.
    NotHeld {
        /// The holder, if any.
        holder: Option<String>,
    },
}

/// Judges a Lease as seen by `identity` at `now`. Pure.
pub fn lease_view(lease: &Lease, identity: &str, now: SystemTime) -> LeaseView {
    let Some(spec) = &lease.spec else {
        return LeaseView::NotHeld { holder: None };
    };
    match spec.holder_identity.as_deref() {
        Some(holder) if holder == identity => {
            let remaining = match (&spec.renew_time, spec.lease_duration_seconds) {
                (Some(renew), Some(secs)) if secs > 0 => {
                    let renewed = SystemTime::from(renew.0);
                    let expiry = renewed + Duration::from_secs(u64::from(secs.unsigned_abs()));
                    expiry.duration_since(now).unwrap_or(Duration::ZERO)
                }
                // A held lease without renew time or duration cannot be trusted.
                _ => Duration::ZERO,
            };
            LeaseView::Held { remaining }
        }
        other => LeaseView::NotHeld {
            holder: other.map(str::to_owned),
        },
    }
}

/// Runs `work` only while this process holds the leader Lease.
///
/// - `cfg.enabled == false`: runs `work` at once and returns its output.
/// - Otherwise waits until the Lease is acquired (forever if need be), then runs
///   `work`. If `work` completes, the Lease is released (so a standby takes over at
///   once) and its output returned. If leadership is lost or cannot be proven (see
///   the module docs), the work future is dropped at its next await point, the lease
///   is *not* touched, and an error is returned: the caller should exit the process
///   (non-zero) and let Kubernetes restart it as a standby.
///
/// `metrics` gets `sipcred_leader` = 1 while the work runs.
///
/// Dropping the returned future drops the work and stops renewing without releasing
/// the Lease (a standby takes over when it expires, as after a crash). For a fast,
/// graceful hand-over on SIGTERM, make `work` return (stop the controllers) instead:
/// the Lease is then released before this function returns.
pub async fn run_leader_elected<F, Fut, T>(
    client: kube::Client,
    cfg: LeaderConfig,
    metrics: Option<Metrics>,
    work: F,
) -> Result<T, LeaderError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = T>,
{
    let set_leader = |leading: bool| {
        if let Some(m) = &metrics {
            m.set_leader(leading);
        }
    };
    if !cfg.enabled {
        tracing::info!("leader election disabled; starting work");
        set_leader(true);
        let out = work().await;
        set_leader(false);
        return Ok(out);
    }
    cfg.validate()?;
    let lease = format!("{}/{}", cfg.namespace, cfg.lease_name);

    let params = LeaseParams::new(
        cfg.identity.clone(),
        cfg.lease_duration.as_secs(),
        cfg.renew_before.as_secs(),
    );
    // A replica starts while the API server may be briefly unavailable (a restart, an
    // etcd election, throttling): such failures are waited out, as the lease task
    // itself does, instead of exiting into a restart backoff.
    let mut wait = Duration::from_millis(200);
    let manager = loop {
        let built = LeaseManagerBuilder::new(client.clone(), cfg.lease_name.clone())
            .with_namespace(cfg.namespace.clone())
            .with_parameters(params.clone())
            .build()
            .await;
        match built {
            Ok(m) => break m,
            Err(source) if transient(&source) => {
                tracing::warn!(%lease, error = %lease_message(&source), retry_ms = wait.as_millis() as u64, "could not read or create the leader Lease; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
            Err(source) => {
                return Err(LeaderError::Lease {
                    namespace: cfg.namespace.clone(),
                    name: cfg.lease_name.clone(),
                    source,
                });
            }
        }
    };
    let (mut leading, task) = manager.watch().await;
    // If this future is dropped, the lease task is aborted without releasing.
    let mut task = LeaseTaskSlot(Some(task));

    tracing::info!(%lease, identity = %cfg.identity, "waiting for leader Lease");
    loop {
        if *leading.borrow_and_update() {
            break;
        }
        if leading.changed().await.is_err() {
            let reason = task.finish_reason().await;
            return Err(LeaderError::TaskEnded { lease, reason });
        }
    }
    let acquired = Instant::now();
    tracing::info!(%lease, identity = %cfg.identity, "acquired leader Lease; starting work");
    set_leader(true);

    let api: Api<Lease> = Api::namespaced(client.clone(), &cfg.namespace);
    let outcome = {
        let work = work();
        tokio::select! {
            biased;
            err = fence(&api, &cfg, &lease, acquired) => Err(err),
            err = wait_lost(&mut leading, &lease) => Err(err),
            out = work => Ok(out),
        }
        // `work` is dropped here, before anything else happens.
    };
    set_leader(false);

    match outcome {
        Ok(out) => {
            tracing::info!(%lease, "work finished; releasing leader Lease");
            // Closing the channel makes the lease task release the Lease and end.
            drop(leading);
            if let Some(mut handle) = task.0.take() {
                match tokio::time::timeout(cfg.release_timeout, &mut handle).await {
                    Ok(Ok(Ok(_))) => tracing::debug!(%lease, "lease task ended"),
                    Ok(Ok(Err(e))) => {
                        tracing::info!(%lease, error = %e, "the lease task could not release the Lease")
                    }
                    Ok(Err(e)) => tracing::warn!(%lease, error = %e, "lease task failed"),
                    Err(_) => {
                        tracing::warn!(%lease, "timed out releasing leader Lease");
                        // A task still running could renew after the release below.
                        handle.abort();
                        let _ = handle.await;
                    }
                }
            }
            // The lease task's release can lose a race with its own last renewal (a
            // 409 on a loaded API server) or decide from a stale view of the Lease:
            // whatever it did, a Lease still held by this replica is released here,
            // so a standby takes over at once instead of after the lease duration.
            match release_if_held(&client, &cfg).await {
                Ok(()) => tracing::info!(%lease, "released leader Lease"),
                Err(e) => tracing::warn!(%lease, error = %e, "could not release leader Lease"),
            }
            Ok(out)
        }
        Err(err) => {
            tracing::error!(%lease, error = %err, "leadership ended; work stopped");
            // Abort before closing the channel: the lease task must not "release" a
            // lease that may already belong to another replica.
            task.abort_now().await;
            drop(leading);
            Err(err)
        }
    }
}

/// Clears the Lease's holder if it is still this replica. A conflict, a throttled or
/// failing API server and a dropped connection (the lease task's last request may
/// have been cut mid-way) are retried until `cfg.release_timeout` has passed.
async fn release_if_held(client: &kube::Client, cfg: &LeaderConfig) -> Result<(), kube::Error> {
    let api: Api<Lease> = Api::namespaced(client.clone(), &cfg.namespace);
    let deadline = Instant::now() + cfg.release_timeout;
    let mut wait = Duration::from_millis(50);
    loop {
        let attempt = async {
            let Some(l) = api.get_opt(&cfg.lease_name).await? else {
                return Ok(());
            };
            let holder = l.spec.as_ref().and_then(|s| s.holder_identity.as_deref());
            if holder != Some(cfg.identity.as_str()) {
                return Ok(());
            }
            let body = serde_json::json!({
                "metadata": {"resourceVersion": l.metadata.resource_version},
                "spec": {"holderIdentity": null, "acquireTime": null, "renewTime": null}
            });
            api.patch(
                &cfg.lease_name,
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(&body),
            )
            .await
            .map(drop)
        };
        match attempt.await {
            Ok(()) => return Ok(()),
            Err(e) if retry_release(&e) && Instant::now() + wait < deadline => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(1));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Whether a failed release attempt is worth another try: not a refusal or a bad request.
fn retry_release(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(s) => s.code == 409 || s.code == 429 || s.code >= 500,
        _ => true,
    }
}

/// Whether retrying can fix a failure to read or create the Lease: the API server
/// unavailable, failing or throttling, or another replica creating the Lease at the
/// same moment. Not a refusal (401, 403) or a missing namespace (404).
fn transient(e: &kube_lease_manager::LeaseManagerError) -> bool {
    use kube_lease_manager::LeaseManagerError as E;
    match e {
        E::KubeError(kube::Error::Api(s)) => s.code >= 500 || s.code == 429 || s.code == 409,
        E::KubeError(_) | E::LeaseAlreadyExists(_) | E::NonexistentLease(_) => true,
        E::InconsistentState(_) | E::ControlChannelError(_) => false,
    }
}

/// The lease manager's error in words, without the `Debug` form of an API status.
fn lease_message(e: &kube_lease_manager::LeaseManagerError) -> String {
    match e {
        kube_lease_manager::LeaseManagerError::KubeError(k) => {
            crate::controller::error::kube_message(k)
        }
        other => other.to_string(),
    }
}

/// Returns when the lease manager reports that this replica is no longer leader.
async fn wait_lost(leading: &mut watch::Receiver<bool>, lease: &str) -> LeaderError {
    loop {
        match leading.changed().await {
            Ok(()) => {
                if !*leading.borrow_and_update() {
                    return LeaderError::Lost {
                        lease: lease.to_owned(),
                        holder: "unknown".to_owned(),
                    };
                }
            }
            Err(_) => {
                return LeaderError::TaskEnded {
                    lease: lease.to_owned(),
                    reason: "lease task stopped while leading".to_owned(),
                };
            }
        }
    }
}

/// Reads the Lease every `check_interval`; returns when it is held by someone else or
/// cannot be proven held until `expiry - fence_margin`.
async fn fence(
    api: &Api<Lease>,
    cfg: &LeaderConfig,
    lease: &str,
    acquired: Instant,
) -> LeaderError {
    // Until the first read, assume the renewal happened at acquisition (slightly
    // generous by the time the acquisition took to be reported; the margin covers it).
    let mut deadline = (acquired + cfg.lease_duration)
        .checked_sub(cfg.fence_margin)
        .unwrap_or(acquired);
    let mut tick = tokio::time::interval(cfg.check_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let check = async {
            tick.tick().await;
            let limit = cfg.check_interval.max(Duration::from_secs(1));
            tokio::time::timeout(limit, api.get(&cfg.lease_name)).await
        };
        tokio::select! {
            biased;
            () = tokio::time::sleep_until(deadline) => {
                return LeaderError::Expired { lease: lease.to_owned() };
            }
            read = check => match read {
                Ok(Ok(obj)) => match lease_view(&obj, &cfg.identity, SystemTime::now()) {
                    LeaseView::Held { remaining } => {
                        deadline = (Instant::now() + remaining)
                            .checked_sub(cfg.fence_margin)
                            .unwrap_or_else(Instant::now);
                    }
                    LeaseView::NotHeld { holder } => {
                        return LeaderError::Lost {
                            lease: lease.to_owned(),
                            holder: holder.unwrap_or_else(|| "none".to_owned()),
                        };
                    }
                },
                Ok(Err(e)) => tracing::warn!(%lease, error = %e, "cannot read leader Lease"),
                Err(_) => tracing::warn!(%lease, "timed out reading leader Lease"),
            },
        }
    }
}

type LeaseTask =
    tokio::task::JoinHandle<kube_lease_manager::Result<kube_lease_manager::LeaseManager>>;

struct LeaseTaskSlot(Option<LeaseTask>);

impl LeaseTaskSlot {
    async fn abort_now(&mut self) {
        if let Some(handle) = self.0.take() {
            handle.abort();
            let _ = handle.await;
        }
    }

    async fn finish_reason(&mut self) -> String {
        match self.0.take() {
            Some(handle) => match handle.await {
                Ok(Ok(_)) => "ended without error".to_owned(),
                Ok(Err(e)) => e.to_string(),
                Err(e) => e.to_string(),
            },
            None => "unknown".to_owned(),
        }
    }
}

impl Drop for LeaseTaskSlot {
    fn drop(&mut self) {
        // Still holding a handle here means the caller dropped `run_leader_elected`
        // mid-way: stop renewing without touching the Lease (like a killed process).
        if let Some(handle) = self.0.take() {
            handle.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::coordination::v1::LeaseSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;

    fn lease(holder: Option<&str>, renewed: Option<SystemTime>, secs: Option<i32>) -> Lease {
        Lease {
            metadata: Default::default(),
            spec: Some(LeaseSpec {
                holder_identity: holder.map(str::to_owned),
                renew_time: renewed
                    .map(|t| MicroTime(k8s_openapi::jiff::Timestamp::try_from(t).unwrap())),
                lease_duration_seconds: secs,
                ..Default::default()
            }),
        }
    }

    #[test]
    fn lease_view_cases() {
        let now = SystemTime::now();
        let ago = |s| now - Duration::from_secs(s);
        let cases = [
            (
                "held and fresh",
                lease(Some("me"), Some(ago(3)), Some(15)),
                LeaseView::Held {
                    remaining: Duration::from_secs(12),
                },
            ),
            (
                "held but expired",
                lease(Some("me"), Some(ago(20)), Some(15)),
                LeaseView::Held {
                    remaining: Duration::ZERO,
                },
            ),
            (
                "held without renew time is not trusted",
                lease(Some("me"), None, Some(15)),
                LeaseView::Held {
                    remaining: Duration::ZERO,
                },
            ),
            (
                "someone else",
                lease(Some("other"), Some(ago(1)), Some(15)),
                LeaseView::NotHeld {
                    holder: Some("other".into()),
                },
            ),
            (
                "released",
                lease(None, None, None),
                LeaseView::NotHeld { holder: None },
            ),
            (
                "no spec",
                Lease::default(),
                LeaseView::NotHeld { holder: None },
            ),
        ];
        for (name, l, want) in cases {
            assert_eq!(lease_view(&l, "me", now), want, "{name}");
        }
    }

    #[test]
    fn default_config_is_valid() {
        let cfg = LeaderConfig::new("l", "ns");
        assert!(cfg.validate().is_ok(), "{:?}", cfg.validate());
        assert_eq!(cfg.lease_duration, Duration::from_secs(15));
        assert!(cfg.enabled);
        assert!(!LeaderConfig::disabled().enabled);
    }

    #[test]
    fn invalid_configs_are_rejected() {
        let base = LeaderConfig::new("l", "ns");
        let s = Duration::from_secs;
        let cases = [
            (
                "fractional duration",
                base.clone().with_timing(Duration::from_millis(1500), s(1)),
            ),
            (
                "renew before >= duration",
                base.clone().with_timing(s(5), s(5)),
            ),
            ("duration too short", base.clone().with_timing(s(1), s(1))),
            ("zero renew before", base.clone().with_timing(s(10), s(0))),
            (
                "fence too wide for renewal",
                base.clone().with_fencing(s(1), s(4)),
            ),
            (
                "zero check interval",
                base.clone().with_fencing(Duration::ZERO, s(1)),
            ),
            ("empty identity", base.clone().with_identity("")),
        ];
        for (name, cfg) in cases {
            assert!(
                matches!(cfg.validate(), Err(LeaderError::InvalidConfig(_))),
                "{name}"
            );
        }
    }

    #[test]
    fn identities_are_unique_per_process_start() {
        let a = default_identity();
        let b = default_identity();
        assert_ne!(a, b);
        assert!(!a.is_empty());
    }
}
