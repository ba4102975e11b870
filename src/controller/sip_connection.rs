//! SipConnection: a Telnyx credential connection whose password this operator
//! chooses (referenced, kept from the Secret, or generated). Only its hooks live here.

use kube::ResourceExt;
use secrecy::{ExposeSecret, SecretString};

use super::error::Error;
use super::kind::{
    Connect, ManagedKind, chosen_password_rotation, managed_fields, managed_status,
    registration_fields,
};
use super::password_source::{self, Limits};
use super::provider_calls::{deleted, drift, from_provider, no_desired_state};
use super::registration::Registrant;
use crate::crd::provider_value::ProviderFields;
use crate::crd::{SipConnection, SipConnectionSpec, SipConnectionStatus};
use crate::managed::{ExternalClient, ExternalError, Observation};
use crate::provider::Lookup;
use crate::provider::telnyx::{
    CredentialConnection, CredentialConnectionRequest, SIP_DOMAIN, TelnyxClient,
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

/// The provider request for a spec (pure). The password is attached separately.
pub fn build_request(spec: &SipConnectionSpec, name: &str) -> CredentialConnectionRequest {
    CredentialConnectionRequest {
        connection_name: Some(name.to_string()),
        user_name: Some(spec.user_name.clone()),
        password: None,
        settings: spec.settings.provider_fields(),
    }
}

impl ManagedKind for SipConnection {
    type Client = TelnyxConnection;
    const WHAT: &'static str = "the credential connection at Telnyx";

    managed_fields!();

    fn registrant(status: &SipConnectionStatus) -> Option<Registrant<'_>> {
        status.connection_id.as_deref().map(Registrant::Connection)
    }

    registration_fields!();

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
            lookup: cx.lookup,
            name,
            user_name: obj.spec.user_name.clone(),
            desired,
        })
    }

    fn report(id: &str, c: &CredentialConnection, status: &mut SipConnectionStatus) {
        status.connection_id = Some(id.to_string());
        status.connection_name = c.connection_name.clone();
        status.created_at = c.created_at.clone();
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
    /// How the provider object is found.
    lookup: Lookup,
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
        Observation::new(c.id.clone(), c, d)
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
        let found = self.client.locate_connection(id, &self.name, self.lookup);
        Ok(found
            .await
            .map_err(|e| from_provider(&e))?
            .map(|c| self.observation(c)))
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
