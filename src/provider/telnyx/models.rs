//! Telnyx JSON models, field names exactly as the provider sends them
//! (seed 001: CredentialConnection; seed 003: TelephonyCredential).
//!
//! Response fields are `Option` because the provider may omit any of them;
//! request fields are skipped when unset, so a PATCH sends only what the caller
//! set. Enum-valued fields are `String`: Telnyx may add values. A credential
//! connection's settings are a JSON object the caller defines (see
//! [`CredentialConnectionRequest::settings`]).

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::provider::serde_util::{opt_string_or_number, serialize_opt_secret, string_or_number};

/// A credential connection as Telnyx returns it.
///
/// `password` is returned in plaintext by Telnyx; it is held as a
/// [`SecretString`] and never serialized back out.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(try_from = "ConnectionWire", into = "ConnectionWire")]
pub struct CredentialConnection {
    /// int64 as a string (examples also show UUIDs).
    pub id: String,
    /// "credential_connection".
    pub record_type: Option<String>,
    /// Connection name (the operator's identity of the object).
    pub connection_name: Option<String>,
    /// 4..=32 alphanumeric, a letter among the first 5.
    pub user_name: Option<String>,
    /// The SIP password (secret, never serialized).
    pub password: Option<SecretString>,
    /// ISO-8601.
    pub created_at: Option<String>,
    /// ISO-8601.
    pub updated_at: Option<String>,
    /// Every other field as sent, as JSON text (see [`Self::settings`]). The account's
    /// shared listing holds every connection of the account: as text one takes about
    /// 2 KB, against 10 KB parsed into a JSON map.
    settings: Box<str>,
}

impl CredentialConnection {
    /// Every other field, as sent. The settings (seed 001's `active`, `inbound`,
    /// `webhook_event_url`, ...) are the caller's to interpret: it compares them with
    /// the [`CredentialConnectionRequest::settings`] it wrote.
    pub fn settings(&self) -> Map<String, Value> {
        serde_json::from_str(&self.settings).unwrap_or_default()
    }
}

/// [`CredentialConnection`] on the wire.
#[derive(Serialize, Deserialize)]
struct ConnectionWire {
    #[serde(deserialize_with = "string_or_number")]
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    record_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    connection_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_name: Option<String>,
    #[serde(default, skip_serializing)]
    password: Option<SecretString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    updated_at: Option<String>,
    #[serde(flatten)]
    settings: Map<String, Value>,
}

impl TryFrom<ConnectionWire> for CredentialConnection {
    type Error = serde_json::Error;

    fn try_from(w: ConnectionWire) -> Result<Self, Self::Error> {
        Ok(Self {
            settings: serde_json::to_string(&w.settings)?.into(),
            id: w.id,
            record_type: w.record_type,
            connection_name: w.connection_name,
            user_name: w.user_name,
            password: w.password,
            created_at: w.created_at,
            updated_at: w.updated_at,
        })
    }
}

impl From<CredentialConnection> for ConnectionWire {
    fn from(c: CredentialConnection) -> Self {
        Self {
            settings: c.settings(),
            id: c.id,
            record_type: c.record_type,
            connection_name: c.connection_name,
            user_name: c.user_name,
            password: c.password,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// Body of POST (create) and PATCH (update) `/credential_connections`.
///
/// Every field is optional and skipped when unset, so a PATCH sends only what the
/// caller set. Create requires `connection_name`, `user_name` and `password`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CredentialConnectionRequest {
    /// Connection name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_name: Option<String>,
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
    /// The other writable fields of seed 001 (`active`, `inbound`, ...), named and
    /// valued as Telnyx spells them; a JSON `null` clears a nullable one. They come
    /// from the SipConnection CRD, whose field declarations are their one definition
    /// (`crd::provider_value`), and this client sends them as given.
    #[serde(flatten)]
    pub settings: Map<String, Value>,
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

impl crate::provider::listing::ById for CredentialConnection {
    fn listed_id(&self) -> &str {
        &self.id
    }
}

impl crate::provider::listing::ById for TelephonyCredentialObject {
    fn listed_id(&self) -> &str {
        &self.id
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
        assert_eq!(c.connection_name.as_deref(), Some("string"));
        assert_eq!(c.settings()["inbound"]["channel_limit"], 10);
        assert_eq!(c.settings()["outbound"]["call_parking_enabled"], true);
        assert_eq!(c.settings()["default_on_hold_comfort_noise_enabled"], true);
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
        let settings = json!({
            "active": false,
            "encrypted_media": null,
            "outbound": {"channel_limit": null}
        });
        let r = CredentialConnectionRequest {
            settings: settings.as_object().unwrap().clone(),
            ..Default::default()
        };
        assert_eq!(serde_json::to_value(&r).unwrap(), settings);
        assert_eq!(
            serde_json::to_value(CredentialConnectionRequest::default()).unwrap(),
            json!({})
        );
    }

    #[test]
    fn response_ids_and_settings_as_sent() {
        let c: CredentialConnection = serde_json::from_value(json!({
            "id": 1293384261075731499u64,
            "encrypted_media": null,
            "webhook_api_version": 2,
            "outbound": {"call_parking_enabled": null, "outbound_voice_profile_id": 42},
            "some_future_field": {"x": 1}
        }))
        .unwrap();
        assert_eq!(c.id, "1293384261075731499");
        assert!(c.settings()["encrypted_media"].is_null());
        assert_eq!(c.settings()["webhook_api_version"], 2);
        assert_eq!(c.settings()["outbound"]["outbound_voice_profile_id"], 42);
        assert_eq!(c.settings()["some_future_field"]["x"], 1);
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
