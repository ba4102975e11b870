//! TrunkCredential: a Vobiz trunk credential. Vobiz never returns passwords, so the
//! Secret carries a digest of the password Vobiz is known to hold; a differing
//! password is pushed.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;
use secrecy::SecretString;

use super::context::{Account, Ctx};
use super::error::Error;
use super::external::{by_id_or_identity, deleted, from_provider};
use super::kube_store::KubeStore;
use super::password::{self, Limits};
use super::shell;
use super::sip_connection::{secret_plan, target_secret};
use super::status::now_rfc3339;
use super::unreachable::Unreachable;
use crate::crd::{TrunkCredential, TrunkCredentialStatus};
use crate::managed::driver::Change;
use crate::managed::{
    ExternalClient, ExternalError, Observation, Outcome, PreObserve, drive, pre_observe,
};
use crate::provider::Nullable;
use crate::provider::vobiz::{Credential, CredentialCreate, CredentialUpdate, VobizClient};
use crate::secrets::{self, Credentials, PASSWORD_SYNCED};

const LIMITS: Limits = Limits { min: 8, max: 128 };

/// The Vobiz credential as the engine sees it.
pub struct VobizCredential {
    client: VobizClient,
    username: String,
    password: SecretString,
    password_synced: bool,
    enabled: Option<bool>,
    description: Option<String>,
}

impl VobizCredential {
    fn observation(&self, c: Credential) -> Observation<Credential> {
        let mut drift = Vec::new();
        if self.enabled.is_some_and(|e| e != c.enabled) {
            drift.push("enabled".to_string());
        }
        if self.description.is_some() && self.description != c.description {
            drift.push("description".to_string());
        }
        if !self.password_synced {
            drift.push("password".to_string());
        }
        Observation {
            external_name: c.id.clone(),
            up_to_date: drift.is_empty(),
            drift,
            resource: c,
        }
    }
}

impl ExternalClient for VobizCredential {
    type Resource = Credential;

    async fn observe(
        &self,
        id: Option<&str>,
    ) -> Result<Option<Observation<Credential>>, ExternalError> {
        let c = &self.client;
        let found = by_id_or_identity(
            id,
            async |id| c.get_credential(id).await,
            async || c.find_credential_by_username(&self.username).await,
        )
        .await?;
        Ok(found.map(|c| self.observation(c)))
    }

    async fn create(&self) -> Result<(String, Credential), ExternalError> {
        let req = CredentialCreate {
            username: self.username.clone(),
            password: self.password.clone(),
        };
        let mut c = self
            .client
            .create_credential(&req)
            .await
            .map_err(|e| from_provider(&e))?;
        // Vobiz accepts only username and password at creation; the rest follows.
        if self.enabled.is_some_and(|e| e != c.enabled)
            || (self.description.is_some() && self.description != c.description)
        {
            let up = CredentialUpdate {
                password: None,
                enabled: self.enabled,
                description: self.description.clone(),
            };
            c = self
                .client
                .update_credential(&c.id, &up)
                .await
                .map_err(|e| from_provider(&e))?;
        }
        Ok((c.id.clone(), c))
    }

    async fn update(&self, o: &Observation<Credential>) -> Result<Credential, ExternalError> {
        let up = CredentialUpdate {
            password: o
                .drift
                .iter()
                .any(|d| d == "password")
                .then(|| self.password.clone()),
            enabled: self.enabled,
            description: self.description.clone(),
        };
        self.client
            .update_credential(&o.external_name, &up)
            .await
            .map_err(|e| from_provider(&e))
    }

    async fn delete(&self, id: &str) -> Result<(), ExternalError> {
        deleted(self.client.delete_credential(id).await)
    }
}

fn vobiz(acc: Account) -> Result<VobizClient, Error> {
    match acc {
        Account::Vobiz(c) => Ok(c),
        Account::Telnyx(_) => Err(Error::Provider("spec.providerRef: a TrunkCredential needs a Vobiz provider, but it references a Telnyx account".into())),
    }
}

/// Reconciles one TrunkCredential.
pub async fn reconcile(obj: Arc<TrunkCredential>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    shell::reconcile(obj, ctx, run).await
}

async fn run(
    obj: &TrunkCredential,
    ctx: &Ctx,
    api: &Api<TrunkCredential>,
    status: &mut TrunkCredentialStatus,
) -> Result<Option<String>, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let state = shell::state_of(obj, obj.spec.deletion_policy);
    let store = KubeStore::new(api.clone(), obj);
    if !matches!(
        pre_observe(&state),
        PreObserve::Observe { .. } | PreObserve::ObserveAndDelete
    ) {
        let out = drive(&state, &Unreachable::<Credential>::default(), &store).await?;
        return Ok(report(obj, ctx, &out, status).await);
    }
    let client = vobiz(
        ctx.account(&ns, &obj.spec.provider_ref, !state.deleting)
            .await?,
    )?;
    let base = |pw: SecretString, synced: bool| VobizCredential {
        client: client.clone(),
        username: obj.spec.username.clone(),
        password: pw,
        password_synced: synced,
        enabled: obj.spec.enabled,
        description: obj.spec.description.clone(),
    };
    if state.deleting {
        let out = drive(&state, &base(SecretString::from(""), true), &store).await?;
        return Ok(report(obj, ctx, &out, status).await);
    }
    let secret_api: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    let (owner, keys, secret_name) = secret_plan(obj, obj.spec.secret.as_ref())?;
    let existing = target_secret(&secret_api, &secret_name, &owner.uid).await?;
    let pw = match &obj.spec.password_secret_ref {
        Some(r) => password::from_ref(&secret_api, r, LIMITS).await?,
        None => match secrets::read_key(existing.as_ref(), &keys.password) {
            Some(p) => p,
            None => password::generate(obj.spec.password_policy.as_ref())?,
        },
    };
    let digest = secrets::password_digest(&owner.uid, &pw);
    let synced_before = existing
        .as_ref()
        .and_then(|s| s.metadata.annotations.as_ref())
        .and_then(|a| a.get(PASSWORD_SYNCED))
        .cloned();
    let realm = format!("{}.sip.vobiz.ai", client.auth_id());
    // Password first into the Secret (the digest still names what Vobiz holds).
    let mut creds = Credentials {
        username: obj.spec.username.clone(),
        password: pw.clone(),
        domain: status.realm.clone().unwrap_or(realm),
        id: state.external_name.clone(),
        synced_digest: synced_before.clone(),
    };
    let desired = secrets::desired(&owner, obj.spec.secret.as_ref(), &creds);
    secrets::apply(&secret_api, existing.as_ref(), &desired).await?;
    let cred = base(pw, synced_before.as_deref() == Some(digest.as_str()));
    let out = drive(&state, &cred, &store).await?;
    if let Outcome::Synced {
        external_name,
        resource,
        ..
    } = &out
    {
        creds.id = Some(external_name.clone());
        creds.domain = resource.realm.clone();
        creds.synced_digest = Some(digest);
        let after = secrets::desired(&owner, obj.spec.secret.as_ref(), &creds);
        secrets::apply(&secret_api, Some(&desired), &after).await?;
        status.secret_name = Some(secret_name);
        if let Some(trunk) = &obj.spec.trunk_id {
            let t = client
                .get_trunk(trunk)
                .await
                .map_err(|e| Error::External(from_provider(&e)))?;
            if t.credential_uuid.as_deref() != Some(external_name) {
                client
                    .set_trunk_credential(trunk, Nullable::Value(external_name.clone()))
                    .await
                    .map_err(|e| Error::External(from_provider(&e)))?;
                ctx.event(
                    obj,
                    false,
                    "Attached",
                    "Update",
                    format!("attached the credential to trunk {trunk}"),
                )
                .await;
            }
            status.attached_trunk_id = Some(trunk.clone());
        } else {
            status.attached_trunk_id = None;
        }
    }
    Ok(report(obj, ctx, &out, status).await)
}

async fn report(
    obj: &TrunkCredential,
    ctx: &Ctx,
    out: &Outcome<Credential>,
    status: &mut TrunkCredentialStatus,
) -> Option<String> {
    match out {
        Outcome::Synced {
            external_name,
            resource,
            change,
        } => {
            status.credential_id = Some(external_name.clone());
            status.realm = Some(resource.realm.clone());
            status.created_at = Some(resource.created_at.clone());
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
            status.credential_id = Some(external_name.clone())
        }
        _ => {}
    }
    shell::announce(obj, ctx, out, "the trunk credential at Vobiz", status).await
}
