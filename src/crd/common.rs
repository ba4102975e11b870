//! Types shared by every kind: provider references, Secret targets, password
//! sources, deletion policy and the status conditions.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

// The kind of provider object a managed resource points at.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default, JsonSchema)]
pub enum ProviderKind {
    /// A `SipProvider` in the resource's own namespace.
    #[default]
    SipProvider,
    /// A cluster-scoped `ClusterSipProvider`.
    ClusterSipProvider,
}

/// A reference to the provider account (a `SipProvider` or `ClusterSipProvider`) this
/// object is managed through.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderRef {
    /// Kind of the provider object: `SipProvider` (same namespace, the default) or
    /// `ClusterSipProvider`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ProviderKind>,
    /// Name of the provider object.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

impl ProviderRef {
    /// The kind, with the operator-side default applied (no schema defaults: they make
    /// Argo CD report OutOfSync forever).
    pub fn kind(&self) -> ProviderKind {
        self.kind.unwrap_or_default()
    }
}

/// A key in a Secret in the same namespace as the referring object.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeySelector {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key within the Secret's data. Defaults to `password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub key: Option<String>,
}

// What happens to the provider object when the Kubernetes object is deleted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default, JsonSchema)]
pub enum DeletionPolicy {
    /// Delete the provider object (the default).
    #[default]
    Delete,
    /// Leave the provider object in place; only the Kubernetes object goes away.
    Orphan,
}

/// How a password is generated when it is not taken from a Secret. The password is
/// generated once, stored in the target Secret before the provider is called, and
/// reused from there: it never changes unless rotation is requested.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, Default, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new(
    "(has(self.lowercase) ? self.lowercase : true) || (has(self.uppercase) ? self.uppercase : true) || (has(self.digits) ? self.digits : true) || (has(self.symbols) && self.symbols)"
).message("passwordPolicy: at least one character class (lowercase, uppercase, digits, symbols) must be enabled"))]
pub struct PasswordPolicy {
    /// Length of the generated password, 8 to 128 characters. Defaults to 32.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 8, max = 128))]
    pub length: Option<i32>,
    /// Include lowercase letters. Defaults to true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lowercase: Option<bool>,
    /// Include uppercase letters. Defaults to true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uppercase: Option<bool>,
    /// Include digits. Defaults to true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digits: Option<bool>,
    /// Include symbols (`!#%+-.:=@^_~`). Defaults to false: many SIP clients mangle them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbols: Option<bool>,
}

/// Key names used in the target Secret. Every key defaults to the name shown.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, Default, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeys {
    /// Key holding the SIP username. Defaults to `username`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub username: Option<String>,
    /// Key holding the SIP password. Defaults to `password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub password: Option<String>,
    /// Key holding the SIP domain or realm (`sip.telnyx.com`, or the Vobiz realm).
    /// Defaults to `domain`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub domain: Option<String>,
    /// Key holding the provider's ID of the object. Defaults to `id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub id: Option<String>,
}

/// The Secret the operator writes the credentials into. It is created in the object's
/// namespace and owned by the object; a pre-existing Secret that the object does not
/// own is never overwritten.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretTarget {
    /// Name of the Secret. Defaults to the object's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub name: Option<String>,
    /// Key names inside the Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<SecretKeys>,
    /// Extra labels on the Secret. GitOps tracking labels are never copied from the owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<std::collections::BTreeMap<String, String>>,
    /// Extra annotations on the Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<std::collections::BTreeMap<String, String>>,
    /// Client-ready renderings of the login added to the Secret, one key each:
    /// `sipURI` (key `sip-uri`), `webrtc` (`webrtc.json`), `pjsip` (`pjsip.conf`),
    /// `freeswitch` (`freeswitch-gateway.xml`) and `env` (`sip.env`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 5), extend("x-kubernetes-list-type" = "set"))]
    pub formats: Option<Vec<SecretFormat>>,
}

/// A client-ready rendering of the login (see `secret_formats`).
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, JsonSchema,
)]
pub enum SecretFormat {
    /// `sip:user@domain`.
    #[serde(rename = "sipURI")]
    SipUri,
    /// The JSON login of the Telnyx WebRTC SDK: `{"login": …, "password": …}`.
    #[serde(rename = "webrtc")]
    Webrtc,
    /// Asterisk `pjsip.conf` sections: registration, auth, aor and endpoint.
    #[serde(rename = "pjsip")]
    Pjsip,
    /// A FreeSWITCH Sofia gateway (`<include><gateway …>`).
    #[serde(rename = "freeswitch")]
    Freeswitch,
    /// `SIP_USERNAME=…` lines in dotenv syntax.
    #[serde(rename = "env")]
    Env,
}

/// Periodic checking of whether a SIP client is registered with this login.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationCheck {
    /// How often to ask Telnyx, as a duration such as `30s`, `5m` or `1h30m` (at least
    /// 30s). The operator stretches it when many objects are checked so that checks
    /// use at most a tenth of the account's request rate (see the README).
    #[schemars(length(min = 1, max = 32))]
    #[x_kube(validation = kube::core::Rule::new("self.matches('^([0-9]+(ms|h|m|s))+$')").message("spec.registrationCheck.interval must be a duration such as 30s, 5m or 1h30m (units h, m, s, ms)"))]
    #[x_kube(validation = kube::core::Rule::new("!self.matches('^([0-9]+(ms|h|m|s))+$') || duration(self) >= duration('30s')").message("spec.registrationCheck.interval must be at least 30s"))]
    pub interval: String,
}

/// The live SIP registration of the login, as Telnyx last reported it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationInfo {
    /// `Registered`, `NotRegistered`, `Failed`, `Expired`, `Unregistered` or
    /// `NotApplicable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Address the client registered from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    /// Port the client registered from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// Transport of the registration (e.g. `UDP`, `TLS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    /// User agent of the registered client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// When the client last registered, as Telnyx reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_registration: Option<String>,
    /// When the operator last asked Telnyx (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<String>,
}

/// Condition types every managed kind reports.
pub mod condition {
    /// The provider object exists as declared and the Secret holds working credentials.
    pub const READY: &str = "Ready";
    /// The last reconcile succeeded.
    pub const SYNCED: &str = "Synced";
    /// A SIP client is registered with the login (only with
    /// `spec.registrationCheck`; never affects Ready).
    pub const REGISTERED: &str = "Registered";
}

/// Finds a condition by type.
pub fn find_condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Rotation of a login this operator chooses the password of: a new password from the
/// policy on a schedule, or on demand with the annotation
/// `sipcred.io/rotate-requested-at: <RFC 3339 time>` (each distinct value honoured
/// once). With `passwordSecretRef` the referenced Secret is the source: rotate by
/// changing it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rotation {
    /// How long a password lives before a new one replaces it, as a duration such as
    /// `720h` or `90m` (at least 10s); absent: only on demand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 32))]
    #[x_kube(validation = kube::core::Rule::new("self.matches('^([0-9]+(ms|h|m|s))+$')").message("spec.rotation.interval must be a duration such as 720h, 90m or 1h30m (units h, m, s, ms)"))]
    #[x_kube(validation = kube::core::Rule::new("!self.matches('^([0-9]+(ms|h|m|s))+$') || duration(self) >= duration('10s')").message("spec.rotation.interval must be at least 10s"))]
    pub interval: Option<String>,
}

/// Rotation of a login the provider generates: a NEW credential replaces the current
/// one, the Secret switches to it once it can be used, and the previous credential is
/// deleted after `gracePeriod`, so clients that still hold it keep working meanwhile.
/// On a schedule, on demand with the annotation
/// `sipcred.io/rotate-requested-at: <RFC 3339 time>` (each distinct value honoured
/// once), or `renewBefore` the credential expires.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialRotation {
    /// How long a credential lives before a new one replaces it, as a duration such as
    /// `720h` (at least 10s); absent: only on demand or before expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 32))]
    #[x_kube(validation = kube::core::Rule::new("self.matches('^([0-9]+(ms|h|m|s))+$')").message("spec.rotation.interval must be a duration such as 720h, 90m or 1h30m (units h, m, s, ms)"))]
    #[x_kube(validation = kube::core::Rule::new("!self.matches('^([0-9]+(ms|h|m|s))+$') || duration(self) >= duration('10s')").message("spec.rotation.interval must be at least 10s"))]
    pub interval: Option<String>,
    /// How long the previous credential keeps working after the Secret switched to the
    /// new one, as a duration (default `10m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 32))]
    #[x_kube(validation = kube::core::Rule::new("self.matches('^([0-9]+(ms|h|m|s))+$')").message("spec.rotation.gracePeriod must be a duration such as 10m or 1h (units h, m, s, ms)"))]
    pub grace_period: Option<String>,
    /// Renew (as a rotation) this long before `spec.expiresAt`; the new credential
    /// lives as long as the previous one did, so the Secret never holds an expired
    /// login. A duration such as `24h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 32))]
    #[x_kube(validation = kube::core::Rule::new("self.matches('^([0-9]+(ms|h|m|s))+$')").message("spec.rotation.renewBefore must be a duration such as 24h or 30m (units h, m, s, ms)"))]
    pub renew_before: Option<String>,
}

/// Where a managed object stands in its rotations.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RotationStatus {
    /// When the login in the Secret was last replaced by a rotation (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rotated_at: Option<String>,
    /// When the next scheduled rotation or renewal is due (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_rotation_at: Option<String>,
    /// The last value of the `sipcred.io/rotate-requested-at` annotation that was
    /// honoured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rotation_request: Option<String>,
    /// How many times the login has been rotated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotations: Option<u32>,
}
