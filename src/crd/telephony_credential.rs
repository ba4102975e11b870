//! `TelephonyCredential`: a Telnyx on-demand telephony credential on a credential
//! connection (`/v2/telephony_credentials`). Telnyx generates the SIP username and
//! password; the operator stores them in the target Secret.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::common::{
    CredentialRotation, DeletionPolicy, ProviderRef, RegistrationCheck, RegistrationInfo,
    RotationStatus, SecretTarget,
};

/// Desired state of a Telnyx telephony credential.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "sipcred.io",
    version = "v1alpha1",
    kind = "TelephonyCredential",
    namespaced,
    status = "TelephonyCredentialStatus",
    shortname = "telcred",
    shortname = "tc",
    category = "sipcred",
    doc = "A Telnyx on-demand telephony credential on a credential connection. The SIP username and password Telnyx generates are delivered into a Secret owned by this object.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Synced",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Synced\")].status"
    ),
    printcolumn(
        name = "Credential ID",
        type_ = "string",
        json_path = ".status.credentialID"
    ),
    printcolumn(name = "SIP User", type_ = "string", json_path = ".status.sipUsername"),
    printcolumn(name = "Secret", type_ = "string", json_path = ".status.secretName"),
    printcolumn(name = "Expires", type_ = "date", json_path = ".status.expiresAt"),
    printcolumn(
        name = "Registration",
        type_ = "string",
        json_path = ".status.registration.status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("has(self.sipConnectionRef) != has(self.connectionID)")
    .message("spec: set exactly one of sipConnectionRef and connectionID"))]
pub struct TelephonyCredentialSpec {
    /// The provider account (a Telnyx `SipProvider` or `ClusterSipProvider`).
    pub provider_ref: ProviderRef,
    /// The SipConnection (same namespace) the credential belongs to. The credential
    /// waits until that connection is Ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_connection_ref: Option<LocalObjectRef>,
    /// A Telnyx credential connection ID, for connections not managed here.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "connectionID"
    )]
    #[schemars(length(min = 1, max = 64))]
    #[x_kube(validation = kube::core::Rule::new("self.matches('^[0-9A-Za-z-]+$')").message("spec.connectionID must contain only letters, digits and dashes"))]
    pub connection_id: Option<String>,
    /// Name of the credential at Telnyx. It is also the credential's identity there: a
    /// lost create response is recovered by looking this name up. Defaults to
    /// `<namespace>/<name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    pub name: Option<String>,
    /// Tag on the credential (Telnyx holds at most 1,000 credentials per tag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    pub tag: Option<String>,
    /// When the credential expires (RFC 3339, e.g. `2027-01-01T00:00:00Z`). An expired
    /// credential cannot be updated at Telnyx, only deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub expires_at: Option<String>,
    /// Where the credentials are written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretTarget>,
    /// What happens at Telnyx when this object is deleted: `Delete` (default) or `Orphan`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
    /// Check periodically whether a SIP client is registered with this login
    /// (off when absent); the answer is in `status.registration` and the `Registered`
    /// condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_check: Option<RegistrationCheck>,
    /// Replace the credential with a new one on a schedule, on demand or before it
    /// expires, keeping the previous one working for a grace period (see the README).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<CredentialRotation>,
    /// Keep a WebRTC access token for the credential in the Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<AccessToken>,
}

/// A WebRTC access token (a JWT Telnyx issues for the credential, valid 24 hours or
/// until the credential expires), refreshed before it expires.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessToken {
    /// Whether to keep a token in the Secret.
    pub enabled: bool,
    /// Get a new token this long before the current one expires, as a duration
    /// (default `1h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 32))]
    #[x_kube(validation = kube::core::Rule::new("self.matches('^([0-9]+(ms|h|m|s))+$')").message("spec.accessToken.refreshBefore must be a duration such as 1h or 30m (units h, m, s, ms)"))]
    pub refresh_before: Option<String>,
    /// The Secret key of the token (default `token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = kube::core::Rule::new("self.matches('^[-._a-zA-Z0-9]+$')").message("spec.accessToken.key must be a valid Secret key: letters, digits, '-', '_' and '.'"))]
    pub key: Option<String>,
}

/// A reference to an object in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, KubeSchema)]
pub struct LocalObjectRef {
    /// Name of the object.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// Observed state of a TelephonyCredential.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TelephonyCredentialStatus {
    /// `Ready` and `Synced` conditions, each stamped with the generation it describes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The generation the operator last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The Telnyx ID of the credential.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "credentialID"
    )]
    pub credential_id: Option<String>,
    /// The credential connection it belongs to.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "connectionID"
    )]
    pub connection_id: Option<String>,
    /// The SIP username Telnyx generated (not secret; the password is only in the Secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_username: Option<String>,
    /// Whether Telnyx reports the credential as expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired: Option<bool>,
    /// When the credential expires at Telnyx (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// The Secret holding the credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// When Telnyx created the credential (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// When the provider object last matched the spec (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_synced_at: Option<String>,
    /// The live SIP registration, with `spec.registrationCheck`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<RegistrationInfo>,
    /// Rotations of the credential.
    #[serde(flatten)]
    pub rotation: RotationStatus,
    /// The credential a rotation replaced, kept working until
    /// `previousCredentialDeleteAt`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "previousCredentialID"
    )]
    pub previous_credential_id: Option<String>,
    /// When the previous credential is deleted (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_credential_delete_at: Option<String>,
    /// When the access token in the Secret expires (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_expires_at: Option<String>,
}
