//! Shared state of every controller: the client, the Event recorder, the provider
//! account registry and per-object failure counts.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Api, Client, Resource, ResourceExt};
use secrecy::SecretString;

use super::account_inputs::{AccountInputs, provider_key};
use super::error::{Error, backoff};
use crate::crd::{ClusterSipProvider, ProviderKind, ProviderRef, SipProvider, condition::READY};
use crate::provider::vobiz::{VobizClient, VobizConfig};
use crate::provider::{RateLimitConfig, RequestObserver, TelnyxClient, TelnyxConfig};

/// Settings of the controllers.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How often Ready objects are re-observed at the provider (drift detection).
    pub resync: Duration,
    /// Per-request timeout towards providers whose account sets no `spec.timeout`.
    pub provider_timeout: Duration,
    /// Hosts a provider `baseURL` may point at (`run --allowed-provider-hosts`); a key
    /// is never sent anywhere else.
    pub allowed_provider_hosts: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            resync: Duration::from_secs(300),
            provider_timeout: Duration::from_secs(30),
            allowed_provider_hosts: super::tenancy::default_allowed_hosts(),
        }
    }
}

/// A provider account client, shared by every object using the account so they share
/// one token bucket.
#[derive(Clone, Debug)]
pub enum Account {
    /// Telnyx.
    Telnyx(TelnyxClient),
    /// Vobiz.
    Vobiz(VobizClient),
}

impl Account {
    /// The Telnyx client, or an [`Error::InvalidProviderRef`] naming the mismatch.
    pub fn telnyx(self, kind: &str) -> Result<TelnyxClient, Error> {
        match self {
            Account::Telnyx(c) => Ok(c),
            Account::Vobiz(_) => Err(mismatch(kind, "Telnyx", "Vobiz")),
        }
    }

    /// The Vobiz client, or an [`Error::InvalidProviderRef`] naming the mismatch.
    pub fn vobiz(self, kind: &str) -> Result<VobizClient, Error> {
        match self {
            Account::Vobiz(c) => Ok(c),
            Account::Telnyx(_) => Err(mismatch(kind, "Vobiz", "Telnyx")),
        }
    }
}

fn mismatch(kind: &str, needs: &str, has: &str) -> Error {
    Error::InvalidProviderRef(format!(
        "spec.providerRef: a {kind} needs a {needs} provider, but it references a {has} account"
    ))
}

/// The newest version of an object this process knows (see
/// [`Ctx::cache_behind_own_write`]).
struct StatusSeen {
    resource_version: String,
    /// [`status_digest`] of its status.
    status: u64,
    /// [`bookkeeping_digest`] of its metadata.
    bookkeeping: u64,
}

impl StatusSeen {
    /// Whether this known version is newer than a cached one: another version, and
    /// the cached one lacks this one's status or bookkeeping.
    fn is_newer_than(&self, resource_version: Option<&str>, status: u64, bookkeeping: u64) -> bool {
        resource_version != Some(self.resource_version.as_str())
            && (self.status != status || self.bookkeeping != bookkeeping)
    }
}

/// A digest of the engine's bookkeeping in an object's metadata: the finalizers and
/// the annotations the engine writes (external name, create-pending markers).
pub fn bookkeeping_digest(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> u64 {
    use crate::managed::{CREATE_PENDING, EXTERNAL_NAME, SUCCESSOR_PENDING};
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    meta.finalizers.hash(&mut h);
    for a in [EXTERNAL_NAME, CREATE_PENDING, SUCCESSOR_PENDING] {
        meta.annotations
            .as_ref()
            .and_then(|m| m.get(a))
            .hash(&mut h);
    }
    h.finish()
}

/// A digest of a status (its JSON), to tell two statuses apart without keeping them.
pub fn status_digest<S: serde::Serialize>(status: Option<&S>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(&status)
        .unwrap_or_default()
        .hash(&mut h);
    h.finish()
}

/// Everything a reconcile needs.
pub struct Ctx {
    /// The Kubernetes client.
    pub client: Client,
    /// The one shared Event recorder (of Warnings: see [`Ctx::event`]).
    pub recorder: Recorder,
    reporter: Reporter,
    /// Settings.
    pub settings: Settings,
    /// Prometheus metrics.
    pub metrics: crate::metrics::Metrics,
    /// Liveness and readiness.
    pub health: crate::server::Health,
    observer: Arc<dyn RequestObserver>,
    accounts: Mutex<HashMap<String, (String, Account)>>,
    /// Providers and key values kept for the dependants' reconciles.
    pub account_inputs: AccountInputs,
    /// The Secrets this process wrote (see `own_writes`).
    pub own_secret_writes: super::own_writes::OwnSecretWrites,
    failures: Mutex<HashMap<String, u32>>,
    /// Per object, the resourceVersion of the object this process last wrote a
    /// status from (see [`Ctx::cache_behind_own_write`]).
    written_status: Mutex<HashMap<String, StatusSeen>>,
    /// Requests per second of each account as last read, by
    /// [`tenancy::account_key`](super::tenancy::account_key): what the account's
    /// reconcile slots follow.
    rates: Mutex<HashMap<String, u32>>,
}

impl Ctx {
    /// Builds the context.
    pub fn new(
        client: Client,
        settings: Settings,
        metrics: crate::metrics::Metrics,
        health: crate::server::Health,
    ) -> Arc<Self> {
        let observer: Arc<dyn RequestObserver> = Arc::new(metrics.clone());
        let reporter = Reporter {
            controller: "sipcred-operator".into(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Arc::new(Self {
            recorder: Recorder::new(client.clone(), reporter.clone()),
            reporter,
            client,
            settings,
            metrics,
            health,
            observer,
            accounts: Mutex::new(HashMap::new()),
            account_inputs: AccountInputs::default(),
            own_secret_writes: Default::default(),
            failures: Mutex::new(HashMap::new()),
            written_status: Mutex::new(HashMap::new()),
            rates: Mutex::new(HashMap::new()),
        })
    }

    /// Publishes an Event; failures to publish are logged, never fatal. Notes are
    /// truncated to 1 KiB.
    ///
    /// Only Warnings go through the shared recorder, whose cache turns a failure that
    /// repeats into one Event with a count. A Normal Event reports a change that
    /// happened once (created, updated, deleted), so nothing would ever be counted on
    /// it, while that cache keeps every Event it published for six minutes: its table
    /// of whole Events alone was about 3 KiB per object at N = 1,000 (heap profile),
    /// all of it while a backlog converges. Normal Events go through a recorder that
    /// is dropped after the call.
    pub async fn event<K: Resource<DynamicType = ()>>(
        &self,
        obj: &K,
        warning: bool,
        reason: &str,
        action: &str,
        note: String,
    ) {
        let ev = Event {
            type_: if warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: reason.to_string(),
            note: Some(note.chars().take(1024).collect()),
            action: action.to_string(),
            secondary: None,
        };
        let published = if warning {
            self.recorder.publish(&ev, &obj.object_ref(&())).await
        } else {
            Recorder::new(self.client.clone(), self.reporter.clone())
                .publish(&ev, &obj.object_ref(&()))
                .await
        };
        if let Err(e) = published {
            tracing::warn!(error = %e, "publishing an event failed");
        }
    }

    /// Records the outcome of one reconcile (metrics and liveness).
    pub fn observe_reconcile(
        &self,
        kind: &str,
        result: Result<(), &str>,
        elapsed: std::time::Duration,
    ) {
        self.metrics.reconcile(
            kind,
            result.err().unwrap_or(crate::metrics::RESULT_SUCCESS),
            elapsed,
        );
        self.health.heartbeat();
    }

    /// Records a failure of `key` and returns the requeue delay.
    pub fn failed(&self, key: &str, transient: bool) -> Duration {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let n = f.entry(key.to_string()).or_insert(0);
        *n = n.saturating_add(1);
        backoff(*n, transient)
    }

    /// Whether the cached object `key` (at `resource_version`, with a status whose
    /// [`status_digest`] is `status` and a metadata whose [`bookkeeping_digest`] is
    /// `bookkeeping`) is known to be behind the API server: it is not the version this
    /// process last read or wrote, and it lacks the status or the bookkeeping this
    /// process last read or wrote. Under load the watch lagged by 5-13 s at 10,000
    /// objects, so the cache still showed a version from before this process's own
    /// last write; deciding from it wrote that status again (1,300-2,600 such writes
    /// fell in a 30 s window of steady state), lost the race of a bookkeeping patch
    /// guarded by the stale resourceVersion (a 409 for nearly every new
    /// TelephonyCredential, whose first status waits for Telnyx's activation), and
    /// could miss a write made since by anyone. A status changed by someone else also
    /// reads as behind, once: the object is then read as stored and
    /// [`Ctx::status_seen`] records it.
    pub fn cache_behind_own_write(
        &self,
        key: &str,
        resource_version: Option<&str>,
        status: u64,
        bookkeeping: u64,
    ) -> bool {
        self.written_status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .is_some_and(|seen| seen.is_newer_than(resource_version, status, bookkeeping))
    }

    /// Records the newest version of `key` this process knows: the one a reconcile
    /// decided from, or the one its last write produced.
    pub fn status_seen(&self, key: &str, resource_version: String, status: u64, bookkeeping: u64) {
        self.written_status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                key.to_string(),
                StatusSeen {
                    resource_version,
                    status,
                    bookkeeping,
                },
            );
    }

    /// Requests per second of the account `key` ([`tenancy::account_key`]), once
    /// any object has used it.
    ///
    /// [`tenancy::account_key`]: super::tenancy::account_key
    pub fn account_rps(&self, key: &str) -> Option<u32> {
        self.rates
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .copied()
    }

    /// Forgets what was written for `key` (the object is released).
    pub fn forget(&self, key: &str) {
        self.written_status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    /// Clears the failure count of `key`.
    pub fn succeeded(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    /// Resolves a provider reference to an account client. With `require_ready`, the
    /// provider object must report Ready=True (the provider controller checked its key).
    /// Refuses, before any provider call, a namespace a ClusterSipProvider does not
    /// allow (`namespace` is empty for the provider's own check) and a baseURL whose
    /// host is not allowed.
    pub async fn account(
        &self,
        namespace: &str,
        r: &ProviderRef,
        require_ready: bool,
    ) -> Result<Account, Error> {
        // A dependant's reconcile uses what was kept (see `account_inputs`); the
        // account's own check and a deletion read afresh, and refresh what is kept.
        let kept = require_ready;
        let (spec, status, label, secret_ns) = match r.kind() {
            ProviderKind::SipProvider => {
                let api = Api::<SipProvider>::namespaced(self.client.clone(), namespace);
                let p = self
                    .read_provider(
                        kept,
                        provider_key(ProviderKind::SipProvider, Some(namespace), &r.name),
                        |p: &SipProvider| {
                            reports_ready(p.status.as_ref().map(|s| &s.conditions[..]))
                        },
                        || api.get_opt(&r.name),
                    )
                    .await?
                    .ok_or_else(|| {
                        Error::ProviderNotReady(format!(
                            "SipProvider {namespace}/{} not found",
                            r.name
                        ))
                    })?;
                let spec = ProviderSpecView::from_local(&p.spec);
                (
                    spec,
                    p.status.clone(),
                    format!("SipProvider {namespace}/{}", r.name),
                    namespace.to_string(),
                )
            }
            ProviderKind::ClusterSipProvider => {
                let api = Api::<ClusterSipProvider>::all(self.client.clone());
                let p = self
                    .read_provider(
                        kept,
                        provider_key(ProviderKind::ClusterSipProvider, None, &r.name),
                        |p: &ClusterSipProvider| {
                            reports_ready(p.status.as_ref().map(|s| &s.conditions[..]))
                        },
                        || api.get_opt(&r.name),
                    )
                    .await?
                    .ok_or_else(|| {
                        Error::ProviderNotReady(format!("ClusterSipProvider {} not found", r.name))
                    })?;
                if !namespace.is_empty() {
                    super::tenancy::check_namespace(
                        &self.client,
                        &r.name,
                        &p.spec.conditions,
                        namespace,
                    )
                    .await?;
                }
                let spec = ProviderSpecView::from_cluster(&p.spec);
                let ns = spec.secret_namespace.clone().unwrap_or_default();
                (
                    spec,
                    p.status.clone(),
                    format!("ClusterSipProvider {}", r.name),
                    ns,
                )
            }
        };
        let url = spec.base_url.as_deref().unwrap_or(match spec.provider {
            Which::Telnyx => TelnyxConfig::DEFAULT_BASE_URL,
            Which::Vobiz => VobizConfig::DEFAULT_BASE_URL,
        });
        self.rates.lock().unwrap_or_else(|p| p.into_inner()).insert(
            super::tenancy::account_key(r, namespace),
            spec.rps.unwrap_or(10),
        );
        super::tenancy::host_allowed(url, &self.settings.allowed_provider_hosts)
            .map_err(|m| Error::HostNotAllowed(format!("{label}: {m}")))?;
        if require_ready {
            let ready = status
                .as_ref()
                .and_then(|s| s.conditions.iter().find(|c| c.type_ == READY));
            match ready {
                Some(c) if c.status == "True" => {}
                Some(c) => {
                    return Err(Error::ProviderNotReady(format!(
                        "{label} is not Ready: {}",
                        c.message
                    )));
                }
                None => {
                    return Err(Error::Waiting {
                        reason: "ProviderNotReady",
                        message: format!("{label} has not been checked yet"),
                        soon: true,
                    });
                }
            }
        }
        self.build_account(&label, &secret_ns, &spec, kept).await
    }

    /// A provider object: kept (when `kept` allows) or read, and kept when `usable`.
    async fn read_provider<P, F, Fut>(
        &self,
        kept: bool,
        key: String,
        usable: fn(&P) -> bool,
        get: F,
    ) -> Result<Option<Arc<P>>, Error>
    where
        P: Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Option<P>, kube::Error>>,
    {
        if kept && let Some(p) = self.account_inputs.provider::<P>(&key) {
            return Ok(Some(p));
        }
        let start = self.account_inputs.start_read();
        let p = get().await?.map(Arc::new);
        if let Some(p) = &p
            && usable(p)
        {
            self.account_inputs.keep_provider(&key, start, p.clone());
        }
        Ok(p)
    }

    /// The non-empty values of `keys` in the account's key Secret: kept (when `kept`
    /// allows) or read, and kept when every one is there.
    async fn key_values(
        &self,
        label: &str,
        secret_ns: &str,
        name: &str,
        keys: &[&str],
        kept: bool,
    ) -> Result<Arc<BTreeMap<String, SecretString>>, Error> {
        let id = format!("{secret_ns}/{name}");
        let complete = |m: &BTreeMap<String, SecretString>| keys.iter().all(|k| m.contains_key(*k));
        if kept
            && let Some(m) = self.account_inputs.keys(&id)
            && complete(&m)
        {
            return Ok(m);
        }
        let start = self.account_inputs.start_read();
        let secret = Api::<Secret>::namespaced(self.client.clone(), secret_ns)
            .get_opt(name)
            .await?
            .ok_or_else(|| {
                Error::AccountUnusable(format!("{label}: Secret {secret_ns}/{name} not found"))
            })?;
        let m: BTreeMap<String, SecretString> = keys
            .iter()
            .filter_map(|k| Some((k.to_string(), crate::secrets::read_key(Some(&secret), k)?)))
            .collect();
        let m = Arc::new(m);
        if complete(&m) {
            self.account_inputs.keep_keys(&id, start, m.clone());
        }
        Ok(m)
    }

    async fn build_account(
        &self,
        label: &str,
        secret_ns: &str,
        spec: &ProviderSpecView,
        kept: bool,
    ) -> Result<Account, Error> {
        let wanted: Vec<&str> = match spec.provider {
            Which::Telnyx => vec![spec.key_a.as_str()],
            Which::Vobiz => vec![spec.key_a.as_str(), spec.key_b.as_str()],
        };
        let values = self
            .key_values(label, secret_ns, &spec.secret_name, &wanted, kept)
            .await?;
        let read = |key: &str| -> Result<SecretString, Error> {
            values.get(key).cloned().ok_or_else(|| {
                Error::AccountUnusable(format!(
                    "{label}: Secret {secret_ns}/{} has no non-empty key {key:?}",
                    spec.secret_name
                ))
            })
        };
        let rate = RateLimitConfig::for_rate(spec.rps.unwrap_or(10), spec.burst.unwrap_or(20));
        let timeout = spec
            .request_timeout(self.settings.provider_timeout)
            .map_err(|e| Error::InvalidSpec(format!("{label}: {e}")))?;
        let (fingerprint, build): (String, Box<dyn FnOnce() -> Result<Account, Error> + Send>) =
            match spec.provider {
                Which::Telnyx => {
                    let key = read(&spec.key_a)?;
                    let mut cfg = TelnyxConfig::new(key.clone());
                    if let Some(u) = &spec.base_url {
                        cfg.base_url = u.clone();
                    }
                    cfg.rate = rate.clone();
                    cfg.timeout = timeout;
                    cfg.observer = self.observer.clone();
                    let fp = format!(
                        "telnyx|{}|{}|{:?}|{:?}",
                        cfg.base_url,
                        crate::secrets::password_digest("k", &key),
                        rate,
                        timeout
                    );
                    (
                        fp,
                        Box::new(move || {
                            TelnyxClient::new(cfg)
                                .map(Account::Telnyx)
                                .map_err(|e| Error::AccountUnusable(e.to_string()))
                        }),
                    )
                }
                Which::Vobiz => {
                    let id = read(&spec.key_a)?;
                    let token = read(&spec.key_b)?;
                    let id = secrecy::ExposeSecret::expose_secret(&id).to_string();
                    let mut cfg = VobizConfig::new(id.clone(), token.clone());
                    if let Some(u) = &spec.base_url {
                        cfg.base_url = u.clone();
                    }
                    cfg.rate = rate.clone();
                    cfg.timeout = timeout;
                    cfg.observer = self.observer.clone();
                    let fp = format!(
                        "vobiz|{}|{id}|{}|{:?}|{:?}",
                        cfg.base_url,
                        crate::secrets::password_digest("t", &token),
                        rate,
                        timeout
                    );
                    (
                        fp,
                        Box::new(move || {
                            VobizClient::new(cfg)
                                .map(Account::Vobiz)
                                .map_err(|e| Error::AccountUnusable(e.to_string()))
                        }),
                    )
                }
            };
        let mut accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((fp, acc)) = accounts.get(label)
            && *fp == fingerprint
        {
            return Ok(acc.clone());
        }
        let acc = build().map_err(|e| Error::AccountUnusable(format!("{label}: {e}")))?;
        accounts.insert(label.to_string(), (fingerprint, acc.clone()));
        Ok(acc)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    Telnyx,
    Vobiz,
}

/// The parts of either provider kind's spec that building a client needs.
struct ProviderSpecView {
    provider: Which,
    secret_name: String,
    secret_namespace: Option<String>,
    key_a: String,
    key_b: String,
    base_url: Option<String>,
    rps: Option<u32>,
    burst: Option<u32>,
    timeout: Option<String>,
}

impl ProviderSpecView {
    /// The account's `spec.timeout`, or `default` when it has none.
    fn request_timeout(&self, default: Duration) -> Result<Duration, String> {
        self.timeout
            .as_deref()
            .map_or(Ok(default), super::request_timeout::parse)
    }

    fn rate(r: Option<&crate::crd::sip_provider::RateLimit>) -> (Option<u32>, Option<u32>) {
        let c = |v: Option<i32>| v.and_then(|v| u32::try_from(v).ok());
        (
            c(r.and_then(|r| r.requests_per_second)),
            c(r.and_then(|r| r.burst)),
        )
    }

    fn from_local(s: &crate::crd::SipProviderSpec) -> Self {
        let (rps, burst) = Self::rate(s.rate_limit.as_ref());
        match (&s.telnyx, &s.vobiz) {
            (Some(t), _) => Self {
                provider: Which::Telnyx,
                secret_name: t.api_key_secret_ref.name.clone(),
                secret_namespace: None,
                key_a: t
                    .api_key_secret_ref
                    .key
                    .clone()
                    .unwrap_or_else(|| "apiKey".into()),
                key_b: String::new(),
                base_url: t.base_url.clone(),
                rps,
                burst,
                timeout: s.timeout.clone(),
            },
            (None, v) => {
                let r = v.as_ref().map(|v| &v.credentials_secret_ref);
                Self {
                    provider: Which::Vobiz,
                    secret_name: r.map(|r| r.name.clone()).unwrap_or_default(),
                    secret_namespace: None,
                    key_a: r
                        .and_then(|r| r.auth_id_key.clone())
                        .unwrap_or_else(|| "authID".into()),
                    key_b: r
                        .and_then(|r| r.auth_token_key.clone())
                        .unwrap_or_else(|| "authToken".into()),
                    base_url: v.as_ref().and_then(|v| v.base_url.clone()),
                    rps,
                    burst,
                    timeout: s.timeout.clone(),
                }
            }
        }
    }

    fn from_cluster(s: &crate::crd::ClusterSipProviderSpec) -> Self {
        let (rps, burst) = Self::rate(s.rate_limit.as_ref());
        match (&s.telnyx, &s.vobiz) {
            (Some(t), _) => Self {
                provider: Which::Telnyx,
                secret_name: t.api_key_secret_ref.name.clone(),
                secret_namespace: Some(t.api_key_secret_ref.namespace.clone()),
                key_a: t
                    .api_key_secret_ref
                    .key
                    .clone()
                    .unwrap_or_else(|| "apiKey".into()),
                key_b: String::new(),
                base_url: t.base_url.clone(),
                rps,
                burst,
                timeout: s.timeout.clone(),
            },
            (None, v) => {
                let r = v.as_ref().map(|v| &v.credentials_secret_ref);
                Self {
                    provider: Which::Vobiz,
                    secret_name: r.map(|r| r.name.clone()).unwrap_or_default(),
                    secret_namespace: r.map(|r| r.namespace.clone()),
                    key_a: r
                        .and_then(|r| r.auth_id_key.clone())
                        .unwrap_or_else(|| "authID".into()),
                    key_b: r
                        .and_then(|r| r.auth_token_key.clone())
                        .unwrap_or_else(|| "authToken".into()),
                    base_url: v.as_ref().and_then(|v| v.base_url.clone()),
                    rps,
                    burst,
                    timeout: s.timeout.clone(),
                }
            }
        }
    }
}

/// `namespace/name` key of an object, for failure counting and logs.
pub fn key_of<K: Resource<DynamicType = ()>>(obj: &K) -> String {
    format!(
        "{}/{}/{}",
        K::kind(&()),
        obj.namespace().unwrap_or_default(),
        obj.name_any()
    )
}

/// Whether conditions report Ready=True.
fn reports_ready(
    conditions: Option<&[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition]>,
) -> bool {
    conditions
        .unwrap_or_default()
        .iter()
        .any(|c| c.type_ == READY && c.status == "True")
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    #[test]
    fn a_cached_object_is_behind_when_it_lacks_the_last_status_or_bookkeeping_written() {
        let meta = |external: Option<&str>, finalizer: bool| ObjectMeta {
            annotations: external
                .map(|e| [(crate::managed::EXTERNAL_NAME.to_string(), e.to_string())].into()),
            finalizers: finalizer.then(|| vec![crate::managed::FINALIZER.to_string()]),
            ..ObjectMeta::default()
        };
        let created = bookkeeping_digest(&meta(Some("cred-1"), true));
        let pending = bookkeeping_digest(&meta(None, true));
        assert_ne!(created, pending);
        // This process last wrote version 7: the external name, status digest 1.
        let seen = StatusSeen {
            resource_version: "7".into(),
            status: 1,
            bookkeeping: created,
        };
        let cases = [
            ("the version written", Some("7"), 1, created, false),
            (
                "a later version with the same status and bookkeeping (a user's change)",
                Some("9"),
                1,
                created,
                false,
            ),
            (
                "an earlier version without the external name",
                Some("5"),
                1,
                pending,
                true,
            ),
            (
                "an earlier version without the status",
                Some("6"),
                0,
                created,
                true,
            ),
            ("an unknown version", None, 0, pending, true),
        ];
        for (what, rv, status, bookkeeping, behind) in cases {
            assert_eq!(
                seen.is_newer_than(rv, status, bookkeeping),
                behind,
                "{what}"
            );
        }
    }
}
