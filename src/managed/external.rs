//! The contract between the engine and a provider object.

use std::future::Future;

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

/// A provider object as the engine sees it. Implementations carry the desired state
/// and the deterministic identity; the engine supplies the recorded external name.
pub trait ExternalClient: Send + Sync {
    /// The provider object's representation.
    type Resource: Send + Sync;

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

    /// Deletes the provider object. Not found counts as deleted.
    fn delete(&self, external_name: &str)
    -> impl Future<Output = Result<(), ExternalError>> + Send;
}
