//! TelephonyCredential: Telnyx generates the SIP username and password; a lost create
//! response is recovered by looking the credential up by its deterministic name
//! (Telnyx returns the password on GET too). Only its hooks live here.

use kube::ResourceExt;
use kube::api::Api;
use kube::core::DeserializeGuard;
use kube::runtime::Controller;
use secrecy::SecretString;

use super::context::Account;
use super::error::Error;
use super::kind::{Connect, ManagedKind, managed_fields, managed_status};
use super::provider_calls::{by_id_or_identity, deleted, from_provider, no_desired_state};
use super::registration;
use super::runner::wake_on_ready;
use crate::crd::{RegistrationInfo, SipConnection, TelephonyCredential, TelephonyCredentialStatus};
use crate::managed::{ExternalClient, ExternalError, ExternalErrorKind, Observation};
use crate::provider::telnyx::{
    RegistrationCredentialType, SIP_DOMAIN, TelephonyCredentialFilter,
    TelephonyCredentialObject as Cred, TelephonyCredentialRequest, TelnyxClient,
};
use crate::secrets::ConnectionDetails;

managed_status!(TelephonyCredentialStatus);

/// The credential's name at Telnyx: its deterministic identity.
pub fn credential_name(obj: &TelephonyCredential) -> String {
    obj.spec
        .name
        .clone()
        .unwrap_or_else(|| format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any()))
}

fn same_instant(a: Option<&str>, b: Option<&str>) -> bool {
    let parse = |s: &str| {
        s.parse::<jiff::Timestamp>().ok().or_else(|| {
            s.parse::<jiff::civil::DateTime>()
                .ok()
                .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
                .map(|z| z.timestamp())
        })
    };
    match (a, b) {
        (Some(a), Some(b)) => a == b || (parse(a).is_some() && parse(a) == parse(b)),
        (None, _) => true,
        (Some(_), None) => false,
    }
}

/// The Telnyx telephony credential as the engine sees it. `desired` is absent while
/// deleting (deletion needs only the identity).
pub struct TelnyxCredential {
    client: TelnyxClient,
    name: String,
    connection_id: String,
    desired: Option<TelephonyCredentialRequest>,
    /// The password the Secret holds, for a response that omits it.
    known_password: Option<SecretString>,
}

impl TelnyxCredential {
    /// Fields that differ. Telnyx does not echo `tag` in a credential (seed 003), so a
    /// tag absent from the response is no drift by itself: [`Self::tag_applied`]
    /// verifies it through the list filter instead.
    fn drift(&self, c: &Cred, tag_applied: bool) -> Vec<String> {
        let Some(want) = &self.desired else {
            return Vec::new();
        };
        let mut drift = Vec::new();
        if !tag_applied {
            drift.push("tag".to_string());
        }
        if !same_instant(want.expires_at.as_deref(), c.expires_at.as_deref()) {
            drift.push("expires_at".to_string());
        }
        let conn = format!("connection:{}", self.connection_id);
        if c.resource_id.as_deref().is_some_and(|r| r != conn) {
            drift.push("connection_id".to_string());
        }
        drift
    }

    /// Whether the credential carries the desired tag: compared when Telnyx echoes
    /// it, else verified with `filter[tag]` (one read, only for tagged objects).
    async fn tag_applied(&self, c: &Cred) -> Result<bool, ExternalError> {
        let Some(tag) = self.desired.as_ref().and_then(|d| d.tag.clone()) else {
            return Ok(true);
        };
        if let Some(seen) = &c.tag {
            return Ok(*seen == tag);
        }
        let filter = TelephonyCredentialFilter {
            tag: Some(tag),
            name: c.name.clone(),
            ..TelephonyCredentialFilter::for_connection(&self.connection_id)
        };
        let tagged = self
            .client
            .list_all_telephony_credentials(&filter)
            .await
            .map_err(|e| from_provider(&e))?;
        Ok(tagged.iter().any(|t| t.id == c.id))
    }

    fn request(&self) -> Result<&TelephonyCredentialRequest, ExternalError> {
        self.desired.as_ref().ok_or_else(no_desired_state)
    }
}

impl ExternalClient for TelnyxCredential {
    type Resource = Cred;

    fn details(&self, id: &str, c: &Cred) -> Option<ConnectionDetails> {
        self.desired.as_ref()?;
        Some(ConnectionDetails {
            username: c.sip_username.clone().unwrap_or_default(),
            password: c
                .sip_password
                .clone()
                .or_else(|| self.known_password.clone())
                .unwrap_or_else(|| SecretString::from("")),
            domain: SIP_DOMAIN.into(),
            id: Some(id.into()),
            synced_digest: None,
        })
    }

    async fn observe(&self, id: Option<&str>) -> Result<Option<Observation<Cred>>, ExternalError> {
        let c = &self.client;
        let found = by_id_or_identity(
            id,
            async |id| c.get_telephony_credential(id).await,
            async || {
                c.find_credential_by_name(&self.name, &self.connection_id)
                    .await
            },
        )
        .await?;
        let Some(cred) = found else { return Ok(None) };
        let drift = self.drift(&cred, self.tag_applied(&cred).await?);
        Ok(Some(Observation {
            external_name: cred.id.clone(),
            up_to_date: drift.is_empty(),
            drift,
            resource: cred,
        }))
    }

    async fn create(&self) -> Result<(String, Cred), ExternalError> {
        let c = self
            .client
            .create_telephony_credential(self.request()?)
            .await
            .map_err(|e| from_provider(&e))?;
        Ok((c.id.clone(), c))
    }

    async fn update(&self, o: &Observation<Cred>) -> Result<Cred, ExternalError> {
        if o.resource.expired == Some(true) {
            return Err(ExternalError::new(
                ExternalErrorKind::Terminal,
                "CredentialExpired",
                format!(
                    "credential {} has expired at Telnyx and cannot be updated; delete and recreate the TelephonyCredential",
                    o.external_name
                ),
            ));
        }
        self.client
            .update_telephony_credential(&o.external_name, self.request()?)
            .await
            .map_err(|e| from_provider(&e))
    }

    async fn delete(&self, id: &str) -> Result<(), ExternalError> {
        deleted(self.client.delete_telephony_credential(id).await)
    }
}

/// The Telnyx connection ID: given, or that of the referenced SipConnection once it
/// is Ready (waiting, woken by its watch, until then).
async fn connection_id(cx: &Connect<'_, TelephonyCredential>) -> Result<String, Error> {
    let spec = &cx.obj.spec;
    if let Some(id) = &spec.connection_id {
        return Ok(id.clone());
    }
    let r = spec.sip_connection_ref.as_ref().ok_or_else(|| {
        Error::InvalidSpec("spec: set exactly one of sipConnectionRef and connectionID".into())
    })?;
    let waiting = |message: String| Error::Waiting {
        reason: "WaitingForSipConnection",
        message,
    };
    let conn = Api::<SipConnection>::namespaced(cx.ctx.client.clone(), cx.namespace)
        .get_opt(&r.name)
        .await?
        .ok_or_else(|| waiting(format!("SipConnection {:?} does not exist yet", r.name)))?;
    match conn.status.as_ref().and_then(|s| s.connection_id.clone()) {
        Some(id) if conn.ready() == Some("True") => Ok(id),
        _ => Err(waiting(format!(
            "SipConnection {:?} is not Ready yet",
            r.name
        ))),
    }
}

/// The Telnyx connection ID the referenced SipConnection records, Ready or not.
async fn recorded_connection_id(
    cx: &Connect<'_, TelephonyCredential>,
) -> Result<Option<String>, Error> {
    let Some(r) = &cx.obj.spec.sip_connection_ref else {
        return Ok(None);
    };
    let conn = Api::<SipConnection>::namespaced(cx.ctx.client.clone(), cx.namespace)
        .get_opt(&r.name)
        .await?;
    Ok(conn.and_then(|c| c.status.and_then(|s| s.connection_id)))
}

impl ManagedKind for TelephonyCredential {
    type Status = TelephonyCredentialStatus;
    type Client = TelnyxCredential;
    const WHAT: &'static str = "the telephony credential at Telnyx";

    managed_fields!();

    fn expires_at(&self) -> Option<&str> {
        self.spec.expires_at.as_deref()
    }

    fn validate(&self) -> Result<(), Error> {
        match &self.spec.expires_at {
            Some(at) if at.parse::<jiff::Timestamp>().is_err() => Err(Error::InvalidSpec(format!(
                "spec.expiresAt: {at:?} is not an RFC 3339 timestamp such as 2027-01-01T00:00:00Z"
            ))),
            _ => Ok(()),
        }
    }

    async fn connect(cx: Connect<'_, Self>) -> Result<TelnyxCredential, Error> {
        let client = cx.account.clone().telnyx("TelephonyCredential")?;
        let name = credential_name(cx.obj);
        let Some(slot) = cx.secret else {
            // Deleting: the identity as recorded when it was created, or, when the
            // object is deleted before its create was recorded (the response lost, the
            // process killed), the connection that create used: the referenced
            // SipConnection's. Without it the lookup would miss a credential the
            // provider holds, and the finalizer would go with the credential left.
            let connection_id = match cx
                .status
                .connection_id
                .clone()
                .or_else(|| cx.obj.spec.connection_id.clone())
            {
                Some(id) => id,
                None => recorded_connection_id(&cx).await?.unwrap_or_default(),
            };
            return Ok(TelnyxCredential {
                client,
                name,
                connection_id,
                desired: None,
                known_password: None,
            });
        };
        let connection_id = connection_id(&cx).await?;
        Ok(TelnyxCredential {
            client,
            desired: Some(TelephonyCredentialRequest {
                connection_id: Some(connection_id.clone()),
                name: Some(name.clone()),
                tag: cx.obj.spec.tag.clone(),
                expires_at: cx.obj.spec.expires_at.clone(),
            }),
            name,
            connection_id,
            known_password: slot.password(),
        })
    }

    fn registration_interval(&self) -> Option<&str> {
        self.spec
            .registration_check
            .as_ref()
            .map(|r| r.interval.as_str())
    }

    fn registration_mut(
        status: &mut TelephonyCredentialStatus,
    ) -> Option<&mut Option<RegistrationInfo>> {
        Some(&mut status.registration)
    }

    fn registration_status(&self) -> Option<&str> {
        self.status
            .as_ref()?
            .registration
            .as_ref()?
            .status
            .as_deref()
    }

    async fn check_registration(
        &self,
        account: Account,
        status: &TelephonyCredentialStatus,
    ) -> Result<Option<(RegistrationInfo, f64)>, String> {
        let Some(username) = &status.sip_username else {
            return Ok(None);
        };
        let client = account
            .telnyx("TelephonyCredential")
            .map_err(|e| e.to_string())?;
        let r = client
            .sip_registration_status(RegistrationCredentialType::TelephonyCredential, username)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Some((
            registration::from_lookup(&r),
            client.rate_limiter().rate(),
        )))
    }

    fn report(id: &str, c: &Cred, status: &mut TelephonyCredentialStatus) {
        status.credential_id = Some(id.to_string());
        if let Some(conn) = c.connection_id() {
            status.connection_id = Some(conn.to_string());
        }
        status.sip_username = c.sip_username.clone();
        status.expired = c.expired;
        status.expires_at = c.expires_at.clone();
        status.created_at = c.created_at.clone();
    }

    fn watch_dependencies(
        ctrl: Controller<DeserializeGuard<Self>>,
        client: &kube::Client,
        namespace: Option<&str>,
    ) -> Controller<DeserializeGuard<Self>> {
        wake_on_ready::<Self, SipConnection>(ctrl, client, namespace, |t, c| {
            t.namespace() == c.namespace()
                && t.spec
                    .sip_connection_ref
                    .as_ref()
                    .is_some_and(|r| r.name == c.name_any())
        })
    }
}
