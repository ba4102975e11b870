//! The Secret a managed object publishes its connection details into: its name and
//! keys, the ownership rule, and the engine's publisher that writes it.

use std::sync::Mutex;

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::{Resource, ResourceExt};
use secrecy::SecretString;

use super::error::Error;
use super::own_writes::OwnSecretWrites;
use crate::crd::SecretTarget;
use crate::managed::DetailsPublisher;
use crate::managed::rotation::Issue;
use crate::secrets::{self, ConnectionDetails, Keys, Owner, Ownership};

/// The owner of an object's Secret.
pub fn owner_of<K: Resource<DynamicType = ()>>(obj: &K) -> Owner {
    Owner {
        api_version: K::api_version(&()).into_owned(),
        kind: K::kind(&()).into_owned(),
        name: obj.meta().name.clone().unwrap_or_default(),
        namespace: obj.meta().namespace.clone().unwrap_or_default(),
        uid: obj.meta().uid.clone().unwrap_or_default(),
    }
}

/// An object's Secret as read before the provider step: where it goes, and what it
/// holds now. Refuses a Secret the object does not own.
pub struct SecretSlot {
    api: Api<Secret>,
    /// Owner of the Secret.
    pub owner: Owner,
    /// Key names.
    pub keys: Keys,
    /// Secret name.
    pub name: String,
    target: Option<SecretTarget>,
    /// The Secret as last read or written.
    current: Mutex<Option<Secret>>,
    /// Where this process's writes are recorded, for the owned-Secret watch.
    writes: OwnSecretWrites,
}

impl SecretSlot {
    /// Resolves the target of `obj` and reads the existing Secret.
    pub async fn load<K: Resource<DynamicType = ()>>(
        client: &kube::Client,
        writes: &OwnSecretWrites,
        obj: &K,
        target: Option<&SecretTarget>,
    ) -> Result<Self, Error> {
        let keys = Keys::from_target(target);
        if let Some(k) = keys.duplicate() {
            return Err(Error::InvalidSpec(format!(
                "spec.secret.keys: the key name {k:?} is used twice; every key must be different"
            )));
        }
        let name = secrets::secret_name(target, &obj.name_any());
        let owner = owner_of(obj);
        let api: Api<Secret> = Api::namespaced(client.clone(), &owner.namespace);
        let existing = api.get_opt(&name).await?;
        if let Ownership::Foreign(by) = secrets::ownership(existing.as_ref(), &owner.uid) {
            return Err(Error::SecretConflict(format!(
                "Secret {name:?} already exists and is not owned by this object ({}); choose another spec.secret.name or delete that Secret",
                by.map(|b| format!("controlled by {b}"))
                    .unwrap_or_else(|| "no controller".into())
            )));
        }
        Ok(Self {
            api,
            owner,
            keys,
            name,
            target: target.cloned(),
            current: Mutex::new(existing),
            writes: writes.clone(),
        })
    }

    /// The password the Secret holds, if any.
    pub fn password(&self) -> Option<SecretString> {
        let cur = self.current.lock().unwrap_or_else(|p| p.into_inner());
        secrets::read_key(cur.as_ref(), &self.keys.password)
    }

    /// A key of the Secret, if it holds a non-empty value.
    pub fn key(&self, key: &str) -> Option<SecretString> {
        let cur = self.current.lock().unwrap_or_else(|p| p.into_inner());
        secrets::read_key(cur.as_ref(), key)
    }

    /// An annotation of the Secret.
    pub fn annotation(&self, key: &str) -> Option<String> {
        let cur = self.current.lock().unwrap_or_else(|p| p.into_inner());
        cur.as_ref()
            .and_then(|s| s.metadata.annotations.as_ref())
            .and_then(|a| a.get(key))
            .cloned()
    }

    /// The provider ID of the login the Secret holds, if it records one.
    pub fn held_id(&self) -> Option<String> {
        self.key(&self.keys.id)
            .map(|id| secrecy::ExposeSecret::expose_secret(&id).to_string())
    }

    /// Which login the Secret holds (its rotation mark), if it records one.
    pub fn issue(&self) -> Option<Issue> {
        let cur = self.current.lock().unwrap_or_else(|p| p.into_inner());
        Issue::from_annotations(cur.as_ref().and_then(|s| s.metadata.annotations.as_ref()))
    }

    /// The Secrets API of the object's namespace (for referenced password Secrets).
    pub fn api(&self) -> &Api<Secret> {
        &self.api
    }
}

impl DetailsPublisher for SecretSlot {
    type Error = Error;

    async fn publish(&self, details: &ConnectionDetails) -> Result<(), Error> {
        let existing = self
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        // A step that does not know the provider's ID yet (a reconcile of an object
        // read before its ID was recorded) keeps the ID the Secret already holds: a
        // published login never loses its ID, and a new ID replaces it.
        let mut details = details.clone();
        if details.id.is_none() {
            details.id = self.held_id();
        }
        let desired = secrets::desired(&self.owner, self.target.as_ref(), &details);
        if let Some(rv) = secrets::apply(&self.api, existing.as_ref(), &desired).await? {
            self.writes.record(
                &self.owner.namespace,
                &self.name,
                Some(rv).filter(|v| !v.is_empty()),
            );
        }
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(desired);
        Ok(())
    }
}

/// No Secret is read for steps that publish nothing (deletion, paused, orphaned).
impl DetailsPublisher for Option<SecretSlot> {
    type Error = Error;

    async fn publish(&self, details: &ConnectionDetails) -> Result<(), Error> {
        match self {
            Some(slot) => slot.publish(details).await,
            None => Ok(()),
        }
    }
}
