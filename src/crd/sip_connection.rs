//! `SipConnection`: a Telnyx credential connection (`/v2/credential_connections`).
//!
//! Every writable field of the provider's CredentialConnection schema is settable, in
//! Kubernetes camelCase. Unset fields are left to the provider's defaults and are not
//! compared, so a user owns exactly the fields they write.
//!
//! A field of [`ConnectionSettings`] (or of the types under it) is declared once: its
//! Rust name is Telnyx's name for it and serde's gives the Kubernetes one, and
//! `#[derive(ProviderValue)]` sends it to Telnyx under the Rust name. Adding a Telnyx
//! field is adding it here; tests/telnyx_fields.rs holds these types to seed 001.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    DeletionPolicy, PasswordPolicy, ProviderRef, RegistrationCheck, RegistrationInfo, Rotation,
    RotationStatus, SecretKeySelector, SecretTarget,
};
use super::provider_value::ProviderValue;

/// Desired state of a Telnyx credential connection.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "sipcred.io",
    version = "v1alpha1",
    kind = "SipConnection",
    namespaced,
    status = "SipConnectionStatus",
    shortname = "sipconn",
    shortname = "sipc",
    category = "sipcred",
    doc = "A Telnyx credential connection. Its SIP username, password and domain are delivered into a Secret owned by this object.",
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
        name = "Connection ID",
        type_ = "string",
        json_path = ".status.connectionID"
    ),
    printcolumn(name = "User", type_ = "string", json_path = ".spec.userName"),
    printcolumn(name = "Secret", type_ = "string", json_path = ".status.secretName"),
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
#[x_kube(validation = kube::core::Rule::new("!has(self.passwordSecretRef) || !has(self.passwordPolicy)")
    .message("spec: set exactly one password source: passwordSecretRef or passwordPolicy (leave both unset to generate with the default policy)"))]
#[x_kube(validation = kube::core::Rule::new("!has(self.passwordSecretRef) || !has(self.rotation)")
    .message("spec.rotation: a password from passwordSecretRef is rotated by changing that Secret; remove spec.rotation or spec.passwordSecretRef"))]
pub struct SipConnectionSpec {
    /// The provider account (a Telnyx `SipProvider` or `ClusterSipProvider`).
    pub provider_ref: ProviderRef,
    /// Name of the connection at Telnyx. It is also the object's identity there: a
    /// connection with this name is adopted instead of created twice. Defaults to
    /// `<namespace>-<name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    pub connection_name: Option<String>,
    /// SIP username of the connection: 4-32 letters and digits, with a letter among the
    /// first 5 characters. Unique across the Telnyx account.
    #[schemars(length(min = 4, max = 32))]
    #[x_kube(validation = kube::core::Rule::new("self.matches('^[A-Za-z0-9]*$')").message("spec.userName must contain only letters and digits (no spaces or special characters)"))]
    #[x_kube(validation = kube::core::Rule::new("self.matches('^[0-9]{0,4}[A-Za-z]')").message("spec.userName must have a letter among its first 5 characters"))]
    pub user_name: String,
    /// Take the SIP password from this Secret key (8-128 characters). A change of the
    /// referenced password is pushed to Telnyx.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret_ref: Option<SecretKeySelector>,
    /// Generate the SIP password once under this policy (the default when no
    /// passwordSecretRef is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_policy: Option<PasswordPolicy>,
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
    /// Replace the generated password on a schedule or on demand (see the README).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<Rotation>,

    /// The connection's settings at Telnyx (in the schema, fields of the spec itself).
    #[serde(flatten)]
    pub settings: ConnectionSettings,
}

/// Every writable setting of a Telnyx credential connection besides its identity
/// (`connectionName`, `userName`) and its password.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema, ProviderValue)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionSettings {
    /// Whether the connection is active. Telnyx default: true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Media anchor site. `Latency` routes media through the site with the lowest
    /// round-trip time. Telnyx default: `Latency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchorsite_override: Option<AnchorsiteOverride>,
    /// Inbound SIP URI calls: `disabled`, `unrestricted` (anyone calling
    /// <userName>@sip.telnyx.com) or `internal` (only from connections of this account;
    /// call-flow Pattern 2).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "sipURICallingPreference"
    )]
    pub sip_uri_calling_preference: Option<SipUriCallingPreference>,
    /// Generate comfort noise while a call is on hold. Telnyx default: true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_on_hold_comfort_noise_enabled: Option<bool>,
    /// Type of DTMF digits sent from Telnyx to this connection. Telnyx default: `RFC 2833`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtmf_type: Option<DtmfType>,
    /// Encode the SIP Contact header sent by Telnyx (helps with NAT or ALG). Telnyx default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encode_contact_header_enabled: Option<bool>,
    /// `SRTP` to encrypt media, `Disabled` for none (sent to Telnyx as null).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_media: Option<EncryptedMedia>,
    /// Negotiate T.38 directly when both ends are on the Telnyx network. Telnyx default: false.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "onnetT38PassthroughEnabled"
    )]
    pub onnet_t38_passthrough_enabled: Option<bool>,
    /// UUID of the iOS push credential.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "iosPushCredentialID"
    )]
    #[schemars(length(max = 64))]
    pub ios_push_credential_id: Option<String>,
    /// UUID of the Android push credential.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "androidPushCredentialID"
    )]
    #[schemars(length(max = 64))]
    pub android_push_credential_id: Option<String>,
    /// URL that receives webhooks for this connection; must include a scheme such as
    /// `https` (call-flow Pattern 1).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "webhookEventURL"
    )]
    #[schemars(length(max = 2048))]
    #[x_kube(validation = kube::core::Rule::new(r"self.matches('^[a-zA-Z][a-zA-Z0-9+.-]*://[^\\s/?#]+')").message("spec.webhookEventURL must be an absolute URL with a scheme, such as https://example.com/hook"))]
    pub webhook_event_url: Option<String>,
    /// Failover URL for webhooks when the primary fails; must include a scheme.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "webhookEventFailoverURL"
    )]
    #[schemars(length(max = 2048))]
    #[x_kube(validation = kube::core::Rule::new(r"self.matches('^[a-zA-Z][a-zA-Z0-9+.-]*://[^\\s/?#]+')").message("spec.webhookEventFailoverURL must be an absolute URL with a scheme, such as https://example.com/backup"))]
    pub webhook_event_failover_url: Option<String>,
    /// Webhook format: `1` or `2`. Telnyx default: `1`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "webhookAPIVersion"
    )]
    pub webhook_api_version: Option<WebhookApiVersion>,
    /// Seconds to wait before a webhook times out, 0 to 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 30))]
    pub webhook_timeout_secs: Option<i32>,
    /// Send call-cost webhooks for this connection. Telnyx default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_cost_in_webhooks: Option<bool>,
    /// Tags on the connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    pub tags: Option<Vec<String>>,
    /// RTCP settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtcp_settings: Option<RtcpSettings>,
    /// Settings for calls into this connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound: Option<CredentialInbound>,
    /// Settings for calls out of this connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbound: Option<CredentialOutbound>,
    /// Where noise suppression applies: `inbound`, `outbound`, `both` or `disabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_suppression: Option<NoiseSuppression>,
    /// Noise suppression engine settings, kept even while suppression is disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_suppression_details: Option<NoiseSuppressionDetails>,
    /// Jitter buffer for RTP streams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter_buffer: Option<JitterBuffer>,
}

// Media anchor site.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, ProviderValue)]
pub enum AnchorsiteOverride {
    /// The site with the lowest round-trip time.
    Latency,
    /// Chicago, IL.
    #[serde(rename = "Chicago, IL")]
    Chicago,
    /// Ashburn, VA.
    #[serde(rename = "Ashburn, VA")]
    Ashburn,
    /// San Jose, CA.
    #[serde(rename = "San Jose, CA")]
    SanJose,
    /// Sydney, Australia.
    #[serde(rename = "Sydney, Australia")]
    Sydney,
    /// Amsterdam, Netherlands.
    #[serde(rename = "Amsterdam, Netherlands")]
    Amsterdam,
    /// London, UK.
    #[serde(rename = "London, UK")]
    London,
    /// Toronto, Canada.
    #[serde(rename = "Toronto, Canada")]
    Toronto,
    /// Vancouver, Canada.
    #[serde(rename = "Vancouver, Canada")]
    Vancouver,
    /// Frankfurt, Germany.
    #[serde(rename = "Frankfurt, Germany")]
    Frankfurt,
}

// Who may call this connection by SIP URI.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, ProviderValue)]
#[serde(rename_all = "lowercase")]
pub enum SipUriCallingPreference {
    /// No SIP URI calls.
    Disabled,
    /// Anyone.
    Unrestricted,
    /// Only connections of the same account.
    Internal,
}

// DTMF signalling type.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, ProviderValue)]
pub enum DtmfType {
    /// RFC 2833 telephone events.
    #[serde(rename = "RFC 2833")]
    Rfc2833,
    /// In-band tones.
    Inband,
    /// SIP INFO messages.
    #[serde(rename = "SIP INFO")]
    SipInfo,
}

// Media encryption.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, ProviderValue)]
pub enum EncryptedMedia {
    /// SRTP.
    #[serde(rename = "SRTP")]
    Srtp,
    /// No media encryption (null at Telnyx).
    #[provider(null)]
    Disabled,
}

// Webhook API version.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, ProviderValue)]
pub enum WebhookApiVersion {
    /// Telnyx API v1 webhooks.
    #[serde(rename = "1")]
    V1,
    /// Telnyx API v2 webhooks.
    #[serde(rename = "2")]
    V2,
}

// RTCP port choice.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, ProviderValue)]
pub enum RtcpPort {
    /// RTCP multiplexed on the RTP port.
    #[serde(rename = "rtcp-mux")]
    RtcpMux,
    /// RTCP on RTP port + 1.
    #[serde(rename = "rtp+1")]
    RtpPlusOne,
}

/// RTCP settings of a connection.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema, ProviderValue)]
#[serde(rename_all = "camelCase")]
pub struct RtcpSettings {
    /// `rtcp-mux` or `rtp+1`. Telnyx default: `rtp+1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<RtcpPort>,
    /// BETA: capture RTCP messages for QoS reports. Telnyx default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_enabled: Option<bool>,
    /// How often RTCP reports are sent, 5 to 3000 seconds. Telnyx default: 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 5, max = 3000))]
    pub report_frequency_secs: Option<i32>,
}

// Format of the caller's number (ANI) on inbound calls.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, ProviderValue)]
pub enum AniNumberFormat {
    /// `+E.164`.
    #[serde(rename = "+E.164")]
    PlusE164,
    /// `E.164`.
    #[serde(rename = "E.164")]
    E164,
    /// `+E.164-national`.
    #[serde(rename = "+E.164-national")]
    PlusE164National,
    /// `E.164-national`.
    #[serde(rename = "E.164-national")]
    E164National,
}

// Format of the dialled number (DNIS) on inbound calls.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, ProviderValue)]
pub enum DnisNumberFormat {
    /// `+e164`.
    #[serde(rename = "+e164")]
    PlusE164,
    /// `e164`.
    #[serde(rename = "e164")]
    E164,
    /// `national`.
    #[serde(rename = "national")]
    National,
    /// `sip_username`.
    #[serde(rename = "sip_username")]
    SipUsername,
}

// Routing method for numbers associated with the connection.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, ProviderValue)]
pub enum DefaultRoutingMethod {
    /// Sequential.
    #[serde(rename = "sequential")]
    Sequential,
    /// Round robin.
    #[serde(rename = "round-robin")]
    RoundRobin,
}

// Simultaneous ringing of several devices.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, ProviderValue)]
#[serde(rename_all = "lowercase")]
pub enum SimultaneousRinging {
    /// Off.
    Disabled,
    /// On.
    Enabled,
}

/// Inbound call settings of a credential connection.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema, ProviderValue)]
#[serde(rename_all = "camelCase")]
pub struct CredentialInbound {
    /// Format of the caller's number. Telnyx default: `E.164-national`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ani_number_format: Option<AniNumberFormat>,
    /// Format of the dialled number. Telnyx default: `e164`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnis_number_format: Option<DnisNumberFormat>,
    /// Codecs offered on inbound calls, in priority order (e.g. G722, G711U, G711A,
    /// G729, OPUS, H.264).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16))]
    pub codecs: Option<Vec<String>>,
    /// `sequential` or `round-robin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_routing_method: Option<DefaultRoutingMethod>,
    /// Limit on simultaneous inbound calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub channel_limit: Option<i32>,
    /// Generate ringback through 183 session progress with early media. Telnyx default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_ringback_tone: Option<bool>,
    /// Pass ISUP parameters as SIP headers. Telnyx default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isup_headers_enabled: Option<bool>,
    /// Enable PRACK (RFC 3262). Telnyx default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prack_enabled: Option<bool>,
    /// Use compact SIP headers. Telnyx default: true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_compact_headers_enabled: Option<bool>,
    /// Seconds before aborting when no 1xx arrives, 1 to 120. Telnyx default: 3.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "timeout1xxSecs"
    )]
    #[schemars(range(min = 1, max = 120))]
    pub timeout_1xx_secs: Option<i32>,
    /// Seconds before aborting an unanswered call, 1 to 600. Telnyx default: 90.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "timeout2xxSecs"
    )]
    #[schemars(range(min = 1, max = 600))]
    pub timeout_2xx_secs: Option<i32>,
    /// Receive the SHAKEN/STIR Identity header. Telnyx default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shaken_stir_enabled: Option<bool>,
    /// `enabled` rings several devices at once. Telnyx default: `disabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simultaneous_ringing: Option<SimultaneousRinging>,
}

// When the ANI override applies.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, ProviderValue)]
#[serde(rename_all = "lowercase")]
pub enum AniOverrideType {
    /// Always.
    Always,
    /// Normal calls only.
    Normal,
    /// Emergency calls only.
    Emergency,
}

// Who sends the T.38 re-INVITE.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, ProviderValue)]
pub enum T38ReinviteSource {
    /// Telnyx.
    #[serde(rename = "telnyx")]
    Telnyx,
    /// The customer.
    #[serde(rename = "customer")]
    Customer,
    /// Nobody.
    #[serde(rename = "disabled")]
    Disabled,
    /// Pass through.
    #[serde(rename = "passthru")]
    Passthru,
    /// Caller pass-through.
    #[serde(rename = "caller-passthru")]
    CallerPassthru,
    /// Callee pass-through.
    #[serde(rename = "callee-passthru")]
    CalleePassthru,
}

/// Outbound call settings of a credential connection.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema, ProviderValue)]
#[serde(rename_all = "camelCase")]
pub struct CredentialOutbound {
    /// Park outbound SIP calls for Call Control instead of bridging them (call-flow
    /// Pattern 1). Telnyx default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_parking_enabled: Option<bool>,
    /// Phone number that overrides the caller ID on outbound calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    pub ani_override: Option<String>,
    /// When aniOverride applies: `always`, `normal` or `emergency`. Telnyx default: `always`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ani_override_type: Option<AniOverrideType>,
    /// Limit on simultaneous outbound calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub channel_limit: Option<i32>,
    /// Send ringback without waiting for an indication. Telnyx default: true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instant_ringback_enabled: Option<bool>,
    /// Generate ringback through 183 session progress with early media. Telnyx default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_ringback_tone: Option<bool>,
    /// Two-letter country code whose national dialling rules apply. Telnyx default: `US`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2))]
    #[x_kube(validation = kube::core::Rule::new("self == '' || self.matches('^[A-Z]{2}$')").message("spec.outbound.localization must be a two-letter upper-case country code such as US"))]
    pub localization: Option<String>,
    /// Who sends the T.38 re-INVITE (fax outbound voice profiles only). Telnyx default: `telnyx`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "t38ReinviteSource"
    )]
    pub t38_reinvite_source: Option<T38ReinviteSource>,
    /// ID of the outbound voice profile used for outbound calls (call-flow Pattern 1).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "outboundVoiceProfileID"
    )]
    #[schemars(length(min = 1, max = 64))]
    pub outbound_voice_profile_id: Option<String>,
}

// Where noise suppression applies.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, ProviderValue)]
#[serde(rename_all = "lowercase")]
pub enum NoiseSuppression {
    /// Incoming audio.
    Inbound,
    /// Outgoing audio.
    Outbound,
    /// Both directions.
    Both,
    /// Off.
    Disabled,
}

// Noise suppression engine.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, ProviderValue)]
#[serde(rename_all = "snake_case")]
pub enum NoiseSuppressionEngine {
    /// The default engine.
    Denoiser,
    /// DeepFilterNet.
    DeepFilterNet,
    /// DeepFilterNet (large).
    DeepFilterNetLarge,
    /// Krisp VIVA Tel.
    KrispVivaTel,
    /// Krisp VIVA Tel Lite.
    KrispVivaTelLite,
    /// Krisp VIVA Pro model.
    KrispVivaPromodel,
    /// Krisp VIVA SS.
    KrispVivaSs,
    /// Quail voice focus.
    QuailVoiceFocus,
}

/// Noise suppression engine settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema, ProviderValue)]
#[serde(rename_all = "camelCase")]
pub struct NoiseSuppressionDetails {
    /// The engine. Telnyx default: `denoiser`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<NoiseSuppressionEngine>,
    /// Attenuation limit, 0 to 100 in steps of 10. The default depends on the engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100), extend("multipleOf" = 10))]
    pub attenuation_limit: Option<i32>,
}

/// Jitter buffer settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema, ProviderValue)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("!has(self.jitterbufferMsecMin) || !has(self.jitterbufferMsecMax) || self.jitterbufferMsecMin <= self.jitterbufferMsecMax")
    .message("spec.jitterBuffer.jitterbufferMsecMin must be less than or equal to jitterbufferMsecMax"))]
pub struct JitterBuffer {
    /// Enable the jitter buffer. Telnyx default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_jitter_buffer: Option<bool>,
    /// Minimum buffer in milliseconds, 40 to 400. Telnyx default: 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 40, max = 400))]
    pub jitterbuffer_msec_min: Option<i32>,
    /// Maximum buffer in milliseconds, 40 to 400. Telnyx default: 200.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 40, max = 400))]
    pub jitterbuffer_msec_max: Option<i32>,
}

/// Observed state of a SipConnection.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SipConnectionStatus {
    /// `Ready` and `Synced` conditions, each stamped with the generation it describes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The generation the operator last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The Telnyx ID of the credential connection.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "connectionID"
    )]
    pub connection_id: Option<String>,
    /// The connection name at Telnyx.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_name: Option<String>,
    /// The Secret holding the credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// When Telnyx created the connection (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// When the provider object last matched the spec (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_synced_at: Option<String>,
    /// When the password last reached Telnyx (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_updated_at: Option<String>,
    /// The live SIP registration, with `spec.registrationCheck`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<RegistrationInfo>,
    /// Rotations of the password.
    #[serde(flatten)]
    pub rotation: RotationStatus,
}
