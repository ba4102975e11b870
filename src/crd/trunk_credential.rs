//! `TrunkCredential`: a Vobiz trunk credential (`/api/v1/Account/{auth_id}/credentials`).
//! Vobiz never returns the password, so the Secret is the only place it lives.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::common::{
    DeletionPolicy, PasswordPolicy, ProviderRef, Rotation, RotationStatus, SecretKeySelector,
    SecretTarget,
};

/// Desired state of a Vobiz trunk credential.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "sipcred.io",
    version = "v1alpha1",
    kind = "TrunkCredential",
    namespaced,
    status = "TrunkCredentialStatus",
    shortname = "trunkcred",
    shortname = "tkc",
    category = "sipcred",
    doc = "A Vobiz SIP trunk credential. The username, password and realm are delivered into a Secret owned by this object.",
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
    printcolumn(name = "Username", type_ = "string", json_path = ".spec.username"),
    printcolumn(
        name = "Credential ID",
        type_ = "string",
        json_path = ".status.credentialID",
        priority = 1
    ),
    printcolumn(name = "Secret", type_ = "string", json_path = ".status.secretName"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("!has(self.passwordSecretRef) || !has(self.passwordPolicy)")
    .message("spec: set exactly one password source: passwordSecretRef or passwordPolicy (leave both unset to generate with the default policy)"))]
#[x_kube(validation = kube::core::Rule::new("!has(self.passwordSecretRef) || !has(self.rotation)")
    .message("spec.rotation: a password from passwordSecretRef is rotated by changing that Secret; remove spec.rotation or spec.passwordSecretRef"))]
pub struct TrunkCredentialSpec {
    /// The provider account (a Vobiz `SipProvider` or `ClusterSipProvider`).
    pub provider_ref: ProviderRef,
    /// SIP username, unique within the Vobiz account and immutable (Vobiz cannot rename
    /// a credential). It is also the credential's identity there.
    #[schemars(length(min = 3, max = 64))]
    #[x_kube(validation = kube::core::Rule::new("self.matches('^[A-Za-z0-9][A-Za-z0-9_-]*$')").message("spec.username must start with a letter or digit and contain only letters, digits, '_' and '-'"))]
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("spec.username is immutable: create a new TrunkCredential to change it"))]
    pub username: String,
    /// Take the SIP password from this Secret key (at least 8 characters). A change of
    /// the referenced password is pushed to Vobiz.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret_ref: Option<SecretKeySelector>,
    /// Generate the SIP password once under this policy (the default when no
    /// passwordSecretRef is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_policy: Option<PasswordPolicy>,
    /// Whether the credential may authenticate. Vobiz default: true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Free-text description stored at Vobiz.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    pub description: Option<String>,
    /// Attach the credential to this Vobiz trunk (sets the trunk's `credential_uuid`).
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "trunkID")]
    #[schemars(length(min = 1, max = 64))]
    pub trunk_id: Option<String>,
    /// Where the credentials are written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretTarget>,
    /// What happens at Vobiz when this object is deleted: `Delete` (default) or `Orphan`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
    /// Replace the generated password on a schedule or on demand (see the README).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<Rotation>,
}

/// Observed state of a TrunkCredential.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrunkCredentialStatus {
    /// `Ready` and `Synced` conditions, each stamped with the generation it describes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The generation the operator last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The Vobiz ID (UUID) of the credential.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "credentialID"
    )]
    pub credential_id: Option<String>,
    /// The SIP realm to register against (`<account>.sip.vobiz.ai`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    /// The trunk the credential is attached to.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "attachedTrunkID"
    )]
    pub attached_trunk_id: Option<String>,
    /// The Secret holding the credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// When Vobiz created the credential (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// When the provider object last matched the spec (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_synced_at: Option<String>,
    /// When the password last reached Vobiz (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_updated_at: Option<String>,
    /// Rotations of the password.
    #[serde(flatten)]
    pub rotation: RotationStatus,
}
