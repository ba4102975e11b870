//! The Secrets this process wrote, by the resourceVersion each write returned, so that
//! the watch of owned Secrets wakes an owner for what someone else did to its Secret
//! (deleted it, changed it) and not for the operator's own write.
//!
//! An object's Secret is written in the middle of its reconcile, before the provider
//! call that carries its password. Passed on, that write queued another reconcile of
//! the same object while the first still ran, which then read the object's Secret
//! and account again to find nothing to do (BENCHMARKS.md: Kubernetes reads per
//! object at 10,000 objects, R = 100, fell from 3.63 to 3.20 without it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::Secret;
use kube::core::PartialObjectMeta;
use kube::runtime::watcher;

/// The resourceVersion of this process's last write of each Secret, by namespace/name.
#[derive(Clone, Default)]
pub struct OwnSecretWrites(Arc<Mutex<HashMap<String, String>>>);

fn id(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

impl OwnSecretWrites {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a write of this process and the resourceVersion it returned.
    pub fn record(&self, namespace: &str, name: &str, resource_version: Option<String>) {
        let key = id(namespace, name);
        match resource_version {
            Some(rv) => self.lock().insert(key, rv),
            None => self.lock().remove(&key),
        };
    }

    /// Whether a watch event shows a version this process wrote itself.
    fn is_own(&self, namespace: &str, name: &str, resource_version: Option<&str>) -> bool {
        resource_version.is_some()
            && self.lock().get(&id(namespace, name)).map(String::as_str) == resource_version
    }

    fn forget(&self, namespace: &str, name: &str) {
        self.lock().remove(&id(namespace, name));
    }

    /// What an owned-Secret watch event passes on to the owner's controller: a
    /// deletion always, a version of the Secret unless this process wrote it.
    fn passes(
        &self,
        event: watcher::Event<PartialObjectMeta<Secret>>,
    ) -> Option<PartialObjectMeta<Secret>> {
        let names = |s: &PartialObjectMeta<Secret>| {
            (
                s.metadata.namespace.clone().unwrap_or_default(),
                s.metadata.name.clone().unwrap_or_default(),
            )
        };
        match event {
            watcher::Event::Apply(s) | watcher::Event::InitApply(s) => {
                let (ns, name) = names(&s);
                (!self.is_own(&ns, &name, s.metadata.resource_version.as_deref())).then_some(s)
            }
            watcher::Event::Delete(s) => {
                let (ns, name) = names(&s);
                self.forget(&ns, &name);
                Some(s)
            }
            watcher::Event::Init | watcher::Event::InitDone => None,
        }
    }

    /// The owned Secrets of `events` that someone else changed or deleted.
    pub fn foreign_changes<S>(
        &self,
        events: S,
    ) -> impl Stream<Item = Result<PartialObjectMeta<Secret>, watcher::Error>> + Send + 'static
    where
        S: Stream<Item = Result<watcher::Event<PartialObjectMeta<Secret>>, watcher::Error>>
            + Send
            + 'static,
    {
        let writes = self.clone();
        events.filter_map(move |e| {
            let passed = match e {
                Ok(event) => writes.passes(event).map(Ok),
                Err(err) => Some(Err(err)),
            };
            futures::future::ready(passed)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn secret(name: &str, rv: &str) -> PartialObjectMeta<Secret> {
        let mut s = PartialObjectMeta::<Secret>::default();
        s.metadata.namespace = Some("ns".into());
        s.metadata.name = Some(name.into());
        s.metadata.resource_version = Some(rv.into());
        s
    }

    #[test]
    fn only_versions_someone_else_made_and_deletions_wake_the_owner() {
        let w = OwnSecretWrites::default();
        w.record("ns", "a", Some("5".into()));
        let passed = |e| w.passes(e).map(|s| s.metadata.resource_version.unwrap());
        // (event, passed on)
        let cases = [
            (
                "our own write",
                watcher::Event::Apply(secret("a", "5")),
                None,
            ),
            (
                "our own write, relisted",
                watcher::Event::InitApply(secret("a", "5")),
                None,
            ),
            (
                "changed by someone else",
                watcher::Event::Apply(secret("a", "6")),
                Some("6"),
            ),
            (
                "another Secret",
                watcher::Event::Apply(secret("b", "5")),
                Some("5"),
            ),
            (
                "deleted",
                watcher::Event::Delete(secret("a", "5")),
                Some("5"),
            ),
            // Deleted and recreated by someone else with the version number we saw.
            (
                "after a deletion",
                watcher::Event::Apply(secret("a", "5")),
                Some("5"),
            ),
            ("list start", watcher::Event::Init, None),
            ("list end", watcher::Event::InitDone, None),
        ];
        for (what, event, want) in cases {
            assert_eq!(passed(event).as_deref(), want, "{what}");
        }
    }

    #[test]
    fn a_write_without_a_returned_version_is_not_taken_for_any_event() {
        let w = OwnSecretWrites::default();
        w.record("ns", "a", Some("5".into()));
        w.record("ns", "a", None);
        assert!(w.passes(watcher::Event::Apply(secret("a", "5"))).is_some());
        let mut unversioned = secret("a", "5");
        unversioned.metadata.resource_version = None;
        w.record("ns", "a", Some("5".into()));
        assert!(w.passes(watcher::Event::Apply(unversioned)).is_some());
    }
}
