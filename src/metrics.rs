//! Prometheus metrics of the operator, exposed in OpenMetrics text format.
//!
//! One [`Metrics`] value is created at start-up and cloned into every controller,
//! provider client and the web server; clones share the same registry and series.
//!
//! Families (all prefixed `sipcred_`):
//!
//! | series | type | labels |
//! |---|---|---|
//! | `sipcred_reconcile_total` | counter | `kind`, `result` (`success` or an error category) |
//! | `sipcred_reconcile_duration_seconds` | histogram | `kind` |
//! | `sipcred_provider_requests_total` | counter | `provider`, `operation`, `code` (HTTP status or `error`) |
//! | `sipcred_provider_request_duration_seconds` | histogram | `provider`, `operation` |
//! | `sipcred_provider_rate_limit_wait_seconds_total` | counter (float) | `provider` |
//! | `sipcred_provider_rate_limit_waits_total` | counter | `provider` |
//! | `sipcred_managed_resources` | gauge | `kind`, `ready` (`True`, `False`, `Unknown`) |
//! | `sipcred_registrations` | gauge | `kind`, `status` (`Registered`, `NotRegistered`, `Failed`, `Expired`, `Unregistered`, `NotApplicable`, `Unknown`); objects with `spec.registrationCheck` by their last registration answer |
//! | `sipcred_leader` | gauge | none; 1 while this replica holds the leader Lease |
//! | `sipcred_credential_next_expiry_timestamp_seconds` | gauge | `kind`; the earliest `spec.expiresAt` (Unix seconds) among the kind's objects, absent when none expires |
//!
//! # Bounded cardinality
//!
//! Label values are identifiers chosen by the code (kinds, error categories, provider
//! and operation names), never object names, messages or anything secret. To make a
//! mistake harmless rather than a cardinality (or secret) leak, every label value is
//! checked: it must be 1 to 64 characters of `[A-Za-z0-9_]`; anything else is recorded
//! as `other`. Object names (DNS labels with `-` and `.`), free-text messages and
//! tokens therefore never reach a series.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// Prefix of every metric family of the operator.
pub const PREFIX: &str = "sipcred";

/// Label value recorded in place of a value that is not a bounded identifier.
pub const OTHER_LABEL: &str = "other";

/// `result` label value of a successful reconcile.
pub const RESULT_SUCCESS: &str = "success";

/// `code` label value of a provider request that got no HTTP response.
pub const CODE_ERROR: &str = "error";

/// Upper bounds (seconds) of the duration histograms: 5 ms to 30 s.
///
/// Reconciles and provider calls are network bound; a call slower than 30 s has
/// already hit a client timeout and lands in `+Inf`.
pub const DURATION_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

const MAX_LABEL_LEN: usize = 64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReconcileLabels {
    kind: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderRequestLabels {
    provider: String,
    operation: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderOperationLabels {
    provider: String,
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabels {
    provider: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ManagedLabels {
    kind: String,
    ready: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RegistrationLabels {
    kind: String,
    status: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

struct Inner {
    registry: Registry,
    reconcile_total: Family<ReconcileLabels, Counter>,
    reconcile_duration: HistogramFamily<KindLabels>,
    provider_requests_total: Family<ProviderRequestLabels, Counter>,
    provider_request_duration: HistogramFamily<ProviderOperationLabels>,
    rate_limit_wait_seconds: Family<ProviderLabels, Counter<f64, AtomicU64>>,
    rate_limit_waits: Family<ProviderLabels, Counter>,
    managed_resources: Family<ManagedLabels, Gauge>,
    registrations: Family<RegistrationLabels, Gauge>,
    leader: Gauge,
    next_expiry: Family<KindLabels, Gauge>,
}

/// The operator's metrics registry and families. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates a registry with every family registered (and no series yet, except
    /// `sipcred_leader`, which starts at 0).
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix(PREFIX);

        let reconcile_total = Family::<ReconcileLabels, Counter>::default();
        registry.register(
            "reconcile",
            "Reconciles by kind and result (success or error category)",
            reconcile_total.clone(),
        );

        let reconcile_duration: HistogramFamily<KindLabels> =
            Family::new_with_constructor(duration_histogram);
        registry.register_with_unit(
            "reconcile_duration",
            "Duration of reconciles by kind",
            Unit::Seconds,
            reconcile_duration.clone(),
        );

        let provider_requests_total = Family::<ProviderRequestLabels, Counter>::default();
        registry.register(
            "provider_requests",
            "Provider API requests by provider, operation and HTTP status (error: no response)",
            provider_requests_total.clone(),
        );

        let provider_request_duration: HistogramFamily<ProviderOperationLabels> =
            Family::new_with_constructor(duration_histogram);
        registry.register_with_unit(
            "provider_request_duration",
            "Duration of provider API requests by provider and operation",
            Unit::Seconds,
            provider_request_duration.clone(),
        );

        let rate_limit_wait_seconds = Family::<ProviderLabels, Counter<f64, AtomicU64>>::default();
        registry.register_with_unit(
            "provider_rate_limit_wait",
            "Time spent waiting for the provider rate limiter",
            Unit::Seconds,
            rate_limit_wait_seconds.clone(),
        );

        let rate_limit_waits = Family::<ProviderLabels, Counter>::default();
        registry.register(
            "provider_rate_limit_waits",
            "Requests that had to wait for the provider rate limiter",
            rate_limit_waits.clone(),
        );

        let managed_resources = Family::<ManagedLabels, Gauge>::default();
        registry.register(
            "managed_resources",
            "Managed objects by kind and Ready condition status",
            managed_resources.clone(),
        );

        let registrations = Family::<RegistrationLabels, Gauge>::default();
        registry.register(
            "registrations",
            "Objects with registration checks by kind and last registration status",
            registrations.clone(),
        );

        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this replica holds the leader Lease, else 0",
            leader.clone(),
        );

        // Per kind, not per object: object names never become label values (see above).
        let next_expiry = Family::<KindLabels, Gauge>::default();
        registry.register_with_unit(
            "credential_next_expiry_timestamp",
            "Earliest spec.expiresAt among the kind's objects, in Unix seconds",
            Unit::Seconds,
            next_expiry.clone(),
        );

        Self {
            inner: Arc::new(Inner {
                registry,
                reconcile_total,
                reconcile_duration,
                provider_requests_total,
                provider_request_duration,
                rate_limit_wait_seconds,
                rate_limit_waits,
                managed_resources,
                registrations,
                leader,
                next_expiry,
            }),
        }
    }

    /// Records one reconcile of `kind` (e.g. `TelephonyCredential`) with its `result`:
    /// [`RESULT_SUCCESS`] or the error's category (e.g. `ProviderUnavailable`).
    pub fn reconcile(&self, kind: &str, result: &str, elapsed: Duration) {
        let kind = label(kind);
        self.inner
            .reconcile_total
            .get_or_create(&ReconcileLabels {
                kind: kind.clone(),
                result: label(result),
            })
            .inc();
        self.inner
            .reconcile_duration
            .get_or_create(&KindLabels { kind })
            .observe(elapsed.as_secs_f64());
    }

    /// Records one provider API request. `status` is the HTTP status of the response,
    /// `None` when there was none (connect error, timeout), recorded as `code="error"`.
    pub fn provider_request(
        &self,
        provider: &str,
        operation: &str,
        status: Option<u16>,
        elapsed: Duration,
    ) {
        let provider = label(provider);
        let operation = label(operation);
        let code = status.map_or_else(|| CODE_ERROR.to_owned(), |s| s.to_string());
        self.inner
            .provider_requests_total
            .get_or_create(&ProviderRequestLabels {
                provider: provider.clone(),
                operation: operation.clone(),
                code,
            })
            .inc();
        self.inner
            .provider_request_duration
            .get_or_create(&ProviderOperationLabels {
                provider,
                operation,
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Records that a request to `provider` waited `waited` for the rate limiter.
    /// A zero wait is not counted.
    pub fn rate_limit_wait(&self, provider: &str, waited: Duration) {
        if waited.is_zero() {
            return;
        }
        let labels = ProviderLabels {
            provider: label(provider),
        };
        self.inner
            .rate_limit_wait_seconds
            .get_or_create(&labels)
            .inc_by(waited.as_secs_f64());
        self.inner.rate_limit_waits.get_or_create(&labels).inc();
    }

    /// Sets the number of managed objects of `kind` whose `Ready` condition has status
    /// `ready` (`True`, `False` or `Unknown`; any other value is recorded as `Unknown`).
    pub fn set_managed(&self, kind: &str, ready: &str, count: i64) {
        let ready = match ready {
            "True" | "False" => ready.to_owned(),
            _ => "Unknown".to_owned(),
        };
        self.inner
            .managed_resources
            .get_or_create(&ManagedLabels {
                kind: label(kind),
                ready,
            })
            .set(count);
    }

    /// Sets the number of objects of `kind` with registration checks whose last
    /// answer is `status` (CamelCase, e.g. `NotRegistered`).
    pub fn set_registrations(&self, kind: &str, status: &str, count: i64) {
        self.inner
            .registrations
            .get_or_create(&RegistrationLabels {
                kind: label(kind),
                status: label(status),
            })
            .set(count);
    }

    /// Sets the earliest expiry (Unix seconds) among the objects of `kind`; `None`
    /// removes the series (no object of that kind expires).
    pub fn set_next_expiry(&self, kind: &str, unix_seconds: Option<i64>) {
        let labels = KindLabels { kind: label(kind) };
        match unix_seconds {
            Some(t) => {
                self.inner.next_expiry.get_or_create(&labels).set(t);
            }
            None => {
                self.inner.next_expiry.remove(&labels);
            }
        }
    }

    /// Sets `sipcred_leader` to 1 while this replica leads, else 0.
    pub fn set_leader(&self, leading: bool) {
        self.inner.leader.set(i64::from(leading));
    }

    /// Whether `sipcred_leader` is currently 1.
    pub fn is_leader(&self) -> bool {
        self.inner.leader.get() == 1
    }

    /// Encodes every family in OpenMetrics text format (ending with `# EOF`),
    /// to be served with [`OPENMETRICS_CONTENT_TYPE`].
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail; an encoder error would only come from a
        // metric's own encode, which the built-in metric types never return.
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.inner.registry) {
            tracing::error!(error = %e, "encoding metrics failed");
        }
        out
    }
}

/// Content type of [`Metrics::encode`]'s output.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Returns `value` if it is a bounded identifier (1..=64 chars of `[A-Za-z0-9_]`),
/// else [`OTHER_LABEL`].
pub fn label(value: &str) -> String {
    if is_bounded_identifier(value) {
        value.to_owned()
    } else {
        tracing::debug!(
            len = value.len(),
            "metric label value is not an identifier; recorded as `other`"
        );
        OTHER_LABEL.to_owned()
    }
}

fn is_bounded_identifier(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_LABEL_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Provider clients report every HTTP attempt and rate-limit wait here.
impl crate::provider::RequestObserver for Metrics {
    fn request(
        &self,
        provider: &'static str,
        operation: &'static str,
        status: Option<u16>,
        elapsed: Duration,
    ) {
        self.provider_request(provider, operation, status, elapsed);
    }

    fn rate_limit_wait(&self, provider: &'static str, waited: Duration) {
        Metrics::rate_limit_wait(self, provider, waited);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_accepts_identifiers_and_rejects_the_rest() {
        let cases = [
            ("TelephonyCredential", "TelephonyCredential", "kind"),
            (
                "ProviderUnavailable",
                "ProviderUnavailable",
                "error category",
            ),
            (
                "create_credential",
                "create_credential",
                "snake case operation",
            ),
            ("200", "200", "digits"),
            ("my-trunk", OTHER_LABEL, "object names carry hyphens"),
            ("ns/name", OTHER_LABEL, "object references"),
            ("bad request: token=abc", OTHER_LABEL, "free text"),
            ("", OTHER_LABEL, "empty"),
            (&"a".repeat(65), OTHER_LABEL, "too long"),
        ];
        for (input, want, why) in cases {
            assert_eq!(label(input), want, "{why}");
        }
    }

    #[test]
    fn leader_gauge_round_trips() {
        let m = Metrics::new();
        assert!(!m.is_leader());
        m.set_leader(true);
        assert!(m.is_leader());
        let clone = m.clone();
        clone.set_leader(false);
        assert!(!m.is_leader(), "clones share state");
    }

    #[test]
    fn managed_ready_is_normalised() {
        let m = Metrics::new();
        m.set_managed("SipConnection", "maybe", 2);
        assert!(
            m.encode()
                .contains(r#"sipcred_managed_resources{kind="SipConnection",ready="Unknown"} 2"#)
        );
    }

    #[test]
    fn next_expiry_is_set_and_removed() {
        let m = Metrics::new();
        m.set_next_expiry("TelephonyCredential", Some(1_893_456_000));
        let want = r#"sipcred_credential_next_expiry_timestamp_seconds{kind="TelephonyCredential"} 1893456000"#;
        assert!(m.encode().contains(want), "{}", m.encode());
        m.set_next_expiry("TelephonyCredential", None);
        assert!(!m.encode().contains(r#"kind="TelephonyCredential""#));
    }

    #[test]
    fn zero_rate_limit_wait_is_not_counted() {
        let m = Metrics::new();
        m.rate_limit_wait("telnyx", Duration::ZERO);
        assert!(!m.encode().contains(r#"provider="telnyx""#));
    }
}
