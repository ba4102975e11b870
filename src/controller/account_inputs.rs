//! What resolving a provider account reads from the API server (the SipProvider or
//! ClusterSipProvider and its key Secret), kept for the reconciles of the objects that
//! use the account.
//!
//! Every reconcile of a managed object resolves its account. Read afresh each time,
//! that is two GETs per reconcile on top of the object's own Secret. Kept here they
//! cost about one GET per account per [`TTL`]: at 1,000 objects (BENCHMARKS.md) the
//! Kubernetes reads per object to converge fell from 11.60 to 7.54 (SipProvider GETs
//! 3.13 to 0.13, Secret GETs 6.25 to 3.67), and the reads of one resync from 3,195 to
//! 1,292.
//!
//! Only usable values are kept: a provider reporting Ready=True, a key Secret holding
//! the keys asked for. A missing or failing account is read afresh each time, so the
//! wait for it to be fixed never depends on this cache.
//!
//! A provider is forgotten as soon as its watch passes a change of its generation or
//! readiness ([`AccountInputs::forget_provider`], before the dependants are woken), so
//! woken dependants read the new one. The key Secret is not watched (the operator
//! caches only the Secrets it writes): it is read afresh by the account's own check,
//! which also refreshes it here, after [`TTL`], and after the provider refused a key
//! ([`AccountInputs::forget_keys`]). A value read while something was forgotten is not
//! kept, so a read that raced a change never outlives it.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use secrecy::SecretString;

/// How long a kept value is used without reading it again.
pub const TTL: Duration = Duration::from_secs(30);

type Kept<T> = HashMap<String, (Instant, T)>;

/// The kept providers and key values. One per process, in the controllers' context.
#[derive(Default)]
pub struct AccountInputs {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Bumped by every forget: a value read before it is not kept.
    epoch: u64,
    providers: Kept<Arc<dyn Any + Send + Sync>>,
    keys: Kept<Arc<BTreeMap<String, SecretString>>>,
}

/// Where a read began: hand it back to keep what the read found.
#[derive(Clone, Copy, Debug)]
pub struct ReadStart(u64);

impl AccountInputs {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks the start of a read from the API server.
    pub fn start_read(&self) -> ReadStart {
        ReadStart(self.lock().epoch)
    }

    /// A provider object kept under `key` less than [`TTL`] ago.
    pub fn provider<P: Send + Sync + 'static>(&self, key: &str) -> Option<Arc<P>> {
        let st = self.lock();
        let (at, p) = st.providers.get(key)?;
        if at.elapsed() >= TTL {
            return None;
        }
        p.clone().downcast::<P>().ok()
    }

    /// Keeps a provider read since `start`, unless something was forgotten meanwhile.
    pub fn keep_provider<P: Send + Sync + 'static>(&self, key: &str, start: ReadStart, p: Arc<P>) {
        let mut st = self.lock();
        if st.epoch == start.0 {
            st.providers.insert(key.to_owned(), (Instant::now(), p));
        }
    }

    /// Forgets a provider whose generation or readiness changed.
    pub fn forget_provider(&self, key: &str) {
        let mut st = self.lock();
        st.epoch += 1;
        st.providers.remove(key);
    }

    /// The values of a key Secret kept less than [`TTL`] ago.
    pub fn keys(&self, secret: &str) -> Option<Arc<BTreeMap<String, SecretString>>> {
        let st = self.lock();
        let (at, k) = st.keys.get(secret)?;
        (at.elapsed() < TTL).then(|| k.clone())
    }

    /// Keeps the values of a key Secret read since `start`, unless something was
    /// forgotten meanwhile.
    pub fn keep_keys(
        &self,
        secret: &str,
        start: ReadStart,
        values: Arc<BTreeMap<String, SecretString>>,
    ) {
        let mut st = self.lock();
        if st.epoch == start.0 {
            st.keys.insert(secret.to_owned(), (Instant::now(), values));
        }
    }

    /// Forgets every key: a provider refused one, and which account it was is not
    /// known where the refusal is handled. Keys are read again at the next use.
    pub fn forget_keys(&self) {
        let mut st = self.lock();
        st.epoch += 1;
        st.keys.clear();
    }
}

/// The key under which a provider object is kept.
pub fn provider_key(kind: crate::crd::ProviderKind, namespace: Option<&str>, name: &str) -> String {
    match kind {
        crate::crd::ProviderKind::SipProvider => {
            format!("SipProvider/{}/{name}", namespace.unwrap_or_default())
        }
        crate::crd::ProviderKind::ClusterSipProvider => format!("ClusterSipProvider/{name}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_kept_provider_is_used_until_forgotten() {
        let c = AccountInputs::default();
        let start = c.start_read();
        c.keep_provider("SipProvider/a/p", start, Arc::new(7u32));
        assert_eq!(c.provider::<u32>("SipProvider/a/p").as_deref(), Some(&7));
        assert_eq!(c.provider::<u64>("SipProvider/a/p"), None, "another type");
        assert_eq!(c.provider::<u32>("SipProvider/b/p"), None);
        c.forget_provider("SipProvider/a/p");
        assert_eq!(c.provider::<u32>("SipProvider/a/p"), None);
    }

    #[test]
    fn a_read_that_raced_a_forget_is_not_kept() {
        let c = AccountInputs::default();
        let start = c.start_read();
        // The provider changed (its watch passed it) while the read was in flight.
        c.forget_provider("SipProvider/a/p");
        c.keep_provider("SipProvider/a/p", start, Arc::new(1u32));
        assert_eq!(c.provider::<u32>("SipProvider/a/p"), None);
        let values = Arc::new(BTreeMap::from([(
            "apiKey".to_string(),
            SecretString::from("k"),
        )]));
        let start = c.start_read();
        c.forget_keys();
        c.keep_keys("ns/key", start, values.clone());
        assert!(c.keys("ns/key").is_none());
        let start = c.start_read();
        c.keep_keys("ns/key", start, values);
        assert!(c.keys("ns/key").is_some());
        c.forget_keys();
        assert!(c.keys("ns/key").is_none(), "a refused key is read again");
    }

    #[test]
    fn provider_keys_name_the_kind_and_the_namespace_of_a_namespaced_one() {
        use crate::crd::ProviderKind as K;
        assert_eq!(
            provider_key(K::SipProvider, Some("a"), "p"),
            "SipProvider/a/p"
        );
        assert_eq!(
            provider_key(K::ClusterSipProvider, None, "p"),
            "ClusterSipProvider/p"
        );
        assert_ne!(
            provider_key(K::SipProvider, Some("a"), "p"),
            provider_key(K::SipProvider, Some("b"), "p")
        );
    }
}
