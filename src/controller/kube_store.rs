//! The managed engine's bookkeeping, persisted on the Kubernetes object.

use std::fmt::Debug;
use std::sync::Mutex;

use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::context::bookkeeping_digest;
use super::error::Error;
use crate::managed::{CREATE_PENDING, EXTERNAL_NAME, FINALIZER, ObjectStore, SUCCESSOR_PENDING};

/// Writes finalizer and annotations with merge patches guarded by the object's
/// resourceVersion, so a stale view can never overwrite a newer one. A lost race is a
/// 409 Conflict ([`Error::retry`] says: retry promptly, the whole step re-decided
/// against fresh state, since blindly repeating a write such as the create-pending
/// marker on a newer object could duplicate a provider object).
pub struct KubeStore<K: Resource> {
    api: Api<K>,
    name: String,
    current: Mutex<(Option<String>, Vec<String>)>,
    /// The resourceVersion and [`bookkeeping_digest`] of this store's last write.
    written: Mutex<Option<(String, u64)>>,
}

impl<K> KubeStore<K>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    /// A store for `obj`, read through `api`.
    pub fn new(api: Api<K>, obj: &K) -> Self {
        Self {
            api,
            name: obj.name_any(),
            current: Mutex::new((obj.resource_version(), obj.finalizers().to_vec())),
            written: Mutex::new(None),
        }
    }

    fn snapshot(&self) -> (Option<String>, Vec<String>) {
        self.current.lock().map(|g| g.clone()).unwrap_or_default()
    }

    /// The finalizers as last read, with the engine's (a merge patch replaces the
    /// whole list; the resourceVersion guard makes sure no other was added meanwhile).
    fn with_finalizer(&self) -> Vec<String> {
        let (_, mut f) = self.snapshot();
        if !f.iter().any(|x| x == FINALIZER) {
            f.push(FINALIZER.to_string());
        }
        f
    }

    async fn patch(&self, metadata: serde_json::Value) -> kube::Result<()> {
        let (rv, _) = self.snapshot();
        let mut meta = metadata;
        if let (Some(rv), Some(m)) = (rv, meta.as_object_mut()) {
            m.insert("resourceVersion".into(), json!(rv));
        }
        let obj = self
            .api
            .patch(
                &self.name,
                &PatchParams::default(),
                &Patch::Merge(json!({ "metadata": meta })),
            )
            .await?;
        if let Ok(mut g) = self.current.lock() {
            *g = (obj.resource_version(), obj.finalizers().to_vec());
        }
        if let (Ok(mut w), Some(rv)) = (self.written.lock(), obj.resource_version()) {
            *w = Some((rv, bookkeeping_digest(obj.meta())));
        }
        Ok(())
    }

    /// The resourceVersion and [`bookkeeping_digest`] of this store's last write, if
    /// it wrote.
    pub fn last_write(&self) -> Option<(String, u64)> {
        self.written.lock().ok().and_then(|w| w.clone())
    }

    /// Marks a rotation's successor create as started (before calling the provider).
    pub async fn mark_successor_pending(&self) -> Result<(), Error> {
        Ok(self
            .patch(json!({
                "annotations": { SUCCESSOR_PENDING: crate::controller::status::now_rfc3339() }
            }))
            .await?)
    }
}

impl<K> ObjectStore for KubeStore<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync,
{
    type Error = Error;

    async fn add_finalizer(&self) -> Result<(), Error> {
        Ok(self
            .patch(json!({ "finalizers": self.with_finalizer() }))
            .await?)
    }

    async fn remove_finalizer(&self) -> Result<(), Error> {
        let (_, f) = self.snapshot();
        let f: Vec<String> = f.into_iter().filter(|x| x != FINALIZER).collect();
        match self.patch(json!({ "finalizers": f })).await {
            // Already gone: the finalizer went with it.
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            r => Ok(r?),
        }
    }

    async fn mark_create_pending(&self, add_finalizer: bool) -> Result<(), Error> {
        let mut meta = json!({
            "annotations": { CREATE_PENDING: crate::controller::status::now_rfc3339() }
        });
        if add_finalizer {
            meta["finalizers"] = json!(self.with_finalizer());
        }
        Ok(self.patch(meta).await?)
    }

    async fn record_external_name(
        &self,
        name: Option<&str>,
        add_finalizer: bool,
    ) -> Result<(), Error> {
        // Whichever create was pending (the first one or a rotation's successor), its
        // result is recorded now.
        let mut meta = json!({
            "annotations": { EXTERNAL_NAME: name, CREATE_PENDING: null, SUCCESSOR_PENDING: null }
        });
        if add_finalizer {
            meta["finalizers"] = json!(self.with_finalizer());
        }
        Ok(self.patch(meta).await?)
    }
}
