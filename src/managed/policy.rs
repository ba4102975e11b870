//! The engine's view of the Kubernetes object and how it persists its bookkeeping.

use std::collections::BTreeMap;
use std::future::Future;

use super::{CREATE_PENDING, EXTERNAL_NAME, FINALIZER, MANAGEMENT_POLICY, PAUSED};
use crate::crd::DeletionPolicy;
use crate::secrets::ConnectionDetails;

/// How much the operator may do to the provider object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ManagementPolicy {
    /// Create, update and delete.
    #[default]
    Full,
    /// Only observe and publish; never write to the provider.
    ObserveOnly,
}

/// The lifecycle-relevant state of a managed Kubernetes object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ManagedState {
    /// `metadata.deletionTimestamp` is set.
    pub deleting: bool,
    /// The engine's finalizer is present.
    pub has_finalizer: bool,
    /// The recorded provider ID.
    pub external_name: Option<String>,
    /// A create was started and its outcome not yet recorded.
    pub create_pending: bool,
    /// What to do with the provider object on deletion.
    pub deletion_policy: DeletionPolicy,
    /// Whether the operator may write to the provider.
    pub management: ManagementPolicy,
    /// Reconciliation is paused.
    pub paused: bool,
}

impl ManagedState {
    /// Reads the state from object metadata and the spec's deletion policy.
    pub fn from_meta(
        annotations: Option<&BTreeMap<String, String>>,
        finalizers: Option<&[String]>,
        deleting: bool,
        deletion_policy: Option<DeletionPolicy>,
    ) -> Self {
        let ann = |k: &str| annotations.and_then(|a| a.get(k)).filter(|v| !v.is_empty());
        Self {
            deleting,
            has_finalizer: finalizers.is_some_and(|f| f.iter().any(|f| f == FINALIZER)),
            external_name: ann(EXTERNAL_NAME).cloned(),
            create_pending: ann(CREATE_PENDING).is_some(),
            deletion_policy: deletion_policy.unwrap_or_default(),
            management: match ann(MANAGEMENT_POLICY).map(String::as_str) {
                Some("ObserveOnly") => ManagementPolicy::ObserveOnly,
                _ => ManagementPolicy::Full,
            },
            paused: ann(PAUSED).is_some_and(|v| v == "true"),
        }
    }
}

/// Persists the engine's bookkeeping on the Kubernetes object. Each call must be
/// durable (written to the API server) before it returns: the engine relies on the
/// create-pending marker being stored before it calls the provider.
pub trait ObjectStore: Send + Sync {
    /// The error type of the store.
    type Error: std::error::Error + Send + Sync + 'static;
    /// Adds the engine's finalizer.
    fn add_finalizer(&self) -> impl Future<Output = Result<(), Self::Error>> + Send;
    /// Removes the engine's finalizer, letting Kubernetes delete the object.
    fn remove_finalizer(&self) -> impl Future<Output = Result<(), Self::Error>> + Send;
    /// Marks a create as started (before calling the provider), adding the finalizer
    /// in the same write when `add_finalizer`.
    fn mark_create_pending(
        &self,
        add_finalizer: bool,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
    /// Records the provider ID and clears the create-pending marker, in one write
    /// that also adds the finalizer when `add_finalizer`.
    fn record_external_name(
        &self,
        name: Option<&str>,
        add_finalizer: bool,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// Publishes connection details where the workload reads them (an owned Secret),
/// skipping the write when nothing changed. Durable before it returns.
pub trait DetailsPublisher: Send + Sync {
    /// The error type of the publisher.
    type Error: std::error::Error + Send + Sync + 'static;
    /// Stores the details.
    fn publish(
        &self,
        details: &ConnectionDetails,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}
