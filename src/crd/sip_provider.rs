//! `SipProvider` (namespaced) and `ClusterSipProvider` (cluster-scoped): a provider
//! account that managed objects reference. Exactly one of `telnyx` or `vobiz`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Desired state of a namespaced provider account. Its Secrets live in its namespace.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "sipcred.io",
    version = "v1alpha1",
    kind = "SipProvider",
    namespaced,
    status = "SipProviderStatus",
    shortname = "sipprov",
    category = "sipcred",
    doc = "A Telnyx or Vobiz account, usable by SipConnections, TelephonyCredentials and TrunkCredentials in the same namespace.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(name = "Provider", type_ = "string", json_path = ".status.provider"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("has(self.telnyx) != has(self.vobiz)").message("spec: set exactly one of telnyx and vobiz"))]
#[x_kube(validation = kube::core::Rule::new("has(self.telnyx) == has(oldSelf.telnyx)").message("spec: the provider type (telnyx or vobiz) is immutable; create a new provider object instead"))]
pub struct SipProviderSpec {
    /// A Telnyx account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telnyx: Option<TelnyxAccount<LocalSecretKeyRef>>,
    /// A Vobiz account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vobiz: Option<VobizAccount<LocalSecretRef>>,
    /// Client-side rate limit for every object using this account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// How long one request to the provider may take before the operator gives up on
    /// it (and retries it when that is safe): a duration such as `30s`, `1m30s` or
    /// `1500ms` (units h, m, s, ms), from 1s to 5m. Defaults to 30s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 32))]
    #[x_kube(validation = kube::core::Rule::new("self.matches('^([0-9]+(ms|h|m|s))+$')").message("spec.timeout must be a duration such as 30s, 1m30s or 1500ms (units h, m, s, ms)"))]
    #[x_kube(validation = kube::core::Rule::new("!self.matches('^([0-9]+(ms|h|m|s))+$') || (duration(self) >= duration('1s') && duration(self) <= duration('5m'))").message("spec.timeout must be from 1s to 5m"))]
    pub timeout: Option<String>,
}

/// Desired state of a cluster-wide provider account. Its Secret references name a namespace.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "sipcred.io",
    version = "v1alpha1",
    kind = "ClusterSipProvider",
    status = "SipProviderStatus",
    shortname = "csipprov",
    category = "sipcred",
    doc = "A Telnyx or Vobiz account, usable by SipConnections, TelephonyCredentials and TrunkCredentials in any namespace.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(name = "Provider", type_ = "string", json_path = ".status.provider"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("has(self.telnyx) != has(self.vobiz)").message("spec: set exactly one of telnyx and vobiz"))]
#[x_kube(validation = kube::core::Rule::new("has(self.telnyx) == has(oldSelf.telnyx)").message("spec: the provider type (telnyx or vobiz) is immutable; create a new provider object instead"))]
pub struct ClusterSipProviderSpec {
    /// A Telnyx account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telnyx: Option<TelnyxAccount<NamespacedSecretKeyRef>>,
    /// A Vobiz account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vobiz: Option<VobizAccount<NamespacedSecretRef>>,
    /// Client-side rate limit for every object using this account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// How long one request to the provider may take before the operator gives up on
    /// it (and retries it when that is safe): a duration such as `30s`, `1m30s` or
    /// `1500ms` (units h, m, s, ms), from 1s to 5m. Defaults to 30s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 32))]
    #[x_kube(validation = kube::core::Rule::new("self.matches('^([0-9]+(ms|h|m|s))+$')").message("spec.timeout must be a duration such as 30s, 1m30s or 1500ms (units h, m, s, ms)"))]
    #[x_kube(validation = kube::core::Rule::new("!self.matches('^([0-9]+(ms|h|m|s))+$') || (duration(self) >= duration('1s') && duration(self) <= duration('5m'))").message("spec.timeout must be from 1s to 5m"))]
    pub timeout: Option<String>,
    /// Which namespaces may use this account. An object in a namespace that matches
    /// no entry gets Ready=False, reason `ProviderNotAllowed`, and the operator makes
    /// no provider call for it. A namespace is allowed when it matches ANY entry.
    /// Absent or empty: every namespace may use the account.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub conditions: Vec<ClusterSipProviderCondition>,
}

/// Namespaces allowed to use a ClusterSipProvider: those named in `namespaces` and
/// those whose labels match `namespaceSelector` (either suffices).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("has(self.namespaces) || has(self.namespaceSelector)").message("spec.conditions[]: set namespaces, namespaceSelector or both"))]
pub struct ClusterSipProviderCondition {
    /// Namespaces allowed by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256), inner(length(min = 1, max = 63)))]
    pub namespaces: Option<Vec<String>>,
    /// Namespaces allowed by their labels (`matchLabels` and `matchExpressions`, as in
    /// any Kubernetes label selector). An empty selector matches every namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>,
}

/// A Telnyx API v2 account.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TelnyxAccount<R> {
    /// The Secret key holding the API v2 key.
    pub api_key_secret_ref: R,
    /// API base URL ending in `/v2`. Defaults to `https://api.telnyx.com/v2`.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "baseURL")]
    #[schemars(length(max = 2048), regex(pattern = r"^https?://[^\s]+$"))]
    pub base_url: Option<String>,
}

/// A Vobiz account.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VobizAccount<R> {
    /// The Secret holding the auth ID and auth token.
    pub credentials_secret_ref: R,
    /// API base URL ending in `/api/v1`. Defaults to `https://api.vobiz.ai/api/v1`.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "baseURL")]
    #[schemars(length(max = 2048), regex(pattern = r"^https?://[^\s]+$"))]
    pub base_url: Option<String>,
}

/// A key in a Secret in the provider's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct LocalSecretKeyRef {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key within the Secret. Defaults to `apiKey`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub key: Option<String>,
}

/// A key in a Secret in a named namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct NamespacedSecretKeyRef {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Namespace of the Secret.
    #[schemars(length(min = 1, max = 63))]
    pub namespace: String,
    /// Key within the Secret. Defaults to `apiKey`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub key: Option<String>,
}

/// A Secret in the provider's namespace holding Vobiz credentials.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalSecretRef {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key holding the auth ID. Defaults to `authID`.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "authIDKey")]
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub auth_id_key: Option<String>,
    /// Key holding the auth token. Defaults to `authToken`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub auth_token_key: Option<String>,
}

/// A Secret in a named namespace holding Vobiz credentials.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespacedSecretRef {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Namespace of the Secret.
    #[schemars(length(min = 1, max = 63))]
    pub namespace: String,
    /// Key holding the auth ID. Defaults to `authID`.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "authIDKey")]
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub auth_id_key: Option<String>,
    /// Key holding the auth token. Defaults to `authToken`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub auth_token_key: Option<String>,
}

/// Client-side token bucket shared by every object using the account.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// Sustained requests per second, 1 to 10000. Defaults to 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10000))]
    pub requests_per_second: Option<i32>,
    /// Requests allowed in a burst, 1 to 10000. Defaults to 20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10000))]
    pub burst: Option<i32>,
}

// Which provider an account is for.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ProviderType {
    /// Telnyx.
    Telnyx,
    /// Vobiz.
    Vobiz,
}

/// Observed state of a provider account.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SipProviderStatus {
    /// `Ready` (the credentials authenticate) and `Synced`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The generation the operator last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Telnyx` or `Vobiz`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<ProviderType>,
    /// When a check of the credentials against the provider was last recorded (RFC 3339;
    /// checks that change nothing refresh it at most hourly, to keep writes rare).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_checked_at: Option<String>,
}
