//! Multi-tenant safety of shared provider accounts:
//!
//! - which namespaces may use a ClusterSipProvider (`spec.conditions`);
//! - which hosts may receive a provider key (`run --allowed-provider-hosts`);
//! - fair admission of reconciles per account, round robin between namespaces.
//!
//! The decisions are pure functions; the glue reads a Namespace's labels only when a
//! selector needs them.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::Namespace;
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, Client, Resource, ResourceExt, core::DeserializeGuard};

use super::context::Ctx;
use super::error::Error;
use super::kind::ManagedKind;
use crate::crd::{ClusterSipProviderCondition, ProviderKind, ProviderRef};
use crate::provider::fair::{FairSemaphore, with_fairness_key};

/// The providers' official API hosts: the default of `--allowed-provider-hosts`.
pub const OFFICIAL_HOSTS: &[&str] = &["api.telnyx.com", "api.vobiz.ai"];

/// [`OFFICIAL_HOSTS`] as owned strings.
pub fn default_allowed_hosts() -> Vec<String> {
    OFFICIAL_HOSTS.iter().map(|h| h.to_string()).collect()
}

/// A host name in the form hosts are compared: lower case, no trailing dot, no
/// brackets around an IPv6 address.
fn normalise(host: &str) -> String {
    host.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// Whether the operator may send a provider key to `base_url`: its host must equal
/// one of `allowed` (any port, any scheme the schema admits). The error is a sentence
/// naming the field and the rule.
pub fn host_allowed(base_url: &str, allowed: &[String]) -> Result<(), String> {
    let host = reqwest::Url::parse(base_url)
        .ok()
        .and_then(|u| u.host_str().map(normalise))
        .filter(|h| !h.is_empty())
        .ok_or_else(|| format!("baseURL {base_url:?} has no host"))?;
    if allowed.iter().any(|a| normalise(a) == host) {
        return Ok(());
    }
    Err(format!(
        "baseURL host {host:?} is not one of the operator's allowed provider hosts ({}); the key was not sent. Use an allowed host or ask the platform team to add it to --allowed-provider-hosts",
        allowed.join(", ")
    ))
}

/// Whether deciding on namespace `ns` needs its labels: no entry names it and some
/// entry has a selector.
pub fn needs_labels(conditions: &[ClusterSipProviderCondition], ns: &str) -> bool {
    !conditions.is_empty()
        && !names(conditions, ns)
        && conditions.iter().any(|c| c.namespace_selector.is_some())
}

fn names(conditions: &[ClusterSipProviderCondition], ns: &str) -> bool {
    conditions
        .iter()
        .any(|c| c.namespaces.iter().flatten().any(|n| n == ns))
}

/// Whether namespace `ns` with `labels` may use a ClusterSipProvider with these
/// `conditions`: no conditions allow every namespace; otherwise any entry naming the
/// namespace or selecting its labels allows it. An invalid selector is an error (the
/// spec is wrong), reported with its index.
pub fn namespace_allowed(
    conditions: &[ClusterSipProviderCondition],
    ns: &str,
    labels: &BTreeMap<String, String>,
) -> Result<bool, String> {
    if conditions.is_empty() || names(conditions, ns) {
        return Ok(true);
    }
    for (i, c) in conditions.iter().enumerate() {
        if let Some(sel) = &c.namespace_selector {
            let sel = kube::core::Selector::try_from(sel.clone()).map_err(|e| {
                format!("spec.conditions[{i}].namespaceSelector is not a valid label selector: {e}")
            })?;
            if kube::core::SelectorExt::matches(&sel, labels) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Refuses an object of namespace `ns` that ClusterSipProvider `provider` does not
/// allow. Reads the Namespace's labels only when a selector needs them; a Namespace
/// that cannot be found has none.
pub async fn check_namespace(
    client: &Client,
    provider: &str,
    conditions: &[ClusterSipProviderCondition],
    ns: &str,
) -> Result<(), Error> {
    let labels = if needs_labels(conditions, ns) {
        Api::<Namespace>::all(client.clone())
            .get_metadata_opt(ns)
            .await?
            .and_then(|n| n.metadata.labels)
            .unwrap_or_default()
    } else {
        BTreeMap::new()
    };
    match namespace_allowed(conditions, ns, &labels) {
        Ok(true) => Ok(()),
        Ok(false) => Err(Error::NotAllowed(format!(
            "ClusterSipProvider {provider} does not allow namespace {ns:?}: it matches none of the provider's spec.conditions (namespaces by name or namespaceSelector); ask the platform team to allow it, or use another provider"
        ))),
        Err(e) => Err(Error::NotAllowed(format!(
            "ClusterSipProvider {provider}: {e}; no namespace is allowed through that entry"
        ))),
    }
}

/// Objects of a controller's cache in namespace `ns`: the ones to re-check when the
/// namespace's labels change.
pub fn in_namespace<K>(
    store: &Store<DeserializeGuard<K>>,
    ns: &str,
) -> Vec<ObjectRef<DeserializeGuard<K>>>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    store
        .state()
        .into_iter()
        .filter(|o| o.namespace().as_deref() == Some(ns))
        .map(|o| ObjectRef::from_obj(o.as_ref()))
        .collect()
}

/// Hash of a Namespace's labels: the only change of a Namespace that matters here.
pub fn namespace_labels<K: Resource>(obj: &K) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    obj.meta().labels.hash(&mut h);
    Some(h.finish())
}

/// The account an object's reconciles queue for: one per provider object.
pub fn account_key(r: &ProviderRef, ns: &str) -> String {
    match r.kind() {
        ProviderKind::ClusterSipProvider => format!("ClusterSipProvider/{}", r.name),
        ProviderKind::SipProvider => format!("SipProvider/{ns}/{}", r.name),
    }
}

/// Reconciles in flight for an account allowed `requests_per_second`, at least
/// `floor`: a reconcile makes one or two provider calls and a few Kubernetes writes
/// in about 100-250 ms, so a quarter of the rate keeps the account's budget in use
/// at provider latencies up to about 250 ms, where a fixed handful of slots would
/// leave a 100 req/s account at a fraction of its rate. At most 256.
pub fn reconcile_slots(requests_per_second: u32, floor: usize) -> usize {
    (requests_per_second as usize)
        .div_ceil(4)
        .clamp(floor.max(1), 256.max(floor))
}

/// Reconcile slots per provider account, each a [`FairSemaphore`] keyed by namespace:
/// at most [`reconcile_slots`] reconciles of one account run at once, and when one
/// ends the next namespace in turn gets the slot. Accounts do not wait for each other.
#[derive(Debug)]
pub struct FairGates {
    floor: usize,
    gates: Mutex<HashMap<String, FairSemaphore>>,
}

impl FairGates {
    /// Gates of at least `floor` reconciles per account.
    pub fn new(floor: usize) -> Arc<Self> {
        Arc::new(Self {
            floor: floor.max(1),
            gates: Mutex::new(HashMap::new()),
        })
    }

    /// The gate of `account`, sized for its rate when it is known (an account is
    /// read by the first reconcile that uses it, so the first ones pass with the
    /// floor), and resized when the rate changes.
    fn gate(&self, account: &str, requests_per_second: Option<u32>) -> FairSemaphore {
        let slots = requests_per_second.map_or(self.floor, |r| reconcile_slots(r, self.floor));
        let gate = self
            .gates
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(account.to_string())
            .or_insert_with(|| FairSemaphore::new(slots))
            .clone();
        if gate.slots() != slots {
            gate.resize(slots);
        }
        gate
    }
}

/// Wraps a kind's reconcile: it waits for its account's slot in its namespace's turn,
/// and its provider requests take turns by namespace in the account's rate limiter.
///
/// Every object the controller schedules waits here at once (the controller itself is
/// unbounded), so what waits is kept small: the reconcile, its future and its typed
/// copy of the object exist only once the slot is taken. Built before the wait, a
/// whole reconcile future per queued object made up most of the operator's memory
/// with thousands of objects queued.
pub fn fairly<K, F>(
    gates: Arc<FairGates>,
    cache: Store<DeserializeGuard<K>>,
    reconcile: F,
) -> impl Fn(Arc<DeserializeGuard<K>>, Arc<Ctx>) -> BoxFuture<'static, Result<Action, Error>>
+ Send
+ Sync
+ Clone
+ 'static
where
    K: ManagedKind,
    F: Fn(Arc<DeserializeGuard<K>>, Arc<Ctx>) -> BoxFuture<'static, Result<Action, Error>>
        + Send
        + Sync
        + Clone
        + 'static,
{
    move |obj, ctx| {
        // A malformed object is only reported: it calls no provider.
        let Ok(k) = &obj.0 else {
            return reconcile(obj, ctx);
        };
        let ns = k.namespace().unwrap_or_default();
        let account = account_key(k.provider_ref(), &ns);
        let gate = gates.gate(&account, ctx.account_rps(&account));
        let reconcile = reconcile.clone();
        let cache = cache.clone();
        // While it waits for a slot (seconds, with thousands queued) a reconcile holds
        // only the reference: the object is taken from the cache when the slot is
        // granted, so it is decided from the newest version seen (a copy taken at
        // queueing could predate this process's own last writes) and a queue of
        // thousands holds no copies.
        let reference = ObjectRef::from_obj(obj.as_ref());
        drop(obj);
        Box::pin(async move {
            let _slot = gate.acquire(&ns).await;
            let Some(obj) = cache.get(&reference) else {
                // Deleted meanwhile: the deletion's own event reconciles what is left.
                return Ok(Action::await_change());
            };
            with_fairness_key(ns, reconcile(obj, ctx)).await
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

    fn by_names(ns: &[&str]) -> ClusterSipProviderCondition {
        ClusterSipProviderCondition {
            namespaces: Some(ns.iter().map(|s| s.to_string()).collect()),
            namespace_selector: None,
        }
    }

    fn by_labels(labels: &[(&str, &str)]) -> ClusterSipProviderCondition {
        ClusterSipProviderCondition {
            namespaces: None,
            namespace_selector: Some(LabelSelector {
                match_labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
                match_expressions: None,
            }),
        }
    }

    fn by_expr(key: &str, op: &str, values: &[&str]) -> ClusterSipProviderCondition {
        ClusterSipProviderCondition {
            namespaces: None,
            namespace_selector: Some(LabelSelector {
                match_labels: None,
                match_expressions: Some(vec![LabelSelectorRequirement {
                    key: key.into(),
                    operator: op.into(),
                    values: Some(values.iter().map(|s| s.to_string()).collect()),
                }]),
            }),
        }
    }

    fn labels(l: &[(&str, &str)]) -> BTreeMap<String, String> {
        l.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// (name, conditions, namespace, its labels, allowed).
    type Case<'a> = (
        &'a str,
        Vec<ClusterSipProviderCondition>,
        &'a str,
        &'a BTreeMap<String, String>,
        bool,
    );

    #[test]
    fn reconcile_slots_follow_the_accounts_rate() {
        // (requests per second, --concurrency, reconciles in flight)
        let cases = [
            (10, 4, 4),
            (16, 4, 4),
            (20, 4, 5),
            (100, 4, 25),
            (100, 32, 32),
            (1_000, 4, 250),
            (10_000, 4, 256),
            (10_000, 300, 300),
            (1, 0, 1),
        ];
        for (rps, floor, want) in cases {
            assert_eq!(
                reconcile_slots(rps, floor),
                want,
                "{rps} req/s, floor {floor}"
            );
        }
    }

    #[test]
    fn an_accounts_gate_follows_its_rate() {
        let gates = FairGates::new(4);
        assert_eq!(gates.gate("SipProvider/a/p", None).slots(), 4);
        assert_eq!(gates.gate("SipProvider/a/p", Some(100)).slots(), 25);
        assert_eq!(gates.gate("SipProvider/a/p", Some(10)).slots(), 4);
        assert_eq!(gates.gate("SipProvider/b/p", Some(1_000)).slots(), 250);
    }

    #[test]
    fn namespace_conditions() {
        let team_a = labels(&[("team", "a")]);
        let none = labels(&[]);
        let cases: Vec<Case> = vec![
            (
                "absent conditions allow every namespace (today's behaviour)",
                vec![],
                "x",
                &none,
                true,
            ),
            (
                "a listed name",
                vec![by_names(&["x", "y"])],
                "y",
                &none,
                true,
            ),
            (
                "an unlisted name",
                vec![by_names(&["x"])],
                "z",
                &team_a,
                false,
            ),
            (
                "matching labels",
                vec![by_labels(&[("team", "a")])],
                "z",
                &team_a,
                true,
            ),
            (
                "labels that differ",
                vec![by_labels(&[("team", "b")])],
                "z",
                &team_a,
                false,
            ),
            (
                "no labels at all",
                vec![by_labels(&[("team", "a")])],
                "z",
                &none,
                false,
            ),
            (
                "entries are ORed: the name matches",
                vec![by_labels(&[("team", "b")]), by_names(&["z"])],
                "z",
                &none,
                true,
            ),
            (
                "entries are ORed: the selector matches",
                vec![by_names(&["x"]), by_labels(&[("team", "a")])],
                "z",
                &team_a,
                true,
            ),
            (
                "an expression In",
                vec![by_expr("team", "In", &["a", "c"])],
                "z",
                &team_a,
                true,
            ),
            (
                "an expression NotIn",
                vec![by_expr("team", "NotIn", &["a"])],
                "z",
                &team_a,
                false,
            ),
            (
                "an empty selector matches every namespace",
                vec![by_labels(&[])],
                "z",
                &none,
                true,
            ),
        ];
        for (name, conds, ns, l, want) in cases {
            assert_eq!(namespace_allowed(&conds, ns, l), Ok(want), "{name}");
        }
    }

    #[test]
    fn an_invalid_selector_is_reported_with_its_index() {
        let conds = vec![by_names(&["x"]), by_expr("team", "Sometimes", &["a"])];
        let err = namespace_allowed(&conds, "z", &labels(&[("team", "a")])).unwrap_err();
        assert!(
            err.starts_with("spec.conditions[1].namespaceSelector"),
            "{err}"
        );
    }

    #[test]
    fn labels_are_read_only_when_a_selector_decides() {
        // (name, conditions, namespace, needs labels)
        let cases = [
            ("no conditions", vec![], "x", false),
            ("names only", vec![by_names(&["x"])], "z", false),
            (
                "named, the selector is moot",
                vec![by_names(&["x"]), by_labels(&[("t", "a")])],
                "x",
                false,
            ),
            (
                "a selector decides",
                vec![by_names(&["x"]), by_labels(&[("t", "a")])],
                "z",
                true,
            ),
        ];
        for (name, conds, ns, want) in cases {
            assert_eq!(needs_labels(&conds, ns), want, "{name}");
        }
    }

    #[test]
    fn provider_hosts() {
        let official = default_allowed_hosts();
        let lo = vec![
            "127.0.0.1".to_string(),
            "API.Example.com.".to_string(),
            "::1".to_string(),
        ];
        // (name, baseURL, allowed list, allowed)
        let cases = [
            (
                "the Telnyx default",
                "https://api.telnyx.com/v2",
                &official,
                true,
            ),
            (
                "the Vobiz default",
                "https://api.vobiz.ai/api/v1",
                &official,
                true,
            ),
            (
                "any port of an allowed host",
                "https://api.telnyx.com:8443/v2",
                &official,
                true,
            ),
            (
                "an in-cluster service",
                "http://billing.internal.svc:80/v2",
                &official,
                false,
            ),
            (
                "a look-alike suffix",
                "https://api.telnyx.com.evil.example/v2",
                &official,
                false,
            ),
            (
                "user info cannot smuggle a host",
                "https://api.telnyx.com@evil.example/v2",
                &official,
                false,
            ),
            (
                "loopback when listed",
                "http://127.0.0.1:4010/v2",
                &lo,
                true,
            ),
            (
                "localhost is not 127.0.0.1",
                "http://localhost:4010/v2",
                &lo,
                false,
            ),
            (
                "case and a trailing dot do not matter",
                "https://api.example.COM/v2",
                &lo,
                true,
            ),
            ("IPv6 in brackets", "http://[::1]:4010/v2", &lo, true),
            ("not a URL", "api.telnyx.com", &official, false),
        ];
        for (name, url, allowed, want) in cases {
            assert_eq!(host_allowed(url, allowed).is_ok(), want, "{name}");
        }
        let err = host_allowed("http://10.0.0.5/v2", &official).unwrap_err();
        assert!(
            err.contains("\"10.0.0.5\"") && err.contains("api.telnyx.com, api.vobiz.ai"),
            "{err}"
        );
    }

    #[test]
    fn one_gate_per_account() {
        let r = |kind, name: &str| ProviderRef {
            kind: Some(kind),
            name: name.into(),
        };
        assert_eq!(
            account_key(&r(ProviderKind::ClusterSipProvider, "shared"), "a"),
            account_key(&r(ProviderKind::ClusterSipProvider, "shared"), "b"),
            "namespaces share a ClusterSipProvider's account"
        );
        assert_ne!(
            account_key(&r(ProviderKind::SipProvider, "p"), "a"),
            account_key(&r(ProviderKind::SipProvider, "p"), "b"),
            "SipProviders of the same name in two namespaces are two accounts"
        );
    }
}
