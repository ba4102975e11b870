//! One error enum for every reconcile step, with a category that doubles as Event
//! reason, condition reason and metric label. Messages never carry secrets.

use std::time::Duration;

use crate::managed::{DriveError, ExternalError, ExternalErrorKind};

/// Why a reconcile did not finish.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Kubernetes API failed.
    #[error("Kubernetes API error: {0}")]
    Kube(#[from] kube::Error),
    /// The referenced provider object is missing, not Ready, or of the wrong type.
    #[error("{0}")]
    Provider(String),
    /// The spec breaks a rule the schema cannot express.
    #[error("{0}")]
    InvalidSpec(String),
    /// The target Secret exists and belongs to someone else.
    #[error("{0}")]
    SecretConflict(String),
    /// The referenced password Secret or key is missing or invalid.
    #[error("{0}")]
    PasswordSource(String),
    /// A dependency (the SipConnection of a TelephonyCredential) is not Ready yet.
    #[error("{0}")]
    Waiting(String),
    /// The provider call failed.
    #[error("{0}")]
    External(ExternalError),
    /// The object's namespace may not use the referenced ClusterSipProvider.
    #[error("{0}")]
    NotAllowed(String),
    /// The provider's baseURL is not an allowed host; the key is never sent there.
    #[error("{0}")]
    HostNotAllowed(String),
    /// Observe-only and the provider object does not exist.
    #[error("the provider object does not exist and the management policy is ObserveOnly")]
    Missing,
}

impl Error {
    /// CamelCase category: the condition reason, Event reason and metric label.
    pub fn reason(&self) -> &str {
        match self {
            Error::Kube(_) => "KubernetesAPIError",
            Error::Provider(_) => "ProviderNotReady",
            Error::InvalidSpec(_) => "InvalidSpec",
            Error::SecretConflict(_) => "SecretOwnedByAnother",
            Error::PasswordSource(_) => "PasswordSourceInvalid",
            Error::Waiting(_) => "WaitingForSipConnection",
            Error::External(e) => &e.reason,
            Error::NotAllowed(_) => "ProviderNotAllowed",
            Error::HostNotAllowed(_) => "ProviderHostNotAllowed",
            Error::Missing => "ExternalObjectMissing",
        }
    }

    /// Whether retrying without a change can succeed soon.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Kube(_) | Error::Waiting(_) | Error::Provider(_) => true,
            Error::External(e) => matches!(
                e.kind,
                ExternalErrorKind::Retryable | ExternalErrorKind::OutcomeUnknown
            ),
            _ => false,
        }
    }
}

impl Error {
    /// Whether only a change can help, so no timer retry: a refusal by the tenancy
    /// rules ends when the object, its provider or its Namespace's labels change,
    /// and each of those requeues the object.
    pub fn awaits_change(&self) -> bool {
        matches!(self, Error::NotAllowed(_) | Error::HostNotAllowed(_))
    }
}

impl<S: std::error::Error + 'static> From<DriveError<S>> for Error
where
    kube::Error: From<S>,
{
    fn from(e: DriveError<S>) -> Self {
        match e {
            DriveError::Store(s) => Error::Kube(s.into()),
            DriveError::External(e) => Error::External(e),
            DriveError::Missing => Error::Missing,
        }
    }
}

/// Requeue delay after the `failures`-th consecutive failure: capped exponential with
/// jitter, so failing objects never hammer the provider (crossplane#2113).
pub fn backoff(failures: u32, transient: bool) -> Duration {
    let (base, cap) = if transient {
        (1.0_f64, 60.0_f64)
    } else {
        (5.0, 300.0)
    };
    let exp = base * 2f64.powi(failures.saturating_sub(1).min(16) as i32);
    let jitter = 0.8 + rand::random::<f64>() * 0.4;
    Duration::from_secs_f64((exp.min(cap)) * jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let d1 = backoff(1, true).as_secs_f64();
        let d5 = backoff(5, true).as_secs_f64();
        let d30 = backoff(30, true).as_secs_f64();
        assert!((0.8..=1.2).contains(&d1), "{d1}");
        assert!((12.8..=19.2).contains(&d5), "{d5}");
        assert!(d30 <= 72.0, "{d30}");
        assert!(backoff(30, false).as_secs_f64() <= 360.0);
        assert!(backoff(1, false) > backoff(1, true) / 2);
    }
}
