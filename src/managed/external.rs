//! The contract between the engine and a provider object: the connector that builds
//! an external client only when the provider is needed, and the client itself.

use std::future::Future;

use crate::secrets::ConnectionDetails;

/// What observing the provider found.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation<R> {
    /// The provider's ID of the object.
    pub external_name: String,
    /// Whether the provider object matches the desired state.
    pub up_to_date: bool,
    /// Names of the fields that differ (never values: they may be secret).
    pub drift: Vec<String>,
    /// The provider object as observed.
    pub resource: R,
}

impl<R> Observation<R> {
    /// An observation of `resource`: up to date when no field drifted.
    pub fn new(external_name: String, resource: R, drift: Vec<String>) -> Self {
        Self {
            external_name,
            up_to_date: drift.is_empty(),
            drift,
            resource,
        }
    }
}

/// Why an external call failed, as far as the engine needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExternalErrorKind {
    /// Transient (5xx, timeout, 429): retry soon.
    Retryable,
    /// The provider refused the request as it stands (4xx): retrying unchanged won't help.
    Terminal,
    /// The object does not exist.
    NotFound,
    /// A create may or may not have happened (connection lost after sending).
    OutcomeUnknown,
}

/// An error from an external client. `message` must never contain a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExternalError {
    /// The class of failure.
    pub kind: ExternalErrorKind,
    /// A CamelCase category, used as Event reason, condition reason and metric label.
    pub reason: String,
    /// What failed, naming the field where the provider said which.
    pub message: String,
}

impl ExternalError {
    /// Builds an error.
    pub fn new(
        kind: ExternalErrorKind,
        reason: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            reason: reason.into(),
            message: message.into(),
        }
    }
}

/// Builds the external client of one object. The engine calls it only for a step that
/// talks to the provider, so a paused, orphaned or released object needs no provider
/// account at all.
pub trait Connector: Send + Sync {
    /// The client it builds.
    type Client: ExternalClient;
    /// Why connecting failed (account not ready, invalid reference, a dependency).
    type Error: std::error::Error + Send + Sync + 'static;
    /// Resolves the account and everything the desired provider object depends on.
    fn connect(&self) -> impl Future<Output = Result<Self::Client, Self::Error>> + Send;
}

/// A provider object as the engine sees it. Implementations carry the desired state
/// and the deterministic identity; the engine supplies the recorded external name.
pub trait ExternalClient: Send + Sync {
    /// The provider object's representation.
    type Resource: Send + Sync;

    /// Connection details that must be stored before any provider call: a password
    /// this operator chose. `None` when the provider generates the secret.
    /// `external_name` is the recorded provider ID, if any.
    fn details_before(&self, external_name: Option<&str>) -> Option<ConnectionDetails> {
        let _ = external_name;
        None
    }

    /// Connection details of the synced provider object (login, domain, IDs); `None`
    /// from a client built only to observe and delete.
    fn details(&self, external_name: &str, resource: &Self::Resource) -> Option<ConnectionDetails>;

    /// Renews connection details that expire on their own (an access token) before
    /// they are published; called after every synced step.
    fn refresh(
        &self,
        external_name: &str,
        resource: &Self::Resource,
    ) -> impl Future<Output = Result<(), ExternalError>> + Send {
        let _ = (external_name, resource);
        async { Ok(()) }
    }

    /// Finds the provider object: by `external_name` when one is recorded, otherwise
    /// by the deterministic identity. `Ok(None)` means it does not exist.
    fn observe(
        &self,
        external_name: Option<&str>,
    ) -> impl Future<Output = Result<Option<Observation<Self::Resource>>, ExternalError>> + Send;

    /// Creates the provider object and returns its external name and representation.
    fn create(
        &self,
    ) -> impl Future<Output = Result<(String, Self::Resource), ExternalError>> + Send;

    /// Brings an existing provider object to the desired state.
    fn update(
        &self,
        observed: &Observation<Self::Resource>,
    ) -> impl Future<Output = Result<Self::Resource, ExternalError>> + Send;

    /// Deletes the provider object. An object already gone is reported as an error of
    /// kind [`ExternalErrorKind::NotFound`]; the engine then releases without counting
    /// it as deleted.
    fn delete(&self, external_name: &str)
    -> impl Future<Output = Result<(), ExternalError>> + Send;
}

/// A shared reference to a client is a client, so a connector can lend one it keeps.
impl<T: ExternalClient> ExternalClient for &T {
    type Resource = T::Resource;
    fn details_before(&self, external_name: Option<&str>) -> Option<ConnectionDetails> {
        (**self).details_before(external_name)
    }
    fn details(&self, external_name: &str, resource: &Self::Resource) -> Option<ConnectionDetails> {
        (**self).details(external_name, resource)
    }
    fn refresh(
        &self,
        external_name: &str,
        resource: &Self::Resource,
    ) -> impl Future<Output = Result<(), ExternalError>> + Send {
        (**self).refresh(external_name, resource)
    }
    fn observe(
        &self,
        external_name: Option<&str>,
    ) -> impl Future<Output = Result<Option<Observation<Self::Resource>>, ExternalError>> + Send
    {
        (**self).observe(external_name)
    }
    fn create(
        &self,
    ) -> impl Future<Output = Result<(String, Self::Resource), ExternalError>> + Send {
        (**self).create()
    }
    fn update(
        &self,
        observed: &Observation<Self::Resource>,
    ) -> impl Future<Output = Result<Self::Resource, ExternalError>> + Send {
        (**self).update(observed)
    }
    fn delete(
        &self,
        external_name: &str,
    ) -> impl Future<Output = Result<(), ExternalError>> + Send {
        (**self).delete(external_name)
    }
}
