//! TrunkCredential: a Vobiz trunk credential, optionally attached to a trunk. Vobiz
//! never returns passwords, so the Secret carries a digest of the password Vobiz is
//! known to hold; a differing password is pushed. The trunk attachment is part of
//! the desired provider state, so it obeys the management policies like any field.
//! Only its hooks live here.

use secrecy::SecretString;

use super::error::Error;
use super::kind::{Connect, ManagedKind, chosen_password_rotation, managed_fields, managed_status};
use super::password_source::{self, Limits};
use super::provider_calls::{deleted, from_provider, no_desired_state};
use crate::crd::{TrunkCredential, TrunkCredentialStatus};
use crate::managed::{ExternalClient, ExternalError, Observation};
use crate::provider::vobiz::{Credential, CredentialCreate, CredentialUpdate, VobizClient};
use crate::provider::{Lookup, Nullable};
use crate::secrets::{self, ConnectionDetails, PASSWORD_SYNCED};

const LIMITS: Limits = Limits { min: 8, max: 128 };

managed_status!(TrunkCredentialStatus, password_updated_at);

/// The credential at Vobiz and the trunk it is attached to, if any.
#[derive(Debug, Clone)]
pub struct TrunkLogin {
    /// The credential.
    pub credential: Credential,
    /// `spec.trunkID` when that trunk's credential is this one.
    pub attached_trunk: Option<String>,
}

impl ManagedKind for TrunkCredential {
    type Client = VobizCredential;
    const WHAT: &'static str = "the trunk credential at Vobiz";

    managed_fields!();

    chosen_password_rotation!();

    async fn connect(cx: Connect<'_, Self>) -> Result<VobizCredential, Error> {
        let client = cx.account.vobiz("TrunkCredential")?;
        let spec = &cx.obj.spec;
        let desired = match cx.secret {
            None => None,
            Some(slot) => {
                let password = password_source::choose(
                    slot,
                    spec.password_secret_ref.as_ref(),
                    spec.password_policy.as_ref(),
                    LIMITS,
                    cx.rotate,
                )
                .await?;
                let digest = secrets::password_digest(&slot.owner.uid, &password);
                Some(Desired {
                    password_synced: slot.annotation(PASSWORD_SYNCED).as_deref()
                        == Some(digest.as_str()),
                    password,
                    digest,
                    domain: cx
                        .status
                        .realm
                        .clone()
                        .unwrap_or_else(|| format!("{}.sip.vobiz.ai", client.auth_id())),
                    enabled: spec.enabled,
                    description: spec.description.clone(),
                    trunk_id: spec.trunk_id.clone(),
                    marks: password_source::marks(cx.issue),
                })
            }
        };
        Ok(VobizCredential {
            client,
            lookup: cx.lookup,
            username: spec.username.clone(),
            desired,
        })
    }

    fn report(id: &str, login: &TrunkLogin, status: &mut TrunkCredentialStatus) {
        status.credential_id = Some(id.to_string());
        status.realm = Some(login.credential.realm.clone());
        status.created_at = Some(login.credential.created_at.clone());
        status.attached_trunk_id = login.attached_trunk.clone();
    }
}

/// What the spec asks of Vobiz; absent while deleting (deletion needs only the
/// identity).
struct Desired {
    password: SecretString,
    /// The Secret's digest names this password: Vobiz holds it.
    password_synced: bool,
    digest: String,
    domain: String,
    enabled: Option<bool>,
    description: Option<String>,
    trunk_id: Option<String>,
    marks: std::collections::BTreeMap<String, String>,
}

/// The Vobiz credential as the engine sees it.
pub struct VobizCredential {
    client: VobizClient,
    /// How the provider object is found.
    lookup: Lookup,
    username: String,
    desired: Option<Desired>,
}

impl VobizCredential {
    /// Writes the desired `enabled` and `description`, and `password` when given, to
    /// credential `id`.
    async fn write(
        &self,
        want: &Desired,
        id: &str,
        password: Option<SecretString>,
    ) -> Result<Credential, ExternalError> {
        let up = CredentialUpdate {
            password,
            enabled: want.enabled,
            description: want.description.clone(),
        };
        self.client
            .update_credential(id, &up)
            .await
            .map_err(|e| from_provider(&e))
    }

    fn drift(&self, c: &TrunkLogin) -> Vec<String> {
        let Some(want) = &self.desired else {
            return Vec::new();
        };
        let mut drift = Vec::new();
        if want.enabled.is_some_and(|e| e != c.credential.enabled) {
            drift.push("enabled".to_string());
        }
        if want.description.is_some() && want.description != c.credential.description {
            drift.push("description".to_string());
        }
        if !want.password_synced {
            drift.push("password".to_string());
        }
        if want.trunk_id.is_some() && want.trunk_id != c.attached_trunk {
            drift.push("trunk".to_string());
        }
        drift
    }

    /// The trunk of `spec.trunkID` if this credential is attached to it.
    async fn attached(&self, credential_id: &str) -> Result<Option<String>, ExternalError> {
        let Some(trunk) = self.desired.as_ref().and_then(|d| d.trunk_id.as_ref()) else {
            return Ok(None);
        };
        let t = self
            .client
            .get_trunk(trunk)
            .await
            .map_err(|e| from_provider(&e))?;
        Ok((t.credential_uuid.as_deref() == Some(credential_id)).then(|| trunk.clone()))
    }

    async fn attach(&self, credential: Credential) -> Result<TrunkLogin, ExternalError> {
        let Some(trunk) = self.desired.as_ref().and_then(|d| d.trunk_id.clone()) else {
            return Ok(TrunkLogin {
                credential,
                attached_trunk: None,
            });
        };
        self.client
            .set_trunk_credential(&trunk, Nullable::Value(credential.id.clone()))
            .await
            .map_err(|e| from_provider(&e))?;
        Ok(TrunkLogin {
            credential,
            attached_trunk: Some(trunk),
        })
    }

    fn login(
        &self,
        id: Option<&str>,
        synced: bool,
        realm: Option<&str>,
    ) -> Option<ConnectionDetails> {
        let want = self.desired.as_ref()?;
        Some(ConnectionDetails {
            username: self.username.clone(),
            password: want.password.clone(),
            domain: realm.unwrap_or(&want.domain).to_string(),
            id: id.map(String::from),
            synced_digest: synced.then(|| want.digest.clone()),
            marks: want.marks.clone(),
            extra: Default::default(),
        })
    }
}

impl ExternalClient for VobizCredential {
    type Resource = TrunkLogin;

    fn details_before(&self, id: Option<&str>) -> Option<ConnectionDetails> {
        let synced = self.desired.as_ref()?.password_synced;
        self.login(id, synced, None)
    }

    fn details(&self, id: &str, c: &TrunkLogin) -> Option<ConnectionDetails> {
        // Synced: Vobiz holds this password now.
        self.login(Some(id), true, Some(&c.credential.realm))
    }

    async fn observe(
        &self,
        id: Option<&str>,
    ) -> Result<Option<Observation<TrunkLogin>>, ExternalError> {
        let found = self
            .client
            .locate_credential(id, &self.username, self.lookup);
        let Some(credential) = found.await.map_err(|e| from_provider(&e))? else {
            return Ok(None);
        };
        let login = TrunkLogin {
            attached_trunk: self.attached(&credential.id).await?,
            credential,
        };
        let drift = self.drift(&login);
        Ok(Some(Observation::new(
            login.credential.id.clone(),
            login,
            drift,
        )))
    }

    async fn create(&self) -> Result<(String, TrunkLogin), ExternalError> {
        let want = self.desired.as_ref().ok_or_else(no_desired_state)?;
        let req = CredentialCreate {
            username: self.username.clone(),
            password: want.password.clone(),
        };
        let mut c = self
            .client
            .create_credential(&req)
            .await
            .map_err(|e| from_provider(&e))?;
        // Vobiz accepts only username and password at creation; the rest follows.
        if want.enabled.is_some_and(|e| e != c.enabled)
            || (want.description.is_some() && want.description != c.description)
        {
            c = self.write(want, &c.id, None).await?;
        }
        let login = self.attach(c).await?;
        Ok((login.credential.id.clone(), login))
    }

    async fn update(&self, o: &Observation<TrunkLogin>) -> Result<TrunkLogin, ExternalError> {
        let want = self.desired.as_ref().ok_or_else(no_desired_state)?;
        let has = |f: &str| o.drift.iter().any(|d| d == f);
        let mut credential = o.resource.credential.clone();
        if has("password") || has("enabled") || has("description") {
            let password = has("password").then(|| want.password.clone());
            credential = self.write(want, &o.external_name, password).await?;
        }
        if has("trunk") {
            return self.attach(credential).await;
        }
        Ok(TrunkLogin {
            credential,
            attached_trunk: o.resource.attached_trunk.clone(),
        })
    }

    async fn delete(&self, id: &str) -> Result<(), ExternalError> {
        deleted(self.client.delete_credential(id).await)
    }
}
