//! One error enum for every reconcile step, typed by what the user must do, with a
//! category that doubles as Event reason, condition reason and metric label. Messages
//! are sentences for people and never carry secrets.

use std::time::Duration;

use crate::managed::{DriveError, ExternalError, ExternalErrorKind};

/// Why a reconcile did not finish.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Kubernetes API failed.
    #[error("{}", kube_message(.0))]
    Kube(#[from] kube::Error),
    /// `spec.providerRef` can never work as it stands (e.g. a Vobiz account for a
    /// Telnyx kind): terminal until the object or the referenced provider changes.
    #[error("{0}")]
    InvalidProviderRef(String),
    /// The referenced provider account is missing, not checked yet, or not Ready:
    /// wait for it (its watch wakes this object).
    #[error("{0}")]
    ProviderNotReady(String),
    /// The provider account cannot be used as configured (its key Secret is missing
    /// or incomplete, its URL invalid): the provider object reports it too.
    #[error("{0}")]
    AccountUnusable(String),
    /// The spec breaks a rule the schema cannot express.
    #[error("{0}")]
    InvalidSpec(String),
    /// The target Secret exists and belongs to someone else.
    #[error("{0}")]
    SecretConflict(String),
    /// The referenced password Secret or key is missing or invalid.
    #[error("{0}")]
    PasswordSource(String),
    /// A dependency (the SipConnection of a TelephonyCredential) is not Ready yet:
    /// wait for it (its watch wakes this object).
    #[error("{message}")]
    Waiting {
        /// The condition reason, e.g. `WaitingForSipConnection`.
        reason: &'static str,
        /// What is awaited.
        message: String,
        /// The awaited object has no verdict yet (it is being created or checked
        /// right now): the wait normally ends within seconds.
        soon: bool,
    },
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
    /// The provider object expired: it can only be replaced.
    #[error("{0}")]
    Expired(String),
    /// The provider object was just created and the provider activates it after a
    /// delay: come back then.
    #[error("{message}")]
    Activating {
        /// What is awaited.
        message: String,
        /// How long until it can be used.
        after: Duration,
    },
}

/// `Kubernetes API: 500 InternalError: <message>` for an API status, the error's own
/// words otherwise; never the `Debug` form of the status.
pub fn kube_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => {
            let reason = if s.reason.is_empty() {
                "Error"
            } else {
                &s.reason
            };
            format!("Kubernetes API: {} {reason}: {}", s.code, s.message)
        }
        other => format!("Kubernetes API: {other}"),
    }
}

/// How a failed reconcile is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Our own write lost an optimistic-concurrency race: retry promptly against
    /// fresh state, with no backoff growth and nothing reported.
    Soon,
    /// Waiting for something a watch reports (a dependency, the provider account):
    /// no backoff growth; the resync is only a safety net.
    OnChange,
    /// Waiting for a known time (a provider activating a new login): no backoff
    /// growth, nothing reported as a failure.
    After(Duration),
    /// The object as it stands can never succeed: no timer; a change of the object
    /// (or of the provider it references) wakes it.
    Never,
    /// The provider refused the account's key. What fixes that (the key Secret, or the
    /// account's next check) may wake nothing, so the object is retried at the
    /// account's re-check cadence, with no back-off growth: a corrected key is picked
    /// up within that, not after a back-off of up to 5 minutes.
    AccountCheck,
    /// A failure: capped exponential backoff (`transient` chooses the faster curve).
    Backoff {
        /// Retrying without a change can succeed soon.
        transient: bool,
    },
}

impl Error {
    /// CamelCase category: the condition reason, Event reason and metric label.
    pub fn reason(&self) -> &str {
        match self {
            Error::Kube(e) if is_conflict(e) => "KubernetesConflict",
            Error::Kube(_) => "KubernetesAPIError",
            Error::InvalidProviderRef(_) => "InvalidProviderRef",
            Error::ProviderNotReady(_) => "ProviderNotReady",
            Error::AccountUnusable(_) => "AccountUnusable",
            Error::InvalidSpec(_) => "InvalidSpec",
            Error::SecretConflict(_) => "SecretOwnedByAnother",
            Error::PasswordSource(_) => "PasswordSourceInvalid",
            Error::Waiting { reason, .. } => reason,
            Error::External(e) => &e.reason,
            Error::NotAllowed(_) => "ProviderNotAllowed",
            Error::HostNotAllowed(_) => "ProviderHostNotAllowed",
            Error::Missing => "ExternalObjectMissing",
            Error::Activating { .. } => "WaitingForActivation",
            Error::Expired(_) => "Expired",
        }
    }

    /// How to retry.
    pub fn retry(&self) -> Retry {
        match self {
            Error::Kube(e) if is_conflict(e) => Retry::Soon,
            Error::External(e) if e.reason == AUTHENTICATION_FAILED => Retry::AccountCheck,
            Error::Waiting { .. } | Error::ProviderNotReady(_) => Retry::OnChange,
            Error::Activating { after, .. } => Retry::After(*after),
            // A refusal by the tenancy rules ends when the object, its provider or its
            // Namespace's labels change, and each of those requeues the object.
            Error::InvalidSpec(_)
            | Error::InvalidProviderRef(_)
            | Error::NotAllowed(_)
            | Error::HostNotAllowed(_)
            | Error::Expired(_) => Retry::Never,
            other => Retry::Backoff {
                transient: other.is_transient(),
            },
        }
    }

    /// Whether retrying without a change can succeed soon (the provider object and
    /// the Secret stay valid meanwhile).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Kube(_)
            | Error::Waiting { .. }
            | Error::ProviderNotReady(_)
            | Error::Activating { .. }
            | Error::AccountUnusable(_) => true,
            Error::External(e) => matches!(
                e.kind,
                ExternalErrorKind::Retryable | ExternalErrorKind::OutcomeUnknown
            ),
            _ => false,
        }
    }

    /// Whether the user must act (a Warning Event); waiting and races are normal.
    pub fn is_warning(&self) -> bool {
        matches!(
            self.retry(),
            Retry::Backoff { .. } | Retry::Never | Retry::AccountCheck
        )
    }
}

/// The reason of a provider's refusal of the account's key (401).
const AUTHENTICATION_FAILED: &str = "AuthenticationFailed";

/// A 409 Conflict: the object changed since it was read.
pub fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

impl From<DriveError<Error>> for Error {
    fn from(e: DriveError<Error>) -> Self {
        match e {
            DriveError::Local(e) => e,
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
    jitter(Duration::from_secs_f64(exp.min(cap)))
}

/// `d` spread by ±20%, so objects created together do not poll together.
pub fn jitter(d: Duration) -> Duration {
    d.mul_f64(0.8 + rand::random::<f64>() * 0.4)
}

/// The delay before retrying after a lost optimistic-concurrency race: 100-500 ms.
pub fn conflict_delay() -> Duration {
    Duration::from_millis(100 + rand::random::<u64>() % 400)
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

    #[test]
    fn resyncs_of_objects_created_together_are_spread() {
        // 1,000 objects applied at once must not come back to the provider in one
        // burst a resync later: each requeue lands within ±20% of the interval, and
        // they do not all land together.
        let resync = Duration::from_secs(300);
        let delays: Vec<Duration> = (0..1000).map(|_| jitter(resync)).collect();
        let (min, max) = (
            delays.iter().min().unwrap().as_secs_f64(),
            delays.iter().max().unwrap().as_secs_f64(),
        );
        assert!(min >= 240.0 && max <= 360.0, "{min} - {max}");
        assert!(max - min > 60.0, "spread over {min} - {max} only");
    }

    fn api_error(code: u16, reason: &str) -> Error {
        Error::Kube(kube::Error::Api(Box::new(kube::core::Status {
            status: Some(kube::core::response::StatusSummary::Failure),
            code,
            message: "etcd is unavailable".into(),
            reason: reason.into(),
            metadata: None,
            details: None,
        })))
    }

    #[test]
    fn errors_are_typed_by_what_the_user_must_do() {
        let cases = [
            (
                "a lost race is retried promptly and silently",
                api_error(409, "Conflict"),
                Retry::Soon,
                false,
            ),
            (
                "an API failure backs off",
                api_error(500, "InternalError"),
                Retry::Backoff { transient: true },
                true,
            ),
            (
                "a provider of the wrong type needs a spec change",
                Error::InvalidProviderRef("x".into()),
                Retry::Never,
                true,
            ),
            (
                "a provider not checked yet is waited for",
                Error::ProviderNotReady("x".into()),
                Retry::OnChange,
                false,
            ),
            (
                "a dependency is waited for",
                Error::Waiting {
                    reason: "WaitingForSipConnection",
                    message: "x".into(),
                    soon: true,
                },
                Retry::OnChange,
                false,
            ),
            (
                "a key the provider refuses is retried at the account's re-check, not backed off",
                Error::External(ExternalError::new(
                    ExternalErrorKind::Terminal,
                    "AuthenticationFailed",
                    "telnyx get_telephony_credential failed: HTTP 401 AuthenticationFailed",
                )),
                Retry::AccountCheck,
                true,
            ),
            (
                "a spec mistake is terminal",
                Error::InvalidSpec("x".into()),
                Retry::Never,
                true,
            ),
        ];
        for (name, e, retry, warning) in cases {
            assert_eq!((e.retry(), e.is_warning()), (retry, warning), "{name}");
        }
    }

    #[test]
    fn api_errors_read_as_sentences() {
        let m = api_error(500, "InternalError").to_string();
        assert_eq!(m, "Kubernetes API: 500 InternalError: etcd is unavailable");
        assert!(!m.contains("Some(") && !m.contains("Status {"), "{m}");
    }
}
