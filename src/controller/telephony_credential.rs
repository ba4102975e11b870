//! TelephonyCredential: Telnyx generates the SIP username and password; a lost create
//! response is recovered by looking the credential up by its deterministic name
//! (Telnyx returns the password on GET too).

use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;
use secrecy::SecretString;

use super::context::Ctx;
use super::error::Error;
use super::external::{by_id_or_identity, deleted, from_provider};
use super::kube_store::KubeStore;
use super::shell;
use super::sip_connection::{TELNYX_SIP_DOMAIN, secret_plan, target_secret, telnyx};
use super::unreachable::Unreachable;
use crate::crd::condition::READY;
use crate::crd::{SipConnection, TelephonyCredential, TelephonyCredentialStatus};
use crate::managed::{
    ExternalClient, ExternalError, ExternalErrorKind, Observation, Outcome, PreObserve, drive,
    pre_observe,
};
use crate::provider::telnyx::{
    TelephonyCredential as Cred, TelephonyCredentialRequest, TelnyxClient,
};
use crate::secrets::{self, Credentials};

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

/// The Telnyx telephony credential as the engine sees it.
pub struct TelnyxCredential {
    client: TelnyxClient,
    request: TelephonyCredentialRequest,
}

impl TelnyxCredential {
    fn observation(&self, c: Cred) -> Observation<Cred> {
        let mut drift = Vec::new();
        if self.request.tag.is_some() && self.request.tag != c.tag {
            drift.push("tag".to_string());
        }
        if !same_instant(self.request.expires_at.as_deref(), c.expires_at.as_deref()) {
            drift.push("expires_at".to_string());
        }
        let want = self
            .request
            .connection_id
            .as_ref()
            .map(|id| format!("connection:{id}"));
        if want.is_some() && want != c.resource_id {
            drift.push("connection_id".to_string());
        }
        Observation {
            external_name: c.id.clone(),
            up_to_date: drift.is_empty(),
            drift,
            resource: c,
        }
    }
}

impl ExternalClient for TelnyxCredential {
    type Resource = Cred;

    async fn observe(&self, id: Option<&str>) -> Result<Option<Observation<Cred>>, ExternalError> {
        let c = &self.client;
        let name = self.request.name.clone().unwrap_or_default();
        let conn = self.request.connection_id.clone().unwrap_or_default();
        let found = by_id_or_identity(
            id,
            async |id| c.get_telephony_credential(id).await,
            async || c.find_credential_by_name(&name, &conn).await,
        )
        .await?;
        Ok(found.map(|c| self.observation(c)))
    }

    async fn create(&self) -> Result<(String, Cred), ExternalError> {
        let c = self
            .client
            .create_telephony_credential(&self.request)
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
            .update_telephony_credential(&o.external_name, &self.request)
            .await
            .map_err(|e| from_provider(&e))
    }

    async fn delete(&self, id: &str) -> Result<(), ExternalError> {
        deleted(self.client.delete_telephony_credential(id).await)
    }
}

/// Reconciles one TelephonyCredential.
pub async fn reconcile(obj: Arc<TelephonyCredential>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    shell::reconcile(obj, ctx, run).await
}

async fn connection_id(obj: &TelephonyCredential, ctx: &Ctx, ns: &str) -> Result<String, Error> {
    if let Some(id) = &obj.spec.connection_id {
        return Ok(id.clone());
    }
    let r = obj.spec.sip_connection_ref.as_ref().ok_or_else(|| {
        Error::InvalidSpec("spec: set exactly one of sipConnectionRef and connectionID".into())
    })?;
    let conn = Api::<SipConnection>::namespaced(ctx.client.clone(), ns)
        .get_opt(&r.name)
        .await?
        .ok_or_else(|| Error::Waiting(format!("SipConnection {:?} does not exist yet", r.name)))?;
    let st = conn.status.as_ref();
    let ready = st
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == READY))
        .is_some_and(|c| c.status == "True");
    match st.and_then(|s| s.connection_id.clone()) {
        Some(id) if ready => Ok(id),
        _ => Err(Error::Waiting(format!(
            "SipConnection {:?} is not Ready yet",
            r.name
        ))),
    }
}

async fn run(
    obj: &TelephonyCredential,
    ctx: &Ctx,
    api: &Api<TelephonyCredential>,
    status: &mut TelephonyCredentialStatus,
) -> Result<Option<String>, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let state = shell::state_of(obj, obj.spec.deletion_policy);
    let store = KubeStore::new(api.clone(), obj);
    if !matches!(
        pre_observe(&state),
        PreObserve::Observe { .. } | PreObserve::ObserveAndDelete
    ) {
        let out = drive(&state, &Unreachable::<Cred>::default(), &store).await?;
        return Ok(report(obj, ctx, &out, status).await);
    }
    let client = telnyx(
        ctx.account(&ns, &obj.spec.provider_ref, !state.deleting)
            .await?,
        "TelephonyCredential",
    )?;
    if let Some(at) = &obj.spec.expires_at
        && at.parse::<jiff::Timestamp>().is_err()
    {
        return Err(Error::InvalidSpec(format!(
            "spec.expiresAt: {at:?} is not an RFC 3339 timestamp such as 2027-01-01T00:00:00Z"
        )));
    }
    let conn_id = if state.deleting {
        status
            .connection_id
            .clone()
            .or_else(|| obj.spec.connection_id.clone())
            .unwrap_or_default()
    } else {
        connection_id(obj, ctx, &ns).await?
    };
    let cred = TelnyxCredential {
        client,
        request: TelephonyCredentialRequest {
            connection_id: Some(conn_id.clone()),
            name: Some(credential_name(obj)),
            tag: obj.spec.tag.clone(),
            expires_at: obj.spec.expires_at.clone(),
        },
    };
    if state.deleting {
        let out = drive(&state, &cred, &store).await?;
        return Ok(report(obj, ctx, &out, status).await);
    }
    let secret_api: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    let (owner, keys, secret_name) = secret_plan(obj, obj.spec.secret.as_ref())?;
    let existing = target_secret(&secret_api, &secret_name, &owner.uid).await?;
    let out = drive(&state, &cred, &store).await?;
    if let Outcome::Synced {
        external_name,
        resource,
        ..
    } = &out
    {
        let password = resource
            .sip_password
            .clone()
            .or_else(|| secrets::read_key(existing.as_ref(), &keys.password))
            .unwrap_or_else(|| SecretString::from(""));
        let creds = Credentials {
            username: resource.sip_username.clone().unwrap_or_default(),
            password,
            domain: TELNYX_SIP_DOMAIN.into(),
            id: Some(external_name.clone()),
            synced_digest: None,
        };
        let desired = secrets::desired(&owner, obj.spec.secret.as_ref(), &creds);
        secrets::apply(&secret_api, existing.as_ref(), &desired).await?;
        status.secret_name = Some(secret_name);
        status.connection_id = Some(conn_id);
    }
    Ok(report(obj, ctx, &out, status).await)
}

async fn report(
    obj: &TelephonyCredential,
    ctx: &Ctx,
    out: &Outcome<Cred>,
    status: &mut TelephonyCredentialStatus,
) -> Option<String> {
    match out {
        Outcome::Synced {
            external_name,
            resource,
            ..
        } => {
            status.credential_id = Some(external_name.clone());
            status.sip_username = resource.sip_username.clone();
            status.expired = resource.expired;
            status.expires_at = resource.expires_at.clone();
            status.created_at = resource.created_at.clone();
        }
        Outcome::Drifted { external_name, .. } => {
            status.credential_id = Some(external_name.clone())
        }
        _ => {}
    }
    shell::announce(obj, ctx, out, "the telephony credential at Telnyx", status).await
}
