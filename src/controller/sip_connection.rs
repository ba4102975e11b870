//! SipConnection: dereference the provider, validate, put the password in the Secret
//! first, drive the Telnyx credential connection, publish the ID, report status.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::context::{Account, Ctx};
use super::error::Error;
use super::external::{by_id_or_identity, deleted, drift, from_provider};
use super::kube_store::KubeStore;
use super::password::{self, Limits};
use super::shell;
use super::status::now_rfc3339;
use super::unreachable::Unreachable;
use crate::crd::sip_connection::{CredentialInbound, CredentialOutbound, EncryptedMedia};
use crate::crd::{SipConnection, SipConnectionSpec, SipConnectionStatus};
use crate::managed::driver::Change;
use crate::managed::{
    ExternalClient, ExternalError, Observation, Outcome, PreObserve, drive, pre_observe,
};
use crate::provider::Nullable;
use crate::provider::telnyx::{
    self as tx, CredentialConnection, CredentialConnectionRequest, TelnyxClient,
};
use crate::secrets::{self, Credentials, Keys, Owner, Ownership};

/// The SIP domain of every Telnyx credential connection.
pub const TELNYX_SIP_DOMAIN: &str = "sip.telnyx.com";
const LIMITS: Limits = Limits { min: 8, max: 128 };

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

/// The Telnyx credential connection as the engine sees it.
pub struct TelnyxConnection {
    client: TelnyxClient,
    name: String,
    request: CredentialConnectionRequest,
    password: SecretString,
}

impl TelnyxConnection {
    fn observation(&self, c: CredentialConnection) -> Observation<CredentialConnection> {
        let desired = serde_json::to_value(&self.request).unwrap_or_default();
        let observed = serde_json::to_value(&c).unwrap_or_default();
        let mut d = drift(&desired, &observed);
        let same_pw = c
            .password
            .as_ref()
            .is_some_and(|p| p.expose_secret() == self.password.expose_secret());
        if !same_pw {
            d.push("password".into());
        }
        Observation {
            external_name: c.id.clone(),
            up_to_date: d.is_empty(),
            drift: d,
            resource: c,
        }
    }

    fn with_password(&self) -> CredentialConnectionRequest {
        let mut r = self.request.clone();
        r.password = Some(self.password.clone());
        r
    }
}

impl ExternalClient for TelnyxConnection {
    type Resource = CredentialConnection;

    async fn observe(
        &self,
        id: Option<&str>,
    ) -> Result<Option<Observation<CredentialConnection>>, ExternalError> {
        let c = &self.client;
        let found = by_id_or_identity(
            id,
            async |id| c.get_credential_connection(id).await,
            async || c.find_connection_by_name(&self.name).await,
        )
        .await?;
        Ok(found.map(|c| self.observation(c)))
    }

    async fn create(&self) -> Result<(String, CredentialConnection), ExternalError> {
        let c = self
            .client
            .create_credential_connection(&self.with_password())
            .await
            .map_err(|e| from_provider(&e))?;
        Ok((c.id.clone(), c))
    }

    async fn update(
        &self,
        o: &Observation<CredentialConnection>,
    ) -> Result<CredentialConnection, ExternalError> {
        self.client
            .update_credential_connection(&o.external_name, &self.with_password())
            .await
            .map_err(|e| from_provider(&e))
    }

    async fn delete(&self, id: &str) -> Result<(), ExternalError> {
        deleted(self.client.delete_credential_connection(id).await)
    }
}

/// The Telnyx client of an account, or an error naming the mismatch.
pub fn telnyx(acc: Account, kind: &str) -> Result<TelnyxClient, Error> {
    match acc {
        Account::Telnyx(c) => Ok(c),
        Account::Vobiz(_) => Err(Error::Provider(format!(
            "spec.providerRef: a {kind} needs a Telnyx provider, but it references a Vobiz account"
        ))),
    }
}

/// The owner of this object's Secret.
pub fn owner_of<K: Resource<DynamicType = ()>>(obj: &K) -> Owner {
    Owner {
        api_version: K::api_version(&()).into_owned(),
        kind: K::kind(&()).into_owned(),
        name: obj.meta().name.clone().unwrap_or_default(),
        namespace: obj.meta().namespace.clone().unwrap_or_default(),
        uid: obj.meta().uid.clone().unwrap_or_default(),
    }
}

/// The owner, key names and name of an object's Secret; key names must be distinct.
pub fn secret_plan<K: Resource<DynamicType = ()>>(
    obj: &K,
    target: Option<&crate::crd::SecretTarget>,
) -> Result<(Owner, Keys, String), Error> {
    let keys = Keys::from_target(target);
    if let Some(k) = keys.duplicate() {
        return Err(Error::InvalidSpec(format!(
            "spec.secret.keys: the key name {k:?} is used twice; every key must be different"
        )));
    }
    let name = secrets::secret_name(target, &obj.meta().name.clone().unwrap_or_default());
    Ok((owner_of(obj), keys, name))
}

/// Looks up the target Secret and refuses one this object does not own.
pub async fn target_secret(
    api: &Api<Secret>,
    name: &str,
    owner_uid: &str,
) -> Result<Option<Secret>, Error> {
    let existing = api.get_opt(name).await?;
    match secrets::ownership(existing.as_ref(), owner_uid) {
        Ownership::Foreign(by) => Err(Error::SecretConflict(format!(
            "Secret {name:?} already exists and is not owned by this object ({}); choose another spec.secret.name or delete that Secret",
            by.map(|b| format!("controlled by {b}"))
                .unwrap_or_else(|| "no controller".into())
        ))),
        _ => Ok(existing),
    }
}

/// Reconciles one SipConnection.
pub async fn reconcile(obj: Arc<SipConnection>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    shell::reconcile(obj, ctx, run).await
}

/// Returns the Ready message, or None when the object is gone.
async fn run(
    obj: &SipConnection,
    ctx: &Ctx,
    api: &Api<SipConnection>,
    status: &mut SipConnectionStatus,
) -> Result<Option<String>, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let state = shell::state_of(obj, obj.spec.deletion_policy);
    let store = KubeStore::new(api.clone(), obj);
    let name = connection_name(obj);
    if !matches!(
        pre_observe(&state),
        PreObserve::Observe { .. } | PreObserve::ObserveAndDelete
    ) {
        let out = drive(
            &state,
            &Unreachable::<CredentialConnection>::default(),
            &store,
        )
        .await?;
        return Ok(report_outcome(obj, ctx, &out, status).await);
    }
    let client = telnyx(
        ctx.account(&ns, &obj.spec.provider_ref, !state.deleting)
            .await?,
        "SipConnection",
    )?;
    let secret_api: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    let (owner, keys, secret_name) = secret_plan(obj, obj.spec.secret.as_ref())?;
    if state.deleting {
        let conn = TelnyxConnection {
            client,
            name,
            request: build_request(&obj.spec, ""),
            password: SecretString::from(""),
        };
        let out = drive(&state, &conn, &store).await?;
        return Ok(report_outcome(obj, ctx, &out, status).await);
    }
    let existing = target_secret(&secret_api, &secret_name, &owner.uid).await?;
    let pw = match &obj.spec.password_secret_ref {
        Some(r) => password::from_ref(&secret_api, r, LIMITS).await?,
        None => match secrets::read_key(existing.as_ref(), &keys.password) {
            Some(p) => p,
            None => password::generate(obj.spec.password_policy.as_ref())?,
        },
    };
    // The password reaches the Secret BEFORE the provider: a crash can never lose a
    // password that Telnyx holds.
    let mut creds = Credentials {
        username: obj.spec.user_name.clone(),
        password: pw.clone(),
        domain: TELNYX_SIP_DOMAIN.into(),
        id: state.external_name.clone(),
        synced_digest: None,
    };
    let desired = secrets::desired(&owner, obj.spec.secret.as_ref(), &creds);
    secrets::apply(&secret_api, existing.as_ref(), &desired).await?;
    let conn = TelnyxConnection {
        client,
        request: build_request(&obj.spec, &name),
        name,
        password: pw,
    };
    let out = drive(&state, &conn, &store).await?;
    if let Outcome::Synced { external_name, .. } = &out {
        creds.id = Some(external_name.clone());
        let after = secrets::desired(&owner, obj.spec.secret.as_ref(), &creds);
        secrets::apply(&secret_api, Some(&desired), &after).await?;
        status.secret_name = Some(secret_name);
    }
    Ok(report_outcome(obj, ctx, &out, status).await)
}

async fn report_outcome(
    obj: &SipConnection,
    ctx: &Ctx,
    out: &Outcome<CredentialConnection>,
    status: &mut SipConnectionStatus,
) -> Option<String> {
    match out {
        Outcome::Synced {
            external_name,
            resource,
            change,
        } => {
            status.connection_id = Some(external_name.clone());
            status.connection_name = resource.connection_name.clone();
            status.created_at = resource.created_at.clone();
            let pushed = match change {
                Change::Created { .. } => true,
                Change::Updated(fields) => fields.iter().any(|f| f == "password"),
                _ => false,
            };
            if pushed {
                status.password_updated_at = Some(now_rfc3339());
            }
        }
        Outcome::Drifted { external_name, .. } => {
            status.connection_id = Some(external_name.clone())
        }
        _ => {}
    }
    shell::announce(obj, ctx, out, "the credential connection at Telnyx", status).await
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
