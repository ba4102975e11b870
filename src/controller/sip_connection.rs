//! SipConnection: a Telnyx credential connection whose password this operator
//! chooses (referenced, kept from the Secret, or generated). Only its hooks live here.

use kube::ResourceExt;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::context::Account;
use super::error::Error;
use super::kind::{
    Connect, ManagedKind, chosen_password_rotation, managed_fields, managed_status,
    registration_fields,
};
use super::password_source::{self, Limits};
use super::provider_calls::{by_id_or_identity, deleted, drift, from_provider, no_desired_state};
use super::registration;
use crate::crd::sip_connection::{CredentialInbound, CredentialOutbound, EncryptedMedia};
use crate::crd::{RegistrationInfo, SipConnection, SipConnectionSpec, SipConnectionStatus};
use crate::managed::{ExternalClient, ExternalError, Observation};
use crate::provider::Nullable;
use crate::provider::telnyx::{
    self as tx, CredentialConnection, CredentialConnectionRequest, SIP_DOMAIN, TelnyxClient,
};
use crate::secrets::ConnectionDetails;

const LIMITS: Limits = Limits { min: 8, max: 128 };

managed_status!(SipConnectionStatus, password_updated_at);

/// The connection name at Telnyx: the object's deterministic identity there.
pub fn connection_name(obj: &SipConnection) -> String {
    obj.spec
        .connection_name
        .clone()
        .unwrap_or_else(|| format!("{}-{}", obj.namespace().unwrap_or_default(), obj.name_any()))
}

fn wire<T: Serialize>(v: &Option<T>) -> Option<String> {
    v.as_ref()
        .and_then(|v| serde_json::to_value(v).ok())
        .and_then(|v| v.as_str().map(String::from))
}

fn nullable<T>(v: Option<T>) -> Nullable<T> {
    v.map_or(Nullable::Absent, Nullable::Value)
}

/// The provider request for a spec (pure). The password is attached separately.
pub fn build_request(spec: &SipConnectionSpec, name: &str) -> CredentialConnectionRequest {
    let i64o = |v: Option<i32>| v.map(i64::from);
    CredentialConnectionRequest {
        connection_name: Some(name.to_string()),
        active: spec.active,
        user_name: Some(spec.user_name.clone()),
        password: None,
        anchorsite_override: wire(&spec.anchorsite_override),
        sip_uri_calling_preference: wire(&spec.sip_uri_calling_preference),
        default_on_hold_comfort_noise_enabled: spec.default_on_hold_comfort_noise_enabled,
        dtmf_type: wire(&spec.dtmf_type),
        encode_contact_header_enabled: spec.encode_contact_header_enabled,
        encrypted_media: match spec.encrypted_media {
            None => Nullable::Absent,
            Some(EncryptedMedia::Disabled) => Nullable::Null,
            Some(EncryptedMedia::Srtp) => Nullable::Value("SRTP".into()),
        },
        onnet_t38_passthrough_enabled: spec.onnet_t38_passthrough_enabled,
        ios_push_credential_id: nullable(spec.ios_push_credential_id.clone()),
        android_push_credential_id: nullable(spec.android_push_credential_id.clone()),
        webhook_event_url: spec.webhook_event_url.clone(),
        webhook_event_failover_url: nullable(spec.webhook_event_failover_url.clone()),
        webhook_api_version: wire(&spec.webhook_api_version),
        webhook_timeout_secs: nullable(i64o(spec.webhook_timeout_secs)),
        call_cost_in_webhooks: spec.call_cost_in_webhooks,
        tags: spec.tags.clone(),
        rtcp_settings: spec.rtcp_settings.as_ref().map(|r| tx::RtcpSettings {
            port: wire(&r.port),
            capture_enabled: r.capture_enabled,
            report_frequency_secs: i64o(r.report_frequency_secs),
        }),
        inbound: spec.inbound.as_ref().map(inbound),
        outbound: spec.outbound.as_ref().map(outbound),
        noise_suppression: wire(&spec.noise_suppression),
        noise_suppression_details: spec.noise_suppression_details.as_ref().map(|n| {
            tx::NoiseSuppressionDetails {
                engine: wire(&n.engine),
                attenuation_limit: i64o(n.attenuation_limit),
            }
        }),
        jitter_buffer: spec.jitter_buffer.as_ref().map(|j| tx::JitterBuffer {
            enable_jitter_buffer: j.enable_jitter_buffer,
            jitterbuffer_msec_min: i64o(j.jitterbuffer_msec_min),
            jitterbuffer_msec_max: i64o(j.jitterbuffer_msec_max),
        }),
    }
}

fn inbound(i: &CredentialInbound) -> tx::CredentialInbound {
    tx::CredentialInbound {
        ani_number_format: wire(&i.ani_number_format),
        dnis_number_format: wire(&i.dnis_number_format),
        codecs: i.codecs.clone(),
        default_routing_method: wire(&i.default_routing_method),
        channel_limit: nullable(i.channel_limit.map(i64::from)),
        generate_ringback_tone: i.generate_ringback_tone,
        isup_headers_enabled: i.isup_headers_enabled,
        prack_enabled: i.prack_enabled,
        sip_compact_headers_enabled: i.sip_compact_headers_enabled,
        timeout_1xx_secs: i.timeout_1xx_secs.map(i64::from),
        timeout_2xx_secs: i.timeout_2xx_secs.map(i64::from),
        shaken_stir_enabled: i.shaken_stir_enabled,
        simultaneous_ringing: wire(&i.simultaneous_ringing),
    }
}

fn outbound(o: &CredentialOutbound) -> tx::CredentialOutbound {
    tx::CredentialOutbound {
        call_parking_enabled: nullable(o.call_parking_enabled),
        ani_override: o.ani_override.clone(),
        ani_override_type: wire(&o.ani_override_type),
        channel_limit: nullable(o.channel_limit.map(i64::from)),
        instant_ringback_enabled: o.instant_ringback_enabled,
        generate_ringback_tone: o.generate_ringback_tone,
        localization: o.localization.clone(),
        t38_reinvite_source: wire(&o.t38_reinvite_source),
        outbound_voice_profile_id: o.outbound_voice_profile_id.clone(),
    }
}

/// The desired connection and the password it must carry; absent while deleting
/// (deletion needs only the identity).
struct Desired {
    request: CredentialConnectionRequest,
    password: SecretString,
    marks: std::collections::BTreeMap<String, String>,
}

/// The Telnyx credential connection as the engine sees it.
pub struct TelnyxConnection {
    client: TelnyxClient,
    /// How old the account's shared listing may be (the resync interval).
    max_age: std::time::Duration,
    /// Identity lookups ask the provider (see [`Connect::may_exist`]).
    may_exist: bool,
    name: String,
    user_name: String,
    desired: Option<Desired>,
}

impl TelnyxConnection {
    fn observation(&self, c: CredentialConnection) -> Observation<CredentialConnection> {
        let mut d = Vec::new();
        if let Some(want) = &self.desired {
            let desired = serde_json::to_value(&want.request).unwrap_or_default();
            let observed = serde_json::to_value(&c).unwrap_or_default();
            d = drift(&desired, &observed);
            let same_pw = c
                .password
                .as_ref()
                .is_some_and(|p| p.expose_secret() == want.password.expose_secret());
            if !same_pw {
                d.push("password".into());
            }
        }
        Observation {
            external_name: c.id.clone(),
            up_to_date: d.is_empty(),
            drift: d,
            resource: c,
        }
    }

    fn with_password(&self) -> Result<CredentialConnectionRequest, ExternalError> {
        let want = self.desired.as_ref().ok_or_else(no_desired_state)?;
        let mut r = want.request.clone();
        r.password = Some(want.password.clone());
        Ok(r)
    }

    fn login(&self, id: Option<&str>) -> Option<ConnectionDetails> {
        self.desired.as_ref().map(|d| ConnectionDetails {
            username: self.user_name.clone(),
            password: d.password.clone(),
            domain: SIP_DOMAIN.into(),
            id: id.map(String::from),
            synced_digest: None,
            marks: d.marks.clone(),
            extra: Default::default(),
        })
    }
}

impl ExternalClient for TelnyxConnection {
    type Resource = CredentialConnection;

    fn details_before(&self, id: Option<&str>) -> Option<ConnectionDetails> {
        self.login(id)
    }

    fn details(&self, id: &str, _: &CredentialConnection) -> Option<ConnectionDetails> {
        self.login(Some(id))
    }

    async fn observe(
        &self,
        id: Option<&str>,
    ) -> Result<Option<Observation<CredentialConnection>>, ExternalError> {
        let c = &self.client;
        let found = by_id_or_identity(
            id,
            async |id| c.observe_credential_connection(id, self.max_age).await,
            async || {
                if self.may_exist {
                    c.find_connection_by_name(&self.name).await
                } else {
                    c.find_listed_connection(&self.name, self.max_age).await
                }
            },
        )
        .await?;
        Ok(found.map(|c| self.observation(c)))
    }

    async fn create(&self) -> Result<(String, CredentialConnection), ExternalError> {
        let c = self
            .client
            .create_credential_connection(&self.with_password()?)
            .await
            .map_err(|e| from_provider(&e))?;
        Ok((c.id.clone(), c))
    }

    async fn update(
        &self,
        o: &Observation<CredentialConnection>,
    ) -> Result<CredentialConnection, ExternalError> {
        self.client
            .update_credential_connection(&o.external_name, &self.with_password()?)
            .await
            .map_err(|e| from_provider(&e))
    }

    async fn delete(&self, id: &str) -> Result<(), ExternalError> {
        deleted(self.client.delete_credential_connection(id).await)
    }
}

impl ManagedKind for SipConnection {
    type Status = SipConnectionStatus;
    type Client = TelnyxConnection;
    const WHAT: &'static str = "the credential connection at Telnyx";

    managed_fields!();

    chosen_password_rotation!();

    async fn connect(cx: Connect<'_, Self>) -> Result<TelnyxConnection, Error> {
        let client = cx.account.telnyx("SipConnection")?;
        let (obj, name) = (cx.obj, connection_name(cx.obj));
        let desired = match cx.secret {
            None => None,
            Some(slot) => Some(Desired {
                request: build_request(&obj.spec, &name),
                password: password_source::choose(
                    slot,
                    obj.spec.password_secret_ref.as_ref(),
                    obj.spec.password_policy.as_ref(),
                    LIMITS,
                    cx.rotate,
                )
                .await?,
                marks: password_source::marks(cx.issue),
            }),
        };
        Ok(TelnyxConnection {
            client,
            max_age: cx.ctx.settings.resync,
            may_exist: cx.may_exist,
            name,
            user_name: obj.spec.user_name.clone(),
            desired,
        })
    }

    registration_fields!();

    async fn check_registration(
        &self,
        account: Account,
        status: &SipConnectionStatus,
    ) -> Result<Option<(RegistrationInfo, f64)>, String> {
        let Some(id) = &status.connection_id else {
            return Ok(None);
        };
        let client = account.telnyx("SipConnection").map_err(|e| e.to_string())?;
        let r = client
            .check_registration_status(id)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Some((
            registration::from_connection(&r),
            client.rate_limiter().rate(),
        )))
    }

    fn report(id: &str, c: &CredentialConnection, status: &mut SipConnectionStatus) {
        status.connection_id = Some(id.to_string());
        status.connection_name = c.connection_name.clone();
        status.created_at = c.created_at.clone();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn request_uses_exact_telnyx_field_names_and_values() {
        let spec: SipConnectionSpec = serde_yaml::from_str(
            r#"
providerRef: {name: telnyx}
userName: myagent01
anchorsiteOverride: "Chicago, IL"
sipURICallingPreference: internal
dtmfType: RFC 2833
encryptedMedia: Disabled
webhookEventURL: https://mywebhook.com/primary
webhookAPIVersion: "2"
webhookTimeoutSecs: 25
inbound: {timeout1xxSecs: 10, dnisNumberFormat: "+e164"}
outbound: {callParkingEnabled: true, outboundVoiceProfileID: "123412415234124"}
jitterBuffer: {jitterbufferMsecMin: 60}
noiseSuppressionDetails: {engine: deep_filter_net, attenuationLimit: 80}
"#,
        )
        .unwrap();
        let v = serde_json::to_value(build_request(&spec, "conn-a")).unwrap();
        assert_eq!(v["connection_name"], "conn-a");
        assert_eq!(v["user_name"], "myagent01");
        assert_eq!(v["anchorsite_override"], "Chicago, IL");
        assert_eq!(v["sip_uri_calling_preference"], "internal");
        assert_eq!(v["dtmf_type"], "RFC 2833");
        assert!(
            v["encrypted_media"].is_null()
                && v.as_object().unwrap().contains_key("encrypted_media")
        );
        assert_eq!(v["webhook_event_url"], "https://mywebhook.com/primary");
        assert_eq!(v["webhook_api_version"], "2");
        assert_eq!(v["webhook_timeout_secs"], 25);
        assert_eq!(v["inbound"]["timeout_1xx_secs"], 10);
        assert_eq!(v["inbound"]["dnis_number_format"], "+e164");
        assert_eq!(v["outbound"]["call_parking_enabled"], true);
        assert_eq!(
            v["outbound"]["outbound_voice_profile_id"],
            "123412415234124"
        );
        assert_eq!(v["jitter_buffer"]["jitterbuffer_msec_min"], 60);
        assert_eq!(v["noise_suppression_details"]["engine"], "deep_filter_net");
        assert!(
            !v.as_object().unwrap().contains_key("password"),
            "password is attached separately"
        );
        assert!(
            !v.as_object().unwrap().contains_key("active"),
            "unset fields are left to Telnyx"
        );
    }
}
