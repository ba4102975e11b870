//! Telnyx JSON models, field names exactly as the provider sends them
//! (seed 001: CredentialConnection; seed 003: TelephonyCredential).
//!
//! Enum-valued fields are `String`: the CRD validates values at admission and
//! Telnyx may add values. Response fields are `Option` because the provider
//! may omit any of them; request fields are `Option`/[`Nullable`] and skipped
//! when unset, so a PATCH sends only what the caller set.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::provider::serde_util::{
    Nullable, opt_string_or_number, serialize_opt_secret, string_or_number,
};

/// RTCP settings (`rtcp_settings`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RtcpSettings {
    /// "rtcp-mux" | "rtp+1" (default "rtp+1").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_enabled: Option<bool>,
    /// 5..=3000, default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_frequency_secs: Option<i64>,
}

/// Inbound settings (`inbound`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialInbound {
    /// "+E.164" | "E.164" | "+E.164-national" | "E.164-national" (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ani_number_format: Option<String>,
    /// "+e164" | "e164" (default) | "national" | "sip_username".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnis_number_format: Option<String>,
    /// Codec names in priority order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codecs: Option<Vec<String>>,
    /// "sequential" | "round-robin".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_routing_method: Option<String>,
    /// Inbound call limit; `null` means unlimited (default).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub channel_limit: Nullable<i64>,
    /// Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_ringback_tone: Option<bool>,
    /// Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isup_headers_enabled: Option<bool>,
    /// Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prack_enabled: Option<bool>,
    /// Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_compact_headers_enabled: Option<bool>,
    /// 1..=120, default 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_1xx_secs: Option<i64>,
    /// 1..=600, default 90.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_2xx_secs: Option<i64>,
    /// Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shaken_stir_enabled: Option<bool>,
    /// "disabled" (default) | "enabled".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simultaneous_ringing: Option<String>,
}

/// Outbound settings (`outbound`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialOutbound {
    /// Nullable boolean, default false.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub call_parking_enabled: Nullable<bool>,
    /// Caller-id override number; default "".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ani_override: Option<String>,
    /// "always" (default) | "normal" | "emergency".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ani_override_type: Option<String>,
    /// Outbound call limit; `null` means unlimited (default).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub channel_limit: Nullable<i64>,
    /// Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instant_ringback_enabled: Option<bool>,
    /// Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_ringback_tone: Option<bool>,
    /// 2-letter country code, default "US".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub localization: Option<String>,
    /// "telnyx" (default) | "customer" | "disabled" | "passthru" |
    /// "caller-passthru" | "callee-passthru".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t38_reinvite_source: Option<String>,
    /// Outbound voice profile id (int64 as a string).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_string_or_number"
    )]
    pub outbound_voice_profile_id: Option<String>,
}

/// Noise suppression settings (`noise_suppression_details`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoiseSuppressionDetails {
    /// "denoiser" (default) | "deep_filter_net" | ... (see seed 001).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// 0..=100, multiple of 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attenuation_limit: Option<i64>,
}

/// Jitter buffer settings (`jitter_buffer`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JitterBuffer {
    /// Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_jitter_buffer: Option<bool>,
    /// 40..=400, default 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitterbuffer_msec_min: Option<i64>,
    /// 40..=400, default 200.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitterbuffer_msec_max: Option<i64>,
}

/// A credential connection as Telnyx returns it.
///
/// `password` is returned in plaintext by Telnyx; it is held as a
/// [`SecretString`] and never serialized back out.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CredentialConnection {
    /// int64 as a string (examples also show UUIDs).
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
    /// "credential_connection".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_type: Option<String>,
    /// Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// 4..=32 alphanumeric, a letter among the first 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// The SIP password (secret, never serialized).
    #[serde(default, skip_serializing)]
    pub password: Option<SecretString>,
    /// ISO-8601.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// ISO-8601.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// "Latency" (default) | "Chicago, IL" | ... (see seed 001).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchorsite_override: Option<String>,
    /// Connection name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_name: Option<String>,
    /// "disabled" | "unrestricted" | "internal".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_uri_calling_preference: Option<String>,
    /// Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_on_hold_comfort_noise_enabled: Option<bool>,
    /// "RFC 2833" (default) | "Inband" | "SIP INFO".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtmf_type: Option<String>,
    /// Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encode_contact_header_enabled: Option<bool>,
    /// "SRTP" or null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_media: Option<String>,
    /// Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onnet_t38_passthrough_enabled: Option<bool>,
    /// UUID or null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ios_push_credential_id: Option<String>,
    /// UUID or null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub android_push_credential_id: Option<String>,
    /// Webhook URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_event_url: Option<String>,
    /// Failover webhook URL or null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_event_failover_url: Option<String>,
    /// "1" (default) | "2" (create also accepts "texml").
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_string_or_number"
    )]
    pub webhook_api_version: Option<String>,
    /// 0..=30 or null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_timeout_secs: Option<i64>,
    /// Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_cost_in_webhooks: Option<bool>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// RTCP settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtcp_settings: Option<RtcpSettings>,
    /// Inbound settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound: Option<CredentialInbound>,
    /// Outbound settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbound: Option<CredentialOutbound>,
    /// "inbound" | "outbound" | "both" | "disabled".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_suppression: Option<String>,
    /// Noise suppression settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_suppression_details: Option<NoiseSuppressionDetails>,
    /// Jitter buffer settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter_buffer: Option<JitterBuffer>,
}

/// Body of POST (create) and PATCH (update) `/credential_connections`.
///
/// Every field is optional and skipped when unset; nullable fields use
/// [`Nullable`] so the caller can send an explicit `null` to clear them.
/// Create requires `connection_name`, `user_name` and `password`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CredentialConnectionRequest {
    /// Connection name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_name: Option<String>,
    /// Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// 4..=32 alphanumeric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// 8..=128 characters. Serialized (exposed) only into the request body.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_opt_secret"
    )]
    pub password: Option<SecretString>,
    /// See [`CredentialConnection::anchorsite_override`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchorsite_override: Option<String>,
    /// "disabled" | "unrestricted" | "internal".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_uri_calling_preference: Option<String>,
    /// Comfort noise on hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_on_hold_comfort_noise_enabled: Option<bool>,
    /// "RFC 2833" | "Inband" | "SIP INFO".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtmf_type: Option<String>,
    /// Encode the contact header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encode_contact_header_enabled: Option<bool>,
    /// "SRTP" or `Null` to disable.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub encrypted_media: Nullable<String>,
    /// On-net T.38 passthrough.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onnet_t38_passthrough_enabled: Option<bool>,
    /// UUID or `Null`.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub ios_push_credential_id: Nullable<String>,
    /// UUID or `Null`.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub android_push_credential_id: Nullable<String>,
    /// Webhook URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_event_url: Option<String>,
    /// Failover URL or `Null`.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub webhook_event_failover_url: Nullable<String>,
    /// "1" | "2" (create also "texml").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_api_version: Option<String>,
    /// 0..=30 or `Null`.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub webhook_timeout_secs: Nullable<i64>,
    /// Call cost in webhooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_cost_in_webhooks: Option<bool>,
    /// Tags (replaces the list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// RTCP settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtcp_settings: Option<RtcpSettings>,
    /// Inbound settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound: Option<CredentialInbound>,
    /// Outbound settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbound: Option<CredentialOutbound>,
    /// "inbound" | "outbound" | "both" | "disabled".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_suppression: Option<String>,
    /// Noise suppression settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_suppression_details: Option<NoiseSuppressionDetails>,
    /// Jitter buffer settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter_buffer: Option<JitterBuffer>,
}

/// Query of GET `/credential_connections`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectionFilter {
    /// `filter[connection_name][contains]` (case-insensitive, at least 3
    /// characters or Telnyx ignores/rejects it).
    pub name_contains: Option<String>,
    /// `filter[outbound.outbound_voice_profile_id]`.
    pub outbound_voice_profile_id: Option<String>,
    /// `page[number]`, 1-based.
    pub page_number: Option<u32>,
    /// `page[size]`, 1..=250.
    pub page_size: Option<u32>,
    /// `created_at` | `connection_name` | `active`, `-` prefix for descending.
    pub sort: Option<String>,
}

impl ConnectionFilter {
    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(v) = &self.name_contains {
            q.push(("filter[connection_name][contains]", v.clone()));
        }
        if let Some(v) = &self.outbound_voice_profile_id {
            q.push(("filter[outbound.outbound_voice_profile_id]", v.clone()));
        }
        if let Some(v) = self.page_number {
            q.push(("page[number]", v.to_string()));
        }
        if let Some(v) = self.page_size {
            q.push(("page[size]", v.to_string()));
        }
        if let Some(v) = &self.sort {
            q.push(("sort", v.clone()));
        }
        q
    }
}

/// Answer of POST `/credential_connections/{id}/actions/check_registration_status`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationStatus {
    /// "Not Applicable" | "Not Registered" | "Failed" | "Expired" |
    /// "Registered" | "Unregistered".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Registered contact address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    /// Registered contact port.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_string_or_number"
    )]
    pub port: Option<String>,
    /// Transport.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    /// User agent of the registered device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Last registration time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_registration: Option<String>,
}

impl RegistrationStatus {
    /// `status` as a typed value (`None` when Telnyx sent none).
    pub fn state(&self) -> Option<RegistrationState> {
        self.status.as_deref().map(RegistrationState::parse)
    }
}

/// The registration statuses of `check_registration_status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistrationState {
    NotApplicable,
    NotRegistered,
    Failed,
    Expired,
    Registered,
    Unregistered,
    /// A value outside the documented six, kept verbatim.
    Other(String),
}

impl RegistrationState {
    /// Parses Telnyx's spelling (e.g. `"Not Registered"`).
    pub fn parse(s: &str) -> Self {
        match s {
            "Not Applicable" => Self::NotApplicable,
            "Not Registered" => Self::NotRegistered,
            "Failed" => Self::Failed,
            "Expired" => Self::Expired,
            "Registered" => Self::Registered,
            "Unregistered" => Self::Unregistered,
            other => Self::Other(other.to_string()),
        }
    }

    /// Telnyx's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::NotApplicable => "Not Applicable",
            Self::NotRegistered => "Not Registered",
            Self::Failed => "Failed",
            Self::Expired => "Expired",
            Self::Registered => "Registered",
            Self::Unregistered => "Unregistered",
            Self::Other(s) => s,
        }
    }
}

/// `credential_type` of GET `/sip_registration_status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistrationCredentialType {
    /// An on-demand telephony credential, looked up by its `gencred…` username.
    TelephonyCredential,
    /// A credential connection, looked up by its `user_name`.
    SipCredentialConnection,
}

impl RegistrationCredentialType {
    /// The query value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TelephonyCredential => "telephony_credential",
            Self::SipCredentialConnection => "sip_credential_connection",
        }
    }
}

/// Answer of GET `/sip_registration_status` for a telephony credential or a
/// credential connection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SipRegistration {
    /// `telephony_credential` | `sip_credential_connection` | `uac_external_credential`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_type: Option<String>,
    /// The SIP username looked up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_username: Option<String>,
    /// The connection the login belongs to.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_string_or_number"
    )]
    pub connection_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_name: Option<String>,
    /// True while a client is registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered: Option<bool>,
    /// `unregistering` | `connection_disabled` | `standby` | `failed` | `trying` |
    /// `registered` | `unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_registration_status: Option<String>,
    /// SIP response to the last REGISTER, e.g. `200 OK`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_registration_response: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_registration_details: Option<SipRegistrationDetails>,
}

/// Registrar details of a [`SipRegistration`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SipRegistrationDetails {
    /// Registered contact address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ua_ip: Option<String>,
    /// Registered contact port.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_string_or_number"
    )]
    pub ua_port: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    /// When the registration last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// Unix time at which the current registration expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<i64>,
}

/// An on-demand telephony credential as Telnyx returns it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TelephonyCredentialObject {
    /// UUID.
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
    /// "credential".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_type: Option<String>,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tag (at most 1000 credentials per tag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// `connection:<connection id>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// Whether it has expired (expired credentials can only be deleted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired: Option<bool>,
    /// Generated SIP user name (prefix "gencred").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_username: Option<String>,
    /// Generated SIP password (secret, never serialized).
    #[serde(default, skip_serializing)]
    pub sip_password: Option<SecretString>,
    /// Owning user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// ISO-8601.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// ISO-8601.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// ISO-8601 (may come without a zone, e.g. "2042-06-18T21:32:38").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

impl TelephonyCredentialObject {
    /// The connection id from `resource_id` (`connection:<id>`).
    pub fn connection_id(&self) -> Option<&str> {
        self.resource_id
            .as_deref()
            .and_then(|r| r.strip_prefix("connection:"))
    }
}

/// Body of POST (create) and PATCH (update) `/telephony_credentials`.
/// `connection_id` is required on create. The password cannot be set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TelephonyCredentialRequest {
    /// Credential connection id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    /// Name (the operator uses it as the deterministic identity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// ISO-8601 expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// Query of GET `/telephony_credentials`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TelephonyCredentialFilter {
    /// `filter[tag]`.
    pub tag: Option<String>,
    /// `filter[name]`.
    pub name: Option<String>,
    /// `filter[status]` (e.g. "expired").
    pub status: Option<String>,
    /// `filter[resource_id]`, `connection:<id>` (see [`Self::for_connection`]).
    pub resource_id: Option<String>,
    /// `filter[sip_username]`.
    pub sip_username: Option<String>,
    /// `page[number]`, 1-based.
    pub page_number: Option<u32>,
    /// `page[size]`, 1..=250 (Telnyx default 50).
    pub page_size: Option<u32>,
}

impl TelephonyCredentialFilter {
    /// Filter on the credentials of one connection.
    pub fn for_connection(connection_id: &str) -> Self {
        Self {
            resource_id: Some(format!("connection:{connection_id}")),
            ..Self::default()
        }
    }

    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        let mut push = |k: &'static str, v: &Option<String>| {
            if let Some(v) = v {
                q.push((k, v.clone()));
            }
        };
        push("filter[tag]", &self.tag);
        push("filter[name]", &self.name);
        push("filter[status]", &self.status);
        push("filter[resource_id]", &self.resource_id);
        push("filter[sip_username]", &self.sip_username);
        if let Some(v) = self.page_number {
            q.push(("page[number]", v.to_string()));
        }
        if let Some(v) = self.page_size {
            q.push(("page[size]", v.to_string()));
        }
        q
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use secrecy::ExposeSecret;
    use serde_json::{Value, json};

    /// The example object of seed 001 (CredentialConnection schema).
    fn seed_001_connection() -> Value {
        json!({
            "id": "6a09cdc3-8948-47f0-aa62-74ac943d6c58",
            "record_type": "credential_connection",
            "active": true,
            "user_name": "myusername123",
            "password": "my123secure456password789",
            "created_at": "2018-02-02T22:25:27.521Z",
            "updated_at": "2018-02-02T22:25:27.521Z",
            "anchorsite_override": "Latency",
            "connection_name": "string",
            "sip_uri_calling_preference": "disabled",
            "default_on_hold_comfort_noise_enabled": true,
            "dtmf_type": "RFC 2833",
            "encode_contact_header_enabled": true,
            "encrypted_media": "SRTP",
            "onnet_t38_passthrough_enabled": true,
            "ios_push_credential_id": "ec0c8e5d-439e-4620-a0c1-9d9c8d02a836",
            "android_push_credential_id": "06b09dfd-7154-4980-8b75-cebf7a9d4f8e",
            "webhook_event_url": "https://example.com",
            "webhook_event_failover_url": "https://failover.example.com",
            "webhook_api_version": "1",
            "call_cost_in_webhooks": false,
            "webhook_timeout_secs": 25,
            "tags": ["tag1", "tag2"],
            "rtcp_settings": {"port": "rtp+1", "capture_enabled": true, "report_frequency_secs": 10},
            "inbound": {
                "ani_number_format": "+E.164",
                "dnis_number_format": "+e164",
                "codecs": ["G722"],
                "channel_limit": 10,
                "generate_ringback_tone": true,
                "isup_headers_enabled": true,
                "prack_enabled": true,
                "sip_compact_headers_enabled": true,
                "timeout_1xx_secs": 10,
                "timeout_2xx_secs": 15,
                "shaken_stir_enabled": true,
                "simultaneous_ringing": "enabled"
            },
            "outbound": {
                "call_parking_enabled": true,
                "ani_override": "string",
                "ani_override_type": "always",
                "channel_limit": 10,
                "instant_ringback_enabled": true,
                "generate_ringback_tone": true,
                "localization": "string",
                "t38_reinvite_source": "customer",
                "outbound_voice_profile_id": "1293384261075731499"
            },
            "noise_suppression": "both",
            "noise_suppression_details": {"engine": "deep_filter_net", "attenuation_limit": 80},
            "jitter_buffer": {"enable_jitter_buffer": true, "jitterbuffer_msec_min": 60, "jitterbuffer_msec_max": 200}
        })
    }

    #[test]
    fn seed_001_round_trip() {
        let v = seed_001_connection();
        let c: CredentialConnection = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(c.id, "6a09cdc3-8948-47f0-aa62-74ac943d6c58");
        assert_eq!(
            c.password.as_ref().unwrap().expose_secret(),
            "my123secure456password789"
        );
        assert_eq!(
            c.inbound.as_ref().unwrap().channel_limit,
            Nullable::Value(10)
        );
        assert_eq!(
            c.outbound.as_ref().unwrap().call_parking_enabled,
            Nullable::Value(true)
        );
        assert_eq!(c.default_on_hold_comfort_noise_enabled, Some(true));
        // Back out: every field with its exact name, except the password.
        let mut expected = v.clone();
        expected.as_object_mut().unwrap().remove("password");
        assert_eq!(serde_json::to_value(&c).unwrap(), expected);
        // Debug never shows the password.
        assert!(!format!("{c:?}").contains("my123secure456password789"));
    }

    #[test]
    fn seed_001_as_request_round_trip() {
        // The same object minus response-only fields is a valid request body;
        // the password is serialized in requests.
        let mut v = seed_001_connection();
        for k in ["id", "record_type", "created_at", "updated_at"] {
            v.as_object_mut().unwrap().remove(k);
        }
        let r: CredentialConnectionRequest = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&r).unwrap(), v);
        assert!(!format!("{r:?}").contains("my123secure456password789"));
    }

    #[test]
    fn seed_000_create_and_patch_bodies() {
        let create = json!({
            "active": true,
            "password": "xxx",
            "user_name": "myagent01",
            "anchorsite_override": "Latency",
            "connection_name": "parent-sip-connection"
        });
        let r: CredentialConnectionRequest = serde_json::from_value(create.clone()).unwrap();
        assert_eq!(serde_json::to_value(&r).unwrap(), create);
        let patch = json!({
            "webhook_event_url": "https://mywebhook.com/primary",
            "webhook_event_failover_url": "https://mywebhook.com/backup",
            "webhook_api_version": "2",
            "webhook_timeout_secs": 25,
            "outbound": {"call_parking_enabled": true, "outbound_voice_profile_id": "123412415234124"}
        });
        let r: CredentialConnectionRequest = serde_json::from_value(patch.clone()).unwrap();
        assert_eq!(serde_json::to_value(&r).unwrap(), patch);
    }

    #[test]
    fn patch_sends_only_what_is_set_and_explicit_nulls() {
        let r = CredentialConnectionRequest {
            active: Some(false),
            encrypted_media: Nullable::Null,
            webhook_timeout_secs: Nullable::Null,
            webhook_event_failover_url: Nullable::Null,
            outbound: Some(CredentialOutbound {
                channel_limit: Nullable::Null,
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({
                "active": false,
                "encrypted_media": null,
                "webhook_event_failover_url": null,
                "webhook_timeout_secs": null,
                "outbound": {"channel_limit": null}
            })
        );
        assert_eq!(
            serde_json::to_value(CredentialConnectionRequest::default()).unwrap(),
            json!({})
        );
    }

    #[test]
    fn response_nulls_and_numeric_ids() {
        let c: CredentialConnection = serde_json::from_value(json!({
            "id": 1293384261075731499u64,
            "encrypted_media": null,
            "android_push_credential_id": null,
            "webhook_event_failover_url": null,
            "webhook_timeout_secs": null,
            "webhook_api_version": 2,
            "outbound": {"call_parking_enabled": null, "outbound_voice_profile_id": 42},
            "some_future_field": {"x": 1}
        }))
        .unwrap();
        assert_eq!(c.id, "1293384261075731499");
        assert_eq!(c.encrypted_media, None);
        assert_eq!(c.webhook_api_version.as_deref(), Some("2"));
        let out = c.outbound.unwrap();
        assert_eq!(out.call_parking_enabled, Nullable::Null);
        assert_eq!(out.outbound_voice_profile_id.as_deref(), Some("42"));
    }

    /// The nested-object examples of seed 001.
    #[test]
    fn seed_001_nested_examples_round_trip() {
        let rtcp =
            json!({"port": "rtcp-mux", "capture_enabled": true, "report_frequency_secs": 10});
        let r: RtcpSettings = serde_json::from_value(rtcp.clone()).unwrap();
        assert_eq!(serde_json::to_value(&r).unwrap(), rtcp);
        let inbound = json!({
            "ani_number_format": "+E.164",
            "dnis_number_format": "+e164",
            "codecs": ["G722"],
            "default_routing_method": "sequential",
            "channel_limit": 10,
            "generate_ringback_tone": true,
            "isup_headers_enabled": true,
            "prack_enabled": true,
            "sip_compact_headers_enabled": true,
            "timeout_1xx_secs": 10,
            "timeout_2xx_secs": 20,
            "shaken_stir_enabled": true,
            "simultaneous_ringing": "enabled"
        });
        let i: CredentialInbound = serde_json::from_value(inbound.clone()).unwrap();
        assert_eq!(i.default_routing_method.as_deref(), Some("sequential"));
        assert_eq!(serde_json::to_value(&i).unwrap(), inbound);
        let outbound = json!({
            "call_parking_enabled": true,
            "ani_override": "always",
            "channel_limit": 10,
            "instant_ringback_enabled": true,
            "generate_ringback_tone": true,
            "localization": "US",
            "t38_reinvite_source": "customer",
            "outbound_voice_profile_id": "1293384261075731499"
        });
        let o: CredentialOutbound = serde_json::from_value(outbound.clone()).unwrap();
        assert_eq!(serde_json::to_value(&o).unwrap(), outbound);
    }

    /// The example object of seed 003 (TelephonyCredential schema).
    fn seed_003_credential() -> Value {
        json!({
            "id": "c215ade3-0d39-418e-94be-c5f780760199",
            "record_type": "credential",
            "name": "2020-06-18 21:32:38.917732Z",
            "expired": false,
            "user_id": "user-id",
            "resource_id": "connection:804252963366242252",
            "sip_password": "a92dbcfb60184a8cb330b0acb2f7617b",
            "sip_username": "gencrednCvHU5IYpSBPPsXI2iQsDX",
            "created_at": "2020-06-18T21:32:38",
            "expires_at": "2042-06-18T21:32:38",
            "updated_at": "2020-06-18T21:32:38.000Z"
        })
    }

    #[test]
    fn seed_003_round_trip() {
        let v = seed_003_credential();
        let c: TelephonyCredentialObject = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(c.connection_id(), Some("804252963366242252"));
        assert_eq!(
            c.sip_password.as_ref().unwrap().expose_secret(),
            "a92dbcfb60184a8cb330b0acb2f7617b"
        );
        let mut expected = v;
        expected.as_object_mut().unwrap().remove("sip_password");
        assert_eq!(serde_json::to_value(&c).unwrap(), expected);
        assert!(!format!("{c:?}").contains("a92dbcfb60184a8cb330b0acb2f7617b"));

        let req = json!({"name": "My-new-credential", "connection_id": "1234567890"});
        let r: TelephonyCredentialRequest = serde_json::from_value(req.clone()).unwrap();
        assert_eq!(serde_json::to_value(&r).unwrap(), req);
    }

    #[test]
    fn filters_to_query() {
        let f = ConnectionFilter {
            name_contains: Some("abc".into()),
            page_number: Some(2),
            page_size: Some(250),
            sort: Some("connection_name".into()),
            ..Default::default()
        };
        assert_eq!(
            f.query(),
            vec![
                ("filter[connection_name][contains]", "abc".to_string()),
                ("page[number]", "2".to_string()),
                ("page[size]", "250".to_string()),
                ("sort", "connection_name".to_string()),
            ]
        );
        let f = TelephonyCredentialFilter {
            name: Some("n".into()),
            ..TelephonyCredentialFilter::for_connection("77")
        };
        assert_eq!(
            f.query(),
            vec![
                ("filter[name]", "n".to_string()),
                ("filter[resource_id]", "connection:77".to_string()),
            ]
        );
    }
}
